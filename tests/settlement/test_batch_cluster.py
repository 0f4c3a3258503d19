"""The monthly run on a Dask cluster (two worker processes, one thread each) finds
every finding and writes every statement line the single-process run does.

The month (tests/settlement/batch_world.py) has diversion, cross-region, clone and
custody findings, a confirmed diversion that fines and excludes units, a retracted
entry, and a unit whose forty hops span many seqs; the snapshot is cut into about
twenty-five entries per partition, so the work is spread over many partitions and
both workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest
from batch_world import (  # type: ignore[import-not-found]
    build_world,
    month_outcome,
    second_database,
)
from engine_world import territory_index  # type: ignore[import-not-found]

from settlement import kernels as K
from settlement.batch import (
    BatchOptions,
    aggregate_partitioned,
    detect_partitioned,
    month_partitioned,
    open_snapshot,
    write_snapshot,
)
from settlement.batch.parquet import SnapshotDirError
from settlement.batch.runner import (
    NUMBA_THREADS_ENV,
    ClusterError,
    _on_worker,
    batch_client,
    numba_threads_setting,
    worker_numba_threads,
)
from settlement.detection import load_grants

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    """A LocalCluster of two worker processes and a client on it, for the module."""
    try:
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"a Dask LocalCluster cannot start here: {exc}")
    with cluster, distributed.Client(cluster) as c:
        yield c


def test_the_cluster_run_finds_and_settles_exactly_what_one_process_does(
    db_url: str, request: pytest.FixtureRequest, tmp_path: Path, client: object
) -> None:
    with second_database(db_url, request, tmp_path) as other_url:
        w1, size = build_world(db_url)
        w2, size2 = build_world(other_url)
        assert size == size2
        heard: list[tuple[int, int]] = []
        one = month_outcome(w1, size, BatchOptions())
        many = month_outcome(
            w2,
            size,
            BatchOptions(
                snapshot_root=tmp_path / "shared",
                rows_per_partition=25,
                client=client,  # type: ignore[arg-type]
                on_partition=lambda done, total: heard.append((done, total)),
            ),
        )
        w1.engine.dispose()
        w2.engine.dispose()
    snap = open_snapshot(next((tmp_path / "shared").iterdir()))
    n = len(snap.partitions)
    assert n >= 3
    assert heard == [(i, n) for i in range(n + 1)] * 2  # detection, then settlement
    # the unit with forty hops sits alone in a partition bigger than the others
    assert max(p.entries for p in snap.partitions) > 25
    assert {f[3] for f in one.findings} == {"out_of_zone", "cross_region", "custody_break", "clone"}
    assert many.findings == one.findings  # (seq, unit, at, type, responsible, territory, month)
    assert many.alerts == one.alerts
    assert many.statements == one.statements
    assert many.lines == one.lines
    assert any(line[2] == "fine" for line in one.lines)


def test_both_workers_take_partitions(tmp_path: Path, client: object, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("reads no database of its own: the SQLite variant says it all")
    w, size = build_world(db_url)
    with w.engine.connect() as conn:
        ps = write_snapshot(conn, size, w.root(size).hex(), tmp_path, rows_per_partition=5)
    w.engine.dispose()
    before = client.run(lambda dask_worker: len(dask_worker.data))  # type: ignore[attr-defined]
    found = detect_partitioned(ps.directory, territory_index(), [], client=client)  # type: ignore[arg-type]
    assert len(found) > 0 and np.all(np.diff(found.seq) > 0)
    assert len(before) == 2  # two worker processes answered
    ran = client.run(  # type: ignore[attr-defined]
        lambda dask_worker: sum(1 for k in dask_worker.state.log if "detect_partition" in str(k))
    )
    assert all(count > 0 for count in ran.values()), ran


def test_one_pass_reads_each_partition_once_and_answers_as_two_passes(
    tmp_path: Path, client: object, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("reads no database of its own: the SQLite variant says it all")
    w, size = build_world(db_url)
    index = territory_index()
    with w.engine.connect() as conn:
        ps = write_snapshot(conn, size, w.root(size).hex(), tmp_path, rows_per_partition=20)
        grants = load_grants(conn, ps, index.codes)
    w.engine.dispose()
    diversion = K.F_OUT_OF_ZONE | K.F_CROSS_REGION
    price = np.full((len(ps.currencies), max(len(ps.products), 1)), 1_000, np.int64)
    windows = [(0, 2**62), (0, 10**12)]
    found = detect_partitioned(ps.directory, index, grants, client=client)  # type: ignore[arg-type]
    assert (found.flags & diversion).any()
    excluded = np.unique(found.unit[(found.flags & diversion) != 0])
    sales = aggregate_partitioned(ps.directory, price, excluded, windows, client=client)  # type: ignore[arg-type]
    heard: list[tuple[int, int]] = []
    found1, sales1 = month_partitioned(
        ps.directory, index, grants, price, [], windows, exclude_flags=diversion,
        client=client, on_partition=lambda done, total: heard.append((done, total)),  # type: ignore[arg-type]
    )  # fmt: skip
    n = len(ps.partitions)
    assert heard == [(i, n) for i in range(n + 1)]  # one task per partition
    for name in ("seq", "unit", "at_ms", "flags", "responsible", "territory"):
        assert np.array_equal(getattr(found1, name), getattr(found, name)), name
    for name in ("sums", "seen", "alloc_ms", "alloc_party"):
        assert np.array_equal(getattr(sales1, name), getattr(sales, name)), name
    assert sales.sums.any()


def test_a_worker_that_cannot_read_the_snapshot_says_which_file_and_why(
    tmp_path: Path, client: object, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("reads no database of its own: the SQLite variant says it all")
    w, size = build_world(db_url)
    with w.engine.connect() as conn:
        ps = write_snapshot(conn, size, w.root(size).hex(), tmp_path, rows_per_partition=50)
    w.engine.dispose()
    part = ps.directory / ps.partitions[1].file
    part.write_bytes(part.read_bytes()[:30])
    with pytest.raises(SnapshotDirError, match=r"part-00001\.parquet.*every worker shares"):
        detect_partitioned(ps.directory, territory_index(), [], client=client)  # type: ignore[arg-type]


def test_each_worker_runs_numba_on_its_share_of_the_host_cores(
    client: object, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("reads no database of its own: the SQLite variant says it all")
    c: Any = client
    cores = c.run(lambda: len(os.sched_getaffinity(0)))
    most = c.run(lambda: numba.config.NUMBA_NUM_THREADS)
    threads = worker_numba_threads(c)
    assert set(threads) == set(cores) and len(threads) == 2  # two workers, one host
    assert threads == {a: max(1, n // 2) for a, n in cores.items()}

    def ran(threads: dict[str, int]) -> dict[str, int]:
        futures = {
            a: c.submit(_on_worker, lambda d, i: numba.get_num_threads(), threads, "", 0,
                        workers=[a], pure=False)
            for a in threads
        }  # fmt: skip
        return {a: f.result() for a, f in futures.items()}

    assert ran(threads) == {a: min(threads[a], most[a]) for a in threads}
    monkeypatch.setenv(NUMBA_THREADS_ENV, "1")
    assert ran(worker_numba_threads(c, numba_threads_setting())) == dict.fromkeys(threads, 1)


def test_an_unreachable_scheduler_is_named() -> None:
    opts = BatchOptions(scheduler="tcp://127.0.0.1:9", connect_timeout_s=2)
    said = r"tcp://127\.0\.0\.1:9.*HOPCHAIN_DASK_SCHEDULER"
    with pytest.raises(ClusterError, match=said), batch_client(opts):
        pass  # pragma: no cover


def test_a_scheduler_address_connects_a_client_of_its_own(
    tmp_path: Path, client: object, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("reads no database of its own: the SQLite variant says it all")
    address = client.scheduler.address  # type: ignore[attr-defined]
    w, size = build_world(db_url)
    with w.engine.connect() as conn:
        ps = write_snapshot(conn, size, w.root(size).hex(), tmp_path, rows_per_partition=40)
    w.engine.dispose()
    here = detect_partitioned(ps.directory, territory_index(), [])
    with batch_client(BatchOptions(scheduler=address)) as own:
        assert own is not None and own is not client and own.scheduler.address == address
        there = detect_partitioned(ps.directory, territory_index(), [], client=own)
    assert own.status == "closed"  # the runner closes the client it opened
    assert np.array_equal(there.seq, here.seq) and np.array_equal(there.flags, here.flags)
