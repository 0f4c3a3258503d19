"""``verify --jobs N``: how many processes verify (the floor and the cap), what is
said when fewer do than asked, and ranges that start and end in the middle of
units' histories (every range border cuts every unit's chain, and whole ranges
hold only entries that leave custody as it was)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import Connection

from ledger import EntryKind, Hop, LedgerSigner, make_checkpoint, verify_parallel
from ledger.verify_parallel import MIN_ENTRIES_PER_JOB, plan_jobs, range_level
from tests.ledger.conftest import Network, item
from tests.ledger.test_verify_parallel import (
    _PARTY,
    _UNIT,
    CHUNK,
    _outcome,
    _prev_of,
    _same,
    _sql,
    assert_same_report,
    passes,
    same_when_tampered,
)
from tests.ledger.test_verify_tamper import _build

__all__ = ["passes"]  # a fixture of test_verify_parallel

K = EntryKind

# --- the plan: floor and cap ---------------------------------------------------------------


def test_as_many_processes_as_asked_when_each_gets_enough() -> None:
    plan = plan_jobs(200_000, 20_000, 2, cores=2)
    assert (plan.jobs, plan.level, plan.ranges, plan.reason) == (2, 15, 7, "")


def test_never_more_processes_than_cores() -> None:
    plan = plan_jobs(200_000, 20_000, 8, cores=2)
    assert plan.jobs == 2
    assert plan.reason == "2 processes verify instead of 8: 2 cores to run on"


def test_auto_is_one_per_core_without_a_reason() -> None:
    for asked in (0, -1):
        plan = plan_jobs(1_000_000, 20_000, asked, cores=3)
        assert (plan.jobs, plan.reason) == (3, "")


def test_never_more_processes_than_ranges() -> None:
    # 40,000 entries in ranges of 32,768: two ranges; the floor allows two
    plan = plan_jobs(40_000, 20_000, 4, cores=8)
    assert (plan.jobs, plan.ranges) == (2, 2)
    assert "40,000 entries make 2 ranges of up to 32,768" in plan.reason


def test_a_small_ledger_is_verified_in_one_process() -> None:
    plan = plan_jobs(2 * MIN_ENTRIES_PER_JOB - 1, 16, 2, cores=8)
    assert plan.jobs == 1 and plan.ranges > 2
    assert plan.reason.startswith("one process verifies instead of 2: ")
    assert f"a worker pays off from {MIN_ENTRIES_PER_JOB:,} entries each" in plan.reason


def test_the_floor_leaves_as_many_workers_as_get_enough() -> None:
    plan = plan_jobs(3 * MIN_ENTRIES_PER_JOB, 16, 8, cores=8)
    assert plan.jobs == 3 and plan.reason.startswith("3 processes verify instead of 8")


def test_one_asked_is_one_without_a_reason() -> None:
    assert (plan_jobs(10, 7, 1, cores=1).jobs, plan_jobs(10, 7, 1, cores=1).reason) == (1, "")
    assert plan_jobs(0, 7, 2, cores=2).jobs == 1


@pytest.fixture
def ledger(network: Network, signer: LedgerSigner) -> Network:
    _build(network, signer)
    make_checkpoint(network.engine, signer)
    return network


def test_below_the_floor_one_process_verifies_and_says_why(
    ledger: Network, signer: LedgerSigner, passes: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_parallel, "available_cores", lambda: 8)
    said: list[str] = []
    one = _outcome(ledger, signer, 1)
    two = _outcome(ledger, signer, 2, on_jobs=said.append)
    assert two == one and passes == [False]
    assert said == [
        f"one process verifies instead of 2: {ledger.count():,} entries: a worker pays off"
        f" from {MIN_ENTRIES_PER_JOB:,} entries each"
    ]


def test_above_the_cap_fewer_processes_verify_and_say_why(
    ledger: Network, signer: LedgerSigner, passes: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_parallel, "MIN_ENTRIES_PER_JOB", 1)
    monkeypatch.setattr(verify_parallel, "available_cores", lambda: 2)
    said: list[str] = []
    assert _outcome(ledger, signer, 6, on_jobs=said.append) == _outcome(ledger, signer, 1)
    assert passes == [True]
    assert said == ["2 processes verify instead of 6: 2 cores to run on"]


def test_rows_not_in_place_are_said_to_send_verification_to_one_process(
    ledger: Network, signer: LedgerSigner, passes: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_parallel, "MIN_ENTRIES_PER_JOB", 1)
    monkeypatch.setattr(verify_parallel, "available_cores", lambda: 8)
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM entries WHERE seq = 17")
    said: list[str] = []
    one = _outcome(ledger, signer, 1)
    assert _outcome(ledger, signer, 2, on_jobs=said.append) == one
    assert one[0]["seq"] == 17 and one[0]["problem"] == "deleted"
    assert passes == [False]
    assert said == [
        "entries 16..31 are not in place (rows missing, added, unencodable or unreadable):"
        " one process verifies the log and names them"
    ]


Cli = Callable[..., Result]


def test_the_command_says_why_it_verifies_in_one_process(
    network: Network, run_cli: Cli, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_parallel, "available_cores", lambda: 4)
    run_cli("init")
    _build(network, LedgerSigner.load(tmp_path / "instance"))
    one = run_cli("ledger", "verify", "--quiet")
    two = run_cli("ledger", "verify", "--quiet", "--jobs", "2")
    assert two.exit_code == 0, two.output
    assert "--jobs 2: one process verifies instead of 2: " in two.output
    assert "side by side" not in two.output  # it did not
    assert_same_report(one, two)
    auto = run_cli("ledger", "verify", "--quiet", "--jobs", "auto")  # as typed, not 4
    assert "--jobs auto: one process verifies instead of 4: " in auto.output
    for bad in ("-1", "two", "1.5"):
        refused = run_cli("ledger", "verify", "--quiet", "--jobs", bad)
        assert refused.exit_code == 2
        assert f"{bad!r} is not a number of processes: give 1, 2, ..." in refused.output


def test_the_command_says_when_processes_verified_side_by_side(
    network: Network, run_cli: Cli, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import web.cli_ledger
    from ledger import verify_ledger

    monkeypatch.setattr(verify_parallel, "available_cores", lambda: 2)
    monkeypatch.setattr(verify_parallel, "MIN_ENTRIES_PER_JOB", 1)
    # ranges of 16 entries, so a small ledger has several (the command reads 20,000 at a time)
    monkeypatch.setattr(web.cli_ledger, "verify_ledger", partial(verify_ledger, chunk=CHUNK))
    run_cli("init")
    empty = run_cli("ledger", "verify", "--quiet", "--jobs", "0")  # no workers: nothing to split
    assert empty.exit_code == 0, empty.output
    assert "side by side" not in empty.output
    _build(network, LedgerSigner.load(tmp_path / "instance"))
    one = run_cli("ledger", "verify", "--quiet")
    two = run_cli("ledger", "verify", "--quiet", "--jobs", "0")
    assert two.exit_code == 0, two.output
    assert "--jobs 0: 2 processes verified ranges of the log side by side" in two.output
    assert_same_report(one, two)


# --- ranges that cut every unit's history ---------------------------------------------------

_LONG = (item(50), item(51), item(52))


def _long_histories(net: Network, signer: LedgerSigner) -> None:
    """Three units whose entries alternate, 21 each: commissioned, ten inspections,
    shipped, received, eight inspections: 63 entries in ranges of 16, so every
    range starts and ends inside every unit's history, and the second holds only
    inspections (custody as the range before left it). Signed at 33 (mid-range) and
    at the end."""
    at = net.at
    net.append(*(Hop(u, K.COMMISSIONING, "MFR", at(), site="MFR-PLANT") for u in _LONG))
    for _ in range(10):
        net.append(*(Hop(u, K.INSPECTING, "MFR", at()) for u in _LONG))
    make_checkpoint(net.engine, signer)  # at 33
    net.append(*(Hop(u, K.SHIPPING, "MFR", at(), counterparty="D-NORTH") for u in _LONG))
    net.append(*(Hop(u, K.RECEIVING, "D-NORTH", at()) for u in _LONG))
    for _ in range(8):
        net.append(*(Hop(u, K.INSPECTING, "D-NORTH", at()) for u in _LONG))
    make_checkpoint(net.engine, signer)


@pytest.fixture
def long_ledger(network: Network, signer: LedgerSigner, monkeypatch: pytest.MonkeyPatch) -> Network:
    monkeypatch.setattr(verify_parallel, "MIN_ENTRIES_PER_JOB", 1)
    monkeypatch.setattr(verify_parallel, "available_cores", lambda: 8)
    _long_histories(network, signer)
    return network


def test_ranges_cut_every_units_history(long_ledger: Network) -> None:
    assert long_ledger.count() == 63 and range_level(63, CHUNK) == 4
    with long_ledger.engine.connect() as conn:
        spans = conn.exec_driver_sql(
            "SELECT MIN(seq), MAX(seq) FROM entries GROUP BY unit_id"
        ).all()
    assert all(lo < 16 and hi >= 48 for lo, hi in spans)


def test_long_histories_give_the_same_report(
    long_ledger: Network, signer: LedgerSigner, passes: list[bool]
) -> None:
    report = _same(long_ledger, signer, passes, parallel=True)
    assert report[:2] == (63, 3)


def _unit_sql(column: str, value: str, unit: str) -> Callable[[Connection], None]:
    return _sql(f"UPDATE units SET {column} = {value} WHERE key = '{unit}'")


MID_HISTORY: dict[str, Callable[[Connection], None]] = {
    "an inspection in the range of inspections changed": _sql(
        "UPDATE entries SET at_ms = at_ms + 1 WHERE seq = 20"
    ),
    "an inspection rehashed (the unit's next entry, in the next range, breaks)": _sql(
        "UPDATE entries SET at_ms = at_ms + 5 WHERE seq = 30", rehash=(30,)
    ),
    "a chain broken at a border, naming an entry two ranges back": _prev_of(32, 1),
    "the last entry's unit holder": _unit_sql("holder_id", _PARTY.format("D-SOUTH"), item(52)),
    "a unit's state": _unit_sql("state", "'in_transit'", item(51)),
    "a unit's head": _unit_sql("head_seq", "head_seq - 3", item(50)),
    "the shipment's party": _sql(
        f"UPDATE entries SET party_id = {_PARTY.format('D-SOUTH')} WHERE seq = 33", rehash=(33,)
    ),
    "an entry moved to another unit": _sql(
        f"UPDATE entries SET unit_id = {_UNIT.format(item(50))} WHERE seq = 47", rehash=(47,)
    ),
}


@pytest.mark.parametrize("name", sorted(MID_HISTORY))
def test_tampering_mid_history_gives_the_same_findings(
    long_ledger: Network, signer: LedgerSigner, passes: list[bool], name: str
) -> None:
    same_when_tampered(long_ledger, signer, passes, name, MID_HISTORY[name], in_workers=True)


# --- units whose entries all lie in one range: their rows are compared by workers ------------


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many units rows the workers compared, for each parallel pass that ran."""
    import ledger.verify as verify_module

    counts: list[int] = []
    real = verify_module.scan_in_parallel

    def spy(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        if found is not None:
            counts.append(len(found.units_checked))
        return found

    monkeypatch.setattr(verify_module, "scan_in_parallel", spy)
    return counts


_SHORT = tuple(item(60 + i) for i in range(12))


def _short_histories(net: Network, signer: LedgerSigner) -> None:
    """Twelve units, each commissioned, shipped, received and sold one after the
    other (4 entries a unit: 4 units a range of 16), and before the last of them
    one more unit, commissioned only: the last unit's entries are 45..48, cut by
    the border at 48. Signed at the end."""
    at = net.at
    for n, unit in enumerate(_SHORT):
        if n == 11:
            net.append(Hop(item(50), K.COMMISSIONING, "MFR", at(), site="MFR-PLANT"))
        net.append(Hop(unit, K.COMMISSIONING, "MFR", at(), site="MFR-PLANT"))
        net.append(Hop(unit, K.SHIPPING, "MFR", at(), counterparty="D-NORTH"))
        net.append(Hop(unit, K.RECEIVING, "D-NORTH", at()))
        net.append(Hop(unit, K.RETAIL_SELLING, "D-NORTH", at()))
    make_checkpoint(net.engine, signer)


@pytest.fixture
def short_ledger(
    network: Network, signer: LedgerSigner, monkeypatch: pytest.MonkeyPatch
) -> Network:
    monkeypatch.setattr(verify_parallel, "MIN_ENTRIES_PER_JOB", 1)
    monkeypatch.setattr(verify_parallel, "available_cores", lambda: 8)
    _short_histories(network, signer)
    return network


def test_workers_compare_the_rows_of_units_within_their_range(
    short_ledger: Network, signer: LedgerSigner, passes: list[bool], compared: list[int]
) -> None:
    report = _same(short_ledger, signer, passes, parallel=True)
    assert report[:2] == (49, 13)
    assert compared == [12]  # all but the unit cut by a border


WITHIN_A_RANGE: dict[str, tuple[Callable[[Connection], None], bool]] = {
    "its state": (_unit_sql("state", "'in_transit'", _SHORT[1]), True),
    "its holder": (_unit_sql("holder_id", _PARTY.format("D-SOUTH"), _SHORT[5]), True),
    "its head hash": (
        _unit_sql("head_hash", "(SELECT leaf_hash FROM entries WHERE seq = 0)", _SHORT[9]),
        True,
    ),
    "its container": (_unit_sql("container_id", _UNIT.format(item(50)), _SHORT[2]), True),
    "a row no entry names": (
        _sql(
            "INSERT INTO units (id, key, gtin, serial, state) SELECT 999, 'x', gtin, 'x',"
            f" state FROM units WHERE key = '{_SHORT[0]}'"
        ),
        True,
    ),
    "many rows": (_sql("UPDATE units SET state = 'in_transit'"), True),
    # its row's head is its entry before the border: the range before takes the unit
    # as its own, the next names it: one process verifies
    "the head of a unit cut by a border": (
        _unit_sql("head_seq", "head_seq - 1", _SHORT[11]),
        False,
    ),
    "a first entry that names none, after a border": (
        _sql(
            "UPDATE entries SET prev_hash = (SELECT prev_hash FROM entries WHERE seq = 0) WHERE seq = 48",
            "UPDATE units SET head_seq = 47"
            " WHERE id = (SELECT unit_id FROM entries WHERE seq = 47)",
            rehash=(48,),
        ),
        False,
    ),
}


@pytest.mark.parametrize("name", sorted(WITHIN_A_RANGE))
def test_tampering_units_within_a_range_gives_the_same_findings(
    short_ledger: Network, signer: LedgerSigner, passes: list[bool], name: str
) -> None:
    change, in_workers = WITHIN_A_RANGE[name]
    same_when_tampered(short_ledger, signer, passes, name, change, in_workers)


def test_more_wrong_rows_than_reported_give_the_same_first_ones(
    network: Network, signer: LedgerSigner, passes: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forty units, the rows of all but a few compared by workers, every row wrong:
    the first ones by id are reported, as one comparison of every row reports them."""
    monkeypatch.setattr(verify_parallel, "MIN_ENTRIES_PER_JOB", 1)
    monkeypatch.setattr(verify_parallel, "available_cores", lambda: 8)
    at = network.at
    for n in range(40):
        unit = item(100 + n)
        network.append(
            Hop(unit, K.COMMISSIONING, "MFR", at(), site="MFR-PLANT"),
            Hop(unit, K.SHIPPING, "MFR", at(), counterparty="D-NORTH"),
            *([Hop(item(99), K.INSPECTING, "MFR", at())] if n % 7 == 3 else []),
        )
    network.one(Hop(item(99), K.COMMISSIONING, "MFR", at(), site="MFR-PLANT"))
    make_checkpoint(network.engine, signer)
    with network.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE units SET state = 'sold'")
    found = _same(network, signer, passes, parallel=True)
    assert [p["problem"] for p in found].count("unit changed") >= 20


def test_the_command_starts_no_progress_thread_so_workers_are_forked(
    network: Network, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tqdm bar starts a monitor thread; with a second thread the workers would be
    spawned and import every module again."""
    import threading

    from tqdm import tqdm
    from tqdm._monitor import TMonitor

    monkeypatch.setattr(tqdm, "monitor_interval", 10)
    run_cli("init")
    assert run_cli("ledger", "verify", "--quiet", "--jobs", "2").exit_code == 0
    assert tqdm.monitor_interval == 0
    bar = tqdm(total=0, disable=False)
    try:  # tqdm's monitor thread, not a count of every thread (other tests' come and go)
        assert not any(isinstance(t, TMonitor) for t in threading.enumerate())
    finally:
        bar.close()
