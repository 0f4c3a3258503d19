"""The cluster benchmark's synthetic snapshot (benchmarks/cluster_setup.py).

Its figures mean something only if the files it writes are a snapshot the engine
reads as it reads a real one (every seq once, each unit's whole history in one
partition, rows in seq order, each unit's entries in time order) and if the
engine finds in them the diversions, cross-region transfers and clones it was
told to plant.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.cluster_setup import ClusterDataset, ensure_dataset
from geo import TerritoryIndex
from settlement import kernels as K
from settlement.batch import open_snapshot
from settlement.detection import detect_arrays, entry_territories
from settlement.snapshot import Snapshot

_EVENTS = 8


@settings(max_examples=12, deadline=None)
@given(
    units=st.integers(min_value=1, max_value=300),
    units_per_partition=st.integers(min_value=1, max_value=120),
    seed=st.integers(min_value=0, max_value=3),
)
def test_every_seq_once_and_each_unit_whole_in_one_partition(
    units: int, units_per_partition: int, seed: int
) -> None:
    def make(per_partition: int, root: Path) -> ClusterDataset:
        return ensure_dataset(units * _EVENTS, distributors=5, territories=40, seed=seed,
                              rows_per_partition=per_partition * _EVENTS, root=root,
                              progress=False)  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        ds = make(units_per_partition, Path(tmp))
        snap = open_snapshot(ds.snapshot_dir)
        assert snap.entries == snap.tree_size == units * _EVENTS
        assert snap.unit_ids.shape[0] == units
        assert len(snap.partitions) == -(-units // units_per_partition)
        seqs = []
        for i, info in enumerate(snap.partitions):
            part = snap.read_partition(i)  # local unit numbers
            assert np.all(np.diff(part.seq) > 0), "rows of a partition are in seq order"
            assert part.n_entries == info.entries == (info.unit_hi - info.unit_lo) * _EVENTS
            # every unit of the range has its whole eight-entry history here
            counts = np.bincount(part.unit, minlength=info.unit_hi - info.unit_lo)
            assert np.all(counts == _EVENTS)
            seqs.append(part.seq)
        assert np.array_equal(np.sort(np.concatenate(seqs)), np.arange(units * _EVENTS))
        whole = snap.read_all()
        one = make(units, Path(tmp) / "one")
        assert len(open_snapshot(one.snapshot_dir).partitions) == 1
        _assert_same_rows(whole, open_snapshot(one.snapshot_dir).read_all())
        by_unit = np.lexsort((whole.seq, whole.unit))
        u, at = whole.unit[by_unit], whole.at_ms[by_unit]
        same_unit = u[1:] == u[:-1]
        assert np.all(at[1:][same_unit] >= at[:-1][same_unit]), "a unit's seqs follow its time"


def _assert_same_rows(a: Snapshot, b: Snapshot) -> None:
    for column in ("seq", "unit", "kind", "party", "counterparty", "at_ms", "lat_e6", "lon_e6"):
        assert np.array_equal(getattr(a, column), getattr(b, column)), column
    assert np.array_equal(a.unit_product, b.unit_product)


def test_same_arguments_same_rows_and_a_finished_dataset_is_reused(tmp_path: Path) -> None:
    a = ensure_dataset(4_000, distributors=5, territories=40, rows_per_partition=1_000,
                       root=tmp_path / "a", progress=False)  # fmt: skip
    b = ensure_dataset(4_000, distributors=5, territories=40, rows_per_partition=1_000,
                       root=tmp_path / "b", progress=False)  # fmt: skip
    _assert_same_rows(open_snapshot(a.snapshot_dir).read_all(),
                      open_snapshot(b.snapshot_dir).read_all())  # fmt: skip
    before = {f.name: f.stat().st_mtime_ns for f in a.snapshot_dir.iterdir()}
    again = ensure_dataset(4_000, distributors=5, territories=40, rows_per_partition=1_000,
                           root=tmp_path / "a", progress=False)  # fmt: skip
    assert again.snapshot_dir == a.snapshot_dir
    assert {f.name: f.stat().st_mtime_ns for f in a.snapshot_dir.iterdir()} == before
    other = ensure_dataset(4_000, distributors=5, territories=40, rows_per_partition=1_000,
                           seed=8, root=tmp_path / "a", progress=False)  # fmt: skip
    assert other.snapshot_dir != a.snapshot_dir


def test_the_same_month_cut_into_other_partitions_holds_the_same_rows(tmp_path: Path) -> None:
    entries = 20_000 * _EVENTS  # three blocks of units, cut across their borders
    small = ensure_dataset(entries, distributors=5, territories=40,
                           rows_per_partition=3_000 * _EVENTS, root=tmp_path, progress=False)  # fmt: skip
    large = ensure_dataset(entries, distributors=5, territories=40,
                           rows_per_partition=7_000 * _EVENTS, root=tmp_path, progress=False)  # fmt: skip
    assert (small.partitions, large.partitions) == (7, 3)
    _assert_same_rows(open_snapshot(small.snapshot_dir).read_all(),
                      open_snapshot(large.snapshot_dir).read_all())  # fmt: skip


def test_detection_finds_the_planted_diversions_transfers_and_clones(tmp_path: Path) -> None:
    units = 20_000
    ds = ensure_dataset(units * _EVENTS, distributors=50, territories=100,
                        rows_per_partition=40_000, root=tmp_path, progress=False)  # fmt: skip
    world = ds.world()
    snap = open_snapshot(ds.snapshot_dir).read_all()
    index = TerritoryIndex.from_geojson(world.geojson)
    terr = entry_territories(snap, index)
    res = detect_arrays(snap, terr, np.asarray(index.parent, np.int32), world.grants)

    def units_with(bits: int) -> int:
        return int(np.unique(snap.unit[(res.flags & bits) != 0]).shape[0])

    # 2 % of units are sold outside their distributor's zone (less those whose
    # random province happens to be inside it) and 0.5 % shipped to another region's
    # distributor (less same-province picks), who receives and sells them out of
    # zone too; 0.1 % cloned far away, and some diverted units travel faster than
    # a plane between the distributor's province and the far one
    assert 0.010 * units <= units_with(K.F_OUT_OF_ZONE) <= 0.032 * units
    assert 0.002 * units <= units_with(K.F_CROSS_REGION) <= 0.006 * units
    assert 0.0008 * units <= units_with(K.F_CLONE_SPEED) <= 0.01 * units
    # every located scan falls in the territory the generator placed it in
    assert int((terr[snap.lat_e6 != K.NO_COORD] < 0).sum()) == 0
    assert np.all(res.allocated >= 0), "every unit was shipped by the manufacturer"


@pytest.mark.parametrize(
    ("entries", "kwargs", "words"),
    [
        (4, {}, "entries must be at least 8"),
        (800, {"distributors": 1}, "at least 2 distributors"),
        (800, {"rows_per_partition": 3}, "rows_per_partition must be at least 8"),
    ],
)
def test_too_small_a_dataset_is_refused_naming_the_parameter(
    tmp_path: Path, entries: int, kwargs: dict[str, int], words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        ensure_dataset(entries, root=tmp_path, progress=False, **kwargs)
