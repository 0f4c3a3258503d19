"""A party's open items (issue 13): what it owes, item by item, derived on every read.

Nothing here is a stored balance (like :mod:`settlement.receivables`): each item is
computed from the rows that raise it and the rows that settle it, as of a day.

Items (names as :class:`risk.models.CreditAllocation` ``item`` spells them):

- ``statement:<id>``: a posted rebate statement with a negative total booked a
  ``statement`` receivable movement (:class:`settlement.models.ReceivableMovement`).
  Issued on the movement's UTC day, due after the payment days in force. Settled
  first by the :class:`~risk.models.CreditAllocation` rows naming it (a payment that
  named it, a write-off), then by the party's negative receivable movements
  (``brought_forward``, ``deposit``, ``payment``) oldest statement first (FIFO), less
  what of them the allocations already account for. What is left of those credits
  is the party's unapplied credit on account.
- ``invoice:<number>``: a :class:`~risk.models.TradeInvoice` (status open), settled
  by the allocations naming it.
- ``delivery:<YYYY-MM-DD>``: the manufacturer's ``shipping`` entries to the party
  that UTC day (entry party of kind ``manufacturer``, counterparty the party), less
  entries retracted by an error declaration; logistic units (SSCC, no GTIN) are not
  priced, the items packed in them have their own entries. Valued at the list
  price (:class:`settlement.models.PriceList`) of the party's currency in force on
  that day; due after the payment days in force; settled by allocations. A GTIN
  with no price on file is a *problem* (named, never counted as 0).

Payment days: an item falls due after the payment days of the limit in force on
the UTC day it was issued (shipped, posted): the newest :class:`risk.models.CreditLimit`
row of the party created before the end of that day (rows ordered by ``created_ms``),
:data:`DEFAULT_PAYMENT_DAYS` (30) when the party had no limit on file then. Terms
agreed later (a downgrade to 0 days) apply to what is issued from then on, never to
goods already shipped under the old terms. :func:`payment_days_in` gives the days in
force now (:func:`risk.limits.limit_in_force` reads the same row).

Settling never goes past an item's amount, whatever order payments are recorded
in: :func:`settleable_in` gives what is still open of the items issued by a day
counting every settlement on file, whatever its day (a payment received on
2026-11-10 but recorded after one received on 2026-11-20 sees what the later one
already settled).

Money is integer minor units of the party's currency (``Party.currency``); rows in
another currency are not counted and are named as problems. Dates are ISO
``YYYY-MM-DD`` strings (UTC days).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from ledger.models import Entry, Party, Unit
from ledger.partitions import declarations
from ledger.times import format_day
from partners.errors import PartnerNotFound
from risk.models import CreditAllocation, CreditLimit, TradeInvoice
from settlement.models import PriceList, ReceivableMovement
from settlement.reference_values import date_ms

__all__ = [
    "DAY_MS",
    "DEFAULT_PAYMENT_DAYS",
    "ITEM_KINDS",
    "ListPrices",
    "OpenItem",
    "PartyItems",
    "items_in",
    "open_items_in",
    "parse_item",
    "payment_days_in",
    "payment_terms_in",
    "settleable_in",
    "shipment_value_in",
]

#: Payment days when a party has no credit limit on file (no terms agreed yet).
DEFAULT_PAYMENT_DAYS = 30
DAY_MS = 86_400_000
ITEM_KINDS = ("statement", "invoice", "delivery")


@dataclass(frozen=True, slots=True)
class OpenItem:
    """One item a party owes: ``item`` its name (``statement:12``, ``invoice:INV-1``,
    ``delivery:2026-11-03``), ``kind`` statement | invoice | delivery, the UTC days it
    was issued and falls due (ISO strings), and in minor units of ``currency``: the
    amount, what settled it (allocations, and for statements the receivable's
    credits) and what is open (``amount_minor == settled_minor + open_minor``)."""

    item: str
    kind: str
    party_id: int
    issued_on: str
    due_on: str
    amount_minor: int
    settled_minor: int
    open_minor: int
    currency: str

    def days_overdue(self, on: date) -> int:
        """Whole days ``on`` is past the due day (0 when not yet due or nothing open)."""
        if self.open_minor <= 0:
            return 0
        return max((on - date.fromisoformat(self.due_on)).days, 0)


@dataclass(slots=True)
class PartyItems:
    """Every item of one party as of a day (settled ones too), oldest due first,
    the credit on account not applied to any item (minor units, >= 0) and the
    problems found (unpriced GTINs, rows in another currency)."""

    party_id: int
    currency: str
    payment_days: int
    items: list[OpenItem] = field(default_factory=list)
    unapplied_minor: int = 0
    problems: list[str] = field(default_factory=list)


def parse_item(name: str) -> tuple[str, str] | None:
    """``("statement", "12")`` for ``statement:12``; None for a name of no item kind."""
    kind, sep, rest = name.partition(":")
    if not sep or kind not in ITEM_KINDS or not rest:
        return None
    return kind, rest


def _due(issued_on: str, days: int) -> str:
    return (date.fromisoformat(issued_on) + timedelta(days=days)).isoformat()


def payment_days_in(s: Session, party_ids: Collection[int]) -> dict[int, int]:
    """Each party's payment days in force: its newest credit limit row's, else
    :data:`DEFAULT_PAYMENT_DAYS`."""
    out = dict.fromkeys(party_ids, DEFAULT_PAYMENT_DAYS)
    if not out:
        return out
    rows = s.execute(
        select(CreditLimit.party_id, CreditLimit.payment_days)
        .where(CreditLimit.party_id.in_(list(out)))
        .order_by(CreditLimit.created_ms, CreditLimit.id)
    )
    for pid, days in rows:  # newer rows overwrite older ones
        out[int(pid)] = int(days)
    return out


class PaymentTerms:
    """Each party's payment-day history: ``days_on(party_id, day)`` is the payment
    days of the limit in force at the end of UTC day ``day`` (ISO string), the
    newest :class:`~risk.models.CreditLimit` row created before then, else
    :data:`DEFAULT_PAYMENT_DAYS`."""

    def __init__(self, rows: dict[int, tuple[list[int], list[int]]]) -> None:
        self._rows = rows

    def days_on(self, party_id: int, day: str) -> int:
        """Payment days in force for ``party_id`` at the end of ``day`` (0-365)."""
        found = self._rows.get(party_id)
        if found is None:
            return DEFAULT_PAYMENT_DAYS
        i = bisect.bisect_left(found[0], date_ms(day) + DAY_MS)
        return found[1][i - 1] if i else DEFAULT_PAYMENT_DAYS

    def due_on(self, party_id: int, issued_on: str) -> str:
        """The due day of an item of ``party_id`` issued on ``issued_on``."""
        return _due(issued_on, self.days_on(party_id, issued_on))


def payment_terms_in(s: Session, party_ids: Collection[int]) -> PaymentTerms:
    """The parties' payment-day histories (one query), see :class:`PaymentTerms`."""
    rows: dict[int, tuple[list[int], list[int]]] = {}
    if party_ids:
        for pid, created, days in s.execute(
            select(CreditLimit.party_id, CreditLimit.created_ms, CreditLimit.payment_days)
            .where(CreditLimit.party_id.in_(list(party_ids)))
            .order_by(CreditLimit.created_ms, CreditLimit.id)
        ):
            ms, values = rows.setdefault(int(pid), ([], []))
            ms.append(int(created))
            values.append(int(days))
    return PaymentTerms(rows)


class ListPrices:
    """List prices by (gtin, currency), each version's ``valid_from`` sorted, so the
    version in force on a day is one bisect."""

    def __init__(self, s: Session, gtins: Iterable[str], currencies: Iterable[str]) -> None:
        self.by: dict[tuple[str, str], tuple[list[str], list[int]]] = {}
        gl, cl = sorted(set(gtins)), sorted(set(currencies))
        if not gl or not cl:
            return
        rows = s.execute(
            select(
                PriceList.gtin, PriceList.currency, PriceList.valid_from, PriceList.list_price_minor
            )
            .where(PriceList.gtin.in_(gl), PriceList.currency.in_(cl))
            .order_by(PriceList.valid_from)
        )
        for gtin, ccy, valid_from, minor in rows:
            days, prices = self.by.setdefault((gtin, ccy), ([], []))
            days.append(valid_from)
            prices.append(int(minor))

    def price(self, gtin: str, currency: str, day: str) -> int | None:
        """The list price in force on ``day`` (latest ``valid_from`` <= day), or None."""
        found = self.by.get((gtin, currency))
        if found is None:
            return None
        i = bisect.bisect_right(found[0], day)
        return found[1][i - 1] if i else None


def _unit_value(
    prices: ListPrices, counts: dict[str, int], currency: str, day: str
) -> tuple[int, list[str]]:
    total, missing = 0, []
    for gtin in sorted(counts):
        p = prices.price(gtin, currency, day)
        if p is None:
            missing.append(gtin)
        else:
            total += p * counts[gtin]
    return total, missing


def _parties(s: Session, party_ids: Collection[int] | None) -> dict[int, Party]:
    q = select(Party)
    q = (
        q.where(Party.kind == "distributor")
        if party_ids is None
        else q.where(Party.id.in_(list(party_ids)))
    )
    return {p.id: p for p in s.scalars(q)}


def items_in(s: Session, party_ids: Collection[int] | None, on: date) -> dict[int, PartyItems]:
    """Every party's items as of the end of UTC day ``on`` (rows dated later are not
    counted), batch: a few grouped queries whatever the number of parties.
    ``party_ids`` None: every distributor. Unknown ids are absent from the result."""
    parties = _parties(s, party_ids)
    if not parties:
        return {}
    ids = list(parties)
    day = on.isoformat()
    end_ms = date_ms(day) + DAY_MS
    days = payment_days_in(s, ids)
    terms = payment_terms_in(s, ids)
    out = {pid: PartyItems(pid, p.currency, days[pid]) for pid, p in parties.items()}

    # what settled each item, and what of the receivable's credits payments account for
    settled: dict[tuple[int, str], int] = defaultdict(int)
    paid_statements: dict[int, int] = defaultdict(int)
    for pid, item, kind, amount, ccy in s.execute(
        select(
            CreditAllocation.party_id, CreditAllocation.item, CreditAllocation.kind,
            func.sum(CreditAllocation.amount_minor), CreditAllocation.currency,
        )
        .where(CreditAllocation.party_id.in_(ids), CreditAllocation.applied_on <= day)
        .group_by(
            CreditAllocation.party_id, CreditAllocation.item, CreditAllocation.kind,
            CreditAllocation.currency,
        )
    ):  # fmt: skip
        pid = int(pid)
        if ccy != out[pid].currency:
            out[pid].problems.append(f"allocation to {item} in {ccy}, not {out[pid].currency}")
            continue
        settled[(pid, item)] += int(amount)
        if kind == "payment" and item.startswith("statement:"):
            paid_statements[pid] += int(amount)

    # statements: positive receivable movements; credits FIFO
    raised: dict[int, dict[str, list[int | str]]] = defaultdict(dict)
    credit: dict[int, int] = defaultdict(int)
    for pid, at_ms, amount, ccy, ref in s.execute(
        select(
            ReceivableMovement.party_id, ReceivableMovement.at_ms,
            ReceivableMovement.amount_minor, ReceivableMovement.currency, ReceivableMovement.ref,
        )
        .where(ReceivableMovement.party_id.in_(ids), ReceivableMovement.at_ms < end_ms)
        .order_by(ReceivableMovement.at_ms, ReceivableMovement.id)
    ):  # fmt: skip
        pid, amount = int(pid), int(amount)
        if ccy != out[pid].currency:
            out[pid].problems.append(f"receivable movement {ref} in {ccy}, not {out[pid].currency}")
            continue
        if amount > 0:
            name = ref if ref.startswith("statement:") else f"statement:{ref}"
            row = raised[pid].setdefault(name, [format_day(int(at_ms)), 0])
            row[1] = int(row[1]) + amount
        else:
            credit[pid] += -amount
    for pid, statements in raised.items():
        party = out[pid]
        free = credit.pop(pid, 0) - paid_statements.get(pid, 0)
        if free < 0:
            party.problems.append(
                f"statement payments of {-free} minor units have no receivable movement"
            )
            free = 0
        for name, (issued, raw) in statements.items():  # oldest first
            amount = int(raw)
            done = min(settled.get((pid, name), 0), amount)
            take = min(free, amount - done)
            free -= take
            party.items.append(
                OpenItem(
                    name, "statement", pid, str(issued), terms.due_on(pid, str(issued)),
                    amount, done + take, amount - done - take, party.currency,
                )
            )  # fmt: skip
        party.unapplied_minor = free
    for pid, amount in credit.items():  # credits and no statement at all
        free = amount - paid_statements.get(pid, 0)
        out[pid].unapplied_minor = max(free, 0)

    # invoices
    for inv in s.scalars(
        select(TradeInvoice).where(
            TradeInvoice.party_id.in_(ids),
            TradeInvoice.status == "open",
            TradeInvoice.issued_on <= day,
        )
    ):
        party = out[inv.party_id]
        name = f"invoice:{inv.number}"
        if inv.currency != party.currency:
            party.problems.append(f"{name} in {inv.currency}, not {party.currency}")
            continue
        done = min(settled.get((inv.party_id, name), 0), inv.amount_minor)
        party.items.append(
            OpenItem(
                name, "invoice", inv.party_id, inv.issued_on, inv.due_on, inv.amount_minor,
                done, inv.amount_minor - done, inv.currency,
            )
        )  # fmt: skip

    # deliveries: one grouped query (counterparty, day, gtin, count)
    shipped = _delivery_counts(s, ids, end_ms)
    prices = ListPrices(s, {g for _, _, g in shipped}, {p.currency for p in parties.values()})
    per_day: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    day_names: dict[int, str] = {}  # a few hundred days for many thousand rows
    for (pid, dayn, gtin), n in shipped.items():
        if dayn not in day_names:
            day_names[dayn] = format_day(dayn * DAY_MS)
        per_day[(pid, day_names[dayn])][gtin] = n
    for (pid, ship_day), counts in sorted(per_day.items()):
        party = out[pid]
        name = f"delivery:{ship_day}"
        value, missing = _unit_value(prices, counts, party.currency, ship_day)
        for gtin in missing:
            party.problems.append(
                f"{name}: no {party.currency} list price for GTIN {gtin} ({counts[gtin]} units)"
            )
        done = min(settled.get((pid, name), 0), value)
        party.items.append(
            OpenItem(
                name, "delivery", pid, ship_day, terms.due_on(pid, ship_day), value,
                done, value - done, party.currency,
            )
        )  # fmt: skip

    for party in out.values():
        party.items.sort(key=lambda i: (i.due_on, i.issued_on, i.item))
    return out


def _delivery_counts(
    s: Session, party_ids: list[int], end_ms: int
) -> dict[tuple[int, int, str], int]:
    """(counterparty, UTC day number, gtin) -> units shipped by a manufacturer before
    ``end_ms``, retracted entries left out; SSCCs (no GTIN) are not counted."""
    maker = aliased(Party)
    declared = declarations(s.connection())
    dayn = Entry.at_ms // DAY_MS
    rows = s.execute(
        select(Entry.counterparty_id, dayn, Unit.gtin, func.count())
        .join(Unit, Unit.id == Entry.unit_id)
        .join(maker, maker.id == Entry.party_id)
        .where(
            Entry.kind == "shipping",
            maker.kind == "manufacturer",
            Entry.counterparty_id.in_(party_ids),
            Entry.at_ms < end_ms,
            Unit.gtin.is_not(None),
            ~exists().where(and_(declared.c.retracts_seq == Entry.seq)),
        )
        .group_by(Entry.counterparty_id, dayn, Unit.gtin)
    )
    out: dict[tuple[int, int, str], int] = {}
    for pid, d, gtin, n in rows:
        key = (int(pid or 0), int(d), str(gtin))
        out[key] = out.get(key, 0) + int(n)
    return out


#: The last day :func:`settleable_in` reads to: every row on file, whatever its day.
_EVERYTHING = date(9999, 12, 31)


def settleable_in(s: Session, party_id: int, on: date) -> list[OpenItem]:
    """The party's items issued by the end of UTC day ``on`` that something is
    still open on, oldest due first, where what is settled counts every allocation
    and credit on file whatever its day: what a payment received (or a write-off
    made) on ``on`` may still settle without taking an item past its amount. Due
    days as of ``on``'s view; [] for an unknown party. Reads only."""
    found = items_in(s, [party_id], on).get(party_id)
    if found is None:
        return []
    latest = items_in(s, [party_id], _EVERYTHING).get(party_id)
    now = {i.item: i for i in (latest.items if latest else [])}
    out = []
    for item in found.items:
        later = now.get(item.item)
        if later is None or later.open_minor <= 0:
            continue
        out.append(
            OpenItem(
                item.item, item.kind, item.party_id, item.issued_on, item.due_on,
                later.amount_minor, later.settled_minor, later.open_minor, item.currency,
            )
        )  # fmt: skip
    return out


def open_items_in(s: Session, party_id: int, on: date) -> list[OpenItem]:
    """The party's items with something open (``open_minor`` != 0) as of UTC day
    ``on``, oldest due first; [] for an unknown party. Reads only: callers check
    who may see them."""
    found = items_in(s, [party_id], on).get(party_id)
    return [] if found is None else [i for i in found.items if i.open_minor]


def shipment_value_in(
    s: Session, party_id: int, unit_ids: Collection[int], on: date
) -> tuple[int, str, tuple[str, ...]]:
    """What shipping the units ``unit_ids`` to the party would add to its deliveries
    on UTC day ``on``: ``(value in minor units of the party's currency, the currency,
    GTINs with no list price on file)``, valued like ``delivery:`` items (list price
    in force on ``on``). Logistic units (SSCC) are expanded to their contents and
    every unit is counted once by its item; a GTIN with no price adds 0 and is named.
    Two queries (plus one per packing level below the given units). Raises
    :class:`partners.errors.PartnerNotFound` for an unknown party."""
    party = s.get(Party, party_id)
    if party is None:
        raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=party_id)
    seen: set[int] = set()
    counts: dict[str, int] = defaultdict(int)
    frontier = {int(u) for u in unit_ids}
    first = True
    while frontier:
        rows = s.execute(
            select(Unit.id, Unit.gtin).where(
                Unit.id.in_(list(frontier)) if first else Unit.container_id.in_(list(frontier))
            )
        ).all()
        first = False
        containers: set[int] = set()
        for uid, gtin in rows:
            if uid in seen:
                continue
            seen.add(uid)
            if gtin is None:
                containers.add(int(uid))
            else:
                counts[str(gtin)] += 1
        frontier = containers
    prices = ListPrices(s, counts, [party.currency])
    value, missing = _unit_value(prices, counts, party.currency, on.isoformat())
    return value, party.currency, tuple(missing)
