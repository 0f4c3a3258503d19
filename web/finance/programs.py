"""Rebate programs: the list of programs and their versions; a program's page with each
version's rules in words; a new version typed as the program document that
``hopchain import programs`` reads (JSON or YAML), previewed against a past month
("had this version been in force, each distributor would get ...", beside what the
version in force paid) before finance saves it."""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

import settlement
from settlement import ProgramFile, ProgramFileError, check_month, load_program_file
from web.db import get_engine
from web.finance._common import (
    EDITORS,
    READERS,
    SERVICE_ERRORS,
    FormState,
    check,
    render_page,
)
from web.i18n import page_words
from web.paging import page_request
from web.reasons import reason_words
from web.security import require_roles
from web.settlement_access import current_actor

__all__ = ["bp", "in_force", "program_document"]

bp = Blueprint("programs", __name__, url_prefix="/finance/programs")

_RULE_ERRORS = (*SERVICE_ERRORS, settlement.RuleError)


def _month_offset(month: str, delta: int) -> str:
    y, m = int(month[:4]), int(month[5:7]) - 1 + delta
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def _this_month() -> str:
    return date.today().isoformat()[:7]


def in_force(program: Any, month: str) -> Any | None:
    """The version of ``program`` (a ``ProgramView``) a run of ``month`` uses: the
    highest version whose span covers it (as :func:`settlement.programs.versions_for_period`)."""
    for v in sorted(program.versions, key=lambda v: v.version, reverse=True):
        if v.valid_from <= month and (v.valid_to is None or v.valid_to >= month):
            return v
    return None


def program_document(code: str, name: str, valid_from: str, rules: dict[str, Any]) -> str:
    """A program file (YAML) for a new version of ``code`` from ``valid_from`` with
    ``rules``: what the form starts from (the latest version's rules)."""
    doc = {"code": code, "name": name, "valid_from": valid_from, "valid_to": None, "rules": rules}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _programs() -> list[Any]:
    try:
        return list(settlement.list_programs(get_engine(), current_actor()))
    except settlement.PermissionDenied:
        abort(403)


def _program(code: str) -> Any:
    for p in _programs():
        if p.code == code:
            return p
    abort(404)


@bp.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    return _index(FormState())


def _index(form: FormState, status: int = 200) -> ResponseReturnValue:
    programs = _programs()
    pager = page_request().with_total(len(programs))
    month = _this_month()
    shown = programs[pager.offset : pager.offset + pager.size]
    return render_page(
        "finance/programs.html",
        status,
        programs=shown,
        current={p.code: in_force(p, month) for p in shown},
        month=month,
        pager=pager,
        form=form,
    )


@bp.post("/")
@require_roles(*EDITORS)
def create() -> ResponseReturnValue:
    form = FormState.read(request.form, "code", "name")
    try:
        settlement.create_program(
            get_engine(), form.values["code"], form.values["name"], current_actor(), source="page"
        )
    except SERVICE_ERRORS as exc:
        form.problem = reason_words(exc)
        return _index(form, 422)
    flash(
        gettext("Program %(code)s created; add its first version here.", code=form.values["code"]),
        "success",
    )
    return redirect(url_for("programs.detail", code=form.values["code"]))


def _words(rules: dict[str, Any]) -> settlement.RulesInWords | None:
    try:
        return settlement.describe_rules(settlement.parse_rules(rules), page_words())
    except settlement.RuleError:
        return None  # a stored version is valid; this guards a hand-edited database


def _detail(
    program: Any, form: FormState, *, preview: Any = None, proposed: Any = None, status: int = 200
) -> ResponseReturnValue:
    month = _this_month()
    current = in_force(program, month)
    versions = sorted(program.versions, key=lambda v: v.version, reverse=True)
    return render_page(
        "finance/program.html",
        status,
        program=program,
        versions=[(v, _words(v.rules)) for v in versions],
        current=current,
        month=month,
        form=form,
        preview=preview,
        proposed=proposed,
    )


def _start_form(program: Any) -> FormState:
    latest = max(program.versions, key=lambda v: v.version, default=None)
    rules: dict[str, Any] = latest.rules if latest is not None else {}
    next_month = _month_offset(_this_month(), 1)
    return FormState(
        values={
            "document": program_document(program.code, program.name, next_month, rules),
            "period": _month_offset(_this_month(), -1),
        }
    )


@bp.get("/<code>")
@require_roles(*READERS)
def detail(code: str) -> ResponseReturnValue:
    program = _program(code)
    return _detail(program, _start_form(program))


def _submitted(program: Any) -> tuple[FormState, ProgramFile | None]:
    form = FormState(
        values={k: request.form.get(k, "") for k in ("document", "period")},
    )
    form.values["period"] = form.values["period"].strip()
    try:
        loaded = load_program_file("page.yaml", form.values["document"].encode("utf-8"))
    except ProgramFileError as exc:
        form.errors["document"] = reason_words(exc)
        return form, None
    if loaded.code != program.code:
        form.errors["document"] = (
            f"code: the document is for program {loaded.code!r}; this page adds versions of "
            f"{program.code!r}"
        )
        return form, None
    return form, loaded


@bp.post("/<code>/preview")
@require_roles(*READERS)
def preview(code: str) -> ResponseReturnValue:
    program = _program(code)
    form, loaded = _submitted(program)
    period = check(form, "period", "preview month", check_month, form.values["period"])
    if loaded is None or period is None:
        return _detail(program, form, status=422)
    try:
        result = settlement.preview_program_version(
            get_engine(), code, loaded.rules, period, current_actor()
        )
    except _RULE_ERRORS as exc:
        form.problem = f"No preview for {period}: {exc}"
        return _detail(program, form, status=422)
    return _detail(program, form, preview=result, proposed=_words(loaded.rules))


@bp.post("/<code>/versions")
@require_roles(*EDITORS)
def add_version(code: str) -> ResponseReturnValue:
    program = _program(code)
    form, loaded = _submitted(program)
    if loaded is None:
        return _detail(program, form, status=422)
    try:
        settlement.add_program_version(
            get_engine(), code, loaded.valid_from, loaded.valid_to, loaded.rules,
            current_actor(), source="page",
        )  # fmt: skip
    except _RULE_ERRORS as exc:
        form.problem = (
            reason_words(exc) if isinstance(exc, settlement.SettlementError) else str(exc)
        )
        return _detail(program, form, status=422)
    span = loaded.valid_from + (f" to {loaded.valid_to}" if loaded.valid_to else " on")
    flash(
        gettext("New version of %(code)s saved, in force %(span)s.", code=code, span=span),
        "success",
    )
    return redirect(url_for("programs.detail", code=code))
