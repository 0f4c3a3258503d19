"""``hopchain prospects list|show|move`` and ``hopchain trials due``: the recruitment
pipeline from the command line (:mod:`partners.recruitment`, :mod:`partners.trials`).

``prospects move`` acts as a partner manager or admin (``--as USER``; default the
first active partner manager, else the first active admin); a refusal exits 1 with
the service's reason. ``trials due`` raises the ``trial_end`` and ``trial_cap``
tasks of running trials (a trial past its last day, over its order cap) and prints
every such open task; run it daily (cron).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from web.cli import in_app_context

__all__ = ["COMMANDS"]

_STAGES = (
    "application",
    "screening",
    "site_visit",
    "negotiation",
    "signing",
    "signed",
    "rejected",
    "withdrawn",
)
_CHANNELS = ("exhibition", "b2b_platform", "referral", "association", "inbound")


def _actor(username: str | None) -> Any:
    """The partner manager or admin ``username`` (default: the first active partner
    manager, else admin) as an Actor."""
    import settlement
    from web import accounts
    from web.db import get_session

    users = sorted(accounts.list_users(get_session()), key=lambda u: u.id)
    if username is None:
        for role in ("partner_manager", "admin"):
            found = [u for u in users if u.role.value == role and u.active]
            if found:
                u = found[0]
                return settlement.Actor(u.username, u.role.value, user_id=u.id)
        raise click.ClickException(
            "no active partner manager: hopchain user create NAME --role partner_manager"
        )
    for u in users:
        if u.username == username:
            if not u.active:
                raise click.ClickException(f"user {username} is deactivated")
            return settlement.Actor(u.username, u.role.value, user_id=u.id)
    raise click.ClickException(f"no user {username}; create one with hopchain user create")


def _reader() -> Any:
    import settlement

    return settlement.Actor("cli", "admin")


@click.group("prospects")
def prospects() -> None:
    """The recruitment pipeline: prospects from application to signing."""


@prospects.command("list")
@click.option("--stage", type=click.Choice((*_STAGES, "open")), help="Only this stage (or open).")
@click.option("--channel", type=click.Choice(_CHANNELS), help="Only this acquisition channel.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@in_app_context
def list_command(stage: str | None, channel: str | None, limit: int) -> None:
    """Print prospects, newest first: id, reference, stage, days in it, channel, company."""
    from partners import recruitment as rc
    from web.db import get_engine

    rows, total = rc.page_prospects(
        get_engine(), _reader(), stage=stage, channel=channel, limit=limit
    )
    for p in rows:
        due = f" due {p.due_on}" + (" (past due)" if p.overdue else "") if p.due_on else ""
        click.echo(
            f"{p.id:>6}  {p.reference}  {p.stage:<11} {p.days_in_stage:>4}d  "
            f"{p.channel:<12} {p.country}  {p.company_name}{due}"
        )
    click.echo(f"{len(rows)} of {total} prospects", err=True)


@prospects.command("show")
@click.argument("prospect_id", type=click.IntRange(1, 2**31 - 1))
@in_app_context
def show_command(prospect_id: int) -> None:
    """Print one prospect: stage history, screening, visits and terms."""
    from partners import recruitment as rc
    from partners.errors import PartnerError
    from web.db import get_engine

    try:
        d = rc.get_prospect(get_engine(), prospect_id, _reader())
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from None
    p = d.prospect
    click.echo(f"{p.reference}  {p.company_name} ({p.country}, {p.kind})")
    click.echo(f"contact: {p.contact_name} <{p.contact_email}> {d.contact_phone}".rstrip())
    click.echo(f"channel: {p.channel} ({p.source})  stage: {p.stage} for {p.days_in_stage} days")
    if p.party_code:
        click.echo(f"party: {p.party_code}")
    if d.closed_reason:
        click.echo(f"closed because: {d.closed_reason}")
    click.echo("history:")
    for s in d.stages:
        owner = f" owner {s.owner_name}" if s.owner_name else ""
        due = f" due {s.due_on}" if s.due_on else ""
        note = f": {s.note}" if s.note else ""
        when = dt.datetime.fromtimestamp(s.at_ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")
        click.echo(f"  {when} UTC  {s.stage}{owner}{due} by {s.actor_name}{note}")
    click.echo(f"screening (weights v{d.screening.weights_version}): total {d.screening.total}")
    for line in d.screening.lines:
        shown = "-" if line.score is None else f"{line.score} x {line.weight} = {line.weighted}"
        click.echo(f"  {line.criterion}: {shown}  {line.reason}".rstrip())
    for v in d.visits:
        click.echo(f"visit {v.visited_on} by {v.visitor}: {len(v.photos)} photos")
    for t in d.terms:
        click.echo(
            f"terms v{t.version}: {', '.join(t.territories)}; deposit {t.deposit_minor} "
            f"{t.currency} (minor units); trial {t.trial_days} days, cap "
            f"{t.trial_order_cap_units if t.trial_order_cap_units is not None else 'none'}"
        )


@prospects.command("move")
@click.argument("prospect_id", type=click.IntRange(1, 2**31 - 1))
@click.argument("stage", type=click.Choice(_STAGES))
@click.option("--note", default="", help="Why (required to reject or withdraw).")
@click.option("--due", "due_on", help="Due date of the new stage (YYYY-MM-DD).")
@click.option("--owner", "owner_user_id", type=int, help="User id of the new owner.")
@click.option("--as", "username", help="Partner manager or admin acting (default: the first).")
@in_app_context
def move_command(
    prospect_id: int,
    stage: str,
    note: str,
    due_on: str | None,
    owner_user_id: int | None,
    username: str | None,
) -> None:
    """Move prospect PROSPECT_ID to STAGE (the next one, rejected or withdrawn)."""
    from partners import recruitment as rc
    from partners.errors import PartnerError
    from web.db import get_engine

    try:
        view = rc.move(
            get_engine(),
            prospect_id,
            stage,
            _actor(username),
            owner_user_id=owner_user_id,
            due_on=due_on,
            note=note,
        )
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{view.reference} is at {view.stage}")


@click.group("trials")
def trials_group() -> None:
    """Partners on trial."""


@trials_group.command("due")
@click.option("--today", help="The day to judge (YYYY-MM-DD; default today, UTC).")
@in_app_context
def due_command(today: str | None) -> None:
    """Raise the tasks of trials past their end or over their order cap; print them."""
    from partners.trials import due_trials
    from web.db import get_engine

    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError:
        raise click.BadParameter(f"must be a date like 2026-12-01, got {today!r}") from None
    tasks = due_trials(get_engine(), today=day)
    for t in tasks:
        click.echo(f"task {t.id}  {t.kind:<9} due {t.due_on}  {t.title}")
    click.echo(f"{len(tasks)} open trial tasks", err=True)


COMMANDS = (prospects, trials_group)
