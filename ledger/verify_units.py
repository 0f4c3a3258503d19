"""The units table compared with the unit store over columns (the verify fast path).

:func:`ledger.verify_derived.check_units` compares each ``units`` row with the
:class:`~ledger.verify_scan.DerivedUnit` its entries give, one Python record a
unit. Here the rows are read a chunk at a time as columns and compared with the
arrays of the :class:`~ledger.custody_columns.UnitStore` the pass followed the
units in, all at once; only a row that does not hold what its entries give (or one
the arrays cannot judge: custody an error declaration replayed, a party id the code
book lacks, a head hash that is not 32 bytes) is turned into a record and goes
through :func:`~ledger.verify_derived.unit_row_problem`, which words the problem.
The problems, their order and their number are those of ``check_units``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from ledger.custody_columns import STATES, UnitStore
from ledger.entry_columns import ColumnReader
from ledger.rows import CodeBook
from ledger.verify_derived import (
    _PER_CHECK,
    UNIT_COLUMNS,
    _missing_units,
    party_ids,
    unit_row_problem,
)
from ledger.verify_problems import Problem

__all__ = ["UNITS_SCHEMA", "check_units_columns", "units_rows_problems"]

UNITS_SCHEMA: dict[str, type[pl.DataType]] = {
    "id": pl.Int64,
    "key": pl.String,
    "gtin": pl.String,
    "serial": pl.String,
    "sscc": pl.String,
    "container_id": pl.Int64,
    "holder_id": pl.Int64,
    "bound_for_id": pl.Int64,
    "state": pl.String,
    "head_seq": pl.Int64,
    "head_hash": pl.Binary,
}
"""The units table's :data:`~ledger.verify_derived.UNIT_COLUMNS` as columns."""

_STATE_NAMES = np.array([s.value for s in STATES], dtype=object)


def _spelled_key() -> pl.Expr:
    """The key gtin/serial/sscc spell (``verify_derived._key_of``), null for none."""
    gtin, serial, sscc = pl.col("gtin"), pl.col("serial"), pl.col("sscc")
    return (
        pl.when(sscc.is_not_null())
        .then(pl.when(gtin.is_null() & serial.is_null()).then(pl.concat_str(pl.lit("00/"), sscc)))
        .when(gtin.is_not_null() & serial.is_not_null())
        .then(pl.concat_str(pl.lit("01/"), gtin, pl.lit("/21/"), serial))
    )


def _same_id(stored: pl.Series, ours: np.ndarray, known: np.ndarray) -> np.ndarray:
    """A party id column equal to ours, where ours is -1 for None and must be one
    of ``known`` otherwise (an id the code book lacks reads as "", which no row can
    hold; ids below -1 are codes an error declaration's replay gave)."""
    have = stored.fill_null(-1).to_numpy()
    same: np.ndarray = (have == ours) & ((ours == -1) | np.isin(ours, known))
    return same


def check_units_columns(
    reader: ColumnReader, store: UnitStore, codes: CodeBook, chunk: int
) -> list[Problem]:
    """What :func:`ledger.verify_derived.check_units` finds comparing every units row
    with ``store``: rows read ``chunk`` at a time in id order, at most
    ``_PER_CHECK`` problems, then the units the entries name that have no row.

    Raises :class:`ledger.entry_columns.ColumnsUnavailable` when the table cannot
    be read as columns (the caller then compares row by row)."""
    ids_of = party_ids(codes)
    parties = np.array([p for p in codes.parties if p is not None], dtype=np.int64)
    units = np.flatnonzero(store.seen).astype(np.int64)
    compared = np.zeros(store.capacity, np.bool_)
    problems: list[Problem] = []
    last = None
    while True:
        where = "" if last is None else f"WHERE id > {last}"
        frame = reader.query(
            f"SELECT {UNIT_COLUMNS} FROM units {where} ORDER BY id LIMIT {int(chunk)}",
            UNITS_SCHEMA,
        )
        if not frame.height:
            break
        last = int(frame["id"][-1])
        for _, wrong in _problems(frame, store, codes, ids_of, parties, compared):
            problems.append(wrong)
            if len(problems) >= _PER_CHECK:
                return problems
    missing = units[~compared[units]]
    return problems + _missing_units(
        store.derived(codes, missing[: _PER_CHECK - len(problems)]), _PER_CHECK - len(problems)
    )


def units_rows_problems(
    frame: pl.DataFrame, store: UnitStore, codes: CodeBook
) -> dict[int, Problem]:
    """What :func:`~ledger.verify_derived.unit_row_problem` finds in each units row of
    ``frame`` (:data:`UNITS_SCHEMA`; each row's unit followed in ``store``), by unit
    id: the rows compared with the store's arrays at once, only those that differ
    worded one by one."""
    parties = np.array([p for p in codes.parties if p is not None], dtype=np.int64)
    compared = np.zeros(store.capacity, np.bool_)
    return dict(_problems(frame, store, codes, party_ids(codes), parties, compared))


def _problems(
    frame: pl.DataFrame,
    store: UnitStore,
    codes: CodeBook,
    ids_of: dict[str | None, int | None],
    parties: np.ndarray,
    compared: np.ndarray,
) -> Iterator[tuple[int, Problem]]:
    """(unit id, problem) for each row of ``frame`` that does not hold what the
    store gives, in row order (the rows that may differ found by :func:`_wrong`,
    which marks ``compared``; each worded by ``unit_row_problem``)."""
    for i in _wrong(frame, store, parties, compared):
        row = frame.row(i)
        uid = row[0]
        u = store.derived(codes, np.array([uid])).get(uid) if _in(store, uid) else None
        wrong = unit_row_problem(row, u, ids_of, codes)
        if wrong is not None:
            yield uid, wrong


def _in(store: UnitStore, uid: int) -> bool:
    return 0 <= uid < store.capacity and bool(store.seen[uid])


def _wrong(
    frame: pl.DataFrame,
    store: UnitStore,
    parties: np.ndarray,
    compared: np.ndarray,
) -> list[int]:
    """Indexes (in ``frame``) of the rows that may not hold what the store gives;
    marks the store's units the frame has rows for in ``compared``."""
    ids = frame["id"].to_numpy()
    inside = (ids >= 0) & (ids < store.capacity)
    at = np.where(inside, ids, 0)
    seen = inside & store.seen[at]
    compared[at[seen]] = True
    hashes = frame["head_hash"].to_list()
    full = np.array([h is not None and len(h) == 32 for h in hashes], dtype=np.bool_)
    stored_hash = np.zeros((len(hashes), 32), np.uint8)
    if full.any():
        stored_hash[full] = np.frombuffer(
            b"".join(h for h, f in zip(hashes, full, strict=True) if f), np.uint8
        ).reshape(-1, 32)
    state = frame["state"].to_numpy()
    ok = (
        seen
        & (_STATE_NAMES[store.state[at]] == state)
        & _same_id(frame["holder_id"], store.holder[at], parties)
        & _same_id(frame["bound_for_id"], store.bound_for[at], parties)
        & (frame["container_id"].fill_null(-1).to_numpy() == store.container[at])
        & (frame["head_seq"].fill_null(-1).to_numpy() == store.head_seq[at])
        & full
        & (store.head_len[at] == 32)
        & (stored_hash == store.head_hash[at]).all(axis=1)
        & frame.select(pl.col("key").eq_missing(_spelled_key()))["key"].to_numpy()
    )
    return np.flatnonzero(~ok).tolist()
