"""Error declarations: entries that retract an earlier entry of the same unit.

EPCIS 2.0 §7.4.1.2 (``errorDeclaration``) says an event recorded in error is not
deleted: a later declaration says it should not have been recorded. The ledger
does the same. A declaration is an entry of kind ``error_declaration`` on the
retracted entry's unit chain whose ``retracts`` names the retracted seq (it is in
the canonical bytes, so it is signed like the rest). Nothing is removed: the log
stays append-only and verifiable, and the unit's history shows both entries.

Everything that reads the ledger for what *happened* reads it without the
declarations and the entries they retract: custody (replayed here, for the append
and for verification alike), detection and settlement (the snapshot drops them),
and the whistleblower and territory checks (:func:`live_entries`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, and_, exists, select

from ledger.custody import Custody, UnitState, apply_entry
from ledger.database import fetch_all, placeholder
from ledger.ids import EntryKind
from ledger.models import Entry

__all__ = [
    "DECLARATION",
    "CustodyRow",
    "live_entries",
    "replay_custody",
    "retracted_below",
    "unit_custody_rows",
]

DECLARATION = EntryKind.ERROR_DECLARATION.value

CustodyRow = tuple[int, str, str, str | None, int | None, int | None]
"""(seq, kind, party code, counterparty code, container unit id, retracts_seq) of
one entry of a unit, in seq order."""


def replay_custody(rows: Iterable[CustodyRow]) -> tuple[Custody, int | None]:
    """The custody and the container (unit id) of a unit after its entries ``rows``
    (seq order), read without declarations and the entries they retract.

    The rules are :func:`ledger.custody.apply_entry`'s, applied as if the retracted
    entries had never been appended: the first live entry is the unit's first. The
    container follows packing (into the entry's container) and unpacking (out).
    """
    rows = list(rows)
    retracted = {r[5] for r in rows if r[1] == DECLARATION and r[5] is not None}
    custody = Custody(UnitState.UNCOMMISSIONED, None, None)
    container: int | None = None
    first = True
    for seq, kind_name, party, counterparty, container_id, _ in rows:
        if kind_name == DECLARATION or seq in retracted:
            continue
        kind = EntryKind(kind_name)
        apply_entry(custody, kind, party, counterparty, is_new=first)
        first = False
        if kind is EntryKind.PACKING:
            container = container_id
        elif kind is EntryKind.UNPACKING:
            container = None
    return custody, container


def unit_custody_rows(conn: Connection, unit_id: int) -> list[CustodyRow]:
    """Every stored entry of unit ``unit_id`` as :data:`CustodyRow`, in seq order."""
    ph = placeholder(conn)
    rows: Sequence[Sequence[object]] = fetch_all(
        conn,
        "SELECT e.seq, e.kind, p.code, c.code, e.container_id, e.retracts_seq FROM entries e"
        " JOIN parties p ON p.id = e.party_id LEFT JOIN parties c ON c.id = e.counterparty_id"
        f" WHERE e.unit_id = {ph} ORDER BY e.seq",
        (unit_id,),
    )
    return [
        (
            int(str(r[0])),
            str(r[1]),
            str(r[2]),
            None if r[3] is None else str(r[3]),
            None if r[4] is None else int(str(r[4])),
            None if r[5] is None else int(str(r[5])),
        )
        for r in rows
    ]


def retracted_below(conn: Connection, tree_size: int) -> list[tuple[int, int]]:
    """(declaration seq, retracted seq) of every declaration with seq < ``tree_size``,
    in seq order: what a snapshot as of that tree size leaves out."""
    ph = placeholder(conn)
    return [
        (int(str(s)), int(str(r)))
        for s, r in fetch_all(
            conn,
            "SELECT seq, retracts_seq FROM entries WHERE retracts_seq IS NOT NULL"
            f" AND seq < {ph} ORDER BY seq",
            (tree_size,),
        )
    ]


def live_entries(entry: Any = Entry, declared: FromClause | None = None) -> ColumnElement[bool]:
    """A filter on :class:`~ledger.models.Entry` (or an alias of it) that keeps the
    observations nobody retracted: no declaration, and no declaration names it.

    ``declared`` is where the "no declaration names it" probe reads: pass
    :func:`ledger.partitions.declarations` of the session or connection the query
    runs on, which on partitioned PostgreSQL is ``entry_retractions``, one
    primary-key probe instead of one in every partition's ``retracts_seq`` index
    (131.8 against 2.6 ms for a unit's history at 102 partitions, docs/scaling.md).
    ``None`` reads ``entries`` itself, which is right on every schema (SQLite, and
    PostgreSQL made by ``create_all``) but probes every partition.
    """
    if declared is None:
        declared = Entry.__table__.alias()
    return and_(
        entry.retracts_seq.is_(None),
        ~exists(select(declared.c.seq).where(declared.c.retracts_seq == entry.seq)),
    )
