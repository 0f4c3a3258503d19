"""What an append writes does not depend on how it is written.

PostgreSQL writes a batch with ``COPY``, SQLite with ``executemany``; the tree's
stored nodes are made bottom-up for a whole batch at once. These tests hold the
rows to what they must be: the same bytes on both engines, the same tree however
the hops are split into batches, and stored nodes equal to the ones the RFC 9162
frontier (:func:`ledger.merkle.frontier_push`) closes leaf by leaf.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ledger import EntryKind, Hop, append_hops, merkle
from ledger.database import make_engine
from ledger.tree import is_stored_level
from tests.ledger._mixed import journey
from tests.ledger.conftest import T0, Network, build_network, item, sscc

K = EntryKind

# Every table an append writes, with a key that orders its rows.
_TABLES = {
    "entries": "seq",
    "units": "id",
    "tree_nodes": "level, idx",
    "scan_receipts": "device, device_seq",
    "ledger_head": "id",
}
_SKIP_COLUMNS = {"ledger_head": {"updated_ms"}}  # the wall clock of the append


Row = dict[str, object]


def _rows(engine: Engine, table: str) -> list[Row]:
    """Every row of ``table`` in key order, column name to value (bytes as bytes)."""
    with engine.connect() as conn:
        result = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {_TABLES[table]}")
        names = list(result.keys())
        skip = _SKIP_COLUMNS.get(table, set())
        return [
            {
                name: bytes(value) if isinstance(value, memoryview) else value
                for name, value in zip(names, row, strict=True)
                if name not in skip
            }
            for row in result
        ]


def _scans(network: Network) -> None:
    """Handheld scans (receipts, a replay, a note) and a pallet carrying two cases."""
    pallet, case = sscc(900), sscc(901)
    units = [item(f"SCAN{i}") for i in range(4)]
    results = network.append(
        *(Hop(u, K.COMMISSIONING, "MFR", network.at(), site="MFR-PLANT") for u in units),
        Hop(units[0], K.PACKING, "MFR", network.at(), container=case),
        Hop(units[1], K.PACKING, "MFR", network.at(), container=case),
        Hop(case, K.PACKING, "MFR", network.at(), container=pallet),
        Hop(units[2], K.PACKING, "MFR", network.at(), container=pallet),
    )
    assert all(r.status == "accepted" for r in results), results
    scanned = [
        Hop(pallet, K.SHIPPING, "MFR", network.at(), counterparty="D-SOUTH", device="HH-1", device_seq=1),
        Hop(pallet, K.RECEIVING, "D-SOUTH", network.at(), device="HH-2", device_seq=7,
            lat_e6=52_520_008, lon_e6=13_404_954, note="device clock 3 s ahead"),
        Hop(units[3], K.RECEIVING, "D-SOUTH", network.at(), device="HH-2", device_seq=8),
    ]  # fmt: skip
    first = network.append(*scanned)
    assert [r.status for r in first] == ["accepted"] * 3, first
    assert "received by D-SOUTH but never shipped" in first[2].anomaly
    again = network.append(scanned[1])
    assert again[0].status == "duplicate" and again[0].seqs == first[1].seqs


@pytest.fixture
def reference(
    engine: Engine, _migrated_sqlite_template: Path, tmp_path: Path
) -> Iterator[tuple[Engine, Engine]]:
    """(the test's PostgreSQL engine, a SQLite engine at the same schema)."""
    if engine.dialect.name == "sqlite":
        pytest.skip("compares PostgreSQL's COPY with SQLite's executemany")
    path = tmp_path / "reference.db"
    shutil.copyfile(_migrated_sqlite_template, path)
    sqlite = make_engine(f"sqlite:///{path}")
    yield engine, sqlite
    sqlite.dispose()


def test_postgresql_copy_writes_the_rows_sqlite_writes(reference: tuple[Engine, Engine]) -> None:
    """Same hops, same rows byte for byte: ids, seqs, canonical leaf hashes, the
    previous-hash chain, anomalies and notes, custody, tree nodes, head, receipts."""
    written = []
    for engine in reference:
        network = build_network(engine)
        for n in range(3):
            journey(network, n)
        _scans(network)
        written.append({table: _rows(engine, table) for table in _TABLES})
    on_postgresql, on_sqlite = written
    assert len(on_sqlite["entries"]) > 50 and len(on_sqlite["tree_nodes"]) >= 3
    for table in _TABLES:
        assert on_postgresql[table] == on_sqlite[table], table


def _expected_nodes(leaves: list[bytes]) -> tuple[set[tuple[int, int, bytes]], bytes]:
    """Stored nodes and root of a log of ``leaves``, one leaf at a time."""
    frontier: list[bytes] = []
    nodes: set[tuple[int, int, bytes]] = set()

    def keep(level: int, index: int, h: bytes) -> None:
        if is_stored_level(level):
            nodes.add((level, index, h))

    for size, leaf in enumerate(leaves):
        merkle.frontier_push(frontier, size, leaf, keep)
    return nodes, merkle.frontier_root(frontier)


def _history() -> list[Hop]:
    """70 hops, 195 entries: units commissioned, cased (the case commissioned by the
    first packing), shipped and received in their case or alone."""
    hops: list[Hop] = []
    at = iter(range(T0, T0 + 10**9, 1000))
    for case_no in range(5):
        case = sscc(500 + case_no)
        units = [item(f"B{case_no}-{i}") for i in range(10)]
        hops += [Hop(u, K.COMMISSIONING, "MFR", next(at)) for u in units]
        hops += [Hop(u, K.PACKING, "MFR", next(at), container=case) for u in units[:8]]
        hops.append(Hop(case, K.SHIPPING, "MFR", next(at), counterparty="D-NORTH"))
        hops.append(Hop(case, K.RECEIVING, "D-NORTH", next(at)))
        hops.append(Hop(units[9], K.SHIPPING, "MFR", next(at), counterparty="DEALER"))
        hops.append(Hop(units[9], K.RECEIVING, "DEALER", next(at)))
    return hops


@contextmanager
def network_copy(template: Path) -> Iterator[Engine]:
    """A fresh SQLite copy of the migrated ``template`` with the test network in it,
    for tests that need a new database per hypothesis example."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "copy.db"
        shutil.copyfile(template, path)
        engine = make_engine(f"sqlite:///{path}")
        try:
            build_network(engine)
            yield engine
        finally:
            engine.dispose()


def _append_split(template: Path, hops: list[Hop], cuts: set[int]) -> dict[str, list[Row]]:
    """Rows of entries and tree_nodes, and the head, after ``hops`` are appended in
    batches cut before each index in ``cuts``, on a fresh copy of ``template``."""
    bounds = [0, *sorted(cuts), len(hops)]
    with network_copy(template) as engine:
        for lo, hi in itertools.pairwise(bounds):
            results = append_hops(engine, hops[lo:hi])
            assert all(r.status == "accepted" for r in results), results
        return {table: _rows(engine, table) for table in ("entries", "tree_nodes", "ledger_head")}


_ONE_BATCH: dict[Path, dict[str, list[Row]]] = {}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cuts=st.sets(st.integers(min_value=1, max_value=69), max_size=12))
def test_any_split_into_batches_stores_the_same_tree(
    _migrated_sqlite_template: Path, cuts: set[int]
) -> None:
    """The history appended in batches cut anywhere stores the same entries, tree
    nodes and head as in one batch, and the nodes are those the frontier closes."""
    hops = _history()
    if _migrated_sqlite_template not in _ONE_BATCH:
        _ONE_BATCH[_migrated_sqlite_template] = _append_split(
            _migrated_sqlite_template, hops, set()
        )
    one_batch = _ONE_BATCH[_migrated_sqlite_template]
    split = _append_split(_migrated_sqlite_template, hops, cuts)
    assert split == one_batch
    leaves = [row["leaf_hash"] for row in split["entries"]]
    assert len(leaves) == 195
    nodes, root = _expected_nodes([leaf for leaf in leaves if isinstance(leaf, bytes)])
    assert {(row["level"], row["idx"], row["hash"]) for row in split["tree_nodes"]} == nodes
    (head,) = split["ledger_head"]
    frontier = head["frontier"]
    assert head["tree_size"] == 195 and isinstance(frontier, bytes)
    hashes = [frontier[i : i + 32] for i in range(0, len(frontier), 32)]
    assert merkle.frontier_root(hashes) == root
