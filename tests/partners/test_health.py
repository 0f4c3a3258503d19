"""Health scores (risk/health.py): every part by hand, re-weighting without data,
and the drop that raises exactly one task for the partner manager.

Today is 2026-11-20. Party H:
- scorecard 2026-Q2 70, 2026-Q3 60: trend 60 + (60 - 70) = 50; Q3's target
  indicator 0.9 -> target 90;
- one confirmed out_of_zone alert in 2026-03 (inside the 12 months 2025-12..2026-11;
  one of 2025-11 and a confirmed clone do not count): diversion 100 / (1 + 1) = 50;
- owes 600.00 booked 2026-09-01 and 300.00 booked 2026-11-10, paid 200.00 on
  2026-10-01 (the oldest first): 400.00 is older than the 30 days' terms of its
  agreement, whose credit limit is 1,000.00: receivables 100 x (1 - 0.4) = 60;
- last interaction 2026-10-06, 45 days ago: recency 100 x (120 - 45) / 90 = 83.33;
- score 0.25 x 50 + 0.25 x 50 + 0.20 x 60 + 0.15 x 90 + 0.15 x 83.33 = 62.9995 -> 63.
Party N (no scorecard, nothing owed, never contacted): trend, target and diversion
(never scored: none of its sales checked) no data, receivables 100, recency 0: the
parts with data weigh 0.35 < half, so N has no score (issue 12: re-weighting gave
it 75), none stored and no task.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from partners.crm import record_interaction
from partners.errors import PartnerDenied, PartnerError
from partners.models import PartnerTask
from risk.health import (
    combine,
    compute_health,
    health_history,
    overdue_receivable,
    recency_part,
    trend_part,
)
from risk.models import HealthScore
from tests.partners.evaluation_support import (
    AUDITOR,
    FINANCE,
    PM,
    add_alert,
    ms,
    owe,
    score_quarter,
    signed_agreement,
)

D = Decimal
TODAY = dt.date(2026, 11, 20)
NEUTRAL = {"growth": "0.5", "diversion": "0.5", "returns": "1", "timeliness": "1"}


def _world(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    h, n = make_party("H"), make_party("N")
    make_party("SHOP", kind="dealer")  # dealers get no health score
    score_quarter(engine, h, "2026-Q2", "70", {"target": "1", **NEUTRAL})
    score_quarter(engine, h, "2026-Q3", "60", {"target": "0.9000", **NEUTRAL})
    add_alert(engine, h, "2026-03")
    add_alert(engine, h, "2025-11", key="old")
    add_alert(engine, h, "2026-06", finding_type="clone", key="clone")
    add_alert(engine, h, "2026-07", status="open", key="open")
    signed_agreement(engine, h, "AG-H", "2026-01-01", "2027-12-31", credit_limit=100_000)
    owe(engine, h, ms(2026, 9, 1), 60_000)
    owe(engine, h, ms(2026, 10, 1), -20_000)
    owe(engine, h, ms(2026, 11, 10), 30_000)
    record_interaction(engine, "H", "call", "2026-10-06", "stock", PM, today=TODAY)
    return {"H": h, "N": n}


def test_every_part_by_hand(engine: Engine, make_party: Callable[..., int]) -> None:
    _world(engine, make_party)
    scores = {v.party_code: v for v in compute_health(engine, PM, TODAY)}
    assert sorted(scores) == ["H", "N"]
    parts = {p.name: p.value for p in scores["H"].parts}
    assert parts == {
        "trend": D("50.00"), "diversion": D("50.00"), "receivables": D("60.00"),
        "target": D("90.00"), "recency": D("83.33"),
    }  # fmt: skip
    assert scores["H"].score == 63
    n_parts = {p.name: (p.value, p.basis) for p in scores["N"].parts}
    assert n_parts["trend"] == (None, "no data: no scorecard")
    assert n_parts["target"][0] is None and n_parts["recency"] == (
        D("0.00"),
        "no interaction recorded",
    )
    assert scores["N"].score is None
    assert n_parts["diversion"][0] is None
    assert scores["N"].why == "not enough data: no trend, diversion, target"
    assert scores["N"].task_id is None
    receivable = {p.name: p.basis for p in scores["H"].parts}["receivables"]
    assert receivable == "40000 of credit limit 100000 EUR minor units overdue"
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(HealthScore)) == 1  # H only


def test_pure_parts_at_their_edges() -> None:
    assert trend_part([]) == (None, "no data: no scorecard")
    assert trend_part([("2026-Q3", D(90)), ("2026-Q4", D(99))])[0] == D(100)  # clamped
    assert trend_part([("2026-Q3", D(20)), ("2026-Q4", D(5))])[0] == D(0)
    assert recency_part("2026-10-21", TODAY)[0] == D(100)  # 30 days
    assert recency_part("2026-07-23", TODAY)[0] == D(0)  # 120 days
    # a payment larger than what is owed leaves a credit that pays the next amount
    assert overdue_receivable([(1, -500), (2, 300)], TODAY, 30) == (0, 0)
    assert overdue_receivable([(1, 500)], TODAY, 30) == (500, 500)
    assert combine({"trend": None, "diversion": None}) is None
    # a small missing share is re-weighted; less than half of the weight: no score
    assert combine({"trend": D(80), "diversion": D(60), "receivables": D(100),
                    "target": None, "recency": D(100)}) == 82  # fmt: skip
    assert combine({"trend": None, "diversion": None, "receivables": D(100),
                    "target": None, "recency": D(0)}) is None  # fmt: skip
    assert combine({"trend": D(50), "diversion": D(50), "receivables": None,
                    "target": None, "recency": None}) == 50  # fmt: skip


def test_a_drop_raises_exactly_one_task(engine: Engine, make_party: Callable[..., int]) -> None:
    ids = _world(engine, make_party)
    low = make_party("LOW")
    for key in ("a", "b", "c"):
        add_alert(engine, low, "2026-09", key=f"low-{key}")
    score_quarter(
        engine,
        low,
        "2026-Q3",
        "20",
        {"target": "0.5", **NEUTRAL},
        target_basis="no target set: neutral",
    )
    owe(engine, low, ms(2026, 8, 1), 50_000)  # overdue, and no agreement: 0
    with Session(engine) as s, s.begin():
        for code in ("H", "N"):
            s.add(
                HealthScore(
                    party_id=ids[code],
                    computed_on="2026-11-13",
                    score=80,
                    parts_json="{}",
                    created_ms=1,
                )
            )
    first = {v.party_code: v for v in compute_health(engine, PM, TODAY)}
    # H: 80 -> 63 is a drop of 17 >= 15; N: no score (not enough data), no task; LOW: its first score,
    # (0.25 x 20 + 0.25 x 25) / 0.85 = 13.24 -> 13, is below 40
    assert (first["H"].previous, first["H"].score) == (80, 63)
    assert first["N"].task_id is None
    assert first["LOW"].score == 13 and first["LOW"].task_id is not None
    again = {v.party_code: v for v in compute_health(engine, PM, TODAY)}  # the same day again
    assert again["H"].task_id == first["H"].task_id
    with Session(engine) as s:
        tasks = s.scalars(select(PartnerTask).where(PartnerTask.kind == "health_drop")).all()
        assert sorted(t.party_id for t in tasks) == sorted([ids["H"], low])
        assert [t.title for t in tasks if t.party_id == ids["H"]] == [
            "Health score of H fell from 80 to 63 on 2026-11-20"
        ]
        rows = s.scalar(
            select(func.count())
            .select_from(HealthScore)
            .where(HealthScore.computed_on == "2026-11-20")
        )
        assert rows == 2  # one per party and day (N: none), however often computed
    # a higher threshold: the 17 points of H's drop no longer count (and the open task stays)
    later = {v.party_code: v for v in compute_health(engine, PM, TODAY, threshold=20)}
    assert later["H"].task_id is None
    history, total = health_history(engine, AUDITOR, party_code="H")
    assert total == 2 and [h.computed_on for h in history] == ["2026-11-20", "2026-11-13"]
    with pytest.raises(PartnerError, match="threshold: 0 is not a whole number"):
        compute_health(engine, PM, TODAY, threshold=0)
    with pytest.raises(PartnerDenied):
        compute_health(engine, FINANCE, TODAY)


def test_the_number_of_queries_does_not_grow_with_the_parties(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    from sqlalchemy import event

    def queries(n: int, day: dt.date) -> int:
        for i in range(n):
            make_party(f"P{i:03d}")
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert len(compute_health(engine, PM, day)) == n
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return sum(1 for q in seen if q.lstrip().upper().startswith("SELECT"))

    few = queries(3, TODAY)
    many = queries(40, TODAY + dt.timedelta(days=1))  # 40 parties in all, a new day
    assert few == many
