"""sightings.public: one-time tokens, coarse locations, suspected alerts raised by
public sightings, the per-unit cap, and that none of it moves settlement.

The world is the territory tests' (tests/territories_web/_territories_world.py):
NORTH (lon 0..40, lat 40..60) holds AA (lon 10..12, lat 50..52) and BB (lon 20..22,
lat 50..52); D1 holds AA and D2 holds BB from 2026-01-01 by signed agreements;
U1..U5 were shipped by MFR to D1, U6 to D2; the ledger's scans are of February,
March and 2 April 2026. Sightings here are made on 15 April 2026.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, MetaData, func, select
from sqlalchemy.orm import Session

import geo
from ledger import EntryKind, Hop, append_hops
from ledger.models import Party, Unit
from sightings import policy
from sightings.errors import SightingRefused, UnknownCode
from sightings.models import PublicSighting, SuspectedAlert
from sightings.public import (
    TOKEN_TTL_MS,
    check_token,
    clone_pairs,
    issue_token,
    nonce_hash,
    record_sighting,
)
from tests.agreement_support import signed_agreement
from tests.territories_web import _territories_world as world

SECRET = "test-secret-key"
APRIL = world.ms(2026, 4, 15)
HOUR = 3_600_000
# (lat_e6, lon_e6) of places in the world
IN_AA = (51_000_000, 11_000_000)
IN_BB = (51_000_000, 21_000_000)
NOWHERE = (10_000_000, 100_000_000)


def build_world(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    """The module docstring's world; returns unit ids by serial (U1..U6)."""
    with Session(engine) as session, session.begin():
        geo.import_feature_collection(session, world.world_fc())
    world.build_parties(make_party)
    signed_agreement(engine, "D1", ["AA"], valid_from="2026-01-01", number="AG-D1")
    signed_agreement(engine, "D2", ["BB"], valid_from="2026-01-01", number="AG-D2")
    world.append_scans(engine)
    with Session(engine) as session:
        return {
            key.split("/")[-1]: int(uid)
            for key, uid in session.execute(select(Unit.key, Unit.id))
            if key.startswith("01/")
        }


def sight(
    engine: Engine,
    serial: str,
    where: tuple[int, int],
    at_ms: int,
    **kw: Any,
) -> Any:
    """One sighting of unit ``serial`` with a fresh token, committed."""
    key = world.unit(int(serial[1:]))
    token = kw.pop("token", None) or issue_token(SECRET, key, at_ms)
    with Session(engine) as session, session.begin():
        return record_sighting(
            session, unit_key=key, lat_e6=where[0], lon_e6=where[1], token=token,
            secret=SECRET, locale="en", now_ms=at_ms, **kw,
        )  # fmt: skip


@pytest.fixture
def units(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    return build_world(engine, make_party)


def _suspects(engine: Engine) -> list[tuple[int, str, str, int, str]]:
    with Session(engine) as session:
        return [
            (int(u), str(k), str(s), int(n), str(t))
            for u, k, s, n, t in session.execute(
                select(
                    SuspectedAlert.unit_id, SuspectedAlert.kind, SuspectedAlert.status,
                    SuspectedAlert.sighting_count, SuspectedAlert.territory_code,
                ).order_by(SuspectedAlert.id)
            )
        ]  # fmt: skip


# ------------------------------------------------------------------ tokens


def test_a_token_is_good_for_its_code_for_thirty_minutes() -> None:
    key = world.unit(1)
    token = issue_token(SECRET, key, APRIL)
    check_token(SECRET, key, token, APRIL)
    check_token(SECRET, key, token, APRIL + TOKEN_TTL_MS)  # the 30th minute still counts
    with pytest.raises(SightingRefused) as late:
        check_token(SECRET, key, token, APRIL + TOKEN_TTL_MS + 1)
    assert late.value.field == "token"
    assert "expired" in str(late.value) and "30 minutes" in str(late.value)
    assert issue_token(SECRET, key, APRIL) != token  # a fresh nonce each time


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t,  # checked against another code below
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # altered MAC
        lambda t: str(int(t.split(".")[0]) + 1) + t[t.index(".") :],  # altered time
        lambda t: "",
        lambda t: "not.a.token",
    ],
)
def test_a_foreign_or_altered_token_is_refused(spoil: Callable[[str], str]) -> None:
    token = spoil(issue_token(SECRET, world.unit(1), APRIL))
    with pytest.raises(SightingRefused) as bad:
        check_token(SECRET, world.unit(2), token, APRIL)
    assert bad.value.field == "token"
    assert "not valid for this label" in str(bad.value)


def test_a_token_made_with_another_secret_is_refused() -> None:
    token = issue_token("another secret", world.unit(1), APRIL)
    with pytest.raises(SightingRefused, match="not valid"):
        check_token(SECRET, world.unit(1), token, APRIL)


@given(st.text(max_size=120))
def test_any_text_as_token_is_refused_in_words(text: str) -> None:
    with pytest.raises(SightingRefused) as bad:
        check_token(SECRET, world.unit(1), text, APRIL)
    assert bad.value.field == "token"


# ------------------------------------------------------------------ coarse location


@given(st.integers(min_value=-180_000_000, max_value=180_000_000))
def test_coarse_rounding_moves_a_point_at_most_half_a_step_and_is_idempotent(v: int) -> None:
    c = policy.coarse_e6(v)
    assert abs(c - v) <= policy.COARSE_E6 // 2  # 0.005 degrees, under 0.0071
    assert c % policy.COARSE_E6 == 0
    assert policy.coarse_e6(c) == c


def test_a_sighting_keeps_only_the_coarse_location(engine: Engine, units: dict[str, int]) -> None:
    sight(engine, "U1", (51_004_999, 11_123_456), APRIL)
    with Session(engine) as session:
        row = session.scalars(select(PublicSighting)).one()
    assert (row.lat_e6, row.lon_e6) == (51_000_000, 11_120_000)
    assert (row.verdict, row.territory_code, row.locale) == ("in_zone", "AA", "en")


# ------------------------------------------------------------------ refusals


def test_a_replayed_token_is_refused_and_stored_once(engine: Engine, units: dict[str, int]) -> None:
    token = issue_token(SECRET, world.unit(1), APRIL)
    sight(engine, "U1", IN_BB, APRIL, token=token)
    with pytest.raises(SightingRefused) as again:
        sight(engine, "U1", IN_BB, APRIL + 1000, token=token)
    assert again.value.field == "token" and "already recorded" in str(again.value)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PublicSighting)) == 1
        stored = session.scalars(select(PublicSighting.nonce_hash)).one()
    assert stored == nonce_hash(token)
    assert _suspects(engine)[0][3] == 1  # the replay joined nothing


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (90_000_001, 0, "lat"),
        (-90_000_001, 0, "lat"),
        (0, 180_000_001, "lon"),
        (0, -180_000_001, "lon"),
        (True, 0, "lat"),
        (51.5, 0, "lat"),
        (0, "11", "lon"),
    ],
)
def test_coordinates_out_of_range_are_refused_naming_the_field(
    engine: Engine, units: dict[str, int], lat: Any, lon: Any, field: str
) -> None:
    with pytest.raises(SightingRefused) as bad:
        sight(engine, "U1", (lat, lon), APRIL)
    assert bad.value.field == field
    assert "degrees" in str(bad.value)


def test_an_unknown_code_is_refused(engine: Engine, units: dict[str, int]) -> None:
    key = world.unit(99)
    with Session(engine) as session, pytest.raises(UnknownCode) as bad:
        record_sighting(
            session, unit_key=key, lat_e6=IN_AA[0], lon_e6=IN_AA[1],
            token=issue_token(SECRET, key, APRIL), secret=SECRET, locale="en", now_ms=APRIL,
        )  # fmt: skip
    assert bad.value.field == "unit"


def test_a_unit_takes_a_capped_number_of_sightings_an_hour(
    engine: Engine, units: dict[str, int]
) -> None:
    for i in range(3):
        sight(engine, "U1", IN_AA, APRIL + i * 60_000, per_unit_hour=3)
    with pytest.raises(SightingRefused) as capped:
        sight(engine, "U1", IN_AA, APRIL + 10 * 60_000, per_unit_hour=3)
    assert "at most 3 times an hour" in str(capped.value)
    sight(engine, "U2", IN_AA, APRIL + 10 * 60_000, per_unit_hour=3)  # other units unaffected
    # an hour after the first, one slot is free again
    sight(engine, "U1", IN_AA, APRIL + HOUR + 1, per_unit_hour=3)
    with Session(engine) as session:
        n = session.scalar(select(func.count()).where(PublicSighting.unit_id == units["U1"]))
    assert n == 4


# ------------------------------------------------------------------ suspected alerts


def test_an_out_of_zone_sighting_raises_a_suspect_and_the_next_joins_it(
    engine: Engine, units: dict[str, int]
) -> None:
    first = sight(engine, "U3", IN_BB, APRIL)
    assert (first.verdict, first.territory_code) == ("out_of_zone", "BB")
    assert len(first.suspect_ids) == 1
    second = sight(engine, "U3", (40_000_000 + 5_000_000, 30_000_000), APRIL + 2 * HOUR)
    assert (second.verdict, second.territory_code) == ("out_of_zone", "NORTH")
    assert second.suspect_ids == first.suspect_ids
    assert _suspects(engine) == [(units["U3"], "out_of_zone", "suspected", 2, "NORTH")]
    with Session(engine) as session:
        row = session.get(SuspectedAlert, first.suspect_ids[0])
        assert row is not None
        assert (row.first_ms, row.last_ms) == (APRIL, APRIL + 2 * HOUR)
        assert row.allocated_party_id == session.scalar(select(Party.id).where(Party.code == "D1"))
        linked = session.scalars(select(PublicSighting.suspect_id)).all()
    assert linked == [first.suspect_ids[0]] * 2


@pytest.mark.parametrize(
    ("serial", "where", "verdict"),
    [("U3", IN_AA, "in_zone"), ("U6", IN_BB, "in_zone"), ("U3", NOWHERE, "unlocated")],
)
def test_in_zone_and_unlocated_sightings_raise_nothing(
    engine: Engine, units: dict[str, int], serial: str, where: tuple[int, int], verdict: str
) -> None:
    result = sight(engine, serial, where, APRIL)
    assert (result.verdict, result.suspect_ids) == (verdict, ())
    assert _suspects(engine) == []


def test_a_suspect_is_raised_again_once_the_open_one_is_settled(
    engine: Engine, units: dict[str, int]
) -> None:
    first = sight(engine, "U3", IN_BB, APRIL)
    with Session(engine) as session, session.begin():
        row = session.get(SuspectedAlert, first.suspect_ids[0])
        assert row is not None
        row.status = "cleared"
    again = sight(engine, "U3", IN_BB, APRIL + HOUR)
    assert again.suspect_ids != first.suspect_ids
    assert [s[2] for s in _suspects(engine)] == ["cleared", "suspected"]


# ------------------------------------------------------------------ clones

R = 6371.0088  # mean Earth radius, km (IUGG), as geo.distance


def _haversine_km(a: tuple[int, int], b: tuple[int, int]) -> float:
    la1, lo1, la2, lo2 = (math.radians(v / 1e6) for v in (*a, *b))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * R * math.asin(math.sqrt(h))


def test_the_clone_rule_written_out() -> None:
    # AA (51 N, 11 E) to BB (51 N, 21 E): same latitude, 10 degrees of longitude apart:
    # h = cos^2(51) * sin^2(5) = 0.39604 * 0.0075961 = 0.0030084; d = 2R asin(sqrt h)
    # = 2 * 6371.0088 * 0.054876 = 699.2 km
    d = _haversine_km(IN_AA, IN_BB)
    assert 699.0 < d < 699.5
    half_hour = clone_pairs((*IN_BB, APRIL + HOUR // 2), [(*IN_AA, APRIL)])
    assert half_hour == [pytest.approx(d, abs=0.5)]  # 1,398 km/h > 900 km/h: a clone
    assert clone_pairs((*IN_BB, APRIL + HOUR), [(*IN_AA, APRIL)]) == []  # 699 km/h
    assert clone_pairs((*IN_BB, APRIL), [(*IN_AA, APRIL)]) != []  # same instant
    # 50 km or less is one shop's coarse fix, however fast: 0.4 degrees of latitude
    near = (IN_AA[0] + 400_000, IN_AA[1])  # 44.5 km north
    assert clone_pairs((*near, APRIL + 1), [(*IN_AA, APRIL)]) == []


def test_two_sightings_too_far_apart_for_their_time_raise_a_clone_suspect(
    engine: Engine, units: dict[str, int]
) -> None:
    sight(engine, "U6", IN_BB, APRIL)  # in D2's zone: nothing
    fast = sight(engine, "U6", IN_AA, APRIL + HOUR // 2)  # out of zone and a clone
    assert fast.verdict == "out_of_zone" and len(fast.suspect_ids) == 2
    with Session(engine) as session:
        clone = session.scalars(select(SuspectedAlert).where(SuspectedAlert.kind == "clone")).one()
        assert clone.distance_km == round(_haversine_km(IN_AA, IN_BB)) == 699
    slow = sight(engine, "U6", IN_BB, APRIL + 3 * HOUR)  # 699 km in 2.5 h: no clone
    assert slow.suspect_ids == ()


def test_a_sighting_far_from_the_units_latest_ledger_scan_is_a_clone(
    engine: Engine, units: dict[str, int]
) -> None:
    key = world.unit(6)
    res = append_hops(
        engine,
        [Hop(key, EntryKind.SHIPPING, "D2", APRIL, counterparty="S1",
             lat_e6=IN_BB[0], lon_e6=IN_BB[1])],
    )  # fmt: skip
    assert res[0].status == "accepted"
    result = sight(engine, "U6", IN_AA, APRIL + 10 * 60_000)  # 699 km in 10 minutes
    kinds = {s[1] for s in _suspects(engine)}
    assert "clone" in kinds and len(result.suspect_ids) == 2


# ------------------------------------------------------------------ settlement untouched


def _dump(engine: Engine, skip: set[str]) -> dict[str, list[str]]:
    """Every row of every table but ``skip``, as text, sorted."""
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            if name not in skip:
                out[name] = sorted(repr(tuple(r)) for r in conn.execute(select(table)))
    return out


def _alerts(engine: Engine) -> list[tuple[Any, ...]]:
    from settlement.models import Alert, AlertFinding

    with Session(engine) as session:
        return [
            tuple(r)
            for r in session.execute(
                select(Alert.natural_key, Alert.status, Alert.severity, Alert.unit_count,
                       Alert.finding_count, Alert.evidence_hash, AlertFinding.seq)
                .join(AlertFinding, AlertFinding.alert_id == Alert.id)
                .order_by(Alert.natural_key, AlertFinding.seq)
            )
        ]  # fmt: skip


def test_a_flood_of_public_sightings_changes_no_ledger_or_alert(
    engine: Engine, units: dict[str, int]
) -> None:
    """Everything settlement reads (entries, custody, alerts and their findings,
    seals, statements, runs...) is the same row for row after 60 out-of-zone
    sightings: only the two low-trust tables change; detection over the same
    checkpoint then finds the same alerts with the same evidence."""
    from ledger import make_checkpoint
    from settlement import run_detection
    from settlement.detection import latest_checkpoint
    from tests.settlement.engine_world import SIGNER

    make_checkpoint(engine, SIGNER)
    size, root = latest_checkpoint(engine)
    with Session(engine) as session:
        index = geo.load_index(session)
    first = run_detection(engine, size, root, index, signer=SIGNER)
    alerts = _alerts(engine)
    assert alerts  # the world has diversion of its own
    low_trust = {"public_sightings", "suspected_alerts"}
    before = _dump(engine, low_trust)
    for i in range(60):
        serial = f"U{1 + i % 6}"
        where = IN_AA if serial == "U6" else IN_BB
        sight(engine, serial, (where[0], where[1] + (i % 3) * 300_000), APRIL + i * 5 * 60_000)
    assert _dump(engine, low_trust) == before
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PublicSighting)) == 60
        kinds = session.execute(
            select(SuspectedAlert.kind, func.count()).group_by(SuspectedAlert.kind)
        ).all()
    assert dict(kinds) == {"out_of_zone": 6}  # one open row per unit, however many
    again = run_detection(engine, size, root, index, signer=SIGNER)
    assert (again.findings, again.alerts_created, again.alerts_updated) == (
        first.findings, 0, 0,
    )  # fmt: skip
    assert _alerts(engine) == alerts
