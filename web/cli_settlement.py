"""``hopchain detect``, ``hopchain settle``, ``hopchain scores`` and ``hopchain
settlement verify``: the monthly batch and its audit.

``detect`` reads the ledger as of the newest signed checkpoint (signing one first
when the ledger has grown since), raises or updates diversion alerts and seals
them. ``settle --period 2026-10`` computes a draft run as a finance user;
``settle approve RUN --as USER`` (a second finance user) and ``settle post RUN
--as USER`` finish it, as the run pages do; posting seals the run with the ledger
key. ``settlement verify`` re-derives posted runs and alerts and checks their seals.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

import settlement
from web.cli import in_app_context
from web.progress import Progress, Stages, stage_line
from web.roles import Role

if TYPE_CHECKING:  # the batch (numba, pyarrow) loads when a command runs, not for --help
    from settlement.batch import BatchOptions


def finance_actor(username: str | None) -> settlement.Actor:
    """The finance user ``username`` (default: the first active one made), as an Actor."""
    from web import accounts
    from web.db import get_session

    if username is None:
        finance = sorted(
            (u for u in accounts.list_users(get_session()) if u.role is Role.FINANCE and u.active),
            key=lambda u: u.id,
        )
        if not finance:
            raise click.ClickException(
                "no active finance user: hopchain user create NAME --role finance"
            )
        return settlement.Actor(finance[0].username, Role.FINANCE.value, user_id=finance[0].id)
    for u in accounts.list_users(get_session()):
        if u.username == username:
            if not u.active:
                raise click.ClickException(f"user {username} is deactivated")
            if u.role is not Role.FINANCE:
                raise click.ClickException(
                    f"user {username} is {u.role.value}; runs need a finance user"
                )
            return settlement.Actor(u.username, u.role.value, user_id=u.id)
    raise click.ClickException(f"no user {username}; create one with hopchain user create")


def _fail(exc: settlement.SettlementError) -> click.ClickException:
    return click.ClickException(str(exc))


def say_if_compiling() -> None:
    """Before the first numba kernel runs: say on stderr that the detection kernels
    are being compiled when numba's on-disk cache (``cache=True``, next to
    settlement/kernels.py or under ``NUMBA_CACHE_DIR``) holds none of them yet.

    Compiling takes tens of seconds once; later runs load the cached machine code.
    """
    from settlement import kernels

    for kernel in vars(kernels).values():
        # A numba dispatcher keeps its cache as ``_cache`` (numba has no public
        # name for the folder); an index file per kernel is there once compiled.
        folder = getattr(getattr(kernel, "_cache", None), "_cache_path", None)
        if isinstance(folder, str) and any(Path(folder).glob("kernels.*.nbi")):
            return
    stage_line("compiling the detection kernels once (numba; cached for later runs)…")


_F = TypeVar("_F", bound=Callable[..., Any])


def batch_options(command: _F) -> _F:
    """``--scheduler``, ``--snapshot-dir`` and ``--rows-per-partition``: where the batch
    runs (:class:`settlement.batch.BatchOptions`)."""
    for option in reversed(
        (
            click.option(
                "--scheduler",  # not envvar=: from_env reads the setting and names it
                metavar="ADDR",
                help="Dask scheduler (tcp://host:8786): each snapshot partition runs on its "
                "workers. Default: $HOPCHAIN_DASK_SCHEDULER; none runs in this process.",
            ),
            click.option(
                "--snapshot-dir",
                envvar="HOPCHAIN_SNAPSHOT_DIR",
                type=click.Path(file_okay=False, path_type=Path),
                help="Where the partitioned snapshot is written: a path every worker shares. "
                "Default: $HOPCHAIN_SNAPSHOT_DIR, else snapshots/ in the instance folder with a scheduler. "
                "Given without a scheduler, partitions run here one at a time.",
            ),
            click.option(
                "--rows-per-partition",
                type=click.IntRange(min=1),
                help="About how many entries one partition holds (a worker's memory). "
                "Default: 4,000,000.",
            ),
        )
    ):
        command = option(command)
    return command


class _PartitionProgress:
    """Progress per partition on stderr (a bar on a terminal, else one line at the end)."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:  # (0, total) comes first: the clock starts with the work
            self.bar = Progress(f"{self.desc}: partitions", "partitions")
        self.bar.update(done, total)
        if done == total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _batch(
    desc: str, scheduler: str | None, snapshot_dir: Path | None, rows: int | None
) -> tuple[BatchOptions, _PartitionProgress]:
    from settlement.batch import BatchOptions
    from settlement.batch.parquet import DEFAULT_ROWS_PER_PARTITION

    progress = _PartitionProgress(desc)
    try:
        opts = BatchOptions.from_env(
            scheduler=scheduler, snapshot_dir=snapshot_dir,
            rows_per_partition=rows or DEFAULT_ROWS_PER_PARTITION, on_partition=progress,
        )  # fmt: skip
    except settlement.SettlementError as exc:
        raise _fail(exc) from None
    if opts.scheduler:
        stage_line(f"{desc}: on the Dask cluster at {opts.scheduler}, snapshot under {opts.root}")
    elif opts.partitioned:
        stage_line(f"{desc}: partition by partition in this process, snapshot under {opts.root}")
    return opts, progress


@click.command("detect")
@click.option("--max-kmh", default=900.0, show_default=True, help="Faster than this is a clone.")
@click.option("--min-km", default=1.0, show_default=True, help="Closer than this is one place.")
@batch_options
@in_app_context
def detect_command(
    max_kmh: float,
    min_km: float,
    scheduler: str | None,
    snapshot_dir: Path | None,
    rows_per_partition: int | None,
) -> None:
    """Find diversion in the ledger as of the newest signed checkpoint and raise alerts.

    Running it again updates the same alerts; it never duplicates them. With a Dask
    scheduler (--scheduler or HOPCHAIN_DASK_SCHEDULER) the snapshot is written as
    Parquet partitions under --snapshot-dir and each runs on a worker; the alerts
    are the same as in one process.
    """
    from sqlalchemy.orm import Session

    import geo
    from ledger import make_checkpoint
    from ledger.times import entries_outside_calendar
    from web.db import get_engine
    from web.signing import get_signer

    engine = get_engine()
    cp = make_checkpoint(engine, get_signer())  # no-op when the newest is the head
    size, root = settlement.latest_checkpoint(engine)
    click.echo(
        f"detecting over {size:,} ledger entries as of checkpoint {size} (root {root[:16]}…)…",
        err=True,
    )
    with Session(engine) as s:
        index = geo.load_index(s)
    say_if_compiling()
    from settlement.detection import DETECTION_STAGES

    opts, progress = _batch("detect", scheduler, snapshot_dir, rows_per_partition)
    stages = Stages("detect", DETECTION_STAGES)
    try:
        report = settlement.run_detection(
            engine,
            size,
            root,
            index,
            signer=get_signer(),
            max_kmh=max_kmh,
            min_km=min_km,
            on_stage=stages,
            batch=opts,
        )
    except settlement.SettlementError as exc:
        progress.close()
        stages.close(stopped=True)
        raise _fail(exc) from None
    finally:
        stages.close()  # idempotent: a no-op after stopped
    click.echo(f"checkpoint: tree size {cp.tree_size}, root {root}")
    click.echo("findings:")
    for kind in dict.fromkeys(settlement.FINDING_TYPES.values()):
        click.echo(f"  {kind:<15} {report.findings.get(kind, 0):>7,}")
    click.echo(f"alerts: {report.alerts_created:,} created, {report.alerts_updated:,} updated")
    with engine.connect() as conn:
        odd = entries_outside_calendar(conn, size)
    if odd.count:  # legacy or edited rows: counted in the nearest month, shown, not hidden
        click.echo(f"note: {odd.describe()}; their findings count in 0001-01 or 9999-12")
    timing = ", ".join(f"{k} {v:.2f}" for k, v in report.seconds.items())
    click.echo(f"seconds: {sum(report.seconds.values()):.2f} ({timing})")


@click.group("settle", invoke_without_command=True)
@click.option("--period", help="YYYY-MM or YYYY-Qn: create a draft run for it.")
@click.option("--kind", type=click.Choice(["final", "partial"]), default="final", show_default=True)
@click.option("--currency", default="EUR", show_default=True, help="Reporting currency.")
@click.option("--as", "username", help="Finance user who creates the run.")
@batch_options
@click.pass_context
def settle_group(
    ctx: click.Context,
    period: str | None,
    kind: str,
    currency: str,
    username: str | None,
    scheduler: str | None,
    snapshot_dir: Path | None,
    rows_per_partition: int | None,
) -> None:
    """Create a draft settlement run (--period); approve or post one (subcommands).

    A run needs two finance users: one creates it, another approves it.
    """
    if ctx.invoked_subcommand is not None:
        if period is not None:
            raise click.UsageError("--period creates a run; leave it out with approve/post")
        return
    if period is None:
        raise click.UsageError("give --period YYYY-MM (or YYYY-Qn), or a subcommand")
    opts, progress = _batch("settle", scheduler, snapshot_dir, rows_per_partition)
    try:
        _create(period, kind, currency, username, opts)
    finally:
        progress.close()


@in_app_context
def _create(
    period: str, kind: str, currency: str, username: str | None, opts: BatchOptions
) -> None:
    from web.db import get_engine

    engine = get_engine()
    actor = finance_actor(username)
    click.echo(f"settling {period} ({kind}) as {actor.username}…", err=True)
    say_if_compiling()
    from settlement.runs import SETTLEMENT_STAGES

    stages = Stages("settle", SETTLEMENT_STAGES)
    try:
        run = settlement.create_run(
            engine, period, kind, actor, reporting_currency=currency, on_stage=stages, batch=opts
        )
        stages.close()
        summary = settlement.run_summary(engine, run.id, actor)
    except settlement.SettlementError as exc:
        stages.close(stopped=True)
        raise _fail(exc) from None
    click.echo(f"run {run.id}: {run.period} {run.kind}, {run.status}, by {run.created_by}")
    for old in settlement.list_runs(engine, period):
        if old.superseded_by == run.id:
            click.echo(f"superseded run {old.id}: {old.note}")
    click.echo(f"checkpoint: tree size {run.tree_size}, root {run.root_hex}")
    click.echo(f"statements: {run.statement_count}")
    click.echo("totals per currency:")
    for ccy, total in sorted(summary.native_by_currency.items()):
        click.echo(f"  {ccy} {settlement.format_minor(total, ccy):>16}")
    rep = summary.reporting_currency
    click.echo(
        f"  = {rep} {settlement.format_minor(summary.grand_total.total, rep):>14}"
        f" (rebates {settlement.format_minor(summary.grand_total.rebates, rep)},"
        f" penalties {settlement.format_minor(summary.grand_total.penalties, rep)})"
    )
    click.echo(f"run hash: {run.run_hash}")
    click.echo(
        f"next: another finance user approves it (hopchain settle approve {run.id} --as USER)"
    )


def _step(action: str, run_id: int, username: str) -> None:
    from web.db import get_engine
    from web.signing import get_signer

    engine = get_engine()
    actor = finance_actor(username)
    try:
        if action == "approve":
            run = settlement.approve_run(engine, run_id, actor)
        else:
            run = settlement.post_run(engine, run_id, actor, signer=get_signer())
    except settlement.SettlementError as exc:
        raise _fail(exc) from None
    click.echo(f"run {run.id}: {run.period} {run.kind}, {run.status} by {actor.username}")
    click.echo(f"run hash: {run.run_hash}")
    if action == "post":
        from web.cli_mail import queue_run_mail

        queue_run_mail(engine, run.id, actor)


@settle_group.command("approve")
@click.argument("run_id", type=int)
@click.option("--as", "username", required=True, help="A finance user other than the creator.")
@in_app_context
def settle_approve(run_id: int, username: str) -> None:
    """Approve a draft run (a different finance user than its creator)."""
    _step("approve", run_id, username)


@settle_group.command("post")
@click.argument("run_id", type=int)
@click.option("--as", "username", required=True, help="A finance user.")
@in_app_context
def settle_post(run_id: int, username: str) -> None:
    """Post an approved run: book its penalties and rewards and freeze it."""
    _step("post", run_id, username)


@click.command("scores")
@click.option("--quarter", required=True, help="YYYY-Qn")
@click.option("--as", "username", help="Finance user who scores (default: the only one).")
@in_app_context
def scores_command(quarter: str, username: str | None) -> None:
    """Score every distributor for a quarter (class A/B/C) and print the scorecard."""
    from web.db import get_engine

    actor = finance_actor(username)
    try:
        scores = settlement.score_partners(get_engine(), quarter, actor)
    except settlement.SettlementError as exc:
        raise _fail(exc) from None
    click.echo(f"{'party':<12} {'class':>5} {'score':>7}  breakdown (points)")
    for s in scores:
        parts = ", ".join(f"{k} {v['points']}" for k, v in s.breakdown.items())
        click.echo(f"{s.party_code:<12} {s.partner_class:>5} {s.score:>7}  {parts}")
    click.echo(f"{len(scores)} distributors scored for {quarter}")


@click.group("settlement")
def settlement_group() -> None:
    """Audit settlement: re-derive posted runs and alerts and check their seals."""


@settlement_group.command("verify")
@in_app_context
def verify_command() -> None:
    """Re-check every posted run and every alert against its seal.

    Re-derives each posted statement's hash from its lines and header, each run's
    hash, each alert's evidence hash from its findings and the ledger entries they
    cite, and checks the signed seals (the ledger key) over them. Prints a JSON
    report; exit 0 when all agree, 1 naming the first bad table and row.
    """
    from web.db import get_engine
    from web.signing import get_signer

    signer = get_signer()
    try:
        report = settlement.verify_settlement(get_engine(), signer.public_key, signer.name)
    except settlement.SettlementIntegrityError as exc:
        click.echo(f"TAMPERED: {exc}", err=True)
        click.echo(json.dumps(exc.as_json()))
        sys.exit(1)
    click.echo(json.dumps(report.as_json()))


@settlement_group.command("seal")
@in_app_context
def seal_command() -> None:
    """Seal posted runs that have no seal (posted before runs were sealed).

    Each is sealed only once its statement hashes, totals, run hash and adjustments
    verify; if one does not, none is sealed: exit 1 naming it. Prints the run ids
    sealed as JSON.
    """
    from web.db import get_engine
    from web.signing import get_signer

    try:
        sealed = settlement.seal_unsealed_runs(get_engine(), get_signer())
    except settlement.SettlementIntegrityError as exc:
        click.echo(f"TAMPERED: {exc}", err=True)
        click.echo(json.dumps(exc.as_json()))
        sys.exit(1)
    click.echo(json.dumps({"ok": True, "sealed": sealed}))


COMMANDS = (detect_command, settle_group, scores_command, settlement_group)
