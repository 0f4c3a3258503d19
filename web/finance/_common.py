"""What the reference-data pages share: who reads and who edits, the state of a
submitted form, one page of a service list, and the distributor list.

The rules themselves (what a valid price, rate or program is) live in
``settlement``: the pages check each typed value with the service's own checks
(:mod:`settlement.reference_values`), so that a bad field is named next to its
input, and show the service's refusal of a whole submission above the form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import abort, flash, redirect, render_template
from flask.typing import ResponseReturnValue

import settlement
from ledger.models import Party
from settlement import InvalidValue
from web import i18n
from web.db import get_engine, get_session
from web.paging import Pager, page_request
from web.reasons import reason_words
from web.roles import Role
from web.security import current_principal
from web.settlement_access import current_actor, format_ms

__all__ = [
    "EDITORS",
    "READERS",
    "SERVICE_ERRORS",
    "FormState",
    "can_edit",
    "check",
    "check_typed",
    "fetch_page",
    "money_text",
    "party_currency",
    "refuse",
    "render_page",
    "service_page",
    "submit",
]

T = TypeVar("T")
Item = TypeVar("Item")

# Finance keeps reference data; channel managers, auditors and admins read it.
READERS = (Role.FINANCE, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN)
EDITORS = (Role.FINANCE,)

# Errors the services raise with a message written for people (never Python text).
SERVICE_ERRORS = (settlement.SettlementError,)


@dataclass
class FormState:
    """One form's values as typed, a problem per input name, and the refusal of the
    whole submission by the service (shown above the form)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: str = ""

    @classmethod
    def read(cls, source: Mapping[str, str], *names: str) -> FormState:
        """The inputs ``names`` of a submitted form or query string, stripped."""
        return cls(values={name: source.get(name, "").strip() for name in names})

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.problem)


def check(
    form: FormState, name: str, label: str, checker: Callable[..., T], *args: Any, **kwargs: Any
) -> T | None:
    """``checker(*args, field=label, **kwargs)`` — one of the service's value checks —
    or ``None`` with its message (which names ``label``) kept for the input ``name``.

    Every input of a submission is checked, so all bad fields are named at once.
    """
    try:
        return checker(*args, field=label, **kwargs)
    except InvalidValue as exc:
        form.errors.setdefault(name, reason_words(exc))
        return None


def refuse(form: FormState, exc: Exception) -> None:
    """Keep the service's refusal ``exc``: next to its input when it names one of the
    form's fields (:class:`InvalidValue`), else above the form."""
    if isinstance(exc, InvalidValue) and exc.field in form.values:
        form.errors[exc.field] = reason_words(exc)
    elif isinstance(exc, settlement.SettlementError):
        form.problem = reason_words(exc)
    else:
        form.problem = str(exc)


def submit(
    form: FormState,
    write: Callable[[], T] | None,
    done: str | Callable[[T], str],
    then: str,
    again: Callable[[], ResponseReturnValue],
) -> ResponseReturnValue:
    """Run ``write`` — one service call — when it is given and every input of ``form``
    was usable: ``done`` (or ``done(what write returned)``) flashed as a success and a
    redirect to the URL ``then``. Otherwise, or when the service refuses (kept on
    ``form`` by :func:`refuse`), ``again()``: the page with the form and its problems."""
    if write is not None and not form.failed:
        try:
            result = write()
        except SERVICE_ERRORS as exc:
            refuse(form, exc)
        else:
            flash(done if isinstance(done, str) else done(result), "success")
            return redirect(then)
    return again()


def check_typed(
    form: FormState, name: str, label: str, checker: Callable[..., T], *args: Any
) -> T | None:
    """:func:`check` of an optional input (a list's filter): ``None`` when left empty."""
    if not form.values.get(name):
        return None
    return check(form, name, label, checker, form.values[name], *args)


def fetch_page(
    fetch: Callable[[int, int], tuple[Sequence[Item], int]],
) -> tuple[Sequence[Item], Pager]:
    """The requested page (``?page=N``) of a service list ``fetch(offset, limit)``
    and its pager; a page past the end shows the last one."""
    pager = page_request()
    items, total = fetch(pager.offset, pager.size)
    clamped = pager.with_total(total)
    if clamped.page != pager.page:
        items, total = fetch(clamped.offset, clamped.size)
        clamped = clamped.with_total(total)
    return items, clamped


def service_page(
    lister: Callable[..., tuple[Sequence[Item], int]],
    filters: FormState | None = None,
    **criteria: Any,
) -> tuple[Sequence[Item], Pager]:
    """The requested page of ``lister(engine, actor, **criteria, offset=, limit=)`` —
    a service list — or an empty one while a filter in ``filters`` cannot be used."""
    if filters is not None and filters.failed:
        return [], page_request().with_total(0)
    return fetch_page(
        lambda offset, limit: lister(
            get_engine(), current_actor(), **criteria, offset=offset, limit=limit
        )
    )


def party_currency(party_id: int) -> str:
    """The currency a party is settled in (its deposits, targets and adjustments)."""
    party = get_session().get(Party, party_id)
    if party is None:
        abort(404)
    return str(party.currency)


def can_edit() -> bool:
    """Whether the signed-in caller may change reference data on these pages."""
    principal = current_principal()
    return principal is not None and principal.role in EDITORS


#: ``EUR 1,234.50``: an amount in minor units with its currency, for people.
money_text = i18n.format_money  # the amount with its currency, as the locale writes it


def render_page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    """Render a reference-data page with the helpers all of them use."""
    return (
        render_template(
            template,
            can_edit=can_edit(),
            money_text=money_text,
            format_ms=format_ms,
            **context,
        ),
        status,
    )
