"""The credit rating model (issue 13): documented, weighted, versioned.

Source: seed 000 "客户资信调查" and "风险矩阵模型": a party's credit standing is
judged from its investigation (register, bank, trade references, credit insurer,
financial statements) and its payment behaviour; the grade sets the limit
(:mod:`risk.limits`) and, with behaviour, the risk level (:mod:`risk.assessment`:
high = stop credit (cash only) or end cooperation; medium = adjust the limit and
monitor; low = keep, review yearly).

Factors, each scored 0-100 (100 best) from the newest investigation
(:mod:`risk.credit_files`) and behaviour:

- ``registration``: the register entry verified active -> 100, else 0;
- ``bank_reference``: good 100, fair 60, poor 20, none 0;
- ``trade_references``: ``good x 34 - bad x 50`` clamped to 0..100 (3 good, no bad
  = 102 -> 100);
- ``insurer_grade``: the insurer's grade 0-10 x 10; not rated -> 40;
- ``current_ratio``: >= 2.0 -> 100; >= 1.5 -> 80; >= 1.2 -> 60; >= 1.0 -> 40;
  below -> 10; not known -> 0;
- ``equity_ratio`` (equity / revenue of the statements): >= 0.30 -> 100;
  >= 0.20 -> 75; >= 0.10 -> 50; > 0 -> 25; <= 0 or not known (no revenue) -> 0;
- ``days_payable``: <= 30 -> 100; <= 45 -> 80; <= 60 -> 60; <= 90 -> 30; more -> 0;
  not known -> 0;
- ``payment_history``: the party's most days overdue on the day rated
  (:func:`risk.exposure.exposure_in` ``max_overdue_days``; 0 while that module is
  not installed): 0 -> 100; <= 30 -> 60; <= 60 -> 30; <= 90 -> 10; more -> 0.

Weights (:data:`DEFAULT_WEIGHTS`, version 1, stored as made by ``hopchain`` the
first time a rating needs them): registration 0.10, bank_reference 0.10,
trade_references 0.10, insurer_grade 0.20, current_ratio 0.15, equity_ratio 0.10,
days_payable 0.10, payment_history 0.15. A new version (:func:`set_weights`,
finance and admin, audited ``credit.model_weights``) takes decimals >= 0 summing to
exactly 1 (a factor left out weighs 0); the newest version rates, older ratings
keep theirs.

``score = sum(weight x factor score)`` (exact decimals; each factor's ``points`` is
its product), rounded half-even to a whole number 0-100. :func:`grade_for`: >= 90
AAA, >= 80 AA, >= 70 A, >= 60 BBB, >= 50 BB, >= 40 B, else CCC.

:func:`rate_party` (finance, admin) stores the rating with every input as read and
every factor's contribution, then puts the table's limit for the grade in force
(source ``rating``) - unless the limit in force is an override a finance
approver set after the previous rating: that override stays (one re-rating
confirms it; the next rating replaces it) - then calls area C's
:func:`risk.assessment.assess_in` in the same transaction (when installed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.audit import now_ms, record
from partners.errors import Acting, PartnerError, PartnerNotFound, PartnerStateError, require
from partners.values import InvalidField
from risk.credit_files import (
    CREDIT_WRITERS,
    CreditInputInvalid,
    InvestigationView,
    latest_investigation,
)
from risk.limits import GRADES, _ensure_table, limit_in_force, set_limit_in, table_limit
from risk.models import CreditModelWeights, CreditRating

__all__ = [
    "DEFAULT_WEIGHTS",
    "FACTORS",
    "GRADES",
    "GRADE_FLOORS",
    "BoardRow",
    "RatingView",
    "WeightsView",
    "credit_board",
    "factor_scores",
    "grade_for",
    "latest_rating",
    "rate_party",
    "rating_history",
    "rating_json",
    "score_of",
    "set_weights",
    "weights_in_force",
    "weights_json",
    "weights_versions",
]

FACTORS = (
    "registration",
    "bank_reference",
    "trade_references",
    "insurer_grade",
    "current_ratio",
    "equity_ratio",
    "days_payable",
    "payment_history",
)
DEFAULT_WEIGHTS: Mapping[str, Decimal] = {
    "registration": Decimal("0.10"),
    "bank_reference": Decimal("0.10"),
    "trade_references": Decimal("0.10"),
    "insurer_grade": Decimal("0.20"),
    "current_ratio": Decimal("0.15"),
    "equity_ratio": Decimal("0.10"),
    "days_payable": Decimal("0.10"),
    "payment_history": Decimal("0.15"),
}
#: The lowest score of each grade but the last, best first (CCC below 40).
GRADE_FLOORS: Mapping[str, int] = {"AAA": 90, "AA": 80, "A": 70, "BBB": 60, "BB": 50, "B": 40}
_BANK = {"good": 100, "fair": 60, "poor": 20, "none": 0}


def grade_for(score: int) -> str:
    """The grade of a 0-100 score (see the module's bands)."""
    for grade, floor in GRADE_FLOORS.items():
        if score >= floor:
            return grade
    return "CCC"


# ------------------------------------------------------------------ factors


def _banded(value: Decimal, bands: tuple[tuple[str, int], ...], below: int) -> int:
    for floor, score in bands:
        if value >= Decimal(floor):
            return score
    return below


def _upto(value: int, bands: tuple[tuple[int, int], ...], above: int) -> int:
    for ceiling, score in bands:
        if value <= ceiling:
            return score
    return above


def factor_scores(inputs: Mapping[str, Any]) -> dict[str, int]:
    """Each factor's score 0-100 from ``inputs`` (as :func:`rate_party` stores them:
    ``registration_verified`` bool, ``bank_reference`` text, ``trade_references_good``
    and ``_bad`` ints, ``insurer_grade`` int|None, ``current_ratio`` decimal text|None,
    ``equity_minor``/``revenue_minor`` int|None, ``days_payable`` int|None,
    ``max_overdue_days`` int); pure."""
    out: dict[str, int] = {}
    out["registration"] = 100 if inputs.get("registration_verified") else 0
    out["bank_reference"] = _BANK.get(str(inputs.get("bank_reference") or "none"), 0)
    good = int(inputs.get("trade_references_good") or 0)
    bad = int(inputs.get("trade_references_bad") or 0)
    out["trade_references"] = max(0, min(100, good * 34 - bad * 50))
    grade = inputs.get("insurer_grade")
    out["insurer_grade"] = 40 if grade is None else max(0, min(100, int(grade) * 10))
    ratio_text = inputs.get("current_ratio")
    try:
        ratio = None if ratio_text in (None, "") else Decimal(str(ratio_text))
    except InvalidOperation:
        ratio = None
    out["current_ratio"] = (
        0
        if ratio is None
        else _banded(ratio, (("2.0", 100), ("1.5", 80), ("1.2", 60), ("1.0", 40)), 10)
    )
    equity, revenue = inputs.get("equity_minor"), inputs.get("revenue_minor")
    if equity is None or not revenue:
        out["equity_ratio"] = 0
    else:
        er = Decimal(int(equity)) / Decimal(int(revenue))
        out["equity_ratio"] = (
            0 if er <= 0 else _banded(er, (("0.30", 100), ("0.20", 75), ("0.10", 50)), 25)
        )
    dpo = inputs.get("days_payable")
    out["days_payable"] = (
        0 if dpo is None else _upto(int(dpo), ((30, 100), (45, 80), (60, 60), (90, 30)), 0)
    )
    overdue = int(inputs.get("max_overdue_days") or 0)
    out["payment_history"] = _upto(overdue, ((0, 100), (30, 60), (60, 30), (90, 10)), 0)
    return out


def score_of(
    scores: Mapping[str, int], weights: Mapping[str, Decimal]
) -> tuple[Decimal, int, dict[str, dict[str, Any]]]:
    """``(unrounded score, score rounded half-even, contributions)``: each factor's
    ``{"score": int, "weight": "0.15", "points": "13.50"}`` (points = weight x
    score, exact); pure."""
    contributions: dict[str, dict[str, Any]] = {}
    total = Decimal(0)
    for f in FACTORS:
        w = weights.get(f, Decimal(0))
        points = w * scores[f]
        total += points
        contributions[f] = {"score": scores[f], "weight": str(w), "points": str(points)}
    rounded = int(total.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return total, max(0, min(100, rounded)), contributions


# ------------------------------------------------------------------ weights


@dataclass(frozen=True, slots=True)
class WeightsView:
    """A version of the model's weights (factor -> Decimal); ``created_ms`` None for
    the default not yet stored."""

    version: int
    weights: dict[str, Decimal]
    note: str
    created_by: str
    created_ms: int | None


def _weights_row_view(r: CreditModelWeights) -> WeightsView:
    raw = json.loads(r.weights_json)
    return WeightsView(
        r.version, {f: Decimal(raw.get(f, "0")) for f in FACTORS}, r.note, r.created_by,
        r.created_ms,
    )  # fmt: skip


def _default_weights() -> WeightsView:
    return WeightsView(1, dict(DEFAULT_WEIGHTS), "default weights", "hopchain", None)


def _newest_weights(s: Session) -> CreditModelWeights | None:
    return s.scalar(select(CreditModelWeights).order_by(CreditModelWeights.version.desc()).limit(1))


def _weights_json(weights: Mapping[str, Decimal]) -> str:
    return json.dumps({f: str(weights.get(f, Decimal(0))) for f in FACTORS}, sort_keys=True)


def _ensure_weights(s: Session) -> CreditModelWeights:
    row = _newest_weights(s)
    if row is None:
        row = CreditModelWeights(
            version=1, weights_json=_weights_json(DEFAULT_WEIGHTS), note="default weights",
            created_by="hopchain", created_ms=now_ms(),
        )  # fmt: skip
        s.add(row)
        s.flush()
    return row


def weights_in_force(s: Session) -> WeightsView:
    """The newest weights (the default, version 1, when none is stored)."""
    row = _newest_weights(s)
    return _default_weights() if row is None else _weights_row_view(row)


def weights_versions(s: Session) -> list[WeightsView]:
    """Every stored version, newest first (the default alone when none is stored)."""
    rows = s.scalars(select(CreditModelWeights).order_by(CreditModelWeights.version.desc()))
    return [_weights_row_view(r) for r in rows] or [_default_weights()]


def check_weights(weights: Mapping[str, object]) -> dict[str, Decimal]:
    """Every factor's weight (one left out weighs 0): decimals >= 0 summing to exactly
    1. Raises :class:`CreditInputInvalid` naming every unknown factor and bad value,
    :class:`PartnerError` naming the sum when it is not 1."""
    problems: list[InvalidField] = []
    for name in sorted(set(weights) - set(FACTORS)):
        problems.append(
            InvalidField.said(
                "credit_unknown_factor",
                "is not a factor of the rating model; factors: %(factors)s",
                field=name,
                factors=", ".join(FACTORS),
            )
        )
    out: dict[str, Decimal] = {}
    for f in FACTORS:
        raw = weights.get(f, "0")
        text = "" if raw is None else str(raw).strip()
        try:
            w = Decimal(text) if not isinstance(raw, bool | float) else Decimal(-1)
        except InvalidOperation:
            w = Decimal(-1)
        if not w.is_finite() or w < 0 or w > 1:
            problems.append(
                InvalidField.said(
                    "credit_weight_form",
                    "%(value)s is not a decimal from 0 to 1 (like 0.15)",
                    field=f,
                    value=repr(text),
                )
            )
            continue
        out[f] = w
    if problems:
        raise CreditInputInvalid.of(problems)
    total = sum(out.values(), Decimal(0))
    if total != 1:
        raise PartnerError.said(
            "credit_weights_sum", "the weights add up to %(total)s, not 1", total=str(total)
        )
    return out


def set_weights(
    engine: Engine, weights: Mapping[str, object], note: str, actor: Acting
) -> WeightsView:
    """Store a new version of the weights (:func:`check_weights`); ratings from now on
    use it. Audited (``credit.model_weights``). Finance and admin
    (:class:`partners.errors.PartnerDenied`, 403, else)."""
    require(actor, *CREDIT_WRITERS, action="change the rating model")
    checked = check_weights(weights)
    with Session(engine) as s, s.begin():
        before = _ensure_weights(s)
        row = CreditModelWeights(
            version=before.version + 1, weights_json=_weights_json(checked), note=note.strip(),
            created_by=actor.username, created_ms=now_ms(),
        )  # fmt: skip
        s.add(row)
        s.flush()
        record(
            s,
            "credit.model_weights",
            actor,
            detail={"version": row.version, "before": before.version,
                    "weights": json.loads(row.weights_json), "note": row.note},
        )  # fmt: skip
        return _weights_row_view(row)


# ------------------------------------------------------------------ ratings


@dataclass(frozen=True, slots=True)
class RatingView:
    """A rating: ``score`` 0-100 and ``grade``, from ``weights_version`` on
    ``rated_on``; ``inputs`` as read (see :func:`factor_scores`), ``contributions``
    factor -> {score, weight, points} (text decimals)."""

    id: int
    party_id: int
    score: int
    grade: str
    rated_on: str
    weights_version: int
    inputs: dict[str, Any]
    contributions: dict[str, dict[str, Any]]
    investigation_id: int | None
    rated_by: str
    created_ms: int


def _rating_view(r: CreditRating) -> RatingView:
    return RatingView(
        r.id, r.party_id, r.score, r.grade, r.rated_on, r.weights_version,
        json.loads(r.inputs_json), json.loads(r.contributions_json), r.investigation_id,
        r.rated_by, r.created_ms,
    )  # fmt: skip


def _newest_rating(s: Session, party_id: int) -> CreditRating | None:
    return s.scalar(
        select(CreditRating)
        .where(CreditRating.party_id == party_id)
        .order_by(CreditRating.created_ms.desc(), CreditRating.id.desc())
        .limit(1)
    )


def latest_rating(s: Session, party_id: int) -> RatingView | None:
    """The party's newest rating, or None (never rated)."""
    row = _newest_rating(s, party_id)
    return None if row is None else _rating_view(row)


def rating_history(s: Session, party_id: int) -> list[RatingView]:
    """Every rating of the party, newest first."""
    rows = s.scalars(
        select(CreditRating)
        .where(CreditRating.party_id == party_id)
        .order_by(CreditRating.created_ms.desc(), CreditRating.id.desc())
    )
    return [_rating_view(r) for r in rows]


def _max_overdue(s: Session, party_id: int, on: dt.date) -> int:
    """Most days overdue now (:func:`risk.exposure.exposure_in`)."""
    from risk.exposure import exposure_in  # risk.exposure reads limits, which read ratings

    return int(exposure_in(s, party_id, on).max_overdue_days)


def _inputs(inv: InvestigationView, max_overdue_days: int) -> dict[str, Any]:
    return {
        "registration_verified": inv.registration_verified,
        "bank_reference": inv.bank_reference,
        "trade_references_good": inv.trade_references_good,
        "trade_references_bad": inv.trade_references_bad,
        "insurer_grade": inv.insurer_grade,
        "current_ratio": inv.current_ratio,
        "equity_minor": inv.equity_minor,
        "revenue_minor": inv.revenue_minor,
        "currency": inv.currency,
        "days_payable": inv.days_payable,
        "max_overdue_days": max_overdue_days,
    }


def rate_party(
    engine: Engine, party_id: int, actor: Acting, *, on: dt.date | None = None
) -> RatingView:
    """Rate the party on ``on`` (default today, UTC) from its newest investigation and
    behaviour with the weights in force; store it (audited ``credit.rating``), put the
    table's limit for the grade in force unless an override set after the previous
    rating is in force, then assess the risk level (area C) in the same transaction.

    Raises :class:`PartnerStateError` (409) when the party has no investigation,
    :class:`PartnerNotFound` (404), :class:`PartnerError` (422) when the table's
    limit cannot be converted (no FX rate), :class:`partners.errors.PartnerDenied`
    (403) unless finance or admin."""
    require(actor, *CREDIT_WRITERS, action="rate parties")
    day = on or dt.datetime.now(dt.UTC).date()
    with Session(engine) as s, s.begin():
        party = s.get(Party, party_id)
        if party is None:
            raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=party_id)
        inv = latest_investigation(s, party_id)
        if inv is None:
            raise PartnerStateError.said(
                "credit_no_investigation",
                "%(code)s has no credit investigation to rate; record one first"
                " (its credit file, or hopchain credit investigate %(code)s)",
                code=party.code,
            )
        weights_row = _ensure_weights(s)
        weights = _weights_row_view(weights_row).weights
        inputs = _inputs(inv, _max_overdue(s, party_id, day))
        unrounded, score, contributions = score_of(factor_scores(inputs), weights)
        grade = grade_for(score)
        previous = _newest_rating(s, party_id)
        created = now_ms()
        if previous is not None and created <= previous.created_ms:
            created = previous.created_ms + 1
        row = CreditRating(
            party_id=party_id, investigation_id=inv.id, weights_version=weights_row.version,
            score=score, grade=grade, inputs_json=json.dumps(inputs, sort_keys=True),
            contributions_json=json.dumps(contributions, sort_keys=True),
            rated_on=day.isoformat(), rated_by=actor.username, created_ms=created,
        )  # fmt: skip
        s.add(row)
        s.flush()
        in_force = limit_in_force(s, party_id)
        keep = (
            in_force is not None
            and in_force.source == "override"
            and (previous is None or in_force.created_ms > previous.created_ms)
        )
        record(
            s,
            "credit.rating",
            actor,
            party_id=party_id,
            detail={"rating": row.id, "score": score, "unrounded": str(unrounded),
                    "grade": grade, "weights_version": weights_row.version,
                    "investigation": inv.id, "override_kept": keep},
        )  # fmt: skip
        if not keep:
            table = _ensure_table(s)
            limit, days, words = table_limit(s, grade, party.currency, day)
            set_limit_in(
                s, party_id, limit_minor=limit, payment_days=days, source="rating",
                actor=actor, reason=f"grade {grade}, table version {table.version}"
                + (f"; {words}" if words else ""),
                rating_id=row.id, table_version=table.version,
            )  # fmt: skip
        from risk.assessment import assess_in  # risk.assessment imports this module

        assess_in(s, party_id, actor, day)
        return _rating_view(row)


def rating_json(v: RatingView | None) -> dict[str, Any] | None:
    """A rating as JSON (inputs as read, contributions with text decimals)."""
    return None if v is None else asdict(v)


def weights_json(v: WeightsView) -> dict[str, Any]:
    """A weights version as JSON (weights as decimal text)."""
    return {
        "version": v.version, "weights": {f: str(w) for f, w in v.weights.items()},
        "note": v.note, "created_by": v.created_by, "created_ms": v.created_ms,
    }  # fmt: skip


# ------------------------------------------------------------------ the board


@dataclass(frozen=True, slots=True)
class BoardRow:
    """One distributor on the credit board: its latest rating (None: never rated), the
    risk level and cash-only flag of its newest assessment (None: never assessed), its
    limit in force (minor units of ``currency``) and, from area B's exposure, what it
    owes (``exposure_minor``), the utilisation in per mille and the most days
    overdue (None while exposure is not installed)."""

    party_id: int
    code: str
    name: str
    currency: str
    grade: str | None
    score: int | None
    level: str | None
    cash_only: bool | None
    limit_minor: int | None
    payment_days: int | None
    exposure_minor: int | None
    utilisation_permille: int | None
    max_overdue_days: int | None


def credit_board(
    s: Session, *, search: str = "", on: dt.date | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[BoardRow], int]:
    """Every distributor (code order; ``search`` matches code or name, case-blind)
    with its grade, score, risk level, cash only, limit and exposure on ``on``
    (default today): ``(page, total)``. No role check: the caller's (credit readers)."""
    from sqlalchemy import func, or_

    from risk.models import CreditAssessment

    day = on or dt.datetime.now(dt.UTC).date()
    q = select(Party).where(Party.kind == "distributor")
    if search.strip():
        like = f"%{search.strip().lower()}%"
        q = q.where(or_(func.lower(Party.code).like(like), func.lower(Party.name).like(like)))
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    parties = list(s.scalars(q.order_by(Party.code).offset(offset).limit(limit)))
    ids = [p.id for p in parties]
    exposures: dict[int, Any] = {}
    if ids:
        from risk.exposure import exposures_in  # risk.exposure reads limits, which read ratings

        exposures = exposures_in(s, ids, day)
    rows = []
    for p in parties:
        rating = _newest_rating(s, p.id)
        lim = limit_in_force(s, p.id)
        assessment = s.scalar(
            select(CreditAssessment)
            .where(CreditAssessment.party_id == p.id)
            .order_by(CreditAssessment.created_ms.desc(), CreditAssessment.id.desc())
            .limit(1)
        )
        e = exposures.get(p.id)
        rows.append(
            BoardRow(
                p.id, p.code, p.name, p.currency,
                None if rating is None else rating.grade,
                None if rating is None else rating.score,
                None if assessment is None else assessment.level,
                None if assessment is None else assessment.cash_only,
                None if lim is None else lim.limit_minor,
                None if lim is None else lim.payment_days,
                None if e is None else int(e.total_minor),
                None if e is None else e.utilisation_permille,
                None if e is None else int(e.max_overdue_days),
            )
        )  # fmt: skip
    return rows, int(total)
