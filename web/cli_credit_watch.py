"""``hopchain credit check [--on DATE] [--send] [--smtp URL]``: the credit thresholds
(:mod:`risk.thresholds`) checked for every partner with a limit or open items.

It raises the alerts crossed (each once: a rerun raises nothing new), queues their
e-mails and those of open alerts the credit gate or the risk matrix raised
(:func:`web.credit.alerts.queue_after_check`: finance and, for the relationship
kinds, channel managers, each in their own language; never twice) and prints one
line per alert (``new`` or ``before``, id, party, kind, key), after one line per party
whose risk level changed with its record (``level``, code, new level: the risk
matrix's action was taken, :func:`risk.assessment.reassess_changed_in`). Delivery is explicit:
with ``--send`` the outbox is delivered at once over ``--smtp`` or
``HOPCHAIN_SMTP_URL`` (every pending message, as ``hopchain mail send``); without
it the messages wait for ``hopchain mail send``, so a scheduled check never sends
mail by surprise because a variable happens to be set.
"""

from __future__ import annotations

import datetime as dt

import click

from web.cli import in_app_context
from web.cli_credit import AS_OPTION, actor_for, credit, day_option_value, said
from web.roles import Role

__all__ = ["COMMANDS"]

_CHECKERS = (Role.FINANCE, Role.CHANNEL_MANAGER, Role.ADMIN)


@credit.command("check")
@click.option(
    "--on", "on", callback=day_option_value, help="The day checked (default: today, UTC)."
)
@click.option("--send", is_flag=True, help="Deliver the outbox now (else: hopchain mail send).")
@click.option("--smtp", "smtp", help="SMTP URL for --send (default: HOPCHAIN_SMTP_URL).")
@AS_OPTION
@in_app_context
def credit_check(on: dt.date | None, send: bool, smtp: str | None, username: str | None) -> None:
    """Check the credit thresholds, raise alerts once, queue (and with --send, send) e-mail."""
    import notify
    from risk.thresholds import check
    from web.credit.alerts import queue_after_check
    from web.db import get_engine
    from web.outbox import sender, smtp_url

    engine = get_engine()
    actor = actor_for(username, _CHECKERS)
    day = on or dt.datetime.now(dt.UTC).date()
    url = smtp or smtp_url()
    if send and not url:
        raise click.ClickException(
            "no SMTP server: set HOPCHAIN_SMTP_URL (smtp://host:port) or pass --smtp"
        )
    report = said(lambda: check(engine, actor, day))
    for code, level in report.reassessed:
        click.echo(f"level\t{code}\t{level}")
    for label, alerts in (("new", report.new), ("before", report.already)):
        for a in alerts:
            click.echo(f"{label}\t{a.id}\t{a.party_code}\t{a.kind}\t{a.key}")
    try:
        done = queue_after_check(engine, [a.id for a in report.new])
    except notify.NotifyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"checked {report.parties} parties on {report.on}: {len(report.new)} new alerts,"
        f" {len(report.already)} raised before; e-mails queued: {done.queued}"
    )
    if not send:
        return
    assert url is not None
    try:
        delivery = notify.deliver(engine, url, sender=sender())
    except notify.NotifyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"sent: {delivery.sent}, failed: {delivery.failed}")
    if delivery.failed:
        raise click.ClickException(f"{delivery.failed} message(s) not sent; see hopchain mail list")


COMMANDS: tuple[click.Command, ...] = ()
