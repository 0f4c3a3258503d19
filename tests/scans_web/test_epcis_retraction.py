"""EPCIS 2.0 §7.4.1.2 errorDeclaration through the capture API: a retraction, not a
new observation; correctiveEventIDs linked in either order; an export captured
back appends nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _scans_web import DAY_MS, PostBatch, entry_count, event, now_ms, rfc3339, unit
from click.testing import Result
from flask.testing import FlaskClient
from sqlalchemy import Engine

Bearer = Callable[..., dict[str, str]]
BASE = "https://id.hopchain.example"
CAPTURE = "/api/v1/epcis/capture"


def _doc(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": rfc3339(now_ms()),
        "epcisBody": {"eventList": list(events)},
    }


def _ship(serial: str, to: str, at_ms: int, event_id: str | None = None) -> dict[str, Any]:
    shipped: dict[str, Any] = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventTime": rfc3339(at_ms),
        "eventTimeZoneOffset": "+00:00",
        "bizStep": "shipping",
        "epcList": [f"{BASE}/{unit(serial)}"],
        "sourceList": [{"type": "owning_party", "source": f"{BASE}/party/MFR"}],
        "destinationList": [{"type": "owning_party", "destination": f"{BASE}/party/{to}"}],
    }
    if event_id is not None:
        shipped["eventID"] = event_id
    return shipped


def _declared(shipped: dict[str, Any], *correctives: str) -> dict[str, Any]:
    declaration: dict[str, Any] = {"declarationTime": rfc3339(now_ms()), "reason": "incorrect_data"}
    if correctives:
        declaration["correctiveEventIDs"] = list(correctives)
    return shipped | {"errorDeclaration": declaration}


def _post(client: FlaskClient, headers: dict[str, str], doc: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(CAPTURE, json=doc, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body: dict[str, Any] = answer.get_json()
    return body


def _history(client: FlaskClient, headers: dict[str, str], serial: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/units/{unit(serial)}/history", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body: dict[str, Any] = answer.get_json()
    return body


def test_a_resent_shipping_event_with_error_declaration_retracts_it(
    network: Engine,
    client: FlaskClient,
    bearer: Bearer,
    run_cli: Callable[..., Result],
    login_as: Callable[..., FlaskClient],
) -> None:
    headers = bearer("warehouse")
    before = _history(client, headers, "U4")["custody"]
    shipped = _ship("U4", "DIST-B", now_ms() - 3_600_000, "urn:uuid:ship-u4")
    first = _post(client, headers, _doc(shipped))
    assert first["accepted"] == 1
    [shipping_seq] = first["results"][0]["seqs"]
    assert _history(client, headers, "U4")["custody"]["bound_for"] == "DIST-B"
    count = entry_count(network)

    declared = _post(client, headers, _doc(_declared(shipped, "urn:uuid:fix-u4")))
    assert [(r["kind"], r["status"]) for r in declared["results"]] == [
        ("error_declaration", "accepted")
    ]
    [declaration_seq] = declared["results"][0]["seqs"]
    assert entry_count(network) == count + 1  # one entry, no second shipping hop
    history = _history(client, headers, "U4")
    kinds = [e["kind"] for e in history["entries"]]
    assert kinds.count("shipping") == 1 and kinds.count("error_declaration") == 1
    by_seq = {e["seq"]: e for e in history["entries"]}
    assert by_seq[declaration_seq]["retracts"] == shipping_seq
    retracted = by_seq[shipping_seq]["retracted"]
    assert retracted["by_seq"] == declaration_seq
    assert retracted["reason"] == "incorrect_data"
    assert retracted["corrective_events"] == [
        {"event_id": "urn:uuid:fix-u4", "captured": False, "seqs": []}
    ]
    custody = history["custody"]
    assert (custody["state"], custody["holder"], custody["bound_for"]) == (
        before["state"],
        before["holder"],
        before["bound_for"],
    )  # back to before the shipment

    # the same declaration again: duplicate, nothing appended
    again = _post(client, headers, _doc(_declared(shipped, "urn:uuid:fix-u4")))
    assert [(r["status"], r["seqs"]) for r in again["results"]] == [
        ("duplicate", [declaration_seq])
    ]
    assert entry_count(network) == count + 1

    # the corrective event arrives: linked to the seqs it produced
    fixed = _post(
        client, headers, _doc(_ship("U4", "DIST-A", now_ms() - 1_800_000, "urn:uuid:fix-u4"))
    )
    [fixed_seq] = fixed["results"][0]["seqs"]
    retracted = {e["seq"]: e for e in _history(client, headers, "U4")["entries"]}[shipping_seq]
    assert retracted["retracted"]["corrective_events"] == [
        {"event_id": "urn:uuid:fix-u4", "captured": True, "seqs": [fixed_seq]}
    ]
    browser = login_as("channel_manager")
    page = browser.get("/trace/", query_string={"q": unit("U4")})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"Retracted</strong> by entry #{declaration_seq}" in text
    assert f"Retracts entry #{shipping_seq}" in text

    assert run_cli("init").exit_code == 0  # the instance's signing key
    verify = run_cli("ledger", "verify")
    assert verify.exit_code == 0, verify.output


def test_a_corrective_event_captured_before_the_declaration_links_too(
    network: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    headers = bearer("warehouse")
    shipped = _ship("U4", "DIST-B", now_ms() - 3_600_000)  # no eventID: its hash ID names it
    _post(client, headers, _doc(shipped))
    fixed = _post(
        client, headers, _doc(_ship("U4", "DIST-A", now_ms() - 3_000_000, "urn:uuid:fix"))
    )
    [fixed_seq] = fixed["results"][0]["seqs"]
    _post(client, headers, _doc(_declared(shipped, "urn:uuid:fix")))
    [retracted] = [e for e in _history(client, headers, "U4")["entries"] if "retracted" in e]
    assert retracted["retracted"]["corrective_events"] == [
        {"event_id": "urn:uuid:fix", "captured": True, "seqs": [fixed_seq]}
    ]


def test_a_declaration_of_an_event_never_captured_is_refused_with_the_path(
    network: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    count = entry_count(network)
    shipped = _ship("U4", "DIST-B", now_ms() - 3_600_000, "urn:uuid:never")
    answer = client.post(CAPTURE, json=_doc(_declared(shipped)), headers=bearer("warehouse"))
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["path"] == "$.epcisBody.eventList[0].errorDeclaration"
    assert "never captured" in body["error"]
    assert entry_count(network) == count


def test_a_declaration_that_says_something_else_than_the_captured_event_is_refused(
    network: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    """A declaration repeats the event it declares: the same eventID with another
    destination is not that event (its hash ID differs), so nothing is retracted."""
    headers = bearer("warehouse")
    at = now_ms() - 3_600_000
    _post(client, headers, _doc(_ship("U6", "DIST-A", at, "urn:uuid:ship-u6")))
    count = entry_count(network)
    changed = _declared(_ship("U6", "DIST-B", at, "urn:uuid:ship-u6"))
    answer = client.post(CAPTURE, json=_doc(changed), headers=headers)
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["path"] == "$.epcisBody.eventList[0].errorDeclaration"
    assert "says something else than the event captured under that eventID" in body["error"]
    assert "with DIST-A" in body["error"] and "with DIST-B" in body["error"]
    assert entry_count(network) == count
    assert not [e for e in _history(client, headers, "U6")["entries"] if "retracted" in e]


def test_a_units_export_captured_back_through_the_api_appends_nothing(
    network: Engine, client: FlaskClient, bearer: Bearer, post_batch: PostBatch
) -> None:
    headers = bearer("admin")
    post_batch([event(1, "U1")])  # handheld: DIST-A receives U1
    shipped = _ship("U4", "DIST-B", now_ms() - 2 * DAY_MS)
    _post(client, headers, _doc(shipped))  # EPCIS without an eventID
    u6 = _ship("U6", "DIST-B", now_ms() - DAY_MS, "urn:uuid:u6")
    _post(client, headers, _doc(u6))
    _post(client, headers, _doc(_declared(u6)))
    count = entry_count(network)
    for serial in ("U1", "U4", "U6"):
        exported = client.get(f"/api/v1/units/{unit(serial)}/history?format=epcis", headers=headers)
        body = _post(client, headers, exported.get_json())
        assert body["accepted"] == 0 and body["duplicate"] == body["hops"] > 0, (serial, body)
    assert entry_count(network) == count
