"""Growth rebate: a rate on the value grown against the same period a year before."""

from __future__ import annotations

from decimal import Decimal

from settlement.rules.money import Line, RuleError, decimal_str, round_minor

__all__ = ["NEW_DISTRIBUTOR_RULES", "growth_line"]

#: A distributor with no sales in the prior-year period either earns nothing
#: ("none": growth needs a baseline) or earns the rate on all of its value ("all").
NEW_DISTRIBUTOR_RULES = ("none", "all")


def growth_line(current_value: int, prior_value: int, rate: Decimal, new_distributor: str) -> Line:
    """Growth rebate line; no shrinkage penalty (a decline earns zero, not a charge)."""
    if new_distributor not in NEW_DISTRIBUTOR_RULES:
        raise RuleError(
            f"new-distributor rule must be one of {NEW_DISTRIBUTOR_RULES}, got {new_distributor!r}"
        )
    if rate < 0:
        raise RuleError(f"growth rate must be >= 0, got {rate}")
    if prior_value <= 0:
        if new_distributor == "none":
            return Line(
                "growth", "rebate", f"new distributor: {current_value} value, no baseline", "0", 0
            )
        grown = max(current_value, 0)
        basis = f"new distributor: all {grown} value counts as growth"
    else:
        grown = max(current_value - prior_value, 0)
        basis = f"{current_value} value vs {prior_value} a year before: +{grown}"
    return Line("growth", "rebate", basis, decimal_str(rate), round_minor(Decimal(grown) * rate))
