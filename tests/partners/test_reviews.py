"""A/B/C class reviews (risk/reviews.py): weights, the hand-computed proposal, the
confirmation writing the class in force, event reviews from serious alerts, roles."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from partners.classes import class_history, classes_in_force
from partners.errors import PartnerDenied, PartnerError, PartnerNotFound, PartnerStateError
from partners.models import PartnerClass, PartnerEvent
from risk.reviews import (
    DEFAULT_WEIGHTS,
    REVIEW_INDICATORS,
    check_weights,
    confirm_review,
    enter_indicator,
    get_review,
    list_reviews,
    open_event_reviews,
    open_review,
    propose,
    set_weights,
    weights_for,
)
from settlement import Actor
from tests.partners.evaluation_support import ADMIN, CM, FINANCE, PM, add_alert, score_quarter

D = Decimal
MANUAL = {"market_promotion": 80, "customer_service": 70, "team_stability": 60, "compliance": 90}


def test_default_weights_add_up_to_one_and_follow_the_scorecard() -> None:
    assert sum(DEFAULT_WEIGHTS.values()) == 1
    # the scorecard's 0.30/0.20/0.25/0.15/0.10 scaled to 60 %, 10 % per manual indicator
    assert DEFAULT_WEIGHTS["target"] == D("0.18") and DEFAULT_WEIGHTS["diversion"] == D("0.15")
    assert DEFAULT_WEIGHTS["compliance"] == D("0.10")


def test_weights_are_checked_and_versioned_per_year(engine: Engine) -> None:
    with pytest.raises(PartnerError, match="unknown indicator loyalty"):
        set_weights(engine, 2026, {"loyalty": "1"}, CM)
    with pytest.raises(PartnerError, match=r"must add up to 1, not 0\.9"):
        set_weights(engine, 2026, {"target": "0.5", "compliance": "0.4"}, CM)
    with pytest.raises(PartnerError, match=r"weights.target: 'lots' is not a number"):
        set_weights(engine, 2026, {"target": "lots", "compliance": "0.4"}, CM)
    with pytest.raises(PartnerError, match=r"weights.target: '1.5' is not a number from 0 to 1"):
        set_weights(engine, 2026, {"target": "1.5"}, CM)
    with pytest.raises(PartnerDenied):
        set_weights(engine, 2026, {"target": "1"}, FINANCE)
    assert weights_for(engine, 2026).version == 0  # nothing stored: the defaults
    v1 = set_weights(engine, 2026, {"target": "0.5", "compliance": "0.5"}, CM)
    v2 = set_weights(engine, 2026, {"target": "0.4", "compliance": "0.6"}, PM)
    assert (v1.version, v2.version) == (1, 2)
    now = weights_for(engine, 2026)
    assert now.version == 2 and now.weights["compliance"] == D("0.6")
    assert now.weights["growth"] == 0  # left out: weighs nothing
    assert weights_for(engine, 2027).version == 0  # another year keeps the defaults


@given(st.dictionaries(st.sampled_from(REVIEW_INDICATORS), st.integers(0, 100), min_size=1))
def test_weights_in_hundredths_are_accepted_exactly_when_they_sum_to_one(
    raw: dict[str, int],
) -> None:
    weights = {n: f"{v / 100:.2f}" for n, v in raw.items()}
    if sum(raw.values()) == 100:
        assert sum(check_weights(weights).values()) == 1
    else:
        with pytest.raises(PartnerError, match="must add up to 1"):
            check_weights(weights)


def test_proposal_by_hand_and_the_class_thresholds() -> None:
    values = {
        "target": D(100), "growth": D(50), "diversion": D(50), "returns": D(100),
        "timeliness": D(100), **{n: D(v) for n, v in MANUAL.items()},
    }  # fmt: skip
    score, cls, points = propose(values, DEFAULT_WEIGHTS)
    # 0.18*100 + 0.12*50 + 0.15*50 + 0.09*100 + 0.06*100 + 0.10*(80+70+60+90)
    # = 18 + 6 + 7.5 + 9 + 6 + 30 = 76.5 -> B (A from 80, B from 60)
    assert score == D("76.50") and cls == "B"
    assert points["diversion"] == D("7.50") and points["compliance"] == D("9.00")
    one = {"compliance": D(1)}
    assert propose({"compliance": D(80)}, one)[1] == "A"
    assert propose({"compliance": D("79.99")}, one)[1] == "B"
    assert propose({"compliance": D(60)}, one)[1] == "B"
    assert propose({"compliance": D("59.99")}, one)[1] == "C"
    # no scorecard: the manual ones alone weigh 0.4 < half: no score, no proposal
    # (issue 12: re-weighted, they proposed 75 -> B)
    no_ledger = {n: None for n in ("target", "growth", "diversion", "returns", "timeliness")}
    score, cls, points = propose(
        {**no_ledger, **{n: D(v) for n, v in MANUAL.items()}}, DEFAULT_WEIGHTS
    )
    assert (score, cls, points["target"]) == (None, "", None)
    # a small missing share is still re-weighted: no target (0.18) -> 58.5 / 0.82
    partial = {**values, "target": None}
    assert propose(partial, DEFAULT_WEIGHTS)[:2] == (D("71.34"), "B")
    assert propose({"target": None}, DEFAULT_WEIGHTS) == (None, "", {"target": None})


def _scored(engine: Engine, make_party: Callable[..., int]) -> int:
    pid = make_party("DIST")
    score_quarter(engine, pid, "2026-Q1", "70", {
        "target": "1.0000", "growth": "0.4000", "diversion": "0.5000", "returns": "1.0000",
        "timeliness": "1.0000",
    })  # fmt: skip
    score_quarter(engine, pid, "2026-Q2", "72", {
        "target": "1.0000", "growth": "0.6000", "diversion": "0.5000", "returns": "1.0000",
        "timeliness": "1.0000",
    })  # fmt: skip
    score_quarter(engine, pid, "2025-Q4", "10", {n: "0" for n in ("target", "growth", "diversion", "returns", "timeliness")})  # fmt: skip
    return pid


def test_review_from_scorecard_and_entries_to_the_class_in_force(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    pid = _scored(engine, make_party)
    review = open_review(engine, "DIST", "annual", 2026, "annual review 2026", CM)
    lines = {ln.indicator: ln for ln in review.lines}
    # mean of 2026-Q1 and 2026-Q2 (2025-Q4 is another year): growth (0.4 + 0.6) / 2 = 50
    assert lines["growth"].value == D("50.00") and lines["target"].value == D("100.00")
    assert "2026-Q1, 2026-Q2" in lines["growth"].basis
    assert lines["compliance"].value is None and lines["compliance"].basis == "not entered"
    # only the scorecard so far: (18 + 6 + 7.5 + 9 + 6) / 0.6 = 77.5
    assert review.score == D("77.50") and review.proposed_class == "B"
    with pytest.raises(PartnerError, match="still needs: market_promotion, customer_service"):
        confirm_review(engine, review.id, "B", "fine", CM)
    for name, value in MANUAL.items():
        review = enter_indicator(engine, review.id, name, value, f"{name} seen", CM)
    assert review.score == D("76.50") and review.proposed_class == "B"  # as by hand above
    assert {ln.indicator: ln.entered_by for ln in review.lines}["compliance"] == "carla"
    with pytest.raises(PartnerError, match="reason: say why"):
        confirm_review(engine, review.id, "A", "  ", PM)
    done = confirm_review(
        engine, review.id, "A", "best promoter of 2026", PM, valid_from="2026-12-01"
    )
    assert done.status == "confirmed" and done.confirmed_class == "A"
    assert done.proposed_class == "B" and done.valid_from == "2026-12-01"
    with Session(engine) as s:
        [row] = s.scalars(select(PartnerClass).where(PartnerClass.party_id == pid)).all()
        assert (row.partner_class, row.valid_from, row.review_id) == ("A", "2026-12-01", review.id)
        assert classes_in_force(s, "2026-11-30") == {}
        assert classes_in_force(s, "2026-12-01") == {pid: "A"}
        assert [c.partner_class for c in class_history(s, pid)] == ["A"]
        actions = [
            e.action for e in s.scalars(select(PartnerEvent).where(PartnerEvent.party_id == pid))
        ]
    assert actions.count("review.indicator") == 4
    assert "review.opened" in actions and "review.confirmed" in actions
    # a confirmed review never changes
    with pytest.raises(PartnerStateError, match="is confirmed"):
        enter_indicator(engine, review.id, "compliance", 10, "", CM)
    with pytest.raises(PartnerStateError, match="is confirmed"):
        confirm_review(engine, review.id, "C", "again", CM)
    assert get_review(engine, review.id, FINANCE).confirmed_class == "A"


def test_indicator_entry_refuses_what_it_must(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    pid = make_party("DIST")
    review = open_review(engine, "DIST", "annual", 2026, "", CM)
    with pytest.raises(PartnerError, match="target comes from the scorecard"):
        enter_indicator(engine, review.id, "target", 50, "", CM)
    with pytest.raises(PartnerError, match="unknown indicator charm"):
        enter_indicator(engine, review.id, "charm", 50, "", CM)
    for bad in (101, -1, True, "50"):
        with pytest.raises(PartnerError, match="is not a whole number from 0 to 100"):
            enter_indicator(engine, review.id, "compliance", bad, "", CM)
    with pytest.raises(PartnerDenied):
        enter_indicator(engine, review.id, "compliance", 50, "", PM)  # channel managers enter
    with pytest.raises(PartnerNotFound):
        enter_indicator(engine, 9999, "compliance", 50, "", CM)
    with pytest.raises(PartnerStateError, match="already has an open annual review for 2026"):
        open_review(engine, "DIST", "annual", 2026, "", PM)
    with pytest.raises(PartnerNotFound):
        open_review(engine, "NOBODY", "annual", 2026, "", PM)
    with pytest.raises(PartnerDenied):
        open_review(engine, "DIST", "annual", 2027, "", FINANCE)
    with pytest.raises(PartnerError, match="kind: 'yearly' is not annual or event"):
        open_review(engine, "DIST", "yearly", 2027, "", PM)
    with pytest.raises(PartnerError, match="class: 'D' is not A, B or C"):
        confirm_review(engine, review.id, "D", "x", CM)
    with pytest.raises(PartnerError, match="valid_from: '2026-13-01' is not a date"):
        confirm_review(engine, review.id, "B", "x", CM, valid_from="2026-13-01")
    # a review keeps the weights of its opening; a weight of 0 needs no entry
    set_weights(engine, 2027, {"target": "0.5", "compliance": "0.5"}, CM)
    later = open_review(engine, "DIST", "annual", 2027, "", CM)
    assert later.weights_version == 1 and later.score is None  # no scorecard in 2027
    enter_indicator(engine, later.id, "compliance", 40, "late payments", CM)
    # compliance alone is half the weight: a score, but the scorecard's target is missing
    with pytest.raises(
        PartnerStateError,
        match=r"still needs the scorecard's target: no scorecard for 2027 yet; score its"
        r" quarters first \(hopchain scores --quarter 2027-Q1\)",
    ):
        confirm_review(engine, later.id, "C", "compliance is weak", CM)
    score_quarter(engine, pid, "2027-Q1", "50", {"target": "0.6000"})
    done = confirm_review(engine, later.id, "C", "compliance is weak", CM)  # reads it now
    assert done.score == D("50.00") and done.proposed_class == "C"
    assert [ln.value for ln in done.lines if ln.indicator == "target"] == [D("60.00")]
    items, total = list_reviews(engine, ADMIN, status="open")
    assert total == 1 and [r.id for r in items] == [review.id]
    assert list_reviews(engine, ADMIN, party_code="DIST", limit=1)[1] == 2


def test_a_confirmed_serious_alert_opens_one_event_review(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    a = make_party("A")
    b = make_party("B")
    serious = add_alert(engine, a, "2026-10", severity="high")
    add_alert(engine, a, "2026-10", severity="critical", status="investigating")
    add_alert(engine, b, "2026-09", severity="medium")  # confirmed, but not serious
    add_alert(engine, None, "2026-09", severity="critical")  # nobody responsible
    opened = open_event_reviews(engine, CM)
    assert [(r.party_code, r.kind, r.year, r.trigger_alert_id) for r in opened] == [
        ("A", "event", 2026, serious)
    ]
    assert opened[0].trigger.startswith(f"alert {serious} confirmed: high out_of_zone")
    assert open_event_reviews(engine, CM) == []  # once per alert
    critical = add_alert(engine, b, "2025-12", severity="critical", key="b-crit")
    again = open_event_reviews(engine, ADMIN)
    assert [(r.party_code, r.year, r.trigger_alert_id) for r in again] == [("B", 2025, critical)]
    with pytest.raises(PartnerDenied):
        open_event_reviews(engine, Actor("d", "distributor", b))
    with Session(engine) as s:
        assert (
            json.loads(
                s.scalars(select(PartnerEvent.detail_json).where(PartnerEvent.party_id == b)).one()
            )["kind"]
            == "event"
        )


def test_a_review_opened_before_any_scorecard_is_not_confirmed_from_manual_ones(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    """Issue 12: the four manual indicators alone (40 % of the weight) proposed C and
    were confirmed, feeding settlement's class multiplier."""
    pid = make_party("NEW")
    review = open_review(engine, "NEW", "annual", 2026, "", CM)
    for name, value in {**MANUAL, "compliance": 20, "market_promotion": 30}.items():
        review = enter_indicator(engine, review.id, name, value, "seen", CM)
    assert review.score is None and review.proposed_class == ""  # not enough data
    with pytest.raises(PartnerStateError, match="no scorecard for 2026 yet"):
        confirm_review(engine, review.id, "C", "weak", CM)
    with Session(engine) as s:
        assert s.scalars(select(PartnerClass)).all() == []
    score_quarter(engine, pid, "2026-Q3", "90", {
        "target": "1", "growth": "1", "diversion": "1", "returns": "1", "timeliness": "1",
    })  # fmt: skip
    done = confirm_review(engine, review.id, "B", "scored now", CM)
    # 0.6 x 100 + 0.1 x (30 + 70 + 60 + 20) = 78 -> B
    assert done.score == D("78.00") and done.proposed_class == "B"
