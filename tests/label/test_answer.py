"""sightings.answer: what a scanned label answers (genuine, unknown, retired), the
market, the verification tally and the copy warning.

The world is the zone tests' (tests/territories_web/_territories_world.py): NORTH
holds AA ("Aland", lon 10..12, lat 50..52) and BB ("Bland", lon 20..22, lat
50..52); D1 (country CN) holds AA, D2 holds BB from 2026-01-01; units U1..U5
were shipped by MFR to D1, U6 to D2. The product of GTIN 09506000134352 is
"Green tea 250 g".
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

import geo
from ledger import EntryKind, Hop, append_hops
from ledger.ids import InvalidIdentifierError
from ledger.models import Party, Unit
from partners.models import TerritoryGrant
from settlement.models import Product
from sightings.answer import answer_label, farthest_km
from sightings.models import PublicSighting, VerificationTally
from sightings.zone import unit_zone
from tests.agreement_support import signed_agreement
from tests.territories_web import _territories_world as world

GTIN = world.GTIN
NAME = "Green tea 250 g"
APRIL = world.ms(2026, 4, 15)


def build_world(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    """The world of the module docstring; returns unit ids by serial (U1..U7).

    U7 is commissioned but never shipped (no market); U8 was only seen by a
    distributor, never commissioned (the ledger keeps it as ``uncommissioned``).
    """
    with Session(engine) as session, session.begin():
        geo.import_feature_collection(session, world.world_fc())
    world.build_parties(make_party)
    signed_agreement(engine, "D1", ["AA"], valid_from="2026-01-01", number="AG-D1")
    signed_agreement(engine, "D2", ["BB"], valid_from="2026-01-01", number="AG-D2")
    world.append_scans(engine)
    feb = world.ms(2026, 2, 21)
    results = append_hops(
        engine,
        [
            world.hop(7, EntryKind.COMMISSIONING, "MFR", feb, world.PLANT),
            world.hop(8, EntryKind.RECEIVING, "D1", feb, world.IN_AA),
        ],
    )
    assert all(r.status != "rejected" for r in results), results
    with Session(engine) as session, session.begin():
        session.execute(update(Party).where(Party.code == "D1").values(country="CN"))
        session.add(Product(gtin=GTIN, name=NAME))
    with Session(engine) as session:
        return {
            key.split("/")[-1]: uid
            for key, uid in session.execute(select(Unit.key, Unit.id))
            if key.startswith("01/")
        }


@pytest.fixture
def units(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    return build_world(engine, make_party)


def _tally(engine: Engine) -> dict[int, tuple[int, int, int]]:
    with Session(engine) as session:
        return {
            t.unit_id: (t.count, t.first_ms, t.last_ms)
            for t in session.scalars(select(VerificationTally))
        }


def test_a_genuine_code_names_product_and_market_and_counts(
    engine: Engine, units: dict[str, int]
) -> None:
    with Session(engine) as session:
        first = answer_label(session, GTIN, "U2", now_ms=APRIL)
        session.commit()
        again = answer_label(session, GTIN, "U2", now_ms=APRIL + 60_000)
        session.commit()
    assert first.known and not first.retired
    assert (first.key, first.gtin, first.serial) == (f"01/{GTIN}/21/U2", GTIN, "U2")
    assert first.product_name == NAME
    assert first.image_sha256 is None  # no picture yet
    assert first.market is not None
    assert (first.market.allocated_code, first.market.allocated_country) == ("D1", "CN")
    assert first.market.territory_codes == ("AA",)
    assert [(t.code, t.name, t.level) for t in first.market_territories] == [
        ("AA", "Aland", "country")
    ]
    assert (first.verifications, first.first_verified_ms) == (1, APRIL)
    assert (again.verifications, again.first_verified_ms) == (2, APRIL)
    assert first.copy_warning == again.copy_warning == ""
    assert _tally(engine) == {units["U2"]: (2, APRIL, APRIL + 60_000)}


def test_a_short_gtin_is_padded_like_the_ledger_does(engine: Engine, units: dict[str, int]) -> None:
    with Session(engine) as session:
        answer = answer_label(session, GTIN.lstrip("0"), "U2", now_ms=APRIL, count=False)
    assert answer.known and answer.gtin == GTIN


def test_the_market_is_the_zone_detection_uses(engine: Engine, units: dict[str, int]) -> None:
    # a dealer below D1 granted BB widens D1's zone, as in sightings.zone
    with Session(engine) as session, session.begin():
        d1 = session.scalar(select(Party.id).where(Party.code == "D1"))
        session.execute(update(Party).where(Party.code == "S1").values(parent_id=d1))
        s1 = session.scalar(select(Party.id).where(Party.code == "S1"))
        session.add(TerritoryGrant(party_id=s1, territory_code="BB", valid_from_ms=APRIL - 1))
    with Session(engine) as session:
        for serial in ("U1", "U2", "U6", "U7"):
            answer = answer_label(session, GTIN, serial, now_ms=APRIL, count=False)
            assert answer.market == unit_zone(session, units[serial], APRIL), serial
        u2 = answer_label(session, GTIN, "U2", now_ms=APRIL, count=False)
        assert u2.market is not None and u2.market.territory_codes == ("AA", "BB")
        # before the grant and the agreements were in force
        early = answer_label(session, GTIN, "U2", now_ms=world.ms(2025, 12, 1), count=False)
        assert early.market is not None and early.market.territory_codes == ()


def test_an_unshipped_unit_is_genuine_without_a_market(
    engine: Engine, units: dict[str, int]
) -> None:
    with Session(engine) as session:
        answer = answer_label(session, GTIN, "U7", now_ms=APRIL)
    assert answer.known and answer.market is not None
    assert (answer.market.allocated_party_id, answer.market.territory_codes) == (None, ())


@pytest.mark.parametrize("serial", ["NOPE1", "U8"])
def test_an_unknown_code_counts_nowhere(engine: Engine, units: dict[str, int], serial: str) -> None:
    # NOPE1: no unit carries it; U8: seen by D1 but never commissioned by us
    with Session(engine) as session:
        answer = answer_label(session, GTIN, serial, now_ms=APRIL)
        session.commit()
    assert not answer.known
    assert (answer.product_name, answer.market, answer.verifications) == (None, None, 0)
    assert answer.key == f"01/{GTIN}/21/{serial}"
    assert _tally(engine) == {}


@pytest.mark.parametrize(
    ("gtin", "serial"),
    [("09506000134353", "U1"), ("1234", "U1"), (GTIN, ""), (GTIN, "x" * 21), (GTIN, "a b")],
)
def test_a_malformed_code_is_refused(
    engine: Engine, units: dict[str, int], gtin: str, serial: str
) -> None:
    with Session(engine) as session, pytest.raises(InvalidIdentifierError):
        answer_label(session, gtin, serial, now_ms=APRIL)


def test_a_decommissioned_unit_is_retired_a_sold_one_is_not(
    engine: Engine, units: dict[str, int]
) -> None:
    results = append_hops(
        engine,
        [Hop(world.unit(3), EntryKind.DECOMMISSIONING, "D1", world.ms(2026, 4, 3))],
    )
    assert all(r.status != "rejected" for r in results), results
    with Session(engine) as session:
        retired = answer_label(session, GTIN, "U3", now_ms=APRIL)
        sold = answer_label(session, GTIN, "U1", now_ms=APRIL)  # retail_selling on 2 April
    assert retired.known and retired.retired
    assert sold.known and not sold.retired


def test_count_false_reads_the_tally_without_writing(engine: Engine, units: dict[str, int]) -> None:
    with Session(engine) as session:
        answer = answer_label(session, GTIN, "U2", now_ms=APRIL, count=False)
        session.commit()
    assert (answer.verifications, answer.first_verified_ms) == (0, None)
    assert _tally(engine) == {}
    with Session(engine) as session:
        answer_label(session, GTIN, "U2", now_ms=APRIL)
        session.commit()
        shown = answer_label(session, GTIN, "U2", now_ms=APRIL + 5, count=False)
    assert (shown.verifications, shown.first_verified_ms) == (1, APRIL)
    assert _tally(engine) == {units["U2"]: (1, APRIL, APRIL)}


def test_many_verifications_warn_of_a_copy(engine: Engine, units: dict[str, int]) -> None:
    # warn_after=3: the 1st, 2nd and 3rd verification are not "more than 3"; the 4th is
    seen = []
    with Session(engine) as session:
        for i in range(4):
            answer = answer_label(session, GTIN, "U2", now_ms=APRIL + i, warn_after=3)
            session.commit()
            seen.append((answer.verifications, answer.copy_warning))
    assert seen == [(1, ""), (2, ""), (3, ""), (4, "many_verifications")]


def test_the_default_threshold_is_ten(engine: Engine, units: dict[str, int]) -> None:
    # policy.COPY_WARNING_VERIFICATIONS = 10: 10 verifications are fine, the 11th warns
    with Session(engine) as session:
        for i in range(10):
            answer_label(session, GTIN, "U2", now_ms=APRIL + i)
        tenth = answer_label(session, GTIN, "U2", now_ms=APRIL + 10, count=False)
        eleventh = answer_label(session, GTIN, "U2", now_ms=APRIL + 11)
    assert (tenth.verifications, tenth.copy_warning) == (10, "")
    assert (eleventh.verifications, eleventh.copy_warning) == (11, "many_verifications")


def _sighting(session: Session, unit_id: int, lat: float, lon: float, n: int) -> None:
    session.add(
        PublicSighting(
            unit_id=unit_id,
            at_ms=APRIL - 1000 + n,
            lat_e6=round(lat * 1e6),
            lon_e6=round(lon * 1e6),
            territory_code="",
            verdict="in_zone",
            locale="en",
            nonce_hash=f"{n:064x}",
        )
    )


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088  # IUGG mean radius, km (geo.distance)
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def test_sightings_far_apart_warn_of_a_copy(engine: Engine, units: dict[str, int]) -> None:
    # Seen at (51 N, 11 E) in AA and (51 N, 21 E) in BB: 10 degrees of longitude at
    # 51 degrees north, about 10 x 111.2 km x cos(51 deg) = 700 km (haversine: 699.3 km),
    # more than the 300 km of policy.COPY_WARNING_KM; a third place between them
    # (51 N, 16 E) changes nothing: the farthest pair decides.
    expected = _haversine_km(51, 11, 51, 21)
    assert 699 < expected < 700
    with Session(engine) as session:
        _sighting(session, units["U2"], 51, 11, 1)
        _sighting(session, units["U2"], 51, 16, 2)
        _sighting(session, units["U2"], 51, 21, 3)
        session.commit()
        answer = answer_label(session, GTIN, "U2", now_ms=APRIL, count=False)
        wide = answer_label(session, GTIN, "U2", now_ms=APRIL, count=False, warn_km=700)
    assert answer.copy_warning == "far_apart"
    assert answer.farthest_km == pytest.approx(expected, rel=1e-6)
    assert wide.copy_warning == ""  # 699.3 km is not more than 700


def test_sightings_near_each_other_do_not_warn(engine: Engine, units: dict[str, int]) -> None:
    # (51 N, 11 E) and (51 N, 12 E): 1 degree of longitude at 51 N = about 70 km
    with Session(engine) as session:
        _sighting(session, units["U2"], 51, 11, 1)
        _sighting(session, units["U2"], 51, 12, 2)
        session.commit()
        answer = answer_label(session, GTIN, "U2", now_ms=APRIL)
    assert answer.copy_warning == ""
    assert answer.farthest_km == pytest.approx(_haversine_km(51, 11, 51, 12), rel=1e-6)
    assert 69 < answer.farthest_km < 71


def test_one_statement_reads_an_answer(engine: Engine, units: dict[str, int]) -> None:
    """The hot path: the unit, product, picture, allocation, tally and sighting count
    in one SELECT, the tally in one upsert, the market in one recursive SELECT."""
    from sqlalchemy import event

    from ledger.partitions import declarations_table

    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with engine.connect() as conn:  # asked once per engine (PostgreSQL), as when serving
        declarations_table(conn)
    event.listen(engine, "before_cursor_execute", count)
    try:
        with Session(engine) as session:
            answer_label(session, GTIN, "U2", now_ms=APRIL)
            session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    queries = [s for s in statements if not s.strip().upper().startswith(("BEGIN", "COMMIT"))]
    assert len(queries) == 3, queries


places = st.lists(
    st.tuples(st.integers(-90_000_000, 90_000_000), st.integers(-180_000_000, 180_000_000)),
    max_size=12,
)


@settings(deadline=None)  # the first call compiles geo's numba kernel
@given(places)
def test_farthest_km_is_the_largest_pairwise_distance(pts: list[tuple[int, int]]) -> None:
    brute = max(
        (
            _haversine_km(a[0] / 1e6, a[1] / 1e6, b[0] / 1e6, b[1] / 1e6)
            for i, a in enumerate(pts)
            for b in pts[i + 1 :]
        ),
        default=0.0,
    )
    assert farthest_km(pts) == pytest.approx(brute, rel=1e-6, abs=1e-6)
    assert farthest_km(list(reversed(pts))) == pytest.approx(farthest_km(pts), abs=1e-6)


def test_farthest_km_chunks_thousands_of_places() -> None:
    # 1,200 places spread along the equator from 0 to 11.99 degrees east, in
    # more than two chunks of 512: the two ends are 11.99 x 111.195 km = 1,333.2 km apart
    pts = [(0, i * 10_000) for i in range(1200)]
    assert farthest_km(pts) == pytest.approx(_haversine_km(0, 0, 0, 11.99), rel=1e-9)


def test_the_tally_counts_units_not_codes(engine: Engine, units: dict[str, int]) -> None:
    with Session(engine) as session:
        answer_label(session, GTIN, "U1", now_ms=APRIL)
        answer_label(session, GTIN, "U6", now_ms=APRIL)
        session.commit()
        total = session.scalar(select(func.sum(VerificationTally.count)))
    assert total == 2
