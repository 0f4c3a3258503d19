"""``hopchain demo`` builds a realistic, verifiable network, and the seed fixes it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from tests._worlds import DEMO_TWO_MONTHS, Ran
from web.cli import CliState, build_cli

Cli = Callable[..., Result]


def _root(output: str) -> str:
    match = re.search(r"root ([0-9a-f]{64})", output)
    assert match, output
    return match.group(1)


def test_demo_writes_a_verifiable_network_with_diversion(
    run_cli: Cli, cli_world: Callable[..., list[Ran]], engine: Engine
) -> None:
    init, out = cli_world(*DEMO_TWO_MONTHS)  # the credit test reads the same demo
    assert init.exit_code == 0
    assert out.exit_code == 0, out.output
    assert "160 units, 4 distributors" in out.output
    verify = run_cli("ledger", "verify", "--quiet")
    assert verify.exit_code == 0, verify.output
    with engine.connect() as conn:
        kinds = dict(conn.exec_driver_sql("SELECT kind, COUNT(*) FROM entries GROUP BY kind").all())
        located = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM entries WHERE lat_e6 IS NULL"
        ).scalar_one()
        territories = conn.exec_driver_sql("SELECT COUNT(*) FROM territories").scalar_one()
    assert kinds["retail_selling"] > 100 and kinds["shipping"] > 100
    assert located == 0  # every scan has a place, from its site or its own coordinates
    assert territories > 150  # the world's countries
    # sign-in accounts were made for every role
    assert re.search(r"^\s+finance2\s+\S+$", out.output, re.M)

    again = run_cli("demo", "--units", "10", "--distributors", "2")
    assert again.exit_code != 0 and "already holds a demo network" in again.output


def test_the_same_seed_gives_the_same_ledger(tmp_path_factory: pytest.TempPathFactory) -> None:
    roots = []
    for n in range(2):
        base = tmp_path_factory.mktemp(f"seeded{n}")
        config = {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{base}/h.db",
            "INSTANCE_PATH": base / "i",
            "SECRET_KEY": "t",
        }
        for args in (
            ["init"],
            ["demo", "--units", "60", "--distributors", "3", "--months", "1", "--seed", "11"],
        ):
            result = CliRunner().invoke(
                build_cli(), args, obj=CliState(test_config=config), catch_exceptions=False
            )
            assert result.exit_code == 0, result.output
        roots.append(_root(result.output))
    assert roots[0] == roots[1]
