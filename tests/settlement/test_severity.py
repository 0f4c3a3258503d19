"""The alert severity rule (settlement.severity): hand-computed scenarios, one per
step of each fact, and the reason naming what raised it."""

from __future__ import annotations

import pytest

from settlement.common import SettlementError
from settlement.severity import SEVERITIES, grade_alert, value_threshold_minor


def _grade(
    units: int = 1,
    prior: int = 0,
    ftype: str = "out_of_zone",
    value: int | None = 0,
    ccy: str = "EUR",
    unpriced: int = 0,
) -> tuple[str, str]:
    g = grade_alert(
        units=units,
        prior_offences=prior,
        finding_type=ftype,
        value_minor=value,
        currency=ccy,
        unpriced_units=unpriced,
    )
    return g.level, g.reason


def test_small_first_offence_is_low_and_says_why() -> None:
    # 3 units x EUR 20.00 = 6,000 minor = EUR 60.00 < EUR 1,000; 3 < 5 units; no prior
    level, reason = _grade(units=3, value=3 * 2_000)
    assert level == "low"
    assert "3 units" in reason and "EUR 60.00" in reason and "nothing reaches" in reason


@pytest.mark.parametrize(
    ("units", "level"),
    [(4, "low"), (5, "medium"), (49, "medium"), (50, "high"), (499, "high"), (500, "critical")],
)
def test_units_steps(units: int, level: str) -> None:
    # value kept at 0 so only the unit count can raise the level
    assert _grade(units=units)[0] == level


@pytest.mark.parametrize(
    ("prior", "level"), [(0, "low"), (1, "medium"), (2, "high"), (7, "critical")]
)
def test_repeat_offences(prior: int, level: str) -> None:
    got, reason = _grade(prior=prior)
    assert got == level
    if prior:
        assert f"{prior} confirmed alerts in the 12 months before" in reason


def test_cloned_code_is_at_least_high() -> None:
    # 1 unit, no prior, no value: only the clone counts -> high
    level, reason = _grade(ftype="clone")
    assert level == "high" and "cloned code" in reason
    # a clone with 500 units: units give critical, higher than the clone's high
    assert _grade(units=500, ftype="clone")[0] == "critical"


def test_value_steps_in_the_alerts_currency() -> None:
    # EUR has 2 decimals: EUR 1,000 = 100,000 minor
    assert value_threshold_minor(1_000, "EUR") == 100_000
    # 4 units x EUR 249.99 = 99,996 minor < 100,000 -> low
    assert _grade(units=4, value=4 * 24_999)[0] == "low"
    # 4 units x EUR 250.00 = 100,000 minor = EUR 1,000.00 -> medium
    level, reason = _grade(units=4, value=4 * 25_000)
    assert level == "medium" and "value at stake EUR 1,000.00 (from EUR 1,000.00: medium)" in reason
    # 4 units x EUR 2,500 = EUR 10,000 -> high; x EUR 25,000 = EUR 100,000 -> critical
    assert _grade(units=4, value=4 * 250_000)[0] == "high"
    assert _grade(units=4, value=4 * 2_500_000)[0] == "critical"
    # JPY 1,200 is not 1,000 of anything: the steps are euros (tests/settlement/
    # test_severity_fx.py); without a EUR->JPY rate the value step does not apply
    level, reason = _grade(units=3, value=3 * 400, ccy="JPY")
    assert level == "low" and "not compared with the value steps" in reason


def test_the_worst_fact_wins_and_every_raising_fact_is_named() -> None:
    # 60 units (high), 1 prior (medium), value 60 x EUR 30 = EUR 1,800 (medium) -> high
    level, reason = _grade(units=60, prior=1, value=60 * 3_000)
    assert level == "high"
    assert reason.startswith("high: ")
    for part in ("60 units involved (from 50: high)", "1 confirmed alerts", "EUR 1,800.00"):
        assert part in reason


def test_unknown_value_is_said_not_guessed() -> None:
    level, reason = _grade(units=2, value=None)
    assert level == "low" and "no list price" in reason


def test_bad_inputs_are_named() -> None:
    with pytest.raises(SettlementError, match="must be >= 0"):
        grade_alert(units=-1, prior_offences=0, finding_type="", value_minor=0, currency="EUR")
    with pytest.raises(SettlementError, match="3-letter"):
        value_threshold_minor(1, "EURO")
    assert SEVERITIES == ("low", "medium", "high", "critical")
