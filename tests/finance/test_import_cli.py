"""``hopchain import KIND FILE [--dry-run] [--as USER]`` as finance uses it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from sqlalchemy import Engine

from tests.finance._reference_world import EXAMPLES, add_parties, snapshot


def test_import_prints_what_it_did_and_a_second_time_nothing(
    engine: Engine, run_cli: Callable[..., Result], make_user: Callable[..., int]
) -> None:
    make_user("fiona", "finance")
    first = run_cli("import", "prices", str(EXAMPLES / "prices.csv"))
    assert first.exit_code == 0, first.output
    assert (
        "prices.csv (csv) as fiona: 6 rows read; 6 created, 0 updated, 0 unchanged" in first.output
    )
    assert "row 2     created  04012345000016|EUR|2026-01-01" in first.output

    again = run_cli("import", "prices", str(EXAMPLES / "prices.csv"))
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 6 unchanged" in again.output
    assert "row 2" not in again.output


def test_the_ecb_file_as_finance_downloads_it(
    engine: Engine, run_cli: Callable[..., Result], make_user: Callable[..., int]
) -> None:
    make_user("fiona", "finance")
    result = run_cli("import", "fx", str(EXAMPLES / "ecb-eurofxref.csv"))
    assert result.exit_code == 0, result.output
    assert "(ecb-csv)" in result.output and "30 created" in result.output
    assert "2026-10|EUR|USD" in result.output


def test_a_bad_file_exits_1_naming_every_problem_and_stores_nothing(
    engine: Engine, run_cli: Callable[..., Result], make_user: Callable[..., int], tmp_path: Path
) -> None:
    make_user("fiona", "finance")
    bad = tmp_path / "prices.csv"
    bad.write_text(
        "gtin,currency,valid_from,list_price\n"
        "04012345000016,EUR,2026-01-01,12.50\n"
        "04012345000017,EUR,2026-01-01,12.50\n"
        "04012345000023,JPY,2026-01-01,12.50\n"
    )
    before = snapshot(engine)
    for args in ((), ("--dry-run",)):
        result = run_cli("import", "prices", str(bad), *args)
        assert result.exit_code == 1, result.output
        assert "prices.csv: nothing was imported; 2 problems:" in result.output
        assert "row 3, column gtin: 04012345000017 has check digit 7" in result.output
        assert (
            "row 4, column list_price: 12.50 has 2 decimals; JPY has no decimals" in result.output
        )
        assert "Traceback" not in result.output
    assert snapshot(engine) == before


def test_dry_run_counts_and_stores_nothing(
    engine: Engine, run_cli: Callable[..., Result], make_user: Callable[..., int]
) -> None:
    add_parties(engine)
    make_user("fiona", "finance")
    before = snapshot(engine)
    result = run_cli("import", "deposits", str(EXAMPLES / "deposits.csv"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output and "dry run: nothing was stored" in result.output
    assert snapshot(engine) == before


def test_as_names_the_finance_user_and_refuses_others(
    engine: Engine, run_cli: Callable[..., Result], make_user: Callable[..., int]
) -> None:
    make_user("fiona", "finance")
    make_user("frank", "finance")
    make_user("carla", "channel_manager")
    ok = run_cli("import", "programs", str(EXAMPLES / "program.yaml"), "--as", "frank")
    assert ok.exit_code == 0, ok.output
    assert "(yaml) as frank" in ok.output
    refused = run_cli("import", "programs", str(EXAMPLES / "program.yaml"), "--as", "carla")
    assert refused.exit_code == 1
    assert "carla is channel_manager" in refused.output


def test_without_a_finance_user_it_says_how_to_make_one(
    engine: Engine, run_cli: Callable[..., Result]
) -> None:
    result = run_cli("import", "prices", str(EXAMPLES / "prices.csv"))
    assert result.exit_code == 1
    assert "hopchain user create NAME --role finance" in result.output


def test_an_unknown_kind_lists_the_kinds(engine: Engine, run_cli: Callable[..., Result]) -> None:
    result = run_cli("import", "widgets", str(EXAMPLES / "prices.csv"))
    assert result.exit_code == 2
    assert "prices" in result.output and "deposit-agreements" in result.output
