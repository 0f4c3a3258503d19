"""EPCIS 2.0 JSON-LD capture and export."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.hops import Hop
from ledger.ids import OBSERVATION_KINDS, EntryKind
from scanners import (
    EpcisError,
    EpcisResolvers,
    HistoryEntry,
    capture_document,
    export_history,
    hopchain_resolvers,
    parse_rfc3339_ms,
)

PARTIES = {"urn:epc:id:pgln:0614141.00000": "ACME", "urn:epc:id:pgln:4012345.00000": "DIST-FR"}
SITES = {
    "urn:epc:id:sgln:0614141.00777.0": "ACME-PLANT",
    "urn:epc:id:sgln:4012345.00001.0": "FR-WH1",
}
SITE_PARTY = {"ACME-PLANT": "ACME", "FR-WH1": "DIST-FR"}
RESOLVERS = EpcisResolvers(party=PARTIES.get, site=SITES.get, site_party=SITE_PARTY.get)
SGTIN = "urn:epc:id:sgtin:0614141.107346.2017"
UNIT = "01/10614141073464/21/2017"
DL_UNIT = "https://id.example.com/01/10614141073464/21/2018"
SSCC = "urn:epc:id:sscc:0614141.1234567890"
CASE = "00/106141412345678908"


def _doc(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T10:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def _event(etype: str, action: str, **kw: Any) -> dict[str, Any]:
    return {
        "type": etype,
        "action": action,
        "eventTime": "2026-03-01T09:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        **kw,
    }


AT = parse_rfc3339_ms("2026-03-01T08:00:00Z")

DOCUMENT = _doc(
    _event("ObjectEvent", "ADD", bizStep="commissioning", epcList=[SGTIN, DL_UNIT],
           bizLocation={"id": "urn:epc:id:sgln:0614141.00777.0"}, disposition="active"),
    _event("AggregationEvent", "ADD", bizStep="packing", parentID=SSCC, childEPCs=[SGTIN, DL_UNIT],
           readPoint={"id": "urn:epc:id:sgln:0614141.00777.0"}),
    _event("ObjectEvent", "OBSERVE", bizStep="urn:epcglobal:cbv:bizstep:shipping", epcList=[SSCC],
           sourceList=[{"type": "urn:epcglobal:cbv:sdt:owning_party", "source": "urn:epc:id:pgln:0614141.00000"}],
           destinationList=[{"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00000"}]),
    _event("TransactionEvent", "ADD", bizStep="https://ref.gs1.org/cbv/BizStep-receiving", epcList=[SSCC],
           bizTransactionList=[{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO-1"}],
           sourceList=[{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"}],
           destinationList=[{"type": "possessing_party", "destination": "urn:epc:id:pgln:4012345.00000"},
                            {"type": "location", "destination": "urn:epc:id:sgln:4012345.00001.0"}]),
    _event("AggregationEvent", "DELETE", bizStep="unpacking", parentID=SSCC, childEPCs=[SGTIN],
           bizLocation={"id": "urn:epc:id:sgln:4012345.00001.0"}),
    _event("ObjectEvent", "OBSERVE", bizStep="retail_selling", epcList=[SGTIN],
           readPoint={"id": "geo:45.764043,4.835659"}, bizLocation={"id": "urn:epc:id:sgln:4012345.00001.0"}),
    _event("ObjectEvent", "DELETE", epcList=[DL_UNIT], bizLocation={"id": "urn:epc:id:sgln:4012345.00001.0"}),
)  # fmt: skip


def test_a_document_maps_to_hops_event_by_event() -> None:
    hops = capture_document(json.loads(json.dumps(DOCUMENT)), RESOLVERS)
    unit2 = "01/10614141073464/21/2018"
    assert [(h.unit, h.kind, h.party, h.counterparty, h.site, h.container) for h in hops] == [
        (UNIT, EntryKind.COMMISSIONING, "ACME", None, "ACME-PLANT", None),
        (unit2, EntryKind.COMMISSIONING, "ACME", None, "ACME-PLANT", None),
        (UNIT, EntryKind.PACKING, "ACME", None, "ACME-PLANT", CASE),
        (unit2, EntryKind.PACKING, "ACME", None, "ACME-PLANT", CASE),
        (CASE, EntryKind.SHIPPING, "ACME", "DIST-FR", None, None),
        (CASE, EntryKind.RECEIVING, "DIST-FR", "ACME", None, None),
        (UNIT, EntryKind.UNPACKING, "DIST-FR", None, "FR-WH1", CASE),
        (UNIT, EntryKind.RETAIL_SELLING, "DIST-FR", None, "FR-WH1", None),
        (unit2, EntryKind.DECOMMISSIONING, "DIST-FR", None, "FR-WH1", None),
    ]
    assert {h.at_ms for h in hops} == {AT}  # 09:00+01:00 is 08:00Z
    assert (hops[7].lat_e6, hops[7].lon_e6) == (45_764_043, 4_835_659)


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOCUMENT)
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "where", "reason"),
    [
        (["@context"], KeyError, "$['@context']", "missing"),
        (["type"], "EPCISQueryDocument", "$.type", "EPCISDocument"),
        (["schemaVersion"], "1.2", "$.schemaVersion", "2.0"),
        (["epcisBody", "eventList"], {}, "$.epcisBody.eventList", "not a list"),
        (["epcisBody", "eventList", 3, "epcList", 0], "urn:epc:id:sgtin:0614141.1073.1", "$.epcisBody.eventList[3].epcList[0]", "EPC URN"),
        (["epcisBody", "eventList", 0, "epcList", 1], "https://id.example.com/01/10614141073465/21/2018", "$.epcisBody.eventList[0].epcList[1]", "check digit"),
        (["epcisBody", "eventList", 0, "epcList", 1], "https://id.example.com/01/10614141073464", "$.epcisBody.eventList[0].epcList[1]", "product class"),
        (["epcisBody", "eventList", 2], {"type": "TransformationEvent", "eventTime": "2026-03-01T09:00:00+01:00", "eventTimeZoneOffset": "+01:00", "inputEPCList": [SGTIN], "outputEPCList": [SGTIN], "bizStep": "commissioning"}, "$.epcisBody.eventList[2].type", "unsupported"),
        (["epcisBody", "eventList", 2, "action"], "UPDATE", "$.epcisBody.eventList[2].action", "not one of OBSERVE, ADD, DELETE"),
        (["epcisBody", "eventList", 2, "bizStep"], "dancing", "$.epcisBody.eventList[2].bizStep", "'dancing'"),
        (["epcisBody", "eventList", 2, "eventTime"], "yesterday", "$.epcisBody.eventList[2].eventTime", "RFC 3339"),
        (["epcisBody", "eventList", 2, "eventTimeZoneOffset"], KeyError, "$.epcisBody.eventList[2].eventTimeZoneOffset", "hh:mm"),
        (["epcisBody", "eventList", 2, "sourceList", 0, "source"], "urn:epc:id:pgln:9.9", "$.epcisBody.eventList[2].sourceList[0].source", "unknown party"),
        (["epcisBody", "eventList", 0, "bizLocation"], {"id": "urn:epc:id:sgln:1.1.1"}, "$.epcisBody.eventList[0].bizLocation.id", "unknown location"),
        (["epcisBody", "eventList", 1, "parentID"], SGTIN, "$.epcisBody.eventList[1].parentID", "must be an SSCC"),
        (["epcisBody", "eventList", 1, "childEPCs"], [], "$.epcisBody.eventList[1].childEPCs", "needs a non-empty childEPCs or childQuantityList"),
        (["epcisBody", "eventList", 5, "epcList"], [], "$.epcisBody.eventList[5].epcList", "quantityList"),
        (["epcisBody", "eventList", 5, "bizLocation"], KeyError, "$.epcisBody.eventList[5]", "which party"),
    ],
)  # fmt: skip
def test_an_invalid_document_is_refused_whole_with_the_path_of_the_first_error(
    path: list[Any], value: Any, where: str, reason: str
) -> None:
    with pytest.raises(EpcisError) as info:
        capture_document(_broken(path, value), RESOLVERS)
    assert info.value.path == where
    assert reason in info.value.reason


def test_a_capturing_party_is_the_default_performer() -> None:
    doc = _doc(_event("ObjectEvent", "OBSERVE", bizStep="inspecting", epcList=[SGTIN]))
    with pytest.raises(EpcisError, match="which party"):
        capture_document(doc, RESOLVERS)
    resolvers = EpcisResolvers(party=PARTIES.get, site=SITES.get, default_party="DIST-FR")
    [hop] = capture_document(doc, resolvers)
    assert (hop.kind, hop.party) == (EntryKind.INSPECTING, "DIST-FR")


# --- export and round trip -------------------------------------------------------------


HISTORY = [
    HistoryEntry(EntryKind.COMMISSIONING, AT, "ACME", site="ACME-PLANT", leaf_hash="ab" * 32),
    HistoryEntry(EntryKind.PACKING, AT + 1000, "ACME", site="ACME-PLANT", container=CASE, leaf_hash="cd" * 32),
    HistoryEntry(EntryKind.SHIPPING, AT + 2000, "ACME", counterparty="DIST-FR"),
    HistoryEntry(EntryKind.RECEIVING, AT + 3000, "DIST-FR", counterparty="ACME", site="FR-WH1"),
    HistoryEntry(EntryKind.UNPACKING, AT + 4000, "DIST-FR", site="FR-WH1", container=CASE),
    HistoryEntry(EntryKind.RETAIL_SELLING, AT + 5001, "DIST-FR", site="FR-WH1", lat_e6=45_764_043, lon_e6=-4_835_659),
    HistoryEntry(EntryKind.RETURNING, AT + 6000, "DIST-FR", counterparty="ACME"),
    HistoryEntry(EntryKind.DECOMMISSIONING, AT + 7000, "ACME"),
]  # fmt: skip


def _without_ids(hops: list[Hop]) -> list[Hop]:
    """Hops less their idempotency key (captured events with an eventID carry one)."""
    return [dataclasses.replace(h, device="", device_seq=None) for h in hops]


def _expected(unit: str, entries: list[HistoryEntry]) -> list[Hop]:
    return [
        Hop(unit, e.kind, e.party, e.at_ms, e.counterparty, e.site, e.lat_e6, e.lon_e6, e.container)
        for e in sorted(entries, key=lambda e: e.at_ms)
    ]


def test_the_history_export_is_an_epcis_2_document() -> None:
    doc = export_history(UNIT, HISTORY, created_ms=AT + 10_000)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["@context"][0] == "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
    assert (doc["type"], doc["schemaVersion"], doc["creationDate"]) == (
        "EPCISDocument",
        "2.0",
        "2026-03-01T08:00:10.000Z",
    )
    events = doc["epcisBody"]["eventList"]
    assert [(e["type"], e["action"], e["bizStep"]) for e in events] == [
        ("ObjectEvent", "ADD", "commissioning"),
        ("AggregationEvent", "ADD", "packing"),
        ("ObjectEvent", "OBSERVE", "shipping"),
        ("ObjectEvent", "OBSERVE", "receiving"),
        ("AggregationEvent", "DELETE", "unpacking"),
        ("ObjectEvent", "OBSERVE", "retail_selling"),
        ("ObjectEvent", "OBSERVE", "hc:returning"),  # CBV 2.0 has no returning step
        ("ObjectEvent", "DELETE", "decommissioning"),
    ]
    for e in events:
        assert e["eventTime"].endswith("Z") and e["eventTimeZoneOffset"] == "+00:00"
    assert events[0]["epcList"] == ["https://id.hopchain.example/01/10614141073464/21/2017"]
    assert events[0]["eventID"] == "urn:hopchain:leaf:" + "ab" * 32
    assert events[1]["parentID"] == "https://id.hopchain.example/00/106141412345678908"
    assert events[5]["readPoint"] == {"id": "geo:45.764043,-4.835659"}


def test_export_then_capture_gives_the_same_hops() -> None:
    doc = json.loads(json.dumps(export_history(UNIT, HISTORY)))
    assert _without_ids(capture_document(doc, hopchain_resolvers())) == _expected(UNIT, HISTORY)


entries = st.builds(
    HistoryEntry,
    kind=st.sampled_from(list(OBSERVATION_KINDS)),  # a declaration exports its entry
    at_ms=st.integers(0, 4_102_444_800_000),
    party=st.sampled_from(["ACME", "DIST-FR", "dealer/42 ü"]),
    counterparty=st.none() | st.sampled_from(["ACME", "DIST-DE"]),
    site=st.none() | st.sampled_from(["FR-WH1", "DE WH #2"]),
    container=st.none() | st.just(CASE),
    lat_e6=st.none() | st.integers(-90_000_000, 90_000_000),
    lon_e6=st.integers(-180_000_000, 180_000_000),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(entries, max_size=8),
    st.sampled_from([UNIT, "01/09506000134352/21/a/b%c?", CASE]),
)
def test_round_trip_property(history: list[HistoryEntry], unit: str) -> None:
    aggregation = (EntryKind.PACKING, EntryKind.UNPACKING)
    fixed = [
        HistoryEntry(
            e.kind, e.at_ms, e.party, e.counterparty, e.site,
            CASE if e.kind in aggregation else e.container,  # packing always names its case
            lat_e6=e.lat_e6, lon_e6=e.lon_e6 if e.lat_e6 is not None else None,
        )
        for e in history
    ]  # fmt: skip
    doc = json.loads(json.dumps(export_history(unit, fixed)))
    assert _without_ids(capture_document(doc, hopchain_resolvers())) == _expected(unit, fixed)


# --- fuzz: a malformed document only ever raises EpcisError ------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from([SGTIN, SSCC, DL_UNIT, "ADD", "DELETE", "ObjectEvent", "shipping", "+25:00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=10,
)  # fmt: skip


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


ALL_PATHS = _paths(DOCUMENT)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), json_values), min_size=1, max_size=3))
def test_fuzz_capture_only_raises_epcis_error(mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    doc = copy.deepcopy(DOCUMENT)
    for path, value in mutations:
        target: Any = doc
        try:
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced the parent
    try:
        capture_document(doc, RESOLVERS)
    except EpcisError as exc:
        assert exc.path.startswith("$")


# --- with the real ledger ---------------------------------------------------------------


def test_a_units_ledger_history_exports_and_captures_back(scan_engine: Any) -> None:
    from sqlalchemy.orm import Session

    from ledger.append import append_hops
    from scanners import database_resolvers, history_entries

    case = "00/106141412345678908"
    t = AT
    script = [
        Hop(UNIT, EntryKind.COMMISSIONING, "ACME", t, site="ACME-PLANT"),
        Hop(case, EntryKind.COMMISSIONING, "ACME", t + 1, site="ACME-PLANT"),
        Hop(UNIT, EntryKind.PACKING, "ACME", t + 2, site="ACME-PLANT", container=case),
        Hop(case, EntryKind.SHIPPING, "ACME", t + 3, counterparty="DIST-FR"),
        Hop(case, EntryKind.RECEIVING, "DIST-FR", t + 4, counterparty="ACME", site="FR-WH1"),
        Hop(UNIT, EntryKind.UNPACKING, "DIST-FR", t + 5, site="FR-WH1", container=case),
        Hop(UNIT, EntryKind.RETAIL_SELLING, "DIST-FR", t + 6, lat_e6=45_764_043, lon_e6=4_835_659),
    ]
    results = append_hops(scan_engine, script)
    assert [r.status for r in results] == ["accepted"] * len(script), results
    with Session(scan_engine) as session:
        history = history_entries(session, UNIT)
        assert [e.kind for e in history] == [
            EntryKind.COMMISSIONING,
            EntryKind.PACKING,
            EntryKind.SHIPPING,
            EntryKind.RECEIVING,
            EntryKind.UNPACKING,
            EntryKind.RETAIL_SELLING,
        ]
        assert all(len(e.leaf_hash) == 64 for e in history)
        doc = json.loads(json.dumps(export_history(UNIT, history)))
        hops = capture_document(doc, database_resolvers(session))
    assert _without_ids(hops) == _expected(UNIT, history)
    assert [(h.kind, h.party, h.counterparty) for h in hops][2:4] == [
        (EntryKind.SHIPPING, "ACME", "DIST-FR"),
        (EntryKind.RECEIVING, "DIST-FR", "ACME"),
    ]
    with Session(scan_engine) as session, pytest.raises(EpcisError, match="unknown party"):
        doc["epcisBody"]["eventList"][0]["hc:party"] = "https://id.hopchain.example/party/NOBODY"
        capture_document(doc, database_resolvers(session))


def test_capturing_the_same_document_twice_appends_nothing_new(scan_engine: Any) -> None:
    from ledger.append import append_hops

    doc = _doc(
        _event("ObjectEvent", "ADD", bizStep="commissioning", epcList=[SGTIN, DL_UNIT],
               eventID="urn:uuid:0f1e2d3c-0000-4000-8000-000000000001",
               bizLocation={"id": "urn:epc:id:sgln:0614141.00777.0"}),
    )  # fmt: skip
    hops = capture_document(doc, RESOLVERS)
    assert [h.device_seq for h in hops] == [0, 1] and hops[0].device.startswith("epcis:")
    first = append_hops(scan_engine, hops)
    again = append_hops(scan_engine, capture_document(doc, RESOLVERS))
    assert [r.status for r in first] == ["accepted", "accepted"]
    assert [(r.status, r.seqs) for r in again] == [("duplicate", r.seqs) for r in first]
