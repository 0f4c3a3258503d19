"""Serial allocation never hands a serial out twice, even to concurrent callers."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.ids import validate_sscc18
from scanners import SerialError, allocate_serials, allocate_ssccs


def test_consecutive_allocations_continue_where_the_last_stopped(scan_engine: Engine) -> None:
    with scan_engine.begin() as conn:
        assert allocate_serials(conn, "09506000134352", 3) == ["1", "2", "3"]
    with Session(scan_engine) as session:
        assert allocate_serials(session, "9506000134352", 2) == ["4", "5"]  # same GTIN, 13 digits
        session.commit()
    with scan_engine.begin() as conn:
        assert allocate_serials(conn, "05901234123457", 2) == ["1", "2"]  # other GTIN: own range


def test_a_rolled_back_allocation_is_not_kept(scan_engine: Engine) -> None:
    with Session(scan_engine) as session:
        allocate_serials(session, "09506000134352", 5)
        session.rollback()
    with scan_engine.begin() as conn:
        assert allocate_serials(conn, "09506000134352", 1) == ["1"]


def test_concurrent_callers_get_disjoint_serials(scan_engine: Engine) -> None:
    got: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(15):
                with scan_engine.begin() as conn:
                    serials = allocate_serials(conn, "09506000134352", 7)
                with lock:
                    got.extend(serials)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(got) == len(set(got)) == 4 * 15 * 7
    assert sorted(map(int, got)) == list(range(1, 4 * 15 * 7 + 1))


def test_ssccs_have_valid_check_digits_and_never_repeat(scan_engine: Engine) -> None:
    with scan_engine.begin() as conn:
        first = allocate_ssccs(conn, "0614141", 3)
        more = allocate_ssccs(conn, "0614141", 3, extension=3)
        again = allocate_ssccs(conn, "0614141", 2)
    assert first[0] == "006141410000000012"
    assert more[0].startswith("30614141")
    for sscc in first + more + again:
        assert validate_sscc18(sscc) == sscc
    assert len(set(first + more + again)) == 8


def test_bad_requests_say_what_is_wrong(scan_engine: Engine) -> None:
    with scan_engine.begin() as conn:
        with pytest.raises(SerialError, match="check digit"):
            allocate_serials(conn, "09506000134353", 1)
        with pytest.raises(SerialError, match="count"):
            allocate_serials(conn, "09506000134352", 0)
        with pytest.raises(SerialError, match="company prefix"):
            allocate_ssccs(conn, "12", 1)
    with scan_engine.begin() as conn, pytest.raises(SerialError, match="only serials up to"):
        allocate_ssccs(conn, "061414112345", 100_000)  # 4-digit serial reference


def test_concurrent_allocation_on_the_migrated_database(engine: Engine) -> None:
    """The shared ``engine`` fixture: the real migrations, on SQLite and PostgreSQL."""
    got: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            with engine.begin() as conn:
                serials = allocate_serials(conn, "09506000134352", 5)
                ssccs = allocate_ssccs(conn, "0614141", 1)
            with lock:
                got.extend(serials + ssccs)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == len(set(got)) == 4 * 10 * 6
