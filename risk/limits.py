"""Credit limits (issue 13): the table finance edits, and each party's limit in force.

Source: seed 000 "风险矩阵模型" and 《信用额度审批表》: a party's credit limit and
payment terms follow from its rating grade (the table), a finance approver may
override them with a written reason, and the risk matrix adjusts them (medium
risk: the limit times the table's ``medium_factor``; high risk: cash only, area
C's :mod:`risk.assessment`).

The table (:class:`~risk.models.CreditLimitTable`, versioned; the newest applies)
gives per grade a limit in minor units of the table's currency and the payment
days. Without any stored version :data:`DEFAULT_TABLE` is version 1 (stored, as
made by ``hopchain``, the first time anything is written against it): EUR,
AAA 500000.00 / 60 days, AA 300000.00 / 60, A 200000.00 / 45, BBB 100000.00 / 30,
BB 50000.00 / 30, B 20000.00 / 0 (payment on delivery), CCC 0.00 / 0;
medium factor 0.5.

A party's limit is in its own currency: :func:`table_limit` converts the table's
limit once with the FX rate (:class:`settlement.fx.FxBook`) of the month of the
day asked (or, when that month has no rate for the pair, the latest month before
it that has), ``limit x rate`` rounded half-even to the party currency's minor
unit (:func:`settlement.rules.money.minor_exponent`), and says the rate used.

The limit in force is the newest :class:`~risk.models.CreditLimit` row
(``source``: rating | override | risk). :func:`override_limit` (finance only:
the approver of the seed's 审批表; a reason is required) and
:func:`remove_override` (back to the table's limit for the latest rating) are
audited with the limit before and after (``credit.limit``).

Readers: finance, channel managers, partner managers, auditors, admins. The
table is edited by finance and admins.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from ledger.said import SaidError
from partners.audit import now_ms, record
from partners.errors import Acting, PartnerError, PartnerNotFound, PartnerStateError, require
from partners.values import InvalidField, check_currency
from risk.credit_files import CREDIT_WRITERS, CreditInputInvalid
from risk.models import CreditLimit, CreditLimitTable, CreditRating
from settlement.fx import FxBook, FxQuote
from settlement.models import FxRate
from settlement.reference_values import major_to_minor, minor_to_major
from settlement.rules.money import minor_exponent, round_minor

__all__ = [
    "DEFAULT_MEDIUM_FACTOR",
    "DEFAULT_TABLE",
    "GRADES",
    "LIMIT_SOURCES",
    "OVERRIDERS",
    "OVERRIDE_FIELDS",
    "LimitTableView",
    "LimitView",
    "check_override",
    "convert_limit",
    "limit_history",
    "limit_in_force",
    "limit_json",
    "override_limit",
    "remove_override",
    "set_limit_in",
    "set_table",
    "table_in_force",
    "table_json",
    "table_limit",
    "table_versions",
]

#: Rating grades, best first.
GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")
LIMIT_SOURCES = ("rating", "override", "risk")
#: Who may override a party's limit: finance (the approver), no one else.
OVERRIDERS = ("finance",)
DEFAULT_TABLE_CURRENCY = "EUR"
#: grade -> (limit in EUR cents, payment days): 500000.00 EUR = 50_000_000 cents.
DEFAULT_TABLE: Mapping[str, tuple[int, int]] = {
    "AAA": (50_000_000, 60),
    "AA": (30_000_000, 60),
    "A": (20_000_000, 45),
    "BBB": (10_000_000, 30),
    "BB": (5_000_000, 30),
    "B": (2_000_000, 0),
    "CCC": (0, 0),
}
DEFAULT_MEDIUM_FACTOR = Decimal("0.5")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class LimitTableView:
    """A version of the table: ``rows`` grade -> (limit in minor units of
    ``currency``, payment days); ``created_ms`` None for the default not yet stored."""

    version: int
    currency: str
    rows: dict[str, tuple[int, int]]
    medium_factor: Decimal
    note: str
    created_by: str
    created_ms: int | None


@dataclass(frozen=True, slots=True)
class LimitView:
    """A party's limit row: ``limit_minor`` in minor units of ``currency`` (the
    party's), ``payment_days``, ``source`` rating | override | risk, why
    (``reason``), who (``approved_by``) and when (``created_ms``, epoch ms)."""

    id: int
    party_id: int
    limit_minor: int
    currency: str
    payment_days: int
    source: str
    reason: str
    approved_by: str
    created_ms: int
    rating_id: int | None
    table_version: int | None
    assessment_id: int | None


def _limit_view(r: CreditLimit) -> LimitView:
    return LimitView(
        r.id, r.party_id, r.limit_minor, r.currency, r.payment_days, r.source, r.reason,
        r.approved_by, r.created_ms, r.rating_id, r.table_version, r.assessment_id,
    )  # fmt: skip


def _table_view(t: CreditLimitTable) -> LimitTableView:
    raw = json.loads(t.rows_json)
    rows = {g: (int(raw[g]["limit_minor"]), int(raw[g]["payment_days"])) for g in GRADES}
    return LimitTableView(
        t.version, t.currency, rows, Decimal(t.medium_factor), t.note, t.created_by, t.created_ms
    )


def _default_view() -> LimitTableView:
    return LimitTableView(
        1, DEFAULT_TABLE_CURRENCY, dict(DEFAULT_TABLE), DEFAULT_MEDIUM_FACTOR,
        "default table", "hopchain", None,
    )  # fmt: skip


def _rows_json(rows: Mapping[str, tuple[int, int]]) -> str:
    return json.dumps(
        {g: {"limit_minor": rows[g][0], "payment_days": rows[g][1]} for g in GRADES},
        sort_keys=True,
    )


def _newest_table(s: Session) -> CreditLimitTable | None:
    return s.scalar(select(CreditLimitTable).order_by(CreditLimitTable.version.desc()).limit(1))


def _ensure_table(s: Session) -> CreditLimitTable:
    """The newest stored table; stores the default as version 1 when there is none."""
    row = _newest_table(s)
    if row is None:
        d = _default_view()
        row = CreditLimitTable(
            version=1, currency=d.currency, rows_json=_rows_json(d.rows),
            medium_factor=str(d.medium_factor), note=d.note, created_by="hopchain",
            created_ms=now_ms(),
        )  # fmt: skip
        s.add(row)
        s.flush()
    return row


def table_in_force(s: Session) -> LimitTableView:
    """The newest table (the default, version 1, when none is stored; reading does
    not store it)."""
    row = _newest_table(s)
    return _default_view() if row is None else _table_view(row)


def table_versions(s: Session) -> list[LimitTableView]:
    """Every stored version, newest first (the default alone when none is stored)."""
    rows = list(s.scalars(select(CreditLimitTable).order_by(CreditLimitTable.version.desc())))
    return [_table_view(r) for r in rows] or [_default_view()]


def _check_cell_limit(raw: object, currency: str | None, field: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    try:
        return major_to_minor(str(raw if raw is not None else ""), currency, field)
    except SaidError as exc:
        raise InvalidField(
            field, getattr(exc, "message", str(exc)), message_id=exc.message_id, values=exc.values
        ) from None


def _check_days(raw: object, field: str) -> int:
    text = "" if raw is None else str(raw).strip()
    if isinstance(raw, bool) or not (text.isascii() and text.isdigit()) or int(text) > 365:
        raise InvalidField.said(
            "credit_not_whole",
            "%(value)s is not a whole number from %(low)s to %(high)s",
            field=field,
            value=repr(text),
            low=0,
            high=365,
        )
    return int(text)


def _check_factor(raw: object) -> Decimal:
    text = "" if raw is None else str(raw).strip()
    try:
        f = Decimal(text)
    except InvalidOperation:
        f = Decimal(-1)
    if isinstance(raw, bool) or not f.is_finite() or not Decimal(0) < f <= 1:
        raise InvalidField.said(
            "credit_factor_range",
            "%(value)s is not a decimal above 0 and at most 1 (like 0.5)",
            field="medium_factor",
            value=repr(text),
        )
    return f


def set_table(
    engine: Engine,
    currency: str,
    rows: Mapping[str, Mapping[str, object]],
    medium_factor: object,
    note: str,
    actor: Acting,
) -> LimitTableView:
    """Store a new version of the table: ``rows`` grade -> ``{"limit": major-unit
    text ("500000.00") of ``currency``, "payment_days": 0-365}``, every grade of
    :data:`GRADES` required; ``medium_factor`` 0 < f <= 1. Audited
    (``credit.limit_table``). Raises :class:`CreditInputInvalid` (422) naming every
    bad cell (``AAA.limit``, ``BB.payment_days``), :class:`PartnerDenied` (403)
    unless finance or admin. Ratings from now on use it; limits in force stay
    until the party is rated again."""
    require(actor, *CREDIT_WRITERS, action="edit the credit limit table")
    problems: list[InvalidField] = []
    ccy: str | None
    try:
        ccy = check_currency(currency)
    except InvalidField as exc:
        problems.append(exc)
        ccy = None
    unknown = sorted(set(rows) - set(GRADES))
    for g in unknown:
        problems.append(
            InvalidField.said(
                "credit_unknown_grade",
                "is not a grade; grades: %(grades)s",
                field=g,
                grades=", ".join(GRADES),
            )
        )
    clean: dict[str, tuple[int, int]] = {}
    for g in GRADES:
        cell = rows.get(g)
        if cell is None:
            problems.append(InvalidField.said("credit_grade_missing", "is missing", field=g))
            continue
        limit = days = None
        try:
            limit = _check_cell_limit(cell.get("limit"), ccy, f"{g}.limit")
        except InvalidField as exc:
            problems.append(exc)
        try:
            days = _check_days(cell.get("payment_days"), f"{g}.payment_days")
        except InvalidField as exc:
            problems.append(exc)
        if limit is not None and days is not None:
            clean[g] = (limit, days)
    factor = None
    try:
        factor = _check_factor(medium_factor)
    except InvalidField as exc:
        problems.append(exc)
    if problems or ccy is None or factor is None:
        raise CreditInputInvalid.of(problems)
    with Session(engine) as s, s.begin():
        before = _ensure_table(s)
        row = CreditLimitTable(
            version=before.version + 1, currency=ccy, rows_json=_rows_json(clean),
            medium_factor=str(factor), note=note.strip(), created_by=actor.username,
            created_ms=now_ms(),
        )  # fmt: skip
        s.add(row)
        s.flush()
        record(
            s,
            "credit.limit_table",
            actor,
            detail={
                "version": row.version, "before": before.version, "currency": ccy,
                "rows": json.loads(row.rows_json), "medium_factor": str(factor),
                "note": row.note,
            },
        )  # fmt: skip
        return _table_view(row)


# ------------------------------------------------------------------ conversion


def _quote(s: Session, base: str, quote: str, on: dt.date) -> tuple[FxQuote, str] | None:
    """The rate of ``on``'s month, else of the latest month before it with one."""
    month = f"{on.year:04d}-{on.month:02d}"
    periods = {p for p in s.scalars(select(FxRate.period).distinct()) if _MONTH.match(p)}
    for period in sorted({month} | {p for p in periods if p < month}, reverse=True):
        q = FxBook(s, period).quote(base, quote)
        if q is not None:
            return q, period
    return None


def convert_limit(
    s: Session, amount_minor: int, base: str, currency: str, on: dt.date
) -> tuple[int, str]:
    """``amount_minor`` of ``base`` in minor units of ``currency``: ``amount x rate``
    at ``on``'s month's rate (or the latest month before it), rounded half-even once;
    with the words of the rate applied, digit for digit, so the product checks:
    ``400000.00 EUR at 1 EUR = 1.086956521739 USD (the inverse of the stored 1 USD =
    0.92 EUR, ECB, 2026-11-30) for 2026-11 = 434782.61 USD``. A stored rate is
    applied as stored; the inverse of a stored rate, or a cross rate, is cut to
    :data:`RATE_PLACES` decimal places (half-even) first. Raises :class:`PartnerError` naming the pair
    and how to import a rate when there is none."""
    if base == currency:
        return amount_minor, ""
    found = _quote(s, base, currency, on)
    if found is None:
        raise PartnerError.said(
            "credit_limit_no_fx",
            "no FX rate %(base)s->%(quote)s for %(month)s or any month before; import one with"
            " `hopchain import fx FILE` (the ECB reference-rate CSV works as it is)",
            base=base,
            quote=currency,
            month=f"{on.year:04d}-{on.month:02d}",
        )
    q, period = found
    rate = _applied_rate(q.rate)
    shift = minor_exponent(currency) - minor_exponent(base)
    value = Decimal(amount_minor) * rate * (Decimal(10) ** shift)
    converted = round_minor(value)
    words = (
        f"{minor_to_major(amount_minor, base)} {base} at 1 {base} = {_rate_text(rate)}"
        f" {currency} ({_rate_origin(s, q, rate, period)}) for {period}"
        f" = {minor_to_major(converted, currency)} {currency}"
    )
    return converted, words


#: The most decimal places of a rate a limit is converted with: a stored rate is
#: applied as stored; an inverse (1 / 0.92) or a cross rate is cut to this many
#: places, half-even, and that is the rate the words show and the product uses.
RATE_PLACES = 12


def _applied_rate(rate: Decimal) -> Decimal:
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent <= RATE_PLACES:
        return rate.normalize()
    return rate.quantize(Decimal(1).scaleb(-RATE_PLACES)).normalize()


def _rate_text(rate: Decimal) -> str:
    return format(rate, "f")


def _rate_origin(s: Session, q: FxQuote, rate: Decimal, period: str) -> str:
    """Where the applied rate comes from: the stored rate's source and day, or, for
    the inverse of a stored rate, that stored rate in its own direction."""
    when = f", {q.as_of}" if q.as_of else ""
    source = q.source or "no source given"
    if rate != q.rate:  # not as stored: the inverse of the stored pair, or a cross
        back = FxBook(s, period).quote(q.quote, q.base)
        stored = back is not None and _applied_rate(back.rate) == back.rate
        if back is not None and stored and Decimal(1) / back.rate == q.rate:
            return (
                f"the inverse of the stored 1 {q.quote} = {_rate_text(back.rate)} {q.base},"
                f" {source}{when}"
            )
    return f"{source}{when}"


def table_limit(s: Session, grade: str, currency: str, on: dt.date) -> tuple[int, int, str]:
    """The table's limit for ``grade`` in minor units of ``currency`` (converted once,
    see :func:`convert_limit`), its payment days, and the words of the rate used
    (``""`` in the table's own currency). Raises :class:`PartnerError` for an
    unknown grade or a missing rate."""
    table = table_in_force(s)
    if grade not in table.rows:
        raise PartnerError.said(
            "credit_no_grade", "%(grade)s is not a grade; grades: %(grades)s",
            grade=grade, grades=", ".join(GRADES),
        )  # fmt: skip
    limit, days = table.rows[grade]
    converted, words = convert_limit(s, limit, table.currency, currency, on)
    return converted, days, words


# ------------------------------------------------------------------ a party's limit


def limit_in_force(s: Session, party_id: int) -> LimitView | None:
    """The party's newest limit row, or None (never rated, never set)."""
    row = s.scalar(
        select(CreditLimit)
        .where(CreditLimit.party_id == party_id)
        .order_by(CreditLimit.created_ms.desc(), CreditLimit.id.desc())
        .limit(1)
    )
    return None if row is None else _limit_view(row)


def limit_history(s: Session, party_id: int) -> list[LimitView]:
    """Every limit row of the party, newest first."""
    rows = s.scalars(
        select(CreditLimit)
        .where(CreditLimit.party_id == party_id)
        .order_by(CreditLimit.created_ms.desc(), CreditLimit.id.desc())
    )
    return [_limit_view(r) for r in rows]


def _brief(v: LimitView | None) -> dict[str, object] | None:
    if v is None:
        return None
    return {
        "limit_minor": v.limit_minor, "currency": v.currency, "payment_days": v.payment_days,
        "source": v.source,
    }  # fmt: skip


def set_limit_in(
    s: Session,
    party_id: int,
    *,
    limit_minor: int,
    payment_days: int,
    source: str,
    actor: Acting,
    reason: str = "",
    rating_id: int | None = None,
    table_version: int | None = None,
    assessment_id: int | None = None,
) -> LimitView:
    """Put a new limit in force in ``s``'s transaction (the caller commits; roles are
    the caller's to check): ``limit_minor`` >= 0 in the party's currency,
    ``payment_days`` 0-365, ``source`` rating | override | risk. Audited
    (``credit.limit``, with the limit before and after). Raises
    :class:`PartnerNotFound` for no such party, :class:`PartnerError` for a bad value."""
    party = s.get(Party, party_id)
    if party is None:
        raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=party_id)
    if source not in LIMIT_SOURCES:
        raise ValueError(f"unknown limit source {source!r}")  # a programming error
    if limit_minor < 0:
        raise PartnerError.said(
            "credit_limit_negative", "a credit limit is 0 or more, not %(limit)s", limit=limit_minor
        )
    if not 0 <= payment_days <= 365:
        raise PartnerError.said(
            "credit_days_range",
            "payment days are 0 to 365, not %(days)s",
            days=payment_days,
        )
    before = limit_in_force(s, party_id)
    created = now_ms()
    if before is not None and created <= before.created_ms:
        created = before.created_ms + 1  # the newest row stays the one in force
    row = CreditLimit(
        party_id=party_id, limit_minor=limit_minor, currency=party.currency,
        payment_days=payment_days, source=source, rating_id=rating_id,
        table_version=table_version, assessment_id=assessment_id, reason=reason.strip(),
        approved_by=actor.username, created_ms=created,
    )  # fmt: skip
    s.add(row)
    s.flush()
    after = _limit_view(row)
    record(
        s,
        "credit.limit",
        actor,
        party_id=party_id,
        detail={"before": _brief(before), "after": _brief(after), "reason": row.reason,
                "rating": rating_id, "table_version": table_version,
                "assessment": assessment_id},
    )  # fmt: skip
    return after


#: The members of an override (the API's body, the page's form).
OVERRIDE_FIELDS = ("limit", "payment_days", "reason")


def _not_text(field: str, value: object) -> InvalidField:
    return InvalidField.said(
        "not_text", "must be text, not %(value)s", field=field, value=json.dumps(value)
    )


def check_override(values: Mapping[str, object], currency: str) -> tuple[int, int, str]:
    """An override's members as sent (JSON values: ``limit`` major-unit text of the
    party's ``currency`` like ``"150000.00"``, ``payment_days`` an integer 0-365,
    ``reason`` non-blank text) as ``(limit in minor units, payment days, reason)``.
    Raises :class:`CreditInputInvalid` naming every bad member at once (unknown
    ones, missing ones, ones of the wrong type, amounts hopchain cannot store), in
    :data:`OVERRIDE_FIELDS` order after the unknown ones."""
    problems = [
        InvalidField.said(
            "credit_unknown_member",
            "is not a member of this body; it takes %(known)s",
            field=name,
            known=", ".join(OVERRIDE_FIELDS),
        )
        for name in values
        if name not in OVERRIDE_FIELDS
    ]
    minor = days = None
    raw = values.get("limit")
    if raw is not None and not isinstance(raw, str):
        problems.append(_not_text("limit", raw))
    else:
        try:
            minor = _check_cell_limit(raw, currency, "limit")
        except InvalidField as exc:
            problems.append(exc)
    raw = values.get("payment_days")
    if raw is None:
        problems.append(InvalidField.said("value_empty", "is empty", field="payment_days"))
    elif isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 365:
        problems.append(
            InvalidField.said(
                "credit_not_whole",
                "%(value)s is not a whole number from %(low)s to %(high)s",
                field="payment_days",
                value=json.dumps(raw),
                low=0,
                high=365,
            )
        )
    else:
        days = raw
    raw = values.get("reason")
    reason = ""
    if raw is not None and not isinstance(raw, str):
        problems.append(_not_text("reason", raw))
    elif raw is None or not raw.strip():
        problems.append(
            InvalidField.said(
                "credit_override_reason_empty",
                "say why the limit is overridden (the reason is kept with the limit)",
                field="reason",
            )
        )
    else:
        reason = raw
    if problems or minor is None or days is None:
        raise CreditInputInvalid.of(problems)
    return minor, days, reason


def override_limit(
    engine: Engine,
    party_id: int,
    limit_minor: int,
    payment_days: int,
    reason: str,
    actor: Acting,
) -> LimitView:
    """A finance approver's limit for the party (source ``override``), kept when the
    party is rated again unless a later rating follows a later override (see
    :func:`risk.rating.rate_party`). Raises :class:`PartnerError` (422) without a
    reason or for a bad value, :class:`PartnerNotFound` (404),
    :class:`PartnerDenied` (403) for anyone but finance."""
    require(actor, *OVERRIDERS, action="override credit limits")
    if not reason.strip():
        raise PartnerError.said(
            "credit_override_reason",
            "say why the limit is overridden (the reason is kept with the limit)",
        )
    with Session(engine) as s, s.begin():
        return set_limit_in(
            s, party_id, limit_minor=limit_minor, payment_days=payment_days,
            source="override", actor=actor, reason=reason,
        )  # fmt: skip


def remove_override(
    engine: Engine, party_id: int, actor: Acting, *, on: dt.date | None = None
) -> LimitView:
    """End the override in force: the table's limit for the party's latest rating
    again (source ``rating``, converted on ``on``, default today). Raises
    :class:`PartnerStateError` (409) when no override is in force or the party was
    never rated, :class:`PartnerDenied` (403) for anyone but finance."""
    require(actor, *OVERRIDERS, action="override credit limits")
    day = on or dt.datetime.now(dt.UTC).date()
    with Session(engine) as s, s.begin():
        party = s.get(Party, party_id)
        if party is None:
            raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=party_id)
        now = limit_in_force(s, party_id)
        if now is None or now.source != "override":
            raise PartnerStateError.said(
                "credit_no_override", "%(code)s has no overridden limit in force", code=party.code
            )
        rating = s.scalar(
            select(CreditRating)
            .where(CreditRating.party_id == party_id)
            .order_by(CreditRating.created_ms.desc(), CreditRating.id.desc())
            .limit(1)
        )
        if rating is None:
            raise PartnerStateError.said(
                "credit_never_rated",
                "%(code)s was never rated; rate it first (rate now on its credit file)",
                code=party.code,
            )
        table = _ensure_table(s)
        limit, days, words = table_limit(s, rating.grade, party.currency, day)
        return set_limit_in(
            s, party_id, limit_minor=limit, payment_days=days, source="rating", actor=actor,
            reason=f"override removed; table version {table.version}, grade {rating.grade}"
            + (f"; {words}" if words else ""),
            rating_id=rating.id, table_version=table.version,
        )  # fmt: skip


def limit_json(v: LimitView | None) -> dict[str, object] | None:
    """A limit as JSON (``limit_minor`` in minor units of ``currency``)."""
    return None if v is None else asdict(v)


def table_json(v: LimitTableView) -> dict[str, object]:
    """A table version as JSON: rows grade -> {limit_minor, payment_days}, the medium
    factor as decimal text."""
    return {
        "version": v.version, "currency": v.currency, "medium_factor": str(v.medium_factor),
        "note": v.note, "created_by": v.created_by, "created_ms": v.created_ms,
        "rows": {g: {"limit_minor": lim, "payment_days": d} for g, (lim, d) in v.rows.items()},
    }  # fmt: skip
