"""Credit alerts and thresholds pages (issue 13), and the e-mail of new alerts.

- ``credit_alerts.index`` (``/credit/alerts``): the alerts, newest first, filtered
  by status, kind and party (code), paginated; each alert's figures in words
  (money with its currency, in the reader's language); writers acknowledge and
  close them.
- ``credit_alerts.alert`` (``/credit/alerts/<id>``): one alert, the page its
  e-mail links to; a shipment alert (the credit gate's) lists the value of the
  day's flagged shipments and their ledger entries (seqs), each linked to the
  ledger's entry page for auditors and admins, who may open it.
- ``credit_alerts.thresholds`` (``/credit/alerts/thresholds``): the thresholds,
  with forms to change them (finance, channel managers, admins; the other credit
  readers read) and "check now", which runs :func:`risk.thresholds.check` for
  today and queues the e-mail of what it raised (:func:`queue_after_check`).

E-mail: :func:`credit_recipients` are the active people (no service users) of the
roles :data:`notify.CREDIT_ALERT_ROLES` names who have an address, each in their
own language (``users.locale``, else the deployment's ``BABEL_DEFAULT_LOCALE``);
:func:`queue_credit_alerts` queues the messages (:func:`notify.compose_credit_alerts`).
The rules are :mod:`risk.credit_alerts`' and :mod:`risk.thresholds`'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import notify
from ledger.models import Party
from ledger.said import SaidError
from partners.errors import PartnerNotFound
from risk import credit_alerts as ca
from risk import thresholds as th
from web.credit.assess import LEVEL_WORDS
from web.db import get_engine
from web.i18n import page_words
from web.models import User
from web.paging import page_request
from web.partners import _pages as pages
from web.reasons import reason_words
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor, format_ms

__all__ = [
    "KIND_WORDS",
    "STATUS_WORDS",
    "THRESHOLD_WORDS",
    "alert_words",
    "bp",
    "credit_recipients",
    "queue_after_check",
    "queue_credit_alerts",
]

bp = Blueprint("credit_alerts", __name__, url_prefix="/credit/alerts")

READERS = tuple(Role(r) for r in ca.ALERT_READERS)
WRITERS = tuple(Role(r) for r in ca.ALERT_WRITERS)
SETTERS = tuple(Role(r) for r in th.SETTERS)
KIND_WORDS = {k: _l(v) for k, v in notify.CREDIT_ALERT_KIND_WORDS.items()}
STATUS_WORDS = {"open": _l("open"), "acknowledged": _l("acknowledged"), "closed": _l("closed")}
#: Each threshold kind in words, with the unit of its value.
THRESHOLD_WORDS = {
    "utilisation": (_l("Limit utilisation"), _l("per cent of the limit")),
    "overdue": (_l("Item overdue"), _l("days past due")),
    "health_drop": (_l("Health score drop"), _l("points below the previous score")),
    "kpi_miss": (_l("Sales target missed"), _l("quarters in a row")),
}


def credit_recipients(engine: Engine) -> list[notify.CreditRecipient]:
    """Who is told of credit alerts: active people (no service users) of the roles
    in :data:`notify.CREDIT_ALERT_ROLES` with an e-mail address, in username order,
    each with their language (None: the deployment's default)."""
    with Session(engine) as s:
        rows = s.execute(
            select(User.email, User.role, User.locale)
            .where(
                User.email.is_not(None),
                User.active.is_(True),
                User.service.is_(False),
                User.role.in_(tuple(notify.CREDIT_ALERT_ROLES)),
            )
            .order_by(User.username)
        ).all()
    return [
        notify.CreditRecipient(str(email), str(role), locale)
        for email, role, locale in rows
        if email
    ]


def queue_credit_alerts(engine: Engine, alert_ids: Sequence[int]) -> notify.Composed:
    """Queue the e-mails of ``alert_ids`` (:func:`notify.compose_credit_alerts`).
    Needs an application context."""
    from web.i18n import document_words
    from web.outbox import base_url

    return notify.compose_credit_alerts(
        engine,
        alert_ids,
        recipients=credit_recipients(engine),
        words_for=document_words,
        base_url=base_url(),
        default_locale=str(current_app.config.get("BABEL_DEFAULT_LOCALE") or "en"),
    )


#: Kinds raised outside the threshold check (the credit gate, the risk matrix):
#: the check also queues the e-mail of those still open (never twice).
_RAISED_ELSEWHERE = ("credit_shipment", "cash_only_shipment", "high_risk")


def queue_after_check(engine: Engine, new_ids: Sequence[int]) -> notify.Composed:
    """Queue the e-mails of a check's new alerts and of every open alert the credit
    gate or the risk matrix raised (what was queued before is never queued again)."""
    from risk.models import CreditAlert

    with Session(engine) as s:
        elsewhere = s.scalars(
            select(CreditAlert.id)
            .where(CreditAlert.status == "open", CreditAlert.kind.in_(_RAISED_ELSEWHERE))
            .order_by(CreditAlert.id)
        ).all()
    return queue_credit_alerts(engine, [*new_ids, *(i for i in elsewhere if i not in new_ids)])


def alert_words(alert: ca.CreditAlertView) -> str:
    """What ``alert`` says with its figures, in the reader's language."""
    name = f"{alert.party_code} {alert.party_name}".strip()
    return notify.credit_alert_sentence(alert.kind, alert.detail, name, page_words())


def _party_id(code: str) -> int | None:
    if not code:
        return None
    with Session(get_engine()) as s:
        pid = s.scalar(select(Party.id).where(Party.code == code))
    if pid is None:
        abort_for(PartnerNotFound.said("no_credit_party", "no party %(party)s", party=code))
    return int(pid)


def _render(template: str, code: int = 200, **context: Any) -> ResponseReturnValue:
    role = pages.role()
    return (
        render_template(
            template,
            can_act=role in ca.ALERT_WRITERS,
            can_set=role in th.SETTERS,
            kind_words=KIND_WORDS,
            status_words=STATUS_WORDS,
            threshold_words=THRESHOLD_WORDS,
            alert_words=alert_words,
            format_ms=format_ms,
            linked=pages.linked,
            **context,
        ),
        code,
    )


@bp.get("/", endpoint="index")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    """The alerts, newest first; ``?status=``, ``?kind=``, ``?party=CODE``, ``?page=``."""
    status = request.args.get("status", "").strip()
    kind = request.args.get("kind", "").strip()
    party = request.args.get("party", "").strip()
    status = status if status in ca.ALERT_STATUSES else ""
    kind = kind if kind in ca.ALERT_KINDS else ""
    pager = page_request()
    try:
        rows, total = ca.list_alerts(
            get_engine(), current_actor(), status=status or None, kind=kind or None,
            party_id=_party_id(party), offset=pager.offset, limit=pager.size,
        )  # fmt: skip
    except SaidError as exc:
        abort_for(exc)
    return _render(
        "credit/alerts/index.html",
        rows=rows,
        pager=pager.with_total(total),
        status=status,
        kind=kind,
        party=party,
        statuses=ca.ALERT_STATUSES,
        kinds=ca.ALERT_KINDS,
    )


@bp.get("/<id:alert_id>", endpoint="alert")
@require_roles(*READERS)
def alert_page(alert_id: int) -> ResponseReturnValue:
    """One alert with its figures and the forms to act on it."""
    from risk.models import CreditAlert

    with Session(get_engine()) as s:
        row = s.get(CreditAlert, alert_id)
        party = s.get(Party, row.party_id) if row is not None else None
        if row is None or party is None:
            abort_for(
                PartnerNotFound.said("no_credit_alert", "no credit alert %(alert)s", alert=alert_id)
            )
        view = ca.alert_view(row, party)
    try:
        ca.list_alerts(get_engine(), current_actor(), limit=1)  # the readers' rule
    except SaidError as exc:
        abort_for(exc)
    entry_links = pages.role() in _ENTRY_READERS and pages.linked("ledger_pages.index")
    return _render(
        "credit/alerts/alert.html", a=view, shipment_kinds=SHIPMENT_KINDS, entry_links=entry_links
    )


#: The kinds the credit gate raises: their page lists the ledger entries and value.
SHIPMENT_KINDS = ("credit_shipment", "cash_only_shipment")
#: Who may open the ledger's entry page (``ledger_pages.index?seq=N``).
_ENTRY_READERS = ("auditor", "admin")


def _back() -> ResponseReturnValue:
    target = request.form.get("next", "")
    if target.startswith("/credit/alerts"):
        return redirect(target)
    return redirect(url_for("credit_alerts.index"))


@bp.post("/<id:alert_id>/acknowledge")
@require_roles(*WRITERS)
def acknowledge(alert_id: int) -> ResponseReturnValue:
    try:
        ca.acknowledge_alert(get_engine(), alert_id, current_actor())
    except SaidError as exc:
        if isinstance(exc, PartnerNotFound):
            abort_for(exc)
        flash(reason_words(exc), "error")
        return _back()
    flash(gettext("Credit alert %(id)s acknowledged.", id=alert_id), "success")
    return _back()


@bp.post("/<id:alert_id>/close")
@require_roles(*WRITERS)
def close(alert_id: int) -> ResponseReturnValue:
    note = request.form.get("note", "").strip()
    try:
        ca.close_alert(get_engine(), alert_id, current_actor(), note)
    except SaidError as exc:
        if isinstance(exc, PartnerNotFound):
            abort_for(exc)
        flash(reason_words(exc), "error")
        return _back()
    flash(gettext("Credit alert %(id)s closed.", id=alert_id), "success")
    return _back()


# ------------------------------------------------------------------ thresholds


def _thresholds(status: int = 200, **context: Any) -> ResponseReturnValue:
    try:
        rows = th.list_thresholds(get_engine(), current_actor())
    except SaidError as exc:
        abort_for(exc)
    context.setdefault("form", {"kind": "overdue", "value": "", "error": "", "field": ""})
    return _render(
        "credit/alerts/thresholds.html",
        status,
        rows=rows,
        kinds=th.THRESHOLD_KINDS,
        ranges=th.RANGES,
        **context,
    )


@bp.get("/thresholds", endpoint="thresholds")
@require_roles(*READERS)
def thresholds() -> ResponseReturnValue:
    return _thresholds()


@bp.post("/thresholds")
@require_roles(*SETTERS)
def threshold_set() -> ResponseReturnValue:
    """Add or change one threshold: ``kind``, ``value``, ``enabled`` and ``emails``
    (checkboxes); ``disable=1`` stops checking it."""
    kind = request.form.get("kind", "").strip()
    value = request.form.get("value", "").strip()
    try:
        if request.form.get("disable"):
            th.disable_threshold(get_engine(), current_actor(), kind, value)
        else:
            th.set_threshold(
                get_engine(), current_actor(), kind, value,
                enabled=bool(request.form.get("enabled")), emails=bool(request.form.get("emails")),
            )  # fmt: skip
    except SaidError as exc:
        if isinstance(exc, PartnerNotFound):
            flash(reason_words(exc), "error")
            return redirect(url_for("credit_alerts.thresholds"))
        form = {
            "kind": kind,
            "value": value,
            "error": reason_words(exc),
            "field": exc.values.get("field", ""),
        }
        return _thresholds(422, form=form)
    flash(gettext("Threshold saved."), "success")
    return redirect(url_for("credit_alerts.thresholds"))


@bp.post("/check")
@require_roles(*WRITERS)
def check_now() -> ResponseReturnValue:
    """Run the threshold check for today, queue its e-mails, say what it raised."""
    engine = get_engine()
    try:
        report = th.check(engine, current_actor(), dt.datetime.now(dt.UTC).date())
    except SaidError as exc:
        abort_for(exc)
    done = queue_after_check(engine, [a.id for a in report.new])
    flash(
        gettext(
            "Checked %(parties)s parties: %(new)s new alerts, %(old)s raised before;"
            " e-mails queued: %(mails)s.",
            parties=report.parties,
            new=len(report.new),
            old=len(report.already),
            mails=done.queued,
        ),
        "success",
    )
    if report.reassessed:
        flash(
            gettext(
                "Risk level changed with the record of: %(parties)s.",
                parties=", ".join(
                    f"{code} ({LEVEL_WORDS[level]})" for code, level in report.reassessed
                ),
            ),
            "info",
        )
    return redirect(url_for("credit_alerts.index"))
