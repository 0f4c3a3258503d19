"""The credit gate: manufacturer shipments on credit checked as they are recorded
(issue 13; DESIGN.md "never drop a real observation").

A hop is checked when it is a ``shipping`` hop made by a party of kind
``manufacturer`` to a counterparty that has a credit limit on file
(:func:`risk.limits.limit_in_force`). A party with no limit on file is not checked:
credit control is not set up for it (no investigation and rating yet). Every other
hop is never touched: a batch without shipping hops costs one pass over its hops
in Python and no query; one whose shipments are not a manufacturer's, one query (the
parties). Values are read once for the whole batch per party and, only when that
goes over the limit, once per GTIN or SSCC to say which hop crossed it.

The check runs BEFORE the append, with the ledger lock held
(:func:`ledger.append.append_chosen_hops`: ``choose(conn)`` reads on the append's own
connection, so two appenders cannot both pass it on the same exposure). A checked
hop is flagged by a note added to it (``Hop.note``), which the ledger records in
the entry's anomaly, signed like the rest; the scan is still accepted:

- the counterparty is on cash only (:func:`risk.assessment.is_cash_only`):
  ``credit: shipped on credit to cash-only party CODE``;
- its exposure before the batch (:func:`risk.exposure.exposure_in`, on the hop's UTC
  day) plus the list-price value of this batch's shipments to it so far
  (:func:`risk.open_items.shipment_value_in`; an SSCC covers what it holds) exceeds
  its limit: ``credit: over limit of CODE: exposure X + shipment Y > limit Z CCY``
  (amounts in major units of the party's currency, e.g. ``1200.00``).

Several hops to the same party in one batch accumulate (Y is the batch's value up
to and including the hop). A hop already recorded (its device and device_seq have
a receipt, or came earlier in the batch) is a replay: not counted nor flagged; the
ledger answers it ``duplicate`` (its receipt digest ignores the note).

After the append, each accepted flagged hop raises ONE credit alert per party,
kind and day (:func:`risk.credit_alerts.raise_alert`: kind ``cash_only_shipment``
or ``credit_shipment``, key ``YYYY-MM-DD``; detail: exposure_minor, value_minor,
limit_minor, currency, seqs) in a transaction of its own; a failure there is
logged and never undoes the scans.

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

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ledger.append import append_chosen_hops, append_hops
from ledger.database import placeholder
from ledger.hops import Hop, HopResult
from ledger.ids import EntryKind, InvalidIdentifierError, parse_key
from ledger.models import Party, Unit
from risk.assessment import is_cash_only
from risk.credit_alerts import CreditAlertView, raise_alert
from risk.exposure import exposure_in
from risk.limits import limit_in_force
from risk.open_items import shipment_value_in
from settlement.rules.money import minor_exponent

__all__ = [
    "CASH_ONLY_NOTE",
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

ChooseHops = Callable[[Connection], Sequence[Hop]]
#: a hop's kind is an EntryKind; its value too where a caller passed text
_SHIPPING: tuple[object, ...] = (EntryKind.SHIPPING, EntryKind.SHIPPING.value)


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
    keys = {_canonical(hops[i].unit) for idx in by_party.values() for i in idx}
    unit_ids: dict[str, int] = {
        str(k): int(i) for k, i in s.execute(select(Unit.key, Unit.id).where(Unit.key.in_(keys)))
    }
    out = list(hops)
    flags: list[CreditFlag] = []
    for code, idx in sorted(by_party.items()):
        idx = [i for i in idx if i not in replays]
        if not idx:
            continue
        party = parties[code]
        limit = limits[code]
        assert limit is not None
        on = max(_day(hops[i].at_ms) for i in idx)
        cash_only = is_cash_only(s, party.id)
        ids = {i: unit_ids.get(_canonical(hops[i].unit)) for i in idx}
        exposure = exposure_in(s, party.id, on)
        before = exposure.total_minor
        currency = party.currency
        if not cash_only:
            everything = [u for u in ids.values() if u is not None]
            total, currency, _missing = shipment_value_in(s, party.id, everything, on)
            if before + total <= limit.limit_minor:
                continue  # within the limit even with the whole batch
        running = 0
        by_gtin: dict[str, int] = {}  # an item's value is its GTIN's: one query per GTIN
        for i in idx:
            uid = ids[i]
            key = _canonical(hops[i].unit)
            gtin = key.split("/")[1] if key.startswith("01/") else None
            value = 0
            if gtin is not None and gtin in by_gtin:
                value = by_gtin[gtin]
            elif uid is not None:
                value, currency, _missing = shipment_value_in(s, party.id, [uid], on)
                if gtin is not None:
                    by_gtin[gtin] = value
            running += value
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
    its own; the alerts newly raised. The detail holds the figures of the party's
    last flagged hop of the day (exposure_minor, value_minor, limit_minor,
    currency) and the seqs of every flagged entry. Errors are logged, not raised:
    the scans are recorded already."""
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
                alert, new = raise_alert(
                    s, party_id, kind, day,
                    {
                        "exposure_minor": last.exposure_minor, "value_minor": last.value_minor,
                        "limit_minor": last.limit_minor, "currency": last.currency,
                        "seqs": seqs[(party_id, kind, day)], "note": last.note,
                    },
                )  # fmt: skip
                if new:
                    raised.append(alert)
    except Exception:  # the scans are recorded: an alert that failed is logged
        log.exception("credit alerts for flagged shipments could not be raised")
        return []
    return raised


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
