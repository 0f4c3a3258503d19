"""Risk level pages (issue 13; seed 000 "风险矩阵模型"): assess a party now, set its
level by hand, and read its assessment history.

- ``credit_assess.history`` (GET ``/credit/assess/<code>/history``, credit readers):
  every assessment of the party, newest first (paginated): level, cash only, the
  basis (grade, most days overdue, utilisation, confirmed diversion alerts), the
  action the matrix took, by hand or not; with the two forms below for those
  allowed. Linked from the party's credit file (``credit.party``).
- ``credit_assess.assess`` (POST ``/credit/assess/<code>``; finance, channel
  manager, admin): assess now (:func:`risk.assessment.assess_party`).
- ``credit_assess.by_hand`` (POST ``/credit/assess/<code>/by-hand``; finance,
  admin): ``level``, ``cash_only``, ``reason`` (:func:`risk.assessment.set_by_hand`);
  a refusal is shown next to its field on the history page (422).

Both actions redirect to the party's credit file with a message in the reader's
language. The rules are :mod:`risk.assessment`'s.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ledger.models import Party
from ledger.said import SaidError
from notify.compose import CREDIT_WHY_WORDS
from partners.errors import PartnerNotFound
from risk import assessment as ra
from risk.credit_gate import major
from web.credit._words import refusal_words
from web.db import get_engine, get_session
from web.finance._common import FormState
from web.paging import page_request
from web.partners import _pages as pages
from web.partners.evaluation import TASK_WORDS
from web.reasons import reason_words
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor, format_ms

__all__ = ["LEVEL_WORDS", "WHY_WORDS", "bp"]

bp = Blueprint("credit_assess", __name__, url_prefix="/credit/assess")

READERS = tuple(Role(r) for r in ra.READERS)
ASSESSORS = tuple(Role(r) for r in ra.ASSESSORS)
HAND_SETTERS = tuple(Role(r) for r in ra.HAND_SETTERS)
LEVEL_WORDS = {"high": _l("high risk"), "medium": _l("medium risk"), "low": _l("low risk")}
#: The matrix rules that gave a level (``basis["why"]``).
#: The matrix rules that gave a level (``basis["why"]``): the words the e-mails use.
WHY_WORDS = {key: _l(text) for key, text in CREDIT_WHY_WORDS.items()}
_FIELDS = ("level", "cash_only", "reason")


def _party(code: str) -> Party:
    party = get_session().scalar(select(Party).where(Party.code == code))
    if party is None:
        abort_for(PartnerNotFound.said("assess_no_party", "no party %(party)s", party=code))
    return party


def _money(amount_minor: int | None, currency: str) -> str:
    return "—" if amount_minor is None else major(amount_minor, currency)


def _back(code: str) -> ResponseReturnValue:
    """To the party's credit file (area A's page), or the history without it."""
    if "credit.party" in current_app.view_functions:
        return redirect(url_for("credit.party", code=code))
    return redirect(url_for("credit_assess.history", code=code))


def _history(code: str, form: FormState, status: int = 200) -> ResponseReturnValue:
    party = _party(code)
    pager = page_request()
    try:
        rows, total = ra.assessment_history(
            get_engine(), party.id, current_actor(), offset=pager.offset, limit=pager.size
        )
    except SaidError as exc:
        abort_for(exc)
    role = pages.role()
    context: dict[str, Any] = {
        "code": party.code,
        "name": party.name,
        "rows": rows,
        "pager": pager.with_total(total),
        "form": form,
        "levels": ra.LEVELS,
        "level_words": LEVEL_WORDS,
        "why_words": WHY_WORDS,
        "format_ms": format_ms,
        "money": _money,
        "task_words": TASK_WORDS,
        "linked": pages.linked,
        "can_assess": role in ra.ASSESSORS,
        "can_set": role in ra.HAND_SETTERS,
    }
    return render_template("credit/assess/history.html", **context), status


@bp.get("/<code>/history")
@require_roles(*READERS)
def history(code: str) -> ResponseReturnValue:
    form = FormState.read(request.args, *_FIELDS)
    return _history(code, form)


@bp.post("/<code>")
@require_roles(*ASSESSORS)
def assess(code: str) -> ResponseReturnValue:
    _party(code)
    try:
        view = ra.assess_party(get_engine(), code, current_actor())
    except SaidError as exc:
        if isinstance(exc, PartnerNotFound):
            abort_for(exc)
        flash(reason_words(exc), "error")
        return _back(code)
    message = gettext("%(party)s assessed: %(level)s.", party=code, level=LEVEL_WORDS[view.level])
    if view.cash_only:
        message += " " + gettext("Shipments to it on credit are now anomalies (cash only).")
    elif view.action.get("cash_only_lifted"):
        message += " " + gettext("Cash only is lifted.")
    flash(message, "success")
    return _back(code)


@bp.post("/<code>/by-hand")
@require_roles(*HAND_SETTERS)
def by_hand(code: str) -> ResponseReturnValue:
    party = _party(code)
    form = FormState.read(request.form, *_FIELDS)
    level = form.values["level"]
    if level not in ra.LEVELS:
        form.errors["level"] = gettext("Choose a level.")
    if not form.values["reason"]:
        form.errors["reason"] = gettext("Say why the level is set by hand.")
    if form.failed:
        return _history(code, form, 422)
    try:
        view = ra.set_by_hand(
            get_engine(), party.id, level=level, cash_only=form.values["cash_only"] == "yes",
            reason=form.values["reason"], actor=current_actor(),
        )  # fmt: skip
    except SaidError as exc:
        if isinstance(exc, PartnerNotFound):
            abort_for(exc)
        named = str(exc.values.get("field", "")) or exc.message_id.removeprefix("assess_")
        key = {"bad_level": "level", "no_reason": "reason", "bad_cash_only": "cash_only"}.get(
            named, named
        )
        labels = {"level": _l("Risk level"), "cash_only": _l("Cash only"), "reason": _l("Reason")}
        if key in _FIELDS:
            form.errors[key] = refusal_words(exc, labels)
        else:
            form.problem = refusal_words(exc, labels)
        return _history(code, form, 422)
    flash(
        gettext(
            "%(party)s set by hand: %(level)s, cash only %(cash_only)s.",
            party=code,
            level=LEVEL_WORDS[view.level],
            cash_only=gettext("yes") if view.cash_only else gettext("no"),
        ),
        "success",
    )
    return _back(code)
