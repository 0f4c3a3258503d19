"""A program version's rules in words, for the program page.

The engine reads rules as JSON (see :mod:`settlement.programs`); finance, channel
managers and auditors read them here as sentences and a tier table, with money in
major units of the program's currency: a volume tier whose rate is ``"300"`` minor
units per unit reads "EUR 3.00 per unit", a value tier whose rate is ``"0.02"``
reads "2.0 % of value". Nothing is computed that the engine does not also use.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from settlement import ProgramRules, format_money, format_money_rate, format_percent

__all__ = ["RulesInWords", "TierRow", "describe_rules", "major_rate", "percent"]

_MODES = {
    "retroactive": "Retroactive: once a threshold is reached, the whole quantity earns "
    "that tier's rate.",
    "incremental": "Incremental: each band between two thresholds earns its own rate, "
    "like tax brackets.",
}
_BASES = {
    "sell_in": "Sell-in: units the distributor received from the manufacturer.",
    "sell_through": "Sell-through: units the distributor moved on to in-zone dealers "
    "or sold in its zone.",
}
_NEW_DISTRIBUTOR = {
    "none": "a distributor with no sales a year before earns no growth rebate",
    "all": "a distributor with no sales a year before earns the rate on all its value",
}


@dataclass(frozen=True, slots=True)
class TierRow:
    """One tier: the band it covers and what it pays, in words."""

    band: str  # "from 100 units" / "EUR 10,000.00 to EUR 49,999.99"
    rate: str  # "EUR 3.00 per unit" / "2.0 % of value"


@dataclass(frozen=True, slots=True)
class RulesInWords:
    """Every part of a rule set as text the page prints as it is."""

    currency: str
    measure: str
    mode: str
    basis: str
    tiers: tuple[TierRow, ...]
    multipliers: str
    growth: str
    kpi: str
    penalties: tuple[str, ...]
    whistleblower: str


def percent(fraction: Decimal) -> str:
    """``0.02`` -> ``"2.0 %"``; ``0.0125`` -> ``"1.25 %"``: a rule's fraction as written,
    every decimal kept and thousands not grouped (:func:`settlement.format_percent`)."""
    return format_percent(fraction, None, grouped=False)


def major_rate(rate_minor: Decimal, currency: str) -> str:
    """A money rate in minor units (maybe fractional) in major units with the
    currency's decimals at least and every further decimal it has: ``300`` EUR ->
    ``"EUR 3.00"``, ``12.5`` EUR -> ``"EUR 0.125"`` (:func:`settlement.format_money_rate`)."""
    return format_money_rate(rate_minor, currency, None)


def _quantity(amount: int, measure: str, currency: str) -> str:
    if measure == "volume":
        return f"{amount:,} unit{'s' * (amount != 1)}"
    return format_money(amount, currency)


def _tiers(rules: ProgramRules) -> tuple[TierRow, ...]:
    rows = []
    nexts = [t.threshold for t in rules.tiers[1:]] + [None]
    for tier, upper in zip(rules.tiers, nexts, strict=True):
        start = _quantity(tier.threshold, rules.measure, rules.currency)
        if upper is None:
            band = f"from {start}"
        else:
            # thresholds are whole units or whole minor units, so a band ends one below
            band = f"{start} to {_quantity(upper - 1, rules.measure, rules.currency)}"
        if rules.measure == "volume":
            rate = f"{major_rate(tier.rate, rules.currency)} per unit"
        else:
            rate = f"{percent(tier.rate)} of value"
        rows.append(TierRow(band, rate))
    return tuple(rows)


def _multipliers(rules: ProgramRules) -> str:
    parts = ", ".join(f"class {c} × {m}" for c, m in sorted(rules.class_multipliers.items()))
    return f"{parts}; a distributor without a class counts as class {rules.default_class}."


def _penalties(rules: ProgramRules) -> tuple[str, ...]:
    p = rules.penalties
    if p is None:
        return ("No penalties in this program.",)
    fine = major_rate(Decimal(p.fine_per_unit), rules.currency)
    steps = [f"× {s}" for s in p.escalation]
    lines = [f"Fine of {fine} per diverted unit."]
    if len(steps) > 1:
        ordinal = ("first", "second", "third", "fourth", "fifth")
        named = [
            f"{ordinal[i] if i < len(ordinal) else f'{i + 1}th'} offence {s}"
            for i, s in enumerate(steps)
        ]
        lines.append(
            "Repeat offenders within 12 months pay more: "
            + ", ".join(named)
            + ", and the last step for any later one."
        )
    lines.append(
        "The rebate already earned on diverted units is forfeited."
        if p.forfeiture
        else "The rebate earned on diverted units is kept."
    )
    return tuple(lines)


def describe_rules(rules: ProgramRules) -> RulesInWords:
    """The rule set ``rules`` (as :func:`settlement.parse_rules` returns it) in words."""
    growth = "No growth rebate."
    if rules.growth is not None:
        growth = (
            f"{percent(rules.growth.rate)} of the value grown against the same period a "
            f"year before; {_NEW_DISTRIBUTOR.get(rules.growth.new_distributor, '')}."
        )
    kpi = "No KPI gate: the rebate does not depend on a sales target."
    if rules.kpi is not None:
        kpi = f"No rebate below {percent(rules.kpi.floor)} of the sales target; " + (
            "between that floor and the target the rebate is paid in proportion to the "
            "achievement, in full from the target up."
            if rules.kpi.pro_rata
            else "from that floor up the rebate is paid in full."
        )
    share = rules.penalties.whistleblower_share if rules.penalties else Decimal(0)
    whistleblower = (
        f"A whistleblower whose report is confirmed receives {percent(share)} of the fine."
        if share
        else "No whistleblower reward."
    )
    return RulesInWords(
        currency=rules.currency,
        measure="Units sold (volume)" if rules.measure == "volume" else "List value sold",
        mode=_MODES.get(rules.mode, rules.mode),
        basis=_BASES.get(rules.basis, rules.basis),
        tiers=_tiers(rules),
        multipliers=_multipliers(rules),
        growth=growth,
        kpi=kpi,
        penalties=_penalties(rules),
        whistleblower=whistleblower,
    )
