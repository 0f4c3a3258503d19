"""The command line starts light, says how to make an instance, and shows progress.

- ``hopchain --help`` and ``hopchain scan parse`` import no numba, matplotlib,
  reportlab, SQLAlchemy, Alembic or database layer (timings: the benchmark
  benchmarks/compare_cli_startup.py, never asserted here).
- A command run outside an instance exits 1 with one line saying how to make
  one; never a traceback, and nothing is created.
- Long commands write one line per stage on stderr when it is not a terminal.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import ledger
import scanners
import settlement
from web.cli import CliState, build_cli
from web.progress import Progress

Cli = Callable[..., Result]

HEAVY = (
    "numba", "matplotlib", "reportlab", "sqlalchemy", "alembic", "web.db", "geo",
    "flask", "jinja2", "werkzeug", "web.app",
)  # fmt: skip

_PROBE = """
import json, sys
heavy = json.loads(sys.argv[2])
sys.argv = ["hopchain", *json.loads(sys.argv[1])]
from web.cli import main
try:
    main()
except SystemExit:
    pass
print("LOADED " + json.dumps(sorted(
    m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)
)), file=sys.stderr)
"""


def _loaded_modules(args: list[str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args), json.dumps(heavy)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED "))
    loaded: list[str] = json.loads(line.removeprefix("LOADED "))
    return loaded


@pytest.mark.parametrize(
    "args",
    [["--help"], ["scan", "parse", "(01)09506000134352(21)S1"], ["ledger", "verify", "--help"]],
    ids=["help", "scan-parse", "ledger-verify-help"],
)
def test_light_commands_import_no_heavy_module(args: list[str]) -> None:
    assert _loaded_modules(args) == []


@pytest.mark.parametrize(
    "args", [["--help"], ["ledger", "verify", "--help"]], ids=["help", "ledger-verify-help"]
)
def test_help_does_not_load_the_scanners(args: list[str]) -> None:
    """The GS1 parser (biip, its company-prefix table) is for ``scan`` commands only."""
    assert _loaded_modules(args, ("scanners", "biip")) == []


def test_the_probe_sees_heavy_modules_when_a_command_loads_them() -> None:
    # The same probe on a command that needs the image decoders: it must see them.
    loaded = _loaded_modules(["scan", "decode", "/nonexistent.png"], ("scanners.decode",))
    assert loaded == ["scanners.decode"]


def test_scan_parse_still_parses_in_a_fresh_process() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv=['hopchain','scan','parse','(01)09506000134352(21)S1'];"
            " from web.cli import main; main()",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gtin"] == "09506000134352"


def test_lazy_packages_keep_every_public_name() -> None:
    for package in (ledger, scanners, settlement):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
        assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = settlement.not_a_name  # type: ignore[attr-defined]


def test_scanners_parse_is_the_function_even_after_importing_the_submodule() -> None:
    code = (
        "import scanners.parse, scanners.commands\n"
        "from scanners import parse\n"
        "print(callable(parse) and parse.__module__ == 'scanners.parse')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "True", done.stderr


NEEDS_INSTANCE = [
    ["ledger", "verify"],
    ["ledger", "checkpoint"],
    ["ledger", "proof", "--seq", "0"],
    ["detect"],
    ["settle", "--period", "2026-08"],
    ["token", "create", "--role", "admin"],
    ["user", "create", "bob", "--role", "admin", "--password-stdin"],
    ["user", "unlock", "bob"],
    ["device", "list"],
    ["territories", "list"],
    ["demo"],
    ["settlement", "verify"],
    ["scores", "--quarter", "2026-Q3"],
    ["serve"],
]


@pytest.mark.parametrize("args", NEEDS_INSTANCE, ids=lambda a: "-".join(a[:2]))
def test_outside_an_instance_one_line_says_how_to_make_one(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOPCHAIN_DATABASE_URL", raising=False)
    nowhere = tmp_path / "nothing-here"
    state = CliState(test_config={"INSTANCE_PATH": nowhere})
    result = CliRunner().invoke(build_cli(), args, obj=state, input="password\n")
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.splitlines() == [
        f"Error: no hopchain instance at {nowhere}: run `hopchain init` (or set HOPCHAIN_INSTANCE)"
    ]
    assert not nowhere.exists()  # nothing was created


def test_import_outside_an_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOPCHAIN_DATABASE_URL", raising=False)
    prices = tmp_path / "prices.csv"
    prices.write_text("gtin,currency,valid_from,list_price\n")
    state = CliState(test_config={"INSTANCE_PATH": tmp_path / "none"})
    result = CliRunner().invoke(build_cli(), ["import", "prices", str(prices)], obj=state)
    assert result.exit_code == 1
    assert "no hopchain instance at" in result.output
    assert len(result.output.splitlines()) == 1


def test_the_installed_command_outside_an_instance_prints_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HOPCHAIN_DATABASE_URL"}
    env["HOPCHAIN_INSTANCE"] = str(tmp_path / "nothing-here")
    done = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", "ledger", "verify"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"Error: no hopchain instance at {tmp_path / 'nothing-here'}:"
        " run `hopchain init` (or set HOPCHAIN_INSTANCE)"
    ]
    assert not (tmp_path / "instance").exists() and not (tmp_path / "nothing-here").exists()


def test_a_database_never_migrated_says_run_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOPCHAIN_DATABASE_URL", raising=False)
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "hopchain.db").touch()
    state = CliState(test_config={"INSTANCE_PATH": instance, "SECRET_KEY": "t"})
    result = CliRunner().invoke(build_cli(), ["device", "list"], obj=state)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: the database sqlite:///{instance}/hopchain.db has no hopchain tables yet:"
        " run `hopchain init` (or `hopchain db upgrade`)"
    ]


def test_a_database_that_cannot_be_opened_says_so(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:9/hopchain"  # port 9 (discard): refused
    state = CliState(
        test_config={"INSTANCE_PATH": tmp_path / "i", "DATABASE_URL": url, "SECRET_KEY": "t"}
    )
    result = CliRunner().invoke(build_cli(), ["device", "list"], obj=state)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: cannot open the database {url}: check HOPCHAIN_DATABASE_URL"
        " and that its server is running"
    ]


def test_init_still_makes_the_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOPCHAIN_DATABASE_URL", raising=False)
    instance = tmp_path / "new"
    state = CliState(test_config={"INSTANCE_PATH": instance, "SECRET_KEY": "t"})
    result = CliRunner().invoke(build_cli(), ["init"], obj=state, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    later = CliState(test_config={"INSTANCE_PATH": instance, "SECRET_KEY": "t"})
    listed = CliRunner().invoke(build_cli(), ["device", "list"], obj=later)
    assert listed.exit_code == 0, listed.output
    for s in (state, later):
        if s._app is not None:
            from web.db import get_engine

            with s._app.app_context():
                get_engine().dispose()


def test_a_missing_signing_key_is_one_line(run_cli: Cli) -> None:
    result = run_cli("ledger", "checkpoint")  # the test instance has no key before init
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"Error: no signing key at /\S+: run `hopchain init` first", lines[0])
    assert "Traceback" not in result.output


def test_ledger_verify_writes_one_progress_line_when_not_a_terminal(run_cli: Cli) -> None:
    assert run_cli("init").exit_code == 0
    result = run_cli("ledger", "verify")
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("verifying the ledger: 0 entries in ")
    assert json.loads(result.stdout)["ok"] is True


def test_ledger_verify_quiet_writes_nothing_on_stderr(run_cli: Cli) -> None:
    assert run_cli("init").exit_code == 0
    result = run_cli("ledger", "verify", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_a_line_otherwise() -> None:
    log, terminal = io.StringIO(), _Terminal()
    for stream in (log, terminal):
        stage = Progress("appending scans", "scans", stream=stream)
        stage.update(500, 1000)
        stage.update(1000, 1000)
        stage.close()
        stage.close()  # idempotent
    assert log.getvalue().startswith("appending scans: 1,000 scans in ")
    assert log.getvalue().count("\n") == 1
    assert "\r" in terminal.getvalue() and "1.00k/1.00k" in terminal.getvalue()


def test_detect_says_when_it_compiles_the_kernels(tmp_path: Path) -> None:
    # A fresh NUMBA_CACHE_DIR holds no compiled kernel: the line is written; once
    # the cache has an index file for the kernels, it is not.
    code = (
        "from pathlib import Path\n"
        "from web.cli_settlement import say_if_compiling\n"
        "from settlement import kernels\n"
        "say_if_compiling()\n"
        "folder = next(k._cache._cache_path for k in vars(kernels).values()"
        " if hasattr(k, '_cache'))\n"
        "Path(folder).mkdir(parents=True, exist_ok=True)\n"
        "(Path(folder) / 'kernels.speed_flags-1.py311.nbi').touch()\n"
        "print('--', file=__import__('sys').stderr)\n"
        "say_if_compiling()\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stderr.split("--\n")
    assert before == "compiling the detection kernels once (numba; cached for later runs)…\n"
    assert after == ""
