"""Label sheets decode back to the units they were printed for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from scanners import decode_image, render_labels, sscc_labels, unit_labels, write_labels


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_unit_sheets_hold_digital_link_qr_codes_that_scan_back_in_order() -> None:
    serials = [str(n) for n in range(1000, 1030)]  # 30 labels: a full A4 page of 24 and 6 more
    labels = unit_labels("9506000134352", serials, domain="https://id.brand.example")
    assert labels[0].payload == "https://id.brand.example/01/09506000134352/21/1000"
    assert labels[0].text == "(01) 09506000134352 (21) 1000"
    sheets = render_labels(labels)
    assert len(sheets.pngs) == 2 and _pdf_pages(sheets.pdf) == 2
    assert sheets.pdf.startswith(b"%PDF")
    first = decode_image(sheets.pngs[0], thorough=False)
    assert [r.key for r in first] == [f"01/09506000134352/21/{s}" for s in serials[:24]]
    assert {r.symbology for r in first} == {"QR"}
    page = Image.open(__import__("io").BytesIO(sheets.pngs[0]))
    assert page.size == (2480, 3508)  # A4 at 300 dpi


def test_sscc_labels_are_gs1_128_with_fnc1() -> None:
    sheets = render_labels(sscc_labels(["376130321109103420", "006141410000000012"]))
    results = decode_image(sheets.pngs[0], thorough=False)
    assert [r.key for r in results] == ["00/376130321109103420", "00/006141410000000012"]
    assert all(r.symbology == "GS1-128" and r.symbology_id == "]C1" for r in results)


def test_sscc_labels_can_be_qr_digital_links() -> None:
    [label] = sscc_labels(["376130321109103420"], symbology="qr")
    assert label.payload == "https://id.hopchain.example/00/376130321109103420"
    [result] = decode_image(render_labels([label]).pngs[0], thorough=False)
    assert result.key == "00/376130321109103420"


def test_a_bad_serial_or_sscc_is_refused_before_printing() -> None:
    with pytest.raises(ValueError, match="check digit"):
        unit_labels("9506000134353", ["1"])
    with pytest.raises(ValueError, match="character set 82"):
        unit_labels("9506000134352", ["no spaces"])
    with pytest.raises(ValueError, match="SSCC"):
        sscc_labels(["376130321109103421"])
    with pytest.raises(ValueError, match="no labels"):
        render_labels([])


def test_write_labels_writes_a_pdf_and_a_png_per_page(tmp_path: Path) -> None:
    paths = write_labels(unit_labels("09506000134352", ["A1", "A2"]), tmp_path, "batch-7")
    assert [p.name for p in paths] == ["batch-7.pdf", "batch-7-001.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
