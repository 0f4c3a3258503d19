"""PostgreSQL's ``entries`` partitions by seq range: listed, and created ahead of need.

The migration ``131f487ea228`` makes ``entries`` a table partitioned by range of
``seq`` (PostgreSQL documentation 5.11 "Table Partitioning"): ``entries_p0`` holds
every seq below the first bound, ``entries_p<lo>`` the seqs ``lo <= seq < hi``.
Partitions hold ``HOPCHAIN_ENTRY_PARTITION_ROWS`` seqs each (default 10,000,000);
a change of that setting applies to the partitions created after it.

:func:`ensure_partitions` keeps at least one full partition beyond the ledger's
head, so an append never finds its seqs without a partition. Every append calls it
with the ledger lock held; ``hopchain ledger partitions --ahead N`` calls it too.

A new partition is made as a plain table and then attached (``ALTER TABLE ...
ATTACH PARTITION``), which takes only a SHARE UPDATE EXCLUSIVE lock on ``entries``:
readers (snapshots, verification, the pages) and writers go on while it happens,
where ``CREATE TABLE ... PARTITION OF`` would wait for every reader and hold
everyone back behind an ACCESS EXCLUSIVE lock. A partition that is only wanted
ahead (not for the rows being written now) gives up after
:data:`AHEAD_LOCK_TIMEOUT` when something else holds a conflicting lock (a manual
``ANALYZE entries``, an index build) and is created by a later append instead.

SQLite has no partitioning: there every function here does nothing.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Engine, FromClause, MetaData, Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ledger.models import Entry

__all__ = [
    "AHEAD_LOCK_TIMEOUT",
    "DEFAULT_PARTITION_ROWS",
    "MAX_AT_ONCE",
    "PARTITION_ROWS_ENV",
    "PG_ONLY_TABLES",
    "Partition",
    "PartitionError",
    "declarations",
    "declarations_table",
    "ensure_partitions",
    "is_partitioned",
    "list_partitions",
    "missing_ranges",
    "parse_bound",
    "partition_rows",
    "without_layout_differences",
]

PARTITION_ROWS_ENV = "HOPCHAIN_ENTRY_PARTITION_ROWS"
DEFAULT_PARTITION_ROWS = 10_000_000
#: How long a partition wanted only ahead of need waits for its lock on ``entries``.
AHEAD_LOCK_TIMEOUT = "2s"
#: The most partitions one call creates: more means a wrong size or setting.
MAX_AT_ONCE = 1000
#: Tables only PostgreSQL's partitioned layout has (the one-declaration-per-seq rule).
PG_ONLY_TABLES = frozenset({"entry_retractions"})

# Any 64-bit key, the same in every process: serialises partition creation.
_ADVISORY_KEY = 0x686F705F70617274  # "hop_part"
_PARTITION_NAME = re.compile(r"entries_p\d+")
_BOUND = re.compile(
    r"FOR VALUES FROM \((MINVALUE|'-?\d+'|-?\d+)\) TO \((MAXVALUE|'-?\d+'|-?\d+)\)",
    re.IGNORECASE,
)


class PartitionError(ValueError):
    """A partition setting or argument is not valid; the message names it."""


@dataclass(frozen=True, slots=True)
class Partition:
    """One partition of ``entries``: seqs ``lo <= seq < hi``.

    ``lo`` is None for the first partition (from MINVALUE), ``hi`` None for one
    without an upper bound (MAXVALUE); both None for a DEFAULT partition, which
    this module never makes and counts as holding every seq (nothing is created
    beside it: attaching a range would have to move its rows). ``rows``
    is the number of entries in it: counted, or from the ledger's size (entries are
    numbered without gaps), see :func:`list_partitions`.
    """

    name: str
    lo: int | None
    hi: int | None
    rows: int

    def describe(self) -> str:
        """``[lo, hi)`` as a person reads it: ``[start, 10,000,000)``."""
        lo = "start" if self.lo is None else f"{self.lo:,}"
        hi = "end" if self.hi is None else f"{self.hi:,}"
        return f"[{lo}, {hi})"


def partition_rows() -> int:
    """Seqs per new partition: ``HOPCHAIN_ENTRY_PARTITION_ROWS``, default 10,000,000.

    Raises :class:`PartitionError` naming the setting when it is not a whole
    number of at least 1.
    """
    raw = os.environ.get(PARTITION_ROWS_ENV, "").strip().replace("_", "")
    if not raw:
        return DEFAULT_PARTITION_ROWS
    if not raw.isdigit() or int(raw) < 1:
        raise PartitionError(
            f"{PARTITION_ROWS_ENV} must be a whole number of seqs of at least 1, got {raw!r}"
        )
    return int(raw)


def is_partitioned(conn: Connection) -> bool:
    """Whether ``entries`` is a partitioned table (PostgreSQL after the migration)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.exec_driver_sql(
        "SELECT relkind FROM pg_class WHERE oid = to_regclass('entries')"
    ).scalar()
    return kind == "p"


def parse_bound(bound: str) -> tuple[int | None, int | None]:
    """``(lo, hi)`` of a range partition's bound as PostgreSQL prints it
    (``pg_get_expr(relpartbound)``: ``FOR VALUES FROM ('64') TO ('128')``): None for
    MINVALUE / MAXVALUE; ``(None, None)`` for ``DEFAULT``. Raises
    :class:`PartitionError` for anything else (not a bound on one integer column)."""
    match = _BOUND.fullmatch(bound.strip())
    if match is None:
        if bound.strip().upper() == "DEFAULT":
            return None, None
        raise PartitionError(f"not a range bound on seq: {bound!r}")
    lo, hi = (
        None if b.upper() in ("MINVALUE", "MAXVALUE") else int(b.strip("'")) for b in match.groups()
    )
    return lo, hi


def _bounds(conn: Connection) -> list[tuple[str, int | None, int | None]]:
    rows = conn.exec_driver_sql(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass('entries')"
    ).all()
    found = [(str(name), *parse_bound(str(bound))) for name, bound in rows]
    return sorted(found, key=lambda b: (b[1] is not None, b[1] or 0))


def declarations_table(conn: Connection) -> str:
    """Where to look up the declaration retracting a seq: a table with the columns
    ``retracts_seq`` and ``seq`` (the declaration's).

    ``entry_retractions`` on PostgreSQL after the migration (one primary-key probe)
    rather than ``entries`` itself, whose ``retracts_seq`` index is one per
    partition: a unit's history at 102 partitions took 131.8 ms with ``entries`` and
    2.6 ms with ``entry_retractions`` (benchmarks/compare_partition_queries.py,
    docs/scaling.md). ``entries`` elsewhere
    (SQLite, or a PostgreSQL schema made without the migrations).

    Once an engine's schema is found to have ``entry_retractions`` the answer is
    remembered for that engine (the label answer stays one statement); a schema
    without it is asked each time, so one migrated later is seen at once. A
    downgrade past the migration is run by ``hopchain db``, not by a serving process.
    """
    if conn.dialect.name != "postgresql":
        return "entries"
    if _split_declarations.get(conn.engine):
        return "entry_retractions"
    split = conn.exec_driver_sql("SELECT to_regclass('entry_retractions') IS NOT NULL").scalar()
    if not split:
        return "entries"
    _split_declarations[conn.engine] = True
    return "entry_retractions"


# Engines whose schema has entry_retractions (see declarations_table).
_split_declarations: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


# PostgreSQL only (the migration makes it), so on a metadata of its own: the models
# describe SQLite's schema, where entries' unique index keeps the rule.
_ENTRY_RETRACTIONS = Table(
    "entry_retractions",
    MetaData(),
    Column("retracts_seq", BigInteger, primary_key=True),
    Column("seq", BigInteger, nullable=False),
)


def declarations(conn: Connection | Session) -> FromClause:
    """:func:`declarations_table` of ``conn`` (a connection, or a session's) as a
    selectable for SQLAlchemy queries: see :func:`declarations_named`."""
    if isinstance(conn, Session):
        conn = conn.connection()
    return declarations_named(declarations_table(conn))


def declarations_named(table: str) -> FromClause:
    """``table`` (``"entry_retractions"`` or ``"entries"``, as
    :func:`declarations_table` answers) as a selectable under an alias of its own
    (one statement may probe it more than once): columns ``retracts_seq`` and
    ``seq``. For statements compiled once per table and cached."""
    if table == "entry_retractions":
        return _ENTRY_RETRACTIONS.alias()
    if table == "entries":
        return Entry.__table__.alias()
    raise ValueError(f"declarations are kept in entries or entry_retractions, not {table!r}")


def list_partitions(conn: Connection, *, count: bool = False) -> list[Partition]:
    """The partitions of ``entries`` in seq order; empty where it is not partitioned.

    ``rows`` comes from the ledger's size (``ledger_head.tree_size``: seqs are
    numbered without gaps, so a partition holds the seqs of its range below the
    size), which costs nothing; with ``count`` each partition's rows are counted
    (a full scan of each: minutes for a ledger of billions).
    """
    if not is_partitioned(conn):
        return []
    size = int(
        conn.exec_driver_sql("SELECT coalesce(max(tree_size), 0) FROM ledger_head").scalar_one()
    )
    out = []
    for name, lo, hi in _bounds(conn):
        if count:
            rows = int(conn.exec_driver_sql(f'SELECT count(*) FROM "{name}"').scalar_one())
        else:
            rows = max(0, min(size, size if hi is None else hi) - max(lo or 0, 0))
        out.append(Partition(name, lo, hi, rows))
    return out


def _covered(bounds: Sequence[tuple[str, int | None, int | None]]) -> int | None:
    """The first seq after the last partition (None: one has no upper bound)."""
    if not bounds:
        return 0
    highs = [b[2] for b in bounds]
    if any(h is None for h in highs):
        return None
    return max(h for h in highs if h is not None)


def _attach(conn: Connection, lo: int, hi: int, first: bool) -> Partition:
    """Partition ``[lo, hi)`` (``first``: from MINVALUE), made and then attached."""
    name = f"entries_p{lo}"
    conn.exec_driver_sql(
        f'CREATE TABLE IF NOT EXISTS "{name}" '
        "(LIKE entries INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMMENTS)"
    )
    conn.exec_driver_sql(
        f'ALTER TABLE entries ATTACH PARTITION "{name}" '
        f"FOR VALUES FROM ({'MINVALUE' if first else lo}) TO ({hi})"
    )
    return Partition(name, None if first else lo, hi, 0)


def _target(
    bounds: Sequence[tuple[str, int | None, int | None]], upto: int, size: int
) -> int | None:
    """The first seq that may stay without a partition: the end of the partition
    after the one holding seq ``upto`` (existing ones whatever their size, then as
    the next ones of ``size`` seqs would lie). None: an unbounded partition holds
    every seq to come."""
    ranged = [(lo, hi) for _, lo, hi in bounds]
    for i, (lo, hi) in enumerate(ranged):
        if hi is None:
            return None
        if (lo is None or lo <= upto) and upto < hi:
            if i + 1 < len(ranged):
                return ranged[i + 1][1]
            return hi + size
    covered = _covered(bounds)
    if covered is None:
        return None
    return covered + ((upto - covered) // size + 2) * size


def missing_ranges(
    bounds: Sequence[tuple[str, int | None, int | None]], upto_seq: int, rows: int
) -> list[tuple[int, int]]:
    """The ``[lo, hi)`` ranges :func:`ensure_partitions` creates, in order, given the
    existing partitions ``bounds`` (name, lo, hi as :func:`parse_bound` gives them):
    contiguous from the end of the last one, ``rows`` seqs each, until the partition
    seq ``upto_seq`` goes to and one whole partition after it exist. Empty when they
    do (or when a partition without an upper bound holds every seq to come).
    Raises :class:`PartitionError` rather than plan more than :data:`MAX_AT_ONCE`."""
    covered, target = _covered(bounds), _target(bounds, upto_seq, rows)
    if covered is None or target is None:
        return []
    count = max(0, -(-(target - covered) // rows))
    if count > MAX_AT_ONCE:
        raise PartitionError(
            f"seq {upto_seq:,} lies {count:,} partitions of {rows:,} seqs beyond the last one"
            f" (which ends at seq {covered:,}); refusing to create more than {MAX_AT_ONCE:,}"
            f" at once: check the ledger size and {PARTITION_ROWS_ENV}"
        )
    return [(lo, lo + rows) for lo in range(covered, target, rows)]


_Bounds = tuple[tuple[str, int | None, int | None], ...]


@dataclass(frozen=True, slots=True)
class _Known:
    """What one process last read of an engine's partitions: ``bounds`` (None: entries
    was not partitioned), read when the ledger's size was ``upto``."""

    bounds: _Bounds | None
    upto: int


# Per engine, in this process: lets an append skip the catalogue query while the
# partitions it last read still hold its rows and one whole partition after them.
_known: weakref.WeakKeyDictionary[Engine, _Known] = weakref.WeakKeyDictionary()
_known_lock = threading.Lock()


def _still_enough(known: _Known | None, start: int | None, upto_seq: int, size: int) -> bool:
    """Whether what was read before is enough for rows ``start <= seq < upto_seq``
    without reading the catalogue again.

    Never without ``start``, nor when ``start`` lies below the size last read (the
    ledger does not shrink: a database emptied or made again under the same engine).
    Partitions made since by another process only make the remembered list short,
    which sends the caller back to the catalogue sooner, never later. An
    ``entries`` read as not partitioned is taken as such for one partition's worth
    of seqs (``size``) past that read: a migration run meanwhile makes partitions
    through at least one whole partition past the ledger's head.
    """
    if known is None or start is None or start < known.upto:
        return False
    if known.bounds is None:
        return upto_seq < known.upto + size
    try:
        return not missing_ranges(known.bounds, upto_seq, size)
    except PartitionError:  # too many from what was read: the catalogue decides
        return False


def _remember(engine: Engine, bounds: _Bounds | None, upto: int) -> None:
    with _known_lock:
        _known[engine] = _Known(bounds, upto)


def ensure_partitions(
    conn: Connection,
    upto_seq: int,
    *,
    rows: int | None = None,
    wait: bool = False,
    start: int | None = None,
) -> list[Partition]:
    """Create the partitions missing up to one full partition after the one that
    will hold seq ``upto_seq``; return those created.

    ``upto_seq`` is the ledger's size once the caller's rows are written (the next
    seq to come): afterwards every seq below it has a partition, and so has the
    whole partition after the one the next seq goes to. So a new partition is made
    only when the head enters the last one, once every ``rows`` seqs. ``rows`` defaults to
    :func:`partition_rows`. Runs in ``conn``'s transaction: the caller commits (the
    partitions appear with its rows) or rolls back (they do not).

    A partition wanted only ahead gives way after :data:`AHEAD_LOCK_TIMEOUT` to a
    conflicting lock on ``entries`` (it is left for a later call) unless ``wait``.

    Safe under concurrent callers: creation is serialised by a transaction-level
    advisory lock and the bounds are read again under it, so two callers never
    make the same partition. Costs one catalogue query when nothing is missing,
    and none at all when the caller passes ``start`` (the ledger's size before its
    rows, as an append does) and the partitions this process last read for the
    engine (remembered per engine, learned at the last query) still reach one whole
    partition past the partition of ``upto_seq``: then nothing can be missing, since
    partitions are only ever added. A list read in a call that created partitions
    is not remembered (the caller may roll back): the next call reads again.
    Does nothing on SQLite or on an ``entries`` that is not partitioned. Raises
    :class:`PartitionError` for a negative ``upto_seq`` or ``rows`` below 1.
    """
    if isinstance(upto_seq, bool) or not isinstance(upto_seq, int) or upto_seq < 0:
        raise PartitionError(f"upto_seq must be a seq (a whole number >= 0), got {upto_seq!r}")
    size = partition_rows() if rows is None else rows
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise PartitionError(f"partition rows must be a whole number of at least 1, got {size!r}")
    if conn.dialect.name != "postgresql":
        return []
    engine = conn.engine
    if _still_enough(_known.get(engine), start, upto_seq, size):
        return []
    read = tuple(_bounds(conn))
    if not missing_ranges(read, upto_seq, size):
        _remember(engine, read, upto_seq)
        return []
    if not is_partitioned(conn):
        _remember(engine, None, upto_seq)
        return []
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_KEY})")
    bounds = _bounds(conn)  # another caller may have made them meanwhile
    first = not bounds
    created: list[Partition] = []
    for lo, hi in missing_ranges(bounds, upto_seq, size):
        if wait or lo < upto_seq:  # rows about to be written need it: wait for it
            created.append(_attach(conn, lo, hi, first))
        elif (made := _attach_ahead(conn, lo, hi, first)) is not None:
            created.append(made)
        else:
            break  # something holds entries; a later append makes it
        first = False
    return created


def _attach_ahead(conn: Connection, lo: int, hi: int, first: bool) -> Partition | None:
    before = conn.exec_driver_sql("SHOW lock_timeout").scalar_one()
    conn.exec_driver_sql(f"SELECT set_config('lock_timeout', '{AHEAD_LOCK_TIMEOUT}', true)")
    try:
        with conn.begin_nested():
            return _attach(conn, lo, hi, first)
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        return None
    finally:
        conn.exec_driver_sql("SELECT set_config('lock_timeout', %s, true)", (str(before),))


def without_layout_differences(diff: list[Any]) -> list[Any]:
    """An Alembic autogenerate diff (PostgreSQL) without what is the partitioned
    layout of ``entries`` rather than a missing migration: the partitions and their
    indexes, :data:`PG_ONLY_TABLES`, and ``ix_entries_retracts_seq`` found as a plain
    index where the models declare it unique (a unique index must contain the
    partition key; the migration keeps the rule in ``entry_retractions``), that
    pair only when both halves are there."""

    def table_of(obj: Any) -> str:
        return str(getattr(getattr(obj, "table", None), "name", ""))

    def layout(name: str) -> bool:
        return bool(_PARTITION_NAME.fullmatch(name)) or name in PG_ONLY_TABLES

    def retracts(change: Any, op: str) -> bool:
        return (
            isinstance(change, tuple)
            and change[0] == op
            and table_of(change[1]) == "entries"
            and getattr(change[1], "name", None) == "ix_entries_retracts_seq"
        )

    swapped = any(retracts(c, "remove_index") for c in diff) and any(
        retracts(c, "add_index") for c in diff
    )
    kept = []
    for change in diff:
        if isinstance(change, tuple) and (
            (change[0] == "remove_table" and layout(str(getattr(change[1], "name", ""))))
            or (change[0] == "remove_index" and layout(table_of(change[1])))
            or (swapped and (retracts(change, "remove_index") or retracts(change, "add_index")))
        ):
            continue
        kept.append(change)
    return kept
