"""The limit table and a party's limit (risk/limits.py): conversion to the party's
currency, table versions with every bad cell named, overrides and their reason."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.errors import PartnerDenied, PartnerError, PartnerStateError
from partners.models import PartnerEvent
from risk.credit_files import CreditInputInvalid, record_investigation
from risk.limits import (
    DEFAULT_TABLE,
    GRADES,
    OVERRIDE_FIELDS,
    check_override,
    limit_history,
    limit_in_force,
    override_limit,
    remove_override,
    set_table,
    table_in_force,
    table_limit,
)
from risk.rating import rate_party
from settlement import Actor
from settlement.models import FxRate
from settlement.rules.money import minor_exponent

FINANCE = Actor("fiona", "finance")
ADMIN = Actor("ada", "admin")


def _party(engine: Engine, make_party: Callable[..., int], code: str, currency: str) -> int:
    pid = make_party(code)
    with Session(engine) as s, s.begin():
        party = s.get(Party, pid)
        assert party is not None
        party.currency = currency
    return pid


def _rate(engine: Engine, period: str, currency: str, reporting: str, rate: str) -> None:
    with Session(engine) as s, s.begin():
        s.add(
            FxRate(
                period=period, currency=currency, reporting_currency=reporting, rate=rate,
                source="ECB", as_of=f"{period}-28",
            )
        )  # fmt: skip


def test_the_default_table() -> None:
    assert DEFAULT_TABLE["AAA"] == (50_000_000, 60) and DEFAULT_TABLE["B"] == (2_000_000, 0)
    assert list(DEFAULT_TABLE) == list(GRADES)


def test_a_limit_converted_from_eur_to_jpy_and_cny(engine: Engine) -> None:
    _rate(engine, "2026-10", "EUR", "JPY", "160.123")
    _rate(engine, "2026-10", "EUR", "CNY", "7.81255")
    with Session(engine) as s:
        # A: 200000.00 EUR; JPY has no minor unit (exponent 0):
        # 20_000_000 cents x 160.123 x 10^(0-2) = 32_024_600 yen exactly
        limit, days, words = table_limit(s, "A", "JPY", dt.date(2026, 12, 1))
        assert (limit, days) == (32_024_600, 45)
        assert "2026-10" in words and "160.123" in words  # the latest month before December
        # BB: 50000.00 EUR x 7.81255 = 390627.50 CNY = 39_062_750 fen, exactly
        # B: 20000.00 EUR x 7.81255 = 156251.00 CNY
        assert table_limit(s, "BB", "CNY", dt.date(2026, 10, 5))[0] == 39_062_750
        assert table_limit(s, "B", "CNY", dt.date(2026, 10, 5))[:2] == (15_625_100, 0)
        # no rate for USD at all: the pair and how to import it
        with pytest.raises(PartnerError, match=r"no FX rate EUR->USD .*hopchain import fx"):
            table_limit(s, "A", "USD", dt.date(2026, 12, 1))


def test_rounding_is_half_even_once(engine: Engine) -> None:
    # BB 50000.00 EUR = 5_000_000 cents x 1.00000001 = 5_000_000.05 cents -> 5_000_000
    _rate(engine, "2026-11", "EUR", "USD", "1.00000001")
    with Session(engine) as s:
        assert table_limit(s, "BB", "USD", dt.date(2026, 11, 30))[0] == 5_000_000
    # AAA 500000.00 EUR = 50_000_000 cents x 1.00000001 = 50_000_000.5 cents
    # -> 50_000_000 (half to even; half-up would give 50_000_001)
    with Session(engine) as s:
        assert table_limit(s, "AAA", "USD", dt.date(2026, 11, 30))[0] == 50_000_000


def test_rating_a_party_in_another_currency(engine: Engine, make_party: Callable[..., int]) -> None:
    pid = _party(engine, make_party, "CN1", "CNY")
    today = dt.datetime.now(dt.UTC).date()
    _rate(engine, f"{today.year:04d}-{today.month:02d}", "EUR", "CNY", "7.8")
    record_investigation(engine, pid, {"registration_verified": "yes"}, FINANCE)
    view = rate_party(engine, pid, FINANCE)
    # 10 (registration) + 8 (insurer not rated) + 15 (payment history) = 33 -> CCC: 0
    assert view.grade == "CCC"
    with Session(engine) as s:
        limit = limit_in_force(s, pid)
        assert limit is not None and (limit.limit_minor, limit.currency) == (0, "CNY")


def test_table_versions_name_every_bad_cell(engine: Engine) -> None:
    rows = {g: {"limit": "1000.00", "payment_days": "30"} for g in GRADES}
    bad = {**rows, "AAA": {"limit": "12,5", "payment_days": "400"}, "ZZ": rows["A"]}
    del bad["CCC"]
    with pytest.raises(CreditInputInvalid) as refused:
        set_table(engine, "EUR", bad, "1.5", "", FINANCE)
    fields = [p.field for p in refused.value.problems]
    assert fields == ["ZZ", "AAA.limit", "AAA.payment_days", "CCC", "medium_factor"]
    assert "AAA.limit: '12,5' is not an amount" in str(refused.value)
    with pytest.raises(PartnerDenied):
        set_table(engine, "EUR", rows, "0.5", "", Actor("carl", "channel_manager"))
    view = set_table(engine, "usd", rows, "0.25", "smaller", ADMIN)
    assert (view.version, view.currency, view.rows["AAA"]) == (2, "USD", (100_000, 30))
    with Session(engine) as s:
        assert table_in_force(s).medium_factor == __import__("decimal").Decimal("0.25")


def test_override_needs_a_reason_and_a_finance_approver(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    pid = make_party("DIST")
    with pytest.raises(PartnerError, match="say why the limit is overridden"):
        override_limit(engine, pid, 1_000_00, 30, "   ", FINANCE)
    with pytest.raises(PartnerDenied):
        override_limit(engine, pid, 1_000_00, 30, "because", ADMIN)
    with pytest.raises(PartnerStateError, match="DIST has no overridden limit"):
        remove_override(engine, pid, FINANCE)
    record_investigation(engine, pid, {"registration_verified": "yes"}, FINANCE)
    rate_party(engine, pid, FINANCE)
    override_limit(engine, pid, 1_000_00, 30, "bank guarantee 1000 EUR", FINANCE)
    back = remove_override(engine, pid, FINANCE)
    assert (back.source, back.limit_minor) == ("rating", 0)
    with Session(engine) as s:
        history = limit_history(s, pid)
        events = list(
            s.scalars(
                select(PartnerEvent)
                .where(PartnerEvent.party_id == pid, PartnerEvent.action == "credit.limit")
                .order_by(PartnerEvent.id)
            )
        )
    assert [h.source for h in history] == ["rating", "override", "rating"]
    assert history[1].reason == "bank guarantee 1000 EUR" and history[1].approved_by == "fiona"
    assert '"before"' in events[1].detail_json and '"after"' in events[1].detail_json


_WORDS = re.compile(
    r"^(?P<amount>\d+(?:\.\d+)?) (?P<base>[A-Z]{3}) at 1 (?P=base) = (?P<rate>\d+(?:\.\d+)?)"
    r" (?P<quote>[A-Z]{3}) \((?P<origin>.*)\) for (?P<period>\d{4}-\d{2})"
    r" = (?P<result>\d+(?:\.\d+)?) (?P=quote)$"
)


def _checks(words: str, converted: int, currency: str) -> re.Match[str]:
    """The words' own arithmetic: amount x the rate they state, rounded half-even to
    the currency's minor unit, is the result they state, and that is ``converted``."""
    m = _WORDS.match(words)
    assert m is not None, words
    unit = Decimal(1).scaleb(-minor_exponent(currency))
    product = (Decimal(m["amount"]) * Decimal(m["rate"])).quantize(unit, ROUND_HALF_EVEN)
    assert product == Decimal(m["result"]), words
    assert Decimal(m["result"]) == Decimal(converted).scaleb(-minor_exponent(currency)), words
    return m


def test_the_fx_words_of_an_inverse_rate_check(engine: Engine) -> None:
    # Only 1 USD = 0.92 EUR is stored. AAA 500000.00 EUR in USD: 1 / 0.92 =
    # 1.0869565217391..., applied cut to 12 places: 1.086956521739;
    # 500000.00 x 1.086956521739 = 543478.2608695 -> 543478.26 USD.
    # (The old words said "at 1 EUR = 1.086957 USD", whose product is 543478.50.)
    _rate(engine, "2026-11", "USD", "EUR", "0.92")
    with Session(engine) as s:
        limit, _days, words = table_limit(s, "AAA", "USD", dt.date(2026, 11, 30))
    assert limit == 54_347_826
    m = _checks(words, limit, "USD")
    assert m["rate"] == "1.086956521739"
    assert "the inverse of the stored 1 USD = 0.92 EUR, ECB, 2026-11-28" in m["origin"]
    # A 200000.00 EUR = 217391.3043478 -> 217391.30 USD
    with Session(engine) as s:
        limit, _days, words = table_limit(s, "A", "USD", dt.date(2026, 11, 30))
    assert limit == 21_739_130
    _checks(words, limit, "USD")


def test_the_fx_words_of_a_stored_rate_give_it_in_full(engine: Engine) -> None:
    # 1 EUR = 1.00000001 USD stored (more than 6 places): the words say it in full;
    # AAA 500000.00 x 1.00000001 = 500000.005 -> 500000.00 (half-even)
    _rate(engine, "2026-11", "EUR", "USD", "1.00000001")
    with Session(engine) as s:
        limit, _days, words = table_limit(s, "AAA", "USD", dt.date(2026, 11, 30))
    m = _checks(words, limit, "USD")
    assert m["rate"] == "1.00000001" and m["origin"] == "ECB, 2026-11-28"


def test_the_fx_words_of_a_cross_rate_check(engine: Engine) -> None:
    # EUR -> JPY through USD: 1 EUR = 1.0831 USD and 1 USD = 151.37 JPY;
    # 1.0831 x 151.37 = 163.948847 JPY (6 places: as it is);
    # A 200000.00 EUR x 163.948847 = 32789769.4 -> 32789769 JPY (no minor unit)
    _rate(engine, "2026-11", "EUR", "USD", "1.0831")
    _rate(engine, "2026-11", "USD", "JPY", "151.37")
    with Session(engine) as s:
        limit, _days, words = table_limit(s, "A", "JPY", dt.date(2026, 11, 30))
    assert limit == 32_789_769
    m = _checks(words, limit, "JPY")
    assert "via USD" in m["origin"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("20000"), places=6),
    inverse=st.booleans(),
    grade=st.sampled_from(GRADES),
    currency=st.sampled_from(["USD", "JPY", "KWD", "CNY"]),
)
def test_the_fx_words_always_check(
    engine: Engine, rate: Decimal, inverse: bool, grade: str, currency: str
) -> None:
    # Whatever the stored rate and its direction, the words' product is the limit.
    with Session(engine) as s, s.begin():
        s.query(FxRate).delete()
    if inverse:
        _rate(engine, "2026-11", currency, "EUR", str(rate))
    else:
        _rate(engine, "2026-11", "EUR", currency, str(rate))
    with Session(engine) as s:
        limit, _days, words = table_limit(s, grade, currency, dt.date(2026, 11, 30))
    _checks(words, limit, currency)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(
    body=st.dictionaries(
        st.sampled_from(["limit", "payment_days", "reason", "why", "limit_minor"]), _JSON
    )
    | st.fixed_dictionaries(
        {
            "limit": st.decimals(min_value=-10, max_value=10**20, places=2).map(str),
            "payment_days": st.integers(min_value=-5, max_value=400),
            "reason": st.text(max_size=10),
        }
    ),
    currency=st.sampled_from(["EUR", "JPY", "KWD"]),
)
def test_an_override_body_is_taken_whole_or_every_bad_member_named(
    body: dict[str, object], currency: str
) -> None:
    # Whatever JSON arrives: either every member is good (a storable limit of 0 or more,
    # 0-365 days, a reason with words) or each bad member is named, and nothing else
    # escapes (no OverflowError, TypeError ...).
    try:
        limit, days, reason = check_override(body, currency)
    except CreditInputInvalid as exc:
        named = {p.field for p in exc.problems}
        assert named and named <= set(body) | set(OVERRIDE_FIELDS)
        assert {n for n in body if n not in OVERRIDE_FIELDS} <= named  # unknown ones too
        return
    assert set(body) == set(OVERRIDE_FIELDS)
    assert 0 <= limit < 2**63 and 0 <= days <= 365 and reason.strip()
    assert isinstance(body["payment_days"], int) and not isinstance(body["payment_days"], bool)
