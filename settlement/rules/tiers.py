"""Tiered rebates on volume (units) or value (list value in minor units).

Volume tiers pay a money rate per unit (minor units, may be fractional); value
tiers pay a fraction of value. Retroactive: once a threshold is reached, every
unit (or the whole value) earns that tier's rate. Incremental: each band between
two thresholds earns its own rate, like income-tax brackets — one line per band,
so a distributor can see where its rebate came from.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from settlement.rules.money import Line, RuleError, decimal_str, round_minor, to_decimal

__all__ = ["MEASURES", "MODES", "Tier", "tier_lines"]

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
    if qty <= 0 or qty < tiers[0].threshold:
        return [
            Line(
                f"tier_{mode}",
                "rebate",
                f"{qty} {unit_word}: below first threshold {tiers[0].threshold}",
                "0",
                0,
            )
        ]
    if mode == "retroactive":
        reached = [t for t in tiers if qty >= t.threshold][-1]
        return [
            Line(
                f"tier_{mode}",
                "rebate",
                f"{qty} {unit_word} (tier from {reached.threshold})",
                decimal_str(reached.rate),
                round_minor(Decimal(qty) * reached.rate),
            )
        ]
    lines = []
    for i, t in enumerate(tiers):
        upper = tiers[i + 1].threshold if i + 1 < len(tiers) else None
        if qty <= t.threshold and t.threshold > 0:
            break
        top = qty if upper is None else min(qty, upper)
        band = top - t.threshold
        if band <= 0:
            continue
        label = f"{t.threshold}-{upper}" if upper is not None else f"{t.threshold}+"
        lines.append(
            Line(
                f"tier_{mode}",
                "rebate",
                f"{band} {unit_word} in band {label}",
                decimal_str(t.rate),
                round_minor(Decimal(band) * t.rate),
            )
        )
    return lines
