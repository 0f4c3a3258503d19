"""The batch from a PostgreSQL ledger through a partitioned Parquet snapshot, in this
process, beside the single-process run that holds the whole month: time and peak
memory, same ledger, same run.

    python benchmarks/compare_partitioned_run.py [--rows 2000000] [--rows-per-partition 500000]

Fills a temporary PostgreSQL schema with ``--rows`` entries (``generate_series``:
eight entries per unit, commissioned and shipped by the manufacturer to a
distributor, received and sold with coordinates in Paris), then runs in two fresh
child processes, so that each peak RSS (``ru_maxrss``) is its own:

1. one piece (what ``hopchain detect``/``settle`` do without a scheduler):
   :func:`settlement.snapshot.load_snapshot`, then locate + detect
   (:func:`settlement.batch.partition.entry_findings`) and the two months' sales
   aggregates (:func:`settlement.batch.partition.sales_arrays`);
2. partitioned (``--snapshot-dir`` without a scheduler):
   :func:`settlement.batch.write_snapshot` (one streamed read of the ledger, Parquet
   partitions of about ``--rows-per-partition`` entries), then
   :func:`settlement.batch.month_partitioned` one partition at a time (each read
   once, detected and aggregated).

Both answers (every finding; every aggregate) are compared; exit status 1 when
they differ. Needs a PostgreSQL server (``HOPCHAIN_TEST_PG_URL``, default the test
server). The numba kernels are compiled before either clock starts.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ledger_setup import GTIN, fresh_database

PARIS = (48_856_600, 2_352_200)
MONTH = (1_790_000_000_000, 1_790_000_000_000 + 31 * 86_400_000)
PRIOR = (MONTH[0] - 365 * 86_400_000, MONTH[1] - 365 * 86_400_000)


def _fill(url: str, rows: int) -> None:
    from sqlalchemy import create_engine

    units = max(rows // 8, 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO units (id, key, gtin, state) SELECT g, 'U' || g, "
            f"'{GTIN}', 'sold' FROM generate_series(1000, {units + 999}) g"
        )
        # the k-th entry of each unit: commissioning, shipping (maker -> distributor),
        # receiving, selling, again; entry g belongs to unit g mod units
        conn.exec_driver_sql(
            "INSERT INTO entries (seq, unit_id, kind, at_ms, party_id, counterparty_id, "
            "lat_e6, lon_e6, device, anomaly, prev_hash, leaf_hash) "
            f"SELECT g, 1000 + mod(g, {units}), "
            "(ARRAY['commissioning','shipping','receiving','retail_selling'])"
            f"[1 + mod(g / {units}, 4)], {MONTH[0]} + g * 1000, "
            f"CASE WHEN mod(g / {units}, 4) < 2 THEN 1 ELSE 2 END, "
            f"CASE WHEN mod(g / {units}, 4) = 1 THEN 2 ELSE NULL END, "
            f"{PARIS[0]} + mod(g, 1000), {PARIS[1]} - mod(g, 1000), '', '', "
            f"'\\x00'::bytea, '\\x00'::bytea FROM generate_series(0, {rows - 1}) g"
        )
        conn.exec_driver_sql("ANALYZE entries")
    engine.dispose()


def _child(mode: str, url: str, rows: int, per_part: int, out: Path) -> None:
    from sqlalchemy import create_engine

    from geo import TerritoryIndex
    from settlement.batch import month_partitioned, write_snapshot
    from settlement.batch.partition import entry_findings, sales_arrays
    from settlement.snapshot import load_snapshot

    index = TerritoryIndex.from_geojson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "FR", "name": "France", "parent": None},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[-2, 42], [8, 42], [8, 51], [-2, 51], [-2, 42]]],
                    },
                }
            ],
        }
    )
    engine = create_engine(url)
    price = np.array([[10_000]], dtype=np.int64)
    windows = [MONTH, PRIOR]
    with engine.connect() as conn:  # compile the kernels outside the clock
        warm = load_snapshot(conn, min(rows, 64))
    entry_findings(warm, index, [])
    sales_arrays(warm, price, np.zeros(warm.unit_ids.shape[0], np.bool_), windows)
    started = time.perf_counter()
    if mode == "one piece":
        with engine.connect() as conn:
            snap = load_snapshot(conn, rows)
        found = entry_findings(snap, index, [])
        sales = sales_arrays(snap, price, np.zeros(snap.unit_ids.shape[0], np.bool_), windows)
    else:
        with engine.connect() as conn, tempfile.TemporaryDirectory() as tmp:
            ps = write_snapshot(conn, rows, "ab" * 32, tmp, rows_per_partition=per_part)
            found, sales = month_partitioned(ps.directory, index, [], price, [], windows)
    seconds = time.perf_counter() - started
    np.savez(
        out, seq=found.seq, flags=found.flags, responsible=found.responsible,
        territory=found.territory, sums=sales.sums, alloc=sales.alloc_party,
    )  # fmt: skip
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "findings": int(found.seq.size)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--rows-per-partition", type=int, default=500_000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.url, args.rows, args.rows_per_partition, args.out)
        return
    with fresh_database("postgresql") as engine, tempfile.TemporaryDirectory() as tmp:
        url = engine.url.render_as_string(hide_password=False)
        print(f"filling {args.rows:,} entries…", file=sys.stderr, flush=True)
        _fill(url, args.rows)
        res = {}
        for mode in ("one piece", "partitioned"):
            print(f"running {mode}…", file=sys.stderr, flush=True)
            out = Path(tmp) / f"{mode.replace(' ', '_')}.npz"
            done = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--url", url, "--out", str(out),
                 "--rows", str(args.rows), "--rows-per-partition", str(args.rows_per_partition)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            res[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            res[mode]["arrays"] = dict(np.load(out))
        one, split = res["one piece"], res["partitioned"]
        same = one["arrays"].keys() == split["arrays"].keys() and all(
            np.array_equal(one["arrays"][k], split["arrays"][k]) for k in one["arrays"]
        )
    print(
        f"{args.rows:,} entries on PostgreSQL, partitions of about "
        f"{args.rows_per_partition:,}, {one['findings']:,} findings:"
    )
    for name, r in res.items():
        print(f"  {name:12s} {r['seconds']:7.2f} s   peak RSS {r['peak_mb']:8.0f} MB")
    print(
        f"  partitioned / one piece: {split['seconds'] / one['seconds']:.2f}x the time, "
        f"{split['peak_mb'] / one['peak_mb']:.2f}x the peak memory"
    )
    print(f"  same findings and aggregates: {same}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
