"""KPI gate: no rebate below a floor of the target, pro-rata between floor and target."""

from __future__ import annotations

from decimal import Decimal

from settlement.rules.money import Line, RuleError, decimal_str, round_minor

__all__ = ["kpi_gate_line"]


def kpi_gate_line(
    rebate: int,
    achieved_units: int,
    target_units: int,
    floor: Decimal,
    pro_rata: bool,
    measure: str = "units",
) -> Line:
    """The (non-positive) correction that gates ``rebate`` on target achievement.

    ``measure`` is ``units`` (a units target) or ``value`` (a value target in minor
    units of the statement's currency); both quantities are of that measure.

    Below ``floor`` (e.g. 0.6) the whole rebate is withheld; from the floor up to
    100 % the rebate is scaled by the achievement when ``pro_rata``; at or above
    target nothing is withheld. A separate line, so the withheld part is visible.
    """
    if target_units <= 0:
        raise RuleError(f"KPI target must be a positive number of {measure}, got {target_units}")
    if not 0 <= floor <= 1:
        raise RuleError(f"KPI floor must be between 0 and 1, got {floor}")
    achievement = Decimal(max(achieved_units, 0)) / Decimal(target_units)
    basis = f"{achieved_units} of target {target_units} {measure}"
    if achievement < floor:
        return Line(
            "kpi_gate", "rebate", basis + f", below floor {decimal_str(floor)}", "0", -rebate
        )
    if pro_rata and achievement < 1:
        kept = achievement
        return Line(
            "kpi_gate",
            "rebate",
            basis + ", pro rata",
            decimal_str(kept.quantize(Decimal("0.0001"))),
            -round_minor(Decimal(rebate) * (1 - kept)),
        )
    return Line("kpi_gate", "rebate", basis + ", target met" if achievement >= 1 else basis, "1", 0)
