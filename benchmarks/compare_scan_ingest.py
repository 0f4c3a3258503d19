"""Scan ingest over HTTP beside the ledger's own append rate, in the same run.

    python benchmarks/compare_scan_ingest.py [--hops 20000] [--clients 50]
        [--per-batch 20] [--server-threads 8] [--db sqlite|postgresql|both]

Both databases by default: SQLite, then PostgreSQL when one answers
(``HOPCHAIN_TEST_PG_URL``, else the local default), each with its own ratio.

1. Served: ``hopchain serve`` (waitress) on 127.0.0.1 on a temporary instance;
   ``--clients`` threads, each a registered handheld with its own keep-alive
   connection, post signed batches of ``--per-batch`` receiving scans to
   ``POST /api/v1/scans`` all at once. Unit-hops/s = accepted events / wall time
   from the common start to the last answer (signature check, JSON parsing, event
   checks, ledger append, HTTP).
2. Ledger: the very same hops (as the server makes them of the same bodies),
   appended with ``append_hops`` in the same batches, one after the other, on a
   fresh database of the same kind: the rate the ledger itself reaches.

The ratio served / ledger is what the web layer keeps of the ledger's rate
(goal: at least 0.5): the median over ``--repeat`` paired runs (each served run
next to its ledger run, so both see the same machine load) and best against
best. CPU time per hop (the server process; the appending process) is printed
too: on a shared machine it moves less than wall time. Units are commissioned
and shipped beforehand, untimed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ledger_setup import pg_url
from benchmarks.scan_ingest_setup import (
    IngestResult,
    append_directly,
    database_url,
    make_clients,
    post_concurrently,
    prepare_database,
    same_hops,
    serials,
    serve,
    ship_to_d1,
)
from ledger.database import make_engine


def _served(args: argparse.Namespace, kind: str, units: list[str]) -> tuple[IngestResult, int]:
    with database_url(kind) as (url, instance):
        keys = prepare_database(url, instance, args.clients)
        engine = make_engine(url)
        ship_to_d1(engine, units)
        engine.dispose()
        clients = make_clients(keys, units, args.per_batch)
        with serve(url, instance, threads=args.server_threads) as server:
            served = post_concurrently(server, clients)
    if served.hops != len(units):
        raise SystemExit(f"expected {len(units)} accepted scans, got {served.answers}")
    return served, sum(len(c.bodies) for c in clients)


def _ledger(args: argparse.Namespace, kind: str, units: list[str]) -> IngestResult:
    with database_url(kind) as (url, instance):
        keys = prepare_database(url, instance, args.clients)
        engine = make_engine(url)
        ship_to_d1(engine, units)
        ledger = append_directly(engine, same_hops(make_clients(keys, units, args.per_batch)))
        engine.dispose()
    if ledger.hops != len(units):
        raise SystemExit(f"expected {len(units)} accepted hops, got {ledger.answers}")
    return ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hops", type=int, default=10_000, help="receiving scans per run")
    parser.add_argument("--clients", type=int, default=50, help="concurrent handhelds")
    parser.add_argument("--per-batch", type=int, default=20, help="events per signed batch")
    parser.add_argument("--server-threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in kinds and pg_url() is None:
        if args.db == "postgresql":
            raise SystemExit("no PostgreSQL answers: set HOPCHAIN_TEST_PG_URL")
        kinds.remove("postgresql")
        print("postgresql skipped: no server answers (set HOPCHAIN_TEST_PG_URL)")
    for kind in kinds:
        _compare(args, kind)


def _compare(args: argparse.Namespace, kind: str) -> None:
    """Served beside ledger on ``kind``, ``--repeat`` paired runs; prints the ratio."""
    units = serials(0, args.hops)
    print(
        f"{args.hops} receiving scans from {args.clients} handhelds, {args.per_batch} per "
        f"signed batch, on {kind}; server: hopchain serve, {args.server_threads} threads; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; best of {args.repeat}"
    )
    served_runs: list[IngestResult] = []
    ledger_runs: list[IngestResult] = []
    batches = 0
    for run in range(1, args.repeat + 1):
        served, batches = _served(args, kind, units)
        ledger = _ledger(args, kind, units)
        served_runs.append(served)
        ledger_runs.append(ledger)
        print(
            f"  run {run}: served {served.rate:8,.0f}/s ({served.seconds:.2f} s), "
            f"ledger {ledger.rate:8,.0f}/s ({ledger.seconds:.2f} s), "
            f"ratio {served.rate / ledger.rate:.2f}, load {os.getloadavg()[0]:.2f}"
        )
    ratios = sorted(a.rate / b.rate for a, b in zip(served_runs, ledger_runs, strict=True))
    best_served = max(r.rate for r in served_runs)
    best_ledger = max(r.rate for r in ledger_runs)
    served_cpu = min(1e6 * r.cpu_seconds / r.hops for r in served_runs)
    ledger_cpu = min(1e6 * r.cpu_seconds / r.hops for r in ledger_runs)
    print(f"POST /api/v1/scans : {best_served:10,.0f} unit-hops/s best  ({args.hops} hops in {batches} signed batches, {args.clients} clients); server CPU {served_cpu:.0f} us/hop")  # fmt: skip
    print(f"ledger append_hops : {best_ledger:10,.0f} unit-hops/s best  (the same hops in the same batches, one caller); CPU {ledger_cpu:.0f} us/hop")  # fmt: skip
    print(f"ratio served/ledger: {ratios[len(ratios) // 2]:10.2f}  median of paired runs; {best_served / best_ledger:.2f} best vs best (goal >= 0.5), {kind}")  # fmt: skip


if __name__ == "__main__":
    main()
