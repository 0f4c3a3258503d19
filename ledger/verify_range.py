"""One range of the log verified on its own, in a worker process (``verify --jobs N``).

A range is the leaves ``[lo, hi)`` of one aligned subtree of ``2**level`` leaves
(the last range may be shorter). The worker re-derives what
:class:`~ledger.verify_scan.EntryScan` derives, for its rows only: leaf hashes,
the range's subtree (its stored-level nodes compared with ``tree_nodes``, its root
or, for the last range, its frontier; the frontier at each checkpoint size inside
it), the chains inside it, each unit's custody from the first entry that fixes it
regardless of what came before, and the receipts of the scans that lie wholly
inside it; the units rows of the units whose entries all lie in it (see
:meth:`_RangeScan.check_closed_units`). What crosses a range border comes back for the parent to finish
(:mod:`ledger.verify_fold`): each unit's first entry (seq and ``prev``), the
entries before its custody is fixed, its last entry; the scans at either end.

A range whose rows are not exactly ``lo .. hi - 1`` in place (rows missing,
added, at a negative seq, or unencodable) is not verified here: ``in_place`` is
then False and the parent verifies the whole log in one process, which names
those rows as it always has.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine

from ledger.custody import apply_entry
from ledger.custody_columns import UnitStore, follow_frame
from ledger.database import is_sqlite, make_engine, placeholder
from ledger.entry_columns import SNAPSHOT_ID, ColumnReader, ColumnsUnavailable, open_reader
from ledger.ids import EntryKind
from ledger.rows import CodeBook, Row
from ledger.scan_runs import scan_runs
from ledger.verify_derived import (
    UNIT_COLUMNS,
    ReceiptCheck,
    check_tree_nodes,
    party_ids,
    unit_row_problem,
    unit_rows,
)
from ledger.verify_problems import Problem
from ledger.verify_receipts import ColumnReceipts
from ledger.verify_scan import (
    _DECLARATION,
    _KINDS,
    _PACKING,
    _SQL,
    _UNPACKING,
    CONTAINER_ID,
    COUNTERPARTY,
    KIND,
    PARTY,
    PREV,
    RETRACTS,
    SEQ,
    UNIT_ID,
    DerivedUnit,
    EntryScan,
    ScanGroup,
    paused_gc,
    read_rows,
)
from ledger.verify_units import UNITS_SCHEMA, units_rows_problems

__all__ = ["RESETS", "Before", "RangeJob", "RangeResult", "UnitParts", "verify_range"]

# Kinds after which a unit's custody (state, holder, bound_for) is the same whatever
# it was before, and whether or not the unit had an entry before
# (ledger.custody.apply_entry: each sets all three).
RESETS = frozenset(
    {
        EntryKind.COMMISSIONING,
        EntryKind.SHIPPING,
        EntryKind.RECEIVING,
        EntryKind.RETAIL_SELLING,
        EntryKind.RETURNING,
    }
)

_RESET_NAMES = [k.value for k in RESETS]
_IDS_PER_QUERY = 5000  # unit ids (integers spelled in the query) read at once
_CUSTODY_NAMES = [k for k, kind in _KINDS.items() if kind is not _DECLARATION]
_MOVE_NAMES = [_PACKING.value, _UNPACKING.value]

Before = tuple[str, str, "str | None", bool]
"""An entry applied before the unit's custody is fixed in a range: (kind value,
party code, counterparty code, whether it is the unit's first entry in the range)."""


@dataclass(frozen=True, slots=True)
class RangeJob:
    """What one worker verifies: leaves ``lo .. hi - 1`` (an aligned subtree of
    ``2**level`` leaves, or less at the end), read ``chunk`` seqs at a time from
    ``url`` on the PostgreSQL ``snapshot`` the parent exported (None on SQLite);
    ``marks``: checkpoint sizes in ``(lo, hi]``."""

    url: str
    snapshot: str | None
    codes: CodeBook
    lo: int
    hi: int
    level: int
    marks: tuple[int, ...]
    chunk: int
    check_nodes: bool
    check_receipts: bool
    check_units: bool = False
    columns: bool = False  # read the range as columns (ledger.entry_columns)


@dataclass(slots=True)
class UnitParts:
    """Each unit's entries in one range, one list per column (cheap to send between
    processes: no object per unit), in the order the range first names them.

    ``first_seq`` and ``first_prev``: its first entry there and the ``prev`` it
    names; ``head_seq`` and ``head_hash``: its last entry and leaf hash;
    ``state``, ``holder``, ``bound_for``: its custody after the range when its
    ``before`` is None; else the custody was never fixed in the range and
    ``before`` lists what to apply to the unit's custody so far;
    ``container_id``: after the range, when ``moved`` (packed or unpacked in it).
    """

    ids: list[int] = field(default_factory=list)
    first_seq: list[int] = field(default_factory=list)
    first_prev: list[bytes] = field(default_factory=list)
    head_seq: list[int] = field(default_factory=list)
    head_hash: list[bytes] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    holder: list[str | None] = field(default_factory=list)
    bound_for: list[str | None] = field(default_factory=list)
    container_id: list[int | None] = field(default_factory=list)
    moved: list[bool] = field(default_factory=list)
    before: list[list[Before] | None] = field(default_factory=list)


@dataclass(slots=True)
class RangeResult:
    """What a worker found in its range (see the module doc)."""

    lo: int
    hi: int
    in_place: bool = True
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    mismatched: dict[int, Row] = field(default_factory=dict)
    chain_breaks: list[tuple[int, int]] = field(default_factory=list)
    first_tile_mismatch: int | None = None
    nodes_checked: int = 0
    frontier: list[bytes] = field(default_factory=list)
    mark_frontiers: dict[int, list[bytes]] = field(default_factory=dict)
    units: UnitParts = field(default_factory=UnitParts)
    declarations: list[tuple[int, int, str, int | None]] = field(default_factory=list)
    receipts: int = 0  # scans checked here
    receipts_matched: int = 0
    lead: list[Row] = field(default_factory=list)  # the first scan, when it starts at lo
    tail: list[Row] = field(default_factory=list)  # the last scan, not checked here
    closed: bool = False  # some scan ended inside the range
    last_row: Row | None = None
    cpu: float = 0.0  # CPU seconds the worker spent on the range (connect, read, verify)
    pid: int = 0  # the worker process
    process_cpu: float = 0.0  # its CPU seconds since it started, when it sent this
    units_checked: list[int] = field(default_factory=list)  # rows compared here, by id
    unit_problems: dict[int, Problem] = field(default_factory=dict)  # of those, the wrong


class _RangeScan(EntryScan):
    """:class:`EntryScan` over one range, leaving what crosses its borders open."""

    def __init__(
        self,
        conn: Connection,
        job: RangeJob,
        receipts: ReceiptCheck | None,
        reader: ColumnReader | None = None,
    ) -> None:
        """``reader``: read the range as columns (see :meth:`run_range`)."""
        column_receipts = None
        if reader is not None and receipts is not None:
            column_receipts = ColumnReceipts(reader, receipts)
        super().__init__(
            conn,
            job.codes,
            set(job.marks),
            self._nodes_check,
            self._receipts,
            job.chunk,
            reader=reader,
            column_receipts=None if column_receipts is None else self._column_receipts,
        )
        self._checker = column_receipts
        self.order: list[int] = []  # units followed in the store, as the range first names them
        self.job = job
        self.base = self.size = self.expected = job.lo
        self.in_place = True
        self.firsts: dict[int, tuple[int, bytes]] = {}
        self.before: dict[int, list[Before]] = {}
        self.moved: set[int] = set()
        self.mark_frontiers: dict[int, list[bytes]] = {}
        self.nodes_checked = 0
        self.receipt_check = receipts
        self.lead: list[Row] = []
        self.decided = False
        self.closed = False
        self.units_checked: list[int] = []
        self.unit_problems: dict[int, Problem] = {}

    def _nodes_check(self, computed: list[tuple[int, int, bytes]]) -> list[Problem]:
        if not self.job.check_nodes:
            return []
        self.nodes_checked += len(computed)
        return check_tree_nodes(self.conn, computed)

    def _receipts(self, scans: list[ScanGroup]) -> list[Problem]:
        if scans:
            self.closed = True
            if not self.decided:
                self.decided = True
                if scans[0][2] == self.job.lo:  # may go on from the range before
                    self.lead = scans[0][4]
                    self.receipts -= 1
                    scans = scans[1:]
        if not scans or self.receipt_check is None:
            return []
        return self.receipt_check(scans)

    def _column_receipts(self, frame: pl.DataFrame) -> tuple[int, list[Problem]]:
        """:meth:`_receipts` over columns: the closed scans of ``frame`` (device rows)
        checked by :class:`~ledger.verify_receipts.ColumnReceipts`, all but the
        range's first when it starts at ``lo`` (it may go on from the range before:
        its rows go to the parent as ``lead``)."""
        assert self._checker is not None
        if not self.decided:
            runs = scan_runs(frame)
            if not runs.height:
                return 0, []
            self.decided = self.closed = True
            if runs["first_seq"][0] == self.job.lo:
                start, count = int(runs["start"][0]), int(runs["count"][0])
                self.lead = frame.slice(start, count).rows()
                frame = frame.slice(start + count)
        scans, problems = self._checker(frame)
        if scans:
            self.closed = True
        return scans, problems

    def _at_mark(self, size: int) -> None:
        self.mark_frontiers[size] = list(self.frontier)

    def _leave_columns(self) -> None:
        _READERS[_reader_key(self.job)] = None  # this worker reads tuples from now on
        super()._leave_columns()

    def _leave_store(self) -> None:
        """The units followed in the store become ``units``, in the order the range
        first names them; a unit whose custody is not fixed in the range (it is in
        ``before``) gets none: what it applied in the store is the parent's to apply
        (:meth:`_follow_units` applies nothing to it)."""
        store = self.store
        if store is None:
            return
        units = store.derived(self.codes, np.asarray(self.order, np.int64))
        for uid in self.before:
            units[uid].custody = DerivedUnit().custody
        self.units, self.store, self.order = units, None, []

    def _follow_frame(self, frame: pl.DataFrame, leaves: list[bytes]) -> None:
        """:meth:`_follow_units` over a chunk's columns: the chains and custody in the
        unit store (:func:`~ledger.custody_columns.follow_frame`), then what stays
        open at the range's borders from the columns: each unit's first entry in the
        range (whose ``prev`` is the parent's to check: no chain break for it), the
        entries before its custody is fixed, the units packed or unpacked."""
        store = self.store
        heads = frame.filter(pl.col("unit_id").is_first_distinct()).select(
            "unit_id", "seq", "prev_hash"
        )
        if store is None or heads["unit_id"].null_count():
            self._follow_units(frame.rows(), leaves)
            return
        ids = heads["unit_id"].to_numpy()
        inside = (ids >= 0) & (ids < len(store.seen))
        known = np.zeros(len(ids), np.bool_)
        known[inside] = store.seen[ids[inside]]
        followed = follow_frame(store, frame, leaves)
        if followed is None:  # the store cannot take it (store unchanged)
            self._follow_units(frame.rows(), leaves)
            return
        breaks, declarations = followed
        for at, previous in breaks:
            if previous is not None:  # None: a unit's first entry in the range
                self._chain_break(at, previous)
        self.declarations.extend(declarations)
        firsts, before = self.firsts, self.before
        new = heads.filter(pl.Series(~known))
        for uid, seq, prev in new.iter_rows():
            firsts[uid] = (seq, bytes(prev))
            before[uid] = []
        self.order.extend(new["unit_id"].to_list())
        if before:
            self._follow_before(frame)
        moved = frame.filter(pl.col("kind").is_in(_MOVE_NAMES) & pl.col("retracts_seq").is_null())
        if moved.height:
            self.moved.update(moved["unit_id"].to_list())

    def _follow_before(self, frame: pl.DataFrame) -> None:
        """The entries of ``frame`` that go to ``before``: those of units whose custody
        is not fixed yet, of a kind that moves custody, up to the unit's first of
        the kinds in :data:`RESETS` (which fixes it: the unit leaves ``before``)."""
        before, firsts, parties = self.before, self.firsts, self.codes.parties
        moving = frame.filter(
            pl.col("unit_id").is_in(list(before))
            & pl.col("kind").is_in(_CUSTODY_NAMES)
            & pl.col("retracts_seq").is_null()
        ).with_columns(reset=pl.col("kind").is_in(_RESET_NAMES))
        if not moving.height:
            return
        fixed = pl.col("reset").cast(pl.Int8).cum_max().over("unit_id") > 0
        waiting = moving.filter(~fixed).select(
            "seq", "unit_id", "kind", "party_id", "counterparty_id"
        )
        for seq, uid, kind, party, cp in waiting.iter_rows():
            before[uid].append(
                (
                    kind,
                    parties.get(party, ""),
                    None if cp is None else parties.get(cp, ""),
                    seq == firsts[uid][0],
                )
            )
        for uid in moving.filter(pl.col("reset"))["unit_id"].unique().to_list():
            before.pop(uid, None)

    def _rows(self, rows: list[tuple[Any, ...]]) -> None:
        if self.in_place and not self._chunk_in_place(rows):
            self.in_place = False

    def _follow_units(self, rows: list[tuple[Any, ...]], leaves: list[bytes]) -> None:
        self._leave_store()  # units followed in the store so far go on here
        parties = self.codes.parties
        units, firsts, before, moved = self.units, self.firsts, self.before, self.moved
        kinds, resets = _KINDS, RESETS
        packing, unpacking, declaration = _PACKING, _UNPACKING, _DECLARATION
        declarations = self.declarations
        apply = apply_entry
        for row, leaf in zip(rows, leaves, strict=True):
            seq, unit_id, retracts = row[SEQ], row[UNIT_ID], row[RETRACTS]
            u = units.get(unit_id)
            if u is None:  # its chain and custody so far are the parent's to know
                u = units[unit_id] = DerivedUnit()
                firsts[unit_id] = (seq, bytes(row[PREV]))
                before[unit_id] = []
            elif row[PREV] != u.head_hash:
                self._chain_break(seq, u.head_seq)
            kind_name = row[KIND]
            kind = kinds.get(kind_name)
            if kind is declaration or retracts is not None:
                declarations.append((seq, unit_id, kind_name, retracts))
            elif kind is not None:
                party = parties.get(row[PARTY], "")
                cp = row[COUNTERPARTY]
                counterparty = None if cp is None else parties.get(cp, "")
                waiting = before.get(unit_id)
                if waiting is not None and kind not in resets:
                    waiting.append((kind_name, party, counterparty, u.head_seq is None))
                else:
                    if waiting is not None:
                        del before[unit_id]
                    apply(u.custody, kind, party, counterparty, is_new=u.head_seq is None)
                if kind is packing:
                    u.container_id = row[CONTAINER_ID]
                    moved.add(unit_id)
                elif kind is unpacking:
                    u.container_id = None
                    moved.add(unit_id)
            u.head_seq = seq
            u.head_hash = leaf

    def run_range(self) -> None:
        """Read and verify the range a chunk at a time, as columns where the
        database can be read so (:mod:`ledger.entry_columns`: leaf hashes, chains,
        custody and receipts then derived over the columns, as one process derives
        them), else as row tuples; stop at the first chunk not in place (the parent
        then verifies in one process)."""
        job, conn = self.job, self.conn
        sql = _SQL.format(ph=placeholder(conn))
        for start in range(job.lo, job.hi, self.chunk):
            end = min(start + self.chunk, job.hi)
            read, last = self._read_columns(start, end)
            if not read:
                rows = read_rows(conn, sql, (start, end))
                if rows:
                    self._rows(rows)
                    last = rows[-1]
            if last is None:
                self.in_place = False
            if not self.in_place:
                return
            self._flush()
            self.last_row = last
        self.in_place = self.expected == job.hi

    def _read_columns(self, lo: int, hi: int) -> tuple[bool, Row | None]:
        """Entries ``lo <= seq < hi`` read as columns and followed: (True, the last
        row, None when there are none); (False, None) when they could not be read as
        columns (then neither is the rest of the range)."""
        frame = self._read_frame(lo, hi)
        if frame is None:
            return False, None
        if not frame.height:
            return True, None
        if self.in_place and not self._frame_in_place(frame):
            self.in_place = False
        else:
            self._add_scans(frame)
        return True, frame.row(-1)

    def check_closed_units(self) -> None:
        """Compare the units rows of the units whose entries all lie in this range
        (see :meth:`_check_closed_rows`), over columns when the units were followed
        in the store and the database can be read so."""
        if self.store is not None and self.reader is not None:
            try:
                self._check_closed_columns(self.reader, self.store)
                return
            except ColumnsUnavailable:
                pass
        self._leave_store()
        self._check_closed_rows()

    def _check_closed_columns(self, reader: ColumnReader, store: UnitStore) -> None:
        """:meth:`_check_closed_rows` over columns: the rows read by id lists, those
        whose ``head_seq`` is the unit's last entry here compared with the store
        at once (:func:`~ledger.verify_units.units_rows_problems`). Such a unit's
        custody in the store is its entries applied from the start, as the row
        check applies them. Raises ColumnsUnavailable (nothing changed) when the
        rows cannot be read as columns."""
        firsts = self.firsts
        declared = {d[1] for d in self.declarations}
        closing = [u for u in self.order if not firsts[u][1] and u not in declared]
        checked: list[int] = []
        problems: dict[int, Problem] = {}
        for i in range(0, len(closing), _IDS_PER_QUERY):
            part = ",".join(map(str, closing[i : i + _IDS_PER_QUERY]))
            frame = reader.query(
                f"SELECT {UNIT_COLUMNS} FROM units WHERE id IN ({part})", UNITS_SCHEMA
            )
            ids = frame["id"].to_numpy()
            here = frame["head_seq"].fill_null(-1).to_numpy() == store.head_seq[ids]
            frame = frame.filter(pl.Series(here))  # else it goes on, or is wrong: the parent's
            problems.update(units_rows_problems(frame, store, self.codes))
            checked += frame["id"].to_list()
        if not checked:
            return
        gone = set(checked)
        self.order = [u for u in self.order if u not in gone]
        for uid in checked:
            self.before.pop(uid, None)
        self.units_checked += checked
        self.unit_problems.update(problems)

    def _check_closed_rows(self) -> None:
        """Compare the units rows of the units whose entries all lie in this range, so
        that only the others go to the parent. A unit is taken to lie here when its
        first entry here names no previous one, it has no error declaration here and
        its row's ``head_seq`` is its last entry here; the parent checks that no other
        range names it (else the log is verified in one process). Its custody is then
        the entries here applied from the start, as one pass applies them."""
        firsts, before, units = self.firsts, self.before, self.units
        declared = {d[1] for d in self.declarations}
        closing: dict[int, DerivedUnit] = {
            uid: u for uid, u in units.items() if not firsts[uid][1] and uid not in declared
        }
        if not closing:
            return
        kinds, apply = _KINDS, apply_entry
        ids, codes = party_ids(self.codes), self.codes
        for row in unit_rows(self.conn, list(closing)):
            uid = row[0]
            u = closing[uid]
            if row[9] != u.head_seq:
                continue  # its row says it goes on (or is wrong): the parent's to judge
            waiting = before.pop(uid, None)
            if waiting is not None:  # never fixed here: apply all, from the start
                for kind, party, counterparty, first in waiting:
                    apply(u.custody, kinds[kind], party, counterparty, is_new=first)
            del units[uid]
            self.units_checked.append(uid)
            wrong = unit_row_problem(row, u, ids, codes)
            if wrong is not None:
                self.unit_problems[uid] = wrong

    def result(self) -> RangeResult:
        self._leave_store()
        job = self.job
        out = RangeResult(job.lo, job.hi, self.in_place)
        if not self.in_place:
            return out
        out.rows = job.hi - job.lo
        out.problems = self.problems
        out.mismatched = self.mismatched
        out.chain_breaks = self.chain_breaks
        out.first_tile_mismatch = self.first_tile_mismatch
        out.nodes_checked = self.nodes_checked
        out.frontier = self.frontier
        out.mark_frontiers = self.mark_frontiers
        out.declarations = self.declarations
        parts = out.units
        parts.ids = list(self.units)
        units = list(self.units.values())
        parts.first_seq = [self.firsts[uid][0] for uid in parts.ids]
        parts.first_prev = [self.firsts[uid][1] for uid in parts.ids]
        parts.head_seq = [u.head_seq or 0 for u in units]
        parts.head_hash = [u.head_hash for u in units]
        parts.state = [u.custody.state.value for u in units]
        parts.holder = [u.custody.holder for u in units]
        parts.bound_for = [u.custody.bound_for for u in units]
        parts.container_id = [u.container_id for u in units]
        moved, before = self.moved, self.before
        parts.moved = [uid in moved for uid in parts.ids]
        parts.before = [before.get(uid) for uid in parts.ids]
        out.receipts = self.receipts
        if self.receipt_check is not None:
            out.receipts_matched = self.receipt_check.matched
        self._pending_to_rows()  # the last scan's device rows, if still as columns
        out.lead, out.tail, out.closed = self.lead, self._scan_rows, self.closed
        out.last_row = self.last_row
        out.units_checked, out.unit_problems = self.units_checked, self.unit_problems
        return out


_ENGINES: dict[str, Engine] = {}
_READERS: dict[tuple[str, str | None], ColumnReader | None] = {}


def _reader_key(job: RangeJob) -> tuple[str, str | None]:
    return job.url, job.snapshot


def _reader(conn: Connection, job: RangeJob) -> ColumnReader | None:
    """This worker's column reader for the verification ``job`` belongs to (one
    per database and snapshot, opened on the worker's first range and kept for
    the others: a worker serves one verification and ends with it); None when
    the database cannot be read as columns."""
    key = _reader_key(job)
    if key not in _READERS:
        _READERS[key] = open_reader(conn, _SQL.format(ph="%d"))
    return _READERS[key]


def _engine(url: str) -> Engine:
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = make_engine(url)
    return engine


def verify_range(job: RangeJob) -> RangeResult:
    """Verify one range (in a worker process: its own connection, on the parent's
    snapshot). Anything that goes wrong here, a database error included, comes
    back as ``in_place`` False: the parent then verifies in one process, which
    names it."""
    started = time.process_time()
    result = _verify_range(job)
    result.process_cpu = time.process_time()
    result.cpu = result.process_cpu - started
    result.pid = os.getpid()
    return result


def _verify_range(job: RangeJob) -> RangeResult:
    try:
        with paused_gc(), _engine(job.url).connect() as conn:
            if not is_sqlite(conn):
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                if job.snapshot is not None:
                    if not SNAPSHOT_ID.match(job.snapshot):
                        return RangeResult(job.lo, job.hi, in_place=False)
                    conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{job.snapshot}'")
            receipts = ReceiptCheck(conn, job.codes) if job.check_receipts else None
            reader = _reader(conn, job) if job.columns else None
            scan = _RangeScan(conn, job, receipts, reader)
            scan.run_range()
            if scan.in_place and job.check_units:
                scan.check_closed_units()
            return scan.result()
    except Exception:
        return RangeResult(job.lo, job.hi, in_place=False)
