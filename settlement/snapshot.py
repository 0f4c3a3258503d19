"""Columnar snapshot of the ledger as of a checkpoint: what every kernel reads.

One row per live entry in ``seq`` order: error declarations and the entries they
retract (:mod:`ledger.retraction`) are left out, so detection and settlement never
see a retracted observation; ``seq`` holds each row's leaf index. Units and parties are renumbered densely (``0..U-1``, ``0..P-1``)
so kernels can keep per-unit and per-party state in plain arrays; the ``*_ids``
arrays map back to database ids.

Entries are streamed in chunks into preallocated arrays: twenty million rows are
about 600 MB of columns, while the same rows as Python objects would not fit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from ledger.columns import entry_column_chunks
from ledger.retraction import retracted_below
from settlement.kernels import (
    NO_COORD,
    PK_DEALER,
    PK_DISTRIBUTOR,
    PK_INSPECTOR,
    PK_MANUFACTURER,
    PK_OTHER,
    PK_RETAILER,
)

__all__ = [
    "ENTRY_DTYPES",
    "NO_COORD",
    "PARTY_KINDS",
    "EntryChunk",
    "EntryColumns",
    "Snapshot",
    "SnapshotError",
    "SnapshotTables",
    "Tables",
    "check_tree_size",
    "entry_chunks",
    "left_out",
    "load_snapshot",
    "load_tables",
    "party_position",
    "unit_positions",
]

#: Stored ``parties.kind`` strings -> the small codes kernels compare against.
PARTY_KINDS: dict[str, int] = {
    "manufacturer": PK_MANUFACTURER,
    "distributor": PK_DISTRIBUTOR,
    "dealer": PK_DEALER,
    "retailer": PK_RETAILER,
    "inspector": PK_INSPECTOR,
}

_CHUNK = 500_000
_UNIT_BATCH = 200_000


class SnapshotError(ValueError):
    """The ledger cannot be snapshotted as asked (size beyond the log, a gap in seqs)."""


def party_position(party_ids: npt.NDArray[np.int64], party_id: int) -> int:
    """Dense index of a database party id in sorted ``party_ids``; ``KeyError`` naming
    it when unknown."""
    i = int(np.searchsorted(party_ids, party_id))
    if i >= party_ids.shape[0] or int(party_ids[i]) != party_id:
        raise KeyError(f"party id {party_id} is not in the snapshot")
    return i


def unit_positions(unit_ids: npt.NDArray[np.int64], wanted: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Dense indices of database unit ids in sorted ``unit_ids`` (-1 where absent)."""
    ids = np.asarray(wanted, dtype=np.int64)
    pos = np.searchsorted(unit_ids, ids)
    pos_c = np.minimum(pos, max(unit_ids.shape[0] - 1, 0))
    ok = (pos < unit_ids.shape[0]) & (unit_ids[pos_c] == ids)
    return np.where(ok, pos, -1).astype(np.int64)


#: The entry columns of every snapshot, in this order, with their dtypes (one
#: definition: :class:`EntryColumns`, the Parquet partitions and the loaders use it).
ENTRY_DTYPES: dict[str, type[np.generic]] = {
    "seq": np.int64, "unit": np.int32, "kind": np.int8, "party": np.int32,
    "counterparty": np.int32, "at_ms": np.int64, "lat_e6": np.int32, "lon_e6": np.int32,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Tables:
    """The units and parties of the ledger in dense order: the one definition of the
    columns every snapshot shares besides its entries.

    Units, shape (units,): ``unit_ids`` (database ids, ascending), ``unit_product``
    (index into ``products``, -1 for a logistic unit: case, pallet). ``products``:
    GTIN-14 per product index. Parties, shape (parties,): ``party_ids`` (ascending),
    ``party_codes``, ``party_kind`` (``settlement.kernels.PK_*``), ``party_parent``
    (dense index, -1 none), ``party_currency`` (index into ``currencies``, ISO 4217
    codes). ``party_is_distributor`` is derived from ``party_kind``.
    """

    unit_ids: npt.NDArray[np.int64]
    unit_product: npt.NDArray[np.int32]
    products: tuple[str, ...]
    party_ids: npt.NDArray[np.int64]
    party_codes: tuple[str, ...]
    party_kind: npt.NDArray[np.int8]
    party_parent: npt.NDArray[np.int32]
    party_currency: npt.NDArray[np.int16]
    currencies: tuple[str, ...]
    party_is_distributor: npt.NDArray[np.bool_] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "party_is_distributor", self.party_kind == PK_DISTRIBUTOR)

    def party_index(self, party_id: int) -> int:
        """Dense index of a database party id; ``KeyError`` naming it when unknown."""
        return party_position(self.party_ids, party_id)

    def unit_index(self, unit_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Dense indices of database unit ids (-1 where a unit is not in the snapshot)."""
        return unit_positions(self.unit_ids, unit_ids)

    def with_units(
        self, unit_ids: npt.NDArray[np.int64], unit_product: npt.NDArray[np.int32]
    ) -> Tables:
        """The same parties, products and currencies with other units (a partition's)."""
        return replace(self, unit_ids=unit_ids, unit_product=unit_product)


class SnapshotTables:
    """What a snapshot knows besides its entries, read through its :class:`Tables`.

    :class:`Snapshot` and :class:`settlement.batch.parquet.PartitionedSnapshot` both
    hold a ``tables`` and read it as their own attributes, so the settlement code that
    only needs these tables (prices, exclusions, statements) runs on either.
    """

    __slots__ = ()
    tables: Tables

    @property
    def unit_ids(self) -> npt.NDArray[np.int64]:
        return self.tables.unit_ids

    @property
    def unit_product(self) -> npt.NDArray[np.int32]:
        return self.tables.unit_product

    @property
    def products(self) -> tuple[str, ...]:
        return self.tables.products

    @property
    def party_ids(self) -> npt.NDArray[np.int64]:
        return self.tables.party_ids

    @property
    def party_codes(self) -> tuple[str, ...]:
        return self.tables.party_codes

    @property
    def party_kind(self) -> npt.NDArray[np.int8]:
        return self.tables.party_kind

    @property
    def party_parent(self) -> npt.NDArray[np.int32]:
        return self.tables.party_parent

    @property
    def party_is_distributor(self) -> npt.NDArray[np.bool_]:
        return self.tables.party_is_distributor

    @property
    def party_currency(self) -> npt.NDArray[np.int16]:
        return self.tables.party_currency

    @property
    def currencies(self) -> tuple[str, ...]:
        return self.tables.currencies

    def party_index(self, party_id: int) -> int:
        """Dense index of a database party id; ``KeyError`` naming it when unknown."""
        return self.tables.party_index(party_id)

    def unit_index(self, unit_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Dense indices of database unit ids (-1 where a unit is not in the snapshot)."""
        return self.tables.unit_index(unit_ids)


@dataclass(frozen=True, slots=True)
class EntryColumns:
    """Entries as columns, one row per entry, shape (n,) each (dtypes:
    :data:`ENTRY_DTYPES`): ``seq`` (leaf index), ``unit`` and ``party`` /
    ``counterparty`` (dense indices; counterparty -1 none), ``kind``
    (``EntryKind`` code), ``at_ms`` (ms since the epoch, UTC), ``lat_e6`` /
    ``lon_e6`` (degrees x 1e6, :data:`NO_COORD` where the entry has no location)."""

    seq: npt.NDArray[np.int64]
    unit: npt.NDArray[np.int32]
    kind: npt.NDArray[np.int8]
    party: npt.NDArray[np.int32]
    counterparty: npt.NDArray[np.int32]
    at_ms: npt.NDArray[np.int64]
    lat_e6: npt.NDArray[np.int32]
    lon_e6: npt.NDArray[np.int32]

    @property
    def n_entries(self) -> int:
        return int(self.seq.shape[0])

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """The entry columns by name, in :data:`ENTRY_DTYPES` order."""
        return {c: getattr(self, c) for c in ENTRY_DTYPES}


@dataclass(frozen=True, slots=True)
class Snapshot(EntryColumns, SnapshotTables):
    """The ledger's first ``tree_size`` entries as columns (see module docstring and
    :class:`EntryColumns`) with their :class:`Tables`, read as its own attributes
    (``snap.unit_ids`` is ``snap.tables.unit_ids``)."""

    tree_size: int
    tables: Tables

    @classmethod
    def of(
        cls, tree_size: int, columns: Mapping[str, npt.NDArray[Any]], tables: Tables
    ) -> Snapshot:
        """A snapshot of entry columns by name (every name of :data:`ENTRY_DTYPES`)."""
        return cls(tree_size=tree_size, tables=tables, **{c: columns[c] for c in ENTRY_DTYPES})


def _dense(
    ids: npt.NDArray[np.int64], sorted_ids: npt.NDArray[np.int64], what: str
) -> npt.NDArray[np.int32]:
    pos = np.searchsorted(sorted_ids, ids)
    pos_c = np.minimum(pos, max(sorted_ids.shape[0] - 1, 0))
    bad = (pos >= sorted_ids.shape[0]) | (sorted_ids[pos_c] != ids)
    if bad.any():
        raise SnapshotError(f"entries reference unknown {what} id {int(ids[bad][0])}")
    return pos.astype(np.int32)


@dataclass(frozen=True, slots=True)
class EntryChunk(EntryColumns):
    """Entries ``lo <= seq < hi`` as dense columns (retracted rows still in)."""

    lo: int
    hi: int


def check_tree_size(connection: Connection, tree_size: int) -> None:
    """Raise :class:`SnapshotError` unless entries ``0..tree_size-1`` all exist."""
    if tree_size < 0:
        raise SnapshotError(f"tree_size must be >= 0, got {tree_size}")
    count, max_seq = connection.execute(
        text("SELECT COUNT(*), MAX(seq) FROM entries WHERE seq < :n"), {"n": tree_size}
    ).one()
    count = int(count)
    if count != tree_size:
        if max_seq is None or int(max_seq) < tree_size - 1:
            raise SnapshotError(
                f"tree_size {tree_size} is beyond the ledger, which holds {count} entries"
            )
        raise SnapshotError(f"entries below seq {tree_size} have gaps: only {count} rows")


def _load_units(
    connection: Connection,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], tuple[str, ...]]:
    """Unit ids (sorted), each unit's product index (-1: no GTIN) and the sorted GTINs,
    fetched in batches so that no Python row per unit is held at once (a month of
    200 million entries has tens of millions of units)."""
    # Options on the statement, not the connection: a connection's options would
    # stay on it (SQLAlchemy 2) and turn the caller's later INSERTs into cursors.
    result = connection.execute(
        text("SELECT id, gtin FROM units ORDER BY id").execution_options(
            stream_results=True, yield_per=_UNIT_BATCH
        )
    )
    seen: dict[str, int] = {}  # GTIN -> index in order of first appearance
    ids: list[npt.NDArray[np.int64]] = []
    firsts: list[npt.NDArray[np.int32]] = []
    for batch in result.partitions():
        ids.append(np.fromiter((r[0] for r in batch), dtype=np.int64, count=len(batch)))
        firsts.append(
            np.fromiter(
                (-1 if r[1] is None else seen.setdefault(str(r[1]), len(seen)) for r in batch),
                dtype=np.int32,
                count=len(batch),
            )
        )
    products = tuple(sorted(seen))
    remap = np.empty(len(seen) + 1, dtype=np.int32)  # first-appearance index -> sorted
    remap[-1] = -1
    rank = {g: i for i, g in enumerate(products)}
    for gtin, first in seen.items():
        remap[first] = rank[gtin]
    unit_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
    first_idx = np.concatenate(firsts) if firsts else np.empty(0, np.int32)
    return unit_ids, remap[first_idx], products


def load_tables(connection: Connection) -> Tables:
    """Every party and unit, sorted by id, with the product and currency lists."""
    prow = connection.execute(
        text("SELECT id, code, kind, parent_id, currency FROM parties ORDER BY id")
    ).all()
    party_ids = np.array([r[0] for r in prow], dtype=np.int64)
    currencies = tuple(sorted({str(r[4]) for r in prow}))
    cur_index = {c: i for i, c in enumerate(currencies)}
    parent_ids = np.array([-1 if r[3] is None else r[3] for r in prow], dtype=np.int64)
    party_parent = np.full(len(prow), -1, dtype=np.int32)
    has_parent = parent_ids >= 0
    if has_parent.any():
        party_parent[has_parent] = _dense(parent_ids[has_parent], party_ids, "parent party")
    party_kind = np.array([PARTY_KINDS.get(str(r[2]), PK_OTHER) for r in prow], dtype=np.int8)

    unit_ids, unit_product, products = _load_units(connection)
    return Tables(
        unit_ids=unit_ids,
        unit_product=unit_product,
        products=products,
        party_ids=party_ids,
        party_codes=tuple(str(r[1]) for r in prow),
        party_kind=party_kind,
        party_parent=party_parent,
        party_currency=np.array([cur_index[str(r[4])] for r in prow], dtype=np.int16),
        currencies=currencies,
    )


def entry_chunks(
    connection: Connection, tree_size: int, tables: Tables, chunk: int = _CHUNK
) -> Iterator[EntryChunk]:
    """Entries ``seq < tree_size`` in seq order, ``chunk`` rows at a time, as dense
    columns (read by :func:`ledger.columns.entry_column_chunks`: binary COPY on
    PostgreSQL); :class:`SnapshotError` naming the entry when one has an unknown
    kind, unit or party, or when seqs are not contiguous."""
    lo = 0
    for m in entry_column_chunks(connection, 0, tree_size, chunk):
        hi = lo + m.shape[0]
        if hi > tree_size or not np.array_equal(m[:, 0], np.arange(lo, hi)):
            raise SnapshotError(f"entries between seq {lo} and {lo + chunk} are not contiguous")
        unit = _dense(m[:, 1], tables.unit_ids, "unit")
        bad = np.flatnonzero(m[:, 2] < 0)
        if bad.size:
            raw = connection.execute(
                text("SELECT kind FROM entries WHERE seq = :s"), {"s": int(m[bad[0], 0])}
            ).scalar()
            raise SnapshotError(f"entry {int(m[bad[0], 0])} has kind {raw!r}, not an EntryKind")
        party = _dense(m[:, 3], tables.party_ids, "party")
        cps = m[:, 4]
        cpd = np.full(hi - lo, -1, dtype=np.int32)
        has_cp = cps >= 0
        if has_cp.any():
            cpd[has_cp] = _dense(cps[has_cp], tables.party_ids, "counterparty")
        missing = (m[:, 6] == NO_COORD) | (m[:, 7] == NO_COORD)
        chunk_lo, lo = lo, hi
        yield EntryChunk(
            lo=chunk_lo,
            hi=hi,
            seq=m[:, 0].copy(),
            unit=unit,
            kind=m[:, 2].astype(np.int8),
            party=party,
            counterparty=cpd,
            at_ms=m[:, 5].copy(),
            lat_e6=np.where(missing, NO_COORD, m[:, 6]).astype(np.int32),
            lon_e6=np.where(missing, NO_COORD, m[:, 7]).astype(np.int32),
        )
    if lo != tree_size:
        raise SnapshotError(f"entries between seq {lo} and {tree_size} are missing")


def left_out(connection: Connection, tree_size: int) -> npt.NDArray[np.int64]:
    """Sorted seqs a snapshot as of ``tree_size`` leaves out: error declarations and
    the entries they retract (:func:`ledger.retraction.retracted_below`)."""
    declared = retracted_below(connection, tree_size)
    gone = np.array(sorted({s for pair in declared for s in pair}), dtype=np.int64)
    return gone[gone < tree_size]


def load_snapshot(connection: Connection, tree_size: int) -> Snapshot:
    """Read entries ``seq < tree_size`` (and their units and parties) into columns.

    Raises :class:`SnapshotError` when ``tree_size`` is negative or beyond the
    ledger, when seqs below it have gaps, or when an entry names an unknown kind,
    unit or party (the message names the entry or id).
    """
    check_tree_size(connection, tree_size)
    tables = load_tables(connection)
    n = tree_size
    cols = {c: np.empty(n, dtype=t) for c, t in ENTRY_DTYPES.items()}
    for chunk in entry_chunks(connection, tree_size, tables):
        for c, v in chunk.columns().items():
            cols[c][chunk.lo : chunk.hi] = v

    gone = left_out(connection, tree_size)
    if gone.size:  # drop declarations and what they retract (both < tree_size)
        keep = np.ones(n, dtype=np.bool_)
        keep[gone] = False
        cols = {c: v[keep] for c, v in cols.items()}
    return Snapshot.of(tree_size, cols, tables)
