"""Statements as CSV, XLSX and PDF; a run summary and its rebates-vs-penalties chart.

Amounts are printed from integer minor units with the currency's exponent, never
through floats, so what a distributor reads is exactly what was booked.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from settlement.common import Actor, PermissionDenied, SettlementError
from settlement.models import SettlementRun, Statement, StatementLine
from settlement.rules.money import minor_exponent, round_minor
from settlement.runs import fx_rate
from settlement.statements import StatementView, get_statement

__all__ = [
    "RunSummary",
    "SummaryRow",
    "format_minor",
    "run_chart_png",
    "run_summary",
    "statement_csv",
    "statement_pdf",
    "statement_xlsx",
]

_HEADER = ("position", "rule", "category", "basis", "rate", "amount", "currency", "ref")


def format_minor(amount: int, currency: str) -> str:
    """``123456, "EUR"`` -> ``"1234.56"`` (exact, sign kept)."""
    exp = minor_exponent(currency)
    if exp == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}"


def _title(st: StatementView, period: str) -> str:
    return f"Statement {st.id} - {st.party_code} {st.party_name} - {period} - {st.currency}"


def _period(engine: Engine, run_id: int) -> str:
    with Session(engine) as s:
        r = s.get(SettlementRun, run_id)
        return r.period if r is not None else ""


def statement_csv(engine: Engine, statement_id: int, actor: Actor) -> bytes:
    """One row per line and a final total row; UTF-8."""
    st = get_statement(engine, statement_id, actor)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_HEADER)
    for ln in st.lines:
        w.writerow(
            (ln.position, ln.rule, ln.category, ln.basis, ln.rate,
             format_minor(ln.amount_minor, st.currency), st.currency, ln.ref)
        )  # fmt: skip
    w.writerow(
        ("", "total", "", "", "", format_minor(st.total_minor, st.currency), st.currency, "")
    )
    return buf.getvalue().encode()


def statement_xlsx(engine: Engine, statement_id: int, actor: Actor) -> bytes:
    """A worksheet whose total cell is a SUM formula over the line amounts."""
    from openpyxl import Workbook

    st = get_statement(engine, statement_id, actor)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Statement"
    ws.append([_title(st, _period(engine, st.run_id))])
    ws.append(list(_HEADER))
    fmt = "0" if minor_exponent(st.currency) == 0 else "0." + "0" * minor_exponent(st.currency)
    for ln in st.lines:
        ws.append(
            [ln.position, ln.rule, ln.category, ln.basis, ln.rate,
             Decimal(format_minor(ln.amount_minor, st.currency)), st.currency, ln.ref]
        )  # fmt: skip
        ws.cell(row=ws.max_row, column=6).number_format = fmt
    first, last = 3, ws.max_row
    ws.append(["", "total", "", "", "", f"=SUM(F{first}:F{last})" if st.lines else 0, st.currency])
    ws.cell(row=ws.max_row, column=6).number_format = fmt
    ws.column_dimensions["D"].width = 70
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def statement_pdf(engine: Engine, statement_id: int, actor: Actor) -> bytes:
    """A printable statement: header, one table row per line, total."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    st = get_statement(engine, statement_id, actor)
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    rows: list[list[object]] = [["#", "rule", "basis", "rate", f"amount ({st.currency})"]]
    for ln in st.lines:
        rows.append(
            [str(ln.position), ln.rule, Paragraph(ln.basis, small), ln.rate,
             format_minor(ln.amount_minor, st.currency)]
        )  # fmt: skip
    rows.append(["", "total", "", "", format_minor(st.total_minor, st.currency)])
    table = Table(rows, colWidths=[25, 110, 420, 70, 100], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONT", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
            ]
        )
    )
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), title=f"Statement {st.id}")
    story = [
        Paragraph(_title(st, _period(engine, st.run_id)), styles["Heading2"]),
        Paragraph(
            f"Class {st.partner_class}; deposit after settlement "
            f"{format_minor(st.deposit_after_minor, st.currency)} {st.currency}; "
            f"statement hash {st.hash}",
            small,
        ),
        table,
    ]
    doc.build(story)
    return out.getvalue()


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
