"""The risk register pages (issue 13; seed 000 "风险控制策略", "风险矩阵模型").

- ``risk_register.index`` (``/risk``): the 5 x 5 heat map (likelihood x impact,
  counts in the cells, drawn with ECharts) with the same counts in a table beside
  it and the counts by band and review due; the list (filters: party, program,
  category, status, owner, review due; paginated); the form to add a risk.
- ``risk_register.risk`` (``/risk/<id>``): one risk with the form to edit it.

The rules are :mod:`risk.register`'s; these views read the form, call one service
function and show its refusal next to the field it names, in the reader's language.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, pgettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Session

from ledger.said import SaidError
from partners.errors import PartnerNotFound
from risk import register as rr
from web.credit._words import refusal_words
from web.db import get_engine
from web.finance._common import FormState
from web.paging import page_request
from web.partners import _pages as pages
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor, format_ms

__all__ = ["BAND_WORDS", "CATEGORY_WORDS", "RISK_STATUS_WORDS", "bp"]

bp = Blueprint("risk_register", __name__, url_prefix="/risk")

READERS = tuple(Role(r) for r in rr.READERS)
WRITERS = tuple(Role(r) for r in rr.WRITERS)
CATEGORY_WORDS = {
    # "Credit" alone is also the ledger's credit side (贷方): here credit standing (信用)
    "credit": LazyString(lambda: pgettext("credit standing", "Credit")),
    "market": _l("Market"),
    "cooperation": _l("Cooperation"),
    "brand": _l("Brand"),
}
RISK_STATUS_WORDS = {
    "open": _l("open"),
    "mitigating": _l("mitigating"),
    "accepted": _l("accepted"),
    "closed": _l("closed"),
}
BAND_WORDS = {
    "low": _l("low"),
    "medium": _l("medium"),
    "high": _l("high"),
    "critical": _l("critical"),
}
_FIELDS = (
    "party", "program", "category", "title", "description", "likelihood", "impact",
    "owner", "response_plan", "status", "review_on",
)  # fmt: skip
_FILTERS = ("party", "program", "category", "status", "owner", "due")


#: The form's labels by field key (a refusal names its field with these words).
FIELD_LABELS: dict[str, object] = {
    "party": _l("Party code"),
    "program": _l("Program code"),
    "category": _l("Category"),
    "title": LazyString(lambda: pgettext("risk", "Title")),
    "description": _l("Description"),
    "likelihood": _l("Likelihood (1-5)"),
    "impact": _l("Impact (1-5)"),
    "owner": _l("Owner"),
    "response_plan": _l("Response plan"),
    "status": _l("Status"),
    "review_on": _l("Next review"),
}


def _keep(form: FormState, exc: SaidError) -> None:
    named = exc.values.get("field", "")
    if named in _FIELDS:
        form.errors[named] = refusal_words(exc, FIELD_LABELS)
    else:
        form.problem = refusal_words(exc, FIELD_LABELS)


def _filters(args: dict[str, str]) -> rr.RiskFilters:
    with Session(get_engine()) as s:
        try:
            party_id = rr.party_filter(s, args["party"] or None)
        except SaidError as exc:
            abort_for(exc)
    return rr.RiskFilters(
        party_id=party_id,
        program=args["program"] or None,
        category=args["category"] if args["category"] in rr.CATEGORIES else None,
        status=args["status"] if args["status"] in (*rr.STATUSES, "all") else None,
        owner=args["owner"] or None,
        review_due=args["due"] == "1",
        on=pages.today(),
    )


#: The colour of each band on the heat map (green, yellow, orange, red).
BAND_COLOURS = {"low": "#8fd19e", "medium": "#ffe08a", "high": "#f5a55a", "critical": "#d9534f"}


def _chart(heat: rr.HeatMap) -> dict[str, Any]:
    """What the ECharts heat map draws: per cell ``[impact - 1, likelihood - 1, count,
    score]``, the axes' words and the bands with their colours."""
    data = [
        [impact - 1, likelihood - 1, heat.cells[likelihood - 1][impact - 1], likelihood * impact]
        for likelihood in range(1, 6)
        for impact in range(1, 6)
    ]
    return {
        "id": "risk-heat-map",
        "x": [str(i) for i in range(1, 6)],
        "y": [str(i) for i in range(1, 6)],
        "x_name": str(gettext("Impact")),
        "y_name": str(gettext("Likelihood")),
        "data": data,
        "bands": [
            {"low": low, "high": high, "color": BAND_COLOURS[name], "label": str(BAND_WORDS[name])}
            for name, low, high in rr.BANDS
        ],
    }


def _index(form: FormState, status: int = 200) -> ResponseReturnValue:
    engine, actor = get_engine(), current_actor()
    args = {n: request.args.get(n, "").strip() for n in _FILTERS}
    filters = _filters(args)
    pager = page_request()
    try:
        rows, total = rr.list_risks(engine, actor, filters, offset=pager.offset, limit=pager.size)
    except SaidError as exc:
        abort_for(exc)
    with Session(engine) as s:
        heat = rr.heat_map(s, filters)
        owners = rr.owner_choices(s)
    return (
        render_template(
            "credit/register/index.html",
            rows=rows,
            pager=pager.with_total(total),
            heat=heat,
            chart=_chart(heat),
            args=args,
            form=form,
            owners=owners,
            **_words(),
        ),
        status,
    )


def _words() -> dict[str, Any]:
    return {
        "can_write": pages.role() in rr.WRITERS,
        "categories": rr.CATEGORIES,
        "statuses": rr.STATUSES,
        "bands": rr.BANDS,
        "category_words": CATEGORY_WORDS,
        "status_words": RISK_STATUS_WORDS,
        "band_words": BAND_WORDS,
        "format_ms": format_ms,
        "linked": pages.linked,
    }


@bp.get("/", endpoint="index")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    form = FormState.read(request.args, *_FIELDS)
    form.values["category"] = form.values["category"] or "credit"
    form.values["status"] = "open"
    form.values["likelihood"] = form.values["likelihood"] or "3"
    form.values["impact"] = form.values["impact"] or "3"
    return _index(form)


@bp.post("/")
@require_roles(*WRITERS)
def add() -> ResponseReturnValue:
    form = FormState.read(request.form, *_FIELDS)
    try:
        view = rr.add_risk(get_engine(), current_actor(), form.values, on=pages.today())
    except SaidError as exc:
        _keep(form, exc)
        return _index(form, 422)
    flash(gettext("Risk %(id)s added to the register.", id=view.id), "success")
    return redirect(url_for("risk_register.risk", risk_id=view.id))


def _risk_page(risk_id: int, form: FormState | None, status: int = 200) -> ResponseReturnValue:
    try:
        view = rr.get_risk(get_engine(), risk_id, current_actor(), on=pages.today())
    except SaidError as exc:
        abort_for(exc)
    if form is None:
        form = FormState(
            values={
                "party": view.party_code or "", "program": view.program_code or "",
                "category": view.category, "title": view.title,
                "description": view.description, "likelihood": str(view.likelihood),
                "impact": str(view.impact), "owner": view.owner,
                "response_plan": view.response_plan, "status": view.status,
                "review_on": view.review_on,
            }
        )  # fmt: skip
    with Session(get_engine()) as s:
        owners = rr.owner_choices(s)
    return (
        render_template("credit/register/risk.html", r=view, form=form, owners=owners, **_words()),
        status,
    )


@bp.get("/<id:risk_id>", endpoint="risk")
@require_roles(*READERS)
def risk_page(risk_id: int) -> ResponseReturnValue:
    return _risk_page(risk_id, None)


@bp.post("/<id:risk_id>/edit")
@require_roles(*WRITERS)
def edit(risk_id: int) -> ResponseReturnValue:
    form = FormState.read(request.form, *_FIELDS)
    try:
        rr.update_risk(get_engine(), risk_id, current_actor(), form.values, on=pages.today())
    except SaidError as exc:
        if isinstance(exc, PartnerNotFound):
            abort_for(exc)
        _keep(form, exc)
        return _risk_page(risk_id, form, 422)
    flash(gettext("Risk %(id)s saved.", id=risk_id), "success")
    return redirect(url_for("risk_register.risk", risk_id=risk_id))
