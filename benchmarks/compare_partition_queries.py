"""The ledger's read queries on PostgreSQL's partitioned entries, at many partitions.

    python benchmarks/compare_partition_queries.py [--entries 2000000] [--partitions 100]

Builds a throwaway database migrated with ``HOPCHAIN_ENTRY_PARTITION_ROWS`` =
entries / partitions, fills it with ``generate_series`` (no hashing: only reads are
measured; every thousandth entry a declaration) and analyses it, then times, in
the same run, each ours beside the alternative:

1. a unit's history (``ledger.queries.unit_history``'s query), each entry's
   declaration looked up in ``entry_retractions`` (ours) beside ``entries``' own
   ``retracts_seq`` index, one per partition (the query before);
2. credit exposure's delivery counts (``risk.open_items``), same two ways;
3. a column read of 500,000 entries (``ledger.columns``, pruned to the partitions of
   the range) and a custody replay read, for the record.

Needs a PostgreSQL server (``HOPCHAIN_TEST_PG_URL``, default the test server).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ledger_setup import pg_url
from ledger.columns import entry_column_chunks
from ledger.database import make_engine
from ledger.partitions import PARTITION_ROWS_ENV, ensure_partitions, list_partitions
from ledger.queries import _ENTRY_VIEW_SQL
from web.db import init_database

_OPEN_ITEMS = (
    "SELECT e.counterparty_id, e.at_ms / 86400000, u.gtin, count(*) FROM entries e"
    " JOIN units u ON u.id = e.unit_id JOIN parties m ON m.id = e.party_id"
    " WHERE e.kind = 'shipping' AND m.kind = 'manufacturer'"
    " AND e.counterparty_id IN (5, 6, 7) AND u.gtin IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM {declarations} r WHERE r.retracts_seq = e.seq)"
    " GROUP BY 1, 2, 3"
)


def _fill(conn: Connection, entries: int) -> None:
    units = max(entries // 8, 1)
    conn.exec_driver_sql(
        "INSERT INTO parties (id, code, name, kind, currency, local_name, status)"
        " SELECT g, 'P' || g, 'P', CASE WHEN g = 1 THEN 'manufacturer' ELSE 'distributor' END,"
        " 'EUR', '', 'active' FROM generate_series(1, 2000) g"
    )
    conn.exec_driver_sql(
        "INSERT INTO units (id, key, gtin, state) SELECT g, 'U' || g,"
        f" '0950600013435' || mod(g, 10), 'in_stock' FROM generate_series(1, {units}) g"
    )
    ensure_partitions(conn, entries)
    step = f"mod(g / {units}, 4)"  # each unit: commissioned, shipped, received, sold
    conn.exec_driver_sql(
        "INSERT INTO entries (seq, unit_id, kind, at_ms, party_id, counterparty_id,"
        " lat_e6, lon_e6, device, anomaly, prev_hash, leaf_hash, retracts_seq)"
        f" SELECT g, 1 + mod(g, {units}), CASE WHEN mod(g, 1000) = 999"
        " THEN 'error_declaration' ELSE (ARRAY['commissioning', 'shipping', 'receiving',"
        f" 'retail_selling'])[1 + {step}] END, 1790000000000 + g * 1000,"
        f" CASE WHEN {step} = 1 THEN 1 ELSE 2 + mod(g, 1999) END,"
        f" CASE WHEN {step} = 1 THEN 2 + mod(g, 1999) END, 48000000, 11000000, '', '',"
        f" '\\x00'::bytea, '\\x00'::bytea, CASE WHEN mod(g, 1000) = 999 THEN g - {units} END"
        f" FROM generate_series(0, {entries - 1}) g"
    )


def _best(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=2_000_000)
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = pg_url()
    if base is None:
        sys.exit("no PostgreSQL answers: set HOPCHAIN_TEST_PG_URL")
    os.environ[PARTITION_ROWS_ENV] = str(max(args.entries // args.partitions, 1))
    name = f"hc_bench_parts_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(base).set(database=name).render_as_string(hide_password=False))
    try:
        print(f"building {args.entries:,} entries ...", flush=True)
        init_database(engine)
        with engine.begin() as conn:
            _fill(conn, args.entries)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
        units = range(100, 100 + 100)
        with engine.connect() as conn:
            parts = len(list_partitions(conn))
            history = f"{_ENTRY_VIEW_SQL} WHERE e.unit_id = %s ORDER BY e.seq"
            rows: list[tuple[str, float, float]] = []
            for label, sql, per in (
                ("unit history, per unit", history, len(units)),
                ("delivery counts (risk.open_items)", _OPEN_ITEMS, 1),
            ):
                timed = {}
                for table in tqdm(("entry_retractions", "entries"), desc=label, leave=False):
                    q = sql.format(declarations=table)
                    if per == 1:
                        timed[table] = _best(lambda q=q: conn.exec_driver_sql(q).all(), args.repeat)
                    else:
                        timed[table] = (
                            _best(
                                lambda q=q: [conn.exec_driver_sql(q, (u,)).all() for u in units],
                                args.repeat,
                            )
                            / per
                        )
                rows.append((label, timed["entry_retractions"], timed["entries"]))
            lo = args.entries // 4
            read = _best(
                lambda: sum(m.shape[0] for m in entry_column_chunks(conn, lo, lo + 500_000)),
                args.repeat,
            )
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"{args.entries:,} entries in {parts} partitions, best of {args.repeat}:")
    for label, ours, theirs in rows:
        print(
            f"  {label}: entry_retractions {ours * 1000:.1f} ms, entries' own index"
            f" {theirs * 1000:.1f} ms, ratio {ours / theirs:.2f}x"
        )
    print(f"  column read of 500,000 entries: {read:.2f} s")


if __name__ == "__main__":
    main()
