"""Tiered rebates on volume (units) or value (list value in minor units).

Volume tiers pay a money rate per unit (minor units, may be fractional); value
tiers pay a fraction of value. Retroactive: once a threshold is reached, every
unit (or the whole value) earns that tier's rate. Incremental: each band between
two thresholds earns its own rate, like income-tax brackets — one line per band,
so a distributor can see where its rebate came from.

One definition of a threshold serves both modes: **a tier's threshold is the first
unit (or minor unit of value) that earns its rate**, so a band runs from its
threshold up to one below the next tier's threshold, inclusive. A threshold of 0
means the same as 1 (the first unit). Worked example, tiers ``1: 3.00``, ``40: 5.00``
per unit:

- 39 units, retroactive: tier from 1 reached, ``39 x 3.00 = 117.00``;
  incremental: band 1-39 holds 39 units, ``39 x 3.00 = 117.00`` (the modes agree
  below the first break);
- 45 units, retroactive: tier from 40 reached, ``45 x 5.00 = 225.00``;
  incremental: band 1-39 holds 39 units (117.00), band 40+ holds units 40..45, 6 units
  (30.00), ``147.00``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from settlement.rules.money import Line, RuleError, rate_text, round_minor, to_decimal

__all__ = ["MEASURES", "MODES", "Tier", "cliff_line", "reached_tier", "tier_lines"]

MEASURES = ("volume", "value")
MODES = ("retroactive", "incremental")


@dataclass(frozen=True, slots=True)
class Tier:
    """From ``threshold`` (units or value minor units) upwards, ``rate`` applies."""

    threshold: int
    rate: Decimal

    @staticmethod
    def parse(raw: dict[str, object], where: str) -> Tier:
        try:
            threshold = raw["threshold"]
            rate = raw["rate"]
        except KeyError as exc:
            raise RuleError(f"{where}: tier needs {exc.args[0]!r}") from None
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
            raise RuleError(f"{where}: tier threshold must be an integer >= 0, got {threshold!r}")
        if not isinstance(rate, (str, int, Decimal)):
            raise RuleError(f"{where}: tier rate must be a decimal string, got {rate!r}")
        return Tier(threshold, to_decimal(rate, f"{where}: tier rate"))


def _check(tiers: Sequence[Tier]) -> None:
    if not tiers:
        raise RuleError("a tiered program needs at least one tier")
    for a, b in itertools.pairwise(tiers):
        if b.threshold <= a.threshold:
            raise RuleError(
                f"tier thresholds must increase: {a.threshold} is followed by {b.threshold}"
            )
    for t in tiers:
        if t.rate < 0:
            raise RuleError(f"tier rate must be >= 0, got {t.rate} at threshold {t.threshold}")


def tier_lines(
    measure: str, mode: str, tiers: Sequence[Tier], units: int, value: int
) -> list[Line]:
    """Rebate lines for net ``units`` and net ``value`` (minor units)."""
    if measure not in MEASURES:
        raise RuleError(f"tier measure must be one of {MEASURES}, got {measure!r}")
    if mode not in MODES:
        raise RuleError(f"tier mode must be one of {MODES}, got {mode!r}")
    _check(tiers)
    qty = units if measure == "volume" else value
    unit_word = "units" if measure == "volume" else "value"
    first = max(tiers[0].threshold, 1)
    if qty < first:
        return [
            Line(
                f"tier_{mode}",
                "rebate",
                f"{max(qty, 0)} {unit_word}: below first threshold {tiers[0].threshold}",
                "0",
                0,
            )
        ]
    if mode == "retroactive":
        reached = reached_tier(tiers, qty)
        return [
            Line(
                f"tier_{mode}",
                "rebate",
                f"{qty} {unit_word} (tier from {reached.threshold})",
                rate_text(reached.rate),
                round_minor(Decimal(qty) * reached.rate),
                quantity=qty,
            )
        ]
    lines = []
    for i, t in enumerate(tiers):
        low = max(t.threshold, 1)
        upper = tiers[i + 1].threshold - 1 if i + 1 < len(tiers) else None
        if qty < low:
            break
        top = qty if upper is None else min(qty, upper)
        band = top - low + 1
        if band <= 0:
            continue
        label = f"{low}-{upper}" if upper is not None else f"{low}+"
        lines.append(
            Line(
                f"tier_{mode}",
                "rebate",
                f"{band} {unit_word} in band {label}",
                rate_text(t.rate),
                round_minor(Decimal(band) * t.rate),
                quantity=band,
            )
        )
    return lines


def reached_tier(tiers: Sequence[Tier], qty: int) -> Tier:
    """The tier a quantity reaches (the last whose threshold it is at or above); the
    first tier for anything below it."""
    reached = tiers[0]
    for t in tiers:
        if qty >= max(t.threshold, 1):
            reached = t
    return reached


def cliff_line(measure: str, tiers: Sequence[Tier], net_qty: int, excluded_qty: int) -> Line | None:
    """What excluding diverted units cost in a lower retroactive tier, or None.

    When ``net_qty + excluded_qty`` reaches a tier that ``net_qty`` alone does not,
    every remaining unit drops to the lower rate: the cliff is
    ``net_qty x (higher rate - lower rate)``, a penalty-category line whose amount is
    taken from the tier line computed at the higher rate, so the total is what the
    lower tier pays and the drop is visible. Example: 41 units with 3 diverted, tiers
    1: 3.00 and 40: 5.00 per unit: the tier line pays ``38 x 5.00 = 190.00`` and the
    cliff line takes ``38 x (5.00 - 3.00) = 76.00``: 114.00 net, as ``38 x 3.00``.
    """
    _check(tiers)
    if excluded_qty <= 0 or net_qty <= 0:
        return None
    without = reached_tier(tiers, net_qty + excluded_qty)
    with_excl = reached_tier(tiers, net_qty)
    with_rate = Decimal(0) if net_qty < max(tiers[0].threshold, 1) else with_excl.rate
    if without.rate <= with_rate:
        return None
    unit_word = "units" if measure == "volume" else "value"
    lost = round_minor(Decimal(net_qty) * without.rate) - round_minor(Decimal(net_qty) * with_rate)
    return Line(
        "tier_cliff",
        "penalty",
        f"{excluded_qty} diverted {unit_word} excluded: {net_qty} {unit_word} fell from the tier "
        f"from {without.threshold} to "
        + (f"the tier from {with_excl.threshold}" if with_rate else "no tier"),
        rate_text(without.rate - with_rate),
        -lost,
        quantity=net_qty,
    )
