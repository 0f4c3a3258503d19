"""Serial numbers for a production batch, never handed out twice.

One row per numbering scope in ``serial_blocks``: ``01/{gtin14}`` for the serials
of a trade item, ``00/{extension}{company prefix}`` for SSCC serial references.
Allocating is one atomic ``UPDATE … SET next_serial = next_serial + n … RETURNING``,
so two callers (threads, processes, servers) always get disjoint ranges on SQLite
and PostgreSQL alike. Allocation happens in the caller's transaction: commit it
before printing labels, or the serials may be handed out again after a rollback.
"""

from __future__ import annotations

import time

from sqlalchemy import BigInteger, Connection, String, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.ids import InvalidIdentifierError, gs1_check_digit, validate_gtin14
from ledger.models import Base

__all__ = ["SerialBlock", "SerialError", "allocate_serials", "allocate_ssccs"]

#: Serials are decimal numbers from 1; GS1 allows 20 characters.
MAX_SERIAL = 10**20 - 1
MAX_COUNT = 1_000_000


class SerialError(ValueError):
    """A request for serials that cannot be met, with the reason."""


class SerialBlock(Base):
    """The next free serial of one numbering scope."""

    __tablename__ = "serial_blocks"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_serial: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


def _take(db: Session | Connection, scope: str, count: int, limit: int) -> range:
    if not 1 <= count <= MAX_COUNT:
        raise SerialError(f"count must be 1 to {MAX_COUNT}, got {count}")
    now = time.time_ns() // 1_000_000
    dialect = db.get_bind().dialect.name if isinstance(db, Session) else db.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.execute(
        insert(SerialBlock)
        .values(scope=scope, next_serial=1, updated_ms=now)
        .on_conflict_do_nothing(index_elements=["scope"])
    )
    end = db.execute(
        update(SerialBlock)
        .where(SerialBlock.scope == scope)
        .values(next_serial=SerialBlock.next_serial + count, updated_ms=now)
        .returning(SerialBlock.next_serial)
    ).scalar_one()
    start = end - count
    if end - 1 > limit:
        raise SerialError(f"{scope}: only serials up to {limit} exist, {count} more requested")
    return range(start, end)


def allocate_serials(db: Session | Connection, gtin: str, count: int) -> list[str]:
    """``count`` fresh serials (AI 21) for the GTIN, e.g. ``["1", "2", …]``."""
    try:
        gtin14 = validate_gtin14(gtin)
    except InvalidIdentifierError as exc:
        raise SerialError(str(exc)) from exc
    return [str(n) for n in _take(db, f"01/{gtin14}", count, MAX_SERIAL)]


def allocate_ssccs(
    db: Session | Connection, company_prefix: str, count: int, *, extension: int = 0
) -> list[str]:
    """``count`` fresh SSCC-18 numbers: extension digit, company prefix, serial
    reference, check digit."""
    if not (
        company_prefix.isascii() and company_prefix.isdigit() and 6 <= len(company_prefix) <= 12
    ):
        raise SerialError(f"company prefix must be 6 to 12 digits, got {company_prefix!r}")
    if not 0 <= extension <= 9:
        raise SerialError(f"extension digit must be 0 to 9, got {extension}")
    ref_len = 16 - len(company_prefix)
    refs = _take(db, f"00/{extension}{company_prefix}", count, 10**ref_len - 1)
    out = []
    for ref in refs:
        body = f"{extension}{company_prefix}{ref:0{ref_len}d}"
        out.append(body + str(gs1_check_digit(body)))
    return out
