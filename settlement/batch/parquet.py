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

A unit's whole history is in one partition, so the per-unit replay of
:func:`settlement.kernels.detect` on one partition gives exactly the rows the
whole snapshot would. Entries that are retracted (error declarations and what they
retract) are left out, as :func:`settlement.snapshot.load_snapshot` leaves them out.

Writing streams the ledger once in seq chunks and appends each chunk's rows to the
partition files, so memory holds a bounded buffer, not the month.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
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
from settlement.kernels import PK_DISTRIBUTOR
from settlement.snapshot import (
    EntryChunk,
    Snapshot,
    Tables,
    check_tree_size,
    entry_chunks,
    left_out,
    load_tables,
    party_position,
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

_DTYPES: dict[str, type[np.generic]] = {
    "seq": np.int64, "unit": np.int32, "kind": np.int8, "party": np.int32,
    "counterparty": np.int32, "at_ms": np.int64, "lat_e6": np.int32, "lon_e6": np.int32,
}  # fmt: skip
ENTRY_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("unit", pa.int32()),
        ("kind", pa.int8()),
        ("party", pa.int32()),
        ("counterparty", pa.int32()),
        ("at_ms", pa.int64()),
        ("lat_e6", pa.int32()),
        ("lon_e6", pa.int32()),
    ]
)
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
class PartitionedSnapshot:
    """A complete snapshot directory: its header, partitions and unit/party tables.

    Has the tables of :class:`settlement.snapshot.SnapshotTables` (dense unit and
    party arrays, products, currencies); entries stay on disk until
    :meth:`read_partition` (one partition, partition-local unit numbering) or
    :meth:`read_all` (everything, for tests and small ledgers).
    """

    directory: Path
    tree_size: int
    root_hex: str
    entries: int
    rows_per_partition: int
    partitions: tuple[PartitionInfo, ...]
    unit_ids: npt.NDArray[np.int64]
    unit_product: npt.NDArray[np.int32]
    products: tuple[str, ...]
    party_ids: npt.NDArray[np.int64]
    party_codes: tuple[str, ...]
    party_kind: npt.NDArray[np.int8]
    party_parent: npt.NDArray[np.int32]
    party_is_distributor: npt.NDArray[np.bool_] = field(repr=False)
    party_currency: npt.NDArray[np.int16]
    currencies: tuple[str, ...]

    def party_index(self, party_id: int) -> int:
        """Dense index of a database party id; ``KeyError`` naming it when unknown."""
        return party_position(self.party_ids, party_id)

    def unit_index(self, unit_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Dense indices of database unit ids (-1 where a unit is not in the snapshot)."""
        return unit_positions(self.unit_ids, unit_ids)

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
        merged = {c: np.concatenate(v) if v else np.empty(0, _DTYPES[c]) for c, v in cols.items()}
        order = np.argsort(merged["seq"], kind="stable")
        return Snapshot(
            tree_size=self.tree_size,
            seq=merged["seq"][order],
            unit=merged["unit"][order],
            kind=merged["kind"][order],
            party=merged["party"][order],
            counterparty=merged["counterparty"][order],
            at_ms=merged["at_ms"][order],
            lat_e6=merged["lat_e6"][order],
            lon_e6=merged["lon_e6"][order],
            unit_ids=self.unit_ids,
            unit_product=self.unit_product,
            products=self.products,
            party_ids=self.party_ids,
            party_codes=self.party_codes,
            party_kind=self.party_kind,
            party_parent=self.party_parent,
            party_is_distributor=self.party_is_distributor,
            party_currency=self.party_currency,
            currencies=self.currencies,
        )


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
        return open_snapshot(path)
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
    cols: dict[str, npt.NDArray[Any]] = {
        "seq": c.seq, "unit": c.unit, "kind": c.kind, "party": c.party,
        "counterparty": c.counterparty, "at_ms": c.at_ms, "lat_e6": c.lat_e6, "lon_e6": c.lon_e6,
    }  # fmt: skip
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
    tables = Tables(
        unit_ids=snapshot.unit_ids,
        unit_product=snapshot.unit_product,
        products=snapshot.products,
        party_ids=snapshot.party_ids,
        party_codes=snapshot.party_codes,
        party_kind=snapshot.party_kind,
        party_parent=snapshot.party_parent,
        party_currency=snapshot.party_currency,
        currencies=snapshot.currencies,
    )
    counts = np.bincount(snapshot.unit, minlength=snapshot.unit_ids.shape[0]).astype(np.int64)

    def chunks() -> Iterator[dict[str, npt.NDArray[Any]]]:
        for lo in range(0, snapshot.n_entries, ROW_GROUP):
            hi = min(snapshot.n_entries, lo + ROW_GROUP)
            yield {c: getattr(snapshot, c)[lo:hi] for c in _COLUMNS}

    path = snapshot_path(root, snapshot.tree_size, root_hex)
    return _write(path, snapshot.tree_size, root_hex, tables, counts, chunks(), rows_per_partition)


def _unreadable(path: Path, exc: OSError | ValueError) -> SnapshotDirError:
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a snapshot file"
    return SnapshotDirError(f"cannot read {path} on {os.uname().nodename} ({why}): {_SHARED_HINT}")


@dataclass(frozen=True, slots=True)
class _Header:
    raw: dict[str, Any]
    partitions: tuple[PartitionInfo, ...]
    party_ids: npt.NDArray[np.int64]
    party_codes: tuple[str, ...]
    party_kind: npt.NDArray[np.int8]
    party_parent: npt.NDArray[np.int32]
    party_currency: npt.NDArray[np.int16]


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
    return _Header(
        raw=raw,
        partitions=parts,
        party_ids=parties["id"].to_numpy().astype(np.int64),
        party_codes=tuple(str(c) for c in parties["code"].to_pylist()),
        party_kind=parties["kind"].to_numpy().astype(np.int8),
        party_parent=parties["parent"].to_numpy().astype(np.int32),
        party_currency=parties["currency"].to_numpy().astype(np.int16),
    )


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
    return {c: table[c].to_numpy().astype(_DTYPES[c], copy=False) for c in _COLUMNS}


def _shared_tables(head: _Header) -> dict[str, Any]:
    """The tables every partition shares: products, parties, currencies."""
    return {
        "products": tuple(str(p) for p in head.raw["products"]),
        "party_ids": head.party_ids,
        "party_codes": head.party_codes,
        "party_kind": head.party_kind,
        "party_parent": head.party_parent,
        "party_is_distributor": head.party_kind == PK_DISTRIBUTOR,
        "party_currency": head.party_currency,
        "currencies": tuple(str(c) for c in head.raw["currencies"]),
    }


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
    return Snapshot(
        tree_size=int(head.raw["tree_size"]),
        seq=cols["seq"],
        unit=(unit - info.unit_lo).astype(np.int32),
        kind=cols["kind"],
        party=cols["party"],
        counterparty=cols["counterparty"],
        at_ms=cols["at_ms"],
        lat_e6=cols["lat_e6"],
        lon_e6=cols["lon_e6"],
        unit_ids=unit_ids,
        unit_product=unit_product,
        **_shared_tables(head),
    )


def open_snapshot(directory: str | os.PathLike[str]) -> PartitionedSnapshot:
    """Open a complete snapshot directory (its header, parties and units).

    Raises :class:`SnapshotDirError` naming the file when the directory is
    incomplete, unreadable here, or not in the ``hopchain-snapshot/1`` layout.
    """
    path = Path(directory)
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
        unit_ids=unit_ids,
        unit_product=unit_product,
        **_shared_tables(head),
    )
