"""The one streaming pass over the entries that every other check is compared with.

Entries are read in ``seq`` order, a chunk at a time, and re-derived from their
columns: canonical bytes and leaf hash (:mod:`ledger.rows`), each unit's chain,
the Merkle tree (every node at a stored level, the root at every size a check
asks for), each unit's custody replayed through :func:`ledger.custody.apply_entry`
exactly as :mod:`ledger.append` applies it, and each scan's receipt. Memory is
one small record per unit plus one chunk of rows; everything else is compared
and dropped as the scan goes (tree nodes and receipts after each chunk, through
the callbacks the caller passes).

Classifying the first entry whose leaf hash does not match (``changed``,
``deleted``, ``inserted`` or ``reordered``) uses the first mismatched rows (kept
in order, never evicted) and the last row of the log: a row that hashes
correctly at ``seq + d`` was moved by ``d``, and a move shared by the end of the
log is a renumbering after a deletion (``d > 0``) or an insertion (``d < 0``).
Moves of up to :data:`MAX_SHIFT` positions are recognised.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, NamedTuple, cast

import polars as pl
from sqlalchemy import Connection

from ledger import merkle
from ledger.append import _chunks, _summarize, loose_unpacking_note
from ledger.custody import Custody, UnitState, apply_entry
from ledger.custody_columns import UnitStore, follow_frame
from ledger.database import fetch_all, placeholder
from ledger.encode_columns import leaf_hashes
from ledger.entry_columns import SCHEMA, ColumnReader, ColumnsUnavailable
from ledger.hops import scan_digest
from ledger.ids import EntryKind
from ledger.retraction import replay_custody, unit_custody_rows
from ledger.rows import CodeBook, Row, canonical_bytes, encode_rows
from ledger.scan_runs import last_run_start
from ledger.tree import TILE_HEIGHT
from ledger.verify_problems import Problem
from ledger.verify_tiles import push_many

__all__ = [
    "MAX_SHIFT",
    "DerivedReceipt",
    "DerivedUnit",
    "EntryScan",
    "ScanGroup",
    "StoredNode",
    "classify_mismatch",
    "derive_receipt",
    "group_scans",
    "paused_gc",
    "read_rows",
    "receipt_anomaly",
    "receipt_digest",
]

MAX_SHIFT = 8192
_KEEP_MISMATCHED = 2048
_KEEP_CHAIN_BREAKS = 1024
_KEEP_PROBLEMS = 1024

# Columns of a scanned row: rows.Row's 17, then the container's unit id. The unit
# and container keys are looked up one row at a time by primary key (a scalar
# subquery: NULL where there is no such unit, as a LEFT JOIN gives): with joins,
# PostgreSQL hashed the whole units table for every chunk (0.16 s a chunk of 20,000
# entries at 200,000 units, against 0.05 s by lookups; SQLite looks up either way).
_SQL = (
    "SELECT e.seq, e.kind, e.at_ms, (SELECT u.key FROM units u WHERE u.id = e.unit_id),"
    " e.party_id, e.counterparty_id, e.site_id, e.lat_e6, e.lon_e6,"
    " (SELECT c.key FROM units c WHERE c.id = e.container_id), e.device, e.device_seq,"
    " e.anomaly, e.prev_hash, e.leaf_hash, e.unit_id, e.retracts_seq, e.container_id"
    " FROM entries e WHERE e.seq >= {ph} AND e.seq < {ph} ORDER BY e.seq"
)
SEQ, KIND, AT_MS, UNIT, PARTY, COUNTERPARTY = 0, 1, 2, 3, 4, 5
CONTAINER, DEVICE, DEVICE_SEQ, ANOMALY, PREV, LEAF, UNIT_ID, RETRACTS, CONTAINER_ID = range(9, 18)

_KINDS = {k.value: k for k in EntryKind}
_PACKING, _UNPACKING = EntryKind.PACKING, EntryKind.UNPACKING
_DECLARATION = EntryKind.ERROR_DECLARATION
_UNSEEN = UnitState.UNCOMMISSIONED


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: verification makes millions of short-lived
    tuples and no cycles, and the collector, triggered by the allocations, would walk
    every live object again and again (about a fifth of the CPU time of a verify).
    Reference counting still frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_rows(conn: Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    """Rows as plain tuples straight from the driver's cursor
    (:func:`ledger.database.fetch_all`), in PostgreSQL's binary format where the
    driver is psycopg: integers and bytea then arrive as they are instead of as
    text to parse and hex to decode, with the same Python values (int, str,
    bytes, None), for about a third less CPU time a row (0.78 against 1.12 us a
    row of entries on a loaded machine). The one-process pass and the checks of
    the derived tables read through here."""
    if conn.dialect.driver != "psycopg":
        return fetch_all(conn, sql, params)
    cursor = conn.connection.dbapi_connection.cursor(binary=True)  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return cast(list[Row], cursor.fetchall())
    finally:
        cursor.close()


StoredNode = tuple[int, int, bytes]
"""(level, index, hash) of a tree node at a stored level, as the scan computed it."""


class DerivedUnit:
    """What the entries say a unit's row must hold."""

    __slots__ = ("container_id", "custody", "head_hash", "head_seq")

    def __init__(self) -> None:
        self.custody = Custody(_UNSEEN, None, None)
        self.container_id: int | None = None
        self.head_seq: int | None = None
        self.head_hash = b""


class DerivedReceipt(NamedTuple):
    """What the entries of one device scan say its ``scan_receipts`` row must hold.

    A named tuple: one is made per scan of the ledger."""

    device: str
    device_seq: int
    first_seq: int
    entry_count: int
    anomaly: str
    content_hash: bytes


ScanGroup = tuple[str, int, int, int, list[Row]]
"""The entries of one device scan as the pass read them: (device, device_seq, first
seq, end seq, its rows)."""

_SCAN_KEY = itemgetter(DEVICE, DEVICE_SEQ)


def group_scans(rows: list[Row]) -> list[ScanGroup]:
    """Runs of consecutive entries (by seq) of one device and device_seq: each is
    the entries one device scan appended. ``rows`` are the entries with a device,
    in seq order."""
    out: list[ScanGroup] = []
    append = out.append
    run: list[Row] = []
    device: str = ""
    dseq: int | None = None
    end = -1
    for row in rows:
        seq = row[0]
        if seq == end and row[11] == dseq and row[10] == device:
            run.append(row)
            end = seq + 1
            continue
        if dseq is not None:
            append((device, dseq, run[0][0], end, run))
        device, dseq = row[10], row[11]
        run = [row]
        end = seq + 1
    if dseq is not None:
        append((device, dseq, run[0][0], end, run))
    return out


def _receipt_anomalies(row: Row, into: list[str]) -> None:
    """The sentences the scan's result collected for this entry, as append collects
    them: unpacking a loose item adds one the entry itself does not carry."""
    if row[KIND] == "unpacking" and not row[CONTAINER] and not str(row[UNIT]).startswith("00/"):
        into.append(loose_unpacking_note(str(row[UNIT])))
    if row[ANOMALY]:
        into.append(row[ANOMALY])


class EntryScan:
    """Streaming state; :meth:`run` reads every entry once.

    ``marks``: tree sizes whose root the caller needs (checkpoints, the head, a
    kept checkpoint); :attr:`roots` holds them afterwards. ``on_nodes`` receives
    each chunk's stored-level nodes, ``on_receipts`` each chunk's closed scans;
    both return problems.

    ``reader`` (:mod:`ledger.entry_columns`): read each chunk as columns, and
    when a chunk is in place derive its leaf hashes over the columns
    (:func:`ledger.encode_columns.leaf_hashes`) and hand its closed scans to
    ``column_receipts`` (:class:`ledger.verify_receipts.ColumnReceipts`: returns
    the number of scans and the problems) instead of ``on_receipts``. A chunk the
    reader cannot read is read as tuples, and from then on every chunk.
    """

    def __init__(
        self,
        conn: Connection,
        codes: CodeBook,
        marks: set[int],
        on_nodes: Callable[[list[StoredNode]], list[Problem]],
        on_receipts: Callable[[list[ScanGroup]], list[Problem]],
        chunk: int,
        reader: ColumnReader | None = None,
        column_receipts: Callable[[pl.DataFrame], tuple[int, list[Problem]]] | None = None,
    ) -> None:
        self.conn = conn
        self.reader = reader
        self.column_receipts = column_receipts if reader is not None else None
        self._pending: pl.DataFrame | None = None  # device rows not yet grouped (columns)
        # With columns, each unit's chain and custody are followed in arrays
        # (ledger.custody_columns) and turned into ``units`` once the pass ends.
        self.store: UnitStore | None = UnitStore() if reader is not None else None
        self.codes = codes
        self.marks = sorted(m for m in marks if m > 0)
        self.on_nodes = on_nodes
        self.on_receipts = on_receipts
        self.chunk = max(1, chunk)
        self.roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in marks else {}
        self.size = 0  # leaves in the tree: rows read, gaps closed up
        self.expected = 0  # the seq the next row should have
        self.last_row: Row | None = None
        self.frontier: list[bytes] = []
        self.units: dict[int, DerivedUnit] = {}
        self.problems: list[Problem] = []
        self.mismatched: dict[int, Row] = {}
        self.chain_breaks: list[tuple[int, int]] = []  # (seq, the unit's previous seq)
        self.first_tile_mismatch: int | None = None  # first leaf of the first bad level-4 node
        self.receipts = 0
        self.gaps = 0  # places where seqs are missing or out of range
        self.base = 0  # leaves before this scan's first (a range verified on its own)
        self._nodes: list[StoredNode] = []
        self._scan_rows: list[Row] = []  # entries with a device, not yet grouped
        # (seq, unit id, kind, retracts) of every entry naming a retracted seq
        self.declarations: list[tuple[int, int, str, int | None]] = []

    # --- findings ------------------------------------------------------------------

    def note(self, problem: Problem) -> None:
        self.problems.append(problem)
        if len(self.problems) > 2 * _KEEP_PROBLEMS:
            self.problems.sort(key=Problem.sort_key)
            del self.problems[_KEEP_PROBLEMS:]

    def _gap(self, expected: int, seq: int) -> None:
        self.gaps += 1
        missing = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}..{seq - 1}"
        self.note(Problem(expected, "deleted", f"{missing} missing: no entry has that seq"))

    def _unencodable(self, row: Row) -> None:
        unit = "no unit row" if row[UNIT] is None else f"unit {row[UNIT]}"
        self.note(
            Problem(
                row[SEQ],
                "changed",
                f"its columns cannot be encoded ({unit}; a party, site or value that"
                " no longer exists or has the wrong type)",
            )
        )

    # --- the pass --------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None = None) -> None:
        """Read every entry, ``chunk`` seqs at a time (a bounded range, so each read is
        an index range scan on either engine); a range with no entries jumps to the
        next seq that exists, so a gap of any size costs one lookup."""
        ph = placeholder(self.conn)
        sql = _SQL.format(ph=ph)
        low = self.conn.exec_driver_sql("SELECT MIN(seq) FROM entries").scalar()
        lo = min(0, int(low)) if low is not None else 0
        # The reader has its own connection: it reads only below the snapshot's end.
        top = self.conn.exec_driver_sql("SELECT MAX(seq) FROM entries").scalar()
        end = -1 if top is None else int(top) + 1
        while True:
            frame = self._read_frame(lo, min(lo + self.chunk, end))
            rows: list[Row] = []
            if frame is None:
                rows = read_rows(self.conn, sql, (lo, lo + self.chunk))
            if (frame is None and not rows) or (frame is not None and not frame.height):
                following = self.conn.exec_driver_sql(
                    f"SELECT MIN(seq) FROM entries WHERE seq >= {ph}", (lo + self.chunk,)
                ).scalar()
                if following is None:
                    break
                lo = int(following)
                continue
            if frame is None:
                self._rows(rows)
                last = rows[-1]
            else:
                last = self._frame(frame)
            self._flush()
            self.last_row = last
            lo += self.chunk
            if progress is not None:  # entries read so far: the last seq read + 1
                progress(int(last[0]) + 1)
        self._flush(final=True)
        if self.declarations:
            self._check_declarations()

    def _leave_store(self) -> None:
        """Each unit followed in arrays so far becomes a :class:`DerivedUnit` of
        ``units``; later entries are followed there."""
        if self.store is not None:
            self.units = self.store.derived(self.codes)
            self.store = None

    def unit_records(self) -> dict[int, DerivedUnit]:
        """What the entries say each unit's row must hold, by unit id (the unit
        store's arrays turned into records, when the units were followed there)."""
        self._leave_store()
        return self.units

    def unit_count(self) -> int:
        """Units the entries named."""
        return len(self.store) if self.store is not None else len(self.units)

    # --- the columns path ----------------------------------------------------------------

    def _read_frame(self, lo: int, hi: int) -> pl.DataFrame | None:
        """Entries ``lo <= seq < hi`` as columns, or None to read them as tuples (no
        reader, nothing below the snapshot's end, or the reader failed: then never
        again)."""
        if self.reader is None or lo >= hi:
            return None
        try:
            return self.reader.read(lo, hi)
        except ColumnsUnavailable:
            self._leave_columns()
            return None

    def _leave_columns(self) -> None:
        """Go on with tuples: the device rows waiting as columns join the tuples'."""
        self._pending_to_rows()
        self.reader, self.column_receipts = None, None

    def _pending_to_rows(self) -> None:
        """The device rows waiting as columns go before those waiting as tuples."""
        if self._pending is not None:
            self._scan_rows = self._pending.rows() + self._scan_rows
            self._pending = None

    def _frame(self, frame: pl.DataFrame) -> Row:
        """One chunk read as columns; returns its last row."""
        last = frame.row(-1)
        if not self._frame_in_place(frame):
            self._slow_rows(frame.rows(), scans=False)
            frame = frame.filter(pl.col("seq") >= 0)  # _slow_rows leaves those out
        self._add_scans(frame)
        return last

    def _frame_in_place(self, frame: pl.DataFrame) -> bool:
        """:meth:`_chunk_in_place` over columns: False (nothing done) unless the seqs
        follow on from the expected one and every row can be encoded."""
        seqs = frame["seq"]
        first, count = seqs[0], frame.height
        if first != self.expected or first < 0 or seqs[-1] != first + count - 1:
            return False
        try:
            leaves = leaf_hashes(frame, self.codes)
        except ValueError:
            return False
        mismatched = self.mismatched
        stored = frame["leaf_hash"].to_list()
        if leaves != stored and len(mismatched) < _KEEP_MISMATCHED:
            for i, (leaf, have) in enumerate(zip(leaves, stored, strict=True)):
                if leaf != have:
                    mismatched[first + i] = frame.row(i)
                    if len(mismatched) >= _KEEP_MISMATCHED:
                        break
        self._follow_frame(frame, leaves)
        self._grow(leaves)
        self.expected = first + count
        return True

    def _follow_frame(self, frame: pl.DataFrame, leaves: list[bytes]) -> None:
        """:meth:`_follow_units` over a chunk's columns, in the unit store's arrays
        (:func:`ledger.custody_columns.follow`); a chunk the arrays cannot take (a
        unit or party id missing, a unit id out of their range) sends every unit
        back to ``units``, where this chunk and the later ones are followed."""
        if self.store is None or not self._follow_store(frame, leaves):
            self._leave_store()
            self._follow_units(frame.rows(), leaves)

    def _follow_store(self, frame: pl.DataFrame, leaves: list[bytes]) -> bool:
        """Follow ``frame`` in the unit store; False (the store unchanged) when it
        cannot take the chunk."""
        store = self.store
        assert store is not None
        followed = follow_frame(store, frame, leaves)
        if followed is None:
            return False
        breaks, declarations = followed
        for at, previous in breaks:
            self._chain_break(at, previous)
        self.declarations.extend(declarations)
        return True

    def _add_scans(self, frame: pl.DataFrame) -> None:
        """The chunk's entries with a device wait for their scans to close."""
        device = frame.filter(pl.col("device").is_not_null() & (pl.col("device") != ""))
        if not device.height:
            return
        if self.column_receipts is None:
            self._scan_rows.extend(device.rows())
        elif self._pending is None or not self._pending.height:
            self._pending = device
        else:
            self._pending = pl.concat([self._pending, device])

    def _check_declarations(self) -> None:
        """Each error declaration names an earlier observation of its own unit, once;
        the units they touch get the custody their live entries give
        (:func:`ledger.retraction.replay_custody`)."""
        named = sorted({r for _, _, _, r in self.declarations if r is not None})
        targets: dict[int, tuple[int, str]] = {}
        ph = placeholder(self.conn)
        for chunk in _chunks(named):
            marks = ",".join([ph] * len(chunk))
            for seq, unit_id, kind in read_rows(
                self.conn,
                f"SELECT seq, unit_id, kind FROM entries WHERE seq IN ({marks})",
                chunk,
            ):
                targets[int(seq)] = (int(unit_id), str(kind))
        seen: dict[int, int] = {}
        for seq, unit_id, kind, retracts in self.declarations:
            why = ""
            target = targets.get(retracts) if retracts is not None else None
            if kind != _DECLARATION.value:
                why = f"a {kind} entry names a retracted seq; only error declarations do"
            elif retracts is None:
                why = "an error declaration that names no retracted seq"
            elif target is None or retracts >= seq:
                why = f"retracts seq {retracts}, which is no earlier entry"
            elif target[0] != unit_id:
                why = f"retracts seq {retracts}, an entry of another unit"
            elif target[1] == _DECLARATION.value:
                why = f"retracts seq {retracts}, itself an error declaration"
            elif retracts in seen:
                why = f"retracts seq {retracts}, which seq {seen[retracts]} retracted already"
            if why:
                self.note(Problem(seq, "bad declaration", why))
            elif retracts is not None:
                seen[retracts] = seq
        store = self.store
        for unit_id in {u for _, u, _, _ in self.declarations}:
            if store is not None:
                if unit_id in store:
                    store.set(unit_id, *replay_custody(unit_custody_rows(self.conn, unit_id)))
                continue
            derived = self.units.get(unit_id)
            if derived is not None:
                derived.custody, derived.container_id = replay_custody(
                    unit_custody_rows(self.conn, unit_id)
                )

    def _flush(self, final: bool = False) -> None:
        if self._pending is not None and self.column_receipts is not None:
            self._flush_columns(final)
        if self._nodes:
            for p in self.on_nodes(self._nodes):
                if p.problem == "tree node changed" and p.key.get("level") == TILE_HEIGHT:
                    first = int(p.key["idx"] or 0) << TILE_HEIGHT
                    if self.first_tile_mismatch is None or first < self.first_tile_mismatch:
                        self.first_tile_mismatch = first
                self.note(p)
            self._nodes = []
        pending = self._scan_rows
        keep = len(pending)
        if not final and pending:
            # The last scan may go on in the next chunk: keep its rows for then.
            key = _SCAN_KEY(pending[-1])
            keep -= 1
            while keep > 0 and _SCAN_KEY(pending[keep - 1]) == key:
                keep -= 1
        if keep:
            scans = group_scans(pending[:keep])
            self._scan_rows = pending[keep:]
            self.receipts += len(scans)
            for p in self.on_receipts(scans):
                self.note(p)

    def _flush_columns(self, final: bool) -> None:
        """Check the scans closed in the device rows waiting as columns (all of them
        when ``final``; else the last one may go on in the next chunk)."""
        pending = self._pending
        if pending is None or self.column_receipts is None or not pending.height:
            return
        cut = pending.height if final else last_run_start(pending)
        if not cut:
            return
        self._pending = pending.slice(cut)
        scans, problems = self.column_receipts(pending.slice(0, cut))
        self.receipts += scans
        for p in problems:
            self.note(p)

    def _rows(self, rows: list[tuple[Any, ...]]) -> None:
        if not self._chunk_in_place(rows):
            self._slow_rows(rows)

    def _chunk_in_place(
        self, rows: list[tuple[Any, ...]], leaves: list[bytes] | None = None
    ) -> bool:
        """The usual chunk: seqs one after the other from the expected one, every row
        encodable. Leaf hashes and tree nodes are then computed for the whole chunk
        at once (``leaves``: computed already, over the chunk's columns); False
        (nothing done) for any other chunk, which :meth:`_slow_rows` reads row by
        row to name what is wrong."""
        first, count = rows[0][SEQ], len(rows)
        if first != self.expected or first < 0 or rows[-1][SEQ] != first + count - 1:
            return False
        if leaves is None:
            try:
                encoded = encode_rows(rows, self.codes)
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
                return False
            sha = hashlib.sha256
            leaves = [sha(b"\x00" + raw).digest() for raw in encoded]
        mismatched = self.mismatched
        if len(mismatched) < _KEEP_MISMATCHED:
            for row, leaf in zip(rows, leaves, strict=True):
                if leaf != row[LEAF]:
                    mismatched[row[SEQ]] = row
                    if len(mismatched) >= _KEEP_MISMATCHED:
                        break
        self._follow_units(rows, leaves)
        self._scan_rows.extend([row for row in rows if row[DEVICE]])
        self._grow(leaves)
        self.expected = first + count
        return True

    def _grow(self, leaves: list[bytes]) -> None:
        """Append a chunk's leaves to the tree, noting stored-level nodes and the
        roots at the marks they pass."""
        nodes, base, marks = self._nodes, self.base, self.marks

        def on_node(level: int, index: int, h: bytes) -> None:
            nodes.append((level, index + (base >> level), h))

        done, size = 0, self.size
        while marks and marks[0] <= size + len(leaves) - done:
            upto = marks.pop(0)
            push_many(
                self.frontier, size - base, leaves[done : done + upto - size], on_node, TILE_HEIGHT
            )
            done += upto - size
            size = upto
            self._at_mark(upto)
        push_many(self.frontier, size - base, leaves[done:], on_node, TILE_HEIGHT)
        self.size = size + len(leaves) - done

    def _at_mark(self, size: int) -> None:
        self.roots[size] = merkle.frontier_root(self.frontier)

    def _follow_units(self, rows: list[tuple[Any, ...]], leaves: list[bytes]) -> None:
        """Each unit's chain and custody, entry by entry (as :meth:`_slow_rows` does)."""
        if self.store is not None:  # rows of a chunk read as columns but not in place
            try:
                frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
            except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
                frame = None
            if frame is not None and self._follow_store(frame, leaves):
                return
            self._leave_store()
        parties = self.codes.parties
        units = self.units
        kinds = _KINDS
        packing, unpacking, declaration = _PACKING, _UNPACKING, _DECLARATION
        declarations = self.declarations
        apply = apply_entry
        for row, leaf in zip(rows, leaves, strict=True):
            seq, kind_name, party, cp = row[SEQ], row[KIND], row[PARTY], row[COUNTERPARTY]
            unit_id, retracts = row[UNIT_ID], row[RETRACTS]
            u = units.get(unit_id)
            if u is None:
                u = units[unit_id] = DerivedUnit()
            if row[PREV] != u.head_hash:
                self._chain_break(seq, u.head_seq)
            kind = kinds.get(kind_name)
            if kind is declaration or retracts is not None:
                declarations.append((seq, unit_id, kind_name, retracts))
            elif kind is not None:
                apply(
                    u.custody,
                    kind,
                    parties.get(party, ""),
                    None if cp is None else parties.get(cp, ""),
                    is_new=u.head_seq is None,
                )
                if kind is packing:
                    u.container_id = row[CONTAINER_ID]
                elif kind is unpacking:
                    u.container_id = None
            u.head_seq = seq
            u.head_hash = leaf

    def _slow_rows(self, rows: list[tuple[Any, ...]], scans: bool = True) -> None:
        """A chunk that is not in place (rows missing, added or unencodable): each row is
        encoded on its own so the gap or the row that cannot be encoded is named; the
        rows that stand then follow the same unit, receipt and tree steps as a chunk in
        place (:meth:`_follow_units`, :meth:`_grow`)."""
        codes = self.codes
        leaf_hash = merkle.leaf_hash
        encode = canonical_bytes
        mismatched = self.mismatched
        expected = self.expected
        kept: list[tuple[Any, ...]] = []
        leaves: list[bytes] = []
        for row in rows:
            seq, stored = row[SEQ], row[LEAF]
            if seq != expected:
                if seq < 0:
                    self.gaps += 1
                    self.note(
                        Problem(seq, "inserted", f"an entry at seq {seq}, before the log's start")
                    )
                    continue
                self._gap(expected, seq)
            try:
                leaf = leaf_hash(encode(row, codes))
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
                self._unencodable(row)
                leaf = bytes(stored) if isinstance(stored, bytes | memoryview) else b"\0" * 32
                stored = leaf
            if leaf != stored and len(mismatched) < _KEEP_MISMATCHED:
                mismatched[seq] = row
            kept.append(row)
            leaves.append(leaf)
            expected = seq + 1
        self._follow_units(kept, leaves)
        if scans:
            self._scan_rows.extend([row for row in kept if row[DEVICE]])
        self._grow(leaves)
        self.expected = expected

    def _chain_break(self, seq: int, previous: int | None) -> None:
        if previous is None:
            self.note(
                Problem(seq, "chain broken", "first entry of its unit names a previous entry")
            )
        elif len(self.chain_breaks) < _KEEP_CHAIN_BREAKS:
            self.chain_breaks.append((seq, previous))

    # --- classification, once at the end ---------------------------------------------

    def finish(self) -> None:
        """Name the first mismatched entry and the chain breaks (call after :meth:`run`)."""
        first = classify_mismatch(self.mismatched, self.last_row, self.codes)
        if first is not None:
            self.note(first)
        # When every row hashes right where it is, a broken chain whose predecessor
        # sits in the only tile that differs from the stored tree was rewritten
        # together with its hash. With rows missing or moved, tiles differ for that.
        rows_in_place = not self.mismatched and not self.gaps
        group = (
            None
            if self.first_tile_mismatch is None or not rows_in_place
            else self.first_tile_mismatch >> TILE_HEIGHT
        )
        for t, s in self.chain_breaks:
            if group is not None and s >> TILE_HEIGHT == group and t >> TILE_HEIGHT != group:
                self.note(
                    Problem(
                        s,
                        "changed",
                        f"rewritten together with its leaf hash; seq {t} still links to the original",
                    )
                )
            else:
                self.note(
                    Problem(
                        t, "chain broken", f"prev does not match seq {s}, the unit's previous entry"
                    )
                )


def receipt_digest(group: ScanGroup, codes: CodeBook) -> bytes:
    """The content hash the scan of ``group`` must have: its scanned unit's entry."""
    rows = group[4]
    scanned = rows[0]
    second = rows[1] if len(rows) > 1 else None
    # Packing into a container seen for the first time commissions the container
    # first: the scanned unit's entry is then the second one.
    if (
        second is not None
        and scanned[KIND] == "commissioning"
        and second[KIND] == "packing"
        and second[CONTAINER] == scanned[UNIT]
    ):
        scanned = second
    parties = codes.parties
    cp = scanned[COUNTERPARTY]
    try:
        return scan_digest(
            scanned[UNIT],
            scanned[KIND],
            scanned[AT_MS],
            parties.get(scanned[PARTY], ""),
            None if cp is None else parties.get(cp, ""),
            scanned[CONTAINER] if scanned[KIND] == "packing" else None,
        )
    except (TypeError, AttributeError):  # a unit or column gone: reported already
        return b""


def receipt_anomaly(group: ScanGroup) -> str:
    """The anomaly the receipt of ``group`` must have (as append sums it up)."""
    anomalies: list[str] = []
    for row in group[4]:
        if row[ANOMALY] or row[KIND] == "unpacking":
            _receipt_anomalies(row, anomalies)
    return _summarize(anomalies, group[3] - group[2]) if anomalies else ""


def derive_receipt(group: ScanGroup, codes: CodeBook) -> DerivedReceipt:
    """Everything the receipt of ``group`` must hold."""
    device, dseq, first_seq, end = group[:4]
    return DerivedReceipt(
        device,
        int(dseq),
        first_seq,
        end - first_seq,
        receipt_anomaly(group),
        receipt_digest(group, codes),
    )


# --- which change explains the first mismatched row ----------------------------------


class _Mover:
    """Finds where a row's stored leaf hash says it belongs (its original seq)."""

    def __init__(self, codes: CodeBook) -> None:
        self.codes = codes
        self.cache: dict[int, int | None] = {}

    def shift(self, row: Row) -> int | None:
        """``d`` such that the row hashes to its stored leaf at ``seq + d`` (0 < |d| <=
        MAX_SHIFT, smallest first), or None when no such seq is near."""
        seq = int(row[SEQ])
        if seq in self.cache:
            return self.cache[seq]
        found: int | None = None
        try:
            raw = canonical_bytes(row, self.codes, seq)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            raw = b""
        marker = b',"seq":%d,' % seq
        if raw and raw.count(marker) == 1:
            head, tail = raw.split(marker)
            base = hashlib.sha256(b"\x00" + head)
            stored = bytes(row[LEAF]) if isinstance(row[LEAF], bytes | memoryview) else b""
            for d in range(1, MAX_SHIFT + 1):
                for cand in (d, -d):
                    if seq + cand < 0:
                        continue
                    h = base.copy()
                    h.update(b',"seq":%d,' % (seq + cand) + tail)
                    if h.digest() == stored:
                        found = cand
                        break
                if found is not None:
                    break
        self.cache[seq] = found
        return found


def _in_place(row: Row, codes: CodeBook) -> bool:
    try:
        return bool(merkle.leaf_hash(canonical_bytes(row, codes)) == row[LEAF])
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return True  # reported as unencodable; it says nothing about moves


def classify_mismatch(
    mismatched: dict[int, Row], last_row: Row | None, codes: CodeBook
) -> Problem | None:
    """The problem that explains the first row whose columns do not give its leaf hash.

    - ``reordered``: the row belongs at ``s + d`` and that row belongs at ``s``;
    - ``deleted``: the row belongs at ``s + d`` (d > 0) as does the log's last row:
      d entries at ``s`` are gone and the later ones renumbered down over them;
    - ``inserted``: rows from some ``x`` belong at ``x + d`` (d < 0) up to the end
      of the log: -d entries were slipped in before them;
    - ``reordered`` (moved): the row belongs at another seq;
    - ``changed``: none of these; its columns were edited.
    """
    if not mismatched:
        return None
    mover = _Mover(codes)

    def shift(seq: int) -> int | None:
        row = mismatched.get(seq)
        if row is None:
            return 0  # in place (or not a row at all)
        return mover.shift(row)

    s = min(mismatched)
    d = shift(s)
    if d is not None and d > 0 and shift(s + d) == -d:
        return Problem(s, "reordered", f"the entry at seq {s} belongs at seq {s + d}, and back")
    tail = 0  # how far the log's last row moved (only the first mismatches are kept)
    if last_row is not None and not _in_place(last_row, codes):
        tail = mover.shift(last_row) or 0
    if tail > 0 and d == tail:
        gone = "the entry" if tail == 1 else f"{tail} entries"
        return Problem(
            s, "deleted", f"{gone} at seq {s} gone and the later entries renumbered down by {tail}"
        )
    if tail < 0 and d == tail:
        at = s + tail
        return Problem(
            at, "inserted", f"{-tail} entries at seq {at} added and the later ones renumbered"
        )
    if tail < 0 and shift(s - tail) == tail:
        what = "an entry" if tail == -1 else f"{-tail} entries"
        return Problem(s, "inserted", f"{what} at seq {s} added and the later ones renumbered")
    if d is not None and d != 0:
        return Problem(s, "reordered", f"the entry at seq {s} belongs at seq {s + d}")
    return Problem(s, "changed", "its columns no longer give its leaf hash")
