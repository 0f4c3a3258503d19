"""CRM pages (issue 12, "CRM"): a party's interactions (meeting, call, visit, e-mail,
training) with the form that records one, and the partner manager's open tasks
with the form that closes each, the check of the quarterly communication meeting
(seed 003) and the next steps past their due date.

The rules are :mod:`partners.crm`'s and :mod:`partners.tasks`'; these views read the
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
from partners import crm
from partners.errors import PartnerNotFound
from partners.tasks import close_task, open_tasks
from web.api.crm import TASK_KEEPERS, TASK_READERS
from web.db import get_engine
from web.finance._common import FormState
from web.paging import page_request
from web.partners import _pages as pages
from web.partners.evaluation import TASK_WORDS
from web.reasons import reason_words
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor, format_ms

__all__ = ["KIND_WORDS", "bp"]

bp = Blueprint("crm", __name__, url_prefix="/partners/crm")

READERS = tuple(Role(r) for r in crm.READERS)
WRITERS = tuple(Role(r) for r in crm.WRITERS)
KIND_WORDS = {
    "meeting": _l("Meeting"),
    "call": _l("Call"),
    "visit": _l("Visit"),
    "email": _l("E-mail"),
    "training": _l("Training"),
}
_FIELDS = ("kind", "happened_on", "subject", "notes", "next_step", "next_due_on")
FOLLOW_UPS_SHOWN = 50


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    role = pages.role()
    return (
        render_template(
            template,
            can_write=role in crm.WRITERS,
            can_close=role in {r.value for r in TASK_KEEPERS},
            kind_words=KIND_WORDS,
            task_words=TASK_WORDS,
            format_ms=format_ms,
            today=pages.today().isoformat(),
            linked=pages.linked,
            **context,
        ),
        status,
    )


def _keep(form: FormState, exc: SaidError) -> None:
    """The refusal next to the input it names (``field: ...``), else above the form."""
    named = exc.values.get("field", "")
    for name in _FIELDS:
        if named == name or str(exc).startswith(f"{name}:"):
            form.errors[name] = reason_words(exc)
            return
    form.problem = reason_words(exc)


# ------------------------------------------------------------------ interactions


def _interactions(code: str, form: FormState, status: int = 200) -> ResponseReturnValue:
    pager = page_request()
    try:
        rows, total = crm.list_interactions(
            get_engine(), current_actor(), code, offset=pager.offset, limit=pager.size
        )
    except SaidError as exc:
        abort_for(exc)
    with Session(get_engine()) as s:
        name = s.scalar(select(Party.name).where(Party.code == code)) or ""
    return _render(
        "partners/interactions.html",
        status,
        code=code,
        name=name,
        rows=rows,
        pager=pager.with_total(total),
        form=form,
        kinds=crm.INTERACTION_KINDS,
    )


@bp.get("/party/<code>")
@require_roles(*READERS)
def interactions(code: str) -> ResponseReturnValue:
    form = FormState.read(request.args, *_FIELDS)
    form.values["kind"] = form.values["kind"] or "meeting"
    form.values["happened_on"] = form.values["happened_on"] or pages.today().isoformat()
    return _interactions(code, form)


@bp.post("/party/<code>")
@require_roles(*WRITERS)
def add(code: str) -> ResponseReturnValue:
    form = FormState.read(request.form, *_FIELDS)
    v = form.values
    try:
        crm.record_interaction(
            get_engine(), code, v["kind"], v["happened_on"], v["subject"], current_actor(),
            notes=v["notes"], next_step=v["next_step"], next_due_on=v["next_due_on"] or None,
        )  # fmt: skip
    except SaidError as exc:
        if isinstance(exc, PartnerNotFound):
            abort_for(exc)
        _keep(form, exc)
        return _interactions(code, form, 422)
    flash(gettext("Interaction recorded."), "success")
    return redirect(url_for("crm.interactions", code=code))


# ------------------------------------------------------------------ tasks


def _tasks(status: int = 200) -> ResponseReturnValue:
    engine, actor = get_engine(), current_actor()
    pager = page_request()
    kind = request.args.get("kind", "").strip()
    chosen = kind if kind in TASK_WORDS else None
    with Session(engine) as s:
        tasks = open_tasks(s, kind=chosen)
        page = tasks[pager.offset : pager.offset + pager.size]
        names = {
            pid: (code, name)
            for pid, code, name in s.execute(
                select(Party.id, Party.code, Party.name).where(
                    Party.id.in_({t.party_id for t in page})
                )
            ).all()
        }
    try:
        late = crm.overdue_followups(engine, actor)
    except SaidError as exc:
        abort_for(exc)
    return _render(
        "partners/tasks.html",
        status,
        tasks=page,
        names=names,
        pager=pager.with_total(len(tasks)),
        chosen=chosen or "",
        late=late[:FOLLOW_UPS_SHOWN],
        n_late=len(late),
        can_check=pages.role() in crm.WRITERS,
    )


@bp.get("/tasks", endpoint="tasks")
@require_roles(*TASK_READERS)
def tasks_list() -> ResponseReturnValue:
    return _tasks()


@bp.post("/tasks/<id:task_id>/done")
@require_roles(*TASK_KEEPERS)
def done(task_id: int) -> ResponseReturnValue:
    note = request.form.get("note", "").strip()
    try:
        with Session(get_engine()) as s, s.begin():
            close_task(s, task_id, current_actor(), note)
    except SaidError as exc:
        if isinstance(exc, PartnerNotFound):
            abort_for(exc)
        flash(reason_words(exc), "error")
        return redirect(url_for("crm.tasks"))
    flash(gettext("Task %(id)s done.", id=task_id), "success")
    return redirect(url_for("crm.tasks"))


@bp.post("/tasks/meetings")
@require_roles(*WRITERS)
def check_meetings() -> ResponseReturnValue:
    try:
        flagged = crm.meeting_overdue(get_engine(), current_actor())
    except SaidError as exc:
        abort_for(exc)
    quarter = flagged[0].quarter if flagged else crm.checked_quarter(dt.datetime.now(dt.UTC).date())
    flash(
        gettext(
            "%(count)s parties had no communication meeting in %(quarter)s; each has a task.",
            count=len(flagged),
            quarter=quarter,
        ),
        "success",
    )
    return redirect(url_for("crm.tasks", kind="quarterly_meeting"))
