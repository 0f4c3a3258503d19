"""Penalties for confirmed diversion: per-unit fine with repeat-offender escalation,
and forfeiture of the rebate already earned on the diverted units.

Penalties are about territory breaches only: nothing here looks at resale prices.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from decimal import Decimal

from settlement.rules.money import Line, RuleError, decimal_str, rate_text, round_minor

__all__ = [
    "escalation_multiplier",
    "fine_line",
    "forfeiture_line",
    "period_index",
    "prior_offences",
    "refund_line",
]


@functools.cache
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
    units: int,
    fine_per_unit: Decimal | int,
    prior: int,
    steps: Sequence[Decimal],
    alert_ref: str,
    *,
    charged_before: int = 0,
    charged_bases: Sequence[Decimal] = (),
) -> Line | None:
    """The fine of one incident: ``-(units x fine x escalation)`` rounded half-even once,
    less what posted runs already charged for it (``charged_before`` >= 0).

    ``fine_per_unit`` is exact (a program fine converted into the statement's currency
    without rounding), so a line is rounded once, at the end. ``charged_bases`` are
    the per-unit fines (before escalation) that already charged units were first
    fined at; they stand in for ``fine_per_unit`` for those units, so a later
    correction changes the escalation step only, never the exchange rate. Returns a ``fine`` line
    the first time, a ``fine_correction`` line when the escalation that stands now
    differs from what was charged (an earlier alert dismissed or an appeal upheld), and
    None when nothing changes. Source: the channel rules' escalating fines for repeat
    cross-region diversion (seeds/003), counted per incident.
    """
    if units < 0 or fine_per_unit < 0 or charged_before < 0:
        raise RuleError(
            f"fine needs units >= 0, fine >= 0 and charged >= 0, got {units}, "
            f"{fine_per_unit} and {charged_before}"
        )
    if len(charged_bases) > units:
        raise RuleError(
            f"{len(charged_bases)} units were fined before, but the incident has {units}"
        )
    mult = escalation_multiplier(prior, steps)
    rate = Decimal(fine_per_unit) * mult
    base = sum(charged_bases, Decimal(0)) + (units - len(charged_bases)) * Decimal(fine_per_unit)
    due = round_minor(base * mult)
    if units:  # the rate the amount was computed at (units fined earlier keep theirs)
        rate = base / units * mult
    earlier = "no earlier incident" if prior == 0 else f"{prior} earlier incidents"
    basis = f"{units} diverted units, {alert_ref}, {earlier} in 12 months (x{decimal_str(mult)})"
    if charged_before == 0:
        return Line("fine", "penalty", basis, rate_text(rate), -due, quantity=units)
    if due == charged_before:
        return None
    return Line(
        "fine_correction",
        "penalty",
        f"{basis}: now {due}, charged before {charged_before}",
        rate_text(rate),
        charged_before - due,
        quantity=units,
    )


def refund_line(rule: str, charged: int, units: int, period: str, ref: str) -> Line:
    """Give back what a posted run charged for an incident that no longer stands (its
    alerts dismissed or reopened on appeal): ``+charged``."""
    if charged < 0:
        raise RuleError(f"a refund needs the amount charged (>= 0), got {charged}")
    what = "fines" if rule == "fine_correction" else "forfeited rebate"
    return Line(
        rule,
        "penalty",
        f"{ref} no longer stands: {what} charged for {units} units in {period} given back",
        "1",
        charged,
        quantity=units,
    )


def forfeiture_line(base: int, rate: Decimal, units: int, source_ref: str, alert_ref: str) -> Line:
    """Claw back the rebate diverted units earned in a posted run, at the rate they earned.

    ``base`` is the units (volume programs) or list value (value programs) the clawed
    units counted for in that run; ``rate`` the rebate that run paid per unit or per
    minor unit of value (all of that program's rebate lines, cliff included, over the
    quantity its tier lines paid on); ``source_ref`` names the line clawed back.
    Units that no run paid rebate on are never clawed back.
    """
    if base < 0 or rate < 0 or units < 0:
        raise RuleError(f"forfeiture needs base, rate and units >= 0, got {base}, {rate}, {units}")
    return Line(
        "forfeiture",
        "penalty",
        f"rebate paid on {units} diverted units ({source_ref}), {alert_ref}",
        rate_text(rate),
        -round_minor(Decimal(base) * rate),
        quantity=units,
    )
