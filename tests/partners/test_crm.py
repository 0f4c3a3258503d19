"""CRM interactions (partners/crm.py): recording and correcting them, the quarterly
communication meeting of seed 003 and overdue next steps."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.crm import (
    checked_quarter,
    edit_interaction,
    list_interactions,
    meeting_overdue,
    overdue_followups,
    quarter_bounds,
    record_interaction,
)
from partners.errors import PartnerDenied, PartnerError, PartnerNotFound
from partners.models import PartnerEvent, PartnerTask
from partners.tasks import open_tasks
from tests.partners.evaluation_support import AUDITOR, CM, FINANCE, PM

TODAY = dt.date(2026, 11, 20)


def test_record_checks_every_field_and_is_audited(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    pid = make_party("DIST")

    def rec(**kw: str) -> object:
        args = {"kind": "meeting", "happened_on": "2026-11-02", "subject": "Q4 review", **kw}
        return record_interaction(
            engine, "DIST", args.pop("kind"), args.pop("happened_on"), args.pop("subject"), PM,
            today=TODAY, **args,
        )  # fmt: skip

    with pytest.raises(PartnerError, match="kind: 'dinner' is not one of meeting, call"):
        rec(kind="dinner")
    with pytest.raises(PartnerError, match="happened_on: '2026-02-30' is not a date"):
        rec(happened_on="2026-02-30")
    with pytest.raises(PartnerError, match="happened_on: 2026-11-21 is after today"):
        rec(happened_on="2026-11-21")
    with pytest.raises(PartnerError, match="subject: required"):
        rec(subject="   ")
    with pytest.raises(PartnerError, match="subject: at most 200 characters, not 201"):
        rec(subject="x" * 201)
    with pytest.raises(PartnerError, match="next_due_on: 2026-11-01 is before happened_on"):
        rec(next_step="send prices", next_due_on="2026-11-01")
    with pytest.raises(PartnerError, match="next_step: say what is due on 2026-12-01"):
        rec(next_due_on="2026-12-01")
    with pytest.raises(PartnerNotFound):
        record_interaction(engine, "NOBODY", "call", "2026-11-02", "hi", PM, today=TODAY)
    with pytest.raises(PartnerDenied):
        record_interaction(engine, "DIST", "call", "2026-11-02", "hi", FINANCE, today=TODAY)
    with Session(engine) as s:  # nothing stored by any refusal
        assert s.scalars(select(PartnerEvent).where(PartnerEvent.party_id == pid)).all() == []
    v = record_interaction(
        engine, "DIST", "meeting", "2026-11-02", " Q4 review ", CM, notes="stock is low",
        next_step="send prices", next_due_on="2026-11-10", today=TODAY,
    )  # fmt: skip
    assert (v.subject, v.next_due_on, v.recorded_by) == ("Q4 review", "2026-11-10", "carla")
    fixed = edit_interaction(engine, v.id, {"subject": "Q4 business review"}, PM, today=TODAY)
    assert fixed.subject == "Q4 business review" and fixed.notes == "stock is low"
    with pytest.raises(PartnerError, match="colour: not a field of an interaction"):
        edit_interaction(engine, v.id, {"colour": "red"}, PM, today=TODAY)
    with Session(engine) as s:
        events = [
            (e.action, json.loads(e.detail_json))
            for e in s.scalars(
                select(PartnerEvent).where(PartnerEvent.party_id == pid).order_by(PartnerEvent.id)
            )
        ]
    assert [a for a, _ in events] == ["interaction.recorded", "interaction.edited"]
    assert events[1][1]["changes"] == {"subject": ["Q4 review", "Q4 business review"]}


def test_interactions_are_paged_latest_first(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    make_party("DIST")
    for day in range(1, 8):
        record_interaction(
            engine, "DIST", "call", f"2026-11-0{day}", f"call {day}", PM, today=TODAY
        )
    page, total = list_interactions(engine, AUDITOR, "DIST", offset=0, limit=3)
    assert total == 7 and [i.subject for i in page] == ["call 7", "call 6", "call 5"]
    page, _ = list_interactions(engine, AUDITOR, "DIST", offset=6, limit=3)
    assert [i.subject for i in page] == ["call 1"]


@given(st.dates(dt.date(2001, 1, 1), dt.date(9998, 12, 31)))
def test_the_checked_quarter_is_the_latest_one_over(day: dt.date) -> None:
    q = checked_quarter(day)
    _first, last = quarter_bounds(q)
    assert last <= day  # it is over
    assert (last + dt.timedelta(days=1)) <= day or last == day
    nxt_first, nxt_last = quarter_bounds(checked_quarter(last + dt.timedelta(days=92)))
    assert nxt_first > last or nxt_last > day  # no later quarter is over on `day`
    assert (day - last).days < 93


def test_quarterly_meeting_overdue_raises_one_task_per_party_and_quarter(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    for code in ("MET", "CALLED", "NEVER", "TRIAL", "GONE"):
        make_party(code)
    make_party("SHOP", kind="dealer")
    with Session(engine) as s, s.begin():
        s.execute(update(Party).where(Party.code == "TRIAL").values(status="trial"))
        s.execute(update(Party).where(Party.code == "GONE").values(status="terminated"))
    # 2026-Q3 is the quarter over on 2026-11-20
    record_interaction(engine, "MET", "visit", "2026-09-30", "site visit", PM, today=TODAY)
    record_interaction(engine, "CALLED", "call", "2026-08-01", "phone call", PM, today=TODAY)
    record_interaction(engine, "CALLED", "meeting", "2026-10-01", "too late", PM, today=TODAY)
    record_interaction(engine, "TRIAL", "meeting", "2026-06-30", "Q2 meeting", PM, today=TODAY)
    flagged = meeting_overdue(engine, PM, TODAY)
    assert [(f.party_code, f.quarter, f.last_meeting_on) for f in flagged] == [
        ("CALLED", "2026-Q3", "2026-10-01"),
        ("NEVER", "2026-Q3", None),
        ("TRIAL", "2026-Q3", "2026-06-30"),
    ]
    again = meeting_overdue(engine, PM, TODAY)
    assert [f.task_id for f in again] == [f.task_id for f in flagged]  # the same open tasks
    with Session(engine) as s:
        tasks = s.scalars(select(PartnerTask).where(PartnerTask.kind == "quarterly_meeting")).all()
    assert len(tasks) == 3 and {json.loads(t.detail_json)["quarter"] for t in tasks} == {"2026-Q3"}
    assert tasks[0].due_on == "2026-12-04"
    # on the last day of the quarter, that quarter is the one checked
    last_day = meeting_overdue(engine, PM, dt.date(2026, 12, 31))
    assert {f.quarter for f in last_day} == {"2026-Q4"}
    assert "MET" in {f.party_code for f in last_day} and "CALLED" not in {
        f.party_code for f in last_day
    }
    assert len(open_tasks_of(engine, "quarterly_meeting")) == 3 + 3
    with pytest.raises(PartnerDenied):
        meeting_overdue(engine, AUDITOR, TODAY)


def open_tasks_of(engine: Engine, kind: str) -> list[object]:
    with Session(engine) as s:
        return list(open_tasks(s, kind=kind))


def test_a_next_step_is_overdue_until_a_later_interaction(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    make_party("A")
    make_party("B")
    record_interaction(
        engine, "A", "meeting", "2026-11-01", "prices", PM, next_step="send price list",
        next_due_on="2026-11-05", today=TODAY,
    )  # fmt: skip
    record_interaction(
        engine, "B", "call", "2026-11-01", "stock", PM, next_step="visit the warehouse",
        next_due_on="2026-11-15", today=TODAY,
    )  # fmt: skip
    record_interaction(engine, "B", "visit", "2026-11-12", "warehouse visit", PM, today=TODAY)
    late = overdue_followups(engine, PM, TODAY)
    assert [(f.interaction.party_code, f.interaction.next_step, f.days_late) for f in late] == [
        ("A", "send price list", 15)
    ]
    assert overdue_followups(engine, PM, dt.date(2026, 11, 5)) == []  # due that day: not late


def test_a_party_that_was_no_partner_at_the_quarters_end_is_not_held_to_it(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    """Issue 12: parties created or signed after 2026-Q3 got "no meeting in 2026-Q3"
    tasks. Only a partner at the quarter's end (its audit trail) is held to it."""
    from partners.parties import PartyInput, create_party, set_status

    make_party("OLD")  # no audit rows: predates the trail, judged by its status now

    def new(code: str, status: str) -> int:
        data = PartyInput(code, f"{code} Ltd", "distributor", "DE", "EUR", status=status)
        return create_party(engine, data, PM).id

    new("NEWACTIVE", "active")  # created today (after 2026-Q3)
    new("SIGNED", "prospect")
    set_status(engine, "SIGNED", "trial", PM, "signed from recruitment")
    backdated = new("BACKDATED", "active")
    late = new("LATE", "prospect")
    with Session(engine) as s, s.begin():
        s.execute(
            update(PartnerEvent)
            .where(PartnerEvent.party_id.in_((backdated, late)))
            .values(at_ms=ms_of(dt.date(2026, 9, 30)))
        )
    set_status(engine, "LATE", "trial", PM, "became a partner after 2026-Q3")
    flagged = meeting_overdue(engine, PM, dt.date(2026, 12, 1))
    assert [f.party_code for f in flagged] == ["BACKDATED", "OLD"]
    with Session(engine) as s:
        titles = [t.title for t in s.scalars(select(PartnerTask))]
    assert not any("NEWACTIVE" in t or "SIGNED" in t or "LATE" in t for t in titles)


def ms_of(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp() * 1000)
