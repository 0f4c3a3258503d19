"""File imports of finance's reference data: all or nothing, every problem named.

``import_file(engine, kind, filename, data, actor)`` reads a CSV or XLSX table (or,
for ``programs``, a JSON or YAML file), checks every cell of every row, and only
when the whole file is right writes it through the reference-data service in one
transaction (each change audited with the source ``import FILE row N``). Any bad
row and nothing is stored: :class:`ImportRejected` lists every problem by row (as a
spreadsheet numbers it, the header being row 1) and column. A dry run checks and
counts the same way and stores nothing. Importing the same file again is harmless:
rows equal to what is stored count as ``unchanged`` and write no audit row.

Layouts (columns exactly; the order is free; ``docs/imports.md`` has examples):

=================== ==========================================================
kind                columns
=================== ==========================================================
prices              gtin, currency, valid_from, list_price
fx                  period, currency, reporting_currency, rate, source
                    -- or the ECB's reference-rate CSV as published
                    (``Date, USD, JPY, ...``: units of currency per 1 EUR)
targets             party, period, units, value, currency
deposits            party, date, kind, amount, reason
deposit-agreements  party, valid_from, agreed_amount
adjustments         party, amount, reason
payments            party, received_on, amount, reference
billing             party, legal_name, address, iban, bic
party-locales       party, locale  (the language of an existing party's documents)
parties             code, name, kind, country, currency, parent; optionally
                    local_name, time_zone, locale, status, email, phone,
                    contact_name (new parties, :mod:`partners.imports`;
                    partner managers and admins import them)
programs            JSON or YAML: code, name, valid_from, valid_to, rules
=================== ==========================================================

Amounts are decimal text in major units of the currency (the row's, or the party's),
with at most the currency's ISO 4217 decimals. Parties are named by their code.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.errors import PartnerError
from partners.imports import OPTIONAL_COLUMNS as PARTY_OPTIONAL_COLUMNS
from partners.imports import REQUIRED_COLUMNS as PARTY_COLUMNS
from partners.imports import PartyRow, check_party_rows, store_party_row
from partners.values import InvalidField
from settlement.adjustments import store_adjustment
from settlement.common import Actor, SettlementError
from settlement.deposits import DEPOSIT_KINDS, store_agreement, store_deposit
from settlement.import_tables import ImportProblem, ImportRejected, Row, Table, read_table
from settlement.models import Adjustment
from settlement.programs import (
    ProgramFileError,
    load_program_file,
    store_program,
    store_program_version,
)
from settlement.reference import (
    ECB_SOURCE,
    check_fx_pair,
    store_billing,
    store_fx_rate,
    store_payment,
    store_price,
    store_target,
)
from settlement.reference_audit import Outcome, record_change
from settlement.reference_values import (
    InvalidValue,
    check_bic,
    check_currency,
    check_date,
    check_gtin,
    check_iban,
    check_month,
    check_positive_int,
    check_rate,
    check_text,
    major_to_minor,
)
from settlement.wording import DOCUMENT_LOCALES, supported_locale

__all__ = [
    "IMPORTERS",
    "IMPORT_KINDS",
    "IMPORT_STAGES",
    "LAYOUTS",
    "OPTIONAL_LAYOUTS",
    "ImportLine",
    "ImportProblem",
    "ImportRecord",
    "ImportRejected",
    "ImportReport",
    "ParsedImport",
    "PartyRef",
    "import_file",
    "parse_import",
]

T = TypeVar("T")

#: Columns of each table kind (``programs`` is a JSON/YAML file, not a table).
LAYOUTS: dict[str, tuple[str, ...]] = {
    "prices": ("gtin", "currency", "valid_from", "list_price"),
    "fx": ("period", "currency", "reporting_currency", "rate", "source"),
    "targets": ("party", "period", "units", "value", "currency"),
    "deposits": ("party", "date", "kind", "amount", "reason"),
    "deposit-agreements": ("party", "valid_from", "agreed_amount"),
    "adjustments": ("party", "amount", "reason"),
    "payments": ("party", "received_on", "amount", "reference"),
    "billing": ("party", "legal_name", "address", "iban", "bic"),
    "party-locales": ("party", "locale"),
    "parties": PARTY_COLUMNS,
}
#: Columns a kind's file may have besides :data:`LAYOUTS`' (which it must have).
OPTIONAL_LAYOUTS: dict[str, tuple[str, ...]] = {"parties": PARTY_OPTIONAL_COLUMNS}
IMPORT_KINDS: tuple[str, ...] = (*LAYOUTS, "programs")
#: Who imports each kind (finance for every kind not named).
IMPORTERS: dict[str, tuple[str, ...]] = {"parties": ("partner_manager", "admin")}

#: The stages of :func:`import_file`, in order, as its ``on_stage`` hears them.
IMPORT_STAGES: tuple[str, ...] = (
    "reading the file and its party codes",
    "checking every row",
    "writing the rows (rolled back on a dry run)",
)
_CODE = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class PartyRef:
    """What parsing needs to know of a party named in a file."""

    id: int
    code: str
    currency: str
    kind: str = ""


@dataclass(frozen=True, slots=True)
class ImportLine:
    """What one row (or, for ECB files, one month's rate) did."""

    row: int | None
    key: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ImportReport:
    """An import's result. ``rows``: data rows read (ECB: dates); ``created``, ``updated``,
    ``unchanged``: rows written (ECB: month rates); ``format``: csv, xlsx, ecb-csv,
    ecb-xlsx, json or yaml."""

    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    format: str
    lines: tuple[ImportLine, ...] = ()


Store = Callable[[Session, Actor, str], Outcome]


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One checked row: its row number, its key (duplicates, reports), how to store it
    (``store(session, actor, audit_source)``), its place in the order rows are applied
    (deposits by date) and the parsed ``values`` (prices: gtin, currency, valid_from,
    list_price_minor)."""

    row: int | None
    key: str
    store: Store
    order: tuple[Any, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParsedImport:
    """A file read and checked: its format, data rows, records and every problem."""

    format: str
    rows: int
    records: tuple[ImportRecord, ...]
    problems: tuple[ImportProblem, ...]


class _Cells:
    """One row's cells; :meth:`check` records a problem at this row and column."""

    def __init__(self, row: Row, problems: list[ImportProblem]) -> None:
        self.row = row
        self.problems = problems
        self.ok = True

    def text(self, column: str) -> str:
        return self.row.cells.get(column, "")

    def fail(self, column: str | None, message_id: str, english: str, /, **values: object) -> None:
        """A problem at this row and ``column``: :meth:`ImportProblem.worded`."""
        self.ok = False
        self.problems.append(
            ImportProblem.worded(self.row.number, column, message_id, english, **values)
        )

    def check(self, column: str, parse: Callable[[str], T]) -> T | None:
        try:
            return parse(self.text(column))
        except InvalidValue as exc:
            self.ok = False
            self.problems.append(ImportProblem.of(self.row.number, column, exc, exc.message))
            return None

    def party(self, parties: Mapping[str, PartyRef]) -> PartyRef | None:
        code = self.text("party")
        if not code:
            self.fail("party", "party_code_empty", "is empty; name the party by its code")
            return None
        ref = parties.get(code)
        if ref is None:
            self.fail(
                "party",
                "party_code_unknown",
                "there is no party with code %(code)s",
                code=repr(code),
            )
        return ref


# ------------------------------------------------------------------ table layouts


def _prices(c: _Cells, _parties: Mapping[str, PartyRef]) -> ImportRecord | None:
    gtin = c.check("gtin", check_gtin)
    ccy = c.check("currency", check_currency)
    day = c.check("valid_from", lambda v: check_date(v, "valid_from"))
    price = c.check("list_price", lambda v: major_to_minor(v, ccy, "list_price"))
    if not c.ok or gtin is None or ccy is None or day is None or price is None:
        return None
    return ImportRecord(
        c.row.number,
        f"{gtin}|{ccy}|{day}",
        lambda s, a, src: store_price(s, a, gtin, ccy, day, price, src),
        values={"gtin": gtin, "currency": ccy, "valid_from": day, "list_price_minor": price},
    )


def _fx(c: _Cells, _parties: Mapping[str, PartyRef]) -> ImportRecord | None:
    month = c.check("period", lambda v: check_month(v, "period"))
    ccy = c.check("currency", check_currency)
    rep = c.check("reporting_currency", lambda v: check_currency(v, "reporting_currency"))
    rate = c.check("rate", check_rate)
    source = c.check("source", lambda v: check_text(v, "source", max_length=200))
    if ccy is not None and rep is not None:
        c.check("reporting_currency", lambda _v: check_fx_pair(ccy, rep))
    if not c.ok or month is None or ccy is None or rep is None or rate is None or source is None:
        return None
    as_of = _month_end(month)
    return ImportRecord(
        c.row.number,
        f"{month}|{ccy}|{rep}",
        lambda s, a, src: store_fx_rate(
            s, a, month, ccy, rep, rate, source, as_of, src, keep_newer=True
        ),
    )


def _month_end(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{month}-{calendar.monthrange(y, m)[1]:02d}"


def _party_row(s: Session, ref: PartyRef) -> Party:
    p = s.get(Party, ref.id)
    if p is None:  # deleted while the import ran
        raise InvalidValue.said(
            "party_gone", "party %(party)s no longer exists", field="party", party=ref.code
        )
    return p


def _targets(c: _Cells, parties: Mapping[str, PartyRef]) -> ImportRecord | None:
    ref = c.party(parties)
    month = c.check("period", lambda v: check_month(v, "period"))
    units_text, value_text = c.text("units"), c.text("value")
    units = value = None
    if bool(units_text) == bool(value_text):
        c.fail("units", "units_or_value", "give either units or value (not both, not neither)")
    elif units_text:
        units = c.check("units", lambda v: check_positive_int(v, "units"))
        if c.text("currency"):
            c.fail(
                "currency",
                "units_target_currency",
                "a units target has no currency; leave it empty",
            )
    elif ref is not None:
        ccy = c.check("currency", check_currency) if c.text("currency") else ref.currency
        if ccy is not None and ccy != ref.currency:
            c.fail(
                "currency",
                "value_target_currency",
                "%(party)s is settled in %(currency)s; a value target is in that currency",
                party=ref.code,
                currency=ref.currency,
            )
        value = c.check("value", lambda v: major_to_minor(v, ref.currency, "value", zero=False))
    if not c.ok or ref is None or month is None:
        return None
    return ImportRecord(
        c.row.number,
        f"{ref.code}|{month}",
        lambda s, a, src: store_target(s, a, _party_row(s, ref), month, units, value, src),
    )


def _deposits(c: _Cells, parties: Mapping[str, PartyRef]) -> ImportRecord | None:
    ref = c.party(parties)
    day = c.check("date", lambda v: check_date(v, "date"))
    kind = c.text("kind").lower()
    if kind not in DEPOSIT_KINDS:
        c.fail(
            "kind",
            "deposit_kind_cell",
            "%(value)s is not one of: receipt, refund",
            value=repr(c.text("kind")),
        )
    amount = c.check(
        "amount",
        lambda v: major_to_minor(v, ref.currency if ref else None, "amount", zero=False),
    )
    reason = c.check("reason", lambda v: check_text(v, "reason", required=False))
    if not c.ok or ref is None or day is None or amount is None or reason is None:
        return None

    def store(s: Session, a: Actor, src: str) -> Outcome:
        party = _party_row(s, ref)
        return store_deposit(s, a, party, kind, amount, reason, day, src, skip_same=True)[0]

    return ImportRecord(
        c.row.number, f"{ref.code}|{day}|{kind}|{amount}|{reason}", store, order=(day, kind)
    )


def _agreements(c: _Cells, parties: Mapping[str, PartyRef]) -> ImportRecord | None:
    ref = c.party(parties)
    day = c.check("valid_from", lambda v: check_date(v, "valid_from"))
    amount = c.check(
        "agreed_amount",
        lambda v: major_to_minor(v, ref.currency if ref else None, "agreed_amount"),
    )
    if not c.ok or ref is None or day is None or amount is None:
        return None
    return ImportRecord(
        c.row.number,
        f"{ref.code}|{day}",
        lambda s, a, src: store_agreement(s, a, _party_row(s, ref), day, amount, src)[0],
    )


def _adjustments(c: _Cells, parties: Mapping[str, PartyRef]) -> ImportRecord | None:
    ref = c.party(parties)
    amount = c.check(
        "amount",
        lambda v: major_to_minor(
            v, ref.currency if ref else None, "amount", negative=True, zero=False
        ),
    )
    reason = c.check("reason", lambda v: check_text(v, "reason"))
    if not c.ok or ref is None or amount is None or reason is None:
        return None

    def store(s: Session, a: Actor, src: str) -> Outcome:
        same = s.scalar(
            select(Adjustment.id).where(
                Adjustment.party_id == ref.id,
                Adjustment.amount_minor == amount,
                Adjustment.reason == reason,
                Adjustment.status != "rejected",
                Adjustment.applied_run_id.is_(None),
            )
        )
        if same is not None:
            return "unchanged"
        return store_adjustment(s, a, _party_row(s, ref), amount, reason, src)[0]

    return ImportRecord(c.row.number, f"{ref.code}|{amount}|{reason}", store)


def _payments(c: _Cells, parties: Mapping[str, PartyRef]) -> ImportRecord | None:
    ref = c.party(parties)
    day = c.check("received_on", lambda v: check_date(v, "received_on"))
    amount = c.check(
        "amount",
        lambda v: major_to_minor(v, ref.currency if ref else None, "amount", zero=False),
    )
    reference = c.check("reference", lambda v: check_text(v, "reference", max_length=200))
    if not c.ok or ref is None or day is None or amount is None or reference is None:
        return None

    def store(s: Session, a: Actor, src: str) -> Outcome:
        party = _party_row(s, ref)
        return store_payment(s, a, party, amount, reference, day, src, skip_same=True)[0]

    return ImportRecord(c.row.number, f"{ref.code}|{day}|{amount}|{reference}", store)


def _billing(c: _Cells, parties: Mapping[str, PartyRef]) -> ImportRecord | None:
    ref = c.party(parties)
    legal_name = c.check("legal_name", lambda v: check_text(v, "legal_name", max_length=200))
    address = c.check(
        "address", lambda v: check_text(v, "address", required=False, max_length=1000)
    )
    iban = c.check("iban", check_iban)
    bic = c.check("bic", lambda v: check_bic(v) if v.strip() else "")
    if not c.ok or ref is None or legal_name is None or address is None:
        return None
    if iban is None or bic is None:
        return None
    return ImportRecord(
        c.row.number,
        ref.code,
        lambda s, a, src: store_billing(
            s, a, _party_row(s, ref), legal_name, address, iban, bic, src
        ),
    )


def _check_locale(text: str) -> str | None:
    """A supported document language (``zh_Hans_CN``; ``zh-CN``, ``ES`` read too),
    None for an empty cell (the deployment's default)."""
    if not text.strip():
        return None
    found = supported_locale(text)
    if found is None:
        raise InvalidValue.said(
            "not_document_locale",
            "%(value)s is not a language statements are written in; use one of"
            " %(locales)s, or leave it empty for the default (en)",
            field="locale",
            value=repr(text.strip()),
            locales=", ".join(DOCUMENT_LOCALES),
        )
    return found


def store_party_locale(
    s: Session, actor: Actor, party: Party, locale: str | None, source: str
) -> Outcome:
    """Set the language of ``party``'s documents (``parties.locale``; None: default)."""
    if party.locale == locale:
        return "unchanged"
    record_change(
        s,
        "parties",
        party.code,
        "update",
        actor,
        {"locale": party.locale},
        {"locale": locale},
        source,
    )
    party.locale = locale
    return "updated"


def _parties(c: _Cells, parties: Mapping[str, PartyRef]) -> ImportRecord | None:
    ref = c.party(parties)
    locale = c.check("locale", _check_locale)
    if not c.ok or ref is None:
        return None
    return ImportRecord(
        c.row.number,
        ref.code,
        lambda s, a, src: store_party_locale(s, a, _party_row(s, ref), locale, src),
    )


_PARSERS: dict[str, Callable[[_Cells, Mapping[str, PartyRef]], ImportRecord | None]] = {
    "prices": _prices,
    "fx": _fx,
    "targets": _targets,
    "deposits": _deposits,
    "deposit-agreements": _agreements,
    "adjustments": _adjustments,
    "payments": _payments,
    "billing": _billing,
    "party-locales": _parties,
}

# Columns that say two rows are the same thing (a repeated key is a mistake in the file).
_KEY_COLUMNS: dict[str, str] = {
    "prices": "gtin, currency and valid_from",
    "fx": "period, currency and reporting_currency",
    "targets": "party and period",
    "deposits": "party, date, kind, amount and reason",
    "deposit-agreements": "party and valid_from",
    "adjustments": "party, amount and reason",
    "payments": "party, received_on, amount and reference",
    "billing": "party",
    "party-locales": "party",
}


# ------------------------------------------------------------------ ECB reference rates


def _is_ecb(table: Table) -> bool:
    return (
        len(table.header) >= 2
        and table.header[0] == "date"
        and all(_CODE.match(h.upper()) for h in table.header[1:])
    )


def _ecb_date(text: str) -> str:
    for pattern in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date().isoformat()
        except ValueError:
            continue
    raise InvalidValue.said(
        "not_ecb_date",
        "%(value)s is not a date like 2026-10-30 or 30 October 2026",
        field="Date",
        value=repr(text),
    )


def _ecb(table: Table) -> ParsedImport:
    """Month-end ECB rates: for each currency and month, the latest date's rate.

    ECB rates are units of currency per 1 EUR, stored as EUR -> currency. ``N/A`` or an
    empty cell means no rate that day. Column codes are taken as the ECB writes them
    (the history file keeps withdrawn currencies such as CYP).
    """
    problems: list[ImportProblem] = []
    codes = [h.upper() for h in table.header[1:]]
    for code in codes:
        if code == "EUR":
            problems.append(
                ImportProblem.worded(
                    table.header_row, "EUR", "eur_per_eur", "EUR per EUR is not a rate; remove it"
                )
            )
    best: dict[tuple[str, str], tuple[str, str, int]] = {}  # (month, ccy) -> (day, rate, row)
    seen_days: dict[str, int] = {}
    for row in table.rows:
        try:
            day: str | None = _ecb_date(row.cells["date"])
        except InvalidValue as exc:
            problems.append(ImportProblem.of(row.number, "Date", exc, exc.message))
            day = None
        if day is not None and day in seen_days:
            problems.append(
                ImportProblem.worded(
                    row.number,
                    "Date",
                    "ecb_day_twice",
                    "%(day)s is also row %(row)s",
                    day=day,
                    row=seen_days[day],
                )
            )
            continue
        if day is not None:
            seen_days[day] = row.number
        for code in codes:
            raw = row.cells[code.lower()]
            if raw.upper() in ("", "N/A"):  # no rate that day
                continue
            try:
                rate = check_rate(raw, code)
            except InvalidValue as exc:
                problems.append(ImportProblem.of(row.number, code, exc, exc.message))
                continue
            key = (day[:7], code) if day else None
            if key is not None and day is not None and (key not in best or best[key][0] < day):
                best[key] = (day, rate, row.number)
    records = tuple(
        _ecb_record(month, code, day, rate, number)
        for (month, code), (day, rate, number) in sorted(best.items())
    )
    return ParsedImport("ecb-" + table.format, len(table.rows), records, tuple(problems))


def _ecb_record(month: str, code: str, day: str, rate: str, row: int) -> ImportRecord:
    return ImportRecord(
        row,
        f"{month}|EUR|{code}",
        lambda s, a, src: store_fx_rate(
            s, a, month, "EUR", code, rate, ECB_SOURCE, day, src, keep_newer=True
        ),
    )


# ------------------------------------------------------------------ programs


def _program(filename: str, data: bytes) -> ParsedImport:
    try:
        pf = load_program_file(filename, data)
    except ProgramFileError as exc:
        fmt = "json" if filename.lower().endswith(".json") else "yaml"
        return ParsedImport(fmt, 1, (), (ImportProblem.of(None, exc.field, exc, exc.message),))

    def store(s: Session, a: Actor, src: str) -> Outcome:
        made, _ = store_program(s, a, pf.code, pf.name, src)
        version, _ = store_program_version(
            s, a, pf.code, pf.valid_from, pf.valid_to, pf.rules, src, skip_same=True
        )
        if made == "created":
            return "created"
        return "unchanged" if (made, version) == ("unchanged", "unchanged") else "updated"

    return ParsedImport(pf.format, 1, (ImportRecord(None, pf.code, store),), ())


# ------------------------------------------------------------------ the whole file


def _header_problems(kind: str, table: Table) -> list[ImportProblem]:
    wanted = LAYOUTS[kind]
    allowed = (*wanted, *OPTIONAL_LAYOUTS.get(kind, ()))
    got = set(table.header)
    out = [
        ImportProblem.worded(
            table.header_row,
            name,
            "column_unknown",
            "unknown column; a %(kind)s file has the columns %(columns)s",
            kind=kind,
            columns=", ".join(allowed),
        )
        for name in table.header
        if name not in allowed
    ]
    out += [
        ImportProblem.worded(table.header_row, name, "column_missing", "missing column")
        for name in wanted
        if name not in got
    ]
    if out:
        for other, columns in LAYOUTS.items():
            if other != kind and set(columns) == got:
                out.append(
                    ImportProblem.worded(
                        table.header_row,
                        None,
                        "columns_of_other_kind",
                        "these are the columns of a %(kind)s file: hopchain import %(kind)s FILE",
                        kind=other,
                    )
                )
    return out


def parse_import(
    kind: str, filename: str, data: bytes, parties: Mapping[str, PartyRef]
) -> ParsedImport:
    """Read and check a whole file without touching the database.

    ``parties`` maps the party codes the file may name to their id and currency.
    Returns the records to store and every problem found (records are only stored
    when there is none). Raises :class:`ImportRejected` for an unreadable file and
    :class:`SettlementError` for an unknown ``kind``.
    """
    if kind not in IMPORT_KINDS:
        raise SettlementError(f"kind: {kind!r} is not one of: {', '.join(IMPORT_KINDS)}")
    if kind == "programs":
        return _program(filename, data)
    table = read_table(filename, data)
    if kind == "fx" and _is_ecb(table):
        return _ecb(table)
    header = _header_problems(kind, table)
    if header:
        return ParsedImport(table.format, len(table.rows), (), tuple(header))
    if not table.rows:
        problem = ImportProblem.worded(
            None, None, "header_no_rows", "the file has a header but no rows"
        )
        return ParsedImport(table.format, 0, (), (problem,))
    if kind == "parties":
        return _parties_file(table, parties)
    problems: list[ImportProblem] = []
    records: list[ImportRecord] = []
    first_of: dict[str, int] = {}
    parse = _PARSERS[kind]
    for row in table.rows:
        cells = _Cells(row, problems)
        record = parse(cells, parties)
        if record is None:
            continue
        if record.key in first_of:
            first_column = LAYOUTS[kind][0]
            cells.fail(
                first_column,
                "row_repeated",
                "repeats row %(row)s (same %(columns)s)",
                row=first_of[record.key],
                columns=_KEY_COLUMNS[kind],
            )
            continue
        first_of[record.key] = row.number
        records.append(record)
    records.sort(key=lambda r: r.order)  # stable: file order within equal keys
    return ParsedImport(table.format, len(table.rows), tuple(records), tuple(problems))


def _parties_file(table: Table, refs: Mapping[str, PartyRef]) -> ParsedImport:
    """New parties (:mod:`partners.imports`): every row and column checked, parents
    in the file or stored (``refs``: the stored parties the file names), the rows
    ordered parents first."""
    rows = [(row.number, row.cells) for row in table.rows]
    checked, found = check_party_rows(rows, {code: ref.kind for code, ref in refs.items()})
    problems = tuple(
        ImportProblem(p.row, p.column, p.message, p.message_id, p.values) for p in found
    )
    records = tuple(
        ImportRecord(prow.row, prow.party.code.strip(), _party_store(prow)) for prow in checked
    )
    return ParsedImport(table.format, len(table.rows), records, problems)


def _party_store(prow: PartyRow) -> Store:
    def store(s: Session, actor: Actor, source: str) -> Outcome:
        store_party_row(s, prow, actor, source)
        return "created"

    return store


def _party_refs(s: Session, kind: str, data: bytes, filename: str) -> dict[str, PartyRef]:
    columns = ("code", "parent") if kind == "parties" else ("party",)
    if kind not in LAYOUTS or not set(columns) <= set(LAYOUTS[kind]):
        return {}
    try:
        table = read_table(filename, data)
    except ImportRejected:
        return {}
    codes = {r.cells.get(c, "").strip() for r in table.rows for c in columns} - {""}
    if not codes:
        return {}
    rows = s.execute(
        select(Party.id, Party.code, Party.currency, Party.kind).where(Party.code.in_(codes))
    )
    return {
        str(code): PartyRef(int(pid), str(code), str(ccy), str(kind))
        for pid, code, ccy, kind in rows
    }


def _no_stage(_: str) -> None:
    return None


def import_file(
    engine: Engine,
    kind: str,
    filename: str,
    data: bytes,
    actor: Actor,
    *,
    dry_run: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> ImportReport:
    """Import a whole file of ``kind`` (see :data:`IMPORT_KINDS`) as ``actor`` (finance).

    All or nothing: raises :class:`ImportRejected` listing every problem (row, column,
    why) and stores nothing; with ``dry_run`` everything is checked and counted and
    nothing is stored either way. Each stored change is audited with the source
    ``import FILENAME row N``. ``on_stage`` (optional) is called with each stage's
    name as it begins, in order: :data:`IMPORT_STAGES` (the command line shows them
    as progress; a rejected file stops at the stage that found its problems). Raises
    :class:`~settlement.common.PermissionDenied` for a role other than finance
    (:data:`IMPORTERS`: partner managers and admins for ``parties``).
    """
    actor.require(*IMPORTERS.get(kind, ("finance",)), action=f"import {kind}")
    stage = on_stage if on_stage is not None else _no_stage
    name = filename.rsplit("/", 1)[-1] or "upload"
    with Session(engine) as s:
        stage(IMPORT_STAGES[0])
        refs = _party_refs(s, kind, data, name)
        stage(IMPORT_STAGES[1])
        parsed = parse_import(kind, name, data, refs)
        if parsed.problems:
            raise ImportRejected(parsed.problems)
        stage(IMPORT_STAGES[2])
        problems: list[ImportProblem] = []
        lines: list[ImportLine] = []
        try:
            for record in parsed.records:
                source = f"import {name}" + (f" row {record.row}" if record.row else "")
                try:  # a store refuses before it writes anything, so going on is safe
                    outcome = record.store(s, actor, source)
                except InvalidValue as exc:
                    problems.append(
                        ImportProblem.of(record.row, _column(kind, exc.field), exc, exc.message)
                    )
                    continue
                except SettlementError as exc:
                    problems.append(ImportProblem.of(record.row, None, exc))
                    continue
                except InvalidField as exc:  # partners' field errors (parties)
                    problems.append(
                        ImportProblem(
                            record.row,
                            _column(kind, exc.field),
                            exc.message if _column(kind, exc.field) else str(exc),
                            exc.message_id,
                            dict(exc.values),
                        )
                    )
                    continue
                except PartnerError as exc:
                    problems.append(
                        ImportProblem(record.row, None, str(exc), exc.message_id, dict(exc.values))
                    )
                    continue
                lines.append(ImportLine(record.row, record.key, outcome))
            if problems:
                raise ImportRejected(problems)
        except BaseException:
            s.rollback()
            raise
        if dry_run:
            s.rollback()
        else:
            s.commit()
    counts = {
        o: sum(1 for ln in lines if ln.outcome == o) for o in ("created", "updated", "unchanged")
    }
    return ImportReport(
        kind,
        parsed.rows,
        counts["created"],
        counts["updated"],
        counts["unchanged"],
        dry_run,
        parsed.format,
        tuple(lines),
    )


def _column(kind: str, field: str) -> str | None:
    """The column of a service error's field in this kind's layout, if it has one."""
    columns: Sequence[str] = (*LAYOUTS.get(kind, ()), *OPTIONAL_LAYOUTS.get(kind, ()))
    return field if field in columns else None
