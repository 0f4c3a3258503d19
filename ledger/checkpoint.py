"""Signed checkpoints: C2SP ``tlog-checkpoint`` notes signed per C2SP ``signed-note``.

A checkpoint commits to the whole log (origin, tree size, root hash) in a few
lines of text that anyone can verify with the Ed25519 public key and nothing of
ours: the body is ``origin\\nsize\\nbase64(root)\\n``, followed by an empty line
and one signature line ``— name base64(key_id ‖ signature)``, where key_id is the
first four bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, insert, select

from ledger.keys import CheckpointError, LedgerSigner, key_id
from ledger.models import Checkpoint
from ledger.tree import read_head

__all__ = [
    "SignedCheckpoint",
    "latest_checkpoint",
    "make_checkpoint",
    "maybe_checkpoint",
    "parse_checkpoint",
]


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    note: str


def parse_checkpoint(note: str, name: str, public_key: bytes) -> SignedCheckpoint:
    """Verify ``note`` against the named key and return what it commits to."""
    body, sep, signatures = note.partition("\n\n")
    if not sep:
        raise CheckpointError("note has no blank line before its signatures")
    body += "\n"
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointError("checkpoint body must have origin, size and root lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointError(f"tree size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError as exc:
        raise CheckpointError("root hash is not base64") from exc
    if len(root) != 32:
        raise CheckpointError(f"root hash has {len(root)} bytes, expected 32")
    if origin != name:
        raise CheckpointError(f"checkpoint origin {origin!r} is not the ledger {name!r}")
    wanted = key_id(name, public_key)
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014" or parts[1] != name:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if len(blob) != 68 or blob[:4] != wanted:
            continue
        try:
            verifier.verify(blob[4:], body.encode())
        except InvalidSignature:
            raise CheckpointError("checkpoint signature does not verify") from None
        return SignedCheckpoint(origin, int(size_text), root, note)
    raise CheckpointError(f"no signature by {name} with key id {wanted.hex()}")


def make_checkpoint(engine: Engine, signer: LedgerSigner) -> SignedCheckpoint:
    """Sign the current head and keep the note; the same size is not signed twice."""
    with engine.begin() as conn:
        head = read_head(conn)
        last = conn.execute(
            select(Checkpoint.tree_size, Checkpoint.root_hash, Checkpoint.note)
            .order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc())
            .limit(1)
        ).first()
        if last is not None and int(last[0]) == head.size:
            return SignedCheckpoint(signer.name, head.size, bytes(last[1]), str(last[2]))
        root = head.root
        note = signer.sign_checkpoint(head.size, root)
        conn.execute(
            insert(Checkpoint).values(
                tree_size=head.size, root_hash=root, note=note, created_ms=int(time.time() * 1000)
            )
        )
        return SignedCheckpoint(signer.name, head.size, root, note)


def latest_checkpoint(engine: Engine) -> tuple[int, str, int] | None:
    """(tree size, note, created_ms) of the newest checkpoint, if any."""
    with engine.connect() as conn:
        row = conn.execute(
            select(Checkpoint.tree_size, Checkpoint.note, Checkpoint.created_ms)
            .order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc())
            .limit(1)
        ).first()
    return None if row is None else (int(row[0]), str(row[1]), int(row[2]))


def maybe_checkpoint(
    engine: Engine, signer: LedgerSigner, *, every_entries: int = 1000, every_seconds: float = 60.0
) -> SignedCheckpoint | None:
    """Sign a new checkpoint when ``every_entries`` were appended or ``every_seconds``
    passed since the last one (and something was appended)."""
    with engine.connect() as conn:
        size = read_head(conn).size
    last = latest_checkpoint(engine)
    if last is not None:
        grown = size - last[0]
        age = time.time() - last[2] / 1000
        if grown <= 0 or (grown < every_entries and age < every_seconds):
            return None
    return make_checkpoint(engine, signer)
