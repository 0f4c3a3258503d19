"""Accruals: on any day of a month, what each program would pay if the month closed
now, and how far each distributor is from its next tier.

The figures are :func:`settlement.runs.compute_statements`'s, the very computation a
run makes, counting the period's ledger entries up to the chosen moment (as of the
newest signed checkpoint), and storing nothing. A program's rebate is the sum of
its statement lines (``program:CODE``: tiers, class multiplier, growth, KPI gate).

The watchlist names what a distributor still needs for its next tier, in the
party's currency: "D-AT needs 12 more units for the next tier (EUR 5.00 per unit
from 40)", or for value programs "D-AT needs EUR 120.00 more value for the next
tier (3% of value from EUR 10,000.00)". Finance, channel managers, auditors and
admins read every party; a distributor gets only its own rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import Engine

from settlement.common import Actor, NotComputable, now_ms, period_bounds
from settlement.rules.money import decimal_str, minor_exponent
from settlement.rules.tiers import Tier
from settlement.runs import compute_statements

__all__ = [
    "AccrualRow",
    "Accruals",
    "accruals",
    "next_tier",
    "tier_words",
]


@dataclass(frozen=True, slots=True)
class AccrualRow:
    """One party's standing in one program so far this period.

    ``measure`` is ``volume`` (tiers on ``net_units``) or ``value`` (tiers on
    ``net_value``, minor units of ``currency``); ``rebate_minor`` is what the
    program's lines would pay if the period closed now. ``tier_from`` is the
    threshold of the tier reached (None: below the first); ``next_from``/
    ``next_rate`` the next tier's (None: the top tier is reached) and
    ``shortfall`` how many more units (or minor units of value) it needs.
    """

    party_id: int
    party_code: str
    party_name: str
    currency: str
    program_code: str
    measure: str
    mode: str
    net_units: int
    net_value: int
    rebate_minor: int
    tier_from: int | None
    tier_rate: Decimal | None
    next_from: int | None
    next_rate: Decimal | None
    shortfall: int | None
    watch: str  # the watchlist sentence; "" when the top tier is reached


@dataclass(frozen=True, slots=True)
class Accruals:
    """A period's accruals as of ``as_of_ms``, counted over ledger entries up to that
    moment as of checkpoint ``tree_size``; ``rows`` by party code then program."""

    period: str
    as_of_ms: int
    tree_size: int
    rows: tuple[AccrualRow, ...]
    rebate_by_currency: dict[str, int]

    @property
    def watchlist(self) -> tuple[AccrualRow, ...]:
        """Rows with a next tier, the closest to it (smallest share still missing) first."""
        rows = [r for r in self.rows if r.shortfall is not None and r.next_from]
        return tuple(
            sorted(
                rows,
                key=lambda r: (
                    Decimal(r.shortfall or 0) / Decimal(r.next_from or 1),
                    r.party_code,
                    r.program_code,
                ),
            )
        )


def next_tier(tiers: Sequence[Tier], qty: int) -> tuple[Tier | None, Tier | None]:
    """(the tier ``qty`` has reached or None, the next one or None), as
    :func:`~settlement.rules.tiers.tier_lines` pays: nothing is reached at ``qty <= 0``."""
    if qty <= 0:
        return None, (tiers[0] if tiers else None)
    reached = [t for t in tiers if qty >= t.threshold]
    above = [t for t in tiers if t.threshold > qty]
    return (reached[-1] if reached else None), (above[0] if above else None)


def _money(minor: int | Decimal, ccy: str) -> str:
    """``EUR 5.00`` from minor units. A rate converted from another currency can carry
    many digits: it shows at most two digits past the minor unit, marked ``≈``."""
    exp = minor_exponent(ccy)
    major = Decimal(minor).scaleb(-exp)
    shown = major.quantize(Decimal(1).scaleb(-exp - 2), rounding=ROUND_HALF_EVEN)
    if shown == major.quantize(Decimal(1).scaleb(-exp)):
        shown = shown.quantize(Decimal(1).scaleb(-exp))
    else:
        shown = shown.normalize()
    whole, dot, frac = f"{abs(shown):f}".partition(".")
    approx = "≈ " if shown != major else ""
    return f"{approx}{ccy} {'-' if shown < 0 else ''}{int(whole):,}{dot}{frac}"


def tier_words(measure: str, tier: Tier, ccy: str) -> str:
    """``EUR 5.00 per unit from 40`` (volume) or ``3% of value from EUR 10,000.00`` (value)."""
    if measure == "volume":
        return f"{_money(tier.rate, ccy)} per unit from {tier.threshold:,}"
    return f"{decimal_str(tier.rate * 100)}% of value from {_money(tier.threshold, ccy)}"


def _watch(code: str, measure: str, shortfall: int, tier: Tier, ccy: str, first: bool) -> str:
    which = "the first tier" if first else "the next tier"
    if measure == "volume":
        more = f"{shortfall:,} more unit{'s' if shortfall != 1 else ''}"
    else:
        more = f"{_money(shortfall, ccy)} more value"
    return f"{code} needs {more} for {which} ({tier_words(measure, tier, ccy)})"


def accruals(engine: Engine, period: str, actor: Actor, *, until_ms: int | None = None) -> Accruals:
    """Each party's programs in ``period`` (``YYYY-MM``) as if it closed at ``until_ms``
    (default: now, or the period's end once it is over).

    Raises :class:`NotComputable` for a period that has not started, and whatever
    :func:`~settlement.runs.compute_statements` raises (no checkpoint, no program,
    missing prices or FX rates, each naming what to add); :class:`PermissionDenied`
    for a role that reads no settlement figures.
    """
    start_ms, end_ms = period_bounds(period)
    at = min(now_ms() if until_ms is None else until_ms, end_ms)
    if at <= start_ms:
        raise NotComputable(
            f"period {period} has not started yet: nothing has accrued",
            message_id="period_not_started",
            values={"period": period},
        )
    computed = compute_statements(engine, period, actor, until_ms=at)
    rows: list[AccrualRow] = []
    totals: dict[str, int] = defaultdict(int)
    for cp in computed.parties:
        if actor.role == "distributor" and cp.party_id != actor.party_id:
            continue  # compute_statements scopes a distributor already; never show others
        for prog in cp.programs:
            r = prog.rules
            ref = f"program:{prog.code}"
            rebate = sum(x.line.amount for x in cp.lines if x.ref == ref)
            qty = prog.net_units if r.measure == "volume" else prog.net_value
            reached, nxt = next_tier(r.tiers, qty)
            shortfall = None if nxt is None else max(nxt.threshold, 1) - qty
            watch = (
                ""
                if nxt is None or shortfall is None
                else _watch(cp.party_code, r.measure, shortfall, nxt, cp.currency, reached is None)
            )
            rows.append(
                AccrualRow(
                    cp.party_id, cp.party_code, cp.party_name, cp.currency, prog.code, r.measure,
                    r.mode, prog.net_units, prog.net_value, rebate,
                    reached.threshold if reached else None, reached.rate if reached else None,
                    nxt.threshold if nxt else None, nxt.rate if nxt else None, shortfall, watch,
                )
            )  # fmt: skip
            totals[cp.currency] += rebate
    rows.sort(key=lambda x: (x.party_code, x.program_code))
    return Accruals(period, at, computed.tree_size, tuple(rows), dict(sorted(totals.items())))
