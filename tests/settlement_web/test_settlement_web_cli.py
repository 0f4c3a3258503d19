"""``hopchain detect``, ``hopchain settle`` (create, approve, post) and ``hopchain scores``."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from _settlement_web import Demo
from click.testing import Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import settlement
from ledger import EntryKind, Hop, append_hops
from ledger.models import Party, Unit
from settlement.models import Alert, SettlementRun, Statement, StatementLine


def _alert_count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Alert)) or 0)


def test_detect_reports_findings_and_a_second_run_creates_no_alert(
    engine: Engine, demo: Demo, run_cli: Callable[..., Result]
) -> None:
    first = demo.detect_output
    created = int(re.search(r"alerts: (\d+) created", first).group(1))  # type: ignore[union-attr]
    assert created > 0
    assert created == _alert_count(engine)
    assert re.search(r"out_of_zone\s+\d+", first)
    assert "checkpoint: tree size" in first and "seconds:" in first

    again = run_cli("detect")
    assert again.exit_code == 0, again.output
    assert "alerts: 0 created" in again.output
    assert _alert_count(engine) == created
    # off a terminal each stage says when it begins, then the whole run how long it took
    stages = re.findall(r"detect \[(\d)/4\]: ([a-z ]+)…", again.output)
    assert [int(n) for n, _ in stages] == [1, 2, 3, 4]
    assert stages[0][1] == "reading the ledger as of the checkpoint"
    assert re.search(r"detect: done in \d+\.\d s", again.output)


def test_detect_signs_a_checkpoint_when_the_ledger_has_grown(
    engine: Engine, demo: Demo, run_cli: Callable[..., Result]
) -> None:
    size_before, _ = settlement.latest_checkpoint(engine)
    with Session(engine) as s:
        key = s.scalars(select(Unit.key).order_by(Unit.id).limit(1)).one()
        holder = s.scalars(select(Party.code).where(Party.kind == "distributor").limit(1)).one()
    append_hops(
        engine, [Hop(unit=key, kind=EntryKind.INSPECTING, party=holder, at_ms=1_789_900_000_000)]
    )
    result = run_cli("detect")
    assert result.exit_code == 0, result.output
    size_after, _ = settlement.latest_checkpoint(engine)
    assert size_after == size_before + 1
    assert f"tree size {size_after}" in result.output


def test_detect_on_an_empty_ledger_finds_nothing(run_cli: Callable[..., Result]) -> None:
    assert run_cli("init").exit_code == 0
    result = run_cli("detect")
    assert result.exit_code == 0, result.output
    assert "tree size 0" in result.output
    assert "alerts: 0 created, 0 updated" in result.output


def _run_id(output: str) -> int:
    match = re.search(r"^run (\d+):", output, re.MULTILINE)
    assert match, output
    return int(match.group(1))


def test_settle_draft_approve_post_and_the_posted_run_is_frozen(
    engine: Engine, demo: Demo, run_cli: Callable[..., Result]
) -> None:
    made = run_cli("settle", "--period", "2026-09", "--as", "finance")
    assert made.exit_code == 0, made.output
    run_id = _run_id(made.output)
    assert "draft, by finance" in made.output
    assert re.search(r"statements: 4$", made.output, re.MULTILINE)
    assert re.search(r"run hash: [0-9a-f]{64}", made.output)
    assert re.search(r"^  EUR\s+-?\d+\.\d\d$", made.output, re.MULTILINE)

    same = run_cli("settle", "approve", str(run_id), "--as", "finance")
    assert same.exit_code != 0
    assert "a different finance user must approve it" in same.output

    not_finance = run_cli("settle", "approve", str(run_id), "--as", "channel")
    assert not_finance.exit_code != 0
    assert "channel_manager; runs need a finance user" in not_finance.output

    premature = run_cli("settle", "post", str(run_id), "--as", "finance2")
    assert premature.exit_code != 0 and "only an approved run can be posted" in premature.output

    approved = run_cli("settle", "approve", str(run_id), "--as", "finance2")
    assert approved.exit_code == 0, approved.output
    assert "approved by finance2" in approved.output
    posted = run_cli("settle", "post", str(run_id), "--as", "finance")
    assert posted.exit_code == 0, posted.output
    assert "posted by finance" in posted.output

    again = run_cli("settle", "approve", str(run_id), "--as", "finance2")
    assert again.exit_code != 0 and "is posted" in again.output
    # A second final run of a posted period is refused with the reason.
    second = run_cli("settle", "--period", "2026-09")
    assert second.exit_code != 0 and "settled by posted run" in second.output
    # Frozen even through the ORM.
    with Session(engine) as s:
        line_id = s.scalars(
            select(StatementLine.id)
            .join(Statement, Statement.id == StatementLine.statement_id)
            .where(Statement.run_id == run_id)
            .limit(1)
        ).one()
        line = s.get(StatementLine, line_id)
        assert line is not None
        line.amount_minor += 1
        with pytest.raises(settlement.RunStateError):
            s.commit()
    with Session(engine) as s:
        run = s.get(SettlementRun, run_id)
        assert run is not None and run.status == "posted"
        s.delete(run)
        with pytest.raises(settlement.RunStateError):
            s.commit()


def test_settle_needs_a_period_or_a_subcommand(run_cli: Callable[..., Result]) -> None:
    result = run_cli("settle")
    assert result.exit_code == 2
    assert "--period" in result.output


def test_settle_names_a_bad_period(demo: Demo, run_cli: Callable[..., Result]) -> None:
    result = run_cli("settle", "--period", "2026-13")
    assert result.exit_code == 1
    assert "neither YYYY-MM nor YYYY-Qn" in result.output


def test_scores_prints_every_distributor_with_its_class(
    demo: Demo, run_cli: Callable[..., Result]
) -> None:
    result = run_cli("scores", "--quarter", "2026-Q3")
    assert result.exit_code == 0, result.output
    for code in demo.distributors:
        assert re.search(rf"^{code}\s+[ABC]\s+\d+\.\d\d", result.output, re.MULTILINE)
    assert "4 distributors scored for 2026-Q3" in result.output
