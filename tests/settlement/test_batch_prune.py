"""Old snapshot folders are pruned after a successful partitioned run: the most
recently used ``HOPCHAIN_SNAPSHOT_KEEP`` stay, and a folder in use is never touched."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from engine_world import territory_index  # type: ignore[import-not-found]

from ledger.ids import EntryKind
from settlement import kernels as K
from settlement.batch import detect_partitioned, open_snapshot, write_snapshot_arrays
from settlement.batch.parquet import SnapshotDirError, prune_snapshots
from settlement.batch.runner import SNAPSHOT_KEEP_ENV, BatchOptions, snapshot_keep_setting
from settlement.common import SettlementError
from settlement.snapshot import Snapshot, Tables


def _snap(tree_size: int) -> Snapshot:
    n = 2
    return Snapshot(
        tree_size=tree_size, seq=np.arange(n, dtype=np.int64), unit=np.array([0, 1], np.int32),
        kind=np.array([EntryKind.COMMISSIONING.code] * n, np.int8),
        party=np.zeros(n, np.int32), counterparty=np.full(n, -1, np.int32),
        at_ms=np.arange(n, dtype=np.int64), lat_e6=np.full(n, K.NO_COORD, np.int32),
        lon_e6=np.full(n, K.NO_COORD, np.int32),
        tables=Tables(
            unit_ids=np.array([5, 6], np.int64), unit_product=np.zeros(2, np.int32),
            products=("04006381333931",), party_ids=np.array([1], np.int64), party_codes=("M",),
            party_kind=np.zeros(1, np.int8), party_parent=np.full(1, -1, np.int32),
            party_currency=np.zeros(1, np.int16), currencies=("EUR",),
        ),
    )  # fmt: skip


def _folders(root: Path, count: int) -> list[Path]:
    """``count`` snapshot folders under ``root``, used oldest first, none held open."""
    out = []
    for i in range(count):
        ps = write_snapshot_arrays(_snap(2 + i), f"{i:02x}" * 32, root, rows_per_partition=1)
        out.append(ps.directory)
        del ps  # its lease goes with it
        os.utime(out[-1], ns=(10**18 + i * 10**9,) * 2)
    return out


def test_the_most_recently_used_and_the_folders_in_use_are_kept(tmp_path: Path) -> None:
    folders = _folders(tmp_path, 5)
    held = open_snapshot(folders[0])  # a run is reading the oldest
    os.utime(folders[0], ns=(10**18 - 10**9,) * 2)  # still the oldest by its last use
    writing = tmp_path / "tree-9-abcd.writing-4242"
    writing.mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    removed = prune_snapshots(tmp_path, 2)
    assert removed == [folders[2], folders[1]]
    assert [f.exists() for f in folders] == [True, False, False, True, True]
    assert writing.exists() and (tmp_path / "notes.txt").exists()
    assert len(held.read_partition(0).seq) == 1  # the run reads on undisturbed
    assert held.lease is not None
    held.lease.release()
    assert prune_snapshots(tmp_path, 2) == [folders[0]]  # now the oldest, and free
    assert [f.exists() for f in folders] == [False, False, False, True, True]
    with pytest.raises(SnapshotDirError, match="at least one snapshot folder must be kept"):
        prune_snapshots(tmp_path, 0)


def test_opening_a_folder_marks_it_used(tmp_path: Path) -> None:
    folders = _folders(tmp_path, 3)
    opened = open_snapshot(folders[0])
    del opened  # used just now, then let go
    assert prune_snapshots(tmp_path, 2) == [folders[1]]
    assert [f.exists() for f in folders] == [True, False, True]


def test_a_successful_run_prunes_to_the_setting_and_a_failed_one_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = _folders(tmp_path, 4)
    monkeypatch.setenv(SNAPSHOT_KEEP_ENV, "all")
    detect_partitioned(folders[0], territory_index(), [])
    assert all(f.exists() for f in folders)
    monkeypatch.setenv(SNAPSHOT_KEEP_ENV, "2")
    part = folders[1] / "part-00001.parquet"
    part.write_bytes(part.read_bytes()[:30])
    with pytest.raises(SnapshotDirError, match=r"part-00001\.parquet"):
        detect_partitioned(folders[1], territory_index(), [])
    assert all(f.exists() for f in folders)  # a failed run prunes nothing
    detect_partitioned(folders[2], territory_index(), [])
    # kept: the run's own folder and the one used before it (the failed run's)
    assert [f.exists() for f in folders] == [False, True, True, False]


@pytest.mark.parametrize(("raw", "want"), [("", 3), ("all", None), ("1", 1), ("12", 12)])
def test_the_number_kept_comes_from_the_setting(
    monkeypatch: pytest.MonkeyPatch, raw: str, want: int | None
) -> None:
    monkeypatch.setenv(SNAPSHOT_KEEP_ENV, raw)
    assert snapshot_keep_setting() == want


@pytest.mark.parametrize("raw", ["0", "-1", "none", "2.5"])
def test_a_keep_setting_that_is_no_count_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, raw: str, tmp_path: Path
) -> None:
    monkeypatch.setenv(SNAPSHOT_KEEP_ENV, raw)
    with pytest.raises(SettlementError, match=f"{SNAPSHOT_KEEP_ENV}={raw!r} is not a number"):
        snapshot_keep_setting()
    with pytest.raises(SettlementError, match=SNAPSHOT_KEEP_ENV):  # before anything is written
        BatchOptions.from_env(snapshot_dir=tmp_path)
