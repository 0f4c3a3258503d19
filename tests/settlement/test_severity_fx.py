"""The value steps of the severity rule are euros (issue 11): an alert's value at stake
is compared with EUR 1,000 / 10,000 / 100,000 converted into its own currency at the
FX rate of its period (or the latest earlier month's); without any rate the value
step does not apply and the reason says so. Detection stores the grade's facts on
the alert and pages read them back without a price or FX query. Hand arithmetic in
the comments; a property test that more of any fact never lowers the level."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

import settlement
from ledger.models import Party, Unit
from settlement.detection import _grade_all
from settlement.models import Alert, AlertFinding, FxRate, PriceList
from settlement.severity import (
    SEVERITY_RANK,
    VALUE_REFERENCE_CURRENCY,
    grade_alert,
    stored_grade,
    to_reference_minor,
    value_threshold_minor,
)

JPY_PER_EUR = Decimal(160)


def _value_grade(value: int, currency: str, rate: Decimal | None) -> tuple[str, str]:
    g = grade_alert(
        units=1, prior_offences=0, finding_type="out_of_zone", value_minor=value,
        currency=currency, fx_rate=rate,
    )  # fmt: skip
    return g.level, g.reason


def test_yen_value_is_compared_in_euros() -> None:
    assert VALUE_REFERENCE_CURRENCY == "EUR"
    # JPY has no decimals: EUR 1,000 x 160 = JPY 160,000; EUR 10,000 = JPY 1,600,000
    assert value_threshold_minor(1_000, "JPY", JPY_PER_EUR) == 160_000
    # JPY 200,000 / 160 = EUR 1,250.00 >= EUR 1,000 -> medium; the reason shows yen
    level, reason = _value_grade(200_000, "JPY", JPY_PER_EUR)
    assert level == "medium"
    assert "value at stake JPY 200,000 (from JPY 160,000: medium)" in reason
    assert to_reference_minor(200_000, "JPY", JPY_PER_EUR) == 125_000  # EUR 1,250.00
    # JPY 159,999 is EUR 999.99...: below the first step -> low
    assert _value_grade(159_999, "JPY", JPY_PER_EUR)[0] == "low"
    # JPY 1,000 (EUR 6.25) was "1,000 units" before; now it is nothing -> low
    assert _value_grade(1_000, "JPY", JPY_PER_EUR)[0] == "low"
    # JPY 1,600,000 = EUR 10,000 -> high
    assert _value_grade(1_600_000, "JPY", JPY_PER_EUR)[0] == "high"


def test_without_a_rate_the_value_step_does_not_apply_and_says_why() -> None:
    # the same JPY 200,000 with no EUR->JPY rate on file: no value step -> low
    level, reason = _value_grade(200_000, "JPY", None)
    assert level == "low"
    assert (
        "value at stake JPY 200,000 not compared with the value steps: no EUR->JPY FX "
        "rate on file for the period or before" in reason
    )
    # when another fact raises it, the reason still says the value was not compared
    g = grade_alert(
        units=50, prior_offences=0, finding_type="x", value_minor=200_000, currency="JPY"
    )
    assert g.level == "high" and g.reason.startswith("high: 50 units involved")
    assert "no EUR->JPY FX rate" in g.reason and g.value_reference_minor is None


def test_euro_alerts_are_unchanged() -> None:
    # EUR 1,250.00 = 125,000 minor >= 100,000 -> medium, rate or no rate given
    for rate in (None, Decimal(1), Decimal(7)):
        level, reason = _value_grade(125_000, "EUR", rate)
        assert level == "medium"
        assert "value at stake EUR 1,250.00 (from EUR 1,000.00: medium)" in reason
    assert _value_grade(99_999, "EUR", None)[0] == "low"


def test_a_converted_step_is_rounded_up_to_a_whole_minor_unit() -> None:
    # EUR 1,000 x 0.857142857 GBP = GBP 857.142857 = 85,714.2857 pence -> 85,715:
    # GBP 857.14 is less than EUR 1,000, GBP 857.15 is not
    rate = Decimal("0.857142857")
    assert value_threshold_minor(1_000, "GBP", rate) == 85_715
    assert _value_grade(85_714, "GBP", rate)[0] == "low"
    assert _value_grade(85_715, "GBP", rate)[0] == "medium"


def test_bad_rates_are_named() -> None:
    with pytest.raises(settlement.SettlementError, match="rate must be > 0"):
        _value_grade(1, "JPY", Decimal(0))
    with pytest.raises(settlement.SettlementError, match="needs the EUR->JPY rate"):
        value_threshold_minor(1_000, "JPY")


_LEVEL_FACTS = st.tuples(
    st.integers(0, 2_000),  # units
    st.integers(0, 6),  # prior offences
    st.one_of(st.none(), st.integers(0, 50_000_000)),  # value, minor units
)


@given(
    base=_LEVEL_FACTS,
    more=st.tuples(st.integers(0, 600), st.integers(0, 4), st.integers(0, 30_000_000)),
    clone=st.booleans(),
    currency_rate=st.sampled_from(
        [("EUR", None), ("JPY", Decimal(160)), ("USD", Decimal("1.084")), ("CHF", None)]
    ),
)
def test_more_units_value_or_offences_never_lower_the_level(
    base: tuple[int, int, int | None],
    more: tuple[int, int, int],
    clone: bool,
    currency_rate: tuple[str, Decimal | None],
) -> None:
    currency, rate = currency_rate
    units, prior, value = base

    def rank(u: int, p: int, v: int | None) -> int:
        g = grade_alert(
            units=u, prior_offences=p, finding_type="clone" if clone else "x",
            value_minor=v, currency=currency, fx_rate=rate,
        )  # fmt: skip
        return SEVERITY_RANK[g.level]

    now = rank(units, prior, value)
    assert rank(units + more[0], prior, value) >= now
    assert rank(units, prior + more[1], value) >= now
    if value is not None:
        assert rank(units, prior, value + more[2]) >= now
    bigger = None if value is None else value + more[2]
    assert rank(units + more[0], prior + more[1], bigger) >= now


def _jpy_world(engine: Engine) -> dict[str, int]:
    """Two parties, each with one alert of 2026-11 on 4 units (below the 5-unit step)
    priced at 50,000 minor (JPY 50,000 and CHF 500.00): value JPY 200,000 and
    CHF 2,000.00. Rates: EUR->JPY
    only for 2026-09 (stored the ECB way round, 1 JPY = 0.00625 EUR, i.e. 160) and
    for 2027-01 (later than the alert: never used); none for CHF."""
    with Session(engine) as s, s.begin():
        jp = Party(code="JP1", name="Tokyo Trading", kind="distributor", currency="JPY")
        ch = Party(code="CH1", name="Zurich Supply", kind="distributor", currency="CHF")
        s.add_all([jp, ch])
        for ccy in ("JPY", "CHF"):
            s.add(PriceList(gtin="09506000134352", currency=ccy, valid_from="2026-01-01",
                            list_price_minor=50_000))  # fmt: skip
        s.add(FxRate(period="2026-09", currency="JPY", reporting_currency="EUR", rate="0.00625"))
        s.add(FxRate(period="2027-01", currency="EUR", reporting_currency="JPY", rate="100"))
        s.flush()
        ids: dict[str, int] = {}
        seq = 0
        for party in (jp, ch):
            a = Alert(
                natural_key=f"{party.code}|T|2026-11|out_of_zone", party_id=party.id,
                territory_code="T", period="2026-11", finding_type="out_of_zone",
                status="open", severity="low", unit_count=4, finding_count=4,
                appealed=False, created_ms=1, updated_ms=1, detected_tree_size=1,
            )  # fmt: skip
            s.add(a)
            s.flush()
            for j in range(4):
                u = Unit(key=f"01/09506000134352/21/{party.code}{j}", gtin="09506000134352",
                         serial=f"{party.code}{j}", state="sold")  # fmt: skip
                s.add(u)
                s.flush()
                s.add(AlertFinding(alert_id=a.id, seq=seq, unit_id=u.id, at_ms=1))
                seq += 1
            ids[party.code] = a.id
    return ids


def test_detection_stores_the_facts_and_pages_read_them_without_queries(
    engine: Engine,
) -> None:
    ids = _jpy_world(engine)
    with Session(engine) as s, s.begin():
        _grade_all(s)
    with Session(engine) as s:
        jp = s.get(Alert, ids["JP1"])
        ch = s.get(Alert, ids["CH1"])
        assert jp is not None and ch is not None
        # 4 x JPY 50,000 = JPY 200,000; 2026-11 has no rate, 2026-09's is 1/0.00625 =
        # 160 (2027-01's 100 is later: not used) -> EUR 1,250.00 -> medium
        assert (jp.value_minor, jp.value_currency, jp.value_reference_minor) == (
            200_000, "JPY", 125_000,
        )  # fmt: skip
        assert Decimal(jp.value_fx_rate or "0") == 160 and jp.severity == "medium"
        # 4 x CHF 500.00 = CHF 2,000.00, no EUR->CHF rate at all: no value step -> low
        assert (ch.value_minor, ch.value_currency, ch.value_fx_rate) == (200_000, "CHF", None)
        assert ch.value_reference_minor is None and ch.severity == "low"
        assert (jp.prior_offences, jp.unpriced_units) == (0, 0)
        assert stored_grade(jp).reason == (
            "medium: value at stake JPY 200,000 (from JPY 160,000: medium)"
        )
        assert "CHF 2,000.00 not compared" in stored_grade(ch).reason
    manager = settlement.Actor("mgr", "channel_manager", None)
    statements: list[str] = []

    def seen(_c: object, _cur: object, sql: str, *_rest: object) -> None:
        statements.append(sql.lower())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = settlement.page_alerts(engine, manager, settlement.AlertQuery(sort="value"))
        one = settlement.alert_severity(engine, ids["JP1"], manager)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [a.id for a in page.items] == [ids["JP1"], ids["CH1"]]  # CHF: no EUR value, last
    assert page.grades[ids["JP1"]].level == "medium" and one.value_reference_minor == 125_000
    assert not [q for q in statements if "price_lists" in q or "fx_rates" in q], statements
    # stored facts, not live ones: a price change shows only after detection grades again
    with Session(engine) as s, s.begin():
        for p in s.scalars(select(PriceList)):
            p.list_price_minor = 1
    again = settlement.alert_severity(engine, ids["JP1"], manager)
    assert again.value_minor == 200_000
