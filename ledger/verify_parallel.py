"""``verify --jobs N``: the log split into aligned ranges, verified by N processes.

The log's leaves are cut into ranges of ``2**level`` leaves (``2**level`` at least
the read chunk and 16, a tile), each one complete subtree of the log's tree.
Worker processes (:func:`ledger.verify_range.verify_range`, each with its own
connection; forked when the parent has one thread, else spawned) verify the
ranges, and compare the units rows of the units whose entries all lie in their
range; the parent folds what they return (:func:`ledger.verify_fold.fold`: per
range its subtree, its border scans and only the units that cross its borders)
into the scan one process would have made, and the rest of verification
(checkpoints, head, the other units rows, receipts no scan explains, the kept
checkpoint) goes on from there as usual.

All workers read the same data: on PostgreSQL each imports the snapshot the
parent's REPEATABLE READ transaction exports (``pg_export_snapshot``, ``SET
TRANSACTION SNAPSHOT``); on SQLite each reads the committed log up to the size
the parent read, which appends cannot change.

How many processes (:func:`plan_jobs`): never more than the cores this process
may run on, nor than the ranges; and none at all (one process) when a worker
would get fewer than :data:`MIN_ENTRIES_PER_JOB` entries, since starting it,
connecting and sending its result back then costs more than it saves.

When a range is not in place (rows missing, added, at a negative seq or
unencodable), a worker cannot run or :func:`plan_jobs` leaves one process,
:func:`scan_in_parallel` returns None (saying why through ``note``) and the
caller verifies in one process, which names those rows exactly as it always
has: the findings and the first bad seq are the single-process ones either way.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from sqlalchemy import Connection

from ledger.database import is_sqlite
from ledger.entry_columns import COLUMNS_MIN_ENTRIES
from ledger.rows import CodeBook
from ledger.tree import TILE_HEIGHT
from ledger.verify_derived import ReceiptCheck
from ledger.verify_fold import Folder, UnitsAcrossRanges
from ledger.verify_problems import Problem
from ledger.verify_range import RangeJob, RangeResult, verify_range
from ledger.verify_scan import EntryScan, StoredNode

__all__ = [
    "MAX_RANGES",
    "MIN_ENTRIES_PER_JOB",
    "JobPlan",
    "ParallelScan",
    "available_cores",
    "plan_jobs",
    "range_level",
    "scan_in_parallel",
]

MAX_RANGES = 4096  # ranges of one verification at most (wider ranges beyond that)
# Entries a worker must get at least, else fewer workers (one process below twice
# this): forking a worker, connecting and sending its result back is a fixed cost,
# and ranges are at least a read chunk (20,000 by default) anyway.
MIN_ENTRIES_PER_JOB = 20_000


def available_cores() -> int:
    """The cores this process may run on (what ``--jobs auto`` uses)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def range_level(total: int, chunk: int) -> int:
    """log2 of the leaves per range: at least a tile (16) and the read chunk, and
    wide enough that ``total`` leaves make at most :data:`MAX_RANGES` ranges."""
    level = max(TILE_HEIGHT, (max(1, chunk) - 1).bit_length())
    while total > MAX_RANGES << level:
        level += 1
    return level


@dataclass(frozen=True, slots=True)
class JobPlan:
    """How ``total`` entries are verified: by ``jobs`` processes (1: in this process,
    no workers), over ranges of ``2**level`` leaves, ``ranges`` of them;
    ``reason``: why fewer processes than asked, in words ('' when as asked)."""

    jobs: int
    level: int
    ranges: int
    reason: str = ""


def plan_jobs(total: int, chunk: int, jobs: int, cores: int | None = None) -> JobPlan:
    """The processes that verify ``total`` entries (read ``chunk`` seqs at a time)
    when ``jobs`` are asked (0 or less: one per core): at most ``cores`` (default
    :func:`available_cores`), at most one per range (:func:`range_level`), and only
    as many as get :data:`MIN_ENTRIES_PER_JOB` entries each."""
    cores = max(1, available_cores() if cores is None else cores)
    asked = cores if jobs <= 0 else jobs
    level = range_level(total, chunk)
    ranges = -(-total // (1 << level)) if total > 0 else 0
    use, why = asked, []
    if use > cores:
        use = cores
        why.append(f"{cores} core{'s' if cores != 1 else ''} to run on")
    if use > ranges:
        use = max(1, ranges)
        why.append(
            f"{total:,} entries make {ranges} range{'s' if ranges != 1 else ''} of up to {1 << level:,}"
        )
    if use > 1 and use > total // MIN_ENTRIES_PER_JOB:
        use = max(1, total // MIN_ENTRIES_PER_JOB)
        why.append(
            f"{total:,} entries: a worker pays off from {MIN_ENTRIES_PER_JOB:,} entries each"
        )
    if use >= asked or asked <= 1:
        return JobPlan(max(1, use), level, ranges)
    verify = "one process verifies" if use == 1 else f"{use} processes verify"
    return JobPlan(use, level, ranges, f"{verify} instead of {asked}: " + "; ".join(why))


@dataclass(frozen=True, slots=True)
class ParallelScan:
    """What :func:`scan_in_parallel` leaves: the ``scan`` one pass would have made
    (less the units in ``units_checked``), the stored tree nodes the workers
    compared, the ids of the units rows they compared (units whose entries all lie
    in one range) and, by id, what is wrong with those (the last two go to
    :func:`~ledger.verify_derived.check_units`); ``processes``: the workers that ran."""

    scan: EntryScan
    nodes_checked: int
    units_checked: set[int]
    unit_problems: dict[int, Problem]
    processes: int


def _url(conn: Connection) -> str | None:
    url = conn.engine.url
    if is_sqlite(conn) and (url.database in (None, "", ":memory:") or "mode=memory" in str(url)):
        return None  # a database only this process can see
    return url.render_as_string(hide_password=False)


def scan_in_parallel(
    conn: Connection,
    codes: CodeBook,
    marks: set[int],
    on_nodes: Callable[[list[StoredNode]], list[Problem]],
    receipts: ReceiptCheck | None,
    *,
    chunk: int,
    jobs: int,
    check_nodes: bool,
    check_units: bool = False,
    columns: bool | None = None,
    progress: Callable[[int], None] | None = None,
    note: Callable[[str], None] | None = None,
) -> ParallelScan | None:
    """The pass over the entries, by ``jobs`` processes (:func:`plan_jobs` may use
    fewer): the scan (its findings not yet classified: call
    :meth:`~ledger.verify_scan.EntryScan.finish`) and what the workers compared
    (:class:`ParallelScan`; units rows only when ``check_units``); or None when
    the log must be verified in one process (see the module doc); then
    ``receipts`` may have counted scans of ranges folded already, so that process
    needs a fresh one.
    ``progress(done)`` gets the entries verified so far as ranges complete;
    ``note(text)`` hears, in words, why fewer processes than asked verify (and
    why none, when this returns None)."""
    say = note or _silent
    url = _url(conn)
    if url is None:
        say(f"{jobs} processes asked, one verifies: the database lives in this process only")
        return None
    low, high = conn.exec_driver_sql("SELECT MIN(seq), MAX(seq) FROM entries").one()
    if low is None or int(low) < 0:
        return None  # empty, or rows before the log's start: one process names them
    total = int(high) + 1
    plan = plan_jobs(total, chunk, jobs)
    if plan.reason:
        say(plan.reason)
    if plan.jobs < 2:
        return None
    level = plan.level
    snapshot = None
    if not is_sqlite(conn):
        snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
    span = 1 << level
    wanted = sorted(m for m in marks if m > 0)
    jobs_list = [
        RangeJob(
            url,
            snapshot,
            codes,
            lo,
            min(lo + span, total),
            level,
            tuple(m for m in wanted if lo < m <= lo + span),
            chunk,
            check_nodes,
            receipts is not None,
            check_units,
            total >= COLUMNS_MIN_ENTRIES if columns is None else columns,
        )
        for lo in range(0, total, span)
    ]
    parts: list[RangeResult | None] = [None] * len(jobs_list)
    done = folded = 0
    scan = EntryScan(conn, codes, marks, on_nodes, receipts or _nothing, chunk)
    folder = Folder(scan, level, receipts)  # folds each range as soon as those before it are in
    pool = ProcessPoolExecutor(
        max_workers=plan.jobs, mp_context=multiprocessing.get_context(_start_method())
    )
    try:
        futures = {pool.submit(verify_range, job): i for i, job in enumerate(jobs_list)}
        for future in as_completed(futures):
            part = future.result()
            if not part.in_place:
                say(
                    f"entries {part.lo}..{part.hi - 1} are not in place (rows missing, added,"
                    " unencodable or unreadable): one process verifies the log and names them"
                )
                return None
            parts[futures[future]] = part
            while folded < len(parts) and (ready := parts[folded]) is not None:
                folder.add(ready)
                parts[folded] = None  # folded: its memory can go
                folded += 1
            done += part.rows
            if progress is not None:
                progress(done)
    except BrokenProcessPool:
        say("a worker process stopped: one process verifies the log")
        return None
    except (EOFError, OSError):  # the forkserver could not start or fork a worker
        say("worker processes could not be started: one process verifies the log")
        return None
    except UnitsAcrossRanges as across:
        say(
            "a unit whose row a worker compared, its entries taken to lie in one range,"
            f" has entries in another (found folding the range from seq {across}):"
            " one process verifies the log"
        )
        return None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    folder.finish(on_nodes)
    return ParallelScan(
        scan, folder.nodes_checked, folder.units_checked, folder.unit_problems, plan.jobs
    )


def _start_method() -> str:
    """``fork`` when this process has one thread (workers then start at once, with
    the modules already imported, and touch nothing of the parent's but its code);
    otherwise ``forkserver`` (workers forked from a server process started once,
    which has imported the main module and the worker's modules and loaded the
    compiled loops, :mod:`ledger.verify_preload`, and has no other thread), or
    ``spawn`` where there is none, since forking a process with threads is unsafe:
    a lock another thread held stays held in the child (polars' thread pool, once
    the one-process pass has read columns, deadlocked forked workers)."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and _threads() == 1:
        return "fork"
    if "forkserver" in methods:
        # "__main__" takes effect from CPython 3.13 (gh-126631): before it, every
        # worker imports the main module itself (keep a program's main module light).
        multiprocessing.get_context("forkserver").set_forkserver_preload(
            ["__main__", "ledger.verify_preload"]
        )
        _start_forkserver()
        return "forkserver"
    return "spawn"


def _start_forkserver() -> None:
    """Start the forkserver (once a process) with one polars thread: its workers
    are one a core already, and a pool of threads in each would fight over the
    same cores (polars reads ``POLARS_MAX_THREADS`` when the server imports it; the
    variable is set for the server alone, not for this process's other children)."""
    from multiprocessing import forkserver

    saved = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"
    try:
        forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ["POLARS_MAX_THREADS"]
        else:
            os.environ["POLARS_MAX_THREADS"] = saved


def _threads() -> int:
    """Threads of this process, native ones included (Linux: /proc/self/task;
    elsewhere the Python threads)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _nothing(_: object) -> list[Problem]:
    return []


def _silent(_: str) -> None:
    pass
