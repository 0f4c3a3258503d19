"""EPCIS 2.0 §7.4.3: an AggregationEvent DELETE without childEPCs (or with ``[]``)
disaggregates every child of the parent; ADD still needs its children."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.append import append_hops
from ledger.hops import Hop
from ledger.ids import EntryKind
from scanners import EpcisError, capture_document, hopchain_resolvers
from scanners.epcis import database_resolvers

Bearer = Callable[..., dict[str, str]]
BASE = "https://id.hopchain.example"
GTIN = "09506000134352"
SSCC_KEY = "00/095060001234567893"
CAPTURE = "/api/v1/epcis/capture"
NOT_GIVEN = object()


def _unit(serial: str) -> str:
    return f"01/{GTIN}/21/{serial}"


def _at(offset_s: int) -> str:
    moment = datetime.fromtimestamp(time.time() - 3600 + offset_s, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _doc(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _at(0),
        "epcisBody": {"eventList": list(events)},
    }


def _aggregation(
    action: str, parent: str = SSCC_KEY, children: object = NOT_GIVEN, offset_s: int = 10
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "AggregationEvent",
        "action": action,
        "eventTime": _at(offset_s),
        "eventTimeZoneOffset": "+00:00",
        "parentID": f"{BASE}/{parent}",
    }
    if children is not NOT_GIVEN:
        event["childEPCs"] = children
    return event


def _pack(serials: list[str]) -> dict[str, Any]:
    return _aggregation("ADD", children=[f"{BASE}/{_unit(s)}" for s in serials], offset_s=5)


def _packed_in(client: FlaskClient, headers: dict[str, str], key: str) -> str | None:
    response = client.get(f"/api/v1/units/{key}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    container: str | None = response.get_json()["container"]
    return container


def _unpackings(client: FlaskClient, headers: dict[str, str], key: str) -> int:
    response = client.get(f"/api/v1/units/{key}/history", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return sum(e["kind"] == "unpacking" for e in response.get_json()["entries"])


@pytest.mark.parametrize("children", [NOT_GIVEN, []], ids=["omitted", "empty"])
def test_capture_document_delete_without_children_unpacks_every_packed_unit(
    engine: Engine, make_party: Callable[..., int], children: object
) -> None:
    make_party("WH")
    serials = ["A1", "A2", "A3"]
    with Session(engine) as session:
        packed = capture_document(
            _doc(_pack(serials)), database_resolvers(session, default_party="WH")
        )
    assert {r.status for r in append_hops(engine, packed)} == {"accepted"}
    with Session(engine) as session:
        hops = capture_document(
            _doc(_aggregation("DELETE", children=children)),
            database_resolvers(session, default_party="WH"),
        )
    assert [(h.unit, h.kind, h.container) for h in hops] == [
        (_unit(s), EntryKind.UNPACKING, SSCC_KEY) for s in serials
    ]
    assert [r.status for r in append_hops(engine, hops)] == ["accepted"] * 3
    with Session(engine) as session:
        empty = database_resolvers(session, default_party="WH")
        with pytest.raises(EpcisError) as err:  # now the case holds nothing
            capture_document(_doc(_aggregation("DELETE", children=children)), empty)
    assert err.value.path == "$.epcisBody.eventList[0].parentID"
    assert "holds no units" in err.value.reason


def test_delete_without_children_only_takes_what_is_directly_in_the_parent(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    make_party("WH")
    at = int(time.time() * 1000) - 7_200_000
    inner = "00/095060001234567909"
    hops = [
        Hop(_unit("B1"), EntryKind.PACKING, "WH", at, container=inner),
        Hop(inner, EntryKind.PACKING, "WH", at + 1, container=SSCC_KEY),
        Hop(_unit("B2"), EntryKind.PACKING, "WH", at + 2, container=SSCC_KEY),
    ]
    assert {r.status for r in append_hops(engine, hops)} == {"accepted"}
    with Session(engine) as session:
        got = capture_document(
            _doc(_aggregation("DELETE")), database_resolvers(session, default_party="WH")
        )
    assert sorted(h.unit for h in got) == sorted([inner, _unit("B2")])


@pytest.mark.parametrize("children", [NOT_GIVEN, []], ids=["omitted", "empty"])
def test_add_and_offline_delete_without_children_are_refused_with_the_path(
    children: object,
) -> None:
    resolvers = hopchain_resolvers(default_party="WH")
    with pytest.raises(EpcisError) as add:
        capture_document(_doc(_aggregation("ADD", children=children)), resolvers)
    assert add.value.path == "$.epcisBody.eventList[0].childEPCs"
    # the EPCIS 2.0 schema refuses it first (an AggregationEvent ADD carries children)
    assert "needs a non-empty childEPCs or childQuantityList" in add.value.reason
    with pytest.raises(EpcisError) as delete:  # no ledger to say what the case holds
        capture_document(_doc(_aggregation("DELETE", children=children)), resolvers)
    assert delete.value.path == "$.epcisBody.eventList[0].childEPCs"
    assert "disaggregates what the parent holds" in delete.value.reason


@pytest.mark.parametrize("children", [NOT_GIVEN, []], ids=["omitted", "empty"])
def test_api_capture_delete_without_children_empties_the_case(
    client: FlaskClient, bearer: Bearer, make_party: Callable[..., int], children: object
) -> None:
    make_party("WH", kind="manufacturer")  # packs units it made, not custody-limited
    headers = bearer("warehouse", party="WH")
    serials = ["C1", "C2", "C3"]
    packed = client.post(CAPTURE, json=_doc(_pack(serials)), headers=headers)
    assert packed.status_code == 200, packed.get_data(as_text=True)
    assert packed.get_json()["accepted"] == 3, packed.get_json()["results"]
    assert all(_packed_in(client, headers, _unit(s)) == SSCC_KEY for s in serials)

    delete = _aggregation("DELETE", children=children)
    response = client.post(CAPTURE, json=_doc(delete), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["hops"], body["accepted"]) == (3, 3)
    assert [(r["unit"], r["kind"]) for r in body["results"]] == [
        (_unit(s), "unpacking") for s in serials
    ]
    for s in serials:
        assert _packed_in(client, headers, _unit(s)) is None
        assert _unpackings(client, headers, _unit(s)) == 1

    # the same event sent again is a duplicate, though the case is empty now
    resent = client.post(CAPTURE, json=_doc(delete), headers=headers)
    assert resent.status_code == 200, resent.get_data(as_text=True)
    repeat = resent.get_json()
    assert (repeat["hops"], repeat["duplicate"], repeat["accepted"]) == (3, 3, 0)
    assert [r["seqs"] for r in repeat["results"]] == [r["seqs"] for r in body["results"]]
    for s in serials:
        assert _unpackings(client, headers, _unit(s)) == 1

    # another DELETE of the empty case has nothing to disaggregate
    again = client.post(
        CAPTURE, json=_doc(_aggregation("DELETE", children=children, offset_s=20)), headers=headers
    )
    assert again.status_code == 400
    assert again.get_json()["path"] == "$.epcisBody.eventList[0].parentID"
    assert "holds no units now" in again.get_json()["error"]


def test_api_capture_refuses_delete_of_an_unknown_parent_and_add_without_children(
    client: FlaskClient, bearer: Bearer, make_party: Callable[..., int]
) -> None:
    make_party("WH", kind="manufacturer")
    headers = bearer("warehouse", party="WH")
    unknown = client.post(
        CAPTURE, json=_doc(_aggregation("DELETE", parent="00/095060009999999997")), headers=headers
    )
    assert unknown.status_code == 400
    assert unknown.get_json()["path"] == "$.epcisBody.eventList[0].parentID"
    assert "unknown container 00/095060009999999997" in unknown.get_json()["error"]
    add = client.post(CAPTURE, json=_doc(_aggregation("ADD", children=[])), headers=headers)
    assert add.status_code == 400
    assert add.get_json()["path"] == "$.epcisBody.eventList[0].childEPCs"
