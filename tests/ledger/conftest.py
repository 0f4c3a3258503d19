"""A small distribution network to append hops to: one manufacturer, two
distributors, a dealer, and their sites."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger import Hop, HopResult, LedgerSigner, append_hops, ensure_signing_key
from ledger.ids import gs1_check_digit, sscc_key, unit_key
from ledger.models import Party, Site

GTIN = "0950600013435" + str(gs1_check_digit("0950600013435"))
T0 = 1_790_000_000_000  # 2026-09-21T14:13:20Z


def item(serial: str | int) -> str:
    return unit_key(GTIN, str(serial))


def sscc(n: int) -> str:
    body = f"0950600{n:010d}"
    return sscc_key(body + str(gs1_check_digit(body)))


@dataclass
class Network:
    engine: Engine
    clock: itertools.count[int]

    def append(self, *hops: Hop) -> list[HopResult]:
        return append_hops(self.engine, hops)

    def one(self, hop: Hop) -> HopResult:
        (result,) = append_hops(self.engine, [hop])
        return result

    def at(self) -> int:
        return T0 + next(self.clock) * 1000

    def count(self, table: str = "entries") -> int:
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one())


@pytest.fixture
def network(engine: Engine) -> Network:
    return build_network(engine)


def build_network(engine: Engine) -> Network:
    """The network's parties and sites on ``engine`` (a migrated, empty database)."""
    with Session(engine) as session:
        mfr = Party(code="MFR", name="Maker GmbH", kind="manufacturer")
        session.add(mfr)
        session.flush()
        session.add_all(
            [
                Party(
                    code="D-NORTH", name="North Distribution", kind="distributor", parent_id=mfr.id
                ),
                Party(
                    code="D-SOUTH", name="South Distribution", kind="distributor", parent_id=mfr.id
                ),
                Party(code="DEALER", name="Corner Shop", kind="dealer"),
            ]
        )
        session.flush()
        session.add_all(
            [
                Site(
                    code="MFR-PLANT",
                    name="Plant",
                    party_id=mfr.id,
                    lat_e6=48_137_154,
                    lon_e6=11_576_124,
                ),
            ]
        )
        session.commit()
    return Network(engine, itertools.count())


@pytest.fixture
def signer(tmp_path: Path) -> LedgerSigner:
    instance = tmp_path / "signing"
    ensure_signing_key(instance, "test.hopchain/ledger")
    return LedgerSigner.load(instance)


Commission = Callable[[Sequence[str]], list[HopResult]]
