"""A small world for exit tests: a manufacturer, the exiting distributor ``DX``, the
distributor ``DY`` that takes over, units moved by real ledger scans, a signed
agreement granting ``FR``, a deposit, and (on demand) a posted run with what ``DX``
owes. Amounts are EUR minor units."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from ledger.ids import gs1_check_digit
from ledger.models import Site
from settlement import Actor
from tests.agreement_support import signed_agreement
from tests.money._world import Stmt, deposit, receivable, run
from tests.settlement.engine_world import ms

K = EntryKind
GTIN = "0950600013435" + str(gs1_check_digit("0950600013435"))
MANAGER = Actor("pat-partner", "partner_manager", user_id=9001)
FINANCE = Actor("fiona-finance", "finance", user_id=9002)
CHANNEL = Actor("chen-channel", "channel_manager", user_id=9003)


def key(serial: int) -> str:
    return f"01/{GTIN}/21/{serial:08d}"


#: The units DX still has after :func:`build`: u1 in stock, u2 on its way to DX.
IN_STOCK, IN_TRANSIT, SOLD, PASSED_ON, AT_FACTORY = (key(i) for i in range(1, 6))


@dataclass
class ExitWorld:
    engine: Engine
    agreement: str

    def scan(self, *hops: Hop) -> None:
        results = append_hops(self.engine, list(hops))
        assert {r.status for r in results} == {"accepted"}, [r.reason for r in results]

    def owes(self, amount: int, period: str = "2026-01") -> int:
        """A posted final run of ``period`` whose statement left DX owing ``amount``."""
        run_id, _ = run(
            self.engine, [Stmt("DX", [("penalty", -amount)])], period=period,
            posted_ms=ms(2026, 2, 3),
        )  # fmt: skip
        receivable(self.engine, "DX", ms(2026, 2, 3), amount, "statement", run_id)
        return run_id


def build(engine: Engine, make_party: Callable[..., int]) -> ExitWorld:
    mfr = make_party("MFR", kind="manufacturer")
    make_party("DX", name="Delta Exit Trading")
    make_party("DY", name="Yankee Distribution")
    with Session(engine) as s:
        s.add(Site(code="PLANT", name="Plant", party_id=mfr, lat_e6=48_000_000, lon_e6=11_000_000))
        s.commit()
    t = itertools.count(ms(2026, 1, 2), 60_000)
    hops = [Hop(key(i), K.COMMISSIONING, "MFR", next(t), site="PLANT") for i in range(1, 6)]
    hops += [
        Hop(IN_STOCK, K.SHIPPING, "MFR", next(t), counterparty="DX"),
        Hop(IN_STOCK, K.RECEIVING, "DX", next(t)),
        Hop(IN_TRANSIT, K.SHIPPING, "MFR", next(t), counterparty="DX"),
        Hop(SOLD, K.SHIPPING, "MFR", next(t), counterparty="DX"),
        Hop(SOLD, K.RECEIVING, "DX", next(t)),
        Hop(SOLD, K.RETAIL_SELLING, "DX", next(t)),
        Hop(PASSED_ON, K.SHIPPING, "MFR", next(t), counterparty="DX"),
        Hop(PASSED_ON, K.RECEIVING, "DX", next(t)),
        Hop(PASSED_ON, K.SHIPPING, "DX", next(t), counterparty="DY"),
        Hop(PASSED_ON, K.RECEIVING, "DY", next(t)),
    ]
    world = ExitWorld(engine, signed_agreement(engine, "DX", ["FR"], (), "2025-01-01"))
    world.scan(*hops)
    deposit(engine, "DX", ms(2025, 6, 1), 500_000, "receipt", "deposit paid on signing")
    return world
