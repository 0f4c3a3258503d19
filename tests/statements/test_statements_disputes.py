"""A distributor confirms or disputes its posted statement, once, with a reason per
disputed line; finance resolves each disputed line by an adjustment on a later
statement or a written rejection; every step is audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import settlement
from settlement.common import Actor, PermissionDenied, SettlementError
from settlement.models import Adjustment, ReferenceChange, StatementDispute, StatementResponse
from tests.statements._world import party, set_status, statement

FIONA = Actor("fiona", "finance", user_id=9001)
FRANK = Actor("frank", "finance", user_id=9002)
AUDITOR = Actor("audrey", "auditor")


def _dist(pid: int) -> Actor:
    return Actor("dora", "distributor", pid)


def test_confirming_a_posted_statement(engine: Engine) -> None:
    pid = party(engine, "D-1")
    _, sid = statement(engine, pid)
    result = settlement.respond_to_statement(engine, sid, _dist(pid), confirm=True)
    assert (result.status, result.disputes) == ("confirmed", ())
    st = settlement.get_statement(engine, sid, _dist(pid))
    assert st.state == "confirmed"
    assert st.response is not None and (st.response.status, st.response.actor) == (
        "confirmed",
        "dora",
    )
    with Session(engine) as s:
        audit = s.scalars(select(ReferenceChange).where(ReferenceChange.kind == "disputes")).one()
    assert (audit.key, audit.action, audit.actor) == (f"statement:{sid}", "confirm", "dora")


def test_disputing_two_lines_opens_two_disputes_for_finance(engine: Engine) -> None:
    pid = party(engine, "D-1")
    _, sid = statement(engine, pid)
    # Positions 0 (volume rebate) and 3 (fine): printed as lines 1 and 4.
    result = settlement.respond_to_statement(
        engine, sid, _dist(pid), confirm=False,
        disputes=[(3, "  the 5 units were returned, not diverted "), (0, "we sold 125 units")],
    )  # fmt: skip
    assert result.status == "disputed"
    assert [(d.line_number, d.line_title, d.reason, d.status) for d in result.disputes] == [
        (1, "Volume rebate at the tier reached", "we sold 125 units", "open"),
        (4, "Diversion fine", "the 5 units were returned, not diverted", "open"),
    ]
    st = settlement.get_statement(engine, sid, _dist(pid))
    assert st.state == "disputed — 2 lines open"
    assert st.dispute_of(3) is not None and st.dispute_of(1) is None
    queue, total = settlement.list_disputes(engine, FIONA, status="open")
    assert total == 2 and {d.line_amount_minor for d in queue} == {36000, -15000}
    with Session(engine) as s:
        audit = s.scalars(select(ReferenceChange).where(ReferenceChange.kind == "disputes")).one()
    assert audit.action == "dispute"
    assert json.loads(audit.after_json)["lines"] == [
        {"line": 1, "reason": "we sold 125 units"},
        {"line": 4, "reason": "the 5 units were returned, not diverted"},
    ]


@pytest.mark.parametrize(
    ("confirm", "disputes", "message"),
    [
        (False, [(1, "  ")], "a reason for disputing line 2 (Partner class multiplier) is required"),
        (False, [(0, "x"), (0, "y")], "line 1 (Volume rebate at the tier reached) is disputed twice"),
        (False, [(9, "wrong")], "line 10 is not on statement"),
        (False, [(0, "x" * 2001)], "longer than 2000 characters"),
        (True, [(0, "wrong")], "confirm the statement or dispute lines, not both"),
        (False, [], "choose at least one line to dispute"),
    ],
)  # fmt: skip
def test_a_bad_answer_names_the_line_and_stores_nothing(
    engine: Engine, confirm: bool, disputes: list[tuple[int, str]], message: str
) -> None:
    pid = party(engine, "D-1")
    _, sid = statement(engine, pid)
    with pytest.raises(SettlementError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settlement.respond_to_statement(engine, sid, _dist(pid), confirm=confirm, disputes=disputes)
    with Session(engine) as s:
        assert s.scalars(select(StatementResponse)).all() == []
        assert s.scalars(select(StatementDispute)).all() == []
    assert settlement.get_statement(engine, sid, _dist(pid)).state == "awaiting response"


def test_an_answer_is_given_once(engine: Engine) -> None:
    pid = party(engine, "D-1")
    _, sid = statement(engine, pid)
    settlement.respond_to_statement(engine, sid, _dist(pid), confirm=False, disputes=[(0, "no")])
    with pytest.raises(settlement.DisputeStateError, match="already disputed by dora"):
        settlement.respond_to_statement(
            engine, sid, _dist(pid), confirm=False, disputes=[(1, "also")]
        )
    with pytest.raises(settlement.DisputeStateError):
        settlement.respond_to_statement(engine, sid, _dist(pid), confirm=True)
    with Session(engine) as s:
        assert len(s.scalars(select(StatementDispute)).all()) == 1


@pytest.mark.parametrize("status", ["draft", "approved"])
def test_a_statement_not_posted_cannot_be_answered(engine: Engine, status: str) -> None:
    pid = party(engine, "D-1")
    _, sid = statement(engine, pid, status=status)
    with pytest.raises(settlement.StatementNotFound):
        settlement.respond_to_statement(engine, sid, _dist(pid), confirm=True)


def test_only_the_party_itself_answers(engine: Engine) -> None:
    pid, other = party(engine, "D-1"), party(engine, "D-2")
    _, sid = statement(engine, pid)
    with pytest.raises(settlement.StatementNotFound):
        settlement.respond_to_statement(engine, sid, _dist(other), confirm=True)
    with pytest.raises(PermissionDenied):
        settlement.respond_to_statement(engine, sid, FIONA, confirm=True)


def _disputed(engine: Engine) -> tuple[int, int, list[settlement.DisputeView]]:
    pid = party(engine, "D-1")
    _, sid = statement(engine, pid)
    views = settlement.respond_to_statement(
        engine, sid, _dist(pid), confirm=False,
        disputes=[(0, "we sold 125 units"), (3, "returned, not diverted")],
    ).disputes  # fmt: skip
    return pid, sid, list(views)


def test_finance_resolves_a_line_by_a_pending_adjustment(engine: Engine) -> None:
    pid, sid, (rebate, fine) = _disputed(engine)
    # 5 more units at EUR 3.00 = EUR 15.00 owed to the distributor.
    view = settlement.resolve_dispute_by_adjustment(
        engine, rebate.id, 1500, "5 more units sold in on 2026-09-30", FIONA
    )
    assert (view.status, view.resolved_by) == ("adjusted", "fiona")
    assert (view.adjustment_amount_minor, view.adjustment_status) == (1500, "pending")
    with Session(engine) as s:
        adj = s.get(Adjustment, view.adjustment_id)
        assert adj is not None
        assert (adj.party_id, adj.amount_minor, adj.currency, adj.status) == (
            pid, 1500, "EUR", "pending",
        )  # fmt: skip
        assert adj.reason == (
            f"Disputed line 1 of statement {sid} (2026-09): 5 more units sold in on 2026-09-30"
        )
        actions = [
            (c.kind, c.action)
            for c in s.scalars(select(ReferenceChange).order_by(ReferenceChange.id))
        ]
    assert ("adjustments", "create") in actions and ("disputes", "adjust") in actions
    # One line still open: the portal says so.
    assert settlement.get_statement(engine, sid, _dist(pid)).state == "disputed — 1 line open"
    settlement.reject_dispute(engine, fine.id, "Scans in Lyon on 2026-09-12 show the units.", FRANK)
    st = settlement.get_statement(engine, sid, _dist(pid))
    assert st.state == "resolved"
    rejected = st.dispute_of(3)
    assert rejected is not None
    assert (rejected.status, rejected.resolution, rejected.resolved_by) == (
        "rejected", "Scans in Lyon on 2026-09-12 show the units.", "frank",
    )  # fmt: skip


def test_resolving_needs_an_open_dispute_a_note_and_finance(engine: Engine) -> None:
    _, _, (rebate, fine) = _disputed(engine)
    with pytest.raises(SettlementError, match="non-zero amount"):
        settlement.resolve_dispute_by_adjustment(engine, rebate.id, 0, "why", FIONA)
    with pytest.raises(SettlementError, match="a note saying why the line is adjusted is required"):
        settlement.resolve_dispute_by_adjustment(engine, rebate.id, 100, " ", FIONA)
    with pytest.raises(SettlementError, match="a written reason for the rejection is required"):
        settlement.reject_dispute(engine, fine.id, "", FIONA)
    with pytest.raises(PermissionDenied):
        settlement.reject_dispute(engine, fine.id, "no", AUDITOR)
    with pytest.raises(settlement.DisputeNotFound):
        settlement.reject_dispute(engine, 999_999, "no", FIONA)
    settlement.reject_dispute(engine, fine.id, "The scans stand.", FIONA)
    with pytest.raises(settlement.DisputeStateError, match="already rejected by fiona"):
        settlement.resolve_dispute_by_adjustment(engine, fine.id, 100, "changed my mind", FIONA)
    with Session(engine) as s:
        assert s.scalars(select(Adjustment)).all() == []


def test_the_queue_pages_filters_and_is_read_by_auditors_not_distributors(
    engine: Engine,
) -> None:
    pid, _, (rebate, fine) = _disputed(engine)
    other = party(engine, "D-2")
    _, sid2 = statement(engine, other, period="2026-08")
    settlement.respond_to_statement(
        engine, sid2, _dist(other), confirm=False, disputes=[(4, "adjustment too small")]
    )
    settlement.reject_dispute(engine, fine.id, "stands", FIONA)
    page, total = settlement.list_disputes(engine, AUDITOR, offset=0, limit=2)
    assert total == 3 and len(page) == 2
    assert [d.id for d in page] == [rebate.id, fine.id]  # oldest first
    open_, n_open = settlement.list_disputes(engine, AUDITOR, status="open")
    assert n_open == 2 and fine.id not in {d.id for d in open_}
    mine, n_mine = settlement.list_disputes(engine, FIONA, party_id=other)
    assert n_mine == 1 and mine[0].party_code == "D-2" and mine[0].line_title == "Adjustment"
    with pytest.raises(SettlementError, match="dispute status 'closed' is not one of"):
        settlement.list_disputes(engine, FIONA, status="closed")
    with pytest.raises(PermissionDenied):
        settlement.list_disputes(engine, _dist(pid))


def test_a_statement_posted_later_can_then_be_answered(engine: Engine) -> None:
    pid = party(engine, "D-1")
    run_id, sid = statement(engine, pid, status="approved")
    with pytest.raises(settlement.StatementNotFound):
        settlement.respond_to_statement(engine, sid, _dist(pid), confirm=True)
    set_status(engine, run_id, "posted")
    assert settlement.respond_to_statement(engine, sid, _dist(pid), confirm=True).status == (
        "confirmed"
    )
