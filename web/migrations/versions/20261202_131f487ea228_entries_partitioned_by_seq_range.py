"""entries partitioned by seq range

On PostgreSQL, ``entries`` becomes a declaratively partitioned table (``PARTITION BY
RANGE (seq)``, PostgreSQL documentation 5.11 "Table Partitioning") with every column,
foreign key and index it had, and its rows are moved into partitions of
``HOPCHAIN_ENTRY_PARTITION_ROWS`` seqs each (default 10,000,000): ``entries_p0``
holds every seq below the first bound (from MINVALUE), ``entries_p<lo>`` the seqs
``lo <= seq < lo + rows``; the partitions up to the one the next seq goes to and
one full partition after it are created now, and
``ledger.partitions.ensure_partitions`` (called by every append) keeps creating them
ahead of need.

A unique index on a partitioned table must contain the partition key, so the
unique ``ix_entries_retracts_seq`` (one error declaration per retracted seq)
becomes a plain partitioned index for the look-ups, and the guarantee moves to the
small table ``entry_retractions`` (``retracts_seq`` primary key, ``seq`` of the
declaration) that triggers on ``entries`` keep in step on insert, update and
delete: a second declaration of the same seq is refused by the database as before.

SQLite has no partitioning: there this migration does nothing, and ``entries``
keeps its unique index.

Downgrade restores a plain table (rows copied back, the unique index recreated).

Revision ID: 131f487ea228
Revises: 458a825212ab
Create Date: 2026-12-02 01:10:00.000000
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "131f487ea228"
down_revision: str | Sequence[str] | None = "458a825212ab"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENV = "HOPCHAIN_ENTRY_PARTITION_ROWS"
_DEFAULT_ROWS = 10_000_000
_UNIQUE_RETRACTS = "CREATE UNIQUE INDEX ix_entries_retracts_seq"
_PLAIN_RETRACTS = "CREATE INDEX ix_entries_retracts_seq"

# The triggers keeping entry_retractions in step; WHEN clauses keep every
# observation (retracts_seq NULL) free of any trigger call.
_RETRACTIONS = """
CREATE TABLE entry_retractions (
    retracts_seq BIGINT NOT NULL CONSTRAINT pk_entry_retractions PRIMARY KEY,
    seq BIGINT NOT NULL
);
CREATE INDEX ix_entry_retractions_seq ON entry_retractions (seq);
INSERT INTO entry_retractions (retracts_seq, seq)
    SELECT retracts_seq, seq FROM entries WHERE retracts_seq IS NOT NULL;
CREATE FUNCTION entries_one_declaration_per_seq() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM entry_retractions WHERE seq = OLD.seq;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.retracts_seq IS NOT NULL THEN
        INSERT INTO entry_retractions (retracts_seq, seq) VALUES (NEW.retracts_seq, NEW.seq);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER entries_declaration_insert AFTER INSERT ON entries FOR EACH ROW
    WHEN (NEW.retracts_seq IS NOT NULL) EXECUTE FUNCTION entries_one_declaration_per_seq();
CREATE TRIGGER entries_declaration_update AFTER UPDATE OF seq, retracts_seq ON entries
    FOR EACH ROW WHEN (OLD.retracts_seq IS NOT NULL OR NEW.retracts_seq IS NOT NULL)
    EXECUTE FUNCTION entries_one_declaration_per_seq();
CREATE TRIGGER entries_declaration_delete AFTER DELETE ON entries FOR EACH ROW
    WHEN (OLD.retracts_seq IS NOT NULL) EXECUTE FUNCTION entries_one_declaration_per_seq();
"""
_NO_RETRACTIONS = """
DROP TRIGGER IF EXISTS entries_declaration_insert ON entries;
DROP TRIGGER IF EXISTS entries_declaration_update ON entries;
DROP TRIGGER IF EXISTS entries_declaration_delete ON entries;
DROP FUNCTION IF EXISTS entries_one_declaration_per_seq();
DROP TABLE IF EXISTS entry_retractions;
"""


def _partition_rows() -> int:
    raw = os.environ.get(_ENV, "").strip()
    if not raw:
        return _DEFAULT_ROWS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{_ENV} must be a whole number of seqs of at least 1, got {raw!r}")
    return int(raw)


def _is_partitioned(bind: sa.Connection) -> bool:
    kind = bind.execute(
        sa.text("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('entries')")
    ).scalar()
    return kind == "p"


def _definitions(bind: sa.Connection, table: str) -> tuple[list[str], list[str]]:
    """The foreign keys (ALTER TABLE clauses) and the non-primary-key indexes
    (CREATE INDEX statements) of ``table``, as PostgreSQL prints them."""
    fks = (
        bind.execute(
            sa.text(
                "SELECT format('ADD CONSTRAINT %I %s', conname, pg_get_constraintdef(oid))"
                " FROM pg_constraint WHERE conrelid = to_regclass(:t) AND contype = 'f'"
                " ORDER BY conname"
            ),
            {"t": table},
        )
        .scalars()
        .all()
    )
    indexes = (
        bind.execute(
            sa.text(
                "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
                " WHERE i.indrelid = to_regclass(:t) AND NOT i.indisprimary"
                " ORDER BY i.indexrelid::regclass::text"
            ),
            {"t": table},
        )
        .scalars()
        .all()
    )
    return list(fks), list(indexes)


def _rebuild(bind: sa.Connection, partitioned: bool) -> None:
    """Rename ``entries`` away, make the new ``entries`` with the same columns (and,
    when ``partitioned``, its partitions), move the rows, then put the primary key,
    foreign keys and indexes back on the new table."""
    fks, indexes = _definitions(bind, "entries")
    moved = int(bind.execute(sa.text("SELECT count(*) FROM entries")).scalar_one())
    op.execute("ALTER TABLE entries RENAME TO entries_before")
    for name in (
        bind.execute(
            sa.text(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE i.indrelid = to_regclass('entries_before') AND NOT i.indisprimary"
            )
        )
        .scalars()
        .all()
    ):
        op.execute(f'DROP INDEX "{name}"')
    op.execute("ALTER TABLE entries_before DROP CONSTRAINT pk_entries")
    like = "LIKE entries_before INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMMENTS"
    if partitioned:
        op.execute(f"CREATE TABLE entries ({like}) PARTITION BY RANGE (seq)")
        rows = _partition_rows()
        head = int(
            bind.execute(
                sa.text("SELECT coalesce(max(seq) + 1, 0) FROM entries_before")
            ).scalar_one()
        )
        # the first takes everything below its bound; then up to the partition the
        # next seq goes to and one full partition after it (as ensure_partitions does)
        op.execute(
            f"CREATE TABLE entries_p0 PARTITION OF entries FOR VALUES FROM (MINVALUE) TO ({rows})"
        )
        lo = rows
        while lo < (head // rows + 2) * rows:
            op.execute(
                f"CREATE TABLE entries_p{lo} PARTITION OF entries"
                f" FOR VALUES FROM ({lo}) TO ({lo + rows})"
            )
            lo += rows
    else:
        op.execute(f"CREATE TABLE entries ({like})")
    op.execute("INSERT INTO entries SELECT * FROM entries_before ORDER BY seq")
    copied = int(bind.execute(sa.text("SELECT count(*) FROM entries")).scalar_one())
    if copied != moved:  # pragma: no cover - a move that lost rows must not commit
        raise RuntimeError(f"entries: {moved} rows before the move, {copied} after")
    op.execute("DROP TABLE entries_before")
    op.execute("ALTER TABLE entries ADD CONSTRAINT pk_entries PRIMARY KEY (seq)")
    for fk in fks:
        op.execute(f"ALTER TABLE entries {fk}")
    for index in indexes:
        index = index.replace(" ON ONLY ", " ON ")  # how a partitioned index prints
        if partitioned:
            index = index.replace(_UNIQUE_RETRACTS, _PLAIN_RETRACTS)
        elif index.startswith(_PLAIN_RETRACTS):
            index = index.replace(_PLAIN_RETRACTS, _UNIQUE_RETRACTS)
        op.execute(index)
    op.execute("ANALYZE entries")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or _is_partitioned(bind):
        return
    _rebuild(bind, partitioned=True)
    op.execute(_RETRACTIONS)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _is_partitioned(bind):
        return
    op.execute(_NO_RETRACTIONS)
    _rebuild(bind, partitioned=False)
