"""``hopchain credit investigate | rate | limit | table``: a round trip from the command
line, refusals exiting 1 with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result


def test_investigate_rate_override_and_table(
    run_cli: Callable[..., Result],
    make_party: Callable[..., int],
    make_user: Callable[..., int],
    tmp_path: Path,
) -> None:
    make_party("DIST")
    make_user("fiona", "finance")
    r = run_cli(
        "credit", "investigate", "DIST", "--on", "2026-11-20", "--verified",
        "--bank-reference", "fair", "--good-references", "2", "--insurer", "Coface",
        "--insurer-grade", "7", "--revenue", "1000000.00", "--equity", "250000.00",
        "--current-ratio", "1.6", "--days-payable", "40",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    inv = json.loads(r.output)
    assert inv["revenue_minor"] == 100_000_000 and inv["investigator"] == "fiona"

    r = run_cli("credit", "rate", "DIST")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    # the hand-computed rating of tests/credit/test_rating_model.py: 79.30 -> 79, A
    assert (out["rating"]["score"], out["rating"]["grade"]) == (79, "A")
    assert out["limit"]["limit_minor"] == 20_000_000 and out["limit"]["payment_days"] == 45

    r = run_cli("credit", "limit", "DIST", "--set", "150000.00", "--days", "30")
    assert r.exit_code == 1 and "say why the limit is overridden" in r.output
    r = run_cli(
        "credit", "limit", "DIST", "--set", "150000.00", "--days", "30", "--reason", "guarantee"
    )
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert shown["limit"]["limit_minor"] == 15_000_000 and shown["limit"]["source"] == "override"
    assert [h["source"] for h in shown["history"]] == ["override", "rating"]

    r = run_cli("credit", "investigate", "DIST", "--insurer-grade", "12", "--revenue", "1,5")
    assert r.exit_code == 1
    assert "insurer_grade: '12' is not a whole number from 0 to 10" in r.output
    assert "revenue: '1,5' is not an amount" in r.output
    assert run_cli("credit", "rate", "NOPE").exit_code == 1

    r = run_cli("credit", "table")
    assert json.loads(r.output)["rows"]["AAA"] == {"limit_minor": 50_000_000, "payment_days": 60}
    table = tmp_path / "table.csv"
    grades = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC"]
    table.write_text(
        "grade,limit,payment_days\n"
        + "".join(f"{g},{1000 * (7 - i)}.00,30\n" for i, g in enumerate(grades)),
        encoding="utf-8",
    )
    r = run_cli(
        "credit", "table", "--file", str(table), "--medium-factor", "0.4", "--note", "tight"
    )
    assert r.exit_code == 0, r.output
    new = json.loads(r.output)
    assert new["version"] == 2 and new["medium_factor"] == "0.4"
    assert new["rows"]["AAA"]["limit_minor"] == 700_000  # 7000.00 EUR
    table.write_text("grade,limit,payment_days\nAAA,-5,400\n", encoding="utf-8")
    r = run_cli("credit", "table", "--file", str(table))
    assert r.exit_code == 1
    assert "AAA.payment_days" in r.output and "CCC: is missing" in r.output
