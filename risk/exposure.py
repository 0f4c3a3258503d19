"""A party's credit exposure (issue 13): what it owes on credit against its limit.

exposure = open statement items + open invoices + open deliveries - unapplied
credit on account (:mod:`risk.open_items`), in minor units of the party's currency.
Utilisation is exposure / limit in per mille (rounded half-even; None without a
limit on file or with a limit of 0); ``max_overdue_days`` the most days any open
item is past due; ``aging`` the open amounts by days past due: ``current`` (not
yet due), ``1-30``, ``31-60``, ``61-90``, ``90+`` (the usual receivables aging
buckets). Seed 000 "风险矩阵模型" reads these figures: overdue days and utilisation
decide with the rating whether a party is low (keep, review yearly), medium
(adjust the limit, monitor) or high risk (stop credit: cash only, or end
cooperation) - see :mod:`risk.assessment`.

The limit is the party's newest :class:`risk.models.CreditLimit` row (the one
:func:`risk.limits.limit_in_force` returns). Reads only: callers check who may
see a party's exposure (credit readers, and a distributor its own).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.errors import Acting, PartnerNotFound, require
from risk.models import CreditLimit
from risk.open_items import OpenItem, items_in
from settlement.rules.money import round_minor

__all__ = [
    "AGING_BUCKETS",
    "CREDIT_READERS",
    "Exposure",
    "aging_bucket",
    "exposure_in",
    "exposure_json",
    "exposures_in",
    "item_json",
    "party_by_code",
    "readable_party",
]

#: Roles that read every party's credit (a distributor reads its own).
CREDIT_READERS = ("finance", "channel_manager", "partner_manager", "auditor", "admin")

AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


@dataclass(frozen=True, slots=True)
class Exposure:
    """One party's exposure on a day, minor units of ``currency`` (the party's).

    ``total_minor`` = ``statements_minor + invoices_minor + deliveries_minor -
    unapplied_minor`` (may be negative when credit on account exceeds what is open);
    ``limit_minor`` None without a limit on file; ``utilisation_permille`` =
    max(total, 0) * 1000 / limit rounded half-even, None without a limit or with a
    limit of 0; ``aging`` bucket -> open minor (every bucket present);
    ``items`` the open items, oldest due first; ``problems`` what could not be
    counted (GTINs without a list price, rows in another currency)."""

    party_id: int
    currency: str
    total_minor: int
    statements_minor: int
    invoices_minor: int
    deliveries_minor: int
    unapplied_minor: int
    limit_minor: int | None
    utilisation_permille: int | None
    max_overdue_days: int
    aging: dict[str, int]
    items: tuple[OpenItem, ...]
    problems: tuple[str, ...]


def aging_bucket(days_overdue: int) -> str:
    """The aging bucket of an item ``days_overdue`` days past due."""
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


def _limits(s: Session, party_ids: Collection[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    if not party_ids:
        return out
    rows = s.execute(
        select(CreditLimit.party_id, CreditLimit.limit_minor)
        .where(CreditLimit.party_id.in_(list(party_ids)))
        .order_by(CreditLimit.created_ms, CreditLimit.id)
    )
    for pid, minor in rows:  # newer rows overwrite older ones
        out[int(pid)] = int(minor)
    return out


def exposures_in(s: Session, party_ids: Collection[int] | None, on: date) -> dict[int, Exposure]:
    """Batch: party id -> :class:`Exposure` as of the end of UTC day ``on``.
    ``party_ids`` None: every distributor. Unknown ids are absent from the result.
    A fixed number of queries whatever the number of parties (for boards and the
    threshold check)."""
    every = items_in(s, party_ids, on)
    limits = _limits(s, list(every))
    out: dict[int, Exposure] = {}
    for pid, party in every.items():
        sums = {"statement": 0, "invoice": 0, "delivery": 0}
        aging = dict.fromkeys(AGING_BUCKETS, 0)
        worst = 0
        open_items = tuple(i for i in party.items if i.open_minor)
        for item in open_items:
            sums[item.kind] += item.open_minor
            days = item.days_overdue(on)
            worst = max(worst, days)
            aging[aging_bucket(days)] += item.open_minor
        total = sum(sums.values()) - party.unapplied_minor
        limit = limits.get(pid)
        util = None
        if limit:
            util = round_minor(Decimal(max(total, 0)) * 1000 / Decimal(limit))
        out[pid] = Exposure(
            pid, party.currency, total, sums["statement"], sums["invoice"], sums["delivery"],
            party.unapplied_minor, limit, util, worst, aging, open_items, tuple(party.problems),
        )  # fmt: skip
    return out


def exposure_in(s: Session, party_id: int, on: date) -> Exposure:
    """The party's :class:`Exposure` as of the end of UTC day ``on``. Raises
    :class:`partners.errors.PartnerNotFound` (``no_credit_party``) for an unknown party."""
    found = exposures_in(s, [party_id], on).get(party_id)
    if found is None:
        raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=party_id)
    return found


def party_by_code(s: Session, code: str) -> Party:
    """The party with ``code``; :class:`PartnerNotFound` (``no_credit_party``) if none."""
    party = s.scalar(select(Party).where(Party.code == code))
    if party is None:
        raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=code)
    return party


def readable_party(s: Session, actor: Acting, code: str) -> Party:
    """The party ``actor`` may read the credit of: credit readers any party, a
    distributor only its own (another party answers exactly like a missing one,
    :class:`PartnerNotFound`); :class:`partners.errors.PartnerDenied` for other roles."""
    if actor.role == "distributor":
        party = s.scalar(select(Party).where(Party.code == code))
        if party is None or party.id != actor.party_id:
            raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=code)
        return party
    require(actor, *CREDIT_READERS, action="read credit exposure")
    return party_by_code(s, code)


def exposure_json(e: Exposure, code: str) -> dict[str, Any]:
    """The exposure as JSON (minor units, the currency, ISO days): what the API and
    ``hopchain credit exposure`` print."""
    return {
        "party": code,
        "currency": e.currency,
        "total_minor": e.total_minor,
        "statements_minor": e.statements_minor,
        "invoices_minor": e.invoices_minor,
        "deliveries_minor": e.deliveries_minor,
        "unapplied_minor": e.unapplied_minor,
        "limit_minor": e.limit_minor,
        "utilisation_permille": e.utilisation_permille,
        "max_overdue_days": e.max_overdue_days,
        "aging": dict(e.aging),
        "items": [item_json(i) for i in e.items],
        "problems": list(e.problems),
    }


def item_json(i: OpenItem) -> dict[str, Any]:
    """One open item as JSON."""
    return {
        "item": i.item,
        "kind": i.kind,
        "issued_on": i.issued_on,
        "due_on": i.due_on,
        "amount_minor": i.amount_minor,
        "settled_minor": i.settled_minor,
        "open_minor": i.open_minor,
        "currency": i.currency,
    }
