"""The credit gate on handheld batches that commission, pack and ship at once
(issue 13 fix round, F2): units commissioned in the same batch as their shipment are
valued by the GTIN their key carries, an SSCC packed earlier in the batch covers what
the batch packed into it (and what it held before, less what the batch unpacked), and
a later flagged shipment of the same day adds its entries and value to the alert
already raised (audited; a closed alert opens again).

World (tests/credit/_gate_world.py): item W at 100.00 EUR (10000 minor) list price."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Sequence

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop
from ledger.append import append_chosen_hops
from ledger.ids import unit_key
from ledger.models import Entry, Unit
from partners.models import PartnerEvent
from risk.assessment import assess_in
from risk.credit_alerts import close_alert
from risk.credit_gate import Gate, append_gated
from risk.models import CreditAlert
from tests.credit._gate_world import FINANCE, W, World, hri, make_world, now_ms, sscc

K = EntryKind
_serials = itertools.count(1)
_boxes = itertools.count(500)


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def _new_keys(n: int) -> list[str]:
    """Keys of ``n`` units of W never seen by the ledger (no unit row)."""
    return [unit_key(W, f"N{next(_serials)}") for _ in range(n)]


def _anomalies(engine: Engine, seqs: Sequence[int]) -> list[str]:
    with Session(engine) as s:
        return [e.anomaly for e in s.scalars(select(Entry).where(Entry.seq.in_(list(seqs))))]


def _alerts(engine: Engine, kind: str) -> list[CreditAlert]:
    with Session(engine) as s:
        return list(s.scalars(select(CreditAlert).where(CreditAlert.kind == kind)))


def _commission_and_ship(keys: list[str], to: str, at: int, seq0: int | None = None) -> list[Hop]:
    hops = [Hop(k, K.COMMISSIONING, "MFR", at + i) for i, k in enumerate(keys)]
    hops += [
        Hop(k, K.SHIPPING, "MFR", at + 100 + i, counterparty=to,
            device="DOCK" if seq0 is not None else "",
            device_seq=None if seq0 is None else seq0 + i)
        for i, k in enumerate(keys)
    ]  # fmt: skip
    return hops


def _cash_only(world: World, party: str) -> None:
    world.rate(party, "CCC")
    world.limit(party, 1_000_000)
    with Session(world.engine) as s, s.begin():
        assert assess_in(s, world.ids[party], FINANCE, dt.datetime.now(dt.UTC).date()).cash_only


def test_units_commissioned_and_shipped_in_one_batch_are_valued(world: World) -> None:
    world.limit("D-ONE", 15_000)  # 150.00 EUR, nothing shipped before
    results = append_gated(world.engine, _commission_and_ship(_new_keys(2), "D-ONE", now_ms()))
    assert {r.status for r in results} == {"accepted"}
    # first shipment: 0.00 + 100.00 = 100.00 <= 150.00: clean
    # second: 0.00 + 200.00 = 200.00 > 150.00: flagged
    assert [r.anomaly for r in results] == ["", "", "", (
        "credit: over limit of D-ONE: exposure 0.00 + shipment 200.00 > limit 150.00 EUR"
    )]  # fmt: skip
    (alert,) = _alerts(world.engine, "credit_shipment")
    detail = json.loads(alert.detail_json)
    assert (detail["exposure_minor"], detail["value_minor"]) == (0, 20_000)
    assert detail["seqs"] == list(results[3].seqs)


def test_a_cash_only_alert_names_the_value_of_new_units(world: World) -> None:
    _cash_only(world, "D-ONE")
    append_gated(world.engine, _commission_and_ship(_new_keys(3), "D-ONE", now_ms()))
    (alert,) = _alerts(world.engine, "cash_only_shipment")
    # 3 new units x 100.00 = 300.00, the value the demo's alert said was 0
    assert json.loads(alert.detail_json)["value_minor"] == 30_000


def test_a_yen_party_values_new_units_at_its_price(world: World) -> None:
    world.limit("D-YEN", 20_000)  # 20000 JPY
    results = append_gated(world.engine, _commission_and_ship(_new_keys(2), "D-YEN", now_ms()))
    # 0 + 2 x 15000 = 30000 JPY > 20000 JPY
    assert "exposure 0 + shipment 30000 > limit 20000 JPY" in results[-1].anomaly


def test_a_pallet_packed_in_the_batch_covers_what_the_batch_packed(world: World) -> None:
    world.limit("D-ONE", 25_000)  # 250.00 EUR
    keys, box, at = _new_keys(3), sscc(next(_boxes)), now_ms()
    hops = [Hop(k, K.COMMISSIONING, "MFR", at) for k in keys]
    hops += [Hop(k, K.PACKING, "MFR", at + 1, container=box) for k in keys]  # commissions box
    hops += [Hop(box, K.SHIPPING, "MFR", at + 2, counterparty="D-ONE")]
    results = append_gated(world.engine, hops)
    # 0.00 + 3 x 100.00 = 300.00 > 250.00: the pallet's entries (box + 3 units) flagged
    note = "credit: over limit of D-ONE: exposure 0.00 + shipment 300.00 > limit 250.00 EUR"
    assert len(results[-1].seqs) == 4
    assert _anomalies(world.engine, results[-1].seqs) == [note] * 4


def test_a_stored_pallet_with_units_added_and_taken_out_in_the_batch(world: World) -> None:
    world.limit("D-ONE", 35_000)  # 350.00 EUR
    box = world.pallet(3, next(_boxes))  # 3 units stored in it
    with Session(world.engine) as s:
        box_id = s.scalar(select(Unit.id).where(Unit.key == box))
        (out,) = s.scalars(select(Unit.key).where(Unit.container_id == box_id).limit(1))
    added, at = _new_keys(2), now_ms()
    hops = [Hop(k, K.COMMISSIONING, "MFR", at) for k in added]
    hops += [Hop(k, K.PACKING, "MFR", at + 1, container=box) for k in added]
    hops += [Hop(out, K.UNPACKING, "MFR", at + 2)]
    hops += [Hop(box, K.SHIPPING, "MFR", at + 3, counterparty="D-ONE")]
    results = append_gated(world.engine, hops)
    # the pallet ships 3 - 1 + 2 = 4 units: 0.00 + 400.00 > 350.00
    assert "exposure 0.00 + shipment 400.00 > limit 350.00 EUR" in results[-1].anomaly
    assert len(results[-1].seqs) == 5  # the pallet and its 4 units


def test_unpacking_a_stored_pallet_leaves_it_empty(world: World) -> None:
    world.limit("D-ONE", 5_000)  # 50.00 EUR
    box = world.pallet(2, next(_boxes))
    at = now_ms()
    results = append_gated(world.engine, [
        Hop(box, K.UNPACKING, "MFR", at), Hop(box, K.SHIPPING, "MFR", at + 1, counterparty="D-ONE"),
    ])  # fmt: skip
    # the empty pallet is worth 0.00: 0.00 + 0.00 <= 50.00, clean
    assert [r.anomaly for r in results] == ["", ""]
    assert _alerts(world.engine, "credit_shipment") == []


def test_a_new_case_packed_into_a_stored_pallet_brings_its_units(world: World) -> None:
    world.limit("D-ONE", 45_000)  # 450.00 EUR
    pallet = world.pallet(2, next(_boxes))  # 2 stored units
    case, inner, at = sscc(next(_boxes)), _new_keys(3), now_ms()
    hops = [Hop(k, K.COMMISSIONING, "MFR", at) for k in inner]
    hops += [Hop(k, K.PACKING, "MFR", at + 1, container=case) for k in inner]
    hops += [Hop(case, K.PACKING, "MFR", at + 2, container=pallet)]
    hops += [Hop(pallet, K.SHIPPING, "MFR", at + 3, counterparty="D-ONE")]
    results = append_gated(world.engine, hops)
    # 2 stored + 3 new in the case = 5 units: 0.00 + 500.00 > 450.00
    assert "exposure 0.00 + shipment 500.00 > limit 450.00 EUR" in results[-1].anomaly


def test_a_stored_case_packed_into_a_new_pallet_brings_its_stored_units(world: World) -> None:
    world.limit("D-ONE", 15_000)  # 150.00 EUR
    case = world.pallet(2, next(_boxes))  # a case with 2 stored units
    pallet, at = sscc(next(_boxes)), now_ms()
    results = append_gated(world.engine, [
        Hop(case, K.PACKING, "MFR", at, container=pallet),
        Hop(pallet, K.SHIPPING, "MFR", at + 1, counterparty="D-ONE"),
    ])  # fmt: skip
    # 0.00 + 2 x 100.00 = 200.00 > 150.00
    assert "exposure 0.00 + shipment 200.00 > limit 150.00 EUR" in results[-1].anomaly


def test_a_unit_shipped_alone_then_in_its_pallet_counts_once(world: World) -> None:
    world.limit("D-ONE", 25_000)  # 250.00 EUR
    keys, box, at = _new_keys(2), sscc(next(_boxes)), now_ms()
    hops = [Hop(k, K.COMMISSIONING, "MFR", at) for k in keys]
    hops += [Hop(k, K.PACKING, "MFR", at + 1, container=box) for k in keys]
    hops += [Hop(keys[0], K.SHIPPING, "MFR", at + 2, counterparty="D-ONE")]
    hops += [Hop(box, K.SHIPPING, "MFR", at + 3, counterparty="D-ONE")]
    results = append_gated(world.engine, hops)
    # 100.00 + 100.00 (the other unit; the first counted once) = 200.00 <= 250.00: clean
    assert not any("credit:" in r.anomaly for r in results)


# ------------------------------------------------------------------ property


@st.composite
def _batches(draw: st.DrawFn) -> tuple[int, list[int], list[tuple[int, int]], list[int]]:
    """(stored pallets' sizes, new units' targets (-1 loose, else a box number over
    stored then new boxes), new boxes (count, each packed into a stored pallet or
    not: -1), which of the top-level things ship)."""
    stored = draw(st.lists(st.integers(1, 3), max_size=2))
    new_boxes = draw(st.lists(st.integers(-1, len(stored) - 1), max_size=2))
    boxes = len(stored) + len(new_boxes)
    targets = draw(st.lists(st.integers(-1, boxes - 1), max_size=5))
    return len(stored), stored, list(enumerate(new_boxes)), targets


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=_batches(), ship=st.lists(st.booleans(), min_size=12, max_size=12))
def test_the_gate_values_what_the_ledger_ships(
    world: World, batch: tuple[int, list[int], list[tuple[int, int]], list[int]], ship: list[bool]
) -> None:
    """Whatever a batch commissions, packs and ships, the value the gate counted is
    100.00 x the item entries the ledger records as shipped to the party."""
    world.limit("D-TWO", 0)  # every valued shipment is over: the last flag has the total
    _n, stored, new_boxes, targets = batch
    stored_keys = [world.pallet(size, next(_boxes)) for size in stored]
    new_keys = [sscc(next(_boxes)) for _ in new_boxes]
    boxes = stored_keys + new_keys
    units, at = _new_keys(len(targets)), now_ms()
    hops = [Hop(k, K.COMMISSIONING, "MFR", at) for k in units]
    hops += [
        Hop(k, K.PACKING, "MFR", at + 1, container=boxes[t])
        for k, t in zip(units, targets, strict=True) if t >= 0
    ]  # fmt: skip
    hops += [
        Hop(new_keys[i], K.PACKING, "MFR", at + 2, container=stored_keys[into])
        for i, into in new_boxes if into >= 0
    ]  # fmt: skip
    top = [k for k, t in zip(units, targets, strict=True) if t < 0]
    top += stored_keys + [new_keys[i] for i, into in new_boxes if into < 0]
    shipped = [k for k, go in zip(top, ship, strict=False) if go]
    hops += [Hop(k, K.SHIPPING, "MFR", at + 3, counterparty="D-TWO") for k in shipped]
    if not hops:
        return  # nothing to record
    gate = Gate()
    results = append_chosen_hops(world.engine, gate.wrap(lambda _conn: hops))
    assert {r.status for r in results} == {"accepted"}, results
    flags = gate.screened.flags if gate.screened else ()
    counted = flags[-1].value_minor if flags else 0
    seqs = [q for r in results[len(hops) - len(shipped) :] for q in r.seqs]
    with Session(world.engine) as s:
        items_n = len(list(s.scalars(
            select(Entry.seq).join(Unit, Unit.id == Entry.unit_id).where(
                Entry.seq.in_(seqs or [-1]), Entry.kind == "shipping", Unit.gtin.is_not(None)
            )
        )))  # fmt: skip
    assert counted == 10_000 * items_n


# ------------------------------------------------------------------ one alert a day


def test_a_later_shipment_of_the_day_adds_to_the_alert(world: World) -> None:
    world.limit("D-ONE", 5_000)  # 50.00 EUR
    first = append_gated(world.engine, _commission_and_ship(_new_keys(1), "D-ONE", now_ms(), 1))
    second = append_gated(world.engine, _commission_and_ship(_new_keys(2), "D-ONE", now_ms(), 2))
    # first: 0.00 + 100.00 > 50.00; second: 100.00 + 200.00 > 50.00
    assert "exposure 100.00 + shipment 200.00 > limit 50.00 EUR" in second[-1].anomaly
    (alert,) = _alerts(world.engine, "credit_shipment")
    detail = json.loads(alert.detail_json)
    flagged = [*first[1].seqs, *second[2].seqs, *second[3].seqs]
    assert detail["seqs"] == flagged
    # exposure before the day's first flagged shipment 0.00; value 100.00 + 200.00
    assert (detail["exposure_minor"], detail["value_minor"]) == (0, 30_000)
    with Session(world.engine) as s:
        (event,) = s.scalars(
            select(PartnerEvent).where(PartnerEvent.action == "credit_alert.updated")
        )
    assert event.party_id == world.ids["D-ONE"] and event.actor_name == "credit-gate"
    changes = json.loads(event.detail_json)["changes"]
    assert changes["value_minor"] == [10_000, 30_000]


def test_a_replayed_batch_changes_no_figure(world: World) -> None:
    world.limit("D-ONE", 5_000)
    keys, at = _new_keys(1), now_ms()
    ship = [Hop(keys[0], K.SHIPPING, "MFR", at + 5, counterparty="D-ONE", device="DOCK",
                device_seq=7)]  # fmt: skip
    append_gated(world.engine, [Hop(keys[0], K.COMMISSIONING, "MFR", at), *ship])
    before = _alerts(world.engine, "credit_shipment")[0].detail_json
    (again,) = append_gated(world.engine, ship)
    assert again.status == "duplicate"
    assert _alerts(world.engine, "credit_shipment")[0].detail_json == before
    with Session(world.engine) as s:
        assert not list(
            s.scalars(select(PartnerEvent).where(PartnerEvent.action == "credit_alert.updated"))
        )


def test_cash_only_shipments_of_the_day_add_up(world: World) -> None:
    _cash_only(world, "D-ONE")
    append_gated(world.engine, _commission_and_ship(_new_keys(1), "D-ONE", now_ms()))
    append_gated(world.engine, _commission_and_ship(_new_keys(2), "D-ONE", now_ms()))
    (alert,) = _alerts(world.engine, "cash_only_shipment")
    detail = json.loads(alert.detail_json)
    # 1 x 100.00 + 2 x 100.00 = 300.00 shipped on credit that day, 3 entries
    assert detail["value_minor"] == 30_000 and len(detail["seqs"]) == 3


def test_a_closed_alert_opens_again_when_the_day_ships_more(world: World) -> None:
    world.limit("D-ONE", 5_000)
    append_gated(world.engine, _commission_and_ship(_new_keys(1), "D-ONE", now_ms()))
    (alert,) = _alerts(world.engine, "credit_shipment")
    close_alert(world.engine, alert.id, FINANCE, "called the sales office")
    append_gated(world.engine, _commission_and_ship(_new_keys(1), "D-ONE", now_ms()))
    (alert,) = _alerts(world.engine, "credit_shipment")
    assert (alert.status, alert.closed_ms, alert.note) == ("open", None, "")
    assert json.loads(alert.detail_json)["value_minor"] == 20_000  # 100.00 + 100.00
    with Session(world.engine) as s:
        (event,) = s.scalars(
            select(PartnerEvent).where(PartnerEvent.action == "credit_alert.updated")
        )
    assert json.loads(event.detail_json)["reopened"] == {
        "closed_by": "fiona",
        "note": "called the sales office",
    }


def test_one_handheld_batch_that_commissions_packs_and_ships_is_flagged(
    world: World, client: FlaskClient
) -> None:
    world.limit("D-ONE", 15_000)  # 150.00 EUR, nothing shipped before
    loose, packed, box = *_new_keys(1), _new_keys(2), sscc(next(_boxes))
    events = [world.event(k, "", kind="commission") for k in [loose, *packed]]
    for e in events:
        del e["counterparty"]
    for k in packed:
        pack = world.event(k, "", kind="pack")
        del pack["counterparty"]
        events.append({**pack, "container": hri(box)})
    events += [world.event(loose, "D-ONE"), world.event(box, "D-ONE")]
    answer = world.post(client, events)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    results = answer.get_json()["results"]
    assert {r["status"] for r in results} == {"accepted"}
    # loose unit: 0.00 + 100.00 <= 150.00 clean; the box: 0.00 + 300.00 > 150.00
    assert "credit" not in results[-2].get("anomaly", "")
    assert (
        _anomalies(world.engine, results[-1]["seqs"])
        == ["credit: over limit of D-ONE: exposure 0.00 + shipment 300.00 > limit 150.00 EUR"] * 3
    )
    (alert,) = _alerts(world.engine, "credit_shipment")
    assert json.loads(alert.detail_json)["value_minor"] == 30_000
