"""sightings.suspects: an inspector's scan confirms or clears what public sightings
suggested; managers clear with a note; the queue's lists and counts.

World: tests/sightings/test_public.py's (territory tests' world: D1 holds AA, D2
holds BB; U3 was allocated to D1 and received by D1 in AA). The inspection party
INSP (kind inspector) scans with ``inspecting`` entries appended by the ledger.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import geo
from ledger import EntryKind, Hop, append_hops, make_checkpoint
from ledger.models import Party
from settlement import run_detection
from settlement.detection import latest_checkpoint
from settlement.models import Alert, AlertEvent, AlertFinding
from settlement.verify import verify_settlement
from sightings.models import Inspection, SuspectedAlert
from sightings.suspects import (
    SuspectFilters,
    SuspectNotFound,
    SuspectRefused,
    clear_suspect,
    detection_key,
    get_suspect,
    list_suspects,
    resolve_by_inspection,
    suspect_counts,
)
from tests.settlement.engine_world import SIGNER
from tests.sightings.test_public import APRIL, HOUR, IN_AA, IN_BB, NOWHERE, build_world, sight
from tests.territories_web import _territories_world as world


@pytest.fixture
def units(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    ids = build_world(engine, make_party)
    make_party("INSP", "inspector")
    return ids


def inspect(
    engine: Engine, serial: str, where: tuple[int, int] | None, at_ms: int, verdict: str
) -> int:
    """Append INSP's inspecting entry for ``serial`` and store its Inspection row
    (``verdict`` as the inspection service would judge it); returns the row's id."""
    lat, lon = where if where else (None, None)
    [res] = append_hops(
        engine,
        [Hop(world.unit(int(serial[1:])), EntryKind.INSPECTING, "INSP", at_ms,
             lat_e6=lat, lon_e6=lon)],
    )  # fmt: skip
    assert res.status == "accepted", res
    with Session(engine) as session, session.begin():
        row = Inspection(
            seq=res.seqs[0],
            unit_id=_unit_id(session, serial),
            inspector_party_id=session.scalar(select(Party.id).where(Party.code == "INSP")),
            user_name="ines", shop_name="Corner shop", note="", at_ms=at_ms,
            lat_e6=lat, lon_e6=lon, territory_code="", verdict=verdict,
            record_hash=hashlib.sha256(b"record").hexdigest(), signature="test",
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def _unit_id(session: Session, serial: str) -> int:
    from ledger.models import Unit

    uid = session.scalar(select(Unit.id).where(Unit.key == world.unit(int(serial[1:]))))
    assert uid is not None
    return int(uid)


def resolve(engine: Engine, inspection_id: int, signer: object = SIGNER) -> object:
    with Session(engine) as session, session.begin():
        insp = session.get(Inspection, inspection_id)
        assert insp is not None
        return resolve_by_inspection(session, insp, actor="ines", signer=signer)  # type: ignore[arg-type]


def _suspect(engine: Engine, suspect_id: int) -> SuspectedAlert:
    with Session(engine) as session:
        row = session.get(SuspectedAlert, suspect_id)
        assert row is not None
        session.expunge(row)
        return row


def detect(engine: Engine) -> object:
    make_checkpoint(engine, SIGNER)
    size, root = latest_checkpoint(engine)
    with Session(engine) as session:
        index = geo.load_index(session)
    return run_detection(engine, size, root, index, signer=SIGNER)


# ------------------------------------------------------------------ confirmation


def test_a_confirming_inspection_turns_the_suspect_into_detections_alert(
    engine: Engine, units: dict[str, int]
) -> None:
    [suspect_id] = sight(engine, "U3", IN_BB, APRIL).suspect_ids
    insp_id = inspect(engine, "U3", IN_BB, APRIL + HOUR, "out_of_zone")
    res = resolve(engine, insp_id)
    assert res.confirmed == (suspect_id,) and res.cleared == ()  # type: ignore[attr-defined]
    row = _suspect(engine, suspect_id)
    assert (row.status, row.inspection_id, row.resolved_by) == ("confirmed", insp_id, "ines")
    assert row.resolved_ms == APRIL + HOUR
    with Session(engine) as session:
        insp = session.get(Inspection, insp_id)
        assert insp is not None
        alert = session.get(Alert, row.alert_id)
        assert alert is not None
        # D1, the in-zone custodian that let U3 out; BB where it was found; April 2026
        assert alert.natural_key == "D1|BB|2026-04|out_of_zone"
        assert (alert.status, alert.finding_count, alert.unit_count) == ("open", 1, 1)
        findings = session.scalars(
            select(AlertFinding.seq).where(AlertFinding.alert_id == alert.id)
        ).all()
        assert findings == [insp.seq]
        event = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).one()
        assert event.action == "detected" and event.actor == "ines"
        assert f"confirmed by inspection {insp_id}" in event.text
        assert alert.evidence_hash != ""
    # the alert was sealed again: settlement verification passes before any detection
    verify_settlement(engine, SIGNER.public_key, SIGNER.name)
    # detection then finds the same entry and files it under the same alert, once
    report = detect(engine)
    with Session(engine) as session:
        same = session.scalars(
            select(Alert).where(Alert.natural_key == "D1|BB|2026-04|out_of_zone")
        ).all()
        assert [a.id for a in same] == [row.alert_id]
        assert same[0].finding_count == 1
        n = session.scalar(
            select(func.count()).select_from(AlertFinding).where(AlertFinding.seq == insp.seq)
        )
        assert n == 1
    assert row.alert_id in report.alert_ids  # type: ignore[attr-defined]
    verify_settlement(engine, SIGNER.public_key, SIGNER.name)


def test_confirming_joins_the_alert_detection_filed_first(
    engine: Engine, units: dict[str, int]
) -> None:
    [suspect_id] = sight(engine, "U3", IN_BB, APRIL).suspect_ids
    insp_id = inspect(engine, "U3", IN_BB, APRIL + HOUR, "out_of_zone")
    detect(engine)  # detection saw the inspecting entry before the inspection resolved
    with Session(engine) as session:
        before = session.scalar(select(func.count()).select_from(Alert))
        [alert_id] = session.scalars(
            select(Alert.id).where(Alert.natural_key == "D1|BB|2026-04|out_of_zone")
        ).all()
    res = resolve(engine, insp_id)
    assert res.alert_ids == (alert_id,)  # type: ignore[attr-defined]
    assert _suspect(engine, suspect_id).alert_id == alert_id
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == before
        assert session.get(Alert, alert_id).finding_count == 1  # type: ignore[union-attr]
        actions = session.scalars(
            select(AlertEvent.action).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        ).all()
    assert actions == ["detected", "findings_added"]
    verify_settlement(engine, SIGNER.public_key, SIGNER.name)


def test_detection_key_follows_custody_to_a_sub_distributor(
    engine: Engine, units: dict[str, int], make_party: Callable[..., int]
) -> None:
    """U6 (D2's) goes to SUBD, a sub-distributor of D2 that holds BB too; found in AA,
    the responsible party is SUBD, the last in-zone custodian, as detection says."""
    from tests.agreement_support import signed_agreement

    sub = make_party("SUBD", "distributor")
    with Session(engine) as session, session.begin():
        p = session.get(Party, sub)
        assert p is not None
        p.parent_id = session.scalar(select(Party.id).where(Party.code == "D2"))
    signed_agreement(engine, "SUBD", ["BB"], valid_from="2026-01-01", number="AG-SUBD")
    key = world.unit(6)
    append_hops(
        engine,
        [
            Hop(key, EntryKind.SHIPPING, "D2", APRIL - 2 * HOUR, counterparty="SUBD",
                lat_e6=IN_BB[0], lon_e6=IN_BB[1]),
            Hop(key, EntryKind.RECEIVING, "SUBD", APRIL - HOUR, counterparty="D2",
                lat_e6=IN_BB[0], lon_e6=IN_BB[1]),
        ],
    )  # fmt: skip
    insp_id = inspect(engine, "U6", IN_AA, APRIL, "out_of_zone")
    with Session(engine) as session:
        insp = session.get(Inspection, insp_id)
        assert insp is not None
        key_of = detection_key(session, insp.seq)
    assert key_of.natural_key == "SUBD|AA|2026-04|out_of_zone" and key_of.out_of_zone
    detect(engine)
    with Session(engine) as session:
        assert session.scalar(
            select(Alert.id).where(Alert.natural_key == "SUBD|AA|2026-04|out_of_zone")
        )


# ------------------------------------------------------------------ clearing and leaving


def test_an_in_zone_inspection_clears_the_suspect_and_files_no_alert(
    engine: Engine, units: dict[str, int]
) -> None:
    [suspect_id] = sight(engine, "U3", IN_BB, APRIL).suspect_ids
    insp_id = inspect(engine, "U3", IN_AA, APRIL + HOUR, "in_zone")
    res = resolve(engine, insp_id)
    assert (res.confirmed, res.cleared, res.alert_ids) == ((), (suspect_id,), ())  # type: ignore[attr-defined]
    row = _suspect(engine, suspect_id)
    assert (row.status, row.inspection_id, row.alert_id) == ("cleared", insp_id, None)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


@pytest.mark.parametrize(("where", "verdict"), [(NOWHERE, "unlocated"), (None, "unlocated")])
def test_an_inspection_that_cannot_say_leaves_the_suspect(
    engine: Engine, units: dict[str, int], where: tuple[int, int] | None, verdict: str
) -> None:
    [suspect_id] = sight(engine, "U3", IN_BB, APRIL).suspect_ids
    res = resolve(engine, inspect(engine, "U3", where, APRIL + HOUR, verdict))
    assert (res.confirmed, res.cleared) == ((), ())  # type: ignore[attr-defined]
    assert _suspect(engine, suspect_id).status == "suspected"


def test_an_inspection_never_settles_a_clone_suspect(engine: Engine, units: dict[str, int]) -> None:
    sight(engine, "U6", IN_BB, APRIL)
    ids = sight(engine, "U6", IN_AA, APRIL + HOUR // 2).suspect_ids
    with Session(engine) as session:
        kinds = dict(
            session.execute(
                select(SuspectedAlert.kind, SuspectedAlert.id).where(SuspectedAlert.id.in_(ids))
            ).all()
        )
    res = resolve(engine, inspect(engine, "U6", IN_AA, APRIL + HOUR, "out_of_zone"))
    assert res.confirmed == (kinds["out_of_zone"],)  # type: ignore[attr-defined]
    assert _suspect(engine, kinds["clone"]).status == "suspected"


# ------------------------------------------------------------------ managers


def test_a_manager_clears_with_a_note(engine: Engine, units: dict[str, int]) -> None:
    [suspect_id] = sight(engine, "U3", IN_BB, APRIL).suspect_ids
    with Session(engine) as session, pytest.raises(SuspectRefused) as empty:
        clear_suspect(session, suspect_id, actor="carla", note="   ")
    assert empty.value.field == "note" and "required" in str(empty.value)
    with Session(engine) as session, pytest.raises(SuspectRefused) as long:
        clear_suspect(session, suspect_id, actor="carla", note="x" * 2001)
    assert long.value.field == "note" and "2000" in str(long.value)
    with Session(engine) as session, pytest.raises(SuspectNotFound) as missing:
        clear_suspect(session, 9999, actor="carla", note="ok")
    assert missing.value.field == "id" and "9999" in str(missing.value)
    with Session(engine) as session, session.begin():
        clear_suspect(session, suspect_id, actor="carla", note=" shop is D1's ", now_ms=APRIL + 5)
    row = _suspect(engine, suspect_id)
    assert (row.status, row.resolved_by, row.resolved_ms, row.resolution_note) == (
        "cleared", "carla", APRIL + 5, "shop is D1's",
    )  # fmt: skip
    with Session(engine) as session, pytest.raises(SuspectRefused) as twice:
        clear_suspect(session, suspect_id, actor="carla", note="again")
    assert twice.value.field == "status" and "already cleared" in str(twice.value)


# ------------------------------------------------------------------ lists


def test_the_queue_filters_pages_and_counts(engine: Engine, units: dict[str, int]) -> None:
    ids = []
    for n, serial in enumerate(("U1", "U3", "U4", "U5")):
        ids += sight(engine, serial, IN_BB, APRIL + n * 1000).suspect_ids
    ids += sight(engine, "U6", IN_AA, APRIL + 5000).suspect_ids
    with Session(engine) as session:
        d2 = session.scalar(select(Party.id).where(Party.code == "D2"))
        rows, total = list_suspects(session, SuspectFilters(), offset=0, limit=2)
        assert total == 5 and [r.id for r in rows] == sorted(ids, reverse=True)[:2]
        rows2, _ = list_suspects(session, SuspectFilters(), offset=2, limit=2)
        assert [r.id for r in rows2] == sorted(ids, reverse=True)[2:4]
        only, n = list_suspects(session, SuspectFilters(territory="AA"))
        assert n == 1 and only[0].unit_key == world.unit(6) and only[0].allocated_code == "D2"
        assert (only[0].lat_e6, only[0].lon_e6) == IN_AA
        assert list_suspects(session, SuspectFilters(party_id=d2))[1] == 1
        assert list_suspects(session, SuspectFilters(kind="clone"))[1] == 0
        counts = suspect_counts(session, SuspectFilters())
        assert counts == {"by_kind": {"out_of_zone": 5}, "by_territory": {"BB": 4, "AA": 1}}
    with Session(engine) as session, session.begin():
        clear_suspect(session, ids[0], actor="carla", note="known shop")
    with Session(engine) as session:
        assert list_suspects(session, SuspectFilters())[1] == 4
        assert list_suspects(session, SuspectFilters(status="cleared"))[1] == 1
        assert list_suspects(session, SuspectFilters(status=""))[1] == 5
        detail = get_suspect(session, ids[0])
        assert detail.row.status == "cleared" and detail.zone_codes == ("AA",)
        assert [s.verdict for s in detail.sightings] == ["out_of_zone"]
        with pytest.raises(SuspectNotFound):
            get_suspect(session, 424242)
