"""What a reader sees in a statement's PDF, CSV and spreadsheet: the header block
(party, legal name and address, period, run, status, currency, issue date), every
line in words with its currency, the total, and page numbers on every page."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine

import settlement
from settlement.common import Actor
from tests.statements._world import (
    EUR_LINES,
    EUR_TOTAL,
    billing,
    party,
    pdf_text,
    program,
    statement,
)

FINANCE = Actor("fiona", "finance")


def test_the_pdf_says_who_what_when_and_numbers_its_pages(engine: Engine, tmp_path: Path) -> None:
    pid = party(engine, "D-1")
    billing(engine, pid, "Muster Vertrieb GmbH")
    run_id, sid = statement(
        engine, pid, versions=[program(engine, "VOLUME-REBATE", "volume")],
        opening_balance=-4200, fx_note="1 EUR = 1.0840 USD (ECB, 2026-09-30)",
    )  # fmt: skip
    text = pdf_text(settlement.statement_pdf(engine, sid, FINANCE), tmp_path)
    for seen in (
        f"Rebate statement {sid}", f"#{run_id} (final)", "posted", "2026-09",
        "Issue date", "2026-10-03", "Muster Vertrieb GmbH", "Hauptstrasse 5", "10115 Berlin",
        "Germany", "Page 1 of 1", "EUR 3.00 per unit", "Volume rebate at the tier reached",
        "Diversion fine", "EUR -150.00", "EUR 278.50", "Balance brought forward",
        "EUR -42.00", "1 EUR = 1.0840 USD (ECB, 2026-09-30)",
    ):  # fmt: skip
        assert seen in text, seen
    assert "tier_retroactive" not in text and "program:" not in text


def test_a_long_statement_numbers_every_page_of_all(engine: Engine, tmp_path: Path) -> None:
    pid = party(engine, "D-1")
    _, sid = statement(engine, pid, lines=EUR_LINES * 30)  # 150 lines
    text = pdf_text(settlement.statement_pdf(engine, sid, FINANCE), tmp_path)
    pages = text.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) > 2
    for n, page in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in page
        assert f"Statement {sid}" in page  # the foot names the statement on each page
    # the party's name falls back to the party when finance has no billing details
    assert "D-1 Trading" in pages[0]


def test_a_draft_statement_is_not_issued(engine: Engine, tmp_path: Path) -> None:
    pid = party(engine, "D-1")
    _, sid = statement(engine, pid, status="draft")
    text = pdf_text(settlement.statement_pdf(engine, sid, FINANCE), tmp_path)
    assert "draft — not issued" in text and "draft" in text
    rows = list(
        csv.reader(io.StringIO(settlement.statement_csv(engine, sid, FINANCE).decode("utf-8-sig")))
    )
    assert ["Issue date", "draft — not issued"] in rows
    assert ["Status", "draft"] in rows


def test_the_csv_starts_with_the_header_block(engine: Engine) -> None:
    pid = party(engine, "D-1")
    billing(engine, pid, "Muster Vertrieb GmbH")
    run_id, sid = statement(engine, pid, versions=[program(engine, "VOLUME-REBATE", "volume")])
    data = settlement.statement_csv(engine, sid, FINANCE)
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: spreadsheet programs read it as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[:9] == [
        ["Statement", str(sid)],
        ["Party", "D-1 D-1 Trading"],
        ["Legal name", "Muster Vertrieb GmbH"],
        ["Address", "Hauptstrasse 5, 10115 Berlin, Germany"],
        ["Period", "2026-09"],
        ["Run", f"#{run_id} (final)"],
        ["Status", "posted"],
        ["Currency", "EUR"],
        ["Issue date", "2026-10-03"],
    ]
    blank = rows.index([])
    table = list(
        csv.DictReader(
            io.StringIO("\n".join(",".join(f'"{c}"' for c in r) for r in rows[blank + 1 :]))
        )
    )
    lines, total = table[:-1], table[-1]
    assert [r["Description"] for r in lines] == [
        "Volume rebate at the tier reached", "Partner class multiplier", "Growth rebate",
        "Diversion fine", "Adjustment",
    ]  # fmt: skip
    assert lines[0]["Rate"] == "EUR 3.00 per unit" and lines[0]["Line"] == "1"
    assert lines[3]["Refers to"] == "alert 12" and lines[3]["Amount"] == "-150.00"
    assert {r["Currency"] for r in table} == {"EUR"}
    # 360.00 + 36.00 + 20.00 - 150.00 + 12.50 = 278.50
    assert sum(Decimal(r["Amount"]) for r in lines) == Decimal(total["Amount"]) == Decimal("278.50")
    assert total["Description"] == "Total" and EUR_TOTAL == 27850


def test_the_spreadsheet_has_the_header_block_and_a_sum_formula(engine: Engine) -> None:
    pid = party(engine, "D-1", currency="JPY")
    lines = [("adjustment", "adjustment", "credit", "1", 1500, "adjustment:1"),
             ("adjustment", "adjustment", "charge", "1", -200, "adjustment:2")]  # fmt: skip
    run_id, sid = statement(engine, pid, lines=lines, currency="JPY")
    wb = load_workbook(io.BytesIO(settlement.statement_xlsx(engine, sid, FINANCE)))
    ws = wb["Statement"]
    header = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(1, 12)}
    assert header["Party"] == "D-1 D-1 Trading" and header["Legal name"] == "D-1 Trading"
    assert header["Run"] == f"#{run_id} (final)" and header["Status"] == "posted"
    assert header["Period"] == "2026-09" and header["Currency"] == "JPY"
    assert header["Issue date"] == "2026-10-03"
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    head = rows.index(["Line", "Description", "Basis", "Rate", "Amount", "Currency", "Refers to"])
    first = head + 2  # spreadsheet rows count from 1
    assert rows[head + 1][:5] == [1, "Adjustment", "credit", "—", 1500]
    total = rows[-1]
    assert total[1] == "Total" and total[4] == f"=SUM(E{first}:E{first + 1})"
    assert ws.cell(row=first, column=5).number_format == "#,##0"  # JPY has no decimals
