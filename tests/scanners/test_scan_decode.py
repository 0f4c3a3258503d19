"""decode_image(): real barcode images, clean and photographed badly."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from _scan_images import F, photo, qr, sheet, zx
from PIL import Image

from scanners import ImageDecodeError, decode_image

QR_KEY = "01/09506000134352/21/QR1"
DM_KEY = "01/09506000134352/21/DM7"
SSCC_KEY = "00/376130321109103420"


@pytest.fixture(scope="module")
def label_sheet() -> Image.Image:
    """Four codes in two rows: QR (Digital Link), GS1 DataMatrix / GS1-128, EAN-13."""
    return sheet(
        [
            qr("https://id.hopchain.example/01/09506000134352/21/QR1"),
            zx("(01)09506000134352(21)DM7(10)L1", F.DataMatrix, scale=6, gs1=True),
            zx("(00)376130321109103420", F.Code128, scale=3, gs1=True),
            zx("5901234123457", F.EAN13, scale=3),
        ]
    )


def test_a_clean_sheet_reads_every_code_in_reading_order(label_sheet: Image.Image) -> None:
    results = decode_image(photo(label_sheet, fmt="PNG"))
    assert [(r.symbology, r.key or r.gtin) for r in results] == [
        ("QR", QR_KEY),
        ("GS1 DataMatrix", DM_KEY),
        ("GS1-128", SSCC_KEY),
        ("EAN-13", "05901234123457"),
    ]
    datamatrix = results[1]
    assert datamatrix.symbology_id == "]d2"
    assert datamatrix.ais["10"] == "L1"
    assert results[2].text == "]C100376130321109103420"


@pytest.mark.parametrize(
    "degradation",
    [
        {"angle": 90},
        {"angle": 180},
        {"angle": 23},
        {"angle": -38},
        {"blur": 1.2},
        {"noise": 25},
        {"angle": 8, "blur": 0.8, "noise": 12},
    ],
    ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()),
)
def test_degraded_photos_still_give_every_unit(
    label_sheet: Image.Image, degradation: dict[str, float]
) -> None:
    results = decode_image(photo(label_sheet, **degradation))
    keys = {r.key for r in results if r.key}
    assert keys == {QR_KEY, DM_KEY, SSCC_KEY}
    assert "05901234123457" in {r.gtin for r in results}
    assert all(r.error is None for r in results)


def test_a_gs1_datamatrix_alone_in_a_phone_photo(tmp_path: Path) -> None:
    code = zx("(01)04012345678901(21)SN-42(17)281130", F.DataMatrix, scale=8, gs1=True)
    big = Image.new("L", (900, 700), 200)  # grey background, code off-centre
    big.paste(code, (420, 260))
    path = tmp_path / "photo.jpg"
    path.write_bytes(photo(big, angle=17, noise=8))
    [result] = decode_image(path)
    assert result.key == "01/04012345678901/21/SN-42"
    assert result.symbology == "GS1 DataMatrix"
    assert result.ais["17"] == "281130"
    assert decode_image(str(path))[0].key == result.key


def test_a_plain_datamatrix_is_not_taken_for_gs1() -> None:
    code = zx("0109506000134352", F.DataMatrix, scale=6)  # no FNC1: ISO DataMatrix
    [result] = decode_image(photo(sheet([code]), fmt="PNG"))
    assert result.symbology_id == "]d1"
    assert result.symbology == "DataMatrix"


def test_an_image_without_codes_gives_an_empty_list() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), "white").save(buf, "PNG")
    assert decode_image(buf.getvalue()) == []


def test_something_that_is_not_an_image_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="cannot read image data"):
        decode_image(b"%PDF-1.4 not an image")
    with pytest.raises(ImageDecodeError, match="no such image file"):
        decode_image(tmp_path / "missing.png")


def test_an_invalid_code_in_the_image_is_reported_with_its_reason() -> None:
    bad = qr("https://id.hopchain.example/01/09506000134353/21/X")  # wrong check digit
    [result] = decode_image(photo(sheet([bad]), fmt="PNG"))
    assert result.key is None
    assert result.error is not None and "check digit" in result.error
