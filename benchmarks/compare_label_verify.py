"""Public label verifications per second on 2 cores, with the share of time in the
database, beside the scan-ingest rate, in the same run (issue 14).

    python benchmarks/compare_label_verify.py [--units 4000] [--distributors 10]
        [--scans 500] [--sightings 150] [--clients 32] [--workers 2] [--threads 4]
        [--repeat 3] [--hops 10000] [--db sqlite|postgresql]

World: ``hopchain init`` + ``hopchain demo --units N`` on a temporary instance
(untimed). Served: ``--workers`` waitress processes (``--threads`` each) sharing one
listening socket on 127.0.0.1 (pre-fork; :mod:`benchmarks.label_verify_setup`), so
the app uses both cores; rate limits raised, as every client is 127.0.0.1.

Each run, on labels not scanned before (they are reused, and counted again, only
when the world has too few):

1. phone scan: ``--clients`` phones at once, each on a keep-alive connection, scan
   ``--scans`` labels between them as a phone opens a QR code: ``GET /01/{gtin}/21/
   {serial}`` (the resolver: 307) then the ``Location`` (the consumer's page,
   ``label.verify``: the unit, product, market and tally, counted: no cookie kept).
   Scans/s = pages answered 200 / wall time from the common start to the last
   answer; p50/p95 is one scan's two requests.
2. page alone: as 1 on other labels, ``GET /label/01/{gtin}/21/{serial}`` only.
3. sighting: ``--sightings`` of the labels of 1 shared, ``POST .../sighting`` with
   the page's one-time token (made beforehand) and a city's rounded place
   (recorded, judged against the unit's zone, suspected alerts raised or joined).
4. scan ingest, as ``compare_scan_ingest.py`` measures it: ``hopchain serve``
   (waitress, one process, 8 threads) on a fresh instance, 50 handhelds posting
   ``--hops`` receiving scans in signed batches of 20 to ``POST /api/v1/scans``.

Then, the servers stopped, the database's share: the phone's two requests for
``--db-share-scans`` labels and ``--db-share-sightings`` sightings through Flask's
test client in this process, one at a time (after one of each, untimed, that
warms the app up), timing the driver (SQLAlchemy's
``before_cursor_execute`` / ``after_cursor_execute`` and the dialect's commit and
rollback): database seconds / request seconds.

Rates are the best of ``--repeat`` runs; the ratio scans/s : ingest hops/s is the
median of the runs (each run's scans next to its ingest, same machine load) and
best against best. Served CPU per scan moves less than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from itertools import cycle
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.label_verify_setup import (
    DbShare,
    Timed,
    Workers,
    build_world,
    database_share,
    labels,
    scan_concurrently,
    serve_workers,
    share_concurrently,
    sightings,
)
from benchmarks.scan_ingest_setup import (
    IngestResult,
    database_url,
    make_clients,
    post_concurrently,
    prepare_database,
    serials,
    serve,
    ship_to_d1,
)
from ledger.database import make_engine

INGEST_CLIENTS = 50
INGEST_PER_BATCH = 20
INGEST_THREADS = 8


def _take(source: Iterator[tuple[str, str]], count: int) -> list[tuple[str, str]]:
    return [next(source) for _ in range(count)]


def _ingest(db: str, hops: int) -> IngestResult:
    """One served scan-ingest run on a fresh instance (compare_scan_ingest's served side)."""
    units = serials(0, hops)
    with database_url(db) as (url, instance):
        keys = prepare_database(url, instance, INGEST_CLIENTS)
        engine = make_engine(url)
        ship_to_d1(engine, units)
        engine.dispose()
        clients = make_clients(keys, units, INGEST_PER_BATCH)
        with serve(url, instance, threads=INGEST_THREADS) as server:
            served = post_concurrently(server, clients)
    if served.hops != hops:
        raise SystemExit(f"ingest: expected {hops} accepted scans, got {served.answers}")
    return served


def _checked(name: str, timed: Timed, expected: int, server: Workers) -> Timed:
    """``timed``, when every one of the ``expected`` answers was 200; else stop,
    saying what the server answered and which exceptions it logged."""
    if timed.done != expected:
        logged = "\n  ".join(server.errors()[:5]) or "(no exception logged)"
        raise SystemExit(
            f"{name}: {expected} answers 200 expected, got {timed.statuses}; "
            f"the served processes logged:\n  {logged}"
        )
    return timed


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:6.1f} ms"


def _line(name: str, runs: list[Timed], unit: str, share: str) -> str:
    best = max(runs, key=lambda t: t.rate)
    cpu = min(1000 * t.cpu_seconds / t.done for t in runs)
    return (
        f"{name:<38} {best.rate:8,.0f} {unit}/s  p50 {_ms(best.percentile(50))}  "
        f"p95 {_ms(best.percentile(95))}  served CPU {cpu:5.1f} ms/{unit}  DB {share}"
    )


def _pct(share: DbShare, *endpoints: str) -> str:
    return f"{100 * share.share(*endpoints):4.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=4000, help="units of the demo world")
    parser.add_argument("--distributors", type=int, default=10, help="distributors of the demo")
    parser.add_argument("--scans", type=int, default=500, help="labels scanned per pass")
    parser.add_argument("--sightings", type=int, default=150, help="sightings per run")
    parser.add_argument("--clients", type=int, default=32, help="phones at once")
    parser.add_argument("--workers", type=int, default=2, help="served processes")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads per process")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best counts")
    parser.add_argument("--hops", type=int, default=10_000, help="receiving scans per ingest run")
    parser.add_argument("--db-share-scans", type=int, default=300, help="in-process scans")
    parser.add_argument("--db-share-sightings", type=int, default=100, help="in-process sightings")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    if args.sightings > args.scans:
        parser.error("--sightings must not exceed --scans (they share labels just scanned)")

    print(
        f"label verification on {args.db}: demo of {args.units} units, {args.distributors} "
        f"distributors; served by {args.workers} waitress processes x {args.threads} threads "
        f"on one socket; {args.clients} phones at once; {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}; best of {args.repeat}"
    )
    phone_runs: list[Timed] = []
    page_runs: list[Timed] = []
    share_runs: list[Timed] = []
    ingest_runs: list[IngestResult] = []
    with database_url(args.db) as (url, instance):
        build_world(url, instance, units=args.units, distributors=args.distributors)
        world = labels(url)
        needed = args.repeat * 2 * args.scans + 40
        if len(world) < needed:
            print(f"  the world has {len(world)} labels for {needed} scans: some are scanned again")
        source = cycle(world)
        # not timed: templates, caches, pools and the numba kernels (territory lookup)
        # of both processes; sightings get tokens of their own, so these labels can be
        # shared again later
        warm = _take(source, 40)
        first_scans: list[tuple[str, str]] = []
        page_labels: list[tuple[str, str]] = []
        with serve_workers(url, instance, workers=args.workers, threads=args.threads) as server:
            scan_concurrently(server, warm, min(args.clients, len(warm)), via_resolver=True)
            share_concurrently(server, sightings(warm[:16]), 16)
            for run in range(1, args.repeat + 1):
                scans, pages = _take(source, args.scans), _take(source, args.scans)
                first_scans = first_scans or scans
                page_labels = page_labels or pages
                phone = _checked(
                    "phone scan",
                    scan_concurrently(server, scans, args.clients, via_resolver=True),
                    args.scans,
                    server,
                )
                page = _checked(
                    "page alone",
                    scan_concurrently(server, pages, args.clients, via_resolver=False),
                    args.scans,
                    server,
                )
                shared = _checked(
                    "sighting",
                    share_concurrently(server, sightings(scans[: args.sightings]), args.clients),
                    args.sightings,
                    server,
                )
                ingest = _ingest(args.db, args.hops)
                phone_runs.append(phone)
                page_runs.append(page)
                share_runs.append(shared)
                ingest_runs.append(ingest)
                print(
                    f"  run {run}: phone scan {phone.rate:7,.0f}/s, page alone {page.rate:7,.0f}/s, "
                    f"sighting {shared.rate:6,.0f}/s, ingest {ingest.rate:7,.0f} hops/s, "
                    f"scans/hops {phone.rate / ingest.rate:.3f}, load {os.getloadavg()[0]:.2f}"
                )
        db = database_share(
            url,
            instance,
            first_scans[: args.db_share_scans],
            sightings(page_labels[: args.db_share_sightings]),
        )

    ratios = sorted(a.rate / b.rate for a, b in zip(phone_runs, ingest_runs, strict=True))
    best_phone = max(t.rate for t in phone_runs)
    best_ingest = max(r.rate for r in ingest_runs)
    ingest_cpu = min(1e6 * r.cpu_seconds / r.hops for r in ingest_runs)
    phone_share = (
        f"{_pct(db, 'resolver.unit', 'label.verify')} "
        f"(resolver {_pct(db, 'resolver.unit')}, page {_pct(db, 'label.verify')})"
    )
    print(_line("phone scan: GET /01/…/21/… 307 + page", phone_runs, "scan", phone_share))
    print(_line("page alone: GET /label/01/…/21/…", page_runs, "scan", _pct(db, "label.verify")))
    print(_line("sighting: POST /label/01/…/sighting", share_runs, "post", _pct(db, "label.sighting")))  # fmt: skip
    print(f"{'scan ingest: POST /api/v1/scans':<38} {best_ingest:8,.0f} hops/s  (hopchain serve, 1 process, {INGEST_THREADS} threads, {INGEST_CLIENTS} handhelds, {args.hops} hops in batches of {INGEST_PER_BATCH}); served CPU {ingest_cpu:.0f} us/hop")  # fmt: skip
    print(f"{'phone scans/s : ingest hops/s':<38} {ratios[len(ratios) // 2]:8.3f}  median of paired runs; {best_phone / best_ingest:.3f} best vs best")  # fmt: skip
    statements = {name: db.statements[name] / db.requests[name] for name in sorted(db.requests)}
    print(
        "database share, in process (Flask test client, one request at a time): "
        + ", ".join(
            f"{name} {_pct(db, name)} of {1000 * db.request_s[name] / db.requests[name]:.1f} ms, "
            f"{statements[name]:.1f} statements"
            for name in sorted(db.requests)
        )
    )


if __name__ == "__main__":
    main()
