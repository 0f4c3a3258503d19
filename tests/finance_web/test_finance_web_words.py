"""How the pages write numbers people read: a money rate in minor units as major units
with the currency's decimals, a fraction as a percentage, and an audited change as the
fields it touched. Properties: what is printed reads back as the exact value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from settlement.rules_words import major_rate, percent
from web.finance.reference import change_fields
from web.settlement_access import format_money

CURRENCIES = st.sampled_from(["EUR", "JPY", "KWD", "USD"])
EXPONENT = {"EUR": 2, "JPY": 0, "KWD": 3, "USD": 2}


@given(st.integers(min_value=0, max_value=10**12), CURRENCIES)
def test_a_whole_minor_rate_reads_like_money(minor: int, ccy: str) -> None:
    assert major_rate(Decimal(minor), ccy) == f"{ccy} {format_money(minor, ccy)}"


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=4), CURRENCIES)
def test_a_fractional_minor_rate_reads_back_exactly(units: int, places: int, ccy: str) -> None:
    rate = Decimal(units).scaleb(-places)  # e.g. 12.5 cents per unit
    text = major_rate(rate, ccy)
    code, _, number = text.partition(" ")
    assert code == ccy
    _whole, _, frac = number.partition(".")
    assert len(frac) >= EXPONENT[ccy]  # never fewer decimals than the currency has
    assert Decimal(number.replace(",", "")).scaleb(EXPONENT[ccy]) == rate


def test_examples_of_rates() -> None:
    assert major_rate(Decimal(300), "EUR") == "EUR 3.00"
    assert major_rate(Decimal("12.5"), "EUR") == "EUR 0.125"
    assert major_rate(Decimal(1250), "JPY") == "JPY 1,250"
    assert percent(Decimal("0.02")) == "2.0 %"
    assert percent(Decimal("0.0125")) == "1.25 %"
    assert percent(Decimal(1)) == "100.0 %"


@given(st.decimals(min_value=0, max_value=10, places=6, allow_nan=False, allow_infinity=False))
def test_a_percentage_reads_back_exactly(fraction: Decimal) -> None:
    text = percent(fraction)
    assert text.endswith(" %") and "." in text
    assert Decimal(text[:-2]) / 100 == fraction


VALUES = st.one_of(st.none(), st.integers(-(10**9), 10**9), st.text(max_size=8))
RECORDS = st.dictionaries(st.sampled_from(["rate", "source", "amount_minor", "status"]), VALUES)


@given(RECORDS, RECORDS)
def test_a_change_lists_exactly_the_fields_it_touched(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    rows = change_fields(before, after)
    touched = {k for k in {*before, *after} if before.get(k, ...) != after.get(k, ...)}
    assert {name for name, _, _ in rows} == {
        k.removesuffix("_minor").replace("_", " ") for k in touched
    }
    for name, was, now in rows:
        key = next(k for k in touched if k.removesuffix("_minor").replace("_", " ") == name)
        assert (was is None) == (key not in before)
        assert (now is None) == (key not in after)


def test_money_in_a_change_carries_its_currency() -> None:
    # a price's record holds no currency: the key gtin|currency|valid_from does
    assert change_fields(
        {"list_price_minor": 1250},
        {"list_price_minor": 1300},
        kind="prices",
        key="04012345000016|EUR|2026-10-01",
    ) == (("list price", "EUR 12.50", "EUR 13.00"),)
    # a new deposit movement: every field, no "before"
    assert change_fields(None, {"amount_minor": -50000, "currency": "EUR", "kind": "refund"}) == (
        ("amount", None, "EUR -500.00"),
        ("currency", None, "EUR"),
        ("kind", None, "refund"),
    )
    assert change_fields({"status": "pending"}, {"status": "approved"}) == (
        ("status", "pending", "approved"),
    )


RULES = {
    "currency": "EUR",
    "basis": "sell_in",
    "measure": "volume",
    "mode": "retroactive",
    "tiers": [{"threshold": 1, "rate": "300"}, {"threshold": 40, "rate": "12.5"}],
    "class_multipliers": {"A": "1.1", "B": "1", "C": "0.9"},
    "default_class": "B",
    "growth": {"rate": "0.02", "new_distributor": "none"},
    "kpi": {"floor": "0.6", "pro_rata": True},
    "penalties": {
        "fine_per_unit": 2500,
        "escalation": ["1", "1.5", "2"],
        "forfeiture": True,
        "whistleblower_share": "0.1",
    },
}


def _words_of(app: Any, language: str) -> Any:
    from web.i18n import page_words

    with app.test_request_context("/", headers={"Accept-Language": language}):
        return page_words()


def test_a_program_reads_in_the_readers_language(app: Any) -> None:
    """The program page's rules in words (issue 11): English as before, Chinese and
    Spanish whole sentences with the locale's numbers; the figures are the rule's own."""
    import settlement

    rules = settlement.parse_rules(RULES)
    en = settlement.describe_rules(rules)
    assert [(t.band, t.rate) for t in en.tiers] == [
        ("1 unit to 39 units", "EUR 3.00 per unit"),
        ("from 40 units", "EUR 0.125 per unit"),
    ]
    assert en.multipliers == (
        "class A × 1.1, class B × 1, class C × 0.9; a distributor without a class counts as"
        " class B."
    )
    assert en.penalties[1] == (
        "Repeat offenders within 12 months pay more: first offence × 1, second offence × 1.5,"
        " third offence × 2, and the last step for any later one."
    )
    assert en == settlement.describe_rules(rules, _words_of(app, "en"))

    zh = settlement.describe_rules(rules, _words_of(app, "zh-CN"))
    assert [(t.band, t.rate) for t in zh.tiers] == [
        ("1 件 至 39 件", "每件 EUR 3.00"),
        ("40 件 及以上", "每件 EUR 0.125"),
    ]
    assert zh.multipliers == "A 级 × 1.1，B 级 × 1，C 级 × 0.9；未评级的经销商按 B 级计。"
    assert zh.measure == "销售数量（按件）"
    assert zh.penalties == (
        "每件窜货罚款 EUR 25.00。",
        "12 个月内再次违规者加重处罚：第一次违规 × 1，第二次违规 × 1.5，第三次违规 × 2，"
        "此后每次按最后一档计。",
        "窜货数量已获得的返利予以扣回。",
    )
    assert zh.growth.startswith("较上年同期增长货值的 2.0 %")
    assert zh.kpi.startswith("达成率低于销售目标的 60.0 %")
    assert zh.whistleblower == "举报经确认的举报人获得罚款的 10.0 %。"

    es = settlement.describe_rules(rules, _words_of(app, "es"))
    assert es.tiers[1] == settlement.TierRow("desde 40 unidades", "0,125 EUR por unidad")
    assert es.multipliers.startswith("clase A × 1,1, clase B × 1, clase C × 0,9;")


def test_a_statement_rate_is_not_an_exchange_rate(app: Any) -> None:
    """A statement line's "Rate" (pages, CSV/XLSX/PDF headings) is the rule's rate:
    费率 in Chinese, while an exchange rate's "Rate" stays 汇率."""
    from settlement.exports import line_header

    zh = _words_of(app, "zh-CN")
    assert line_header(zh)[3] == "费率" and zh.pgettext("exchange rate", "Rate") == "汇率"
    assert line_header(_words_of(app, "es"))[3] == "Tasa"
    assert line_header(_words_of(app, "en"))[3] == "Rate"
