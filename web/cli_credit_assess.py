"""``hopchain credit assess CODE | --all [--on DATE]``: a party's risk level by the
risk matrix (issue 13, area C; :mod:`risk.assessment`), added to the shared
``credit`` group (:mod:`web.cli_credit`).

Acts as a user (``--as USER``; default the first active finance user, else a
channel manager, else an admin); the rules, checks and audit trail are the pages'
and the API's. ``CODE`` prints the assessment as JSON; ``--all`` assesses every
distributor with a rating and prints one line each (``CODE level [cash only]``),
then the parties skipped for having no rating. A refusal exits 1 with the reason.
"""

from __future__ import annotations

import datetime as dt

import click

from web.cli import in_app_context
from web.cli_credit import AS_OPTION, actor_for, credit, day_option_value, echo_json, said
from web.roles import Role

__all__ = ["COMMANDS"]

_ASSESSORS = (Role.FINANCE, Role.CHANNEL_MANAGER, Role.ADMIN)


@credit.command("assess")
@click.argument("code", required=False)
@click.option("--all", "every", is_flag=True, help="Every distributor that has a rating.")
@click.option("--on", "on", callback=day_option_value, help="Day assessed (default: today, UTC).")
@AS_OPTION
@in_app_context
def assess(code: str | None, every: bool, on: dt.date | None, username: str | None) -> None:
    """Assess the risk level of CODE (or --all) and apply the matrix's action: high =
    cash only + termination proposed; medium = limit x the table's factor + monthly
    review; low = annual review."""
    from risk.assessment import assess_all, assess_party, assessment_json
    from web.db import get_engine

    if every == (code is not None):
        raise click.UsageError("give a party CODE or --all, not both")
    actor = actor_for(username, _ASSESSORS)
    if code is not None:
        view = said(lambda: assess_party(get_engine(), code, actor, on=on))
        echo_json(assessment_json(view, code))
        return
    done, skipped = said(lambda: assess_all(get_engine(), actor, on=on))
    for party, v in done:
        click.echo(f"{party} {v.level}" + (" cash only" if v.cash_only else ""))
    if skipped:
        click.echo(f"not rated, not assessed: {', '.join(skipped)}")


COMMANDS = ()
