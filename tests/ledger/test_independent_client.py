"""An outside auditor checks the ledger over HTTP with nothing but the specs.

Everything the client does here is written from RFC 6962/9162 and C2SP
tlog-checkpoint/signed-note directly, on purpose without importing ``ledger``:
if our server and our verifier shared a bug, this test would still catch it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

# The server side is ours; only the auditor's checks above must stay spec-only.
from ledger import EntryKind, Hop, append_hops, ensure_signing_key
from ledger.models import Party
from tests.ledger._tamper import restore, snapshot
from tests.ledger.conftest import T0, item
from web.api import ledger as ledger_api

# --- the auditor's own code, from the specs -------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(leaves: list[bytes]) -> bytes:  # RFC 6962 §2.1
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def check_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    fn, sn, r = index, size - 1, leaf  # RFC 9162 §2.1.3.2
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha256(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def check_consistency(m: int, n: int, root_m: bytes, root_n: bytes, path: list[bytes]) -> bool:
    if m == n:  # RFC 9162 §2.1.4.2
        return not path and root_m == root_n
    if not path:
        return False
    if m & (m - 1) == 0:
        path = [root_m, *path]
    fn, sn = m - 1, n - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = sha256(b"\x01" + c + fr)
            sr = sha256(b"\x01" + c + sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = sha256(b"\x01" + sr + c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root_m and sr == root_n


def open_checkpoint(note: str, name: str, key: bytes) -> tuple[int, bytes]:
    """C2SP signed-note + tlog-checkpoint: verify, then return (size, root)."""
    body, _, sigs = note.partition("\n\n")
    body += "\n"
    key_id = sha256(name.encode() + b"\n\x01" + key)[:4]
    for line in sigs.splitlines():
        dash, signer, blob = line.split(" ")
        raw = base64.b64decode(blob)
        if dash == "\u2014" and signer == name and raw[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(key).verify(raw[4:], body.encode())
            origin, size, root = body.splitlines()[:3]
            assert origin == name
            return int(size), base64.b64decode(root)
    raise AssertionError("no signature by the ledger key")


def check_kept(kept: tuple[int, bytes] | None, size: int, root: bytes, server: str) -> str | None:
    """The log must extend the checkpoint the auditor kept from its last visit (RFC
    9162 §2.1.4): never shorter, and a consistency proof from the kept tree to the
    new one. Returns what is wrong, or None."""
    if kept is None:
        return None
    kept_size, kept_root = kept
    if size < kept_size:
        return (
            f"truncated: the log has {size} entries but the checkpoint you kept covers {kept_size}"
        )
    if kept_size == 0:
        return None
    if kept_size == size:
        return None if kept_root == root else f"forked: two roots for size {size}"
    proof = fetch(f"{server}/ledger/proof/consistency?first={kept_size}&second={size}")
    path = [bytes.fromhex(h) for h in proof["path"]]
    if not check_consistency(kept_size, size, kept_root, root, path):
        return f"inconsistent: size {size} does not extend the checkpoint you kept of {kept_size}"
    return None


def visit(server: str, kept_file: Path, name: str, key: bytes) -> tuple[int, bytes, str | None]:
    """One visit: open the current checkpoint, check it against the one kept, and
    keep the new one only when it extends the old (returns size, root, problem)."""
    note = fetch(f"{server}/ledger/checkpoint")
    size, root = open_checkpoint(note, name, key)
    kept = open_checkpoint(kept_file.read_text(), name, key) if kept_file.exists() else None
    problem = check_kept(kept, size, root, server)
    if problem is None:
        kept_file.write_text(note)
    return size, root, problem


def fetch_entries(server: str, start: int, end: int, token: str) -> tuple[list[Any], int]:
    """Entries start <= seq < end, asking again from where each answer stopped: a log
    may return fewer entries than asked for (RFC 6962 §4.6 get-entries). Returns
    the entries and how many requests they took."""
    got: list[Any] = []
    requests = 0
    while start + len(got) < end:
        page = fetch(f"{server}/ledger/entries?start={start + len(got)}&end={end}", token)
        requests += 1
        if not page:
            raise AssertionError(f"the log stopped at seq {start + len(got)}, before {end}")
        assert page[0]["seq"] == start + len(got), "a page must begin where it was asked to"
        got += page
    return got, requests


# --- a real HTTP server ------------------------------------------------------------


@pytest.fixture
def server(app: Flask, engine: Engine) -> Iterator[str]:

    from ledger import EntryKind, Hop, append_hops

    with Session(engine) as session:
        session.add_all(
            [
                Party(code="MFR", name="M", kind="manufacturer"),
                Party(code="D1", name="D", kind="distributor"),
            ]
        )
        session.commit()
    hops = [Hop(item(i), EntryKind.COMMISSIONING, "MFR", T0 + i) for i in range(37)]
    hops += [
        Hop(item(i), EntryKind.SHIPPING, "MFR", T0 + 100 + i, counterparty="D1") for i in range(20)
    ]
    append_hops(engine, hops[:23])
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{http.server_port}/api/v1"
    ensure_signing_key(Path(app.instance_path))
    yield base
    http.shutdown()


def fetch(url: str, token: str | None = None) -> Any:
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {token}"} if token else {}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        data = response.read()
        return (
            data.decode()
            if response.headers.get_content_type() == "text/plain"
            else json.loads(data)
        )


def test_an_outside_auditor_verifies_everything_over_http(
    server: str,
    app: Flask,
    engine: Engine,
    bearer: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = bearer("auditor")["Authorization"].removeprefix("Bearer ")
    key_info = fetch(f"{server}/ledger/public-key")
    name, key = key_info["name"], base64.b64decode(key_info["ed25519"])

    kept = tmp_path / "kept-checkpoint.txt"
    first_size, first_root, problem = visit(server, kept, name, key)
    assert (first_size, problem) == (23, None)
    # more hops arrive; the next checkpoint must extend the first one
    append_hops(
        engine, [Hop(item(i), EntryKind.COMMISSIONING, "MFR", T0 + i) for i in range(23, 37)]
    )
    append_hops(
        engine,
        [Hop(item(i), EntryKind.SHIPPING, "MFR", T0 + 99, counterparty="D1") for i in range(20)],
    )
    app.config["CHECKPOINT_EVERY_ENTRIES"] = 1
    size, root, problem = visit(server, kept, name, key)
    assert (size, problem) == (57, None)
    assert open_checkpoint(kept.read_text(), name, key) == (57, root)

    # every entry: canonical JSON as specified, leaf hash, per-unit chain, root; the
    # server pages (at 10 here) and the auditor asks again until it has them all
    monkeypatch.setattr(ledger_api, "MAX_ENTRIES", 10)
    entries, requests = fetch_entries(server, 0, size, token)
    assert requests == 6
    assert [e["seq"] for e in entries] == list(range(size))
    leaves: list[bytes] = []
    last_by_unit: dict[str, str] = {}
    for e in entries:
        raw = base64.b64decode(e["canonical"])
        doc = json.loads(raw)
        assert (
            raw
            == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        )
        assert doc["seq"] == e["seq"] and doc["at"].endswith("Z")
        assert not any(isinstance(v, float) for v in doc.values())
        leaf = sha256(b"\x00" + raw)
        assert leaf.hex() == e["leaf_hash"]
        assert doc["prev"] == last_by_unit.get(doc["unit"], "")
        last_by_unit[doc["unit"]] = leaf.hex()
        leaves.append(leaf)
    assert mth(leaves) == root
    assert mth(leaves[:first_size]) == first_root

    for seq in (0, 22, 23, 56):
        proof = fetch(f"{server}/ledger/proof/inclusion?seq={seq}&tree_size={size}")
        path = [bytes.fromhex(h) for h in proof["path"]]
        assert proof["leaf_hash"] == leaves[seq].hex()
        assert check_inclusion(leaves[seq], seq, size, path, root)
        assert not check_inclusion(leaves[seq], (seq + 1) % size, size, path, root)

    proof = fetch(f"{server}/ledger/proof/consistency?first={first_size}&second={size}")
    path = [bytes.fromhex(h) for h in proof["path"]]
    assert check_consistency(first_size, size, first_root, root, path)
    assert not check_consistency(first_size, size, sha256(b"forged"), root, path)


def test_entries_need_an_auditor_but_proofs_are_public(server: str, bearer: Any) -> None:
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        fetch(f"{server}/ledger/entries?start=0&end=5")
    assert anonymous.value.code == 401
    distributor = bearer("distributor", party="D1")["Authorization"].removeprefix("Bearer ")
    with pytest.raises(urllib.error.HTTPError) as wrong_role:
        fetch(f"{server}/ledger/entries?start=0&end=5", distributor)
    assert wrong_role.value.code == 403
    assert fetch(f"{server}/ledger/proof/inclusion?seq=3&tree_size=10")["leaf_index"] == 3
    with pytest.raises(urllib.error.HTTPError) as too_big:
        fetch(f"{server}/ledger/proof/inclusion?seq=3&tree_size=1000")
    assert too_big.value.code == 400
    assert "tree size 1000" in json.loads(too_big.value.read())["error"]


def test_the_auditor_catches_a_log_cut_back_against_the_checkpoint_it_kept(
    server: str, app: Flask, engine: Engine, tmp_path: Path
) -> None:
    key_info = fetch(f"{server}/ledger/public-key")
    name, key = key_info["name"], base64.b64decode(key_info["ed25519"])
    kept = tmp_path / "kept-checkpoint.txt"
    app.config["CHECKPOINT_EVERY_ENTRIES"] = 1
    assert visit(server, kept, name, key)[::2] == (23, None)
    backup = snapshot(engine)  # what someone with the database can put back later
    append_hops(
        engine, [Hop(item(i), EntryKind.COMMISSIONING, "MFR", T0 + i) for i in range(23, 37)]
    )
    assert visit(server, kept, name, key)[::2] == (37, None)

    # The log is put back to 23 entries, its later checkpoints gone with it: the
    # server now signs and serves a tree of 23 as if nothing had happened...
    restore(engine, backup)
    size, _, problem = visit(server, kept, name, key)
    assert size == 23
    assert problem == "truncated: the log has 23 entries but the checkpoint you kept covers 37"
    # ...and growing it past the kept size again does not hide it either.
    append_hops(
        engine, [Hop(item(i), EntryKind.INSPECTING, "MFR", T0 + 500 + i) for i in range(20)]
    )
    size, _, problem = visit(server, kept, name, key)
    assert size == 43
    assert problem == "inconsistent: size 43 does not extend the checkpoint you kept of 37"
    assert open_checkpoint(kept.read_text(), name, key)[0] == 37  # still the honest one
