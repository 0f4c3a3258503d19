"""The rating model (risk/rating.py): a hand-computed rating, weights versions,
the override kept by one re-rating, and properties of the score."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from partners.errors import PartnerDenied, PartnerError, PartnerStateError
from partners.models import PartnerEvent
from risk.credit_files import CreditInputInvalid, record_investigation
from risk.limits import limit_in_force, override_limit
from risk.rating import (
    DEFAULT_WEIGHTS,
    FACTORS,
    GRADE_FLOORS,
    GRADES,
    factor_scores,
    grade_for,
    latest_rating,
    rate_party,
    rating_history,
    score_of,
    set_weights,
    weights_in_force,
)
from settlement import Actor

FINANCE = Actor("fiona", "finance")
CM = Actor("carl", "channel_manager")

INVESTIGATION = {
    "investigated_on": "2026-11-20",
    "registration": "Handelsregister HRB 1234, active",
    "registration_verified": "yes",
    "bank_reference": "fair",
    "trade_references_good": "2",
    "trade_references_bad": "0",
    "insurer": "Coface",
    "insurer_grade": "7",
    "statement_year": "2025",
    "revenue": "1000000.00",
    "equity": "250000.00",
    "current_ratio": "1.6",
    "days_payable": "40",
}


def test_a_rating_computed_by_hand(engine: Engine, make_party: Callable[..., int]) -> None:
    pid = make_party("DIST")
    record_investigation(engine, pid, INVESTIGATION, FINANCE)
    view = rate_party(engine, pid, FINANCE)
    # registration verified            -> 100 x 0.10 = 10.00
    # bank reference fair              ->  60 x 0.10 =  6.00
    # trade refs 2 good: 2*34 - 0 = 68 ->  68 x 0.10 =  6.80
    # insurer grade 7: 7*10 = 70       ->  70 x 0.20 = 14.00
    # current ratio 1.6 (>= 1.5)       ->  80 x 0.15 = 12.00
    # equity 250000 / revenue 1000000 = 0.25 (>= 0.20) -> 75 x 0.10 = 7.50
    # days payable 40 (<= 45)          ->  80 x 0.10 =  8.00
    # payment history: nothing overdue ->  100 x 0.15 = 15.00
    # sum = 79.30 -> 79 (half-even) -> grade A (70..79)
    assert view.score == 79 and view.grade == "A" and view.weights_version == 1
    points = {f: view.contributions[f]["points"] for f in FACTORS}
    assert points == {
        "registration": "10.00", "bank_reference": "6.00", "trade_references": "6.80",
        "insurer_grade": "14.00", "current_ratio": "12.00", "equity_ratio": "7.50",
        "days_payable": "8.00", "payment_history": "15.00",
    }  # fmt: skip
    assert view.contributions["current_ratio"] == {"score": 80, "weight": "0.15", "points": "12.00"}
    assert view.inputs["equity_minor"] == 25_000_000 and view.inputs["current_ratio"] == "1.6"
    # the table's limit for A: 200000.00 EUR, 45 days (the party is in EUR)
    with Session(engine) as s:
        limit = limit_in_force(s, pid)
        assert limit is not None
        assert (limit.limit_minor, limit.payment_days, limit.source) == (20_000_000, 45, "rating")
        assert latest_rating(s, pid) == view
        actions = set(s.scalars(select(PartnerEvent.action).where(PartnerEvent.party_id == pid)))
    assert {"credit.investigation", "credit.rating", "credit.limit"} <= actions


def test_no_investigation_no_rating_and_readers_may_not_rate(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    pid = make_party("NEW")
    with pytest.raises(PartnerStateError, match="NEW has no credit investigation to rate"):
        rate_party(engine, pid, FINANCE)
    record_investigation(engine, pid, {}, FINANCE)
    with pytest.raises(PartnerDenied):
        rate_party(engine, pid, CM)


def test_an_empty_investigation_rates_ccc(engine: Engine, make_party: Callable[..., int]) -> None:
    pid = make_party("BARE")
    record_investigation(engine, pid, {}, FINANCE)
    view = rate_party(engine, pid, FINANCE)
    # only the insurer's "not rated" 40 x 0.20 = 8.00 and payment history 100 x 0.15 = 15.00
    assert view.score == 23 and view.grade == "CCC"
    with Session(engine) as s:
        limit = limit_in_force(s, pid)
    assert limit is not None and limit.limit_minor == 0


def test_weights_versions(engine: Engine, make_party: Callable[..., int]) -> None:
    with pytest.raises(PartnerError, match=r"the weights add up to 0\.90, not 1"):
        set_weights(engine, {**DEFAULT_WEIGHTS, "registration": "0.00"}, "x", FINANCE)
    with pytest.raises(CreditInputInvalid) as bad:
        set_weights(engine, {"registration": "-1", "luck": "0.5"}, "x", FINANCE)
    assert {p.field for p in bad.value.problems} == {"registration", "luck"}
    with pytest.raises(PartnerDenied):
        set_weights(engine, DEFAULT_WEIGHTS, "x", CM)
    new = {**{f: "0" for f in FACTORS}, "payment_history": "1"}
    view = set_weights(engine, new, "behaviour only", FINANCE)
    assert view.version == 2  # version 1, the default, stored first
    pid = make_party("DIST")
    record_investigation(engine, pid, {}, FINANCE)
    rating = rate_party(engine, pid, FINANCE)
    assert (rating.score, rating.grade, rating.weights_version) == (100, "AAA", 2)
    with Session(engine) as s:
        assert weights_in_force(s).weights["payment_history"] == Decimal(1)


def test_an_override_stays_through_one_rating(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    pid = make_party("DIST")
    record_investigation(engine, pid, INVESTIGATION, FINANCE)
    rate_party(engine, pid, FINANCE)
    override_limit(engine, pid, 123_456, 10, "guarantee from the parent company", FINANCE)
    rate_party(engine, pid, FINANCE)  # the override was set after the previous rating
    with Session(engine) as s:
        limit = limit_in_force(s, pid)
        assert limit is not None and (limit.limit_minor, limit.source) == (123_456, "override")
    rate_party(engine, pid, FINANCE)  # now it is older than the previous rating
    with Session(engine) as s:
        limit = limit_in_force(s, pid)
        assert limit is not None and (limit.limit_minor, limit.source) == (20_000_000, "rating")
        assert len(rating_history(s, pid)) == 3


# ------------------------------------------------------------------ properties

_INPUTS = st.fixed_dictionaries(
    {
        "registration_verified": st.booleans(),
        "bank_reference": st.sampled_from(["good", "fair", "poor", "none"]),
        "trade_references_good": st.integers(0, 10),
        "trade_references_bad": st.integers(0, 5),
        "insurer_grade": st.none() | st.integers(0, 10),
        "current_ratio": st.none() | st.decimals(0, 5, places=2).map(str),
        "equity_minor": st.none() | st.integers(-(10**9), 10**9),
        "revenue_minor": st.none() | st.integers(0, 10**9),
        "days_payable": st.none() | st.integers(0, 3650),
        "max_overdue_days": st.integers(0, 400),
    }
)
_WEIGHTS = st.lists(st.integers(0, 100), min_size=len(FACTORS), max_size=len(FACTORS)).filter(
    lambda xs: sum(xs) > 0
)


def _weights(raw: list[int]) -> dict[str, Decimal]:
    """Integers scaled to decimals summing to exactly 1 (the rest on the last)."""
    total = sum(raw)
    ws = [(Decimal(x) / total).quantize(Decimal("0.0001")) for x in raw]
    ws[-1] = Decimal(1) - sum(ws[:-1], Decimal(0))
    if ws[-1] < 0:
        ws = [Decimal(0)] * (len(raw) - 1) + [Decimal(1)]
    return dict(zip(FACTORS, ws, strict=True))


@given(_INPUTS, _WEIGHTS)
def test_points_sum_to_the_unrounded_score_within_0_100(
    inputs: dict[str, Any], raw: list[int]
) -> None:
    unrounded, score, contributions = score_of(factor_scores(inputs), _weights(raw))
    assert sum((Decimal(c["points"]) for c in contributions.values()), Decimal(0)) == unrounded
    assert 0 <= score <= 100 and abs(Decimal(score) - unrounded) <= Decimal("0.5")
    json.dumps(contributions)  # stored as JSON


#: Each input and the direction that is better for the party.
_BETTER = {
    "trade_references_good": 1, "trade_references_bad": -1, "insurer_grade": 1,
    "days_payable": -1, "max_overdue_days": -1, "equity_minor": 1,
}  # fmt: skip


@given(_INPUTS, _WEIGHTS, st.sampled_from(sorted(_BETTER)), st.integers(1, 500))
def test_a_better_input_never_lowers_the_score(
    inputs: dict[str, Any], raw: list[int], name: str, step: int
) -> None:
    weights = _weights(raw)
    before = score_of(factor_scores(inputs), weights)[0]
    better = dict(inputs)
    if better[name] is None:
        return  # unknown -> known is not "raising" the input
    better[name] = better[name] + _BETTER[name] * step
    if better[name] < 0 or (name == "insurer_grade" and better[name] > 10):
        return
    assert score_of(factor_scores(better), weights)[0] >= before


@given(st.booleans(), st.sampled_from(["none", "poor", "fair", "good"]))
def test_verified_registration_and_better_bank_never_lower(verified: bool, bank: str) -> None:
    order = ["none", "poor", "fair", "good"]
    base = factor_scores({"registration_verified": False, "bank_reference": bank})
    up = factor_scores({"registration_verified": verified, "bank_reference": bank})
    assert up["registration"] >= base["registration"]
    for better in order[order.index(bank) :]:
        assert factor_scores({"bank_reference": better})["bank_reference"] >= base["bank_reference"]


@given(st.decimals(0, 10, places=2), st.decimals(0, 10, places=2))
def test_current_ratio_is_monotone(a: Decimal, b: Decimal) -> None:
    lo, hi = sorted((a, b))
    assert (
        factor_scores({"current_ratio": str(hi)})["current_ratio"]
        >= factor_scores({"current_ratio": str(lo)})["current_ratio"]
    )


@given(st.integers(0, 100), st.integers(0, 100))
def test_grade_bands_are_ordered(a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert GRADES.index(grade_for(hi)) <= GRADES.index(grade_for(lo))
    assert [grade_for(f) for f in GRADE_FLOORS.values()] == list(GRADES[:-1])
    assert grade_for(39) == "CCC" and grade_for(100) == "AAA"
