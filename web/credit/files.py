"""Credit pages (issue 13, area A): the board of every distributor, a party's credit
file, the rating model and the limit table.

- ``credit.index`` (``/credit/``): every distributor (paginated, search by code or
  name) with grade, score, risk level, cash only, limit, exposure, utilisation and
  most days overdue; a bar picture of utilisation beside the numbers.
- ``credit.party`` (``/credit/parties/<code>``): investigations with their sources
  and documents (upload for finance), "rate now", the latest rating with every
  factor's input, score, weight and points, the rating history, the limit in force
  with its history and the override form (finance, reason required), the latest
  assessment with its forms (web/credit/assess.py), the exposure and open items.
- ``credit.model``: the weights in force with each factor's bands, the versions,
  and the form saving a new version (finance, admin).
- ``credit.limit_table``: the table in force as an editable grid (finance, admin)
  and its versions.

Readers: finance, channel managers, partner managers, auditors, admins (a
distributor gets 403; its own credit is area B's ``credit_items.mine``). The rules
are :mod:`risk.credit_files`', :mod:`risk.rating`'s and :mod:`risk.limits`';
these views read the form, call one service function and show its refusal beside
the field it names, in the reader's language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ledger.models import Party
from ledger.said import SaidError
from risk import credit_files, limits, rating
from risk.assessment import assessment_in_force
from risk.credit_files import CreditInputInvalid
from risk.exposure import exposure_in
from settlement.reference_values import major_to_minor, minor_to_major
from web.credit._words import limit_reason_words, refusal_words
from web.credit.assess import LEVEL_WORDS
from web.db import get_engine
from web.finance._common import FormState
from web.paging import page_request
from web.partners import _pages as pages
from web.reasons import reason_words
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor

__all__ = ["BAND_WORDS", "FACTOR_WORDS", "bp"]

bp = Blueprint("credit", __name__, url_prefix="/credit")

READERS = tuple(Role(r) for r in credit_files.CREDIT_READERS)
WRITERS = tuple(Role(r) for r in credit_files.CREDIT_WRITERS)
OVERRIDERS = tuple(Role(r) for r in limits.OVERRIDERS)

FACTOR_WORDS = {
    "registration": _l("Company register"),
    "bank_reference": _l("Bank reference"),
    "trade_references": _l("Trade references"),
    "insurer_grade": _l("Credit insurer's grade"),
    "current_ratio": _l("Current ratio"),
    "equity_ratio": _l("Equity ratio (equity / revenue)"),
    "days_payable": _l("Days payable outstanding"),
    "payment_history": _l("Payment history (most days overdue)"),
}
#: Each factor's bands, as risk/rating.py scores them.
BAND_WORDS = {
    "registration": _l("verified active: 100; otherwise 0"),
    "bank_reference": _l("good 100, fair 60, poor 20, none 0"),
    "trade_references": _l("good × 34 − bad × 50, kept within 0–100"),
    "insurer_grade": _l("grade 0–10 × 10; not rated 40"),
    "current_ratio": _l("≥ 2.0: 100; ≥ 1.5: 80; ≥ 1.2: 60; ≥ 1.0: 40; below: 10; unknown: 0"),
    "equity_ratio": _l("≥ 0.30: 100; ≥ 0.20: 75; ≥ 0.10: 50; above 0: 25; 0 or less, unknown: 0"),
    "days_payable": _l("≤ 30: 100; ≤ 45: 80; ≤ 60: 60; ≤ 90: 30; more or unknown: 0"),
    "payment_history": _l("0 days: 100; ≤ 30: 60; ≤ 60: 30; ≤ 90: 10; more: 0"),
}
BANK_WORDS = {"good": _l("good"), "fair": _l("fair"), "poor": _l("poor"), "none": _l("none")}
SOURCE_WORDS = {"rating": _l("rating"), "override": _l("override"), "risk": _l("risk matrix")}
AGING_WORDS = {
    "current": _l("not yet due"),
    "1-30": _l("1-30 days overdue"),
    "31-60": _l("31-60 days overdue"),
    "61-90": _l("61-90 days overdue"),
    "90+": _l("more than 90 days overdue"),
}
_INV_FIELDS = credit_files.INVESTIGATION_FIELDS
#: The labels of the forms' fields (as the templates show them), by key: a refusal
#: names its field with these words, never with the key.
FIELD_LABELS: dict[str, object] = {
    "investigated_on": _l("Day"),
    "registration": _l("Company register entry"),
    "registration_verified": _l("Found active in the register"),
    "bank_reference": _l("Bank reference"),
    "trade_references_good": _l("Good trade references"),
    "trade_references_bad": _l("Bad trade references"),
    "insurer": _l("Credit insurer"),
    "insurer_grade": _l("Insurer grade (0-10, empty: not rated)"),
    "statement_year": _l("Statements year"),
    "currency": _l("Currency"),
    "revenue": _l("Revenue"),
    "equity": _l("Equity"),
    "current_ratio": _l("Current ratio"),
    "days_payable": _l("Days payable"),
    "notes": _l("Notes"),
    "note": _l("Note"),
    "limit": _l("Limit"),
    "payment_days": _l("Payment days"),
    "reason": _l("Reason"),
    "medium_factor": _l("Medium risk factor (0 < f ≤ 1)"),
}
_LIMIT_FIELDS = ("limit", "payment_days", "reason")


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _major(amount_minor: int | None, currency: str) -> str:
    return "" if amount_minor is None else minor_to_major(amount_minor, currency)


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    role = pages.role()
    return (
        render_template(
            template,
            can_write=role in credit_files.CREDIT_WRITERS,
            can_override=role in limits.OVERRIDERS,
            factor_words=FACTOR_WORDS,
            band_words=BAND_WORDS,
            bank_words=BANK_WORDS,
            source_words=SOURCE_WORDS,
            level_words=LEVEL_WORDS,
            aging_words=AGING_WORDS,
            factors=rating.FACTORS,
            grades=limits.GRADES,
            linked=pages.linked,
            major=_major,
            limit_reason_words=limit_reason_words,
            **context,
        ),
        status,
    )


def _labels() -> dict[str, object]:
    """Every form field's label by key: the investigation's, the limit's, the rating
    model's factors, the limit table's cells (``AAA.limit``)."""
    cells: dict[str, object] = {}
    for g in limits.GRADES:
        cells[f"{g}.limit"] = gettext("Credit limit of %(grade)s", grade=g)
        cells[f"{g}.payment_days"] = gettext("Payment days of %(grade)s", grade=g)
    return {**FIELD_LABELS, **FACTOR_WORDS, **cells}


def _take_problems(form: FormState, exc: SaidError) -> None:
    """Each bad field's reason beside its input (in the reader's language, the field
    named by its label); any other refusal above the form."""
    labels = _labels()
    if isinstance(exc, CreditInputInvalid):
        for p in exc.problems:
            if p.field in form.values:
                form.errors[p.field] = refusal_words(p, labels)
            else:
                said = refusal_words(p, labels)
                form.problem = (form.problem + " " if form.problem else "") + said
    else:
        form.problem = refusal_words(exc, labels)


# ------------------------------------------------------------------ the board


@bp.get("/", endpoint="index")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    search = request.args.get("q", "").strip()[:64]
    pager = page_request()
    with Session(get_engine()) as s:
        rows, total = rating.credit_board(s, search=search, offset=pager.offset, limit=pager.size)
    chart = {
        "id": "credit-board-chart",
        "kind": "bar",
        "categories": [r.code for r in rows if r.utilisation_permille is not None],
        "series": [
            {
                "name": gettext("Utilisation %"),
                "data": [
                    r.utilisation_permille / 10 for r in rows if r.utilisation_permille is not None
                ],
            }
        ],
    }
    return _render(
        "credit/files/index.html",
        rows=rows,
        pager=pager.with_total(total),
        search=search,
        chart=chart,
        exposure_known=any(r.exposure_minor is not None for r in rows)
        or pages.linked("credit_items.index"),
    )


# ------------------------------------------------------------------ a party


def _party_or_404(s: Session, code: str) -> Party:
    try:
        return credit_files.party_by_code(s, code)
    except SaidError as exc:
        abort_for(exc)


def _party_page(code: str, status: int = 200, **forms: FormState) -> ResponseReturnValue:
    today = _today()
    with Session(get_engine()) as s:
        party = _party_or_404(s, code)
        investigations = credit_files.investigations_of(s, party.id)
        latest = rating.latest_rating(s, party.id)
        ratings = rating.rating_history(s, party.id)
        limit = limits.limit_in_force(s, party.id)
        history = limits.limit_history(s, party.id)
        assessment = assessment_in_force(s, party.id)
        exposure = exposure_in(s, party.id, today)
        name, currency = party.name, party.currency
    role = pages.role()
    inv_form = forms.get("investigation") or FormState(
        values={n: "" for n in _INV_FIELDS} | {"investigated_on": today.isoformat()}
    )
    limit_form = forms.get("limit") or FormState(values={n: "" for n in _LIMIT_FIELDS})
    return _render(
        "credit/files/party.html",
        status,
        code=code,
        name=name,
        currency=currency,
        investigations=investigations,
        latest=latest,
        ratings=ratings,
        limit=limit,
        history=history,
        assessment=assessment,
        exposure=exposure,
        inv_form=inv_form,
        limit_form=limit_form,
        upload_problem=forms.get("upload", FormState()).problem,
        can_assess=role in ("finance", "channel_manager", "admin"),
        can_set_level=role in ("finance", "admin"),
    )


@bp.get("/parties/<code>")
@require_roles(*READERS)
def party(code: str) -> ResponseReturnValue:
    return _party_page(code)


def _party_id(code: str) -> int:
    with Session(get_engine()) as s:
        return _party_or_404(s, code).id


@bp.post("/parties/<code>/investigations")
@require_roles(*WRITERS)
def investigate(code: str) -> ResponseReturnValue:
    pid = _party_id(code)
    form = FormState.read(request.form, *_INV_FIELDS)
    form.values["registration_verified"] = (
        "yes" if request.form.get("registration_verified") else ""
    )
    values: dict[str, str | int | None] = dict(form.values)
    try:
        credit_files.record_investigation(get_engine(), pid, values, current_actor())
    except SaidError as exc:
        _take_problems(form, exc)
        return _party_page(code, 422, investigation=form)
    flash(gettext("Investigation recorded. Rate the party to use it."), "success")
    return redirect(url_for("credit.party", code=code))


@bp.post("/parties/<code>/investigations/<id:investigation_id>/documents")
@require_roles(*WRITERS)
def upload(code: str, investigation_id: int) -> ResponseReturnValue:
    _party_id(code)
    file = request.files.get("document")
    form = FormState()
    if file is None or not file.filename:
        form.problem = gettext("Choose a file to attach.")
        return _party_page(code, 422, upload=form)
    data = file.read(credit_files.MAX_DOCUMENT_BYTES + 1)
    try:
        credit_files.attach_document(
            get_engine(), investigation_id, file.filename, file.mimetype or "", data,
            current_actor(),
        )  # fmt: skip
    except SaidError as exc:
        if exc.message_id == "no_credit_investigation":
            abort_for(exc)
        form.problem = reason_words(exc)
        return _party_page(code, 422, upload=form)
    flash(gettext("Document %(name)s attached.", name=file.filename), "success")
    return redirect(url_for("credit.party", code=code))


@bp.get("/documents/<id:document_id>")
@require_roles(*READERS)
def document(document_id: int) -> ResponseReturnValue:
    try:
        view, _owner, data = credit_files.document_data(get_engine(), document_id, current_actor())
    except SaidError as exc:
        abort_for(exc)
    answer = Response(data, mimetype=view.content_type)
    answer.headers.set("Content-Disposition", "attachment", filename=view.filename)
    answer.headers["X-Content-Type-Options"] = "nosniff"
    return answer


@bp.post("/parties/<code>/rate")
@require_roles(*WRITERS)
def rate(code: str) -> ResponseReturnValue:
    pid = _party_id(code)
    try:
        view = rating.rate_party(get_engine(), pid, current_actor())
    except SaidError as exc:
        abort_for(exc)
    flash(
        gettext("Rated %(score)s of 100: grade %(grade)s.", score=view.score, grade=view.grade),
        "success",
    )
    return redirect(url_for("credit.party", code=code))


@bp.post("/parties/<code>/limit")
@require_roles(*OVERRIDERS)
def override(code: str) -> ResponseReturnValue:
    form = FormState.read(request.form, *_LIMIT_FIELDS)
    with Session(get_engine()) as s:
        party = _party_or_404(s, code)
        pid, currency = party.id, party.currency
    v = form.values
    minor = None
    try:
        minor = major_to_minor(v["limit"], currency, "limit")
    except SaidError as exc:
        form.errors["limit"] = refusal_words(exc, _labels())
    raw = v["payment_days"]
    days = int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= 365 else None
    if days is None:
        form.errors["payment_days"] = gettext(
            "%(value)s is not a whole number from 0 to 365", value=raw or "—"
        )
    if not v["reason"]:
        form.errors["reason"] = gettext("Say why the limit is overridden.")
    if form.failed or minor is None or days is None:
        return _party_page(code, 422, limit=form)
    try:
        limits.override_limit(get_engine(), pid, minor, days, v["reason"], current_actor())
    except SaidError as exc:
        form.problem = refusal_words(exc, _labels())
        return _party_page(code, 422, limit=form)
    flash(gettext("The limit is overridden."), "success")
    return redirect(url_for("credit.party", code=code))


@bp.post("/parties/<code>/limit/remove")
@require_roles(*OVERRIDERS)
def remove_override(code: str) -> ResponseReturnValue:
    pid = _party_id(code)
    try:
        limits.remove_override(get_engine(), pid, current_actor())
    except SaidError as exc:
        abort_for(exc)
    flash(gettext("The override ended; the table's limit is in force."), "success")
    return redirect(url_for("credit.party", code=code))


# ------------------------------------------------------------------ the model


def _model_page(form: FormState | None = None, status: int = 200) -> ResponseReturnValue:
    with Session(get_engine()) as s:
        versions = rating.weights_versions(s)
    now = versions[0]
    form = form or FormState(values={f: str(now.weights[f]) for f in rating.FACTORS} | {"note": ""})
    return _render(
        "credit/files/model.html", status, now=now, versions=versions, form=form,
        floors=rating.GRADE_FLOORS,
    )  # fmt: skip


@bp.get("/model")
@require_roles(*READERS)
def model() -> ResponseReturnValue:
    return _model_page()


@bp.post("/model")
@require_roles(*WRITERS)
def model_save() -> ResponseReturnValue:
    form = FormState.read(request.form, *rating.FACTORS, "note")
    weights = {f: form.values[f] for f in rating.FACTORS}
    try:
        view = rating.set_weights(get_engine(), weights, form.values["note"], current_actor())
    except SaidError as exc:
        _take_problems(form, exc)
        return _model_page(form, 422)
    flash(gettext("Weights version %(version)s saved.", version=view.version), "success")
    return redirect(url_for("credit.model"))


# ------------------------------------------------------------------ the limit table


def _cells() -> list[str]:
    return [f"{g}.{c}" for g in limits.GRADES for c in ("limit", "payment_days")]


def _table_page(form: FormState | None = None, status: int = 200) -> ResponseReturnValue:
    with Session(get_engine()) as s:
        versions = limits.table_versions(s)
    now = versions[0]
    if form is None:
        values = {"currency": now.currency, "medium_factor": str(now.medium_factor), "note": ""}
        for g, (lim, days) in now.rows.items():
            values[f"{g}.limit"] = minor_to_major(lim, now.currency)
            values[f"{g}.payment_days"] = str(days)
        form = FormState(values=values)
    return _render("credit/files/limit_table.html", status, now=now, versions=versions, form=form)


@bp.get("/limit-table")
@require_roles(*READERS)
def limit_table() -> ResponseReturnValue:
    return _table_page()


@bp.post("/limit-table")
@require_roles(*WRITERS)
def limit_table_save() -> ResponseReturnValue:
    form = FormState.read(request.form, "currency", "medium_factor", "note", *_cells())
    v = form.values
    rows = {
        g: {"limit": v[f"{g}.limit"], "payment_days": v[f"{g}.payment_days"]} for g in limits.GRADES
    }
    try:
        view = limits.set_table(
            get_engine(), v["currency"], rows, v["medium_factor"], v["note"], current_actor()
        )
    except SaidError as exc:
        _take_problems(form, exc)
        return _table_page(form, 422)
    flash(gettext("Limit table version %(version)s saved.", version=view.version), "success")
    return redirect(url_for("credit.limit_table"))
