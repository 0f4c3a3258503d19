"""A synthetic partitioned snapshot for the cluster benchmark, written partition by partition.

    python benchmarks/cluster_setup.py [--entries 20000000] [--rows-per-partition 4000000]
                                       [--distributors 5000] [--territories 2000] [--seed 7]

Writes the on-disk layout of a partitioned snapshot (``snapshot.json``,
``parties.parquet``, ``units.parquet``, ``part-NNNNN.parquet``: see
:mod:`settlement.batch.parquet` and docs/scaling.md) directly with numpy and
pyarrow, without a database and without the whole month in memory: each
partition's units are generated, numbered and written, then dropped, so
generating 200 million entries holds one partition (about 4 million rows) at a
time. A second file, ``world.json``, keeps what the engine needs beside the
snapshot: the territories (GeoJSON), the grants and the list prices.

The world (manufacturer, distributors with sub-distributors, four dealers each,
inspectors, a grid of countries cut into provinces, grants, prices) is
:func:`benchmarks.compare_settlement.synthesize`'s, so both benchmarks judge the
same parties. Every unit lives the same eight-entry story: commissioned by the
manufacturer, shipped to a distributor, received in the distributor's province,
shipped to a dealer (or, for 0.5 % of units, to a distributor of another
region: a cross-region transfer), received, inspected, sold (2 % of units are
sold in a province outside the distributor's zone: diverted; 0.1 % are sold a
minute after their inspection in a province far away: a clone) and then
returned (5 %) or decommissioned.

Units are drawn in blocks of 8,192, each block from its own random streams, so
a unit's entries depend on the seed and its index alone: the same month cut
into partitions of another size holds the same rows. ``seq`` numbers every
entry of the dataset once, 0..N-1, in day order across all blocks (within a
day, block by block, in time order), so a partition's rows are interleaved
with every other partition's as a ledger's would be, and each unit's entries
are in time order. Computing that numbering needs the per-day entry counts of
every block first: a first pass draws only the times (a stream of their own),
the second everything.

Deterministic: the same arguments give the same files. A dataset already
written (its ``snapshot.json`` present with the same parameters) is reused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.compare_settlement import DAY, EVENTS_PER_UNIT, HOUR, START_MS, World, synthesize
from ledger.ids import EntryKind
from settlement import kernels as K
from settlement.batch.parquet import (
    ENTRY_SCHEMA,
    PARTY_SCHEMA,
    ROW_GROUP,
    SNAPSHOT_FORMAT,
    UNIT_SCHEMA,
    snapshot_path,
)
from settlement.zones import Grant

__all__ = [
    "ROOT",
    "ClusterDataset",
    "ClusterWorld",
    "add_dataset_arguments",
    "dataset_from_arguments",
    "ensure_dataset",
    "load_world",
]

#: Where datasets are kept (git-ignored).
ROOT = Path(__file__).resolve().parents[1] / ".benchmarks" / "cluster"
_N_DAYS = 400  # a year of first scans plus eight gaps of at most two days each
#: Units drawn from one random stream: a unit's entries depend on the seed and its
#: index, not on the partition size.
_BLOCK = 8_192
#: Bumped when what a dataset holds changes, so an older one is not reused.
_GENERATOR = 2
_N_INSPECTORS = 100


@dataclass(frozen=True, slots=True)
class ClusterWorld:
    """What the engine reads beside the snapshot: territories, grants, list prices.

    ``price[c, product]`` is in minor units of ``currencies[c]``; ``window`` and
    ``prior_window`` are ``[start_ms, end_ms)`` of the month settled and of the
    month a year before it (the growth comparison).
    """

    geojson: dict[str, Any]
    territory_parent: npt.NDArray[np.int32]
    grants: list[Grant]
    price: npt.NDArray[np.int64]
    window: tuple[int, int]
    prior_window: tuple[int, int]


@dataclass(frozen=True, slots=True)
class ClusterDataset:
    """A written dataset: ``snapshot_dir`` holds the partitioned snapshot."""

    root: Path
    snapshot_dir: Path
    entries: int
    units: int
    partitions: int
    bytes_on_disk: int

    def world(self) -> ClusterWorld:
        return load_world(self.root)


@dataclass(frozen=True, slots=True)
class _Params:
    entries: int
    distributors: int
    territories: int
    seed: int
    rows_per_partition: int

    @property
    def units(self) -> int:
        return max(self.entries // EVENTS_PER_UNIT, 1)

    @property
    def units_per_partition(self) -> int:
        return max(self.rows_per_partition // EVENTS_PER_UNIT, 1)

    @property
    def partitions(self) -> int:
        return math.ceil(self.units / self.units_per_partition)

    def unit_range(self, p: int) -> tuple[int, int]:
        lo = p * self.units_per_partition
        return lo, min(self.units, lo + self.units_per_partition)

    def name(self) -> str:
        return (
            f"e{self.entries}-d{self.distributors}-t{self.territories}"
            f"-s{self.seed}-r{self.rows_per_partition}"
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "generator": _GENERATOR,
            "entries": self.entries,
            "distributors": self.distributors,
            "territories": self.territories,
            "seed": self.seed,
            "rows_per_partition": self.rows_per_partition,
        }


@dataclass(frozen=True, slots=True)
class _Geography:
    """The synthesized world reduced to what unit histories need."""

    world: World
    home: npt.NDArray[np.int32]  # province of each distributor and dealer (-1 others)
    distributors: npt.NDArray[np.int32]
    inspectors: npt.NDArray[np.int32]
    provinces: npt.NDArray[np.int32]
    centre_lat: npt.NDArray[np.float64]
    centre_lon: npt.NDArray[np.float64]


def _geography(params: _Params) -> _Geography:
    """compare_settlement's world (one unit's worth of entries: only its parties,
    territories, grants and prices are kept)."""
    w = synthesize(EVENTS_PER_UNIT, params.distributors, params.territories, params.seed)
    s = w.snap
    distributors = np.flatnonzero(s.party_kind == K.PK_DISTRIBUTOR).astype(np.int32)
    home = np.full(len(s.party_ids), -1, dtype=np.int32)
    # synthesize grants each distributor its home province first, in party order
    for g in w.grants[: distributors.shape[0]]:
        home[g.party] = g.territory
    dealers = np.flatnonzero(s.party_kind == K.PK_DEALER)
    home[dealers] = home[s.party_parent[dealers]]
    boxes = np.array(
        [f["geometry"]["coordinates"][0][2] + f["geometry"]["coordinates"][0][0]
         for f in w.geojson["features"]]
    )  # fmt: skip
    return _Geography(
        world=w,
        home=home,
        distributors=distributors,
        inspectors=np.flatnonzero(s.party_kind == K.PK_INSPECTOR).astype(np.int32),
        provinces=np.flatnonzero(w.terr_parent >= 0).astype(np.int32),
        centre_lat=(boxes[:, 1] + boxes[:, 3]) / 2,
        centre_lon=(boxes[:, 0] + boxes[:, 2]) / 2,
    )


def _block_units(params: _Params, b: int) -> tuple[int, int]:
    lo = b * _BLOCK
    return lo, min(params.units, lo + _BLOCK)


def _times(params: _Params, b: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Entry times (units, 8) of block ``b`` and each unit's draw deciding its fate
    (diverted < 0.02 <= cross-region < 0.025 <= cloned < 0.026): their own stream, so
    the numbering pass draws nothing else."""
    lo, hi = _block_units(params, b)
    n = hi - lo
    rng = np.random.default_rng([params.seed, 1, b])
    t0 = START_MS + rng.integers(0, 365 * DAY, n)
    gaps = rng.integers(HOUR, 48 * HOUR, (n, EVENTS_PER_UNIT))
    gaps[:, 0] = 0
    at = t0[:, None] + np.cumsum(gaps, axis=1)
    fate = rng.random(n)
    cloned = (fate >= 0.025) & (fate < 0.026)
    at[cloned, 6] = at[cloned, 5] + 60_000  # sold a minute after the inspection
    return at, fate


def _days(at: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    day = (at - START_MS) // DAY
    if day.max(initial=0) >= _N_DAYS:  # pragma: no cover - gaps are bounded above
        raise ValueError("an entry falls after the dataset's last day")
    return day


def _block_seq(
    at: npt.NDArray[np.int64], day_offset: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Seq of each of a block's entries (shape of ``at``): ``day_offset[d]`` is the
    block's first seq on day ``d``; within a day, the block's entries in time order."""
    at_f = at.ravel()
    day = _days(at_f)
    order = np.lexsort((at_f, day))
    day_sorted = day[order]
    first_of_day = np.searchsorted(day_sorted, day_sorted, side="left")
    seq = np.empty(at_f.shape[0], dtype=np.int64)
    seq[order] = day_offset[day_sorted] + (np.arange(order.shape[0]) - first_of_day)
    return seq.reshape(at.shape)


def _block_rows(
    params: _Params, geo: _Geography, b: int, day_offset: npt.NDArray[np.int64]
) -> tuple[dict[str, npt.NDArray[Any]], npt.NDArray[np.int32]]:
    """Block ``b``'s entries as (units, 8) columns of the snapshot layout, and its
    units' products."""
    lo, hi = _block_units(params, b)
    n = hi - lo
    at, fate = _times(params, b)
    rng = np.random.default_rng([params.seed, 2, b])
    s = geo.world.snap
    n_dist = geo.distributors.shape[0]
    home = geo.home
    d_u = geo.distributors[rng.integers(0, n_dist, n)]
    dealer_u = (1 + n_dist + (d_u - 1) * 4 + rng.integers(0, 4, n)).astype(np.int32)
    other_d = geo.distributors[rng.integers(0, n_dist, n)]
    cross = (fate >= 0.02) & (fate < 0.025) & (home[other_d] != home[d_u])
    cloned = (fate >= 0.025) & (fate < 0.026)
    buyer = np.where(cross, other_d, dealer_u).astype(np.int32)
    elsewhere = geo.provinces[rng.integers(0, geo.provinces.shape[0], n)]
    sell_terr = np.where(fate < 0.02, elsewhere, home[buyer]).astype(np.int32)
    inspector = geo.inspectors[rng.integers(0, geo.inspectors.shape[0], n)]
    returned = rng.random(n) < 0.05
    product = rng.integers(0, len(s.products), n).astype(np.int32)
    far = geo.provinces[rng.integers(0, geo.provinces.shape[0], n)]
    jitter = rng.uniform(-0.05, 0.05, (2, n, EVENTS_PER_UNIT))

    none = np.full(n, -1, np.int32)
    manufacturer = np.zeros(n, np.int32)
    code = {k: k.code for k in EntryKind}
    kind = np.empty((n, EVENTS_PER_UNIT), dtype=np.int8)
    kind[:] = [code[EntryKind.COMMISSIONING], code[EntryKind.SHIPPING],
               code[EntryKind.RECEIVING], code[EntryKind.SHIPPING], code[EntryKind.RECEIVING],
               code[EntryKind.INSPECTING], code[EntryKind.RETAIL_SELLING], 0]  # fmt: skip
    kind[:, 7] = np.where(
        returned, code[EntryKind.RETURNING], code[EntryKind.DECOMMISSIONING]
    ).astype(np.int8)
    party = np.stack([manufacturer, manufacturer, d_u, d_u, buyer, inspector, buyer, buyer], axis=1)
    counterparty = np.stack(
        [none, d_u, manufacturer, buyer, d_u, none, none, np.where(returned, d_u, -1)], axis=1
    ).astype(np.int32)
    terr = np.stack(
        [none, none, home[d_u], home[d_u], sell_terr, sell_terr,
         np.where(cloned, far, sell_terr), np.where(returned, sell_terr, -1)], axis=1
    )  # fmt: skip
    placed = terr >= 0
    t = np.maximum(terr, 0)
    lat = np.where(placed, np.round((geo.centre_lat[t] + jitter[0]) * 1e6), K.NO_COORD)
    lon = np.where(placed, np.round((geo.centre_lon[t] + jitter[1]) * 1e6), K.NO_COORD)
    columns: dict[str, npt.NDArray[Any]] = {
        "seq": _block_seq(at, day_offset),
        "unit": np.repeat(np.arange(lo, hi, dtype=np.int32)[:, None], EVENTS_PER_UNIT, axis=1),
        "kind": kind,
        "party": party,
        "counterparty": counterparty,
        "at_ms": at,
        "lat_e6": lat,
        "lon_e6": lon,
    }
    return columns, product


def _partition_rows(
    params: _Params, geo: _Geography, p: int, offsets: npt.NDArray[np.int64]
) -> tuple[pa.Table, npt.NDArray[np.int32]]:
    """Partition ``p``'s entries as a table in ``seq`` order, and its units' products:
    the blocks its units fall in are generated whole and cut to its unit range, so a
    unit's entries do not depend on how the month is partitioned.

    ``offsets[b, d]`` is block ``b``'s first seq on day ``d``.
    """
    lo, hi = params.unit_range(p)
    parts: list[dict[str, npt.NDArray[Any]]] = []
    products: list[npt.NDArray[np.int32]] = []
    for b in range(lo // _BLOCK, (hi - 1) // _BLOCK + 1):
        cols, product = _block_rows(params, geo, b, offsets[b])
        b_lo, _ = _block_units(params, b)
        keep = slice(max(lo - b_lo, 0), hi - b_lo)
        parts.append({c: v[keep].ravel() for c, v in cols.items()})
        products.append(product[keep])
    merged = {c: np.concatenate([part[c] for part in parts]) for c in parts[0]}
    order = np.argsort(merged["seq"], kind="stable")
    return _table(ENTRY_SCHEMA, {c: v[order] for c, v in merged.items()}), np.concatenate(products)


def _table(schema: pa.Schema, columns: dict[str, Any]) -> pa.Table:
    """Columns cast to the snapshot layout's types, in its order."""
    return pa.Table.from_arrays(
        [pa.array(columns[f.name], type=f.type) for f in schema], schema=schema
    )


def _world_json(geo: _Geography, params: _Params) -> dict[str, Any]:
    w = geo.world
    return {
        "params": params.as_dict(),
        "territories": w.geojson,
        "grants": [[g.party, g.territory, g.from_ms, g.to_ms] for g in w.grants],
        "price": w.price.tolist(),
        "window": list(w.window),
        "prior_window": list(w.prior_window),
    }


def load_world(root: Path) -> ClusterWorld:
    """The ``world.json`` written beside a dataset's snapshot."""
    data = json.loads((root / "world.json").read_text())
    geojson = data["territories"]
    code_pos = {f["properties"]["code"]: i for i, f in enumerate(geojson["features"])}
    parent = np.array(
        [code_pos.get(f["properties"]["parent"], -1) for f in geojson["features"]],
        dtype=np.int32,
    )
    return ClusterWorld(
        geojson=geojson,
        territory_parent=parent,
        grants=[Grant(int(a), int(b), int(c), int(d)) for a, b, c, d in data["grants"]],
        price=np.array(data["price"], dtype=np.int64),
        window=(int(data["window"][0]), int(data["window"][1])),
        prior_window=(int(data["prior_window"][0]), int(data["prior_window"][1])),
    )


def _existing(root: Path, params: _Params) -> ClusterDataset | None:
    world = root / "world.json"
    if not world.exists():
        return None
    if json.loads(world.read_text()).get("params") != params.as_dict():
        return None
    for meta in root.glob("tree-*/snapshot.json"):
        info = json.loads(meta.read_text())
        return ClusterDataset(
            root=root,
            snapshot_dir=meta.parent,
            entries=int(info["entries"]),
            units=int(info["units"]),
            partitions=len(info["partitions"]),
            bytes_on_disk=sum(f.stat().st_size for f in meta.parent.iterdir()),
        )
    return None


def ensure_dataset(
    entries: int,
    *,
    distributors: int = 5_000,
    territories: int = 2_000,
    seed: int = 7,
    rows_per_partition: int = 4_000_000,
    root: Path = ROOT,
    progress: bool = True,
) -> ClusterDataset:
    """The dataset of these parameters under ``root``: reused when complete, else written.

    ``entries`` is rounded down to whole units of eight entries. Raises ``ValueError``
    naming the parameter when one is too small to make a world.
    """
    if entries < EVENTS_PER_UNIT:
        raise ValueError(f"entries must be at least {EVENTS_PER_UNIT} (one unit), got {entries}")
    if distributors < 2 or territories < 40:
        raise ValueError("the world needs at least 2 distributors and 40 territories")
    if rows_per_partition < EVENTS_PER_UNIT:
        raise ValueError(f"rows_per_partition must be at least {EVENTS_PER_UNIT}")
    params = _Params(entries, distributors, territories, seed, rows_per_partition)
    base = root / params.name()
    found = _existing(base, params)
    if found is not None:
        return found
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob("tree-*"):  # an interrupted write: start again
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    geo = _geography(params)
    n_parts = params.partitions
    n_blocks = -(-params.units // _BLOCK)
    counts = np.zeros((n_blocks, _N_DAYS), dtype=np.int64)
    for b in tqdm(range(n_blocks), desc="numbering (times)", unit="block", disable=not progress):
        counts[b] = np.bincount(_days(_times(params, b)[0].ravel()), minlength=_N_DAYS)
    per_day = counts.sum(axis=0)
    day_start = np.concatenate([[0], np.cumsum(per_day)[:-1]])
    # block b's first seq on day d: every earlier day, then earlier blocks' same day
    offsets = day_start[None, :] + np.cumsum(counts, axis=0) - counts
    tree_size = int(per_day.sum())
    root_hex = hashlib.sha256(json.dumps(params.as_dict(), sort_keys=True).encode()).hexdigest()
    snap_dir = snapshot_path(base, tree_size, root_hex)
    snap_dir.mkdir()
    (base / "world.json").write_text(json.dumps(_world_json(geo, params)))

    s = geo.world.snap
    parties = {"id": s.party_ids, "code": list(s.party_codes), "kind": s.party_kind,
               "parent": s.party_parent, "currency": s.party_currency}  # fmt: skip
    pq.write_table(_table(PARTY_SCHEMA, parties), snap_dir / "parties.parquet")
    products: list[npt.NDArray[np.int32]] = []
    partitions = []
    for p in tqdm(range(n_parts), desc="writing partitions", unit="part", disable=not progress):
        table, product = _partition_rows(params, geo, p, offsets)
        products.append(product)
        name = f"part-{p:05d}.parquet"
        pq.write_table(table, snap_dir / name, row_group_size=ROW_GROUP)
        lo, hi = params.unit_range(p)
        partitions.append({"file": name, "unit_lo": lo, "unit_hi": hi, "entries": table.num_rows})
        del table
    unit_product = np.concatenate(products)
    units = {"id": np.arange(1, params.units + 1, dtype=np.int64), "product": unit_product}
    pq.write_table(_table(UNIT_SCHEMA, units), snap_dir / "units.parquet", row_group_size=ROW_GROUP)
    meta = {
        "format": SNAPSHOT_FORMAT,
        "tree_size": tree_size,
        "root_hex": root_hex,
        "entries": tree_size,
        "units": params.units,
        "parties": len(s.party_ids),
        "products": list(s.products),
        "currencies": list(s.currencies),
        "rows_per_partition": params.rows_per_partition,
        "partitions": partitions,
    }
    (snap_dir / "snapshot.json").write_text(json.dumps(meta, indent=1))  # last: complete
    done = _existing(base, params)
    assert done is not None
    return done


def add_dataset_arguments(ap: argparse.ArgumentParser) -> None:
    """The options that choose a dataset (the defaults: the 20-million-entry month)."""
    ap.add_argument("--entries", type=int, default=20_000_000)
    ap.add_argument("--rows-per-partition", type=int, default=4_000_000)
    ap.add_argument("--distributors", type=int, default=5_000)
    ap.add_argument("--territories", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=7)


def dataset_from_arguments(ap: argparse.ArgumentParser, args: argparse.Namespace) -> ClusterDataset:
    """:func:`ensure_dataset` of the options :func:`add_dataset_arguments` added; a bad
    value ends the program with the parser's usage and the reason."""
    try:
        return ensure_dataset(
            args.entries,
            distributors=args.distributors,
            territories=args.territories,
            seed=args.seed,
            rows_per_partition=args.rows_per_partition,
        )
    except ValueError as e:
        ap.error(str(e))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_dataset_arguments(ap)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    ds = dataset_from_arguments(ap, args)
    print(
        f"{ds.entries:,} entries of {ds.units:,} units in {ds.partitions} partitions, "
        f"{ds.bytes_on_disk / 1e9:.2f} GB at {ds.snapshot_dir} ({time.perf_counter() - t:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
