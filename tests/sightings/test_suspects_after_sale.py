"""An inspection of a unit that already left the channel agrees with detection.

World: tests/sightings/test_public.py's (U1 shipped to D1, received and sold by
S1 in AA, D1's zone, on 2026-04-02; U3 held by D1 in AA; U6 D2's, in BB).
Detection's kernel files every entry after a sale (but a return or the
decommissioning) as a cloned-code finding, so an inspection of a sold unit must
not clear anything as "in zone": it raises and confirms the unit's clone suspect
into detection's clone alert, once.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from settlement.models import Alert, AlertEvent, AlertFinding
from settlement.verify import verify_settlement
from sightings.models import Inspection, SuspectedAlert
from sightings.suspects import (
    EndOfLife,
    Resolution,
    SuspectFilters,
    detection_key,
    distance_of,
    end_of_life,
    get_suspect,
    list_suspects,
)
from tests.settlement.engine_world import SIGNER
from tests.sightings.test_public import APRIL, HOUR, IN_AA, IN_BB, build_world, sight
from tests.sightings.test_suspects import _suspect, _unit_id, detect, inspect, resolve
from tests.territories_web import _territories_world as world

SOLD = world.ms(2026, 4, 2)


@pytest.fixture
def units(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    ids = build_world(engine, make_party)
    make_party("INSP", "inspector")
    return ids


def _seq(engine: Engine, inspection_id: int) -> int:
    with Session(engine) as session:
        row = session.get(Inspection, inspection_id)
        assert row is not None
        return row.seq


def _clone_alerts(engine: Engine) -> list[Alert]:
    with Session(engine) as session:
        rows = list(session.scalars(select(Alert).where(Alert.finding_type == "clone")))
        session.expunge_all()
        return rows


def test_a_sold_unit_inspected_in_zone_clears_nothing_and_raises_a_clone(
    engine: Engine, units: dict[str, int]
) -> None:
    [out_id] = sight(engine, "U1", IN_BB, APRIL).suspect_ids
    insp_id = inspect(engine, "U1", IN_AA, APRIL + HOUR, "in_zone")
    res = resolve(engine, insp_id)
    assert isinstance(res, Resolution)
    assert res.cleared == () and res.clone
    assert res.end_of_life is not None and res.end_of_life.kind == "retail_selling"
    assert res.end_of_life.at_ms == SOLD
    # the out-of-zone suspect stays open: the shelf says nothing of the genuine unit
    assert _suspect(engine, out_id).status == "suspected"
    [clone_id] = res.confirmed
    clone = _suspect(engine, clone_id)
    assert (clone.kind, clone.status, clone.inspection_id) == ("clone", "confirmed", insp_id)
    assert clone.alert_id is not None and res.alert_ids == (clone.alert_id,)
    assert (clone.sighting_count, distance_of(clone.kind, clone.distance_km)) == (0, None)
    seq = _seq(engine, insp_id)
    with Session(engine) as session:
        alert = session.get(Alert, clone.alert_id)
        assert alert is not None and alert.finding_type == "clone"
        assert alert.natural_key == detection_key(session, seq).key_for("clone")
        assert alert.natural_key.endswith("|AA|2026-04|clone")
        findings = session.scalars(
            select(AlertFinding.seq).where(AlertFinding.alert_id == alert.id)
        ).all()
        assert findings == [seq]
        event = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).one()
        assert "sold on 2026-04-02" in event.text and f"inspection {insp_id}" in event.text
    verify_settlement(engine, SIGNER.public_key, SIGNER.name)
    # detection files the same entry under the same clone alert: one alert, one finding
    detect(engine)
    clones = _clone_alerts(engine)
    assert [a.id for a in clones] == [clone.alert_id] and clones[0].finding_count == 1
    with Session(engine) as session:
        n = session.scalar(
            select(func.count())
            .select_from(AlertFinding)
            .where(AlertFinding.seq == seq, AlertFinding.alert_id == clone.alert_id)
        )
        assert n == 1
    verify_settlement(engine, SIGNER.public_key, SIGNER.name)


def test_the_open_clone_suspect_from_sightings_is_joined_not_doubled(
    engine: Engine, units: dict[str, int]
) -> None:
    sight(engine, "U1", IN_AA, APRIL)
    raised = sight(engine, "U1", IN_BB, APRIL + HOUR // 2).suspect_ids
    with Session(engine) as session:
        kinds = dict(
            session.execute(
                select(SuspectedAlert.kind, SuspectedAlert.id).where(SuspectedAlert.id.in_(raised))
            ).all()
        )
    res = resolve(engine, inspect(engine, "U1", IN_AA, APRIL + HOUR, "in_zone"))
    assert isinstance(res, Resolution)
    assert res.confirmed == (kinds["clone"],) and res.cleared == ()
    joined = _suspect(engine, kinds["clone"])
    assert joined.status == "confirmed" and joined.last_ms == APRIL + HOUR
    assert distance_of(joined.kind, joined.distance_km) == 699  # the sightings' distance kept
    assert _suspect(engine, kinds["out_of_zone"]).status == "suspected"
    with Session(engine) as session:
        assert session.scalar(
            select(func.count()).select_from(SuspectedAlert).where(SuspectedAlert.kind == "clone")
        ) == 1  # fmt: skip


def test_a_sold_unit_inspected_out_of_zone_confirms_both_as_detection_files_both(
    engine: Engine, units: dict[str, int]
) -> None:
    [out_id] = sight(engine, "U1", IN_BB, APRIL).suspect_ids
    insp_id = inspect(engine, "U1", IN_BB, APRIL + HOUR, "out_of_zone")
    res = resolve(engine, insp_id)
    assert isinstance(res, Resolution)
    assert res.confirmed[0] == out_id and len(res.confirmed) == 2 and len(res.alert_ids) == 2
    with Session(engine) as session:
        types = sorted(
            session.scalars(select(Alert.finding_type).where(Alert.id.in_(res.alert_ids)))
        )
    assert types == ["clone", "out_of_zone"]
    before = {a.id for a in _clone_alerts(engine)}
    detect(engine)
    assert {a.id for a in _clone_alerts(engine)} == before


def test_an_inspection_without_a_location_of_a_sold_unit_is_a_clone_finding_too(
    engine: Engine, units: dict[str, int]
) -> None:
    res = resolve(engine, inspect(engine, "U1", None, APRIL + HOUR, "unlocated"))
    assert isinstance(res, Resolution) and res.clone and len(res.confirmed) == 1


def test_a_unit_still_in_stock_behaves_as_before(engine: Engine, units: dict[str, int]) -> None:
    [out_id] = sight(engine, "U3", IN_BB, APRIL).suspect_ids
    res = resolve(engine, inspect(engine, "U3", IN_AA, APRIL + HOUR, "in_zone"))
    assert isinstance(res, Resolution)
    assert (res.confirmed, res.cleared, res.alert_ids) == ((), (out_id,), ())
    assert (res.clone, res.end_of_life) == (False, None)
    assert _clone_alerts(engine) == []
    with Session(engine) as session:
        assert list_suspects(session, SuspectFilters(kind="clone"))[1] == 0


def test_a_customer_return_puts_the_unit_back_in_the_channel(
    engine: Engine, units: dict[str, int]
) -> None:
    append_hops(
        engine,
        [Hop(world.unit(1), EntryKind.RETURNING, "S1", APRIL - HOUR, lat_e6=IN_AA[0],
             lon_e6=IN_AA[1])],
    )  # fmt: skip
    [out_id] = sight(engine, "U1", IN_BB, APRIL).suspect_ids
    res = resolve(engine, inspect(engine, "U1", IN_AA, APRIL + HOUR, "in_zone"))
    assert isinstance(res, Resolution)
    assert (res.cleared, res.clone, res.end_of_life) == ((out_id,), False, None)
    assert _clone_alerts(engine) == []


def test_end_of_life_replays_detection_s_states(engine: Engine, units: dict[str, int]) -> None:
    with Session(engine) as session:
        u1, u3 = _unit_id(session, "U1"), _unit_id(session, "U3")
        ended = end_of_life(session, u1, 10**9)
        assert ended is not None and (ended.kind, ended.at_ms) == ("retail_selling", SOLD)
        assert end_of_life(session, u1, ended.seq) is None  # not before the sale itself
        assert end_of_life(session, u3, 10**9) is None


@given(kind=st.sampled_from(["out_of_zone", "clone"]), km=st.integers(0, 20_016))
def test_one_representation_of_a_suspect_s_distance(kind: str, km: int) -> None:
    shown = distance_of(kind, km)
    if kind == "clone" and km > 0:
        assert shown == km
    else:
        assert shown is None


def test_the_queue_and_detail_show_no_distance_for_out_of_zone(
    engine: Engine, units: dict[str, int]
) -> None:
    [out_id] = sight(engine, "U3", IN_BB, APRIL).suspect_ids
    with Session(engine) as session:
        rows, _ = list_suspects(session, SuspectFilters())
        assert [r.distance_km for r in rows] == [None]
        assert get_suspect(session, out_id).row.distance_km is None


def test_end_of_life_is_a_value() -> None:
    assert EndOfLife("retail_selling", 5, SOLD) == EndOfLife("retail_selling", 5, SOLD)
