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

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from ledger.ids import EntryKind
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

__all__ = ["NO_COORD", "PARTY_KINDS", "Snapshot", "SnapshotError", "load_snapshot"]

#: Stored ``parties.kind`` strings -> the small codes kernels compare against.
PARTY_KINDS: dict[str, int] = {
    "manufacturer": PK_MANUFACTURER,
    "distributor": PK_DISTRIBUTOR,
    "dealer": PK_DEALER,
    "retailer": PK_RETAILER,
    "inspector": PK_INSPECTOR,
}

_KIND_CODE = {k.value: k.code for k in EntryKind}
_CHUNK = 500_000


class SnapshotError(ValueError):
    """The ledger cannot be snapshotted as asked (size beyond the log, a gap in seqs)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The ledger's first ``tree_size`` entries as columns (see module docstring).

    ``lat_e6``/``lon_e6`` hold :data:`NO_COORD` where the entry has no location.
    ``unit_product`` is -1 for logistic units (cases, pallets). ``party_parent`` is
    -1 for a party without a parent.
    """

    tree_size: int
    seq: npt.NDArray[np.int64]
    unit: npt.NDArray[np.int32]
    kind: npt.NDArray[np.int8]
    party: npt.NDArray[np.int32]
    counterparty: npt.NDArray[np.int32]
    at_ms: npt.NDArray[np.int64]
    lat_e6: npt.NDArray[np.int32]
    lon_e6: npt.NDArray[np.int32]
    unit_ids: npt.NDArray[np.int64]
    unit_product: npt.NDArray[np.int32]
    products: tuple[str, ...]  # GTIN-14 per product index
    party_ids: npt.NDArray[np.int64]
    party_codes: tuple[str, ...]
    party_kind: npt.NDArray[np.int8]
    party_parent: npt.NDArray[np.int32]
    party_is_distributor: npt.NDArray[np.bool_]
    party_currency: npt.NDArray[np.int16]
    currencies: tuple[str, ...]  # ISO 4217 code per currency index

    @property
    def n_entries(self) -> int:
        return int(self.seq.shape[0])

    def party_index(self, party_id: int) -> int:
        """Dense index of a database party id; ``KeyError`` naming it when unknown."""
        i = int(np.searchsorted(self.party_ids, party_id))
        if i >= self.party_ids.shape[0] or int(self.party_ids[i]) != party_id:
            raise KeyError(f"party id {party_id} is not in the snapshot")
        return i

    def unit_index(self, unit_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Dense indices of database unit ids (-1 where a unit is not in the snapshot)."""
        ids = np.asarray(unit_ids, dtype=np.int64)
        pos = np.searchsorted(self.unit_ids, ids)
        pos_c = np.minimum(pos, max(self.unit_ids.shape[0] - 1, 0))
        ok = (pos < self.unit_ids.shape[0]) & (self.unit_ids[pos_c] == ids)
        return np.where(ok, pos, -1).astype(np.int64)


def _dense(
    ids: npt.NDArray[np.int64], sorted_ids: npt.NDArray[np.int64], what: str
) -> npt.NDArray[np.int32]:
    pos = np.searchsorted(sorted_ids, ids)
    pos_c = np.minimum(pos, max(sorted_ids.shape[0] - 1, 0))
    bad = (pos >= sorted_ids.shape[0]) | (sorted_ids[pos_c] != ids)
    if bad.any():
        raise SnapshotError(f"entries reference unknown {what} id {int(ids[bad][0])}")
    return pos.astype(np.int32)


def load_snapshot(connection: Connection, tree_size: int) -> Snapshot:
    """Read entries ``seq < tree_size`` (and their units and parties) into columns."""
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

    urow = connection.execute(text("SELECT id, gtin FROM units ORDER BY id")).all()
    unit_ids = np.array([r[0] for r in urow], dtype=np.int64)
    products = tuple(sorted({str(r[1]) for r in urow if r[1] is not None}))
    prod_index = {g: i for i, g in enumerate(products)}
    unit_product = np.array(
        [-1 if r[1] is None else prod_index[str(r[1])] for r in urow], dtype=np.int32
    )

    n = tree_size
    seq = np.arange(n, dtype=np.int64)
    unit = np.empty(n, dtype=np.int32)
    kind = np.empty(n, dtype=np.int8)
    party = np.empty(n, dtype=np.int32)
    counterparty = np.empty(n, dtype=np.int32)
    at_ms = np.empty(n, dtype=np.int64)
    lat = np.empty(n, dtype=np.int32)
    lon = np.empty(n, dtype=np.int32)
    # The database turns kinds into codes and NULLs into sentinels, so each chunk
    # becomes one integer matrix in a single conversion instead of a Python loop per column.
    kind_case = " ".join(f"WHEN '{name}' THEN {code}" for name, code in _KIND_CODE.items())
    # Chunks go through the driver's own cursor: building SQLAlchemy rows would cost as
    # much as the fetch itself. The bounds are our own integers, safe to inline.
    query = (
        f"SELECT seq, unit_id, CASE kind {kind_case} ELSE -1 END, party_id, "
        f"COALESCE(counterparty_id, -1), at_ms, COALESCE(lat_e6, {NO_COORD}), "
        f"COALESCE(lon_e6, {NO_COORD}) FROM entries WHERE seq >= {{lo:d}} AND seq < {{hi:d}} "
        "ORDER BY seq"
    )
    dbapi = connection.connection.driver_connection
    if dbapi is None:  # pragma: no cover - a pooled connection always has one
        raise SnapshotError("the database connection has no driver connection")
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        cursor = dbapi.cursor()
        try:
            cursor.execute(query.format(lo=int(lo), hi=int(hi)))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        flat = itertools.chain.from_iterable(rows)
        m = np.fromiter(flat, dtype=np.int64, count=8 * len(rows)).reshape(len(rows), 8)
        if m.shape[0] != hi - lo or not np.array_equal(m[:, 0], seq[lo:hi]):
            raise SnapshotError(f"entries between seq {lo} and {hi} are not contiguous")
        unit[lo:hi] = _dense(m[:, 1], unit_ids, "unit")
        bad = np.flatnonzero(m[:, 2] < 0)
        if bad.size:
            raw = connection.execute(
                text("SELECT kind FROM entries WHERE seq = :s"), {"s": int(m[bad[0], 0])}
            ).scalar()
            raise SnapshotError(f"entry {int(m[bad[0], 0])} has kind {raw!r}, not an EntryKind")
        kind[lo:hi] = m[:, 2]
        party[lo:hi] = _dense(m[:, 3], party_ids, "party")
        cps = m[:, 4]
        cpd = np.full(hi - lo, -1, dtype=np.int32)
        has_cp = cps >= 0
        if has_cp.any():
            cpd[has_cp] = _dense(cps[has_cp], party_ids, "counterparty")
        counterparty[lo:hi] = cpd
        at_ms[lo:hi] = m[:, 5]
        missing = (m[:, 6] == NO_COORD) | (m[:, 7] == NO_COORD)
        lat[lo:hi] = np.where(missing, NO_COORD, m[:, 6])
        lon[lo:hi] = np.where(missing, NO_COORD, m[:, 7])

    declared = retracted_below(connection, tree_size)
    if declared:  # drop declarations and what they retract (both < tree_size)
        keep = np.ones(n, dtype=np.bool_)
        gone = np.array([s for pair in declared for s in pair], dtype=np.int64)
        keep[gone[gone < n]] = False
        seq, unit, kind, party, counterparty = (
            seq[keep], unit[keep], kind[keep], party[keep], counterparty[keep],
        )  # fmt: skip
        at_ms, lat, lon = at_ms[keep], lat[keep], lon[keep]

    return Snapshot(
        tree_size=tree_size,
        seq=seq,
        unit=unit,
        kind=kind,
        party=party,
        counterparty=counterparty,
        at_ms=at_ms,
        lat_e6=lat,
        lon_e6=lon,
        unit_ids=unit_ids,
        unit_product=unit_product,
        products=products,
        party_ids=party_ids,
        party_codes=tuple(str(r[1]) for r in prow),
        party_kind=party_kind,
        party_parent=party_parent,
        party_is_distributor=party_kind == PK_DISTRIBUTOR,
        party_currency=np.array([cur_index[str(r[4])] for r in prow], dtype=np.int16),
        currencies=currencies,
    )
