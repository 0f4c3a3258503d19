"""The credit-rating accuracy report on a hand-built history (tests/credit/_accuracy_world.py
writes every date and count out): counts per grade, the rate beside the 95 % target, the
wrong ratings and why, the horizon, and who may read it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from partners.errors import PartnerDenied, PartnerError
from risk.accuracy import accuracy
from settlement.common import Actor
from tests.credit._accuracy_world import build_history

ON = dt.date(2026, 12, 1)
R = ON - dt.timedelta(days=600)  # 2025-04-10
FINANCE = Actor("fiona", "finance")


def _grades(report: object) -> dict[str, tuple[int, int, int, Decimal | None]]:
    return {g.grade: (g.good, g.bad, g.pending, g.bad_rate_percent) for g in report.grades}  # type: ignore[attr-defined]


def test_a_year_after_each_rating(engine: Engine) -> None:
    build_history(engine, ON)
    report = accuracy(engine, FINANCE, on=ON)
    assert report.horizon_days == 365
    # (good, bad, pending, bad rate): the superseded CCC of A-P1 is not counted
    assert _grades(report) == {
        "AAA": (1, 0, 0, Decimal("0.0")),
        "AA": (1, 0, 0, Decimal("0.0")),
        "A": (0, 1, 0, Decimal("100.0")),
        "BBB": (0, 0, 1, None),
        "BB": (0, 1, 0, Decimal("100.0")),
        "B": (1, 0, 0, Decimal("0.0")),
        "CCC": (0, 1, 0, Decimal("100.0")),
    }
    # right: A-P1 AAA good, A-P3 CCC bad, A-P6 AA good, A-P7 BB bad = 4 of 6 = 66.7 %
    assert (report.rated, report.right, report.pending) == (6, 4, 1)
    assert report.accuracy_percent == Decimal("66.7")
    assert report.target_percent == 95 and report.meets_target is False
    wrong = {o.party_code: o for o in report.wrong}
    assert set(wrong) == {"A-P2", "A-P4"}
    p2 = wrong["A-P2"]
    assert (p2.grade, p2.outcome, p2.why.reason, p2.why.item) == (
        "A", "bad", "overdue", "invoice:INV-P2",
    )  # fmt: skip
    # due R+30, unpaid: 91 days past due on R+121
    assert p2.why.day == R + dt.timedelta(days=121) and p2.why.days == 91
    assert (wrong["A-P4"].grade, wrong["A-P4"].outcome) == ("B", "good")
    by_code = {o.party_code: o for o in report.outcomes}
    # the write-off (R+136) came before INV-P3 was 91 days late (R+183)
    assert by_code["A-P3"].why.reason == "written_off"
    assert by_code["A-P3"].why.day == R + dt.timedelta(days=136)
    # statement 71 due R+40, paid R+164: still open on R+131
    assert by_code["A-P7"].why.item == "statement:71"
    assert by_code["A-P7"].why.day == R + dt.timedelta(days=131)
    # statement 61 carried forward 46 days late, INV-P1 paid 22 days late: good
    assert by_code["A-P6"].outcome == "good" and by_code["A-P1"].outcome == "good"
    assert by_code["A-P5"].outcome == "pending" and by_code["A-P5"].right is None


def test_a_shorter_horizon_sees_none_of_it(engine: Engine) -> None:
    build_history(engine, ON)
    report = accuracy(engine, FINANCE, horizon_days=90, on=ON)
    # every bad thing happened after R+90; A-P5's 90 days ended on ON-1
    assert report.pending == 0 and report.rated == 7
    # right: AAA, A, AA, BBB good; wrong: CCC, B, BB good: 4 / 7 = 57.142... = 57.1 %
    assert report.right == 4 and report.accuracy_percent == Decimal("57.1")
    assert {o.party_code for o in report.wrong} == {"A-P3", "A-P4", "A-P7"}


def test_seen_before_the_trouble_the_ratings_are_pending(engine: Engine) -> None:
    build_history(engine, ON)
    # seen on R+100: nothing has gone bad yet and no year has passed
    report = accuracy(engine, FINANCE, on=R + dt.timedelta(days=100))
    assert report.rated == 0 and report.accuracy_percent is None and report.meets_target is None
    assert report.pending == 6  # A-P5 was not rated yet


def test_an_empty_book_has_no_rate(engine: Engine) -> None:
    report = accuracy(engine, FINANCE, on=ON)
    assert report.rated == 0 and report.accuracy_percent is None
    assert [g.grade for g in report.grades] == ["AAA", "AA", "A", "BBB", "BB", "B", "CCC"]


@pytest.mark.parametrize("horizon", [0, 29, 1826])
def test_a_horizon_out_of_range_is_refused(engine: Engine, horizon: int) -> None:
    with pytest.raises(PartnerError) as exc:
        accuracy(engine, FINANCE, horizon_days=horizon, on=ON)
    assert exc.value.message_id == "accuracy_horizon"
    assert str(exc.value) == (
        f"horizon_days: {horizon} is not a whole number of days from 30 to 1825"
    )


@pytest.mark.parametrize("role", ["distributor", "warehouse"])
def test_only_credit_readers_read_it(engine: Engine, role: str) -> None:
    with pytest.raises(PartnerDenied):
        accuracy(engine, Actor("x", role), on=ON)
