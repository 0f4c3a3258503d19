"""Re-derive the whole ledger from its rows and check it against signed checkpoints.

Verification trusts nothing stored except what the ledger key signed: it
re-encodes every entry from its columns, recomputes leaf hashes, each unit's
chain and the Merkle root at every checkpoint size, and compares. The first
problem (lowest ``seq``) is reported as a :class:`LedgerIntegrityError` whose
``problem`` says what kind of change explains it:

- ``changed``: an entry's columns no longer give its leaf hash;
- ``deleted``: a seq is missing, or later entries were renumbered down over it;
- ``inserted``: an entry sits where none was, later entries renumbered up;
- ``reordered``: entries were swapped; each still hashes at its original seq;
- ``chain broken``: an entry's ``prev`` is not its unit's previous leaf hash;
- ``root mismatch``: hashes agree row by row yet not with a signed root (rows
  were rewritten together with their hashes);
- ``bad signature``: a checkpoint note does not verify with the ledger key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from ledger import merkle
from ledger.checkpoint import SignedCheckpoint, parse_checkpoint
from ledger.database import placeholder
from ledger.keys import CheckpointError
from ledger.rows import CodeBook, Row, canonical_bytes, fetch_rows, load_codebook
from ledger.tree import TILE_HEIGHT, Head, read_head

__all__ = ["LedgerIntegrityError", "VerifyReport", "verify_ledger"]

CHUNK = 20_000
Progress = Callable[[int, int], None]


class LedgerIntegrityError(Exception):
    """The ledger does not verify; ``seq`` is the first entry involved (None when
    the problem is not tied to one entry, e.g. a bad signature)."""

    def __init__(self, seq: int | None, problem: str, detail: str) -> None:
        self.seq = seq
        self.problem = problem
        self.detail = detail
        where = f"seq {seq}: " if seq is not None else ""
        super().__init__(f"{where}{problem}: {detail}")


@dataclass(slots=True)
class VerifyReport:
    entries: int
    units: int
    root: bytes
    checkpoint: SignedCheckpoint | None
    checkpoints_checked: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.entries / self.seconds if self.seconds > 0 else float("inf")


@dataclass(order=True, slots=True)
class _Finding:
    seq: int
    problem: str = field(compare=False)
    detail: str = field(compare=False)


def _load_checkpoints(conn: Connection, name: str, public_key: bytes) -> list[SignedCheckpoint]:
    out = []
    for size, note in conn.exec_driver_sql(
        "SELECT tree_size, note FROM checkpoints ORDER BY tree_size, id"
    ):
        try:
            cp = parse_checkpoint(str(note), name, public_key)
        except CheckpointError as exc:
            raise LedgerIntegrityError(
                None, "bad signature", f"checkpoint of size {size}: {exc}"
            ) from None
        if cp.tree_size != int(size):
            raise LedgerIntegrityError(
                None, "bad signature", f"checkpoint row says size {size}, its note {cp.tree_size}"
            )
        out.append(cp)
    return out


def verify_ledger(
    engine: Engine, name: str, public_key: bytes, progress: Progress | None = None
) -> VerifyReport:
    """Verify everything; return a report or raise :class:`LedgerIntegrityError`."""
    started = time.perf_counter()
    with engine.connect() as conn:
        checkpoints = _load_checkpoints(conn, name, public_key)
        head = read_head(conn)
        codes = load_codebook(conn)
        max_row = conn.exec_driver_sql("SELECT MAX(seq), COUNT(*) FROM entries").first()
        max_seq = -1 if max_row is None or max_row[0] is None else int(max_row[0])
        total = max(head.size, max_seq + 1, checkpoints[-1].tree_size if checkpoints else 0)
        scan = _Scan(conn, codes, checkpoints)
        for lo in range(0, total, CHUNK):
            scan.chunk(lo, min(lo + CHUNK, total))
            if progress is not None:
                progress(min(lo + CHUNK, total), total)
        scan.finish(head)
    # A specific finding explains a root mismatch better than the mismatch itself.
    findings = scan.findings or scan.root_findings
    if findings:
        first = min(findings)
        raise LedgerIntegrityError(first.seq, first.problem, first.detail)
    return VerifyReport(
        entries=scan.expected,
        units=len(scan.last_leaf),
        root=merkle.frontier_root(scan.frontier),
        checkpoint=checkpoints[-1] if checkpoints else None,
        checkpoints_checked=len(checkpoints),
        seconds=time.perf_counter() - started,
    )


class _Scan:
    """The streaming state: next expected seq, frontier, each unit's last leaf."""

    def __init__(
        self,
        conn: Connection,
        codes: CodeBook,
        checkpoints: list[SignedCheckpoint],
    ) -> None:
        self.conn = conn
        self.ph = placeholder(conn)
        self.codes = codes
        self.pending = [cp for cp in checkpoints if cp.tree_size > 0]
        self.expected = 0
        self.frontier: list[bytes] = []
        self.last_leaf: dict[int, tuple[int, bytes]] = {}
        self.findings: list[_Finding] = []
        self.root_findings: list[_Finding] = []
        self.chain_breaks: list[tuple[int, int]] = []  # (seq, the unit's previous seq)
        self.mismatched: dict[int, Row] = {}  # seq -> row, for classification
        self.node_problem: int | None = None
        self._stored_nodes: dict[int, bytes] = {}

    def _note(self, seq: int, problem: str, detail: str) -> None:
        if len(self.findings) < 100:
            self.findings.append(_Finding(seq, problem, detail))

    def _load_nodes(self, lo: int, hi: int) -> None:
        span = 1 << TILE_HEIGHT
        rows = self.conn.exec_driver_sql(
            f"SELECT idx, hash FROM tree_nodes WHERE level = {self.ph} AND idx >= {self.ph} AND idx < {self.ph}",
            (TILE_HEIGHT, lo // span, -(-hi // span)),
        )
        self._stored_nodes = {int(i): bytes(h) for i, h in rows}

    def _on_node(self, level: int, index: int, h: bytes) -> None:
        if level == TILE_HEIGHT and self.node_problem is None:
            stored = self._stored_nodes.get(index)
            if stored != h:
                self.node_problem = index << TILE_HEIGHT

    def chunk(self, lo: int, hi: int) -> None:
        rows = fetch_rows(self.conn, lo, hi)
        codes = self.codes
        self._load_nodes(lo, hi)
        # Locals, not attributes: this loop runs once per entry of the ledger.
        leaf_hash = merkle.leaf_hash
        push = merkle.frontier_push
        on_node = self._on_node
        frontier = self.frontier
        last_leaf = self.last_leaf
        mismatched = self.mismatched
        expected = self.expected
        next_checkpoint = self.pending[0].tree_size if self.pending else -1
        for row in rows:
            seq = row[0]
            if seq != expected:
                self._note(expected, "deleted", f"seqs {expected}..{seq - 1} are missing")
            leaf = leaf_hash(canonical_bytes(row, codes))
            if leaf != row[14]:
                mismatched[seq] = row
                if len(mismatched) > 1000:
                    mismatched.pop(next(iter(mismatched)))
            unit_id = row[15]
            before = last_leaf.get(unit_id)
            if row[13] != (before[1] if before else b""):
                if before is None:
                    self._note(
                        seq, "chain broken", "first entry of its unit names a previous entry"
                    )
                else:
                    self.chain_breaks.append((seq, before[0]))
            last_leaf[unit_id] = (seq, leaf)
            push(frontier, seq, leaf, on_node)
            expected = seq + 1
            if expected == next_checkpoint:
                self.expected = expected
                while self.pending and self.pending[0].tree_size == expected:
                    self._check_checkpoint(self.pending.pop(0))
                next_checkpoint = self.pending[0].tree_size if self.pending else -1
        self.expected = expected

    def _check_checkpoint(self, cp: SignedCheckpoint) -> None:
        root = merkle.frontier_root(self.frontier)
        if root != cp.root_hash:
            # Complete tiles are compared with the stored tree as the scan goes; if
            # none differed before this size, the change is in the last, partial tile.
            tail = cp.tree_size >> TILE_HEIGHT << TILE_HEIGHT
            start = tail if self.node_problem is None else min(self.node_problem, tail)
            self.root_findings.append(
                _Finding(
                    min(start, cp.tree_size - 1),
                    "root mismatch",
                    f"entries before seq {cp.tree_size} give root {root.hex()[:16]}…, the signed checkpoint says {cp.root_hash.hex()[:16]}…",
                )
            )

    def finish(self, head: Head) -> None:
        for cp in self.pending:
            self._note(
                self.expected,
                "deleted",
                f"the ledger has {self.expected} entries, the signed checkpoint covers {cp.tree_size}",
            )
        if self.expected > head.size:
            self._note(
                head.size, "inserted", f"{self.expected - head.size} entries beyond the ledger head"
            )
        self._classify_mismatches()
        self._classify_chain_breaks()

    def _classify_chain_breaks(self) -> None:
        """A chain break at ``t`` means ``t``'s prev or its predecessor ``s`` was
        rewritten; the stored tree tells which when only ``s``'s tile changed."""
        group = None if self.node_problem is None else self.node_problem >> TILE_HEIGHT
        for t, s in self.chain_breaks:
            if group is not None and s >> TILE_HEIGHT == group and t >> TILE_HEIGHT != group:
                self._note(
                    s,
                    "changed",
                    f"rewritten together with its leaf hash; seq {t} still links to the original",
                )
            else:
                self._note(
                    t, "chain broken", f"prev does not match seq {s}, the unit's previous entry"
                )

    def _classify_mismatches(self) -> None:
        if not self.mismatched:
            return
        seqs = sorted(self.mismatched)
        s = seqs[0]
        row = self.mismatched[s]
        stored = bytes(row[14])
        nxt = self.mismatched.get(s + 1)
        if s > 0 and leaf_matches(self, row, s - 1, stored):
            self._note(s - 1, "inserted", f"seq {s - 1} was inserted and later entries renumbered")
        elif leaf_matches(self, row, s + 1, stored):
            self._note(
                s, "deleted", f"the entry at seq {s} is gone and later entries were renumbered"
            )
        elif nxt is not None and leaf_matches(self, nxt, s, bytes(nxt[14])):
            self._note(s, "inserted", f"seq {s} was inserted and later entries were renumbered")
        else:
            for t in seqs[1:]:
                if leaf_matches(self, row, t, stored):
                    self._note(s, "reordered", f"the entry at seq {s} belongs at seq {t}")
                    return
            self._note(s, "changed", "its columns no longer give its leaf hash")


def leaf_matches(scan: _Scan, row: Row, seq: int, stored: bytes) -> bool:
    return merkle.leaf_hash(canonical_bytes(row, scan.codes, seq)) == stored
