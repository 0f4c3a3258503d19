"""``hopchain import KIND FILE [--dry-run] [--as USER]``: finance's reference data from a file.

Kinds and layouts are in ``docs/imports.md`` (prices, fx — also the ECB's
reference-rate CSV as published —, programs, targets, deposits, deposit-agreements,
adjustments, payments, billing, party-locales; and parties, the master data partner
managers import). All or nothing: any bad row and nothing is stored,
the command exits 1 and lists every problem as ``row 7, column list_price: why``.
Otherwise it prints how many rows were created, updated and unchanged, and each
row that changed something.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

import settlement
from partners.errors import PartnerError
from web.cli import in_app_context
from web.cli_settlement import finance_actor
from web.progress import Stages, stage_line

MAX_FILE_BYTES = 50 * 1024 * 1024


class _LazyChoice(click.Choice[str]):
    """A ``click.Choice`` whose choices are read on first use (this command's help,
    parsing its arguments), not when the command line is built: the import kinds
    live in settlement's import module, which loads the database models."""

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load
        self._choices: tuple[str, ...] | None = None
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        if self._choices is None:
            self._choices = tuple(self._load())
        return self._choices

    @choices.setter
    def choices(self, value: Any) -> None:
        self._choices = tuple(value) or None  # click.Choice.__init__ sets () here


@click.command("import")
@click.argument("kind", type=_LazyChoice(lambda: settlement.IMPORT_KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and count everything; store nothing.")
@click.option(
    "--as",
    "username",
    help="Finance user who imports (default: the first one); for parties, a partner "
    "manager or admin.",
)
@in_app_context
def import_command(kind: str, file: Path, dry_run: bool, username: str | None) -> None:
    """Import KIND from FILE (CSV or XLSX; programs: JSON or YAML), all or nothing."""
    from web.db import get_engine

    if file.stat().st_size > MAX_FILE_BYTES:
        raise click.ClickException(f"{file.name} is larger than {MAX_FILE_BYTES >> 20} MiB")
    if kind == "parties":  # master data: partner managers' (settlement.imports.IMPORTERS)
        from web.cli_parties import partner_actor

        actor = partner_actor(username)
    else:
        actor = finance_actor(username)
    stage_line(f"import: checking {kind} in {file.name}{' (dry run)' if dry_run else ''}…")
    from settlement.imports import IMPORT_STAGES

    stages = Stages("import", IMPORT_STAGES)
    try:
        from risk.bank_import import import_file

        report: Any = import_file(
            get_engine(), kind, file.name, file.read_bytes(), actor, dry_run=dry_run,
            on_stage=stages,
        )  # fmt: skip
        stages.close()
    except settlement.ImportRejected as exc:
        stages.close(stopped=True)
        count = len(exc.problems)
        click.echo(
            f"{file.name}: nothing was imported; {count} problem{'s' * (count != 1)}:", err=True
        )
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from None
    except (settlement.SettlementError, PartnerError) as exc:
        stages.close(stopped=True)
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{file.name} ({report.format}) as {actor.username}: {report.rows} rows read;"
        f" {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
    )
    for line in report.lines:
        if line.outcome != "unchanged":
            where = f"row {line.row}" if line.row is not None else "file"
            click.echo(f"  {where:<9} {line.outcome:<8} {line.key}")
    for skipped in getattr(report, "unbooked", ()):  # bank lines not booked, each named
        click.echo(f"  row {skipped.row:<5} not booked {skipped.why}")
    if dry_run:
        click.echo("dry run: nothing was stored")


COMMANDS = (import_command,)
