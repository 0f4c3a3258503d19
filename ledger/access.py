"""Who may read a unit: the read rule for a party that sees only its own.

The manufacturer's people read every unit. A channel partner (a distributor, or
a dealer below it) reads a unit only when custody was handed to it by someone
else, that is when an entry recorded by *another* party ships or returns the unit
to it. That one test covers

- the units allocated to it (the first manufacturer-to-distributor shipment, as
  :mod:`settlement.detection` defines allocation),
- the units addressed to it now (in transit to it) and those it holds now, which
  it can only have received after such a shipment, and
- the units whose custody passed through it and moved on.

It also reads the units it made itself (whose first entry is its own
commissioning): the cases and pallets it packs into. Beyond that, having written
an entry grants nothing: a party's own entries (an inspection, a receipt of a unit
nobody shipped to it, a rejected or anomalous scan) never make a unit readable, so
custody it took for itself without a hand-over does not count.
A unit the party may not read is reported exactly like one that does not exist
(:class:`~ledger.queries.UnitNotFoundError` with the same words), so sequential
serial numbers cannot be enumerated.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.database import placeholder
from ledger.ids import EntryKind, parse_key
from ledger.queries import UnitNotFoundError

__all__ = ["HANDOVER_KINDS", "may_read_unit", "require_readable"]

#: Entry kinds that hand a unit to their counterparty.
HANDOVER_KINDS = (EntryKind.SHIPPING.value, EntryKind.RETURNING.value)


def may_read_unit(conn: Connection, key: str, party: str) -> bool:
    """Whether the party with code ``party`` may read the unit with ``key``.

    False for a unit that does not exist, an unknown party and an empty code.
    One query over the unit's own entries (``entries.unit_id`` is indexed). Raises :class:`~ledger.ids.InvalidIdentifierError` for a
    malformed key.
    """
    if not party:
        return False
    key = parse_key(key).key
    ph = placeholder(conn)
    handed = ", ".join([ph] * len(HANDOVER_KINDS))
    row = conn.exec_driver_sql(
        "SELECT 1 FROM units u JOIN parties p ON p.code = " + ph + " WHERE u.key = " + ph
        + " AND (EXISTS (SELECT 1 FROM entries e WHERE e.unit_id = u.id"
        " AND e.counterparty_id = p.id AND e.party_id <> p.id AND e.kind IN (" + handed + "))"
        " OR EXISTS (SELECT 1 FROM entries f WHERE f.unit_id = u.id AND f.party_id = p.id"
        " AND f.kind = " + ph + " AND length(f.prev_hash) = 0))",
        (party, key, *HANDOVER_KINDS, EntryKind.COMMISSIONING.value),
    ).first()  # fmt: skip
    return row is not None


def require_readable(conn: Connection, key: str, party: str) -> None:
    """Raise :class:`~ledger.queries.UnitNotFoundError` ("no unit KEY in the
    ledger", the words used for a unit that does not exist) unless ``party`` may
    read the unit; :class:`~ledger.ids.InvalidIdentifierError` for a malformed key."""
    if not may_read_unit(conn, key, party):
        raise UnitNotFoundError(f"no unit {parse_key(key).key} in the ledger")
