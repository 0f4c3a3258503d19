"""Where one unit may be seen, and whether a location is inside it.

The same rule as detection's (:mod:`settlement.zones`, DESIGN.md "Diversion"),
asked for one unit at a time as a label is scanned:

* the unit's **allocated distributor** is the first distributor the manufacturer
  shipped it to (a retracted shipment does not count);
* its **zone** is that distributor's territory grants in force at the time, and
  those of every sub-distributor below it;
* a point is **in zone** when the deepest stored territory containing it, or one
  of that territory's ancestors, is in the zone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import (
    BigInteger,
    FromClause,
    Select,
    SQLColumnExpression,
    bindparam,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import BindParameter

from geo.cache import cached_index
from geo.index import TerritoryIndex
from geo.models import TerritoryRow
from ledger.models import Entry, Party
from ledger.partitions import declarations
from ledger.retraction import live_entries
from partners.models import TerritoryGrant

__all__ = [
    "Judgement",
    "UnitZone",
    "Verdict",
    "allocated_party_id",
    "allocation_query",
    "judge_location",
    "unit_zone",
    "zone_statement",
]

Verdict = Literal["in_zone", "out_of_zone", "unlocated", "unallocated"]


@dataclass(frozen=True, slots=True)
class UnitZone:
    """The market a unit was shipped for.

    ``allocated_*`` describe its allocated distributor (``None``/"" when it has
    none yet); ``territory_codes`` the zone's territories in force at the time
    asked, sorted (empty when unallocated or granted nothing).
    """

    unit_id: int
    allocated_party_id: int | None
    allocated_code: str
    allocated_name: str
    allocated_country: str | None  # ISO 3166-1 alpha-2
    territory_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Judgement:
    """``verdict`` of a location for a unit; ``territory_code`` is the deepest stored
    territory containing the point ("" when none)."""

    verdict: Verdict
    territory_code: str
    zone: UnitZone


def allocation_query(
    unit_id: int | SQLColumnExpression[int], declared: FromClause | None = None
) -> Select[int | None]:
    """The allocation rule as one query: the party id of the first live
    manufacturer -> distributor shipment of ``unit_id`` (a unit id, or a column such
    as ``Unit.id`` to correlate it inside a larger statement), at most one row.
    ``declared``: where retractions are looked up (:func:`ledger.retraction.live_entries`)."""
    maker = aliased(Party)
    receiver = aliased(Party)
    return (
        select(Entry.counterparty_id)
        .join(maker, maker.id == Entry.party_id)
        .join(receiver, receiver.id == Entry.counterparty_id)
        .where(
            Entry.unit_id == unit_id,
            Entry.kind == "shipping",
            maker.kind == "manufacturer",
            receiver.kind == "distributor",
            live_entries(declared=declared),
        )
        .order_by(Entry.seq)
        .limit(1)
    )


def allocated_party_id(session: Session, unit_id: int) -> int | None:
    """Party id of the unit's allocated distributor, ``None`` if the manufacturer
    never shipped it to a distributor."""
    return session.execute(allocation_query(unit_id, declarations(session))).scalar_one_or_none()


@functools.cache
def zone_statement() -> Select[str, str | None, str | None]:
    """The zone as one recursive query: the territories granted at ``:at_ms`` to
    ``:party_id`` and every party below it, with their stored names and levels
    (``None`` for a grant naming a territory not stored). Depth is bounded at 32
    levels so that a (corrupt) cycle in parent links still ends."""
    seed = select(Party.id.label("id"), literal(0).label("depth")).where(
        Party.id == bindparam("party_id")
    )
    top = seed.cte("family", recursive=True)
    below = (
        select(Party.id, top.c.depth + 1)
        .join(top, Party.parent_id == top.c.id)
        .where(top.c.depth < 32)
    )
    family = top.union_all(below)
    g = TerritoryGrant
    at: BindParameter[int] = bindparam("at_ms", type_=BigInteger)
    return (
        select(g.territory_code, TerritoryRow.name, TerritoryRow.level)
        .join(family, family.c.id == g.party_id)
        .outerjoin(TerritoryRow, TerritoryRow.code == g.territory_code)
        .where(g.valid_from_ms <= at, or_(g.valid_to_ms.is_(None), g.valid_to_ms > at))
        .distinct()
    )


def unit_zone(session: Session, unit_id: int, at_ms: int) -> UnitZone:
    """The unit's allocated distributor and its zone as in force at ``at_ms``."""
    party_id = allocated_party_id(session, unit_id)
    if party_id is None:
        return UnitZone(unit_id, None, "", "", None, ())
    party = session.get(Party, party_id)
    assert party is not None  # the entry's foreign key holds it
    rows = session.execute(zone_statement(), {"party_id": party_id, "at_ms": at_ms})
    codes = {code for code, _name, _level in rows}
    return UnitZone(unit_id, party.id, party.code, party.name, party.country, tuple(sorted(codes)))


def judge_location(
    session: Session,
    unit_id: int,
    lat_e6: int,
    lon_e6: int,
    at_ms: int,
    *,
    index: TerritoryIndex | None = None,
) -> Judgement:
    """Whether (``lat_e6``, ``lon_e6``) (micro-degrees, WGS 84) is in the unit's zone
    at ``at_ms``; ``index`` defaults to the stored territories (cached per process)."""
    zone = unit_zone(session, unit_id, at_ms)
    idx = index if index is not None else cached_index(session)
    territory = ""
    chain: list[str] = []
    if len(idx.codes):
        pos = int(idx.locate([lon_e6 / 1e6], [lat_e6 / 1e6])[0])
        if pos >= 0:
            territory = idx.codes[pos]
            while pos >= 0:
                chain.append(idx.codes[pos])
                pos = int(idx.parent[pos])
    if zone.allocated_party_id is None:
        return Judgement("unallocated", territory, zone)
    if not territory:
        return Judgement("unlocated", territory, zone)
    inside = not set(chain).isdisjoint(zone.territory_codes)
    return Judgement("in_zone" if inside else "out_of_zone", territory, zone)
