"""Statements as CSV, XLSX and PDF; a run summary and its rebates-vs-penalties chart.

Each statement file opens with a header block a reader needs without the portal:
the party (code, name, legal name, address), period, run number and status,
currency, issue date (the day the run was posted, else "draft — not issued"),
balance brought forward and FX note when there are any; then one row per line in
words (see :mod:`settlement.presentation`), and the total. Amounts are printed from
integer minor units with the currency's exponent, never through floats, so what a
distributor reads is exactly what was booked. The PDF numbers its pages "Page n of
N" and repeats the statement, run and period at the foot of each.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.times import format_day
from settlement.common import Actor, PermissionDenied, SettlementError
from settlement.models import SettlementRun, Statement, StatementLine
from settlement.presentation import format_money
from settlement.rules.money import minor_exponent, round_minor
from settlement.runs import fx_rate
from settlement.statements import StatementView, get_statement

__all__ = [
    "NOT_ISSUED",
    "RunSummary",
    "SummaryRow",
    "format_minor",
    "issue_date",
    "run_chart_png",
    "run_summary",
    "statement_csv",
    "statement_header",
    "statement_pdf",
    "statement_xlsx",
]

#: The issue date of a statement whose run is not posted yet.
NOT_ISSUED = "draft — not issued"
_LINE_HEADER = ("Line", "Description", "Basis", "Rate", "Amount", "Currency", "Refers to")


def format_minor(amount: int, currency: str) -> str:
    """``123456, "EUR"`` -> ``"1234.56"`` (exact, sign kept, no grouping: for files)."""
    exp = minor_exponent(currency)
    if exp == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}"


def issue_date(st: StatementView) -> str:
    """``2026-10-03`` (UTC) once the statement's run is posted, else :data:`NOT_ISSUED`."""
    if st.issued_ms is None:
        return NOT_ISSUED
    return format_day(st.issued_ms)


def statement_header(st: StatementView) -> list[tuple[str, str]]:
    """The header block of every statement file, as (label, value) pairs in order."""
    rows = [
        ("Statement", str(st.id)),
        ("Party", f"{st.party_code} {st.party_name}"),
        ("Legal name", st.legal_name),
        ("Address", ", ".join(st.address) or "—"),
        ("Period", st.period),
        ("Run", f"#{st.run_id} ({st.run_kind})"),
        ("Status", st.run_status),
        ("Currency", st.currency),
        ("Issue date", issue_date(st)),
        ("Partner class", st.partner_class),
    ]
    if st.opening_balance_minor:
        rows.append(
            ("Balance brought forward", format_money(st.opening_balance_minor, st.currency))
        )
    if st.fx_note:
        rows.append(("Exchange rates used", st.fx_note))
    if st.run_status == "posted":
        rows.append(("Response", st.state))
    return rows


def _line_rows(st: StatementView) -> list[tuple[str, str, str, str, str, str, str]]:
    return [
        (str(ln.number), ln.text.title, ln.text.basis_text, ln.text.rate_text,
         format_minor(ln.amount_minor, st.currency), st.currency, ln.refers_to)
        for ln in st.lines
    ]  # fmt: skip


def statement_csv(engine: Engine, statement_id: int, actor: Actor) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheet programs read the accents): the
    header block (label, value), an empty row, the line table (amounts in major units
    with a currency column) and a final total row.

    Raises what :func:`settlement.statements.get_statement` raises."""
    st = get_statement(engine, statement_id, actor)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows(statement_header(st))
    w.writerow(())
    w.writerow(_LINE_HEADER)
    w.writerows(_line_rows(st))
    w.writerow(("", "Total", "", "", format_minor(st.total_minor, st.currency), st.currency, ""))
    return buf.getvalue().encode("utf-8-sig")


def statement_xlsx(engine: Engine, statement_id: int, actor: Actor) -> bytes:
    """One worksheet: the header block, the line table with amounts as numbers in the
    currency's decimals, and a total cell that is a SUM formula over the line amounts.

    Raises what :func:`settlement.statements.get_statement` raises."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    st = get_statement(engine, statement_id, actor)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Statement"
    bold = Font(bold=True)
    for label, value in statement_header(st):
        ws.append([label, value])
        ws.cell(row=ws.max_row, column=1).font = bold
    ws.append([])
    ws.append(list(_LINE_HEADER))
    for cell in ws[ws.max_row]:
        cell.font = bold
    exp = minor_exponent(st.currency)
    fmt = "#,##0" if exp == 0 else "#,##0." + "0" * exp
    first = ws.max_row + 1
    for row in _line_rows(st):
        number, title, basis, rate, amount, ccy, refers = row
        ws.append([int(number), title, basis, rate, Decimal(amount), ccy, refers])
        ws.cell(row=ws.max_row, column=5).number_format = fmt
    last = ws.max_row
    total = f"=SUM(E{first}:E{last})" if st.lines else 0
    ws.append(["", "Total", "", "", total, st.currency])
    for cell in ws[ws.max_row]:
        cell.font = bold
    ws.cell(row=ws.max_row, column=5).number_format = fmt
    for col, width in zip("ABCDEFG", (18, 40, 80, 26, 16, 10, 22), strict=True):
        ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def statement_pdf(engine: Engine, statement_id: int, actor: Actor) -> bytes:
    """A printable statement (A4 landscape): title, the party's legal name and postal
    address, the facts of the run (number, status, period, issue date...), one row per
    line (title, basis, rate, amount with currency), the total and the deposit after
    settlement; "Page n of N" and the statement's identity at the foot of every page.

    Text uses the standard PDF fonts (Latin-1): names in other scripts print as
    unknown glyphs. Raises what :func:`settlement.statements.get_statement` raises."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    st = get_statement(engine, statement_id, actor)
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    small = body.clone("small", fontSize=8, leading=10)
    cell = body.clone("cell", fontSize=9, leading=11)

    def para(text: str, style: Any = cell) -> Any:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    party = "<br/>".join(escape(x) for x in (st.legal_name, *st.address))
    facts = [
        [label, para(value)]
        for label, value in statement_header(st)
        if label not in ("Legal name", "Address")
    ]
    rows: list[list[object]] = [["#", "Line", "Basis", "Rate", "Amount"]]
    for ln, (number, title, basis, rate, _amount, _ccy, refers) in zip(
        st.lines, _line_rows(st), strict=True
    ):
        what = f"{basis} ({refers})" if refers else basis
        amount = format_money(ln.amount_minor, st.currency)
        rows.append([number, para(title), para(what), para(rate), amount])
    rows.append(["", "Total", "", "", format_money(st.total_minor, st.currency)])
    table_style = TableStyle(
        [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold"),
            ("FONT", (0, -1), (-1, -1), "Helvetica-Bold"),
            ("ALIGN", (4, 0), (4, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
            ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
        ]
    )
    facts_style = TableStyle(
        [("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9)]
    )
    closing = (
        f"Deposit after settlement: {format_money(st.deposit_after_minor, st.currency)}. "
        f"Statement hash {st.hash}."
    )

    def story() -> list[Any]:  # fresh flowables per pass: a build consumes them
        facts_table = Table(facts, colWidths=[45 * mm, 120 * mm], hAlign="LEFT")
        facts_table.setStyle(facts_style)
        widths = [10 * mm, 55 * mm, 125 * mm, 40 * mm, 40 * mm]
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(table_style)
        return [
            Paragraph(f"Rebate statement {st.id} — {escape(st.period)}", styles["Title"]),
            Paragraph(party, body),
            Spacer(1, 4 * mm),
            facts_table,
            Spacer(1, 6 * mm),
            table,
            Spacer(1, 4 * mm),
            Paragraph(closing, small),
        ]

    foot = f"Statement {st.id} · run #{st.run_id} ({st.run_status}) · {st.period}"

    def build(total_pages: int | None) -> tuple[bytes, int]:
        def footer(canvas: Any, doc: Any) -> None:
            page = canvas.getPageNumber()
            of = f"Page {page} of {total_pages}" if total_pages else f"Page {page}"
            canvas.setFont("Helvetica", 8)
            canvas.drawString(15 * mm, 8 * mm, foot)
            canvas.drawRightString(282 * mm, 8 * mm, of)

        out = io.BytesIO()
        doc = SimpleDocTemplate(
            out, pagesize=landscape(A4), title=f"Statement {st.id}", invariant=True,
            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=18 * mm,
        )  # fmt: skip
        doc.build(story(), onFirstPage=footer, onLaterPages=footer)
        return out.getvalue(), int(doc.page)

    # Two passes: the first counts the pages the second prints as "of N".
    _, pages = build(None)
    data, _ = build(pages)
    return data


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Totals of one group, in the reporting currency (minor units)."""

    key: str
    statements: int
    rebates: int
    penalties: int
    rewards: int
    other: int
    total: int


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: int
    period: str
    status: str
    reporting_currency: str
    by_class: tuple[SummaryRow, ...]
    by_region: tuple[SummaryRow, ...]
    by_currency: tuple[SummaryRow, ...]
    native_by_currency: dict[str, int]  # statement totals in their own currency
    grand_total: SummaryRow


def run_summary(engine: Engine, run_id: int, actor: Actor) -> RunSummary:
    """Totals per class, region and currency, converted at the period's FX rates."""
    if actor.role not in ("finance", "admin", "auditor"):
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not read run summaries")
    with Session(engine) as s:
        run = s.get(SettlementRun, run_id)
        if run is None:
            raise SettlementError(f"no settlement run {run_id}")
        rep = run.reporting_currency
        rates: dict[str, Decimal] = {}
        groups: dict[str, dict[str, list[int]]] = {
            "class": defaultdict(lambda: [0, 0, 0, 0, 0, 0]),
            "region": defaultdict(lambda: [0, 0, 0, 0, 0, 0]),
            "currency": defaultdict(lambda: [0, 0, 0, 0, 0, 0]),
        }
        grand = [0, 0, 0, 0, 0, 0]
        native: dict[str, int] = defaultdict(int)
        stmts = {st.id: st for st in s.scalars(select(Statement).where(Statement.run_id == run_id))}
        sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for sid, cat, amount in s.execute(
            select(StatementLine.statement_id, StatementLine.category, StatementLine.amount_minor)
            .join(Statement, Statement.id == StatementLine.statement_id)
            .where(Statement.run_id == run_id)
        ).all():
            sums[int(sid)][str(cat)] += int(amount)
        for sid, st in stmts.items():
            ccy = st.currency
            if ccy not in rates:
                shift = Decimal(10) ** (minor_exponent(rep) - minor_exponent(ccy))
                rates[ccy] = fx_rate(s, run.period, ccy, rep) * shift
            parts = sums[sid]
            conv = [
                round_minor(Decimal(parts.get("rebate", 0) + parts.get("trueup", 0)) * rates[ccy]),
                round_minor(Decimal(parts.get("penalty", 0)) * rates[ccy]),
                round_minor(Decimal(parts.get("reward", 0)) * rates[ccy]),
                round_minor(
                    Decimal(parts.get("deposit", 0) + parts.get("adjustment", 0)) * rates[ccy]
                ),
            ]
            row = [1, *conv, sum(conv)]
            native[ccy] += st.total_minor
            for name, key in (
                ("class", st.partner_class),
                ("region", st.region or "-"),
                ("currency", ccy),
            ):
                g = groups[name][key]
                for i, v in enumerate(row):
                    g[i] += v
            for i, v in enumerate(row):
                grand[i] += v

        def rows(name: str) -> tuple[SummaryRow, ...]:
            return tuple(SummaryRow(k, *v) for k, v in sorted(groups[name].items()))

        return RunSummary(
            run_id, run.period, run.status, rep, rows("class"), rows("region"), rows("currency"),
            dict(native), SummaryRow("total", *grand),
        )  # fmt: skip


def run_chart_png(engine: Engine, run_id: int, actor: Actor) -> bytes:
    """Bar chart of rebates vs penalties per partner class, in the reporting currency."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    summ = run_summary(engine, run_id, actor)
    exp = minor_exponent(summ.reporting_currency)
    labels = [r.key for r in summ.by_class] or ["-"]
    rebates = [r.rebates / 10**exp for r in summ.by_class] or [0.0]
    penalties = [-r.penalties / 10**exp for r in summ.by_class] or [0.0]
    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.subplots()
    xs = list(range(len(labels)))
    ax.bar([x - 0.2 for x in xs], rebates, width=0.4, label="rebates", color="#2a7ab9")
    ax.bar([x + 0.2 for x in xs], penalties, width=0.4, label="penalties", color="#c8453b")
    ax.set_xticks(xs, [f"class {c}" for c in labels])
    ax.set_ylabel(summ.reporting_currency)
    ax.set_title(f"Run {summ.run_id} ({summ.period}): rebates vs penalties")
    ax.legend()
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
