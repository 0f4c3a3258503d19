"""The GS1-Conformant Resolver's rules that need no request: link types, the linkset
and the choice between a redirect and a linkset.

Standards (cited by clause in the docstrings below):

- *GS1-Conformant Resolver Standard* 1.2 (``ref.gs1.org/standards/resolver``):
  link types are named in the GS1 Web Vocabulary, ``gs1:`` being
  ``https://ref.gs1.org/voc/`` (2.14); ``linkType=linkset`` (``all`` is its
  deprecated older name) or ``Accept: application/linkset+json`` asks for the
  linkset instead of a redirect (2.2, 2.9); a requested link type that the
  identified item does not have answers 404 (2.6.2, as changed in 1.2); the
  linkset is RFC 9264 JSON that validates against the standard's linkset schema,
  the same for ``application/json``, with a ``Link`` header naming the JSON-LD
  context (2.10); every link has a title (2.5.3), its media type (2.5.5) and
  its languages as an array of BCP 47 tags (2.5.4); the default link
  (``gs1:defaultLink``) carries a title only and its target is also listed under
  a descriptive link type (2.5.8).
- RFC 9264 (linkset: ``{"linkset": [{"anchor": ..., REL: [target, ...]}]}``)
  and RFC 8288 (the ``Link`` header).

Pure functions over plain values: :mod:`web.label.resolver` reads the request,
looks the code up and renders what :func:`decide` chose.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_LINK",
    "GS1_VOC",
    "LINKSET_CONTEXT",
    "LINKSET_MEDIA_TYPES",
    "LINKSET_REQUEST",
    "LINK_TYPES",
    "MEDIA_TYPES",
    "PIP",
    "TRACEABILITY",
    "VERIFICATION_SERVICE",
    "Action",
    "Choice",
    "Link",
    "curie",
    "decide",
    "link_header",
    "linkset_document",
    "normalise_link_type",
    "preferred_media_type",
]

#: The GS1 Web Vocabulary's namespace, the ``gs1:`` prefix (Resolver 1.2, 2.14).
GS1_VOC = "https://ref.gs1.org/voc/"
#: Older spellings of the same namespace that clients still send.
_GS1_VOC_ALIASES = (
    "https://ref.gs1.org/voc/",
    "http://ref.gs1.org/voc/",
    "https://gs1.org/voc/",
    "http://gs1.org/voc/",
    "https://www.gs1.org/voc/",
    "http://www.gs1.org/voc/",
)
DEFAULT_LINK = GS1_VOC + "defaultLink"
PIP = GS1_VOC + "pip"
VERIFICATION_SERVICE = GS1_VOC + "verificationService"
TRACEABILITY = GS1_VOC + "traceability"
#: The link types this resolver ever answers with (its description file lists the namespace).
LINK_TYPES = (DEFAULT_LINK, VERIFICATION_SERVICE, PIP, TRACEABILITY)

#: ``linkType`` values that ask for the linkset: ``linkset`` (1.2) and ``all`` (1.0, deprecated).
LINKSET_REQUEST = "linkset"
_LINKSET_NAMES = frozenset({"linkset", "all"})

#: The JSON-LD context of a GS1 linkset (Resolver 1.2, 2.10), named in a ``Link`` header.
LINKSET_CONTEXT = "https://ref.gs1.org/standards/resolver/linkset-context"

HTML = "text/html"
LINKSET_JSON = "application/linkset+json"
JSON = "application/json"
JSON_LD = "application/ld+json"
#: The media types a request may ask for, in the order of preference when it
#: names several equally (:func:`preferred_media_type`).
MEDIA_TYPES = (HTML, LINKSET_JSON, JSON, JSON_LD)
#: The media types whose answer is the linkset whatever ``linkType`` says (2.2, 2.9).
LINKSET_MEDIA_TYPES = frozenset({LINKSET_JSON, JSON_LD})


@dataclass(frozen=True, slots=True)
class Link:
    """One typed link of an identified item.

    ``rel``: the link type as a full URI (``https://ref.gs1.org/voc/pip``);
    ``href``: an absolute URL; ``title``: in the reader's language; ``media_type``:
    an IANA media type; ``hreflang``: BCP 47 tags of the languages the target
    serves (a page of ours answers in each of them, by ``Accept-Language``).
    """

    rel: str
    href: str
    title: str
    media_type: str = HTML
    hreflang: tuple[str, ...] = ()


def normalise_link_type(value: str) -> str:
    """A ``linkType`` parameter as this resolver compares it.

    ``gs1:pip``, ``https://gs1.org/voc/pip``, ``https://ref.gs1.org/voc/pip`` ...
    -> ``https://ref.gs1.org/voc/pip``; ``linkset`` or ``all`` ->
    :data:`LINKSET_REQUEST`; anything else is returned stripped, to be found
    nowhere (an unknown link type is simply one the item does not have).
    """
    value = value.strip()
    if value in _LINKSET_NAMES:
        return LINKSET_REQUEST
    if value.startswith("gs1:"):
        return GS1_VOC + value[4:]
    for alias in _GS1_VOC_ALIASES:
        if value.startswith(alias):
            return GS1_VOC + value[len(alias) :]
    return value


def curie(rel: str) -> str:
    """``https://ref.gs1.org/voc/pip`` -> ``gs1:pip`` (for people; URIs stay as they are)."""
    return "gs1:" + rel[len(GS1_VOC) :] if rel.startswith(GS1_VOC) else rel


class Action(enum.Enum):
    REDIRECT = "redirect"  # 307 to ``Choice.link``
    LINKSET = "linkset"  # 200, the linkset in ``Choice.media_type``
    NO_SUCH_LINK = "no_such_link"  # 404: the item has no link of the requested type


@dataclass(frozen=True, slots=True)
class Choice:
    action: Action
    media_type: str  # of the answer (the linkset's, or of an error page)
    link: Link | None = None  # REDIRECT: where to


def _media_range(value: str) -> str:
    """``"Application/JSON; charset=utf-8"`` -> ``"application/json"``."""
    return value.split(";", 1)[0].strip().lower()


def preferred_media_type(accept: Iterable[tuple[str, float]]) -> str | None:
    """The one of :data:`MEDIA_TYPES` an ``Accept`` header (its ``(media range,
    q)`` pairs, as Werkzeug's ``request.accept_mimetypes`` iterates) asks for;
    None when it names none of them (no header, ``*/*`` alone, or nothing of ours).

    Each type takes the quality of the most specific range matching it (RFC 9110
    12.5.1: ``text/html`` before ``text/*`` before ``*/*``). Of those with the
    highest quality, the first in :data:`MEDIA_TYPES` matched by a range that names
    it (``text/html``, ``text/*``) wins; when only ``*/*`` reaches that quality,
    nothing in particular is asked for. So a browser (``text/html,...,*/*;q=0.8``) asks for HTML, ``*/*`` or no
    header for nothing in particular (:func:`decide` then redirects, or answers a
    ``linkType=linkset`` request with ``application/linkset+json``), and
    ``application/json`` for JSON.
    """
    ranges: dict[str, float] = {}
    for value, quality in accept:
        media = _media_range(value)
        ranges[media] = max(quality, ranges.get(media, 0.0))
    rated: list[tuple[float, bool, str]] = []  # (quality, named, media type)
    for media in MEDIA_TYPES:
        major = media.split("/", 1)[0]
        for candidate, named in ((media, True), (f"{major}/*", True), ("*/*", False)):
            if candidate in ranges:
                rated.append((ranges[candidate], named, media))
                break
    top = max((quality for quality, _, _ in rated), default=0.0)
    if top <= 0:
        return None
    return next((media for quality, named, media in rated if quality == top and named), None)


def decide(links: Sequence[Link], link_type: str | None, media_type: str | None) -> Choice:
    """What to answer for an identified item with ``links`` (its default link first
    under :data:`DEFAULT_LINK`), the request's ``linkType`` (``None`` when absent)
    and the media type its ``Accept`` asks for (:func:`preferred_media_type`;
    ``None``: nothing in particular, no ``Accept`` or ``*/*``).

    - ``Accept: application/linkset+json`` (or ``application/ld+json``) and
      ``linkType=linkset``/``all`` answer the linkset (2.2, 2.9): as
      ``application/linkset+json`` unless the request asks for HTML (a browser:
      the linkset as a page) or plain JSON;
    - ``Accept: application/json`` answers the linkset when no link type is asked
      for (2.10 recommends the same answer as for ``linkset+json``), and a
      redirect to the one asked for otherwise;
    - no link type: a redirect to the default link (2.6.1);
    - a link type the item has: a redirect to its link (2.6.2);
    - any other link type: 404 (2.6.2).

    Raises ValueError when ``links`` has no default link (every item of ours has one, 2.5.9).
    """
    media = media_type or HTML
    default = next((link for link in links if link.rel == DEFAULT_LINK), None)
    if default is None:
        raise ValueError("an identified item needs a default link (GS1 resolver 2.5.9)")
    wanted = normalise_link_type(link_type) if link_type is not None else None
    if media in LINKSET_MEDIA_TYPES or wanted == LINKSET_REQUEST:
        # GS1-Conformant Resolver 1.2, 2.9 and 2.10: a linkset request is answered with
        # the RFC 9264 linkset, application/linkset+json, the type the redirect's Link
        # header advertises for ?linkType=linkset (link_header); an HTML rendering only
        # for a client that asks for HTML first (a browser), JSON for one asking JSON.
        return Choice(Action.LINKSET, media_type or LINKSET_JSON)
    if wanted is None:
        if media == JSON:
            return Choice(Action.LINKSET, media)
        return Choice(Action.REDIRECT, media, default)
    found = next((link for link in links if link.rel == wanted), None)
    if found is None:
        return Choice(Action.NO_SUCH_LINK, media)
    return Choice(Action.REDIRECT, media, found)


def _target(link: Link) -> dict[str, Any]:
    if link.rel == DEFAULT_LINK:  # 2.5.8: the default link has a title, nothing else
        return {"href": link.href, "title": link.title}
    target: dict[str, Any] = {"href": link.href, "title": link.title, "type": link.media_type}
    if link.hreflang:
        target["hreflang"] = list(link.hreflang)
    return target


def linkset_document(
    anchor: str, links: Sequence[Link], *, item_description: str = "", json_ld: bool = False
) -> dict[str, Any]:
    """The RFC 9264 linkset of one identified item: ``{"linkset": [{"anchor":
    anchor, "itemDescription"?: ..., REL: [{"href", "title", "type", "hreflang"}]}]}``,
    link types in the order of ``links``. ``anchor`` is the item's canonical GS1
    Digital Link URI on the resolver root (2.3, 2.10). ``json_ld`` adds
    ``"@context"`` (for ``application/ld+json``, 2.10); without it the document
    validates against the standard's linkset schema.
    """
    context: dict[str, Any] = {"anchor": anchor}
    if item_description:
        context["itemDescription"] = item_description
    for link in links:
        context.setdefault(link.rel, []).append(_target(link))
    document: dict[str, Any] = {"linkset": [context]}
    if json_ld:
        document = {"@context": LINKSET_CONTEXT, **document}
    return document


def _quoted(value: str) -> str:
    """An RFC 8288 quoted-string (``"`` and ``\\`` escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def link_header(links: Sequence[Link], *, linkset_href: str) -> str:
    """The ``Link`` header of a redirect (RFC 8288): the linkset itself (``rel="linkset"``,
    RFC 9264 §6) and every link of the item with its type, media type and
    languages. Titles are left out: a header holds Latin-1 only and titles are in
    the reader's language; the linkset has them."""
    parts = [f'<{linkset_href}>; rel="linkset"; type={_quoted(LINKSET_JSON)}']
    for link in links:
        part = f"<{link.href}>; rel={_quoted(link.rel)}; type={_quoted(link.media_type)}"
        part += "".join(f"; hreflang={_quoted(tag)}" for tag in link.hreflang)
        parts.append(part)
    return ", ".join(parts)
