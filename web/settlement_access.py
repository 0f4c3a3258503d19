"""What the settlement pages, API and CLI share: the acting user, error answers,
names for ids, and where uploaded evidence is kept.

The engine (:mod:`settlement`) decides who may do what; this module only turns
the signed-in principal into a :class:`settlement.Actor` and the engine's errors
into HTTP answers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

from flask import abort, current_app
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import default_exceptions
from werkzeug.utils import secure_filename

import settlement
from ledger.models import Party, Unit
from ledger.said import SaidError
from partners.errors import PartnerDenied, PartnerNotFound, PartnerStateError
from web import i18n
from web.db import get_session
from web.reasons import reason_message
from web.roles import Role
from web.security import current_principal

__all__ = [
    "FINANCE_READERS",
    "MANAGERS",
    "UPLOAD_DIR",
    "abort_for",
    "abort_reason",
    "current_actor",
    "format_money",
    "format_ms",
    "party_codes",
    "store_upload",
    "unit_keys",
    "upload_path",
]

# Who reads runs, statements of every party and partner scores (the engine leaves
# get_run, list_runs and list_partner_scores to us): finance, and read-only admin
# and auditors.
FINANCE_READERS = (Role.FINANCE, Role.ADMIN, Role.AUDITOR)
# Who works on alerts and whistleblower reports.
MANAGERS = (Role.CHANNEL_MANAGER, Role.ADMIN)
UPLOAD_DIR = "uploads"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def current_actor() -> settlement.Actor:
    """The signed-in user (or API token) as the engine's :class:`~settlement.Actor`,
    with the id of the user acting (a token's owner), which four-eyes rules compare."""
    principal = current_principal()
    if principal is None:  # views are role-guarded; this is a programming error
        abort(401)
    return settlement.Actor(
        principal.name, principal.role.value, principal.party_id, user_id=principal.user_id
    )


def abort_for(exc: SaidError, *, not_found: bool = False) -> NoReturn:
    """Answer an engine error: 409 for a posted statement that no longer matches its
    sealed hash (never served, whoever asks), 404 when ``not_found`` (a lookup of
    something the caller may not see answers exactly like one that does not exist),
    403 for a role the engine refuses, 409 for a run or alert whose status forbids
    the action, 422 else. Partner management's errors (:mod:`partners.errors`): 404
    for a record that does not exist, 403 for a refused role, 409 for a state that
    forbids the action (:class:`partners.errors.PartnerStateError`), 422 else. The description is the engine's English reason; a reason
    with words in :mod:`web.reasons` is also said in the request's language (the
    API's ``message``, the error page), and ``exc`` is the answer's ``__cause__``."""
    if isinstance(exc, settlement.StatementTampered):
        abort_reason(409, exc)
    if not_found:
        abort(404)
    if isinstance(exc, PartnerNotFound):
        abort_reason(404, exc)
    if isinstance(exc, settlement.PermissionDenied | PartnerDenied):
        abort_reason(403, exc)
    if isinstance(exc, PartnerStateError):
        abort_reason(409, exc)
    if isinstance(exc, settlement.RunStateError | settlement.AlertWorkflowError):
        abort_reason(409, exc)
    abort_reason(422, exc)


def abort_reason(status: int, exc: SaidError) -> NoReturn:
    """Abort with ``status``: the engine's English reason as the description (the API's
    ``error``), the reason in the request's language (:func:`web.reasons.reason_message`)
    as the API's ``message`` and the error page's text; ``exc`` is the ``__cause__``."""
    answer = default_exceptions[status](str(exc))
    worded = reason_message(exc)
    if worded is not None:
        answer.hopchain_message = worded  # type: ignore[attr-defined]  # web.errors reads it
    raise answer from exc


def party_codes(ids: Iterable[int | None] | None = None) -> dict[int, str]:
    """Party codes by id (all parties when ``ids`` is None)."""
    q = select(Party.id, Party.code)
    if ids is not None:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        q = q.where(Party.id.in_(wanted))
    return {int(i): str(c) for i, c in get_session().execute(q).all()}


def unit_keys(ids: Iterable[int]) -> dict[int, str]:
    """Canonical unit keys by unit id (evidence lists name units by id)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = get_session().execute(select(Unit.id, Unit.key).where(Unit.id.in_(wanted)))
    return {int(i): str(k) for i, k in rows.all()}


#: The amount alone with thousands grouped as the page's locale writes them,
#: ``-1,234,567.89`` (en), ``-1.234.567,89`` (es); English outside a request (the
#: pages' template global of that name; :func:`web.i18n.format_money` adds the currency).
format_money = i18n.format_amount


def format_ms(at_ms: int | None) -> str:
    """``2026-09-14 08:30 UTC`` in the user's time zone (``2026-09-14 16:30 UTC+08:00``;
    minutes are enough for people); a stored time no
    calendar holds reads ``out of range (at_ms=…)`` (:func:`ledger.times.format_ms`)."""
    if at_ms is None:
        return "—"
    return i18n.format_when(at_ms)


def upload_path(ref: str) -> Path:
    """The file of a stored reference (``uploads/NAME``); 404 for anything else."""
    folder = Path(current_app.instance_path) / UPLOAD_DIR
    prefix, _, name = ref.partition("/")
    if prefix != UPLOAD_DIR or not name or secure_filename(name) != name:
        abort(404)
    path = folder / name
    if not path.is_file():
        abort(404)
    return path


def store_upload(upload: FileStorage | None) -> str:
    """Keep an uploaded evidence file under the instance's ``uploads/`` folder and
    return its reference (``uploads/<random>-<name>``); 422 naming what is wrong."""
    if upload is None or not upload.filename:
        abort(422, "choose a file to attach")
    name = secure_filename(upload.filename) or "file"
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if not data:
        abort(422, f"the file {name} is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        abort(413, f"the file {name} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    folder = Path(current_app.instance_path) / UPLOAD_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored = f"{secrets.token_hex(8)}-{name[-100:]}"
    (folder / stored).write_bytes(data)
    return f"{UPLOAD_DIR}/{stored}"
