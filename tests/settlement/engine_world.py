"""A small real database for engine tests: parties, sites, units, entries, checkpoints.

Entries are inserted directly (dummy hashes) in time order, as the ledger's
sequencer would have numbered them; territories are squares indexed by
``geo.TerritoryIndex``.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

import settlement.models  # noqa: F401  (registers the settlement tables on Base)
from geo import TerritoryIndex
from ledger.database import make_engine
from ledger.ids import EntryKind, gs1_check_digit
from ledger.keys import LedgerSigner
from ledger.models import Base, Checkpoint, Entry, Party, Site, Unit

GTIN = "0400638133393" + str(gs1_check_digit("0400638133393"))
PARIS = (48_856_600, 2_352_200)  # (lat_e6, lon_e6)
PARIS_2 = (48_900_000, 2_300_000)
BERLIN = (52_520_000, 13_405_000)
#: The ledger key that seals posted runs and alerts in engine tests.
SIGNER = LedgerSigner("test.example/ledger", Ed25519PrivateKey.generate())


def ms(y: int, mo: int, d: int, h: int = 12) -> int:
    return calendar.timegm((y, mo, d, h, 0, 0)) * 1000


def _square(
    code: str, name: str, parent: str | None, level: str, x0: float, y0: float, x1: float, y1: float
) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "parent": parent, "level": level},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
        },
    }


def territory_index() -> TerritoryIndex:
    fc = {
        "type": "FeatureCollection",
        "features": [
            _square("FR", "France", None, "country", -2.0, 42.0, 8.0, 51.0),
            _square("FR-PAR", "Paris region", "FR", "province", 1.0, 48.0, 4.0, 50.0),
            _square("FR-LYO", "Lyon region", "FR", "province", 4.0, 44.0, 8.0, 47.0),
            _square("DE", "Germany", None, "country", 8.0, 47.0, 15.0, 55.0),
        ],
    }
    return TerritoryIndex.from_geojson(fc)


@dataclass
class EngineWorld:
    engine: Engine
    parties: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    events: list[dict[str, object]] = field(default_factory=list)
    seq: int = 0

    @classmethod
    def create(cls, url: str) -> EngineWorld:
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        return cls(engine)

    def party(
        self,
        code: str,
        kind: str,
        *,
        parent: str | None = None,
        currency: str = "EUR",
        country: str | None = None,
    ) -> int:
        with Session(self.engine) as s, s.begin():
            p = Party(
                code=code, name=f"{code} Ltd", kind=kind, currency=currency, country=country,
                parent_id=self.parties[parent] if parent else None,
            )  # fmt: skip
            s.add(p)
            s.flush()
            self.parties[code] = p.id
            s.add(Site(code=f"{code}-site", name=code, party_id=p.id))
        return self.parties[code]

    def unit(self, serial: str) -> int:
        with Session(self.engine) as s, s.begin():
            u = Unit(key=f"01/{GTIN}/21/{serial}", gtin=GTIN, serial=serial, state="in_stock")
            s.add(u)
            s.flush()
            self.units[serial] = u.id
        return self.units[serial]

    def event(
        self,
        serial: str,
        kind: EntryKind,
        party: str,
        at_ms: int,
        counterparty: str | None = None,
        where: tuple[int, int] | None = None,
    ) -> None:
        self.events.append(
            {
                "unit_id": self.units[serial],
                "kind": kind.value,
                "at_ms": at_ms,
                "party_id": self.parties[party],
                "counterparty_id": self.parties[counterparty] if counterparty else None,
                "lat_e6": where[0] if where else None,
                "lon_e6": where[1] if where else None,
            }
        )

    def flush(self) -> int:
        """Append pending events in time order, sign a checkpoint; returns the tree size."""
        pending = sorted(self.events, key=lambda e: int(str(e["at_ms"])))
        self.events = []
        rows = []
        for e in pending:
            digest = hashlib.sha256(f"{self.seq}".encode()).digest()
            rows.append(
                {
                    **e,
                    "seq": self.seq,
                    "prev_hash": b"\0" * 32,
                    "leaf_hash": digest,
                    "device": "",
                    "anomaly": "",
                }
            )
            self.seq += 1
        with Session(self.engine) as s, s.begin():
            if rows:
                s.execute(insert(Entry), rows)
            s.add(
                Checkpoint(
                    tree_size=self.seq, root_hash=self.root(self.seq), note="test", created_ms=0
                )
            )
        return self.seq

    @staticmethod
    def root(tree_size: int) -> bytes:
        return hashlib.sha256(f"root {tree_size}".encode()).digest()
