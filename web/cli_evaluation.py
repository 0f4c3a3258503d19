"""``hopchain reviews open | indicator | confirm | events``, ``hopchain health compute``
and ``hopchain crm overdue``: A/B/C reviews, health scores and the quarterly meeting
rule from the command line.

Each command acts as a user (``--as USER``; default the first active user of the
first role allowed: channel manager for reviews, partner manager for health and
CRM, else an admin) through :mod:`risk.reviews`, :mod:`risk.health` and
:mod:`partners.crm`, so the rules, checks and audit trail are the pages' and the
API's. A refusal exits 1 with the reason (``value: 101 is not a whole number from
0 to 100``). Reviews print as JSON; the others one line per party.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from web.cli import in_app_context
from web.roles import Role

if TYPE_CHECKING:
    from settlement.common import Actor

__all__ = ["COMMANDS"]

T = TypeVar("T")
_REVIEWERS = (Role.CHANNEL_MANAGER, Role.PARTNER_MANAGER, Role.ADMIN)
_KEEPERS = (Role.PARTNER_MANAGER, Role.CHANNEL_MANAGER, Role.ADMIN)
_AS = click.option(
    "--as", "username", help="The user who acts (default: the first active user of a role allowed)."
)


def _actor(username: str | None, allowed: tuple[Role, ...]) -> Actor:
    """The user ``username`` (default: the first active one of the first role in
    ``allowed`` that has one) as an Actor; exit 1 without one."""
    from settlement.common import Actor
    from web import accounts
    from web.db import get_session

    users = sorted(accounts.list_users(get_session()), key=lambda u: u.id)
    if username is None:
        for role in allowed:
            for u in users:
                if u.role is role and u.active:
                    return Actor(u.username, role.value, user_id=u.id)
        raise click.ClickException(
            f"no active {allowed[0].value}: hopchain user create NAME --role {allowed[0].value}"
        )
    for u in users:
        if u.username == username:
            if not u.active:
                raise click.ClickException(f"user {username} is deactivated")
            return Actor(u.username, u.role.value, user_id=u.id)
    raise click.ClickException(f"no user {username}; create one with hopchain user create")


def _run(call: Callable[[], T]) -> T:
    from ledger.said import SaidError

    try:
        return call()
    except SaidError as exc:
        raise click.ClickException(str(exc)) from None


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"must be a date like 2026-12-01, got {value!r}") from None


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True))


@click.group("reviews")
def reviews_group() -> None:
    """A/B/C class reviews: open, enter indicators, confirm, event reviews."""


@reviews_group.command("open")
@click.argument("party")
@click.option("--year", type=int, required=True, help="The year reviewed (its scorecards).")
@click.option("--kind", type=click.Choice(["annual", "event"]), default="annual")
@click.option("--trigger", default="", help="Why (an event review's cause).")
@_AS
@in_app_context
def reviews_open(party: str, year: int, kind: str, trigger: str, username: str | None) -> None:
    """Open a review of PARTY (a party code); prints it as JSON."""
    from risk.reviews import open_review, review_json
    from web.db import get_engine

    actor = _actor(username, _REVIEWERS)
    _echo_json(
        review_json(_run(lambda: open_review(get_engine(), party, kind, year, trigger, actor)))
    )


@reviews_group.command("indicator")
@click.argument("review_id", type=int)
@click.argument("indicator")
@click.argument("value", type=int)
@click.option("--note", default="", help="What the value rests on.")
@_AS
@in_app_context
def reviews_indicator(
    review_id: int, indicator: str, value: int, note: str, username: str | None
) -> None:
    """Enter INDICATOR (market_promotion, customer_service, team_stability,
    compliance) of REVIEW_ID as VALUE (0-100); prints the review as JSON."""
    from risk.reviews import enter_indicator, review_json
    from web.db import get_engine

    actor = _actor(username, (Role.CHANNEL_MANAGER, Role.ADMIN))
    _echo_json(
        review_json(
            _run(lambda: enter_indicator(get_engine(), review_id, indicator, value, note, actor))
        )
    )


@reviews_group.command("confirm")
@click.argument("review_id", type=int)
@click.option("--class", "partner_class", type=click.Choice(["A", "B", "C"]), required=True)
@click.option("--reason", required=True, help="Why this class (kept with it).")
@click.option("--valid-from", help="First day the class is in force (default: today).")
@_AS
@in_app_context
def reviews_confirm(
    review_id: int, partner_class: str, reason: str, valid_from: str | None, username: str | None
) -> None:
    """Confirm REVIEW_ID with a class: the class in force from then on."""
    from risk.reviews import confirm_review, review_json
    from web.db import get_engine

    actor = _actor(username, _REVIEWERS)
    _echo_json(
        review_json(
            _run(
                lambda: confirm_review(
                    get_engine(), review_id, partner_class, reason, actor, valid_from=valid_from
                )
            )
        )
    )


@reviews_group.command("events")
@_AS
@in_app_context
def reviews_events(username: str | None) -> None:
    """Open an event review for each confirmed serious alert that has none."""
    from risk.reviews import open_event_reviews
    from web.db import get_engine

    actor = _actor(username, _REVIEWERS)
    opened = _run(lambda: open_event_reviews(get_engine(), actor))
    for r in opened:
        click.echo(f"review {r.id}: {r.party_code} {r.year} ({r.trigger})")
    click.echo(f"{len(opened)} event reviews opened", err=True)


@click.group("health")
def health_group() -> None:
    """Health scores (0-100) per distributor."""


@health_group.command("compute")
@click.option("--today", callback=_day, help="The day computed (default: today, UTC).")
@click.option("--threshold", type=int, default=15, show_default=True, help="Points of a drop.")
@_AS
@in_app_context
def health_compute(today: dt.date | None, threshold: int, username: str | None) -> None:
    """Compute and store every distributor's score; a drop raises a task."""
    from risk.health import compute_health
    from web.db import get_engine

    actor = _actor(username, _KEEPERS)
    views = _run(lambda: compute_health(get_engine(), actor, today, threshold=threshold))
    for v in views:
        before = "-" if v.previous is None else str(v.previous)
        task = f"  task {v.task_id}" if v.task_id is not None else ""
        score = v.why if v.score is None else str(v.score)  # not enough data: no score
        click.echo(f"{v.party_code}\t{score}\t(before {before}){task}")
    click.echo(
        f"{len(views)} health scores on {views[0].computed_on if views else today}", err=True
    )


@click.group("crm")
def crm_group() -> None:
    """CRM: the quarterly communication meeting and overdue next steps."""


@crm_group.command("overdue")
@click.option("--today", callback=_day, help="The day checked (default: today, UTC).")
@_AS
@in_app_context
def crm_overdue(today: dt.date | None, username: str | None) -> None:
    """Flag distributors without a meeting last quarter (raising a task each) and
    list next steps past their due date."""
    from partners.crm import meeting_overdue, overdue_followups
    from web.db import get_engine

    actor = _actor(username, _KEEPERS)
    flagged = _run(lambda: meeting_overdue(get_engine(), actor, today))
    for m in flagged:
        last = m.last_meeting_on or "never"
        click.echo(f"{m.party_code}\tno meeting in {m.quarter} (last: {last})\ttask {m.task_id}")
    late = _run(lambda: overdue_followups(get_engine(), actor, today))
    for f in late:
        i = f.interaction
        click.echo(
            f"{i.party_code}\tnext step {i.next_step!r} due {i.next_due_on}, {f.days_late} days late"
        )
    click.echo(
        f"{len(flagged)} parties without a quarterly meeting, {len(late)} late next steps", err=True
    )


COMMANDS = (reviews_group, health_group, crm_group)
