"""``hopchain ledger verify | checkpoint | proof``."""

from __future__ import annotations

import json
import sys

import click
from tqdm import tqdm

from ledger import (
    LedgerIntegrityError,
    ProofError,
    consistency_proof,
    inclusion_proof,
    make_checkpoint,
    verify_ledger,
)
from ledger.tree import read_head
from web.cli import in_app_context
from web.db import get_engine
from web.signing import get_signer


@click.group("ledger")
def ledger_group() -> None:
    """Verify the ledger, sign checkpoints, print proofs."""


@ledger_group.command("verify")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@in_app_context
def verify_command(quiet: bool) -> None:
    """Re-derive every entry, chain and root; check them against the signed checkpoints.

    Exit 0 when intact; 1 naming the first bad seq and what is wrong.
    """
    signer = get_signer()
    bar = tqdm(total=0, unit="entries", unit_scale=True, disable=quiet, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        report = verify_ledger(get_engine(), signer.name, signer.public_key, progress)
    except LedgerIntegrityError as exc:
        bar.close()
        click.echo(f"TAMPERED: {exc}", err=True)
        click.echo(
            json.dumps({"ok": False, "seq": exc.seq, "problem": exc.problem, "detail": exc.detail})
        )
        sys.exit(1)
    bar.close()
    cp = report.checkpoint
    click.echo(
        json.dumps(
            {
                "ok": True,
                "entries": report.entries,
                "units": report.units,
                "root": report.root.hex(),
                "checkpoints_checked": report.checkpoints_checked,
                "latest_checkpoint_size": cp.tree_size if cp else None,
                "entries_per_second": round(report.rate),
            }
        )
    )


@ledger_group.command("checkpoint")
@in_app_context
def checkpoint_command() -> None:
    """Sign the current tree head and print the checkpoint note."""
    click.echo(make_checkpoint(get_engine(), get_signer()).note, nl=False)


@ledger_group.command("proof")
@click.option("--seq", type=click.IntRange(min=0), help="Inclusion proof of this entry.")
@click.option("--tree-size", type=click.IntRange(min=1), help="Tree size (default: current).")
@click.option("--first", type=click.IntRange(min=1), help="Consistency proof from this size.")
@in_app_context
def proof_command(seq: int | None, tree_size: int | None, first: int | None) -> None:
    """Print an inclusion proof (--seq) or a consistency proof (--first) as JSON."""
    if (seq is None) == (first is None):
        raise click.UsageError("give exactly one of --seq or --first")
    with get_engine().connect() as conn:
        size = tree_size or read_head(conn).size
        try:
            if seq is not None:
                click.echo(json.dumps(inclusion_proof(conn, seq, size).as_json()))
            else:
                assert first is not None
                path = consistency_proof(conn, first, size)
                click.echo(
                    json.dumps({"first": first, "second": size, "path": [h.hex() for h in path]})
                )
        except ProofError as exc:
            raise click.ClickException(str(exc)) from None


COMMANDS = (ledger_group,)
