"""Re-derive the whole ledger from its entries and compare everything stored with it.

Verification trusts nothing stored except what the ledger key signed. One
streaming pass (:mod:`ledger.verify_scan`) re-encodes every entry from its
columns, recomputes leaf hashes, each unit's chain, the Merkle tree, each unit's
custody and each scan's receipt; then one function per derived table
(:mod:`ledger.verify_derived`) compares the table with that. Every problem found
is a :class:`~ledger.verify_problems.Problem`; the most telling one (lowest
``seq``, then the table-level ones) heads the :class:`LedgerIntegrityError`.

Problems tied to an entry (``seq`` set):

- ``changed``: an entry's columns no longer give its leaf hash (or a row was
  rewritten with its hash while the next entry of its unit links to the original);
- ``deleted``: a seq is missing, later entries were renumbered down over it, or
  the head or a stored checkpoint counts entries the log no longer has;
- ``inserted``: an entry sits where none was (later entries renumbered up, or
  beyond the head, or at a negative seq);
- ``reordered``: entries were swapped or moved; each still hashes at its original seq;
- ``chain broken``: an entry's ``prev`` is not its unit's previous leaf hash;
- ``root mismatch``: rows agree with each other but not with a signed root
  (rewritten together with their hashes), named to the 16-entry tile that differs;
- ``truncated``: the log is shorter than the checkpoint an auditor kept.

Problems in a row of another table (``seq`` None, ``table`` and ``key`` set):
``bad signature``, ``checkpoint changed``, ``inconsistent``, ``head missing``,
``head changed``, ``tree node changed|missing|extra``, ``unit
changed|missing|extra``, ``receipt changed|missing|extra`` and ``unreadable`` (a
table that cannot be read at all). See :mod:`ledger.verify_derived`.

With ``jobs`` > 1 (``hopchain ledger verify --jobs N``) the streaming pass runs
in N processes over aligned ranges of the log and is folded back into one
(:mod:`ledger.verify_parallel`); the findings are those of one process.

Adding a check (settlement, alerts, ...): pass a function ``check(ctx) ->
Iterable[Problem]`` in ``extra_checks``; it runs on the same database snapshot
after the ledger's own checks, and what it returns joins the same report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ledger import merkle
from ledger.checkpoint import SignedCheckpoint
from ledger.database import is_sqlite
from ledger.entry_columns import (
    COLUMNS_MIN_ENTRIES,
    ColumnReader,
    ColumnsUnavailable,
    open_reader,
)
from ledger.rows import CodeBook, load_codebook
from ledger.verify_derived import (
    CheckpointRow,
    ReceiptCheck,
    check_checkpoint_roots,
    check_checkpoint_rows,
    check_head,
    check_kept_consistency,
    check_kept_size_and_root,
    check_tree_node_extras,
    check_tree_nodes,
    check_units,
    open_kept_checkpoint,
)
from ledger.verify_parallel import scan_in_parallel
from ledger.verify_problems import KINDS, Problem, first_problems
from ledger.verify_receipts import ColumnReceipts
from ledger.verify_scan import _SQL, EntryScan, paused_gc
from ledger.verify_units import check_units_columns

__all__ = [
    "KINDS",
    "CheckContext",
    "ExtraCheck",
    "LedgerIntegrityError",
    "Problem",
    "VerifyReport",
    "verify_ledger",
]

CHUNK = 20_000
REPORTED = 100  # problems an error carries at most, most telling first
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check gets: the verification's connection (one consistent snapshot:
    REPEATABLE READ on PostgreSQL, one read transaction on SQLite) and the ledger
    key that signs checkpoints."""

    conn: Connection
    name: str
    public_key: bytes


ExtraCheck = Callable[[CheckContext], Iterable[Problem]]
"""A check beyond the ledger's own (e.g. settlement): returns what it found."""


class LedgerIntegrityError(Exception):
    """The ledger does not verify.

    ``problems``: up to :data:`REPORTED` problems, most telling first; ``seq``,
    ``problem``, ``detail``, ``table`` and ``key`` are the first one's (``seq`` is
    None when it is not tied to one entry).
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("an integrity error needs at least one problem")
        first = problems[0]
        self.problems = list(problems)
        self.seq = first.seq
        self.problem = first.problem
        self.detail = first.detail
        self.table = first.table
        self.key = dict(first.key)
        super().__init__(str(first))


@dataclass(slots=True)
class VerifyReport:
    """An intact ledger: ``entries`` (tree size), ``units``, ``receipts`` (scans),
    ``tree_nodes`` (stored nodes compared), ``root`` (of all entries), the newest
    stored ``checkpoint``, ``checkpoints_checked``, ``keep`` (the newest verified
    checkpoint, stored or kept: what an auditor should keep now), ``seconds`` and
    ``processes`` (that verified the entries side by side: 1 unless ``jobs`` > 1
    and workers ran)."""

    entries: int
    units: int
    root: bytes
    checkpoint: SignedCheckpoint | None
    checkpoints_checked: int
    seconds: float
    receipts: int = 0
    tree_nodes: int = 0
    keep: SignedCheckpoint | None = None
    checks: list[str] = field(default_factory=list)
    processes: int = 1

    @property
    def rate(self) -> float:
        return self.entries / self.seconds if self.seconds > 0 else float("inf")


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        if not is_sqlite(conn):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


def _db_errors(conn: Connection) -> tuple[type[BaseException], ...]:
    dbapi = getattr(conn.dialect, "loaded_dbapi", None)
    error = getattr(dbapi, "Error", None)
    return (SQLAlchemyError, error) if isinstance(error, type) else (SQLAlchemyError,)


class _Run:
    """One verification on one snapshot: runs each check in turn, turning a table
    that cannot be read into an ``unreadable`` problem instead of an error."""

    def __init__(
        self,
        conn: Connection,
        name: str,
        public_key: bytes,
        chunk: int,
        jobs: int = 1,
        on_jobs: Callable[[str], None] | None = None,
        columns: bool | None = None,
    ) -> None:
        self.conn = conn
        self.columns = columns
        self.on_jobs = on_jobs
        self.name = name
        self.public_key = public_key
        self.chunk = chunk
        self.jobs = jobs
        self.problems: list[Problem] = []
        self.checks: list[str] = []
        self._errors = _db_errors(conn)
        self.checkpoints: list[CheckpointRow] = []
        self.kept: SignedCheckpoint | None = None
        self.head: tuple[int, bytes] | None = None
        self.codes: CodeBook | None = None
        self.readable: dict[str, bool] = {}
        self.receipts: ReceiptCheck | None = None
        self.nodes_checked = 0
        self.unit_count = 0
        self.processes = 1  # that verified the entries side by side
        self.reader: ColumnReader | None = None  # the one-process pass's, open till the end
        self.units_checked: set[int] = set()  # units rows --jobs workers compared
        self.unit_problems: dict[int, Problem] = {}

    def guard(
        self, table: str, name: str, check: Callable[[], Iterable[Problem]], listed: bool = True
    ) -> bool:
        """Run ``check``; False when its table could not be read."""
        if listed and name not in self.checks:
            self.checks.append(name)
        try:
            self.problems.extend(check())
            return True
        except self._errors:
            self.conn.rollback()
            self.problems.append(
                Problem(
                    None,
                    "unreadable",
                    f"table {table} could not be read, so {name} was not checked",
                    table,
                )
            )
            return False

    # --- what the scan needs first ----------------------------------------------------

    def load(self, kept_note: str | None, kept_label: str) -> None:
        conn = self.conn

        def checkpoints() -> list[Problem]:
            self.checkpoints, found = check_checkpoint_rows(conn, self.name, self.public_key)
            return found

        def head() -> list[Problem]:
            self.head = _read_head(conn)
            return []

        def codes() -> list[Problem]:
            self.codes = load_codebook(conn)
            return []

        self.guard("checkpoints", "checkpoint signatures", checkpoints)
        if kept_note is not None:
            self.kept, found = open_kept_checkpoint(
                kept_note, self.name, self.public_key, kept_label
            )
            self.problems.extend(found)
        self.guard("ledger_head", "the head", head, listed=False)
        self.guard("parties", "party and site codes", codes, listed=False)
        # A derived table that cannot be read is named once and left out; the rest
        # is still checked.
        for table, columns in _DERIVED_COLUMNS.items():
            self.readable[table] = self.guard(
                table, f"{table} columns", _probe(conn, table, columns), listed=False
            )

    # --- the one pass over the entries -------------------------------------------------

    def scan_entries(self, progress: Progress | None) -> EntryScan | None:
        """The streaming pass (tree nodes and receipts compared as it goes), or None
        when the entries could not be read."""
        if self.codes is None:
            return None
        conn = self.conn
        marks = {row.checkpoint.tree_size for row in self.checkpoints}
        if self.kept is not None:
            marks.add(self.kept.tree_size)
        if self.head is not None:
            marks.add(self.head[0])

        def nodes(computed: list[tuple[int, int, bytes]]) -> list[Problem]:
            self.nodes_checked += len(computed)
            return check_tree_nodes(conn, computed)

        receipts = self.receipts = ReceiptCheck(conn, self.codes)
        codes = self.codes
        on_nodes = nodes if self.readable["tree_nodes"] else _nothing
        on_receipts = receipts if self.readable["scan_receipts"] else None
        head_size = self.head[0] if self.head else 0
        scans: list[EntryScan] = []

        def run() -> list[Problem]:
            total = max(head_size, _max_seq(conn) + 1)
            report = None if progress is None else lambda done: progress(done, total)
            found = None
            if self.jobs > 1:
                found = scan_in_parallel(
                    conn,
                    codes,
                    marks,
                    on_nodes,
                    on_receipts,
                    chunk=self.chunk,
                    jobs=self.jobs,
                    check_nodes=self.readable["tree_nodes"],
                    check_units=self.readable["units"],
                    columns=self.columns,
                    progress=report,
                    note=self.on_jobs,
                )
            if found is not None:
                scan, self.processes = found.scan, found.processes
                self.nodes_checked += found.nodes_checked
                self.units_checked, self.unit_problems = found.units_checked, found.unit_problems
            else:  # one process; also what names rows missing, added or unencodable
                check = on_receipts
                if self.jobs > 1 and check is not None:  # it may have counted ranges folded
                    check = self.receipts = ReceiptCheck(conn, codes)
                wanted = total >= COLUMNS_MIN_ENTRIES if self.columns is None else self.columns
                reader = open_reader(conn, _SQL.format(ph="%d")) if wanted else None
                scan = EntryScan(
                    conn,
                    codes,
                    marks,
                    on_nodes,
                    check or _nothing,
                    self.chunk,
                    reader=reader,
                    column_receipts=(
                        None if check is None or reader is None else ColumnReceipts(reader, check)
                    ),
                )
                self.reader = reader
                scan.run(report)
            scan.finish()
            scans.append(scan)
            return scan.problems

        if not self.guard("entries", "entries, chains, tree nodes and receipts", run):
            return None
        self.unit_count = scans[0].unit_count() + len(self.units_checked)
        return scans[0]

    # --- every table compared with what the scan derived -------------------------------

    def check_derived(self, scan: EntryScan) -> None:
        conn, codes = self.conn, self.codes
        roots, size, tile = scan.roots, scan.size, scan.first_tile_mismatch
        checkpoints, head = self.checkpoints, self.head
        self.guard(
            "checkpoints",
            "signed roots",
            lambda: check_checkpoint_roots(checkpoints, roots, size, tile),
        )
        self.guard("ledger_head", "the head", lambda: check_head(head, size, scan.frontier, roots))
        if self.readable["tree_nodes"]:
            self.guard("tree_nodes", "tree nodes", lambda: check_tree_node_extras(conn, size))
        if self.readable["units"] and codes is not None:
            book = codes  # check_units consumes the records

            def units() -> list[Problem]:
                if scan.store is not None and self.reader is not None:
                    try:
                        return check_units_columns(self.reader, scan.store, book, self.chunk)
                    except ColumnsUnavailable:
                        pass  # compared row by row
                return check_units(
                    conn,
                    scan.unit_records(),
                    book,
                    self.chunk,
                    self.units_checked,
                    self.unit_problems,
                )

            self.guard("units", "units", units)
        if self.readable["scan_receipts"] and self.receipts is not None:
            self.guard("scan_receipts", "scan receipts", self.receipts.extras)

    def check_kept(self, scan: EntryScan, label: str) -> None:
        """The checkpoint an auditor kept: the log extends it (then, when all else
        verified, the consistency proof an auditor's client would get does too)."""
        if self.kept is None:
            return
        kept, conn = self.kept, self.conn
        roots, size, tile = scan.roots, scan.size, scan.first_tile_mismatch
        root = merkle.frontier_root(scan.frontier)
        self.guard(
            "checkpoint file",
            "the kept checkpoint",
            lambda: check_kept_size_and_root(kept, roots, size, tile, label),
        )
        if not self.problems:
            self.guard(
                "tree_nodes",
                "consistency with the kept checkpoint",
                lambda: check_kept_consistency(conn, kept, size, root, label),
            )

    def run_extra(self, checks: Sequence[ExtraCheck]) -> None:
        ctx = CheckContext(self.conn, self.name, self.public_key)
        for check in checks:
            name = getattr(check, "__name__", repr(check))
            self.guard(name, name, _bind(check, ctx))


def verify_ledger(
    engine: Engine,
    name: str,
    public_key: bytes,
    progress: Progress | None = None,
    *,
    kept_note: str | None = None,
    kept_label: str = "the kept checkpoint",
    extra_checks: Sequence[ExtraCheck] = (),
    chunk: int = CHUNK,
    jobs: int = 1,
    on_jobs: Callable[[str], None] | None = None,
    columns: bool | None = None,
) -> VerifyReport:
    """Verify the entries and everything derived from them; return a report or raise
    :class:`LedgerIntegrityError` carrying every problem found (never another
    error for what is in the database).

    ``name``/``public_key``: the ledger's checkpoint key (raw Ed25519, 32 bytes).
    ``kept_note``: a checkpoint note an auditor kept from an earlier
    ``GET /api/v1/ledger/checkpoint``; the log must still be at least that long,
    with that root at that size and an RFC 9162 consistency proof from it to the
    current tree (``kept_label`` names it in problems, e.g. its file).
    ``extra_checks``: more checks on the same snapshot (see the module doc).
    ``progress(done, total)``: called after each chunk of ``chunk`` seqs (with
    ``jobs`` > 1, as each range of the log is verified).
    ``jobs``: processes that verify ranges of the log side by side
    (:mod:`ledger.verify_parallel`); the findings are the same as with one.
    ``on_jobs(text)``: told in words when fewer processes verify than ``jobs``
    asked, and why (few cores or entries, rows not in place).
    ``columns``: read entries as columns where the database can be read so
    (:mod:`ledger.entry_columns`); False reads row tuples throughout (the path the
    columns fall back to); None (the default) reads columns from
    :data:`~ledger.entry_columns.COLUMNS_MIN_ENTRIES` entries on (``--jobs``
    workers too, on a log that long). The findings are the same either way.
    """
    started = time.perf_counter()
    with _snapshot(engine) as conn:
        run = _Run(conn, name, public_key, chunk, jobs, on_jobs, columns)
        try:
            with paused_gc():  # the ledger's own checks; extra checks may make cycles
                run.load(kept_note, kept_label)
                scan = run.scan_entries(progress)
                if scan is not None:
                    run.check_derived(scan)
                    run.check_kept(scan, kept_label)
        finally:
            if run.reader is not None:
                run.reader.close()
        run.run_extra(extra_checks)
    if run.problems or scan is None:
        raise LedgerIntegrityError(first_problems(run.problems, REPORTED))
    newest = run.checkpoints[-1].checkpoint if run.checkpoints else None
    keep = newest
    if run.kept is not None and (keep is None or run.kept.tree_size > keep.tree_size):
        keep = run.kept
    return VerifyReport(
        entries=scan.size,
        units=run.unit_count,
        root=merkle.frontier_root(scan.frontier),
        checkpoint=newest,
        checkpoints_checked=len(run.checkpoints) + (run.kept is not None),
        seconds=time.perf_counter() - started,
        receipts=scan.receipts,
        tree_nodes=run.nodes_checked,
        keep=keep,
        checks=run.checks,
        processes=run.processes,
    )


# The columns each derived table is read by; a table that lacks them is unreadable.
_DERIVED_COLUMNS = {
    "tree_nodes": "level, idx, hash",
    "units": "id, key, gtin, serial, sscc, container_id, holder_id, bound_for_id, state,"
    " head_seq, head_hash",
    "scan_receipts": "device, device_seq, first_seq, entry_count, anomaly, content_hash",
}


def _probe(conn: Connection, table: str, columns: str) -> Callable[[], list[Problem]]:
    def probe() -> list[Problem]:
        conn.exec_driver_sql(f"SELECT {columns} FROM {table} WHERE 1 = 0").fetchall()
        return []

    return probe


def _nothing(_: object) -> list[Problem]:
    return []


def _bind(check: ExtraCheck, ctx: CheckContext) -> Callable[[], Iterable[Problem]]:
    return lambda: check(ctx)


def _read_head(conn: Connection) -> tuple[int, bytes] | None:
    row = conn.exec_driver_sql("SELECT tree_size, frontier FROM ledger_head WHERE id = 1").first()
    return None if row is None else (int(row[0]), bytes(row[1]))


def _max_seq(conn: Connection) -> int:
    value = conn.exec_driver_sql("SELECT MAX(seq) FROM entries").scalar()
    return -1 if value is None else int(value)
