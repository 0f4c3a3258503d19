"""Evaluation pages (issue 12, "Evaluation and classes"): the list of A/B/C reviews
(open or confirmed) with the form that opens one, a review's breakdown (a table
with every number, and a bar picture of the points beside it) with the indicator
entry and confirmation forms, and a party's evaluation: the classes it had, its
reviews, its health score with the parts and the trend (a line picture beside the
table), and its open tasks.

The rules are :mod:`risk.reviews`' and :mod:`risk.health`'s; these views read the
form, call one service function and show its refusal in the reader's language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import Party
from ledger.said import SaidError
from partners.classes import class_history
from partners.errors import PartnerError, PartnerNotFound
from partners.tasks import open_tasks
from risk import health, reviews
from web.db import get_engine
from web.finance._common import FormState
from web.paging import page_request
from web.partners import _pages as pages
from web.reasons import reason_words
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor, format_ms

__all__ = ["INDICATOR_WORDS", "PART_WORDS", "TASK_WORDS", "bp"]

bp = Blueprint("evaluation", __name__, url_prefix="/partners/reviews")

READERS = tuple(Role(r) for r in reviews.READERS)
OPENERS = tuple(Role(r) for r in reviews.OPENERS)
ENTERERS = tuple(Role(r) for r in reviews.ENTERERS)
CONFIRMERS = tuple(Role(r) for r in reviews.CONFIRMERS)

INDICATOR_WORDS = {
    "target": _l("Target achievement"),
    "growth": _l("Growth on a year before"),
    "diversion": _l("Diversion record"),
    "returns": _l("Returns"),
    "timeliness": _l("Timely receipts"),
    "market_promotion": _l("Market promotion"),
    "customer_service": _l("Customer service quality"),
    "team_stability": _l("Team stability"),
    "compliance": _l("Compliance with the agreement"),
}
PART_WORDS = {
    "trend": _l("Scorecard trend"),
    "diversion": _l("Diversion record"),
    "receivables": _l("Overdue receivables"),
    "target": _l("Target achievement"),
    "recency": _l("Interaction recency"),
}
KIND_WORDS = {"annual": _l("Annual"), "event": _l("Event")}
STATUS_WORDS = {"open": _l("Open"), "confirmed": _l("Confirmed")}
SOURCE_WORDS = {"scorecard": _l("Scorecard"), "manual": _l("Entered")}
TASK_WORDS = {
    "health_drop": _l("Health score dropped"),
    "quarterly_meeting": _l("Quarterly meeting overdue"),
    "agreement_expiry": _l("Agreement expires soon"),
    "trial_end": _l("Trial ends"),
    "exit_handover": _l("Exit handover"),
    "credit_termination": _l("High credit risk: consider ending the cooperation"),
    "credit_review": _l("Credit review"),
}
_OPEN_FIELDS = ("party", "year", "kind", "trigger")


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    role = pages.role()
    return (
        render_template(
            template,
            can_open=role in reviews.OPENERS,
            can_enter=role in reviews.ENTERERS,
            can_confirm=role in reviews.CONFIRMERS,
            indicator_words=INDICATOR_WORDS,
            part_words=PART_WORDS,
            kind_words=KIND_WORDS,
            status_words=STATUS_WORDS,
            source_words=SOURCE_WORDS,
            task_words=TASK_WORDS,
            format_ms=format_ms,
            linked=pages.linked,
            **context,
        ),
        status,
    )


# ------------------------------------------------------------------ list and open


def _index(form: FormState, status: int = 200) -> ResponseReturnValue:
    wanted = request.args.get("status", "").strip()
    chosen = wanted if wanted in STATUS_WORDS else None
    party = request.args.get("party", "").strip() or None
    pager = page_request()
    try:
        rows, total = reviews.list_reviews(
            get_engine(), current_actor(), status=chosen, party_code=party,
            offset=pager.offset, limit=pager.size,
        )  # fmt: skip
    except PartnerNotFound:
        rows, total = [], 0
        flash(gettext("No party %(code)s.", code=party), "error")
    except PartnerError as exc:
        abort_for(exc)
    return _render(
        "partners/reviews.html",
        status,
        rows=rows,
        pager=pager.with_total(total),
        chosen=chosen or "",
        party=party or "",
        form=form,
    )


@bp.get("/", endpoint="reviews")
@require_roles(*READERS)
def reviews_list() -> ResponseReturnValue:
    form = FormState.read(request.args, *_OPEN_FIELDS)
    form.values["year"] = form.values["year"] or str(dt.datetime.now(dt.UTC).year)
    form.values["kind"] = form.values["kind"] or "annual"
    return _index(form)


@bp.post("/")
@require_roles(*OPENERS)
def open_review() -> ResponseReturnValue:
    form = FormState.read(request.form, *_OPEN_FIELDS)
    v = form.values
    year = (
        int(v["year"])
        if v["year"].isascii() and v["year"].isdigit() and len(v["year"]) == 4
        else None
    )
    if year is None:
        form.errors["year"] = gettext("%(value)s is not a year such as 2026", value=v["year"])
    if not v["party"]:
        form.errors["party"] = gettext("Give the party's code.")
    if form.failed or year is None:
        return _index(form, 422)
    try:
        view = reviews.open_review(
            get_engine(), v["party"], v["kind"] or "annual", year, v["trigger"], current_actor()
        )
    except SaidError as exc:
        form.problem = reason_words(exc)
        return _index(form, 404 if isinstance(exc, PartnerNotFound) else 422)
    flash(gettext("Review %(id)s opened.", id=view.id), "success")
    return redirect(url_for("evaluation.review", review_id=view.id))


@bp.post("/events")
@require_roles(*OPENERS)
def events() -> ResponseReturnValue:
    try:
        opened = reviews.open_event_reviews(get_engine(), current_actor())
    except SaidError as exc:
        abort_for(exc)
    flash(
        gettext("%(count)s event reviews opened for confirmed serious alerts.", count=len(opened)),
        "success",
    )
    return redirect(url_for("evaluation.reviews", status="open"))


# ------------------------------------------------------------------ one review


def _chart(view: reviews.ReviewView) -> dict[str, Any]:
    """The bar picture's data: each indicator's points (0 without a value)."""
    return {
        "id": "review-chart",
        "kind": "bar",
        "categories": [str(INDICATOR_WORDS[ln.indicator]) for ln in view.lines],
        "series": [
            {
                "name": gettext("Points"),
                "data": [float(ln.points) if ln.points is not None else 0 for ln in view.lines],
            }
        ],
    }


def _review_page(review_id: int, status: int = 200, **forms: Any) -> ResponseReturnValue:
    try:
        view = reviews.get_review(get_engine(), review_id, current_actor())
    except SaidError as exc:
        abort_for(exc)
    return _render(
        "partners/review.html",
        status,
        r=view,
        chart=_chart(view),
        manual=reviews.MANUAL_INDICATORS,
        entry=forms.get("entry") or FormState(values={"indicator": "", "value": "", "note": ""}),
        confirm=forms.get("confirm")
        or FormState(values={"class": view.proposed_class, "reason": "", "valid_from": ""}),
    )


def _refused(review_id: int, exc: SaidError, which: str, form: FormState) -> ResponseReturnValue:
    """The review page again with the service's refusal above the form ``which``
    (``entry`` or ``confirm``): 409 for a confirmed review, 422 else; 404 for none."""
    if isinstance(exc, PartnerNotFound):
        abort_for(exc)
    form.problem = reason_words(exc)
    status = 409 if exc.message_id == "review_confirmed" else 422
    return _review_page(review_id, status, **{which: form})


@bp.get("/<id:review_id>")
@require_roles(*READERS)
def review(review_id: int) -> ResponseReturnValue:
    return _review_page(review_id)


@bp.post("/<id:review_id>/indicators")
@require_roles(*ENTERERS)
def indicator(review_id: int) -> ResponseReturnValue:
    form = FormState.read(request.form, "indicator", "value", "note")
    raw = form.values["value"]
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else None
    if value is None:
        form.errors["value"] = gettext("%(value)s is not a whole number from 0 to 100", value=raw)
        return _review_page(review_id, 422, entry=form)
    try:
        reviews.enter_indicator(
            get_engine(), review_id, form.values["indicator"], value, form.values["note"],
            current_actor(),
        )  # fmt: skip
    except SaidError as exc:
        return _refused(review_id, exc, "entry", form)
    flash(gettext("Indicator saved; the proposal is updated."), "success")
    return redirect(url_for("evaluation.review", review_id=review_id))


@bp.post("/<id:review_id>/confirm")
@require_roles(*CONFIRMERS)
def confirm(review_id: int) -> ResponseReturnValue:
    form = FormState.read(request.form, "class", "reason", "valid_from")
    v = form.values
    try:
        view = reviews.confirm_review(
            get_engine(), review_id, v["class"], v["reason"], current_actor(),
            valid_from=v["valid_from"] or None,
        )  # fmt: skip
    except SaidError as exc:
        return _refused(review_id, exc, "confirm", form)
    flash(
        gettext(
            "Class %(cls)s confirmed for %(party)s from %(day)s.",
            cls=view.confirmed_class,
            party=view.party_code,
            day=view.valid_from,
        ),
        "success",
    )
    return redirect(url_for("evaluation.review", review_id=review_id))


# ------------------------------------------------------------------ a party


@bp.get("/party/<code>")
@require_roles(*READERS)
def party(code: str) -> ResponseReturnValue:
    engine, actor = get_engine(), current_actor()
    pager = page_request()
    try:
        party_reviews, n_reviews = reviews.list_reviews(engine, actor, party_code=code, limit=20)
        scores, total = health.health_history(
            engine, actor, party_code=code, offset=pager.offset, limit=pager.size
        )
    except SaidError as exc:
        abort_for(exc)
    with Session(engine) as s:
        row = s.scalars(select(Party).where(Party.code == code)).one()
        classes = class_history(s, row.id)
        tasks = open_tasks(s, party_id=row.id)
        name = row.name
    trend = list(reversed(scores))  # oldest first for the picture
    chart = {
        "id": "health-chart",
        "kind": "line",
        "categories": [h.computed_on for h in trend],
        "series": [{"name": gettext("Health score"), "data": [h.score for h in trend]}],
        "max": 100,
    }
    return _render(
        "partners/evaluation_party.html",
        code=code,
        name=name,
        classes=classes,
        reviews=party_reviews,
        n_reviews=n_reviews,
        scores=scores,
        latest=scores[0] if scores and pager.page == 1 else None,
        pager=pager.with_total(total),
        chart=chart,
        tasks=tasks,
    )
