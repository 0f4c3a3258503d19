"""Issue 8, "must show": after ``hopchain demo``, finance settles the current month
from files it imports itself, in EUR and in USD, and without them the error says
which file to import and which rows are missing."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine, text

from settlement import period_bounds
from tests._worlds import Ran

# end to end (issue 8): a demo of three months settled from imported files
pytestmark = pytest.mark.slow

Cli = Callable[..., Result]
World = Callable[..., list[Ran]]

# The ECB's eurofxref.csv as published (units of currency per EUR, trailing comma).
ECB_NOVEMBER = (
    "Date, USD, JPY, GBP, CHF, CNY, \n30 November 2026, 1.0840, 162.50, 0.8610, 0.9420, 7.8125, \n"
)


def _demo(cli_world: World) -> None:
    """The demo (6 distributors, the last three months), detected: built once per
    session and engine, copied into the test's database."""
    init, out, detected = cli_world(
        ("init",),
        ("demo", "--units", "200", "--distributors", "6", "--months", "3", "--seed", "5"),
        ("detect",),
    )
    assert init.exit_code == 0
    assert out.exit_code == 0, out.output
    assert detected.exit_code == 0


def test_finance_settles_the_current_month_from_imported_files(
    run_cli: Cli, cli_world: World, engine: Engine, tmp_path: Path
) -> None:
    _demo(cli_world)
    with engine.connect() as conn:
        currencies = {c for (c,) in conn.execute(text("SELECT DISTINCT currency FROM parties"))}
    assert currencies - {"EUR"}, "the demo has distributors outside the euro area"

    # No November rates yet: the error names the command, the layout and the rows.
    failed = run_cli("settle", "--period", "2026-11")
    assert failed.exit_code == 1
    assert "no FX rate for 2026-11" in failed.output
    assert "hopchain import fx FILE" in failed.output and "ECB reference-rate CSV" in failed.output
    missing = re.findall(r"2026-11,([A-Z]{3}),([A-Z]{3})", failed.output)
    assert missing and all("EUR" in pair for pair in missing)

    ecb = tmp_path / "eurofxref.csv"
    ecb.write_text(ECB_NOVEMBER)
    dry = run_cli("import", "fx", str(ecb), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert run_cli("settle", "--period", "2026-11").exit_code == 1  # a dry run stored nothing
    imported = run_cli("import", "fx", str(ecb))
    assert imported.exit_code == 0, imported.output

    eur = run_cli("settle", "--period", "2026-11")
    assert eur.exit_code == 0, eur.output
    assert re.search(r"run \d+: 2026-11 final, draft", eur.output)
    # USD reporting: every currency crossed through the ECB's euro rates
    bogus = run_cli("settle", "--period", "2026-11", "--currency", "XYZ")
    assert bogus.exit_code == 1 and "'XYZ' is not an ISO 4217 currency code" in bogus.output
    usd = run_cli("settle", "--period", "2026-11", "--currency", "USD")
    assert usd.exit_code == 0, usd.output
    assert "= USD" in usd.output
    with engine.connect() as conn:
        notes = [
            n for (n,) in conn.execute(text("SELECT fx_note FROM statements WHERE fx_note != ''"))
        ]
    # a statement in another currency states the rate it used and its source
    assert notes and all("ECB" in n and "2026-11-30" in n for n in notes)


def test_a_missing_price_names_the_file_and_the_rows(
    run_cli: Cli, cli_world: World, engine: Engine
) -> None:
    _demo(cli_world)
    with engine.begin() as conn:
        start, end = period_bounds("2026-10")
        gtin = conn.execute(  # a product that moved in October
            text(
                "SELECT MIN(u.gtin) FROM units u JOIN entries e ON e.unit_id = u.id "
                "WHERE e.kind = 'shipping' AND e.at_ms >= :a AND e.at_ms < :b"
            ),
            {"a": start, "b": end},
        ).scalar_one()
        conn.execute(text("DELETE FROM price_lists WHERE gtin = :g"), {"g": gtin})
    failed = run_cli("settle", "--period", "2026-10")
    assert failed.exit_code == 1
    assert "hopchain import prices FILE" in failed.output
    assert "no list price in force on 2026-10-31" in failed.output
    assert re.search(rf"{gtin},[A-Z]{{3}},<valid_from on or before 2026-10-31>", failed.output)
