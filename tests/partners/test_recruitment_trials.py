"""Trials (partners.trials): usage read from real ledger entries against the order
cap, the tasks raised when a trial passes its cap or its end, admission and
elimination."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from ledger.models import Party
from partners import recruitment as rc
from partners import trials
from partners.audit import history
from partners.errors import PartnerDenied, PartnerStateError
from partners.in_force import grants_in_force
from partners.models import Agreement
from partners.tasks import open_tasks
from partners.values import InvalidField
from tests.ledger.conftest import T0, item, sscc
from tests.partners._recruit_world import FINANCE, PM, sign_agreement, walk_to

START = dt.date(2026, 9, 1)  # T0 is 2026-09-21


@pytest.fixture
def on_trial(engine: Engine, make_party: Callable[..., int]) -> str:
    """CN-BRIGHT signed on 2026-09-01 with an order cap of 5 units; MFR the
    manufacturer, D-OTHER another distributor."""
    make_party("MFR", kind="manufacturer")
    make_party("D-OTHER")
    pid = walk_to(engine, "signing", cap=5)
    code, _, _ = rc.sign(engine, pid, "CN-BRIGHT", PM, today=START)
    return code


def _ship(engine: Engine, serials: range, *, by: str = "MFR", at: int = T0) -> None:
    hops = [Hop(item(f"S{i}"), EntryKind.COMMISSIONING, by, at) for i in serials]
    hops += [
        Hop(item(f"S{i}"), EntryKind.SHIPPING, by, at + 1, counterparty="CN-BRIGHT")
        for i in serials
    ]
    assert {r.status for r in append_hops(engine, hops)} == {"accepted"}


def test_usage_counts_units_the_manufacturer_shipped_since_the_start(
    engine: Engine, on_trial: str
) -> None:
    before = int(dt.datetime(2026, 8, 30, tzinfo=dt.UTC).timestamp() * 1000)
    _ship(engine, range(0, 2), at=before)  # before the trial: not counted
    _ship(engine, range(2, 5))  # 3 units
    _ship(engine, range(5, 7), by="D-OTHER")  # not the manufacturer: not counted
    # a case of 2 units: the case itself is no unit, its 2 units count
    packing = [Hop(item(f"C{i}"), EntryKind.COMMISSIONING, "MFR", T0) for i in range(2)]
    packing += [
        Hop(item(f"C{i}"), EntryKind.PACKING, "MFR", T0 + 2, container=sscc(1)) for i in range(2)
    ]
    packing.append(Hop(sscc(1), EntryKind.SHIPPING, "MFR", T0 + 3, counterparty=on_trial))
    assert {r.status for r in append_hops(engine, packing)} == {"accepted"}
    view = trials.trial_status(engine, on_trial, FINANCE, today=dt.date(2026, 9, 30))
    assert view.used_units == 3 + 2
    assert (view.order_cap_units, view.over_cap) == (5, False)
    assert (view.starts_on, view.ends_on, view.days_left) == ("2026-09-01", "2026-11-29", 61)


def test_over_the_cap_raises_a_task_and_keeps_every_scan(engine: Engine, on_trial: str) -> None:
    _ship(engine, range(0, 7))  # 7 units against a cap of 5: all recorded
    view = trials.trial_status(engine, on_trial, PM, today=dt.date(2026, 10, 1))
    assert (view.used_units, view.over_cap) == (7, True)
    raised = trials.due_trials(engine, today=dt.date(2026, 10, 1))
    assert [(t.kind, t.detail["used_units"], t.detail["order_cap_units"]) for t in raised] == [
        ("trial_cap", 7, 5)
    ]
    assert "received 7 units on trial; its order cap is 5" in raised[0].title
    again = trials.due_trials(engine, today=dt.date(2026, 10, 2))
    assert [t.id for t in again] == [raised[0].id]  # not raised twice


def test_a_trial_past_its_end_raises_a_trial_end_task(engine: Engine, on_trial: str) -> None:
    assert trials.due_trials(engine, today=dt.date(2026, 11, 29)) == []  # its last day
    (task,) = trials.due_trials(engine, today=dt.date(2026, 11, 30))
    assert (task.kind, task.due_on, task.detail["ends_on"]) == (
        "trial_end",
        "2026-11-30",
        "2026-11-29",
    )
    with Session(engine) as s:
        party_id = s.scalar(select(Party.id).where(Party.code == on_trial))
        assert [t.kind for t in open_tasks(s, party_id)] == ["trial_end"]


@pytest.mark.parametrize(
    ("admit", "status", "outcome"), [(True, "active", "admitted"), (False, "terminated", "ended")]
)
def test_deciding_a_trial_sets_the_party_status_and_closes_its_tasks(
    engine: Engine, on_trial: str, admit: bool, status: str, outcome: str
) -> None:
    trials.due_trials(engine, today=dt.date(2026, 12, 1))
    with pytest.raises(InvalidField, match="reason: is empty"):
        trials.decide_trial(engine, on_trial, admit, " ", PM)
    with pytest.raises(PartnerDenied):
        trials.decide_trial(engine, on_trial, admit, "sold well", FINANCE)
    if admit:
        with pytest.raises(PartnerStateError, match="no signed agreement in force on 2026-"):
            trials.decide_trial(engine, on_trial, admit, "sold well", PM)
    sign_agreement(engine, "AG-CN-BRIGHT-001", START.isoformat())
    view = trials.decide_trial(engine, on_trial, admit, "sold 4 units, paid on time", PM)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    with Session(engine) as s:
        agreement = s.scalars(select(Agreement).where(Agreement.number == "AG-CN-BRIGHT-001")).one()
        party_id = agreement.party_id
        in_force = [g.territory_code for g in grants_in_force(s, party_id, today)]
    if admit:  # the agreement stays, its territory granted
        assert (agreement.status, in_force) == ("signed", ["DE"])
    else:  # the agreement signed for the trial ends with it, and so does its grant
        assert (agreement.status, agreement.termination_ground) == (
            "terminated",
            "trial_not_admitted",
        )
        assert agreement.terminated_on == today and in_force == []
    assert (view.status, view.reason, view.decided_by) == (
        outcome,
        "sold 4 units, paid on time",
        PM.username,
    )
    with Session(engine) as s:
        party = s.scalar(select(Party).where(Party.code == on_trial))
        assert party is not None and party.status == status
        assert open_tasks(s, party.id) == []
        actions = [e.action for e in history(s, party_id=party.id)]
        assert f"trial.{outcome}" in actions
    with pytest.raises(PartnerStateError, match=f"was decided already \\({outcome}\\)"):
        trials.decide_trial(engine, on_trial, not admit, "changed my mind", PM)
    board = rc.board(engine, PM, today=dt.date(2026, 12, 1))
    assert (board.trials_running, board.trials_admitted, board.trials_ended) == (
        0,
        int(admit),
        int(not admit),
    )


def test_the_trial_list_pages(engine: Engine, on_trial: str) -> None:
    rows, total = trials.page_trials(engine, FINANCE, status="running", today=START)
    assert total == 1 and [r.party_code for r in rows] == [on_trial]
    assert trials.page_trials(engine, FINANCE, status="admitted")[1] == 0


def test_the_trial_list_reads_every_usage_in_one_query(
    engine: Engine, on_trial: str, make_party: Callable[..., int]
) -> None:
    """Five trials on a page cost three queries, and each usage is its own trial's."""
    from sqlalchemy import event

    _ship(engine, range(0, 3))  # 3 units to CN-BRIGHT
    with Session(engine) as s, s.begin():
        for i in range(4):
            party = Party(code=f"T-{i}", name=f"T {i}", kind="distributor", status="trial")
            s.add(party)
            s.flush()
            trials.start_trial(
                s,
                party.id,
                PM,
                prospect_id=None,
                starts_on=dt.date(2026, 10, 1 + i),
                days=90,
                order_cap_units=None,
            )
    statements: list[str] = []

    def count(*args: object) -> None:
        if str(args[2]).lstrip().upper().startswith("SELECT"):
            statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    rows, total = trials.page_trials(engine, FINANCE, today=dt.date(2026, 10, 10))
    event.remove(engine, "before_cursor_execute", count)
    assert total == 5 and len(statements) <= 3, statements
    assert {r.party_code: r.used_units for r in rows} == {
        on_trial: 3,
        "T-0": 0,
        "T-1": 0,
        "T-2": 0,
        "T-3": 0,
    }
