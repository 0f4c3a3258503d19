"""The one-process verify reading entries as columns (:mod:`ledger.entry_columns`,
the default) finds exactly what it finds reading row tuples (``columns=False``):
the same report on an intact ledger, the same problems in the same order after
every kind of tampering the ``--jobs`` tests try, at chunk borders too, on both
engines; and chunks of device rows cut anywhere give the runs ``group_scans``
finds in tuples."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ledger.verify_receipts as verify_receipts
from ledger import LedgerIntegrityError, LedgerSigner, verify_ledger
from ledger.entry_columns import COLUMNS, SCHEMA, ColumnReader, open_reader
from ledger.scan_runs import last_run_start, scan_runs
from ledger.verify_scan import _SQL, group_scans
from tests.ledger.conftest import Network, item
from tests.ledger.test_verify_parallel import CHUNK, TAMPERING, ledger
from tests.ledger.test_verify_properties import _CHANGES, Built, _fresh, built

# fixtures: the property ledger of test_verify_properties, the --jobs tests' ledger
__all__ = ["built", "ledger"]


def _outcome(engine: Any, signer: LedgerSigner, columns: bool, chunk: int = CHUNK) -> Any:
    try:
        r = verify_ledger(engine, signer.name, signer.public_key, chunk=chunk, columns=columns)
    except LedgerIntegrityError as err:
        return [p.as_json() for p in err.problems]
    return (r.entries, r.units, r.receipts, r.tree_nodes, r.root, r.checkpoints_checked, r.checks)


def _workers_and_one(engine: Any, signer: LedgerSigner, chunk: int) -> tuple[Any, Any]:
    """(the outcome of ``--jobs 2`` workers reading columns, forced to verify ranges
    of one or two chunks however small the log; one process reading tuples). The
    workers must not fall back to one process."""
    from ledger import verify_parallel

    said: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verify_parallel, "MIN_ENTRIES_PER_JOB", 1)
        patch.setattr(verify_parallel, "available_cores", lambda: 8)
        try:
            r = verify_ledger(
                engine, signer.name, signer.public_key, chunk=chunk, jobs=2, columns=True,
                on_jobs=said.append,
            )  # fmt: skip
        except LedgerIntegrityError as err:
            two: Any = [p.as_json() for p in err.problems]
        else:
            two = (r.entries, r.units, r.receipts, r.tree_nodes, r.root)
            two += (r.checkpoints_checked, r.checks)
    assert not said, f"fell back to one process: {said}"
    return two, _outcome(engine, signer, False, chunk)


def test_the_reader_reads_what_the_query_gives(network: Network, signer: LedgerSigner) -> None:
    from tests.ledger.test_verify_tamper import _build

    _build(network, signer)
    with network.engine.connect() as conn:
        reader = open_reader(conn, _SQL.format(ph="%d"))
        assert reader is not None
        frame = reader.read(3, 40)
        ph = "?" if conn.dialect.name == "sqlite" else "%s"
        rows = conn.exec_driver_sql(_SQL.format(ph=ph), (3, 40)).fetchall()
    try:
        assert frame.columns == list(COLUMNS) and frame.schema == pl.Schema(SCHEMA)
        assert frame.rows() == [tuple(r) for r in rows]
        assert reader.read(10**9, 10**9 + 5).height == 0
    finally:
        reader.close()


def test_the_reader_sees_what_was_just_committed(network: Network, signer: LedgerSigner) -> None:
    """A change committed a moment ago, still in SQLite's write-ahead log, is what
    the reader reads (and so what verification checks)."""
    from tests.ledger.test_verify_tamper import _build

    _build(network, signer)
    with network.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE entries SET anomaly = 'just now' WHERE seq = 5")
    with network.engine.connect() as conn:
        reader = open_reader(conn, _SQL.format(ph="%d"))
        assert reader is not None
        try:
            assert reader.read(5, 6)["anomaly"].to_list() == ["just now"]
        finally:
            reader.close()
    with pytest.raises(LedgerIntegrityError) as err:
        verify_ledger(network.engine, signer.name, signer.public_key)
    assert (err.value.seq, err.value.problem) == (5, "changed")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The ranges read as columns."""
    seen: list[tuple[int, int]] = []
    real = ColumnReader.read

    def spy(self: ColumnReader, lo: int, hi: int) -> pl.DataFrame:
        seen.append((lo, hi))
        return real(self, lo, hi)

    monkeypatch.setattr(ColumnReader, "read", spy)
    return seen


def test_an_intact_ledger_gives_the_same_report(
    ledger: Network, signer: LedgerSigner, reads: list[tuple[int, int]]
) -> None:
    one = _outcome(ledger.engine, signer, columns=True)
    assert reads and reads[0] == (0, CHUNK)  # the entries were read as columns
    assert _outcome(ledger.engine, signer, columns=False) == one
    assert one[0] == ledger.count() and one[2] > 0  # entries, and scans checked


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampering_gives_the_same_findings(
    ledger: Network, signer: LedgerSigner, name: str
) -> None:
    change, _ = TAMPERING[name]
    with ledger.engine.begin() as conn:
        change(conn)
    found = _outcome(ledger.engine, signer, columns=True)
    assert isinstance(found, list) and found, f"{name}: verified intact"
    assert found == _outcome(ledger.engine, signer, columns=False)


def test_receipts_the_columns_cannot_prove_are_checked_row_by_row(
    ledger: Network, signer: LedgerSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Receipts of a device whose name cannot stand quoted in a query as it is
    (here: every device) are compared through the verification's own snapshot,
    row by row: intact stays intact, with every scan counted, and a changed
    receipt is named as the tuple path names it."""
    intact = _outcome(ledger.engine, signer, columns=False)
    monkeypatch.setattr(verify_receipts, "_quotable", lambda device: False)
    assert _outcome(ledger.engine, signer, columns=True) == intact
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE scan_receipts SET entry_count = entry_count + 1"
            " WHERE device = 'HH-1' AND device_seq = 24"
        )
    found = _outcome(ledger.engine, signer, columns=True)
    assert found == _outcome(ledger.engine, signer, columns=False)
    assert found[0]["problem"] == "receipt changed"
    assert found[0]["key"] == {"device": "HH-1", "device_seq": 24}


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    column=st.sampled_from(sorted(_CHANGES)), chunk=st.sampled_from([7, 64, 1000]), data=st.data()
)
def test_a_changed_column_in_the_random_ledger_gives_the_same_findings(
    built: Built, column: str, chunk: int, data: st.DataObject
) -> None:
    seq = data.draw(st.integers(0, built.size - 1), label="seq")
    engine = _fresh(built)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE entries SET {_CHANGES[column][0]} WHERE seq = {seq}")
    try:
        assert _outcome(engine, built.signer, True, chunk) == _outcome(
            engine, built.signer, False, chunk
        )
    finally:
        engine.dispose()


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    column=st.sampled_from(["none", *sorted(_CHANGES)]),
    chunk=st.sampled_from([7, 64]),
    data=st.data(),
)
def test_workers_reading_columns_find_in_the_random_ledger_what_one_process_finds(
    built: Built, column: str, chunk: int, data: st.DataObject
) -> None:
    """The random ledger (items packed, shipped in cases, unpacked, then random
    traffic: units whose entries spread over the whole log, custody that a range
    cannot fix alone), intact or with one column changed: ``--jobs 2`` workers
    reading columns, in ranges of one or two chunks, find what one process reading
    tuples finds."""
    seq = data.draw(st.integers(0, built.size - 1), label="seq")
    engine = _fresh(built)
    if column != "none":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE entries SET {_CHANGES[column][0]} WHERE seq = {seq}")
    try:
        two, one = _workers_and_one(engine, built.signer, chunk)
        assert two == one
    finally:
        engine.dispose()


# --- runs of device rows -----------------------------------------------------------------

_ROW = st.tuples(
    st.sampled_from(["HH-1", "HH-2", "", None]),
    st.sampled_from([1, 2, None]),
    st.sampled_from(["commissioning", "packing", "inspecting", "unpacking"]),
    st.sampled_from(["A", "B"]),
    st.sampled_from(["", "odd"]),
    st.integers(1, 2),  # the seq step
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=40))
def test_runs_over_columns_are_the_scans_group_scans_finds(spec: list[Any]) -> None:
    rows: list[tuple[Any, ...]] = []
    seq = 0
    for device, dseq, kind, unit, anomaly, step in spec:
        seq += step
        container = "A" if kind == "packing" else None
        row = [None] * len(COLUMNS)
        row[0], row[1], row[3], row[9], row[10], row[11], row[12] = (
            seq, kind, unit, container, device, dseq, anomaly,
        )  # fmt: skip
        if device:  # the scan checks the entries with a device
            rows.append(tuple(row))
    if not rows:
        return
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    runs = scan_runs(frame)
    groups = group_scans(rows)
    assert runs.select("device", "device_seq", "first_seq", "end").rows() == [g[:4] for g in groups]
    assert runs["count"].to_list() == [len(g[4]) for g in groups]
    for (start, scanned, notes), g in zip(
        runs.select("start", "scanned", "notes").iter_rows(), groups, strict=True
    ):
        assert rows[start] is g[4][0]
        first, second = g[4][0], g[4][1] if len(g[4]) > 1 else None
        packs_new_case = (
            second is not None
            and first[1] == "commissioning"
            and second[1] == "packing"
            and second[9] == first[3]
        )
        assert scanned == start + packs_new_case
        assert notes == any(r[12] or r[1] == "unpacking" for r in g[4])
    last = rows[-1]
    tail = len(rows) - 1
    while tail and rows[tail - 1][10:12] == last[10:12] and rows[tail - 1][0] == rows[tail][0] - 1:
        tail -= 1
    assert last_run_start(frame) == tail


_ITEM0 = f"key = '{item(0)}'"

# Each column of a units row the columnar check compares, changed (and a row added).
UNIT_CHANGES = {
    "state": (
        "UPDATE units SET state = CASE state WHEN 'sold' THEN 'in_stock' ELSE 'sold' END"
        f" WHERE {_ITEM0}"
    ),
    "holder": f"UPDATE units SET holder_id = NULL WHERE {_ITEM0}",
    "bound_for": f"UPDATE units SET bound_for_id = holder_id WHERE {_ITEM0}",
    "container": f"UPDATE units SET container_id = id WHERE {_ITEM0}",
    "head_seq": f"UPDATE units SET head_seq = head_seq + 1 WHERE {_ITEM0}",
    "head_hash": f"UPDATE units SET head_hash = prev_hash_of_none WHERE {_ITEM0}",
    "serial": f"UPDATE units SET serial = 'X' WHERE {_ITEM0}",
    "every unit": "UPDATE units SET head_seq = head_seq + 1",
    "a row no entry names": (
        "INSERT INTO units (id, key, gtin, serial, sscc, state, head_seq, head_hash)"
        " VALUES (9999, '00/009506000100000007', NULL, NULL, '009506000100000007',"
        " 'in_stock', NULL, NULL)"
    ),
}


@pytest.mark.parametrize("name", sorted(UNIT_CHANGES))
def test_a_changed_units_row_gives_the_same_findings(
    ledger: Network, signer: LedgerSigner, name: str
) -> None:
    sql = UNIT_CHANGES[name].replace(
        "prev_hash_of_none", "(SELECT leaf_hash FROM entries WHERE seq = 0)"
    )
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql(sql)
    found = _outcome(ledger.engine, signer, columns=True)
    assert isinstance(found, list) and found, f"{name}: verified intact"
    assert found == _outcome(ledger.engine, signer, columns=False)
    assert {p["table"] for p in found} >= {"units"}


@pytest.mark.parametrize("name", ["intact", *sorted(n for n, t in TAMPERING.items() if t[1])])
def test_workers_reading_columns_find_what_one_process_finds(
    ledger: Network, signer: LedgerSigner, name: str
) -> None:
    """``--jobs 2`` workers reading their ranges as columns (forced here: the ledger
    is far below the size from which they would), each range of 16 entries read 7
    at a time, so that units, scans and custody cross range and chunk borders
    everywhere: the same report, or the same problems in the same order, as one
    process reading tuples (every change that leaves the rows in place: else one
    process verifies, as the --jobs tests check)."""
    if name != "intact":
        with ledger.engine.begin() as conn:
            TAMPERING[name][0](conn)
    two, one = _workers_and_one(ledger.engine, signer, CHUNK)
    assert two == one
    assert (name == "intact") == isinstance(two, tuple) and bool(two)


@pytest.mark.parametrize("kind", ["inspecting", "packing", "unpacking", "error_declaration"])
def test_workers_reading_columns_follow_units_whose_first_entry_fixes_no_custody(
    ledger: Network, signer: LedgerSigner, kind: str
) -> None:
    """Units whose entries fix no custody: every third unit's first entry, and
    every entry of every fifth unit, rewritten to such a kind, leaf hashes
    recomputed. A range then holds the unit's entries up to the first that fixes
    its custody (all of them, for the fifth units) for the parent to apply, the
    first of them as the unit's first. The workers find what one process finds."""
    from tests.ledger.test_verify import _rehash

    with ledger.engine.begin() as conn:
        seqs = list(conn.exec_driver_sql("SELECT unit_id, seq FROM entries ORDER BY seq"))
        units = sorted({int(u) for u, _ in seqs})
        every = set(units[::5])
        first: dict[int, int] = {}
        for u, seq in seqs:
            first.setdefault(int(u), int(seq))
        chosen = {first[u] for u in units[1::3]}
        chosen |= {int(seq) for u, seq in seqs if int(u) in every}
        for seq in sorted(chosen):
            conn.exec_driver_sql(f"UPDATE entries SET kind = '{kind}' WHERE seq = {seq}")
            _rehash(conn, seq)
    two, one = _workers_and_one(ledger.engine, signer, CHUNK)
    assert two == one and isinstance(two, list)


def _units_whole_in_ranges(net: Network, signer: LedgerSigner) -> None:
    """40 items, each commissioned, shipped and received one after the other (as
    scans of one handheld): with ranges of 16 entries most units lie wholly in one
    range, whose worker compares their units rows."""
    from dataclasses import replace

    from ledger import EntryKind as K
    from ledger import Hop, make_checkpoint

    dseq = iter(range(10**6))
    for i in range(40):
        for hop in (
            Hop(item(i), K.COMMISSIONING, "MFR", net.at(), site="MFR-PLANT"),
            Hop(item(i), K.SHIPPING, "MFR", net.at(), counterparty="D-SOUTH"),
            Hop(item(i), K.RECEIVING, "D-SOUTH", net.at()),
        ):
            net.append(replace(hop, device="HH-1", device_seq=next(dseq)))
    make_checkpoint(net.engine, signer)


_UNIT_ROW_CHANGES = {
    "none": "",
    "state": "state = 'sold'",
    "holder": "holder_id = (SELECT id FROM parties WHERE code = 'MFR')",
    "no holder": "holder_id = NULL",
    "bound for": "bound_for_id = (SELECT id FROM parties WHERE code = 'D-NORTH')",
    "container": "container_id = (SELECT MIN(id) FROM units)",
    "head seq": "head_seq = head_seq - 1",
    "head hash": "head_hash = (SELECT leaf_hash FROM entries WHERE seq = 0)",
    "serial": "serial = serial || '9'",
}


@pytest.mark.parametrize("change", sorted(_UNIT_ROW_CHANGES))
def test_workers_reading_columns_compare_the_units_rows_of_units_in_their_range(
    network: Network, signer: LedgerSigner, change: str
) -> None:
    """Units whose entries all lie in one range have their rows compared by that
    range's worker over columns; a row changed in any column (three units: the
    first, one inside, the last) gives what one process finds."""
    _units_whole_in_ranges(network, signer)
    if _UNIT_ROW_CHANGES[change]:
        keys = ", ".join(f"'{item(i)}'" for i in (0, 17, 39))
        with network.engine.begin() as conn:
            conn.exec_driver_sql(
                f"UPDATE units SET {_UNIT_ROW_CHANGES[change]} WHERE key IN ({keys})"
            )
    two, one = _workers_and_one(network.engine, signer, CHUNK)
    assert two == one
    assert (change == "none") == isinstance(two, tuple) and bool(two)
