"""The monthly run's array work on a 2-worker Dask cluster, beside the same run in one process.

    python benchmarks/compare_cluster.py [--entries 20000000] [--rows-per-partition 4000000]
                                         [--workers 2] [--memory-limit 8GiB] [--sequential]
                                         [--worker-numba-threads N]
    python benchmarks/compare_cluster.py --entries 200000000     # the cluster run alone

Reads a synthetic partitioned snapshot (:mod:`benchmarks.cluster_setup`, written
once under ``.benchmarks/cluster`` and reused) and runs locate, detect and the
sell-in/sell-through aggregation of the settled month and of the month a year
before (the units with a diversion finding excluded, as if their alerts were
confirmed):

- in-process, the alternative a user has today: every partition read into one
  :class:`settlement.snapshot.Snapshot` in ``seq`` order, then the single-process
  run's :func:`settlement.batch.partition.entry_findings` (locate, detect) and
  :func:`settlement.batch.partition.sales_arrays` (both months) over the whole month;
- on a ``distributed.LocalCluster`` (processes, one thread per worker):
  :func:`settlement.batch.month_partitioned`, each worker reading each partition
  once and detecting and aggregating it, results reduced in the client; beside it on
  the same workers, the two passes it replaces
  (:func:`settlement.batch.detect_partitioned`, then
  :func:`settlement.batch.aggregate_partitioned`: each partition read twice);
- with ``--sequential``, also the one pass without a cluster: the partitions one
  after the other in one process (``HOPCHAIN_SNAPSHOT_DIR`` without a scheduler).

Each side runs in a fresh child process, so its peak memory is its own: the
in-process run's peak RSS, and for the cluster each worker's peak RSS (the
kernel's ``ru_maxrss`` of the worker process, read with ``client.run``) and the
client's. The numba kernels are compiled (or loaded from their cache) on a small
dataset before the clock starts, on both sides; the cluster's time is its second
run over the month (the first on fresh workers is printed beside it: it paid 3-12 s
more at 20 million entries, a first-use cost on each worker process that the small
warm-up does not cover). The two answers (every finding:
seq, bits, responsible party, territory; both months' aggregate arrays) are
compared and the comparison printed; the exit status is 1 when they differ.
Progress (partitions done) goes to stderr.

Above ``--inprocess-max`` entries (default 50 million) the in-process side is
skipped: it would need the whole month in memory, which is the point.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cluster_setup import (
    ClusterDataset,
    ClusterWorld,
    add_dataset_arguments,
    dataset_from_arguments,
    ensure_dataset,
    load_world,
)
from settlement import kernels as K

if TYPE_CHECKING:
    from distributed import Client

_DIVERSION = K.F_OUT_OF_ZONE | K.F_CROSS_REGION


@dataclass(frozen=True, slots=True)
class Answer:
    """What both sides must agree on: every finding row in seq order, both months' sales."""

    seq: npt.NDArray[np.int64]
    flags: npt.NDArray[np.int8]
    responsible: npt.NDArray[np.int32]
    territory: npt.NDArray[np.int32]
    current: npt.NDArray[np.int64]  # (parties, 2 bases, N_STATS)
    prior: npt.NDArray[np.int64]

    def save(self, path: Path) -> None:
        np.savez(path, **{f: getattr(self, f) for f in self.__slots__})

    @classmethod
    def load(cls, path: Path) -> Answer:
        with np.load(path) as z:
            return cls(**{f: z[f] for f in cls.__slots__})

    def counts(self) -> dict[str, int]:
        return {
            "out_of_zone": int(((self.flags & K.F_OUT_OF_ZONE) != 0).sum()),
            "cross_region": int(((self.flags & K.F_CROSS_REGION) != 0).sum()),
            "custody_break": int(((self.flags & K.F_CUSTODY_BREAK) != 0).sum()),
            "clone": int(((self.flags & (K.F_CLONE_SPEED | K.F_CLONE_AFTER_END)) != 0).sum()),
        }


def _peak_rss_bytes() -> int:
    """This process's peak resident set size (Linux reports ``ru_maxrss`` in KiB, as the
    build machine does; macOS would report bytes)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _warm_up_dataset() -> ClusterDataset:
    """A small dataset of several partitions: compiles the kernels outside the timing."""
    return ensure_dataset(
        80_000, distributors=20, territories=40, rows_per_partition=20_000, progress=False
    )


def _inprocess(args: argparse.Namespace) -> dict[str, Any]:
    """Today's run: the whole snapshot in this process (``read_all`` equals
    ``load_snapshot``), then what ``run_detection`` and a settlement run compute on it
    (:func:`settlement.batch.partition.entry_findings` and ``sales_arrays``, the
    partitions' own functions applied to the whole month)."""
    from geo import TerritoryIndex
    from settlement.batch import open_snapshot
    from settlement.batch.partition import entry_findings, sales_arrays

    def run(
        snapshot_dir: Path, world: ClusterWorld, index: TerritoryIndex
    ) -> tuple[Answer, dict[str, float]]:
        t0 = time.perf_counter()
        snap = open_snapshot(snapshot_dir).read_all()
        t1 = time.perf_counter()
        found = entry_findings(snap, index, world.grants)
        t2 = time.perf_counter()
        excluded = np.zeros(snap.unit_ids.shape[0], dtype=np.bool_)
        excluded[found.unit[(found.flags & _DIVERSION) != 0]] = True
        sales = sales_arrays(snap, world.price, excluded, [world.window, world.prior_window])
        t3 = time.perf_counter()
        answer = Answer(found.seq, found.flags, found.responsible, found.territory,
                        sales.sums[0], sales.sums[1])  # fmt: skip
        return answer, {"read": t1 - t0, "locate + detect": t2 - t1, "aggregate": t3 - t2}

    warm = _warm_up_dataset()
    run(warm.snapshot_dir, warm.world(), TerritoryIndex.from_geojson(warm.world().geojson))
    world = load_world(args.dataset)
    index = TerritoryIndex.from_geojson(world.geojson)  # built once per territory import
    t = time.perf_counter()
    answer, stages = run(args.snapshot, world, index)
    seconds = time.perf_counter() - t
    answer.save(args.answer)
    return {"seconds": seconds, "stages": stages, "peak_rss": _peak_rss_bytes()}


def _worker_peak_rss() -> int:
    """Run in each worker by ``client.run``: the worker process's peak RSS in bytes."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _worker_rss() -> int:
    """Run in each worker by ``client.run``: the worker process's RSS now, in bytes
    (Linux: resident pages in ``/proc/self/statm``)."""
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _partitioned_run(
    snapshot_dir: Path,
    world: ClusterWorld,
    client: Client | None,
    bar: bool,
    two_passes: bool = False,
) -> tuple[Answer, dict[str, float]]:
    """:func:`settlement.batch.month_partitioned` over the directory (each partition
    read once, detected and aggregated), on ``client``'s workers (or here, one
    partition after the other, when None); with ``two_passes``, as before it:
    :func:`settlement.batch.detect_partitioned` then
    :func:`settlement.batch.aggregate_partitioned` (each partition read twice). The
    territory index is built before the clock starts (a run reads it from the
    per-process cache)."""
    from geo import TerritoryIndex
    from settlement.batch import aggregate_partitioned, detect_partitioned, month_partitioned

    index = TerritoryIndex.from_geojson(world.geojson)
    what = "detect, then aggregate" if two_passes else "detect and aggregate"
    with tqdm(desc=f"partitions ({what})", unit="part", disable=not bar,
              file=sys.stderr) as progress:  # fmt: skip

        def step(done: int, total: int) -> None:
            progress.total = (2 if two_passes else 1) * total
            progress.update(1 if done else 0)

        if not two_passes:
            t0 = time.perf_counter()
            found, sales = month_partitioned(
                snapshot_dir, index, world.grants, world.price, [],
                [world.window, world.prior_window], exclude_flags=_DIVERSION,
                client=client, on_partition=step,
            )  # fmt: skip
            t1 = time.perf_counter()
            answer = Answer(found.seq, found.flags, found.responsible, found.territory,
                            sales.sums[0], sales.sums[1])  # fmt: skip
            return answer, {"read + locate + detect + aggregate": t1 - t0}
        t0 = time.perf_counter()
        found = detect_partitioned(
            snapshot_dir, index, world.grants, client=client, on_partition=step
        )
        t1 = time.perf_counter()
        excluded = np.unique(found.unit[(found.flags & _DIVERSION) != 0])
        sales = aggregate_partitioned(
            snapshot_dir, world.price, excluded, [world.window, world.prior_window],
            client=client, on_partition=step,
        )  # fmt: skip
        t2 = time.perf_counter()
    answer = Answer(found.seq, found.flags, found.responsible, found.territory,
                    sales.sums[0], sales.sums[1])  # fmt: skip
    return answer, {"read + locate + detect": t1 - t0, "read + aggregate": t2 - t1}


def _sequential_side(args: argparse.Namespace) -> dict[str, Any]:
    """The partitioned run without a cluster (``HOPCHAIN_SNAPSHOT_DIR`` alone): the
    partitions one after the other in this process."""
    warm = _warm_up_dataset()
    _partitioned_run(warm.snapshot_dir, warm.world(), None, False)
    world = load_world(args.dataset)
    answer, stages = _partitioned_run(args.snapshot, world, None, True)
    seconds = sum(stages.values())
    answer.save(args.answer)
    return {"seconds": seconds, "stages": stages, "peak_rss": _peak_rss_bytes()}


def _cluster_side(args: argparse.Namespace) -> dict[str, Any]:
    """The partitioned run on a fresh LocalCluster: each worker reads its partitions
    from the shared directory; findings and sums are reduced here."""
    from distributed import Client, LocalCluster

    if args.worker_numba_threads:  # read by numba when each worker process starts
        os.environ["NUMBA_NUM_THREADS"] = str(args.worker_numba_threads)
    t = time.perf_counter()
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                     memory_limit=args.memory_limit, dashboard_address=":0") as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):  # fmt: skip
        start = time.perf_counter() - t
        warm = _warm_up_dataset()
        _partitioned_run(warm.snapshot_dir, warm.world(), client, False)
        idle = client.run(_worker_rss)
        world = load_world(args.dataset)
        # the first run on fresh workers pays a first-use cost the small warm-up does
        # not cover (3-12 s more at 20 million entries)
        _, first = _partitioned_run(args.snapshot, world, client, True)
        answer, stages = _partitioned_run(args.snapshot, world, client, True)
        seconds = sum(stages.values())
        # the same workers, each partition read twice (detect, then aggregate), and
        # once more in one pass: the better of the two one-pass runs is reported
        _, two = _partitioned_run(args.snapshot, world, client, True, two_passes=True)
        _, again = _partitioned_run(args.snapshot, world, client, True)
        seconds = min(seconds, sum(again.values()))
        peaks = client.run(_worker_peak_rss)
    answer.save(args.answer)
    return {
        "seconds": seconds,
        "first_seconds": sum(first.values()),
        "two_pass_seconds": sum(two.values()),
        "two_pass_stages": two,
        "stages": stages,
        "start_seconds": start,
        "worker_peak_rss": [peaks[w] for w in sorted(peaks)],
        "worker_idle_rss": [idle[w] for w in sorted(peaks)],
        "client_peak_rss": _peak_rss_bytes(),
    }


def _child(role: str, ds: ClusterDataset, answer: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run one side in a fresh interpreter; its last stdout line is its JSON report."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--role", role,
           "--dataset", str(ds.root), "--snapshot", str(ds.snapshot_dir),
           "--answer", str(answer), "--workers", str(args.workers),
           "--memory-limit", args.memory_limit,
           "--worker-numba-threads", str(args.worker_numba_threads)]  # fmt: skip
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {role} run failed (exit status {done.returncode})")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def _same(a: Answer, b: Answer) -> dict[str, bool]:
    return {
        "findings (seq, bits)": np.array_equal(a.seq, b.seq) and np.array_equal(a.flags, b.flags),
        "responsible parties": np.array_equal(a.responsible, b.responsible),
        "territories": np.array_equal(a.territory, b.territory),
        "aggregate, settled month": np.array_equal(a.current, b.current),
        "aggregate, prior year's month": np.array_equal(a.prior, b.prior),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_dataset_arguments(ap)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="8GiB", help="per worker, as dask reads it")
    ap.add_argument(
        "--worker-numba-threads",
        type=int,
        default=0,
        help="NUMBA_NUM_THREADS of each worker (default: numba's, every core)",
    )
    ap.add_argument("--inprocess-max", type=int, default=50_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="rounds of every side, alternated")
    ap.add_argument(
        "--sequential",
        action="store_true",
        help="also run the partitions one after the other in one process "
        "(HOPCHAIN_SNAPSHOT_DIR without a scheduler)",
    )
    ap.add_argument(
        "--role", choices=("inprocess", "sequential", "cluster"), help=argparse.SUPPRESS
    )
    ap.add_argument("--dataset", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--snapshot", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--answer", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.role is not None:
        role = {"inprocess": _inprocess, "sequential": _sequential_side,
                "cluster": _cluster_side}  # fmt: skip
        report = role[args.role](args)
        print(json.dumps(report))
        return 0
    if args.workers < 1 or args.repeat < 1:
        ap.error("--workers and --repeat must be at least 1")
    t = time.perf_counter()
    ds = dataset_from_arguments(ap, args)
    print(f"dataset: {ds.entries:,} entries, {ds.units:,} units, {ds.partitions} partitions of "
          f"<= {args.rows_per_partition:,} rows, {ds.bytes_on_disk / 1e9:.2f} GB of Parquet "
          f"({time.perf_counter() - t:.1f} s to write or find; {os.cpu_count()} cores)")  # fmt: skip
    sides = ["inprocess"] if ds.entries <= args.inprocess_max else []
    if ds.entries > args.inprocess_max:
        print(f"in-process: skipped above {args.inprocess_max:,} entries (--inprocess-max)")
    sides += ["sequential"] if args.sequential else []
    sides.append("cluster")
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    agree = True
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(1, args.repeat + 1):
            answers: dict[str, Answer] = {}
            for side in sides:
                path = Path(tmp) / f"{side}.npz"
                report = _child(side, ds, path, args)
                runs[side].append(report)
                print(f"[{round_}/{args.repeat}] " + _describe(side, report, ds.entries, args))
                answers[side] = Answer.load(path)
            if round_ == 1:
                print(f"findings: {answers['cluster'].counts()}")
            reference = sides[0]
            for side in sides[1:]:
                same = _same(answers[reference], answers[side])
                agree &= all(same.values())
                if round_ == 1 or not all(same.values()):
                    for what, ok in same.items():
                        print(f"  {_NAMES[side]} and {_NAMES[reference]}: identical {what}: {ok}")
    best = {side: min(r["seconds"] for r in reports) for side, reports in runs.items()}
    worker_peak = max(max(r["worker_peak_rss"]) for r in runs["cluster"])
    print(f"best of {args.repeat}: " + ", ".join(f"{_NAMES[k]} {v:.1f} s" for k, v in best.items())
          + f"; cluster {ds.entries / best['cluster']:,.0f} entries/s; highest worker peak "
          f"{_gib(worker_peak)}")  # fmt: skip
    if "inprocess" in runs:
        in_peak = max(r["peak_rss"] for r in runs["inprocess"])
        print(
            f"ratio: time cluster / in-process {best['cluster'] / best['inprocess']:.2f}x; "
            f"peak memory per worker / in-process {worker_peak / in_peak:.2f}x"
        )
    return 0 if agree else 1


_NAMES = {
    "inprocess": "in-process",
    "sequential": "one after the other",
    "cluster": "cluster",
}


def _describe(side: str, report: dict[str, Any], entries: int, args: argparse.Namespace) -> str:
    """One side's report in words: time, stages, peak memory."""
    stages = ", ".join(f"{k} {v:.1f}" for k, v in report["stages"].items())
    if side == "inprocess":
        return f"in-process: {report['seconds']:.1f} s ({stages}); peak memory " + _gib(
            report["peak_rss"]
        )
    if side == "sequential":
        return (
            f"partitions one after the other in one process: {report['seconds']:.1f} s "
            f"({stages}); peak memory {_gib(report['peak_rss'])}"
        )
    threads = args.worker_numba_threads or "numba's default"
    workers = ", ".join(
        f"{_gib(peak)} (idle {_gib(idle)})"
        for peak, idle in zip(report["worker_peak_rss"], report["worker_idle_rss"], strict=True)
    )
    return (
        f"cluster ({args.workers} workers x 1 thread, numba threads {threads}, memory limit "
        f"{args.memory_limit} each): {report['seconds']:.1f} s, "
        f"{entries / report['seconds']:,.0f} entries/s ({stages}; in two passes, each "
        f"partition read twice: {report['two_pass_seconds']:.1f} s, one pass / two "
        f"{report['seconds'] / report['two_pass_seconds']:.2f}x; the first run on these "
        f"workers: {report['first_seconds']:.1f} s; cluster start "
        f"{report['start_seconds']:.1f} s, not counted); peak memory per worker {workers}, "
        f"client {_gib(report['client_peak_rss'])}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
