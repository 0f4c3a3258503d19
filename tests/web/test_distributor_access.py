"""A distributor sees and writes only its own (issue 9, item 4), through every door:
the handheld scan API, the scan station, EPCIS capture, the units API, the trace
page and whistleblower reports; the manufacturer's staff are not bounded.

The network: MFR made serials 1..5 (sequential, as real ones are) and shipped
1 to DIST-A (addressed to it), 2 to DIST-A (received: held), 3 to DIST-B
(foreign to DIST-A), kept 4, and 5 went MFR -> DIST-A -> DIST-B (custody passed
through DIST-A). Serials 6 and up do not exist.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from ledger.ids import OBSERVATION_KINDS, gs1_check_digit, sscc_key
from ledger.models import Entry, Site
from scanners import generate_device_key, register_device

K = EntryKind
Bearer = Callable[..., dict[str, str]]
LoginAs = Callable[..., FlaskClient]
GTIN = "09506000134352"
BASE = "https://id.hopchain.example"
DAY_MS = 86_400_000
ADDRESSED, HELD, FOREIGN, KEPT, PASSED = 1, 2, 3, 4, 5
MISSING = 6
HELD_KINDS = {
    K.SHIPPING,
    K.RECEIVING,
    K.RETAIL_SELLING,
    K.RETURNING,
    K.PACKING,
    K.UNPACKING,
    K.DECOMMISSIONING,
}
# The scan station's steps (it has no commissioning, inspecting or decommissioning).
STATION_KINDS = {
    K.SHIPPING: "ship",
    K.RECEIVING: "receive",
    K.PACKING: "pack",
    K.UNPACKING: "unpack",
    K.RETAIL_SELLING: "sell",
    K.RETURNING: "return",
}
_FORM_INPUT = re.compile(r'name="(csrf_token|device_seq)"[^>]*value="([^"]*)"')


def key(serial: int) -> str:
    return f"01/{GTIN}/21/{serial:08d}"


def case() -> str:
    body = "0950600" + "0000000777"
    return sscc_key(body + str(gs1_check_digit(body)))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rfc3339(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def entries(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Entry)) or 0)


@pytest.fixture
def world(engine: Engine, make_party: Callable[..., int]) -> Engine:
    mfr = make_party("MFR", kind="manufacturer")
    make_party("DIST-A")
    make_party("DIST-B")
    make_party("DEALER-A", kind="dealer")
    with Session(engine) as session:
        session.add(
            Site(code="PLANT", name="Plant", party_id=mfr, lat_e6=48_000_000, lon_e6=11_000_000)
        )
        session.commit()
    t = itertools.count(now_ms() - 3 * DAY_MS, 1000)
    hops = [Hop(key(s), K.COMMISSIONING, "MFR", next(t), site="PLANT") for s in range(1, 6)]
    hops += [
        Hop(key(ADDRESSED), K.SHIPPING, "MFR", next(t), counterparty="DIST-A"),
        Hop(key(HELD), K.SHIPPING, "MFR", next(t), counterparty="DIST-A"),
        Hop(key(HELD), K.RECEIVING, "DIST-A", next(t), restricted=True),
        Hop(key(FOREIGN), K.SHIPPING, "MFR", next(t), counterparty="DIST-B"),
        Hop(key(PASSED), K.SHIPPING, "MFR", next(t), counterparty="DIST-A"),
        Hop(key(PASSED), K.RECEIVING, "DIST-A", next(t), restricted=True),
        Hop(key(PASSED), K.SHIPPING, "DIST-A", next(t), counterparty="DIST-B", restricted=True),
        Hop(key(PASSED), K.RECEIVING, "DIST-B", next(t), restricted=True),
    ]
    results = append_hops(engine, hops)
    assert {r.status for r in results} == {"accepted"}, [r.reason for r in results]
    return engine


# --- the three ways a distributor writes --------------------------------------------------


@dataclass
class Answer:
    status: str
    reason: str


Submit = Callable[[EntryKind, str], Answer]


def _scan_event(kind: EntryKind, unit: str, seq: int) -> dict[str, Any]:
    gtin, serial = unit.split("/")[1], unit.split("/")[3]
    event: dict[str, Any] = {
        "device_seq": seq,
        "scanned_at": rfc3339(now_ms() - 60_000),
        "kind": kind.value,
        "code": f"(01){gtin}(21){serial}",
    }
    if kind in (K.SHIPPING, K.RETURNING):
        event["counterparty"] = "DEALER-A"
    if kind is K.PACKING:
        event["container"] = "(00)" + case().removeprefix("00/")
    return event


def _handheld(world: Engine, client: FlaskClient, party: str = "DIST-A") -> Submit:
    pem, public_b64 = generate_device_key()
    device = f"HH-{party}"
    with Session(world) as session:
        register_device(session, device, public_b64, party)
        session.commit()
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, Ed25519PrivateKey)
    seqs = itertools.count(1)

    def submit(kind: EntryKind, unit: str) -> Answer:
        body = json.dumps(
            {"device_id": device, "events": [_scan_event(kind, unit, next(seqs))]}
        ).encode()
        answer = client.post(
            "/api/v1/scans",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Signature": base64.b64encode(private.sign(body)).decode(),
            },
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        (result,) = answer.get_json()["results"]
        return Answer(result["status"], result.get("reason", ""))

    return submit


def _station(browser: FlaskClient, party: str | None = None) -> Submit:
    page = browser.get("/scan/").get_data(as_text=True)
    fields = dict(_FORM_INPUT.findall(page))
    state = {"seq": int(fields["device_seq"])}

    def submit(kind: EntryKind, unit: str) -> Answer:
        gtin, serial = unit.split("/")[1], unit.split("/")[3]
        form = {
            "csrf_token": fields["csrf_token"],
            "device_seq": str(state["seq"]),
            "kind": STATION_KINDS[kind],
            "code": f"(01){gtin}(21){serial}",
            "counterparty": "DEALER-A" if kind in (K.SHIPPING, K.RETURNING) else "",
            "container": "(00)" + case().removeprefix("00/") if kind is K.PACKING else "",
        }
        if party is not None:
            form["party"] = party
        answer = browser.post(
            "/scan/scan.json", data=form, headers={"X-CSRFToken": fields["csrf_token"]}
        )
        body = answer.get_json()
        state["seq"] = int(body["next_seq"])
        (scan,) = body["scans"]
        return Answer(scan["status"], scan["message"])

    return submit


def _epcis_event(kind: EntryKind, unit: str, n: int) -> dict[str, Any]:
    uri = f"{BASE}/{unit}"
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventID": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
        "eventTime": rfc3339(now_ms() - 60_000),
        "eventTimeZoneOffset": "+00:00",
        "bizStep": "hc:returning" if kind is EntryKind.RETURNING else kind.value,  # not in CBV
        "epcList": [uri],
    }
    if kind is K.COMMISSIONING:
        event["action"] = "ADD"
    elif kind is K.DECOMMISSIONING:
        event["action"] = "DELETE"
    elif kind in (K.PACKING, K.UNPACKING):
        event = {
            **{k: v for k, v in event.items() if k not in ("epcList", "bizStep")},
            "type": "AggregationEvent",
            "action": "ADD" if kind is K.PACKING else "DELETE",
            "parentID": f"{BASE}/{case()}",
            "childEPCs": [uri],
        }
    if kind in (K.SHIPPING, K.RETURNING):
        event["destinationList"] = [
            {"type": "owning_party", "destination": f"{BASE}/party/DEALER-A"}
        ]
    return event


def _epcis(client: FlaskClient, headers: dict[str, str]) -> Submit:
    ids = itertools.count(1)

    def submit(kind: EntryKind, unit: str) -> Answer:
        doc = {
            "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": rfc3339(now_ms()),
            "epcisBody": {"eventList": [_epcis_event(kind, unit, next(ids))]},
        }
        answer = client.post("/api/v1/epcis/capture", json=doc, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        (result,) = answer.get_json()["results"]
        return Answer(result["status"], result.get("reason", ""))

    return submit


def _channel(
    name: str, world: Engine, client: FlaskClient, bearer: Bearer, login_as: LoginAs
) -> tuple[Submit, list[EntryKind]]:
    if name == "scan API":
        return _handheld(world, client), list(OBSERVATION_KINDS)
    if name == "station":
        # warehouse staff of DIST-A: the station records for the person's own party
        return _station(login_as("warehouse", "DIST-A")), list(STATION_KINDS)
    return _epcis(client, bearer("distributor", "DIST-A")), list(OBSERVATION_KINDS)


@pytest.mark.parametrize("channel", ["scan API", "station", "EPCIS"])
def test_every_kind_by_a_distributor_on_held_addressed_and_foreign_units(
    world: Engine,
    client: FlaskClient,
    bearer: Bearer,
    login_as: LoginAs,
    channel: str,
) -> None:
    submit, kinds = _channel(channel, world, client, bearer, login_as)
    # The addressed unit's receiving comes last: it makes the unit held.
    plan = [(k, FOREIGN) for k in kinds] + [(k, KEPT) for k in kinds]
    plan += [(k, ADDRESSED) for k in kinds if k is not K.RECEIVING] + [(K.RECEIVING, ADDRESSED)]
    plan += [(k, HELD) for k in kinds] + [(k, MISSING) for k in kinds]
    for kind, serial in plan:
        if serial == HELD:
            expected = "accepted" if kind in HELD_KINDS else "rejected"
        elif serial == ADDRESSED:
            expected = "accepted" if kind is K.RECEIVING else "rejected"
        else:
            expected = "rejected"
        before = entries(world)
        answer = submit(kind, key(serial))
        assert answer.status == expected, (channel, kind.value, serial, answer.reason)
        if expected == "rejected":
            assert entries(world) == before
            assert key(serial) in answer.reason and "DIST-A" in answer.reason
            assert kind.value in answer.reason
            assert "DIST-B" not in answer.reason and "MFR" not in answer.reason
        else:
            assert entries(world) > before
    # What it wrote and what it tried gave it no sight of units not handed to it.
    token = bearer("distributor", "DIST-A")
    for serial, status in ((FOREIGN, 404), (KEPT, 404), (MISSING, 404), (HELD, 200)):
        assert client.get(f"/api/v1/units/{key(serial)}", headers=token).status_code == status


def test_the_issue_case_an_inspection_captured_on_a_foreign_unit(
    world: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    token = bearer("distributor", "DIST-A")
    before = entries(world)
    answer = _epcis(client, token)(K.INSPECTING, key(FOREIGN))
    assert answer.status == "rejected"
    assert answer.reason.startswith(f"inspecting of {key(FOREIGN)} by DIST-A refused")
    assert entries(world) == before
    for path in ("", "/history", "/history?format=epcis"):
        seen = client.get(f"/api/v1/units/{key(FOREIGN)}{path}", headers=token)
        none = client.get(f"/api/v1/units/{key(MISSING)}{path}", headers=token)
        assert (seen.status_code, none.status_code) == (404, 404)
        assert seen.get_data(as_text=True).replace(key(FOREIGN), "KEY") == none.get_data(
            as_text=True
        ).replace(key(MISSING), "KEY")


def test_sequential_serials_cannot_be_enumerated(
    world: Engine, client: FlaskClient, bearer: Bearer, login_as: LoginAs
) -> None:
    token = bearer("distributor", "DIST-A")
    answers = {
        serial: client.get(f"/api/v1/units/{key(serial)}/history", headers=token)
        for serial in range(1, 10)
    }
    readable = {s for s, a in answers.items() if a.status_code == 200}
    assert readable == {ADDRESSED, HELD, PASSED}
    bodies = {
        (a.status_code, a.get_data(as_text=True).replace(key(s), "KEY"))
        for s, a in answers.items()
        if s not in readable
    }
    assert len(bodies) == 1  # the existing units 3 and 4 answer like 6..9
    browser = login_as("distributor", "DIST-A")
    pages = {
        s: browser.get("/trace/", query_string={"q": key(s)}) for s in (FOREIGN, KEPT, MISSING)
    }
    assert {p.status_code for p in pages.values()} == {404}
    # every page carries the session's CSRF token, signed with the second it was made
    # (Flask-WTF): that stamp is the clock, not the unit, so it is set aside
    token = re.compile(r'name="csrf_token" value="[^"]*"')
    seen = {
        token.sub("CSRF", p.get_data(as_text=True).replace(key(s), "KEY")) for s, p in pages.items()
    }
    assert len(seen) == 1


def test_allocated_addressed_held_and_past_custody_are_readable(
    world: Engine, client: FlaskClient, bearer: Bearer, login_as: LoginAs
) -> None:
    dist_a, dist_b = bearer("distributor", "DIST-A"), bearer("distributor", "DIST-B")
    history = client.get(f"/api/v1/units/{key(PASSED)}/history", headers=dist_a)
    assert history.status_code == 200
    assert [e["party"] for e in history.get_json()["entries"]] == [
        "MFR",
        "MFR",
        "DIST-A",
        "DIST-A",
        "DIST-B",
    ]
    for serial, a, b in (
        (ADDRESSED, 200, 404),
        (HELD, 200, 404),
        (FOREIGN, 404, 200),
        (KEPT, 404, 404),
        (PASSED, 200, 200),
    ):
        assert client.get(f"/api/v1/units/{key(serial)}", headers=dist_a).status_code == a
        assert client.get(f"/api/v1/units/{key(serial)}", headers=dist_b).status_code == b
    page = login_as("distributor", "DIST-A").get("/trace/", query_string={"q": key(PASSED)})
    assert page.status_code == 200 and key(PASSED) in page.get_data(as_text=True)


def test_entries_a_distributor_wrote_or_tried_grant_no_read_access(
    world: Engine, client: FlaskClient, bearer: Bearer, login_as: LoginAs
) -> None:
    token = bearer("distributor", "DIST-A")
    # A rejected scan from its handheld...
    assert _handheld(world, client)(K.INSPECTING, key(FOREIGN)).status == "rejected"
    # ...and an anomaly recorded in its name by the manufacturer's staff: DIST-A
    # "received" the unit shipped to DIST-B, and holds it now.
    staff = _station(login_as("warehouse"), party="DIST-A")
    recorded = staff(K.RECEIVING, key(FOREIGN))
    assert recorded.status == "accepted" and "shipped to DIST-B" in recorded.reason
    assert (
        client.get(f"/api/v1/units/{key(FOREIGN)}", headers=bearer("admin")).get_json()["holder"]
        == "DIST-A"
    )
    assert client.get(f"/api/v1/units/{key(FOREIGN)}", headers=token).status_code == 404
    # A whistleblower report is not a ledger entry and grants nothing either.
    before = entries(world)
    report = client.post(
        "/api/v1/reports",
        json={"unit": key(KEPT), "seen_at": "2026-10-05T14:30", "note": "seen at a fair"},
        headers=token,
    )
    assert report.status_code == 201, report.get_data(as_text=True)
    assert entries(world) == before
    assert client.get(f"/api/v1/units/{key(KEPT)}", headers=token).status_code == 404


def test_the_manufacturers_staff_are_not_bounded(
    world: Engine, client: FlaskClient, bearer: Bearer, login_as: LoginAs
) -> None:
    warehouse = bearer("warehouse")
    # EPCIS events naming no party are recorded as the caller's party: the
    # manufacturer's staff name theirs.
    doc_event = _epcis_event(K.INSPECTING, key(FOREIGN), 99) | {
        "sourceList": [{"type": "owning_party", "source": f"{BASE}/party/MFR"}]
    }
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": rfc3339(now_ms()),
        "epcisBody": {"eventList": [doc_event]},
    }
    answer = client.post("/api/v1/epcis/capture", json=doc, headers=warehouse).get_json()
    assert answer["accepted"] == 1, answer
    for serial in (ADDRESSED, FOREIGN, KEPT, PASSED):
        assert client.get(f"/api/v1/units/{key(serial)}", headers=warehouse).status_code == 200
    station = _station(login_as("warehouse"), party="MFR")
    assert station(K.SHIPPING, key(KEPT)).status == "accepted"


def test_staff_and_devices_of_a_distributor_or_dealer_are_bounded_like_it(
    world: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    # A warehouse token of DIST-A's (not the distributor role) reads and writes as DIST-A.
    staff = bearer("warehouse", "DIST-A")
    assert client.get(f"/api/v1/units/{key(FOREIGN)}", headers=staff).status_code == 404
    assert client.get(f"/api/v1/units/{key(HELD)}", headers=staff).status_code == 200
    assert _epcis(client, staff)(K.INSPECTING, key(FOREIGN)).status == "rejected"
    # A dealer's handheld records only what is addressed to or held by the dealer.
    dealer = _handheld(world, client, party="DEALER-A")
    assert dealer(K.RECEIVING, key(FOREIGN)).status == "rejected"
    assert _handheld(world, client)(K.SHIPPING, key(HELD)).status == "accepted"  # to DEALER-A
    assert dealer(K.RECEIVING, key(HELD)).status == "accepted"


def test_an_event_id_another_party_used_reveals_nothing_of_its_event(
    world: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    """EPCIS eventIDs are one namespace for every party: a distributor reusing one
    learns neither the unit nor the time of the event stored under it."""
    event = _epcis_event(K.INSPECTING, key(FOREIGN), 7) | {
        "sourceList": [{"type": "owning_party", "source": f"{BASE}/party/MFR"}]
    }
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": rfc3339(now_ms()),
        "epcisBody": {"eventList": [event]},
    }
    assert (
        client.post("/api/v1/epcis/capture", json=doc, headers=bearer("warehouse")).status_code
        == 200
    )
    before = entries(world)
    # DIST-A sends its own receipt of HELD under the same eventID.
    mine = _epcis_event(K.RECEIVING, key(HELD), 7)
    assert mine["eventID"] == event["eventID"]
    doc["epcisBody"] = {"eventList": [mine]}
    answer = client.post("/api/v1/epcis/capture", json=doc, headers=bearer("distributor", "DIST-A"))
    (result,) = answer.get_json()["results"]
    assert result["status"] == "conflict"
    assert key(FOREIGN) not in result["reason"] and "inspecting" not in result["reason"]
    assert "eventID" in result["reason"]
    assert entries(world) == before
