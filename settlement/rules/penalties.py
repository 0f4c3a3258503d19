"""Penalties for confirmed diversion: per-unit fine with repeat-offender escalation,
and forfeiture of the rebate already earned on the diverted units.

Penalties are about territory breaches only: nothing here looks at resale prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from settlement.rules.money import Line, RuleError, decimal_str, round_minor

__all__ = [
    "escalation_multiplier",
    "fine_line",
    "forfeiture_line",
    "period_index",
    "prior_offences",
]


def period_index(period: str) -> int:
    """Months since year 0 of a ``YYYY-MM`` period (for the 12-month window)."""
    try:
        year, month = period.split("-")
        y, m = int(year), int(month)
    except ValueError:
        raise RuleError(f"period {period!r} is not YYYY-MM") from None
    if not 1 <= m <= 12:
        raise RuleError(f"period {period!r} has month {m}")
    return y * 12 + m - 1


def prior_offences(
    alert_period: str, confirmed_periods: Iterable[str], window_months: int = 12
) -> int:
    """Confirmed alerts of the same party in the ``window_months`` before this one.

    Alerts of the same period count too (two breaches in one month are two
    offences), except the alert itself, which the caller leaves out.
    """
    now = period_index(alert_period)
    return sum(1 for p in confirmed_periods if 0 <= now - period_index(p) < window_months)


def escalation_multiplier(prior: int, steps: Sequence[Decimal]) -> Decimal:
    """``steps[prior]``, the last step for anything beyond (first offence: ``steps[0]``)."""
    if not steps:
        raise RuleError("escalation needs at least one step (1 for a first offence)")
    if prior < 0:
        raise RuleError(f"prior offences cannot be negative, got {prior}")
    return steps[min(prior, len(steps) - 1)]


def fine_line(
    units: int, fine_per_unit: int, prior: int, steps: Sequence[Decimal], alert_ref: str
) -> Line:
    """``-(units * fine * escalation)``, rounded half-even."""
    if units < 0 or fine_per_unit < 0:
        raise RuleError(f"fine needs units >= 0 and fine >= 0, got {units} and {fine_per_unit}")
    mult = escalation_multiplier(prior, steps)
    rate = Decimal(fine_per_unit) * mult
    return Line(
        "fine",
        "penalty",
        f"{units} diverted units, alert {alert_ref}, {prior} prior offences in 12 months (x{decimal_str(mult)})",
        decimal_str(rate),
        -round_minor(Decimal(units) * rate),
    )


def forfeiture_line(units: int, value: int, rate: Decimal, alert_ref: str) -> Line:
    """Claw back the rebate earned on diverted units sold in before this period.

    Units sold in within the period are simply left out of the base, so only older
    units need a clawback; ``rate`` is the fraction of value the program paid.
    """
    if value < 0 or rate < 0:
        raise RuleError(f"forfeiture needs value >= 0 and rate >= 0, got {value} and {rate}")
    return Line(
        "forfeiture",
        "penalty",
        f"rebate on {units} diverted units (value {value}) sold in earlier, alert {alert_ref}",
        decimal_str(rate),
        -round_minor(Decimal(value) * rate),
    )
