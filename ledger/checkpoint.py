"""Signed checkpoints: C2SP ``tlog-checkpoint`` notes signed per C2SP ``signed-note``.

A checkpoint commits to the whole log (origin, tree size, root hash) in a few
lines of text that anyone can verify with the Ed25519 public key and nothing of
ours: the body is ``origin\\nsize\\nbase64(root)\\n``, followed by an empty line
and one signature line ``— name base64(key_id ‖ signature)``, where key_id is the
first four bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, insert, select

from ledger.models import Checkpoint
from ledger.tree import read_head

__all__ = [
    "CheckpointError",
    "LedgerSigner",
    "SignedCheckpoint",
    "ensure_signing_key",
    "key_id",
    "latest_checkpoint",
    "make_checkpoint",
    "maybe_checkpoint",
    "parse_checkpoint",
    "verifier_key",
]

ED25519_ALG = b"\x01"
KEY_FILE = "ledger_signing_key.pem"
NAME_FILE = "ledger_name"
DEFAULT_NAME = "hopchain.example/ledger"
_NAME = re.compile(r"^[^\s+]+$")


class CheckpointError(ValueError):
    """A checkpoint note that is malformed or whose signature does not verify."""


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_ALG + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The C2SP verifier key string ``name+hex(key_id)+base64(0x01 ‖ key)``."""
    blob = base64.b64encode(ED25519_ALG + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{blob}"


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    note: str


class LedgerSigner:
    """The ledger's Ed25519 key and name; the name is also the checkpoint origin."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _NAME.match(name):
            raise CheckpointError(f"ledger name {name!r} must be non-empty without spaces or '+'")
        self.name = name
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def load(cls, instance: Path) -> LedgerSigner:
        key_path = instance / KEY_FILE
        if not key_path.exists():
            raise CheckpointError(f"no signing key at {key_path}: run `hopchain init` first")
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointError(f"{key_path} is not an Ed25519 private key")
        name_path = instance / NAME_FILE
        name = name_path.read_text().strip() if name_path.exists() else DEFAULT_NAME
        return cls(name, key)

    def sign_checkpoint(self, tree_size: int, root_hash: bytes) -> str:
        body = f"{self.name}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n"
        signature = self._key.sign(body.encode())
        blob = base64.b64encode(key_id(self.name, self.public_key) + signature).decode()
        return f"{body}\n\u2014 {self.name} {blob}\n"


def ensure_signing_key(instance: Path, name: str | None = None) -> Path:
    """Create the ledger key (mode 0600) and name file once; never overwrite a key."""
    instance.mkdir(parents=True, exist_ok=True)
    key_path = instance / KEY_FILE
    if not key_path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    name_path = instance / NAME_FILE
    if not name_path.exists():
        name_path.write_text(
            (name or os.environ.get("HOPCHAIN_LEDGER_NAME") or DEFAULT_NAME) + "\n"
        )
    return key_path


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
