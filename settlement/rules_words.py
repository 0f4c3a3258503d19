"""A program version's rules in words: what the program page prints beside the rules'
JSON, in the reader's language.

The engine reads rules as JSON (see :mod:`settlement.programs`); finance, channel
managers and auditors read them here as sentences and a tier table, with money in
major units of the program's currency: a volume tier whose rate is ``"300"`` minor
units per unit reads "EUR 3.00 per unit", a value tier whose rate is ``"0.02"``
reads "2.0 % of value". Nothing is computed that the engine does not also use.

Every text is written through a :class:`settlement.wording.Words` (English without
one), as :mod:`settlement.presentation` writes statement lines: whole sentences are
messages of the shared catalogues (``words._``, :func:`~settlement.wording.N_`), so a
translation can order them its own way; numbers, money and percentages are written
as the locale writes them (``1.500 unidades``, ``1.234,56 EUR`` in Spanish). A rule's
own numbers keep every decimal they have: a percentage is never rounded and a
money rate never loses a fraction of a minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from settlement.programs import ProgramRules
from settlement.wording import ENGLISH, N_, Words

__all__ = ["RulesInWords", "TierRow", "describe_rules", "major_rate", "percent"]

_MODES = {
    "retroactive": N_(
        "Retroactive: once a threshold is reached, the whole quantity earns that tier's rate."
    ),
    "incremental": N_(
        "Incremental: each band between two thresholds earns its own rate, like tax brackets."
    ),
}
_BASES = {
    "sell_in": N_("Sell-in: units the distributor received from the manufacturer."),
    "sell_through": N_(
        "Sell-through: units the distributor moved on to in-zone dealers or sold in its zone."
    ),
}
_MEASURES = {"volume": N_("Units sold (volume)"), "value": N_("List value sold")}
_GROWTH = {
    "none": N_(
        "%(rate)s of the value grown against the same period a year before; a distributor"
        " with no sales a year before earns no growth rebate."
    ),
    "all": N_(
        "%(rate)s of the value grown against the same period a year before; a distributor"
        " with no sales a year before earns the rate on all its value."
    ),
}
#: The steps of a repeat offender's fine, first to fifth; later ones are numbered.
_ORDINAL_OFFENCES = (
    N_("first offence %(factor)s"),
    N_("second offence %(factor)s"),
    N_("third offence %(factor)s"),
    N_("fourth offence %(factor)s"),
    N_("fifth offence %(factor)s"),
)


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


def percent(fraction: Decimal, words: Words = ENGLISH) -> str:
    """``0.02`` -> ``"2.0 %"``; ``0.0125`` -> ``"1.25 %"`` (es ``"1,25 %"``): a rule's
    fraction as written, every decimal kept and thousands not grouped."""
    return words.percent(fraction, None, grouped=False)


def major_rate(rate_minor: Decimal, currency: str, words: Words = ENGLISH) -> str:
    """A money rate in minor units (maybe fractional) in major units with the
    currency's decimals at least and every further decimal it has: ``300`` EUR ->
    ``"EUR 3.00"``, ``12.5`` EUR -> ``"EUR 0.125"`` (es ``"0,125 EUR"``)."""
    return words.money_rate(rate_minor, currency, None)


def _list(items: list[str], w: Words) -> str:
    """Items one after another with the language's separator (``", "``, zh ``"，"``)."""
    return w.pgettext("list separator", ", ").join(items)


def _quantity(amount: int, measure: str, currency: str, w: Words) -> str:
    return w.units(amount) if measure == "volume" else w.money(amount, currency)


def _tiers(rules: ProgramRules, w: Words) -> tuple[TierRow, ...]:
    rows = []
    nexts = [t.threshold for t in rules.tiers[1:]] + [None]
    for tier, upper in zip(rules.tiers, nexts, strict=True):
        start = _quantity(tier.threshold, rules.measure, rules.currency, w)
        if upper is None:
            band = w._("from %(start)s", start=start)
        else:
            # thresholds are whole units or whole minor units, so a band ends one below
            end = _quantity(upper - 1, rules.measure, rules.currency, w)
            band = w._("%(start)s to %(end)s", start=start, end=end)
        if rules.measure == "volume":
            rate = w._("%(rate)s per unit", rate=major_rate(tier.rate, rules.currency, w))
        else:
            rate = w._("%(rate)s of value", rate=percent(tier.rate, w))
        rows.append(TierRow(band, rate))
    return tuple(rows)


def _multipliers(rules: ProgramRules, w: Words) -> str:
    parts = [
        w._("class %(name)s %(factor)s", name=c, factor=w.factor(m))
        for c, m in sorted(rules.class_multipliers.items())
    ]
    return w._(
        "%(classes)s; a distributor without a class counts as class %(default)s.",
        classes=_list(parts, w),
        default=rules.default_class,
    )


def _penalties(rules: ProgramRules, w: Words) -> tuple[str, ...]:
    p = rules.penalties
    if p is None:
        return (w._("No penalties in this program."),)
    fine = major_rate(Decimal(p.fine_per_unit), rules.currency, w)
    lines = [w._("Fine of %(fine)s per diverted unit.", fine=fine)]
    if len(p.escalation) > 1:
        named = [
            w._(_ORDINAL_OFFENCES[i], factor=w.factor(step))
            if i < len(_ORDINAL_OFFENCES)
            else w._("offence %(number)s %(factor)s", number=i + 1, factor=w.factor(step))
            for i, step in enumerate(p.escalation)
        ]
        lines.append(
            w._(
                "Repeat offenders within 12 months pay more: %(steps)s, and the last step"
                " for any later one.",
                steps=_list(named, w),
            )
        )
    lines.append(
        w._("The rebate already earned on diverted units is forfeited.")
        if p.forfeiture
        else w._("The rebate earned on diverted units is kept.")
    )
    return tuple(lines)


def _growth(rules: ProgramRules, w: Words) -> str:
    if rules.growth is None:
        return w._("No growth rebate.")
    rate = percent(rules.growth.rate, w)
    message = _GROWTH.get(rules.growth.new_distributor)
    if message is None:  # parse_rules admits only the two above
        return w._("%(rate)s of the value grown against the same period a year before.", rate=rate)
    return w._(message, rate=rate)


def _kpi(rules: ProgramRules, w: Words) -> str:
    if rules.kpi is None:
        return w._("No KPI gate: the rebate does not depend on a sales target.")
    floor = percent(rules.kpi.floor, w)
    if rules.kpi.pro_rata:
        return w._(
            "No rebate below %(floor)s of the sales target; between that floor and the"
            " target the rebate is paid in proportion to the achievement, in full from the"
            " target up.",
            floor=floor,
        )
    return w._(
        "No rebate below %(floor)s of the sales target; from that floor up the rebate is"
        " paid in full.",
        floor=floor,
    )


def describe_rules(rules: ProgramRules, words: Words = ENGLISH) -> RulesInWords:
    """The rule set ``rules`` (as :func:`settlement.parse_rules` returns it) in words, in
    the language of ``words`` (English by default). Never raises for parsed rules; an
    unknown mode or basis (stored before a newer parser) is shown as its code."""
    w = words
    share = rules.penalties.whistleblower_share if rules.penalties else Decimal(0)
    whistleblower = (
        w._(
            "A whistleblower whose report is confirmed receives %(share)s of the fine.",
            share=percent(share, w),
        )
        if share
        else w._("No whistleblower reward.")
    )
    mode, basis, measure = (
        _MODES.get(rules.mode), _BASES.get(rules.basis), _MEASURES.get(rules.measure)
    )  # fmt: skip
    return RulesInWords(
        currency=rules.currency,
        measure=w._(measure) if measure else rules.measure,
        mode=w._(mode) if mode else rules.mode,
        basis=w._(basis) if basis else rules.basis,
        tiers=_tiers(rules, w),
        multipliers=_multipliers(rules, w),
        growth=_growth(rules, w),
        kpi=_kpi(rules, w),
        penalties=_penalties(rules, w),
        whistleblower=whistleblower,
    )
