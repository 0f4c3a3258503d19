"""E-mail in the web layer: settings, the hooks that queue messages after an event,
and the administrators' outbox page (``admin.outbox``, ``/admin/outbox``).

Settings (app config, else the environment): ``BASE_URL`` / ``HOPCHAIN_BASE_URL``
(the address partners open links at, default ``http://localhost:8000``, where
``hopchain serve`` listens unless given ``--port``: :data:`web.cli.SERVE_PORT`),
``SMTP_URL`` / ``HOPCHAIN_SMTP_URL`` (``smtp://host:port`` or
``smtps://user:pass@host:port``, see :mod:`notify.delivery`), ``MAIL_FROM`` /
``HOPCHAIN_MAIL_FROM`` (the sender, default ``hopchain@localhost``).

The hooks run after the event's own transaction has committed: a run that is posted
stays posted when its e-mails cannot be queued (the error is logged and said, and
``hopchain mail queue --run N`` queues them later; composing twice never mails twice).
The rules of what is said live in :mod:`notify`; here are only the recipients'
addresses (``users.email`` of a party's active people) and the catalogues' words
(:func:`web.i18n.document_words`).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict

from flask import Blueprint, abort, current_app, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import notify
import settlement
from web.admin_routes import admin_rule
from web.cli import SERVE_PORT
from web.db import get_engine
from web.models import User
from web.paging import page_request
from web.roles import Role
from web.security import require_roles

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_SENDER",
    "STATUS_LABELS",
    "after_alert_confirmed",
    "after_run_posted",
    "base_url",
    "bp",
    "party_addresses",
    "queue_alert_confirmed",
    "queue_run_posted",
    "sender",
    "smtp_url",
]

bp = Blueprint("outbox", __name__)
_log = logging.getLogger("hopchain.mail")

DEFAULT_BASE_URL = f"http://localhost:{SERVE_PORT}"  # what `hopchain serve` listens on
DEFAULT_SENDER = "hopchain@localhost"
#: The outbox's statuses in words (the page's filter and column).
STATUS_LABELS = {
    "pending": lazy_gettext("pending"),
    "sent": lazy_gettext("sent"),
    "failed": lazy_gettext("failed (no more tries)"),
}
_KIND_LABELS = {
    notify.STATEMENT_READY: lazy_gettext("Statement ready"),
    notify.ALERT_CONFIRMED: lazy_gettext("Alert confirmed"),
    notify.CREDIT_ALERT: lazy_gettext("Credit alert"),
}


def _setting(key: str, default: str | None) -> str | None:
    value = current_app.config.get(key) or os.environ.get(f"HOPCHAIN_{key}")
    return str(value) if value else default


def base_url() -> str:
    """Where partners open the links of their e-mails (no trailing slash)."""
    return (_setting("BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")


def smtp_url() -> str | None:
    """The SMTP server's URL, None when none is configured."""
    return _setting("SMTP_URL", None)


def sender() -> str:
    """The From address of every message."""
    return _setting("MAIL_FROM", DEFAULT_SENDER) or DEFAULT_SENDER


def party_addresses(engine: Engine) -> dict[int, tuple[str, ...]]:
    """``{party_id: (address, ...)}``: the e-mail addresses of every party's active
    people (service users have none), in username order."""
    out: dict[int, list[str]] = defaultdict(list)
    with Session(engine) as s:
        rows = s.execute(
            select(User.party_id, User.email)
            .where(
                User.party_id.is_not(None),
                User.email.is_not(None),
                User.active.is_(True),
                User.service.is_(False),
            )
            .order_by(User.username)
        )
        for party_id, email in rows:
            if party_id is not None and email:
                out[party_id].append(email)
    return {pid: tuple(addrs) for pid, addrs in out.items()}


def queue_run_posted(engine: Engine, run_id: int, actor: settlement.Actor) -> notify.Composed:
    """Queue the "statement ready" e-mails of posted run ``run_id``
    (:func:`notify.compose_statements_ready`). Needs an application context."""
    from web.i18n import document_words

    return notify.compose_statements_ready(
        engine,
        run_id,
        actor,
        addresses=party_addresses(engine),
        words_for=document_words,
        base_url=base_url(),
    )


def queue_alert_confirmed(engine: Engine, alert_id: int) -> notify.Composed:
    """Queue the "alert confirmed" e-mails of ``alert_id``
    (:func:`notify.compose_alert_confirmed`). Needs an application context."""
    from web.i18n import document_words

    return notify.compose_alert_confirmed(
        engine,
        alert_id,
        addresses=party_addresses(engine),
        words_for=document_words,
        base_url=base_url(),
    )


def _said(done: notify.Composed) -> str:
    text = gettext("E-mails queued: %(num)s.", num=done.queued)
    if done.without_address:
        text += " " + gettext(
            "Without an e-mail address (nobody told): %(parties)s.",
            parties=", ".join(done.without_address),
        )
    return str(text)


def after_run_posted(
    engine: Engine, run_id: int, actor: settlement.Actor, *, tell: bool = True
) -> None:
    """The hook after a run is posted: queue its e-mails; never fails the post. With
    ``tell``, flash what was queued (or why nothing could be)."""
    try:
        done = queue_run_posted(engine, run_id, actor)
    except Exception as exc:  # the post is committed: say it, never undo it
        _log.exception("run %s: statement e-mails not queued", run_id)
        if tell:
            flash(
                gettext(
                    "The statement e-mails could not be queued (%(error)s); run"
                    " `hopchain mail queue --run %(id)s`.",
                    error=str(exc),
                    id=run_id,
                ),
                "error",
            )
        return
    _log.info("run %s: %s e-mails queued, %s already", run_id, done.queued, done.already)
    if tell:
        flash(_said(done), "success")


def after_alert_confirmed(engine: Engine, alert_id: int) -> None:
    """The hook after an alert is confirmed: queue the party's e-mail; never fails
    the confirmation (a failure is logged; ``hopchain mail queue --alert N``)."""
    try:
        done = queue_alert_confirmed(engine, alert_id)
    except Exception:  # the confirmation is committed
        _log.exception("alert %s: e-mail not queued", alert_id)
        return
    _log.info("alert %s: %s e-mails queued", alert_id, done.queued)


@admin_rule(bp, "/outbox", "outbox", ("GET",))
@require_roles(Role.ADMIN)
def outbox() -> ResponseReturnValue:
    """The outbox, newest first; ``?status=`` (pending, sent, failed) filters it and
    ``?page=N`` pages it; another status answers 400 naming the choices."""
    status = request.args.get("status", "").strip()
    if status and status not in notify.OUTBOX_STATUSES:
        abort(400, f"status must be one of {', '.join(notify.OUTBOX_STATUSES)}")
    engine = get_engine()
    pager = page_request()
    rows, total = notify.page_outbox(engine, status=status, offset=pager.offset, limit=pager.size)
    shown = pager.with_total(total)
    if shown.page != pager.page:  # past the last page: show the last one
        rows, total = notify.page_outbox(
            engine, status=status, offset=shown.offset, limit=shown.size
        )
    return render_template(
        "admin/outbox.html",
        rows=rows,
        pager=shown,
        status=status,
        status_labels=STATUS_LABELS,
        kind_labels=_KIND_LABELS,
        smtp_configured=smtp_url() is not None,
    )
