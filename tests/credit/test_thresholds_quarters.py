"""The kpi_miss threshold counts completed quarters only (issue 13 fix round): a
check during a quarter never calls that quarter missed, even when a scorecard for
it is already stored; the quarter counts from the first day of the next one."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from risk import thresholds as th
from settlement.models import PartnerScore
from tests.credit._watch_world import FINANCE, Watch, make_watch


@pytest.fixture
def watch(engine: Engine, make_user: Callable[..., int]) -> Watch:
    return make_watch(engine, make_user)


def _scores(watch: Watch, *quarters: tuple[str, int]) -> None:
    """Scorecards of D1: (quarter, net units) against a target of 100 units."""
    with Session(watch.engine) as s, s.begin():
        for quarter, net in quarters:
            value = min(net / 100, 1)
            breakdown = {"target": {"value": f"{value:.4f}", "weight": "0.30", "points": "0",
                                    "basis": f"{net} of target 100 units"}}  # fmt: skip
            s.add(PartnerScore(party_id=watch.d1, quarter=quarter, score="50",
                               partner_class="B", breakdown_json=json.dumps(breakdown),
                               tree_size=0, created_ms=1))  # fmt: skip


def _kpi(report: th.CheckReport) -> list[tuple[str, list[str]]]:
    return [
        (a.key, [q["quarter"] for q in a.detail["quarters"]])
        for a in report.new
        if a.kind == "kpi_miss"
    ]


def test_the_unfinished_quarter_is_not_missed_yet(watch: Watch) -> None:
    watch.limit(watch.d1, 100_000)
    # Q2 met (120 >= 100); Q3 missed (90 < 100); Q4 so far 10 of 100 (the quarter runs)
    _scores(watch, ("2026-Q2", 120), ("2026-Q3", 90), ("2026-Q4", 10))
    # 2026-12-01 and 2026-12-31 are inside Q4: only Q3 is a completed miss, a run of
    # 1 < the default 2 quarters, so no alert (it used to say 2026-Q4 and 2026-Q3)
    assert _kpi(th.check(watch.engine, FINANCE, dt.date(2026, 12, 1))) == []
    assert _kpi(th.check(watch.engine, FINANCE, dt.date(2026, 12, 31))) == []
    # 2027-01-01: Q4 is complete, 10 < 100 and 90 < 100: two in a row
    assert _kpi(th.check(watch.engine, FINANCE, dt.date(2027, 1, 1))) == [
        ("2026-Q4", ["2026-Q4", "2026-Q3"])
    ]


def test_a_one_quarter_threshold_waits_for_the_quarter_to_end(watch: Watch) -> None:
    watch.limit(watch.d1, 100_000)
    th.set_threshold(watch.engine, FINANCE, "kpi_miss", 1)
    _scores(watch, ("2026-Q3", 100), ("2026-Q4", 0))  # Q3 met exactly; Q4 nothing yet
    assert _kpi(th.check(watch.engine, FINANCE, dt.date(2026, 11, 15))) == []
    report = th.check(watch.engine, FINANCE, dt.date(2027, 2, 1))  # in 2027-Q1
    assert _kpi(report) == [("2026-Q4", ["2026-Q4"])]


def test_the_run_ends_at_the_last_completed_quarter(watch: Watch) -> None:
    watch.limit(watch.d1, 100_000)
    # Q1 and Q2 missed, Q3 met, Q4 (running on 2026-10-05) missed so far
    _scores(watch, ("2026-Q1", 50), ("2026-Q2", 60), ("2026-Q3", 100), ("2026-Q4", 0))
    with Session(watch.engine) as s:
        assert th.kpi_misses(s, watch.d1, dt.date(2026, 10, 5)) == []  # Q3 met
        run = th.kpi_misses(s, watch.d1, dt.date(2026, 9, 30))  # in Q3: Q2, Q1
    assert [q["quarter"] for q in run] == ["2026-Q2", "2026-Q1"]


def _quarter_of(day: dt.date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dates(dt.date(2025, 1, 1), dt.date(2028, 12, 31)))
def test_no_run_reaches_the_quarter_of_the_day_checked(watch: Watch, on: dt.date) -> None:
    # every quarter 2025-Q1 .. 2027-Q4 stored as a miss (any day is inside one)
    with Session(watch.engine) as s:
        stored = s.query(PartnerScore).count()
    if not stored:
        _scores(watch, *((f"{y}-Q{n}", 0) for y in (2025, 2026, 2027) for n in (1, 2, 3, 4)))
    with Session(watch.engine) as s:
        run = [q["quarter"] for q in th.kpi_misses(s, watch.d1, on)]
    current = _quarter_of(on)
    assert all(q < current for q in run)
    # the run is the completed stored quarters, latest first, contiguous
    expected = sorted(
        (f"{y}-Q{n}" for y in (2025, 2026, 2027) for n in (1, 2, 3, 4) if f"{y}-Q{n}" < current),
        reverse=True,
    )
    assert run == expected
