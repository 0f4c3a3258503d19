"""Hand-computed rule scenarios: the arithmetic is written next to each assertion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from settlement.rules import (
    RuleError,
    Tier,
    class_multiplier_line,
    convert,
    deposit_deduction,
    escalation_multiplier,
    fine_line,
    forfeiture_line,
    growth_line,
    kpi_gate_line,
    prior_offences,
    reward_line,
    round_minor,
    tier_lines,
)

VOLUME_TIERS = [
    Tier(100, Decimal("50")),  # from 100 units: 0.50 EUR (50 cents) per unit
    Tier(500, Decimal("80")),
    Tier(1000, Decimal("120")),
]
VALUE_TIERS = [
    Tier(0, Decimal("0.01")),
    Tier(1_000_000, Decimal("0.02")),
    Tier(5_000_000, Decimal("0.03")),
]


def test_round_half_even_per_line() -> None:
    assert round_minor(Decimal("2.5")) == 2  # half to even: 2
    assert round_minor(Decimal("3.5")) == 4
    assert round_minor(Decimal("-2.5")) == -2


def test_retroactive_volume_tier_pays_every_unit_at_the_reached_rate() -> None:
    # 750 units reach the 500 tier: 750 * 80 = 60_000 cents
    [line] = tier_lines("volume", "retroactive", VOLUME_TIERS, units=750, value=0)
    assert line.amount == 60_000
    assert line.rate == "80"


def test_incremental_volume_tier_pays_each_band_at_its_rate() -> None:
    # A threshold is the first unit that earns the band's rate: 1200 units fill
    # band 100-499 (400 units * 50 = 20_000), band 500-999 (500 * 80 = 40_000) and
    # band 1000+ (units 1000..1200: 201 * 120 = 24_120)
    lines = tier_lines("volume", "incremental", VOLUME_TIERS, units=1200, value=0)
    assert [ln.amount for ln in lines] == [20_000, 40_000, 24_120]
    assert [ln.quantity for ln in lines] == [400, 500, 201]
    assert sum(ln.amount for ln in lines) == 84_120
    assert "band 100-499" in lines[0].basis


def test_below_first_threshold_earns_nothing_but_says_why() -> None:
    [line] = tier_lines("volume", "retroactive", VOLUME_TIERS, units=99, value=0)
    assert line.amount == 0
    assert "below first threshold 100" in line.basis


def test_value_tiers_retroactive_and_incremental() -> None:
    # retroactive: 6_000_000 reaches 3 %: 180_000
    [retro] = tier_lines("value", "retroactive", VALUE_TIERS, units=0, value=6_000_000)
    assert retro.amount == 180_000
    # incremental: 1_000_000*1% + 4_000_000*2% + 1_000_000*3% = 10_000 + 80_000 + 30_000
    inc = tier_lines("value", "incremental", VALUE_TIERS, units=0, value=6_000_000)
    assert [ln.amount for ln in inc] == [10_000, 80_000, 30_000]


def test_fractional_rate_rounds_half_even() -> None:
    # 25 units * 0.5 cent = 12.5 -> 12 (even)
    [line] = tier_lines("volume", "retroactive", [Tier(1, Decimal("0.5"))], units=25, value=0)
    assert line.amount == 12


def test_unordered_tiers_are_refused_with_the_thresholds_named() -> None:
    with pytest.raises(RuleError, match="500 is followed by 100"):
        tier_lines("volume", "retroactive", [Tier(500, Decimal(1)), Tier(100, Decimal(2))], 600, 0)


def test_class_multiplier_adds_the_difference() -> None:
    # class A x1.10 on 84_000: 84_000 * 0.10 = 8_400 ; class C x0.9: -8_400
    mult = {"A": Decimal("1.10"), "B": Decimal("1"), "C": Decimal("0.9")}
    assert class_multiplier_line(84_000, "A", mult).amount == 8_400
    assert class_multiplier_line(84_000, "B", mult).amount == 0
    assert class_multiplier_line(84_000, "C", mult).amount == -8_400
    with pytest.raises(RuleError, match="class 'D'"):
        class_multiplier_line(1, "D", mult)


def test_growth_against_prior_year_and_new_distributor_rule() -> None:
    # 1_200_000 vs 1_000_000: growth 200_000 * 2 % = 4_000
    assert growth_line(1_200_000, 1_000_000, Decimal("0.02"), "none").amount == 4_000
    # decline earns zero, no charge
    assert growth_line(900_000, 1_000_000, Decimal("0.02"), "none").amount == 0
    # new distributor: "none" -> 0 ; "all" -> 1_200_000 * 2 % = 24_000
    assert growth_line(1_200_000, 0, Decimal("0.02"), "none").amount == 0
    assert growth_line(1_200_000, 0, Decimal("0.02"), "all").amount == 24_000


def test_kpi_gate_floor_and_pro_rata() -> None:
    # 50 % of target < 60 % floor: whole rebate 10_000 withheld
    assert kpi_gate_line(10_000, 500, 1_000, Decimal("0.6"), True).amount == -10_000
    # 75 %: keep 75 %, withhold 10_000 * 0.25 = 2_500
    assert kpi_gate_line(10_000, 750, 1_000, Decimal("0.6"), True).amount == -2_500
    # 75 % without pro rata: keep all
    assert kpi_gate_line(10_000, 750, 1_000, Decimal("0.6"), False).amount == 0
    # over target: keep all
    assert kpi_gate_line(10_000, 1_200, 1_000, Decimal("0.6"), True).amount == 0
    # 2/3 of target: withhold 10_001 * (1 - 2/3) = 3333.67 -> 3334
    assert kpi_gate_line(10_001, 2, 3, Decimal("0.6"), True).amount == -3_334


def test_fine_escalates_for_repeat_offenders_within_twelve_months() -> None:
    steps = [Decimal(1), Decimal("1.5"), Decimal(2)]
    # offences in 2026-01 and 2025-11 count for an alert in 2026-10; 2025-09 is 13 months back
    assert prior_offences("2026-10", ["2026-01", "2025-11", "2025-09"]) == 2
    assert escalation_multiplier(2, steps) == 2
    assert escalation_multiplier(7, steps) == 2  # beyond the ladder: last step
    # 30 units * 2_000 cents * 1.5 (one prior) = 90_000
    assert fine_line(30, 2_000, 1, steps, "A1").amount == -90_000


def test_forfeiture_claws_back_the_rebate_rate_on_the_value() -> None:
    # 12 units worth 1_234_567 at 3 %: 37_037.01 -> 37_037
    assert forfeiture_line(1_234_567, Decimal("0.03"), 12, "statement:1:0", "A1").amount == -37_037


def test_deposit_covers_the_shortfall_and_tracks_the_balance() -> None:
    # rebate 20_000 - penalties 50_000 = -30_000; deposit 100_000 -> 70_000, statement 0
    line, balance = deposit_deduction(-30_000, 100_000)
    assert line is not None and line.amount == 30_000 and balance == 70_000
    # deposit of 10_000 covers only part: statement stays at -20_000
    line, balance = deposit_deduction(-30_000, 10_000)
    assert line is not None and line.amount == 10_000 and balance == 0
    assert deposit_deduction(5_000, 10_000) == (None, 10_000)


def test_whistleblower_share_of_the_penalty() -> None:
    # 10 % of a 90_000 fine = 9_000; 15 % of 1_005 = 150.75 -> 151
    assert reward_line(-90_000, Decimal("0.10"), "R1").amount == 9_000
    assert reward_line(-1_005, Decimal("0.15"), "R2").amount == 151


def test_fx_conversion_honours_minor_unit_exponents() -> None:
    # 1_000.00 EUR at 7.8 CNY/EUR = 7_800.00 CNY
    assert convert(100_000, Decimal("7.8"), "EUR", "CNY") == 780_000
    # 1_000.00 EUR at 160.25 JPY/EUR = 160_250 JPY (no minor unit)
    assert convert(100_000, Decimal("160.25"), "EUR", "JPY") == 160_250
    with pytest.raises(RuleError, match="must be positive"):
        convert(1, Decimal(0), "EUR", "CNY")
