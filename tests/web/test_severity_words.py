"""An alert's severity reason in the reader's language (issue 11): the engine's parts
(settlement.SeverityGrade.reasons) worded by web.reasons.severity_words, levels in
words, money once with its currency code; the English for the CLI and the API unchanged."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask

from settlement.severity import SeverityReason, grade_alert
from tests.web.test_i18n_pages import english_left
from web.reasons import severity_words

#: EUR -> USD (1 EUR = 1.084 USD): the value steps are in euros (settlement.severity).
USD = Decimal("1.084")


def test_reasons_name_each_raising_fact_with_raw_values() -> None:
    # 60 units (high), 1 confirmed alert before (medium), USD 1,800.00 (medium: the
    # EUR 1,000 step at EUR->USD 1.084 is USD 1,084.00 = 108,400 minor) -> high
    g = grade_alert(
        units=60, prior_offences=1, finding_type="x", value_minor=180_000, currency="USD",
        fx_rate=USD,
    )  # fmt: skip
    assert g.reasons == (
        SeverityReason("units", {"count": 60, "threshold": 50, "level": "high"}),
        SeverityReason("repeat", {"count": 1, "months": 12, "threshold": 1, "level": "medium"}),
        SeverityReason(
            "value",
            {
                "value_minor": 180_000,
                "threshold_minor": 108_400,
                "currency": "USD",
                "level": "medium",
            },
        ),
    )
    assert g.reason == (
        "high: 60 units involved (from 50: high); 1 confirmed alerts in the 12 months "
        "before (from 1: medium); value at stake USD 1,800.00 (from USD 1,084.00: medium)"
    )


def test_chinese_reason_has_no_english_and_one_currency_code(app: Flask) -> None:
    raising = grade_alert(
        units=60, prior_offences=1, finding_type="clone", value_minor=180_000, currency="USD",
        fx_rate=USD,
    )  # fmt: skip
    low = grade_alert(
        units=3, prior_offences=0, finding_type="x", value_minor=20_543, currency="USD",
        unpriced_units=1, fx_rate=USD,
    )  # fmt: skip
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        said = severity_words(raising)
        assert said.startswith("高：涉及 60 件商品（自 50 起：高）"), said
        assert "USD 1,800.00" in said and "USD USD" not in said
        quiet = severity_words(low)
        assert quiet.startswith("低：") and "USD 205.43" in quiet and "USD USD" not in quiet
        for text in (said, quiet):
            assert english_left(f"<p>{text}</p>") == [], text
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        said = severity_words(low)
        assert said.startswith("baja: 3 unidades") and "205,43 USD" in said, said
    with app.test_request_context("/"):
        assert severity_words(low) == (
            "low: 3 units; 0 confirmed alerts in the 12 months before; value at stake "
            "USD 205.43; 1 unit has no list price in USD — nothing reaches a higher step"
        )


def test_value_without_fx_rate_is_said_in_each_language(app: Flask) -> None:
    # CHF 5,000.00 known, but no EUR->CHF rate: no value step, and the reason says why
    g = grade_alert(
        units=2, prior_offences=0, finding_type="x", value_minor=500_000, currency="CHF"
    )
    assert g.level == "low"
    assert g.reasons[-1] == SeverityReason(
        "value_no_fx_rate", {"value_minor": 500_000, "currency": "CHF", "reference": "EUR"}
    )
    english = (
        "low: 2 units; 0 confirmed alerts in the 12 months before; value at stake "
        "CHF 5,000.00 not compared with the value steps: no EUR->CHF FX rate on file "
        "for the period or before — nothing reaches a higher step"
    )
    assert g.reason == english
    with app.test_request_context("/"):
        assert severity_words(g) == english
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        said = severity_words(g)
        assert english_left(f"<p>{said}</p>") == [], said
        assert "CHF 5,000.00" in said and "EUR->CHF" in said and "CHF CHF" not in said, said
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        said = severity_words(g)
        assert "5.000,00 CHF no comparado" in said and "EUR->CHF" in said, said
