"""Exit pages (issue 12, "Exit"): the list of exits with their status and the form
that starts one, and a party's exit as a checklist (what is done, what is
missing), the units still in its custody (paginated, read from the ledger), the
handover and customer forms, the final settlement (finance), completion and
cancellation, and the party's history.

The rules are :mod:`partners.exits`' and :mod:`settlement.exit_settlement`'s;
these views read the form, call one service function and show its refusal in the
reader's language next to the field it names or above the form.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ledger.said import SaidError
from partners import exits as ex
from partners.errors import PartnerError, PartnerNotFound
from partners.values import InvalidField
from settlement import exit_settlement as xs
from web.db import get_engine
from web.finance._common import FormState
from web.i18n import format_money
from web.paging import page_request
from web.partners import _pages as pages
from web.reasons import reason_words
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor, format_ms

__all__ = ["ACTION_WORDS", "REASON_WORDS", "STATUS_WORDS", "STEP_WORDS", "bp"]

bp = Blueprint("exits", __name__, url_prefix="/partners/exits")

READERS = tuple(Role(r) for r in ex.EXIT_READERS)
MANAGERS = tuple(Role(r) for r in ex.EXIT_MANAGERS)
SETTLERS = tuple(Role(r) for r in ex.SETTLERS)

REASON_WORDS = {
    "under_target": _l("Two consecutive quarters under target"),
    "serious_diversion": _l("Confirmed serious diversion"),
    "agreement_terminated": _l("Agreement terminated"),
    "strategy_change": _l("Change of strategy"),
}
STATUS_WORDS = {
    "buffer": _l("In its buffer period"),
    "settled": _l("Settled"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}
STEP_WORDS = {
    "started": _l("Exit started"),
    "buffer": _l("Buffer period over"),
    "custody": _l("Every unit still in custody has a handover plan"),
    "settlement": _l("Final settlement run and deposit"),
    "completed": _l("Agreements terminated, grants ended, party terminated"),
}
ACTION_WORDS = {
    "return": _l("return to the manufacturer"),
    "handover": _l("hand over to another party"),
}
STATE_WORDS = {"in_stock": _l("in its stock"), "in_transit": _l("on its way to it")}
_START_FIELDS = (
    "party",
    "reason",
    "note",
    "buffer_days",
    "started_on",
    "alert",
    "quarters",
    "agreement",
)
#: Form inputs named by an :class:`InvalidField` ``field`` that differs from them.
_FIELD_INPUTS = {
    "evidence.alert": "alert",
    "evidence.quarters": "quarters",
    "evidence.quarters[0]": "quarters",
    "evidence.quarters[1]": "quarters",
    "to_party": "to_party",
}


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    role = pages.role()
    return (
        render_template(
            template,
            can_manage=role in ex.EXIT_MANAGERS,
            can_settle=role in ex.SETTLERS,
            reason_words=REASON_WORDS,
            status_words=STATUS_WORDS,
            step_words=STEP_WORDS,
            action_words=ACTION_WORDS,
            state_words=STATE_WORDS,
            money=format_money,
            format_ms=format_ms,
            today=pages.today().isoformat(),
            linked=pages.linked,
            **context,
        ),
        status,
    )


def _keep(form: FormState, exc: SaidError) -> None:
    """The service's refusal next to the input it names, else above the form."""
    if isinstance(exc, InvalidField):
        name = _FIELD_INPUTS.get(exc.field, exc.field.split("[", 1)[0])
        if name in form.values:
            form.errors[name] = reason_words(exc)
            return
    form.problem = reason_words(exc)


# ------------------------------------------------------------------ list and start


def _index(start: FormState, status: int = 200) -> ResponseReturnValue:
    wanted = request.args.get("status", "").strip()
    chosen = wanted if wanted in STATUS_WORDS else None
    pager = page_request()
    try:
        rows, total = ex.page_exits(
            get_engine(), current_actor(), status=chosen, offset=pager.offset, limit=pager.size
        )
    except PartnerError as exc:
        abort_for(exc)
    return _render(
        "partners/exits.html",
        status,
        rows=rows,
        pager=pager.with_total(total),
        chosen=chosen or "",
        start=start,
        reasons=ex.REASONS,
    )


@bp.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    form = FormState.read(request.args, *_START_FIELDS)
    form.values["started_on"] = form.values["started_on"] or pages.today().isoformat()
    return _index(form)


def _evidence(v: dict[str, str]) -> dict[str, Any]:
    reason = v["reason"]
    if reason == "serious_diversion":
        return {"alert": v["alert"]}
    if reason == "under_target":
        return {"quarters": v["quarters"]}
    if reason == "agreement_terminated" and v["agreement"]:
        return {"agreement": v["agreement"]}
    return {}


@bp.post("/")
@require_roles(*MANAGERS)
def start() -> ResponseReturnValue:
    form = FormState.read(request.form, *_START_FIELDS)
    v = form.values
    days: int | None = None
    if v["buffer_days"]:
        if v["buffer_days"].isascii() and v["buffer_days"].isdigit() and len(v["buffer_days"]) <= 4:
            days = int(v["buffer_days"])
        else:
            form.errors["buffer_days"] = gettext(
                "%(value)s is not a number of days (0 or more)", value=v["buffer_days"]
            )
    if not v["party"]:
        form.errors["party"] = gettext("Give the party's code.")
    if form.failed:
        return _index(form, 422)
    try:
        view = xs.start_exit(
            get_engine(), v["party"], v["reason"], current_actor(), note=v["note"],
            buffer_days=days, started_on=v["started_on"] or None, evidence=_evidence(v),
        )  # fmt: skip
    except SaidError as exc:
        if isinstance(exc, PartnerNotFound):
            form.errors["party"] = reason_words(exc)
        else:
            _keep(form, exc)
        return _index(form, 422)
    flash(
        gettext(
            "Exit of %(party)s started; its buffer runs until %(day)s.",
            party=view.party_code,
            day=view.buffer_ends_on,
        ),
        "success",
    )
    return redirect(url_for("exits.party", code=view.party_code))


# ------------------------------------------------------------------ a party's exit


def _party_page(code: str, status: int = 200, **forms: FormState) -> ResponseReturnValue:
    engine, actor = get_engine(), current_actor()
    try:
        view = ex.latest_exit(engine, code, actor)
    except PartnerError as exc:
        abort_for(exc)
    context: dict[str, Any] = {"code": code, "view": view}
    if view is not None:
        pager = page_request()
        try:
            units, total = ex.custody(engine, view.id, actor, offset=pager.offset, limit=pager.size)
            steps = ex.exit_steps(engine, view.id, actor)
            done = ex.handovers(engine, view.id, actor)
            trail = ex.exit_history(engine, view.id, actor)[:50]
        except PartnerError as exc:
            abort_for(exc)
        context.update(
            units=units,
            pager=pager.with_total(total),
            steps=steps,
            plans=[h for h in done if h.kind == "unit"],
            customers=[h for h in done if h.kind == "customer"],
            trail=trail,
        )
    period = pages.today().isoformat()[:7]
    defaults = {
        "handover": FormState(values={"action": "return"}),
        "customer": FormState(),
        "settle": FormState(values={"period": period}),
        "complete": FormState(values={"completed_on": pages.today().isoformat()}),
        "cancel": FormState(),
    }
    defaults.update(forms)
    start = FormState(values={"party": code, "started_on": pages.today().isoformat()})
    return _render(
        "partners/exit.html", status, start=start, reasons=ex.REASONS, **defaults, **context
    )


@bp.get("/party/<code>")
@require_roles(*READERS)
def party(code: str) -> ResponseReturnValue:
    return _party_page(code)


def _exit_code(exit_id: int) -> str:
    try:
        return ex.get_exit(get_engine(), exit_id, current_actor()).party_code
    except PartnerError as exc:
        abort_for(exc)


def _submit(exit_id: int, which: str, form: FormState, work: Any, done: str) -> ResponseReturnValue:
    code = _exit_code(exit_id)
    if not form.failed:
        try:
            work()
        except SaidError as exc:
            _keep(form, exc)
        else:
            flash(done, "success")
            return redirect(url_for("exits.party", code=code))
    return _party_page(code, 422, **{which: form})


@bp.post("/<id:exit_id>/handovers")
@require_roles(*MANAGERS)
def handover(exit_id: int) -> ResponseReturnValue:
    form = FormState.read(request.form, "units", "all", "action", "to_party", "note")
    v = form.values
    keys = [k for k in v["units"].split() if k]
    if not keys and v["all"] != "1":
        form.errors["units"] = gettext("Give unit keys, one a line, or choose every unit.")
    engine, actor = get_engine(), current_actor()
    return _submit(
        exit_id,
        "handover",
        form,
        lambda: ex.record_handover(
            engine,
            exit_id,
            actor,
            units=None if v["all"] == "1" else keys,
            action=v["action"],
            to_party_code=v["to_party"] or None,
            note=v["note"],
        ),
        gettext("Handover plan saved."),
    )


@bp.post("/<id:exit_id>/customers")
@require_roles(*MANAGERS)
def customers(exit_id: int) -> ResponseReturnValue:
    form = FormState.read(request.form, "customers", "to_party", "note")
    v = form.values
    names = [line.strip() for line in v["customers"].splitlines() if line.strip()]
    engine, actor = get_engine(), current_actor()
    return _submit(
        exit_id,
        "customer",
        form,
        lambda: ex.record_customers(
            engine, exit_id, actor, customers=names, to_party_code=v["to_party"], note=v["note"]
        ),
        gettext("Customers handed over recorded."),
    )


@bp.post("/<id:exit_id>/settle")
@require_roles(*SETTLERS)
def settle(exit_id: int) -> ResponseReturnValue:
    form = FormState.read(request.form, "period")
    engine, actor = get_engine(), current_actor()
    code = _exit_code(exit_id)
    try:
        result = xs.final_settlement(engine, exit_id, form.values["period"], actor)
    except SaidError as exc:
        _keep(form, exc)
        return _party_page(code, 422, settle=form)
    if result.settled:
        flash(
            gettext(
                "Settled by run %(run)s: %(refunded)s of the deposit refunded.",
                run=result.run_id,
                refunded=format_money(result.refunded_minor or 0, result.exit.currency),
            ),
            "success",
        )
    else:
        flash(
            gettext(
                "Run %(run)s of %(period)s is %(status)s: once a second finance user has"
                " approved it and it is posted, settle the exit again.",
                run=result.run_id,
                period=result.run_period,
                status=result.run_status,
            ),
            "success",
        )
    return redirect(url_for("exits.party", code=code))


@bp.post("/<id:exit_id>/complete")
@require_roles(*MANAGERS)
def complete(exit_id: int) -> ResponseReturnValue:
    form = FormState.read(request.form, "completed_on")
    engine, actor = get_engine(), current_actor()
    on = form.values["completed_on"] or None
    return _submit(
        exit_id,
        "complete",
        form,
        lambda: ex.complete_exit(engine, exit_id, actor, completed_on=on),
        gettext("Exit completed: the party is terminated."),
    )


@bp.post("/<id:exit_id>/cancel")
@require_roles(*MANAGERS)
def cancel(exit_id: int) -> ResponseReturnValue:
    form = FormState.read(request.form, "reason")
    engine, actor = get_engine(), current_actor()
    return _submit(
        exit_id,
        "cancel",
        form,
        lambda: ex.cancel_exit(engine, exit_id, actor, reason=form.values["reason"]),
        gettext("Exit cancelled."),
    )
