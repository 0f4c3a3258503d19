"""``hopchain detect`` and ``hopchain settle`` through a partitioned snapshot
(``--snapshot-dir``, no scheduler: the partitions run here one after the other) say
so on stderr, count the partitions as they finish and give the answers of the run
in one piece. (On a Dask cluster: tests/settlement/test_batch_cluster.py.)"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from _settlement_web import Demo
from click.testing import Result


def _findings(output: str) -> list[tuple[str, int]]:
    block = output.split("findings:", 1)[1].split("alerts:", 1)[0]
    return [
        (k, int(v.replace(",", ""))) for k, v in re.findall(r"^\s+(\w+)\s+([\d,]+)$", block, re.M)
    ]


def _run_hash(output: str) -> str:
    found = re.search(r"^run hash: ([0-9a-f]{64})$", output, re.M)
    assert found, output
    return found.group(1)


def test_detect_and_settle_through_partitions_answer_as_in_one_piece(
    demo: Demo, run_cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOPCHAIN_DASK_SCHEDULER", raising=False)
    monkeypatch.delenv("HOPCHAIN_SNAPSHOT_DIR", raising=False)
    whole = demo.detect_output
    snaps = tmp_path / "snapshots"
    split = run_cli("detect", "--snapshot-dir", str(snaps), "--rows-per-partition", "400")
    assert split.exit_code == 0, split.output
    assert f"partition by partition in this process, snapshot under {snaps}" in split.stderr
    n = re.search(r"^detect: partitions: (\d+) partitions in \d+\.\d s$", split.stderr, re.M)
    assert n and int(n.group(1)) >= 3, split.stderr
    assert _findings(split.stdout) == _findings(whole) and sum(v for _, v in _findings(whole)) > 0
    assert "alerts: 0 created" in split.stdout  # the same alerts, found again
    [snapshot] = list(snaps.iterdir())
    assert (snapshot / "snapshot.json").is_file()

    one = run_cli("settle", "--period", "2026-09", "--as", "finance")
    assert one.exit_code == 0, one.output
    parts = run_cli(
        "settle", "--period", "2026-09", "--as", "finance",
        "--snapshot-dir", str(snaps), "--rows-per-partition", "400",
    )  # fmt: skip
    assert parts.exit_code == 0, parts.output
    assert re.search(r"^settle: partitions: \d+ partitions in", parts.stderr, re.M)
    assert _run_hash(parts.stdout) == _run_hash(one.stdout)  # every statement the same


def test_a_partition_size_below_one_is_refused_by_the_command_line(
    run_cli: Callable[..., Result],
) -> None:
    result = run_cli("detect", "--rows-per-partition", "0")
    assert result.exit_code == 2
    assert "--rows-per-partition" in result.output and "0 is not in the range x>=1" in result.output


@pytest.mark.parametrize(
    "command", [["detect"], ["settle", "--period", "2026-09", "--as", "finance"]]
)
def test_a_scheduler_address_from_the_setting_is_refused_naming_the_setting(
    demo: Demo,
    run_cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    """Given by HOPCHAIN_DASK_SCHEDULER (click reads it as --scheduler's default), a
    bad address is refused in words naming the setting, not the option; no traceback."""
    monkeypatch.setenv("HOPCHAIN_DASK_SCHEDULER", "scheduler-host")  # no port
    result = run_cli(*command)
    assert result.exit_code == 1, result.output
    assert "HOPCHAIN_DASK_SCHEDULER 'scheduler-host' is not a Dask scheduler address" in (
        result.output
    )
    assert "Traceback" not in result.output and "--scheduler" not in result.output
    given = run_cli(*command, "--scheduler", "inproc://x")
    assert given.exit_code == 1, given.output
    assert "--scheduler 'inproc://x' is not a Dask scheduler address hopchain can reach" in (
        given.output
    )
