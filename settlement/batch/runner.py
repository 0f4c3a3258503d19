"""Run the batch over partitions: on a ``dask.distributed`` cluster or in this process.

Where the work runs is chosen by :class:`BatchOptions`: a scheduler address
(``--scheduler ADDR`` or ``HOPCHAIN_DASK_SCHEDULER``) sends each partition to a
cluster worker; a snapshot directory alone (``--snapshot-dir`` or
``HOPCHAIN_SNAPSHOT_DIR``) runs the partitions one after the other here, in
bounded memory; neither keeps the single-process run of
:func:`settlement.snapshot.load_snapshot`. Results are reduced here, on the client.

The workers read the snapshot from the directory (a path they must share) and get
the territory index, grants and price matrix shipped once per worker
(``Client.scatter(..., broadcast=True)``): unpickling the index on a worker is
cheaper than rebuilding it from the territories' GeoJSON rows as
:func:`geo.cache.cached_index` does (9 to 22 times for the world's countries, 1.7
to 2.6 times for 2,000 provinces: ``benchmarks/compare_territory_shipping.py``),
and a worker then needs no database connection at all.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from settlement.batch.parquet import (
    DEFAULT_ROWS_PER_PARTITION,
    PartitionedSnapshot,
    open_snapshot,
    prune_snapshots,
)
from settlement.batch.partition import (
    Findings,
    SalesArrays,
    detect_partition,
    merge_findings,
    merge_sales,
    month_partition,
    sales_partition,
)
from settlement.common import SettlementError
from settlement.detection import TerritoryLocator
from settlement.zones import Grant, ZoneTables, build_zone_tables

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "NUMBA_THREADS_ENV",
    "SCHEDULER_ENV",
    "SCHEDULER_SCHEMES",
    "SNAPSHOT_DIR_ENV",
    "SNAPSHOT_KEEP_ENV",
    "BatchOptions",
    "ClusterError",
    "aggregate_partitioned",
    "batch_client",
    "check_scheduler_address",
    "default_snapshot_dir",
    "detect_partitioned",
    "month_partitioned",
    "numba_threads_setting",
    "snapshot_keep_setting",
    "worker_numba_threads",
]

SCHEDULER_ENV = "HOPCHAIN_DASK_SCHEDULER"
SNAPSHOT_DIR_ENV = "HOPCHAIN_SNAPSHOT_DIR"
NUMBA_THREADS_ENV = "HOPCHAIN_DASK_NUMBA_THREADS"
SNAPSHOT_KEEP_ENV = "HOPCHAIN_SNAPSHOT_KEEP"
#: Snapshot folders kept under the snapshot directory when the setting is unset.
DEFAULT_SNAPSHOT_KEEP = 3


def default_snapshot_dir() -> Path:
    """``snapshots`` in the instance folder (``HOPCHAIN_INSTANCE``, default
    ``./instance``), where a run with a scheduler and no snapshot dir writes."""
    return (Path(os.environ.get("HOPCHAIN_INSTANCE") or "instance") / "snapshots").absolute()


T = TypeVar("T")
OnPartition = Callable[[int, int], None]


class ClusterError(SettlementError):
    """The Dask scheduler named cannot be reached."""


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """Where the batch runs.

    ``scheduler``: a ``dask.distributed`` scheduler address (``tcp://host:8786``) or
    None; ``snapshot_root``: the folder under which partitioned snapshots are written
    (a path every worker shares) or None; ``rows_per_partition``: about how many
    entries one partition holds (memory per worker grows with it);
    ``on_partition(done, total)``: hears ``(0, total)`` as the partitions start, then
    each partition finish. ``client`` (an open
    ``distributed.Client``) is used instead of connecting to ``scheduler``;
    ``connect_timeout_s``: how long to wait for the scheduler to answer.
    """

    scheduler: str | None = None
    snapshot_root: Path | None = None
    rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION
    on_partition: OnPartition | None = None
    client: Client | None = None
    connect_timeout_s: float = 30.0

    @classmethod
    def from_env(
        cls,
        *,
        scheduler: str | None = None,
        snapshot_dir: str | os.PathLike[str] | None = None,
        rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION,
        on_partition: OnPartition | None = None,
    ) -> BatchOptions:
        """Options from explicit values, else ``HOPCHAIN_DASK_SCHEDULER`` and
        ``HOPCHAIN_SNAPSHOT_DIR``; with a scheduler and no directory the snapshots go
        to :func:`default_snapshot_dir` (which workers must share too)."""
        sched = scheduler or os.environ.get(SCHEDULER_ENV) or None
        if sched is not None:
            check_scheduler_address(sched, "--scheduler" if scheduler else SCHEDULER_ENV)
            numba_threads_setting()  # refused in words before anything is written
        raw_dir = snapshot_dir or os.environ.get(SNAPSHOT_DIR_ENV) or None
        # absolute: workers started in another folder must find the same path
        root = Path(raw_dir).expanduser().absolute() if raw_dir else None
        if root is None and sched:
            root = default_snapshot_dir()
        if root is not None:
            snapshot_keep_setting()  # refused in words before anything is written
        return cls(sched, root, rows_per_partition, on_partition)

    @property
    def partitioned(self) -> bool:
        """Whether the run goes through a partitioned snapshot (else: in one piece)."""
        return (
            self.client is not None or self.scheduler is not None or self.snapshot_root is not None
        )

    @property
    def root(self) -> Path:
        """The folder partitioned snapshots go to."""
        return self.snapshot_root if self.snapshot_root is not None else default_snapshot_dir()


#: Schemes a scheduler of another process is reached by (``inproc://`` is one
#: process's own; ``ucx://`` needs UCX-Py on every host, which hopchain does not install).
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss")


def check_scheduler_address(address: str, source: str) -> None:
    """Refuse a scheduler address a Dask client in this process cannot connect to,
    before anything is written, naming ``source`` (the option or setting it came from):
    a scheme other than :data:`SCHEDULER_SCHEMES` (``http://``, ``inproc://``,
    ``ucx://``), no host, no port or a port outside 1-65535 (``distributed.Client``
    fills in no default port). Raises :class:`ClusterError`; whether a scheduler
    answers there is found out when connecting (:func:`batch_client`)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    def refused(why: str) -> ClusterError:
        return ClusterError(
            f"{source} {address!r} is not a Dask scheduler address{why}: give one such as "
            "tcp://scheduler-host:8786 (what `dask scheduler` prints)"
        )

    try:
        scheme, location = parse_address(address)
    except ValueError:
        raise refused("") from None
    if scheme not in SCHEDULER_SCHEMES:
        reachable = ", ".join(f"{s}://" for s in SCHEDULER_SCHEMES)
        raise refused(f" hopchain can reach ({scheme}://; it connects by {reachable})")
    try:
        host, port = parse_host_port(location)
    except ValueError:
        raise refused("") from None
    if not host:
        raise refused(" (it names no host)")
    if not 1 <= int(port) <= 65535:
        raise refused(f" (port {port} is not 1 to 65535)")


@contextmanager
def batch_client(options: BatchOptions) -> Iterator[Client | None]:
    """The client to map partitions with: the one given, a new one connected to the
    scheduler (closed on exit), or None (in-process). Raises :class:`ClusterError`
    naming the address when the scheduler does not answer."""
    if options.client is not None or options.scheduler is None:
        yield options.client
        return
    from distributed import Client

    try:
        client = Client(options.scheduler, timeout=options.connect_timeout_s)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {options.scheduler} within "
            f"{options.connect_timeout_s:g} s ({type(exc).__name__}): start one with "
            f"`dask scheduler` and workers with `dask worker {options.scheduler}`, or run in "
            f"this process (no --scheduler, {SCHEDULER_ENV} unset)"
        ) from None
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _count_setting(name: str, words: dict[str, int | None], what: str, or_else: str) -> int | None:
    """The environment setting ``name``: a whole number of at least 1, or one of
    ``words`` (``""``: unset) for its value; anything else raises
    :class:`settlement.common.SettlementError` naming the setting and ``what`` it counts."""
    raw = (os.environ.get(name) or "").strip()
    if raw in words:
        return words[raw]
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SettlementError(
            f"{name}={raw!r} is not a number of {what}: give a whole number of at least 1" + or_else
        )
    return value


def numba_threads_setting() -> int | None:
    """``HOPCHAIN_DASK_NUMBA_THREADS``: numba threads per task on a cluster worker, or
    None (unset or ``auto``: :func:`worker_numba_threads` chooses). Raises
    :class:`settlement.common.SettlementError` naming the setting when it is not a
    whole number of at least 1 or ``auto``."""
    return _count_setting(
        NUMBA_THREADS_ENV, {"": None, "auto": None}, "threads",
        ", or auto (the worker host's cores shared among its Dask threads)",
    )  # fmt: skip


def snapshot_keep_setting() -> int | None:
    """``HOPCHAIN_SNAPSHOT_KEEP``: how many snapshot folders (the most recently used)
    a successful partitioned run leaves under the snapshot directory, default
    :data:`DEFAULT_SNAPSHOT_KEEP`; ``all``: None, nothing is pruned. Raises
    :class:`settlement.common.SettlementError` naming the setting when it is neither
    ``all`` nor a whole number of at least 1."""
    return _count_setting(
        SNAPSHOT_KEEP_ENV, {"": DEFAULT_SNAPSHOT_KEEP, "all": None}, "snapshot folders to keep",
        f" (default {DEFAULT_SNAPSHOT_KEEP}), or all",
    )  # fmt: skip


def _prune(snap: PartitionedSnapshot) -> None:
    """After a successful run: old snapshot folders beside ``snap``'s pruned
    (:func:`settlement.batch.parquet.prune_snapshots`; ``snap``'s own is in use)."""
    keep = snapshot_keep_setting()
    if keep is not None:
        prune_snapshots(snap.directory.parent, keep)


def worker_numba_threads(client: Client, fixed: int | None = None) -> dict[str, int]:
    """Per worker address, the numba threads each of its tasks runs the kernels with:
    ``fixed`` when given, else ``max(1, C // N)`` with ``C`` the cores of the worker's
    host and ``N`` the Dask threads of every worker on that host (numba's default, one
    thread per core in every worker process, would run N times as many threads as
    the host has cores)."""
    workers: dict[str, dict[str, Any]] = client.scheduler_info()["workers"]
    if fixed is not None:
        return dict.fromkeys(workers, fixed)
    from ledger.verify_parallel import available_cores

    cores: dict[str, int] = client.run(available_cores)  # each worker's own
    per_host: dict[str, int] = {}
    for info in workers.values():
        per_host[info["host"]] = per_host.get(info["host"], 0) + int(info["nthreads"])
    return {
        addr: max(1, cores[addr] // max(per_host[info["host"]], 1))
        for addr, info in workers.items()
        if addr in cores
    }


def _on_worker(
    fn: Callable[..., T], threads: dict[str, int], directory: str, index: int, *shared: Any
) -> T:
    """A task: ``fn(directory, index, *shared)`` with numba's threads set for this worker
    (:func:`worker_numba_threads`; the setting is per thread, so per task)."""
    import numba
    from distributed import get_worker

    n = threads.get(get_worker().address, 1)
    most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]  # set at import
    numba.set_num_threads(max(1, min(n, most)))
    return fn(directory, index, *shared)


def _scatter(client: Client, value: object) -> Any:
    """``value`` on every worker once (a future the tasks receive as the value)."""
    return client.scatter([value], broadcast=True, hash=False)[0]  # type: ignore[no-untyped-call]


def _map(
    fn: Callable[..., T],
    directory: Path,
    n: int,
    shared: Sequence[Any],
    client: Client | None,
    on_partition: OnPartition | None,
) -> list[T]:
    """``fn(directory, i, *shared)`` for every partition ``i``, in partition order;
    ``on_partition`` hears ``(0, n)`` as the work starts, then each one done."""
    out: list[T | None] = [None] * n
    if on_partition is not None:
        on_partition(0, n)
    if client is None:
        for i in range(n):
            out[i] = fn(str(directory), i, *shared)
            if on_partition is not None:
                on_partition(i + 1, n)
    else:
        from distributed import as_completed

        # Large arguments go to every worker once, not once per partition.
        sent = [a if isinstance(a, int | float) else _scatter(client, a) for a in shared]
        threads = worker_numba_threads(client, numba_threads_setting())
        run = uuid.uuid4().hex[:12]
        futures = {
            client.submit(_on_worker, fn, threads, str(directory), i, *sent,
                          key=f"hopchain-{fn.__name__}-{run}-{i}", pure=False): i
            for i in range(n)
        }  # fmt: skip
        done = 0
        try:
            for fut in as_completed(list(futures)):  # type: ignore[no-untyped-call]
                out[futures[fut]] = fut.result()  # a worker's error is raised here, as is
                done += 1
                if on_partition is not None:
                    on_partition(done, n)
        finally:
            client.cancel(list(futures))  # type: ignore[no-untyped-call]
    return [r for r in out if r is not None]


def _zones(
    snap: PartitionedSnapshot, index: TerritoryLocator, grants: Sequence[Grant]
) -> ZoneTables:
    """The grants' zone tables for the snapshot's parties, built once here for every
    partition (each partition holds every party); :class:`settlement.zones.ZoneError`
    names a grant or hierarchy that cannot be used, before any worker starts."""
    parent = np.asarray(index.parent, dtype=np.int32)
    return build_zone_tables(len(snap.party_ids), snap.party_parent, grants, parent)


def _check_speed(max_kmh: float) -> None:
    if max_kmh <= 0:
        raise SettlementError(f"max_kmh must be positive, got {max_kmh}")


def detect_partitioned(
    snapshot_dir: str | os.PathLike[str],
    territory_index: TerritoryLocator,
    grants: Sequence[Grant],
    *,
    client: Client | None = None,
    max_kmh: float = 900.0,
    min_km: float = 1.0,
    on_partition: OnPartition | None = None,
) -> Findings:
    """Detection over a partitioned snapshot directory alone (no database).

    ``grants`` are in the snapshot's dense party indices and ``territory_index``'s
    positions (:func:`settlement.detection.load_grants`). Each partition runs
    :func:`settlement.kernels.detect` on a worker of ``client`` (or here when None);
    returns every flagged entry in seq order (:class:`Findings`), equal to the
    single-process run's. The grants' zone tables are built once here and shipped to
    every worker with the territory index. Raises
    :class:`settlement.batch.parquet.SnapshotDirError` when a worker cannot read the
    directory, :class:`settlement.zones.ZoneError` for grants that cannot be used.
    """
    _check_speed(max_kmh)
    snap = open_snapshot(snapshot_dir)
    parts = _map(
        detect_partition,
        snap.directory,
        len(snap.partitions),
        (territory_index, _zones(snap, territory_index, grants), float(max_kmh), float(min_km)),
        client,
        on_partition,
    )
    _prune(snap)
    return merge_findings(parts)


def aggregate_partitioned(
    snapshot_dir: str | os.PathLike[str],
    price: npt.NDArray[np.int64],
    excluded_units: npt.ArrayLike,
    windows: Sequence[tuple[int, int]],
    *,
    client: Client | None = None,
    on_partition: OnPartition | None = None,
) -> SalesArrays:
    """Sales aggregates over a partitioned snapshot directory alone (no database).

    ``price[currency, product]`` in the snapshot's currency and product order
    (minor units, -1 none); ``excluded_units``: GLOBAL dense unit indices of units of
    confirmed diversion; ``windows``: ``(start_ms, end_ms)`` pairs. Returns
    :class:`SalesArrays` over every partition, equal to the single-process run's.
    """
    snap = open_snapshot(snapshot_dir)
    excl = np.unique(np.asarray(excluded_units, dtype=np.int64))
    wins = [(int(a), int(b)) for a, b in windows]
    if not snap.partitions:
        from settlement.batch.partition import sales_arrays

        return sales_arrays(snap.read_all(), price, np.zeros(0, np.bool_), wins)
    parts = _map(
        sales_partition,
        snap.directory,
        len(snap.partitions),
        (np.asarray(price, dtype=np.int64), excl, wins),
        client,
        on_partition,
    )
    _prune(snap)
    return merge_sales(parts)


def month_partitioned(
    snapshot_dir: str | os.PathLike[str],
    territory_index: TerritoryLocator,
    grants: Sequence[Grant],
    price: npt.NDArray[np.int64],
    excluded_units: npt.ArrayLike,
    windows: Sequence[tuple[int, int]],
    *,
    exclude_flags: int = 0,
    client: Client | None = None,
    max_kmh: float = 900.0,
    min_km: float = 1.0,
    on_partition: OnPartition | None = None,
) -> tuple[Findings, SalesArrays]:
    """:func:`detect_partitioned` and :func:`aggregate_partitioned` in one pass: each
    partition is read once and both detected and aggregated on its worker.

    Arguments as those two take them; ``exclude_flags`` (finding bits,
    ``settlement.kernels.F_*``) also excludes from the sales base every unit with a
    finding carrying one of them, as if its alerts were confirmed. Returns the same
    :class:`Findings` and :class:`SalesArrays` as the two calls (and as the
    single-process run), with the same errors.
    """
    _check_speed(max_kmh)
    snap = open_snapshot(snapshot_dir)
    if not snap.partitions:
        e = np.empty(0, np.int64)
        return merge_findings([]), aggregate_partitioned(snap.directory, price, e, windows)
    shared = (
        territory_index,
        _zones(snap, territory_index, grants),
        float(max_kmh),
        float(min_km),
        np.asarray(price, dtype=np.int64),
        np.unique(np.asarray(excluded_units, dtype=np.int64)),
        [(int(a), int(b)) for a, b in windows],
        int(exclude_flags),
    )
    parts = _map(
        month_partition, snap.directory, len(snap.partitions), shared, client, on_partition
    )
    _prune(snap)
    return merge_findings([f for f, _ in parts]), merge_sales([s for _, s in parts])
