"""What the reference-data tests share: finance actors, parties in several
currencies, the example files, and a snapshot of every reference table to prove
that a refused import stored nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from settlement import Actor
from settlement.models import (
    Adjustment,
    DepositAgreement,
    DepositMovement,
    FxRate,
    PartyBilling,
    PriceList,
    Product,
    Program,
    ProgramVersion,
    ReceivableMovement,
    ReferenceChange,
    SalesTarget,
    TopUpRequest,
)

FIN = Actor("fiona", "finance", user_id=9001)
FIN2 = Actor("frank", "finance", user_id=9002)
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
GTIN_A = "04012345000016"
GTIN_B = "04012345000023"
GTIN_C = "04012345000030"

#: code -> currency of the parties the example files name (and two more currencies).
PARTIES = {"DIST-FR": "EUR", "DIST-DE": "EUR", "DIST-JP": "JPY", "DIST-KW": "KWD"}

_TABLES: tuple[Any, ...] = (
    Adjustment,
    DepositAgreement,
    DepositMovement,
    FxRate,
    PartyBilling,
    PriceList,
    Product,
    Program,
    ProgramVersion,
    ReceivableMovement,
    ReferenceChange,
    SalesTarget,
    TopUpRequest,
)


def add_parties(engine: Engine) -> dict[str, int]:
    """The distributors of :data:`PARTIES`; returns their ids by code."""
    with Session(engine) as s:
        for code, ccy in PARTIES.items():
            if s.scalar(select(Party.id).where(Party.code == code)) is None:
                s.add(Party(code=code, name=f"{code} Ltd", kind="distributor", currency=ccy))
        s.commit()
        return {c: int(i) for c, i in s.execute(select(Party.code, Party.id)).all()}


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every reference table (and the audit trail), as plain tuples."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with Session(engine) as s:
        for model in _TABLES:
            cols = [c.key for c in model.__table__.columns]
            rows = s.scalars(select(model).order_by(model.id)).all()
            out[model.__tablename__] = [tuple(getattr(r, c) for c in cols) for r in rows]
    return out


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()
