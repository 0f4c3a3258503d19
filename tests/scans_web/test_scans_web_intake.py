"""POST /api/v1/scans and EPCIS capture: conflicts answered, odd values rejected
per event (never a 500), and the answers match the OpenAPI description."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import pytest
from _scans_web import PostBatch, batch_body, entry_count, event, hri, unit
from flask.testing import FlaskClient
from sqlalchemy import Engine

Bearer = Callable[..., dict[str, str]]


def _schema(client: FlaskClient, path: str) -> dict[str, Any]:
    spec = client.get("/api/v1/openapi.json").get_json()
    schema: dict[str, Any] = spec["paths"][path]["post"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    return schema


def test_another_scan_under_a_used_device_seq_is_a_conflict_with_next_device_seq(
    network: Engine, post_batch: PostBatch, client: FlaskClient
) -> None:
    first = post_batch([event(1, "U1"), event(2, "U2")]).get_json()
    assert first["next_device_seq"] == 3
    count = entry_count(network)
    # The handheld's queue was recreated: it numbers a new scan 1 again.
    answer = post_batch([event(1, "U3"), event(3, "U3")])
    assert answer.status_code == 200
    body = answer.get_json()
    conflict, accepted = body["results"]
    assert conflict["status"] == "conflict" and "seqs" not in conflict
    assert conflict["next_device_seq"] == 4 == body["next_device_seq"]
    assert f"stored: receiving of {unit('U1')}" in conflict["reason"]
    assert f"this one: receiving of {unit('U3')}" in conflict["reason"]
    assert accepted["status"] == "accepted"
    assert entry_count(network) == count + 1  # the conflict appended nothing
    jsonschema_rs.validate(_schema(client, "/api/v1/scans"), body)


def test_a_replay_with_the_same_content_is_a_duplicate(
    network: Engine, post_batch: PostBatch
) -> None:
    events = [event(5, "U1"), event(6, "U2")]
    post_batch(events)
    again = post_batch(events).get_json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert again["next_device_seq"] == 7


def test_an_empty_signed_batch_asks_for_next_device_seq(
    network: Engine, post_batch: PostBatch, client: FlaskClient
) -> None:
    empty = post_batch([])
    assert empty.status_code == 200
    assert empty.get_json() == {"device_id": "HH-1", "results": [], "next_device_seq": 1}
    post_batch([event(41, "U1")])
    assert post_batch([]).get_json()["next_device_seq"] == 42
    jsonschema_rs.validate(_schema(client, "/api/v1/scans"), post_batch([]).get_json())


ODD = [
    ({"lat": "1e999999999", "lon": "2"}, "lat: '1e999999999' is outside -90..90 degrees"),
    ({"lat": "NaN", "lon": "2"}, "lat: 'NaN' is not a finite number of degrees"),
    ({"lat": True, "lon": 1}, "lat: True is not a number of degrees"),
    ({"lat": {"a": 1}, "lon": 1}, "lat: {'a': 1} is not a number of degrees"),
    ({"scanned_at": "0001-01-01T00:00:00+23:59"}, "is before 2000-01-01T00:00:00Z"),
    ({"scanned_at": "9999-12-31T23:59:59Z"}, "is more than 30 days ahead of the server clock"),
    ({"scanned_at": "1999-12-31T23:59:59.999Z"}, "is before 2000-01-01T00:00:00Z"),
    ({"device_seq": 2**63}, "device_seq must be an integer from 0 to 2**63 - 1"),
    ({"device_seq": -5}, "device_seq must be an integer from 0 to 2**63 - 1, got -5"),
    ({"counterparty": "M" * 65}, "counterparty must be a party code of 1 to 64"),
    ({"counterparty": "MFR\x00"}, "counterparty must be a party code"),
    ({"counterparty": "\ud800"}, "counterparty must be a party code"),
    ({"code": "\ud800"}, "code must be a scanned string"),
    ({"code": "(01)09506000134352(21)" + "A" * 30}, "code: "),
    ({"code": "x" * 600}, "code must be a scanned string of 1 to 512 characters"),
    ({"kind": "k" * 5000}, "unknown kind 'kkkkk"),
    ({"container": "\x00"}, "container must be a scanned string"),
]


@pytest.mark.parametrize(("extra", "reason"), ODD)
def test_an_odd_value_rejects_its_event_only(
    network: Engine, post_batch: PostBatch, extra: dict[str, Any], reason: str
) -> None:
    answer = post_batch([event(1, "U1", **extra), event(2, "U2")])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    bad, good = answer.get_json()["results"]
    assert bad["status"] == "rejected"
    assert reason in bad["reason"]
    assert len(bad["reason"]) < 600
    assert good["status"] == "accepted"


@pytest.mark.parametrize(
    ("literal", "reason"),
    [
        ("1e999999999", "lat: 1E+999999999 is outside -90..90 degrees"),
        ("-1E+400", "lat: -1E+400 is outside"),
        ("1" * 5000, "lat: a number of 5000 digits is outside"),
        ("1e-999999999", ""),  # 0 degrees: accepted
    ],
)
def test_a_json_number_with_a_huge_exponent_rejects_its_event_only(
    network: Engine, post_batch: PostBatch, literal: str, reason: str
) -> None:
    text = batch_body("HH-1", [event(1, "U1", lat="LAT", lon=2), event(2, "U2")]).decode()
    body = text.replace('"LAT"', literal).encode()
    answer = post_batch([], body=body)
    assert answer.status_code == 200
    first, second = answer.get_json()["results"]
    if reason:
        assert first["status"] == "rejected" and reason in first["reason"]
    else:
        assert first["status"] == "accepted"
    assert second["status"] == "accepted"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (batch_body("H" * 65, [event(1)]), "device_id must be a device id of 1 to 64"),
        (batch_body("HH-1\x00", [event(1)]), "device_id must be a device id"),
        (
            batch_body("HH-1", [event(1, lat="LAT", lon=1)]).replace(b'"LAT"', b"NaN"),
            "NaN is not a number JSON allows",
        ),
        (b'{"device_id": "HH-1", "events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "JSON"),
    ],
)
def test_a_body_that_is_no_batch_is_400_naming_why(
    network: Engine, post_batch: PostBatch, body: bytes, error: str
) -> None:
    answer = post_batch([], body=body)
    assert answer.status_code == 400
    assert error in answer.get_json()["error"]


def test_the_scan_station_resubmits_as_a_duplicate_not_a_conflict(
    network: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    browser = login_as("warehouse", "DIST-A")
    page = browser.get("/scan/").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|device_seq)"[^>]*value="([^"]*)"', page))
    form = {**fields, "kind": "receive", "counterparty": "MFR", "code": hri("U1")}
    headers = {"X-CSRFToken": fields["csrf_token"]}
    first = browser.post("/scan/scan.json", data=form, headers=headers).get_json()
    assert first["scans"][0]["status"] == "accepted"
    again = browser.post("/scan/scan.json", data=form, headers=headers).get_json()
    assert again["scans"][0]["status"] == "duplicate"


# --- EPCIS capture ----------------------------------------------------------------------

BASE = "https://id.hopchain.example"


def _doc(event_time: str, serial: str = "U1") -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-10-01T10:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "action": "OBSERVE",
                    "eventID": "urn:uuid:7c0b7a0e-0000-4000-8000-00000000c0f1",
                    "eventTime": event_time,
                    "eventTimeZoneOffset": "+00:00",
                    "bizStep": "inspecting",
                    "epcList": [f"{BASE}/01/09506000134352/21/{serial}"],
                }
            ]
        },
    }


def test_epcis_counts_a_changed_event_under_a_captured_event_id_as_conflict(
    network: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    headers = bearer("warehouse", "MFR")
    at = str(event(1)["scanned_at"])
    first = client.post("/api/v1/epcis/capture", json=_doc(at), headers=headers)
    assert first.get_json()["accepted"] == 1, first.get_data(as_text=True)
    count = entry_count(network)
    changed = client.post("/api/v1/epcis/capture", json=_doc(at, "U2"), headers=headers)
    assert changed.status_code == 200
    body = changed.get_json()
    assert (body["conflict"], body["accepted"], body["duplicate"]) == (1, 0, 0)
    assert body["results"][0]["status"] == "conflict"
    assert f"stored: inspecting of {unit('U1')}" in body["results"][0]["reason"]
    assert entry_count(network) == count
    jsonschema_rs.validate(_schema(client, "/api/v1/epcis/capture"), body)


@pytest.mark.parametrize(
    ("event_time", "problem"),
    [
        ("9999-12-31T23:59:59Z", "is more than 30 days ahead of the server clock"),
        ("0001-01-01T00:00:00.000Z", "is before 2000-01-01T00:00:00Z"),
    ],
)
def test_epcis_event_times_keep_to_the_scan_window(
    network: Engine, client: FlaskClient, bearer: Bearer, event_time: str, problem: str
) -> None:
    answer = client.post(
        "/api/v1/epcis/capture", json=_doc(event_time), headers=bearer("warehouse", "MFR")
    )
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["path"] == "$.epcisBody.eventList[0].eventTime"
    assert problem in body["error"]
