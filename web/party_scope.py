"""Whose custody bounds what a caller reads and writes.

A distributor's people, tokens and devices act only for their own party and only
within its custody (the rules are the domain's: :mod:`ledger.permissions` for
writes, :mod:`ledger.access` for reads). The manufacturer's people are not
bounded. This module only says which of the two a signed-in caller is:

- role ``distributor``: bounded by its party (a distributor without a party,
  which accounts refuse to create, reads and writes nothing);
- any other role acting for a party whose kind is a channel partner
  (``distributor``, ``dealer``, ``retailer``; e.g. warehouse staff of a
  distributor): bounded by that party;
- everyone else (the manufacturer's staff, with no party or the manufacturer's):
  not bounded.
"""

from __future__ import annotations

from sqlalchemy import select

from ledger.models import Party
from ledger.permissions import acts_within_custody
from web.db import get_session
from web.roles import Role
from web.security import Principal

__all__ = ["custody_scope"]


def custody_scope(principal: Principal | None) -> str | None:
    """The party code bounding ``principal``; None when it is not bounded.

    ``""`` (bounded by no party: nothing readable or writable) for a distributor
    without a party and for a request with no principal, so that a guard missed
    elsewhere fails closed.
    """
    if principal is None:
        return ""
    if principal.role is Role.DISTRIBUTOR:
        return principal.party_code or ""
    if principal.party_id is None:
        return None
    kind = get_session().scalar(select(Party.kind).where(Party.id == principal.party_id))
    return (principal.party_code or "") if acts_within_custody(kind) else None
