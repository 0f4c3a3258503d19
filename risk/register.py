"""The risk register and its heat map (issue 13; seed 000 "风险控制策略": credit,
market, cooperation and brand risks, and "风险矩阵模型").

A risk (:class:`risk.models.RiskItem`) belongs to a party, a program, or to the
channel as a whole (neither); it has a ``category`` (:data:`CATEGORIES`), a
``likelihood`` and an ``impact`` each a whole number 1-5, an ``owner`` (the
username of an active person, not a service user, whose role may open the
register: one of :data:`READERS`, so never a distributor), a response plan, a ``status``
(:data:`STATUSES`) and the day it is next reviewed (``review_on``, YYYY-MM-DD).

Score and bands: ``score = likelihood x impact`` (1-25); :func:`band_for` puts it
in a band (:data:`BANDS`): 1-4 low, 5-9 medium, 10-16 high, 20-25 critical (the
products 17-19 cannot occur). Without a review day one is set from the band as the
matrix says: low reviewed yearly (365 days), medium in 90 days, high and critical
in 30. A risk not closed whose review day is before ``on`` is "review due".

Who: finance, channel managers, partner managers and admins write
(:data:`WRITERS`); auditors read too (:data:`READERS`); a distributor reads nothing
(:class:`partners.errors.PartnerDenied`, 403). Every change is audited
(:func:`partners.audit.record`, ``credit.risk_added`` / ``credit.risk_updated``
with ``{field: [before, after]}``).

Bad values raise :class:`partners.values.InvalidField` naming the field
(``likelihood: 6 is not a whole number from 1 to 5``); when several fields are bad
it is an :class:`InvalidFields` holding every one (``problems``), so a form or the
API names them all at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Select, column, select, table
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.audit import changes, now_ms, record
from partners.errors import Acting, PartnerNotFound, require
from partners.values import InvalidField, check_choice, check_text
from risk.models import RiskItem
from settlement.models import Program
from settlement.reference_audit import page_rows

__all__ = [
    "BANDS",
    "CATEGORIES",
    "READERS",
    "REVIEW_DAYS",
    "STATUSES",
    "WRITERS",
    "HeatMap",
    "InvalidFields",
    "RiskFilters",
    "RiskView",
    "add_risk",
    "band_for",
    "get_risk",
    "heat_map",
    "list_risks",
    "owner_choices",
    "party_filter",
    "risk_json",
    "risk_problems",
    "update_risk",
]

CATEGORIES = ("credit", "market", "cooperation", "brand")
STATUSES = ("open", "mitigating", "accepted", "closed")
WRITERS = ("finance", "channel_manager", "partner_manager", "admin")
READERS = (*WRITERS, "auditor")
#: Score bands, lowest score of each: ``score = likelihood x impact``.
BANDS = (("low", 1, 4), ("medium", 5, 9), ("high", 10, 16), ("critical", 20, 25))
#: Days to the next review when none is given, by band (low: yearly).
REVIEW_DAYS = {"low": 365, "medium": 90, "high": 30, "critical": 30}
_FIELDS = (
    "party", "program", "category", "title", "description", "likelihood", "impact",
    "owner", "response_plan", "status", "review_on",
)  # fmt: skip

_REQUIRED = ("category", "title", "likelihood", "impact", "owner")

# web's table: risk may not import web, it only checks an owner exists and is active
_users = table(
    "users", column("id"), column("username"), column("role"), column("active"), column("service")
)


class InvalidFields(InvalidField):
    """Several fields of a risk that cannot be stored: ``problems`` holds each one's
    :class:`~partners.values.InvalidField` in the order the fields were given. The
    exception itself reads as the first (``field``, reason id, ``str``), so a caller
    that names one field still can."""

    def __init__(self, problems: Sequence[InvalidField]) -> None:
        first = problems[0]
        super().__init__(
            first.field, first.message, message_id=first.message_id, values=first.values
        )
        self.problems: tuple[InvalidField, ...] = tuple(problems)


def band_for(score: int) -> str:
    """The band of a score 1-25: low (1-4), medium (5-9), high (10-16), critical (20-25)."""
    for name, _low, high in BANDS:
        if score <= high:
            return name
    return "critical"


@dataclass(frozen=True, slots=True)
class RiskView:
    """One risk as read: ``score`` = likelihood x impact and its ``band``;
    ``review_due`` when it is not closed and ``review_on`` is before the day read."""

    id: int
    party_id: int | None
    party_code: str | None
    party_name: str | None
    program_code: str | None
    category: str
    title: str
    description: str
    likelihood: int
    impact: int
    score: int
    band: str
    owner: str
    response_plan: str
    status: str
    review_on: str
    review_due: bool
    created_by: str
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True)
class RiskFilters:
    """What a list or heat map shows: a party (id), a program code, a category, a
    status (None: every status but closed; ``"all"``: every one), an owner (username) and only the risks
    whose review is due on ``on`` (``review_due``)."""

    party_id: int | None = None
    program: str | None = None
    category: str | None = None
    status: str | None = None
    owner: str | None = None
    review_due: bool = False
    on: dt.date = field(default_factory=dt.date.today)


@dataclass(frozen=True, slots=True)
class HeatMap:
    """Counts of the risks filtered: ``cells[likelihood - 1][impact - 1]`` (5 x 5),
    by band (:data:`BANDS`' names), how many are review due, and the total."""

    cells: tuple[tuple[int, ...], ...]
    bands: dict[str, int]
    review_due: int
    total: int


def _view(r: RiskItem, party: Party | None, on: dt.date) -> RiskView:
    score = r.likelihood * r.impact
    due = r.status != "closed" and r.review_on < on.isoformat()
    return RiskView(
        r.id, r.party_id, party.code if party else None, party.name if party else None,
        r.program_code, r.category, r.title, r.description, r.likelihood, r.impact, score,
        band_for(score), r.owner, r.response_plan, r.status, r.review_on, due, r.created_by,
        r.created_ms, r.updated_ms,
    )  # fmt: skip


def risk_json(v: RiskView) -> dict[str, Any]:
    """A risk as the API answers it."""
    return {
        "id": v.id, "party": v.party_code, "program": v.program_code, "category": v.category,
        "title": v.title, "description": v.description, "likelihood": v.likelihood,
        "impact": v.impact, "score": v.score, "band": v.band, "owner": v.owner,
        "response_plan": v.response_plan, "status": v.status, "review_on": v.review_on,
        "review_due": v.review_due, "created_by": v.created_by, "created_ms": v.created_ms,
        "updated_ms": v.updated_ms,
    }  # fmt: skip


def owner_choices(s: Session) -> list[str]:
    """Usernames that may own a risk, sorted: active people (no service users) whose
    role may open the register (:data:`READERS`; a distributor's users never)."""
    return list(
        s.scalars(
            select(_users.c.username)
            .where(
                _users.c.active.is_(True),
                _users.c.service.is_not(True),
                _users.c.role.in_(READERS),
            )
            .order_by(_users.c.username)
        )
    )


def _scale(value: Any, name: str) -> int:
    text = str(value).strip() if value is not None else ""
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 5:
        raise InvalidField.said(
            "risk_scale", "%(value)s is not a whole number from 1 to 5", field=name, value=text
        )
    return int(text)


def _day(value: Any, name: str) -> str:
    text = str(value or "").strip()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidField.said(
            "risk_bad_day", "%(value)s is not a date (YYYY-MM-DD)", field=name, value=repr(text)
        ) from None


def _party(s: Session, value: Any) -> int | None:
    code = str(value or "").strip()
    if not code:
        return None
    pid = s.scalar(select(Party.id).where(Party.code == code))
    if pid is None:
        raise InvalidField.said("risk_no_party", "there is no party %(value)s", field="party",
                                value=code)  # fmt: skip
    return int(pid)


def _program(s: Session, value: Any) -> str | None:
    code = str(value or "").strip()
    if not code:
        return None
    if s.scalar(select(Program.id).where(Program.code == code)) is None:
        raise InvalidField.said(
            "risk_no_program", "there is no program %(value)s", field="program", value=code
        )
    return code


def _owner(s: Session, value: Any) -> str:
    name = check_text(str(value or ""), "owner", max_length=64)
    if name not in owner_choices(s):
        raise InvalidField.said(
            "risk_owner",
            "%(value)s is not an active user who may open the risk register",
            field="owner",
            value=name,
        )
    return name


def _clean(s: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    """The checked columns of the fields given in ``values`` (form or JSON names).
    Raises :class:`InvalidFields` naming every bad field: unknown names first, then
    in the order of :data:`_FIELDS`."""
    problems = [
        InvalidField.said("risk_unknown_field", "is not a field of a risk", field=name)
        for name in sorted(set(values) - set(_FIELDS))
    ]
    out: dict[str, Any] = {}
    for name in _FIELDS:  # the fields' order, whatever the order given
        if name not in values:
            continue
        try:
            _clean_one(s, name, values[name], out)
        except InvalidField as exc:
            problems.append(exc)
    if problems:
        raise InvalidFields(problems)
    return out


def _clean_one(s: Session, name: str, value: Any, out: dict[str, Any]) -> None:
    """Check field ``name`` and put its column(s) in ``out``; raises ``InvalidField``."""
    text = "" if value is None else str(value)
    if name == "party":
        out["party_id"] = _party(s, value)
    elif name == "program":
        out["program_code"] = _program(s, value)
    elif name == "category":
        out["category"] = check_choice(text, "category", CATEGORIES)
    elif name == "status":
        out["status"] = check_choice(text, "status", STATUSES)
    elif name == "title":
        out["title"] = check_text(text, "title", max_length=200)
    elif name in ("description", "response_plan"):
        out[name] = check_text(text, name, required=False, max_length=4000)
    elif name in ("likelihood", "impact"):
        out[name] = _scale(value, name)
    elif name == "owner":
        out["owner"] = _owner(s, value)
    elif name == "review_on":
        out["review_on"] = _day(value, "review_on") if text.strip() else None


def _problems_in(
    s: Session, values: Mapping[str, Any], *, adding: bool, skip: Collection[str] = ()
) -> list[InvalidField]:
    try:
        _clean(s, {k: v for k, v in values.items() if k not in skip})
        problems: list[InvalidField] = []
    except InvalidFields as exc:
        problems = list(exc.problems)
    if adding:
        problems += [
            InvalidField.said("value_empty", "is empty", field=name)
            for name in _REQUIRED
            if name not in values and name not in skip
        ]
    return problems


def risk_problems(
    engine: Engine, values: Mapping[str, Any], *, adding: bool, skip: Collection[str] = ()
) -> list[InvalidField]:
    """Every field of ``values`` that :func:`add_risk` (``adding``: the required
    fields missing too) or :func:`update_risk` would refuse, without storing
    anything; the fields in ``skip`` (refused by the caller already, e.g. of the
    wrong JSON type) are neither checked nor called missing. Empty when all is
    well. Lets an API name every bad member at once."""
    with Session(engine) as s:
        return _problems_in(s, values, adding=adding, skip=skip)


def _snapshot(r: RiskItem) -> dict[str, Any]:
    return {
        "party_id": r.party_id, "program_code": r.program_code, "category": r.category,
        "title": r.title, "description": r.description, "likelihood": r.likelihood,
        "impact": r.impact, "owner": r.owner, "response_plan": r.response_plan,
        "status": r.status, "review_on": r.review_on,
    }  # fmt: skip


def _default_review(likelihood: int, impact: int, on: dt.date) -> str:
    return (on + dt.timedelta(days=REVIEW_DAYS[band_for(likelihood * impact)])).isoformat()


def add_risk(
    engine: Engine, actor: Acting, values: Mapping[str, Any], *, on: dt.date | None = None
) -> RiskView:
    """Add a risk from ``values`` (names as :data:`_FIELDS`: ``category``, ``title``,
    ``likelihood``, ``impact`` and ``owner`` required; ``party`` and ``program`` are
    codes; ``status`` default open; ``review_on`` default by band from ``on``,
    default today). Raises :class:`InvalidFields` naming every bad or missing field,
    ``PartnerDenied``."""
    require(actor, *WRITERS, action="add risks to the register")
    today = on or dt.date.today()
    with Session(engine) as s, s.begin():
        problems = _problems_in(s, values, adding=True)
        if problems:
            raise InvalidFields(problems)
        clean = _clean(s, values)
        if not clean.get("review_on"):
            clean["review_on"] = _default_review(clean["likelihood"], clean["impact"], today)
        clean.setdefault("status", "open")
        stamp = now_ms()
        item = RiskItem(**clean, created_by=actor.username, created_ms=stamp, updated_ms=stamp)
        s.add(item)
        s.flush()
        record(
            s, "credit.risk_added", actor, party_id=item.party_id,
            detail={"risk": item.id, **changes({}, _snapshot(item))},
        )  # fmt: skip
        party = s.get(Party, item.party_id) if item.party_id else None
        return _view(item, party, today)


def update_risk(
    engine: Engine,
    risk_id: int,
    actor: Acting,
    values: Mapping[str, Any],
    *,
    on: dt.date | None = None,
) -> RiskView:
    """Change the fields given in ``values`` (closing is ``{"status": "closed"}``);
    audited with ``{field: [before, after]}`` of what changed (nothing changed: no
    audit row). Raises ``PartnerNotFound`` (404), :class:`InvalidFields` naming every
    bad field, ``PartnerDenied``."""
    require(actor, *WRITERS, action="change risks in the register")
    today = on or dt.date.today()
    with Session(engine) as s, s.begin():
        item = s.get(RiskItem, risk_id)
        if item is None:
            raise PartnerNotFound.said("no_risk", "no risk %(risk)s in the register", risk=risk_id)
        before = _snapshot(item)
        clean = _clean(s, values)
        if "review_on" in clean and clean["review_on"] is None:
            del clean["review_on"]
        for name, value in clean.items():
            setattr(item, name, value)
        diff = changes(before, _snapshot(item))
        if diff:
            item.updated_ms = now_ms()
            record(
                s, "credit.risk_updated", actor, party_id=item.party_id,
                detail={"risk": item.id, **diff},
            )  # fmt: skip
        party = s.get(Party, item.party_id) if item.party_id else None
        return _view(item, party, today)


def get_risk(engine: Engine, risk_id: int, actor: Acting, *, on: dt.date | None = None) -> RiskView:
    """One risk. Raises ``PartnerNotFound`` (404), ``PartnerDenied`` (403)."""
    require(actor, *READERS, action="read the risk register")
    with Session(engine) as s:
        item = s.get(RiskItem, risk_id)
        if item is None:
            raise PartnerNotFound.said("no_risk", "no risk %(risk)s in the register", risk=risk_id)
        party = s.get(Party, item.party_id) if item.party_id else None
        return _view(item, party, on or dt.date.today())


def _filtered(f: RiskFilters) -> Select[RiskItem, Party]:
    q = select(RiskItem, Party).outerjoin(Party, Party.id == RiskItem.party_id)
    if f.party_id is not None:
        q = q.where(RiskItem.party_id == f.party_id)
    if f.program:
        q = q.where(RiskItem.program_code == f.program)
    if f.category:
        q = q.where(RiskItem.category == f.category)
    if f.status != "all":
        q = q.where(RiskItem.status == f.status if f.status else RiskItem.status != "closed")
    if f.owner:
        q = q.where(RiskItem.owner == f.owner)
    if f.review_due:
        q = q.where(RiskItem.status != "closed", RiskItem.review_on < f.on.isoformat())
    return q


def list_risks(
    engine: Engine, actor: Acting, filters: RiskFilters, *, offset: int = 0, limit: int = 50
) -> tuple[list[RiskView], int]:
    """Risks filtered, highest score first (then the earliest review); ``(page,
    total)``. Raises ``PartnerDenied`` (403) for a role that reads no register."""
    require(actor, *READERS, action="read the risk register")
    q = _filtered(filters)
    order = ((RiskItem.likelihood * RiskItem.impact).desc(), RiskItem.review_on, RiskItem.id)
    with Session(engine) as s:
        rows, total = page_rows(s, q, order, offset, limit)
        return [_view(r, p, filters.on) for r, p in rows], total


def heat_map(s: Session, filters: RiskFilters) -> HeatMap:
    """The 5 x 5 counts (likelihood x impact) of the risks ``filters`` selects, the
    counts by band and how many are review due (see the module's text)."""
    grid = [[0] * 5 for _ in range(5)]
    bands = {name: 0 for name, _lo, _hi in BANDS}
    due = total = 0
    sub = _filtered(filters).subquery()
    rows = s.execute(select(sub.c.likelihood, sub.c.impact, sub.c.status, sub.c.review_on)).all()
    for likelihood, impact, status, review_on in rows:
        grid[likelihood - 1][impact - 1] += 1
        bands[band_for(likelihood * impact)] += 1
        total += 1
        if status != "closed" and review_on < filters.on.isoformat():
            due += 1
    return HeatMap(tuple(tuple(row) for row in grid), bands, due, total)


def party_filter(s: Session, code: str | None) -> int | None:
    """The id of party ``code`` for a filter (None for none). Raises
    ``PartnerNotFound`` naming it."""
    if not code:
        return None
    pid = s.scalar(select(Party.id).where(Party.code == code))
    if pid is None:
        raise PartnerNotFound.said("risk_filter_party", "no party %(party)s", party=code)
    return int(pid)
