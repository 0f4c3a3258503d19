"""The daily check follows behaviour: a party whose record changes its risk level is
re-assessed and the risk matrix's action is taken the same day (seed 000
"风险矩阵模型"), while a level set by hand stands."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from partners.tasks import open_tasks
from risk.assessment import assess_in, assessment_in_force, is_cash_only, set_by_hand
from risk.payments import record_invoice
from risk.thresholds import check
from tests.credit._gate_world import FINANCE, World, make_world

DUE = dt.date(2026, 9, 1)


@pytest.fixture
def world(engine: Engine) -> World:
    world = make_world(engine)
    world.rate("D-ONE", "AAA")
    with Session(engine) as s, s.begin():
        assert assess_in(s, world.ids["D-ONE"], FINANCE, DUE).level == "low"
    record_invoice(
        engine, world.ids["D-ONE"], "INV-9", issued_on="2026-08-01", due_on=DUE.isoformat(),
        amount_minor=10_000, description="goods", actor=FINANCE,
    )  # fmt: skip
    return world


def test_an_item_going_90_days_overdue_puts_the_party_on_cash_only(world: World) -> None:
    pid = world.ids["D-ONE"]
    # 1 Sep + 45 days = 16 Oct: 45 days overdue -> medium (more than 30)
    report = check(world.engine, FINANCE, DUE + dt.timedelta(days=45))
    assert report.reassessed == (("D-ONE", "medium"),)
    # the same level the next day: nothing re-assessed
    assert check(world.engine, FINANCE, DUE + dt.timedelta(days=46)).reassessed == ()
    # 1 Sep + 91 days = 1 Dec: more than 90 days overdue -> high, cash only, termination proposed
    report = check(world.engine, FINANCE, DUE + dt.timedelta(days=91))
    assert report.reassessed == (("D-ONE", "high"),)
    with Session(world.engine) as s:
        assert is_cash_only(s, pid)
        assert [t.kind for t in open_tasks(s, party_id=pid, kind="credit_termination")] == [
            "credit_termination"
        ]


def test_a_level_set_by_hand_stands_until_the_party_is_assessed_again(world: World) -> None:
    pid = world.ids["D-ONE"]
    set_by_hand(
        world.engine, pid, level="low", cash_only=False,
        reason="paid by bank transfer today; the bank confirms", actor=FINANCE,
    )  # fmt: skip
    report = check(world.engine, FINANCE, DUE + dt.timedelta(days=91))
    assert report.reassessed == ()
    with Session(world.engine) as s:
        current = assessment_in_force(s, pid)
        assert current is not None and (current.level, current.manual) == ("low", True)
