"""EPCIS capture, unit status and history through the API, and who may see what."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from _scans_web import PALLET, PostBatch, entry_count, event, unit
from flask.testing import FlaskClient
from sqlalchemy import Engine

from scanners import capture_document, hopchain_resolvers, parse_rfc3339_ms

Bearer = Callable[..., dict[str, str]]
BASE = "https://id.hopchain.example"
AT = "2026-10-01T09:30:00.000Z"


def _doc(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-10-01T10:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def _receive(serials: list[str], event_id: str) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventID": event_id,
        "eventTime": AT,
        "eventTimeZoneOffset": "+00:00",
        "bizStep": "receiving",
        "epcList": [f"{BASE}/01/09506000134352/21/{s}" for s in serials],
        "sourceList": [{"type": "owning_party", "source": f"{BASE}/party/MFR"}],
        "destinationList": [{"type": "owning_party", "destination": f"{BASE}/party/DIST-A"}],
    }


def test_epcis_capture_appends_and_a_second_capture_is_duplicate(
    network: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    doc = _doc(_receive(["U1", "U2"], "urn:uuid:1b0c7a0e-0000-4000-8000-000000000001"))
    before = entry_count(network)
    first = client.post("/api/v1/epcis/capture", json=doc, headers=bearer("warehouse"))
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_json()
    assert (body["hops"], body["accepted"]) == (2, 2)
    assert [r["unit"] for r in body["results"]] == [unit("U1"), unit("U2")]
    assert all(r["kind"] == "receiving" for r in body["results"])
    assert entry_count(network) == before + 2
    again = client.post("/api/v1/epcis/capture", json=doc, headers=bearer("warehouse")).get_json()
    assert (again["accepted"], again["duplicate"]) == (0, 2)
    assert [r["seqs"] for r in again["results"]] == [r["seqs"] for r in body["results"]]
    assert entry_count(network) == before + 2


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.pop("@context"), "$['@context']"),
        (lambda d: d["epcisBody"]["eventList"][0].update(epcList=["urn:epc:id:sgtin:bad"]), "$.epcisBody.eventList[0].epcList[0]"),
        (lambda d: d["epcisBody"]["eventList"][0].update(eventTime="yesterday"), "$.epcisBody.eventList[0].eventTime"),
        (lambda d: d["epcisBody"]["eventList"][0]["sourceList"][0].update(source=f"{BASE}/party/NOPE"), "$.epcisBody.eventList[0].sourceList[0].source"),
    ],
)  # fmt: skip
def test_a_bad_epcis_document_is_refused_whole_naming_the_json_path(
    network: Engine,
    client: FlaskClient,
    bearer: Bearer,
    mutate: Callable[[dict[str, Any]], object],
    path: str,
) -> None:
    good = _receive(["U1"], "urn:uuid:1b0c7a0e-0000-4000-8000-000000000002")
    doc = _doc(good, copy.deepcopy(good) | {"eventID": "urn:uuid:other"})
    mutate(doc)
    before = entry_count(network)
    answer = client.post("/api/v1/epcis/capture", json=doc, headers=bearer("admin"))
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["status"] == 400
    assert body["path"] == path
    assert body["error"].startswith(path)
    assert entry_count(network) == before


def test_epcis_capture_refuses_non_json_and_anonymous_callers(
    network: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    nobody = {"Authorization": "Bearer not-a-token"}
    assert client.post("/api/v1/epcis/capture", json=_doc(), headers=nobody).status_code == 401
    assert (
        client.post("/api/v1/epcis/capture", json=_doc(), headers=bearer("auditor")).status_code
        == 403
    )
    broken = client.post(
        "/api/v1/epcis/capture",
        data=b"{not json",
        headers={**bearer("warehouse"), "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert "not valid JSON" in broken.get_json()["error"]


def test_a_distributor_captures_as_its_own_party_only(
    network: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    mine = _doc(_receive(["U3"], "urn:uuid:1b0c7a0e-0000-4000-8000-000000000003"))
    ok = client.post("/api/v1/epcis/capture", json=mine, headers=bearer("distributor", "DIST-A"))
    assert ok.status_code == 200
    assert ok.get_json()["accepted"] == 1
    theirs = client.post(
        "/api/v1/epcis/capture",
        json=_doc(_receive(["U2"], "urn:uuid:1b0c7a0e-0000-4000-8000-000000000004")),
        headers=bearer("distributor", "DIST-B"),
    )
    assert theirs.status_code == 403
    assert "DIST-A" in theirs.get_json()["error"]


def test_unit_status_names_custody_container_and_pallet_contents(
    network: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    auditor = bearer("channel_manager")
    u5 = client.get(f"/api/v1/units/{unit('U5')}", headers=auditor).get_json()
    assert u5["key"] == unit("U5")
    assert u5["holder"] == "MFR"
    assert u5["container"] == PALLET
    assert u5["outermost_container"] == PALLET
    pallet = client.get(f"/api/v1/units/{PALLET}", headers=auditor).get_json()
    assert pallet["contents"] == [unit("U5"), unit("U6")]
    assert pallet["unit_count"] == 2
    # A scanned element string works as the key as well.
    same = client.get("/api/v1/units/(01)09506000134352(21)U5", headers=auditor).get_json()
    assert same["key"] == unit("U5")


def test_invalid_and_unknown_keys(network: Engine, client: FlaskClient, bearer: Bearer) -> None:
    headers = bearer("admin")
    bad = client.get("/api/v1/units/01/09506000134353/21/X", headers=headers)
    assert bad.status_code == 400
    assert "check digit" in bad.get_json()["error"]
    assert client.get("/api/v1/units/hello/history", headers=headers).status_code == 400
    unknown = client.get(f"/api/v1/units/{unit('NEVER')}", headers=headers)
    assert unknown.status_code == 404
    assert (
        client.get(f"/api/v1/units/{unit('U1')}/history?format=xml", headers=headers).status_code
        == 400
    )
    assert client.get(f"/api/v1/units/{unit('U1')}").status_code == 401
    assert client.get(f"/api/v1/units/{unit('U1')}", headers=bearer("finance")).status_code == 403


def test_a_distributor_sees_only_units_it_took_part_in(
    network: Engine, client: FlaskClient, bearer: Bearer, login_as: Callable[..., FlaskClient]
) -> None:
    dist_a = bearer("distributor", "DIST-A")
    dist_b = bearer("distributor", "DIST-B")
    assert client.get(f"/api/v1/units/{unit('U1')}", headers=dist_a).status_code == 200
    never = client.get(f"/api/v1/units/{unit('U1')}", headers=dist_b)
    assert never.status_code == 404  # exactly like a unit that does not exist
    assert never.get_json()["error"] == f"no unit {unit('U1')} in the ledger"
    assert client.get(f"/api/v1/units/{unit('U1')}/history", headers=dist_b).status_code == 404
    assert client.get(f"/api/v1/units/{unit('U5')}", headers=dist_a).status_code == 404
    # The trace page follows the same rule.
    browser = login_as("distributor", "DIST-B")
    page = browser.get("/trace/", query_string={"q": unit("U1")})
    assert page.status_code == 404
    assert "No unit" in page.get_data(as_text=True)


def test_history_json_has_every_entry_with_hashes_and_epcis_round_trips(
    network: Engine, client: FlaskClient, bearer: Bearer, post_batch: PostBatch
) -> None:
    post_batch([event(1, "U1")])  # DIST-A receives U1 from MFR
    headers = bearer("auditor")
    history = client.get(f"/api/v1/units/{unit('U1')}/history", headers=headers).get_json()
    entries = history["entries"]
    assert [e["kind"] for e in entries] == ["commissioning", "shipping", "receiving"]
    assert history["custody"]["holder"] == "DIST-A"
    assert entries[0]["prev"] == ""
    for earlier, later in itertools.pairwise(entries):
        assert later["prev"] == earlier["leaf_hash"]
    assert entries[2]["device"] == "HH-1"

    answer = client.get(f"/api/v1/units/{unit('U1')}/history?format=epcis", headers=headers)
    assert answer.mimetype == "application/ld+json"
    assert "Content-Disposition" not in answer.headers
    document = answer.get_json()
    assert document["type"] == "EPCISDocument"
    hops = capture_document(document, hopchain_resolvers())
    assert [(h.unit, h.kind.value, h.party, h.counterparty, h.at_ms, h.site) for h in hops] == [
        (unit("U1"), e["kind"], e["party"], e["counterparty"], parse_rfc3339_ms(e["at"]), e["site"])
        for e in entries
    ]
    download = client.get(
        f"/api/v1/units/{unit('U1')}/history?format=epcis&download=1", headers=headers
    )
    assert download.headers["Content-Disposition"].startswith("attachment;")
