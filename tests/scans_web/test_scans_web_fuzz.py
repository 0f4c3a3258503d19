"""Whatever arrives at POST /api/v1/scans and /api/v1/epcis/capture, the answer is
never a 500: arbitrary bytes, arbitrary JSON, and signed batches and EPCIS
documents whose fields hold arbitrary values."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from _scans_web import PALLET, HandheldKey, PostBatch, hri, now_ms, rfc3339
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

EXAMPLES = settings(max_examples=200, deadline=None, database=None)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)


def _times() -> st.SearchStrategy[Any]:
    now = now_ms()
    return (
        st.sampled_from(
            [
                rfc3339(now),
                rfc3339(now + 3_600_000),
                "0001-01-01T00:00:00Z",
                "9999-12-31T23:59:59.999+14:00",
                "2026-02-30T10:00:00Z",
                "2026-03-01T25:00:00Z",
                "2026-03-01 10:00:00-23:59",
            ]
        )
        | json_values
    )


_codes = st.sampled_from(
    [hri("U1"), hri("U4"), hri("Z9"), f"(00){PALLET[3:]}", "https://id.gs1.org/01/09506000134352/21/U2",
     "(01)09506000134352", "]C1010950600013435221U3", "urn:epc:id:sgtin:0614141.107346.2017", "\x1d", ""]
) | st.text(max_size=40) | json_values  # fmt: skip

_event = st.fixed_dictionaries(
    {},
    optional={
        "device_seq": st.integers(min_value=-5, max_value=2**64) | json_values,
        "scanned_at": _times(),
        "kind": st.sampled_from(
            [
                "ship",
                "receive",
                "pack",
                "unpack",
                "sell",
                "return",
                "commissioning",
                "decommission",
                "inspect",
                "SHIP",
                "x",
            ]
        )
        | json_values,
        "code": _codes,
        "counterparty": st.sampled_from(["MFR", "DIST-A", "DIST-B", "NOPE", "", "x" * 65])
        | json_values,
        "container": st.sampled_from([f"(00){PALLET[3:]}", hri("U1"), "junk"]) | json_values,
        "lat": st.sampled_from(["48.8566", 91, "-0.0000005", "1e400", "NaN", 45.5]) | json_values,
        "lon": st.sampled_from(["2.3522", -181, 180, "Infinity"]) | json_values,
    },
)


def test_scans_never_answer_500_for_arbitrary_bytes_or_json(
    network: Engine, post_batch: PostBatch, handheld: HandheldKey
) -> None:
    @EXAMPLES
    @given(body=st.binary(max_size=600) | json_values.map(lambda v: json.dumps(v).encode()),
           signed=st.booleans())  # fmt: skip
    def check(body: bytes, signed: bool) -> None:
        answer = post_batch([], body=body, signature=handheld.sign(body) if signed else "AAAA")
        assert answer.status_code in (400, 401), (answer.status_code, body)
        assert answer.get_json()["status"] == answer.status_code

    check()


def test_signed_batches_with_arbitrary_fields_never_answer_500(
    network: Engine, post_batch: PostBatch
) -> None:
    @EXAMPLES
    @given(events=st.lists(_event, max_size=6))
    def check(events: list[dict[str, Any]]) -> None:
        answer = post_batch(events)
        assert answer.status_code == 200, (answer.status_code, answer.get_data(as_text=True))
        results = answer.get_json()["results"]
        assert len(results) == len(events)
        assert {r["status"] for r in results} <= {"accepted", "duplicate", "rejected"}

    check()


_TEMPLATE: dict[str, Any] = {
    "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2026-10-01T10:00:00Z",
    "epcisBody": {
        "eventList": [
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "eventTime": "2026-10-01T09:30:00.000Z",
                "eventTimeZoneOffset": "+00:00",
                "bizStep": "receiving",
                "epcList": ["https://id.hopchain.example/01/09506000134352/21/U1"],
                "sourceList": [{"type": "owning_party", "source": "https://id.hopchain.example/party/MFR"}],
                "destinationList": [{"type": "owning_party", "destination": "https://id.hopchain.example/party/DIST-A"}],
                "bizLocation": {"id": "https://id.hopchain.example/site/MFR-PLANT"},
                "readPoint": {"id": "geo:48.8566,2.3522"},
            },
            {
                "type": "AggregationEvent",
                "action": "ADD",
                "eventTime": "2026-10-01T09:31:00Z",
                "eventTimeZoneOffset": "+00:00",
                "parentID": "urn:epc:id:sscc:0614141.1234567890",
                "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017"],
                "hc:party": "https://id.hopchain.example/party/MFR",
            },
        ]
    },
}  # fmt: skip
_FIELDS = ["type", "action", "eventTime", "eventTimeZoneOffset", "bizStep", "epcList",
           "sourceList", "destinationList", "bizLocation", "readPoint", "parentID",
           "childEPCs", "hc:party", "hc:container", "eventID", "disposition"]  # fmt: skip


def _mutated_documents() -> st.SearchStrategy[Any]:
    def mutate(changes: list[tuple[int, str, Any]], top: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(_TEMPLATE)
        events = doc["epcisBody"]["eventList"]
        for index, name, value in changes:
            events[index % len(events)][name] = value
        doc.update(top)
        return doc

    change = st.tuples(st.integers(0, 1), st.sampled_from(_FIELDS), json_values | _codes)
    top = st.dictionaries(st.sampled_from(["@context", "type", "schemaVersion", "creationDate", "epcisBody"]),
                          json_values, max_size=1)  # fmt: skip
    return st.builds(mutate, st.lists(change, max_size=4), top)


def test_epcis_capture_never_answers_500(
    network: Engine, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    headers = {**bearer("warehouse"), "Content-Type": "application/json"}

    @EXAMPLES
    @given(doc=json_values | _mutated_documents(), raw=st.none() | st.binary(max_size=200))
    def check(doc: Any, raw: bytes | None) -> None:
        body = raw if raw is not None else json.dumps(doc).encode()
        answer = client.post("/api/v1/epcis/capture", data=body, headers=headers)
        assert answer.status_code in (200, 400), (answer.status_code, answer.get_data(as_text=True))
        if answer.status_code == 400:
            assert answer.get_json()["error"]

    check()
