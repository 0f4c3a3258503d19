"""The journal of a posted run: balanced double entry per statement and currency,
amounts in major units with the currency's exponent, a draft refused."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from settlement.common import Actor, PermissionDenied
from settlement.journal import (
    DEFAULT_CHART,
    JOURNAL_COLUMNS,
    JournalError,
    JournalStatement,
    chart_from_env,
    chart_from_json,
    journal_csv,
    journal_rows,
    journal_summary,
)
from settlement.rules.money import CATEGORIES
from settlement.runs import RunStateError
from tests.money._world import Stmt, run

FINANCE = Actor("fiona", "finance")


def _csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_journal_of_a_posted_run_by_hand(engine: Engine) -> None:
    run_id, sid = run(
        engine,
        [
            # Payable: 100.00 + 10.00 - 25.00 + 3.00 = 88.00 the manufacturer owes.
            Stmt(
                "D-AT",
                [("rebate", 10_000), ("rebate", 1_000), ("penalty", -2_500), ("reward", 300)],
            ),
            # Receivable: 0 + (-50.00) + 30.00 taken from the deposit = -20.00 owed to us.
            Stmt("D-BE", [("rebate", 0), ("penalty", -5_000), ("deposit", 3_000)]),
            # JPY has no minor unit: 1500 yen print as 1500.
            Stmt("D-JP", [("rebate", 1_500)], currency="JPY"),
            # 50.00 earned, 20.00 owed from last month brought forward: pays 30.00.
            Stmt("D-CH", [("rebate", 5_000), ("balance", -2_000)]),
        ],
    )
    rows = _csv(journal_csv(engine, run_id, FINANCE))
    assert tuple(rows[0]) == JOURNAL_COLUMNS
    got = [
        (r["account"], r["party"], r["debit"], r["credit"], r["currency"], r["reference"])
        for r in rows
    ]
    at, be, jp, ch = (f"{run_id}/{sid[c]}" for c in ("D-AT", "D-BE", "D-JP", "D-CH"))
    assert got == [
        ("rebate expense", "D-AT", "100.00", "", "EUR", f"{at}/0"),
        ("payable", "D-AT", "", "100.00", "EUR", f"{at}/0"),
        ("rebate expense", "D-AT", "10.00", "", "EUR", f"{at}/1"),
        ("payable", "D-AT", "", "10.00", "EUR", f"{at}/1"),
        ("payable", "D-AT", "25.00", "", "EUR", f"{at}/2"),
        ("penalty income", "D-AT", "", "25.00", "EUR", f"{at}/2"),
        ("reward expense", "D-AT", "3.00", "", "EUR", f"{at}/3"),
        ("payable", "D-AT", "", "3.00", "EUR", f"{at}/3"),
        # D-BE's zero rebate books nothing; its control account is the receivable.
        ("receivable", "D-BE", "50.00", "", "EUR", f"{be}/1"),
        ("penalty income", "D-BE", "", "50.00", "EUR", f"{be}/1"),
        ("deposit liability", "D-BE", "30.00", "", "EUR", f"{be}/2"),
        ("receivable", "D-BE", "", "30.00", "EUR", f"{be}/2"),
        ("rebate expense", "D-CH", "50.00", "", "EUR", f"{ch}/0"),
        ("payable", "D-CH", "", "50.00", "EUR", f"{ch}/0"),
        ("payable", "D-CH", "20.00", "", "EUR", f"{ch}/1"),
        ("receivable", "D-CH", "", "20.00", "EUR", f"{ch}/1"),
        ("rebate expense", "D-JP", "1500", "", "JPY", f"{jp}/0"),
        ("payable", "D-JP", "", "1500", "JPY", f"{jp}/0"),
    ]
    # The run was posted on 2026-11-03 (UTC): every row carries that date.
    assert {r["date"] for r in rows} == {"2026-11-03"}
    # Payable of D-AT: credits 100 + 10 + 3 - debit 25 = 88.00, the statement total.
    # Receivable of D-BE: debit 50 - credit 30 = 20.00, what D-BE owes.
    summary = journal_summary(engine, run_id, FINANCE)
    totals = {(a.account, a.currency): (a.debit_minor, a.credit_minor) for a in summary.accounts}
    assert totals[("payable", "EUR")] == (2_500 + 2_000, 10_000 + 1_000 + 300 + 5_000)
    assert totals[("receivable", "EUR")] == (5_000, 3_000 + 2_000)
    assert summary.entries == len(rows) == 18


def test_a_balance_line_moves_the_old_receivable(engine: Engine) -> None:
    # A statement that nets last month's 20.00 with a "balance" line of its own.
    run_id, sid = run(engine, [Stmt("D-AT", [("balance", -2_000), ("rebate", 5_000)])])
    rows = _csv(journal_csv(engine, run_id, FINANCE))
    ref = f"{run_id}/{sid['D-AT']}"
    assert [(r["account"], r["debit"], r["credit"], r["reference"]) for r in rows] == [
        ("payable", "20.00", "", f"{ref}/0"),
        ("receivable", "", "20.00", f"{ref}/0"),
        ("rebate expense", "50.00", "", f"{ref}/1"),
        ("payable", "", "50.00", f"{ref}/1"),
    ]


@pytest.mark.parametrize("status", ["draft", "approved"])
def test_a_run_that_is_not_posted_has_no_journal(engine: Engine, status: str) -> None:
    run_id, _ = run(engine, [Stmt("D-AT", [("rebate", 100)])], status=status)
    with pytest.raises(RunStateError, match=f"run {run_id} is {status}; only a posted run"):
        journal_csv(engine, run_id, FINANCE)


def test_roles(engine: Engine) -> None:
    run_id, _ = run(engine, [Stmt("D-AT", [("rebate", 100)])])
    for role in ("finance", "admin", "auditor"):
        assert journal_csv(engine, run_id, Actor("u", role))
    for role in ("channel_manager", "warehouse", "distributor"):
        with pytest.raises(PermissionDenied):
            journal_csv(engine, run_id, Actor("u", role, 1 if role == "distributor" else None))


def test_every_line_category_has_a_default_account() -> None:
    assert set(CATEGORIES) <= set(DEFAULT_CHART.accounts)


def test_a_configured_chart_renames_accounts(engine: Engine) -> None:
    chart = chart_from_env(
        {"HOPCHAIN_JOURNAL_ACCOUNTS": '{"rebate": "6100", "payable": "1600 Rebates payable"}'}
    )
    run_id, _ = run(engine, [Stmt("D-AT", [("rebate", 100)])])
    rows = _csv(journal_csv(engine, run_id, FINANCE, chart=chart))
    assert [r["account"] for r in rows] == ["6100", "1600 Rebates payable"]
    assert chart_from_env({}) == DEFAULT_CHART


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON (line 1, column 2"),
        ("[1]", "must be a JSON object"),
        ('{"rebates": "6100"}', "'rebates' is not a line category or control account"),
        ('{"rebate": ""}', "the account of 'rebate' must be a non-empty text"),
        ('{"rebate": 6100}', "the account of 'rebate' must be a non-empty text"),
    ],
)
def test_a_bad_chart_is_refused_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(JournalError, match=message.replace("(", r"\(")):
        chart_from_json(text)


def test_an_unmapped_category_is_an_error_naming_the_line() -> None:
    chart = type(DEFAULT_CHART)({"rebate": "r"}, "p", "q")
    st_ = JournalStatement(1, 9, "D-AT", "EUR", -5, ((0, "rebate", 5), (1, "penalty", -10)))
    with pytest.raises(
        JournalError, match="statement 9 line 1: line category 'penalty' has no account"
    ):
        journal_rows([st_], "2026-11-03", chart)


# ------------------------------------------------------------------ properties

line = st.tuples(st.sampled_from(sorted(DEFAULT_CHART.accounts)), st.integers(-(10**9), 10**9))
statement = st.builds(
    lambda sid, ccy, lines, netted: JournalStatement(
        7, sid, f"D-{sid}", ccy, sum(a for _, a in lines) + netted,
        tuple((i, c, a) for i, (c, a) in enumerate(lines)),
    ),
    st.integers(1, 10**6),
    st.sampled_from(["EUR", "JPY", "KWD", "USD"]),
    st.lists(line, max_size=12),
    st.one_of(st.just(0), st.integers(-10**7, 10**7)),
)  # fmt: skip


@given(st.lists(statement, max_size=8, unique_by=lambda s: s.statement_id))
def test_every_statement_balances_per_currency(statements: list[JournalStatement]) -> None:
    rows = journal_rows(statements, "2026-11-03")
    by_statement: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    control = {DEFAULT_CHART.payable, DEFAULT_CHART.receivable}
    for r in rows:
        assert (r.debit_minor > 0) != (r.credit_minor > 0)  # one side per row, never zero
        t = by_statement[(r.reference.split("/")[1], r.currency)]
        t[0] += r.debit_minor
        t[1] += r.credit_minor
    assert all(d == c for d, c in by_statement.values())
    for s in statements:
        mine = [r for r in rows if r.reference.split("/")[1] == str(s.statement_id)]
        # The control accounts move by the lines that are not balances carried over...
        moved = sum(r.credit_minor - r.debit_minor for r in mine if r.account in control)
        assert moved == sum(a for _, c, a in s.lines if DEFAULT_CHART.accounts[c] not in control)
        # ...and without carried balances the one control account ends on the total.
        if s.total_minor == sum(a for _, _, a in s.lines) and all(
            c != "balance" for _, c, _ in s.lines
        ):
            account = DEFAULT_CHART.payable if s.total_minor >= 0 else DEFAULT_CHART.receivable
            assert (
                sum(r.credit_minor - r.debit_minor for r in mine if r.account == account)
                == s.total_minor
            )


@given(st.lists(statement, min_size=1, max_size=4, unique_by=lambda s: s.statement_id))
def test_the_csv_amounts_balance_in_major_units(statements: list[JournalStatement]) -> None:
    """What an accountant's import sees: decimal text, debits equal credits."""
    from settlement.exports import format_minor

    rows = journal_rows(statements, "2026-11-03")
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        debit = Decimal(format_minor(r.debit_minor, r.currency)) if r.debit_minor else Decimal(0)
        credit = Decimal(format_minor(r.credit_minor, r.currency)) if r.credit_minor else Decimal(0)
        sums[r.reference.split("/")[1] + r.currency] += debit - credit
        exp = {"JPY": 0, "KWD": 3}.get(r.currency, 2)
        text = format_minor(r.debit_minor or r.credit_minor, r.currency)
        assert len(text.partition(".")[2]) == exp
    assert all(v == 0 for v in sums.values())


def test_the_documented_example_is_what_the_journal_writes() -> None:
    """docs/journal.md's example, statement by statement, is this function's output."""
    from pathlib import Path

    from settlement.journal import format_journal

    doc = (Path(__file__).parents[2] / "docs" / "journal.md").read_text()
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    statements = [
        JournalStatement(7, 123, "D-AT", "EUR", 8_800,
                         ((0, "rebate", 10_000), (1, "rebate", 1_000), (2, "penalty", -2_500), (3, "reward", 300))),
        JournalStatement(7, 124, "D-BE", "EUR", -2_000, ((0, "penalty", -5_000), (1, "deposit", 3_000))),
    ]  # fmt: skip
    assert format_journal(journal_rows(statements, "2026-11-03")).decode() == example
