"""The snapshot as Parquet files partitioned by unit range, on a path workers share.

Layout of one snapshot directory (``<root>/tree-<tree_size>-<root_hex[:16]>/``,
the contract in docs/scaling.md):

- ``snapshot.json``: format ``hopchain-snapshot/1``, tree size, root, counts, the
  product (GTIN-14) and currency (ISO 4217) lists and the partitions; written
  LAST, so its presence means the snapshot is complete;
- ``parties.parquet``: one row per party in dense order (id, code, kind, parent,
  currency);
- ``units.parquet``: one row per unit in dense order (id, product; -1 logistic);
- ``part-NNNNN.parquet``: every live entry of the units with dense index in
  ``[unit_lo, unit_hi)``, in seq order (seq, unit as the GLOBAL dense index, kind,
  party, counterparty, at_ms, lat_e6, lon_e6), row groups of at most 1,000,000 rows.
- ``.in-use``: empty; a run holds a shared ``flock`` on it while it uses the folder
  (:class:`SnapshotLease`), and :func:`prune_snapshots` deletes only folders whose
  lock it can take exclusively.

A unit's whole history is in one partition, so the per-unit replay of
:func:`settlement.kernels.detect` on one partition gives exactly the rows the
whole snapshot would. Entries that are retracted (error declarations and what they
retract) are left out, as :func:`settlement.snapshot.load_snapshot` leaves them out.

Writing streams the ledger once in seq chunks and appends each chunk's rows to the
partition files, so memory holds a bounded buffer, not the month.
"""

from __future__ import annotations

import fcntl
import functools
import itertools
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, text

from settlement.common import SettlementError
from settlement.snapshot import (
    ENTRY_DTYPES,
    EntryChunk,
    Snapshot,
    SnapshotTables,
    Tables,
    check_tree_size,
    entry_chunks,
    left_out,
    load_tables,
    unit_positions,
)

__all__ = [
    "DEFAULT_ROWS_PER_PARTITION",
    "ENTRY_SCHEMA",
    "PARTY_SCHEMA",
    "ROW_GROUP",
    "SNAPSHOT_FORMAT",
    "UNIT_SCHEMA",
    "PartitionInfo",
    "PartitionedSnapshot",
    "SnapshotDirError",
    "load_partition",
    "open_snapshot",
    "partition_info",
    "prune_snapshots",
    "snapshot_path",
    "split_units",
    "write_snapshot",
    "write_snapshot_arrays",
]

SNAPSHOT_FORMAT = "hopchain-snapshot/1"
DEFAULT_ROWS_PER_PARTITION = 4_000_000
ROW_GROUP = 1_000_000
#: Rows buffered across all partitions before every buffer is written out.
_BUFFER_ROWS = 8_000_000
#: Units' entry counts fetched per batch while choosing the partitions.
_COUNT_BATCH = 200_000
_SHARED_HINT = (
    "the snapshot directory must be a path every worker shares "
    "(HOPCHAIN_SNAPSHOT_DIR or --snapshot-dir, on a shared file system)"
)

ENTRY_SCHEMA = pa.schema([(c, pa.from_numpy_dtype(t)) for c, t in ENTRY_DTYPES.items()])
_COLUMNS = tuple(ENTRY_SCHEMA.names)
PARTY_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("code", pa.string()),
        ("kind", pa.int8()),
        ("parent", pa.int32()),
        ("currency", pa.int16()),
    ]
)
UNIT_SCHEMA = pa.schema([("id", pa.int64()), ("product", pa.int32())])


class SnapshotDirError(SettlementError):
    """A partitioned snapshot cannot be read or written where it was asked to be."""


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One partition file: units with dense index in ``[unit_lo, unit_hi)``."""

    file: str
    unit_lo: int
    unit_hi: int
    entries: int


@dataclass(frozen=True, slots=True)
class PartitionedSnapshot(SnapshotTables):
    """A complete snapshot directory: its header, partitions and :class:`Tables`.

    Reads its tables as its own attributes (:class:`settlement.snapshot.SnapshotTables`:
    dense unit and party arrays, products, currencies); entries stay on disk until
    :meth:`read_partition` (one partition, partition-local unit numbering) or
    :meth:`read_all` (everything, for tests and small ledgers).
    """

    directory: Path
    tree_size: int
    root_hex: str
    entries: int
    rows_per_partition: int
    partitions: tuple[PartitionInfo, ...]
    tables: Tables
    #: held while this object lives: the folder is in use and never pruned meanwhile
    lease: SnapshotLease | None = field(default=None, repr=False, compare=False)

    def read_partition(self, index: int) -> Snapshot:
        """Partition ``index`` as a :class:`Snapshot` numbering its units from 0
        (global dense index = local + ``partitions[index].unit_lo``)."""
        return load_partition(self.directory, index)

    def read_all(self) -> Snapshot:
        """Every partition as one :class:`Snapshot` in seq order, global unit numbering:
        equal to :func:`settlement.snapshot.load_snapshot` at the same tree size."""
        cols: dict[str, list[npt.NDArray[Any]]] = {c: [] for c in _COLUMNS}
        for info in self.partitions:
            table = _read_entries(self.directory, info)
            for c in _COLUMNS:
                cols[c].append(table[c])
        merged = {
            c: np.concatenate(v) if v else np.empty(0, ENTRY_DTYPES[c]) for c, v in cols.items()
        }
        order = np.argsort(merged["seq"], kind="stable")
        return Snapshot.of(self.tree_size, {c: v[order] for c, v in merged.items()}, self.tables)


_IN_USE = ".in-use"
_FOLDER = re.compile(r"tree-\d+-[0-9a-f]{1,16}")


class SnapshotLease:
    """A shared ``flock`` on a snapshot folder's ``.in-use`` file: while one is held
    (by an open :class:`PartitionedSnapshot`, so for as long as a run uses it),
    :func:`prune_snapshots` leaves the folder alone. Released by :meth:`release` or
    when the object is collected (the file descriptor is closed)."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.release()


def _lease(path: Path) -> SnapshotLease | None:
    """A lease on the folder at ``path`` (its last use, the folder's mtime, set to now);
    None when no folder is there, or it was pruned while the lock was awaited."""
    lock = path / _IN_USE
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a prune renames the folder away
    try:
        same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        os.utime(path)
    except OSError:
        same = False
    if not same:
        os.close(fd)
        return None
    return SnapshotLease(fd)


def prune_snapshots(root: str | os.PathLike[str], keep: int) -> list[Path]:
    """Delete the complete snapshot folders under ``root`` (``tree-<size>-<hex>`` with
    a ``snapshot.json``) beyond the ``keep`` most recently used (a run that writes or
    opens one marks it used), except those in use (a :class:`SnapshotLease` held by
    any process). Folders being written (``*.writing-<pid>``) and other files are
    never touched. Returns the folders deleted, newest first; a folder that cannot be
    deleted is left as it is. Raises :class:`SnapshotDirError` when ``keep`` < 1.
    """
    if keep < 1:
        raise SnapshotDirError(f"at least one snapshot folder must be kept, not {keep}")
    base = Path(root)
    try:
        found = [p for p in base.iterdir() if _FOLDER.fullmatch(p.name)]
        folders = [
            (p.stat().st_mtime_ns, p.name, p) for p in found if (p / "snapshot.json").exists()
        ]
    except OSError:
        return []
    removed: list[Path] = []
    for _, _, path in sorted(folders, reverse=True)[keep:]:
        try:
            fd = os.open(path / _IN_USE, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            gone = path.with_name(f"{path.name}.pruning-{os.getpid()}")
            path.rename(gone)  # under the lock: a run opening it now finds nothing
        except OSError:  # in use (the lock is held), or gone meanwhile
            continue
        finally:
            os.close(fd)
        shutil.rmtree(gone, ignore_errors=True)
        removed.append(path)
    return removed


def snapshot_path(root: str | os.PathLike[str], tree_size: int, root_hex: str) -> Path:
    """Where the snapshot of a checkpoint lives under ``root``."""
    return Path(root) / f"tree-{int(tree_size)}-{root_hex.lower()[:16]}"


def split_units(counts: npt.NDArray[np.int64], rows_per_partition: int) -> list[tuple[int, int]]:
    """Unit ranges ``[lo, hi)`` covering every unit, each holding at least
    ``rows_per_partition`` entries (by ``counts``, entries per dense unit) except the
    last; a unit with more entries than that gets a partition of its own.

    Raises :class:`SnapshotDirError` when ``rows_per_partition`` is below 1.
    """
    if rows_per_partition < 1:
        raise SnapshotDirError(f"rows_per_partition must be at least 1, got {rows_per_partition}")
    n_units = int(counts.shape[0])
    cum = np.cumsum(counts, dtype=np.int64)
    out: list[tuple[int, int]] = []
    lo = 0
    while lo < n_units:
        before = int(cum[lo - 1]) if lo else 0
        hi = int(np.searchsorted(cum, before + rows_per_partition, side="left")) + 1
        hi = min(max(hi, lo + 1), n_units)
        out.append((lo, hi))
        lo = hi
    return out


class _PartitionWriter:
    """Appends seq-ordered rows to the partition files, buffering a bounded number."""

    def __init__(self, directory: Path, bounds: list[tuple[int, int]], budget: int) -> None:
        self.directory = directory
        self.budget = budget
        self.bounds = bounds
        self.his = np.array([hi for _, hi in bounds], dtype=np.int64)
        self.buffers: list[list[dict[str, npt.NDArray[Any]]]] = [[] for _ in bounds]
        self.buffered = [0] * len(bounds)
        self.entries = [0] * len(bounds)
        self.writers: list[pq.ParquetWriter | None] = [None] * len(bounds)

    def file(self, p: int) -> str:
        return f"part-{p:05d}.parquet"

    def add(self, cols: dict[str, npt.NDArray[Any]]) -> None:
        n = int(cols["seq"].shape[0])
        if not n:
            return
        part = np.searchsorted(self.his, cols["unit"], side="right")
        order = np.argsort(part, kind="stable")  # keeps seq order within a partition
        part_sorted = part[order]
        edges = np.searchsorted(part_sorted, np.arange(len(self.bounds) + 1))
        for p in np.unique(part_sorted).tolist():
            rows = order[edges[p] : edges[p + 1]]
            self.buffers[p].append({c: cols[c][rows] for c in _COLUMNS})
            self.buffered[p] += int(rows.shape[0])
            if self.buffered[p] >= min(ROW_GROUP, self.budget):
                self.flush(p)
        if sum(self.buffered) > self.budget:
            for p in range(len(self.bounds)):
                self.flush(p)

    def flush(self, p: int) -> None:
        if not self.buffered[p]:
            return
        arrays = [
            pa.array(
                np.concatenate([b[c] for b in self.buffers[p]]), type=ENTRY_SCHEMA.field(c).type
            )
            for c in _COLUMNS
        ]
        table = pa.Table.from_arrays(arrays, schema=ENTRY_SCHEMA)
        writer = self.writers[p]
        if writer is None:
            writer = pq.ParquetWriter(self.directory / self.file(p), ENTRY_SCHEMA)
            self.writers[p] = writer
        writer.write_table(table, row_group_size=ROW_GROUP)
        self.entries[p] += self.buffered[p]
        self.buffers[p] = []
        self.buffered[p] = 0

    def close(self) -> list[PartitionInfo]:
        for p in range(len(self.bounds)):
            self.flush(p)
            writer = self.writers[p]
            if writer is None:  # a range of units without live entries: an empty file
                pq.write_table(ENTRY_SCHEMA.empty_table(), self.directory / self.file(p))
            else:
                writer.close()
        return [
            PartitionInfo(self.file(p), lo, hi, self.entries[p])
            for p, (lo, hi) in enumerate(self.bounds)
        ]


def _write_tables(directory: Path, tables: Tables) -> None:
    parties = pa.Table.from_arrays(
        [
            pa.array(tables.party_ids, type=pa.int64()),
            pa.array(list(tables.party_codes), type=pa.string()),
            pa.array(tables.party_kind, type=pa.int8()),
            pa.array(tables.party_parent, type=pa.int32()),
            pa.array(tables.party_currency, type=pa.int16()),
        ],
        schema=PARTY_SCHEMA,
    )
    pq.write_table(parties, directory / "parties.parquet")
    units = pa.Table.from_arrays(
        [
            pa.array(tables.unit_ids, type=pa.int64()),
            pa.array(tables.unit_product, type=pa.int32()),
        ],
        schema=UNIT_SCHEMA,
    )
    pq.write_table(units, directory / "units.parquet", row_group_size=ROW_GROUP)


def _write(
    path: Path,
    tree_size: int,
    root_hex: str,
    tables: Tables,
    counts: npt.NDArray[np.int64],
    chunks: Iterable[dict[str, npt.NDArray[Any]]],
    rows_per_partition: int,
) -> PartitionedSnapshot:
    """Write the snapshot into a fresh sibling folder and rename it into place last."""
    bounds = split_units(counts, rows_per_partition)
    tmp = path.with_name(f"{path.name}.writing-{os.getpid()}")
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
    except OSError as exc:
        raise SnapshotDirError(
            f"cannot create the snapshot directory {tmp} ({exc.strerror}): {_SHARED_HINT}"
        ) from None
    # Rows held before writing: about two partitions' worth, so memory follows the
    # partition size (8,000,000 rows at most: some 250 MB).
    writer = _PartitionWriter(tmp, bounds, min(_BUFFER_ROWS, max(2 * rows_per_partition, 65_536)))
    for cols in chunks:
        writer.add(cols)
    partitions = writer.close()
    _write_tables(tmp, tables)
    header = {
        "format": SNAPSHOT_FORMAT,
        "tree_size": int(tree_size),
        "root_hex": root_hex.lower(),
        "entries": int(sum(p.entries for p in partitions)),
        "units": int(tables.unit_ids.shape[0]),
        "parties": int(tables.party_ids.shape[0]),
        "products": list(tables.products),
        "currencies": list(tables.currencies),
        "rows_per_partition": int(rows_per_partition),
        "partitions": [
            {"file": p.file, "unit_lo": p.unit_lo, "unit_hi": p.unit_hi, "entries": p.entries}
            for p in partitions
        ],
    }
    (tmp / "snapshot.json").write_text(json.dumps(header, indent=1), encoding="utf-8")
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    try:
        tmp.rename(path)
    except OSError:  # another process put the same snapshot there meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
        if not _reusable(path, rows_per_partition):
            raise SnapshotDirError(
                f"cannot put the snapshot at {path}: another process is writing it"
            ) from None
    return open_snapshot(path)


def _reusable(path: Path, rows_per_partition: int) -> bool:
    """Whether a complete snapshot with the same partition size is already there (a
    checkpoint's entries never change, so its snapshot never does)."""
    try:
        header = json.loads((path / "snapshot.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(
        header.get("format") == SNAPSHOT_FORMAT
        and header.get("rows_per_partition") == rows_per_partition
    )


def write_snapshot(
    connection: Connection,
    tree_size: int,
    root_hex: str,
    root: str | os.PathLike[str],
    *,
    rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION,
    on_rows: Callable[[int, int], None] | None = None,
) -> PartitionedSnapshot:
    """Write the ledger's entries ``seq < tree_size`` as a partitioned snapshot under
    ``root`` (at :func:`snapshot_path`) and open it; an existing complete snapshot of
    the same checkpoint and partition size is reused as it is.

    ``on_rows(done, total)`` hears progress in entries read. Raises
    :class:`settlement.snapshot.SnapshotError` for the ledger problems
    :func:`settlement.snapshot.load_snapshot` names, and :class:`SnapshotDirError`
    when the directory cannot be written.
    """
    path = snapshot_path(root, tree_size, root_hex)
    if _reusable(path, rows_per_partition):
        try:
            return open_snapshot(path)
        except SnapshotDirError:  # pruned meanwhile: written again below
            pass
    check_tree_size(connection, tree_size)
    tables = load_tables(connection)
    counts = np.zeros(tables.unit_ids.shape[0], dtype=np.int64)
    per_unit = connection.execute(  # statement options: the caller's connection stays as it is
        text(
            "SELECT unit_id, COUNT(*) FROM entries WHERE seq < :n GROUP BY unit_id"
        ).execution_options(stream_results=True, yield_per=_COUNT_BATCH),
        {"n": tree_size},
    )
    for batch in per_unit.partitions():  # bounded: never one Python row per unit at once
        flat = itertools.chain.from_iterable(batch)  # a Row iterates its values, fast
        pairs = np.fromiter(flat, dtype=np.int64, count=2 * len(batch)).reshape(-1, 2)
        pos = unit_positions(tables.unit_ids, pairs[:, 0])
        ok = pos >= 0  # an unknown unit is named by entry_chunks below
        counts[pos[ok]] = pairs[ok, 1]
    gone = left_out(connection, tree_size)

    def chunks() -> Iterator[dict[str, npt.NDArray[Any]]]:
        for c in entry_chunks(connection, tree_size, tables):
            yield _live(c, gone)
            if on_rows is not None:
                on_rows(c.hi, tree_size)

    return _write(path, tree_size, root_hex, tables, counts, chunks(), rows_per_partition)


def _live(c: EntryChunk, gone: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[Any]]:
    cols = c.columns()
    if gone.size:
        keep = ~np.isin(c.seq, gone, assume_unique=True)
        if not keep.all():
            cols = {k: v[keep] for k, v in cols.items()}
    return cols


def write_snapshot_arrays(
    snapshot: Snapshot,
    root_hex: str,
    root: str | os.PathLike[str],
    *,
    rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION,
) -> PartitionedSnapshot:
    """Write an in-memory :class:`Snapshot` (already without retracted entries) as a
    partitioned snapshot under ``root``, replacing one that is there; for synthetic
    ledgers (benchmarks, tests) that have no database."""
    counts = np.bincount(snapshot.unit, minlength=snapshot.unit_ids.shape[0]).astype(np.int64)

    def chunks() -> Iterator[dict[str, npt.NDArray[Any]]]:
        for lo in range(0, snapshot.n_entries, ROW_GROUP):
            hi = min(snapshot.n_entries, lo + ROW_GROUP)
            yield {c: v[lo:hi] for c, v in snapshot.columns().items()}

    path = snapshot_path(root, snapshot.tree_size, root_hex)
    return _write(
        path, snapshot.tree_size, root_hex, snapshot.tables, counts, chunks(), rows_per_partition
    )


def _unreadable(path: Path, exc: OSError | ValueError) -> SnapshotDirError:
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a snapshot file"
    return SnapshotDirError(f"cannot read {path} on {os.uname().nodename} ({why}): {_SHARED_HINT}")


@dataclass(frozen=True, slots=True)
class _Header:
    raw: dict[str, Any]
    partitions: tuple[PartitionInfo, ...]
    tables: Tables  # parties, products and currencies; no units (read per range)


def _header(directory: str) -> _Header:
    """The header and party table of a snapshot, read once per process and header
    file (a complete snapshot directory only changes by being replaced whole)."""
    path = Path(directory) / "snapshot.json"
    try:
        st = path.stat()
    except OSError as exc:
        raise _unreadable(path, exc) from None
    return _header_of(directory, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=8)
def _header_of(directory: str, _mtime_ns: int, _inode: int) -> _Header:
    path = Path(directory) / "snapshot.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None
    if not isinstance(raw, dict) or raw.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotDirError(f"{path} is not a {SNAPSHOT_FORMAT} snapshot header")
    try:
        parts = tuple(
            PartitionInfo(str(p["file"]), int(p["unit_lo"]), int(p["unit_hi"]), int(p["entries"]))
            for p in raw["partitions"]
        )
    except (KeyError, TypeError, ValueError):
        raise SnapshotDirError(f"{path} lists its partitions in an unknown layout") from None
    ppath = Path(directory) / "parties.parquet"
    try:
        parties = pq.read_table(ppath, schema=PARTY_SCHEMA)
    except (OSError, pa.ArrowInvalid) as exc:
        raise _unreadable(ppath, exc) from None
    tables = Tables(
        unit_ids=np.empty(0, np.int64),
        unit_product=np.empty(0, np.int32),
        products=tuple(str(p) for p in raw["products"]),
        party_ids=parties["id"].to_numpy().astype(np.int64),
        party_codes=tuple(str(c) for c in parties["code"].to_pylist()),
        party_kind=parties["kind"].to_numpy().astype(np.int8),
        party_parent=parties["parent"].to_numpy().astype(np.int32),
        party_currency=parties["currency"].to_numpy().astype(np.int16),
        currencies=tuple(str(c) for c in raw["currencies"]),
    )
    return _Header(raw=raw, partitions=parts, tables=tables)


def _read_units(
    directory: Path, lo: int, hi: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """Rows ``[lo, hi)`` of ``units.parquet`` (only the row groups that hold them)."""
    path = directory / "units.parquet"
    try:
        pf = pq.ParquetFile(path)
        groups: list[int] = []
        start = 0
        first = None
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            if start < hi and start + n > lo:
                groups.append(g)
                first = start if first is None else first
            start += n
        if not groups:
            return np.empty(0, np.int64), np.empty(0, np.int32)
        table = pf.read_row_groups(groups, columns=["id", "product"])
    except (OSError, pa.ArrowInvalid) as exc:
        raise _unreadable(path, exc) from None
    off = lo - (first or 0)
    ids = table["id"].to_numpy().astype(np.int64)[off : off + hi - lo]
    prod = table["product"].to_numpy().astype(np.int32)[off : off + hi - lo]
    return ids, prod


def _read_entries(directory: Path, info: PartitionInfo) -> dict[str, npt.NDArray[Any]]:
    path = directory / info.file
    try:
        table = pq.read_table(path, schema=ENTRY_SCHEMA)
    except (OSError, pa.ArrowInvalid) as exc:
        raise _unreadable(path, exc) from None
    if table.num_rows != info.entries:
        raise SnapshotDirError(
            f"{path} holds {table.num_rows} entries, its snapshot.json says {info.entries}"
        )
    return {c: table[c].to_numpy().astype(ENTRY_DTYPES[c], copy=False) for c in _COLUMNS}


def partition_info(directory: str | os.PathLike[str], index: int) -> PartitionInfo:
    """Partition ``index`` of the snapshot in ``directory`` as its header lists it."""
    path = Path(directory)
    parts = _header(str(path)).partitions
    if not 0 <= index < len(parts):
        raise SnapshotDirError(f"{path} has {len(parts)} partitions, not {index + 1}")
    return parts[index]


def load_partition(directory: str | os.PathLike[str], index: int) -> Snapshot:
    """Partition ``index`` of the snapshot in ``directory`` as a :class:`Snapshot` with
    partition-local unit numbering: ``unit`` is ``global - unit_lo`` and ``unit_ids``
    / ``unit_product`` are the partition's slice; parties are the whole table.

    What a worker runs: it reads only its partition and its slice of the units.
    Raises :class:`SnapshotDirError` naming the file and the shared-path rule when the
    directory cannot be read here.
    """
    path = Path(directory)
    head = _header(str(path))
    info = partition_info(path, index)
    cols = _read_entries(path, info)
    unit_ids, unit_product = _read_units(path, info.unit_lo, info.unit_hi)
    unit = cols["unit"]
    if unit.size and (int(unit.min()) < info.unit_lo or int(unit.max()) >= info.unit_hi):
        raise SnapshotDirError(
            f"{path / info.file} holds units outside its range [{info.unit_lo}, {info.unit_hi})"
        )
    cols["unit"] = (unit - info.unit_lo).astype(np.int32)
    return Snapshot.of(
        int(head.raw["tree_size"]), cols, head.tables.with_units(unit_ids, unit_product)
    )


def open_snapshot(directory: str | os.PathLike[str]) -> PartitionedSnapshot:
    """Open a complete snapshot directory (its header, parties and units), marking it
    used and holding it (:class:`SnapshotLease`) while the object lives.

    Raises :class:`SnapshotDirError` naming the file when the directory is
    incomplete, unreadable here, or not in the ``hopchain-snapshot/1`` layout.
    """
    path = Path(directory)
    lease = _lease(path)  # first: a prune cannot take the folder from under this run
    head = _header(str(path))
    n_units = int(head.raw.get("units", 0))
    unit_ids, unit_product = _read_units(path, 0, n_units)
    return PartitionedSnapshot(
        directory=path,
        tree_size=int(head.raw["tree_size"]),
        root_hex=str(head.raw["root_hex"]),
        entries=int(head.raw["entries"]),
        rows_per_partition=int(head.raw.get("rows_per_partition", DEFAULT_ROWS_PER_PARTITION)),
        partitions=head.partitions,
        tables=head.tables.with_units(unit_ids, unit_product),
        lease=lease,
    )
