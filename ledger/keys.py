"""The ledger's signing key: an Ed25519 key kept outside the database.

The key lives in the instance folder (file mode 0600), never in the database or
the repository: whoever can write the database still cannot sign a checkpoint.
The key's name is the ledger's name and the origin line of every checkpoint.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "CheckpointError",
    "LedgerSigner",
    "ensure_signing_key",
    "key_id",
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


def check_note_signature(
    body: str,
    signatures: str,
    name: str,
    public_key: bytes,
    *,
    what: str = "the note's signature",
) -> None:
    """Check that ``signatures`` (the lines after a C2SP signed note's blank line)
    hold a valid Ed25519 signature of ``body`` (ending in a newline) by the key
    ``name`` / ``public_key`` (32 bytes), per C2SP signed-note: a line
    ``— name base64(key_id ‖ signature)``; lines of other keys are skipped.

    Raises :class:`CheckpointError`: ``"{what} does not verify"``, or no signature
    by that key id.
    """
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
            raise CheckpointError(f"{what} does not verify") from None
        return
    raise CheckpointError(f"no signature by {name} with key id {wanted.hex()}")


def verifier_key(name: str, public_key: bytes) -> str:
    """The C2SP verifier key string ``name+hex(key_id)+base64(0x01 ‖ key)``."""
    blob = base64.b64encode(ED25519_ALG + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{blob}"


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

    def sign_note(self, body: str) -> str:
        """A C2SP signed note over ``body`` (text lines, each ending in a newline, no
        blank line) by this key: ``body``, a blank line, one signature line
        ``— name base64(key_id ‖ Ed25519 signature)``. Checkpoints are one such body;
        settlement seals are others (their first line names what they seal)."""
        if not body.endswith("\n") or "\n\n" in body or body.startswith("\n"):
            raise CheckpointError("a note body is non-empty lines, each ending in a newline")
        signature = self._key.sign(body.encode())
        blob = base64.b64encode(key_id(self.name, self.public_key) + signature).decode()
        return f"{body}\n\u2014 {self.name} {blob}\n"

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
