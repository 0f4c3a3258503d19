"""Payments received, from a file: ``hopchain import payments FILE [--dry-run]`` and the
finance import page (issue 13).

Two layouts, told apart by the header (docs/imports.md, "Payments received"):

- finance's own: ``party, received_on, amount, reference`` (amount in major units
  of the party's currency), read and checked by :func:`settlement.imports.parse_import`
  exactly as before;
- a bank statement CSV/XLSX: ``booking_date, value_date, amount, currency,
  counterparty_name, counterparty_iban, reference, remittance_information``
  (``amount`` signed, ``.`` decimal, major units; ``value_date`` may be empty). A
  credit line is matched to a party by the counterparty IBAN equal to the party's
  billing IBAN (:class:`settlement.models.PartyBilling`, compared compacted: no
  spaces, upper case), else by a party code written in the remittance text (or
  the reference). The money was received on the value date (the booking date
  when there is none).

Every matched line is booked and allocated like
:func:`risk.payments.record_payment`; the same party, day, amount and reference
again is ``unchanged``, so a re-imported statement never pays twice. Debit lines
and lines that match no party are not booked and are listed in the report
(``unbooked``: row and why), never dropped in silence. A malformed row (a bad
date or amount, an unknown currency, a currency that is not the matched party's,
an amount with more decimals than the currency has, a payment dated after today:
the value date, else the booking date, or ``received_on``) fails the whole file, naming
every bad row and column: nothing is stored (:class:`settlement.ImportRejected`).
Finance (and admin) import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.errors import Acting, require
from partners.values import InvalidField
from risk.payments import CREDIT_WRITERS, check_received, store_credit_payment
from settlement.common import Actor
from settlement.import_tables import ImportProblem, ImportRejected, Row, read_table
from settlement.imports import IMPORT_STAGES, ImportLine, PartyRef, parse_import
from settlement.imports import import_file as settlement_import_file
from settlement.models import PartyBilling
from settlement.reference_values import (
    InvalidValue,
    check_currency,
    check_date,
    major_to_minor,
)

__all__ = [
    "BANK_COLUMNS",
    "FINANCE_COLUMNS",
    "Matched",
    "PaymentImportReport",
    "Unbooked",
    "compact_iban",
    "import_file",
    "import_payments",
]

FINANCE_COLUMNS = ("party", "received_on", "amount", "reference")
BANK_COLUMNS = (
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "counterparty_name",
    "counterparty_iban",
    "reference",
    "remittance_information",
)
#: Header names of common bank exports read as ours (lower case).
BANK_ALIASES = {
    "booking date": "booking_date",
    "value date": "value_date",
    "transaction amount": "amount",
    "counterparty name": "counterparty_name",
    "counterparty iban": "counterparty_iban",
    "iban": "counterparty_iban",
    "end to end reference": "reference",
    "remittance information": "remittance_information",
    "remittance": "remittance_information",
    "purpose": "remittance_information",
}


@dataclass(frozen=True, slots=True)
class Unbooked:
    """A line not booked: its row and why (English; ``message_id`` and ``values`` for
    the reader's language)."""

    row: int
    why: str
    message_id: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Matched:
    """A booked (or, on a dry run, bookable) line: the party, how it was matched
    (``iban`` | ``code`` | ``party`` column), the amount and what it settled."""

    row: int
    party_code: str
    how: str
    received_on: str
    amount_minor: int
    currency: str
    reference: str
    outcome: str
    allocations: tuple[tuple[str, int], ...]
    on_account_minor: int


@dataclass(frozen=True, slots=True)
class PaymentImportReport:
    """Like :class:`settlement.ImportReport` (same fields, read by the CLI and the
    import page), plus the matches and the lines not booked."""

    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    format: str
    lines: tuple[ImportLine, ...] = ()
    matched: tuple[Matched, ...] = ()
    unbooked: tuple[Unbooked, ...] = ()


def compact_iban(value: str) -> str:
    """An IBAN without spaces, upper case (how IBANs are compared)."""
    return re.sub(r"\s+", "", value).upper()


@dataclass(frozen=True, slots=True)
class _Line:
    row: int
    party_id: int
    party_code: str
    how: str
    received_on: str
    amount_minor: int
    reference: str
    remittance: str
    payer_iban: str


def _no_stage(_: str) -> None:
    return None


def _future(row: int, column: str, day: str) -> ImportProblem | None:
    """The problem of a payment dated after today (``credit_payment_future``, said like
    :func:`risk.payments.record_payment` says it), None for today or earlier."""
    try:
        check_received(day, column)
    except InvalidField as exc:
        return ImportProblem(row, column, exc.message, exc.message_id, dict(exc.values))
    return None


def _cell(row: Row, column: str) -> str:
    return row.cells.get(column, "")


def _bank_header(header: tuple[str, ...]) -> dict[str, str] | None:
    """Our column -> the file's header name, when the file is a bank statement."""
    found: dict[str, str] = {}
    for name in header:
        ours = name if name in BANK_COLUMNS else BANK_ALIASES.get(name)
        if ours and ours not in found:
            found[ours] = name
    needed = {"booking_date", "amount", "currency"}
    return found if needed <= set(found) else None


def _bank_lines(
    s: Session, rows: tuple[Row, ...], names: dict[str, str]
) -> tuple[list[_Line], list[Unbooked], list[ImportProblem]]:
    parties = {p.code: p for p in s.scalars(select(Party))}
    by_id = {p.id: p for p in parties.values()}
    by_iban = {
        compact_iban(b.iban): b.party_id
        for b in s.scalars(select(PartyBilling).where(PartyBilling.iban != ""))
    }
    codes = sorted(parties, key=len, reverse=True)
    code_re = (
        re.compile(r"(?<![\w-])(" + "|".join(re.escape(c) for c in codes) + r")(?![\w-])")
        if codes
        else None
    )
    lines: list[_Line] = []
    unbooked: list[Unbooked] = []
    problems: list[ImportProblem] = []

    def text(row: Row, column: str) -> str:
        return _cell(row, names[column]) if column in names else ""

    for row in rows:
        bad = len(problems)

        def fail(column: str, exc: InvalidValue, row: Row = row) -> None:
            problems.append(
                ImportProblem.of(row.number, names.get(column, column), exc, exc.message)
            )

        booking = value = ccy = None
        try:
            booking = check_date(text(row, "booking_date"), "booking_date")
        except InvalidValue as exc:
            fail("booking_date", exc)
        if text(row, "value_date").strip():
            try:
                value = check_date(text(row, "value_date"), "value_date")
            except InvalidValue as exc:
                fail("value_date", exc)
        try:
            ccy = check_currency(text(row, "currency"))
        except InvalidValue as exc:
            fail("currency", exc)
        raw = text(row, "amount").strip()
        amount: Decimal | None = None
        try:
            amount = Decimal(raw) if re.fullmatch(r"[+-]?\d+(\.\d+)?", raw) else None
        except InvalidOperation:
            amount = None
        if amount is None:
            problems.append(
                ImportProblem.worded(
                    row.number, names["amount"], "bank_amount_invalid",
                    "%(value)s is not an amount such as -12.50 or 1234.00", value=repr(raw),
                )
            )  # fmt: skip
        if booking is not None and amount is not None and amount > 0 and len(problems) == bad:
            used = "value_date" if value else "booking_date"
            late = _future(row.number, names[used], value or booking)
            if late is not None:
                problems.append(late)
        if len(problems) > bad or amount is None or booking is None or ccy is None:
            continue
        if amount <= 0:
            unbooked.append(
                Unbooked(row.number, f"a debit line ({raw} {ccy}): money paid out, not received",
                         "bank_line_debit", {"amount": raw, "currency": ccy})
            )  # fmt: skip
            continue
        iban = compact_iban(text(row, "counterparty_iban"))
        remittance = text(row, "remittance_information").strip()
        reference = text(row, "reference").strip()
        pid, how = by_iban.get(iban) if iban else None, "iban"
        if pid is None and code_re is not None:
            hit = code_re.search(remittance) or code_re.search(reference)
            if hit:
                pid, how = parties[hit.group(1)].id, "code"
        if pid is None:
            unbooked.append(
                Unbooked(
                    row.number,
                    f"matches no party: IBAN {iban or '(none)'} is no party's billing IBAN and "
                    "the remittance names no party code",
                    "bank_line_no_party",
                    {"iban": iban or "-"},
                )
            )
            continue
        party = by_id[pid]
        if ccy != party.currency:
            problems.append(
                ImportProblem.worded(
                    row.number, names["currency"], "bank_currency_not_party",
                    "%(currency)s is not the currency of %(party)s (%(party_currency)s)",
                    currency=ccy, party=party.code, party_currency=party.currency,
                )
            )  # fmt: skip
            continue
        try:
            minor = major_to_minor(raw.lstrip("+"), ccy, "amount", zero=False)
        except InvalidValue as exc:
            fail("amount", exc)
            continue
        ref = (reference or remittance or text(row, "counterparty_name") or "bank")[:200]
        lines.append(
            _Line(row.number, party.id, party.code, how, value or booking, minor, ref,
                  remittance[:2000], iban[:34])
        )  # fmt: skip
    return lines, unbooked, problems


def _finance_lines(
    s: Session, name: str, data: bytes
) -> tuple[str, int, list[_Line], list[ImportProblem]]:
    table = read_table(name, data)
    codes = {r.cells.get("party", "").strip() for r in table.rows} - {""}
    refs = {
        p.code: PartyRef(p.id, p.code, p.currency, p.kind)
        for p in s.scalars(select(Party).where(Party.code.in_(codes)))
    }
    parsed = parse_import("payments", name, data, refs)
    lines = []
    problems = list(parsed.problems)
    for record in parsed.records:
        code, day, amount, reference = record.key.split("|", 3)
        late = _future(record.row or 0, "received_on", day)
        if late is not None:
            problems.append(late)
        lines.append(
            _Line(record.row or 0, refs[code].id, code, "party", day, int(amount), reference,
                  "", "")
        )  # fmt: skip
    if len(problems) > len(parsed.problems):  # every bad row in row order
        problems.sort(key=lambda p: float("inf") if p.row is None else p.row)
    return parsed.format, parsed.rows, lines, problems


def import_payments(
    engine: Engine,
    filename: str,
    data: bytes,
    actor: Acting,
    *,
    dry_run: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> PaymentImportReport:
    """Import a payments file (either layout, see the module docstring) as ``actor``.

    All or nothing: raises :class:`settlement.ImportRejected` listing every bad row
    and column and stores nothing; ``dry_run`` checks, matches and allocates, then
    rolls back. ``on_stage`` hears :data:`settlement.imports.IMPORT_STAGES` in order.
    Raises :class:`partners.errors.PartnerDenied` for a role other than finance/admin."""
    require(actor, *CREDIT_WRITERS, action="import payments")
    stage = on_stage if on_stage is not None else _no_stage
    name = filename.rsplit("/", 1)[-1] or "upload"
    with Session(engine) as s:
        stage(IMPORT_STAGES[0])
        table = read_table(name, data)
        names = _bank_header(table.header)
        stage(IMPORT_STAGES[1])
        unbooked: list[Unbooked] = []
        if names is None:
            fmt, nrows, lines, problems = _finance_lines(s, name, data)
        else:
            fmt, nrows = table.format, len(table.rows)
            if not table.rows:
                raise ImportRejected(
                    [
                        ImportProblem.worded(
                            None, None, "header_no_rows", "the file has a header but no rows"
                        )
                    ]
                )
            lines, unbooked, problems = _bank_lines(s, table.rows, names)
        if problems:
            raise ImportRejected(problems)
        stage(IMPORT_STAGES[2])
        parties = {
            p.id: p
            for p in s.scalars(select(Party).where(Party.id.in_({ln.party_id for ln in lines})))
        }
        out_lines: list[ImportLine] = []
        matched: list[Matched] = []
        try:
            for ln in lines:
                source = f"import {name} row {ln.row}"
                outcome, view = store_credit_payment(
                    s, actor, parties[ln.party_id], ln.amount_minor, ln.reference,
                    ln.received_on, remittance=ln.remittance, payer_iban=ln.payer_iban,
                    source=source,
                )  # fmt: skip
                key = f"{ln.party_code}|{ln.received_on}|{ln.amount_minor}|{ln.reference}"
                out_lines.append(ImportLine(ln.row, key, outcome))
                matched.append(
                    Matched(
                        ln.row, ln.party_code, ln.how, ln.received_on, ln.amount_minor,
                        view.currency, ln.reference, outcome,
                        tuple((a.item, a.amount_minor) for a in view.allocations
                              if a.payment_id == view.id),
                        view.on_account_minor,
                    )
                )  # fmt: skip
        except BaseException:
            s.rollback()
            raise
        if dry_run:
            s.rollback()
        else:
            s.commit()
    created = sum(1 for ln in out_lines if ln.outcome == "created")
    unchanged = sum(1 for ln in out_lines if ln.outcome == "unchanged")
    return PaymentImportReport(
        "payments", nrows, created, 0, unchanged, dry_run, fmt, tuple(out_lines),
        tuple(matched), tuple(unbooked),
    )  # fmt: skip


def import_file(
    engine: Engine,
    kind: str,
    filename: str,
    data: bytes,
    actor: Actor,
    *,
    dry_run: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> Any:
    """Import a file of any kind ``hopchain import`` knows: ``payments`` here
    (:func:`import_payments`: allocated to open items, bank statements too), every
    other kind by :func:`settlement.import_file`. The one entry point of the command
    line, the finance import page and ``POST /api/v1/imports/<kind>``, so a payments
    file is booked the same way whichever way it arrives. Raises what those raise."""
    if kind == "payments":
        return import_payments(engine, filename, data, actor, dry_run=dry_run, on_stage=on_stage)
    return settlement_import_file(
        engine,
        kind,
        filename,
        data,
        actor,
        dry_run=dry_run,
        on_stage=on_stage,
    )
