"""Appending to PostgreSQL's partitioned entries beside a plain entries table, same run.

    python benchmarks/compare_partitioned_append.py [--hops 20000] [--partition-rows 10000]

``append_hops`` in batches of 1,000 (commissioning, then shipping of the same
units) into two fresh schemas on the same server: one migrated (``entries``
partitioned by seq range, ``HOPCHAIN_ENTRY_PARTITION_ROWS`` set to
``--partition-rows`` so the run crosses several borders and creates partitions as
it goes) and one with the models' plain ``entries`` (``create_all``). The ratio is
what partitioning costs an append: the catalogue look-up of
``ensure_partitions`` per batch, the partitions it creates, the routing of rows.
Rounds alternate the two, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ledger_setup import commissioning, fresh_database, pg_url, shipping
from ledger import append_hops
from ledger.partitions import PARTITION_ROWS_ENV, list_partitions

BATCH = 1000


def _rate(partitioned: bool, hops_per_kind: int) -> tuple[float, int]:
    hops = commissioning(0, hops_per_kind) + shipping(0, hops_per_kind)
    with fresh_database("postgresql", migrated=partitioned) as engine:
        started = time.perf_counter()
        for i in range(0, len(hops), BATCH):
            append_hops(engine, hops[i : i + BATCH])
        seconds = time.perf_counter() - started
        with engine.connect() as conn:
            partitions = len(list_partitions(conn))
    return len(hops) / seconds, partitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=20_000, help="units (hops per kind)")
    parser.add_argument("--partition-rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if pg_url() is None:
        sys.exit("no PostgreSQL answers: set HOPCHAIN_TEST_PG_URL")
    os.environ[PARTITION_ROWS_ENV] = str(args.partition_rows)
    best = {True: 0.0, False: 0.0}
    parts = 0
    for _ in tqdm(range(args.repeat), desc="rounds", unit="round"):
        for partitioned in (True, False):
            rate, n = _rate(partitioned, args.hops)
            best[partitioned] = max(best[partitioned], rate)
            parts = max(parts, n)
    print(
        f"{2 * args.hops:,} hops in batches of {BATCH:,}, best of {args.repeat}:\n"
        f"  partitioned entries ({parts} partitions of {args.partition_rows:,} seqs):"
        f" {best[True]:,.0f} hops/s\n"
        f"  plain entries table: {best[False]:,.0f} hops/s\n"
        f"  ratio {best[True] / best[False]:.2f}x"
    )


if __name__ == "__main__":
    main()
