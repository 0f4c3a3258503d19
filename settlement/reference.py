"""Reference data finance and channel managers maintain: products and price lists,
territory grants, sales targets, FX rates, deposits and adjustments.

Each function validates its input and names what is wrong, so the pages that
call them stay thin.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.ids import validate_gtin14
from ledger.models import Party
from settlement.common import Actor, SettlementError, now_ms
from settlement.models import (
    Adjustment,
    DepositMovement,
    FxRate,
    PriceList,
    Product,
    SalesTarget,
    TerritoryGrant,
)

__all__ = [
    "add_adjustment",
    "deposit_balance",
    "end_grant",
    "grant_territory",
    "record_deposit",
    "set_fx_rate",
    "set_price",
    "set_product",
    "set_target",
]

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CCY = re.compile(r"^[A-Z]{3}$")


def _month(period: str) -> str:
    if not _MONTH.match(period):
        raise SettlementError(f"period must be a YYYY-MM month, got {period!r}")
    return period


def _ccy(code: str) -> str:
    if not _CCY.match(code):
        raise SettlementError(f"currency must be an ISO 4217 code like 'EUR', got {code!r}")
    return code


def _party(s: Session, party_id: int) -> Party:
    p = s.get(Party, party_id)
    if p is None:
        raise SettlementError(f"no party {party_id}")
    return p


def set_product(engine: Engine, gtin: str, name: str, actor: Actor) -> None:
    actor.require("finance", "admin", action="edit products")
    g = validate_gtin14(gtin)
    with Session(engine) as s, s.begin():
        p = s.scalar(select(Product).where(Product.gtin == g))
        if p is None:
            s.add(Product(gtin=g, name=name))
        else:
            p.name = name


def set_price(
    engine: Engine, gtin: str, currency: str, valid_from: str, list_price_minor: int, actor: Actor
) -> None:
    """List price of a product from ``valid_from`` (ISO date; replaces that version)."""
    actor.require("finance", "admin", action="edit price lists")
    g = validate_gtin14(gtin)
    if list_price_minor < 0:
        raise SettlementError(f"list price must be >= 0 minor units, got {list_price_minor}")
    with Session(engine) as s, s.begin():
        row = s.scalar(
            select(PriceList).where(
                PriceList.gtin == g,
                PriceList.currency == _ccy(currency),
                PriceList.valid_from == valid_from,
            )
        )
        if row is None:
            s.add(
                PriceList(
                    gtin=g,
                    currency=currency,
                    valid_from=valid_from,
                    list_price_minor=list_price_minor,
                )
            )
        else:
            row.list_price_minor = list_price_minor


def grant_territory(
    engine: Engine,
    party_id: int,
    territory_code: str,
    valid_from_ms: int,
    actor: Actor,
    valid_to_ms: int | None = None,
) -> int:
    """Grant a territory; history is kept (grants are ended, never deleted)."""
    actor.require("channel_manager", "admin", action="grant territories")
    if valid_to_ms is not None and valid_to_ms <= valid_from_ms:
        raise SettlementError("a grant must end after it starts")
    with Session(engine) as s, s.begin():
        _party(s, party_id)
        g = TerritoryGrant(
            party_id=party_id, territory_code=territory_code, valid_from_ms=valid_from_ms,
            valid_to_ms=valid_to_ms,
        )  # fmt: skip
        s.add(g)
        s.flush()
        return g.id


def end_grant(engine: Engine, grant_id: int, valid_to_ms: int, actor: Actor) -> None:
    actor.require("channel_manager", "admin", action="end territory grants")
    with Session(engine) as s, s.begin():
        g = s.get(TerritoryGrant, grant_id)
        if g is None:
            raise SettlementError(f"no territory grant {grant_id}")
        if valid_to_ms <= g.valid_from_ms:
            raise SettlementError(
                f"grant {grant_id} starts at {g.valid_from_ms}; it cannot end before"
            )
        g.valid_to_ms = valid_to_ms


def set_target(engine: Engine, party_id: int, period: str, units: int, actor: Actor) -> None:
    actor.require("finance", "channel_manager", "admin", action="set sales targets")
    if units <= 0:
        raise SettlementError(f"a target must be a positive number of units, got {units}")
    with Session(engine) as s, s.begin():
        _party(s, party_id)
        row = s.scalar(
            select(SalesTarget).where(
                SalesTarget.party_id == party_id, SalesTarget.period == _month(period)
            )
        )
        if row is None:
            s.add(SalesTarget(party_id=party_id, period=period, units=units))
        else:
            row.units = units


def set_fx_rate(
    engine: Engine, period: str, currency: str, reporting_currency: str, rate: str, actor: Actor
) -> None:
    """One ``currency`` unit = ``rate`` ``reporting_currency`` units in ``period``."""
    actor.require("finance", "admin", action="set FX rates")
    try:
        d = Decimal(rate)
    except InvalidOperation:
        raise SettlementError(f"FX rate {rate!r} is not a decimal number") from None
    if not d.is_finite() or d <= 0:
        raise SettlementError(f"FX rate must be positive, got {rate!r}")
    with Session(engine) as s, s.begin():
        row = s.scalar(
            select(FxRate).where(
                FxRate.period == _month(period),
                FxRate.currency == _ccy(currency),
                FxRate.reporting_currency == _ccy(reporting_currency),
            )
        )
        if row is None:
            s.add(
                FxRate(
                    period=period,
                    currency=currency,
                    reporting_currency=reporting_currency,
                    rate=str(d),
                )
            )
        else:
            row.rate = str(d)


def record_deposit(
    engine: Engine, party_id: int, amount_minor: int, reason: str, actor: Actor
) -> int:
    """A deposit paid in (positive) or refunded (negative), in the party's currency."""
    actor.require("finance", action="record deposits")
    if amount_minor == 0:
        raise SettlementError("a deposit movement needs a non-zero amount")
    with Session(engine) as s, s.begin():
        p = _party(s, party_id)
        balance = s.scalar(
            select(func.coalesce(func.sum(DepositMovement.amount_minor), 0)).where(
                DepositMovement.party_id == party_id
            )
        )
        if int(balance or 0) + amount_minor < 0:
            raise SettlementError(
                f"deposit of {p.code} would go negative ({balance} + {amount_minor})"
            )
        m = DepositMovement(
            party_id=party_id, at_ms=now_ms(), amount_minor=amount_minor, currency=p.currency,
            reason=reason, run_id=None,
        )  # fmt: skip
        s.add(m)
        s.flush()
        return m.id


def deposit_balance(engine: Engine, party_id: int) -> int:
    with Session(engine) as s:
        v = s.scalar(
            select(func.coalesce(func.sum(DepositMovement.amount_minor), 0)).where(
                DepositMovement.party_id == party_id
            )
        )
        return int(v or 0)


def add_adjustment(
    engine: Engine, party_id: int, amount_minor: int, reason: str, actor: Actor
) -> int:
    """A correction of a posted run, paid as a line of the next run (posted runs never change)."""
    actor.require("finance", action="book adjustments")
    if amount_minor == 0 or not reason.strip():
        raise SettlementError("an adjustment needs a non-zero amount and a reason")
    with Session(engine) as s, s.begin():
        p = _party(s, party_id)
        a = Adjustment(
            party_id=party_id, amount_minor=amount_minor, currency=p.currency, reason=reason,
            created_by=actor.username, created_ms=now_ms(),
        )  # fmt: skip
        s.add(a)
        s.flush()
        return a.id
