"""The credit-rating accuracy page (issue 13; seed 000's KPI "信用评级准确率 >= 95%"):
ratings given vs what happened afterwards, the rule in :mod:`risk.accuracy`.

``/credit/accuracy/`` (``credit_accuracy.index``): the horizon chooser, the
accuracy rate beside the 95 % target, the grade x outcome table with each grade's
bad rate and a bar picture of the bad rates (the numbers are in the table beside
it), and the wrong ratings with why, paginated. Readers: finance, channel
managers, partner managers, auditors and admins.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ledger.said import SaidError
from risk import accuracy as acc
from web.db import get_engine
from web.paging import page_request
from web.partners import _pages as pages
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor

__all__ = ["HORIZONS", "bp"]

bp = Blueprint("credit_accuracy", __name__, url_prefix="/credit/accuracy")

READERS = tuple(Role(r) for r in acc.READERS)
#: The horizons offered (days); the API and the CLI take any from 30 to 1825.
HORIZONS = (90, 180, 365, 730)
OUTCOME_WORDS = {"good": _l("Good"), "bad": _l("Bad"), "pending": _l("Pending")}


def why_words(o: acc.RatingOutcome) -> str:
    """Why a rating's outcome was what it was, in the reader's language."""
    j = o.why
    day = j.day.isoformat() if j.day else ""
    if j.reason == "overdue":
        return str(
            gettext(
                "%(item)s was %(days)s days past due and unpaid on %(day)s",
                item=j.item,
                days=j.days,
                day=day,
            )
        )
    if j.reason == "written_off":
        return str(gettext("%(item)s was written off on %(day)s", item=j.item, day=day))
    return str(gettext("Nothing 90+ days overdue or written off up to %(day)s", day=day))


def _chart(report: acc.AccuracyReport) -> dict[str, Any]:
    """The bar picture: each grade's bad rate in per cent (0 where nothing rated)."""
    return {
        "id": "accuracy-chart",
        "kind": "bar",
        "max": 100,
        "categories": [g.grade for g in report.grades],
        "series": [
            {
                "name": gettext("Bad rate (%)"),
                "data": [
                    float(g.bad_rate_percent) if g.bad_rate_percent is not None else 0
                    for g in report.grades
                ],
            }
        ],
    }


@bp.get("/", endpoint="index")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    raw = request.args.get("horizon_days", "").strip()
    horizon, problem = acc.DEFAULT_HORIZON_DAYS, ""
    if raw:
        wanted = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 5 else None
        if wanted is not None and acc.MIN_HORIZON_DAYS <= wanted <= acc.MAX_HORIZON_DAYS:
            horizon = wanted
        else:
            problem = gettext(
                "Horizon: %(value)s is not a whole number of days from %(low)s to %(high)s.",
                value=raw,
                low=acc.MIN_HORIZON_DAYS,
                high=acc.MAX_HORIZON_DAYS,
            )
    on = pages.today()
    try:
        report = acc.accuracy(get_engine(), current_actor(), horizon_days=horizon, on=on)
    except SaidError as exc:
        abort_for(exc)
    wrong = report.wrong
    pager = page_request().with_total(len(wrong))
    return render_template(
        "credit/accuracy/index.html",
        report=report,
        wrong=wrong[pager.offset : pager.offset + pager.size],
        pager=pager,
        horizon=horizon,
        horizons=sorted({*HORIZONS, horizon}),
        problem=problem,
        chart=_chart(report),
        outcome_words=OUTCOME_WORDS,
        why_words=why_words,
        investment=acc.INVESTMENT_GRADES,
        linked_party=pages.linked("credit.party"),
        on=on,
    )
