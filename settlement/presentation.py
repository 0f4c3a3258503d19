"""Statement lines in words: what a distributor or an auditor reads on the portal, in
the PDF and in the spreadsheets.

A stored line keeps the engine's terms (rule code, basis text with bare minor-unit
numbers, rate as decimal text); :func:`describe_line` turns it into a title, a rate
with its unit, a basis sentence and an amount with its currency. Money is printed
from integer minor units with the currency's ISO 4217 exponent (JPY none, KWD
three), never through floats.

What a stored rate means depends on the rule (see ``settlement.rules``):

- volume tiers (and a lost volume tier, ``cliff``), fines and fine corrections:
  minor units of the statement's currency per unit (``"300"`` -> ``EUR 3.00 per unit``);
- value tiers, growth, forfeiture and its correction: a fraction of value
  (``"0.02"`` -> ``2.0 % of value``);
- class multipliers: a factor (``"1.1"`` -> ``× 1.1``);
- KPI gate and whistleblower reward: the fraction of the rebate kept, or of the
  penalty paid out;
- true-ups, adjustments, deposit deductions and balances brought forward have no
  rate (stored ``"1"``), shown as a dash.

Only the Latin-1 characters that PDF's standard fonts carry are used (``×``, ``–``,
``—``), so the same text serves the page and the printout.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from settlement.rules.money import minor_exponent

__all__ = [
    "NO_RATE",
    "RATE_EXTRA_PLACES",
    "RULE_TITLES",
    "SOURCE_LINE",
    "LineText",
    "describe_line",
    "describe_ref",
    "format_amount",
    "format_money",
    "format_money_rate",
    "format_percent",
]

#: What a line with no meaningful rate shows in the rate column.
NO_RATE = "—"

#: Every rule code a statement line can carry, in words (the title of its line).
#: Tier titles depend on the program's measure; the ``{measure}`` slot is "Volume"
#: or "Value".
RULE_TITLES: dict[str, str] = {
    "tier_retroactive": "{measure} rebate at the tier reached",
    "tier_incremental": "{measure} rebate per band",
    "tier_cliff": "{measure} rebate tier lost to diverted units",
    "cliff": "{measure} rebate tier lost to diverted units",
    "class_multiplier": "Partner class multiplier",
    "growth": "Growth rebate",
    "kpi_gate": "Sales target gate",
    "partial_trueup": "Rebate paid by earlier partial runs",
    "fine": "Diversion fine",
    "fine_correction": "Diversion fine correction",
    "forfeiture": "Rebate forfeited on diverted units",
    "forfeiture_correction": "Rebate forfeiture correction",
    "whistleblower_reward": "Whistleblower reward",
    "adjustment": "Adjustment",
    "deposit_deduction": "Taken from the deposit",
    "balance_brought_forward": "Balance brought forward",
}

_BASES = {"sell_in": "sold in", "sell_through": "sold through"}


@dataclass(frozen=True, slots=True)
class LineText:
    """One statement line as people read it; every figure carries its unit."""

    title: str
    rate_text: str
    basis_text: str
    amount_text: str


# ------------------------------------------------------------------ numbers


def _grouped(value: Decimal, places: int) -> str:
    """``Decimal("1234.5"), 2`` -> ``"1,234.50"`` (rounded half-even to ``places``)."""
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return format(q, ",f")


def _places(value: Decimal, at_least: int, at_most: int | None) -> int:
    """Decimal places that show ``value`` exactly, but at least ``at_least`` and at most
    ``at_most`` (beyond that the text is rounded: a display, never an amount; ``None``:
    no limit, always exact)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only reach here
    places = max(at_least, -exponent)
    return places if at_most is None else min(places, max(at_least, at_most))


def format_amount(amount_minor: int, currency: str) -> str:
    """The amount alone, exact with the currency's decimals and thousands grouped:
    ``123456, "EUR"`` -> ``"1,234.56"``; ``-1500, "JPY"`` -> ``"-1,500"``."""
    exp = minor_exponent(currency)
    return _grouped(Decimal(amount_minor).scaleb(-exp), exp)


def format_money(amount_minor: int, currency: str) -> str:
    """``123456, "EUR"`` -> ``"EUR 1,234.56"``; ``-1500, "JPY"`` -> ``"JPY -1,500"``."""
    return f"{currency} {format_amount(amount_minor, currency)}"


#: Extra decimals a money rate shows beyond the currency's minor unit (hundredths of
#: a cent: a rate converted from another currency is exact only to that).
RATE_EXTRA_PLACES = 2


def format_money_rate(
    minor: Decimal, currency: str, extra_places: int | None = RATE_EXTRA_PLACES
) -> str:
    """A money rate in minor units that may hold fractions of one (a tier rate
    converted from the program's currency), with the currency's decimals and up to
    ``extra_places`` more, rounded half-even beyond those:
    ``Decimal("312.5"), "EUR"`` -> ``"EUR 3.125"``, ``Decimal("300"), "JPY"`` ->
    ``"JPY 300"``, ``Decimal("543.4782608"), "USD"`` -> ``"USD 5.4348"``.
    ``extra_places=None`` shows every decimal the rate has (a rule as written)."""
    exp = minor_exponent(currency)
    major = minor.scaleb(-exp)
    limit = None if extra_places is None else exp + extra_places
    return f"{currency} {_grouped(major, _places(major, exp, limit))}"


def format_percent(fraction: Decimal, max_places: int | None = 4, *, grouped: bool = True) -> str:
    """``Decimal("0.02")`` -> ``"2.0 %"``, ``Decimal("0.0125")`` -> ``"1.25 %"``: exact up
    to ``max_places`` decimals of the percentage (a stored rate has at most 6 decimals
    of the fraction), rounded half-even beyond; ``None``: every decimal. ``grouped``
    separates thousands (``"1,250.0 %"``; without: ``"1250.0 %"``)."""
    pct = fraction * 100
    text = _grouped(pct, _places(pct, 1, max_places))
    return f"{text if grouped else text.replace(',', '')} %"


def _units(n: int) -> str:
    return f"{n:,} unit" if abs(n) == 1 else f"{n:,} units"


def _decimal(text: str) -> Decimal | None:
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


# ------------------------------------------------------------------ basis sentences

_QTY = r"(?P<qty>-?\d+) (?P<word>units|value)"
_TIER_BELOW = re.compile(rf"^{_QTY}: below first threshold (?P<t>\d+)$")
_TIER_REACHED = re.compile(
    rf"^{_QTY} \(tier from (?P<t>\d+)(?:, reached with the (?P<x>\d+) diverted (?:units|value))?\)$"
)
_TIER_BAND = re.compile(rf"^{_QTY} in band (?P<lo>\d+)(?:-(?P<hi>\d+)|\+)$")
_NET = re.compile(
    r"^(?P<basis>sell_in|sell_through) (?P<g>-?\d+) - returned (?P<r>-?\d+)"
    r" - diverted (?P<x>-?\d+) = (?P<n>-?\d+) units$"
)
_CLIFF = re.compile(
    r"^(?P<x>\d+) diverted (?P<word>units|value) excluded: (?P<n>\d+) (?:units|value) fell from"
    r" the tier from (?P<hi>\d+) to (?:the tier from (?P<lo>\d+)|no tier)$"
)
_CLASS = re.compile(r"^class (?P<c>\S+) on tier rebate (?P<t>-?\d+)$")
_GROWTH = re.compile(r"^(?P<c>-?\d+) value vs (?P<p>-?\d+) a year before: \+(?P<g>-?\d+)$")
_GROWTH_NONE = re.compile(r"^new distributor: (?P<v>-?\d+) value, no baseline$")
_GROWTH_ALL = re.compile(r"^new distributor: all (?P<g>-?\d+) value counts as growth$")
_KPI = re.compile(
    r"^(?P<a>-?\d+) of target (?P<t>\d+) (?P<word>units|value)"
    r"(?:, (?P<how>below floor (?P<floor>[\d.]+)|pro rata|target met))?$"
)
_TRUEUP = re.compile(r"^rebate already paid by partial runs: (?P<n>-?\d+)$")
_FINE = re.compile(
    r"^(?P<u>\d+) diverted units, (?P<label>.+?), (?:no earlier incident|(?P<p>\d+) earlier"
    r" incidents?) in 12 months \(x(?P<m>[\d.]+)\)(?:: now (?P<due>\d+), charged before"
    r" (?P<before>\d+))?$"
)
# lines stored before incidents were counted across alerts
_FINE_V1 = re.compile(
    r"^(?P<u>\d+) diverted units, alert (?P<a>\S+), (?P<p>\d+) prior offences in 12 months"
    r" \(x(?P<m>[\d.]+)\)$"
)
_REFUND = re.compile(
    r"^(?P<ref>\S+) no longer stands: (?:fines|forfeited rebate) charged for (?P<u>\d+) units"
    r" in (?P<period>\S+) given back$"
)
_FORFEIT = re.compile(
    r"^rebate paid on (?P<u>\d+) diverted units \(statement:(?P<st>\d+):(?P<pos>\d+)\),"
    r" (?P<label>.+)$"
)
_FORFEIT_V1 = re.compile(
    r"^rebate on (?P<u>\d+) diverted units \(value (?P<v>-?\d+)\) sold in earlier,"
    r" alert (?P<a>\S+)$"
)
_REWARD = re.compile(r"^report (?P<r>\S+): share of penalty (?P<p>-?\d+)$")
_DEPOSIT = re.compile(r"^statement at (?P<t>-?\d+), deposit (?P<b>-?\d+) -> (?P<a>-?\d+)$")
_BROUGHT = re.compile(r"^owed from earlier statements: (?P<n>-?\d+)$")
#: "statement:12:3" in a stored basis: line position 3 of statement 12
SOURCE_LINE = re.compile(r"\(statement:(?P<st>\d+):(?P<pos>\d+)\)")


@dataclass(frozen=True, slots=True)
class _Ctx:
    rule: str
    basis: str
    rate: str
    currency: str
    measure: str | None

    def money(self, minor: str | int) -> str:
        return format_money(int(minor), self.currency)

    def qty(self, n: str, measure: str) -> str:
        return _units(int(n)) if measure == "volume" else f"{self.money(n)} of value"

    def bound(self, n: str, measure: str) -> str:
        """A threshold or target: units, or an amount of value."""
        return _units(int(n)) if measure == "volume" else self.money(n)

    def measure_of(self) -> str | None:
        """The program's measure, else what a tier or cliff basis says it counted."""
        if self.measure in ("volume", "value"):
            return self.measure
        m = re.match(r"^-?\d+ (?:diverted )?(units|value)\b", self.basis)
        if m:
            return "volume" if m.group(1) == "units" else "value"
        return None


def _ref_words(ref: str) -> str:
    """``alert:12`` -> ``alert 12`` inside a sentence."""
    return describe_ref(ref) or ref


def _tier_basis(c: _Ctx) -> str:
    head, _, tail = c.basis.partition("; ")
    measure = c.measure_of() or "volume"
    if m := _TIER_BELOW.match(head):
        text = (
            f"{c.qty(m['qty'], measure)}: below the first threshold of "
            f"{c.bound(m['t'], measure)}, no rebate"
        )
    elif m := _TIER_REACHED.match(head):
        text = f"{c.qty(m['qty'], measure)} at the tier from {c.bound(m['t'], measure)}"
        if m["x"]:
            text += f", reached with the diverted {c.qty(m['x'], measure)}"
    elif m := _TIER_BAND.match(head):
        band = (
            f"{c.bound(m['lo'], measure)} to {c.bound(m['hi'], measure)}"
            if m["hi"]
            else f"{c.bound(m['lo'], measure)} and up"
        )
        text = f"{c.qty(m['qty'], measure)} in the band from {band}"
    else:
        text = head
    if not tail:
        return text
    n = _NET.match(tail)
    if n is None:
        return f"{text}; {tail}"
    return (
        f"{text}; {_units(int(n['g']))} {_BASES[n['basis']]}, less {int(n['r']):,} returned "
        f"and {int(n['x']):,} diverted = {_units(int(n['n']))} net"
    )


def _tier_rate(c: _Ctx) -> str:
    rate = _decimal(c.rate)
    if rate is None:
        return c.rate
    if c.measure_of() == "value":
        return f"{format_percent(rate)} of value"
    return f"{format_money_rate(rate, c.currency)} per unit"


def _per_unit(c: _Ctx) -> str:
    if _REFUND.match(c.basis):
        return NO_RATE
    rate = _decimal(c.rate)
    return c.rate if rate is None else f"{format_money_rate(rate, c.currency)} per unit"


def _of(what: str) -> Callable[[_Ctx], str]:
    def rate_text(c: _Ctx) -> str:
        rate = _decimal(c.rate)
        return c.rate if rate is None else f"{format_percent(rate)} {what}"

    return rate_text


def _forfeit_rate(c: _Ctx) -> str:
    """Old lines: a fraction of value. Newer ones: what the clawed-back line paid per
    unit (volume programs) or per unit of value (value programs)."""
    if _REFUND.match(c.basis):
        return NO_RATE
    rate = _decimal(c.rate)
    if rate is None:
        return c.rate
    if _FORFEIT_V1.match(c.basis) or c.measure == "value":
        return f"{format_percent(rate)} of value"
    if c.measure == "volume":
        return f"{format_money_rate(rate, c.currency)} per unit"
    return f"rate {c.rate}"


def _factor(c: _Ctx) -> str:
    rate = _decimal(c.rate)
    return c.rate if rate is None else f"× {format(rate.normalize(), 'f')}"


def _no_rate(c: _Ctx) -> str:
    return NO_RATE


def _growth_basis(c: _Ctx) -> str:
    if m := _GROWTH.match(c.basis):
        return (
            f"{c.money(m['c'])} of value against {c.money(m['p'])} a year before: "
            f"{c.money(m['g'])} grown"
        )
    if m := _GROWTH_NONE.match(c.basis):
        return (
            f"New distributor with {c.money(m['v'])} of value and no sales a year before: "
            "no growth to reward yet"
        )
    if m := _GROWTH_ALL.match(c.basis):
        return f"New distributor: all {c.money(m['g'])} of value counts as growth"
    return c.basis


def _kpi_basis(c: _Ctx) -> str:
    m = _KPI.match(c.basis)
    if m is None:
        return c.basis
    achieved, target = int(m["a"]), int(m["t"])
    measure = "volume" if m["word"] == "units" else "value"
    reached = format_percent(Decimal(max(achieved, 0)) / Decimal(target), 1)
    text = (
        f"{_units(achieved)} of a target of {_units(target)} ({reached} reached)"
        if measure == "volume"
        else f"{c.money(achieved)} of a value target of {c.money(target)} ({reached} reached)"
    )
    how = m["how"] or ""
    if how.startswith("below floor"):
        floor = _decimal(m["floor"]) or Decimal(0)
        return f"{text}: below the floor of {format_percent(floor)}, the rebate is withheld"
    if how == "pro rata":
        return f"{text}: the rebate is paid in proportion"
    if how == "target met":
        return f"{text}: target met, the whole rebate is paid"
    return text


def _earlier(n: int) -> str:
    return {0: "no earlier incident", 1: "1 earlier incident"}.get(n, f"{n} earlier incidents")


def _refund_basis(c: _Ctx, m: re.Match[str]) -> str:
    what = "fines" if c.rule == "fine_correction" else "rebate forfeited"
    return (
        f"{_ref_words(m['ref']).capitalize()} no longer stands: {what} charged for "
        f"{_units(int(m['u']))} in {m['period']} given back"
    )


def _fine_basis(c: _Ctx) -> str:
    if m := _FINE.match(c.basis):
        text = (
            f"{_units(int(m['u']))} diverted, {m['label']}; {_earlier(int(m['p'] or 0))} in the "
            f"last 12 months, fine × {m['m']}"
        )
        if m["due"] is not None:
            text += (
                f"; the fine now stands at {c.money(m['due'])}, "
                f"{c.money(m['before'])} was charged before"
            )
        return text
    if m := _FINE_V1.match(c.basis):
        return (
            f"{_units(int(m['u']))} diverted, alert {m['a']}; {_earlier(int(m['p']))} in the "
            f"last 12 months, fine × {m['m']}"
        )
    if m := _REFUND.match(c.basis):
        return _refund_basis(c, m)
    return c.basis


def _forfeit_basis(c: _Ctx) -> str:
    if m := _FORFEIT.match(c.basis):
        return (
            f"Rebate paid on {_units(int(m['u']))} later diverted, taken back "
            f"(statement {m['st']}, line {int(m['pos']) + 1}), {m['label']}"
        )
    if m := _FORFEIT_V1.match(c.basis):
        return (
            f"Rebate on {_units(int(m['u']))} worth {c.money(m['v'])} sold in earlier periods "
            f"and diverted (alert {m['a']})"
        )
    if m := _REFUND.match(c.basis):
        return _refund_basis(c, m)
    return c.basis


def _sentence(
    pattern: re.Pattern[str], words: Callable[[_Ctx, re.Match[str]], str]
) -> Callable[[_Ctx], str]:
    """A basis writer for one stored shape: ``words`` when ``pattern`` matches, else the
    basis as stored."""

    def basis_text(c: _Ctx) -> str:
        m = pattern.match(c.basis)
        return c.basis if m is None else words(c, m)

    return basis_text


_class_basis = _sentence(
    _CLASS, lambda c, m: f"Class {m['c']} on a tier rebate of {c.money(m['t'])}"
)
_trueup_basis = _sentence(
    _TRUEUP,
    lambda c, m: f"Rebate already paid for this period by partial runs: {c.money(m['n'])}",
)
_reward_basis = _sentence(
    _REWARD, lambda c, m: f"Report {m['r']}: a share of the {c.money(m['p'])} penalty it led to"
)
_deposit_basis = _sentence(
    _DEPOSIT,
    lambda c, m: (
        f"The statement stood at {c.money(m['t'])}; the deposit of {c.money(m['b'])} "
        f"covers it and is now {c.money(m['a'])}"
    ),
)
_brought_basis = _sentence(
    _BROUGHT, lambda c, m: f"Owed from earlier statements: {c.money(m['n'])}"
)


def _cliff_words(c: _Ctx, m: re.Match[str]) -> str:
    measure = "volume" if m["word"] == "units" else "value"
    lower = f"the tier from {c.bound(m['lo'], measure)}" if m["lo"] else "no tier"
    return (
        f"Without the diverted {c.qty(m['x'], measure)}, the remaining {c.qty(m['n'], measure)} "
        f"fall from the tier from {c.bound(m['hi'], measure)} to {lower}"
    )


_cliff_basis = _sentence(_CLIFF, _cliff_words)


def _as_stored(c: _Ctx) -> str:
    return c.basis


_Rule = tuple[Callable[[_Ctx], str], Callable[[_Ctx], str]]  # (rate text, basis text)

_RULES: dict[str, _Rule] = {
    "tier_retroactive": (_tier_rate, _tier_basis),
    "tier_incremental": (_tier_rate, _tier_basis),
    "tier_cliff": (_tier_rate, _cliff_basis),
    "cliff": (_tier_rate, _cliff_basis),
    "class_multiplier": (_factor, _class_basis),
    "growth": (_of("of value"), _growth_basis),
    "kpi_gate": (_of("of the rebate kept"), _kpi_basis),
    "partial_trueup": (_no_rate, _trueup_basis),
    "fine": (_per_unit, _fine_basis),
    "fine_correction": (_per_unit, _fine_basis),
    "forfeiture": (_forfeit_rate, _forfeit_basis),
    "forfeiture_correction": (_forfeit_rate, _forfeit_basis),
    "whistleblower_reward": (_of("of the penalty"), _reward_basis),
    "adjustment": (_no_rate, _as_stored),
    "deposit_deduction": (_no_rate, _deposit_basis),
    "balance_brought_forward": (_no_rate, _brought_basis),
}


def _fallback_rate(c: _Ctx) -> str:
    return NO_RATE if c.rate.strip() in ("", "1") else c.rate


def describe_line(
    rule: str,
    category: str,
    basis: str,
    rate: str,
    amount_minor: int,
    currency: str,
    measure: str | None = None,
) -> LineText:
    """A stored statement line in words.

    ``rule``, ``category``, ``basis`` and ``rate`` are the stored columns;
    ``amount_minor`` is signed minor units of ``currency`` (the statement's);
    ``measure`` (``"volume"`` or ``"value"``) is the program's, for tier lines —
    without it the tier basis text tells which it counted. A code this module does
    not know gets its name in plain words and its rate and basis as stored, so a
    new rule is never shown as an error. Never raises for stored data.
    """
    c = _Ctx(rule, basis, rate, currency, measure)
    rate_of, basis_of = _RULES.get(rule, (_fallback_rate, _as_stored))
    template = RULE_TITLES.get(rule)
    if template is None:
        words = rule.replace("_", " ").strip()
        title = words[:1].upper() + words[1:] if words else category.capitalize() or "Line"
    else:
        measure_word = "Value" if c.measure_of() == "value" else "Volume"
        title = template.format(measure=measure_word)
    return LineText(title, rate_of(c), basis_of(c), format_money(amount_minor, currency))


def describe_ref(ref: str) -> str:
    """What a line settles, in words: ``"alert:12"`` -> ``"alert 12"``,
    ``"program:VOLUME-REBATE"`` -> ``"program VOLUME-REBATE"``; ``""`` for lines that
    settle nothing outside the statement (true-up, deposit)."""
    kind, sep, key = ref.partition(":")
    if not sep:
        return ""
    return f"{kind.replace('_', ' ')} {key}"
