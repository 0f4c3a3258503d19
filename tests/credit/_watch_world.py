"""A small world for thresholds and credit alerts (area D's tests): two EUR
distributors, a credit limit, people with e-mail addresses in two languages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from risk.models import CreditLimit
from settlement.common import Actor
from web.models import User

FINANCE = Actor("fiona", "finance", None, None)
MANAGER = Actor("carl", "channel_manager", None, None)
AUDITOR = Actor("audrey", "auditor", None, None)


@dataclass
class Watch:
    engine: Engine
    d1: int
    d2: int

    def limit(self, party_id: int, limit_minor: int, days: int = 30) -> None:
        with Session(self.engine) as s, s.begin():
            s.add(
                CreditLimit(
                    party_id=party_id, limit_minor=limit_minor, currency="EUR",
                    payment_days=days, source="override", reason="test", approved_by="fiona",
                    created_ms=1,
                )
            )  # fmt: skip


def make_watch(engine: Engine, make_user: Callable[..., int]) -> Watch:
    """D1 and D2 (EUR); fiona (finance, Chinese), carl (channel manager, English),
    audrey (auditor) with addresses; fred (finance) without one; dora of D1."""
    with Session(engine) as s, s.begin():
        ids = []
        for code in ("D1", "D2"):
            p = Party(code=code, name=f"{code} Trading", kind="distributor", currency="EUR")
            s.add(p)
            s.flush()
            ids.append(p.id)
    for name, role in (
        ("fiona", "finance"), ("carl", "channel_manager"), ("audrey", "auditor"),
        ("fred", "finance"),
    ):  # fmt: skip
        make_user(name, role)
    make_user("dora", "distributor", party="D1")
    with Session(engine) as s, s.begin():
        for name, email, locale in (
            ("fiona", "fiona@maker.example", "zh_Hans_CN"),
            ("carl", "carl@maker.example", "en"),
            ("audrey", "audrey@maker.example", None),
            ("dora", "dora@d1.example", None),
        ):
            user = s.scalars(select(User).where(User.username == name)).one()
            user.email, user.locale = email, locale
    return Watch(engine, ids[0], ids[1])
