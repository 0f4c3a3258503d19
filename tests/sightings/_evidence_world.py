"""A small world for the evidence pack's tests, written straight into the tables.

The territory tests' world (tests/territories_web/_territories_world.py): region
NORTH holds AA and BB; D1 holds AA, D2 holds BB. Unit U2 was shipped by MFR to
D1, received in AA and sold by dealer S2 in BB (out of zone). On top of that:

- a mistaken receiving of U2 that D1 retracted (an error declaration);
- alert A (out_of_zone, D1, BB, 2026-03) holds the dealer's sale of U2 as its finding;
- a member of the public saw U2 in BB: a public sighting and a suspected alert
  (sightings.public);
- inspector party INSP inspected U2 in a shop in BB (sightings.inspection: an
  ``inspecting`` entry with two photos and a signed record), which confirmed the
  suspected alert into a normal alert (sightings.suspects: detection's natural key,
  so alert A, whose findings now hold the inspection too); U2 was sold before, so
  the same inspection is a cloned-code finding too: a clone suspect raised and
  confirmed into detection's clone alert;
- unit U6 (D2's) has an alert of its own, never in U2's packs.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import geo
from ledger import EntryKind, Hop, LedgerSigner, append_hops, ensure_signing_key
from ledger.models import Entry, Party, Unit
from settlement.models import Alert, AlertFinding, Product
from sightings.inspection import Photo, record_inspection
from sightings.public import issue_token, record_sighting
from tests.agreement_support import signed_agreement
from tests.territories_web import _territories_world as world

U2 = world.unit(2)
U6 = world.unit(6)
PRODUCT = "Saffron Tea 100 g"
SECRET = "evidence-tests"


@dataclass(frozen=True)
class EvidenceWorld:
    engine: Engine
    signer: LedgerSigner
    alert_id: int
    other_alert_id: int
    suspect_id: int
    inspection_id: int
    photos: tuple[bytes, ...]


def photo(color: str, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, format=fmt)
    return out.getvalue()


def _e6(point: tuple[float, float]) -> tuple[int, int]:
    return round(point[1] * 1e6), round(point[0] * 1e6)


def add_inspection(
    engine: Engine,
    signer: LedgerSigner,
    key: str,
    *,
    at_ms: int,
    where: tuple[float, float],
    photos: tuple[bytes, ...],
    shop: str = "Corner shop",
    note: str = "two on the shelf",
) -> int:
    """An inspector's scan through sightings.inspection (entry, row, photos, signed record)."""
    lat, lon = _e6(where)
    with Session(engine) as session:
        insp = session.scalar(select(Party.id).where(Party.code == "INSP"))
    assert insp is not None
    done = record_inspection(
        engine,
        user_name="insp1",
        inspector_party_id=insp,
        unit_key=key,
        shop_name=shop,
        note=note,
        lat_e6=lat,
        lon_e6=lon,
        at_ms=at_ms,
        photos=[Photo("image/png", data) for data in photos],
        signer=signer,
    )
    return done.inspection_id


def build(engine: Engine, make_party: Callable[..., int], instance: Path) -> EvidenceWorld:
    ensure_signing_key(instance)
    signer = LedgerSigner.load(instance)
    with Session(engine) as session, session.begin():
        geo.import_feature_collection(session, world.world_fc())
        session.add(Product(gtin=world.GTIN, name=PRODUCT))
    world.build_parties(make_party)
    make_party("INSP", "inspector")
    signed_agreement(engine, "D1", ["AA"], valid_from="2026-01-01", number="AG-D1")
    signed_agreement(engine, "D2", ["BB"], valid_from="2026-01-01", number="AG-D2")
    world.append_scans(engine)
    # D1 receives U2 a second time by mistake and retracts it
    (wrong,) = append_hops(
        engine, [world.hop(2, EntryKind.RECEIVING, "D1", world.ms(2026, 3, 12), world.IN_AA)]
    )
    append_hops(
        engine,
        [
            Hop(
                U2,
                EntryKind.ERROR_DECLARATION,
                "D1",
                world.ms(2026, 3, 13),
                retracts=wrong.seqs[0],
                note="scanned twice",
            )
        ],
    )
    with Session(engine) as session, session.begin():
        units = {k: i for k, i in session.execute(select(Unit.key, Unit.id))}
        parties = {c: i for c, i in session.execute(select(Party.code, Party.id))}
        sale = session.scalar(
            select(Entry.seq).where(
                Entry.unit_id == units[U2], Entry.kind == EntryKind.RETAIL_SELLING.value
            )
        )
        u6_seq = session.scalar(select(Entry.seq).where(Entry.unit_id == units[U6]).limit(1))
        assert sale is not None and u6_seq is not None
        alerts = []
        for code, seq, unit in (("D1", sale, U2), ("D2", u6_seq, U6)):
            alert = Alert(
                natural_key=f"{code}|BB|2026-03|out_of_zone",
                party_id=parties[code],
                territory_code="BB",
                period="2026-03",
                finding_type="out_of_zone",
                severity="medium",
                unit_count=1,
                finding_count=1,
                created_ms=world.ms(2026, 4, 1),
                updated_ms=world.ms(2026, 4, 1),
                detected_tree_size=seq + 1,
            )
            session.add(alert)
            session.flush()
            session.add(
                AlertFinding(
                    alert_id=alert.id, seq=seq, unit_id=units[unit], at_ms=world.ms(2026, 3, 10)
                )
            )
            alerts.append(alert.id)
    # a member of the public sees U2 in BB: a suspected alert ...
    lat, lon = _e6(world.IN_BB)
    seen = world.ms(2026, 3, 15)
    with Session(engine) as session:
        sighting = record_sighting(
            session,
            unit_key=U2,
            lat_e6=lat,
            lon_e6=lon,
            token=issue_token(SECRET, U2, seen),
            secret=SECRET,
            locale="zh_Hans_CN",
            now_ms=seen,
        )
        session.commit()
    (suspect_id,) = sighting.suspect_ids
    # ... that an inspector's scan in a shop in BB confirms
    photos = (photo("red"), photo("blue"))
    inspection_id = add_inspection(
        engine, signer, U2, at_ms=world.ms(2026, 3, 20), where=world.IN_BB, photos=photos
    )
    return EvidenceWorld(engine, signer, alerts[0], alerts[1], suspect_id, inspection_id, photos)
