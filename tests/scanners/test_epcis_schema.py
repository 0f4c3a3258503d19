"""EPCIS 2.0 capture validates the whole document against the GS1 JSON schema and the CBV
(scanners/epcis_schema.py), naming the JSON path of the first problem in document order."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Entry
from scanners import EpcisError, capture_document, hopchain_resolvers
from scanners.epcis_schema import schema, validate_document

Bearer = Callable[..., dict[str, str]]
BASE = "https://id.hopchain.example"
EXAMPLES = Path(__file__).parent / "data" / "epcis_examples"
EVENT = "$.epcisBody.eventList"


def _doc() -> dict[str, Any]:
    """A valid document: a shipping ObjectEvent with fields hopchain does not map."""
    return {
        "@context": [
            "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
            {"hc": "https://ns.hopchain.example/epcis/", "ex": "https://example.com/ns/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T08:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-03-01T09:00:00+01:00",
                    "eventTimeZoneOffset": "+01:00",
                    "action": "OBSERVE",
                    "bizStep": "shipping",
                    "disposition": "in_transit",
                    "epcList": [f"{BASE}/01/09506000134352/21/S1"],
                    "quantityList": [
                        {"epcClass": f"{BASE}/01/09506000134352/10/LOT1", "quantity": 20}
                    ],
                    "bizTransactionList": [{"type": "po", "bizTransaction": "urn:ex:po:1"}],
                    "sourceList": [{"type": "owning_party", "source": f"{BASE}/party/MFR"}],
                    "sensorElementList": [
                        {"sensorReport": [{"type": "Temperature", "value": 4.5, "uom": "CEL"}]}
                    ],
                    "hc:party": f"{BASE}/party/MFR",
                }
            ]
        },
    }


def _refused(doc: dict[str, Any]) -> EpcisError:
    with pytest.raises(EpcisError) as info:
        validate_document(doc)
    return info.value


def _event(doc: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = doc["epcisBody"]["eventList"][0]
    return event


def test_the_valid_document_passes() -> None:
    validate_document(_doc())


def test_quantity_twenty_is_refused_at_its_path() -> None:
    doc = _doc()
    _event(doc)["quantityList"][0]["quantity"] = "twenty"
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].quantityList[0].quantity"
    assert err.reason == "'twenty' is not a number"


def test_disposition_in_transport_is_neither_cbv_nor_uri() -> None:
    doc = _doc()
    _event(doc)["disposition"] = "in_transport"
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].disposition"
    assert "'in_transport' is neither a CBV disposition value" in err.reason
    assert "nor an absolute URI" in err.reason
    assert "active" in err.reason  # lists CBV values


@pytest.mark.parametrize(
    "value",
    [
        "in_transit",
        "https://ref.gs1.org/cbv/Disp-in_transit",
        "urn:epcglobal:cbv:disp:in_transit",
        "https://example.com/disp/on_the_road",  # a vocabulary of one's own
    ],
)
def test_disposition_forms_that_are_accepted(value: str) -> None:
    doc = _doc()
    _event(doc)["disposition"] = value
    validate_document(doc)


@pytest.mark.parametrize(
    ("member", "where"),
    [("eventTime", "eventTime"), ("action", "action"), ("type", "type")],
)
def test_missing_required_members(member: str, where: str) -> None:
    doc = _doc()
    del _event(doc)[member]
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].{where}"
    assert "required member is missing" in err.reason


def test_the_first_problem_in_document_order_wins() -> None:
    doc = _doc()
    events = doc["epcisBody"]["eventList"]
    events.append(copy.deepcopy(events[0]))
    events[1]["action"] = "UPDATE"
    events[0]["sourceList"][0]["type"] = "owner"  # later member, earlier event
    events[0]["quantityList"][0]["quantity"] = "twenty"  # earlier member, same event
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].quantityList[0].quantity"


@pytest.mark.parametrize(
    ("path", "value", "where", "words"),
    [
        (["eventTime"], 1700000000, "eventTime", "1700000000 is not a string"),
        (["eventTime"], "yesterday", "eventTime", "RFC 3339"),
        (["epcList"], "urn:epc:id:sgtin:0614141.107346.2017", "epcList", "is not a list"),
        (["eventTimeZoneOffset"], "+1", "eventTimeZoneOffset", "±hh:mm"),
        (["action"], "UPDATE", "action", "not one of OBSERVE, ADD, DELETE"),
        (["epcList", 0], "not a uri", "epcList[0]", "not an absolute URI"),
        (["quantityList", 0, "uom"], "kilograms", "quantityList[0].uom", "does not match"),
    ],
)  # fmt: skip
def test_wrong_types_and_formats(path: list[Any], value: Any, where: str, words: str) -> None:
    doc = _doc()
    target: Any = _event(doc)
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].{where}"
    assert words in err.reason


def test_unknown_event_type_is_refused() -> None:
    doc = _doc()
    _event(doc)["type"] = "ShipmentEvent"
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].type"
    assert "not an EPCIS event type" in err.reason


@pytest.mark.parametrize(
    ("path", "value", "where", "vocab"),
    [
        (["bizStep"], "dancing", "bizStep", "business step"),
        (["disposition"], "lost_at_sea", "disposition", "disposition"),
        (["bizTransactionList", 0, "type"], "purchase_order", "bizTransactionList[0].type", "business transaction type"),
        (["sourceList", 0, "type"], "owner", "sourceList[0].type", "source/destination type"),
        (["sensorElementList", 0, "sensorReport", 0, "type"], "Warmth", "sensorElementList[0].sensorReport[0].type", "sensor measurement type"),
    ],
)  # fmt: skip
def test_bad_cbv_values_are_refused(path: list[Any], value: str, where: str, vocab: str) -> None:
    doc = _doc()
    target: Any = _event(doc)
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].{where}"
    assert f"neither a CBV {vocab} value" in err.reason


@pytest.mark.parametrize(
    "value",
    ["https://ref.gs1.org/cbv/BizStep-dancing", "urn:epcglobal:cbv:bizstep:dancing"],
)
def test_a_cbv_namespace_uri_must_name_a_cbv_value(value: str) -> None:
    doc = _doc()
    _event(doc)["bizStep"] = value
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].bizStep"
    assert "names no CBV business step" in err.reason


def test_a_non_namespaced_extension_is_refused() -> None:
    doc = _doc()
    _event(doc)["colour"] = "red"
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].colour"
    assert "must be namespaced" in err.reason


@pytest.mark.parametrize(
    "name", ["ex:colour", "https://example.com/ns/colour", "urn:example:colour", "gs1:colour"]
)
def test_namespaced_extensions_are_accepted(name: str) -> None:
    doc = _doc()
    _event(doc)[name] = {"ex:shade": "red"}
    _event(doc)["ilmd"] = {"ex:lot": "L1"}
    _event(doc)["action"] = "ADD"  # ilmd goes with ADD
    validate_document(doc)


def test_an_undeclared_prefix_is_refused() -> None:
    doc = _doc()
    _event(doc)["acme:colour"] = "red"
    err = _refused(doc)
    assert err.path == f"{EVENT}[0]['acme:colour']"
    assert "prefix 'acme' is not declared in @context" in err.reason


def test_a_prefix_declared_in_the_events_own_context_counts() -> None:
    doc = _doc()
    _event(doc)["@context"] = {"acme": "https://acme.example/ns/"}
    _event(doc)["acme:colour"] = "red"
    validate_document(doc)


def test_extensions_may_not_stand_in_a_quantity_element() -> None:
    doc = _doc()
    _event(doc)["quantityList"][0]["ex:grade"] = "A"
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].quantityList[0]['ex:grade']"
    assert "may not stand in a quantity element" in err.reason


def test_fields_hopchain_does_not_map_are_validated() -> None:
    doc = _doc()
    report = _event(doc)["sensorElementList"][0]["sensorReport"][0]
    report["value"] = "cold"
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].sensorElementList[0].sensorReport[0].value"
    assert err.reason == "'cold' is not a number"
    doc = _doc()
    _event(doc)["sensorElementList"][0]["sensorReport"][0]["hue"] = "blue"
    err = _refused(doc)
    assert err.path == f"{EVENT}[0].sensorElementList[0].sensorReport[0].hue"


def test_capture_refuses_before_mapping() -> None:
    doc = _doc()
    _event(doc)["quantityList"][0]["quantity"] = "twenty"
    with pytest.raises(EpcisError) as info:
        capture_document(doc, hopchain_resolvers(default_party="MFR"))
    assert info.value.path == f"{EVENT}[0].quantityList[0].quantity"


def test_long_values_are_cut() -> None:
    doc = _doc()
    _event(doc)["disposition"] = "x" * 500
    err = _refused(doc)
    assert len(err.reason) < 400 and "…" in err.reason


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.jsonld")))
def test_gs1_example_documents_validate(name: str) -> None:
    validate_document(json.loads((EXAMPLES / name).read_text("utf-8")))


def test_the_vendored_schema_is_draft_07_with_the_cbv_vocabularies() -> None:
    loaded = schema()
    assert loaded["$schema"] == "http://json-schema.org/draft-07/schema#"
    bizsteps = loaded["definitions"]["bizStep"]["anyOf"][1]["enum"]
    assert len(bizsteps) == 41 and "shipping" in bizsteps
    assert len(loaded["definitions"]["disposition"]["anyOf"][1]["enum"]) == 33


def _at(offset_s: int) -> str:
    moment = datetime.fromtimestamp(time.time() - 3600 + offset_s, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_api_capture_stores_nothing_when_refused(
    engine: Engine, client: FlaskClient, bearer: Bearer, make_party: Callable[..., int]
) -> None:
    make_party("WH", kind="manufacturer")
    good = {
        "type": "ObjectEvent",
        "action": "ADD",
        "eventTime": _at(0),
        "eventTimeZoneOffset": "+00:00",
        "bizStep": "commissioning",
        "epcList": [f"{BASE}/01/09506000134352/21/V1"],
    }
    bad = {**good, "epcList": [f"{BASE}/01/09506000134352/21/V2"], "disposition": "in_transport"}
    doc = _doc()
    doc["creationDate"] = _at(5)
    doc["epcisBody"]["eventList"] = [good, bad]
    with Session(engine) as session:
        before = session.scalar(select(func.count()).select_from(Entry))
    answer = client.post("/api/v1/epcis/capture", json=doc, headers=bearer("warehouse", party="WH"))
    assert answer.status_code == 400
    assert answer.get_json()["path"] == f"{EVENT}[1].disposition"
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Entry)) == before


@pytest.mark.parametrize(
    ("member", "value", "words"),
    [
        ("epcList", 5, "5 is not a list"),
        ("epcList", f"{BASE}/01/09506000134352/21/A1", "is not a list"),
        ("epcList", {"id": "x"}, "is not a list"),
        ("quantityList", "twenty", "is not a list"),
        ("sensorElementList", 3, "is not a list"),
        ("readPoint", "x", "is not an object"),
    ],
)
def test_a_member_of_the_wrong_type_is_named_not_the_requirement_it_breaks(
    member: str, value: Any, words: str
) -> None:
    """An event that must carry EPCs, quantities or sensor data names the member that
    is there but of the wrong type, before "needs a non-empty epcList or ..."."""
    doc = _doc()
    event = _event(doc)
    for name in ("epcList", "quantityList", "sensorElementList"):
        event.pop(name)
    event[member] = value
    error = _refused(doc)
    assert error.path == f"{EVENT}[0].{member}"
    assert words in error.reason


def test_children_of_the_wrong_type_are_named() -> None:
    doc = _doc()
    doc["epcisBody"]["eventList"] = [
        {
            "type": "AggregationEvent",
            "action": "ADD",
            "eventTime": "2026-03-01T09:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "parentID": f"{BASE}/00/095060001234567893",
            "childEPCs": "x",
        }
    ]
    error = _refused(doc)
    assert (error.path, error.reason) == (f"{EVENT}[0].childEPCs", "'x' is not a list")


def test_the_requirement_across_members_stands_when_nothing_else_is_wrong() -> None:
    doc = _doc()
    event = _event(doc)
    for name in ("epcList", "quantityList", "sensorElementList"):
        event.pop(name)
    error = _refused(doc)
    assert "needs a non-empty epcList or quantityList" in error.reason
