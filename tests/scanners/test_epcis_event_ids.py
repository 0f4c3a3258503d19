"""EPCIS event hash IDs (CBV 2.0 §8.9) and capture that never duplicates history:
an event's eventID or hash ID captured before, or an eventID our export wrote, is
a duplicate as a whole."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.append import append_hops
from ledger.hops import Hop, HopResult
from ledger.ids import EntryKind
from ledger.models import Entry, Site
from scanners import (
    EpcisError,
    capture_document,
    database_resolvers,
    export_history,
    finish_capture,
    history_entries,
    plan_capture,
)
from scanners.epcis_events import EpcisEvent, event_device
from scanners.epcis_hash import EPCIS_CONTEXT_URLS, EventHashError, event_hash_ids

BASE = "https://id.hopchain.example"
UNIT = "01/09506000134352/21/A1"
UNIT2 = "01/09506000134352/21/A2"
CASE = "00/095060001234567893"
T0 = "2026-03-01T08:00:00.000Z"

# --- the published example (RalphTro/epcis-event-hash-generator,
# tests/examples/documents/TimeStampRoundOff.jsonld and TimeStampRoundOff.hashes) ---

REFERENCE = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2023-02-02T11:05:00.0Z",
    "epcisBody": {"eventList": [
        {"type": "ObjectEvent", "eventTime": "2023-02-02T11:04:03.1415Z", "eventTimeZoneOffset": "+01:00",
         "epcList": ["https://id.gs1.de/00/040123451111111110"], "action": "OBSERVE", "bizStep": "shipping",
         "disposition": "in_transit", "readPoint": {"id": "https://id.gs1.de/414/4012345000115"}},
        {"type": "ObjectEvent", "eventTime": "2023-02-02T11:04:03.1414Z", "eventTimeZoneOffset": "+01:00",
         "epcList": ["https://id.gs1.de/00/040123451111111110"], "action": "OBSERVE", "bizStep": "transporting",
         "readPoint": {"id": "geo:50.947573340894124,6.922120147375441"}},
        {"type": "ObjectEvent", "eventTime": "2023-02-12T11:04:03.1415Z", "eventTimeZoneOffset": "+01:00",
         "certificationInfo": "https://accreditation-council.example.org/certificate/ABC12345",
         "epcList": ["https://id.gs1.de/01/04012345999990/21/XYZ-1234"], "action": "OBSERVE",
         "bizStep": "receiving", "disposition": "in_progress",
         "readPoint": {"id": "https://id.gs1.de/414/4012345000115"},
         "sensorElementList": [{"sensorMetadata": {"time": "2023-02-12T11:04:03.1007Z",
                                                   "bizRules": "https://id.example.com/253/4012345000054987"},
                                "sensorReport": [{"type": "Dimensionless", "exception": "ALARM_CONDITION",
                                                  "coordinateReferenceSystem": "http://www.opengis.net/def/crs/EPSG/0/27700"}]}]},
    ]},
}  # fmt: skip
REFERENCE_HASHES = [
    "ni:///sha-256;af7658e711574363633f20b3dadc7bc4c13c6f612cf96d95e03c421c0e58f3c6?ver=CBV2.0",
    "ni:///sha-256;0550df44527332c1fe417c5837fe61b9e71eaa93307b88519dac549bf2d4dcf9?ver=CBV2.0",
    "ni:///sha-256;589e6268daac257cff0a64ae0f525abcc3ff90bc7832171270fd9260e9c481c8?ver=CBV2.0",
]


def test_hash_ids_match_the_reference_implementations_published_examples() -> None:
    before = copy.deepcopy(REFERENCE)
    assert event_hash_ids(REFERENCE) == REFERENCE_HASHES
    assert before == REFERENCE  # the document is not changed


@pytest.mark.parametrize("url", EPCIS_CONTEXT_URLS)
def test_every_epcis_context_url_is_served_offline_and_gives_the_same_hash(url: str) -> None:
    doc = copy.deepcopy(REFERENCE)
    doc["@context"] = [url]
    assert event_hash_ids(doc) == REFERENCE_HASHES


def test_another_remote_context_is_refused_without_a_network_call() -> None:
    doc = copy.deepcopy(REFERENCE)
    doc["@context"] = [EPCIS_CONTEXT_URLS[0], "https://example.com/my-context.jsonld"]
    with pytest.raises(EventHashError, match=r"my-context\.jsonld") as info:
        event_hash_ids(doc)
    assert info.value.index is None and "not fetched" in info.value.reason
    epcis_doc = _doc(_observe(UNIT))
    epcis_doc["@context"].append("https://example.com/my-context.jsonld")
    with pytest.raises(EpcisError) as refused:
        capture_document(epcis_doc, database_resolvers_offline())
    assert refused.value.path == "$['@context']"
    assert "my-context.jsonld" in refused.value.reason


def test_an_event_the_algorithm_cannot_read_is_named_not_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = copy.deepcopy(REFERENCE)
    doc["epcisBody"]["eventList"][1]["sourceList"] = [{"type": "owning_party"}]  # no source
    with pytest.raises(EventHashError) as info:
        event_hash_ids(doc)
    assert info.value.index == 1 and "cannot read this event" in info.value.reason
    # the library logs an event it cannot prehash and returns fewer hashes: named too
    from epcis_event_hash_generator import hash_generator

    real = hash_generator.derive_prehashes_from_events

    def skips_the_third(events: Any, join_by: str = "") -> list[str]:
        skipped: list[str] = [] if "receiving" in str(events) else real(events)
        return skipped

    monkeypatch.setattr(hash_generator, "derive_prehashes_from_events", skips_the_third)
    with pytest.raises(EventHashError) as skipped:
        event_hash_ids(REFERENCE)
    assert skipped.value.index == 2


def _doc(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T10:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def _observe(*keys: str, step: str = "inspecting", at: str = T0, **extra: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventTime": at,
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"{BASE}/{k}" for k in keys],
        "bizStep": step,
        "sourceList": [{"type": "owning_party", "source": f"{BASE}/party/ACME"}],
        **extra,
    }


def database_resolvers_offline() -> Any:
    from scanners import hopchain_resolvers

    return hopchain_resolvers()


@settings(max_examples=40, deadline=None)
@given(
    event_id=st.none() | st.text(min_size=1, max_size=20).map(lambda s: f"urn:uuid:{s}"),
    record=st.none() | st.just("2026-03-02T00:00:00Z"),
    declared=st.booleans(),
    second=st.integers(1, 59),
    serial=st.sampled_from(["A2", "B7", "Z9"]),
)
def test_the_hash_ignores_event_id_record_time_and_declaration_only(
    event_id: str | None, record: str | None, declared: bool, second: int, serial: str
) -> None:
    plain = _observe(UNIT)
    varied = copy.deepcopy(plain)
    if event_id is not None:
        varied["eventID"] = event_id
    if record is not None:
        varied["recordTime"] = record
    if declared:
        varied["errorDeclaration"] = {"declarationTime": "2026-03-03T00:00:00Z"}
    later = _observe(UNIT, at=f"2026-03-01T08:00:{second:02d}.000Z")
    other_unit = _observe(f"01/09506000134352/21/{serial}")
    hashes = event_hash_ids(_doc(plain, varied, later, other_unit))
    assert hashes[0] == hashes[1]
    assert len(set(hashes) - {hashes[0]}) == 2  # time and EPC each change it
    assert all(h.startswith("ni:///sha-256;") and h.endswith("?ver=CBV2.0") for h in hashes)


def test_events_without_an_event_id_get_a_device_key_from_their_hash() -> None:
    doc = _doc(_observe(UNIT, UNIT2))
    hops = capture_document(doc, database_resolvers_offline())
    [hash_id] = event_hash_ids(doc)
    assert [(h.device, h.device_seq) for h in hops] == [
        (event_device(hash_id), 0),
        (event_device(hash_id), 1),
    ]


def test_bizstep_error_declaration_is_not_an_observation() -> None:
    for step in ("error_declaration", "https://ns.hopchain.example/epcis/error_declaration"):
        with pytest.raises(EpcisError) as info:
            capture_document(_doc(_observe(UNIT, step=step)), database_resolvers_offline())
        assert info.value.path == "$.epcisBody.eventList[0].bizStep"
    assert "errorDeclaration" in info.value.reason  # our own namespace passes the CBV check


# --- against the ledger (SQLite and PostgreSQL) ----------------------------------------


@pytest.fixture
def net(engine: Engine, make_party: Callable[..., int]) -> Engine:
    maker = make_party("ACME", kind="manufacturer")
    make_party("DIST-FR")
    with Session(engine) as session:
        session.add(Site(code="ACME-PLANT", name="Plant", party_id=maker))
        session.commit()
    return engine


def capture(engine: Engine, doc: dict[str, Any]) -> list[HopResult]:
    """What ``POST /api/v1/epcis/capture`` does: plan, append, finish."""
    with Session(engine) as session:
        plan = plan_capture(session, json.loads(json.dumps(doc)), database_resolvers(session))
        session.rollback()
        return finish_capture(session, plan, append_hops(engine, plan.to_append()), now_ms=1)


def entries(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Entry)) or 0)


def commission(engine: Engine, *keys: str) -> None:
    hops = [
        Hop(k, EntryKind.COMMISSIONING, "ACME", 1_767_225_600_000 + i) for i, k in enumerate(keys)
    ]
    assert {r.status for r in append_hops(engine, hops)} == {"accepted"}


def test_an_event_without_event_id_captured_twice_is_a_duplicate(net: Engine) -> None:
    commission(net, UNIT, UNIT2)
    doc = _doc(_observe(UNIT, UNIT2))
    first = capture(net, doc)
    assert [r.status for r in first] == ["accepted", "accepted"]
    count = entries(net)
    again = capture(net, doc)
    assert [(r.status, r.seqs) for r in again] == [("duplicate", r.seqs) for r in first]
    assert entries(net) == count
    with Session(net) as session:
        [row] = session.scalars(select(EpcisEvent)).all()
        [hash_id] = event_hash_ids(doc)
        assert (row.event_id, row.hash_id, row.device) == (hash_id, hash_id, event_device(hash_id))


def test_an_event_differing_only_in_event_id_is_a_duplicate_of_the_first(net: Engine) -> None:
    commission(net, UNIT)
    first = capture(net, _doc(_observe(UNIT, eventID="urn:uuid:first")))
    count = entries(net)
    for other in ("urn:uuid:second", None):
        event = _observe(UNIT) if other is None else _observe(UNIT, eventID=other)
        again = capture(net, _doc(event))
        assert [(r.status, r.seqs) for r in again] == [("duplicate", first[0].seqs)]
    # and inside one document: the second is answered like the first
    commission(net, UNIT2)
    both = capture(
        net, _doc(_observe(UNIT2, eventID="urn:uuid:x"), _observe(UNIT2, eventID="urn:uuid:y"))
    )
    assert [r.status for r in both] == ["accepted", "duplicate"]
    assert both[0].seqs == both[1].seqs
    assert entries(net) == count + 2  # UNIT2's commissioning and one inspection
    with Session(net) as session:
        ids = set(session.scalars(select(EpcisEvent.event_id)))
    assert ids == {"urn:uuid:first", "urn:uuid:x"}


def test_a_changed_event_under_a_captured_event_id_is_a_conflict(net: Engine) -> None:
    commission(net, UNIT)
    capture(net, _doc(_observe(UNIT, eventID="urn:uuid:one")))
    count = entries(net)
    changed = capture(net, _doc(_observe(UNIT, step="retail_selling", eventID="urn:uuid:one")))
    assert [r.status for r in changed] == ["conflict"]
    assert "urn:uuid:one" in changed[0].reason
    assert entries(net) == count


@pytest.mark.parametrize("source", ["handheld", "epcis_with_id", "epcis_without_id"])
def test_capturing_a_units_export_back_appends_nothing(net: Engine, source: str) -> None:
    commission(net, CASE)
    script = [
        _observe(UNIT, UNIT2, step="commissioning") | {"action": "ADD"},
        {"type": "AggregationEvent", "action": "ADD", "eventTime": "2026-03-01T08:00:01.000Z",
         "eventTimeZoneOffset": "+00:00", "parentID": f"{BASE}/{CASE}",
         "childEPCs": [f"{BASE}/{UNIT}", f"{BASE}/{UNIT2}"], "bizStep": "packing",
         "sourceList": [{"type": "owning_party", "source": f"{BASE}/party/ACME"}]},
        _observe(CASE, step="shipping", at="2026-03-01T08:00:02.000Z",
                 destinationList=[{"type": "owning_party", "destination": f"{BASE}/party/DIST-FR"}]),
    ]  # fmt: skip
    if source == "handheld":
        hops = [
            Hop(UNIT, EntryKind.COMMISSIONING, "ACME", 1),
            Hop(UNIT2, EntryKind.COMMISSIONING, "ACME", 1),
            Hop(UNIT, EntryKind.PACKING, "ACME", 2, container=CASE),
            Hop(UNIT2, EntryKind.PACKING, "ACME", 2, container=CASE),
            Hop(CASE, EntryKind.SHIPPING, "ACME", 3, counterparty="DIST-FR"),
        ]
        assert {r.status for r in append_hops(net, hops)} == {"accepted"}
    else:
        if source == "epcis_with_id":
            script = [e | {"eventID": f"urn:uuid:ev-{i}"} for i, e in enumerate(script)]
        assert {r.status for r in capture(net, _doc(*script))} == {"accepted"}
    count = entries(net)
    for key in (UNIT, UNIT2, CASE):
        with Session(net) as session:
            history = history_entries(session, key)
        exported = export_history(key, history)
        answer = capture(net, exported)
        assert answer and {r.status for r in answer} == {"duplicate"}, (key, answer)
        assert sorted(s for r in answer for s in r.seqs) == [e.seq for e in history]
    assert entries(net) == count
    if source == "epcis_with_id":
        with Session(net) as session:
            ids = [
                e["eventID"]
                for e in export_history(UNIT, history_entries(session, UNIT))["epcisBody"][
                    "eventList"
                ]
            ]
        assert ids == ["urn:uuid:ev-0", "urn:uuid:ev-1", "urn:uuid:ev-2"]


def test_an_entry_id_from_another_ledger_is_just_an_event_id(net: Engine) -> None:
    commission(net, UNIT)
    foreign = "urn:hopchain:entry:0:" + "ab" * 32  # seq 0 here has another leaf hash
    first = capture(net, _doc(_observe(UNIT, eventID=foreign)))
    assert [r.status for r in first] == ["accepted"]


@pytest.mark.parametrize("side", ["destination", "source"])
def test_two_parties_of_one_type_on_a_side_are_refused_not_dropped(side: str) -> None:
    """A ledger entry names one counterparty: a second owning_party would be lost."""
    parties = [{"type": "owning_party", side: f"{BASE}/party/{c}"} for c in ("ACME", "DIST-FR")]
    event = _observe(UNIT, step="shipping", **{f"{side}List": parties})
    with pytest.raises(EpcisError) as info:
        capture_document(_doc(event), database_resolvers_offline())
    assert info.value.path == f"$.epcisBody.eventList[0].{side}List[1].{side}"
    assert "a second owning_party (DIST-FR) beside ACME" in info.value.reason
    # the same party twice, or an owner and a possessor, still make one counterparty
    same = [{"type": "owning_party", side: f"{BASE}/party/DIST-FR"}] * 2
    capture_document(
        _doc(_observe(UNIT, step="shipping", **{f"{side}List": same})), database_resolvers_offline()
    )


def test_the_reference_implementation_does_not_write_to_the_root_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        event_hash_ids(_doc(_observe(UNIT)))
        logging.getLogger().info("the server's own line")
    assert [r.getMessage() for r in caplog.records] == ["the server's own line"]
