"""How the pages write numbers people read: a money rate in minor units as major units
with the currency's decimals, a fraction as a percentage, and an audited change as the
fields it touched. Properties: what is printed reads back as the exact value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from web.finance.reference import change_fields
from web.finance.rules_words import major_rate, percent
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
