"""``hopchain ledger verify | checkpoint | proof``."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

import settlement
from web.cli import in_app_context
from web.progress import Progress

if TYPE_CHECKING:
    from ledger import SignedCheckpoint, verify_ledger
    from ledger.verify import CheckContext, Problem
else:

    def verify_ledger(*args, **kwargs):
        """``ledger.verify_ledger``, imported on the first call (it loads SQLAlchemy);
        a name of this module, so a test can replace the verifier."""
        from ledger import verify_ledger as verify

        return verify(*args, **kwargs)


@click.group("ledger")
def ledger_group() -> None:
    """Verify the ledger, sign checkpoints, print proofs."""


@ledger_group.command("verify")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--since-checkpoint",
    "kept_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A checkpoint note you kept (the text of GET /api/v1/ledger/checkpoint): the"
    " log must still extend it. On success the newest verified checkpoint is written"
    " back to this file (created if missing).",
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Also verify what is sealed outside the log: posted settlement runs, their"
    " statements and the alerts (what `hopchain settlement verify` checks).",
)
@click.option(
    "--jobs",
    default="1",
    show_default=True,
    callback=lambda ctx, param, value: _jobs(ctx, value),
    help="Processes that verify ranges of the log side by side (0 or 'auto': one per"
    " core). Never more than the cores, nor than ranges of the log; one process when"
    " the log is too small for workers to pay off (said on stderr). The findings are"
    " the same as with one.",
)
@in_app_context
def verify_command(quiet: bool, kept_file: Path | None, everything: bool, jobs: int) -> None:
    """Re-derive every entry, chain, root, tree node, head, unit and scan receipt;
    check them against the signed checkpoints (and the one you kept). With
    ``--all``, posted settlement and alerts are checked against their seals too,
    on the same database snapshot.

    Always ends with one JSON line. Exit 0 when intact; 1 naming the first bad seq
    (or, for a derived table, the table and row) and what is wrong.
    """
    from ledger import LedgerIntegrityError
    from ledger.verify import Problem
    from web.db import get_engine
    from web.signing import get_signer

    signer = get_signer()
    kept_note, unreadable = _read_kept(kept_file)
    if unreadable is not None:
        _fail([unreadable])
    if jobs > 1:
        # No tqdm monitor thread: with one thread the workers are forked, with the
        # modules loaded (spawned, each would import them again: 0.55 s of CPU).
        from tqdm import tqdm

        tqdm.monitor_interval = 0
    bar = Progress("verifying the ledger", "entries", quiet=quiet)

    def progress(done: int, total: int) -> None:
        bar.update(done, max(total, done))

    given = click.get_current_context().meta.get(_JOBS_GIVEN, str(jobs))

    def said_about_jobs(text: str) -> None:  # fewer processes than asked, and why
        click.echo(f"--jobs {given}: {text}", err=True)

    try:
        report = verify_ledger(
            get_engine(),
            signer.name,
            signer.public_key,
            progress,
            kept_note=kept_note,
            kept_label=str(kept_file),
            extra_checks=(_settlement_check,) if everything else (),
            jobs=jobs,
            on_jobs=said_about_jobs,
        )
    except LedgerIntegrityError as exc:
        bar.close()
        _fail(exc.problems)
    except Exception as exc:  # a bug of ours: still end with the report, and say so
        bar.close()
        traceback.print_exc()
        _fail(
            [
                Problem(
                    None,
                    "unreadable",
                    f"verification stopped at an unexpected {type(exc).__name__}"
                    " (traceback on stderr); nothing is known to be intact",
                    "entries",
                )
            ]
        )
    bar.close()
    if report.processes > 1:
        click.echo(
            f"--jobs {given}: {report.processes} processes verified ranges of the log side by side",
            err=True,
        )
    cp = report.checkpoint
    summary: dict[str, object] = {
        "ok": True,
        "entries": report.entries,
        "units": report.units,
        "receipts": report.receipts,
        "tree_nodes": report.tree_nodes,
        "root": report.root.hex(),
        "checkpoints_checked": report.checkpoints_checked,
        "latest_checkpoint_size": cp.tree_size if cp else None,
        "entries_per_second": round(report.rate),
        "checks": report.checks,
    }
    if kept_file is not None:
        summary["kept_checkpoint"] = _write_kept(kept_file, kept_note, report.keep)
    click.echo(json.dumps(summary))


_JOBS_GIVEN = "hopchain.jobs_given"  # ctx.meta: --jobs as typed, for the messages


def _jobs(ctx: click.Context, value: str) -> int:
    """``--jobs``: a whole number of processes, 0 or ``auto`` for one per core; what
    was typed is kept in ``ctx.meta`` so the messages echo it."""
    text = value.strip().lower()
    ctx.meta[_JOBS_GIVEN] = value.strip()
    if text in ("auto", "0"):
        from ledger.verify_parallel import available_cores

        return available_cores()
    if not text.isdigit():
        raise click.BadParameter(
            f"{value!r} is not a number of processes: give 1, 2, ... (a whole number of at"
            " least 1), or 0 or 'auto' for one per core"
        )
    return int(text)


def _settlement_check(ctx: CheckContext) -> Iterator[Problem]:
    """``settlement.verify_settlement`` as a check of ``ledger verify --all``: its
    first problem, named by table and row id."""
    from ledger.verify import Problem

    try:
        settlement.verify_settlement(ctx.conn, ctx.public_key, ctx.name)
    except settlement.SettlementIntegrityError as exc:
        key = {} if exc.row_id is None else {"id": exc.row_id}
        yield Problem(None, exc.problem, exc.detail, exc.table, key)


def _fail(problems: Sequence[Problem]) -> NoReturn:
    first = problems[0]
    click.echo(f"TAMPERED: {first}", err=True)
    click.echo(
        json.dumps(
            {
                "ok": False,
                **first.as_json(),
                "problems": [p.as_json() for p in problems[:20]],
            }
        )
    )
    sys.exit(1)


def _read_kept(path: Path | None) -> tuple[str | None, Problem | None]:
    """The kept note (None when no file was given, or it does not exist yet)."""
    from ledger.verify import Problem

    if path is None or not path.exists():
        return None, None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, Problem(
            None,
            "unreadable",
            f"checkpoint file {path} could not be read as UTF-8 text",
            "checkpoint file",
            {"file": str(path)},
        )
    return (text if text.strip() else None), None


def _write_kept(path: Path, before: str | None, keep: SignedCheckpoint | None) -> dict[str, object]:
    """Replace the kept note with the newest verified one (atomically: a crash leaves
    the old note or the new one, never half of either)."""
    out: dict[str, object] = {"file": str(path), "size": None, "saved": False}
    if keep is None:
        return out
    out["size"] = keep.tree_size
    if keep.note == before:
        return out
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(keep.note, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        click.echo(f"warning: could not write {path}: {exc.strerror}", err=True)
        out["why"] = f"could not write {path}"
        return out
    out["saved"] = True
    return out


@ledger_group.command("checkpoint")
@in_app_context
def checkpoint_command() -> None:
    """Sign the current tree head and print the checkpoint note."""
    from ledger import make_checkpoint
    from web.db import get_engine
    from web.signing import get_signer

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
    from ledger import ProofError, consistency_proof, inclusion_proof
    from ledger.tree import read_head
    from web.db import get_engine

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
