"""Importing a file from the page: a bad file lists every bad row and column and
stores nothing; a dry run of a good file stores nothing and says what it would do;
the real import stores it, and importing it again changes nothing."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from settlement.models import PriceList, ReferenceChange
from tests.finance_web._pages import Browser

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _count(engine: Engine, table: type) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def _upload(
    finance: Browser, kind: str, name: str, data: bytes, *, dry_run: bool = False
) -> TestResponse:
    fields: dict[str, object] = {"kind": kind, "file": (io.BytesIO(data), name)}
    if dry_run:
        fields["dry_run"] = "1"
    return finance.client.post(
        "/finance/import/",
        data={"csrf_token": finance.token("/finance/import/"), **fields},
        content_type="multipart/form-data",
    )


def _problems(page: str) -> list[tuple[str, str, str]]:
    rows = re.findall(
        r'<tr><td class="num where">([^<]*)</td><td class="where">([^<]*)</td><td>([^<]*)</td></tr>',
        page,
    )
    return [(r, c, html.unescape(m)) for r, c, m in rows]


def test_a_bad_file_lists_every_row_and_column_and_stores_nothing(
    engine: Engine, finance: Browser
) -> None:
    bad = (
        b"gtin,currency,valid_from,list_price\n"
        b"04012345000016,EUR,2026-01-01,12.50\n"  # row 2: fine
        b"04012345000016,EUR,2026-13-01,12.50\n"  # row 3: no month 13
        b"04012345000017,EUR,2026-01-01,12.50\n"  # row 4: wrong check digit
        b"04012345000023,EUR,2026-01-01,12.345\n"  # row 5: three decimals in EUR
    )
    answer = _upload(finance, "prices", "prices.csv", bad)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "prices.csv was not imported: nothing was stored" in page
    problems = _problems(page)
    assert [(r, c) for r, c, _ in problems] == [
        ("3", "valid_from"),
        ("4", "gtin"),
        ("5", "list_price"),
    ], problems
    assert "2026-13-01" in problems[0][2]
    assert "check digit" in problems[1][2]
    assert "3 decimals" in problems[2][2] and "EUR" in problems[2][2]
    assert "Traceback" not in page
    assert _count(engine, PriceList) == 0 and _count(engine, ReferenceChange) == 0


def test_a_file_that_is_no_table_is_named_as_such(engine: Engine, finance: Browser) -> None:
    answer = _upload(finance, "prices", "prices.csv", b"\x00\x01\x02binary junk\xff")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "nothing was stored" in page and _problems(page)
    assert _count(engine, PriceList) == 0


def test_a_missing_file_or_kind_is_named(finance: Browser) -> None:
    answer = finance.client.post(
        "/finance/import/",
        data={"csrf_token": finance.token("/finance/import/"), "kind": "gossip"},
        content_type="multipart/form-data",
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "kind: choose what the file holds" in page
    assert "file: choose a file to import" in page


def test_dry_run_then_import_of_the_documented_example(engine: Engine, finance: Browser) -> None:
    data = (EXAMPLES / "prices.csv").read_bytes()
    rows = len(data.decode().strip().splitlines()) - 1  # header + 6 price versions
    dry = _upload(finance, "prices", "prices.csv", data, dry_run=True)
    page = dry.get_data(as_text=True)
    assert dry.status_code == 200
    assert f"Dry run: {rows} rows checked, nothing stored" in page
    assert re.search(rf"<strong>{rows}</strong>would be created", page)
    assert _count(engine, PriceList) == 0

    done = _upload(finance, "prices", "prices.csv", data)
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and f"Imported {rows} rows" in page
    assert re.search(rf"<strong>{rows}</strong>created", page)
    assert _count(engine, PriceList) == rows
    listing = finance.text("/finance/prices/?gtin=04012345000023")
    # 29.750 KWD: three decimals (ISO 4217) -> 29750 fils, shown back as 29.750
    assert "KWD 29.750" in listing and "EUR 89.00" in listing
    history = finance.text("/finance/reference/history?kind=prices")
    assert "import prices.csv row 2" in history

    again = _upload(finance, "prices", "prices.csv", data)
    assert re.search(rf"<strong>{rows}</strong>unchanged", again.get_data(as_text=True))
    assert _count(engine, PriceList) == rows
