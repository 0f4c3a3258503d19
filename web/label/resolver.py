"""hopchain as a GS1-Conformant Resolver (GS1-Conformant Resolver Standard 1.2):
the GS1 Digital Link URI in a label's QR code, ``{resolver root}/01/{gtin}/21/{serial}``,
is answered here.

Routes, all public (``@public``), GET, HEAD and OPTIONS (2.2), with CORS (2.2):

- ``/01/{gtin}/21/{serial}`` (``resolver.unit``): a unit. Default link: the
  consumer's verification page (``label.verify``, also its
  ``gs1:verificationService``); ``gs1:pip``: the product page (``label.product``).
- ``/01/{gtin}`` (``resolver.product``): a product (a GTIN in ``products`` or on a
  unit of ours). Default link and ``gs1:pip``: ``label.product``.
- ``/00/{sscc}`` (``resolver.sscc``): a case or pallet. Default link and
  ``gs1:traceability``: the trace page (``trace.unit``; it asks for a sign-in).
- ``/01/...`` and ``/00/...`` otherwise (``resolver.key_path``): other key
  qualifiers (``/01/{gtin}/10/{lot}`` answers with the product's links, 2.5.9),
  a trailing slash (tolerated, 2.13) and malformed paths.
- ``/.well-known/gs1resolver`` (``resolver.description``): the resolver
  description file (section 3).

The request URI is read as the client sent it (``RAW_URI``, so ``%2F`` in a serial
stays a character of the serial) and checked by the GS1 Digital Link URI Syntax
grammar (:func:`scanners.parse_digital_link`: check digits, qualifier order, data
attributes in the query); a URI that breaks it answers 400 naming the part at fault
(2.4.1), a valid one that identifies nothing of ours 404 (2.4.1), never 200.
What to answer for an identified item is :func:`web.label.linkset.decide`: a 307
redirect (with a ``Link`` header listing the linkset and every link, and the
request's whole query string passed on, 2.12: ``lang``, ``context`` and data
attributes reach the page), the linkset (``application/linkset+json``, the type the
``Link`` header advertises, to ``*/*`` or no ``Accept``; plain JSON or JSON-LD when
asked for; an HTML page only to a client asking for HTML first, a browser:
:func:`web.label.linkset.preferred_media_type`), or 404 for a link type the item
does not have (2.6.2).

Redirects, JSON linksets and the description file may be kept by shared caches
(``Cache-Control: public``, ``Vary: Accept, Accept-Language``): they never depend on
the reader's cookie (no ``Vary: Cookie``, :func:`web.label.verify.cookie_free`), and a
linkset's titles follow ``?lang=`` or ``Accept-Language`` alone
(:func:`web.label.verify.public_locale`).

The resolver root (the linkset's anchors, the description file's
``resolverRoot``, the domain printed in labels' QR codes) is
``app.config["RESOLVER_ROOT"]``, from the environment variable
``HOPCHAIN_RESOLVER_ROOT``; unset, the request's own root URL. An invalid value
stops the app at start, naming it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import PathConverter

from ledger.models import Unit
from scanners.digital_link import DigitalLink, DigitalLinkError, parse_digital_link
from settlement.models import Product
from web.db import get_session
from web.i18n import SUPPORTED
from web.label.linkset import (
    DEFAULT_LINK,
    GS1_VOC,
    JSON_LD,
    LINKSET_CONTEXT,
    PIP,
    TRACEABILITY,
    VERIFICATION_SERVICE,
    Action,
    Link,
    curie,
    decide,
    link_header,
    linkset_document,
    normalise_link_type,
    preferred_media_type,
)
from web.label.verify import cookie_free, page_locale, public_locale, unknown_code_response
from web.reasons import scan_reason_words
from web.security import public

__all__ = ["bp", "check_resolver_root", "resolver_root"]

bp = Blueprint("resolver", __name__)

#: How long shared caches may keep a redirect or a linkset (they change only when a
#: unit is commissioned or a product page moves) and the description file.
ANSWER_MAX_AGE_S = 300
DESCRIPTION_MAX_AGE_S = 86_400
#: The languages every page of ours answers in (BCP 47 primary subtags).
PAGE_LANGUAGES: tuple[str, ...] = tuple(lang.tag for lang in SUPPORTED)

_TITLES = {
    VERIFICATION_SERVICE: _l("Check that this product is genuine"),
    PIP: _l("Product information"),
    TRACEABILITY: _l("Trace this case or pallet (sign-in required)"),
}

_ROOT = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$")


def check_resolver_root(value: str) -> str:
    """``value`` as a resolver root: ``http(s)://host[:port]`` and optional path
    segments (a custom URI stem, GS1 Digital Link URI Syntax 4.11), a trailing
    ``/`` dropped; ValueError naming the setting otherwise (a query, a fragment,
    no scheme ...)."""
    root = value.strip().rstrip("/")
    if not _ROOT.match(root):
        raise ValueError(
            "HOPCHAIN_RESOLVER_ROOT must be the resolver's address, http(s)://host[:port] "
            f"with an optional path and no query or fragment, e.g. https://id.example.com; got {value!r}"
        )
    return root


class _DigitalLinkValue(PathConverter):
    """A value in a Digital Link path: every reserved character percent-encoded
    when a URL is built (a ``/`` in a serial is ``%2F``), as on a label."""

    def to_url(self, value: Any) -> str:
        return quote(str(value), safe="")


def _setup(state: BlueprintSetupState) -> None:
    """On registration, before the routes are added: the ``dlvalue`` converter and
    ``RESOLVER_ROOT`` (test config, else ``HOPCHAIN_RESOLVER_ROOT``), checked."""
    app = state.app
    app.url_map.converters.setdefault("dlvalue", _DigitalLinkValue)
    configured = app.config.get("RESOLVER_ROOT") or os.environ.get("HOPCHAIN_RESOLVER_ROOT")
    app.config["RESOLVER_ROOT"] = check_resolver_root(configured) if configured else None


bp.record_once(_setup)


def resolver_root() -> str:
    """The configured resolver root, else the request's root URL (no trailing ``/``)."""
    configured: str | None = current_app.config.get("RESOLVER_ROOT")
    return configured or request.url_root.rstrip("/")


# --------------------------------------------------------------------------- routes


@bp.get("/01/<gtin>/21/<dlvalue:serial>")
@public
def unit(gtin: str, serial: str) -> ResponseReturnValue:
    """A unit's label (GTIN + serial)."""
    return _resolve()


@bp.get("/01/<gtin>")
@public
def product(gtin: str) -> ResponseReturnValue:
    """A product (GTIN alone)."""
    return _resolve()


@bp.get("/00/<sscc>")
@public
def sscc(sscc: str) -> ResponseReturnValue:
    """A case or pallet (SSCC)."""
    return _resolve()


@bp.get("/01/<path:rest>")
@bp.get("/00/<path:rest>")
@public
def key_path(rest: str) -> ResponseReturnValue:
    """Any other path under a supported primary key: qualifiers, a trailing slash,
    or a malformed path (400)."""
    return _resolve()


@bp.get("/.well-known/gs1resolver")
@public
def description() -> ResponseReturnValue:
    """The resolver description file (GS1-Conformant Resolver 1.2, section 3; schema
    ``ref.gs1.org/standards/resolver/description-file-schema``)."""
    document = {
        "name": "hopchain",
        "resolverRoot": resolver_root(),
        "supportedPrimaryKeys": ["01", "00"],
        "supportedLinkType": [{"namespace": GS1_VOC, "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": False,
        "jsonLdContextLocation": LINKSET_CONTEXT,
    }
    response = _json(document, "application/json")
    response.headers["Cache-Control"] = f"public, max-age={DESCRIPTION_MAX_AGE_S}"
    return response


@bp.after_request
def _resolver_headers(response: Response) -> Response:
    """CORS for every answer (2.2: a web page may resolve a code), and the request
    headers an answer depends on."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Link, Location, Content-Type"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Accept-Language"
        response.headers["Access-Control-Max-Age"] = str(DESCRIPTION_MAX_AGE_S)
    if request.endpoint != "resolver.description":
        response.vary.update(("Accept", "Accept-Language"))
    response.headers.setdefault("Cache-Control", "no-store")
    return cookie_free(response)


# --------------------------------------------------------------------------- resolving


@dataclass(frozen=True, slots=True)
class _Item:
    """What a valid Digital Link identifies among our units and products."""

    kind: str  # unit | product | sscc
    gtin: str
    serial: str
    sscc: str
    path: str  # the canonical Digital Link path: /01/{gtin14}[/qualifier/value...]


def _request_uri() -> str:
    """The request's URI as the client sent it (percent-encoding kept), a trailing
    ``/`` of the path dropped (tolerated, 2.13)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not raw:
        raw = quote(request.script_root + request.path, safe="/")
        query = request.query_string.decode("latin-1")
        raw += f"?{query}" if query else ""
    if "://" in raw.partition("?")[0]:  # absolute-form request target
        raw = "/" + raw.partition("://")[2].partition("/")[2]
    path, sep, query = raw.partition("?")
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return f"{request.scheme}://{request.host}{path}{sep}{query}"


def _canonical_path(link: DigitalLink) -> str:
    return "".join(f"/{ai}/{quote(value, safe='')}" for ai, value in link.path_ais)


def _identify(session: Session, link: DigitalLink) -> _Item | None:
    """The unit, product or logistic unit of ours that ``link`` names, else None.

    A unit or SSCC is ours when the ledger holds it (``units.key``); a GTIN when
    ``products`` lists it or a unit of ours carries it. Key qualifiers other than
    the serial (lot, variant ...) name the product (2.5.9: its links apply)."""
    ais = dict(link.path_ais)
    path = _canonical_path(link)
    if link.primary_key == "00":
        sscc_value = ais["00"]
        found = session.scalar(select(Unit.id).where(Unit.key == f"00/{sscc_value}"))
        return None if found is None else _Item("sscc", "", "", sscc_value, path)
    gtin = ais["01"]
    serial = ais.get("21")
    if serial is not None:
        found = session.scalar(select(Unit.id).where(Unit.key == f"01/{gtin}/21/{serial}"))
        return None if found is None else _Item("unit", gtin, serial, "", path)
    known = session.scalar(select(Product.id).where(Product.gtin == gtin)) or session.scalar(
        select(Unit.id).where(Unit.gtin == gtin).limit(1)
    )
    return None if known is None else _Item("product", gtin, "", "", path)


def _link(rel: str, href: str) -> Link:
    return Link(rel, href, str(_TITLES[rel]), hreflang=PAGE_LANGUAGES)


def _links(item: _Item) -> list[Link]:
    """The item's links, its default link first (2.5.8: also under a descriptive type)."""
    if item.kind == "unit":
        verify = url_for("label.verify", gtin=item.gtin, serial=item.serial, _external=True)
        page = url_for("label.product", gtin=item.gtin, _external=True)
        links = [_link(VERIFICATION_SERVICE, verify), _link(PIP, page)]
    elif item.kind == "product":
        links = [_link(PIP, url_for("label.product", gtin=item.gtin, _external=True))]
    else:
        trace = url_for("trace.unit", q=f"00/{item.sscc}", _external=True)
        links = [_link(TRACEABILITY, trace)]
    default = links[0]
    return [Link(DEFAULT_LINK, default.href, default.title), *links]


def _product_name(session: Session, item: _Item) -> str:
    if not item.gtin:
        return ""
    return session.scalar(select(Product.name).where(Product.gtin == item.gtin)) or ""


def _media_type() -> str | None:
    """The media type of ours the request's ``Accept`` asks for
    (:func:`web.label.linkset.preferred_media_type`); None: nothing in particular
    (no ``Accept``, ``*/*``): a redirect, an error page, or for ``linkType=linkset``
    the linkset as ``application/linkset+json``."""
    return preferred_media_type(request.accept_mimetypes)


def _wants_json(media: str | None) -> bool:
    return media is not None and media != "text/html"


def _json(document: Any, media_type: str, status: int = 200) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), status=status, mimetype=media_type)


def _error(status: int, words: str, media: str | None, **values: Any) -> Response:
    """An error answer: JSON ``{"error", "status", ...values}`` to a program; to a
    browser, the consumer's "unknown code" page (:func:`web.label.verify.unknown_code_response`,
    in the reader's language) for an unknown or malformed code, or
    ``resolver/no_link.html`` (``values`` carry its links) for a missing link type."""
    if _wants_json(media):
        extra = {k: v for k, v in values.items() if k in ("field", "linkType")}
        return _json({"error": words, "status": status, **extra}, "application/json", status)
    if "links" in values:
        html = render_template("resolver/no_link.html", status=status, message=words, **values)
        return Response(html, status=status, mimetype="text/html")
    response = unknown_code_response(words, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _resolve() -> ResponseReturnValue:
    """The answer in the language of the pages it leads to: ``?lang=`` (passed on to
    them too), else the reader's (:func:`web.label.verify.page_locale`)."""
    with force_locale(page_locale()):
        return _answer()


def _answer() -> ResponseReturnValue:
    media = _media_type()
    try:
        link = parse_digital_link(_request_uri())
    except DigitalLinkError as exc:
        words = gettext("This is not a valid GS1 Digital Link: %(why)s", why=scan_reason_words(exc))
        return _error(400, words, media, field=exc.component)
    session = get_session()
    item = _identify(session, link)
    if item is None:
        words = gettext(
            "No product of ours carries the code %(key)s.", key=_canonical_path(link)[1:]
        )
        return _error(404, words, media)
    links = _links(item)
    params = dict(reversed(link.other_params))  # the first of a repeated parameter
    link_type = params.get("linkType")
    choice = decide(links, link_type, media)
    anchor = resolver_root() + item.path
    if choice.action is Action.REDIRECT:
        assert choice.link is not None
        target = choice.link.href
        query = request.query_string.decode("latin-1")
        if query:  # 2.12: the whole query string goes on to the target
            target += ("&" if "?" in target else "?") + query
        response = redirect(target, 307)
        response.headers["Link"] = link_header(links, linkset_href=f"{anchor}?linkType=linkset")
        response.headers["Cache-Control"] = f"public, max-age={ANSWER_MAX_AGE_S}"
        return response
    if choice.action is Action.NO_SUCH_LINK:
        wanted = normalise_link_type(link_type or "")
        words = gettext(
            "This code has no link of type %(type)s.", type=curie(wanted) or link_type or ""
        )
        return _error(
            404,
            words,
            media,
            linkType=link_type,
            links=[x for x in links if x.rel != DEFAULT_LINK],
            curie=curie,
        )
    description = _product_name(session, item)
    if choice.media_type == "text/html":
        html = render_template(
            "resolver/linkset.html",
            anchor=anchor,
            item=item,
            item_description=description,
            links=[x for x in links if x.rel != DEFAULT_LINK],
            default=links[0],
            curie=curie,
        )
        response = Response(html, mimetype="text/html")
    else:
        # shared caches keep it (Vary: Accept, Accept-Language): titles in the language
        # of ?lang= or Accept-Language alone, never of the reader's cookie
        with force_locale(public_locale()):
            document = linkset_document(
                anchor,
                _links(item),
                item_description=description,
                json_ld=choice.media_type == JSON_LD,
            )
        response = _json(document, choice.media_type)
        response.headers["Cache-Control"] = f"public, max-age={ANSWER_MAX_AGE_S}"
    response.headers["Link"] = (
        f'<{LINKSET_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; '
        'type="application/ld+json"'
    )
    return response
