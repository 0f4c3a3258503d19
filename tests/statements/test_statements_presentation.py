"""Every rule code a statement line can carry reads as words: a title, a rate with its
unit, a basis sentence with money in major units and its currency, and the amount
with its currency. Lines are written as the engine stores them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.presentation import (
    NO_RATE,
    RULE_TITLES,
    describe_line,
    describe_ref,
    format_money,
    format_money_rate,
    format_percent,
)
from settlement.rules import (
    Tier,
    class_multiplier_line,
    deposit_deduction,
    growth_line,
    kpi_gate_line,
    reward_line,
    tier_lines,
)

# (rule, category, basis, rate, amount, currency, measure) -> (title, rate, basis, amount)
CASES = [
    pytest.param(
        ("tier_retroactive", "rebate",
         "120 units (tier from 100); sell_in 130 - returned 5 - diverted 5 = 120 units",
         "300", 36000, "EUR", "volume"),
        ("Volume rebate at the tier reached", "EUR 3.00 per unit",
         "120 units at the tier from 100 units; 130 units sold in, less 5 returned and 5 "
         "diverted = 120 units net", "EUR 360.00"),
        id="tier_retroactive-volume-EUR",
    ),
    pytest.param(
        ("tier_retroactive", "rebate", "120 units (tier from 100)", "300", 36000, "JPY",
         "volume"),
        ("Volume rebate at the tier reached", "JPY 300 per unit",
         "120 units at the tier from 100 units", "JPY 36,000"),
        id="tier_retroactive-volume-JPY",
    ),
    pytest.param(
        ("tier_incremental", "rebate",
         "2500000 value in band 1000000-4999999; sell_through 300 - returned 0 - diverted 0"
         " = 300 units", "0.02", 50000, "KWD", "value"),
        ("Value rebate per band", "2.0 % of value",
         "KWD 2,500.000 of value in the band from KWD 1,000.000 to KWD 4,999.999; 300 units "
         "sold through, less 0 returned and 0 diverted = 300 units net", "KWD 50.000"),
        id="tier_incremental-value-KWD",
    ),
    pytest.param(
        ("tier_cliff", "penalty",
         "3 diverted units excluded: 38 units fell from the tier from 40 to the tier from 1",
         "200", -7600, "EUR", "volume"),
        ("Volume rebate tier lost to diverted units", "EUR 2.00 per unit",
         "Without the diverted 3 units, the remaining 38 units fall from the tier from 40 "
         "units to the tier from 1 unit", "EUR -76.00"),
        id="cliff-volume-EUR",
    ),
    pytest.param(
        ("class_multiplier", "rebate", "class A on tier rebate 36000", "1.1", 3600, "EUR",
         None),
        ("Partner class multiplier", "× 1.1", "Class A on a tier rebate of EUR 360.00",
         "EUR 36.00"),
        id="class_multiplier",
    ),
    pytest.param(
        ("growth", "rebate", "600000 value vs 500000 a year before: +100000", "0.02", 2000,
         "EUR", None),
        ("Growth rebate", "2.0 % of value",
         "EUR 6,000.00 of value against EUR 5,000.00 a year before: EUR 1,000.00 grown",
         "EUR 20.00"),
        id="growth",
    ),
    pytest.param(
        ("kpi_gate", "rebate", "85 of target 100 units, pro rata", "0.85", -5400, "EUR", None),
        ("Sales target gate", "85.0 % of the rebate kept",
         "85 units of a target of 100 units (85.0 % reached): the rebate is paid in "
         "proportion", "EUR -54.00"),
        id="kpi_gate",
    ),
    pytest.param(
        ("partial_trueup", "trueup", "rebate already paid by partial runs: 12000", "1",
         -12000, "EUR", None),
        ("Rebate paid by earlier partial runs", NO_RATE,
         "Rebate already paid for this period by partial runs: EUR 120.00", "EUR -120.00"),
        id="partial_trueup",
    ),
    pytest.param(
        ("fine", "penalty",
         "5 diverted units, alert 12 (2026-09), 1 earlier incidents in 12 months (x1.5)",
         "3000", -15000, "EUR", None),
        ("Diversion fine", "EUR 30.00 per unit",
         "5 units diverted, alert 12 (2026-09); 1 earlier incident in the last 12 months, "
         "fine × 1.5", "EUR -150.00"),
        id="fine",
    ),
    pytest.param(
        ("fine", "penalty",
         "5 diverted units, alert 12, 0 prior offences in 12 months (x1)", "2000", -10000,
         "JPY", None),
        ("Diversion fine", "JPY 2,000 per unit",
         "5 units diverted, alert 12; no earlier incident in the last 12 months, fine × 1",
         "JPY -10,000"),
        id="fine-stored-before-incidents-JPY",
    ),
    pytest.param(
        ("fine_correction", "penalty",
         "5 diverted units, alert 12 (2026-09), no earlier incident in 12 months (x1): now "
         "10000, charged before 15000", "2000", 5000, "EUR", None),
        ("Diversion fine correction", "EUR 20.00 per unit",
         "5 units diverted, alert 12 (2026-09); no earlier incident in the last 12 months, "
         "fine × 1; the fine now stands at EUR 100.00, EUR 150.00 was charged before",
         "EUR 50.00"),
        id="fine_correction",
    ),
    pytest.param(
        ("fine_correction", "penalty",
         "alert:12 no longer stands: fines charged for 5 units in 2026-09 given back", "1",
         15000, "EUR", None),
        ("Diversion fine correction", NO_RATE,
         "Alert 12 no longer stands: fines charged for 5 units in 2026-09 given back",
         "EUR 150.00"),
        id="fine_correction-refund",
    ),
    pytest.param(
        ("forfeiture", "penalty",
         "rebate paid on 5 diverted units (statement:4:0), alert 12 (2026-09)", "330",
         -1650, "EUR", "volume"),
        ("Rebate forfeited on diverted units", "EUR 3.30 per unit",
         "Rebate paid on 5 units later diverted, taken back (statement 4, line 1), alert 12 "
         "(2026-09)", "EUR -16.50"),
        id="forfeiture-volume",
    ),
    pytest.param(
        ("forfeiture", "penalty",
         "rebate paid on 5 diverted units (statement:4:0), alert 12 (2026-09)", "0.022",
         -1100, "EUR", "value"),
        ("Rebate forfeited on diverted units", "2.2 % of value",
         "Rebate paid on 5 units later diverted, taken back (statement 4, line 1), alert 12 "
         "(2026-09)", "EUR -11.00"),
        id="forfeiture-value",
    ),
    pytest.param(
        ("forfeiture_correction", "penalty",
         "alert:12 no longer stands: forfeited rebate charged for 5 units in 2026-09 given "
         "back", "1", 1650, "EUR", None),
        ("Rebate forfeiture correction", NO_RATE,
         "Alert 12 no longer stands: rebate forfeited charged for 5 units in 2026-09 given "
         "back", "EUR 16.50"),
        id="forfeiture_correction",
    ),
    pytest.param(
        ("whistleblower_reward", "reward", "report 3: share of penalty 15000", "0.1", 1500,
         "EUR", None),
        ("Whistleblower reward", "10.0 % of the penalty",
         "Report 3: a share of the EUR 150.00 penalty it led to", "EUR 15.00"),
        id="whistleblower_reward",
    ),
    pytest.param(
        ("adjustment", "adjustment", "credit for the damaged delivery", "1", 1250, "KWD",
         None),
        ("Adjustment", NO_RATE, "credit for the damaged delivery", "KWD 1.250"),
        id="adjustment-KWD",
    ),
    pytest.param(
        ("deposit_deduction", "deposit", "statement at -5000, deposit 10000 -> 5000", "1",
         5000, "EUR", None),
        ("Taken from the deposit", NO_RATE,
         "The statement stood at EUR -50.00; the deposit of EUR 100.00 covers it and is now "
         "EUR 50.00", "EUR 50.00"),
        id="deposit_deduction",
    ),
    pytest.param(
        ("balance_brought_forward", "balance", "owed from earlier statements: 4200", "1",
         -4200, "JPY", None),
        ("Balance brought forward", NO_RATE, "Owed from earlier statements: JPY 4,200",
         "JPY -4,200"),
        id="balance_brought_forward-JPY",
    ),
    pytest.param(
        ("loyalty_bonus_v2", "rebate", "as agreed", "1", 500, "EUR", None),
        ("Loyalty bonus v2", NO_RATE, "as agreed", "EUR 5.00"),
        id="unknown-code",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_each_rule_code_in_words(
    line: tuple[str, str, str, str, int, str, str | None], expected: tuple[str, str, str, str]
) -> None:
    text = describe_line(*line)
    assert (text.title, text.rate_text, text.basis_text, text.amount_text) == expected
    # No internal code (snake_case) reaches the reader.
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", f"{text.title} {text.basis_text}")


def test_every_known_code_is_covered_by_a_case() -> None:
    covered = {p.values[0][0] for p in CASES}  # type: ignore[index]
    assert set(RULE_TITLES) - covered == {"cliff"}  # the same words as tier_cliff
    assert describe_line("cliff", "penalty", "x", "200", -1, "EUR", "volume").title == (
        "Volume rebate tier lost to diverted units"
    )


def test_a_tier_without_its_program_reads_the_measure_from_the_basis() -> None:
    value = describe_line("tier_retroactive", "rebate", "50000 value (tier from 1)", "0.02", 1000,
                          "EUR")  # fmt: skip
    assert (value.title, value.rate_text) == (
        "Value rebate at the tier reached",
        "2.0 % of value",
    )
    volume = describe_line("tier_retroactive", "rebate", "7 units (tier from 1)", "250", 1750,
                           "EUR")  # fmt: skip
    assert volume.rate_text == "EUR 2.50 per unit"


def test_lines_the_rules_write_today_are_all_put_in_words() -> None:
    """The engine's own rule functions write these bases; a change of their wording
    that the presenter does not follow shows up here as text passed through."""
    tiers = [Tier(1, Decimal("300")), Tier(100, Decimal("500"))]
    lines = [
        *tier_lines("volume", "retroactive", tiers, 120, 0),
        *tier_lines("volume", "incremental", tiers, 120, 0),
        *tier_lines("volume", "retroactive", tiers, 0, 0),
        class_multiplier_line(36000, "A", {"A": Decimal("1.1")}),
        growth_line(600000, 500000, Decimal("0.02"), "none"),
        growth_line(600000, 0, Decimal("0.02"), "all"),
        growth_line(600000, 0, Decimal("0.02"), "none"),
        kpi_gate_line(36000, 50, 100, Decimal("0.6"), True),
        kpi_gate_line(36000, 85, 100, Decimal("0.6"), True),
        kpi_gate_line(36000, 120, 100, Decimal("0.6"), True),
        reward_line(15000, Decimal("0.1"), "3"),
    ]
    dep, _ = deposit_deduction(-5000, 10000)
    assert dep is not None
    lines.append(dep)
    for ln in lines:
        text = describe_line(ln.rule, ln.category, ln.basis, ln.rate, ln.amount, "EUR", "volume")
        assert text.basis_text != ln.basis, (ln.rule, ln.basis)
        assert text.rate_text == NO_RATE or re.search(r"EUR|%|×", text.rate_text), ln.rule


@pytest.mark.parametrize(
    ("ref", "words"),
    [("program:VOLUME-REBATE", "program VOLUME-REBATE"), ("alert:12", "alert 12"),
     ("report:3", "report 3"), ("adjustment:5", "adjustment 5"), ("deposit", ""), ("", "")],
)  # fmt: skip
def test_what_a_line_refers_to(ref: str, words: str) -> None:
    assert describe_ref(ref) == words


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["EUR", "JPY", "KWD"]))
def test_money_text_is_exact(amount: int, currency: str) -> None:
    """Removing the grouping and the point gives back the minor units exactly."""
    text = format_money(amount, currency)
    code, _, number = text.partition(" ")
    assert code == currency
    digits = number.replace(",", "").replace(".", "")
    assert int(digits) == amount
    exp = {"EUR": 2, "JPY": 0, "KWD": 3}[currency]
    assert len(number.partition(".")[2]) == exp


@given(st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False))
def test_rates_keep_every_digit_to_a_hundredth_of_a_cent(rate: Decimal) -> None:
    """A per-unit rate converted from another currency may hold fractions of a cent;
    none down to a hundredth of a cent is rounded away."""
    money = format_money_rate(rate, "EUR")
    assert Decimal(money.removeprefix("EUR ").replace(",", "")) * 100 == rate


@given(st.decimals(min_value=0, max_value=10, places=6, allow_nan=False))
def test_percentages_of_stored_rates_are_exact(fraction: Decimal) -> None:
    pct = format_percent(fraction)
    assert Decimal(pct.removesuffix(" %").replace(",", "")) == fraction * 100


@given(st.decimals(min_value=0, max_value=10**6, places=12, allow_nan=False))
def test_longer_rates_are_rounded_for_display_only(rate: Decimal) -> None:
    """USD 5.43478260869... per unit reads USD 5.4348: within half the last digit."""
    shown = Decimal(format_money_rate(rate, "USD").removeprefix("USD ").replace(",", ""))
    assert abs(shown - rate / 100) <= Decimal("0.00005")
    assert len(str(shown).partition(".")[2]) <= 4
