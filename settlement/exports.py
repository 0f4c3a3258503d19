"""Statements as CSV, XLSX and PDF; a run summary and its rebates-vs-penalties chart.

Each statement file opens with a header block a reader needs without the portal:
the party (code, name, legal name, address), period, run number and status,
currency, issue date (the day the run was posted, else "draft — not issued"),
balance brought forward and FX note when there are any; then one row per line in
words (see :mod:`settlement.presentation`), and the total. Amounts are printed from
integer minor units with the currency's exponent, never through floats, so what a
distributor reads is exactly what was booked. The PDF numbers its pages "Page n of
N" and repeats the statement, run and period at the foot of each.

Every file is written in the language of a :class:`settlement.wording.Words`
(``words=``; English without one): labels, column headers, lines, money with its
currency and dates as the locale writes them. Callers choose the party's language
(``StatementView.party_locale``). Two things stay machine-readable in every
language: the CSV's and the spreadsheet's amount column (a plain decimal with a
dot, no grouping, resp. a number cell) with the currency in the next column, and
identifiers (period ``2026-09``, run and statement numbers, the hash). A Chinese
PDF is set in Adobe's ``STSong-Light`` CID font, which every PDF reader has
(nothing is embedded); other languages use the standard Latin-1 fonts.
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

from settlement.common import Actor, PermissionDenied, SettlementError
from settlement.models import SettlementRun, Statement, StatementLine
from settlement.rules.money import minor_exponent, round_minor
from settlement.runs import fx_rate
from settlement.statements import StatementView, get_statement
from settlement.wording import ENGLISH, N_, Words

__all__ = [
    "NOT_ISSUED",
    "RunSummary",
    "SummaryRow",
    "format_minor",
    "issue_date",
    "line_header",
    "run_chart_png",
    "run_summary",
    "statement_csv",
    "statement_header",
    "statement_pdf",
    "statement_xlsx",
]

#: The issue date of a statement whose run is not posted yet.
NOT_ISSUED = N_("draft — not issued")


def line_header(w: Words) -> list[str]:
    """The names of a statement's line columns in the language of ``w``. "Rate" is
    the rate of the line's rule (a rebate or fine rate, a factor): it is translated
    in the context ``"statement line"`` (zh 费率), apart from an exchange rate (汇率)."""
    return [
        w._("Line"), w._("Description"), w._("Basis"), w.pgettext("statement line", "Rate"),
        w._("Amount"), w._("Currency"), w._("Refers to"),
    ]  # fmt: skip


#: Run statuses and kinds as a statement's reader reads them.
_RUN_WORDS = {
    "draft": N_("draft"),
    "approved": N_("approved"),
    "posted": N_("posted"),
    "discarded": N_("discarded"),
    "final": N_("final"),
    "partial": N_("partial"),
}


def format_minor(amount: int, currency: str) -> str:
    """``123456, "EUR"`` -> ``"1234.56"`` (exact, sign kept, no grouping: for files)."""
    exp = minor_exponent(currency)
    if exp == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}"


def issue_date(st: StatementView, words: Words = ENGLISH) -> str:
    """The UTC day the statement's run was posted (``2026-10-03`` in English, the
    locale's date otherwise), else :data:`NOT_ISSUED` in words."""
    if st.issued_ms is None:
        return words._(NOT_ISSUED)
    return words.day(st.issued_ms)


def _run_word(value: str, words: Words) -> str:
    known = _RUN_WORDS.get(value)
    return words._(known) if known else value


def _state(st: StatementView, words: Words) -> str:
    """The distributor's answer in words (:func:`settlement.statement_state`)."""
    if st.run_status != "posted":
        return words._("not issued")
    if st.response is None:
        return words._("awaiting response")
    if st.response.status == "confirmed":
        return words._("confirmed")
    open_lines = sum(1 for d in st.disputes if d.status == "open")
    if open_lines:
        return words.ngettext(
            "disputed — %(num)s line open", "disputed — %(num)s lines open", open_lines
        ) % {"num": words.integer(open_lines)}
    return words._("resolved")


def statement_header(st: StatementView, words: Words = ENGLISH) -> list[tuple[str, str]]:
    """The header block of every statement file, as (label, value) pairs in order."""
    w = words
    rows = [
        (w._("Statement"), str(st.id)),
        (w._("Party"), f"{st.party_code} {st.party_name}"),
        (w._("Legal name"), st.legal_name),
        (w._("Address"), ", ".join(st.address) or "—"),
        (w._("Period"), st.period),
        (w._("Run"), f"#{st.run_id} ({_run_word(st.run_kind, w)})"),
        (w._("Status"), _run_word(st.run_status, w)),
        (w._("Currency"), st.currency),
        (w._("Issue date"), issue_date(st, w)),
        (w._("Partner class"), st.partner_class),
    ]
    if st.opening_balance_minor:
        rows.append(
            (w._("Balance brought forward"), w.money(st.opening_balance_minor, st.currency))
        )
    if st.fx_note:
        rows.append((w._("Exchange rates used"), st.fx_note))
    if st.run_status == "posted":
        rows.append((w._("Response"), _state(st, w)))
    return rows


def _line_rows(st: StatementView) -> list[tuple[str, str, str, str, str, str, str]]:
    return [
        (str(ln.number), ln.text.title, ln.text.basis_text, ln.text.rate_text,
         format_minor(ln.amount_minor, st.currency), st.currency, ln.refers_to)
        for ln in st.lines
    ]  # fmt: skip


def statement_csv(engine: Engine, statement_id: int, actor: Actor, words: Words = ENGLISH) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheet programs read the accents): the
    header block (label, value), an empty row, the line table (its first row the
    column names in the language of ``words``; amounts in major units as plain
    decimals with a dot, with a currency column) and a final total row.

    Raises what :func:`settlement.statements.get_statement` raises."""
    st = get_statement(engine, statement_id, actor, words)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows(statement_header(st, words))
    w.writerow(())
    w.writerow(line_header(words))
    w.writerows(_line_rows(st))
    w.writerow(
        ("", words._("Total"), "", "", format_minor(st.total_minor, st.currency), st.currency, "")
    )
    return buf.getvalue().encode("utf-8-sig")


def statement_xlsx(
    engine: Engine, statement_id: int, actor: Actor, words: Words = ENGLISH
) -> bytes:
    """One worksheet: the header block, the line table with amounts as numbers in the
    currency's decimals, and a total cell that is a SUM formula over the line amounts;
    labels and column names in the language of ``words``.

    Raises what :func:`settlement.statements.get_statement` raises."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    st = get_statement(engine, statement_id, actor, words)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = words._("Statement")
    bold = Font(bold=True)
    for label, value in statement_header(st, words):
        ws.append([label, value])
        ws.cell(row=ws.max_row, column=1).font = bold
    ws.append([])
    ws.append(line_header(words))
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
    ws.append(["", words._("Total"), "", "", total, st.currency])
    for cell in ws[ws.max_row]:
        cell.font = bold
    ws.cell(row=ws.max_row, column=5).number_format = fmt
    for col, width in zip("ABCDEFG", (18, 40, 80, 26, 16, 10, 22), strict=True):
        ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


#: Adobe's Simplified Chinese CID font: every PDF reader carries it, nothing is embedded.
_CJK_FONT = "STSong-Light"


def _fonts(words: Words, texts: list[str]) -> tuple[str, str]:
    """(regular, bold) font names: the CID font for Chinese documents and for text the
    standard fonts cannot show (a party named in Chinese on an English statement),
    else Helvetica."""
    latin = all(t.encode("latin-1", "ignore").decode("latin-1") == t for t in texts)
    if not words.locale.startswith("zh") and latin:
        return "Helvetica", "Helvetica-Bold"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if _CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))
    return _CJK_FONT, _CJK_FONT  # the CID font has no bold face


def statement_pdf(engine: Engine, statement_id: int, actor: Actor, words: Words = ENGLISH) -> bytes:
    """A printable statement (A4 landscape): title, the party's legal name and postal
    address, the facts of the run (number, status, period, issue date...), one row per
    line (title, basis, rate, amount with currency), the total and the deposit after
    settlement; "Page n of N" and the statement's identity at the foot of every page;
    all in the language of ``words``.

    Chinese documents, and any whose text falls outside Latin-1, use the CID font
    ``STSong-Light`` (Chinese and Latin letters); others the standard PDF fonts.
    Raises what :func:`settlement.statements.get_statement` raises."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    w = words
    st = get_statement(engine, statement_id, actor, w)
    header = statement_header(st, w)
    texts = [v for _, v in header] + [t for row in _line_rows(st) for t in row]
    heading = w._("Rebate statement %(id)s — %(period)s", id=st.id, period=st.period)
    regular, bold = _fonts(w, [st.legal_name, *st.address, *texts, heading])
    styles = getSampleStyleSheet()
    body = styles["BodyText"].clone("body", fontName=regular)
    title_style = styles["Title"].clone("title", fontName=bold)
    small = body.clone("small", fontSize=8, leading=10)
    cell = body.clone("cell", fontSize=9, leading=11)
    label_style = cell.clone("label", fontName=bold)

    def para(text: str, style: Any = cell) -> Any:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    party = "<br/>".join(escape(x) for x in (st.legal_name, *st.address))
    hidden = (w._("Legal name"), w._("Address"))
    facts = [
        [para(label, label_style), para(value)] for label, value in header if label not in hidden
    ]
    rows: list[list[object]] = [
        [
            "#",
            para(w._("Line")),
            para(w._("Basis")),
            para(w.pgettext("statement line", "Rate")),
            w._("Amount"),
        ]
    ]
    for ln, (number, title, basis, rate, _amount, _ccy, refers) in zip(
        st.lines, _line_rows(st), strict=True
    ):
        what = f"{basis} ({refers})" if refers else basis
        amount = w.money(ln.amount_minor, st.currency)
        rows.append([number, para(title), para(what), para(rate), amount])
    rows.append(["", w._("Total"), "", "", w.money(st.total_minor, st.currency)])
    table_style = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), regular),
            ("FONT", (0, 0), (-1, 0), bold),
            ("FONT", (0, -1), (-1, -1), bold),
            ("ALIGN", (4, 0), (4, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
            ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
        ]
    )
    facts_style = TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")])
    closing = w._(
        "Deposit after settlement: %(deposit)s. Statement hash %(hash)s.",
        deposit=w.money(st.deposit_after_minor, st.currency),
        hash=st.hash,
    )

    def story() -> list[Any]:  # fresh flowables per pass: a build consumes them
        facts_table = Table(facts, colWidths=[45 * mm, 120 * mm], hAlign="LEFT")
        facts_table.setStyle(facts_style)
        widths = [10 * mm, 55 * mm, 125 * mm, 40 * mm, 40 * mm]
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(table_style)
        return [
            Paragraph(escape(heading), title_style),
            Paragraph(party, body),
            Spacer(1, 4 * mm),
            facts_table,
            Spacer(1, 6 * mm),
            table,
            Spacer(1, 4 * mm),
            Paragraph(escape(closing), small),
        ]

    foot = w._(
        "Statement %(id)s · run #%(run)s (%(status)s) · %(period)s",
        id=st.id,
        run=st.run_id,
        status=_run_word(st.run_status, w),
        period=st.period,
    )

    def build(total_pages: int | None) -> tuple[bytes, int]:
        def footer(canvas: Any, doc: Any) -> None:
            page = canvas.getPageNumber()
            of = (
                w._("Page %(page)s of %(pages)s", page=page, pages=total_pages)
                if total_pages
                else w._("Page %(page)s", page=page)
            )
            canvas.setFont(regular, 8)
            canvas.drawString(15 * mm, 8 * mm, foot)
            canvas.drawRightString(282 * mm, 8 * mm, of)

        out = io.BytesIO()
        doc = SimpleDocTemplate(
            out, pagesize=landscape(A4), title=w._("Statement %(id)s", id=st.id), invariant=True,
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


def run_chart_png(engine: Engine, run_id: int, actor: Actor, words: Words = ENGLISH) -> bytes:
    """Bar chart of rebates vs penalties per partner class, in the reporting currency,
    its title, legend and class labels in the language of ``words``. A PNG (bytes).

    Chinese labels need a CJK font matplotlib finds (:data:`CJK_FONTS`, e.g. Debian's
    ``fonts-noto-cjk``); without one the chart is drawn in English rather than as
    empty boxes. Raises what :func:`run_summary` raises."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    summ = run_summary(engine, run_id, actor)
    w, font = _chart_words(words)
    exp = minor_exponent(summ.reporting_currency)
    labels = [r.key for r in summ.by_class] or ["-"]
    rebates = [r.rebates / 10**exp for r in summ.by_class] or [0.0]
    penalties = [-r.penalties / 10**exp for r in summ.by_class] or [0.0]
    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.subplots()
    xs = list(range(len(labels)))
    # Latin letters and digits from DejaVu Sans (matplotlib's own) where the CJK
    # font has none (Droid Sans Fallback, AR PL UMing): matplotlib falls back per glyph
    family = [font, "DejaVu Sans"] if font else None
    text: dict[str, Any] = {"fontfamily": family} if family else {}
    ax.bar([x - 0.2 for x in xs], rebates, width=0.4, label=w._("rebates"), color="#2a7ab9")
    ax.bar([x + 0.2 for x in xs], penalties, width=0.4, label=w._("penalties"), color="#c8453b")
    ax.set_xticks(xs, [w._("class %(name)s", name=c) for c in labels], **text)
    ax.set_ylabel(summ.reporting_currency)
    ax.set_title(
        w._("Run %(id)s (%(period)s): rebates vs penalties", id=summ.run_id, period=summ.period),
        **text,
    )
    ax.legend(prop={"family": family} if family else None)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


#: Fonts with Chinese glyphs a chart may use, the first matplotlib finds.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Droid Sans Fallback",  # Debian/Ubuntu fonts-droid-fallback
    "AR PL UMing CN",  # Debian/Ubuntu fonts-arphic-uming
)


def _chart_words(words: Words) -> tuple[Words, str | None]:
    """The words a chart is drawn in and the font family it needs (None: the default):
    ``words`` itself unless it is Chinese and no :data:`CJK_FONTS` font is installed,
    then English."""
    if not words.locale.startswith("zh"):
        return words, None
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    for family in CJK_FONTS:
        try:
            font_manager.findfont(FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        return words, family
    return ENGLISH, None
