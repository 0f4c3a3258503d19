"""`hopchain ledger verify` beside a plain read of the same rows, in the same run.

    python benchmarks/compare_verify.py [--entries 200000] [--jobs 2] [--repeat 2]

On a kept ledger of ``--entries`` entries (built once into ``.benchmarks/`` or a
kept PostgreSQL schema by ``benchmarks/verify_setup.py``: units commissioned and
received by handheld scans, shipped, inspected, sold; two signed checkpoints):

1. plain: the rows verification reads (the same query, the same chunks of 20,000
   seqs) fetched through the driver as verification fetches them
   (:func:`ledger.verify_scan.read_rows`: PostgreSQL's binary format on psycopg),
   and ``hashlib.sha256`` of each row's bytes (its ``repr``): what reading the log
   and hashing it costs, with nothing checked;
2. ``verify_ledger`` in one process: entries/s and the ratio to plain; and the
   same reading row tuples (``columns=False``: the path before entries were read
   and derived as columns, :mod:`ledger.entry_columns`) and the speed-up of columns;
3. ``verify_ledger(jobs=N)``: entries/s, the ratio to plain and the speed-up over
   one process (N processes on N cores would ideally give N);
4. the CPU split of ``--jobs N`` (its best round by CPU): the parent's CPU
   seconds (the parallel pass: setup, starting workers, receiving and folding
   their results; the fold alone; the rest: loading and the checks after the
   pass) against the workers' (inside their ranges, and starting up and sending
   results), the parent's share of all of it (serial: it waits for the workers
   or follows them), and the speed-up that N free cores would give at most with
   that split: one process's CPU / (parent + workers / N).

Each figure is the best of ``--repeat`` runs, the three measured one after the
other in each round, so that all see the same machine load; per second of wall
time and per second of CPU time (this process and its workers together: what a
core verifies when it is not shared; the database server's own CPU is not
counted). On a shared machine wall time shows little of ``--jobs``: Linux shares
the CPU between sessions (autogroup), so N workers of one busy session get about
one session's share. On SQLite and, when one answers (``HOPCHAIN_TEST_PG_URL``),
on PostgreSQL.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# benchmarks.verify_setup (which loads the web app's models) is imported where it
# is used: on Python before 3.13 every --jobs worker imports this main module again.
from ledger import verify_fold, verify_ledger
from ledger.database import make_engine, placeholder
from ledger.verify import CHUNK
from ledger.verify_scan import _SQL, read_rows


class Rate(NamedTuple):
    wall: float  # entries per second of wall time
    cpu: float  # entries per CPU second, this process and its workers together


def _key() -> tuple[str, bytes]:
    """The kept ledgers' checkpoint key: name, public key."""
    from benchmarks.verify_setup import SIGNER

    return SIGNER.name, SIGNER.public_key


def _cpu() -> float:
    me, workers = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + workers.ru_utime + workers.ru_stime


def _plain_rate(engine: Engine) -> Rate:
    """Rows/s: the verification's query, chunk by chunk, and SHA-256 of each row."""
    sha = hashlib.sha256
    started, cpu = time.perf_counter(), _cpu()
    count = 0
    with engine.connect() as conn:
        sql = _SQL.format(ph=placeholder(conn))
        high = int(conn.exec_driver_sql("SELECT MAX(seq) FROM entries").scalar_one())
        for lo in range(0, high + 1, CHUNK):
            rows = read_rows(conn, sql, (lo, lo + CHUNK))
            for row in rows:
                sha(repr(row).encode()).digest()
            count += len(rows)
    return Rate(count / (time.perf_counter() - started), count / (_cpu() - cpu))


def _verify_rate(engine: Engine, jobs: int, columns: bool | None = None) -> Rate:
    """Entries/s of one verification, by wall time and by CPU time of this process
    and its workers. Workers started by a forkserver (when this process already
    has threads, see ``verify_parallel._start_method``) are not this process's
    children, so their CPU is what each says it spent since it started
    (``RangeResult.process_cpu`` of its last range: starting up included) where
    that is more than the children's."""
    folder = verify_fold.Folder
    real_add = folder.add
    workers: dict[int, float] = {}

    def add(self: verify_fold.Folder, part: Any) -> None:
        workers[part.pid] = max(workers.get(part.pid, 0.0), part.process_cpu)
        real_add(self, part)

    folder.add = add  # type: ignore[method-assign]
    me, children = _cpu_parts()
    started = time.perf_counter()
    try:
        report = verify_ledger(engine, *_key(), jobs=jobs, columns=columns)
    finally:
        folder.add = real_add  # type: ignore[method-assign]
    wall = time.perf_counter() - started
    me2, children2 = _cpu_parts()
    cpu = (me2 - me) + max(children2 - children, sum(workers.values()))
    return Rate(report.entries / wall, report.entries / cpu)


class Split(NamedTuple):
    """CPU seconds of one ``--jobs N`` verification (see the module doc, 4)."""

    parent: float
    in_pass: float  # of parent: inside the parallel pass
    fold: float  # of in_pass: folding ranges (Folder.add, Folder.finish)
    workers: float
    in_ranges: float  # of workers: verify_range itself


def _split_run(engine: Engine, jobs: int) -> Split:
    """``verify_ledger(jobs=jobs)``, timing the parent's pass and fold and adding up
    what the workers say each range cost (``RangeResult.cpu``) and each process
    spent in all (``RangeResult.process_cpu``, for workers a forkserver started)."""
    import ledger.verify as verify_module

    spent = {"pass": 0.0, "fold": 0.0, "ranges": 0.0}
    real_pass = verify_module.scan_in_parallel
    folder = verify_fold.Folder
    real_add, real_finish = folder.add, folder.finish

    def timed(key: str, call: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return call(*args, **kwargs)
            finally:
                spent[key] += time.process_time() - started

        return run

    processes: dict[int, float] = {}

    def add(self: verify_fold.Folder, part: Any) -> None:
        spent["ranges"] += part.cpu
        processes[part.pid] = max(processes.get(part.pid, 0.0), part.process_cpu)
        timed("fold", real_add)(self, part)

    verify_module.scan_in_parallel = timed("pass", real_pass)  # type: ignore[assignment]
    folder.add = add  # type: ignore[method-assign]
    folder.finish = timed("fold", real_finish)  # type: ignore[method-assign]
    me, workers = _cpu_parts()
    try:
        verify_ledger(engine, *_key(), jobs=jobs)
    finally:
        verify_module.scan_in_parallel = real_pass  # type: ignore[assignment]
        folder.add, folder.finish = real_add, real_finish  # type: ignore[method-assign]
    me2, workers2 = _cpu_parts()
    spent_workers = max(workers2 - workers, sum(processes.values()))
    return Split(me2 - me, spent["pass"], spent["fold"], spent_workers, spent["ranges"])


def _cpu_parts() -> tuple[float, float]:
    """CPU seconds so far of this process and of its finished workers."""
    me, workers = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime, workers.ru_utime + workers.ru_stime


def _print_split(kind: str, jobs: int, s: Split, one_cpu: float) -> None:
    total = s.parent + s.workers
    bound = one_cpu / (s.parent + s.workers / jobs)
    print(
        f"  {kind:<10} --jobs {jobs} CPU split: parent {s.parent:.3f} s"
        f" ({s.parent / total:.0%} of all; parallel pass {s.in_pass:.3f}, of it folding"
        f" {s.fold:.3f}; before and after it {s.parent - s.in_pass:.3f})"
        f" | workers {s.workers:.3f} s (in ranges {s.in_ranges:.3f}, starting and"
        f" sending {s.workers - s.in_ranges:.3f}) | one process {one_cpu:.3f} s"
        f" | at most {bound:.2f}x on {jobs} free cores"
    )


def _best(rates: list[Rate]) -> Rate:
    return Rate(max(r.wall for r in rates), max(r.cpu for r in rates))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from benchmarks.ledger_setup import pg_url
    from benchmarks.verify_setup import ENTRIES_PER_UNIT, kept_ledger

    entries = args.entries - args.entries % ENTRIES_PER_UNIT
    kinds = ["sqlite"] + (["postgresql"] if pg_url() else [])
    print(
        f"verify: {entries:,} entries, best of {args.repeat}, --jobs {args.jobs}"
        f" ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the start)"
    )
    for kind in kinds:
        engine = make_engine(kept_ledger(kind, entries))
        _verify_rate(engine, 1)  # warm the pages the runs read
        runs: dict[str, list[Rate]] = {"plain": [], "one": [], "rows": [], "many": []}
        splits: list[Split] = []
        for _ in range(args.repeat):
            runs["plain"].append(_plain_rate(engine))
            runs["one"].append(_verify_rate(engine, 1))
            runs["rows"].append(_verify_rate(engine, 1, columns=False))
            runs["many"].append(_verify_rate(engine, args.jobs))
            if args.jobs > 1:
                splits.append(_split_run(engine, args.jobs))
        engine.dispose()
        plain, one, rows, many = (_best(runs[k]) for k in ("plain", "one", "rows", "many"))
        for what, pick in (("wall time", 0), ("CPU time", 1)):
            p, o, r, m = plain[pick], one[pick], rows[pick], many[pick]
            print(
                f"  {kind:<10} per second of {what}: plain read + SHA-256 {p:>9,.0f} rows"
                f" | verify, 1 process {o:>9,.0f} entries ({o / p:.2f}x plain;"
                f" reading row tuples instead {r:>9,.0f}, columns {o / r:.2f}x that)"
                f" | --jobs {args.jobs} {m:>9,.0f} entries ({m / p:.2f}x plain,"
                f" {m / o:.2f}x one process)"
            )
        if splits:
            split = min(splits, key=lambda s: s.parent + s.workers)
            _print_split(kind, args.jobs, split, entries / one.cpu)
    if "postgresql" not in kinds:
        print("  postgresql skipped: no server answers (set HOPCHAIN_TEST_PG_URL)")
    print(f"  load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
