"""FX rates for a period: direct, inverse or crossed through a common currency.

A stored :class:`~settlement.models.FxRate` says one unit of ``currency`` is worth
``rate`` units of ``reporting_currency`` in ``period``. Finance loads them from its
own file or from the European Central Bank's reference-rate CSV, which quotes every
currency against the euro (``1 EUR = 1.0840 USD``); so a rate asked for is found as
stored, as the inverse of a stored rate, or crossed through a currency both sides
are quoted against (``CNY -> USD = (EUR -> USD) / (EUR -> CNY)``). Rates are exact
decimals; nothing here rounds.

For a quarter the rate of its last month is used when the quarter has none of its
own (the period-end rate, as finance closes quarters); never an earlier month's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.common import NotComputable, months_of
from settlement.models import FxRate

__all__ = ["FxBook", "FxQuote", "MissingFxRates"]


class MissingFxRates(NotComputable):
    """Rates a run needs are not on file; ``pairs`` lists them as (from, to).
    ``message_id`` ``"missing_fx_rates"``, values ``period``, ``pairs``
    (``"EUR->JPY, ..."``) and ``rows`` (the missing CSV rows, ``"; "`` between)."""

    def __init__(self, period: str, pairs: Iterable[tuple[str, str]]) -> None:
        self.period = period
        self.pairs = sorted(set(pairs))
        wanted = ", ".join(f"{a}->{b}" for a, b in self.pairs)
        rows = "; ".join(f"{period},{a},{b}" for a, b in self.pairs)
        super().__init__(
            f"no FX rate for {period}: {wanted}. Import rates with `hopchain import fx FILE` "
            "(the ECB reference-rate CSV works as it is, or the layout "
            "period,currency,reporting_currency,rate,source in docs/imports.md); "
            f"missing rows: {rows}",
            message_id="missing_fx_rates",
            values={"period": period, "pairs": wanted, "rows": rows},
        )


@dataclass(frozen=True, slots=True)
class FxQuote:
    """``1 base = rate quote``, and where the rate came from (for the statement)."""

    base: str
    quote: str
    rate: Decimal
    source: str  # "ECB euro foreign exchange reference rates", "manual", ...
    as_of: str  # ISO date of the quote(s)

    def describe(self) -> str:
        """``1 EUR = 7.812500 CNY (ECB ..., 2026-11-30)`` as a statement states it."""
        shown = format(self.rate.quantize(Decimal("0.000001")).normalize(), "f")
        when = f", {self.as_of}" if self.as_of else ""
        return f"1 {self.base} = {shown} {self.quote} ({self.source or 'no source given'}{when})"


class FxBook:
    """Every rate on file for one period, read once; :meth:`quote` finds a pair."""

    def __init__(self, s: Session, period: str) -> None:
        self.period = period
        self._direct: dict[tuple[str, str], FxQuote] = {}
        # a quarter's own rate wins over its last month's (the period-end rate)
        for p in dict.fromkeys((months_of(period)[-1], period)):
            for row in s.scalars(select(FxRate).where(FxRate.period == p)):
                self._direct[(row.currency, row.reporting_currency)] = FxQuote(
                    row.currency, row.reporting_currency, Decimal(row.rate), row.source, row.as_of
                )

    def _one(self, base: str, quote: str) -> FxQuote | None:
        q = self._direct.get((base, quote))
        if q is not None:
            return q
        inv = self._direct.get((quote, base))
        if inv is not None:
            return FxQuote(base, quote, Decimal(1) / inv.rate, inv.source, inv.as_of)
        return None

    def quote(self, base: str, quote: str) -> FxQuote | None:
        """``1 base = ? quote``, or None when neither the pair, its inverse nor a cross
        through one common currency is on file."""
        if base == quote:
            return FxQuote(base, quote, Decimal(1), "same currency", "")
        one = self._one(base, quote)
        if one is not None:
            return one
        pivots = sorted({c for pair in self._direct for c in pair} - {base, quote})
        for pivot in pivots:
            a, b = self._one(base, pivot), self._one(pivot, quote)
            if a is not None and b is not None:
                sources = a.source if a.source == b.source else f"{a.source}; {b.source}"
                as_of = max(a.as_of, b.as_of)
                return FxQuote(base, quote, a.rate * b.rate, f"{sources}, via {pivot}", as_of)
        return None

    def require(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], FxQuote]:
        """A quote for every pair; :class:`MissingFxRates` naming all that are missing."""
        found: dict[tuple[str, str], FxQuote] = {}
        missing = []
        for base, quote in pairs:
            q = self.quote(base, quote)
            if q is None:
                missing.append((base, quote))
            else:
                found[(base, quote)] = q
        if missing:
            raise MissingFxRates(self.period, missing)
        return found
