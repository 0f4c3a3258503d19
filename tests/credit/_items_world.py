"""A small world for open items, payments and exposure (area B's tests): a maker,
two distributors in EUR and one in JPY, list prices, shipments appended to the
ledger and statement receivables booked as a posted run would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from ledger.ids import gs1_check_digit, sscc_key, unit_key
from ledger.models import Party, Unit
from risk.models import CreditLimit
from settlement.common import Actor
from settlement.models import PartyBilling, PriceList, ReceivableMovement
from settlement.reference_values import date_ms

K = EntryKind


def gtin(n: int) -> str:
    body = f"095060001{n:04d}"
    return body + str(gs1_check_digit(body))


def item_key(g: str, serial: str) -> str:
    return unit_key(g, serial)


def sscc(n: int) -> str:
    body = f"0950600{n:010d}"
    return sscc_key(body + str(gs1_check_digit(body)))


WIDGET = gtin(1)  # 12.50 EUR from 2026-10-01, 13.00 EUR from 2026-11-15
GADGET = gtin(2)  # 40.00 EUR
NOPRICE = gtin(3)  # no price on file

FINANCE = Actor("fiona", "finance", None, 1)
MANAGER = Actor("carl", "channel_manager", None, 2)


@dataclass
class World:
    engine: Engine
    ids: dict[str, int] = field(default_factory=dict)
    serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def ship(self, day: str, to: str, *gtins: str, at_hour: int = 10) -> list[int]:
        """Commission and ship one unit of each GTIN from MFR to ``to`` on ``day``;
        the seqs of the shipping entries."""
        at = date_ms(day) + at_hour * 3_600_000
        hops = []
        keys = []
        for g in gtins:
            key = item_key(g, f"S{next(self.serial)}")
            keys.append(key)
            hops.append(Hop(key, K.COMMISSIONING, "MFR", at - 60_000))
        for key in keys:
            hops.append(Hop(key, K.SHIPPING, "MFR", at, counterparty=to))
        results = append_hops(self.engine, hops)
        assert all(r.status == "accepted" for r in results), results
        return [r.seqs[0] for r in results[len(keys) :]]

    def retract(self, seq: int, key_of_unit: str | None = None) -> None:
        with Session(self.engine) as s:
            from ledger.models import Entry

            e = s.get(Entry, seq)
            assert e is not None
            u = s.get(Unit, e.unit_id)
            assert u is not None
            key = u.key
        (r,) = append_hops(
            self.engine,
            [Hop(key, K.ERROR_DECLARATION, "MFR", date_ms("2026-11-30"), retracts=seq,
                 note="incorrect_data")],
        )  # fmt: skip
        assert r.status == "accepted", r

    def statement(self, party: str, statement_id: int, day: str, owed_minor: int) -> None:
        """A posted statement of ``party`` whose total is ``-owed_minor``."""
        with Session(self.engine) as s, s.begin():
            s.add(
                ReceivableMovement(
                    party_id=self.ids[party], at_ms=date_ms(day) + 3_600_000,
                    amount_minor=owed_minor, currency="EUR", kind="statement", run_id=None,
                    ref=f"statement:{statement_id}", created_by="fiona",
                )
            )  # fmt: skip

    def limit(self, party: str, limit_minor: int, days: int = 30) -> None:
        with Session(self.engine) as s, s.begin():
            p = s.get(Party, self.ids[party])
            assert p is not None
            s.add(
                CreditLimit(
                    party_id=p.id, limit_minor=limit_minor, currency=p.currency,
                    payment_days=days, source="override", reason="test", approved_by="fiona",
                    created_ms=1,
                )
            )  # fmt: skip


def make_world(engine: Engine) -> World:
    w = World(engine)
    with Session(engine) as s, s.begin():
        for code, kind, ccy in (
            ("MFR", "manufacturer", "EUR"),
            ("D-NORTH", "distributor", "EUR"),
            ("D-SOUTH", "distributor", "EUR"),
            ("D-TOKYO", "distributor", "JPY"),
        ):
            p = Party(code=code, name=f"{code} Ltd", kind=kind, currency=ccy)
            s.add(p)
            s.flush()
            w.ids[code] = p.id
        s.add(PartyBilling(party_id=w.ids["D-NORTH"], legal_name="North Ltd",
                           iban="DE89370400440532013000"))  # fmt: skip
        s.add(PartyBilling(party_id=w.ids["D-SOUTH"], legal_name="South Ltd",
                           iban="FR1420041010050500013M02606"))  # fmt: skip
        for g, ccy, valid_from, minor in (
            (WIDGET, "EUR", "2026-10-01", 1250),
            (WIDGET, "EUR", "2026-11-15", 1300),
            (GADGET, "EUR", "2026-01-01", 4000),
            (WIDGET, "JPY", "2026-01-01", 2000),
        ):
            s.add(PriceList(gtin=g, currency=ccy, valid_from=valid_from, list_price_minor=minor))
    return w


def unit_ids(engine: Engine, keys: list[str]) -> list[int]:
    with Session(engine) as s:
        return list(s.scalars(select(Unit.id).where(Unit.key.in_(keys))))


ON = date(2026, 12, 1)
