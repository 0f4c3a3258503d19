"""Product pictures: the checks on an upload, the audit, the list page (channel managers
and administrators), the public picture and product page, the CLI and the demo's."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import settlement
from settlement.models import Product, ReferenceChange
from sightings.answer import MAX_IMAGE_BYTES, check_image, set_product_image
from sightings.errors import SightingError
from sightings.models import ProductImage
from web.demo_label import draw_product_picture, seed_product_pictures

GTIN = "09506000134352"
OTHER = "04012345000016"  # a valid GTIN-14 no product has
ACTOR = settlement.Actor("ana", "channel_manager")


def picture(fmt: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def products(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(Product(gtin=GTIN, name="Green tea 250 g"))
        session.add(Product(gtin="07612345000015", name="Black tea 100 g"))


def _changes(engine: Engine) -> list[tuple[str, str, str, object, object, str]]:
    with Session(engine) as session:
        return [
            (
                c.key,
                c.action,
                c.actor,
                json.loads(c.before_json),
                json.loads(c.after_json),
                c.source,
            )
            for c in session.scalars(
                select(ReferenceChange)
                .where(ReferenceChange.kind == "product_image")
                .order_by(ReferenceChange.id)
            )
        ]


@pytest.mark.parametrize(
    ("fmt", "media"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_png_jpeg_and_webp_are_accepted(fmt: str, media: str) -> None:
    assert check_image(picture(fmt)) == media


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "the picture is empty"),
        (b"GIF89a not really", "not a picture Pillow can read"),
        (b"%PDF-1.7\n", "not a picture Pillow can read"),
        (picture("GIF"), "the picture is GIF; only PNG, JPEG and WebP are accepted"),
        (picture("BMP"), "the picture is BMP; only PNG, JPEG and WebP are accepted"),
        (picture("PNG")[:40], "not a picture Pillow can read"),  # truncated
        (picture("PNG", (8001, 1)), "the picture is 8001 x 1 pixels; at most 8000 pixels a side"),
        (b"\x89PNG" + b"\0" * MAX_IMAGE_BYTES, "at most 2097152 bytes (2 MB)"),
    ],
)
def test_a_bad_picture_is_refused_in_words(data: bytes, words: str) -> None:
    with pytest.raises(SightingError) as refused:
        check_image(data)
    assert refused.value.field == "image"
    assert words in str(refused.value)


def test_a_picture_is_stored_replaced_and_audited(engine: Engine, products: None) -> None:
    first, second = picture("PNG"), picture("JPEG")
    with Session(engine) as session:
        stored = set_product_image(session, GTIN, first, actor=ACTOR, now_ms=1000)
        session.commit()
        set_product_image(session, GTIN, second, actor=ACTOR, now_ms=2000, source="cli")
        session.commit()
        set_product_image(session, GTIN, second, actor=ACTOR, now_ms=3000)  # no change
        session.commit()
        row = session.scalars(select(ProductImage)).one()
        assert (row.content_type, row.data, row.updated_ms, row.updated_by) == (
            "image/jpeg",
            second,
            3000,
            "ana",
        )
    import hashlib

    h1, h2 = hashlib.sha256(first).hexdigest(), hashlib.sha256(second).hexdigest()
    assert stored.sha256 == h1
    assert _changes(engine) == [
        (
            GTIN,
            "create",
            "ana",
            None,
            {"sha256": h1, "content_type": "image/png", "size": len(first)},
            "page",
        ),
        (
            GTIN,
            "update",
            "ana",
            {"sha256": h1, "content_type": "image/png", "size": len(first)},
            {"sha256": h2, "content_type": "image/jpeg", "size": len(second)},
            "cli",
        ),
    ]


@pytest.mark.parametrize(
    ("gtin", "words"),
    [
        ("12345", "GTIN 12345 is not a valid GTIN"),
        ("09506000134353", "is not a valid GTIN"),  # check digit
        (OTHER, f"no product has GTIN {OTHER}"),
    ],
)
def test_a_picture_for_no_product_is_refused(
    engine: Engine, products: None, gtin: str, words: str
) -> None:
    with Session(engine) as session, pytest.raises(SightingError) as refused:
        set_product_image(session, gtin, picture(), actor=ACTOR, now_ms=1)
    assert refused.value.field == "gtin" and words in str(refused.value)


# --- pages -----------------------------------------------------------------------------


def _upload(
    browser: FlaskClient, csrf: Callable[..., str], gtin: str, data: bytes, name: str = "p.png"
) -> TestResponse:
    return browser.post(
        "/label/products",
        data={
            "csrf_token": csrf("/label/products", on=browser),
            "gtin": gtin,
            "image": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def test_only_channel_managers_and_admins_set_pictures(
    client: FlaskClient,
    login_as: Callable[..., FlaskClient],
    app: Flask,
    products: None,
) -> None:
    assert client.get("/label/products").status_code == 302  # to sign in
    for role in ("warehouse", "finance", "distributor", "auditor", "inspector"):
        browser = login_as(
            role, party="D1" if role == "distributor" else None, on=app.test_client()
        )
        assert browser.get("/label/products").status_code == 403, role
        assert browser.post("/label/products", data={}).status_code in (400, 403), role
    for role in ("channel_manager", "admin"):
        browser = login_as(role, on=app.test_client())
        page = browser.get("/label/products")
        assert page.status_code == 200, role
        assert "Green tea 250 g" in page.get_data(as_text=True)


def test_a_picture_uploaded_on_the_page_is_served(
    login_as: Callable[..., FlaskClient],
    csrf_token: Callable[..., str],
    engine: Engine,
    products: None,
) -> None:
    browser = login_as("channel_manager", username="cm-ana")
    data = picture("WEBP")
    done = _upload(browser, csrf_token, GTIN, data, "tea.webp")
    assert done.status_code == 302
    listed = browser.get("/label/products").get_data(as_text=True)
    assert f"The picture of {GTIN} was saved." in listed and "by cm-ana" in listed
    assert _changes(engine)[0][:3] == (GTIN, "create", "cm-ana")
    # anyone may fetch it, with its SHA-256 as the validator
    import hashlib

    image = browser.application.test_client().get(f"/label/products/{GTIN}/image")
    assert (image.status_code, image.data, image.mimetype) == (200, data, "image/webp")
    assert image.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert "max-age=86400" in image.headers["Cache-Control"]
    again = browser.application.test_client().get(
        f"/label/products/{GTIN}/image", headers={"If-None-Match": image.headers["ETag"]}
    )
    assert again.status_code == 304 and not again.data
    assert (
        browser.application.test_client().get("/label/products/07612345000015/image").status_code
        == 404
    )


@pytest.mark.parametrize(
    ("gtin", "data", "name", "field", "words"),
    [
        ("", picture(), "p.png", "gtin", "GTIN: enter the product number"),
        (GTIN, None, "", "image", "Picture: choose a PNG, JPEG or WebP file."),
        (
            GTIN,
            picture("GIF"),
            "p.gif",
            "image",
            "Picture: the picture is GIF; only PNG, JPEG and WebP",
        ),
        (GTIN, b"hello", "p.png", "image", "Picture: the file is not a picture"),
        (OTHER, picture(), "p.png", "gtin", f"GTIN: no product has GTIN {OTHER}"),
    ],
)
def test_a_bad_upload_names_the_field(
    login_as: Callable[..., FlaskClient],
    csrf_token: Callable[..., str],
    engine: Engine,
    products: None,
    gtin: str,
    data: bytes | None,
    name: str,
    field: str,
    words: str,
) -> None:
    browser = login_as("channel_manager")
    form: dict[str, object] = {
        "csrf_token": csrf_token("/label/products", on=browser),
        "gtin": gtin,
    }
    if data is not None:
        form["image"] = (io.BytesIO(data), name)
    page = browser.post("/label/products", data=form, content_type="multipart/form-data")
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert f'id="{field}-error"' in text and words in text
    assert _changes(engine) == []


def test_the_list_is_paginated_and_searchable(
    login_as: Callable[..., FlaskClient], engine: Engine
) -> None:
    from ledger.ids import gs1_check_digit

    with Session(engine) as session, session.begin():
        for n in range(55):
            body = f"0950600013{n:03d}"
            session.add(Product(gtin=body + str(gs1_check_digit(body)), name=f"Tea no. {n}"))
    browser = login_as("channel_manager")
    first = browser.get("/label/products").get_data(as_text=True)
    second = browser.get("/label/products?page=2").get_data(as_text=True)
    assert "Tea no. 0<" in first and "Tea no. 49<" in first and "Tea no. 50<" not in first
    assert "Tea no. 50<" in second and "Tea no. 54<" in second
    assert "51–55 of 55" in second
    found = browser.get("/label/products?q=no.+7").get_data(as_text=True)
    assert "Tea no. 7<" in found and "Tea no. 8<" not in found


def test_the_product_page_names_the_product(
    client: FlaskClient, engine: Engine, products: None
) -> None:
    with Session(engine) as session:
        set_product_image(session, GTIN, picture(), actor=ACTOR, now_ms=1)
        session.commit()
    page = client.get(f"/label/01/{GTIN}?lang=zh")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="zh">' in text
    assert "Green tea 250 g" in text and GTIN in text
    assert f"/label/products/{GTIN}/image?v=" in text
    # GTIN-13 is the same product
    assert client.get(f"/label/01/{GTIN[1:]}").status_code == 200
    unknown = client.get(f"/label/01/{OTHER}")
    assert unknown.status_code == 404 and "Unknown code" in unknown.get_data(as_text=True)
    assert client.get("/label/01/123").status_code == 400


# --- command line and demo --------------------------------------------------------------


def test_the_cli_sets_and_lists_pictures(
    run_cli: Callable[..., Result], engine: Engine, products: None, tmp_path: Path
) -> None:
    good = tmp_path / "tea.jpg"
    good.write_bytes(picture("JPEG"))
    out = run_cli("products", "image", GTIN, str(good))
    assert out.exit_code == 0, out.output
    assert out.output.startswith(f"{GTIN}: image/jpeg, {len(good.read_bytes())} bytes, sha256 ")
    bad = tmp_path / "tea.gif"
    bad.write_bytes(picture("GIF"))
    refused = run_cli("products", "image", GTIN, str(bad))
    assert refused.exit_code == 1 and "only PNG, JPEG and WebP are accepted" in refused.output
    unknown = run_cli("products", "image", OTHER, str(good))
    assert unknown.exit_code == 1 and f"GTIN: no product has GTIN {OTHER}" in unknown.output
    listed = run_cli("products", "list").output.splitlines()
    assert listed == [
        "07612345000015\t-\tBlack tea 100 g",
        f"{GTIN}\timage/jpeg {len(good.read_bytes())}\tGreen tea 250 g",
    ]
    assert run_cli("products", "list", "--missing").output.splitlines() == [listed[0]]
    assert _changes(engine)[0][2] == "hopchain-cli"


def test_the_demo_draws_a_picture_for_every_product(engine: Engine, products: None) -> None:
    assert seed_product_pictures(engine) == 2
    assert seed_product_pictures(engine) == 0  # each keeps its picture
    with Session(engine) as session:
        rows = session.scalars(select(ProductImage)).all()
        assert {r.content_type for r in rows} == {"image/png"}
        assert all(r.updated_by == "demo" for r in rows)
    drawn = draw_product_picture(GTIN, "Green tea 250 g")
    assert drawn == draw_product_picture(GTIN, "Green tea 250 g")
    assert check_image(drawn) == "image/png"
    assert Image.open(io.BytesIO(drawn)).size == (480, 480)
