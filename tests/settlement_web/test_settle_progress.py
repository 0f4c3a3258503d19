"""``hopchain settle --period`` and ``hopchain demo`` say on stderr what they are doing.

Off a terminal (click's test runner, a log, cron) each stage of a run writes one
line as it begins (``settle [2/4]: valuing sales…``) and the run one line with its
time; stdout keeps only the run's result. A run that fails part way says where it
stopped, then the error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from _settlement_web import Demo
from click.testing import Result

from settlement.runs import SETTLEMENT_STAGES


def _stage_lines(stderr: str, command: str) -> list[tuple[int, int, str]]:
    return [
        (int(n), int(of), name)
        for n, of, name in re.findall(rf"^{command} \[(\d)/(\d)\]: (.+)…$", stderr, re.MULTILINE)
    ]


def test_settle_writes_each_stage_in_order_on_stderr(
    demo: Demo, run_cli: Callable[..., Result]
) -> None:
    made = run_cli("settle", "--period", "2026-09", "--as", "finance")
    assert made.exit_code == 0, made.output
    assert _stage_lines(made.stderr, "settle") == [
        (1, 4, "reading the ledger as of the checkpoint"),
        (2, 4, "valuing sales at the period's prices and FX rates"),
        (3, 4, "computing penalties, rewards and statements"),
        (4, 4, "writing the run and its statements"),
    ]
    assert [name for _, _, name in _stage_lines(made.stderr, "settle")] == list(SETTLEMENT_STAGES)
    assert re.search(r"^settle: done in \d+\.\d s$", made.stderr, re.MULTILINE)
    assert "\r" not in made.stderr  # no bar off a terminal
    # the result stays on stdout, the progress off it
    assert "settle [" not in made.stdout and re.search(r"^run \d+:", made.stdout, re.M)


def test_a_settle_that_fails_says_where_it_stopped(
    demo: Demo, run_cli: Callable[..., Result]
) -> None:
    # No FX rate from the demo's currencies into CHF: the run stops while valuing sales.
    failed = run_cli("settle", "--period", "2026-09", "--as", "finance", "--currency", "CHF")
    assert failed.exit_code == 1, failed.output
    names = [name for _, _, name in _stage_lines(failed.stderr, "settle")]
    assert names == list(SETTLEMENT_STAGES[:2])
    lines = failed.stderr.splitlines()
    stopped = next(i for i, x in enumerate(lines) if x.startswith("settle: stopped after "))
    assert lines[stopped + 1].startswith("Error: ") and "CHF" in lines[stopped + 1]
    assert "done in" not in failed.stderr


@pytest.mark.slow  # a whole demo built through the command line
def test_demo_still_shows_its_stages(run_cli: Callable[..., Result]) -> None:
    assert run_cli("init").exit_code == 0
    made = run_cli(
        "demo", "--units", "20", "--distributors", "2", "--months", "1", "--start", "2026-09"
    )
    assert made.exit_code == 0, made.output
    assert made.stderr.startswith("demo: products, prices, territories")
    assert re.search(r"^demo: appending scans: [\d,]+ scans in \d+\.\d s$", made.stderr, re.M)
