"""``hopchain exits start|list|show|complete``: partner exits from the command line.

- ``start CODE --reason R [--alert ID | --quarters Q1,Q2 | --agreement NUMBER]
  [--note TEXT] [--buffer-days N] [--started-on DATE]``: start the party's exit
  (the evidence of a hard reason checked as on the page); prints the exit as JSON.
- ``list [--status S]``: one line per exit.
- ``show ID``: the exit as JSON with its checklist, custody count and plans.
- ``complete ID [--on DATE]``: complete it; refused (exit 1) naming the missing
  step while the buffer runs, a unit in custody has no plan, or the final
  settlement (finance's, on the page or the API) is not done.

The command line acts as an administrator (``hopchain-cli``). The rules are
:mod:`partners.exits`' and :mod:`settlement.exit_settlement`'s.
"""

from __future__ import annotations

import json
from typing import Any

import click

from web.cli import in_app_context

__all__ = ["COMMANDS"]

_CLI_USER = "hopchain-cli"


def _actor() -> Any:
    import settlement

    return settlement.Actor(_CLI_USER, "admin")


@click.group("exits")
def exits_group() -> None:
    """Partner exits: start one, list them, show one, complete one."""


@exits_group.command("start")
@click.argument("code")
@click.option(
    "--reason",
    required=True,
    type=click.Choice(
        ["under_target", "serious_diversion", "agreement_terminated", "strategy_change"]
    ),
)
@click.option("--alert", help="serious_diversion: the confirmed alert's id.")
@click.option("--quarters", help="under_target: two consecutive quarters, e.g. 2026-Q2,2026-Q3.")
@click.option("--agreement", help="agreement_terminated: the terminated agreement's number.")
@click.option("--note", default="", help="Why (required for strategy_change).")
@click.option("--buffer-days", type=click.IntRange(0, 3650), help="Default: six months.")
@click.option("--started-on", help="YYYY-MM-DD, default today (UTC).")
@in_app_context
def start_command(
    code: str,
    reason: str,
    alert: str | None,
    quarters: str | None,
    agreement: str | None,
    note: str,
    buffer_days: int | None,
    started_on: str | None,
) -> None:
    """Start party CODE's exit; prints it as JSON."""
    from ledger.said import SaidError
    from settlement import exit_settlement as xs
    from web.db import get_engine

    evidence: dict[str, Any] = {}
    if alert is not None:
        evidence["alert"] = alert
    if quarters is not None:
        evidence["quarters"] = quarters
    if agreement is not None:
        evidence["agreement"] = agreement
    try:
        view = xs.start_exit(
            get_engine(), code, reason, _actor(), note=note, buffer_days=buffer_days,
            started_on=started_on, evidence=evidence,
        )  # fmt: skip
    except SaidError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(view.as_json(), ensure_ascii=False, indent=2))


@exits_group.command("list")
@click.option("--status", type=click.Choice(["buffer", "settled", "completed", "cancelled"]))
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True)
@in_app_context
def list_command(status: str | None, limit: int) -> None:
    """One line per exit: id, party, reason, status, buffer, refunded deposit."""
    from partners import exits as ex
    from partners.errors import PartnerError
    from web.db import get_engine

    try:
        rows, total = ex.page_exits(get_engine(), _actor(), status=status, limit=limit)
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from None
    for x in rows:
        refunded = "-" if x.deposit_refunded_minor is None else str(x.deposit_refunded_minor)
        click.echo(
            f"{x.id}\t{x.party_code}\t{x.reason}\t{x.status}\t{x.started_on}..{x.buffer_ends_on}"
            f"\t{refunded}"
        )
    click.echo(f"{len(rows)} of {total} exits", err=True)


@exits_group.command("show")
@click.argument("exit_id", type=click.IntRange(1, 2**63 - 1))
@in_app_context
def show_command(exit_id: int) -> None:
    """Exit EXIT_ID as JSON: the exit, its checklist, and its plans and customers."""
    from partners import exits as ex
    from partners.errors import PartnerError
    from web.db import get_engine

    engine, actor = get_engine(), _actor()
    try:
        view = ex.get_exit(engine, exit_id, actor)
        steps = ex.exit_steps(engine, exit_id, actor)
        done = ex.handovers(engine, exit_id, actor)
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from None
    out = {
        **view.as_json(),
        "steps": [{"name": st.name, "done": st.done, **st.values} for st in steps],
        "plans": [h.as_json() for h in done if h.kind == "unit"],
        "customers": [h.as_json() for h in done if h.kind == "customer"],
    }
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))


@exits_group.command("complete")
@click.argument("exit_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--on", "completed_on", help="YYYY-MM-DD, default today (UTC).")
@in_app_context
def complete_command(exit_id: int, completed_on: str | None) -> None:
    """Complete exit EXIT_ID: agreements terminated, grants ended, party terminated."""
    from partners import exits as ex
    from partners.errors import PartnerError
    from web.db import get_engine

    try:
        view = ex.complete_exit(get_engine(), exit_id, _actor(), completed_on=completed_on)
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(view.as_json(), ensure_ascii=False, indent=2))


COMMANDS = (exits_group,)
