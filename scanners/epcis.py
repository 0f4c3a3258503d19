"""EPCIS 2.0 JSON-LD: capture documents as ledger hops, export a unit's history.

Capture (:func:`capture_document`) maps events to :class:`~ledger.hops.Hop`:

============================  ==========  =========================================
event                         action      hop kind
============================  ==========  =========================================
ObjectEvent                   ADD         ``commissioning`` (or the bizStep, if it
                                          names another entry kind)
ObjectEvent                   OBSERVE     the bizStep
ObjectEvent                   DELETE      ``decommissioning``
AggregationEvent              ADD         ``packing``: one hop per child, container
                                          = parentID (an SSCC)
AggregationEvent              DELETE      ``unpacking``: likewise; without
                                          ``childEPCs`` (or with ``[]``), one hop
                                          per unit packed in the parent now
AggregationEvent              OBSERVE     the bizStep, one hop for the parentID (the
                                          ledger covers what is packed in it)
TransactionEvent              any         the bizStep, for each EPC (and parentID)
============================  ==========  =========================================

EPCs are SGTIN/SSCC pure-identity URNs or GS1 Digital Link URIs. Who performed the
step (the hop's party) is, in order: our own ``hc:party`` extension (JSON-LD
prefix ``hc:`` = ``https://ns.hopchain.example/epcis/``), the
``owning_party``/``possessing_party`` of the source list (shipping, returning) or
destination list (receiving), the party of the bizLocation's site, the caller's
default party. The counterparty is the other side (destination for shipping and
returning, source for receiving). Ids are mapped to our party and site codes by
caller-supplied resolvers; an id they do not know refuses the document.

Every event is named by its ``eventID``, else by its EPCIS event hash ID (CBV 2.0
§8.9, :mod:`scanners.epcis_hash`: computed offline, once per document); its hops
get ``device = "epcis:<hash of that key>"`` and ``device_seq`` = the hop's index
within the event (:func:`capture_events`), so capturing the same document twice
appends nothing the second time. An event carrying ``errorDeclaration`` (EPCIS 2.0
§7.4.1.2) is parsed into :class:`ErrorDeclaration`; :mod:`scanners.epcis_capture`
turns it into the retraction of the event it repeats, and refuses duplicates of
events captured before (by eventID, hash ID, or an entry's export eventID).
``bizStep`` ``error_declaration`` is refused: a retraction is no observation.

Any problem refuses the whole document with :class:`EpcisError` carrying the JSON
path of the first error, e.g. ``$.epcisBody.eventList[3].epcList[0]``.

Export (:func:`export_history`) writes one event per ledger entry with the same
mapping in reverse, so capturing an export yields the same hops; each event keeps
the eventID it was captured under (or ``urn:hopchain:entry:<seq>:<leaf hex>`` for
an entry not captured from EPCIS), and an error_declaration entry is the retracted
event again with its ``errorDeclaration``, so capturing an export back into the
same ledger appends nothing. Standard fields
carry everything EPCIS has a place for; two extensions carry the rest: ``hc:party``
(who performed the step) and ``hc:container`` (the case a unit moved inside, on
the unit's own shipping/receiving entries).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ledger.hops import Hop
from ledger.ids import OBSERVATION_KINDS, EntryKind, InvalidIdentifierError, sscc_key, unit_key
from ledger.models import Entry, Party, Site, Unit
from ledger.times import MAX_MS, MIN_MS, format_ms, in_range
from scanners.batch import parse_rfc3339_ms, scan_time_problem, to_micro_degrees
from scanners.epcis_events import EpcisEvent, entry_event_id, event_device
from scanners.epcis_hash import EventHashError, event_hash_ids
from scanners.parse import parse

__all__ = [
    "DEFAULT_ID_BASE",
    "EPCIS_CONTEXT",
    "CapturedEvent",
    "EpcisError",
    "EpcisResolvers",
    "ErrorDeclaration",
    "HistoryEntry",
    "capture_document",
    "capture_events",
    "database_resolvers",
    "export_history",
    "history_entries",
    "hopchain_resolvers",
    "party_uri",
    "site_uri",
    "unit_uri",
]

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
HOPCHAIN_NS = "https://ns.hopchain.example/epcis/"
DEFAULT_ID_BASE = "https://id.hopchain.example"
MAX_EVENTS = 10_000

_EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent")
_ACTIONS = ("ADD", "OBSERVE", "DELETE")
_BIZSTEP_PREFIXES = (
    "urn:epcglobal:cbv:bizstep:",
    "https://ref.gs1.org/cbv/BizStep-",
    "http://ref.gs1.org/cbv/BizStep-",
    "cbv:BizStep-",
    "hc:",  # our own steps CBV lacks (returning), as hc:returning
    HOPCHAIN_NS,
)
_NOT_CBV_STEPS = (EntryKind.RETURNING, EntryKind.ERROR_DECLARATION)  # exported as hc:<kind>
_OFFSET = re.compile(r"^[+-](\d{2}):(\d{2})$")
_GEO = re.compile(r"^geo:([-+]?\d+(?:\.\d+)?),([-+]?\d+(?:\.\d+)?)$")
_PARTY_TYPES = ("owning_party", "possessing_party")


class EpcisError(ValueError):
    """The document is refused; ``path`` is the JSON path of the first error."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnresolvedContents(EpcisError):
    """An AggregationEvent DELETE without ``childEPCs`` whose parent holds nothing
    (or is unknown) now. Deferred: the event may be one captured before, which is a
    duplicate whatever the parent holds now; ``party`` performed it."""

    def __init__(self, path: str, reason: str, party: str) -> None:
        super().__init__(path, reason)
        self.party = party


@dataclass(frozen=True, slots=True)
class EpcisResolvers:
    """How EPCIS ids become our codes; each returns None for an id it does not know.

    ``party``: a source/destination party id (or our ``hc:party``) → party code.
    ``site``: a readPoint/bizLocation/location id → site code.
    ``site_party``: a site code → code of the party it belongs to.
    ``default_party``: who performed events that name no party (the capturing client).
    ``contents``: a parent's canonical SSCC key → the canonical keys of the units
    directly packed in it now (``[]`` when empty), None for a container the ledger does
    not know; needed only by an AggregationEvent DELETE without ``childEPCs``.
    """

    party: Callable[[str], str | None]
    site: Callable[[str], str | None]
    site_party: Callable[[str], str | None] | None = None
    default_party: str | None = None
    contents: Callable[[str], list[str] | None] | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One ledger entry of a unit, as the history export needs it."""

    kind: EntryKind
    at_ms: int
    party: str  # party code
    counterparty: str | None = None
    site: str | None = None  # site code
    container: str | None = None  # canonical SSCC key (packing, unpacking)
    leaf_hash: str = ""  # hex
    lat_e6: int | None = None
    lon_e6: int | None = None
    seq: int | None = None  # the entry's seq (names it in the export's eventID)
    event_id: str = ""  # the eventID of the EPCIS event it was captured from, if any
    retracts: int | None = None  # an error_declaration entry: the seq it retracts
    declared_reason: str = ""  # a declaration: the reason (CBV ER- value or URI)
    corrective_ids: tuple[str, ...] = ()  # a declaration: its correctiveEventIDs


@dataclass(frozen=True, slots=True)
class ErrorDeclaration:
    """An event's ``errorDeclaration`` (EPCIS 2.0 §7.4.1.2): the event it repeats
    (same eventID, or same hash ID) was in error and is retracted.

    ``declared_ms``: ``declarationTime`` (ms since the epoch); ``reason``: a CBV
    ``ER-`` value or URI as sent (``""`` when absent); ``corrective_ids``: the
    ``correctiveEventIDs`` of the events that say what happened instead.
    """

    declared_ms: int
    reason: str = ""
    corrective_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CapturedEvent:
    """One event of a captured document: where it is (``index`` in the eventList and
    its JSON ``path``), its ``eventID`` as sent (None without one), its EPCIS event
    hash ID (CBV 2.0 §8.9), its hops and, for an error declaration, what it declares.

    ``key`` (eventID, else hash ID) names the event; ``device`` is the device key
    of its hops (:func:`scanners.epcis_events.event_device` of the key).
    """

    index: int
    path: str
    event_id: str | None
    hash_id: str
    hops: tuple[Hop, ...]
    declaration: ErrorDeclaration | None = None
    # a DELETE without childEPCs on a parent holding nothing now: refused unless the
    # event was captured before (then a duplicate); ``hops`` is empty
    unresolved: UnresolvedContents | None = None

    @property
    def key(self) -> str:
        return self.event_id or self.hash_id

    @property
    def device(self) -> str:
        return event_device(self.key)


# --- our ids -------------------------------------------------------------------------


def party_uri(code: str, base: str = DEFAULT_ID_BASE) -> str:
    return f"{base}/party/{quote(code, safe='')}"


def site_uri(code: str, base: str = DEFAULT_ID_BASE) -> str:
    return f"{base}/site/{quote(code, safe='')}"


def unit_uri(key: str, base: str = DEFAULT_ID_BASE) -> str:
    """GS1 Digital Link URI of a canonical key (the serial percent-encoded).

    The serial may itself contain ``/`` (GS1 character set 82), so the key is
    split at most three times.
    """
    parts = key.strip("/").split("/", 3)
    if len(parts) == 2 and parts[0] == "00":
        return f"{base}/00/{sscc_key(parts[1]).split('/')[1]}"
    if len(parts) == 4 and parts[0] == "01" and parts[2] == "21":
        gtin14 = unit_key(parts[1], parts[3]).split("/")[1]
        return f"{base}/01/{gtin14}/21/{quote(parts[3], safe='')}"
    raise InvalidIdentifierError(
        f"key {key!r} is neither 01/{{gtin14}}/21/{{serial}} nor 00/{{sscc18}}"
    )


def hopchain_resolvers(
    base: str = DEFAULT_ID_BASE,
    *,
    known_party: Callable[[str], bool] | None = None,
    known_site: Callable[[str], bool] | None = None,
    site_party: Callable[[str], str | None] | None = None,
    default_party: str | None = None,
) -> EpcisResolvers:
    """Resolvers for the ids :func:`export_history` writes (``{base}/party/{code}``,
    ``{base}/site/{code}``), optionally checked against the database."""

    def make(kind: str, known: Callable[[str], bool] | None) -> Callable[[str], str | None]:
        prefix = f"{base}/{kind}/"

        def resolve(uri: str) -> str | None:
            if not uri.startswith(prefix):
                return None
            code = unquote(uri[len(prefix) :])
            if not code or (known is not None and not known(code)):
                return None
            return code

        return resolve

    return EpcisResolvers(
        party=make("party", known_party),
        site=make("site", known_site),
        site_party=site_party,
        default_party=default_party,
    )


def database_resolvers(
    session: Session, *, base: str = DEFAULT_ID_BASE, default_party: str | None = None
) -> EpcisResolvers:
    """Resolvers for our own ids (``{base}/party/{code}``, ``{base}/site/{code}``),
    accepting only parties and sites that exist; ``site_party`` from the sites table,
    ``contents`` (what a container holds now) from the units table.
    ``default_party`` is the party of the client capturing the document, if any."""

    def known_party(code: str) -> bool:
        return session.scalar(select(Party.id).where(Party.code == code)) is not None

    def known_site(code: str) -> bool:
        return session.scalar(select(Site.id).where(Site.code == code)) is not None

    def site_party(code: str) -> str | None:
        return session.scalar(
            select(Party.code).join(Site, Site.party_id == Party.id).where(Site.code == code)
        )

    def contents(key: str) -> list[str] | None:
        parent = session.scalar(select(Unit.id).where(Unit.key == key))
        if parent is None:
            return None
        return list(
            session.scalars(select(Unit.key).where(Unit.container_id == parent).order_by(Unit.id))
        )

    return dataclasses.replace(
        hopchain_resolvers(
            base,
            known_party=known_party,
            known_site=known_site,
            site_party=site_party,
            default_party=default_party,
        ),
        contents=contents,
    )


def history_entries(session: Session, key: str) -> list[HistoryEntry]:
    """The ledger entries of one unit (by canonical key), oldest first, for export:
    with each entry's seq, the eventID it was captured under (``epcis_events`` by
    the entry's device), and for an error declaration the seq it retracts, the
    reason and the correctiveEventIDs declared."""
    counterparty = aliased(Party)
    container = aliased(Unit)
    rows = session.execute(
        select(
            Entry.kind,
            Entry.at_ms,
            Party.code,
            counterparty.code,
            Site.code,
            container.key,
            Entry.leaf_hash,
            Entry.lat_e6,
            Entry.lon_e6,
            Entry.seq,
            Entry.retracts_seq,
            Entry.anomaly,
            EpcisEvent.event_id,
            EpcisEvent.declared_reason,
            EpcisEvent.corrective_ids,
        )
        .join(Unit, Unit.id == Entry.unit_id)
        .join(Party, Party.id == Entry.party_id)
        .outerjoin(counterparty, counterparty.id == Entry.counterparty_id)
        .outerjoin(Site, Site.id == Entry.site_id)
        .outerjoin(container, container.id == Entry.container_id)
        .outerjoin(EpcisEvent, EpcisEvent.device == Entry.device)
        .where(Unit.key == key)
        .order_by(Entry.seq)
    ).all()
    declared = {r[9]: (r[13], r[14]) for r in rows if r[12] is not None}  # seq → row's
    out = []
    for (
        kind,
        at_ms,
        party,
        other,
        site,
        box,
        leaf,
        lat,
        lon,
        seq,
        retracts,
        note,
        eid,
        _,
        _,
    ) in rows:
        reason, correctives = "", ()
        if retracts is not None:
            stored_reason, stored_ids = declared.get(retracts, (None, None))
            reason = stored_reason if stored_reason is not None else note
            correctives = tuple(json.loads(stored_ids)) if stored_ids else ()
        out.append(
            HistoryEntry(
                kind=EntryKind(kind),
                at_ms=at_ms,
                party=party,
                counterparty=other,
                site=site,
                container=box,
                leaf_hash=leaf.hex(),
                lat_e6=lat,
                lon_e6=lon,
                seq=seq,
                event_id=eid or "",
                retracts=retracts,
                declared_reason=reason,
                corrective_ids=correctives,
            )
        )
    return out


# --- capture ---------------------------------------------------------------------------


def capture_document(
    doc: object, resolvers: EpcisResolvers, *, now_ms: int | None = None
) -> list[Hop]:
    """Hops for every event of an EPCIS 2.0 document, in document order: the hops
    of :func:`capture_events`, one list (an error declaration's are the hops of the
    event it repeats). Raises :class:`EpcisError` as it does."""
    events = capture_events(doc, resolvers, now_ms=now_ms)
    for event in events:
        if event.unresolved is not None:  # without the capture history, not a repeat
            raise event.unresolved
    return [hop for event in events for hop in event.hops]


def capture_events(
    doc: object, resolvers: EpcisResolvers, *, now_ms: int | None = None
) -> list[CapturedEvent]:
    """Every event of an EPCIS 2.0 document, in document order, with its hops,
    eventID, EPCIS event hash ID (CBV 2.0 §8.9, :mod:`scanners.epcis_hash`) and
    ``errorDeclaration``. Every event's hops get the device key of its eventID, or
    of its hash ID when it has none, and ``device_seq`` = the hop's index in the
    event: capturing the same event again appends nothing.

    With ``now_ms`` (the server clock, ms since the epoch) every ``eventTime`` must
    lie in the window of :func:`scanners.batch.scan_time_problem` (2000-01-01 to 30
    days ahead), as for handheld scans; None checks the format only (exports, tests).

    Raises :class:`EpcisError` (path and reason of the first error); nothing of
    the document should be stored then.
    """
    if not isinstance(doc, dict):
        raise EpcisError("$", "an EPCIS document must be a JSON object")
    context = doc.get("@context")
    if context is None:
        raise EpcisError("$['@context']", "missing; EPCIS 2.0 JSON-LD needs @context")
    if not _has_epcis_context(context):
        raise EpcisError("$['@context']", f"does not include {EPCIS_CONTEXT}")
    if doc.get("type") != "EPCISDocument":
        raise EpcisError("$.type", f"expected 'EPCISDocument', got {doc.get('type')!r}")
    version = doc.get("schemaVersion")
    if not isinstance(version, str) or not version.startswith("2.0"):
        raise EpcisError("$.schemaVersion", f"expected '2.0', got {version!r}")
    _time_ms(doc.get("creationDate"), "$.creationDate")
    body = doc.get("epcisBody")
    if not isinstance(body, dict):
        raise EpcisError("$.epcisBody", "missing or not an object")
    events = body.get("eventList")
    if not isinstance(events, list):
        raise EpcisError("$.epcisBody.eventList", "missing or not a list")
    if len(events) > MAX_EVENTS:
        raise EpcisError("$.epcisBody.eventList", f"at most {MAX_EVENTS} events per document")
    from scanners.epcis_schema import validate_document  # imports EpcisError from here

    validate_document(doc)  # the EPCIS 2.0 JSON schema and the CBV, whole document
    captured: list[
        tuple[
            int, str, dict[str, Any], list[Hop], ErrorDeclaration | None, UnresolvedContents | None
        ]
    ] = []
    for i, event in enumerate(events):
        path = f"$.epcisBody.eventList[{i}]"
        unresolved: UnresolvedContents | None = None
        try:
            hops = _capture_event(event, path, resolvers, now_ms)
        except UnresolvedContents as exc:
            hops, unresolved = [], exc
        captured.append((i, path, event, hops, _declaration(event, path, now_ms), unresolved))
    try:
        hash_ids = event_hash_ids(doc)  # once per document: JSON-LD expansion is slow
    except EventHashError as exc:
        where = "$['@context']" if "@context" in exc.reason else "$"
        if exc.index is not None:
            where = f"$.epcisBody.eventList[{exc.index}]"
        raise EpcisError(where, f"no EPCIS event hash ID: {exc.reason}") from None
    out: list[CapturedEvent] = []
    for (i, path, event, hops, declared, unresolved), hash_id in zip(
        captured, hash_ids, strict=True
    ):
        event_id = event.get("eventID")
        key = event_id if isinstance(event_id, str) else hash_id
        device = event_device(key)
        hops = [dataclasses.replace(h, device=device, device_seq=n) for n, h in enumerate(hops)]
        out.append(
            CapturedEvent(
                i, path, event_id if isinstance(event_id, str) else None, hash_id, tuple(hops),
                declared, unresolved,
            )
        )  # fmt: skip
    return out


def _declaration(event: dict[str, Any], path: str, now_ms: int | None) -> ErrorDeclaration | None:
    """The event's ``errorDeclaration`` (EPCIS 2.0 §7.4.1.2), None without one.

    ``declarationTime`` is required (RFC 3339, in the scan time window when
    ``now_ms`` is given), ``reason`` a string (CBV ``ER-`` value or URI),
    ``correctiveEventIDs`` a list of non-empty strings. Raises :class:`EpcisError`
    at the field.
    """
    value = event.get("errorDeclaration")
    if value is None:
        return None
    where = f"{path}.errorDeclaration"
    if not isinstance(value, dict):
        raise EpcisError(where, 'expected {"declarationTime": ..., "reason": ...}')
    at_ms = _time_ms(value.get("declarationTime"), f"{where}.declarationTime")
    if now_ms is not None and (problem := scan_time_problem(at_ms, now_ms)) is not None:
        shown = str(value.get("declarationTime"))[:64]
        raise EpcisError(f"{where}.declarationTime", f"{shown!r} {problem}")
    reason = value.get("reason", "")
    if not isinstance(reason, str):
        raise EpcisError(f"{where}.reason", "must be a CBV error reason (ER-) string")
    ids = value.get("correctiveEventIDs", [])
    if not isinstance(ids, list):
        raise EpcisError(f"{where}.correctiveEventIDs", "must be a list of eventIDs")
    for j, ident in enumerate(ids):
        if not isinstance(ident, str) or not ident:
            raise EpcisError(f"{where}.correctiveEventIDs[{j}]", "must be a non-empty eventID")
    return ErrorDeclaration(at_ms, reason[:512], tuple(dict.fromkeys(ids)))


def _has_epcis_context(context: object) -> bool:
    items = context if isinstance(context, list) else [context]
    return any(
        isinstance(c, str) and c.startswith("https://ref.gs1.org/standards/epcis/") for c in items
    )


def _capture_event(
    event: object, path: str, res: EpcisResolvers, now_ms: int | None = None
) -> list[Hop]:
    if not isinstance(event, dict):
        raise EpcisError(path, "an event must be a JSON object")
    etype = event.get("type")
    if etype not in _EVENT_TYPES:
        raise EpcisError(
            f"{path}.type",
            f"unsupported event type {etype!r}; expected one of {', '.join(_EVENT_TYPES)}",
        )
    action = event.get("action")
    if action not in _ACTIONS:
        raise EpcisError(f"{path}.action", f"expected ADD, OBSERVE or DELETE, got {action!r}")
    at_ms = _event_time_ms(event, path)
    if now_ms is not None and (problem := scan_time_problem(at_ms, now_ms)) is not None:
        raise EpcisError(f"{path}.eventTime", f"{str(event.get('eventTime'))[:64]!r} {problem}")
    bizstep = _bizstep(event, path)
    kind = _kind(etype, action, bizstep, path)

    site, lat_e6, lon_e6 = _location(event, path, res)
    party, counterparty = _parties(event, path, kind, site, res)
    device = _event_device(event, path)
    count = itertools.count()

    def hop(unit: str, kind: EntryKind = kind, container: str | None = None) -> Hop:
        return Hop(
            unit=unit,
            kind=kind,
            party=party,
            at_ms=at_ms,
            counterparty=counterparty,
            site=site,
            lat_e6=lat_e6,
            lon_e6=lon_e6,
            container=container,
            device=device,
            device_seq=next(count) if device else None,
        )

    if etype == "AggregationEvent":
        parent = _epc(event.get("parentID"), f"{path}.parentID", required=True)
        assert parent is not None
        if action == "OBSERVE":
            return [hop(parent)]
        if not parent.startswith("00/"):
            raise EpcisError(f"{path}.parentID", "the parent of a packing must be an SSCC")
        children = _epc_list(event, "childEPCs", path)
        if not children and action == "DELETE":
            children = _packed_in(parent, path, res, party)
        if not children:
            raise EpcisError(f"{path}.childEPCs", "an aggregation ADD needs at least one child EPC")
        return [hop(child, container=parent) for child in children]

    units = _epc_list(event, "epcList", path)
    if etype == "TransactionEvent":
        parent = _epc(event.get("parentID"), f"{path}.parentID", required=False)
        if parent is not None:
            units.insert(0, parent)
    if not units:
        raise EpcisError(
            f"{path}.epcList", "no serialized unit (class-level quantityList is not supported)"
        )
    box = _epc(event.get("hc:container"), f"{path}['hc:container']", required=False)
    if box is not None and not box.startswith("00/"):
        raise EpcisError(f"{path}['hc:container']", "a container must be an SSCC")
    return [hop(unit, container=box) for unit in units]


def _packed_in(parent: str, path: str, res: EpcisResolvers, party: str) -> list[str]:
    """The units an AggregationEvent DELETE without ``childEPCs`` disaggregates.

    EPCIS 2.0 §7.4.3 (and its JSON schema, where ``childEPCs`` is optional): a DELETE
    that names no children disaggregates every child of ``parentID``, so each unit
    packed directly in the parent now gets its own unpacking hop. Raises
    :class:`EpcisError` at ``childEPCs`` when the contents cannot be known (no
    ``contents`` resolver), :class:`UnresolvedContents` at ``parentID`` when the
    ledger does not know the parent or it holds nothing (the event may be a repeat).
    """
    if res.contents is None:
        raise EpcisError(
            f"{path}.childEPCs",
            "missing; a DELETE without childEPCs disaggregates what the parent holds, "
            "which only a capture against the ledger can know",
        )
    children = res.contents(parent)
    if children is None:
        raise UnresolvedContents(
            f"{path}.parentID",
            f"unknown container {parent}: a DELETE without childEPCs disaggregates what "
            "is packed in it, and nothing was ever packed in it",
            party,
        )
    if not children:
        raise UnresolvedContents(
            f"{path}.parentID",
            f"container {parent} holds no units now: a DELETE without childEPCs has "
            "nothing to disaggregate",
            party,
        )
    return children


def _event_device(event: dict[str, Any], path: str) -> str:
    """Idempotency key of an event with an ``eventID``: capturing it again appends
    nothing (the ledger answers ``duplicate``, as for a replayed handheld scan).
    An event without one gets the key of its hash ID in :func:`capture_events`."""
    event_id = event.get("eventID")
    if event_id is None:
        return ""
    if not isinstance(event_id, str) or not event_id:
        raise EpcisError(f"{path}.eventID", "must be a non-empty URI string")
    return event_device(event_id)


def _time_ms(value: object, path: str) -> int:
    if not isinstance(value, str):
        raise EpcisError(path, "missing or not a date-time string")
    try:
        return parse_rfc3339_ms(value)
    except ValueError as exc:
        raise EpcisError(path, str(exc)) from exc


def _event_time_ms(event: dict[str, Any], path: str) -> int:
    offset = event.get("eventTimeZoneOffset")
    if not isinstance(offset, str) or not _OFFSET.match(offset):
        raise EpcisError(f"{path}.eventTimeZoneOffset", f"expected ±hh:mm, got {offset!r}")
    value = event.get("eventTime")
    if isinstance(value, str) and re.fullmatch(r"[\d\-]{10}T[\d:.]+", value.strip()):
        value = value.strip() + offset  # a local time: the offset says where
    return _time_ms(value, f"{path}.eventTime")


def _bizstep(event: dict[str, Any], path: str) -> str | None:
    value = event.get("bizStep")
    if value is None:
        return None
    if not isinstance(value, str):
        raise EpcisError(f"{path}.bizStep", "must be a string")
    for prefix in _BIZSTEP_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _kind(etype: str, action: str, bizstep: str | None, path: str) -> EntryKind:
    if bizstep == EntryKind.ERROR_DECLARATION.value:
        raise EpcisError(
            f"{path}.bizStep",
            "'error_declaration' is not an observation: to retract an event, send it "
            "again with an errorDeclaration (EPCIS 2.0 §7.4.1.2)",
        )
    named = next((k for k in OBSERVATION_KINDS if k.value == bizstep), None)
    if etype == "AggregationEvent" and action != "OBSERVE":
        return EntryKind.PACKING if action == "ADD" else EntryKind.UNPACKING
    if etype == "ObjectEvent" and action == "DELETE":
        return EntryKind.DECOMMISSIONING
    if (
        etype == "ObjectEvent"
        and action == "ADD"
        and bizstep in (None, "commissioning", "encoding", "creating_class_instance")
    ):
        return EntryKind.COMMISSIONING
    if named is None:
        kinds = ", ".join(k.value for k in OBSERVATION_KINDS)
        raise EpcisError(
            f"{path}.bizStep",
            f"{'missing' if bizstep is None else repr(bizstep)}; a {etype} {action} needs one of {kinds}",
        )
    return named


def _epc(value: object, path: str, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise EpcisError(path, "expected an EPC URI (SGTIN/SSCC URN or GS1 Digital Link)")
    if not value.startswith(("urn:epc:id:", "http://", "https://")):
        raise EpcisError(path, f"{value!r} is not an SGTIN/SSCC URN or a GS1 Digital Link URI")
    scanned = parse(value)
    if scanned.error is not None:
        raise EpcisError(path, scanned.error)
    if scanned.key is None:
        raise EpcisError(path, f"{value!r} names a product class, not a serialized unit")
    return scanned.key


def _epc_list(event: dict[str, Any], name: str, path: str) -> list[str]:
    values = event.get(name, [])
    if not isinstance(values, list):
        raise EpcisError(f"{path}.{name}", "must be a list")
    keys = []
    for j, value in enumerate(values):
        key = _epc(value, f"{path}.{name}[{j}]", required=True)
        assert key is not None
        keys.append(key)
    return keys


def _id_of(event: dict[str, Any], name: str, path: str) -> str | None:
    value = event.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise EpcisError(f"{path}.{name}", 'expected {"id": "<location id>"}')
    ident: str = value["id"]
    return ident


def _location(
    event: dict[str, Any], path: str, res: EpcisResolvers
) -> tuple[str | None, int | None, int | None]:
    """(site code, lat_e6, lon_e6) from bizLocation and readPoint."""
    site: str | None = None
    lat = lon = None
    for name in ("bizLocation", "readPoint"):
        ident = _id_of(event, name, path)
        if ident is None:
            continue
        geo = _GEO.match(ident)
        if geo:
            try:
                lat = to_micro_degrees(Decimal(geo.group(1)), 90)
                lon = to_micro_degrees(Decimal(geo.group(2)), 180)
            except (ValueError, InvalidOperation) as exc:
                raise EpcisError(f"{path}.{name}.id", str(exc)) from exc
            continue
        if site is not None:
            continue
        site = res.site(ident)
        if site is None:
            raise EpcisError(f"{path}.{name}.id", f"unknown location {ident!r}")
    return site, lat, lon


def _side(event: dict[str, Any], name: str, path: str, res: EpcisResolvers) -> str | None:
    """The party code of a sourceList/destinationList (owning before possessing)."""
    entries = event.get(name)
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise EpcisError(f"{path}.{name}", "must be a list")
    found: dict[str, str] = {}
    key = name.removesuffix("List")
    for j, entry in enumerate(entries):
        where = f"{path}.{name}[{j}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise EpcisError(where, f'expected {{"type": ..., "{key}": ...}}')
        ident = entry.get(key)
        if not isinstance(ident, str):
            raise EpcisError(f"{where}.{key}", "missing or not a string")
        etype = _cbv_sdt(entry["type"])
        if etype in _PARTY_TYPES:
            code = res.party(ident)
            if code is None:
                raise EpcisError(f"{where}.{key}", f"unknown party {ident!r}")
            if found.setdefault(etype, code) != code:
                # a hop has one counterparty: two would leave one of them unrecorded
                raise EpcisError(
                    f"{where}.{key}",
                    f"a second {etype} ({code}) beside {found[etype]}: a ledger entry names "
                    f"one party per side, so send one event per {key} party",
                )
        elif etype == "location" and res.site(ident) is None:
            raise EpcisError(f"{where}.{key}", f"unknown location {ident!r}")
    return found.get("owning_party") or found.get("possessing_party")


def _cbv_sdt(value: str) -> str:
    """``urn:epcglobal:cbv:sdt:owning_party`` / ``cbv:SDT-owning_party`` → ``owning_party``."""
    for prefix in ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-", "cbv:SDT-"):
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _parties(
    event: dict[str, Any], path: str, kind: EntryKind, site: str | None, res: EpcisResolvers
) -> tuple[str, str | None]:
    source = _side(event, "sourceList", path, res)
    destination = _side(event, "destinationList", path, res)
    own = event.get(f"{HOPCHAIN_NS}party", event.get("hc:party"))
    party: str | None = None
    if own is not None:
        if not isinstance(own, str) or res.party(own) is None:
            raise EpcisError(f"{path}['hc:party']", f"unknown party {own!r}")
        party = res.party(own)
    if kind is EntryKind.RECEIVING:
        party, counterparty = party or destination, source
    else:
        party, counterparty = party or source, destination
    if party is None and site is not None and res.site_party is not None:
        party = res.site_party(site)
    party = party or res.default_party
    if party is None:
        raise EpcisError(
            path,
            "cannot tell which party performed the event: give a source/destination "
            "owning_party, a bizLocation of a known site, or capture as a party",
        )
    return party, counterparty


# --- export ------------------------------------------------------------------------------


def _rfc3339(ms: int) -> str:
    """RFC 3339 UTC with ms; a stored time no calendar holds (a legacy or edited row)
    gives the nearest one that does, and the event says so in ``hc:atMs``."""
    near = min(max(ms, MIN_MS), MAX_MS)
    return f"{format_ms(near, '%Y-%m-%dT%H:%M:%S')}.{near % 1000:03d}Z"


def export_history(
    unit_key: str,
    entries: Sequence[HistoryEntry],
    *,
    base: str = DEFAULT_ID_BASE,
    created_ms: int | None = None,
) -> dict[str, Any]:
    """An EPCIS 2.0 JSON-LD ``EPCISDocument`` with one event per entry, oldest first.

    Each event's ``eventID`` is the one it was captured under (its hash ID for an
    event captured without one), else ``urn:hopchain:entry:<seq>:<leaf hex>``, so
    capturing the export back appends nothing. An error_declaration entry is the
    retracted entry's event again with an ``errorDeclaration`` (EPCIS 2.0
    §7.4.1.2). ``created_ms`` is the document's ``creationDate`` (default: now).
    Raises ValueError for a declaration whose retracted entry is not in ``entries``.
    """
    unit = unit_uri(unit_key, base)
    by_seq = {e.seq: e for e in entries if e.seq is not None}
    events = []
    for e in sorted(entries, key=lambda e: e.at_ms):
        if e.kind is not EntryKind.ERROR_DECLARATION:
            events.append(_export_event(unit, e, base))
            continue
        retracted = by_seq.get(e.retracts) if e.retracts is not None else None
        if retracted is None:
            raise ValueError(
                f"the error declaration at seq {e.seq} retracts seq {e.retracts}, "
                "which is not in the history given"
            )
        events.append(_declaration_event(unit, retracted, e, base))
    created = created_ms if created_ms is not None else time.time_ns() // 1_000_000
    return {
        "@context": [EPCIS_CONTEXT, {"hc": HOPCHAIN_NS}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _rfc3339(created),
        "epcisBody": {"eventList": events},
    }


def _export_event(unit: str, e: HistoryEntry, base: str) -> dict[str, Any]:
    kind = e.kind
    event: dict[str, Any] = {}
    if kind in (EntryKind.PACKING, EntryKind.UNPACKING) and e.container is not None:
        event["type"] = "AggregationEvent"
        event["action"] = "ADD" if kind is EntryKind.PACKING else "DELETE"
        event["parentID"] = unit_uri(e.container, base)
        event["childEPCs"] = [unit]
    else:  # also a case's own unpacking (no container): OBSERVE with bizStep unpacking
        event["type"] = "ObjectEvent"
        event["action"] = {
            EntryKind.COMMISSIONING: "ADD",
            EntryKind.DECOMMISSIONING: "DELETE",
        }.get(kind, "OBSERVE")
        event["epcList"] = [unit]
    event["eventTime"] = _rfc3339(e.at_ms)
    if not in_range(e.at_ms):
        event["hc:atMs"] = e.at_ms  # the stored value behind a clamped eventTime
    event["eventTimeZoneOffset"] = "+00:00"
    if e.event_id:
        event["eventID"] = e.event_id
    elif e.leaf_hash and e.seq is not None:
        event["eventID"] = entry_event_id(e.seq, e.leaf_hash)
    elif e.leaf_hash:
        event["eventID"] = f"urn:hopchain:leaf:{e.leaf_hash}"
    # CBV 2.0 has no returning or error_declaration step; a bare non-CBV name is refused
    event["bizStep"] = f"hc:{kind.value}" if kind in _NOT_CBV_STEPS else kind.value
    if kind is EntryKind.COMMISSIONING:
        event["disposition"] = "active"
    elif kind is EntryKind.DECOMMISSIONING:
        event["disposition"] = "inactive"
    elif kind is EntryKind.SHIPPING:
        event["disposition"] = "in_transit"
    elif kind is EntryKind.RETAIL_SELLING:
        event["disposition"] = "retail_sold"
    if e.lat_e6 is not None and e.lon_e6 is not None:
        event["readPoint"] = {"id": f"geo:{_degrees(e.lat_e6)},{_degrees(e.lon_e6)}"}
    if e.site is not None:
        event["bizLocation"] = {"id": site_uri(e.site, base)}
        event.setdefault("readPoint", {"id": site_uri(e.site, base)})
    me = [{"type": "owning_party", "source": party_uri(e.party, base)}]
    if kind is EntryKind.RECEIVING:
        event["destinationList"] = [
            {"type": "owning_party", "destination": party_uri(e.party, base)}
        ]
        if e.counterparty is not None:
            event["sourceList"] = [
                {"type": "owning_party", "source": party_uri(e.counterparty, base)}
            ]
    else:
        event["sourceList"] = me
        if e.counterparty is not None:
            event["destinationList"] = [
                {"type": "owning_party", "destination": party_uri(e.counterparty, base)}
            ]
    event["hc:party"] = party_uri(e.party, base)
    if e.container is not None and event["type"] == "ObjectEvent":
        event["hc:container"] = unit_uri(e.container, base)  # moved inside this case
    return event


def _declaration_event(
    unit: str, retracted: HistoryEntry, declaration: HistoryEntry, base: str
) -> dict[str, Any]:
    """The retracted entry's event with the ``errorDeclaration`` that retracted it."""
    event = _export_event(unit, retracted, base)
    declared: dict[str, Any] = {"declarationTime": _rfc3339(declaration.at_ms)}
    if declaration.declared_reason:
        declared["reason"] = declaration.declared_reason
    if declaration.corrective_ids:
        declared["correctiveEventIDs"] = list(declaration.corrective_ids)
    event["errorDeclaration"] = declared
    return event


def _degrees(e6: int) -> str:
    return f"{Decimal(e6).scaleb(-6):f}"
