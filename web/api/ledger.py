"""The ledger, verifiable from outside: checkpoint, public key, entries and proofs.

Checkpoint, public key and proofs are public: they reveal only hashes. Entries
reveal the distribution network, so they need ``auditor`` or ``admin``.
"""

from __future__ import annotations

import base64
import contextlib

from flask import Response, abort, jsonify
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext
from sqlalchemy import Connection

from ledger import ProofError, canonical_entries, consistency_proof, inclusion_proof, verifier_key
from ledger.checkpoint import CheckpointLockTimeout, latest_checkpoint, make_checkpoint
from ledger.times import EntryTimeOutOfRange
from ledger.tree import read_head
from web.api import api_route, json_response, query_int, query_param
from web.converters import SEQ_MAX
from web.db import get_engine
from web.errors import BadParameter
from web.roles import Role
from web.signing import checkpoint_now, get_signer

MAX_ENTRIES = 1000
_HEX = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


@api_route(
    "/ledger/checkpoint",
    summary="The latest signed checkpoint (C2SP tlog-checkpoint signed note)",
    description=(
        "Signed anew when enough entries or time have passed since the last one; while "
        "writers hold the ledger lock past signing's retries, the newest stored one."
    ),
    responses={
        200: {"description": "The signed note", "content": {"text/plain": {}}},
        503: "Nothing signed yet and the ledger lock is busy; try again",
    },
    roles=None,
    tags=("ledger",),
)
def checkpoint() -> ResponseReturnValue:
    with contextlib.suppress(CheckpointLockTimeout):  # the newest stored one still verifies
        checkpoint_now()
    latest = latest_checkpoint(get_engine())
    if latest is not None:
        note = latest[1]
    else:
        try:
            note = make_checkpoint(get_engine(), get_signer()).note
        except CheckpointLockTimeout as exc:
            abort(503, str(exc))
    return Response(note, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@api_route(
    "/ledger/public-key",
    summary="The Ed25519 key that signs checkpoints",
    responses={
        200: json_response(
            "Key name (the checkpoint origin), raw key and C2SP verifier key",
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "ed25519": {"type": "string", "contentEncoding": "base64"},
                    "verifier_key": {"type": "string"},
                },
            },
        )
    },
    roles=None,
    tags=("ledger",),
)
def public_key() -> ResponseReturnValue:
    signer = get_signer()
    return {
        "name": signer.name,
        "ed25519": base64.b64encode(signer.public_key).decode(),
        "verifier_key": verifier_key(signer.name, signer.public_key),
    }


@api_route(
    "/ledger/entries",
    summary="Entries start <= seq < end with their canonical bytes and leaf hashes",
    description=(
        f"Paged as RFC 6962 section 4.6 get-entries: one answer holds at most {MAX_ENTRIES} "
        "entries, always starting at `start` (`end` is exclusive). A range wider than that "
        "is not an error: the answer holds the first entries of it, and the client asks "
        "again from the seq after the last one it got until it reaches `end`. An answer "
        "also ends early at the end of the log (entries not yet appended are not "
        "returned; an empty list when `start` is past it)."
    ),
    params=(
        query_param("start", required=True, minimum=0, maximum=SEQ_MAX),
        query_param("end", required=True, minimum=1, maximum=SEQ_MAX),
    ),
    responses={
        200: json_response(
            f"Entries in seq order, the first at seq `start`; at most {MAX_ENTRIES} of them",
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "seq": {"type": "integer"},
                        "canonical": {"type": "string", "contentEncoding": "base64"},
                        "leaf_hash": _HEX,
                    },
                },
            },
        ),
        400: "'start' or 'end' missing, not an integer, negative, or 'end' not greater "
        "than 'start'",
        409: "An entry in the range holds a time its canonical bytes cannot spell "
        "(a row changed outside the ledger); the error names its seq",
    },
    roles=(Role.AUDITOR, Role.ADMIN),
    tags=("ledger",),
)
def entries() -> ResponseReturnValue:
    start = query_int("start", minimum=0)
    end = query_int("end", minimum=1)
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise BadParameter(missing, "query parameters 'start' and 'end' are required")
    if end <= start:
        raise BadParameter(
            "end",
            f"'end' must be greater than 'start', got start={start} end={end}",
            lazy_gettext(
                "%(name)s must be greater than %(other)s, got %(other)s=%(low)s %(name)s=%(high)s",
                name="end",
                other="start",
                low=start,
                high=end,
            ),
        )
    end = min(end, start + MAX_ENTRIES)  # RFC 6962 §4.6: a page, not an error
    try:
        with get_engine().connect() as conn:
            rows = canonical_entries(conn, start, end)
    except EntryTimeOutOfRange as exc:
        abort(409, str(exc))
    return jsonify(
        [
            {"seq": seq, "canonical": base64.b64encode(data).decode(), "leaf_hash": leaf.hex()}
            for seq, data, leaf in rows
        ]
    )


@api_route(
    "/ledger/proof/inclusion",
    summary="RFC 9162 inclusion proof of entry seq in the tree of tree_size entries",
    params=(
        query_param("seq", required=True, minimum=0, maximum=SEQ_MAX),
        query_param("tree_size", required=True, minimum=1, maximum=SEQ_MAX),
    ),
    responses={
        200: json_response(
            "The audit path, leaf upward",
            {
                "type": "object",
                "properties": {
                    "leaf_index": {"type": "integer"},
                    "tree_size": {"type": "integer"},
                    "leaf_hash": _HEX,
                    "path": {"type": "array", "items": _HEX},
                },
            },
        )
    },
    roles=None,
    tags=("ledger",),
)
def proof_inclusion() -> ResponseReturnValue:
    seq = query_int("seq", minimum=0)
    size = query_int("tree_size", minimum=1)
    if seq is None or size is None:
        missing = "seq" if seq is None else "tree_size"
        raise BadParameter(missing, "query parameters 'seq' and 'tree_size' are required")
    if seq >= size:
        raise BadParameter(
            "seq",
            f"leaf index {seq} is not in a tree of size {size}",
            lazy_gettext(
                "%(name)s must be less than %(other)s: entry %(seq)s is not in a tree of "
                "%(size)s entries",
                name="seq",
                other="tree_size",
                seq=seq,
                size=size,
            ),
        )
    try:
        with get_engine().connect() as conn:
            _check_tree_size(conn, "tree_size", size)
            proof = inclusion_proof(conn, seq, size)
    except ProofError as exc:
        abort(400, str(exc))
    return proof.as_json()


def _check_tree_size(conn: Connection, name: str, size: int) -> None:
    """BadParameter naming ``name`` when the ledger holds fewer than ``size`` entries
    (the check :mod:`ledger.proofs` makes, said in the caller's language)."""
    held = read_head(conn).size
    if size > held:
        raise BadParameter(
            name,
            f"tree size {size} is not between 1 and the ledger's {held}",
            lazy_gettext(
                "%(name)s must be from 1 to %(held)s (the entries in the ledger), got %(size)s",
                name=name,
                held=held,
                size=size,
            ),
        )


@api_route(
    "/ledger/proof/consistency",
    summary="RFC 9162 consistency proof between tree sizes first and second",
    params=(
        query_param("first", required=True, minimum=1, maximum=SEQ_MAX),
        query_param("second", required=True, minimum=1, maximum=SEQ_MAX),
    ),
    responses={
        200: json_response(
            "The proof",
            {
                "type": "object",
                "properties": {
                    "first": {"type": "integer"},
                    "second": {"type": "integer"},
                    "path": {"type": "array", "items": _HEX},
                },
            },
        )
    },
    roles=None,
    tags=("ledger",),
)
def proof_consistency() -> ResponseReturnValue:
    first = query_int("first", minimum=1)
    second = query_int("second", minimum=1)
    if first is None or second is None:
        missing = "first" if first is None else "second"
        raise BadParameter(missing, "query parameters 'first' and 'second' are required")
    if first > second:
        raise BadParameter(
            "first",
            f"'first' must not be greater than 'second', got first={first} second={second}",
            lazy_gettext(
                "%(name)s must not be greater than %(other)s, got %(name)s=%(high)s "
                "%(other)s=%(low)s",
                name="first",
                other="second",
                high=first,
                low=second,
            ),
        )
    try:
        with get_engine().connect() as conn:
            _check_tree_size(conn, "second", second)
            path = consistency_proof(conn, first, second)
    except ProofError as exc:
        abort(400, str(exc))
    return {"first": first, "second": second, "path": [h.hex() for h in path]}
