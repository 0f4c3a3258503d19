"""A/B/C class reviews: the scorecard's ledger-derived indicators and indicators a
channel manager enters, weighted into a proposed class that a manager confirms.

Source: seed 003 (渠道商務管理辦法 §二(二) 合作伙伴评估与分类): every partner is
evaluated at least once a year (定期评估: 业绩完成情况、市场推广效果、客户服务质量、
遵守合作协议情况、团队稳定性 with weights and scoring standards) and on events (动态评估:
a serious business problem or breach of the agreement calls for a special
evaluation), and classed A, B or C by the result.

Indicators (each 0-100, 100 best):

- ledger-derived, copied from the quarterly scorecard when the review opens
  (:mod:`settlement.scorecard`, its ``breakdown`` values 0..1 x 100, the mean over
  the scored quarters of the review's year so far; nothing is recomputed here):
  ``target``, ``growth``, ``diversion``, ``returns``, ``timeliness``;
- entered by a channel manager: ``market_promotion`` (市场推广效果),
  ``customer_service`` (客户服务质量), ``team_stability`` (团队稳定性),
  ``compliance`` (遵守合作协议情况).

Weights are versioned per year (:func:`set_weights`: decimals from 0 to 1 summing to
exactly 1; a name left out weighs 0). A year without any version uses
:data:`DEFAULT_WEIGHTS`: the scorecard's own weights scaled to 60 % (target 0.18,
growth 0.12, diversion 0.15, returns 0.09, timeliness 0.06) and 10 % for each
manual indicator. A review keeps the weights in force when it was opened.

The score is ``sum(value x weight) / sum(weight)`` over the indicators that have a
value (one without a value, such as a year with no scorecard yet, says "no data"
and the others are re-weighted), rounded half-even to 0.01 — only while the
indicators with a value weigh at least :data:`MIN_COVERAGE` (half) of the weight:
below that there is no score and no proposal ("not enough data"; issue 12: the four
manual indicators alone, 40 %, proposed a class). The proposal uses the
scorecard's class thresholds (:class:`settlement.scorecard.ScoreConfig`): A from
80, B from 60, C below.

A channel manager, partner manager or admin opens a review and confirms it with a
class (the proposal or another) and a reason; confirming writes the class in force
(:class:`partners.models.PartnerClass`) from the confirmation date or a given date,
and freezes the review. Confirmation needs every manual indicator with a weight
entered, and every scorecard indicator with a weight to have a value: a review
opened before its year was scored reads the scorecard again when confirmed, and is
refused while it still has none (score the quarters first: ``hopchain scores
--quarter``), so no class reaches settlement's multiplier from the manual
indicators alone. The same person may enter indicators and confirm (the channel manager
holds the review meeting); the audit trail names each of them.

An event review opens for each confirmed alert of serious severity
(:data:`SERIOUS_SEVERITIES`, :mod:`settlement.severity`) that has none yet
(:func:`open_event_reviews`, called when an alert is confirmed and by
``hopchain reviews events``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.audit import now_ms, record
from partners.classes import CLASSES
from partners.errors import Acting, PartnerError, PartnerNotFound, PartnerStateError, require
from partners.models import PartnerClass
from risk.models import ClassReview, ReviewIndicator, ReviewWeights
from settlement.models import Alert, PartnerScore
from settlement.scorecard import INDICATORS as SCORECARD_INDICATORS
from settlement.scorecard import ScoreConfig

__all__ = [
    "CONFIRMERS",
    "DEFAULT_WEIGHTS",
    "ENTERERS",
    "LEDGER_INDICATORS",
    "MANUAL_INDICATORS",
    "MIN_COVERAGE",
    "OPENERS",
    "READERS",
    "REVIEW_INDICATORS",
    "REVIEW_KINDS",
    "SERIOUS_SEVERITIES",
    "THRESHOLDS",
    "IndicatorLine",
    "ReviewView",
    "WeightsView",
    "check_weights",
    "confirm_review",
    "enter_indicator",
    "get_review",
    "list_reviews",
    "open_event_reviews",
    "open_review",
    "propose",
    "review_json",
    "set_weights",
    "weights_for",
]

LEDGER_INDICATORS: tuple[str, ...] = tuple(SCORECARD_INDICATORS)
#: The least share of the weight the indicators with a value must carry for a score.
MIN_COVERAGE = Decimal("0.5")
MANUAL_INDICATORS = ("market_promotion", "customer_service", "team_stability", "compliance")
REVIEW_INDICATORS = LEDGER_INDICATORS + MANUAL_INDICATORS
REVIEW_KINDS = ("annual", "event")
#: Alert severities that open an event review once the alert is confirmed.
SERIOUS_SEVERITIES = ("high", "critical")
#: The scorecard's thresholds: A from 80, B from 60, C below (0-100 score).
THRESHOLDS: Mapping[str, Decimal] = dict(ScoreConfig().thresholds)
DEFAULT_WEIGHTS: Mapping[str, Decimal] = {
    **{
        name: (w * Decimal("0.6")).quantize(Decimal("0.01"))
        for name, w in ScoreConfig().weights.items()
    },
    **{name: Decimal("0.10") for name in MANUAL_INDICATORS},
}

OPENERS = ("channel_manager", "partner_manager", "admin")
ENTERERS = ("channel_manager", "admin")
CONFIRMERS = ("channel_manager", "partner_manager", "admin")
READERS = ("channel_manager", "partner_manager", "finance", "auditor", "admin")

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class WeightsView:
    """A year's weights (``version`` 0: :data:`DEFAULT_WEIGHTS`, none stored)."""

    year: int
    version: int
    weights: dict[str, Decimal]
    created_by: str
    created_ms: int | None


@dataclass(frozen=True, slots=True)
class IndicatorLine:
    """One indicator of a review: ``value`` 0-100 (None: no data), its ``weight``,
    the ``points`` it adds to the score (None without a value), ``source``
    (scorecard|manual) and ``basis`` (the scorecard quarters or the manager's note)."""

    indicator: str
    source: str
    value: Decimal | None
    weight: Decimal
    points: Decimal | None
    basis: str
    entered_by: str


@dataclass(frozen=True, slots=True)
class ReviewView:
    """A review as pages, the API and the command line show it; ``score`` 0-100
    (None while no indicator has a value), ``created_ms``/``confirmed_ms`` epoch ms."""

    id: int
    party_id: int
    party_code: str
    party_name: str
    kind: str
    year: int
    trigger: str
    trigger_alert_id: int | None
    weights_version: int
    status: str
    score: Decimal | None
    proposed_class: str
    confirmed_class: str | None
    reason: str
    confirmed_by: str
    confirmed_ms: int | None
    valid_from: str | None
    created_by: str
    created_ms: int
    lines: tuple[IndicatorLine, ...]


# ------------------------------------------------------------------ the rule


def propose(
    values: Mapping[str, Decimal | None], weights: Mapping[str, Decimal]
) -> tuple[Decimal | None, str, dict[str, Decimal | None]]:
    """Score (0-100, 0.01), proposed class and each indicator's points from
    ``values`` (0-100 or None: no data) and ``weights``; pure, for hand checks.

    Indicators without a value are left out and the others re-weighted by the sum
    of their weights; when those with a value weigh less than :data:`MIN_COVERAGE`
    of the weight of all ``values`` (or nothing) the result is ``(None, "", ...)``:
    not enough data."""
    present = {n: v for n, v in values.items() if v is not None and weights.get(n, Decimal(0)) > 0}
    total_w = sum((weights[n] for n in present), Decimal(0))
    all_w = sum((weights.get(n, Decimal(0)) for n in values), Decimal(0))
    points: dict[str, Decimal | None] = {n: None for n in values}
    if total_w == 0 or total_w < MIN_COVERAGE * all_w:
        return None, "", points
    score = Decimal(0)
    for n, v in present.items():
        p = v * weights[n] / total_w
        points[n] = p.quantize(_CENT, ROUND_HALF_EVEN)
        score += p
    score = score.quantize(_CENT, ROUND_HALF_EVEN)
    cls = "A" if score >= THRESHOLDS["A"] else "B" if score >= THRESHOLDS["B"] else "C"
    return score, cls, points


def _weights_value(name: str, raw: object) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise PartnerError.said(
            "review_weight_not_number",
            "weights.%(name)s: %(value)s is not a number from 0 to 1",
            name=name,
            value=repr(raw),
        )
    try:
        w = Decimal(str(raw).strip())
    except InvalidOperation:
        raise PartnerError.said(
            "review_weight_not_number",
            "weights.%(name)s: %(value)s is not a number from 0 to 1",
            name=name,
            value=repr(raw),
        ) from None
    if not w.is_finite() or w < 0 or w > 1:
        raise PartnerError.said(
            "review_weight_not_number",
            "weights.%(name)s: %(value)s is not a number from 0 to 1",
            name=name,
            value=repr(raw),
        )
    return w


def check_weights(weights: Mapping[str, object]) -> dict[str, Decimal]:
    """Every indicator's weight from ``weights`` (names of :data:`REVIEW_INDICATORS`;
    one left out weighs 0). Raises :class:`PartnerError` naming an unknown indicator,
    a value that is not a number from 0 to 1, or a sum other than exactly 1."""
    unknown = sorted(set(weights) - set(REVIEW_INDICATORS))
    if unknown:
        raise PartnerError.said(
            "review_weight_unknown",
            "weights: unknown indicator %(name)s; known: %(known)s",
            name=unknown[0],
            known=", ".join(REVIEW_INDICATORS),
        )
    out = {
        n: _weights_value(n, weights[n]) if n in weights else Decimal(0) for n in REVIEW_INDICATORS
    }
    total = sum(out.values(), Decimal(0))
    if total != 1:
        raise PartnerError.said(
            "review_weight_sum", "weights must add up to 1, not %(total)s", total=str(total)
        )
    return out


# ------------------------------------------------------------------ weights


def _weights_view(row: ReviewWeights | None, year: int) -> WeightsView:
    if row is None:
        return WeightsView(year, 0, dict(DEFAULT_WEIGHTS), "", None)
    raw = json.loads(row.weights_json)
    return WeightsView(
        row.year,
        row.version,
        {n: Decimal(raw.get(n, "0")) for n in REVIEW_INDICATORS},
        row.created_by,
        row.created_ms,
    )


def _latest_weights(s: Session, year: int) -> ReviewWeights | None:
    return s.scalars(
        select(ReviewWeights)
        .where(ReviewWeights.year == year)
        .order_by(ReviewWeights.version.desc())
        .limit(1)
    ).first()


def _check_year(year: object) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 9999:
        raise PartnerError.said(
            "review_bad_year", "year: %(value)s is not a year from 2000 to 9999", value=repr(year)
        )
    return year


def weights_for(engine: Engine, year: int) -> WeightsView:
    """The weights in force for ``year``: its newest version, else the defaults."""
    with Session(engine) as s:
        return _weights_view(_latest_weights(s, _check_year(year)), year)


def set_weights(
    engine: Engine, year: int, weights: Mapping[str, object], actor: Acting
) -> WeightsView:
    """Store a new version of ``year``'s weights (see :func:`check_weights`); reviews
    opened from now on use it. Channel managers, partner managers and admins."""
    require(actor, *OPENERS, action="set review weights")
    _check_year(year)
    checked = check_weights(weights)
    with Session(engine) as s, s.begin():
        latest = _latest_weights(s, year)
        row = ReviewWeights(
            year=year,
            version=(latest.version + 1) if latest else 1,
            weights_json=json.dumps({n: str(w) for n, w in checked.items()}, sort_keys=True),
            created_by=actor.username,
            created_ms=now_ms(),
        )
        s.add(row)
        s.flush()
        record(
            s, "review.weights", actor,
            detail={"year": year, "version": row.version, "weights": {n: str(w) for n, w in checked.items()}},
        )  # fmt: skip
        return _weights_view(row, year)


# ------------------------------------------------------------------ reviews


def _scorecard_values(s: Session, party_id: int, year: int) -> dict[str, dict[str, str | None]]:
    """Each ledger indicator's value (0-100 text, None: no scorecard) and basis: the
    mean of the party's scored quarters of ``year``."""
    rows = list(
        s.scalars(
            select(PartnerScore)
            .where(PartnerScore.party_id == party_id, PartnerScore.quarter.like(f"{year}-Q%"))
            .order_by(PartnerScore.quarter)
        )
    )
    out: dict[str, dict[str, str | None]] = {}
    if not rows:
        for n in LEDGER_INDICATORS:
            out[n] = {"value": None, "basis": f"no scorecard in {year}"}
        return out
    quarters = [r.quarter for r in rows]
    breakdowns = [json.loads(r.breakdown_json) for r in rows]
    for n in LEDGER_INDICATORS:
        vals = [Decimal(b[n]["value"]) for b in breakdowns if n in b]
        if not vals:
            out[n] = {"value": None, "basis": f"no scorecard in {year}"}
            continue
        mean = (sum(vals, Decimal(0)) * 100 / len(vals)).quantize(_CENT, ROUND_HALF_EVEN)
        if len(rows) == 1:
            basis = f"scorecard {quarters[0]}: {breakdowns[0][n].get('basis', '')}"
        else:
            basis = f"mean of scorecards {', '.join(quarters)}"
        out[n] = {"value": str(mean), "basis": basis}
    return out


def _refresh(s: Session, review: ClassReview) -> None:
    """Recompute the review's lines, score and proposal from its stored scorecard
    values, its weights and the entered indicators."""
    body = json.loads(review.breakdown_json)
    weights = {n: Decimal(w) for n, w in body["weights"].items()}
    entered = {
        i.indicator: i
        for i in s.scalars(select(ReviewIndicator).where(ReviewIndicator.review_id == review.id))
    }
    values: dict[str, Decimal | None] = {}
    for n in LEDGER_INDICATORS:
        raw = body["scorecard"][n]["value"]
        values[n] = None if raw is None else Decimal(raw)
    for n in MANUAL_INDICATORS:
        values[n] = Decimal(entered[n].value) if n in entered else None
    score, cls, points = propose(values, weights)
    lines = []
    for n in REVIEW_INDICATORS:
        manual = n in MANUAL_INDICATORS
        v, p = values[n], points[n]
        lines.append(
            {
                "indicator": n,
                "source": "manual" if manual else "scorecard",
                "value": None if v is None else str(v),
                "weight": str(weights[n]),
                "points": None if p is None else str(p),
                "basis": (entered[n].note if n in entered else "not entered")
                if manual
                else str(body["scorecard"][n]["basis"]),
                "entered_by": entered[n].entered_by if n in entered else "",
            }
        )
    body["lines"] = lines
    review.breakdown_json = json.dumps(body, sort_keys=True, ensure_ascii=False)
    review.score = "" if score is None else str(score)
    review.proposed_class = cls


def _view(s: Session, r: ClassReview, party: Party) -> ReviewView:
    body = json.loads(r.breakdown_json)
    lines = tuple(
        IndicatorLine(
            ln["indicator"],
            ln["source"],
            None if ln["value"] is None else Decimal(ln["value"]),
            Decimal(ln["weight"]),
            None if ln["points"] is None else Decimal(ln["points"]),
            ln["basis"],
            ln["entered_by"],
        )
        for ln in body.get("lines", ())
    )
    return ReviewView(
        r.id, r.party_id, party.code, party.name, r.kind, r.year, r.trigger, r.trigger_alert_id,
        int(body.get("weights_version", 0)), r.status, Decimal(r.score) if r.score else None,
        r.proposed_class, r.confirmed_class, r.reason, r.confirmed_by, r.confirmed_ms,
        body.get("valid_from"), r.created_by, r.created_ms, lines,
    )  # fmt: skip


def _party(s: Session, code: str) -> Party:
    party = s.scalars(select(Party).where(Party.code == code)).first()
    if party is None:
        raise PartnerNotFound.said("review_no_party", "no party %(code)s", code=code)
    return party


def _open(
    s: Session,
    party: Party,
    kind: str,
    year: int,
    trigger: str,
    actor: Acting,
    trigger_alert_id: int | None = None,
) -> ClassReview:
    if kind not in REVIEW_KINDS:
        raise PartnerError.said(
            "review_bad_kind", "kind: %(value)s is not annual or event", value=repr(kind)
        )
    _check_year(year)
    if kind == "annual":
        dup = s.scalar(
            select(ClassReview.id).where(
                ClassReview.party_id == party.id,
                ClassReview.kind == "annual",
                ClassReview.year == year,
                ClassReview.status == "open",
            )
        )
        if dup is not None:
            raise PartnerStateError.said(
                "review_open_already",
                "%(party)s already has an open annual review for %(year)s: review %(review)s",
                party=party.code,
                year=year,
                review=dup,
            )
    wrow = _latest_weights(s, year)
    wview = _weights_view(wrow, year)
    body = {
        "weights": {n: str(w) for n, w in wview.weights.items()},
        "weights_version": wview.version,
        "scorecard": _scorecard_values(s, party.id, year),
    }
    review = ClassReview(
        party_id=party.id,
        kind=kind,
        year=year,
        trigger=trigger.strip()[:300],
        trigger_alert_id=trigger_alert_id,
        weights_id=wrow.id if wrow else None,
        breakdown_json=json.dumps(body, sort_keys=True),
        status="open",
        created_by=actor.username,
        created_ms=now_ms(),
    )
    s.add(review)
    s.flush()
    _refresh(s, review)
    record(
        s, "review.opened", actor, party_id=party.id,
        detail={"review": review.id, "kind": kind, "year": year, "trigger": review.trigger},
    )  # fmt: skip
    return review


def open_review(
    engine: Engine, party_code: str, kind: str, year: int, trigger: str, actor: Acting
) -> ReviewView:
    """Open an ``annual`` or ``event`` review of a party for ``year``, its scorecard
    indicators filled (:func:`_scorecard_values`). Refuses an unknown party (404),
    a second open annual review of the same year (409), a bad kind or year."""
    require(actor, *OPENERS, action="open a class review")
    with Session(engine) as s, s.begin():
        party = _party(s, party_code)
        review = _open(s, party, kind, year, trigger, actor)
        return _view(s, review, party)


def open_event_reviews(engine: Engine, actor: Acting) -> list[ReviewView]:
    """Open an event review for every confirmed alert of a serious severity
    (:data:`SERIOUS_SEVERITIES`) with a responsible party and no review yet; the
    review's year is the alert period's. Returns the reviews opened (often none)."""
    require(actor, *OPENERS, action="open a class review")
    with Session(engine) as s, s.begin():
        taken = select(ClassReview.trigger_alert_id).where(
            ClassReview.trigger_alert_id.is_not(None)
        )
        alerts = list(
            s.scalars(
                select(Alert)
                .where(
                    Alert.status == "confirmed",
                    Alert.severity.in_(SERIOUS_SEVERITIES),
                    Alert.party_id.is_not(None),
                    Alert.id.not_in(taken),
                )
                .order_by(Alert.id)
            )
        )
        out = []
        for a in alerts:
            party = s.get(Party, a.party_id)
            assert party is not None  # a foreign key
            trigger = (
                f"alert {a.id} confirmed: {a.severity} {a.finding_type} in "
                f"{a.territory_code}, {a.period}"
            )
            review = _open(s, party, "event", int(a.period[:4]), trigger, actor, a.id)
            out.append(_view(s, review, party))
        return out


def _review(s: Session, review_id: int) -> tuple[ClassReview, Party]:
    review = s.get(ClassReview, review_id)
    if review is None:
        raise PartnerNotFound.said("no_review", "no review %(review)s", review=review_id)
    party = s.get(Party, review.party_id)
    assert party is not None
    return review, party


def _still_open(review: ClassReview) -> None:
    if review.status != "open":
        raise PartnerStateError.said(
            "review_confirmed",
            "review %(review)s is confirmed; a confirmed review cannot change",
            review=review.id,
        )


def enter_indicator(
    engine: Engine, review_id: int, indicator: str, value: object, note: str, actor: Acting
) -> ReviewView:
    """Enter (or correct) a manual indicator of an open review: ``value`` an integer
    0-100. Channel managers (and admins). Refuses a scorecard indicator (it comes
    from the ledger), an unknown one, a value out of range, a confirmed review."""
    require(actor, *ENTERERS, action="enter review indicators")
    if indicator in LEDGER_INDICATORS:
        raise PartnerError.said(
            "review_ledger_indicator",
            "indicator: %(name)s comes from the scorecard and cannot be entered",
            name=indicator,
        )
    if indicator not in MANUAL_INDICATORS:
        raise PartnerError.said(
            "review_unknown_indicator",
            "indicator: unknown indicator %(name)s; enter one of: %(known)s",
            name=indicator,
            known=", ".join(MANUAL_INDICATORS),
        )
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise PartnerError.said(
            "review_bad_value",
            "value: %(value)s is not a whole number from 0 to 100",
            value=repr(value),
        )
    with Session(engine) as s, s.begin():
        review, party = _review(s, review_id)
        _still_open(review)
        row = s.scalars(
            select(ReviewIndicator).where(
                ReviewIndicator.review_id == review.id, ReviewIndicator.indicator == indicator
            )
        ).first()
        old = None if row is None else row.value
        if row is None:
            row = ReviewIndicator(review_id=review.id, indicator=indicator, value=value)
            s.add(row)
        row.value = value
        row.note = note.strip()
        row.entered_by = actor.username
        row.entered_ms = now_ms()
        s.flush()
        _refresh(s, review)
        record(
            s, "review.indicator", actor, party_id=party.id,
            detail={"review": review.id, "indicator": indicator, "value": [old, value], "note": row.note},
        )  # fmt: skip
        return _view(s, review, party)


def _check_day(value: str, field: str) -> str:
    """``value`` as an ISO date, or :class:`PartnerError` naming ``field``."""
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise PartnerError.said(
        "review_bad_day",
        "%(field)s: %(value)s is not a date (YYYY-MM-DD)",
        field=field,
        value=repr(value),
    )


def _with_scorecard(s: Session, review: ClassReview, party: Party) -> dict[str, Any]:
    """The review's body; when a weighted scorecard indicator has no value (opened
    before its year was scored), the scorecard read again and the lines refreshed."""
    body: dict[str, Any] = json.loads(review.breakdown_json)
    weights = body["weights"]
    if all(
        body["scorecard"][n]["value"] is not None or Decimal(weights[n]) == 0
        for n in LEDGER_INDICATORS
    ):
        return body
    body["scorecard"] = _scorecard_values(s, party.id, review.year)
    review.breakdown_json = json.dumps(body, sort_keys=True, ensure_ascii=False)
    _refresh(s, review)
    fresh: dict[str, Any] = json.loads(review.breakdown_json)
    return fresh


def confirm_review(
    engine: Engine,
    review_id: int,
    partner_class: str,
    reason: str,
    actor: Acting,
    *,
    valid_from: str | None = None,
) -> ReviewView:
    """Confirm an open review with ``partner_class`` (A/B/C, the proposal or not) and
    a ``reason`` (required): the class is in force from ``valid_from`` (ISO date;
    default today, UTC). Channel managers, partner managers and admins. Refuses a
    confirmed review (409), a missing manual indicator that has a weight."""
    require(actor, *CONFIRMERS, action="confirm a class review")
    if partner_class not in CLASSES:
        raise PartnerError.said(
            "review_bad_class", "class: %(value)s is not A, B or C", value=repr(partner_class)
        )
    reason = reason.strip()
    if not reason:
        raise PartnerError.said("review_no_reason", "reason: say why this class is confirmed")
    day = (
        dt.datetime.now(dt.UTC).date().isoformat()
        if valid_from is None
        else _check_day(valid_from, "valid_from")
    )
    with Session(engine) as s, s.begin():
        review, party = _review(s, review_id)
        _still_open(review)
        body = _with_scorecard(s, review, party)
        missing = [
            ln["indicator"]
            for ln in body["lines"]
            if ln["source"] == "manual" and ln["value"] is None and Decimal(ln["weight"]) > 0
        ]
        if missing:
            raise PartnerError.said(
                "review_missing_indicators",
                "review %(review)s still needs: %(names)s",
                review=review.id,
                names=", ".join(missing),
            )
        unscored = [
            ln["indicator"]
            for ln in body["lines"]
            if ln["source"] == "scorecard" and ln["value"] is None and Decimal(ln["weight"]) > 0
        ]
        if unscored:
            raise PartnerStateError.said(
                "review_no_scorecard",
                "review %(review)s still needs the scorecard's %(names)s: no scorecard for"
                " %(year)s yet; score its quarters first (hopchain scores --quarter %(year)s-Q1)",
                review=review.id,
                names=", ".join(unscored),
                year=review.year,
            )
        stamp = now_ms()
        review.status = "confirmed"
        review.confirmed_class = partner_class
        review.reason = reason
        review.confirmed_by = actor.username
        review.confirmed_ms = stamp
        body["valid_from"] = day
        review.breakdown_json = json.dumps(body, sort_keys=True, ensure_ascii=False)
        s.add(
            PartnerClass(
                party_id=party.id, partner_class=partner_class, valid_from=day,
                review_id=review.id, reason=reason, confirmed_by=actor.username,
                confirmed_user_id=actor.user_id, confirmed_ms=stamp,
            )
        )  # fmt: skip
        record(
            s, "review.confirmed", actor, party_id=party.id,
            detail={"review": review.id, "class": partner_class, "proposed": review.proposed_class,
                    "score": review.score, "valid_from": day, "reason": reason},
        )  # fmt: skip
        return _view(s, review, party)


def get_review(engine: Engine, review_id: int, actor: Acting) -> ReviewView:
    """One review with its lines (404 when missing)."""
    require(actor, *READERS, action="read class reviews")
    with Session(engine) as s:
        review, party = _review(s, review_id)
        return _view(s, review, party)


def list_reviews(
    engine: Engine,
    actor: Acting,
    *,
    status: str | None = None,
    party_code: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[ReviewView], int]:
    """A page of reviews, newest first, and how many match: ``status`` open|confirmed,
    ``party_code`` one party (404 when unknown). Two queries."""
    require(actor, *READERS, action="read class reviews")
    if status is not None and status not in ("open", "confirmed"):
        raise PartnerError.said(
            "review_bad_status", "status: %(value)s is not open or confirmed", value=repr(status)
        )
    with Session(engine) as s:
        q = select(ClassReview, Party).join(Party, Party.id == ClassReview.party_id)
        count = select(func.count()).select_from(ClassReview)
        if status is not None:
            q = q.where(ClassReview.status == status)
            count = count.where(ClassReview.status == status)
        if party_code is not None:
            party = _party(s, party_code)
            q = q.where(ClassReview.party_id == party.id)
            count = count.where(ClassReview.party_id == party.id)
        total = int(s.scalar(count) or 0)
        rows = s.execute(
            q.order_by(ClassReview.created_ms.desc(), ClassReview.id.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        return [_view(s, r, p) for r, p in rows], total


def review_json(v: ReviewView) -> dict[str, Any]:
    """A review as JSON (decimals as strings)."""

    def dec(x: Decimal | None) -> str | None:
        return None if x is None else str(x)

    return {
        "id": v.id, "party": v.party_code, "party_name": v.party_name, "kind": v.kind,
        "year": v.year, "trigger": v.trigger, "trigger_alert_id": v.trigger_alert_id,
        "weights_version": v.weights_version, "status": v.status, "score": dec(v.score),
        "proposed_class": v.proposed_class or None, "confirmed_class": v.confirmed_class,
        "reason": v.reason, "confirmed_by": v.confirmed_by or None,
        "confirmed_ms": v.confirmed_ms, "valid_from": v.valid_from, "created_by": v.created_by,
        "created_ms": v.created_ms,
        "indicators": [
            {"indicator": ln.indicator, "source": ln.source, "value": dec(ln.value),
             "weight": str(ln.weight), "points": dec(ln.points), "basis": ln.basis,
             "entered_by": ln.entered_by or None}
            for ln in v.lines
        ],
    }  # fmt: skip
