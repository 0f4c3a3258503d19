"""ledger.columns.entry_column_chunks: the entries as int64 matrices, the same on
SQLite (driver cursor) and PostgreSQL (binary COPY), whatever the range and chunk."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from ledger.columns import ENTRY_COLUMNS, NO_COORD, ColumnReadError, entry_column_chunks
from ledger.ids import EntryKind
from ledger.models import Entry
from settlement import kernels
from tests.ledger._mixed import journey
from tests.ledger.conftest import T0, Network

N = NO_COORD
MFR, NORTH, DEALER = 1, 2, 4  # party ids in the order the network fixture adds them
UNIT, CASE = 1, 2
# The first journey as both engines must give it (seq, unit, kind code, party,
# counterparty, at_ms - T0, lat, lon): every kind, NULLs turned into -1 / NO_COORD.
FIRST_JOURNEY = [
    (0, UNIT, 0, MFR, -1, 0, N, N),  # commissioning, nowhere
    (1, CASE, 0, MFR, -1, 1000, 48_137_154, 11_576_124),  # at the plant site
    (2, UNIT, 1, MFR, -1, 2000, N, N),  # packing into the case
    (3, CASE, 3, MFR, NORTH, 3000, 1, -2),  # shipping the case...
    (4, UNIT, 3, MFR, NORTH, 3000, 1, -2),  # ...covers the unit in it
    (5, CASE, 2, NORTH, -1, 4000, N, N),  # unpacking
    (6, UNIT, 2, NORTH, -1, 4000, N, N),
    (7, UNIT, 4, NORTH, -1, 5000, -45_000_000, 179_999_999),  # receiving
    (8, UNIT, 3, NORTH, DEALER, 6000, N, N),  # shipping (retracted at 13)
    (9, UNIT, 4, DEALER, -1, 7000, N, N),
    (10, UNIT, 6, DEALER, -1, 8000, N, N),  # inspecting
    (11, UNIT, 5, DEALER, -1, 9000, N, N),  # retail_selling
    (12, UNIT, 7, DEALER, NORTH, 10_000, N, N),  # returning
    (13, UNIT, 9, MFR, -1, 11_000, N, N),  # error_declaration
    (14, CASE, 8, MFR, -1, 12_000, N, N),  # decommissioning
]
_CODES = {k.value: k.code for k in EntryKind}


def _read(engine: Engine, lo: int, hi: int, chunk: int) -> list[npt.NDArray[np.int64]]:
    with engine.connect() as conn:
        return list(entry_column_chunks(conn, lo, hi, chunk))


def _whole(engine: Engine, lo: int, hi: int, chunk: int = 1_000) -> npt.NDArray[np.int64]:
    parts = _read(engine, lo, hi, chunk)
    return np.concatenate(parts) if parts else np.empty((0, len(ENTRY_COLUMNS)), np.int64)


def _oracle(engine: Engine) -> npt.NDArray[np.int64]:
    """The same matrix built in Python from the ORM's rows, one value at a time."""
    with engine.connect() as conn:
        rows = conn.execute(select(Entry).order_by(Entry.seq)).all()
    return np.array(
        [
            (
                r.seq,
                r.unit_id,
                _CODES.get(r.kind, -1),
                r.party_id,
                -1 if r.counterparty_id is None else r.counterparty_id,
                r.at_ms,
                N if r.lat_e6 is None else r.lat_e6,
                N if r.lon_e6 is None else r.lon_e6,
            )
            for r in rows
        ],
        dtype=np.int64,
    ).reshape(-1, len(ENTRY_COLUMNS))


def test_every_kind_and_null_as_both_engines_give_them(network: Network) -> None:
    size = journey(network, 0)
    expected = np.array(FIRST_JOURNEY, dtype=np.int64)
    expected[:, 5] += T0
    got = _whole(network.engine, 0, size)
    assert got.dtype == np.int64 and got.shape == (15, 8)
    np.testing.assert_array_equal(got, expected)
    assert {int(k) for k in got[:, 2]} == {k.code for k in EntryKind}


def test_matrices_equal_the_rows_read_one_by_one(network: Network) -> None:
    size = 0
    for n in range(4):
        size = journey(network, n)
    with network.engine.begin() as conn:  # a kind string no EntryKind knows
        conn.execute(Entry.__table__.update().where(Entry.seq == 20).values(kind="teleporting"))
    got = _whole(network.engine, 0, size, chunk=7)
    np.testing.assert_array_equal(got, _oracle(network.engine))
    assert got[20, 2] == -1
    assert (got[:, 4] == -1).any() and (got[:, 6] == NO_COORD).any()


def test_rows_outside_the_ledger_and_empty_ranges_yield_nothing(network: Network) -> None:
    size = journey(network, 0)
    assert _read(network.engine, 3, 3, 10) == []
    assert _read(network.engine, size, size + 100, 10) == []
    tail = _whole(network.engine, size - 2, size + 100)
    assert tail[:, 0].tolist() == [size - 2, size - 1]


@pytest.mark.parametrize(
    ("lo", "hi", "chunk", "message"),
    [
        (-1, 5, 10, "lo must be >= 0"),
        (5, 4, 10, r"hi \(4\) must not be below lo \(5\)"),
        (0, 5, 0, "chunk must be at least 1 row, got 0"),
        (0, "5", 10, "hi must be an integer, got '5'"),
    ],
)
def test_bad_ranges_are_named(engine: Engine, lo: int, hi: int, chunk: int, message: str) -> None:
    with pytest.raises(ColumnReadError, match=message):
        _read(engine, lo, hi, chunk)


def test_the_kernels_use_the_same_no_location_value() -> None:
    assert kernels.NO_COORD == NO_COORD


@pytest.fixture
def mixed(network: Network) -> tuple[Engine, npt.NDArray[np.int64]]:
    size = 0
    for n in range(5):
        size = journey(network, n)
    return network.engine, _whole(network.engine, 0, size, chunk=size)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    lo=st.integers(0, 80),
    span=st.integers(0, 90),
    chunk=st.one_of(st.integers(1, 12), st.integers(13, 200)),
)
def test_any_range_and_chunk_give_the_same_rows(
    mixed: tuple[Engine, npt.NDArray[np.int64]], lo: int, span: int, chunk: int
) -> None:
    engine, whole = mixed
    parts = _read(engine, lo, lo + span, chunk)
    expected = whole[lo : lo + span]
    assert [p.shape[0] for p in parts][:-1] == [chunk] * (len(parts) - 1)
    assert all(0 < p.shape[0] <= chunk for p in parts)
    got = np.concatenate(parts) if parts else expected[:0]
    np.testing.assert_array_equal(got, expected)
