"""The risk level and the risk matrix's action (issue 13; seed 000 "风险矩阵模型"):
high puts the party on cash only, alerts finance and proposes termination; medium
lowers the limit by the table's factor and schedules the monthly review; low the
annual review; finance may set a level by hand with a reason."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from partners.errors import PartnerDenied, PartnerError, PartnerStateError
from partners.exits import add_months
from partners.tasks import open_tasks
from risk.assessment import (
    LEVELS,
    assess_in,
    assessment_history,
    assessment_in_force,
    is_cash_only,
    level_for,
    set_by_hand,
)
from risk.credit_alerts import list_alerts
from risk.limits import GRADES, limit_in_force, set_table
from risk.payments import record_invoice
from tests.credit._gate_world import AUDITOR, FINANCE, MANAGER, World, make_world

ON = dt.date(2026, 12, 1)


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def _assess(world: World, code: str, on: dt.date = ON):  # type: ignore[no-untyped-def]
    with Session(world.engine) as s, s.begin():
        return assess_in(s, world.ids[code], FINANCE, on)


def _tasks(world: World, code: str, kind: str) -> list[tuple[str, str | None]]:
    with Session(world.engine) as s:
        return [
            (t.detail["key"], t.due_on) for t in open_tasks(s, party_id=world.ids[code], kind=kind)
        ]


def test_high_risk_is_cash_only_with_an_alert_and_a_termination_proposal(world: World) -> None:
    world.rate("D-ONE", "CCC")
    view = _assess(world, "D-ONE")
    assert (view.level, view.cash_only, view.basis["why"]) == ("high", True, ["grade"])
    with Session(world.engine) as s:
        assert is_cash_only(s, world.ids["D-ONE"])
    # proposed to the partner manager, due in 14 days: 1 Dec + 14 = 15 Dec
    assert _tasks(world, "D-ONE", "credit_termination") == [("credit", "2026-12-15")]
    alerts, _ = list_alerts(world.engine, FINANCE, kind="high_risk")
    assert [(a.party_code, a.key) for a in alerts] == [("D-ONE", "2026-12-01")]
    assert view.action["alert"] == alerts[0].id


def test_medium_lowers_the_limit_by_the_factor_and_schedules_the_monthly_review(
    world: World,
) -> None:
    rows = {g: {"limit": "1000.00", "payment_days": 30} for g in GRADES}
    rows["BB"] = {"limit": "333.33", "payment_days": 30}
    set_table(world.engine, "EUR", rows, "0.5", "test table", FINANCE)
    world.limit("D-ONE", 50_000)  # 500.00 EUR in force
    world.rate("D-ONE", "BB")
    view = _assess(world, "D-ONE")
    # 333.33 EUR x 0.5 = 166.665 EUR = 16666.5 cents -> half-even 16666 (166.66 EUR)
    assert view.level == "medium"
    assert (view.action["limit_before"], view.action["limit_after"]) == (50_000, 16_666)
    with Session(world.engine) as s:
        limit = limit_in_force(s, world.ids["D-ONE"])
    assert limit is not None
    assert (limit.limit_minor, limit.source, limit.assessment_id) == (16_666, "risk", view.id)
    assert limit.payment_days == 30
    assert not view.cash_only
    # the monthly review: 1 Dec + 1 month = 1 Jan
    assert _tasks(world, "D-ONE", "credit_review") == [("monthly", "2027-01-01")]


def test_medium_keeps_a_limit_already_lower(world: World) -> None:
    world.limit("D-ONE", 10_000)  # 100.00 EUR, below the default table's BB 50000.00 x 0.5
    world.rate("D-ONE", "BB")
    view = _assess(world, "D-ONE")
    assert view.action["limit_after"] == 10_000
    with Session(world.engine) as s:
        limit = limit_in_force(s, world.ids["D-ONE"])
    assert limit is not None and limit.source == "override"


def test_low_schedules_the_annual_review(world: World) -> None:
    world.rate("D-ONE", "AA")
    view = _assess(world, "D-ONE")
    assert (view.level, view.cash_only, view.basis["why"]) == ("low", False, [])
    assert _tasks(world, "D-ONE", "credit_review") == [("annual", "2027-12-01")]
    assert _tasks(world, "D-ONE", "credit_termination") == []


def test_an_invoice_91_days_overdue_makes_a_good_grade_high(world: World) -> None:
    world.rate("D-ONE", "AAA")
    # due 1 Sep 2026; on 1 Dec it is 91 days overdue (30 Sep + 31 Oct + 30 Nov = 91)
    record_invoice(
        world.engine, world.ids["D-ONE"], "INV-1", issued_on="2026-08-01", due_on="2026-09-01",
        amount_minor=10_000, description="goods", actor=FINANCE,
    )  # fmt: skip
    view = _assess(world, "D-ONE")
    assert view.basis["max_overdue_days"] == 91
    assert (view.level, view.basis["why"]) == ("high", ["overdue"])


def test_going_from_high_to_low_lifts_cash_only_and_says_so(world: World) -> None:
    world.rate("D-ONE", "CCC")
    assert _assess(world, "D-ONE").cash_only
    world.rate("D-ONE", "A")
    view = _assess(world, "D-ONE", ON + dt.timedelta(days=1))
    assert (view.level, view.cash_only, view.action["cash_only_lifted"]) == ("low", False, True)
    with Session(world.engine) as s:
        assert not is_cash_only(s, world.ids["D-ONE"])
    history, total = assessment_history(world.engine, world.ids["D-ONE"], AUDITOR)
    assert total == 2 and [h.level for h in history] == ["low", "high"]


def test_no_rating_no_assessment(world: World) -> None:
    with pytest.raises(PartnerStateError) as refused:
        _assess(world, "D-TWO")
    assert refused.value.message_id == "assess_no_rating"
    assert "rate the party first" in str(refused.value)


def test_finance_sets_a_level_by_hand_with_a_reason(world: World) -> None:
    world.rate("D-ONE", "AA")
    _assess(world, "D-ONE")
    pid = world.ids["D-ONE"]
    with pytest.raises(PartnerError) as empty:
        set_by_hand(world.engine, pid, level="high", cash_only=True, reason=" ", actor=FINANCE)
    assert empty.value.message_id == "assess_no_reason"
    with pytest.raises(PartnerError) as bad:
        set_by_hand(world.engine, pid, level="severe", cash_only=True, reason="x", actor=FINANCE)
    assert bad.value.message_id == "assess_bad_level"
    with pytest.raises(PartnerDenied):
        set_by_hand(world.engine, pid, level="high", cash_only=True, reason="x", actor=MANAGER)
    view = set_by_hand(
        world.engine, pid, level="high", cash_only=True, reason="court filing", actor=FINANCE
    )
    assert (view.manual, view.reason, view.level, view.cash_only) == (
        True, "court filing", "high", True,
    )  # fmt: skip
    with Session(world.engine) as s:
        in_force = assessment_in_force(s, pid)
        assert in_force is not None and in_force.id == view.id
        assert is_cash_only(s, pid)


def test_an_auditor_may_not_assess(world: World) -> None:
    world.rate("D-ONE", "AA")
    with pytest.raises(PartnerDenied), Session(world.engine) as s:
        assess_in(s, world.ids["D-ONE"], AUDITOR, ON)


_GRADE = st.sampled_from(GRADES)
_DAYS = st.integers(min_value=0, max_value=400)
_UTIL = st.one_of(st.none(), st.integers(min_value=0, max_value=3000))
_ALERTS = st.integers(min_value=0, max_value=6)
_RANK = {level: i for i, level in enumerate(reversed(LEVELS))}  # low 0, medium 1, high 2


@given(_GRADE, _GRADE, _DAYS, _DAYS, _UTIL, _ALERTS, _ALERTS)
def test_a_worse_record_never_gives_a_lower_level(
    g1: str, g2: str, d1: int, d2: int, util: int | None, a1: int, a2: int
) -> None:
    better_grade, worse_grade = sorted((g1, g2), key=GRADES.index)
    fewer, more = sorted((d1, d2))
    less_alerts, more_alerts = sorted((a1, a2))
    better, why_better = level_for(better_grade, fewer, util, less_alerts)
    worse, why_worse = level_for(worse_grade, more, util, more_alerts)
    assert _RANK[worse] >= _RANK[better]
    assert (better == "low") == (why_better == ())
    assert (worse == "low") == (why_worse == ())


def test_the_matrix_thresholds() -> None:
    # 90 days is not more than 90; 120.0 % is not more than 120 % but more than 90 %
    assert level_for("A", 90, 1200, 0) == ("medium", ("overdue", "utilisation"))
    assert level_for("A", 91, None, 0) == ("high", ("overdue",))
    assert level_for("A", 30, 900, 0) == ("low", ())
    assert level_for("A", 31, None, 0) == ("medium", ("overdue",))
    assert level_for("A", 0, 901, 0) == ("medium", ("utilisation",))
    assert level_for("A", 0, 1201, 0) == ("high", ("utilisation",))
    assert level_for("AAA", 0, None, 3) == ("high", ("alerts",))
    assert level_for("AAA", 0, None, 2) == ("medium", ("alerts",))
    assert level_for("BBB", 0, None, 0) == ("medium", ("grade",))
    assert level_for("B", 0, None, 0) == ("high", ("grade",))


def test_due_dates_follow_calendar_months() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
