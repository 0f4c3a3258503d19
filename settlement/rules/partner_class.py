"""Partner class (A/B/C) multiplier on the tier rebate."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from settlement.rules.money import Line, RuleError, decimal_str, round_minor

__all__ = ["class_multiplier_line"]


def class_multiplier_line(
    tier_rebate: int, partner_class: str, multipliers: Mapping[str, Decimal]
) -> Line:
    """The extra (or reduced) rebate a class earns: ``tier_rebate * (multiplier - 1)``.

    Kept as its own line rather than folded into the tier rate so the statement shows
    what the class is worth.
    """
    if partner_class not in multipliers:
        raise RuleError(
            f"no class multiplier for class {partner_class!r}; have {sorted(multipliers)}"
        )
    m = multipliers[partner_class]
    if m < 0:
        raise RuleError(f"class {partner_class} multiplier must be >= 0, got {m}")
    return Line(
        "class_multiplier",
        "rebate",
        f"class {partner_class} on tier rebate {tier_rebate}",
        decimal_str(m),
        round_minor(Decimal(tier_rebate) * (m - 1)),
    )
