"""The scan station: warehouse staff record scans from a desk (keyboard-wedge
scanner or a photo of a label) and see each answer at once.

The station is a device of its own, ``station:<username>``, with its own
``device_seq``: each rendered form carries the next one, so a resubmitted form
(double click, reload, back button) is answered ``duplicate`` by the ledger
instead of being appended twice. Scans are recorded for the signed-in person's
party; manufacturer staff without a party pick the party they act for. Staff of
a distributor (or dealer) record only within its custody (:mod:`ledger.permissions`).

The manufacturer's staff also commission: scanning a unit label (or a photo of a
freshly printed label sheet, every code on it in one append) with the step
"Commission" records its commissioning; a distributor's station does not offer
the step. A repeat of the unit's last step by the same party is answered
"already recorded" and appends nothing (the rules: :mod:`scanners.station`).

The step and counter-party in force are kept in the session and shown in a
status bar at the top of the page; ``scans.station_settings`` keeps a change
made without scanning.

The counter-party and the acting party are text fields for a party's code (any
kind: a dealer or retailer is a valid ship-to), never pre-filled with a party
nobody chose; ``static/party_picker.js`` suggests parties as you type through
``scans.station_parties`` (a warehouse person may not use ``/api/v1/parties``).
The server finds the party by its exact code, ignoring case, and names the field
in words when no party has the code.

Without JavaScript the form posts and redirects back (the answer shows on the
page that follows); with ``static/scan_station.js`` it posts to
``scans.station_json`` and the code field never loses focus.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import func, select
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from ledger import HopResult
from ledger.append import append_chosen_hops
from ledger.models import Entry, Party, Unit
from risk.credit_gate import Gate
from scanners import (
    BatchFormatError,
    ImageDecodeError,
    decode_image,
    may_commission,
    parse,
    record_station_scans,
)
from scanners.station import ChooseHops
from settlement.models import Product
from settlement.party_search import MAX_QUERY, search_parties
from web.db import get_engine, get_session
from web.i18n import format_when
from web.party_scope import custody_scope
from web.reasons import anomaly_words, event_reason_words, scan_reason_words
from web.roles import Role
from web.security import Principal, current_principal, require_roles
from web.settlement_access import current_actor

__all__ = ["STATION_KINDS", "StationScan", "bp", "station_device"]

bp = Blueprint("scans", __name__, url_prefix="/scan")

#: The steps a desk records, as (batch kind, label); ``commission`` only where the
#: acting party may commission (:func:`scanners.may_commission`), never for a
#: party that acts within its custody.
STATION_KINDS: tuple[tuple[str, str], ...] = (
    ("commission", _l("Commission (label sheet)")),
    ("ship", _l("Ship out")),
    ("receive", _l("Receive")),
    ("pack", _l("Pack into a case or pallet")),
    ("unpack", _l("Unpack")),
    ("sell", _l("Sell to a customer")),
    ("return", _l("Return")),
)
_KIND_LABELS = dict(STATION_KINDS)
#: What the counter-party is for each step, as the status bar names it.
_COUNTERPARTY_ROLES = {
    "ship": _l("To"),
    "return": _l("To"),
    "receive": _l("From"),
}
_PICKER_ATTRS = {"autocomplete": "off", "maxlength": 64, "spellcheck": "false"}
MAX_PARTY_MATCHES = 20  # suggestions one look-up answers
MAX_RECENT = 12  # scans listed on the page (kept in the session cookie)
_SEQ_MEMORY = 24  # device_seqs remembered to tell a resubmission from a reused form
_SEQ_STRIDE = 1000  # room for every code of one photo before the next form's seq
_MAX_SEQ = 2**62
_MAX_PHOTO = 16 * 1024 * 1024


class StationForm(FlaskForm):  # type: ignore[misc]
    kind = SelectField(
        _l("Step"),
        choices=[SelectChoice(v, label) for v, label in STATION_KINDS],
        validate_choice=False,  # checked against the steps offered to the person below
    )
    counterparty = StringField(
        _l("Counter-party"),
        validators=[Optional(), Length(max=64)],  # checked against the parties table below
        description=_l(
            "Ship to, received from, returned to: type the start of its code or name and pick"
            " it (leave empty for none)."
        ),
        render_kw=_PICKER_ATTRS,
    )
    party = StringField(
        _l("Acting party"),
        validators=[Optional(), Length(max=64)],
        description=_l("Who performs the step: type the start of its code or name and pick it."),
        render_kw=_PICKER_ATTRS,
    )
    container = StringField(
        _l("Pack into (SSCC)"),
        validators=[Optional(), Length(max=200)],
        description=_l("Packing only: scan the case or pallet label first."),
    )
    code = StringField(_l("Scan or type a code"), validators=[Optional(), Length(max=500)])
    photo = FileField(_l("Or a photo of labels"))
    device_seq = HiddenField()


@dataclass(frozen=True, slots=True)
class StationScan:
    """One code's answer, as the page shows it."""

    tone: str  # ok | warn | bad
    status: str  # accepted | duplicate | rejected | conflict
    kind: str
    code: str
    key: str | None
    entries: int
    units: int
    message: str
    at: str  # HH:MM:SS UTC

    @property
    def headline(self) -> str:
        if self.status == "rejected":
            return str(gettext("Rejected"))
        if self.tone == "warn":
            return str(gettext("Recorded with an anomaly"))
        return str(
            gettext("Already recorded") if self.status == "duplicate" else gettext("Accepted")
        )


# --- parties and the acting party ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Found:
    """A party the station found by its code: as stored."""

    code: str
    name: str
    kind: str


def _find(typed: str | None) -> _Found | None:
    """The party (any kind) whose code is ``typed``, ignoring surrounding spaces and
    case; None for an empty or unknown code."""
    wanted = (typed or "").strip().lower()
    if not wanted or len(wanted) > 64:
        return None
    row = (
        get_session()
        .execute(
            select(Party.code, Party.name, Party.kind)
            .where(func.lower(Party.code) == wanted)
            .limit(1)
        )
        .first()
    )
    return None if row is None else _Found(str(row[0]), str(row[1]), str(row[2]))


def _may_offer_commissioning(me: Principal) -> bool:
    """Whether the station offers the step: not to staff bounded by a channel
    partner's custody, nor to staff of a party that does not commission."""
    if custody_scope(me) is not None:
        return False
    if me.party_id is None:
        return True  # the manufacturer's staff acting for a party they choose
    kind = get_session().scalar(select(Party.kind).where(Party.id == me.party_id))
    return may_commission(kind)


def _kinds(me: Principal) -> list[tuple[str, str]]:
    """The steps offered to ``me``, as (batch kind, label)."""
    offer = _may_offer_commissioning(me)
    return [(v, label) for v, label in STATION_KINDS if v != "commission" or offer]


def _acting_party(me: Principal, form: StationForm) -> _Found | None:
    """The party the scans are recorded for: the person's own, else the one typed in
    the form's "Acting party" (written back as stored); None when none is found."""
    if me.party_code is not None:
        kind = get_session().scalar(select(Party.kind).where(Party.id == me.party_id))
        return _Found(me.party_code, "", str(kind) if kind is not None else "")
    found = _find(form.party.data)
    if found is not None:
        form.party.data = found.code
    return found


def _form(me: Principal) -> StationForm:
    form = StationForm()
    form.kind.choices = [SelectChoice(v, label) for v, label in _kinds(me)]
    lookup = {"data-party-picker": url_for("scans.station_parties")}
    form.counterparty.render_kw = {**_PICKER_ATTRS, **lookup}
    form.party.render_kw = {**_PICKER_ATTRS, **lookup}
    if request.method == "GET":
        prefs = session.get("station.prefs") or {}
        offered = {v for v, _label in _kinds(me)}
        form.kind.data = prefs.get("kind") if prefs.get("kind") in offered else "ship"
        form.counterparty.data = prefs.get("counterparty", "")
        form.container.data = prefs.get("container", "")
        if me.party_code is None:
            form.party.data = prefs.get("party") or ""  # no silent default: chosen or empty
        form.device_seq.data = str(_fresh_seq())
    return form


# --- device_seq ------------------------------------------------------------------------


def station_device(me: Principal) -> str:
    """``station:<username>``, within the ledger's 64 characters for a device."""
    device = f"station:{me.name}"
    if len(device) <= 64:
        return device
    return f"station:{me.name[:40]}~{hashlib.sha256(me.name.encode()).hexdigest()[:15]}"


def _fresh_seq() -> int:
    return time.time_ns() // 1000  # microseconds: increasing, far below 2**62


def _form_seq(raw: str | None, digest: str, now_ms: int) -> tuple[int, int]:
    """The form's device_seq and scan time (ms since the epoch).

    A resubmission of the same content keeps the time it was first sent with, so
    the ledger sees the same scan and answers ``duplicate`` (a different time
    would be a ``conflict``); a form this session already used for other content
    (reused after the back button) gets a fresh device_seq and ``now_ms``.
    """
    try:
        seq = int(raw or "")
    except ValueError:
        seq = -1
    used: dict[str, str] = dict(session.get("station.seqs") or {})
    stored = used.get(str(seq))
    first_digest, _, first_ms = (stored or "").partition("@")
    if not 0 <= seq < _MAX_SEQ - _SEQ_STRIDE or (stored is not None and first_digest != digest):
        seq, stored = _fresh_seq(), None
    at_ms = int(first_ms) if stored is not None and first_ms.isdigit() else now_ms
    used[str(seq)] = f"{digest}@{at_ms}"
    newest = sorted(used.items(), key=lambda item: int(item[0]))[-_SEQ_MEMORY:]
    session["station.seqs"] = dict(newest)  # the session serializer sorts keys anyway
    return seq, at_ms


def _next_seq(seq: int) -> int:
    return max(_fresh_seq(), seq + _SEQ_STRIDE)


# --- one submission --------------------------------------------------------------------


def _now_hms() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")


def _rfc3339(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=(ms % 1000) * 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rejected(kind: str, code: str, message: str) -> StationScan:
    return StationScan("bad", "rejected", kind, code, None, 0, 0, message, _now_hms())


def _units_covered(seqs: Sequence[int]) -> int:
    """How many trade items (not cases or pallets) the entries ``seqs`` are about."""
    if not seqs:
        return 0
    count = get_session().scalar(
        select(func.count())
        .select_from(Entry)
        .join(Unit, Unit.id == Entry.unit_id)
        .where(Entry.seq.between(min(seqs), max(seqs)), Unit.key.like("01/%"))
    )
    return int(count or 0)


def _codes_of(form: StationForm) -> tuple[list[str], StationScan | None]:
    """The codes to submit: the typed one, else every code found in the photo."""
    kind = form.kind.data or ""
    typed = (form.code.data or "").strip()
    if typed:
        return [typed], None
    photo = form.photo.data
    if photo is None or not getattr(photo, "filename", ""):
        return [], _rejected(kind, "", gettext("Scan or type a code, or choose a photo."))
    data = photo.read(_MAX_PHOTO + 1)
    if len(data) > _MAX_PHOTO:
        return [], _rejected(kind, photo.filename, gettext("The photo is larger than 16 MB."))
    try:
        found = decode_image(data)
    except ImageDecodeError:
        message = gettext("Could not read the photo: it is not an image this station reads.")
        return [], _rejected(kind, photo.filename, message)
    if not found:
        return [], _rejected(kind, photo.filename, gettext("No barcode found in the photo."))
    return list(dict.fromkeys(r.text for r in found)), None


def _known_gtins(codes: Sequence[str]) -> set[str] | None:
    """The GTINs of ``codes`` that are products (master data); None when there are
    no products at all (then any GTIN may be commissioned)."""
    db = get_session()
    if db.scalar(select(Product.id).limit(1)) is None:
        return None
    gtins = {key.split("/")[1] for key in (parse(c).key for c in codes) if key and key[:3] == "01/"}
    if not gtins:
        return set()
    return set(db.scalars(select(Product.gtin).where(Product.gtin.in_(sorted(gtins)))))


def _refusal_message(refusal: dict[str, Any]) -> str:
    """A commissioning refusal (:class:`scanners.CommissionRefusal` as JSON) in words."""
    why = refusal.get("why")
    if why == "party":
        return str(
            gettext(
                "%(party)s does not commission units: only the manufacturer commissions.",
                party=refusal.get("party", ""),
            )
        )
    if why == "not_a_unit":
        return str(gettext("A case or pallet code is not commissioned: scan the units' labels."))
    if why == "unknown_product":
        return str(
            gettext(
                "GTIN %(gtin)s is not a known product: add it to the products first.",
                gtin=refusal.get("gtin", ""),
            )
        )
    return str(
        gettext(
            "Serial %(serial)s of GTIN %(gtin)s was never allocated (serials 1 to %(allocated)s"
            " were): print labels with hopchain labels.",
            serial=refusal.get("serial", ""),
            gtin=refusal.get("gtin", ""),
            allocated=refusal.get("allocated", 0),
        )
    )


def _rejection_message(code: str, reason: str) -> str:
    """A scan the station refused, in the reader's language: a code that identifies
    nothing (:func:`scanners.parse` gives its reason, said from its id by
    :func:`web.reasons.scan_reason_words`: AI numbers, digits and the code stay as
    they are) or another refusal, each in a translated frame."""
    scanned = parse(code) if code else None
    if scanned is not None and scanned.error is not None:
        return str(
            gettext(
                "%(code)s is not a code this station can read: %(reason)s",
                code=repr(code),
                reason=scan_reason_words(scanned),
            )
        )
    return str(gettext("Not recorded: %(reason)s", reason=event_reason_words(reason)))


def _result_message(result: dict[str, Any], code: str = "") -> str:
    """What the page says about one result of ``code``: our own words where the result
    carries the facts, a refusal in a translated frame (:func:`_rejection_message`),
    else the ledger's anomaly in the reader's language (:func:`web.reasons.anomaly_words`)."""
    repeat = result.get("repeat")
    if isinstance(repeat, dict):
        return str(
            gettext(
                "Already recorded (seq %(seq)s at %(time)s): nothing added.",
                seq=repeat.get("seq"),
                time=format_when(int(repeat.get("at_ms") or 0), "%Y-%m-%d %H:%M:%S UTC"),
            )
        )
    refusal = result.get("refusal")
    if isinstance(refusal, dict):
        return _refusal_message(refusal)
    reason = str(result.get("reason") or "")
    if result.get("status") in ("rejected", "conflict") and reason:
        return _rejection_message(code, reason)
    return reason or anomaly_words(str(result.get("anomaly") or ""))


def _submit(
    me: Principal, form: StationForm, party: str, party_kind: str | None
) -> tuple[list[StationScan], int]:
    """Record the form's scans; (answers, next device_seq)."""
    kind = form.kind.data or "ship"
    counterparty = form.counterparty.data or None
    container = (form.container.data or "").strip() or None
    if kind != "pack":
        container = None
    codes, problem = _codes_of(form)
    digest = hashlib.sha256(
        repr((kind, counterparty, container, party, codes)).encode()
    ).hexdigest()[:12]
    now_ms = time.time_ns() // 1_000_000
    seq, at_ms = _form_seq(form.device_seq.data, digest, now_ms)
    if problem is not None:
        return [problem], _next_seq(seq)
    events: list[dict[str, Any]] = [
        {
            "device_seq": seq + i,
            "scanned_at": _rfc3339(at_ms),
            "kind": kind,
            "code": code,
            "counterparty": counterparty,
            "container": container,
        }
        for i, code in enumerate(codes[:_SEQ_STRIDE])
    ]

    def append_now(choose: ChooseHops) -> Sequence[HopResult]:
        # Not through the group commit (web.ingest): the repeat check must read the
        # units' last entries with the ledger lock held, in this append's own
        # transaction; a person at a station scans a few codes a second at most.
        get_session().rollback()  # no read transaction open across the append
        gate = Gate()  # manufacturer shipments on credit: risk.credit_gate
        results = append_chosen_hops(get_engine(), gate.wrap(choose))
        gate.alert(get_engine(), results)
        return results

    restricted = custody_scope(me) is not None
    known = _known_gtins(codes) if kind == "commission" else None
    try:
        response = record_station_scans(
            get_session(), station_device(me), events, party, append_now, now_ms=now_ms,
            party_kind=party_kind, known_gtins=known, restricted=restricted,
        )  # fmt: skip
    except BatchFormatError as exc:  # pragma: no cover - the events are built above
        return [_rejected(kind, "", str(exc))], _next_seq(seq)
    scans: list[StationScan] = []
    for event, result in zip(events, response.results, strict=True):
        code = str(event["code"])
        status = str(result["status"])
        message = _result_message(result, code)
        if status in ("rejected", "conflict"):  # nothing recorded
            scans.append(_rejected(kind, code, message))
            continue
        # a repeat appended nothing now: it covers no entries of this scan
        seqs = [] if "repeat" in result else [int(s) for s in result.get("seqs", [])]
        scans.append(
            StationScan(
                tone="warn" if result.get("anomaly") else "ok",
                status=status,
                kind=kind,
                code=code,
                key=parse(code).key,
                entries=len(seqs),
                units=_units_covered(seqs),
                message=message,
                at=_now_hms(),
            )
        )
    return scans, _next_seq(seq)


def _keep_prefs(form: StationForm, party: str | None) -> None:
    session["station.prefs"] = {
        "kind": form.kind.data or "ship",
        "counterparty": form.counterparty.data or "",
        "container": (form.container.data or "").strip()[:60],
        "party": party or "",
    }


def _remember(form: StationForm, party: str | None, scans: list[StationScan]) -> None:
    _keep_prefs(form, party)
    recent = [asdict(s) for s in scans] + list(session.get("station.recent") or [])
    for row in recent:  # keep the cookie small
        row["message"] = str(row.get("message", ""))[:160]
        row["code"] = str(row.get("code", ""))[:80]
    session["station.recent"] = recent[:MAX_RECENT]


def _scan_json(scan: StationScan) -> dict[str, Any]:
    label = _KIND_LABELS.get(scan.kind)
    detail = "" if label is None else str(label)
    if scan.entries:
        detail += " · " + " · ".join(
            (
                ngettext("%(num)s unit covered", "%(num)s units covered", scan.units),
                ngettext("%(num)s entry", "%(num)s entries", scan.entries),
            )
        )
    return {
        **asdict(scan),
        "headline": scan.headline,
        "kind_label": None if label is None else str(label),
        "detail": detail,
    }


def _in_force(me: Principal, prefs: dict[str, Any]) -> dict[str, str]:
    """The status bar: the step, its counter-party (with what it is to the step)
    and the acting party in force, as words."""
    kind = str(prefs.get("kind") or "ship")
    if kind not in {v for v, _label in _kinds(me)}:
        kind = "ship"
    counterparty = str(prefs.get("counterparty") or "")
    other = _find(counterparty)
    party = me.party_code or str(prefs.get("party") or "")
    role = str(_COUNTERPARTY_ROLES.get(kind, gettext("Counter-party")))
    return {
        "kind": kind,
        "step": str(_KIND_LABELS.get(kind, kind)),
        "counterparty_role": role,
        # the role as a label: the language's own colon (zh "至：", not "至:")
        "counterparty_label": gettext("%(role)s:", role=role),
        "counterparty": counterparty,
        "counterparty_name": "" if other is None else other.name,
        "party": party,
    }


def _settings_problem(me: Principal, form: StationForm, party: _Found | None) -> tuple[str, str]:
    """What is wrong with the form's settings: (the field's name or "", the problem in
    words naming the field); ("", "") when nothing. A counter-party typed in any case
    is written back as stored."""
    kind = form.kind.data or ""
    if not form.validate_on_submit():
        errors = "; ".join(
            f"{form[name].label.text}: {' '.join(e)}" for name, e in form.errors.items()
        )
        return next(iter(form.errors), ""), errors or gettext("Invalid form.")
    if kind not in {v for v, _label in _kinds(me)}:
        if kind == "commission":
            return "kind", str(
                gettext("This station does not commission: only the manufacturer's staff do.")
            )
        return "kind", str(gettext("Choose a step."))
    typed = (form.counterparty.data or "").strip()
    if typed:
        other = _find(typed)
        if other is None:
            return "counterparty", str(
                gettext("Counter-party: no party has the code “%(code)s”.", code=typed)
            )
        form.counterparty.data = other.code
    else:
        form.counterparty.data = ""
    if party is None:
        typed = (form.party.data or "").strip()
        if typed:
            return "party", str(
                gettext("Acting party: no party has the code “%(code)s”.", code=typed)
            )
        return "party", str(gettext("Choose the party you act for."))
    return "", ""


def _handle_post(me: Principal) -> tuple[StationForm, list[StationScan], int, int]:
    """(form, answers, next seq, HTTP status) of one station submission."""
    form = _form(me)
    party = _acting_party(me, form)
    kind = form.kind.data or ""
    field, problem = _settings_problem(me, form, party)
    if problem:
        _keep_field_error(field, problem)
        return form, [_rejected(kind, "", problem)], _fresh_seq(), 422
    assert party is not None  # _settings_problem said so
    scans, next_seq = _submit(me, form, party.code, party.kind or None)
    _remember(form, party.code, scans)
    return form, scans, next_seq, 200


def _keep_field_error(field: str, problem: str) -> None:
    """Keep a settings problem for the next page, shown next to ``field``."""
    if field in ("counterparty", "party"):
        session["station.field_error"] = {"field": field, "message": problem[:200]}


def _me() -> Principal:
    me = current_principal()
    if me is None:  # pragma: no cover - require_roles ran first
        abort(401)
    return me


@bp.get("/")
@require_roles(Role.WAREHOUSE)
def station() -> ResponseReturnValue:
    me = _me()
    form = _form(me)
    last = [StationScan(**row) for row in session.pop("station.last", [])]
    field_error = dict(session.pop("station.field_error", None) or {})
    if field_error.get("field") in ("counterparty", "party"):  # shown next to the field
        form[str(field_error["field"])].errors = [str(field_error.get("message", ""))]
    recent = [StationScan(**row) for row in session.get("station.recent") or []]
    return render_template(
        "scans/station.html",
        form=form,
        me=me,
        device_id=station_device(me),
        last=last,
        recent=recent,
        kind_labels=_KIND_LABELS,
        in_force=_in_force(me, dict(session.get("station.prefs") or {})),
        roles={k: str(v) for k, v in _COUNTERPARTY_ROLES.items()},
    )


@bp.get("/parties.json")
@require_roles(Role.WAREHOUSE)
def station_parties() -> ResponseReturnValue:
    """The station's party pickers' suggestions: ``{"items": [{"code", "name", "kind"}]}``,
    parties of any kind whose code or name starts with ``q`` (case-insensitive), by
    code, at most :data:`MAX_PARTY_MATCHES`. The same parties the station accepts as
    counter-party or acting party; ``q`` longer than 64 characters finds none."""
    text = request.args.get("q", "")
    if len(text) > MAX_QUERY:
        return jsonify({"items": []})
    found = search_parties(get_engine(), current_actor(), text, kind=None, limit=MAX_PARTY_MATCHES)
    return jsonify({"items": [{"code": p.code, "name": p.name, "kind": p.kind} for p in found]})


@bp.post("/settings")
@require_roles(Role.WAREHOUSE)
def station_settings() -> ResponseReturnValue:
    """Keep the step, counter-party, acting party and container without scanning
    (the status bar's "Keep these settings"; the script sends it on every change).
    Answers JSON (the status bar's words) when asked for it, else redirects back."""
    me = _me()
    form = _form(me)
    party = _acting_party(me, form)
    field, problem = _settings_problem(me, form, party)
    wants_json = request.accept_mimetypes.best == "application/json"
    if problem:
        if wants_json:
            return jsonify({"error": problem, "field": field}), 422
        _keep_field_error(field, problem)
        session["station.last"] = [asdict(_rejected(form.kind.data or "", "", problem))]
        return redirect(url_for("scans.station"))
    _keep_prefs(form, party.code if party is not None else None)
    if wants_json:
        return jsonify(_in_force(me, dict(session["station.prefs"])))
    return redirect(url_for("scans.station"))


@bp.post("/")
@require_roles(Role.WAREHOUSE)
def station_post() -> ResponseReturnValue:
    """The form without JavaScript: record, then show the answer on the next page."""
    _, scans, _, _ = _handle_post(_me())
    session["station.last"] = [asdict(s) for s in scans]
    return redirect(url_for("scans.station"))


@bp.post("/scan.json")
@require_roles(Role.WAREHOUSE)
def station_json() -> ResponseReturnValue:
    """The same, answered as JSON for the page's script (send ``X-CSRFToken``)."""
    _, scans, next_seq, status = _handle_post(_me())
    body = {"scans": [_scan_json(s) for s in scans], "next_seq": next_seq}
    return jsonify(body), status
