"""``hopchain agreements list|show|remind``: partner agreements from the command line.

``list`` prints one line per agreement (filters ``--party``, ``--status``,
``--expiring DAYS``); ``show NUMBER`` its terms, reviews, document and history;
``remind [--today YYYY-MM-DD]`` raises the expiry reminders due (a task for the
partner manager 60 and 30 days before an agreement in force ends; running it again
raises nothing new), queues an e-mail about each to every partner manager with an
address (``hopchain mail send`` delivers them) and prints them. Meant for a daily scheduler (cron, a systemd
timer). The rules are :mod:`partners.agreements`'.
"""

from __future__ import annotations

import datetime as dt
import json

import click

from web.cli import in_app_context

__all__ = ["COMMANDS"]

#: Who the command line acts as when it reads: an administrator without a user id.
_CLI_USER = "hopchain-cli"


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"must be a date like 2027-12-01, got {value!r}") from None


@click.group("agreements")
def agreements_group() -> None:
    """Partner agreements: list, show one, raise the expiry reminders."""


@agreements_group.command("list")
@click.option("--party", help="Only this party's agreements (its code).")
@click.option("--status", help="Only agreements in this status (draft, signed, ...).")
@click.option("--expiring", type=click.IntRange(0, 3650), help="Signed, ending within DAYS.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True)
@in_app_context
def list_command(party: str | None, status: str | None, expiring: int | None, limit: int) -> None:
    """One line per agreement: number, party, kind, status, validity, territories."""
    import settlement
    from partners import agreements as ag
    from partners.errors import PartnerError
    from web.db import get_engine

    try:
        rows, total = ag.page_agreements(
            get_engine(), settlement.Actor(_CLI_USER, "admin"), party_code=party,
            status=status, expiring_within=expiring, limit=limit,
        )  # fmt: skip
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from None
    for a in rows:
        click.echo(
            f"{a.number}\t{a.party_code}\t{a.kind}\t{a.status}\t{a.valid_from}..{a.valid_to}"
            f"\t{','.join(a.territories) or '-'}\t{','.join(a.programs) or '-'}"
        )
    click.echo(f"{len(rows)} of {total} agreements", err=True)


@agreements_group.command("show")
@click.argument("number")
@in_app_context
def show_command(number: str) -> None:
    """Agreement NUMBER as JSON: terms, reviews, documents, history."""
    import dataclasses

    import settlement
    from partners import agreements as ag
    from partners.errors import PartnerError
    from web.db import get_engine

    try:
        detail = ag.get_agreement(get_engine(), number, settlement.Actor(_CLI_USER, "admin"))
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(dataclasses.asdict(detail), indent=2, ensure_ascii=False))


@agreements_group.command("remind")
@click.option("--today", callback=_day, help="The day to count from (default: today, UTC).")
@in_app_context
def remind_command(today: dt.date | None) -> None:
    """Raise an expiry task for each agreement ending within 60 (then 30) days."""
    from partners import agreements as ag
    from web.db import get_engine
    from web.partners.agreements import queue_expiry_mails

    raised = ag.reminders_due(get_engine(), today)
    mails = queue_expiry_mails(raised)
    for r in raised:
        click.echo(
            f"{r.number}\t{r.party_code}\tends {r.valid_to}\t{r.days_left} days\ttask {r.task.id}"
        )
    click.echo(f"{len(raised)} reminders raised, {mails} e-mails queued", err=True)


COMMANDS = (agreements_group,)
