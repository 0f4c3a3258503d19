"""Command line start-up: wall time of short ``hopchain`` commands, beside an empty
Python and beside the same commands before the start-up work (issue 11), in the
same run.

    python benchmarks/compare_cli_startup.py [--runs 15] [--before COMMIT]

Each command runs ``--runs`` times as a fresh subprocess of this interpreter
(``python -c "from web.cli import main; main()" ARGS``, which is what the
``hopchain`` console script does); the median wall time is printed.

- ``python -c pass``: the interpreter alone, the floor.
- ``hopchain --help``, ``hopchain scan parse '(01)09506000134352(21)S1'``,
  ``hopchain ledger verify --help``: the goal is under 0.5 s each.
- "before": the same commands from a ``git worktree`` of ``--before`` (default:
  the commit before the lazy imports, ``3a01974^``) made in a temporary folder,
  run with this interpreter and ``PYTHONPATH`` pointing at that worktree (so the
  same installed libraries, only our code differs). Skipped with ``--before ''``.

The ratio is now / before (lower is better).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS: tuple[tuple[str, list[str]], ...] = (
    ("hopchain --help", ["--help"]),
    (
        "hopchain scan parse '(01)09506000134352(21)S1'",
        ["scan", "parse", "(01)09506000134352(21)S1"],
    ),
    ("hopchain ledger verify --help", ["ledger", "verify", "--help"]),
)
_MAIN = "from web.cli import main; main()"


def median_seconds(argv: list[str], runs: int, code_root: Path) -> float:
    """Median wall time of ``runs`` fresh runs of ``argv`` with ``code_root`` first on
    ``PYTHONPATH`` (and as the working folder, so its packages are the ones imported)."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            argv, cwd=code_root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            check=False,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--before", default="3a01974^", help="commit to compare with ('' = none)")
    args = parser.parse_args()

    before_root: Path | None = None
    tmp = Path(tempfile.mkdtemp(prefix="cli_before_"))
    try:
        if args.before:
            before_root = tmp / "tree"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(before_root), args.before],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
        python = [sys.executable]
        floor = median_seconds([*python, "-c", "pass"], args.runs, ROOT)
        print(f"median of {args.runs} runs; python -c pass: {floor:.3f} s")
        print(f"{'command':<52} {'now s':>7} {'before s':>9} {'now/before':>11} {'now/python':>11}")
        for label, command in COMMANDS:
            now = median_seconds([*python, "-c", _MAIN, *command], args.runs, ROOT)
            if before_root is not None:
                before = median_seconds([*python, "-c", _MAIN, *command], args.runs, before_root)
                was, ratio = f"{before:.3f}", f"{now / before:.2f}x"
            else:
                was, ratio = "-", "-"
            print(f"{label:<52} {now:>7.3f} {was:>9} {ratio:>11} {now / floor:>10.1f}x")
    finally:
        if before_root is not None:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(before_root)],
                cwd=ROOT, check=False, capture_output=True,
            )  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
