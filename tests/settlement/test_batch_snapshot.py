"""The partitioned snapshot (settlement/batch) without a cluster: the Parquet round
trip gives back exactly what load_snapshot reads, each unit's history lands whole
in one partition, and the partitioned run in this process finds and settles exactly
what the single-process run does (tests/settlement/test_batch_cluster.py runs the
same comparison on a Dask cluster)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from batch_world import (  # type: ignore[import-not-found]
    build_world,
    month_outcome,
    second_database,
)
from engine_world import EngineWorld, territory_index  # type: ignore[import-not-found]
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ledger.ids import EntryKind, gs1_check_digit
from ledger.models import Unit
from settlement import kernels as K
from settlement.batch import (
    BatchOptions,
    aggregate_partitioned,
    detect_partitioned,
    month_partitioned,
    open_snapshot,
    write_snapshot,
    write_snapshot_arrays,
)
from settlement.batch.parquet import SnapshotDirError, load_partition, split_units
from settlement.batch.partition import entry_findings, sales_arrays
from settlement.batch.runner import (
    NUMBA_THREADS_ENV,
    SCHEDULER_ENV,
    SNAPSHOT_DIR_ENV,
    ClusterError,
    numba_threads_setting,
)
from settlement.common import SettlementError
from settlement.detection import load_grants
from settlement.snapshot import Snapshot, Tables, load_snapshot
from settlement.zones import Grant

_DIVERSION = K.F_OUT_OF_ZONE | K.F_CROSS_REGION
COLUMNS = ("seq", "unit", "kind", "party", "counterparty", "at_ms", "lat_e6", "lon_e6")
TABLES = ("unit_ids", "unit_product", "products", "party_ids", "party_codes", "party_kind",
          "party_parent", "party_currency", "currencies")  # fmt: skip


def assert_same_snapshot(a: Snapshot, b: Snapshot) -> None:
    assert a.tree_size == b.tree_size
    for name in COLUMNS + TABLES:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, tuple):
            assert x == y, name
        else:
            assert x.dtype == y.dtype, name
            assert np.array_equal(x, y), name


@pytest.mark.parametrize("rows_per_partition", [1, 7, 25, 1_000_000])
def test_the_parquet_snapshot_reads_back_as_load_snapshot(
    db_url: str, tmp_path: Path, rows_per_partition: int
) -> None:
    w, size = build_world(db_url)
    root_hex = w.root(size).hex()
    with w.engine.connect() as conn:
        whole = load_snapshot(conn, size)
        snap = write_snapshot(conn, size, root_hex, tmp_path, rows_per_partition=rows_per_partition)
    assert snap.directory == tmp_path / f"tree-{size}-{root_hex[:16]}"
    assert (snap.directory / "snapshot.json").is_file()
    # the declaration and the sale it retracts are in the ledger but in neither snapshot
    assert whole.n_entries == snap.entries == size - 2
    assert_same_snapshot(snap.read_all(), whole)
    assert sum(p.entries for p in snap.partitions) == size - 2
    if rows_per_partition < 100:
        assert len(snap.partitions) >= 3
    for i, part in enumerate(snap.partitions):
        local = snap.read_partition(i)
        assert np.all(np.diff(local.seq) > 0)  # seq order inside a partition
        mine = (whole.unit >= part.unit_lo) & (whole.unit < part.unit_hi)
        assert np.array_equal(local.seq, whole.seq[mine])  # every entry of its units
        assert np.array_equal(local.unit + part.unit_lo, whole.unit[mine])
        assert np.array_equal(local.unit_ids, whole.unit_ids[part.unit_lo : part.unit_hi])


def test_a_snapshot_is_reused_and_replaced_when_the_partition_size_changes(
    db_url: str, tmp_path: Path
) -> None:
    w, size = build_world(db_url)
    root = tmp_path / "snaps"
    with w.engine.connect() as conn:
        first = write_snapshot(conn, size, w.root(size).hex(), root, rows_per_partition=25)
        stamp = (first.directory / "snapshot.json").stat().st_mtime_ns
        again = write_snapshot(conn, size, w.root(size).hex(), root, rows_per_partition=25)
        assert (again.directory / "snapshot.json").stat().st_mtime_ns == stamp
        other = write_snapshot(conn, size, w.root(size).hex(), root, rows_per_partition=10**6)
    assert len(other.partitions) == 1 < len(first.partitions)
    assert open_snapshot(other.directory).partitions == other.partitions
    assert [p.name for p in root.iterdir()] == [other.directory.name]  # no leftovers


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[Snapshot, int]:
    """A random columnar ledger (no database) and a partition size."""
    n_units = draw(st.integers(1, 40))
    n_entries = draw(st.integers(0, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # skewed: a few units hold most entries, some hold none
    weights = rng.pareto(1.0, n_units) + 1e-3
    unit = rng.choice(n_units, size=n_entries, p=weights / weights.sum()).astype(np.int32)
    n_parties = 5
    located = rng.random(n_entries) < 0.7
    lat = np.where(located, rng.integers(-90_000_000, 90_000_000, n_entries), K.NO_COORD)
    lon = np.where(located, rng.integers(-180_000_000, 180_000_000, n_entries), K.NO_COORD)
    snap = Snapshot(
        tree_size=n_entries + 3,
        seq=np.sort(rng.choice(n_entries + 3, size=n_entries, replace=False)).astype(np.int64),
        unit=unit,
        kind=rng.integers(0, 9, n_entries).astype(np.int8),
        party=rng.integers(0, n_parties, n_entries).astype(np.int32),
        counterparty=rng.integers(-1, n_parties, n_entries).astype(np.int32),
        at_ms=np.sort(rng.integers(0, 10**12, n_entries)).astype(np.int64),
        lat_e6=lat.astype(np.int32),
        lon_e6=lon.astype(np.int32),
        tables=Tables(
            unit_ids=np.sort(rng.choice(10**6, size=n_units, replace=False)).astype(np.int64),
            unit_product=rng.integers(-1, 2, n_units).astype(np.int32),
            products=("04006381333931", "04006381333948"),
            party_ids=np.arange(10, 10 + n_parties, dtype=np.int64),
            party_codes=tuple(f"P{i}" for i in range(n_parties)),
            party_kind=np.array([0, 1, 1, 2, 3], dtype=np.int8),
            party_parent=np.array([-1, -1, -1, 1, 2], dtype=np.int32),
            party_currency=np.array([0, 0, 1, 0, 1], dtype=np.int16),
            currencies=("EUR", "USD"),
        ),
    )
    return snap, draw(st.integers(1, 80))


@settings(max_examples=40, deadline=None)
@given(ledgers())
def test_any_split_round_trips_and_keeps_each_unit_whole(case: tuple[Snapshot, int]) -> None:
    snap, rows_per_partition = case
    with tempfile.TemporaryDirectory() as tmp:
        ps = write_snapshot_arrays(snap, "ab" * 32, tmp, rows_per_partition=rows_per_partition)
        assert_same_snapshot(ps.read_all(), snap)
        counts = np.bincount(snap.unit, minlength=snap.unit_ids.shape[0])
        assert ps.partitions[0].unit_lo == 0
        assert ps.partitions[-1].unit_hi == snap.unit_ids.shape[0]
        for before, after in zip(ps.partitions, ps.partitions[1:], strict=False):
            assert before.unit_hi == after.unit_lo  # contiguous ranges, no unit twice
            # every partition but the last holds at least rows_per_partition entries
            assert before.entries >= rows_per_partition
            # and would not without its last unit (a unit alone may exceed it)
            held = int(counts[before.unit_lo : before.unit_hi - 1].sum())
            assert held < rows_per_partition
        for i, part in enumerate(ps.partitions):
            local = load_partition(ps.directory, i)
            assert part.entries == int(counts[part.unit_lo : part.unit_hi].sum())
            assert np.all((local.unit >= 0) & (local.unit < part.unit_hi - part.unit_lo))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=60), st.integers(1, 100))
def test_split_units_covers_every_unit_once(counts: list[int], rows: int) -> None:
    c = np.array(counts, dtype=np.int64)
    bounds = split_units(c, rows)
    assert [lo for lo, _ in bounds] == ([0] if counts else []) + [hi for _, hi in bounds[:-1]]
    assert (bounds[-1][1] if bounds else 0) == len(counts)
    assert all(hi > lo for lo, hi in bounds)


def test_a_partition_size_below_one_is_refused() -> None:
    with pytest.raises(SnapshotDirError, match="rows_per_partition must be at least 1, got 0"):
        split_units(np.ones(3, dtype=np.int64), 0)


def test_the_partitioned_run_in_this_process_equals_the_single_process_run(
    db_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with second_database(db_url, request, tmp_path) as other_url:
        w1, size = build_world(db_url)
        w2, size2 = build_world(other_url)
        assert size == size2
        check_in_process(w1, w2, size, tmp_path)


def check_in_process(w1: Any, w2: Any, size: int, tmp_path: Path) -> None:
    heard: list[tuple[int, int]] = []
    mono = month_outcome(w1, size, BatchOptions())
    parts = month_outcome(
        w2,
        size,
        BatchOptions(
            snapshot_root=tmp_path / "snaps",
            rows_per_partition=25,
            on_partition=lambda done, total: heard.append((done, total)),
        ),
    )
    snap = open_snapshot(next((tmp_path / "snaps").iterdir()))
    assert len(snap.partitions) >= 3
    # each partition is heard once by detection and once by settlement
    n = len(snap.partitions)
    assert heard == [(i, n) for i in range(n + 1)] * 2  # (0, n) as each run starts
    types = {f[3] for f in mono.findings}
    assert types == {"out_of_zone", "cross_region", "custody_break", "clone"}
    assert mono.findings == parts.findings
    assert mono.alerts == parts.alerts
    assert mono.statements == parts.statements
    assert mono.lines == parts.lines
    assert any(line[2] == "fine" for line in mono.lines)  # the confirmed diversion counted
    with w1.engine.connect() as conn:
        retracted = conn.exec_driver_sql(
            "SELECT retracts_seq FROM entries WHERE retracts_seq IS NOT NULL"
        ).scalar()
    assert retracted is not None and retracted not in {f[0] for f in mono.findings}


def test_the_engine_runs_on_a_snapshot_directory_alone(db_url: str, tmp_path: Path) -> None:
    w, size = build_world(db_url)
    index = territory_index()
    with w.engine.connect() as conn:
        whole = load_snapshot(conn, size)
        ps = write_snapshot(conn, size, w.root(size).hex(), tmp_path, rows_per_partition=20)
        grants = load_grants(conn, whole, index.codes)
    w.engine.dispose()  # nothing below reads the database
    expected = entry_findings(whole, index, grants)
    got = detect_partitioned(ps.directory, index, grants)
    assert len(got) == len(expected) > 0
    for name in ("seq", "unit", "at_ms", "flags", "responsible", "territory"):
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name
    price = np.array([[10_000]], dtype=np.int64)
    excluded = np.zeros(whole.unit_ids.shape[0], dtype=np.bool_)
    excluded[[3, 25]] = True
    windows = [(0, 2**62), (10**12, 2 * 10**12)]
    mono = sales_arrays(whole, price, excluded, windows)
    split = aggregate_partitioned(ps.directory, price, [25, 3], windows)
    for name in ("sums", "seen", "alloc_ms", "alloc_party"):
        assert np.array_equal(getattr(split, name), getattr(mono, name)), name
    assert split.sums[0, :, :, K.S_EXCL_U].sum() > 0
    assert np.array_equal(split.window_products(0), np.array([0]))


def _corrupt(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:20])


def test_an_unreadable_snapshot_directory_is_named_with_the_shared_path_rule(
    tmp_path: Path,
) -> None:
    with pytest.raises(SnapshotDirError, match="every worker shares") as err:
        open_snapshot(tmp_path / "nowhere")
    assert "snapshot.json" in str(err.value)
    snap = Snapshot(
        tree_size=2, seq=np.arange(2, dtype=np.int64), unit=np.array([0, 1], np.int32),
        kind=np.array([EntryKind.COMMISSIONING.code] * 2, np.int8),
        party=np.zeros(2, np.int32), counterparty=np.full(2, -1, np.int32),
        at_ms=np.arange(2, dtype=np.int64), lat_e6=np.full(2, K.NO_COORD, np.int32),
        lon_e6=np.full(2, K.NO_COORD, np.int32),
        tables=Tables(
            unit_ids=np.array([5, 6], np.int64), unit_product=np.zeros(2, np.int32),
            products=("04006381333931",), party_ids=np.array([1], np.int64), party_codes=("M",),
            party_kind=np.zeros(1, np.int8), party_parent=np.full(1, -1, np.int32),
            party_currency=np.zeros(1, np.int16), currencies=("EUR",),
        ),
    )  # fmt: skip
    ps = write_snapshot_arrays(snap, "cd" * 32, tmp_path, rows_per_partition=1)
    _corrupt(ps.directory / "part-00001.parquet")
    with pytest.raises(SnapshotDirError, match=r"part-00001\.parquet.*every worker shares"):
        detect_partitioned(ps.directory, territory_index(), [])


def test_options_come_from_the_environment_unless_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    monkeypatch.delenv(SNAPSHOT_DIR_ENV, raising=False)
    monkeypatch.delenv("HOPCHAIN_INSTANCE", raising=False)
    assert not BatchOptions.from_env().partitioned  # nothing set: the run as before
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://10.0.0.5:8786")
    opts = BatchOptions.from_env()
    assert opts.partitioned and opts.scheduler == "tcp://10.0.0.5:8786"
    assert opts.root == Path("instance").absolute() / "snapshots"
    monkeypatch.setenv("HOPCHAIN_INSTANCE", str(tmp_path / "inst"))
    assert BatchOptions.from_env().root == tmp_path / "inst" / "snapshots"
    monkeypatch.setenv(SNAPSHOT_DIR_ENV, str(tmp_path))
    assert BatchOptions.from_env().root == tmp_path
    given_opts = BatchOptions.from_env(scheduler="tcp://h:1", snapshot_dir=tmp_path / "x")
    assert (given_opts.scheduler, given_opts.root) == ("tcp://h:1", tmp_path / "x")
    monkeypatch.delenv(SCHEDULER_ENV)
    local = BatchOptions.from_env()
    assert local.partitioned and local.scheduler is None  # in-process, partition by partition
    # a relative folder is sent to the workers as the absolute path it names here
    monkeypatch.chdir(tmp_path)
    assert BatchOptions.from_env(snapshot_dir="snaps").root == tmp_path / "snaps"


@pytest.mark.parametrize(
    ("address", "source", "why"),
    [
        ("http://127.0.0.1:8786", "--scheduler", " hopchain can reach (http://;"),
        ("nonsense:::x", "--scheduler", ":"),
        ("scheduler-host:port", "--scheduler", ":"),
        ("ftp://h:21", SCHEDULER_ENV, " hopchain can reach (ftp://;"),
        # distributed.Client fills in no port, and crashed on these (ValueError, TypeError)
        ("x", "--scheduler", ":"),
        ("tcp://", "--scheduler", ":"),
        ("tcp://scheduler-host", SCHEDULER_ENV, ":"),
        ("inproc://x", "--scheduler", " hopchain can reach (inproc://;"),
        ("ucx://h:1", SCHEDULER_ENV, " hopchain can reach (ucx://;"),
        (":8786", "--scheduler", " (it names no host)"),
        ("tcp://h:0", "--scheduler", " (port 0 is not 1 to 65535)"),
        ("tcp://h:70000", "--scheduler", " (port 70000 is not 1 to 65535)"),
    ],
)
def test_an_address_dask_cannot_use_is_refused_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, address: str, source: str, why: str
) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    if source == SCHEDULER_ENV:
        monkeypatch.setenv(SCHEDULER_ENV, address)
        given = None
    else:
        given = address
    with pytest.raises(ClusterError) as refused:
        BatchOptions.from_env(scheduler=given)
    said = str(refused.value)
    assert said.startswith(f"{source} {address!r} is not a Dask scheduler address{why}"), said
    assert "tcp://scheduler-host:8786" in said


@pytest.mark.parametrize(("raw", "want"), [("", None), ("auto", None), ("1", 1), (" 6 ", 6)])
def test_numba_threads_per_worker_come_from_the_setting(
    monkeypatch: pytest.MonkeyPatch, raw: str, want: int | None
) -> None:
    monkeypatch.setenv(NUMBA_THREADS_ENV, raw)
    assert numba_threads_setting() == want


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5"])
def test_a_numba_thread_count_that_is_no_count_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(NUMBA_THREADS_ENV, raw)
    with pytest.raises(SettlementError, match=f"{NUMBA_THREADS_ENV}={raw!r} is not a number"):
        numba_threads_setting()
    with pytest.raises(SettlementError, match=NUMBA_THREADS_ENV):  # before anything is written
        BatchOptions.from_env(scheduler="tcp://10.0.0.5:8786")


@pytest.mark.parametrize(
    "address", ["tcp://10.0.0.5:8786", "10.0.0.5:8786", "tls://h:1", "[::1]:8786"]
)
def test_addresses_dask_can_use_are_taken(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert BatchOptions.from_env(scheduler=address).scheduler == address


def test_units_keep_their_product_whatever_order_the_gtins_come_in(db_url: str) -> None:
    def gtin(body: str) -> str:
        return body + str(gs1_check_digit(body))

    later, earlier = gtin("0950600013435"), gtin("0400638133393")
    w = EngineWorld.create(db_url)
    made = [(later, "a"), (None, "case"), (earlier, "b"), (later, "c"), (None, "pallet")]
    with Session(w.engine) as s, s.begin():
        for g, serial in made:
            s.add(Unit(key=f"k/{serial}", gtin=g, serial=serial, state="in_stock"))
    with w.engine.connect() as conn:
        snap = load_snapshot(conn, 0)
    assert snap.products == (earlier, later)  # sorted, each once
    assert snap.unit_product.tolist() == [1, -1, 0, 1, -1]  # units in id order
    assert snap.unit_ids.tolist() == sorted(snap.unit_ids.tolist())


@settings(max_examples=25, deadline=None)
@given(ledgers(), st.integers(0, 2**32 - 1))
def test_any_split_finds_and_adds_up_what_the_whole_ledger_does(
    case: tuple[Snapshot, int], seed: int
) -> None:
    snap, rows_per_partition = case
    rng = np.random.default_rng(seed)
    index = territory_index()
    # entries in and around France and Germany, so that zones and clones come into play
    located = snap.lat_e6 != K.NO_COORD
    lat = np.where(located, rng.integers(40_000_000, 56_000_000, snap.n_entries), K.NO_COORD)
    lon = np.where(located, rng.integers(-4_000_000, 16_000_000, snap.n_entries), K.NO_COORD)
    snap = dataclasses.replace(snap, lat_e6=lat.astype(np.int32), lon_e6=lon.astype(np.int32))
    grants = [
        Grant(int(rng.integers(0, 5)), int(rng.integers(0, len(index.codes))),
              int(rng.integers(0, 10**11)), int(rng.integers(10**11, 10**12)))
        for _ in range(int(rng.integers(0, 6)))
    ]  # fmt: skip
    price = rng.integers(-1, 5_000, (2, 2)).astype(np.int64)
    excluded = rng.random(snap.unit_ids.shape[0]) < 0.2
    windows = [(0, 5 * 10**11), (3 * 10**11, 10**12)]
    with tempfile.TemporaryDirectory() as tmp:
        ps = write_snapshot_arrays(snap, "ef" * 32, tmp, rows_per_partition=rows_per_partition)
        got = detect_partitioned(ps.directory, index, grants, max_kmh=200.0)
        split = aggregate_partitioned(ps.directory, price, np.flatnonzero(excluded), windows)
        # one pass: each partition read once, its diversion units excluded as found
        got1, split1 = month_partitioned(
            ps.directory, index, grants, price, np.flatnonzero(excluded), windows,
            exclude_flags=_DIVERSION, max_kmh=200.0,
        )  # fmt: skip
    want = entry_findings(snap, index, grants, max_kmh=200.0)
    for name in ("seq", "unit", "at_ms", "flags", "responsible", "territory"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
        assert np.array_equal(getattr(got1, name), getattr(want, name)), name
    whole = sales_arrays(snap, price, excluded, windows)
    for name in ("sums", "seen", "alloc_ms", "alloc_party"):
        assert np.array_equal(getattr(split, name), getattr(whole, name)), name
    excluded[want.unit[(want.flags & _DIVERSION) != 0]] = True
    whole1 = sales_arrays(snap, price, excluded, windows)
    for name in ("sums", "seen", "alloc_ms", "alloc_party"):
        assert np.array_equal(getattr(split1, name), getattr(whole1, name)), name
