"""Signed checkpoints: C2SP ``tlog-checkpoint`` notes signed per C2SP ``signed-note``.

A checkpoint commits to the whole log (origin, tree size, root hash) in a few
lines of text that anyone can verify with the Ed25519 public key and nothing of
ours: the body is ``origin\\nsize\\nbase64(root)\\n``, followed by an empty line
and one signature line ``— name base64(key_id ‖ signature)``, where key_id is the
first four bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key).
"""

from __future__ import annotations

import base64
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import DBAPIError

from ledger.append import lock_ledger
from ledger.database import is_sqlite, write_transaction
from ledger.keys import CheckpointError, LedgerSigner, check_note_signature
from ledger.models import Checkpoint
from ledger.tree import read_head

__all__ = [
    "CheckpointGap",
    "CheckpointLockTimeout",
    "SignedCheckpoint",
    "checkpoint_gap",
    "latest_checkpoint",
    "make_checkpoint",
    "maybe_checkpoint",
    "parse_checkpoint",
]

log = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs of a lock not granted in time: lock_not_available
# (lock_timeout), query_canceled (statement_timeout), deadlock_detected.
_PG_LOCK_STATES = frozenset({"55P03", "57014", "40P01"})


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
    check_note_signature(body, signatures, name, public_key, what="checkpoint signature")
    return SignedCheckpoint(origin, int(size_text), root, note)


class CheckpointLockTimeout(Exception):
    """Signing could not take the ledger's writer lock within its attempts.

    ``attempts`` is how many times it tried, ``waited_s`` the seconds spent in all.
    """

    def __init__(self, attempts: int, waited_s: float, reason: str) -> None:
        self.attempts = attempts
        self.waited_s = waited_s
        self.reason = reason
        super().__init__(
            f"could not take the ledger's writer lock to sign a checkpoint: {attempts} "
            f"attempt{'s' if attempts != 1 else ''} over {waited_s:.1f} s, the last "
            f"because {reason}"
        )


def _lock_failure(exc: DBAPIError) -> str | None:
    """Why ``exc`` is a lock not granted in time (worth retrying), in words; None when
    it is some other database error.

    SQLite: ``SQLITE_BUSY`` / ``SQLITE_LOCKED`` ("database is locked", also when a
    deferred transaction's snapshot went stale). PostgreSQL: SQLSTATE 55P03
    lock_not_available (``lock_timeout``), 57014 query_canceled
    (``statement_timeout`` while waiting), 40P01 deadlock_detected.
    """
    orig = exc.orig
    name = str(getattr(orig, "sqlite_errorname", ""))
    text = str(orig).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        return "the SQLite database stayed locked by another writer"
    state = getattr(orig, "sqlstate", None)
    if state in _PG_LOCK_STATES:
        return f"PostgreSQL did not grant the ledger lock in time (SQLSTATE {state})"
    return None


def _sign_locked(conn: Connection, signer: LedgerSigner, lock_wait_s: float) -> SignedCheckpoint:
    if not is_sqlite(conn):  # SQLite waits as long as the engine's busy timeout
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, round(lock_wait_s * 1000))}")
    lock_ledger(conn)
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


def make_checkpoint(
    engine: Engine,
    signer: LedgerSigner,
    *,
    attempts: int = 6,
    first_delay_s: float = 0.05,
    max_delay_s: float = 2.0,
    lock_wait_s: float = 30.0,
) -> SignedCheckpoint:
    """Sign the current head and keep the note; the same size is not signed twice.

    Signing takes the appenders' writer lock before it reads the head (SQLite
    ``BEGIN IMMEDIATE``, PostgreSQL the advisory lock of
    :func:`ledger.append.lock_ledger`), so the head it signs is the newest
    committed one and no append can slip in between reading and storing: a
    deferred transaction would instead fail on its first write whenever an
    append committed after its read. One attempt waits for the lock as long as
    SQLite's busy timeout (:func:`ledger.database.make_engine`: 60 s) or, on
    PostgreSQL, ``lock_wait_s``. A lock not granted in time is retried up to
    ``attempts`` times in all, sleeping an exponentially growing, jittered
    delay (``first_delay_s`` doubling up to ``max_delay_s``) in between.

    Returns the newest checkpoint, new or (when nothing was appended since) the
    stored one. Raises :class:`CheckpointLockTimeout` when every attempt timed
    out; other database errors propagate at once.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    started = time.monotonic()
    reason = ""
    for attempt in range(1, attempts + 1):
        try:
            with write_transaction(engine) as conn:
                return _sign_locked(conn, signer, lock_wait_s)
        except DBAPIError as exc:
            why = _lock_failure(exc)
            if why is None:
                raise
            reason = why
        if attempt < attempts:
            delay = min(max_delay_s, first_delay_s * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)  # jitter, not a secret
            log.warning(
                "checkpoint signing: attempt %d of %d failed (%s); retrying in %.2f s",
                attempt,
                attempts,
                reason,
                delay,
            )
            time.sleep(delay)
    raise CheckpointLockTimeout(attempts, time.monotonic() - started, reason)


@dataclass(frozen=True, slots=True)
class CheckpointGap:
    """How far the newest signed checkpoint trails the log, at ``now_ms``.

    Times are ms since the Unix epoch (UTC). ``checkpoint_size`` is 0 and
    ``checkpoint_ms`` None while nothing was signed yet; ``last_append_ms`` is None
    on an empty log.
    """

    tree_size: int
    checkpoint_size: int
    checkpoint_ms: int | None
    last_append_ms: int | None
    now_ms: int

    @property
    def unsigned_entries(self) -> int:
        """Entries appended after the newest checkpoint (not yet covered by a signature)."""
        return max(0, self.tree_size - self.checkpoint_size)

    @property
    def checkpoint_ahead(self) -> bool:
        """The newest checkpoint covers more entries than the log holds: the log
        was truncated after it was signed (``ledger verify`` names where)."""
        return self.checkpoint_size > self.tree_size

    @property
    def checkpoint_age_s(self) -> float | None:
        """Seconds since the newest checkpoint was signed; None when there is none."""
        if self.checkpoint_ms is None:
            return None
        return max(0.0, (self.now_ms - self.checkpoint_ms) / 1000)

    def as_json(self) -> dict[str, Any]:
        """``{"tree_size", "checkpoint_size", "unsigned_entries", "checkpoint_age_seconds"
        (number or null), "checkpoint_ahead"}``."""
        age = self.checkpoint_age_s
        return {
            "tree_size": self.tree_size,
            "checkpoint_size": self.checkpoint_size,
            "unsigned_entries": self.unsigned_entries,
            "checkpoint_age_seconds": None if age is None else round(age, 3),
            "checkpoint_ahead": self.checkpoint_ahead,
        }


def checkpoint_gap(engine: Engine, now_ms: int | None = None) -> CheckpointGap:
    """The gap between the log's head and its newest checkpoint, read in one go."""
    with engine.connect() as conn:
        head = conn.exec_driver_sql(
            "SELECT tree_size, updated_ms FROM ledger_head WHERE id = 1"
        ).first()
        last = conn.execute(
            select(Checkpoint.tree_size, Checkpoint.created_ms)
            .order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc())
            .limit(1)
        ).first()
    return CheckpointGap(
        tree_size=0 if head is None else int(head[0]),
        checkpoint_size=0 if last is None else int(last[0]),
        checkpoint_ms=None if last is None else int(last[1]),
        last_append_ms=None if head is None else int(head[1]),
        now_ms=int(time.time() * 1000) if now_ms is None else now_ms,
    )


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
    passed since the last one (and something was appended); the first one at once.

    Returns the new checkpoint, or None when none was due. Raises
    :class:`CheckpointLockTimeout` as :func:`make_checkpoint` does.
    """
    gap = checkpoint_gap(engine)
    if gap.checkpoint_ms is not None:
        grown = gap.tree_size - gap.checkpoint_size
        age = gap.checkpoint_age_s or 0.0
        if grown <= 0 or (grown < every_entries and age < every_seconds):
            return None
    return make_checkpoint(engine, signer)
