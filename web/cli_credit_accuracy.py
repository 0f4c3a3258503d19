"""``hopchain credit accuracy``: how accurate the credit ratings were (issue 13;
seed 000's KPI "信用评级准确率 >= 95%"), the rule in :mod:`risk.accuracy`.

Prints a grade x outcome table (good, bad, pending and the bad rate), the accuracy
rate beside the 95 % target and each wrong rating with why; ``--json`` prints
the API's document instead. Acts as ``--as USER`` (default the first active
finance user, else an auditor, channel manager, partner manager or admin).
"""

from __future__ import annotations

import datetime as dt

import click

from web.cli import in_app_context
from web.cli_credit import AS_OPTION, actor_for, credit, day_option_value, echo_json, said
from web.roles import Role

__all__ = ["COMMANDS"]

_READERS = (Role.FINANCE, Role.AUDITOR, Role.CHANNEL_MANAGER, Role.PARTNER_MANAGER, Role.ADMIN)


@credit.command("accuracy")
@click.option(
    "--horizon-days",
    type=int,
    default=365,
    show_default=True,
    help="Days after each rating in which a 90+ days overdue item or a write-off counts.",
)
@click.option(
    "--on", "on", callback=day_option_value, help="The day seen from, YYYY-MM-DD (default today)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@AS_OPTION
@in_app_context
def accuracy_command(
    horizon_days: int, on: dt.date | None, as_json: bool, username: str | None
) -> None:
    """The credit-rating accuracy: ratings given vs what happened after them."""
    from risk.accuracy import accuracy, report_json, why_english
    from web.db import get_engine

    actor = actor_for(username, _READERS)
    report = said(lambda: accuracy(get_engine(), actor, horizon_days=horizon_days, on=on))
    if as_json:
        echo_json(report_json(report))
        return
    click.echo(f"credit-rating accuracy on {report.on}, horizon {report.horizon_days} days")
    click.echo(f"{'grade':<6} {'good':>5} {'bad':>5} {'pending':>8} {'bad rate':>9}")
    for g in report.grades:
        rate = "-" if g.bad_rate_percent is None else f"{g.bad_rate_percent} %"
        click.echo(f"{g.grade:<6} {g.good:>5} {g.bad:>5} {g.pending:>8} {rate:>9}")
    if report.accuracy_percent is None:
        click.echo(f"accuracy: no rating has an outcome yet (target {report.target_percent} %)")
    else:
        verdict = "meets" if report.meets_target else "below"
        click.echo(
            f"accuracy: {report.right} of {report.rated} right = {report.accuracy_percent} %"
            f" ({verdict} the target {report.target_percent} %)"
        )
    for o in report.wrong:
        click.echo(
            f"wrong: {o.party_code} rated {o.grade} on {o.rated_on}, {o.outcome}: {why_english(o)}"
        )


COMMANDS: tuple[click.Command, ...] = ()
