"""Tables of the ledger: parties, sites, units, entries and the stored Merkle tree.

Every package that may import ``ledger`` declares its tables on :class:`Base`, so
one metadata (and one Alembic history) covers them. ``geo`` keeps its own base
because it may import nothing of ours.

Coordinates are integer micro-degrees and timestamps integer milliseconds since
the Unix epoch (UTC): the canonical bytes of an entry are re-encoded from these
columns, and integers re-encode exactly where floats would not.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Party(Base):
    """A manufacturer, distributor (with a parent for sub-distributors) or dealer."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(
        String(20)
    )  # manufacturer|distributor|dealer|retailer|inspector
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), default=None)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    # the language of the partner's documents (statements, e-mails): a Babel locale
    # such as "zh_Hans_CN", "en", "es"; None = the deployment's default
    locale: Mapped[str | None] = mapped_column(String(16), default=None)
    # partner master data (issue 12, partners/): the name in the partner's own
    # script (a Chinese name beside the legal English one), its IANA time zone and
    # where it stands in the relationship: prospect|trial|active|suspended|exiting|
    # terminated (parties made before partner management are active)
    local_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    time_zone: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")


class Site(Base):
    """A warehouse, shop or office of a party; scans made there take its location."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    lat_e6: Mapped[int | None] = mapped_column(Integer, default=None)
    lon_e6: Mapped[int | None] = mapped_column(Integer, default=None)


class Unit(Base):
    """A serialized item or logistic unit with its current custody.

    ``head_seq``/``head_hash`` point at the unit's latest entry so an append reads
    one row per unit instead of walking its chain.
    """

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    gtin: Mapped[str | None] = mapped_column(String(14), default=None)
    serial: Mapped[str | None] = mapped_column(String(20), default=None)
    sscc: Mapped[str | None] = mapped_column(String(18), default=None)
    container_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), default=None)
    bound_for_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), default=None)
    state: Mapped[str] = mapped_column(String(20))  # custody.UnitState values
    head_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    head_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)

    # Most units are in no container: a partial index keeps "what is in this
    # pallet" fast without an index write for every loose unit.
    __table_args__ = (
        Index(
            "ix_units_container_id",
            "container_id",
            sqlite_where=text("container_id IS NOT NULL"),
            postgresql_where=text("container_id IS NOT NULL"),
        ),
    )


class Entry(Base):
    """One observation of one unit: leaf ``seq`` of the global log.

    The canonical bytes are a pure function of these columns (joined to the codes
    and keys they reference), see :mod:`ledger.canonical`.
    """

    __tablename__ = "entries"

    # INTEGER on SQLite so that seq *is* the rowid: entries are stored in seq order
    # and a range scan reads the table directly instead of an index plus lookups.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at_ms: Mapped[int] = mapped_column(BigInteger)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    counterparty_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), default=None)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), default=None)
    lat_e6: Mapped[int | None] = mapped_column(Integer, default=None)
    lon_e6: Mapped[int | None] = mapped_column(Integer, default=None)
    container_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None)
    device: Mapped[str] = mapped_column(String(64), default="")
    device_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    anomaly: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # An error declaration (EPCIS 2.0 errorDeclaration, kind ``error_declaration``)
    # names the seq of the entry it retracts; None for every observation.
    retracts_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (
        Index("ix_entries_at_ms", "at_ms"),
        # what was shipped, received or returned to a party (its credit exposure,
        # risk.open_items): only entries with a counterparty are indexed
        Index(
            "ix_entries_counterparty_at_ms",
            "counterparty_id",
            "at_ms",
            sqlite_where=text("counterparty_id IS NOT NULL"),
            postgresql_where=text("counterparty_id IS NOT NULL"),
        ),
        Index(
            "ix_entries_retracts_seq",
            "retracts_seq",
            unique=True,
            sqlite_where=text("retracts_seq IS NOT NULL"),
            postgresql_where=text("retracts_seq IS NOT NULL"),
        ),
    )


class TreeNode(Base):
    """A complete Merkle subtree hash at a stored level (see :mod:`ledger.tree`).

    Level 0 (leaf hashes) lives in ``entries.leaf_hash``; only levels that are
    multiples of the tile height are stored here, so appending writes about one
    row per 2**height leaves and never recomputes the tree.
    """

    __tablename__ = "tree_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerHead(Base):
    """The single row every append locks and advances: size and right frontier."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)  # 32-byte hashes, largest subtree first
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class Checkpoint(Base):
    """A signed C2SP tlog-checkpoint note, kept so any past size can be audited."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class ScanReceipt(Base):
    """The result of one device scan, so a replayed (device, device_seq) appends nothing."""

    __tablename__ = "scan_receipts"

    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    entry_count: Mapped[int] = mapped_column(Integer)
    anomaly: Mapped[str] = mapped_column(Text, default="")
    # SHA-256 of what the scan said (scanners.batch.scan_digest): a replay is a
    # duplicate only when it says the same; a different scan under the same
    # (device, device_seq) is a conflict. None for receipts written before it existed.
    content_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
