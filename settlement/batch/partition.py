"""What one partition's worker does, and how the client adds partitions up.

The same functions serve the single-process run (one "partition": the whole
snapshot) and the partitioned one, so both run the very same numba kernels of
:mod:`settlement.kernels` (through :func:`settlement.detection.detect_arrays` and
:func:`settlement.kernels.aggregate_sales`) and give the same answers:

- detection keeps per-unit state only, and a unit's whole history is in one
  partition, so each partition's finding rows are the whole run's rows of its
  units; the client concatenates them in seq order (:func:`merge_findings`);
- sales sums are per party and add up over partitions (:func:`merge_sales`);
  the first allocation of each unit is the unit's own, so partitions' per-unit
  arrays are concatenated in unit order.

Worker entry points (:func:`detect_partition`, :func:`sales_partition`) take the
snapshot directory and a partition index and read just that partition.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from settlement import kernels as K
from settlement.batch.parquet import PartitionInfo, load_partition, partition_info
from settlement.detection import TerritoryLocator, detect_arrays, entry_territories
from settlement.snapshot import Snapshot
from settlement.zones import Grant, ZoneTables

__all__ = [
    "Findings",
    "SalesArrays",
    "detect_partition",
    "entry_findings",
    "merge_findings",
    "merge_sales",
    "month_partition",
    "sales_arrays",
    "sales_partition",
]

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Findings:
    """The entries detection flagged, in seq order, one row each (shape (n,)):

    ``seq`` (leaf index), ``unit`` (GLOBAL dense unit index), ``at_ms`` (ms since
    the epoch, UTC), ``flags`` (finding bits ``settlement.kernels.F_*``),
    ``responsible`` (dense party index, -1 unknown), ``territory`` (index into the
    territory index's codes; -1 located in none, -2 no location).
    """

    seq: npt.NDArray[np.int64]
    unit: npt.NDArray[np.int32]
    at_ms: npt.NDArray[np.int64]
    flags: npt.NDArray[np.int8]
    responsible: npt.NDArray[np.int32]
    territory: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.seq.shape[0])


def entry_findings(
    snap: Snapshot,
    territory_index: TerritoryLocator,
    grants: Iterable[Grant] | ZoneTables,
    *,
    max_kmh: float = 900.0,
    min_km: float = 1.0,
    unit_offset: int = 0,
    n_parts: int | None = None,
    on_located: Callable[[], None] | None = None,
) -> Findings:
    """Locate ``snap``'s entries, run the detection kernel and keep the flagged rows;
    ``unit_offset`` turns a partition's local unit numbers into global ones;
    ``on_located`` (optional) is called between locating and detecting; ``grants``
    may be given as the zone tables built from them (once for every partition).

    Raises :class:`settlement.common.SettlementError` as
    :func:`settlement.detection.detect_arrays` does (bad speeds, territories).
    """
    terr = entry_territories(snap, territory_index)
    if on_located is not None:
        on_located()
    res = detect_arrays(
        snap,
        terr,
        np.asarray(territory_index.parent, dtype=np.int32),
        grants,
        max_kmh=max_kmh,
        min_km=min_km,
        n_parts=n_parts,
    )
    rows = np.flatnonzero(res.flags)
    return Findings(
        seq=snap.seq[rows],
        unit=(snap.unit[rows].astype(np.int64) + unit_offset).astype(np.int32),
        at_ms=snap.at_ms[rows],
        flags=res.flags[rows],
        responsible=res.responsible[rows],
        territory=terr[rows],
    )


def merge_findings(parts: Sequence[Findings]) -> Findings:
    """All partitions' findings as one table in seq order."""
    if not parts:
        e32 = np.empty(0, np.int32)
        return Findings(np.empty(0, np.int64), e32, np.empty(0, np.int64),
                        np.empty(0, np.int8), e32, e32)  # fmt: skip
    seq = np.concatenate([p.seq for p in parts])
    order = np.argsort(seq, kind="stable")
    return Findings(
        seq=seq[order],
        unit=np.concatenate([p.unit for p in parts])[order],
        at_ms=np.concatenate([p.at_ms for p in parts])[order],
        flags=np.concatenate([p.flags for p in parts])[order],
        responsible=np.concatenate([p.responsible for p in parts])[order],
        territory=np.concatenate([p.territory for p in parts])[order],
    )


def detect_partition(
    directory: str,
    index: int,
    territory_index: TerritoryLocator,
    zones: ZoneTables,
    max_kmh: float,
    min_km: float,
) -> Findings:
    """Worker: the findings of partition ``index`` of the snapshot in ``directory``;
    ``zones``: the grants' zone tables, built once by the client for every partition."""
    snap = load_partition(directory, index)
    lo = partition_info(directory, index).unit_lo
    return entry_findings(
        snap, territory_index, zones, max_kmh=max_kmh, min_km=min_km, unit_offset=lo
    )


@dataclass(frozen=True, slots=True)
class SalesArrays:
    """What settlement reads of the entries, per time window ``[start_ms, end_ms)``:

    ``sums``: shape (windows, parties, 2, N_STATS) int64, per distributor and basis
    (0 sell-in, 1 sell-through) the counts and list values (minor units of the
    distributor's currency) of :func:`settlement.kernels.aggregate_sales`;
    ``seen``: shape (windows, products + 1) bool, whether a unit of each product
    (the last column: a logistic unit) has an entry in the window;
    ``alloc_ms`` / ``alloc_party``: shape (units,) int64, when the manufacturer first
    shipped each unit to a distributor and that distributor's database id (-1: never).
    """

    sums: npt.NDArray[np.int64]
    seen: npt.NDArray[np.bool_]
    alloc_ms: npt.NDArray[np.int64]
    alloc_party: npt.NDArray[np.int64]

    def window_products(self, window: int) -> npt.NDArray[np.int64]:
        """Product indices with an entry in ``window``, ascending, -1 first for a
        logistic unit (as ``np.unique`` of per-entry product indices gives them)."""
        seen = self.seen[window]
        out = np.flatnonzero(seen[:-1]).astype(np.int64)
        return np.concatenate([np.array([-1], np.int64), out]) if seen[-1] else out


def _allocation(snap: Snapshot) -> tuple[I64, I64]:
    """Per unit, when the manufacturer first shipped it to a distributor and that
    distributor's party id (-1, -1: never)."""
    ship = (
        (snap.kind == K.K_SHIPPING)
        & (snap.counterparty >= 0)
        & (snap.party_kind[snap.party] == K.PK_MANUFACTURER)
    )
    rows = np.flatnonzero(ship)
    rows = rows[snap.party_kind[snap.counterparty[rows]] == K.PK_DISTRIBUTOR]
    at = np.full(snap.unit_ids.shape[0], -1, dtype=np.int64)
    to = np.full(snap.unit_ids.shape[0], -1, dtype=np.int64)
    units = snap.unit[rows]
    first_units, first_pos = np.unique(units, return_index=True)
    at[first_units] = snap.at_ms[rows[first_pos]]
    to[first_units] = np.asarray(snap.party_ids)[snap.counterparty[rows[first_pos]]]
    return at, to


def sales_arrays(
    snap: Snapshot,
    price: npt.NDArray[np.int64],
    excluded: npt.NDArray[np.bool_],
    windows: Sequence[tuple[int, int]],
    *,
    n_parts: int | None = None,
) -> SalesArrays:
    """:class:`SalesArrays` of one snapshot (or one partition, local units).

    ``price[currency, product]``: list prices in minor units (-1: none); ``excluded``:
    per unit of ``snap``, units of confirmed diversion (counted as excluded).
    """
    parts = n_parts or max(os.cpu_count() or 1, 1)
    args = (snap.unit, snap.kind, snap.party, snap.counterparty, snap.at_ms, snap.unit_product,
            snap.party_kind, snap.party_currency, price, excluded)  # fmt: skip
    n_prod = len(snap.products)
    sums = np.zeros((len(windows), len(snap.party_ids), 2, K.N_STATS), np.int64)
    seen = np.zeros((len(windows), n_prod + 1), np.bool_)
    for w, (start, end) in enumerate(windows):
        sums[w] = K.aggregate_sales(*args, int(start), int(end), parts)
        inside = (snap.at_ms >= start) & (snap.at_ms < end)
        prods = np.unique(snap.unit_product[snap.unit[inside]])
        seen[w, np.where(prods < 0, n_prod, prods)] = True
    at, to = _allocation(snap)
    return SalesArrays(sums, seen, at, to)


def merge_sales(parts: Sequence[SalesArrays]) -> SalesArrays:
    """Partitions' sales added up; per-unit arrays concatenated in partition order."""
    first = parts[0]
    sums = np.zeros_like(first.sums)
    seen = np.zeros_like(first.seen)
    for p in parts:
        sums += p.sums
        seen |= p.seen
    return SalesArrays(
        sums,
        seen,
        np.concatenate([p.alloc_ms for p in parts]),
        np.concatenate([p.alloc_party for p in parts]),
    )


def sales_partition(
    directory: str,
    index: int,
    price: npt.NDArray[np.int64],
    excluded_units: npt.NDArray[np.int64],
    windows: Sequence[tuple[int, int]],
) -> SalesArrays:
    """Worker: :class:`SalesArrays` of partition ``index``; ``excluded_units`` are
    GLOBAL dense unit indices (sorted) of units of confirmed diversion."""
    snap = load_partition(directory, index)
    mask = _local_mask(excluded_units, partition_info(directory, index))
    return sales_arrays(snap, price, mask, windows)


def _local_mask(global_units: npt.NDArray[np.int64], info: PartitionInfo) -> npt.NDArray[np.bool_]:
    """Per unit of the partition, whether its GLOBAL dense index is in ``global_units``."""
    mask = np.zeros(info.unit_hi - info.unit_lo, np.bool_)
    mine = global_units[(global_units >= info.unit_lo) & (global_units < info.unit_hi)]
    mask[mine - info.unit_lo] = True
    return mask


def month_partition(
    directory: str,
    index: int,
    territory_index: TerritoryLocator,
    zones: ZoneTables,
    max_kmh: float,
    min_km: float,
    price: npt.NDArray[np.int64],
    excluded_units: npt.NDArray[np.int64],
    windows: Sequence[tuple[int, int]],
    exclude_flags: int,
) -> tuple[Findings, SalesArrays]:
    """Worker: partition ``index`` read once, then detected (:func:`detect_partition`)
    and aggregated (:func:`sales_partition`). Excluded from the sales base: the units
    of ``excluded_units`` (GLOBAL dense indices) and, when ``exclude_flags`` is not 0,
    every unit with a finding carrying one of those bits (a unit's findings are all in
    its own partition, so this equals excluding them after the whole detection)."""
    snap = load_partition(directory, index)
    info = partition_info(directory, index)
    found = entry_findings(
        snap, territory_index, zones, max_kmh=max_kmh, min_km=min_km, unit_offset=info.unit_lo
    )
    mask = _local_mask(excluded_units, info)
    if exclude_flags:
        mask[found.unit[(found.flags & exclude_flags) != 0] - info.unit_lo] = True
    return found, sales_arrays(snap, price, mask, windows)
