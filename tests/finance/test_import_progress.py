"""``hopchain import`` says on stderr what it is doing, stage by stage.

Off a terminal each stage writes one line as it begins and the import one line
with its time; a rejected file says where it stopped before listing its problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from sqlalchemy import Engine

from settlement.imports import IMPORT_STAGES
from tests.finance._reference_world import EXAMPLES


def _stages(stderr: str) -> list[str]:
    return re.findall(r"^import \[\d/3\]: (.+)…$", stderr, re.MULTILINE)


def test_import_writes_each_stage_in_order_on_stderr(
    engine: Engine, run_cli: Callable[..., Result], make_user: Callable[..., int]
) -> None:
    make_user("fiona", "finance")
    result = run_cli("import", "prices", str(EXAMPLES / "prices.csv"), "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "import: checking prices in prices.csv (dry run)…"
    assert lines[1:4] == [
        "import [1/3]: reading the file and its party codes…",
        "import [2/3]: checking every row…",
        "import [3/3]: writing the rows (rolled back on a dry run)…",
    ]
    assert _stages(result.stderr) == list(IMPORT_STAGES)
    assert re.fullmatch(r"import: done in \d+\.\d s", lines[4])
    assert len(lines) == 5 and "\r" not in result.stderr
    assert "6 rows read" in result.stdout and "import [" not in result.stdout


def test_a_rejected_import_stops_at_the_check_and_lists_its_problems(
    engine: Engine, run_cli: Callable[..., Result], make_user: Callable[..., int], tmp_path: Path
) -> None:
    make_user("fiona", "finance")
    bad = tmp_path / "prices.csv"
    bad.write_text("gtin,currency,valid_from,list_price\n04012345000017,EUR,2026-01-01,12.50\n")
    result = run_cli("import", "prices", str(bad))
    assert result.exit_code == 1
    assert _stages(result.stderr) == list(IMPORT_STAGES[:2])
    lines = result.stderr.splitlines()
    assert re.fullmatch(r"import: stopped after \d+\.\d s", lines[3])
    assert lines[4] == "prices.csv: nothing was imported; 1 problem:"
    assert "done in" not in result.stderr
