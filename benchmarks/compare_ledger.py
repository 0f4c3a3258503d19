"""Ledger throughput beside the plain alternative, measured in the same run.

    python benchmarks/compare_ledger.py [--hops 40000] [--repeat 3]
        [--proof-entries 10000000]

1. Append: unit-hops/s through ``append_hops`` in batches of 1,000 (custody,
   canonical encoding, SHA-256, units, tree nodes, one transaction per batch;
   PostgreSQL writes with ``COPY``) beside a plain ``executemany`` of the very same
   entry rows into an identical table (primary key, foreign keys, every index) in
   batches of 1,000, without hashing: the ratio is what the ledger's guarantees
   cost (goal >= 0.5, issue 15). ``--repeat`` paired runs on fresh databases, each
   append next to its plain insert so both see the same machine load: the median
   ratio counts. SQLite also shows CPU time per row (everything runs in this
   process), which a shared machine moves less than wall time. On SQLite and,
   when one answers, on PostgreSQL.

   Beside them, "writes alone": the very statements the append ran (its units,
   entries, tree node and receipt rows, batch by batch, each batch in a write
   transaction taking the ledger lock) replayed on another fresh database without
   any of the append's reading, custody, encoding or hashing: the most the append
   could reach if all of its own work cost nothing.
2. Proofs: inclusion and consistency proof generation at ``--proof-entries``
   entries; the synthetic tree is built once and kept in ``.benchmarks/``.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ledger_setup import ENTRY_COLUMNS, commissioning, fresh_database, pg_url, shipping
from ledger import append as ledger_append
from ledger import append_hops, consistency_proof, inclusion_proof, merkle
from ledger.database import bulk_insert, bulk_update, make_engine, write_transaction
from ledger.tree import TILE_HEIGHT, is_stored_level

BATCH = 1000

# One batch's writes as the append made them: (bulk_insert or bulk_update, its
# arguments after the connection).
Writes = list[tuple[Callable[..., None], tuple[Any, ...]]]


@contextmanager
def _recording(batches: list[Writes]) -> Iterator[None]:
    """The append's bulk writes go on as usual and are kept in ``batches[-1]``
    (the caller starts a list before each batch)."""

    def keep(write: Callable[..., None]) -> Callable[..., None]:
        def kept(conn: Connection, *args: Any) -> None:
            batches[-1].append((write, args))
            write(conn, *args)

        return kept

    setattr(ledger_append, "bulk_insert", keep(bulk_insert))  # noqa: B010
    setattr(ledger_append, "bulk_update", keep(bulk_update))  # noqa: B010
    try:
        yield
    finally:
        setattr(ledger_append, "bulk_insert", bulk_insert)  # noqa: B010
        setattr(ledger_append, "bulk_update", bulk_update)  # noqa: B010


def _append_rate(engine: Engine, hops_per_kind: int, batches: list[Writes]) -> tuple[float, float]:
    """(hops/s, CPU us of this process per hop); the writes of each batch go to
    ``batches``."""
    hops = commissioning(0, hops_per_kind) + shipping(0, hops_per_kind)
    with _recording(batches):
        cpu, started = time.process_time(), time.perf_counter()
        for i in range(0, len(hops), BATCH):
            batches.append([])
            append_hops(engine, hops[i : i + BATCH])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    return len(hops) / wall, cpu / len(hops) * 1e6


def _writes_rate(engine: Engine, batches: list[Writes], hops: int) -> tuple[float, float]:
    """The recorded writes replayed, batch by batch, each in a write transaction
    with the ledger lock: (hops/s, CPU us per hop)."""
    cpu, started = time.process_time(), time.perf_counter()
    for batch in batches:
        with write_transaction(engine) as conn:
            ledger_append.lock_ledger(conn)
            for write, args in batch:
                write(conn, *args)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    return hops / wall, cpu / hops * 1e6


def _copy_entries_table(conn: Connection) -> None:
    """``plain_entries``: the entries table again, with its primary key, foreign keys
    and every index (partial ones included), so that the plain insert pays for the
    same constraints and index writes as the ledger's own."""
    if conn.dialect.name == "sqlite":  # same rowid layout too (INTEGER PRIMARY KEY)
        ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'entries'")
        conn.exec_driver_sql(
            ddl.scalar_one()
            .replace("entries", "plain_entries", 1)
            .replace("CONSTRAINT pk_entries", "CONSTRAINT pk_plain")
            .replace("fk_entries", "fk_plain")
        )
        indexes = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries'"
            " AND sql IS NOT NULL"
        )
        for (index,) in indexes.all():
            conn.exec_driver_sql(
                index.replace("ix_entries", "ix_plain").replace(
                    " ON entries ", " ON plain_entries "
                )
            )
        return
    conn.exec_driver_sql("CREATE TABLE plain_entries (LIKE entries INCLUDING ALL)")
    foreign_keys = conn.exec_driver_sql(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'entries'::regclass AND contype = 'f'"
    )
    for (definition,) in foreign_keys.all():
        conn.exec_driver_sql(f"ALTER TABLE plain_entries ADD {definition}")


def _plain_rate(engine: Engine) -> tuple[float, float]:
    """executemany of our own entry rows into a copy of the entries table:
    (rows/s, CPU us of this process per row)."""
    with engine.connect() as conn:
        rows = [
            tuple(r)
            for r in conn.exec_driver_sql(f"SELECT {ENTRY_COLUMNS} FROM entries ORDER BY seq")
        ]
    sqlite = engine.dialect.name == "sqlite"
    ph = ",".join(["?" if sqlite else "%s"] * 15)
    with engine.begin() as conn:
        _copy_entries_table(conn)
    sql = f"INSERT INTO plain_entries ({ENTRY_COLUMNS}) VALUES ({ph})"
    cpu, started = time.process_time(), time.perf_counter()
    for i in range(0, len(rows), BATCH):
        with engine.begin() as conn:
            conn.exec_driver_sql(sql, rows[i : i + BATCH])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    return len(rows) / wall, cpu / len(rows) * 1e6


def _synthetic_tree(path: Path, size: int) -> None:
    """Leaf hashes and stored nodes of a ``size``-entry log, without the rest of a row."""
    if path.exists():
        return
    tmp = path.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL)")
    db.execute(
        "CREATE TABLE tree_nodes (level INTEGER, idx BIGINT, hash BLOB, PRIMARY KEY (level, idx))"
    )
    db.execute(
        "CREATE TABLE ledger_head (id INTEGER PRIMARY KEY, tree_size BIGINT, frontier BLOB, updated_ms BIGINT)"
    )
    frontier: list[bytes] = []
    nodes: list[tuple[int, int, bytes]] = []

    def keep(level: int, index: int, h: bytes) -> None:
        if is_stored_level(level):
            nodes.append((level, index, h))

    chunk = 100_000
    for lo in tqdm(range(0, size, chunk), desc="building synthetic tree", unit="chunk"):
        leaves = [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(lo, min(lo + chunk, size))]
        for offset, leaf in enumerate(leaves):
            merkle.frontier_push(frontier, lo + offset, leaf, keep)
        db.executemany(
            "INSERT INTO entries VALUES (?, ?)", ((lo + i, h) for i, h in enumerate(leaves))
        )
        db.executemany("INSERT INTO tree_nodes VALUES (?, ?, ?)", nodes)
        nodes.clear()
    db.execute("INSERT INTO ledger_head VALUES (1, ?, ?, 0)", (size, b"".join(frontier)))
    db.commit()
    db.close()
    tmp.rename(path)


def _proof_times(path: Path, size: int, samples: int = 300) -> tuple[float, float]:
    engine = make_engine(f"sqlite:///{path}")
    rng = random.Random(7)
    inclusion, consistency = [], []
    cases = [(rng.randrange(size), rng.randrange(1, size)) for _ in range(samples)]
    with engine.connect() as conn:
        # One pass to bring the pages these proofs touch into memory: the figure is the
        # proof's own cost, not the disk's (a served ledger keeps its upper tiles hot).
        for seq, first in cases:
            inclusion_proof(conn, seq, size)
            consistency_proof(conn, first, size)
        for seq, first in cases:
            t = time.perf_counter()
            inclusion_proof(conn, seq, size)
            inclusion.append(time.perf_counter() - t)
            t = time.perf_counter()
            consistency_proof(conn, first, size)
            consistency.append(time.perf_counter() - t)
    engine.dispose()
    return statistics.median(inclusion) * 1000, statistics.median(consistency) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--hops", type=int, default=20_000, help="units; each is commissioned and shipped"
    )
    parser.add_argument("--repeat", type=int, default=3, help="paired append runs per database")
    parser.add_argument("--proof-entries", type=int, default=10_000_000)
    args = parser.parse_args()

    kinds = ["sqlite"] + (["postgresql"] if pg_url() else [])
    print(
        f"append: {2 * args.hops:,} unit-hops in batches of {BATCH:,} (tile height {TILE_HEIGHT})"
    )
    for kind in kinds:
        # (ours hops/s, plain rows/s, ours CPU us/hop, plain CPU us/row, writes alone
        # hops/s, writes alone CPU us/hop)
        runs = []
        for _ in range(args.repeat):
            batches: list[Writes] = []
            with fresh_database(kind) as engine:
                ours, ours_cpu = _append_rate(engine, args.hops, batches)
                plain, plain_cpu = _plain_rate(engine)
            with fresh_database(kind) as engine:
                alone, alone_cpu = _writes_rate(engine, batches, 2 * args.hops)
            runs.append((ours, plain, ours_cpu, plain_cpu, alone, alone_cpu))
        ratio = statistics.median(r[0] / r[1] for r in runs)
        ceiling = statistics.median(r[4] / r[1] for r in runs)
        ours, plain, alone = (max(r[i] for r in runs) for i in (0, 1, 4))
        print(
            f"  {kind:<10} hopchain append {ours:>9,.0f} hops/s | plain executemany {plain:>9,.0f} rows/s"
            f" (best of {args.repeat}) | ratio {ratio:.2f}x median of paired runs (goal >= 0.50x)"
        )
        print(
            f"  {kind:<10} its writes alone {alone:>8,.0f} hops/s | ratio {ceiling:.2f}x to plain"
            " (median): the append's ceiling, its own work costing nothing"
        )
        if kind == "sqlite":
            ours_cpu, plain_cpu, alone_cpu = (min(r[i] for r in runs) for i in (2, 3, 5))
            print(
                f"  {kind:<10} CPU {ours_cpu:.1f} us/hop | {plain_cpu:.1f} us/row"
                f" | ratio {plain_cpu / ours_cpu:.2f}x (least of {args.repeat})"
                f" | writes alone {alone_cpu:.1f} us/hop, {plain_cpu / alone_cpu:.2f}x"
            )
    if "postgresql" not in kinds:
        print("  postgresql skipped: no server answers (set HOPCHAIN_TEST_PG_URL)")

    path = Path(".benchmarks") / f"proof-tree-{args.proof_entries}.sqlite"
    path.parent.mkdir(exist_ok=True)
    _synthetic_tree(path, args.proof_entries)
    inc, con = _proof_times(path, args.proof_entries)
    print(f"proofs at {args.proof_entries:,} entries (SQLite, pages in memory, median of 300):")
    print(f"  inclusion {inc:.3f} ms | consistency {con:.3f} ms (goal < 1 ms)")


if __name__ == "__main__":
    main()
