"""The recruitment pages (issue 12, "Recruitment pipeline"): the board
(``recruitment.board``: prospects per stage drawn and counted, ageing, conversion
and cost per signed partner per channel, trials admitted and eliminated), the
prospect list (``recruitment.prospects``, filtered and paginated), one prospect
(``recruitment.prospect``: history, screening with its weights and reasons, site
visits with photos, terms versions, the move, assign, score, visit, terms and
sign forms), acquisition costs, screening weights and trials with their decision.

Partner managers and admins act; channel managers, finance and auditors read. The
rules are in :mod:`partners.recruitment` and :mod:`partners.trials`; a refusal is
shown in the reader's language next to the form it concerns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from ledger.said import SaidError
from partners import recruitment as rc
from partners import trials
from partners.errors import PartnerNotFound
from partners.values import InvalidField
from settlement import InvalidValue, major_to_minor
from web.db import get_engine, get_session
from web.finance._common import fetch_page
from web.i18n import format_money, format_number
from web.partners import _pages as pages
from web.partners._recruit import (
    CHANNEL_WORDS,
    CRITERION_WORDS,
    KIND_WORDS,
    SOURCE_WORDS,
    STAGE_WORDS,
    TRIAL_WORDS,
    field_problems,
    said,
    word,
)
from web.roles import Role
from web.security import require_roles
from web.settlement_access import current_actor, format_ms

__all__ = ["READERS", "WRITERS", "bp"]

bp = Blueprint("recruitment", __name__, url_prefix="/partners/recruitment")

WRITERS = (Role.PARTNER_MANAGER, Role.ADMIN)
READERS = (*WRITERS, Role.CHANNEL_MANAGER, Role.FINANCE, Role.AUDITOR)

Problems = dict[str, str]


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    return (
        render_template(
            template,
            can_edit=pages.has_role(WRITERS),
            stage_words=STAGE_WORDS,
            channel_words=CHANNEL_WORDS,
            criterion_words=CRITERION_WORDS,
            kind_words=KIND_WORDS,
            trial_words=TRIAL_WORDS,
            source_words=SOURCE_WORDS,
            word=word,
            format_ms=format_ms,
            format_money=format_money,
            format_number=format_number,
            linked=_linked,
            **context,
        ),
        status,
    )


def _linked(endpoint: str, **values: Any) -> str | None:
    """The URL of another area's page, None while that page does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def _problems(exc: SaidError) -> Problems:
    """A refusal as ``{input name: words}`` (``""``: about the whole form); the
    problems of a list's items (``territories[1]``) are said under the list's input."""
    if isinstance(exc, InvalidField | rc.InvalidInput):
        found = field_problems(exc)
    elif isinstance(exc, InvalidValue):
        found = {exc.field: said(exc, labels=True)}
    else:
        return {"": said(exc)}
    merged: Problems = {}
    for name, text in found.items():
        base = name.split("[", 1)[0]
        merged[base] = f"{merged[base]} {text}" if base in merged else text
    return merged


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "").strip() for name in names}


# ------------------------------------------------------------------ board


@bp.get("/")
@require_roles(*READERS)
def board() -> ResponseReturnValue:
    engine = get_engine()
    trials.due_trials(engine)  # a trial past its end or its cap raises its task
    b = rc.board(engine, current_actor())
    labels = [gettext(STAGE_WORDS[s.stage]) for s in b.stages]
    spec = {
        "charts": [
            {
                "id": "chart-stages",
                "categories": labels,
                "series": [
                    {"name": gettext("Prospects"), "data": [s.count for s in b.stages]},
                    {"name": gettext("Past due"), "data": [s.overdue for s in b.stages]},
                ],
                "horizontal": True,
            },
            {
                "id": "chart-channels",
                "categories": [gettext(CHANNEL_WORDS[c.channel]) for c in b.channels],
                "series": [
                    {"name": gettext("Applications"), "data": [c.applications for c in b.channels]},
                    {"name": gettext("Signed"), "data": [c.signed for c in b.channels]},
                ],
            },
        ]
    }
    return _render("partners/recruitment_board.html", board=b, spec=spec)


# ------------------------------------------------------------------ prospects


def _owners() -> list[tuple[int, str]]:
    """Who may own a prospect (the service's rule: active people, no service users)."""
    return rc.owner_choices(get_session())


def _list(
    problems: Problems | None = None, values: dict[str, str] | None = None, status: int = 200
) -> ResponseReturnValue:
    stage = request.args.get("stage", "")
    channel = request.args.get("channel", "")
    q = request.args.get("q", "").strip()[:100]
    stage = stage if stage in (*rc.STAGES, "open") else ""
    channel = channel if channel in rc.CHANNELS else ""
    rows, pager = fetch_page(
        lambda offset, limit: rc.page_prospects(
            get_engine(),
            current_actor(),
            stage=stage or None,
            channel=channel or None,
            q=q or None,
            offset=offset,
            limit=limit,
        )
    )
    return _render(
        "partners/prospects.html",
        status,
        rows=rows,
        pager=pager,
        stage=stage,
        channel=channel,
        q=q,
        problems=problems or {},
        values=values or {},
        owners=_owners(),
    )


@bp.get("/prospects")
@require_roles(*READERS)
def prospects() -> ResponseReturnValue:
    return _list()


_NEW_FIELDS = (
    "company_name",
    "local_name",
    "kind",
    "country",
    "city",
    "contact_name",
    "contact_email",
    "contact_phone",
    "channel",
    "channel_detail",
    "owner_user_id",
    "due_on",
    "message",
)


@bp.post("/prospects")
@require_roles(*WRITERS)
def create() -> ResponseReturnValue:
    values = _form(*_NEW_FIELDS)
    try:
        view = rc.create_prospect(get_engine(), values, current_actor())
    except SaidError as exc:
        return _list(_problems(exc), values, 422)
    flash(gettext("Prospect %(reference)s added.", reference=view.reference), "success")
    return redirect(url_for("recruitment.prospect", prospect_id=view.id))


def _detail(prospect_id: int) -> rc.ProspectDetail:
    try:
        return rc.get_prospect(get_engine(), prospect_id, current_actor())
    except PartnerNotFound:
        abort(404)


def _prospect_page(
    prospect_id: int,
    form: str = "",
    problems: Problems | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    detail = _detail(prospect_id)
    weights_version, weights = rc.screening_weights(get_engine())
    return _render(
        "partners/prospect.html",
        status,
        d=detail,
        p=detail.prospect,
        owners=_owners(),
        form=form,
        problems=problems or {},
        values=values or {},
        weights=weights,
        weights_version=weights_version,
        missing=", ".join(word(m) for m in detail.screening.missing),
    )


@bp.get("/prospects/<id:prospect_id>")
@require_roles(*READERS)
def prospect(prospect_id: int) -> ResponseReturnValue:
    return _prospect_page(prospect_id)


def _act(
    prospect_id: int,
    form: str,
    values: dict[str, str],
    act: Callable[[], object],
    done: str,
) -> ResponseReturnValue:
    """Run one service call for the prospect's ``form``; its page again with the
    refusal next to that form (422), or a redirect to it with ``done`` said."""
    try:
        act()
    except PartnerNotFound:
        abort(404)
    except SaidError as exc:
        return _prospect_page(prospect_id, form, _problems(exc), values, 422)
    flash(done, "success")
    return redirect(url_for("recruitment.prospect", prospect_id=prospect_id))


@bp.post("/prospects/<id:prospect_id>/move")
@require_roles(*WRITERS)
def move(prospect_id: int) -> ResponseReturnValue:
    values = _form("stage", "owner_user_id", "due_on", "note")
    return _act(
        prospect_id,
        "move",
        values,
        lambda: rc.move(
            get_engine(),
            prospect_id,
            values["stage"],
            current_actor(),
            owner_user_id=values["owner_user_id"] or None,
            due_on=values["due_on"] or None,
            note=values["note"],
        ),
        gettext("Moved to %(stage)s.", stage=word(values["stage"])),
    )


@bp.post("/prospects/<id:prospect_id>/assign")
@require_roles(*WRITERS)
def assign(prospect_id: int) -> ResponseReturnValue:
    values = _form("owner_user_id", "due_on", "note")
    return _act(
        prospect_id,
        "assign",
        values,
        lambda: rc.assign(
            get_engine(),
            prospect_id,
            current_actor(),
            owner_user_id=values["owner_user_id"] or None,
            due_on=values["due_on"] or None,
            note=values["note"],
        ),
        gettext("Owner and due date saved."),
    )


@bp.post("/prospects/<id:prospect_id>/score")
@require_roles(*WRITERS)
def score(prospect_id: int) -> ResponseReturnValue:
    values = _form(*(f"score_{c}" for c in rc.CRITERIA), *(f"reason_{c}" for c in rc.CRITERIA))
    items = [
        (c, values[f"score_{c}"], values[f"reason_{c}"])
        for c in rc.CRITERIA
        if values[f"score_{c}"] or values[f"reason_{c}"]
    ]

    def act() -> object:
        return rc.score_many(get_engine(), prospect_id, items, current_actor(), prefix="criterion")

    return _act(prospect_id, "score", values, act, gettext("Scores saved."))


@bp.post("/prospects/<id:prospect_id>/visit")
@require_roles(*WRITERS)
def visit(prospect_id: int) -> ResponseReturnValue:
    values = _form("visited_on", "visitor", "report")
    photos = [
        rc.PhotoUpload(f.filename or "photo", f.mimetype or "", f.read())
        for f in request.files.getlist("photos")
        if f.filename
    ]
    return _act(
        prospect_id,
        "visit",
        values,
        lambda: rc.add_site_visit(
            get_engine(),
            prospect_id,
            values["visited_on"],
            values["visitor"],
            values["report"],
            photos,
            current_actor(),
        ),
        gettext("Site visit report saved."),
    )


@bp.post("/prospects/<id:prospect_id>/terms")
@require_roles(*WRITERS)
def terms(prospect_id: int) -> ResponseReturnValue:
    values = _form(
        "territories",
        "programs",
        "currency",
        "deposit",
        "credit_limit",
        "payment_terms_days",
        "trial_days",
        "trial_order_cap_units",
        "note",
    )

    def act() -> object:
        currency = values["currency"].upper() or _detail(prospect_id).currency
        amounts = {
            f"{name}_minor": major_to_minor(values[name], currency or None, name)
            if values[name]
            else 0
            for name in ("deposit", "credit_limit")
        }
        return rc.propose_terms(
            get_engine(),
            prospect_id,
            {
                "territories": values["territories"],
                "programs": values["programs"],
                "currency": values["currency"],
                "payment_terms_days": values["payment_terms_days"],
                "trial_days": values["trial_days"],
                "trial_order_cap_units": values["trial_order_cap_units"],
                "note": values["note"],
                **amounts,
            },
            current_actor(),
        )

    return _act(prospect_id, "terms", values, act, gettext("Terms proposed."))


@bp.post("/prospects/<id:prospect_id>/sign")
@require_roles(*WRITERS)
def sign(prospect_id: int) -> ResponseReturnValue:
    values = _form("code", "name", "parent")
    try:
        code, _, number = rc.sign(
            get_engine(),
            prospect_id,
            values["code"],
            current_actor(),
            name=values["name"],
            parent=values["parent"],
        )
    except PartnerNotFound:
        abort(404)
    except SaidError as exc:
        return _prospect_page(prospect_id, "sign", _problems(exc), values, 422)
    flash(
        gettext(
            "Signed: party %(code)s is on trial and its agreement %(number)s is drafted from"
            " the terms; it is admitted once that agreement is reviewed and signed.",
            code=code,
            number=number,
        ),
        "success",
    )
    return redirect(url_for("recruitment.prospect", prospect_id=prospect_id))


@bp.get("/prospects/<id:prospect_id>/photos/<id:photo_id>")
@require_roles(*READERS)
def photo(prospect_id: int, photo_id: int) -> ResponseReturnValue:
    try:
        _name, content_type, data = rc.get_photo(
            get_engine(), photo_id, current_actor(), prospect_id=prospect_id
        )
    except PartnerNotFound:
        abort(404)
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# ------------------------------------------------------------------ costs and weights


def _costs_page(
    problems: Problems | None = None, values: dict[str, str] | None = None, status: int = 200
) -> ResponseReturnValue:
    rows, pager = fetch_page(
        lambda offset, limit: rc.list_costs(
            get_engine(), current_actor(), offset=offset, limit=limit
        )
    )
    return _render(
        "partners/recruitment_costs.html",
        status,
        rows=rows,
        pager=pager,
        problems=problems or {},
        values=values or {},
    )


@bp.route("/costs", methods=["GET", "POST"])
@require_roles(*READERS)
def costs() -> ResponseReturnValue:
    if request.method == "GET":
        return _costs_page()
    if not pages.has_role(WRITERS):
        abort(403)
    values = _form("channel", "period", "amount", "currency", "note")
    try:
        currency = values["currency"].upper()
        amount = major_to_minor(values["amount"], currency or None, "amount", zero=False)
        rc.record_cost(
            get_engine(),
            values["channel"],
            values["period"],
            amount,
            currency,
            values["note"],
            current_actor(),
        )
    except SaidError as exc:
        return _costs_page(_problems(exc), values, 422)
    flash(gettext("Cost recorded."), "success")
    return redirect(url_for("recruitment.costs"))


@bp.route("/weights", methods=["GET", "POST"])
@require_roles(*READERS)
def weights() -> ResponseReturnValue:
    problems: Problems = {}
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not pages.has_role(WRITERS):
            abort(403)
        values = _form(*rc.CRITERIA)
        try:
            version, _ = rc.set_screening_weights(get_engine(), values, current_actor())
        except SaidError as exc:
            problems, status = _problems(exc), 422
        else:
            flash(gettext("Weights version %(version)s saved.", version=version), "success")
            return redirect(url_for("recruitment.weights"))
    version, current = rc.screening_weights(get_engine())
    return _render(
        "partners/recruitment_weights.html",
        status,
        version=version,
        current=current,
        problems=problems,
        values=values,
        criteria=rc.CRITERIA,
    )


# ------------------------------------------------------------------ trials


def _trials_page(
    problems: dict[str, Problems] | None = None, status: int = 200
) -> ResponseReturnValue:
    tab = request.args.get("status", "running")
    tab = tab if tab in TRIAL_WORDS else "running"
    engine = get_engine()
    trials.due_trials(engine)
    rows, pager = fetch_page(
        lambda offset, limit: trials.page_trials(
            engine, current_actor(), status=tab, offset=offset, limit=limit
        )
    )
    return _render(
        "partners/recruitment_trials.html",
        status,
        rows=rows,
        pager=pager,
        tab=tab,
        problems=problems or {},
    )


@bp.get("/trials")
@require_roles(*READERS)
def trials_index() -> ResponseReturnValue:
    return _trials_page()


@bp.post("/trials/<code>/decide")
@require_roles(*WRITERS)
def decide(code: str) -> ResponseReturnValue:
    values = _form("decision", "reason")
    try:
        if values["decision"] not in ("admit", "end"):
            raise InvalidField.said(
                "not_a_choice",
                "%(value)s is not one of %(choices)s",
                field="decision",
                value=repr(values["decision"]),
                choices="admit, end",
            )
        view = trials.decide_trial(
            get_engine(), code, values["decision"] == "admit", values["reason"], current_actor()
        )
    except PartnerNotFound:
        abort(404)
    except SaidError as exc:
        return _trials_page({code: _problems(exc)}, 422)
    if view.status == "admitted":
        flash(gettext("%(code)s is admitted: its status is active.", code=code), "success")
    else:
        flash(
            gettext("The trial of %(code)s is ended: its status is terminated.", code=code),
            "success",
        )
    return redirect(url_for("recruitment.trials_index"))
