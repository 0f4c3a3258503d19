"""sightings.zone: the market one unit was shipped for, judged as detection judges it.

The world is the territory tests' (tests/territories_web/_territories_world.py):
NORTH (lon 0..40, lat 40..60) holds AA (lon 10..12, lat 50..52) and BB (lon 20..22,
lat 50..52); D1 holds AA and D2 holds BB from 2026-01-01 by signed agreements;
units U1..U5 were shipped by MFR to D1, U6 to D2.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import geo
from ledger import EntryKind, Hop, append_hops, unit_key
from ledger.models import Party, Unit
from sightings.zone import allocated_party_id, judge_location, unit_zone
from tests.agreement_support import signed_agreement
from tests.territories_web import _territories_world as world

APRIL = world.ms(2026, 4, 15)


@pytest.fixture
def units(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    with Session(engine) as session, session.begin():
        geo.import_feature_collection(session, world.world_fc())
    world.build_parties(make_party)
    signed_agreement(engine, "D1", ["AA"], valid_from="2026-01-01", number="AG-D1")
    signed_agreement(engine, "D2", ["BB"], valid_from="2026-01-01", number="AG-D2")
    world.append_scans(engine)
    with Session(engine) as session:
        return {
            key.split("/")[-1]: uid
            for key, uid in session.execute(select(Unit.key, Unit.id))
            if key.startswith("01/")
        }


def _e6(point: tuple[float, float]) -> tuple[int, int]:
    lon, lat = point
    return round(lat * 1e6), round(lon * 1e6)


def test_the_zone_is_the_allocated_distributors_grants(
    engine: Engine, units: dict[str, int]
) -> None:
    with Session(engine) as session:
        zone = unit_zone(session, units["U2"], APRIL)
        assert (zone.allocated_code, zone.territory_codes) == ("D1", ("AA",))
        assert unit_zone(session, units["U6"], APRIL).territory_codes == ("BB",)
        # before the agreements were in force the zone is empty, the allocation is not
        before = unit_zone(session, units["U2"], world.ms(2025, 12, 31))
        assert (before.allocated_code, before.territory_codes) == ("D1", ())


@pytest.mark.parametrize(
    ("unit", "where", "verdict", "territory"),
    [
        ("U2", world.IN_AA, "in_zone", "AA"),
        ("U2", world.IN_BB, "out_of_zone", "BB"),
        ("U6", world.IN_BB, "in_zone", "BB"),
        ("U6", world.IN_AA, "out_of_zone", "AA"),
        # NORTH contains AA, but being in NORTH is not being in AA
        ("U2", world.NORTH_ONLY, "out_of_zone", "NORTH"),
        ("U2", world.NOWHERE, "unlocated", ""),
    ],
)
def test_a_place_is_judged_against_the_zone(
    engine: Engine,
    units: dict[str, int],
    unit: str,
    where: tuple[float, float],
    verdict: str,
    territory: str,
) -> None:
    lat_e6, lon_e6 = _e6(where)
    with Session(engine) as session:
        judged = judge_location(session, units[unit], lat_e6, lon_e6, APRIL)
    assert (judged.verdict, judged.territory_code) == (verdict, territory)


def test_a_sub_distributors_grant_is_in_its_parents_units_zone(
    engine: Engine, units: dict[str, int], make_party: Callable[..., int]
) -> None:
    """D1's units may be seen where D1's sub-distributor SUB (granted BB) sells."""
    sub = make_party("SUB", "distributor")
    with Session(engine) as session, session.begin():
        party = session.get(Party, sub)
        assert party is not None
        party.parent_id = session.scalar(select(Party.id).where(Party.code == "D1"))
    signed_agreement(engine, "SUB", ["BB"], valid_from="2026-01-01", number="AG-SUB")
    lat_e6, lon_e6 = _e6(world.IN_BB)
    with Session(engine) as session:
        assert judge_location(session, units["U2"], lat_e6, lon_e6, APRIL).verdict == "in_zone"
        # and not the other way round: SUB's parent's grant AA is not in a unit of D2's zone
        assert unit_zone(session, units["U6"], APRIL).territory_codes == ("BB",)


def test_a_unit_never_shipped_to_a_distributor_is_unallocated(
    engine: Engine, units: dict[str, int]
) -> None:
    key = unit_key(world.GTIN, "LONE")
    results = append_hops(
        engine,
        [
            Hop(
                key,
                EntryKind.COMMISSIONING,
                "MFR",
                world.ms(2026, 2, 1),
                lat_e6=45_000_000,
                lon_e6=5_000_000,
            )
        ],
    )
    assert results[0].status == "accepted"
    lat_e6, lon_e6 = _e6(world.IN_AA)
    with Session(engine) as session:
        uid = session.scalar(select(Unit.id).where(Unit.key == key))
        assert uid is not None
        assert allocated_party_id(session, uid) is None
        judged = judge_location(session, uid, lat_e6, lon_e6, APRIL)
    assert (judged.verdict, judged.territory_code, judged.zone.allocated_code) == (
        "unallocated",
        "AA",
        "",
    )
