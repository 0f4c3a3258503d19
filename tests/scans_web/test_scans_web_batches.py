"""POST /api/v1/scans: signed handheld batches through the whole app to the ledger."""

from __future__ import annotations

from collections.abc import Callable

from _scans_web import (
    HandheldKey,
    PostBatch,
    batch_body,
    entry_count,
    event,
    now_ms,
    rfc3339,
    unit,
)
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import ScanReceipt
from scanners import generate_device_key, revoke_device


def _receipts(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(ScanReceipt)) or 0)


def test_a_signed_batch_is_accepted_with_its_seqs(
    network: Engine,
    post_batch: PostBatch,
    client: FlaskClient,
    bearer: Callable[..., dict[str, str]],
) -> None:
    before = entry_count(network)
    answer = post_batch([event(1, "U1"), event(2, "U2")])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["device_id"] == "HH-1"
    assert [(r["device_seq"], r["status"]) for r in body["results"]] == [
        (1, "accepted"),
        (2, "accepted"),
    ]
    seqs = [s for r in body["results"] for s in r["seqs"]]
    assert seqs == [before, before + 1]
    assert entry_count(network) == before + 2
    # The device's party received the unit: the ledger says DIST-A holds it now.
    status = client.get(f"/api/v1/units/{unit('U1')}", headers=bearer("auditor")).get_json()
    assert status["holder"] == "DIST-A"


def test_a_replayed_batch_is_answered_duplicate_and_appends_nothing(
    network: Engine, post_batch: PostBatch
) -> None:
    events = [event(7, "U1"), event(8, "U2")]
    first = post_batch(events).get_json()["results"]
    count = entry_count(network)
    again = post_batch(events).get_json()["results"]
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert [r["seqs"] for r in again] == [r["seqs"] for r in first]
    assert entry_count(network) == count


def test_unknown_revoked_and_badly_signed_batches_are_401_and_store_nothing(
    network: Engine, post_batch: PostBatch, handheld: HandheldKey
) -> None:
    before, receipts = entry_count(network), _receipts(network)
    events = [event(1, "U1")]

    unknown = post_batch(events, device_id="HH-404")
    assert unknown.status_code == 401
    assert "unknown device" in unknown.get_json()["error"]

    missing = post_batch(events, signature="")
    assert missing.status_code == 401
    assert "missing X-Signature" in missing.get_json()["error"]

    other_pem, _ = generate_device_key()
    body = batch_body("HH-1", events)
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    stranger = HandheldKey("HH-1", load_pem_private_key(other_pem, None))  # type: ignore[arg-type]
    forged = post_batch(events, body=body, signature=stranger.sign(body))
    assert forged.status_code == 401
    assert forged.get_json()["error"].endswith("bad signature")

    tampered = post_batch(events, body=body.replace(b"U1", b"U2"), signature=handheld.sign(body))
    assert tampered.status_code == 401

    with Session(network) as session:
        revoke_device(session, "HH-1")
        session.commit()
    revoked = post_batch(events)
    assert revoked.status_code == 401
    assert "revoked" in revoked.get_json()["error"]
    assert revoked.headers["Content-Type"] == "application/json"

    assert (entry_count(network), _receipts(network)) == (before, receipts)


def test_valid_events_commit_and_invalid_ones_are_rejected_with_a_reason(
    network: Engine, post_batch: PostBatch
) -> None:
    before = entry_count(network)
    answer = post_batch(
        [
            event(1, "U1"),
            event(2, code="(01)09506000134353(21)X"),  # wrong GTIN check digit
            event(3, "U2", kind="teleport"),
            {"device_seq": 4, "kind": "receive", "code": "(01)09506000134352(21)U3"},
            event(5, "U3"),
            event(5, "U2"),  # device_seq repeats
        ]
    ).get_json()["results"]
    assert [r["status"] for r in answer] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
        "rejected",
    ]
    assert "check digit" in answer[1]["reason"]
    assert "unknown kind 'teleport'" in answer[2]["reason"]
    assert "scanned_at" in answer[3]["reason"]
    assert "repeats" in answer[5]["reason"]
    assert entry_count(network) == before + 2


def test_a_device_clock_ahead_is_flagged_and_noted_in_the_signed_entry(
    network: Engine,
    post_batch: PostBatch,
    client: FlaskClient,
    bearer: Callable[..., dict[str, str]],
) -> None:
    ahead = now_ms() + 1800 * 1000 + 400
    answer = post_batch([event(1, "U1", scanned_at=rfc3339(ahead))]).get_json()["results"][0]
    assert answer["status"] == "accepted"
    (flag,) = answer["flags"]
    assert flag.startswith("clock_skew:+")
    seconds = int(flag.removeprefix("clock_skew:+").removesuffix("s"))
    assert 1795 <= seconds <= 1800
    history = client.get(f"/api/v1/units/{unit('U1')}/history", headers=bearer("auditor"))
    last = history.get_json()["entries"][-1]
    assert last["seq"] == answer["seqs"][0]
    assert f"device clock {seconds} s ahead" in last["anomaly"]
    assert last["at"] == rfc3339(ahead)  # the device's own time is kept


def test_oversized_or_malformed_bodies_are_refused_before_anything_is_read(
    network: Engine, post_batch: PostBatch
) -> None:
    before = entry_count(network)
    huge = post_batch([], body=b'{"device_id": "HH-1", "events": [' + b" " * (5 << 20) + b"]}")
    assert huge.status_code == 413
    assert huge.get_json()["status"] == 413
    assert post_batch([], body=b"not json").status_code == 400
    assert post_batch([], body=b"[1, 2]").status_code == 400
    assert post_batch([], body=b'{"device_id": "HH-1"}').get_json()["error"] == (
        "events must be a list"
    )
    assert entry_count(network) == before


def test_a_browser_session_needs_no_csrf_token_because_the_signature_authenticates(
    network: Engine,
    handheld: HandheldKey,
    login_as: Callable[..., FlaskClient],
) -> None:
    browser = login_as("warehouse")
    body = batch_body("HH-1", [event(1, "U1")])
    signed = browser.post(
        "/api/v1/scans",
        data=body,
        headers={"Content-Type": "application/json", "X-Signature": handheld.sign(body)},
    )
    assert signed.status_code == 200
    unsigned = browser.post(
        "/api/v1/scans", data=body, headers={"Content-Type": "application/json"}
    )
    assert unsigned.status_code == 401


def test_the_openapi_document_declares_the_device_signature(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    scans = doc["paths"]["/api/v1/scans"]["post"]
    assert scans["security"] == []  # no token: the device signature authenticates
    assert any(p["name"] == "X-Signature" and p["in"] == "header" for p in scans["parameters"])
    assert {"200", "400", "401", "413"} <= set(scans["responses"])
    capture = doc["paths"]["/api/v1/epcis/capture"]["post"]
    assert set(capture["x-roles"]) == {"warehouse", "admin", "distributor"}
    history = doc["paths"]["/api/v1/units/{key}/history"]["get"]
    assert "distributor" in history["x-roles"]
