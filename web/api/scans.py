"""Scans into the ledger: signed handheld batches and EPCIS 2.0 capture.

``POST /api/v1/scans`` is authenticated by the device's Ed25519 signature over the
raw body (``X-Signature``), not by a token or a cookie: it is public in the role
sense and exempt from CSRF (another site can make a browser send a request, never
sign one). ``POST /api/v1/epcis/capture`` takes a whole EPCIS document from a
signed-in warehouse, admin or distributor caller.

Both only parse, call :mod:`scanners`, append with :func:`ledger.append_hops` and
answer; checkpoints are signed in the background (:mod:`web.checkpointer`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from flask import abort, jsonify, request
from flask.typing import ResponseReturnValue

from ledger import Hop, HopResult
from scanners import (
    BatchFormatError,
    DeviceAuthError,
    EpcisError,
    database_resolvers,
    finish_capture,
    handle_scan_batch,
    plan_capture,
)
from web.api import api_route, json_response
from web.db import get_session
from web.ingest import append
from web.party_scope import custody_scope
from web.roles import Role
from web.security import csrf_exempt, current_principal

#: Largest scan batch body accepted (the batch protocol allows 10,000 events).
MAX_SCAN_BODY = 4 * 1024 * 1024
#: Largest EPCIS document accepted.
MAX_EPCIS_BODY = 8 * 1024 * 1024

_NEXT_DEVICE_SEQ = {
    "type": "integer",
    "minimum": 1,
    "description": "1 + the highest device_seq the server holds for this device "
    "(1 when it holds none): where the device renumbers its unsent scans from",
}
_RESULT = {
    "type": "object",
    "required": ["device_seq", "status"],
    "properties": {
        "device_seq": {"type": ["integer", "null"]},
        "status": {"enum": ["accepted", "duplicate", "conflict", "rejected"]},
        "seqs": {"type": "array", "items": {"type": "integer"}},
        "reason": {"type": "string"},
        "anomaly": {"type": "string"},
        "flags": {"type": "array", "items": {"type": "string"}},
        "next_device_seq": _NEXT_DEVICE_SEQ,
    },
}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _append_after_reads(hops: list[Hop]) -> Sequence[HopResult]:
    get_session().rollback()  # end the request's read transaction before appending
    return append(hops)


def _raw_body(limit: int) -> bytes:
    """The request body, 413 (JSON) when it is longer than ``limit`` bytes.

    The limit is checked here in so many words, not only through
    ``request.max_content_length``: a hook that looked at ``request.form`` before
    this view has already opened the body stream with the app's limit (none).
    """
    request.max_content_length = limit  # bounds a body sent without a length, if unread
    length = request.content_length
    if length is not None and length > limit:
        abort(413, f"the body is {length} bytes; at most {limit} are accepted")
    data = request.get_data(cache=False)
    if len(data) > limit:
        abort(413, f"the body is longer than {limit} bytes, the most accepted")
    return data


@api_route(
    "/scans",
    methods=("POST",),
    summary="Upload a signed batch of handheld scans",
    description=(
        "Authentication is the device's signature, not a token: `X-Signature` is "
        "base64 Ed25519 over the raw body, by the key registered for `device_id` "
        "(`hopchain device register`). An unknown or revoked device or a missing or "
        "bad signature answers 401 and stores nothing. Each event is answered in body "
        "order: `accepted` (with the ledger `seqs`), `duplicate` (a replay of "
        "`device_id` + `device_seq` saying what was stored, with the original seqs; "
        "nothing appended), `conflict` (that `device_seq` already holds a different "
        "scan, e.g. from a device whose queue was recreated; nothing appended, the "
        "`reason` names both scans and `next_device_seq` says where the device must "
        "renumber its unsent scans from before sending them again) or `rejected` (with "
        "the `reason`, naming the field and value); valid events commit together. A "
        "value out of range (a time before 2000-01-01T00:00:00Z or more than 30 days "
        "ahead of the server clock, coordinates outside the globe or with huge "
        "exponents, over-long codes, NUL characters) rejects only its event; only a "
        "body that is no batch at all answers 400 (NaN and Infinity are not JSON). An "
        "event 5 minutes to 30 days ahead of the server clock is recorded with the "
        "device's time, flagged `clock_skew:+<seconds>s`, and the ledger entry notes "
        "it. The answer's `next_device_seq` is read after the batch; an empty batch "
        '(`"events": []`, signed like any other) asks for it alone.'
    ),
    params=(
        {
            "name": "X-Signature",
            "in": "header",
            "required": True,
            "description": "base64 Ed25519 signature of the raw request body",
            "schema": {"type": "string", "contentEncoding": "base64"},
        },
    ),
    request_body={
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["device_id", "events"],
                    "properties": {
                        "device_id": {"type": "string", "minLength": 1, "maxLength": 64},
                        "events": {
                            "type": "array",
                            "maxItems": 10_000,
                            "items": {
                                "type": "object",
                                "required": ["device_seq", "scanned_at", "kind", "code"],
                                "properties": {
                                    "device_seq": {
                                        "type": "integer",
                                        "minimum": 0,
                                        "maximum": 2**63 - 1,
                                    },
                                    "scanned_at": {
                                        "type": "string",
                                        "format": "date-time",
                                        "description": "from 2000-01-01T00:00:00Z to 30 "
                                        "days ahead of the server clock",
                                    },
                                    "kind": {"type": "string"},
                                    "code": {"type": "string", "maxLength": 512},
                                    "counterparty": {
                                        "type": "string",
                                        "minLength": 1,
                                        "maxLength": 64,
                                    },
                                    "container": {"type": "string", "maxLength": 512},
                                    "lat": {"type": ["number", "string"]},
                                    "lon": {"type": ["number", "string"]},
                                },
                            },
                        },
                    },
                }
            }
        },
    },
    responses={
        200: json_response(
            "One result per event, in body order",
            {
                "type": "object",
                "required": ["device_id", "results", "next_device_seq"],
                "properties": {
                    "device_id": {"type": "string"},
                    "results": {"type": "array", "items": _RESULT},
                    "next_device_seq": _NEXT_DEVICE_SEQ,
                },
            },
        ),
        400: "The body is not a scan batch (nothing stored)",
        401: "Unknown or revoked device, missing or bad signature (nothing stored)",
        413: f"Body larger than {MAX_SCAN_BODY} bytes",
    },
    roles=None,
    tags=("scans",),
)
@csrf_exempt
def post_scans() -> ResponseReturnValue:
    body = _raw_body(MAX_SCAN_BODY)
    try:
        response = handle_scan_batch(
            get_session(),
            body,
            request.headers.get("X-Signature"),
            _append_after_reads,
            now_ms=_now_ms(),
        )
    except BatchFormatError as exc:
        abort(400, str(exc))
    except DeviceAuthError as exc:
        abort(401, str(exc))
    return jsonify(response.to_json())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


#: A distributor's conflict answer: the stored event may be another party's.
_CONFLICT = (
    "another event with this eventID is stored and says something else; nothing was "
    "recorded: give this event an eventID of its own"
)


def _epcis_party() -> str | None:
    """The party whose steps a caller may capture: a distributor's own (its hops then
    act only within its custody, :mod:`ledger.permissions`); None = any."""
    return custody_scope(current_principal())


@api_route(
    "/epcis/capture",
    methods=("POST",),
    summary="Capture an EPCIS 2.0 JSON-LD document into the ledger",
    description=(
        "Every event becomes ledger hops (ObjectEvent, AggregationEvent, "
        "TransactionEvent; SGTIN/SSCC URNs or GS1 Digital Link URIs; our party and "
        "site ids). Any problem refuses the whole document: 400 with `path`, the JSON "
        "path of the first error; an `eventTime` before 2000-01-01T00:00:00Z or more "
        "than 30 days ahead of the server clock is such a problem. Every event is "
        "named by its `eventID`, else by its EPCIS event hash ID (CBV 2.0 §8.9, which "
        "ignores `eventID`, `recordTime` and `errorDeclaration`): an event whose "
        "eventID or hash ID was captured before, or whose eventID names one of our "
        "ledger entries (`urn:hopchain:entry:<seq>:<leaf hash>`, what the unit "
        "history export writes for entries not captured from EPCIS), is a duplicate "
        "as a whole: nothing appended, each hop answers `duplicate` with the seqs it "
        "was stored under, or `conflict` when the stored event says something else "
        "about that unit. So capturing a unit's `?format=epcis` export back appends "
        "nothing. An event carrying `errorDeclaration` (EPCIS 2.0 §7.4.1.2: "
        "`declarationTime` required, `reason` a CBV ER- value, `correctiveEventIDs`) "
        "retracts the captured event it repeats (found by eventID or hash ID): one "
        "`error_declaration` entry per ledger entry of that event, naming its seq "
        "(result kind `error_declaration`; sending it again answers `duplicate`); "
        "custody, detection and settlement then ignore the retracted entries, and "
        "the unit's history links the corrective events whenever they arrive. A "
        "declaration of an event never captured refuses the document at its "
        "`errorDeclaration` path; bizStep `error_declaration` is no observation. "
        "Events that "
        "name no party are recorded as the caller's party; a distributor may capture "
        "only steps performed by its own party, on units in its custody or addressed "
        "to it (any other hop is `rejected` with the reason; commissioning and "
        "inspecting never)."
    ),
    request_body={
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    responses={
        200: json_response(
            "One result per hop, in document order",
            {
                "type": "object",
                "properties": {
                    "hops": {"type": "integer"},
                    "accepted": {"type": "integer"},
                    "duplicate": {"type": "integer"},
                    "conflict": {"type": "integer"},
                    "rejected": {"type": "integer"},
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "unit": {"type": "string"},
                                "kind": {"type": "string"},
                                "status": {
                                    "enum": ["accepted", "duplicate", "conflict", "rejected"]
                                },
                                "seqs": {"type": "array", "items": {"type": "integer"}},
                                "reason": {"type": "string"},
                                "anomaly": {"type": "string"},
                            },
                        },
                    },
                },
            },
        ),
        400: json_response(
            "Not JSON, or not a valid EPCIS 2.0 document (nothing stored)",
            {
                "type": "object",
                "properties": {
                    "error": {"type": "string"},
                    "status": {"type": "integer"},
                    "path": {"type": "string"},
                },
            },
        ),
        403: "A distributor capturing steps of another party",
        413: f"Body larger than {MAX_EPCIS_BODY} bytes",
    },
    roles=(Role.WAREHOUSE, Role.ADMIN, Role.DISTRIBUTOR),
    tags=("scans", "epcis"),
)
def epcis_capture() -> ResponseReturnValue:
    body = _raw_body(MAX_EPCIS_BODY)
    try:
        doc = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        abort(400, f"the body is not valid JSON: {exc}")
    principal = current_principal()
    default_party = principal.party_code if principal is not None else None
    session = get_session()
    now = _now_ms()
    try:
        plan = plan_capture(
            session, doc, database_resolvers(session, default_party=default_party), now_ms=now
        )
    except EpcisError as exc:
        return jsonify(error=str(exc), status=400, path=exc.path), 400
    own = _epcis_party()
    if own is not None:
        foreign = next((h for h in plan.hops if h.party != own), None)
        if foreign is not None:
            abort(
                403,
                f"the document records a {foreign.kind.value} step by party "
                f"{foreign.party!r} for {foreign.unit}; a distributor captures only "
                f"steps of its own party {own!r}",
            )
        plan = plan.restricted()
    hops = plan.hops
    session.rollback()  # end the reads' transaction before the append
    results = finish_capture(session, plan, append(plan.to_append()), now_ms=now)
    if own is not None:  # eventIDs are shared by all parties: name no stored event
        results = [r._replace(reason=_CONFLICT) if r.status == "conflict" else r for r in results]
    rows: list[dict[str, Any]] = []
    counts = {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
    for hop, result in zip(hops, results, strict=True):
        counts[result.status] += 1
        row: dict[str, Any] = {"unit": hop.unit, "kind": hop.kind.value, "status": result.status}
        if result.status in ("accepted", "duplicate"):
            row["seqs"] = list(result.seqs)
        if result.reason:
            row["reason"] = result.reason
        if result.anomaly:
            row["anomaly"] = result.anomaly
        rows.append(row)
    return jsonify(hops=len(hops), **counts, results=rows)
