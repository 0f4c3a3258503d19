"""``verify_ledger(jobs=2)`` (``hopchain ledger verify --jobs 2``) finds what one
process finds: the same report on an intact ledger, the same problems in the same
order on a tampered one, at range borders too. A read chunk of 7 makes ranges of
16 entries, so the ledgers here split into several ranges, with units, chains and
scans crossing their borders.

Tampering that leaves every row in place is found by the workers (the tests check
the parallel pass ran); rows missing, added or unencodable send verification to
one process, which names them (the tests check that too)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from ledger import (
    EntryKind,
    Hop,
    LedgerIntegrityError,
    LedgerSigner,
    make_checkpoint,
    verify_ledger,
    verify_parallel,
)
from ledger.verify_parallel import range_level
from tests.ledger.conftest import Network, item, sscc
from tests.ledger.test_verify import _rehash
from tests.ledger.test_verify_properties import _CHANGES, Built, _fresh, _shift, built
from tests.ledger.test_verify_tamper import _build, _last_json

__all__ = ["built"]  # the property ledger, a fixture of test_verify_properties

K = EntryKind
CHUNK = 7  # ranges of 16 entries


def _ph(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


@pytest.fixture(autouse=True)
def small_ledgers_in_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledgers here are far below the size from which workers pay off, and the
    machine may have one core: let workers verify them anyway (the floor and the
    cap have tests of their own)."""
    monkeypatch.setattr(verify_parallel, "MIN_ENTRIES_PER_JOB", 1)
    monkeypatch.setattr(verify_parallel, "available_cores", lambda: 8)


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each parallel pass ran (True) or handed over to one process (False)."""
    import ledger.verify as verify_module

    ran: list[bool] = []
    real = verify_module.scan_in_parallel

    def spy(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        ran.append(found is not None)
        return found

    monkeypatch.setattr(verify_module, "scan_in_parallel", spy)
    return ran


def _outcome(net: Network, signer: LedgerSigner, jobs: int, **kw: Any) -> Any:
    try:
        r = verify_ledger(net.engine, signer.name, signer.public_key, chunk=CHUNK, jobs=jobs, **kw)
    except LedgerIntegrityError as err:
        return [p.as_json() for p in err.problems]
    return (r.entries, r.units, r.receipts, r.tree_nodes, r.root, r.checkpoints_checked, r.checks)


def _same(net: Network, signer: LedgerSigner, passes: list[bool], parallel: bool) -> Any:
    one = _outcome(net, signer, 1)
    two = _outcome(net, signer, 2)
    assert two == one
    assert passes == [parallel]
    return one


def _with_declaration(net: Network) -> None:
    """An error declaration (retracting a shipment) and a unit whose custody is
    fixed only after entries that keep it (inspections, unpacking) in a later range."""
    shipped = net.append(Hop(item(30), K.COMMISSIONING, "MFR", net.at()))
    assert shipped[0].status == "accepted"
    (ship,) = net.append(Hop(item(30), K.SHIPPING, "MFR", net.at(), counterparty="D-SOUTH"))
    net.append(Hop(item(30), K.ERROR_DECLARATION, "MFR", net.at(), retracts=ship.seqs[0]))
    net.append(*(Hop(item(i), K.INSPECTING, "D-NORTH", net.at()) for i in range(6, 12)))


@pytest.fixture
def ledger(network: Network, signer: LedgerSigner) -> Network:
    _build(network, signer)
    _with_declaration(network)
    make_checkpoint(network.engine, signer)
    return network


def test_ranges_split_the_test_ledgers_several_times(ledger: Network) -> None:
    assert range_level(ledger.count(), CHUNK) == 4
    assert ledger.count() > 4 * 16
    with ledger.engine.connect() as conn:
        crossing = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM (SELECT unit_id FROM entries GROUP BY unit_id"
            " HAVING MIN(seq) / 16 <> MAX(seq) / 16) AS t"
        ).scalar_one()
    assert crossing > 10  # units whose chain crosses a range border


def test_an_intact_ledger_gives_the_same_report(
    ledger: Network, signer: LedgerSigner, passes: list[bool]
) -> None:
    report = _same(ledger, signer, passes, parallel=True)
    assert report[0] == ledger.count() and report[1] == ledger.count("units")
    key = (ledger.engine, signer.name, signer.public_key)
    assert verify_ledger(*key, chunk=CHUNK, jobs=1).processes == 1
    assert verify_ledger(*key, chunk=CHUNK, jobs=2).processes == 2  # workers ran


def _sql(*statements: str, rehash: tuple[int, ...] = ()) -> Callable[[Connection], None]:
    def change(conn: Connection) -> None:
        for s in statements:
            conn.exec_driver_sql(s)
        for seq in rehash:
            _rehash(conn, seq)

    return change


def _prev_of(seq: int, other: int) -> Callable[[Connection], None]:
    def change(conn: Connection) -> None:
        h = conn.exec_driver_sql(f"SELECT leaf_hash FROM entries WHERE seq = {other}").scalar_one()
        conn.exec_driver_sql(f"UPDATE entries SET prev_hash = {_ph(conn)} WHERE seq = {seq}", (h,))
        _rehash(conn, seq)

    return change


def _swap(a: int, b: int) -> Callable[[Connection], None]:
    return _sql(
        f"UPDATE entries SET seq = -1 WHERE seq = {a}",
        f"UPDATE entries SET seq = {a} WHERE seq = {b}",
        f"UPDATE entries SET seq = {b} WHERE seq = -1",
    )


def _deleted_and_renumbered(seq: int) -> Callable[[Connection], None]:
    def change(conn: Connection) -> None:
        conn.exec_driver_sql(f"DELETE FROM entries WHERE seq = {seq}")
        _shift(conn, seq + 1, -1)

    return change


def _inserted_and_renumbered(seq: int) -> Callable[[Connection], None]:
    def change(conn: Connection) -> None:
        _shift(conn, seq, 1)
        conn.exec_driver_sql(
            "INSERT INTO entries (seq, unit_id, kind, at_ms, party_id, device, anomaly,"
            " prev_hash, leaf_hash) SELECT "
            f"{seq}, unit_id, 'inspecting', at_ms, party_id, '', '', prev_hash, leaf_hash"
            f" FROM entries WHERE seq = {seq + 1}"
        )
        _rehash(conn, seq)

    return change


_UNIT = "(SELECT id FROM units WHERE key = '{}')"
_PARTY = "(SELECT id FROM parties WHERE code = '{}')"

# name: (change, whether the workers find it; else one process does)
TAMPERING: dict[str, tuple[Callable[[Connection], None], bool]] = {
    "a column changed": (_sql("UPDATE entries SET at_ms = at_ms + 1 WHERE seq = 30"), True),
    "changed at a border": (_sql("UPDATE entries SET at_ms = at_ms + 1 WHERE seq = 32"), True),
    "changed before a border": (
        _sql("UPDATE entries SET kind = 'inspecting' WHERE seq = 47"),
        True,
    ),
    "changed and rehashed": (
        _sql("UPDATE entries SET at_ms = at_ms + 5 WHERE seq = 26", rehash=(26,)),
        True,
    ),
    "rehashed before a border": (
        _sql("UPDATE entries SET at_ms = at_ms + 5 WHERE seq = 15", rehash=(15,)),
        True,
    ),
    "chain broken": (_prev_of(37, 0), True),
    "chain broken at a border": (_prev_of(48, 3), True),
    "a first entry names a previous one": (_prev_of(2, 1), True),
    "rows rewritten consistently": (
        _sql("UPDATE entries SET at_ms = at_ms + 7 WHERE seq = 69", rehash=(69,)),
        True,
    ),
    "swapped": (_swap(45, 50), True),
    "swapped across a border": (_swap(31, 32), True),
    "deleted and renumbered": (_deleted_and_renumbered(33), True),
    "inserted and renumbered": (_inserted_and_renumbered(40), True),
    "deleted": (_sql("DELETE FROM entries WHERE seq = 17"), False),
    "deleted at a border": (_sql("DELETE FROM entries WHERE seq = 16"), False),
    "cut back": (_sql("DELETE FROM entries WHERE seq >= 55"), True),
    "slipped in beyond the head": (
        _sql(
            "INSERT INTO entries (seq, unit_id, kind, at_ms, party_id, device, anomaly,"
            " prev_hash, leaf_hash) SELECT seq + 1, unit_id, 'inspecting', at_ms, party_id,"
            " '', '', leaf_hash, leaf_hash FROM entries WHERE seq = (SELECT MAX(seq) FROM entries)"
        ),
        True,
    ),
    "unencodable time": (_sql("UPDATE entries SET at_ms = 253402300800000 WHERE seq = 7"), False),
    "tree node changed": (
        _sql(
            "UPDATE tree_nodes SET hash = (SELECT leaf_hash FROM entries WHERE seq = 0)"
            " WHERE level = 4 AND idx = 1"
        ),
        True,
    ),
    "tree node missing": (_sql("DELETE FROM tree_nodes WHERE level = 4 AND idx = 2"), True),
    "tree node extra": (
        _sql(
            "INSERT INTO tree_nodes (level, idx, hash) SELECT 8, 9, leaf_hash FROM entries WHERE seq = 0"
        ),
        True,
    ),
    "head changed": (_sql("UPDATE ledger_head SET tree_size = tree_size - 1"), True),
    "unit holder": (
        _sql(f"UPDATE units SET holder_id = {_PARTY.format('D-SOUTH')} WHERE key = '{item(0)}'"),
        True,
    ),
    "unit container": (_sql(f"UPDATE units SET container_id = NULL WHERE key = '{item(9)}'"), True),
    "unit of the declaration": (
        _sql(f"UPDATE units SET state = 'in_transit' WHERE key = '{item(30)}'"),
        True,
    ),
    "unit inspected later": (
        _sql(f"UPDATE units SET state = 'decommissioned' WHERE key = '{item(7)}'"),
        True,
    ),
    "case": (_sql(f"UPDATE units SET state = 'sold' WHERE key = '{sscc(1)}'"), True),
    "receipt changed": (
        _sql("UPDATE scan_receipts SET entry_count = 1 WHERE device = 'HH-1' AND device_seq = 24"),
        True,
    ),
    "receipt missing": (
        _sql("DELETE FROM scan_receipts WHERE device = 'HH-1' AND device_seq = 30"),
        True,
    ),
    "receipt extra": (
        _sql(
            "INSERT INTO scan_receipts (device, device_seq, first_seq, entry_count, anomaly)"
            " VALUES ('HH-1', 500, 3, 1, '')"
        ),
        True,
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampering_gives_the_same_findings(
    ledger: Network, signer: LedgerSigner, passes: list[bool], name: str
) -> None:
    change, in_workers = TAMPERING[name]
    same_when_tampered(ledger, signer, passes, name, change, in_workers)


def same_when_tampered(
    net: Network,
    signer: LedgerSigner,
    passes: list[bool],
    name: str,
    change: Callable[[Connection], None],
    in_workers: bool,
) -> None:
    """After ``change``, jobs=2 finds what jobs=1 finds, something, in the workers
    when ``in_workers`` (else in one process)."""
    with net.engine.begin() as conn:
        change(conn)
    found = _same(net, signer, passes, parallel=in_workers)
    assert isinstance(found, list) and found, f"{name}: verified intact"


def test_progress_across_workers_ends_at_the_entries(ledger: Network, signer: LedgerSigner) -> None:
    seen: list[tuple[int, int]] = []
    report = verify_ledger(
        ledger.engine,
        signer.name,
        signer.public_key,
        lambda d, t: seen.append((d, t)),
        chunk=CHUNK,
        jobs=2,
    )
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == report.entries
    assert len(done) > 4 and all(d <= t for d, t in seen)


# --- the property ledger: 2,500 entries of random traffic ------------------------------


def _problems(b: Built, jobs: int, chunk: int) -> Any:
    engine = _fresh(b)
    try:
        verify_ledger(engine, b.signer.name, b.signer.public_key, chunk=chunk, jobs=jobs)
    except LedgerIntegrityError as err:
        return [p.as_json() for p in err.problems]
    finally:
        engine.dispose()
    return "intact"


def _tampered(b: Built, sql: str) -> Built:
    engine = _fresh(b)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    raw = engine.raw_connection()
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    engine.dispose()
    os.replace(b.work, b.work.with_name("tampered.db"))
    return Built(b.work.with_name("tampered.db"), b.work, b.signer, b.size)


def test_the_random_traffic_ledger_gives_the_same_report(built: Built) -> None:
    b = built
    for chunk in (7, 64, 1000):
        engine = _fresh(b)
        one = verify_ledger(engine, b.signer.name, b.signer.public_key, chunk=chunk)
        engine.dispose()
        engine = _fresh(b)
        two = verify_ledger(engine, b.signer.name, b.signer.public_key, chunk=chunk, jobs=2)
        engine.dispose()
        assert (two.entries, two.units, two.receipts, two.tree_nodes, two.root) == (
            one.entries,
            one.units,
            one.receipts,
            one.tree_nodes,
            one.root,
        )


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    data=st.data(),
    column=st.sampled_from(sorted(_CHANGES)),
    chunk=st.sampled_from([7, 64]),
    border=st.booleans(),
)
def test_a_changed_column_gives_the_same_findings(
    built: Built, data: st.DataObject, column: str, chunk: int, border: bool
) -> None:
    b = built
    span = 1 << range_level(b.size, chunk)
    if border:  # the first or last entry of a range
        at = data.draw(st.integers(1, b.size // span), label="border") * span
        seq = min(b.size - 1, at - data.draw(st.integers(0, 1), label="side"))
    else:
        seq = data.draw(st.integers(0, b.size - 1), label="seq")
    change, _ = _CHANGES[column]
    tampered = _tampered(b, f"UPDATE entries SET {change} WHERE seq = {seq}")
    assert _problems(tampered, 2, chunk) == _problems(tampered, 1, chunk)


# --- the command -----------------------------------------------------------------------

Cli = Callable[..., Result]


def assert_same_report(one: Result, other: Result) -> None:
    """Two runs of ``ledger verify`` ended with the same JSON report, but for the rate."""
    a, b = _last_json(one), _last_json(other)
    a.pop("entries_per_second"), b.pop("entries_per_second")
    assert a == b


def test_verify_jobs_reports_as_one_process_does(
    network: Network, run_cli: Cli, tmp_path: Any
) -> None:
    run_cli("init")
    _build(network, LedgerSigner.load(tmp_path / "instance"))
    one = run_cli("ledger", "verify", "--quiet")
    for jobs in ("2", "auto", "0"):
        two = run_cli("ledger", "verify", "--quiet", "--jobs", jobs)
        assert two.exit_code == 0, two.output
        assert_same_report(one, two)
    with network.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE entries SET at_ms = at_ms + 1 WHERE seq = 40")
    bad = run_cli("ledger", "verify", "--quiet", "--jobs", "2")
    assert bad.exit_code == 1
    assert (_last_json(bad)["seq"], _last_json(bad)["problem"]) == (40, "changed")


@pytest.mark.parametrize("jobs", ["-1", "many", "1.5"])
def test_verify_refuses_a_job_count_that_is_not_one(run_cli: Cli, jobs: str) -> None:
    run_cli("init")
    result = run_cli("ledger", "verify", "--quiet", "--jobs", jobs)
    assert result.exit_code == 2
    assert "--jobs" in result.output
    assert f"{jobs!r} is not a number of processes: give 1, 2, ..." in result.output
