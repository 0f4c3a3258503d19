"""The credit gate at intake (issue 13): manufacturer shipments on credit to a
cash-only party or over its limit are recorded with a note (an anomaly) and raise
one credit alert for finance; a shipment within the limit is clean; a replay stays a
duplicate; other parties' shipments are never checked."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop
from ledger.models import Entry
from risk.assessment import assess_in
from risk.credit_alerts import list_alerts
from risk.credit_gate import CASH_ONLY_NOTE, append_gated, major, screen
from risk.models import CreditAlert
from tests.credit._gate_world import FINANCE, World, hri, make_world, now_ms


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def _anomalies(engine: Engine, seqs: list[int]) -> list[str]:
    with Session(engine) as s:
        return [e.anomaly for e in s.scalars(select(Entry).where(Entry.seq.in_(seqs)))]


def _alerts(engine: Engine, kind: str) -> list[CreditAlert]:
    with Session(engine) as s:
        return list(s.scalars(select(CreditAlert).where(CreditAlert.kind == kind)))


def test_a_shipment_to_a_high_risk_party_is_an_anomaly_with_an_alert_for_finance(
    world: World, client: FlaskClient
) -> None:
    world.rate("D-ONE", "CCC")
    world.limit("D-ONE", 1_000_000)  # 10000.00 EUR: plenty, cash only is what counts
    with Session(world.engine) as s, s.begin():
        view = assess_in(s, world.ids["D-ONE"], FINANCE, dt.datetime.now(dt.UTC).date())
    assert (view.level, view.cash_only) == ("high", True)
    (key,) = world.units(1)
    answer = world.post(client, [world.event(key, "D-ONE")])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    (result,) = answer.get_json()["results"]
    assert result["status"] == "accepted"
    note = "credit: shipped on credit to cash-only party D-ONE"
    assert note == CASH_ONLY_NOTE % {"party": "D-ONE"}
    assert note in result["anomaly"]
    assert _anomalies(world.engine, result["seqs"]) == [note]
    alerts, total = list_alerts(world.engine, FINANCE, kind="cash_only_shipment")
    assert total == 1
    (alert,) = alerts
    assert (alert.party_code, alert.key, alert.status) == ("D-ONE", _today(), "open")
    assert alert.detail["seqs"] == result["seqs"]
    assert alert.detail["currency"] == "EUR"


def test_a_shipment_over_the_limit_is_an_anomaly_naming_the_figures(
    world: World, client: FlaskClient
) -> None:
    world.limit("D-ONE", 15_000)  # 150.00 EUR
    world.ship_directly("D-ONE", world.units(1))  # exposure before: 1 x 100.00 = 100.00
    (key,) = world.units(1)
    (result,) = world.post(client, [world.event(key, "D-ONE")]).get_json()["results"]
    # 100.00 exposure + 100.00 this shipment = 200.00 > 150.00 limit
    note = "credit: over limit of D-ONE: exposure 100.00 + shipment 100.00 > limit 150.00 EUR"
    assert result["status"] == "accepted"
    assert _anomalies(world.engine, result["seqs"]) == [note]
    (alert,) = _alerts(world.engine, "credit_shipment")
    assert alert.key == _today()
    detail = alert.detail_json
    for figure in ('"exposure_minor": 10000', '"value_minor": 10000', '"limit_minor": 15000'):
        assert figure in detail


def test_a_shipment_within_the_limit_is_clean(world: World, client: FlaskClient) -> None:
    world.limit("D-ONE", 20_000)  # 200.00 EUR
    world.ship_directly("D-ONE", world.units(1))  # 100.00 before
    (key,) = world.units(1)
    (result,) = world.post(client, [world.event(key, "D-ONE")]).get_json()["results"]
    # 100.00 + 100.00 = 200.00, not over 200.00: clean
    assert (result["status"], result.get("anomaly", "")) == ("accepted", "")
    assert _alerts(world.engine, "credit_shipment") == []


def test_several_shipments_in_one_batch_accumulate(world: World, client: FlaskClient) -> None:
    world.limit("D-ONE", 25_000)  # 250.00 EUR
    world.ship_directly("D-ONE", world.units(1))  # 100.00 before
    a, b = world.units(2)
    first, second = world.post(
        client, [world.event(a, "D-ONE"), world.event(b, "D-ONE")]
    ).get_json()["results"]
    # first: 100.00 + 100.00 = 200.00 <= 250.00 clean
    # second: 100.00 + (100.00 + 100.00) = 300.00 > 250.00 flagged
    assert first.get("anomaly", "") == ""
    assert _anomalies(world.engine, second["seqs"]) == [
        "credit: over limit of D-ONE: exposure 100.00 + shipment 200.00 > limit 250.00 EUR"
    ]
    assert len(_alerts(world.engine, "credit_shipment")) == 1


def test_a_pallet_counts_what_it_holds(world: World, client: FlaskClient) -> None:
    world.limit("D-ONE", 15_000)  # 150.00 EUR, nothing shipped before
    box = world.pallet(2, 1)
    (result,) = world.post(client, [world.event(box, "D-ONE")]).get_json()["results"]
    # 0.00 + 2 units x 100.00 = 200.00 > 150.00: every entry of the pallet carries it
    note = "credit: over limit of D-ONE: exposure 0.00 + shipment 200.00 > limit 150.00 EUR"
    assert len(result["seqs"]) == 3
    assert _anomalies(world.engine, result["seqs"]) == [note] * 3


def test_a_replay_stays_a_duplicate_and_raises_no_second_alert(
    world: World, client: FlaskClient
) -> None:
    world.limit("D-ONE", 5_000)  # 50.00 EUR
    (key,) = world.units(1)
    batch = [world.event(key, "D-ONE")]
    (first,) = world.post(client, batch).get_json()["results"]
    assert first["status"] == "accepted" and "over limit" in first["anomaly"]
    with Session(world.engine) as s:
        size = len(list(s.scalars(select(Entry.seq))))
    (again,) = world.post(client, batch).get_json()["results"]
    assert again["status"] == "duplicate"
    assert again["seqs"] == first["seqs"]
    with Session(world.engine) as s:
        assert len(list(s.scalars(select(Entry.seq)))) == size
    assert len(_alerts(world.engine, "credit_shipment")) == 1


def test_yen_amounts_have_no_decimals(world: World, client: FlaskClient) -> None:
    world.limit("D-YEN", 20_000)  # 20000 JPY (no minor digits)
    a, b = world.units(2)
    _, second = world.post(client, [world.event(a, "D-YEN"), world.event(b, "D-YEN")]).get_json()[
        "results"
    ]
    # 0 + 2 x 15000 = 30000 JPY > 20000 JPY
    assert "exposure 0 + shipment 30000 > limit 20000 JPY" in second["anomaly"]
    assert major(123456, "JPY") == "123456"
    assert major(123456, "KWD") == "123.456"


def test_a_party_without_a_limit_is_not_checked(world: World, client: FlaskClient) -> None:
    world.rate("D-TWO", "CCC")  # rated, but no limit on file: credit control not set up
    (key,) = world.units(1)
    (result,) = world.post(client, [world.event(key, "D-TWO")]).get_json()["results"]
    assert (result["status"], result.get("anomaly", "")) == ("accepted", "")


def test_a_distributor_shipping_is_never_checked(world: World) -> None:
    world.limit("DLR", 0)  # the dealer: limit 0.00
    keys = world.units(2)
    world.ship_directly("D-ONE", keys)
    at = now_ms()
    hops = [Hop(k, EntryKind.RECEIVING, "D-ONE", at, counterparty="MFR") for k in keys] + [
        Hop(k, EntryKind.SHIPPING, "D-ONE", at + 1, counterparty="DLR") for k in keys
    ]
    results = append_gated(world.engine, hops)
    assert [r.anomaly for r in results] == ["", "", "", ""]
    assert _alerts(world.engine, "credit_shipment") == []


def test_a_batch_without_manufacturer_shipments_costs_no_query(world: World) -> None:
    keys = world.units(1)
    hops = [Hop(keys[0], EntryKind.INSPECTING, "MFR", now_ms())]
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with world.engine.connect() as conn, conn.begin():  # as in the append's transaction
        event.listen(conn, "before_cursor_execute", count)
        screened = screen(conn, hops)
        event.remove(conn, "before_cursor_execute", count)
    assert screened.hops is hops and screened.flags == ()
    assert statements == []


def test_the_scan_station_flags_a_shipment_to_a_cash_only_party(
    world: World, login_as: Callable[..., FlaskClient]
) -> None:
    world.rate("D-ONE", "B")
    world.limit("D-ONE", 1_000_000)
    with Session(world.engine) as s, s.begin():
        assert assess_in(s, world.ids["D-ONE"], FINANCE, dt.datetime.now(dt.UTC).date()).cash_only
    (key,) = world.units(1)
    browser = login_as("warehouse", "MFR")
    page = browser.get("/scan/").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|device_seq)"[^>]*value="([^"]*)"', page))
    answer = browser.post(
        "/scan/scan.json",
        data={**fields, "kind": "ship", "counterparty": "D-ONE", "code": hri(key)},
        content_type="multipart/form-data",
        headers={"X-CSRFToken": fields["csrf_token"]},
    )
    (scan,) = answer.get_json()["scans"]
    assert (scan["status"], scan["tone"]) == ("accepted", "warn")
    assert scan["message"] == "credit: shipped on credit to cash-only party D-ONE"
    (alert,) = _alerts(world.engine, "cash_only_shipment")
    assert alert.key == _today()


def test_shipments_that_are_not_a_manufacturers_cost_one_query(world: World) -> None:
    keys = world.units(2)
    world.ship_directly("D-ONE", keys)
    hops = [Hop(k, EntryKind.SHIPPING, "D-ONE", now_ms(), counterparty="DLR") for k in keys]
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with world.engine.connect() as conn, conn.begin():  # as in the append's transaction
        event.listen(conn, "before_cursor_execute", count)
        screened = screen(conn, hops)
        event.remove(conn, "before_cursor_execute", count)
    assert screened.flags == () and list(screened.hops) == hops
    assert len(statements) == 1 and "parties" in statements[0]


def test_a_check_that_breaks_never_drops_the_scan(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import risk.credit_gate

    def broken(*_args: object) -> None:
        raise ZeroDivisionError("a bug in the check")

    world.limit("D-ONE", 0)
    monkeypatch.setattr(risk.credit_gate, "exposures_in", broken)
    (key,) = world.units(1)
    (result,) = world.post(client, [world.event(key, "D-ONE")]).get_json()["results"]
    assert (result["status"], result.get("anomaly", "")) == ("accepted", "")
