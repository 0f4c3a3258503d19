"""How serious a diversion alert is: ``low`` < ``medium`` < ``high`` < ``critical``.

One rule, :func:`grade_alert`, from four facts about the alert:

- **units involved** (distinct units among its findings): the size of the breach;
- **repeat offences**: confirmed alerts of the same responsible party in the
  :data:`REPEAT_WINDOW_MONTHS` months before the alert's period (the window the
  penalties' repeat-offender escalation counts in, :mod:`settlement.rules.penalties`);
- **cloned codes** (finding type ``clone``): one serial seen in two places faster
  than a plane, i.e. a copied code, which is never a small matter;
- **value at stake**: units x list price of their product, in the alert's currency
  (the responsible party's), integer minor units, with the price list version in
  force on the last day of the alert's period (as settlement values units). Its
  steps are set in one reference currency, :data:`VALUE_REFERENCE_CURRENCY` (EUR),
  and converted into the alert's currency with the FX rate of the alert's period
  (:class:`settlement.fx.FxBook`; the latest earlier month's when the period has
  none), so JPY 1,000 (about EUR 6) no longer counts like EUR 1,000. Without any
  rate on file the value step does not apply and the reason says so
  (``value_no_fx_rate``).

Each fact gives a level; the alert's severity is the highest of them, and
:attr:`SeverityGrade.reason` says in words which facts raised it.

Source: the channel rules (seeds/003, 渠道商務管理辦法 §六 渠道風險管理) have risks
"graded by likelihood and impact" (確定風險發生的可能性和影響程度 … 對風險進行分類分級)
without numbers. Repeat offences and cloned codes are the likelihood side, units
and value the impact side. The thresholds below are ours: volume keeps the steps
detection used before this rule (5 / 50 / 500 units), repeats follow the
escalation steps of fines (1st, 2nd, 3rd earlier offence), value steps are
decades of euros (EUR 1,000 / 10,000 / 100,000). They are named constants so a
channel team can change them in one place.

Detection stores the facts and the level on the alert (``Alert.severity``,
``unit_count``, ``prior_offences``, ``value_minor``, ``value_currency``,
``value_fx_rate``, ``value_reference_minor``, ``unpriced_units``) each time it
grades (:func:`grade_stored_alerts`); lists and pages rebuild the grade and its
reason from those columns with :func:`stored_grade`, without a price or FX query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Context, Decimal

from babel.numbers import get_currency_precision
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.models import Party, Unit
from ledger.times import format_day
from settlement.common import SettlementError, period_bounds
from settlement.fx import FxBook
from settlement.models import Alert, AlertFinding, FxRate, PriceList
from settlement.rules.penalties import prior_offences

__all__ = [
    "CLONE_LEVEL",
    "REPEAT_LEVELS",
    "REPEAT_WINDOW_MONTHS",
    "SEVERITIES",
    "SEVERITY_RANK",
    "UNIT_LEVELS",
    "VALUE_LEVELS_MAJOR",
    "VALUE_REFERENCE_CURRENCY",
    "SeverityFactor",
    "SeverityGrade",
    "SeverityReason",
    "grade_alert",
    "grade_stored_alerts",
    "money_words",
    "stored_grade",
    "value_threshold_minor",
]

#: The levels, mildest first (the order pages sort by).
SEVERITIES = ("low", "medium", "high", "critical")
#: Level -> rank (0 = low), for sorting and comparing.
SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}
#: (units at least, level): 5 units medium, 50 high, 500 critical.
UNIT_LEVELS: tuple[tuple[int, str], ...] = ((5, "medium"), (50, "high"), (500, "critical"))
#: (confirmed alerts in the window at least, level): the escalation steps of fines.
REPEAT_LEVELS: tuple[tuple[int, str], ...] = ((1, "medium"), (2, "high"), (3, "critical"))
#: Months before the alert's period in which confirmed alerts count as repeat offences.
REPEAT_WINDOW_MONTHS = 12
#: A cloned code is at least this serious, whatever its size.
CLONE_LEVEL = "high"
#: The currency the value steps are set in: the channel rules' reporting currency
#: (settlement runs report in EUR unless told otherwise, ``reporting_currency="EUR"``
#: in :func:`settlement.runs.create_run`, and the ECB reference rates finance imports
#: quote every currency against the euro).
VALUE_REFERENCE_CURRENCY = "EUR"
#: (value at stake at least, in major units of :data:`VALUE_REFERENCE_CURRENCY`, level);
#: an alert in another currency compares with these converted at its period's rate.
VALUE_LEVELS_MAJOR: tuple[tuple[int, str], ...] = (
    (1_000, "medium"),
    (10_000, "high"),
    (100_000, "critical"),
)


@dataclass(frozen=True, slots=True)
class SeverityFactor:
    """One fact that raised the severity above ``low``.

    ``kind``: ``units`` | ``repeat`` | ``clone`` | ``value``; ``amount``: units,
    confirmed alerts, 1 for a clone, or the value in minor units; ``threshold``:
    the step it reached (same unit as ``amount``); ``level``: what that step gives.
    """

    kind: str
    amount: int
    threshold: int
    level: str


@dataclass(frozen=True, slots=True)
class SeverityGrade:
    """An alert's severity with the facts it was computed from.

    ``value_minor`` is None when no unit has a list price in ``currency`` for the
    period; ``unpriced_units`` counts units without one (their value is unknown,
    not zero, and the reason says so). ``fx_rate``: units of ``currency`` per one
    :data:`VALUE_REFERENCE_CURRENCY` unit that the value steps were converted with
    (1 for EUR), None when no rate was on file (the value step did not apply).
    """

    level: str
    units: int
    prior_offences: int
    clone: bool
    value_minor: int | None
    currency: str
    unpriced_units: int
    factors: tuple[SeverityFactor, ...]
    fx_rate: Decimal | None = None

    @property
    def value_compared(self) -> bool:
        """True when the value at stake is known and could be compared with the steps."""
        return self.value_minor is not None and self.fx_rate is not None

    @property
    def value_reference_minor(self) -> int | None:
        """The value at stake in :data:`VALUE_REFERENCE_CURRENCY` minor units (``value_minor``
        / ``fx_rate``, rounded half up), what lists sort by; None when the value or the
        rate is unknown."""
        if self.value_minor is None or self.fx_rate is None:
            return None
        return to_reference_minor(self.value_minor, self.currency, self.fx_rate)

    @property
    def reasons(self) -> tuple[SeverityReason, ...]:
        """Why the alert has its level, one part per fact, for words in any language:
        each fact that raised it (:attr:`factors`), or, when none did, the facts
        themselves (units, confirmed alerts, value at stake); then the units without
        a list price when some units are priced. See :class:`SeverityReason` for
        the ids and their values."""
        months = REPEAT_WINDOW_MONTHS
        parts: list[SeverityReason] = []
        for f in self.factors:
            if f.kind == "units":
                values: dict[str, int | str] = {"count": f.amount, "threshold": f.threshold}
            elif f.kind == "repeat":
                values = {"count": f.amount, "months": months, "threshold": f.threshold}
            elif f.kind == "clone":
                values = {}
            else:
                values = {
                    "value_minor": f.amount,
                    "threshold_minor": f.threshold,
                    "currency": self.currency,
                }
            parts.append(SeverityReason(f.kind, {**values, "level": f.level}))
        if not self.factors:
            parts.append(SeverityReason("unit_count", {"count": self.units}))
            parts.append(
                SeverityReason("prior_offences", {"count": self.prior_offences, "months": months})
            )
            if self.value_minor is None:
                parts.append(SeverityReason("no_list_price", {}))
            elif self.fx_rate is None:
                parts.append(self._no_rate())
            else:
                parts.append(
                    SeverityReason(
                        "value_at_stake",
                        {"value_minor": self.value_minor, "currency": self.currency},
                    )
                )
        elif self.value_minor is not None and self.fx_rate is None:
            parts.append(self._no_rate())
        if self.unpriced_units and self.value_minor is not None:
            parts.append(
                SeverityReason(
                    "unpriced_units", {"count": self.unpriced_units, "currency": self.currency}
                )
            )
        return tuple(parts)

    def _no_rate(self) -> SeverityReason:
        values: dict[str, int | str] = {
            "value_minor": self.value_minor or 0,
            "currency": self.currency,
            "reference": VALUE_REFERENCE_CURRENCY,
        }
        return SeverityReason("value_no_fx_rate", values)

    @property
    def reason(self) -> str:
        """The rule's outcome in English words, from :attr:`reasons` (the command
        line and the API's ``severity_reason``; pages word :attr:`reasons` in the
        reader's language): ``"high: 60 units involved (from 50: high)"``,
        ``"low: 3 units; ... — nothing reaches a higher step"``."""
        said = "; ".join(_english(r) for r in self.reasons)
        if not self.factors:
            return f"low: {said} — nothing reaches a higher step"
        return f"{self.level}: {said}"


@dataclass(frozen=True, slots=True)
class SeverityReason:
    """One part of a severity grade's reason: ``message_id`` names the sentence,
    ``values`` its parts, raw (pages word them in the reader's language, the engine
    in English: :attr:`SeverityGrade.reason`).

    Ids and their values (counts and months are ints; ``*_minor`` amounts are ints
    in minor units of ``currency``, an ISO 4217 code; ``level`` is one of
    :data:`SEVERITIES`):

    - ``units``: ``count``, ``threshold``, ``level`` (units involved reached a step);
    - ``repeat``: ``count``, ``months``, ``threshold``, ``level`` (confirmed alerts);
    - ``clone``: ``level`` (a cloned code is at least that);
    - ``value``: ``value_minor``, ``threshold_minor``, ``currency``, ``level``;
    - ``unit_count``: ``count``; ``prior_offences``: ``count``, ``months``;
      ``value_at_stake``: ``value_minor``, ``currency``; ``no_list_price``: none
      (the facts, when none reaches a step above ``low``);
    - ``value_no_fx_rate``: ``value_minor``, ``currency``, ``reference`` (the value is
      known but no ``reference`` -> ``currency`` FX rate is on file for the alert's
      period or any earlier month, so it was not compared with the value steps);
    - ``unpriced_units``: ``count``, ``currency`` (units without a list price).
    """

    message_id: str
    values: Mapping[str, int | str]


#: The English of each reason id (``%(value)s`` / ``%(threshold)s``: the ``*_minor``
#: amounts as money, :func:`money_words`).
_ENGLISH: dict[str, str] = {
    "units": "%(count)s units involved (from %(threshold)s: %(level)s)",
    "repeat": "%(count)s confirmed alerts in the %(months)s months before "
    "(from %(threshold)s: %(level)s)",
    "clone": "cloned code (always at least %(level)s)",
    "value": "value at stake %(value)s (from %(threshold)s: %(level)s)",
    "prior_offences": "%(count)s confirmed alerts in the %(months)s months before",
    "value_at_stake": "value at stake %(value)s",
    "no_list_price": "value at stake no list price",
    "value_no_fx_rate": "value at stake %(value)s not compared with the value steps: "
    "no %(reference)s->%(currency)s FX rate on file for the period or before",
    "unpriced_units": "%(count)s units without a list price",
}


def _english(r: SeverityReason) -> str:
    if r.message_id == "unit_count":
        n = int(r.values["count"])
        return f"{n} unit{'' if n == 1 else 's'}"
    values: dict[str, object] = dict(r.values)
    currency = str(r.values.get("currency", ""))
    for key, value in r.values.items():
        if key.endswith("_minor"):
            values[key.removesuffix("_minor")] = money_words(int(value), currency)
    return _ENGLISH[r.message_id] % values


def _digits(currency: str) -> int:
    if len(currency) != 3 or not currency.isalpha():
        raise SettlementError(f"currency must be a 3-letter ISO 4217 code, got {currency!r}")
    digits: int = get_currency_precision(currency.upper())
    return digits


def value_threshold_minor(major: int, currency: str, fx_rate: Decimal | None = None) -> int:
    """``major`` units of :data:`VALUE_REFERENCE_CURRENCY` in minor units of ``currency``
    (ISO 4217 exponent: EUR 2, JPY 0), converted at ``fx_rate`` (units of ``currency``
    per reference unit) and rounded up to a whole minor unit, so ``value >= threshold``
    holds exactly when the value is worth at least ``major`` euros:
    ``value_threshold_minor(1_000, "JPY", Decimal("160"))`` -> 160,000 (JPY);
    ``value_threshold_minor(1_000, "EUR")`` -> 100,000 (EUR 1,000.00).

    Raises :class:`SettlementError` for a currency code that is not 3 letters, a rate
    that is not > 0, or a missing rate for a currency other than the reference one.
    """
    digits = _digits(currency)
    if currency.upper() == VALUE_REFERENCE_CURRENCY:
        fx_rate = Decimal(1)
    if fx_rate is None:
        raise SettlementError(
            f"a {VALUE_REFERENCE_CURRENCY} threshold needs the "
            f"{VALUE_REFERENCE_CURRENCY}->{currency} rate to be said in {currency}"
        )
    if not fx_rate > 0:
        raise SettlementError(f"FX rate must be > 0, got {fx_rate}")
    exact = Decimal(major) * fx_rate * (10**digits)
    return int(exact.to_integral_value(rounding=ROUND_CEILING))


def to_reference_minor(value_minor: int, currency: str, fx_rate: Decimal) -> int:
    """``value_minor`` of ``currency`` in :data:`VALUE_REFERENCE_CURRENCY` minor units at
    ``fx_rate`` (units of ``currency`` per reference unit), rounded half up:
    ``to_reference_minor(200_000, "JPY", Decimal(160))`` -> 125,000 (EUR 1,250.00).
    Raises :class:`SettlementError` for a malformed currency or a rate not > 0."""
    if not fx_rate > 0:
        raise SettlementError(f"FX rate must be > 0, got {fx_rate}")
    scale = Decimal(10) ** (_digits(VALUE_REFERENCE_CURRENCY) - _digits(currency))
    exact = Decimal(value_minor) / fx_rate * scale
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP))


def money_words(minor: int, currency: str) -> str:
    """``1234567, "EUR"`` -> ``"EUR 12,345.67"`` (plain, for reasons in English)."""
    digits = get_currency_precision(currency.upper())
    whole, frac = divmod(abs(minor), 10**digits)
    text = f"{whole:,}" + (f".{frac:0{digits}d}" if digits else "")
    return f"{currency} {'-' if minor < 0 else ''}{text}"


def _step(amount: int, steps: Iterable[tuple[int, str]]) -> tuple[int, str] | None:
    reached = None
    for threshold, level in steps:
        if amount >= threshold:
            reached = (threshold, level)
    return reached


def grade_alert(
    *,
    units: int,
    prior_offences: int,
    finding_type: str,
    value_minor: int | None,
    currency: str,
    unpriced_units: int = 0,
    fx_rate: Decimal | None = None,
) -> SeverityGrade:
    """Grade one alert (see the module docstring for the rule and its source).

    ``units``: distinct units involved (>= 0); ``prior_offences``: confirmed alerts
    of the responsible party in the window (>= 0); ``value_minor``: units x list
    price in ``currency`` minor units, None when no unit is priced; ``fx_rate``:
    units of ``currency`` per :data:`VALUE_REFERENCE_CURRENCY` unit for the alert's
    period (ignored, i.e. 1, when ``currency`` is the reference currency), None
    when no rate is on file: then the value step does not apply and the reason
    says the value could not be compared. Raises :class:`SettlementError` naming a
    negative count, a rate not > 0 or a malformed currency.
    """
    if units < 0 or prior_offences < 0 or unpriced_units < 0:
        raise SettlementError(
            f"units, prior offences and unpriced units must be >= 0, got {units}, "
            f"{prior_offences} and {unpriced_units}"
        )
    if value_minor is not None and value_minor < 0:
        raise SettlementError(f"value at stake must be >= 0 minor units, got {value_minor}")
    if currency and currency.upper() == VALUE_REFERENCE_CURRENCY:
        fx_rate = Decimal(1)
    if fx_rate is not None and not fx_rate > 0:
        raise SettlementError(f"FX rate must be > 0, got {fx_rate}")
    factors: list[SeverityFactor] = []
    by_units = _step(units, UNIT_LEVELS)
    if by_units:
        factors.append(SeverityFactor("units", units, *by_units))
    by_repeat = _step(prior_offences, REPEAT_LEVELS)
    if by_repeat:
        factors.append(SeverityFactor("repeat", prior_offences, *by_repeat))
    clone = finding_type == "clone"
    if clone:
        factors.append(SeverityFactor("clone", 1, 1, CLONE_LEVEL))
    if value_minor is not None and fx_rate is not None:
        steps = [(value_threshold_minor(m, currency, fx_rate), lv) for m, lv in VALUE_LEVELS_MAJOR]
        by_value = _step(value_minor, steps)
        if by_value:
            factors.append(SeverityFactor("value", value_minor, *by_value))
    level = max((f.level for f in factors), key=SEVERITY_RANK.__getitem__, default="low")
    return SeverityGrade(
        level=level,
        units=units,
        prior_offences=prior_offences,
        clone=clone,
        value_minor=value_minor,
        currency=currency,
        unpriced_units=unpriced_units,
        factors=tuple(factors),
        fx_rate=fx_rate,
    )


def stored_grade(alert: Alert) -> SeverityGrade:
    """The grade detection stored on ``alert`` (its level, facts and reason), rebuilt
    from its columns by :func:`grade_alert` without any query: ``unit_count``,
    ``prior_offences``, ``finding_type``, ``value_minor`` in ``value_currency``,
    ``unpriced_units`` and ``value_fx_rate`` (decimal text, EUR -> the alert's
    currency). It is the rule as of the last detection run, like ``Alert.severity``.
    Alerts detection has not graded since the columns were added carry no value and
    no prior offences until its next run.
    """
    rate = None if alert.value_fx_rate is None else Decimal(alert.value_fx_rate)
    return grade_alert(
        units=alert.unit_count or 0,
        prior_offences=alert.prior_offences or 0,
        finding_type=alert.finding_type,
        value_minor=alert.value_minor,
        currency=alert.value_currency or "",
        unpriced_units=alert.unpriced_units or 0,
        fx_rate=rate,
    )


def grade_stored_alerts(s: Session, alerts: Sequence[Alert]) -> dict[int, SeverityGrade]:
    """Grade stored alerts from the database: their units (per product), the
    responsible party's currency and confirmed alerts, the price lists and the
    EUR -> currency FX rate of each alert's period (:class:`_ReferenceRates`).

    Returns ``{alert id: grade}``. An alert without a responsible party has no
    currency, so its value at stake is unknown (None). Detection stores each grade
    on its alert (:func:`settlement.detection`), :func:`stored_grade` reads it back.
    """
    if not alerts:
        return {}
    ids = [a.id for a in alerts]
    per_gtin: dict[int, list[tuple[str | None, int]]] = defaultdict(list)
    for part in _chunks(ids):
        rows = s.execute(
            select(
                AlertFinding.alert_id, Unit.gtin, func.count(func.distinct(AlertFinding.unit_id))
            )
            .join(Unit, Unit.id == AlertFinding.unit_id)
            .where(AlertFinding.alert_id.in_(part))
            .group_by(AlertFinding.alert_id, Unit.gtin)
        ).all()
        for aid, gtin, n in rows:
            per_gtin[int(aid)].append((None if gtin is None else str(gtin), int(n)))
    party_ids = {a.party_id for a in alerts if a.party_id is not None}
    currency: dict[int, str] = {}
    for part in _chunks(sorted(party_ids)):
        currency.update(
            (int(i), str(c)) for i, c in s.execute(
                select(Party.id, Party.currency).where(Party.id.in_(part))
            )
        )  # fmt: skip
    confirmed: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for part in _chunks(sorted(party_ids)):
        for aid, pid, per in s.execute(
            select(Alert.id, Alert.party_id, Alert.period).where(
                Alert.status == "confirmed", Alert.party_id.in_(part)
            )
        ):
            if pid is not None:
                confirmed[int(pid)].append((int(aid), str(per)))
    prices: dict[tuple[str, str], dict[str, int]] = {}
    rates = _ReferenceRates(s)
    out: dict[int, SeverityGrade] = {}
    for a in alerts:
        ccy = currency.get(a.party_id, "") if a.party_id is not None else ""
        groups = per_gtin.get(a.id, [])
        units = sum(n for _, n in groups)
        value: int | None = None
        unpriced = units
        if ccy:
            key = (ccy, a.period)
            if key not in prices:
                prices[key] = _price_list(s, ccy, a.period)
            table = prices[key]
            priced = [(table[g], n) for g, n in groups if g is not None and g in table]
            if priced:
                value = sum(p * n for p, n in priced)
                unpriced = units - sum(n for _, n in priced)
        prior = 0
        if a.party_id is not None:
            others = [p for i, p in confirmed.get(a.party_id, []) if i != a.id]
            prior = prior_offences(a.period, others, REPEAT_WINDOW_MONTHS)
        out[a.id] = grade_alert(
            units=units,
            prior_offences=prior,
            finding_type=a.finding_type,
            value_minor=value,
            currency=ccy,
            unpriced_units=unpriced,
            fx_rate=rates.rate(ccy, a.period) if value is not None else None,
        )
    return out


#: Significant digits an FX rate is kept with on an alert (``Alert.value_fx_rate``,
#: 40 characters): a crossed or inverted rate has up to 28; grading uses the kept
#: rate, so :func:`stored_grade` gives back exactly what detection computed.
_RATE_DIGITS = Context(prec=20)


class _ReferenceRates:
    """EUR -> currency rates per (currency, period), read once per grading: the
    period's own rate (as stored, inverted or crossed, :class:`FxBook`), else the
    latest earlier month's that has one, else None."""

    def __init__(self, s: Session) -> None:
        self._s = s
        self._months: list[str] | None = None
        self._books: dict[str, FxBook] = {}
        self._found: dict[tuple[str, str], Decimal | None] = {}

    def rate(self, currency: str, period: str) -> Decimal | None:
        if not currency:
            return None
        if currency == VALUE_REFERENCE_CURRENCY:
            return Decimal(1)
        key = (currency, period)
        if key not in self._found:
            self._found[key] = self._look_up(currency, period)
        return self._found[key]

    def _look_up(self, currency: str, period: str) -> Decimal | None:
        if self._months is None:
            stored = self._s.scalars(select(FxRate.period).distinct())
            self._months = sorted({p for p in stored if "-Q" not in p.upper()}, reverse=True)
        for month in (m for m in self._months if m <= period):
            book = self._books.get(month)
            if book is None:
                book = self._books[month] = FxBook(self._s, month)
            quote = book.quote(VALUE_REFERENCE_CURRENCY, currency)
            if quote is not None and quote.rate > 0:
                return _RATE_DIGITS.plus(quote.rate)
        return None


def _price_list(s: Session, currency: str, period: str) -> dict[str, int]:
    """``{gtin: list price minor}`` in force on the last day of ``period``."""
    _, end_ms = period_bounds(period)
    last_day = format_day(end_ms - 86_400_000)
    table: dict[str, int] = {}
    rows = s.execute(
        select(PriceList.gtin, PriceList.list_price_minor)
        .where(PriceList.currency == currency, PriceList.valid_from <= last_day)
        .order_by(PriceList.valid_from)
    )
    for gtin, minor in rows:  # later versions overwrite earlier ones
        table[str(gtin)] = int(minor)
    return table


def _chunks(items: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
