"""PostgreSQL's entries partitioned by seq range, with partitions of 64 seqs: a
ledger across several partitions verifies, is read the same as on SQLite, appends
across a border, names a tampered row in its third partition, keeps partitions
created ahead (safely when two callers race), and still refuses a second
declaration of the same seq."""

from __future__ import annotations

import dataclasses
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alembic import command
from click.testing import CliRunner, Result
from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, LedgerIntegrityError, LedgerSigner, verify_ledger
from ledger.checkpoint import make_checkpoint
from ledger.columns import entry_column_chunks
from ledger.database import make_engine
from ledger.keys import ensure_signing_key
from ledger.models import Entry, Unit
from ledger.partitions import (
    PARTITION_ROWS_ENV,
    Partition,
    PartitionError,
    declarations,
    declarations_named,
    ensure_partitions,
    is_partitioned,
    list_partitions,
    partition_rows,
)
from ledger.retraction import live_entries
from settlement.snapshot import load_snapshot
from tests.ledger._mixed import journey
from tests.ledger.conftest import Network, build_network, item
from tests.ledger.test_concurrency import _spawn
from web.cli import CliState, build_cli
from web.db import alembic_config, get_engine, init_database, schema_diff

PG = pytest.mark.postgres  # every test here but the SQLite one needs the server

ROWS = 64
BEFORE = "458a825212ab"  # the revision before entries were partitioned
JOURNEYS = 16  # 15 entries each: 240 entries, partitions p0, p64, p128, p192 and p256 ahead


def _migrated(databases: object) -> Iterator[Engine]:
    """A PostgreSQL schema of its own, migrated with 64-seq partitions."""
    urls = databases.empty_url()  # type: ignore[attr-defined]
    engine = make_engine(next(urls))
    try:
        init_database(engine)
        yield engine
    finally:
        engine.dispose()
        urls.close()


@pytest.fixture(scope="module")
def small_partitions() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PARTITION_ROWS_ENV, str(ROWS))
        yield


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> LedgerSigner:
    instance = tmp_path_factory.mktemp("signing")
    ensure_signing_key(instance, "test.hopchain/ledger")
    return LedgerSigner.load(instance)


def _build(engine: Engine) -> tuple[Network, int]:
    network = build_network(engine)
    size = 0
    for n in range(JOURNEYS):
        size = journey(network, n)
    return network, size


@pytest.fixture(scope="module")
def pg(
    small_partitions: None, _pg_databases: object, signer: LedgerSigner
) -> Iterator[tuple[Network, int]]:
    for engine in _migrated(_pg_databases):
        network, size = _build(engine)
        make_checkpoint(engine, signer)
        yield network, size


@pytest.fixture(scope="module")
def twin(
    _migrated_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """The same ledger on SQLite."""
    path = tmp_path_factory.mktemp("twin") / "hopchain.db"
    shutil.copyfile(_migrated_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    _build(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh(small_partitions: None, _pg_databases: object) -> Iterator[Network]:
    for engine in _migrated(_pg_databases):
        yield build_network(engine)


def _where(conn: Connection) -> dict[str, tuple[int, int, int]]:
    """Partition name -> (rows, first seq, last seq) as PostgreSQL stored them."""
    rows = conn.exec_driver_sql(
        "SELECT tableoid::regclass::text, count(*), min(seq), max(seq) FROM entries GROUP BY 1"
    ).all()
    return {str(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in rows}


@PG
def test_the_ledger_lies_in_several_partitions_with_one_ahead(pg: tuple[Network, int]) -> None:
    network, size = pg
    assert size == 240
    with network.engine.connect() as conn:
        parts = list_partitions(conn)
        counted = list_partitions(conn, count=True)
        stored = _where(conn)
    assert [(p.name, p.lo, p.hi) for p in parts] == [
        ("entries_p0", None, 64),
        ("entries_p64", 64, 128),
        ("entries_p128", 128, 192),
        ("entries_p192", 192, 256),
        ("entries_p256", 256, 320),  # the full partition beyond the head
    ]
    assert [p.rows for p in parts] == [64, 64, 64, 48, 0] == [p.rows for p in counted]
    assert stored == {
        "entries_p0": (64, 0, 63),
        "entries_p64": (64, 64, 127),
        "entries_p128": (64, 128, 191),
        "entries_p192": (48, 192, 239),
    }
    assert parts[0].describe() == "[start, 64)" and parts[2].describe() == "[128, 192)"


@PG
def test_live_entries_read_retractions_from_entry_retractions_across_partitions(
    pg: tuple[Network, int], twin: Engine
) -> None:
    """A unit's live history on partitioned PostgreSQL probes entry_retractions
    (one key probe, not one per partition) and leaves out the same entries as
    SQLite: the retracted shipment and the declaration itself."""
    network, _ = pg
    statements: list[str] = []

    def seen(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def live_seqs(engine: Engine, key: str) -> list[int]:
        with Session(engine) as s:
            unit_id = s.scalar(select(Unit.id).where(Unit.key == key))
            query = (
                select(Entry.seq)
                .where(Entry.unit_id == unit_id, live_entries(declared=declarations(s)))
                .order_by(Entry.seq)
            )
            return list(s.scalars(query))

    key = item("MIX3").removeprefix("/")
    event.listen(network.engine, "before_cursor_execute", seen)
    try:
        on_pg = live_seqs(network.engine, key)
    finally:
        event.remove(network.engine, "before_cursor_execute", seen)
    on_sqlite = live_seqs(twin, key)
    with network.engine.connect() as conn:
        everything = [
            int(r[0])
            for r in conn.exec_driver_sql(
                "SELECT e.seq FROM entries e JOIN units u ON u.id = e.unit_id"
                " WHERE u.key = %(k)s ORDER BY e.seq",
                {"k": key},
            )
        ]
    assert on_pg == on_sqlite
    assert len(everything) - len(on_pg) == 2  # the shipment retracted and its declaration
    [history] = [q for q in statements if "retracts_seq" in q]
    assert "entry_retractions" in history
    assert not re.search(r"FROM entries AS \w+ WHERE \w+\.retracts_seq", history)
    with pytest.raises(ValueError, match="not 'units'"):
        declarations_named("units")


@PG
def test_it_verifies_and_reads_as_the_same_ledger_on_sqlite(
    pg: tuple[Network, int], twin: Engine, signer: LedgerSigner
) -> None:
    network, size = pg
    report = verify_ledger(network.engine, signer.name, signer.public_key, chunk=50)
    assert report.entries == size
    with network.engine.connect() as conn, twin.connect() as lite:
        for lo, hi, chunk in [(0, size, 50), (60, 200, 7), (127, 129, 1)]:
            ours = list(entry_column_chunks(conn, lo, hi, chunk))
            theirs = list(entry_column_chunks(lite, lo, hi, chunk))
            assert len(ours) == len(theirs)
            for a, b in zip(ours, theirs, strict=True):
                np.testing.assert_array_equal(a, b)
        snap, lite_snap = load_snapshot(conn, size), load_snapshot(lite, size)
    assert snap.n_entries == size - 2 * JOURNEYS  # each journey retracts one entry
    _assert_same_fields(snap, lite_snap, "snapshot")


def _assert_same_fields(mine: Any, other: Any, path: str) -> None:
    """Every field of two snapshots equal, arrays element by element, nested
    dataclasses (the snapshot's tables and entry columns) field by field."""
    for field in dataclasses.fields(mine):
        a, b = getattr(mine, field.name), getattr(other, field.name)
        where = f"{path}.{field.name}"
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=where)
        elif dataclasses.is_dataclass(a):
            _assert_same_fields(a, b, where)
        else:
            assert a == b, where


@PG
def test_a_row_tampered_in_the_third_partition_is_named(
    pg: tuple[Network, int], signer: LedgerSigner
) -> None:
    network, _ = pg
    with network.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE entries SET at_ms = at_ms + 1 WHERE seq = 150")
    try:
        with pytest.raises(LedgerIntegrityError) as caught:
            verify_ledger(network.engine, signer.name, signer.public_key, chunk=50)
        assert (caught.value.seq, caught.value.problem) == (150, "changed")
    finally:
        with network.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE entries SET at_ms = at_ms - 1 WHERE seq = 150")
    verify_ledger(network.engine, signer.name, signer.public_key)


@PG
def test_appends_cross_borders_and_keep_a_partition_ahead(
    fresh: Network, signer: LedgerSigner
) -> None:
    size = journey(fresh, 0)
    for n in range(1, 4):
        size = journey(fresh, n)  # 60 entries: the next journey crosses seq 64
    with fresh.engine.connect() as conn:
        assert [p.name for p in list_partitions(conn)] == ["entries_p0", "entries_p64"]
    size = journey(fresh, 4)
    # one batch straddling the border of p64 and p128 (seq 128)
    hops = [Hop(item(f"B{i}"), EntryKind.COMMISSIONING, "MFR", fresh.at()) for i in range(60)]
    results = fresh.append(*hops)
    assert {r.status for r in results} == {"accepted"}
    size = results[-1].seqs[-1] + 1
    assert size == 135
    with fresh.engine.connect() as conn:
        stored = _where(conn)
        names = [p.name for p in list_partitions(conn)]
    assert stored["entries_p64"] == (64, 64, 127) and stored["entries_p128"] == (7, 128, 134)
    assert names == ["entries_p0", "entries_p64", "entries_p128", "entries_p192"]
    make_checkpoint(fresh.engine, signer)
    assert verify_ledger(fresh.engine, signer.name, signer.public_key, chunk=16).entries == size


class _CatalogueReads:
    """Counts the statements that read the partitions of entries from the catalogue."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        if "pg_inherits" in statement:
            self.count += 1


def _commission(network: Network, count: int, tag: str) -> list[int]:
    results = network.append(
        *(
            Hop(item(f"{tag}{i}"), EntryKind.COMMISSIONING, "MFR", network.at())
            for i in range(count)
        )
    )
    assert {r.status for r in results} == {"accepted"}
    return [s for r in results for s in r.seqs]


@PG
def test_appends_read_the_partitions_only_near_the_last_one_read(fresh: Network) -> None:
    reads = _CatalogueReads(fresh.engine)
    _commission(fresh, 10, "A")  # seqs 0-9: read once (p0 and p64 made by the migration)
    assert reads.count == 1
    for n in range(4):  # seqs 10-49: p64 is still a whole partition ahead, no reads
        _commission(fresh, 10, f"B{n}")
    assert reads.count == 1
    seqs = _commission(fresh, 20, "C")  # seqs 50-69: the head enters p64, p128 is made
    assert seqs[-1] == 69 and reads.count > 1
    after_border = reads.count
    # seqs 70-79: read once more (a list read while making partitions is not kept,
    # the batch might have rolled back), then that list reaches far enough
    _commission(fresh, 5, "D")
    _commission(fresh, 5, "E")
    assert reads.count == after_border + 1
    with fresh.engine.connect() as conn:
        names = [p.name for p in list_partitions(conn)]
        assert _where(conn)["entries_p64"] == (16, 64, 79)
    assert names == ["entries_p0", "entries_p64", "entries_p128"]


@PG
def test_partitions_made_elsewhere_or_rolled_back_are_read_again(fresh: Network) -> None:
    _commission(fresh, 10, "A")  # this engine remembers p0 and p64
    other = make_engine(fresh.engine.url)  # another process, say: makes p128 to p256
    try:
        with other.begin() as conn:
            assert [p.lo for p in ensure_partitions(conn, 200, wait=True)] == [128, 192, 256]
    finally:
        other.dispose()
    with pytest.raises(RuntimeError, match="rolled back"), fresh.engine.begin() as conn:
        # a batch that made p320 and p384 and then failed: neither is kept
        assert [p.lo for p in ensure_partitions(conn, 330, start=10)] == [320, 384]
        raise RuntimeError("rolled back")
    # 320 seqs in one batch: the append reads again and makes p320 and p384 itself
    seqs = _commission(fresh, 320, "B")
    assert (seqs[0], seqs[-1]) == (10, 329)
    with fresh.engine.connect() as conn:
        assert [p.lo for p in list_partitions(conn)][-3:] == [256, 320, 384]
        stored = _where(conn)
    assert stored["entries_p320"] == (10, 320, 329) and stored["entries_p128"] == (64, 128, 191)


@PG
def test_a_second_declaration_of_a_seq_is_refused(fresh: Network) -> None:
    journey(fresh, 0)  # seq 8 is retracted by the declaration at seq 13
    u = item("MIX0")
    again = fresh.one(
        Hop(u, EntryKind.ERROR_DECLARATION, "MFR", fresh.at(), retracts=8, note="again")
    )
    assert (again.status, again.seqs) == ("duplicate", (13,))
    # the database itself refuses it, though the rows live in a partitioned table
    refused = pytest.raises(IntegrityError, match="pk_entry_retractions")
    with refused, fresh.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO entries (seq, unit_id, kind, at_ms, party_id, device, anomaly,"
            " prev_hash, leaf_hash, retracts_seq) SELECT 15, unit_id, kind, at_ms,"
            " party_id, device, anomaly, prev_hash, leaf_hash, 8 FROM entries WHERE seq = 13"
        )
    refused = pytest.raises(IntegrityError, match="pk_entry_retractions")
    with refused, fresh.engine.begin() as conn:  # nor may an update make a second one
        conn.exec_driver_sql("UPDATE entries SET retracts_seq = 8 WHERE seq = 12")
    with fresh.engine.begin() as conn:  # the rule follows a declaration that moves
        conn.exec_driver_sql("UPDATE entries SET retracts_seq = 7 WHERE seq = 13")
        conn.exec_driver_sql("UPDATE entries SET retracts_seq = 8 WHERE seq = 12")
        kept = conn.exec_driver_sql("SELECT * FROM entry_retractions ORDER BY 1").all()
    assert kept == [(7, 13), (8, 12)]


@PG
def test_four_processes_appending_across_many_borders_at_once(
    fresh: Network, signer: LedgerSigner
) -> None:
    url = fresh.engine.url.render_as_string(hide_password=False)
    procs = [_spawn(url, w, 4, 40, 30) for w in range(4)]  # 640 entries: ten partitions
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err.decode()[-2000:]
    with fresh.engine.connect() as conn:
        stored = _where(conn)
        names = [p.name for p in list_partitions(conn)]
    assert names == ["entries_p0", *(f"entries_p{lo}" for lo in range(64, 768, 64))]
    assert sum(n for n, _, _ in stored.values()) == 640 and len(stored) == 10
    make_checkpoint(fresh.engine, signer)
    assert verify_ledger(fresh.engine, signer.name, signer.public_key).entries == 640


@PG
def test_two_callers_creating_partitions_at_once_make_each_once(fresh: Network) -> None:
    entered = threading.Event()
    second: list[list[Partition]] = []

    def racer() -> None:
        with fresh.engine.begin() as conn:
            entered.set()
            second.append(ensure_partitions(conn, 1000))  # waits for the first to commit

    with fresh.engine.begin() as conn:
        first = ensure_partitions(conn, 1000)
        thread = threading.Thread(target=racer)
        thread.start()
        assert entered.wait(10)
        thread.join(0.5)
        assert thread.is_alive()  # held back by the first caller's lock
    thread.join(30)
    # seq 1000 goes to [960, 1024), and [1024, 1088) is the full one after it
    assert [p.lo for p in first] == list(range(128, 1088, 64))
    assert second == [[]]
    with fresh.engine.connect() as conn:
        assert len(list_partitions(conn)) == 2 + len(first)  # the migration made p0, p64


@PG
def test_a_partition_only_wanted_ahead_gives_way_to_a_lock(
    fresh: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ledger.partitions.AHEAD_LOCK_TIMEOUT", "200ms")
    with fresh.engine.connect() as holder:
        holder.begin()
        holder.exec_driver_sql("LOCK TABLE entries IN SHARE UPDATE EXCLUSIVE MODE")
        with fresh.engine.begin() as conn:
            assert ensure_partitions(conn, 70) == []  # p128 is only wanted ahead: later
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar_one() == "0"
        holder.rollback()
    with fresh.engine.begin() as conn:
        assert [p.name for p in ensure_partitions(conn, 70)] == ["entries_p128"]


@PG
def test_bad_settings_and_arguments_are_named(
    fresh: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PARTITION_ROWS_ENV, "ten million")
    with pytest.raises(PartitionError, match="HOPCHAIN_ENTRY_PARTITION_ROWS must be a whole"):
        partition_rows()
    monkeypatch.setenv(PARTITION_ROWS_ENV, "10_000_000")
    assert partition_rows() == 10_000_000
    with fresh.engine.begin() as conn:
        with pytest.raises(PartitionError, match="upto_seq must be a seq"):
            ensure_partitions(conn, -1)
        with pytest.raises(PartitionError, match="partition rows must be a whole number"):
            ensure_partitions(conn, 5, rows=0)


@PG
def test_the_migration_moves_a_ledger_into_partitions_and_back(
    small_partitions: None, _pg_databases: object, signer: LedgerSigner
) -> None:
    urls = _pg_databases.empty_url()  # type: ignore[attr-defined]
    engine = make_engine(next(urls))
    try:
        with engine.begin() as conn:  # the schema before this issue: a plain entries
            command.upgrade(alembic_config(conn), BEFORE)
        network = build_network(engine)
        size = 0
        for n in range(5):
            size = journey(network, n)  # 75 entries, 5 of them declarations
        make_checkpoint(engine, signer)
        with engine.connect() as conn:
            assert not is_partitioned(conn)
            before = conn.exec_driver_sql("SELECT * FROM entries ORDER BY seq").all()

        init_database(engine)  # the upgrade moves the rows into 64-seq partitions
        with engine.connect() as conn:
            assert is_partitioned(conn)
            assert _where(conn) == {"entries_p0": (64, 0, 63), "entries_p64": (11, 64, 74)}
            assert [p.name for p in list_partitions(conn)] == [
                "entries_p0",
                "entries_p64",
                "entries_p128",
            ]
            assert conn.exec_driver_sql("SELECT * FROM entries ORDER BY seq").all() == before
            declared = conn.exec_driver_sql(
                "SELECT retracts_seq, seq FROM entry_retractions ORDER BY seq"
            ).all()
        assert declared == [(r.retracts_seq, r.seq) for r in before if r.retracts_seq is not None]
        assert len(declared) == 5 and schema_diff(engine) == []
        assert verify_ledger(engine, signer.name, signer.public_key).entries == size

        with engine.begin() as conn:  # and the downgrade puts back one plain table
            command.downgrade(alembic_config(conn), BEFORE)
        with engine.connect() as conn:
            assert not is_partitioned(conn)
            assert conn.exec_driver_sql("SELECT * FROM entries ORDER BY seq").all() == before
            left = conn.exec_driver_sql(
                "SELECT to_regclass('entries_p0'), to_regclass('entry_retractions')"
            ).one()
        assert left == (None, None)  # no partitions, no entry_retractions
        verify_ledger(engine, signer.name, signer.public_key)
        refused = pytest.raises(IntegrityError, match="ix_entries_retracts_seq")
        with refused, engine.begin() as conn:  # the unique index is back
            conn.exec_driver_sql("UPDATE entries SET retracts_seq = 8 WHERE seq = 12")
    finally:
        engine.dispose()
        urls.close()


def _cli(engine: Engine, instance: Path, *args: str) -> Result:
    """``hopchain ARGS`` on ``engine``'s database (its own schema)."""
    state = CliState(
        test_config={
            "TESTING": True,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "INSTANCE_PATH": instance,
            "SECRET_KEY": "test-only-secret",
            "SECURE_COOKIES": False,
        }
    )
    try:
        return CliRunner().invoke(build_cli(), list(args), obj=state, catch_exceptions=False)
    finally:
        if state._app is not None:
            with state._app.app_context():
                get_engine().dispose()


@PG
def test_the_command_lists_partitions_and_creates_them_ahead(
    fresh: Network, tmp_path: Path
) -> None:
    size = journey(fresh, 0)
    listed = _cli(fresh.engine, tmp_path, "ledger", "partitions")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        "partition\tseqs\trows",
        f"entries_p0\t[start, 64)\t{size}",
        "entries_p64\t[64, 128)\t0",  # made by the appends: one full partition ahead
        "2 partitions, 15 entries; new ones hold 64 seqs each",
    ]
    made = _cli(fresh.engine, tmp_path, "ledger", "partitions", "--ahead", "3", "--count")
    assert made.exit_code == 0, made.output
    assert made.output.splitlines()[:2] == [
        "created entries_p128 [128, 192)",
        "created entries_p192 [192, 256)",
    ]
    assert f"entries_p0\t[start, 64)\t{size}" in made.output
    again = _cli(fresh.engine, tmp_path, "ledger", "partitions", "--ahead", "3")
    assert again.output.startswith("3 full partition(s) already lie beyond the head (seq 15)")


def test_the_command_says_sqlite_has_no_partitions(
    engine: Engine, run_cli: Callable[..., Result]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's partitions: the tests above, on 64-seq partitions")
    result = run_cli("ledger", "partitions", "--ahead", "2")
    assert result.exit_code == 0
    assert result.output == "sqlite keeps the entries in one table: partitions are for PostgreSQL\n"
