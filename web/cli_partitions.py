"""``hopchain ledger partitions [--ahead N] [--count]``: PostgreSQL's partitions of
the ledger's entries (:mod:`ledger.partitions`), one line each (name, seq range,
rows), after creating any missing so that ``N`` full partitions lie beyond the head.

Appends create one partition ahead by themselves; ``--ahead`` makes more at a quiet
moment (a partition is attached without stopping readers or appends, but an
operator may prefer to see it done before a large import). Rows are the ledger's
size spread over the ranges (seqs have no gaps) unless ``--count`` counts them.
On SQLite, which has no partitions, it says so and changes nothing.
"""

from __future__ import annotations

import click

from web.cli import in_app_context
from web.cli_ledger import ledger_group

__all__ = ["COMMANDS"]


@ledger_group.command("partitions")
@click.option(
    "--ahead",
    type=click.IntRange(min=1),
    default=None,
    help="Create partitions until this many full ones lie beyond the head"
    " (appends keep 1 by themselves).",
)
@click.option("--count", is_flag=True, help="Count each partition's rows (a full scan of each).")
@in_app_context
def partitions(ahead: int | None, count: bool) -> None:
    """List the entries' partitions (PostgreSQL); with --ahead, create the missing ones."""
    from ledger.append import lock_ledger
    from ledger.partitions import (
        PartitionError,
        ensure_partitions,
        is_partitioned,
        list_partitions,
        partition_rows,
    )
    from ledger.tree import read_head
    from web.db import get_engine

    engine = get_engine()
    if engine.dialect.name != "postgresql":
        click.echo(
            f"{engine.dialect.name} keeps the entries in one table: partitions are for PostgreSQL"
        )
        return
    try:
        rows = partition_rows()
    except PartitionError as exc:
        raise click.ClickException(str(exc)) from None
    with engine.begin() as conn:
        if not is_partitioned(conn):
            raise click.ClickException(
                "entries is not partitioned on this database: run `hopchain db upgrade`"
            )
        if ahead is not None:
            lock_ledger(conn)  # the head cannot move while we read it and create
            size = read_head(conn).size
            made = ensure_partitions(conn, size + (ahead - 1) * rows, rows=rows, wait=True)
            for p in made:
                click.echo(f"created {p.name} {p.describe()}")
            if not made:
                click.echo(f"{ahead} full partition(s) already lie beyond the head (seq {size:,})")
        listed = list_partitions(conn, count=count)
    click.echo("partition\tseqs\trows")
    for p in listed:
        click.echo(f"{p.name}\t{p.describe()}\t{p.rows:,}")
    total = sum(p.rows for p in listed)
    click.echo(f"{len(listed)} partitions, {total:,} entries; new ones hold {rows:,} seqs each")


COMMANDS: tuple[click.Command, ...] = ()
