"""Finding a party by what a person types: the party pickers of the pages.

Parties are master data (:class:`ledger.models.Party`); who may list them is the
same rule as who may see their alerts and accounts: channel managers, partner
managers (who keep them), finance, auditors and admins may list every party;
warehouse staff too, of any kind, for the scan station's counter-party and acting
party (a ship-to may be a dealer or a retailer); a distributor only ever finds
itself; other roles find none.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from ledger.models import Party
from settlement.common import Actor, PermissionDenied, SettlementError

__all__ = ["PICKER_ROLES", "PartyChoice", "find_party", "search_parties"]

#: Roles that may pick any party in a form or filter.
PICKER_ROLES = ("admin", "channel_manager", "partner_manager", "finance", "auditor", "warehouse")
#: The most matches one search answers.
MAX_MATCHES = 50
#: The longest text searched for (a party code is at most 64 characters).
MAX_QUERY = 64


@dataclass(frozen=True, slots=True)
class PartyChoice:
    id: int
    code: str
    name: str
    kind: str


def _scope(actor: Actor) -> int | None:
    """None: every party; else the only party ``actor`` may find. Raises
    :class:`PermissionDenied` for a role that picks no party."""
    if actor.role in PICKER_ROLES:
        return None
    if actor.role == "distributor" and actor.party_id is not None:
        return actor.party_id
    raise PermissionDenied(f"{actor.username} ({actor.role}) may not look parties up")


def search_parties(
    engine: Engine,
    actor: Actor,
    text: str,
    *,
    kind: str | None = "distributor",
    limit: int = 20,
) -> list[PartyChoice]:
    """Parties whose code or name starts with ``text`` (case-insensitive), by code.

    ``kind``: only parties of that kind (None: any); ``limit``: 1..:data:`MAX_MATCHES`.
    Raises :class:`PermissionDenied` for a role that picks no party and
    :class:`SettlementError` for a search longer than :data:`MAX_QUERY` characters.
    """
    if len(text) > MAX_QUERY:
        raise SettlementError(
            f"a party search has at most {MAX_QUERY} characters, this one has {len(text)}"
        )
    if not 1 <= limit <= MAX_MATCHES:
        raise SettlementError(f"limit must be 1..{MAX_MATCHES}, got {limit}")
    only = _scope(actor)
    prefix = text.strip().lower()
    q = select(Party.id, Party.code, Party.name, Party.kind).order_by(Party.code).limit(limit)
    if prefix:
        q = q.where(
            or_(
                func.lower(Party.code).startswith(prefix, autoescape=True),
                func.lower(Party.name).startswith(prefix, autoescape=True),
            )
        )
    if kind is not None:
        q = q.where(Party.kind == kind)
    if only is not None:
        q = q.where(Party.id == only)
    with Session(engine) as s:
        return [PartyChoice(int(i), str(c), str(n), str(k)) for i, c, n, k in s.execute(q)]


def find_party(
    engine: Engine, actor: Actor, code: str, *, kind: str | None = "distributor"
) -> PartyChoice | None:
    """The party whose code is exactly ``code`` (ignoring surrounding spaces and case),
    among those ``actor`` may find; None when there is none."""
    only = _scope(actor)
    wanted = code.strip().lower()
    if not wanted or len(wanted) > MAX_QUERY:
        return None
    q = select(Party.id, Party.code, Party.name, Party.kind).where(func.lower(Party.code) == wanted)
    if kind is not None:
        q = q.where(Party.kind == kind)
    if only is not None:
        q = q.where(Party.id == only)
    with Session(engine) as s:
        row = s.execute(q.limit(1)).first()
    return None if row is None else PartyChoice(int(row[0]), str(row[1]), str(row[2]), str(row[3]))
