"""Products as a label shows them: the product information page, its picture, and the
list where channel managers give each product its picture (issue 14).

- ``GET /label/01/<gtin>`` (``label.product``, public; the resolver's ``gs1:pip``
  target): the product's name, picture and GTIN, in the reader's language
  (``?lang=`` as on :mod:`web.label.verify`); 404 "Unknown code" for a GTIN that
  is not one of our products.
- ``GET /label/products/<gtin>/image`` (``label.product_image``, public): the
  picture's bytes, ``ETag`` its SHA-256, cacheable for a day (a week when the
  URL names the version, ``?v=``); ``If-None-Match`` answers 304.
- ``GET/POST /label/products`` (``label.products``, channel managers and
  administrators): every product with its picture, paginated and searchable, and
  a form to upload a picture (PNG, JPEG or WebP, at most 2 MB, checked with
  Pillow); each change records who and when
  (:func:`sightings.answer.set_product_image`, audited).
"""

from __future__ import annotations

from flask import (
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from ledger.ids import InvalidIdentifierError, validate_gtin14
from settlement.models import Product
from sightings.answer import MAX_IMAGE_BYTES, product_image, product_images, set_product_image
from sightings.errors import SightingError
from web.db import get_session
from web.label.verify import _in_page_language, bp, cookie_free, unknown_code_response
from web.paging import page_request
from web.roles import Role
from web.security import public, require_roles
from web.settlement_access import current_actor

__all__ = ["EDITORS", "bp"]

#: Roles that give products their pictures.
EDITORS = (Role.CHANNEL_MANAGER, Role.ADMIN)


@bp.get("/01/<gtin>")
@public
def product(gtin: str) -> ResponseReturnValue:
    """The product information page (``gs1:pip``) of ``gtin``."""
    try:
        gtin14 = validate_gtin14(gtin)
    except InvalidIdentifierError:
        with _in_page_language():
            words = gettext(
                "%(gtin)s is not a valid product number (GTIN): it must have 8, 12, 13 or "
                "14 digits and a correct check digit.",
                gtin=gtin[:40],
            )
        return unknown_code_response(words, 400)
    session = get_session()
    name = session.query(Product.name).filter(Product.gtin == gtin14).scalar()
    if name is None:
        with _in_page_language():
            words = gettext("No product of ours has this product number (GTIN).")
        return unknown_code_response(words)
    picture = product_image(session, gtin14)
    with _in_page_language() as lang:
        response = make_response(
            render_template(
                "label/product.html",
                gtin=gtin14,
                name=name,
                image_sha256=picture.sha256 if picture else None,
                lang=lang,
            )
        )
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


@bp.get("/products/<gtin>/image", endpoint="product_image")
@public
def product_image_view(gtin: str) -> ResponseReturnValue:
    """The product's picture: its bytes, ``ETag`` = SHA-256; 404 when it has none."""
    picture = product_image(get_session(), gtin)
    if picture is None:
        return Response(status=404, mimetype="text/plain", response="no picture\n")
    etag = picture.sha256
    versioned = request.args.get("v") == picture.sha256[:12]
    max_age = 7 * 24 * 3600 if versioned else 24 * 3600
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(picture.data, mimetype=picture.content_type)
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return cookie_free(response)  # the same bytes for everyone: no Vary: Cookie


def _list_page(status: int = 200, errors: dict[str, str] | None = None, gtin: str = "") -> Response:
    pager = page_request()
    query = request.args.get("q", "", type=str)[:100]
    rows, total = product_images(get_session(), offset=pager.offset, limit=pager.size, query=query)
    pager = pager.with_total(total)
    if pager.offset and not rows and total:
        rows, _ = product_images(get_session(), offset=pager.offset, limit=pager.size, query=query)
    body = render_template(
        "label/products.html",
        rows=rows,
        pager=pager,
        query=query,
        errors=errors or {},
        gtin=gtin,
        max_mb=MAX_IMAGE_BYTES // (1024 * 1024),
    )
    return make_response(body, status)


@bp.route("/products", methods=["GET", "POST"])
@require_roles(*EDITORS)
def products() -> ResponseReturnValue:
    """Every product with its picture; POST (``gtin``, ``image`` file) sets one."""
    if request.method == "GET":
        return _list_page()
    gtin = request.form.get("gtin", "", type=str).strip()[:40]
    sent = request.files.get("image")
    errors: dict[str, str] = {}
    if not gtin:
        errors["gtin"] = gettext("GTIN: enter the product number the picture is for.")
    if sent is None or not sent.filename:
        errors["image"] = gettext("Picture: choose a PNG, JPEG or WebP file.")
    if errors or sent is None:
        return _list_page(422, errors, gtin)
    data = sent.stream.read(MAX_IMAGE_BYTES + 1)
    session = get_session()
    try:
        picture = set_product_image(
            session, gtin, data, actor=current_actor(), now_ms=_now_ms(), source="page"
        )
    except SightingError as refused:
        session.rollback()
        label = gettext("GTIN") if refused.field == "gtin" else gettext("Picture")
        words = (
            gettext(refused.words, **refused.values) if refused.values else gettext(refused.words)
        )
        errors[refused.field or "image"] = gettext("%(field)s: %(words)s", field=label, words=words)
        return _list_page(422, errors, gtin)
    session.commit()
    flash(gettext("The picture of %(gtin)s was saved.", gtin=picture.gtin), "success")
    return redirect(url_for("label.products", q=request.args.get("q") or None))


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000
