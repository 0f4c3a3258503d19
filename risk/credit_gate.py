"""The credit gate: manufacturer shipments on credit checked as they are recorded
(issue 13; DESIGN.md "never drop a real observation").

A hop is checked when it is a ``shipping`` hop made by a party of kind
``manufacturer`` to a counterparty that has a credit limit on file
(:func:`risk.limits.limit_in_force`). A party with no limit on file is not checked:
credit control is not set up for it (no investigation and rating yet). Every other
hop is never touched: a batch without shipping hops costs one pass over its hops
in Python and no query; one whose shipments are not a manufacturer's, one query (the
parties). What each shipment holds is read once for the batch (only when it ships
an SSCC) and list prices once per party.

The check runs BEFORE the append, with the ledger lock held
(:func:`ledger.append.append_chosen_hops`: ``choose(conn)`` reads on the append's own
connection, so two appenders cannot both pass it on the same exposure). A checked
hop is flagged by a note added to it (``Hop.note``), which the ledger records in
the entry's anomaly, signed like the rest; the scan is still accepted:

- the counterparty is on cash only (:func:`risk.assessment.is_cash_only`):
  ``credit: shipped on credit to cash-only party CODE``;
- its exposure before the batch (:func:`risk.exposure.exposures_in`, read once per day
  for every party of the batch, on the hop's UTC
  day) plus the list-price value of this batch's shipments to it so far exceeds
  its limit: ``credit: over limit of CODE: exposure X + shipment Y > limit Z CCY``
  (amounts in major units of the party's currency, e.g. ``1200.00``).

A shipment's value is that of the items it covers, each counted once, at the list
price in the party's currency in force on the day (``price_lists``, as
:mod:`risk.open_items` values ``delivery:`` items; no price: 0). An item is valued
by the GTIN its key carries (``01/{gtin}/21/{serial}``), so units commissioned in
the same batch as their shipment (no unit row yet when the gate runs) count; an
SSCC covers what the database holds in it as the batch's earlier packing and
unpacking hops leave it (units packed into it earlier in the batch included).

Several hops to the same party in one batch accumulate (Y is the batch's value up
to and including the hop). A hop already recorded (its device and device_seq have
a receipt, or came earlier in the batch) is a replay: not counted nor flagged; the
ledger answers it ``duplicate`` (its receipt digest ignores the note).

After the append, each accepted flagged hop raises ONE credit alert per party,
kind and day (:func:`risk.credit_alerts.raise_alert`: kind ``cash_only_shipment``
or ``credit_shipment``, key ``YYYY-MM-DD``; detail: exposure_minor, value_minor,
limit_minor, currency, seqs) in a transaction of its own; a later flagged
shipment of the same day adds its seqs and value to that alert
(:func:`alert_flagged`); a failure there is logged and never undoes the scans.

Functions for intake (``web/ingest.py``, ``web/scan_station.py``) and the demo:

- :func:`screen(conn, hops) <screen>` -> :class:`Screened` (the hops with notes and
  the flags), for a ``choose`` of :func:`ledger.append.append_chosen_hops`;
- :func:`alert_flagged(engine, screened, results) <alert_flagged>` -> the alerts
  newly raised;
- :func:`append_gated(engine, hops) <append_gated>`: append + gate + alerts, what
  :func:`ledger.append_hops` is without it;
- :class:`Gate`: ``gate.wrap(choose)`` composes the gate after another ``choose``;
  ``gate.alert(engine, results)`` after the append.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ledger.append import append_chosen_hops, append_hops
from ledger.database import placeholder
from ledger.hops import Hop, HopResult
from ledger.ids import EntryKind, InvalidIdentifierError, parse_key
from ledger.models import Party, Unit
from risk.assessment import is_cash_only
from risk.credit_alerts import CreditAlertView, raise_alert, update_alert
from risk.exposure import Exposure, exposures_in
from risk.limits import limit_in_force
from risk.open_items import ListPrices
from settlement.common import Actor
from settlement.rules.money import minor_exponent

__all__ = [
    "CASH_ONLY_NOTE",
    "GATE_ACTOR",
    "OVER_LIMIT_NOTE",
    "CreditFlag",
    "Gate",
    "Screened",
    "alert_flagged",
    "append_gated",
    "major",
    "screen",
]

log = logging.getLogger(__name__)

#: The notes a flagged hop gets (English; ``web/reasons.py`` words them).
CASH_ONLY_NOTE = "credit: shipped on credit to cash-only party %(party)s"
OVER_LIMIT_NOTE = (
    "credit: over limit of %(party)s: exposure %(exposure)s + shipment %(shipment)s"
    " > limit %(credit_limit)s %(currency)s"
)

#: Who updates an alert when a later shipment of the day adds to it (the audit's actor).
GATE_ACTOR = Actor("credit-gate", "system")

ChooseHops = Callable[[Connection], Sequence[Hop]]
#: a hop's kind is an EntryKind; its value too where a caller passed text
_SHIPPING: tuple[object, ...] = (EntryKind.SHIPPING, EntryKind.SHIPPING.value)
_PACKING: tuple[object, ...] = (EntryKind.PACKING, EntryKind.PACKING.value)
_UNPACKING: tuple[object, ...] = (EntryKind.UNPACKING, EntryKind.UNPACKING.value)


@dataclass(frozen=True, slots=True)
class CreditFlag:
    """Why hop ``index`` of a batch was flagged: ``kind`` cash_only_shipment or
    credit_shipment; the party; its exposure before the batch, the batch's value to
    it up to this hop and its limit (minor units of ``currency``); ``day`` the
    hop's UTC day (ISO)."""

    index: int
    party_id: int
    party_code: str
    kind: str
    exposure_minor: int
    value_minor: int
    limit_minor: int
    currency: str
    day: str
    note: str


@dataclass(frozen=True, slots=True)
class Screened:
    """The batch's hops (flagged ones with their note) and the flags."""

    hops: Sequence[Hop]
    flags: tuple[CreditFlag, ...] = ()


def major(amount_minor: int, currency: str) -> str:
    """``amount_minor`` in major units of ``currency`` as plain text (``1200.00``
    EUR, ``5000`` JPY): the currency's own minor digits, never assumed 2."""
    digits = minor_exponent(currency)
    return f"{Decimal(amount_minor).scaleb(-digits):.{digits}f}"


def _is_shipping(hop: Hop) -> bool:
    return bool(hop.counterparty) and hop.retracts is None and hop.kind in _SHIPPING


def _day(at_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(at_ms / 1000, dt.UTC).date()


def _canonical(key: str) -> str:
    key = key.removeprefix("/")
    with contextlib.suppress(InvalidIdentifierError):
        return parse_key(key).key
    return key


def _replays(conn: Connection, hops: Sequence[Hop], candidates: list[int]) -> set[int]:
    """Candidates that are replays: a receipt of their scan is stored, or an earlier
    hop of the batch is the same scan."""
    out: set[int] = set()
    seen: set[tuple[str, int]] = set()
    scans: dict[str, set[int]] = {}
    for i in candidates:
        h = hops[i]
        if h.device and h.device_seq is not None:
            if (h.device, h.device_seq) in seen:
                out.add(i)
            seen.add((h.device, h.device_seq))
            scans.setdefault(h.device, set()).add(h.device_seq)
    stored: set[tuple[str, int]] = set()
    for device, seqs in scans.items():
        ordered = sorted(seqs)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            ph = placeholder(conn)
            marks = ",".join([ph] * len(chunk))
            for (dseq,) in conn.exec_driver_sql(
                f"SELECT device_seq FROM scan_receipts WHERE device = {ph}"
                f" AND device_seq IN ({marks})",
                (device, *chunk),
            ):
                stored.add((device, int(dseq)))
    for i in candidates:
        h = hops[i]
        if h.device and h.device_seq is not None and (h.device, h.device_seq) in stored:
            out.add(i)
    return out


def screen(conn: Connection, hops: Sequence[Hop]) -> Screened:
    """The hops with the credit notes added and the flags (module docstring).

    Reads on ``conn`` (the append's transaction, ledger lock held) through a
    ``Session(bind=conn)``; writes nothing. Without a manufacturer shipment to a
    party with a limit, returns ``hops`` as they are. A check that fails in Python
    (not the database) is logged and the hops go unchecked: never dropped."""
    candidates = [i for i, h in enumerate(hops) if _is_shipping(h)]
    if not candidates:
        return Screened(hops)
    s = Session(bind=conn)
    try:
        return _screen(s, conn, hops, candidates)
    except SQLAlchemyError:
        raise  # the append's transaction is lost with it: the append reports it
    except Exception:  # a check that fails must not cost the scans: recorded unchecked
        log.exception("credit gate: shipments recorded unchecked")
        return Screened(hops)
    finally:
        s.close()


def _gtin(key: str) -> str | None:
    """The GTIN a canonical item key carries (``01/{gtin14}/21/{serial}``); None for
    an SSCC (``00/...``)."""
    parts = key.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "01" else None


def _held(s: Session, hops: Sequence[Hop], shipped: list[int]) -> dict[int, list[str]]:
    """The item keys each shipping hop ``shipped`` covers when it comes: its own key
    for an item; for an SSCC, every item inside it, recursively, as the batch's
    earlier hops leave it. What the database holds (``units.container_id``) is read
    for the SSCCs that matter (the shipped ones and those the batch packs into them),
    then the batch's packing and unpacking hops before each shipment are replayed
    over it (:mod:`ledger.append` rules: packing moves a unit into the container,
    unpacking takes it out, unpacking a loose SSCC releases what it holds). Units
    commissioned in the batch have no row yet: they are what the batch packs. A
    batch that ships no SSCC costs no query."""
    out: dict[int, list[str]] = {}
    keys = {i: _canonical(hops[i].unit) for i in shipped}
    boxes = {k for k in keys.values() if _gtin(k) is None}
    if not boxes:
        return {i: [k] for i, k in keys.items()}
    last = max(shipped)
    moves = [
        (h.kind, _canonical(h.unit), _canonical(h.container) if h.container else None)
        for h in hops[: last + 1]
        if h.kind in _PACKING or h.kind in _UNPACKING
    ]
    grown = True
    while grown:  # an SSCC packed into a shipped one brings its stored contents too
        grown = False
        for kind, unit, box in moves:
            if kind in _PACKING and box in boxes and _gtin(unit) is None and unit not in boxes:
                boxes.add(unit)
                grown = True
    parent: dict[str, str | None] = {}
    by_id: dict[int, str] = {}
    frontier = [
        (int(uid), str(key))
        for uid, key in s.execute(select(Unit.id, Unit.key).where(Unit.key.in_(boxes)))
    ]
    by_id.update(frontier)
    ids = [uid for uid, _key in frontier]
    while ids:
        rows = s.execute(
            select(Unit.id, Unit.key, Unit.container_id).where(Unit.container_id.in_(ids))
        ).all()
        ids = []
        for uid, key, container in rows:
            if int(uid) in by_id or container is None:
                continue
            by_id[int(uid)] = str(key)
            parent[str(key)] = by_id[int(container)]
            if _gtin(str(key)) is None:
                ids.append(int(uid))
    for i in sorted(shipped):
        for j in range(0 if not out else max(out) + 1, i):
            h = hops[j]
            if h.kind in _PACKING and h.container:
                parent[_canonical(h.unit)] = _canonical(h.container)
            elif h.kind in _UNPACKING:
                unit = _canonical(h.unit)
                if _gtin(unit) is None and parent.get(unit) is None:
                    for k, v in list(parent.items()):
                        if v == unit:
                            parent[k] = None
                parent[unit] = None
        key = keys[i]
        if _gtin(key) is not None:
            out[i] = [key]
            continue
        children: dict[str, list[str]] = {}
        for k, v in parent.items():
            if v is not None:
                children.setdefault(v, []).append(k)
        items: list[str] = []
        stack, seen = [key], {key}
        while stack:
            for k in children.get(stack.pop(), ()):
                if k in seen:
                    continue
                seen.add(k)
                (stack if _gtin(k) is None else items).append(k)
        out[i] = sorted(items)
    return out


def _screen(s: Session, conn: Connection, hops: Sequence[Hop], candidates: list[int]) -> Screened:
    codes = {hops[i].party for i in candidates} | {str(hops[i].counterparty) for i in candidates}
    parties = {p.code: p for p in s.scalars(select(Party).where(Party.code.in_(codes)))}
    by_party: dict[str, list[int]] = {}
    for i in candidates:
        maker = parties.get(hops[i].party)
        to = parties.get(str(hops[i].counterparty))
        if maker is None or to is None or maker.kind != "manufacturer":
            continue  # an unknown party is the append's to reject
        by_party.setdefault(to.code, []).append(i)
    if not by_party:
        return Screened(hops)
    limits = {code: limit_in_force(s, parties[code].id) for code in by_party}
    by_party = {code: idx for code, idx in by_party.items() if limits[code] is not None}
    if not by_party:
        return Screened(hops)
    replays = _replays(conn, hops, [i for idx in by_party.values() for i in idx])
    by_party = {c: [i for i in idx if i not in replays] for c, idx in by_party.items()}
    by_party = {c: idx for c, idx in by_party.items() if idx}
    if not by_party:
        return Screened(hops)
    held = _held(s, hops, sorted(i for idx in by_party.values() for i in idx))
    # the exposures before the batch, read once per day for every party shipped to
    # that day (one exposures_in each, not one per party), and the list prices once
    # per currency and day
    days = {code: max(_day(hops[i].at_ms) for i in idx) for code, idx in by_party.items()}
    exposures: dict[int, Exposure] = {}
    for day in set(days.values()):
        ids = [parties[code].id for code, d in days.items() if d == day]
        exposures.update(exposures_in(s, ids, day))
    gtins = {g for idx in by_party.values() for i in idx for k in held[i] if (g := _gtin(k))}
    # valued like ``delivery:`` open items: the list price in force on the day
    prices = ListPrices(s, gtins, {parties[code].currency for code in by_party})
    out = list(hops)
    flags: list[CreditFlag] = []
    for code, idx in sorted(by_party.items()):
        party = parties[code]
        limit = limits[code]
        assert limit is not None
        on = days[code]
        cash_only = is_cash_only(s, party.id)
        before = exposures[party.id].total_minor
        currency = party.currency
        # each unit counted once for the party, by the GTIN its key carries
        counted: set[str] = set()
        new: dict[int, list[str]] = {}
        for i in idx:
            new[i] = [k for k in held[i] if k not in counted]
            counted.update(new[i])
        iso = on.isoformat()
        values = {
            i: sum(prices.price(_gtin(k) or "", currency, iso) or 0 for k in new[i]) for i in idx
        }
        if not cash_only and before + sum(values.values()) <= limit.limit_minor:
            continue  # within the limit even with the whole batch
        running = 0
        for i in idx:
            running += values[i]
            if cash_only:
                kind, note = "cash_only_shipment", CASH_ONLY_NOTE % {"party": code}
            elif before + running > limit.limit_minor:
                kind = "credit_shipment"
                note = OVER_LIMIT_NOTE % {
                    "party": code,
                    "exposure": major(before, currency),
                    "shipment": major(running, currency),
                    "credit_limit": major(limit.limit_minor, currency),
                    "currency": currency,
                }
            else:
                continue
            hop = hops[i]
            out[i] = dataclasses.replace(hop, note=f"{hop.note}; {note}" if hop.note else note)
            flags.append(
                CreditFlag(
                    i, party.id, code, kind, before, running, limit.limit_minor, currency,
                    _day(hop.at_ms).isoformat(), note,
                )
            )  # fmt: skip
    return Screened(out, tuple(sorted(flags, key=lambda f: f.index)))


def alert_flagged(
    engine: Engine, screened: Screened, results: Sequence[HopResult]
) -> list[CreditAlertView]:
    """Raise one credit alert per party, kind and day for the flagged hops that were
    accepted (a replay, a rejection or a conflict raises none), in a transaction of
    its own; the alerts newly raised.

    The detail: ``exposure_minor`` (the party's exposure before the day's first
    flagged shipment), ``value_minor`` (what the day's flagged shipments added to it,
    from that exposure), ``limit_minor`` and ``note`` (the last flagged hop's),
    ``currency`` and ``seqs`` (every flagged entry of the day). A later batch of the
    same day adds its seqs and value to the alert already raised
    (:func:`risk.credit_alerts.update_alert`, audited as :data:`GATE_ACTOR`; a
    closed one opens again). Errors are logged, not raised: the scans are recorded
    already."""
    groups: dict[tuple[int, str, str], list[CreditFlag]] = {}
    seqs: dict[tuple[int, str, str], list[int]] = {}
    for flag in screened.flags:
        if flag.index >= len(results) or results[flag.index].status != "accepted":
            continue
        key = (flag.party_id, flag.kind, flag.day)
        groups.setdefault(key, []).append(flag)
        seqs.setdefault(key, []).extend(results[flag.index].seqs)
    if not groups:
        return []
    raised: list[CreditAlertView] = []
    try:
        with Session(engine) as s, s.begin():
            for (party_id, kind, day), flags in sorted(groups.items()):
                last = flags[-1]
                detail: dict[str, Any] = {
                    "exposure_minor": last.exposure_minor, "value_minor": last.value_minor,
                    "limit_minor": last.limit_minor, "currency": last.currency,
                    "seqs": seqs[(party_id, kind, day)], "note": last.note,
                }  # fmt: skip
                alert, new = raise_alert(s, party_id, kind, day, detail)
                if new:
                    raised.append(alert)
                    continue
                merged = _merged(alert.detail, detail)
                if merged is not None:
                    update_alert(s, alert.id, merged, GATE_ACTOR)
    except Exception:  # the scans are recorded: an alert that failed is logged
        log.exception("credit alerts for flagged shipments could not be raised")
        return []
    return raised


def _merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """``old`` figures with a later batch's ``new`` ones added: seqs appended, value
    summed, the first exposure kept, the latest limit and note; None when ``new``'s
    seqs are all in ``old`` already (nothing new)."""
    known = [int(q) for q in old.get("seqs") or [] if isinstance(q, int)]
    added = [q for q in new["seqs"] if q not in set(known)]
    if not added:
        return None
    if old.get("currency", new["currency"]) != new["currency"]:
        return {**new, "seqs": known + added}  # the party's currency changed: start over
    value = old.get("value_minor")
    exposure = old.get("exposure_minor")
    return {
        **old,
        **new,
        "seqs": known + added,
        "value_minor": (value if isinstance(value, int) else 0) + int(new["value_minor"]),
        "exposure_minor": exposure if isinstance(exposure, int) else new["exposure_minor"],
    }


@dataclass
class Gate:
    """The gate around one append: ``append_chosen_hops(engine, gate.wrap(choose))``
    then ``gate.alert(engine, results)``."""

    screened: Screened | None = field(default=None)

    def wrap(self, choose: ChooseHops) -> ChooseHops:
        """``choose`` followed by :func:`screen` of what it chose."""

        def gated(conn: Connection) -> Sequence[Hop]:
            hops = choose(conn)
            if not hops:
                self.screened = None
                return hops
            self.screened = screen(conn, hops)
            return self.screened.hops

        return gated

    def alert(self, engine: Engine, results: Sequence[HopResult]) -> list[CreditAlertView]:
        """:func:`alert_flagged` for the batch screened last (nothing when none)."""
        if self.screened is None or not self.screened.flags:
            return []
        return alert_flagged(engine, self.screened, results)


def append_gated(
    engine: Engine,
    hops: Sequence[Hop],
    plain: Callable[[Engine, Sequence[Hop]], list[HopResult]] = append_hops,
) -> list[HopResult]:
    """:func:`ledger.append_hops` with the credit gate: screened under the ledger
    lock, appended, then alerted. A batch with no shipping hop is appended as is,
    by ``plain`` (the caller's ``append_hops``)."""
    if not any(_is_shipping(h) for h in hops):
        return plain(engine, hops)
    gate = Gate()
    results = append_chosen_hops(engine, gate.wrap(lambda _conn: hops))
    gate.alert(engine, results)
    return results
