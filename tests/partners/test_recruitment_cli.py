"""``hopchain prospects list|show|move`` and ``hopchain trials due``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from click.testing import Result
from sqlalchemy import Engine

from partners import recruitment as rc
from tests.partners._recruit_world import APPLICATION, PM, walk_to

Cli = Callable[..., Result]


def test_list_show_and_move(engine: Engine, run_cli: Cli, make_user: Callable[..., int]) -> None:
    assert run_cli("init").exit_code == 0
    pid, ref = rc.submit_application(engine, APPLICATION)
    listed = run_cli("prospects", "list", "--stage", "application")
    assert listed.exit_code == 0 and ref in listed.output and "application" in listed.output
    refused = run_cli("prospects", "move", str(pid), "screening")
    assert refused.exit_code == 1 and "no active partner manager" in refused.output
    make_user("rita", "partner_manager")
    moved = run_cli("prospects", "move", str(pid), "site_visit")
    assert moved.exit_code == 1
    assert "it may move to screening, rejected, withdrawn, not to site_visit" in moved.output
    moved = run_cli("prospects", "move", str(pid), "screening", "--due", "2026-12-24")
    assert moved.exit_code == 0 and f"{ref} is at screening" in moved.output
    shown = run_cli("prospects", "show", str(pid))
    assert shown.exit_code == 0
    assert "screening due 2026-12-24 by rita" in shown.output
    assert "qualification: -" in shown.output
    assert run_cli("prospects", "show", "999").exit_code == 1


def test_trials_due_raises_and_prints_the_tasks(
    engine: Engine, run_cli: Cli, make_party: Callable[..., int]
) -> None:
    assert run_cli("init").exit_code == 0
    pid = walk_to(engine, "signing")
    rc.sign(engine, pid, "CN-BRIGHT", PM, today=dt.date(2026, 9, 1))
    early = run_cli("trials", "due", "--today", "2026-10-01")
    assert early.exit_code == 0 and "trial_end" not in early.output
    late = run_cli("trials", "due", "--today", "2026-12-01")
    assert late.exit_code == 0
    assert (
        "trial_end" in late.output
        and "Decide the trial of CN-BRIGHT: it ended on 2026-11-29" in late.output
    )
    assert run_cli("trials", "due", "--today", "someday").exit_code == 2
