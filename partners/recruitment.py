"""The recruitment pipeline (issue 12, "Recruitment pipeline"): from an application
to a signed party on trial.

The process is the one the channel rules describe (seed 003, 二(一)4 招募流程, and
seed 004, 二(二)(三)): an application (报名申请) is screened against the
partner criteria (初步筛选: 资质要求 qualification, 业务能力 sales capability,
资源优势 resources, 合作意愿 willingness to cooperate), visited on site (实地考察),
negotiated (合作洽谈) and signed (合作签约). A prospect's stages are therefore

    application -> screening -> site_visit -> negotiation -> signing -> signed

and it may be ``rejected`` or ``withdrawn`` from any open stage with the reason
written. Each step keeps its owner and due date (:class:`ProspectStage` rows) and
is audited (:func:`partners.audit.record`). Leaving ``screening`` needs every
criterion scored, leaving ``site_visit`` a visit report, leaving ``negotiation``
proposed terms; ``signed`` is reached only through :func:`sign`, which creates the
party (status ``trial``) and starts its trial (:mod:`partners.trials`).

Acquisition channels are those of seed 000 (渠道策略: 线下展会 exhibitions, B2B平台
B2B platforms, 推荐 referrals, 政府与行业协会 associations) plus ``inbound`` (the
public form); :func:`board` sets the money spent per channel
(:class:`AcquisitionCost`) against the partners it signed (CAC, seed 000).

Who: partner managers and admins write; channel managers, finance and auditors
read. :func:`submit_application` is public (no account), audited as ``applicant``.
Every function opens its own transaction on ``engine``; errors are
:class:`partners.errors.PartnerError` subclasses (a bad input:
:class:`partners.values.InvalidField` naming the field, several at once:
:class:`InvalidInput`).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from hashlib import sha256
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import ColumnElement, Engine, column, func, select, table
from sqlalchemy.orm import Session

from geo.models import TerritoryRow
from partners.audit import EventView, history, now_ms, record
from partners.errors import Acting, PartnerError, PartnerNotFound, PartnerStateError, require
from partners.models import (
    AcquisitionCost,
    NegotiationTerms,
    Prospect,
    ProspectStage,
    ScreeningScore,
    ScreeningWeights,
    SiteVisit,
    SiteVisitPhoto,
    Trial,
)
from partners.values import (
    InvalidField,
    check_choice,
    check_country,
    check_currency,
    check_email,
    check_locale,
    check_phone,
    check_text,
)

__all__ = [
    "APPLICATION_FIELDS",
    "CHANNELS",
    "CLOSED_STAGES",
    "CRITERIA",
    "DEFAULT_TRIAL_DAYS",
    "DEFAULT_WEIGHTS",
    "KINDS",
    "MANUAL_FIELDS",
    "MAX_PHOTOS",
    "MAX_PHOTO_BYTES",
    "NEXT_STAGE",
    "OPEN_STAGES",
    "PUBLIC",
    "READERS",
    "STAGES",
    "WRITERS",
    "Board",
    "ChannelFigures",
    "CostView",
    "InvalidInput",
    "PhotoUpload",
    "ProspectDetail",
    "ProspectView",
    "ScreeningLine",
    "ScreeningResult",
    "StageFigures",
    "StageView",
    "TermsView",
    "VisitView",
    "add_site_visit",
    "assign",
    "board",
    "create_prospect",
    "get_photo",
    "get_prospect",
    "latest_terms",
    "list_costs",
    "move",
    "owner_choices",
    "page_prospects",
    "parse_scores",
    "propose_terms",
    "record_cost",
    "score",
    "score_many",
    "screening_result",
    "screening_weights",
    "set_screening_weights",
    "sign",
    "submit_application",
]

OPEN_STAGES = ("application", "screening", "site_visit", "negotiation", "signing")
CLOSED_STAGES = ("signed", "rejected", "withdrawn")
STAGES = OPEN_STAGES + CLOSED_STAGES
#: The one stage each open stage moves on to (``signed`` only through :func:`sign`).
NEXT_STAGE = {
    "application": "screening",
    "screening": "site_visit",
    "site_visit": "negotiation",
    "negotiation": "signing",
    "signing": "signed",
}
CHANNELS = ("exhibition", "b2b_platform", "referral", "association", "inbound")
KINDS = ("distributor", "dealer", "retailer")
#: Screening criteria (seed 003, 二(一)2 合作伙伴筛选标准) and their default weights.
CRITERIA = ("qualification", "sales_capability", "resources", "willingness")
DEFAULT_WEIGHTS: dict[str, Decimal] = {
    "qualification": Decimal("0.3"),
    "sales_capability": Decimal("0.3"),
    "resources": Decimal("0.2"),
    "willingness": Decimal("0.2"),
}
DEFAULT_TRIAL_DAYS = 90
#: The members of an application (:func:`submit_application`).
APPLICATION_FIELDS = (
    "company_name",
    "local_name",
    "kind",
    "country",
    "city",
    "currency",
    "contact_name",
    "contact_email",
    "contact_phone",
    "language",
    "website",
    "territories_wanted",
    "message",
    "channel",
    "channel_detail",
)
#: The members of a prospect a partner manager adds (:func:`create_prospect`).
MANUAL_FIELDS = (*APPLICATION_FIELDS, "owner_user_id", "due_on")
MAX_PHOTOS = 10
MAX_PHOTO_BYTES = 5 * 1024 * 1024
_PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_MAX_MINOR = 10**15  # far above any real amount, far inside BIGINT

WRITERS = ("partner_manager", "admin")
READERS = (*WRITERS, "channel_manager", "finance", "auditor")

_users = table(
    "users", column("id"), column("username"), column("role"), column("active"), column("service")
)  # web's table: partners may not import web, it only checks an owner exists
_programs = table("programs", column("code"))  # settlement's table, read the same way


@dataclass(frozen=True, slots=True)
class _Public:
    """The actor of a public application (no account)."""

    username: str = "applicant"
    role: str = "public"
    party_id: int | None = None
    user_id: int | None = None


PUBLIC = _Public()


class InvalidInput(PartnerError):
    """Several inputs that cannot be stored, each an :class:`InvalidField` in
    ``problems`` (in the order of the fields); ``str(exc)`` joins them with ``; ``."""

    def __init__(self, problems: Sequence[InvalidField]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = tuple(problems)


class _Problems:
    """Collects every bad field of one request, so that all are named at once."""

    def __init__(self) -> None:
        self.found: list[InvalidField] = []

    def check(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InvalidField as exc:
            self.found.append(exc)
            return None

    def add(self, exc: InvalidField) -> None:
        self.found.append(exc)

    def raise_any(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise InvalidInput(self.found)


# ------------------------------------------------------------------ value checks


def _text(data: Mapping[str, Any], name: str, *, required: bool = False, limit: int = 200) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidField.said("recruit_not_text", "must be text", field=name)
    return check_text(value, name, required=required, max_length=limit)


def _whole(value: Any, name: str, *, low: int, high: int, default: int | None = None) -> int | None:
    """An integer from ``low`` to ``high``: an int (JSON) or its digits (a form)."""
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField.said(
            "recruit_not_whole", "%(value)s is not a whole number", field=name, value=repr(value)
        )
    if not low <= value <= high:
        raise InvalidField.said(
            "recruit_out_of_range",
            "%(value)s is not between %(low)s and %(high)s",
            field=name,
            value=value,
            low=low,
            high=high,
        )
    return value


def _day(value: Any, name: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidField.said("value_empty", "is empty", field=name)
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidField.said(
            "recruit_not_day",
            "%(value)s is not a date like 2026-12-01 (YYYY-MM-DD)",
            field=name,
            value=repr(value),
        ) from None


def _month(value: Any, name: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    try:
        if len(text) != 7:
            raise ValueError
        dt.date.fromisoformat(text + "-01")
    except ValueError:
        raise InvalidField.said(
            "recruit_not_month",
            "%(value)s is not a month like 2026-12 (YYYY-MM)",
            field=name,
            value=repr(value),
        ) from None
    return text


def owner_choices(s: Session) -> list[tuple[int, str]]:
    """``(user id, username)`` of everyone who may own a prospect, by username: an
    active person (not a service user: those hold API tokens only, nobody answers
    for them) who is a partner manager or admin. The same rule as :func:`_owner`."""
    rows = s.execute(
        select(_users.c.id, _users.c.username)
        .where(
            _users.c.active.is_(True),
            _users.c.service.is_not(True),
            _users.c.role.in_(WRITERS),
        )
        .order_by(_users.c.username)
    )
    return [(int(i), str(n)) for i, n in rows.all()]


def _owner(s: Session, value: Any, name: str = "owner_user_id") -> int | None:
    """A user id of an active person who is a partner manager or admin (None for no
    owner); a service user (``service:admin``, a token's user) owns nothing."""
    owner = _whole(value, name, low=1, high=2**31 - 1)
    if owner is None:
        return None
    row = s.execute(
        select(_users.c.role, _users.c.active, _users.c.service, _users.c.username).where(
            _users.c.id == owner
        )
    ).first()
    if row is not None and row.service:
        raise InvalidField.said(
            "recruit_owner_service",
            "user %(value)s (%(user)s) is a service user for API tokens, not a person; "
            "a prospect's owner must be a partner manager or admin who answers for it",
            field=name,
            value=owner,
            user=row.username,
        )
    if row is None or not row.active or row.role not in WRITERS:
        raise InvalidField.said(
            "recruit_owner",
            "user %(value)s is not an active partner manager or admin",
            field=name,
            value=owner,
        )
    return owner


def _today(today: dt.date | None) -> dt.date:
    return today or dt.datetime.now(dt.UTC).date()


def _days_since(since_ms: int, today: dt.date) -> int:
    """Whole UTC calendar days from the day of ``since_ms`` to ``today`` (0 or more)."""
    return max(0, (today - dt.datetime.fromtimestamp(since_ms / 1000, dt.UTC).date()).days)


# ------------------------------------------------------------------ views


@dataclass(frozen=True, slots=True)
class ProspectView:
    """A prospect as lists show it; ``days_in_stage`` counted to ``today`` (UTC days)."""

    id: int
    reference: str
    company_name: str
    local_name: str
    kind: str
    country: str
    city: str
    contact_name: str
    contact_email: str
    channel: str
    source: str
    stage: str
    owner_user_id: int | None
    owner_name: str | None
    due_on: str | None
    stage_since_ms: int
    days_in_stage: int
    overdue: bool
    party_id: int | None
    party_code: str | None
    created_ms: int


@dataclass(frozen=True, slots=True)
class StageView:
    """One step of the history: the stage entered (or kept, on a re-assignment)."""

    stage: str
    owner_user_id: int | None
    owner_name: str | None
    due_on: str | None
    note: str
    actor_name: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class ScreeningLine:
    """One criterion: its weight, the latest score (None: not scored) and reason,
    and ``weighted`` = weight x score."""

    criterion: str
    weight: Decimal
    score: int | None
    reason: str
    scored_by: str
    scored_ms: int | None
    weighted: Decimal | None


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """A prospect's screening: ``total`` = sum of weight x score over the scored
    criteria (0-100 once all are scored), ``missing`` the criteria not scored yet,
    ``weights_version`` the weights it is judged by."""

    weights_version: int
    lines: tuple[ScreeningLine, ...]
    total: Decimal
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True, slots=True)
class VisitView:
    """A site visit's dated report; ``photos`` are ``(photo id, filename, content
    type, sha256 hex, size in bytes)``."""

    id: int
    visited_on: str
    visitor: str
    report: str
    created_by: str
    created_ms: int
    photos: tuple[tuple[int, str, str, str, int], ...]


@dataclass(frozen=True, slots=True)
class TermsView:
    """A version of the terms proposed to a prospect. Money is minor units of
    ``currency``; ``trial_order_cap_units`` None: no cap."""

    prospect_id: int
    version: int
    territories: tuple[str, ...]
    programs: tuple[str, ...]
    currency: str
    deposit_minor: int
    credit_limit_minor: int
    payment_terms_days: int
    trial_days: int
    trial_order_cap_units: int | None
    note: str
    proposed_by: str
    proposed_ms: int


@dataclass(frozen=True, slots=True)
class ProspectDetail:
    """Everything about one prospect, as its page and the API show it."""

    prospect: ProspectView
    contact_phone: str
    currency: str
    language: str
    website: str
    territories_wanted: str
    message: str
    channel_detail: str
    closed_reason: str
    stages: tuple[StageView, ...]
    screening: ScreeningResult
    visits: tuple[VisitView, ...]
    terms: tuple[TermsView, ...]
    events: tuple[EventView, ...]

    @property
    def allowed_moves(self) -> tuple[str, ...]:
        """The stages :func:`move` may take it to now (``signed`` is :func:`sign`'s)."""
        stage = self.prospect.stage
        if stage not in OPEN_STAGES:
            return ()
        nxt = NEXT_STAGE[stage]
        return ((nxt,) if nxt != "signed" else ()) + ("rejected", "withdrawn")


@dataclass(frozen=True, slots=True)
class PhotoUpload:
    """A photo as it was uploaded (``content_type`` as the sender said; checked)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class CostView:
    id: int
    channel: str
    period: str
    amount_minor: int
    currency: str
    note: str
    created_by: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class StageFigures:
    """An open stage on the board: how many prospects, days they have been in it
    (median and oldest, UTC days; None when empty) and how many are past due."""

    stage: str
    count: int
    median_days: float | None
    oldest_days: int | None
    overdue: int


@dataclass(frozen=True, slots=True)
class ChannelFigures:
    """An acquisition channel: ``applications`` (every prospect it brought: each
    begins as an application), ``signed``, ``rate`` = signed / applications (None
    with no application), ``spent`` per currency (minor units, every period) and
    ``cost_per_signed`` per currency = spent / signed rounded half-even to a minor
    unit (absent with nobody signed). Currencies are never converted."""

    channel: str
    applications: int
    signed: int
    rate: Decimal | None
    spent: dict[str, int]
    cost_per_signed: dict[str, int]


@dataclass(frozen=True, slots=True)
class Board:
    """The recruitment board on ``today``."""

    today: str
    stages: tuple[StageFigures, ...]
    closed: dict[str, int]
    channels: tuple[ChannelFigures, ...]
    trials_running: int
    trials_admitted: int
    trials_ended: int


# ------------------------------------------------------------------ reading


def _get(s: Session, prospect_id: int) -> Prospect:
    p = s.get(Prospect, prospect_id)
    if p is None:
        raise PartnerNotFound.said("no_prospect", "no prospect %(prospect)s", prospect=prospect_id)
    return p


def _user_names(s: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = s.execute(select(_users.c.id, _users.c.username).where(_users.c.id.in_(wanted)))
    return {int(i): str(n) for i, n in rows.all()}


def _party_codes(s: Session, ids: set[int | None]) -> dict[int, str]:
    from ledger.models import Party

    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = s.execute(select(Party.id, Party.code).where(Party.id.in_(wanted)))
    return {int(i): str(c) for i, c in rows.all()}


def _view(
    p: Prospect, today: dt.date, owners: dict[int, str], codes: dict[int, str]
) -> ProspectView:
    days = _days_since(p.stage_since_ms, today)
    open_ = p.stage in OPEN_STAGES
    return ProspectView(
        p.id,
        p.reference,
        p.company_name,
        p.local_name,
        p.kind,
        p.country,
        p.city,
        p.contact_name,
        p.contact_email,
        p.channel,
        p.source,
        p.stage,
        p.owner_user_id,
        owners.get(p.owner_user_id) if p.owner_user_id is not None else None,
        p.due_on,
        p.stage_since_ms,
        days if open_ else 0,
        bool(open_ and p.due_on is not None and p.due_on < today.isoformat()),
        p.party_id,
        codes.get(p.party_id) if p.party_id is not None else None,
        p.created_ms,
    )


def page_prospects(
    engine: Engine,
    actor: Acting,
    *,
    stage: str | None = None,
    channel: str | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = 50,
    today: dt.date | None = None,
) -> tuple[list[ProspectView], int]:
    """A page of prospects, newest first, and how many match: ``stage`` (one of
    :data:`STAGES`, or ``open``), ``channel``, ``q`` (start of the company name or
    the reference, case-insensitive). Three queries whatever the page's length."""
    require(actor, *READERS, action="read prospects")
    when = _today(today)
    with Session(engine) as s:
        cond: list[ColumnElement[bool]] = []
        if stage == "open":
            cond.append(Prospect.stage.in_(OPEN_STAGES))
        elif stage:
            cond.append(Prospect.stage == check_choice(stage, "stage", STAGES))
        if channel:
            cond.append(Prospect.channel == check_choice(channel, "channel", CHANNELS))
        if q:
            like = q.strip().lower().replace("%", "").replace("_", "") + "%"
            cond.append(
                func.lower(Prospect.company_name).like(like)
                | func.lower(Prospect.reference).like(like)
            )
        total = int(s.scalar(select(func.count(Prospect.id)).where(*cond)) or 0)
        rows = list(
            s.scalars(
                select(Prospect)
                .where(*cond)
                .order_by(Prospect.created_ms.desc(), Prospect.id.desc())
                .offset(offset)
                .limit(limit)
            )
        )
        owners = _user_names(s, {p.owner_user_id for p in rows})
        codes = _party_codes(s, {p.party_id for p in rows})
        return [_view(p, when, owners, codes) for p in rows], total


def get_prospect(
    engine: Engine, prospect_id: int, actor: Acting, *, today: dt.date | None = None
) -> ProspectDetail:
    """One prospect with its stage history, screening, visits, terms and audit trail."""
    require(actor, *READERS, action="read prospects")
    with Session(engine) as s:
        p = _get(s, prospect_id)
        stage_rows = list(
            s.scalars(
                select(ProspectStage)
                .where(ProspectStage.prospect_id == p.id)
                .order_by(ProspectStage.at_ms, ProspectStage.id)
            )
        )
        owners = _user_names(s, {p.owner_user_id} | {r.owner_user_id for r in stage_rows})
        codes = _party_codes(s, {p.party_id})
        stages = tuple(
            StageView(
                r.stage,
                r.owner_user_id,
                owners.get(r.owner_user_id) if r.owner_user_id is not None else None,
                r.due_on,
                r.note,
                r.actor_name,
                r.at_ms,
            )
            for r in stage_rows
        )
        visits = _visits(s, p.id)
        terms = tuple(
            _terms_view(t)
            for t in s.scalars(
                select(NegotiationTerms)
                .where(NegotiationTerms.prospect_id == p.id)
                .order_by(NegotiationTerms.version.desc())
            )
        )
        return ProspectDetail(
            _view(p, _today(today), owners, codes),
            p.contact_phone,
            p.currency,
            p.language,
            p.website,
            p.territories_wanted,
            p.message,
            p.channel_detail,
            p.closed_reason,
            stages,
            _screening(s, p.id),
            visits,
            terms,
            tuple(history(s, prospect_id=p.id)),
        )


def _visits(s: Session, prospect_id: int) -> tuple[VisitView, ...]:
    visits = list(
        s.scalars(
            select(SiteVisit)
            .where(SiteVisit.prospect_id == prospect_id)
            .order_by(SiteVisit.visited_on.desc(), SiteVisit.id.desc())
        )
    )
    photos: dict[int, list[tuple[int, str, str, str, int]]] = defaultdict(list)
    if visits:
        for row in s.execute(
            select(
                SiteVisitPhoto.id,
                SiteVisitPhoto.visit_id,
                SiteVisitPhoto.filename,
                SiteVisitPhoto.content_type,
                SiteVisitPhoto.sha256,
                func.length(SiteVisitPhoto.data),
            )
            .where(SiteVisitPhoto.visit_id.in_([v.id for v in visits]))
            .order_by(SiteVisitPhoto.id)
        ):
            photos[row[1]].append((row[0], row[2], row[3], row[4], int(row[5] or 0)))
    return tuple(
        VisitView(
            v.id,
            v.visited_on,
            v.visitor,
            v.report,
            v.created_by,
            v.created_ms,
            tuple(photos[v.id]),
        )
        for v in visits
    )


def get_photo(
    engine: Engine, photo_id: int, actor: Acting, *, prospect_id: int | None = None
) -> tuple[str, str, bytes]:
    """``(filename, content type, bytes)`` of a site-visit photo (of the prospect
    ``prospect_id`` when given: another prospect's photo is not found)."""
    require(actor, *READERS, action="read prospects")
    with Session(engine) as s:
        photo = s.get(SiteVisitPhoto, photo_id)
        if photo is not None and prospect_id is not None:
            visit = s.get(SiteVisit, photo.visit_id)
            if visit is None or visit.prospect_id != prospect_id:
                photo = None
        if photo is None:
            raise PartnerNotFound.said("no_visit_photo", "no photo %(photo)s", photo=photo_id)
        return photo.filename, photo.content_type, photo.data


# ------------------------------------------------------------------ applications


def _reference(s: Session, today: dt.date) -> str:
    """``APP-2026-7KQ3ZM2B``: the year and 8 random Crockford base-32 characters
    (40 bits: an applicant's reference does not reveal how many others applied,
    and cannot be guessed)."""
    while True:
        tail = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
        ref = f"APP-{today.year}-{tail}"
        if s.scalar(select(Prospect.id).where(Prospect.reference == ref)) is None:
            return ref


def _prospect_fields(
    data: Mapping[str, Any], problems: _Problems, *, channel_default: str | None
) -> dict[str, Any]:
    """The checked columns of a new prospect from ``data`` (every bad field kept;
    a member that is no field of an application is named too)."""
    known = APPLICATION_FIELDS if channel_default is not None else MANUAL_FIELDS
    for name in data:
        if name not in known:
            problems.add(
                InvalidField.said(
                    "recruit_unknown_field",
                    "is not a field of an application; the fields are %(fields)s",
                    field=str(name),
                    fields=", ".join(known),
                )
            )
    out: dict[str, Any] = {}
    out["company_name"] = problems.check(_text, data, "company_name", required=True)
    out["local_name"] = problems.check(_text, data, "local_name")
    kind = problems.check(_text, data, "kind", limit=20)
    out["kind"] = problems.check(check_choice, kind, "kind", KINDS) if kind else "distributor"
    country = problems.check(_text, data, "country", required=True, limit=60)
    out["country"] = problems.check(check_country, country, "country") if country else None
    out["city"] = problems.check(_text, data, "city", limit=100)
    currency = problems.check(_text, data, "currency", limit=10)
    out["currency"] = problems.check(check_currency, currency, "currency") if currency else ""
    out["contact_name"] = problems.check(_text, data, "contact_name", required=True)
    email = problems.check(_text, data, "contact_email", required=True, limit=254)
    out["contact_email"] = (
        problems.check(check_email, email, "contact_email", required=True) if email else None
    )
    phone = problems.check(_text, data, "contact_phone", limit=40)
    out["contact_phone"] = problems.check(check_phone, phone, "contact_phone") if phone else ""
    language = problems.check(_text, data, "language", limit=16)
    out["language"] = (problems.check(check_locale, language, "language") or "") if language else ""
    out["website"] = problems.check(_text, data, "website")
    out["territories_wanted"] = problems.check(_text, data, "territories_wanted", limit=500)
    out["message"] = problems.check(_text, data, "message", limit=5000)
    channel = problems.check(_text, data, "channel", required=channel_default is None, limit=20)
    if channel:
        out["channel"] = problems.check(check_choice, channel, "channel", CHANNELS)
    else:
        out["channel"] = channel_default
    out["channel_detail"] = problems.check(_text, data, "channel_detail")
    return out


def _insert(
    s: Session,
    fields: Mapping[str, Any],
    source: str,
    actor: Acting,
    today: dt.date,
    *,
    owner: int | None = None,
    due_on: str | None = None,
) -> Prospect:
    at = now_ms()
    p = Prospect(
        reference=_reference(s, today),
        source=source,
        stage="application",
        owner_user_id=owner,
        due_on=due_on,
        stage_since_ms=at,
        created_ms=at,
        **fields,
    )
    s.add(p)
    s.flush()
    s.add(
        ProspectStage(
            prospect_id=p.id,
            stage="application",
            owner_user_id=owner,
            due_on=due_on,
            note="",
            actor_name=actor.username,
            actor_user_id=actor.user_id,
            at_ms=at,
        )
    )
    record(
        s,
        "prospect.created",
        actor,
        prospect_id=p.id,
        at_ms=at,
        detail={
            "reference": p.reference,
            "source": source,
            "channel": p.channel,
            "company_name": p.company_name,
        },
    )
    return p


def submit_application(
    engine: Engine, data: Mapping[str, Any], *, source: str = "form", today: dt.date | None = None
) -> tuple[int, str]:
    """Store a public application (stage ``application``); returns ``(prospect id,
    reference)``. ``data``: ``company_name``, ``country`` (ISO 3166-1 alpha-2),
    ``contact_name``, ``contact_email`` required; ``kind`` (distributor, dealer,
    retailer; default distributor), ``channel`` (default ``inbound``),
    ``local_name``, ``city``, ``currency`` (ISO 4217), ``contact_phone`` (E.164),
    ``language``, ``website``, ``territories_wanted``, ``message``,
    ``channel_detail`` optional; every value text. ``source``: ``form`` or ``api``.

    Raises :class:`InvalidField` (one bad field) or :class:`InvalidInput` (several),
    storing nothing. Audited as the actor ``applicant``."""
    if source not in ("form", "api"):
        raise ValueError(f"source must be form or api, not {source!r}")
    problems = _Problems()
    fields = _prospect_fields(data, problems, channel_default="inbound")
    problems.raise_any()
    with Session(engine) as s, s.begin():
        p = _insert(s, fields, source, PUBLIC, _today(today))
        return p.id, p.reference


def create_prospect(
    engine: Engine, data: Mapping[str, Any], actor: Acting, *, today: dt.date | None = None
) -> ProspectView:
    """A prospect a partner manager found (an exhibition, a referral...): the fields
    of :func:`submit_application` with ``channel`` required, plus ``owner_user_id``
    and ``due_on`` (ISO date) optional. Source ``manual``."""
    require(actor, *WRITERS, action="add prospects")
    problems = _Problems()
    fields = _prospect_fields(data, problems, channel_default=None)
    when = _today(today)
    with Session(engine) as s, s.begin():
        owner = problems.check(_owner, s, data.get("owner_user_id"))
        due = problems.check(_day, data.get("due_on"), "due_on")
        problems.raise_any()
        p = _insert(s, fields, "manual", actor, when, owner=owner, due_on=due)
        owners = _user_names(s, {owner})
        return _view(p, when, owners, {})


# ------------------------------------------------------------------ stages


def _open(p: Prospect) -> None:
    if p.stage not in OPEN_STAGES:
        raise PartnerStateError.said(
            "prospect_closed",
            "prospect %(prospect)s is %(stage)s: a closed prospect does not change",
            prospect=p.reference,
            stage=p.stage,
        )


def _at_stage(p: Prospect, stage: str) -> None:
    """Refuse unless the open prospect ``p`` is at ``stage`` (what happens there)."""
    _open(p)
    if p.stage == stage:
        return
    if stage == "screening":
        raise PartnerStateError.said(
            "prospect_score_stage",
            "prospect %(prospect)s is at %(stage)s; scores are given at screening",
            prospect=p.reference,
            stage=p.stage,
        )
    if stage == "site_visit":
        raise PartnerStateError.said(
            "prospect_visit_stage",
            "prospect %(prospect)s is at %(stage)s; site visit reports are kept at site_visit",
            prospect=p.reference,
            stage=p.stage,
        )
    if stage == "negotiation":
        raise PartnerStateError.said(
            "prospect_terms_stage",
            "prospect %(prospect)s is at %(stage)s; terms are proposed at negotiation",
            prospect=p.reference,
            stage=p.stage,
        )
    raise PartnerStateError.said(
        "prospect_sign_stage",
        "prospect %(prospect)s is at %(stage)s; a prospect is signed at signing",
        prospect=p.reference,
        stage=p.stage,
    )


def _step(
    s: Session,
    p: Prospect,
    stage: str,
    actor: Acting,
    *,
    owner: int | None,
    due_on: str | None,
    note: str,
    action: str,
) -> None:
    at = now_ms()
    before = {"stage": p.stage, "owner_user_id": p.owner_user_id, "due_on": p.due_on}
    if stage != p.stage:
        p.stage_since_ms = at
    p.stage, p.owner_user_id, p.due_on = stage, owner, due_on
    s.add(
        ProspectStage(
            prospect_id=p.id,
            stage=stage,
            owner_user_id=owner,
            due_on=due_on,
            note=note,
            actor_name=actor.username,
            actor_user_id=actor.user_id,
            at_ms=at,
        )
    )
    detail: dict[str, Any] = {
        "from": before["stage"],
        "to": stage,
        "owner_user_id": owner,
        "due_on": due_on,
        "note": note,
    }
    record(s, action, actor, prospect_id=p.id, party_id=p.party_id, detail=detail, at_ms=at)


def move(
    engine: Engine,
    prospect_id: int,
    to_stage: str,
    actor: Acting,
    *,
    owner_user_id: int | str | None = None,
    due_on: str | None = None,
    note: str = "",
) -> ProspectView:
    """Move a prospect on to the next stage (:data:`NEXT_STAGE`) or close it as
    ``rejected`` or ``withdrawn`` (``note``, the reason, required). The owner stays
    unless ``owner_user_id`` is given; the due date is the new stage's (``due_on``,
    None: none). Refused (:class:`PartnerStateError`): a closed prospect, any
    other transition (the allowed ones named), ``signed`` (see :func:`sign`),
    leaving ``screening`` with criteria not scored (named), leaving ``site_visit``
    without a visit report, leaving ``negotiation`` without proposed terms."""
    require(actor, *WRITERS, action="move prospects")
    problems = _Problems()
    target = problems.check(check_choice, to_stage or "", "stage", STAGES)
    note = note.strip()
    with Session(engine) as s, s.begin():
        p = _get(s, prospect_id)
        owner = (
            problems.check(_owner, s, owner_user_id) if owner_user_id not in (None, "") else None
        )
        due = problems.check(_day, due_on, "due_on")
        if target in ("rejected", "withdrawn") and not note:
            problems.add(
                InvalidField.said(
                    "recruit_close_reason",
                    "is empty: say why the prospect is %(stage)s",
                    field="note",
                    stage=target,
                )
            )
        problems.raise_any()
        assert target is not None
        _open(p)
        if target == "signed":
            raise PartnerStateError.said(
                "prospect_sign_only",
                "prospect %(prospect)s is signed by signing it (the party and its trial "
                "are created then), not by a move",
                prospect=p.reference,
            )
        allowed = [NEXT_STAGE[p.stage], "rejected", "withdrawn"]
        if target not in allowed:
            raise PartnerStateError.said(
                "prospect_transition",
                "prospect %(prospect)s is at %(stage)s: it may move to %(allowed)s, "
                "not to %(target)s",
                prospect=p.reference,
                stage=p.stage,
                allowed=", ".join(a for a in allowed if a != "signed") or "nothing else",
                target=target,
            )
        if target == NEXT_STAGE[p.stage]:
            _gate(s, p)
        _step(
            s,
            p,
            target,
            actor,
            owner=owner if owner is not None else p.owner_user_id,
            due_on=due,
            note=note,
            action="prospect.stage",
        )
        if target in ("rejected", "withdrawn"):
            p.closed_reason = note
        s.flush()
        return _view(
            p, _today(None), _user_names(s, {p.owner_user_id}), _party_codes(s, {p.party_id})
        )


def _gate(s: Session, p: Prospect) -> None:
    """What a stage needs done before the prospect moves on."""
    if p.stage == "screening":
        missing = _screening(s, p.id).missing
        if missing:
            raise PartnerStateError.said(
                "screening_incomplete",
                "prospect %(prospect)s cannot leave screening: no score yet for %(missing)s",
                prospect=p.reference,
                missing=", ".join(missing),
            )
    elif p.stage == "site_visit":
        if s.scalar(select(SiteVisit.id).where(SiteVisit.prospect_id == p.id).limit(1)) is None:
            raise PartnerStateError.said(
                "prospect_visit_missing",
                "prospect %(prospect)s cannot leave site_visit: no site visit report yet",
                prospect=p.reference,
            )
    elif p.stage == "negotiation" and _latest_terms_row(s, p.id) is None:
        raise PartnerStateError.said(
            "prospect_terms_missing",
            "prospect %(prospect)s cannot leave negotiation: no terms proposed yet",
            prospect=p.reference,
        )


def assign(
    engine: Engine,
    prospect_id: int,
    actor: Acting,
    *,
    owner_user_id: int | str | None,
    due_on: str | None,
    note: str = "",
) -> ProspectView:
    """Give an open prospect's current stage an owner (None: nobody) and a due date
    (None: none) without moving it; kept in the history like a step."""
    require(actor, *WRITERS, action="assign prospects")
    problems = _Problems()
    with Session(engine) as s, s.begin():
        p = _get(s, prospect_id)
        owner = problems.check(_owner, s, owner_user_id)
        due = problems.check(_day, due_on, "due_on")
        problems.raise_any()
        _open(p)
        _step(
            s,
            p,
            p.stage,
            actor,
            owner=owner,
            due_on=due,
            note=note.strip(),
            action="prospect.assigned",
        )
        s.flush()
        return _view(p, _today(None), _user_names(s, {p.owner_user_id}), {})


# ------------------------------------------------------------------ screening


def _weights_row(s: Session, *, create: bool) -> ScreeningWeights | None:
    row = s.scalar(select(ScreeningWeights).order_by(ScreeningWeights.version.desc()).limit(1))
    if row is None and create:
        row = ScreeningWeights(
            version=1,
            weights_json=json.dumps({k: str(v) for k, v in DEFAULT_WEIGHTS.items()}),
            created_by="system",
            created_ms=now_ms(),
        )
        s.add(row)
        s.flush()
    return row


def _weights_of(row: ScreeningWeights | None) -> dict[str, Decimal]:
    if row is None:
        return dict(DEFAULT_WEIGHTS)
    return {k: Decimal(v) for k, v in json.loads(row.weights_json).items()}


def screening_weights(engine: Engine) -> tuple[int, dict[str, Decimal]]:
    """The weights new screenings are scored by: ``(version, {criterion: weight})``
    (version 0: the defaults, never changed)."""
    with Session(engine) as s:
        row = _weights_row(s, create=False)
        return (0 if row is None else row.version), _weights_of(row)


def set_screening_weights(
    engine: Engine, weights: Mapping[str, Any], actor: Acting
) -> tuple[int, dict[str, Decimal]]:
    """Store a new version of the criteria's weights: one decimal from 0 to 1 (at
    most 4 places) for each of :data:`CRITERIA`, summing to exactly 1. Unknown and
    missing criteria are named. Returns ``(version, weights)``."""
    require(actor, *WRITERS, action="set screening weights")
    problems = _Problems()
    parsed: dict[str, Decimal] = {}
    for name in weights:
        if name not in CRITERIA:
            problems.add(
                InvalidField.said(
                    "screening_criterion_unknown",
                    "%(value)s is not a screening criterion; they are %(choices)s",
                    field=f"weights.{name}",
                    value=repr(name),
                    choices=", ".join(CRITERIA),
                )
            )
    for name in CRITERIA:
        raw = weights.get(name)
        where = f"weights.{name}"
        if raw is None or raw == "":
            problems.add(InvalidField.said("value_empty", "is empty", field=where))
            continue
        try:
            if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
                raise InvalidOperation
            value = Decimal(str(raw).strip())
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.add(
                InvalidField.said(
                    "recruit_not_weight",
                    "%(value)s is not a weight from 0 to 1 like 0.25",
                    field=where,
                    value=repr(raw),
                )
            )
            continue
        exponent = value.as_tuple().exponent
        if not Decimal(0) <= value <= Decimal(1) or (isinstance(exponent, int) and exponent < -4):
            problems.add(
                InvalidField.said(
                    "recruit_not_weight",
                    "%(value)s is not a weight from 0 to 1 like 0.25",
                    field=where,
                    value=repr(raw),
                )
            )
            continue
        parsed[name] = value
    problems.raise_any()
    total = sum(parsed.values(), Decimal(0))
    if total != 1:
        raise InvalidField.said(
            "screening_weights_sum",
            "add up to %(total)s; they must add up to 1",
            field="weights",
            total=total.normalize(),
        )
    with Session(engine) as s, s.begin():
        current = _weights_row(s, create=False)
        version = 1 if current is None else current.version + 1
        s.add(
            ScreeningWeights(
                version=version,
                weights_json=json.dumps({k: str(parsed[k].normalize()) for k in CRITERIA}),
                created_by=actor.username,
                created_ms=now_ms(),
            )
        )
        record(
            s,
            "screening.weights",
            actor,
            detail={"version": version, "weights": {k: str(parsed[k]) for k in CRITERIA}},
        )
        return version, {k: parsed[k] for k in CRITERIA}


def score(
    engine: Engine, prospect_id: int, criterion: str, value: Any, reason: str, actor: Acting
) -> ScreeningResult:
    """Score one criterion 0-100 with its reason (required) while the prospect is at
    ``screening``; a later score of the same criterion replaces it in the total
    (both stay in the history). Returns the screening as it now stands."""
    return score_many(engine, prospect_id, [(criterion, value, reason)], actor, prefix="")


def score_many(
    engine: Engine,
    prospect_id: int,
    scores: Sequence[tuple[str, Any, str]],
    actor: Acting,
    *,
    prefix: str = "scores",
) -> ScreeningResult:
    """:func:`score` for several ``(criterion, score, reason)`` at once, all or
    nothing; a bad one is named ``scores[i].score`` (``prefix`` before the index;
    ``""``: the field alone, for one score; ``"criterion"``: ``qualification.score``)."""
    require(actor, *WRITERS, action="score prospects")
    problems = _Problems()
    checked: list[tuple[str, int, str]] = []
    if not scores:
        problems.add(InvalidField.said("value_empty", "is empty", field=prefix or "score"))
    with Session(engine) as s, s.begin():
        weights_row = _weights_row(s, create=True)
        assert weights_row is not None
        weights = _weights_of(weights_row)
        for i, (criterion, value, reason) in enumerate(scores):
            if prefix == "criterion":  # a form with one row per criterion
                at_ = f"{criterion}." if isinstance(criterion, str) else ""
            else:
                at_ = f"{prefix}[{i}]." if prefix else ""
            name = problems.check(
                check_choice,
                criterion if isinstance(criterion, str) else "",
                f"{at_}criterion",
                tuple(weights),
            )
            points = problems.check(_whole, value, f"{at_}score", low=0, high=100)
            if points is None and value in (None, ""):
                problems.add(InvalidField.said("value_empty", "is empty", field=f"{at_}score"))
            why = problems.check(
                _text, {f"{at_}reason": reason}, f"{at_}reason", required=True, limit=5000
            )
            if name is not None and points is not None and why is not None:
                checked.append((name, points, why))
        problems.raise_any()
        p = _get(s, prospect_id)
        _at_stage(p, "screening")
        at = now_ms()
        for name, points, why in checked:
            s.add(
                ScreeningScore(
                    prospect_id=p.id,
                    weights_id=weights_row.id,
                    criterion=name,
                    score=points,
                    reason=why,
                    scored_by=actor.username,
                    scored_ms=at,
                )
            )
            record(
                s,
                "prospect.scored",
                actor,
                prospect_id=p.id,
                at_ms=at,
                detail={"criterion": name, "score": points, "reason": why},
            )
        s.flush()
        return _screening(s, p.id)


def parse_scores(body: Mapping[str, Any]) -> tuple[list[tuple[str, Any, str]], str]:
    """The ``(criterion, score, reason)`` of a JSON body: one object's members, or
    ``scores``, a list of such objects; and the prefix that names their fields for
    :func:`score_many` (``""`` or ``"scores"``). Refuses anything else, naming it."""
    if "scores" not in body:
        items: Any = [body]
        prefix = ""
    else:
        items, prefix = body["scores"], "scores"
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InvalidField.said(
                "recruit_not_objects", "must be a list of objects", field="scores"
            )
    out = []
    for i, item in enumerate(items):
        reason = item.get("reason", "")
        criterion = item.get("criterion", "")
        for name, value in (("criterion", criterion), ("reason", reason)):
            if not isinstance(value, str):
                where = f"{prefix}[{i}].{name}" if prefix else name
                raise InvalidField.said("recruit_not_text", "must be text", field=where)
        out.append((criterion, item.get("score"), reason))
    return out, prefix


def _screening(s: Session, prospect_id: int) -> ScreeningResult:
    rows = list(
        s.scalars(
            select(ScreeningScore)
            .where(ScreeningScore.prospect_id == prospect_id)
            .order_by(ScreeningScore.id)
        )
    )
    if rows:  # judged by the newest weights any of its scores was given under
        weights_row = s.get(ScreeningWeights, max(r.weights_id for r in rows))
    else:
        weights_row = _weights_row(s, create=False)
    weights = _weights_of(weights_row)
    latest = {r.criterion: r for r in rows}
    lines = []
    total = Decimal(0)
    for criterion, weight in weights.items():
        r = latest.get(criterion)
        weighted = None if r is None else weight * r.score
        if weighted is not None:
            total += weighted
        lines.append(
            ScreeningLine(
                criterion,
                weight,
                None if r is None else r.score,
                "" if r is None else r.reason,
                "" if r is None else r.scored_by,
                None if r is None else r.scored_ms,
                weighted,
            )
        )
    missing = tuple(line.criterion for line in lines if line.score is None)
    return ScreeningResult(
        0 if weights_row is None else weights_row.version, tuple(lines), total, missing
    )


def screening_result(engine: Engine, prospect_id: int, actor: Acting) -> ScreeningResult:
    """The prospect's screening: each criterion's weight, latest score and reason,
    the weighted total (e.g. 80x0.3 + 70x0.3 + 60x0.2 + 90x0.2 = 75.0) and the
    criteria not scored yet."""
    require(actor, *READERS, action="read prospects")
    with Session(engine) as s:
        _get(s, prospect_id)
        return _screening(s, prospect_id)


# ------------------------------------------------------------------ site visits


def _photo(upload: PhotoUpload, where: str) -> tuple[str, str, bytes]:
    """``(filename, content type, bytes)`` of an uploaded photo: JPEG, PNG or WebP
    as its bytes say (Pillow reads and verifies them; the type the sender gave is
    not trusted), 1 byte to :data:`MAX_PHOTO_BYTES`."""
    name = (upload.filename or "photo").replace("\\", "/").rsplit("/", 1)[-1].strip()[-200:]
    name = name or "photo"
    if not upload.data:
        raise InvalidField.said(
            "visit_photo_empty", "%(value)s is empty", field=where, value=repr(name)
        )
    if len(upload.data) > MAX_PHOTO_BYTES:
        raise InvalidField.said(
            "visit_photo_too_large",
            "%(value)s is %(size)s bytes; a photo may have at most %(limit)s",
            field=where,
            value=repr(name),
            size=len(upload.data),
            limit=MAX_PHOTO_BYTES,
        )
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            kind = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        kind = ""
    if kind not in _PHOTO_TYPES:
        raise InvalidField.said(
            "visit_photo_type",
            "%(value)s is not a JPEG, PNG or WebP image",
            field=where,
            value=repr(name),
        )
    return name, _PHOTO_TYPES[kind], upload.data


def add_site_visit(
    engine: Engine,
    prospect_id: int,
    visited_on: str,
    visitor: str,
    report: str,
    photos: Sequence[PhotoUpload],
    actor: Acting,
    *,
    today: dt.date | None = None,
) -> VisitView:
    """Keep the dated report of a visit (at stage ``site_visit``) with up to
    :data:`MAX_PHOTOS` photos (each checked by :func:`_photo`, stored with its
    SHA-256). ``visited_on`` may not be after ``today``. All or nothing."""
    require(actor, *WRITERS, action="record site visits")
    problems = _Problems()
    day = problems.check(_day, visited_on, "visited_on", required=True)
    if day is not None and day > _today(today).isoformat():
        problems.add(
            InvalidField.said(
                "recruit_future_day",
                "%(value)s is in the future",
                field="visited_on",
                value=repr(day),
            )
        )
    who = problems.check(_text, {"visitor": visitor}, "visitor", required=True)
    text = problems.check(_text, {"report": report}, "report", required=True, limit=20000)
    if len(photos) > MAX_PHOTOS:
        problems.add(
            InvalidField.said(
                "visit_too_many_photos",
                "%(count)s photos; a visit keeps at most %(limit)s",
                field="photos",
                count=len(photos),
                limit=MAX_PHOTOS,
            )
        )
    checked = [problems.check(_photo, ph, f"photos[{i}]") for i, ph in enumerate(photos)]
    problems.raise_any()
    with Session(engine) as s, s.begin():
        p = _get(s, prospect_id)
        _at_stage(p, "site_visit")
        at = now_ms()
        visit = SiteVisit(
            prospect_id=p.id,
            visited_on=day,
            visitor=who,
            report=text,
            created_by=actor.username,
            created_ms=at,
        )
        s.add(visit)
        s.flush()
        for name, content_type, data in checked:
            s.add(
                SiteVisitPhoto(
                    visit_id=visit.id,
                    filename=name,
                    content_type=content_type,
                    sha256=sha256(data).hexdigest(),
                    data=data,
                )
            )
        record(
            s,
            "prospect.visited",
            actor,
            prospect_id=p.id,
            at_ms=at,
            detail={"visit": visit.id, "visited_on": day, "visitor": who, "photos": len(checked)},
        )
        s.flush()
        return next(v for v in _visits(s, p.id) if v.id == visit.id)


# ------------------------------------------------------------------ negotiation


def _terms_view(t: NegotiationTerms) -> TermsView:
    d = json.loads(t.terms_json)
    return TermsView(
        t.prospect_id,
        t.version,
        tuple(d["territories"]),
        tuple(d["programs"]),
        d["currency"],
        d["deposit_minor"],
        d["credit_limit_minor"],
        d["payment_terms_days"],
        d["trial_days"],
        d["trial_order_cap_units"],
        t.note,
        t.proposed_by,
        t.proposed_ms,
    )


def _latest_terms_row(s: Session, prospect_id: int) -> NegotiationTerms | None:
    return s.scalar(
        select(NegotiationTerms)
        .where(NegotiationTerms.prospect_id == prospect_id)
        .order_by(NegotiationTerms.version.desc())
        .limit(1)
    )


def latest_terms(s: Session, prospect_id: int) -> TermsView | None:
    """The newest terms proposed to a prospect (None: none yet), read in ``s``: what
    the agreements side prefills a draft agreement from once the party is signed."""
    row = _latest_terms_row(s, prospect_id)
    return None if row is None else _terms_view(row)


def _codes(value: Any, name: str, problems: _Problems, *, required: bool) -> list[str]:
    if value is None or value == "":
        value = []
    if isinstance(value, str):
        value = [c for c in (part.strip() for part in value.replace(";", ",").split(",")) if c]
    if not isinstance(value, list | tuple):
        problems.add(InvalidField.said("recruit_not_list", "must be a list of codes", field=name))
        return []
    codes: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problems.add(
                InvalidField.said("recruit_not_text", "must be text", field=f"{name}[{i}]")
            )
        elif item.strip() not in codes:
            codes.append(item.strip())
    if required and not codes and not problems.found:
        problems.add(InvalidField.said("value_empty", "is empty", field=name))
    return codes


def propose_terms(
    engine: Engine, prospect_id: int, terms: Mapping[str, Any], actor: Acting
) -> TermsView:
    """Propose a new version of terms to a prospect at ``negotiation``.

    ``terms``: ``territories`` (list of stored ``geo`` territory codes, at least
    one), ``programs`` (list of rebate program codes, stored), ``currency`` (ISO
    4217; default the prospect's), ``deposit_minor`` and ``credit_limit_minor``
    (minor units, 0 or more; default 0), ``payment_terms_days`` (0-365, default
    30), ``trial_days`` (1-365, default 90), ``trial_order_cap_units`` (1 or more;
    absent: no cap), ``note``. Unknown codes are named by their position."""
    require(actor, *WRITERS, action="propose terms")
    problems = _Problems()
    territories = _codes(terms.get("territories"), "territories", problems, required=True)
    programs = _codes(terms.get("programs"), "programs", problems, required=False)
    deposit = problems.check(
        _whole, terms.get("deposit_minor"), "deposit_minor", low=0, high=_MAX_MINOR, default=0
    )
    credit = problems.check(
        _whole,
        terms.get("credit_limit_minor"),
        "credit_limit_minor",
        low=0,
        high=_MAX_MINOR,
        default=0,
    )
    pay_days = problems.check(
        _whole, terms.get("payment_terms_days"), "payment_terms_days", low=0, high=365, default=30
    )
    trial_days = problems.check(
        _whole, terms.get("trial_days"), "trial_days", low=1, high=365, default=DEFAULT_TRIAL_DAYS
    )
    cap = problems.check(
        _whole, terms.get("trial_order_cap_units"), "trial_order_cap_units", low=1, high=10**12
    )
    note = problems.check(_text, terms, "note", limit=5000) or ""
    currency_text = problems.check(_text, terms, "currency", limit=10)
    with Session(engine) as s, s.begin():
        p = _get(s, prospect_id)
        currency = currency_text or p.currency
        if currency:
            currency = problems.check(check_currency, currency, "currency")
        else:
            problems.add(InvalidField.said("value_empty", "is empty", field="currency"))
        if territories:
            stored = set(
                s.scalars(select(TerritoryRow.code).where(TerritoryRow.code.in_(territories)))
            )
            for i, code in enumerate(territories):
                if code not in stored:
                    problems.add(
                        InvalidField.said(
                            "recruit_territory_unknown",
                            "%(value)s is not a stored territory",
                            field=f"territories[{i}]",
                            value=repr(code),
                        )
                    )
        if programs:
            known = set(s.scalars(select(_programs.c.code).where(_programs.c.code.in_(programs))))
            for i, code in enumerate(programs):
                if code not in known:
                    problems.add(
                        InvalidField.said(
                            "recruit_program_unknown",
                            "%(value)s is not a rebate program",
                            field=f"programs[{i}]",
                            value=repr(code),
                        )
                    )
        problems.raise_any()
        _at_stage(p, "negotiation")
        current = _latest_terms_row(s, p.id)
        version = 1 if current is None else current.version + 1
        body = {
            "territories": territories,
            "programs": programs,
            "currency": currency,
            "deposit_minor": deposit,
            "credit_limit_minor": credit,
            "payment_terms_days": pay_days,
            "trial_days": trial_days,
            "trial_order_cap_units": cap,
        }
        row = NegotiationTerms(
            prospect_id=p.id,
            version=version,
            terms_json=json.dumps(body, sort_keys=True),
            note=note,
            proposed_by=actor.username,
            proposed_ms=now_ms(),
        )
        s.add(row)
        record(
            s,
            "prospect.terms",
            actor,
            prospect_id=p.id,
            at_ms=row.proposed_ms,
            detail={"version": version, **body},
        )
        s.flush()
        return _terms_view(row)


# ------------------------------------------------------------------ signing


def _last_day_of_year_from(day: dt.date) -> dt.date:
    """The last day of the year that starts on ``day`` (2026-12-01 -> 2027-11-30;
    2028-02-29 -> 2029-02-28)."""
    try:
        anniversary = day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        anniversary = dt.date(day.year + 1, 3, 1)
    return anniversary - dt.timedelta(days=1)


def sign(
    engine: Engine,
    prospect_id: int,
    code: str,
    actor: Acting,
    *,
    name: str | None = None,
    parent: str = "",
    today: dt.date | None = None,
) -> tuple[str, int, str]:
    """Sign a prospect at ``signing``: create its party (``code``; legal name
    ``name`` or the company name; ``parent``, the code of its parent party (a
    dealer's distributor); kind, country, currency, local name and language
    from the prospect, the currency of the latest terms) with status ``trial``
    through :func:`partners.parties.create_party_in`, link it, close the prospect
    as ``signed`` and start its trial (:func:`partners.trials.start_trial`) from
    ``today`` for the latest terms' ``trial_days`` with their order cap, and draft
    its main agreement from those terms (territories, programs, deposit, credit
    limit, payment terms; valid for one year from ``today``) through
    :func:`partners.agreements.draft_in`, all in one transaction. The agreement then
    goes through its legal and business reviews and is signed with its PDF; a trial
    is admitted only once it is signed (:func:`partners.trials.decide_trial`).
    Returns ``(party code, trial id, agreement number)``."""
    from partners.agreements import AgreementInput, draft_in
    from partners.parties import PartyInput, create_party_in
    from partners.trials import start_trial

    require(actor, *WRITERS, action="sign prospects")
    when = _today(today)
    with Session(engine) as s, s.begin():
        p = _get(s, prospect_id)
        _at_stage(p, "signing")
        terms = latest_terms(s, p.id)
        if terms is None:
            raise PartnerStateError.said(
                "prospect_terms_missing",
                "prospect %(prospect)s cannot leave negotiation: no terms proposed yet",
                prospect=p.reference,
            )
        party_id = create_party_in(
            s,
            PartyInput(
                code=code.strip(),
                name=(name or "").strip() or p.company_name,
                local_name=p.local_name,
                kind=p.kind,
                country=p.country,
                currency=terms.currency,
                locale=p.language,
                parent=parent.strip(),
                status="trial",
            ),
            actor,
        )
        p.party_id = party_id
        p.closed_reason = ""
        _step(
            s,
            p,
            "signed",
            actor,
            owner=p.owner_user_id,
            due_on=None,
            note="",
            action="prospect.signed",
        )
        trial_id = start_trial(
            s,
            party_id,
            actor,
            prospect_id=p.id,
            starts_on=when,
            days=terms.trial_days,
            order_cap_units=terms.trial_order_cap_units,
        )
        number = draft_in(
            s,
            code.strip(),
            AgreementInput(
                valid_from=when.isoformat(),
                valid_to=_last_day_of_year_from(when).isoformat(),
                currency=terms.currency,
                territories=tuple(terms.territories),
                programs=tuple(terms.programs),
                deposit_minor=terms.deposit_minor,
                credit_limit_minor=terms.credit_limit_minor,
                payment_terms_days=terms.payment_terms_days,
                notes=f"drafted from terms version {terms.version} of {p.reference}",
            ),
            actor,
        )
        return code.strip(), trial_id, number


# ------------------------------------------------------------------ acquisition costs


def record_cost(
    engine: Engine,
    channel: str,
    period: str,
    amount_minor: Any,
    currency: str,
    note: str,
    actor: Acting,
) -> CostView:
    """Record money spent on an acquisition channel in a month (``period``
    YYYY-MM): ``amount_minor`` minor units of ``currency`` (ISO 4217), more than 0."""
    require(actor, *WRITERS, action="record acquisition costs")
    problems = _Problems()
    ch = problems.check(check_choice, channel or "", "channel", CHANNELS)
    month = problems.check(_month, period, "period")
    amount = problems.check(_whole, amount_minor, "amount_minor", low=1, high=_MAX_MINOR)
    if amount is None and not any(p.field == "amount_minor" for p in problems.found):
        problems.add(InvalidField.said("value_empty", "is empty", field="amount_minor"))
    cur = problems.check(check_currency, currency or "", "currency")
    text = problems.check(_text, {"note": note}, "note") or ""
    problems.raise_any()
    with Session(engine) as s, s.begin():
        row = AcquisitionCost(
            channel=ch,
            period=month,
            amount_minor=amount,
            currency=cur,
            note=text,
            created_by=actor.username,
            created_ms=now_ms(),
        )
        s.add(row)
        s.flush()
        record(
            s,
            "acquisition.cost",
            actor,
            at_ms=row.created_ms,
            detail={
                "id": row.id,
                "channel": ch,
                "period": month,
                "amount_minor": amount,
                "currency": cur,
                "note": text,
            },
        )
        return _cost_view(row)


def _cost_view(r: AcquisitionCost) -> CostView:
    return CostView(
        r.id, r.channel, r.period, r.amount_minor, r.currency, r.note, r.created_by, r.created_ms
    )


def list_costs(
    engine: Engine, actor: Acting, *, offset: int = 0, limit: int = 50
) -> tuple[list[CostView], int]:
    """Acquisition costs, newest period first, and how many there are."""
    require(actor, *READERS, action="read acquisition costs")
    with Session(engine) as s:
        total = int(s.scalar(select(func.count(AcquisitionCost.id))) or 0)
        rows = s.scalars(
            select(AcquisitionCost)
            .order_by(AcquisitionCost.period.desc(), AcquisitionCost.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_cost_view(r) for r in rows], total


# ------------------------------------------------------------------ the board


def board(engine: Engine, actor: Acting, *, today: dt.date | None = None) -> Board:
    """The pipeline on ``today``: per open stage the count, days in the stage
    (median, oldest) and how many are past their due date; the closed counts; per
    channel the applications, signed partners, conversion rate and the cost per
    signed partner (spent in all periods / signed, per currency, rounded half-even
    to a minor unit); trials running, admitted and ended. Five grouped queries."""
    require(actor, *READERS, action="read the recruitment board")
    when = _today(today)
    with Session(engine) as s:
        ages: dict[str, list[int]] = defaultdict(list)
        overdue: dict[str, int] = defaultdict(int)
        for stage, since, due in s.execute(
            select(Prospect.stage, Prospect.stage_since_ms, Prospect.due_on).where(
                Prospect.stage.in_(OPEN_STAGES)
            )
        ):
            ages[stage].append(_days_since(since, when))
            if due is not None and due < when.isoformat():
                overdue[stage] += 1
        stages = tuple(
            StageFigures(
                st,
                len(ages[st]),
                float(statistics.median(ages[st])) if ages[st] else None,
                max(ages[st]) if ages[st] else None,
                overdue[st],
            )
            for st in OPEN_STAGES
        )
        closed = {st: 0 for st in CLOSED_STAGES}
        apps: dict[str, int] = defaultdict(int)
        signed: dict[str, int] = defaultdict(int)
        for channel, stage, n in s.execute(
            select(Prospect.channel, Prospect.stage, func.count(Prospect.id)).group_by(
                Prospect.channel, Prospect.stage
            )
        ):
            apps[channel] += n
            if stage in closed:
                closed[stage] += n
            if stage == "signed":
                signed[channel] += n
        spent: dict[str, dict[str, int]] = defaultdict(dict)
        for channel, currency, amount in s.execute(
            select(
                AcquisitionCost.channel,
                AcquisitionCost.currency,
                func.sum(AcquisitionCost.amount_minor),
            ).group_by(AcquisitionCost.channel, AcquisitionCost.currency)
        ):
            spent[channel][currency] = int(amount)
        channels = []
        for ch in CHANNELS:
            n_apps, n_signed = apps[ch], signed[ch]
            rate = (
                None
                if not n_apps
                else (Decimal(n_signed) / Decimal(n_apps)).quantize(
                    Decimal("0.0001"), ROUND_HALF_EVEN
                )
            )
            per = (
                {
                    cur: int((Decimal(total) / n_signed).quantize(Decimal(1), ROUND_HALF_EVEN))
                    for cur, total in sorted(spent[ch].items())
                }
                if n_signed
                else {}
            )
            channels.append(
                ChannelFigures(ch, n_apps, n_signed, rate, dict(sorted(spent[ch].items())), per)
            )
        trials = dict(
            s.execute(select(Trial.status, func.count(Trial.id)).group_by(Trial.status)).all()
        )
        return Board(
            when.isoformat(),
            stages,
            closed,
            tuple(channels),
            int(trials.get("running", 0)),
            int(trials.get("admitted", 0)),
            int(trials.get("ended", 0)),
        )
