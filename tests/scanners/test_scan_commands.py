"""What hopchain scan parse / scan decode / labels answer (exit status and JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _scan_images import F, photo, sheet, zx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scanners import decode_command, decode_image, labels_command, parse_command, serial_range


def test_scan_parse_prints_the_result_or_the_error() -> None:
    status, doc = parse_command("(01)09506000134352(21)A1")
    assert status == 0
    assert {k: doc[k] for k in ("symbology", "text", "key", "ais")} == {
        "symbology": None,
        "text": "(01)09506000134352(21)A1",
        "key": "01/09506000134352/21/A1",
        "ais": {"01": "09506000134352", "21": "A1"},
    }
    status, doc = parse_command("(01)09506000134353(21)A1")
    assert status == 1 and doc["error"] == "GTIN 09506000134353 has check digit 3, expected 2"
    json.dumps(doc)


def test_scan_decode_lists_codes_per_image_and_fails_on_unreadable_ones(tmp_path: Path) -> None:
    good = tmp_path / "label.png"
    good.write_bytes(photo(sheet([zx("(00)376130321109103420", F.Code128, gs1=True)]), fmt="PNG"))
    empty = tmp_path / "empty.png"
    empty.write_bytes(
        photo(
            sheet([zx("(00)376130321109103420", F.Code128, gs1=True)]).point(lambda _: 255),
            fmt="PNG",
        )
    )
    status, rows = decode_command([good])
    assert status == 0 and rows == [{"image": str(good), **decode_image(good)[0].to_json()}]
    assert rows[0]["symbology"] == "GS1-128" and rows[0]["key"] == "00/376130321109103420"
    status, rows = decode_command([good, empty, tmp_path / "missing.png"])
    assert status == 1
    assert [r.get("error") for r in rows] == [
        None,
        "no barcode found",
        f"no such image file: {tmp_path / 'missing.png'}",
    ]


def test_serial_ranges() -> None:
    assert serial_range("0098-0101") == ["0098", "0099", "0100", "0101"]
    assert serial_range("A1, A2") == ["A1", "A2"]
    with pytest.raises(ValueError, match="ends before"):
        serial_range("10-9")


def test_labels_allocate_commit_and_render(scan_engine: Engine, tmp_path: Path) -> None:
    with Session(scan_engine) as session:
        paths = labels_command(session, tmp_path / "a", gtin="09506000134352", count=3)
        again = labels_command(session, tmp_path / "b", gtin="09506000134352", count=2)
        cases = labels_command(session, tmp_path / "c", company_prefix="0614141", count=2)
        with pytest.raises(ValueError, match="GTIN"):
            labels_command(session, tmp_path / "d")
    assert [p.suffix for p in paths] == [".pdf", ".png"]
    keys = [r.key for r in decode_image(paths[1], thorough=False)]
    assert keys == [f"01/09506000134352/21/{n}" for n in (1, 2, 3)]
    assert [r.key for r in decode_image(again[1], thorough=False)] == [
        f"01/09506000134352/21/{n}" for n in (4, 5)
    ]
    assert [r.key for r in decode_image(cases[1], thorough=False)] == [
        "00/006141410000000012",
        "00/006141410000000029",
    ]
