"""``hopchain journal RUN`` and ``hopchain payments RUN --out FILE``: a posted run's
journal (CSV) and its ISO 20022 pain.001.001.03 payment file, as the run's money
page gives them.

``payments`` writes the payable statements it cannot pay (no IBAN/BIC, not EUR)
to ``FILE.exclusions.csv`` beside the file and lists them; nothing is left out
silently. The paying account comes from ``HOPCHAIN_DEBTOR_NAME``,
``HOPCHAIN_DEBTOR_IBAN`` and ``HOPCHAIN_DEBTOR_BIC``; journal accounts from
``HOPCHAIN_JOURNAL_ACCOUNTS`` (docs/journal.md).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import click

import settlement
from web.cli import in_app_context
from web.cli_settlement import finance_actor

__all__ = ["COMMANDS"]


@click.command("journal")
@click.argument("run_id", type=int)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout)."
)
@click.option("--as", "username", help="Finance user (default: the first one made).")
@in_app_context
def journal_command(run_id: int, out: Path | None, username: str | None) -> None:
    """Print or write the double-entry journal of posted run RUN_ID (CSV)."""
    from settlement.journal import chart_from_env, journal_csv
    from web.db import get_engine

    try:
        data = journal_csv(
            get_engine(), run_id, finance_actor(username), chart=chart_from_env(os.environ)
        )
    except settlement.SettlementError as exc:
        raise click.ClickException(str(exc)) from None
    if out is None:
        click.echo(data.decode(), nl=False)
        return
    out.write_bytes(data)
    rows = data.count(b"\n") - 1  # less the header
    click.echo(f"journal of run {run_id}: {rows:,} rows written to {out}", err=True)


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"must be a date like 2026-12-01, got {value!r}") from None


@click.command("payments")
@click.argument("run_id", type=int)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The pain.001 XML file to write; exclusions go to OUT.exclusions.csv.",
)  # fmt: skip
@click.option(
    "--date", "execution_date", callback=_day, help="Execution date (default: next business day)."
)
@click.option("--as", "username", help="Finance user (default: the first one made).")
@in_app_context
def payments_command(
    run_id: int, out: Path, execution_date: date | None, username: str | None
) -> None:
    """Write the SEPA credit-transfer file (pain.001.001.03) paying posted run RUN_ID."""
    from settlement.payments import debtor_from_env, exclusions_csv, payment_file, payment_plan
    from web.api.money import next_business_day
    from web.db import get_engine
    from web.settlement_access import format_money

    engine, actor = get_engine(), finance_actor(username)
    day = execution_date or next_business_day(datetime.now(UTC).date())
    try:
        debtor = debtor_from_env(os.environ)
        plan = payment_plan(engine, run_id, actor)
        xml = payment_file(engine, run_id, actor, debtor=debtor, execution_date=day)
    except settlement.SettlementError as exc:
        raise click.ClickException(str(exc)) from None
    out.write_bytes(xml)
    click.echo(
        f"{len(plan.transfers)} transfers, EUR {format_money(plan.total_minor, 'EUR')}, "
        f"to be executed on {day.isoformat()}: {out}"
    )
    sidecar = out.with_name(out.name + ".exclusions.csv")
    if plan.exclusions:
        sidecar.write_bytes(exclusions_csv(plan))
        click.echo(f"{len(plan.exclusions)} payable statements are NOT in the file ({sidecar}):")
        for e in plan.exclusions:
            click.echo(
                f"  statement {e.statement_id} {e.party_code} "
                f"{e.currency} {format_money(e.amount_minor, e.currency)}: {e.reason}"
            )
    elif sidecar.exists():
        sidecar.unlink()  # a report from an earlier file would be wrong now


COMMANDS = (journal_command, payments_command)
