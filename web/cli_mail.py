"""``hopchain mail send``, ``hopchain mail list`` and ``hopchain mail queue``: the
outbox of e-mails to partners (:mod:`notify`).

``send`` delivers the pending messages over ``HOPCHAIN_SMTP_URL`` (or ``--smtp``)
from ``HOPCHAIN_MAIL_FROM``, one progress line on stderr (:mod:`web.progress`), and
exits 1 when any message failed, naming how many and why the first did. ``list``
prints the outbox, newest first. ``queue --run N`` / ``--alert N`` queues a posted
run's or a confirmed alert's e-mails again (what was queued before is never
queued twice), for when the hook after the event could not, and says how many
parties have nobody with an address. ``settle post`` queues a run's e-mails itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from web.cli import in_app_context

if TYPE_CHECKING:
    from sqlalchemy import Engine

    import notify
    import settlement

__all__ = ["COMMANDS", "queue_run_mail"]


def _report(done: notify.Composed) -> None:
    click.echo(f"e-mails queued: {done.queued}, already queued before: {done.already}")
    if done.without_address:
        n = len(done.without_address)
        click.echo(
            f"{n} {'party has' if n == 1 else 'parties have'} nobody with an e-mail address:"
            f" {', '.join(done.without_address)}"
        )


def queue_run_mail(engine: Engine, run_id: int, actor: settlement.Actor) -> None:
    """Queue posted run ``run_id``'s statement e-mails and say what was done; a failure
    is said (the run stays posted) and exits 1."""
    import notify
    from web.outbox import queue_run_posted

    try:
        done = queue_run_posted(engine, run_id, actor)
    except notify.NotifyError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # the run is posted whatever happens here
        raise click.ClickException(
            f"run {run_id} is posted, but its e-mails were not queued ({exc});"
            f" hopchain mail queue --run {run_id} queues them"
        ) from exc
    _report(done)


@click.group("mail")
def mail_group() -> None:
    """E-mails to partners: the outbox (list), delivering it (send), queueing (queue)."""


@mail_group.command("send")
@click.option("--smtp", "smtp", help="SMTP URL (default: HOPCHAIN_SMTP_URL).")
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=None,
    help="Tries before a message is given up (default 5).",
)
@in_app_context
def send_command(smtp: str | None, max_attempts: int | None) -> None:
    """Send the pending messages of the outbox over SMTP."""
    import notify
    from web.db import get_engine
    from web.outbox import sender, smtp_url
    from web.progress import Progress

    url = smtp or smtp_url()
    if not url:
        raise click.ClickException(
            "no SMTP server: set HOPCHAIN_SMTP_URL (smtp://host:port) or pass --smtp"
        )
    progress = Progress("sending e-mail", "messages")
    try:
        done = notify.deliver(
            get_engine(),
            url,
            sender=sender(),
            max_attempts=max_attempts or notify.DEFAULT_MAX_ATTEMPTS,
            on_progress=progress.update,
        )
    except notify.NotifyError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        progress.close()
    click.echo(f"sent: {done.sent}, failed: {done.failed}, given up: {done.given_up}")
    if done.failed:
        rows, _ = notify.page_outbox(get_engine(), status="pending", limit=1)
        rows = rows or notify.page_outbox(get_engine(), status="failed", limit=1)[0]
        why = f"; last error: {rows[0].last_error}" if rows and rows[0].last_error else ""
        raise click.ClickException(
            f"{done.failed} message(s) not sent; they stay in the outbox{why}"
        )


@mail_group.command("list")
@click.option(
    "--status", type=click.Choice(["pending", "sent", "failed"]), help="Only this status."
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@in_app_context
def list_command(status: str | None, limit: int) -> None:
    """Print the outbox, newest first: id, status, tries, kind, reference, locale,
    recipient, subject, and the last error under a message that has one."""
    import notify
    from ledger.times import format_ms
    from web.db import get_engine

    rows, total = notify.page_outbox(get_engine(), status=status or "", limit=limit)
    for r in rows:
        click.echo(
            f"{r.id}\t{r.status}\t{r.attempts}\t{r.kind}\t{r.reference}\t{r.locale}\t"
            f"{r.recipient}\t{r.subject}\t{format_ms(r.created_ms)}"
        )
        if r.last_error:
            click.echo(f"\terror: {r.last_error}")
    click.echo(f"{len(rows)} of {total} message(s)", err=True)


@mail_group.command("queue")
@click.option("--run", "run_id", type=int, help="A posted run: its statement e-mails.")
@click.option("--alert", "alert_id", type=int, help="A confirmed alert: its party's e-mail.")
@click.option("--as", "username", help="Finance user reading the statements (default: first).")
@in_app_context
def queue_command(run_id: int | None, alert_id: int | None, username: str | None) -> None:
    """Queue the e-mails of a posted run or a confirmed alert (never twice)."""
    import notify
    from web.cli_settlement import finance_actor
    from web.db import get_engine
    from web.outbox import queue_alert_confirmed

    if (run_id is None) == (alert_id is None):
        raise click.UsageError("give one of --run RUN or --alert ALERT")
    engine = get_engine()
    if run_id is not None:
        queue_run_mail(engine, run_id, finance_actor(username))
        return
    assert alert_id is not None
    try:
        done = queue_alert_confirmed(engine, alert_id)
    except notify.NotifyError as exc:
        raise click.ClickException(str(exc)) from None
    _report(done)


COMMANDS: tuple[click.Command, ...] = (mail_group,)
