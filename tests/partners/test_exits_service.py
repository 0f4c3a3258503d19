"""The exit workflow (issue 12, "Exit"): hard reasons need evidence, the custody
list comes from the ledger, completion is refused with the missing step named,
the deposit is refunded minus what the party owes, grants end at completion and
the party's history stays readable."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import settlement
from ledger import Hop
from ledger.models import Party
from partners import exits, parties, trials
from partners.errors import PartnerDenied, PartnerError, PartnerStateError
from partners.in_force import day_start_ms, grants_in_force
from partners.models import Agreement, PartnerEvent, PartnerExit, PartnerTask, Trial
from partners.tasks import raise_task
from partners.values import InvalidField
from settlement import exit_settlement as xs
from settlement.models import (
    Alert,
    DepositMovement,
    PartnerScore,
    ReceivableMovement,
    SalesTarget,
)
from tests.agreement_support import terminate
from tests.money._world import Stmt, run
from tests.partners._exit_world import (
    AT_FACTORY,
    CHANNEL,
    FINANCE,
    IN_STOCK,
    IN_TRANSIT,
    MANAGER,
    PASSED_ON,
    SOLD,
    K,
    build,
)
from tests.settlement.engine_world import ms


@pytest.fixture
def world(engine: Engine, make_party: Callable[..., int]):  # type: ignore[no-untyped-def]
    return build(engine, make_party)


def _status(engine: Engine, code: str) -> str:
    with Session(engine) as s:
        return str(s.scalar(select(Party.status).where(Party.code == code)))


def _start(engine: Engine, **kw: object) -> exits.ExitView:
    options: dict[str, object] = {
        "note": "the brand leaves this market",
        "started_on": "2026-01-05",
        "buffer_days": 30,
    }
    options.update(kw)
    return exits.start_exit(engine, "DX", "strategy_change", MANAGER, **options)  # type: ignore[arg-type]


# ------------------------------------------------------------------ start


def test_start_puts_the_party_in_its_buffer(world) -> None:  # type: ignore[no-untyped-def]
    x = _start(world.engine)
    assert (x.status, x.hard, x.reason) == ("buffer", False, "strategy_change")
    assert (x.started_on, x.buffer_ends_on) == ("2026-01-05", "2026-02-04")
    assert _status(world.engine, "DX") == "exiting"
    with Session(world.engine) as s:
        task = s.scalars(select(PartnerTask).where(PartnerTask.kind == "exit_handover")).one()
        assert (task.status, task.due_on) == ("open", "2026-02-04")
    with pytest.raises(PartnerStateError, match=r"DX is exiting; only a trial, active"):
        _start(world.engine)


def test_default_buffer_is_six_months(world) -> None:  # type: ignore[no-untyped-def]
    x = _start(world.engine, started_on="2026-08-31", buffer_days=None)
    assert x.buffer_ends_on == "2027-02-28"


def test_bad_input_names_the_field_and_stores_nothing(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidField) as bad:
        exits.start_exit(world.engine, "DX", "bored", MANAGER)
    assert bad.value.field == "reason"
    with pytest.raises(InvalidField) as bad:
        _start(world.engine, started_on="05/01/2026")
    assert bad.value.field == "started_on"
    with pytest.raises(InvalidField) as bad:
        _start(world.engine, buffer_days=-1)
    assert bad.value.field == "buffer_days"
    with pytest.raises(InvalidField, match="not a number of days from 0 to 3650"):
        _start(world.engine, buffer_days=157436767283103744)
    with pytest.raises(InvalidField) as bad:
        _start(world.engine, note="")
    assert bad.value.field == "note"
    with Session(world.engine) as s:
        assert s.scalar(select(func.count(PartnerExit.id))) == 0
    assert _status(world.engine, "DX") == "active"


def test_roles(world) -> None:  # type: ignore[no-untyped-def]
    for who in (CHANNEL, FINANCE, settlement.Actor("d", "distributor", party_id=1)):
        with pytest.raises(PartnerDenied):
            exits.start_exit(world.engine, "DX", "strategy_change", who, note="x")
    x = _start(world.engine)
    assert exits.get_exit(world.engine, x.id, CHANNEL).id == x.id  # channel managers read
    with pytest.raises(PartnerDenied):
        exits.get_exit(world.engine, x.id, settlement.Actor("w", "warehouse"))
    with pytest.raises(PartnerDenied):
        xs.final_settlement(world.engine, x.id, "2026-01", MANAGER)
    with pytest.raises(PartnerDenied):
        exits.complete_exit(world.engine, x.id, FINANCE, completed_on="2026-03-01")


# ------------------------------------------------------------------ evidence


def test_agreement_terminated_needs_a_terminated_agreement(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PartnerStateError, match="needs a terminated agreement of DX"):
        exits.start_exit(world.engine, "DX", "agreement_terminated", MANAGER)
    terminate(world.engine, world.agreement, ms(2026, 1, 4))
    x = exits.start_exit(world.engine, "DX", "agreement_terminated", MANAGER)
    assert x.hard and x.evidence["agreement"] == world.agreement


def test_hard_reasons_are_refused_without_settlements_check(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PartnerError, match="needs its evidence checked"):
        exits.start_exit(world.engine, "DX", "serious_diversion", MANAGER, evidence={"alert": 1})


def _alert(
    engine: Engine, party: str, status: str, severity: str, kind: str = "out_of_zone"
) -> int:
    with Session(engine) as s, s.begin():
        pid = s.scalar(select(Party.id).where(Party.code == party))
        a = Alert(
            natural_key=f"{party}|DE|2026-01|{kind}|{status}|{severity}", party_id=pid,
            territory_code="DE", period="2026-01", finding_type=kind, status=status,
            severity=severity, unit_count=60, finding_count=60, created_ms=1, updated_ms=1,
            detected_tree_size=1,
        )  # fmt: skip
        s.add(a)
        s.flush()
        return a.id


def test_serious_diversion_needs_a_confirmed_serious_alert(world) -> None:  # type: ignore[no-untyped-def]
    e = world.engine

    def start(alert: object) -> exits.ExitView:
        return xs.start_exit(e, "DX", "serious_diversion", MANAGER, evidence={"alert": alert})

    with pytest.raises(InvalidField) as bad:
        start("")
    assert bad.value.field == "evidence.alert"
    with pytest.raises(PartnerError, match="is not an alert of DX"):
        start(_alert(e, "DY", "confirmed", "critical"))
    with pytest.raises(PartnerError, match="open out_of_zone alert, not a confirmed diversion"):
        start(_alert(e, "DX", "open", "critical"))
    with pytest.raises(PartnerError, match="of medium severity; a serious diversion is high or"):
        start(_alert(e, "DX", "confirmed", "medium"))
    assert _status(e, "DX") == "active"
    good = _alert(e, "DX", "confirmed", "high")
    x = start(good)
    assert x.evidence == {
        "alert": good, "period": "2026-01", "territory": "DE", "severity": "high", "units": 60,
    }  # fmt: skip
    assert exits.get_exit(e, x.id, MANAGER).evidence["alert"] == good


def _quarter(engine: Engine, quarter: str, months: tuple[str, ...], value: str, basis: str) -> None:
    with Session(engine) as s, s.begin():
        pid = s.scalar(select(Party.id).where(Party.code == "DX"))
        for m in months:
            s.add(SalesTarget(party_id=pid, period=m, units=100, measure="units"))
        breakdown = {"target": {"value": value, "weight": "0.30", "points": "0", "basis": basis}}
        s.add(
            PartnerScore(
                party_id=pid, quarter=quarter, score="50", partner_class="C",
                breakdown_json=json.dumps(breakdown), tree_size=1, created_ms=1,
            )
        )  # fmt: skip


def test_under_target_needs_two_consecutive_quarters_under_target(world) -> None:  # type: ignore[no-untyped-def]
    e = world.engine

    def start(quarters: object) -> exits.ExitView:
        return xs.start_exit(e, "DX", "under_target", MANAGER, evidence={"quarters": quarters})

    with pytest.raises(InvalidField) as bad:
        start(["2025-Q3"])
    assert bad.value.field == "evidence.quarters"
    with pytest.raises(InvalidField, match="2025-Q2 and 2025-Q4 are not consecutive"):
        start("2025-Q2,2025-Q4")
    with pytest.raises(PartnerError, match="DX has no unit target for 2025-Q3"):
        start("2025-Q3,2025-Q4")
    _quarter(e, "2025-Q3", ("2025-07", "2025-08", "2025-09"), "0.5000", "150 of target 300 units")
    _quarter(e, "2025-Q4", ("2025-10", "2025-11", "2025-12"), "1.0000", "310 of target 300 units")
    with pytest.raises(PartnerError, match=r"DX met its target in 2025-Q4 \(310 of target 300"):
        start("2025-Q3,2025-Q4")
    with Session(e) as s, s.begin():
        score = s.scalar(select(PartnerScore).where(PartnerScore.quarter == "2025-Q4"))
        assert score is not None
        score.breakdown_json = json.dumps(
            {"target": {"value": "0.9000", "basis": "270 of target 300 units"}}
        )
    x = start(["2025-Q4", "2025-Q3"])
    assert [q["quarter"] for q in x.evidence["quarters"]] == ["2025-Q3", "2025-Q4"]
    assert x.evidence["quarters"][1]["basis"] == "270 of target 300 units"


# ------------------------------------------------------------------ custody


def test_custody_lists_what_the_ledger_says_the_party_still_has(world) -> None:  # type: ignore[no-untyped-def]
    x = _start(world.engine)
    units, total = exits.custody(world.engine, x.id, MANAGER)
    assert total == 2
    assert [(u.key, u.state, u.holder) for u in units] == [
        (IN_STOCK, "in_stock", "DX"),
        (IN_TRANSIT, "in_transit", "MFR"),
    ]
    assert all(u.plan is None for u in units)
    page, total = exits.custody(world.engine, x.id, MANAGER, offset=1, limit=1)
    assert total == 2 and [u.key for u in page] == [IN_TRANSIT]
    shown = {u.key for u in units}
    assert not shown & {SOLD, PASSED_ON, AT_FACTORY}


def test_handover_plans_are_checked_and_the_ledger_decides_when_done(world) -> None:  # type: ignore[no-untyped-def]
    x = _start(world.engine)
    with pytest.raises(InvalidField) as bad:
        exits.record_handover(
            world.engine, x.id, MANAGER, units=[IN_STOCK, SOLD], action="handover",
            to_party_code="DY",
        )  # fmt: skip
    assert bad.value.field == "units[1]" and "is not in DX's custody" in str(bad.value)
    with pytest.raises(InvalidField) as bad:
        exits.record_handover(world.engine, x.id, MANAGER, units=[IN_STOCK], action="handover")
    assert bad.value.field == "to_party"
    with pytest.raises(InvalidField) as bad:
        exits.record_handover(
            world.engine, x.id, MANAGER, units=[IN_STOCK], action="handover", to_party_code="DX"
        )
    assert bad.value.field == "to_party"
    assert exits.handovers(world.engine, x.id, MANAGER) == []  # nothing stored
    n = exits.record_handover(
        world.engine, x.id, MANAGER, units=[IN_STOCK], action="handover", to_party_code="DY"
    )
    assert n == 1
    assert exits.record_handover(world.engine, x.id, MANAGER, units=None, action="return") == 1
    units, _ = exits.custody(world.engine, x.id, MANAGER)
    plans = {u.key: (u.plan.action, u.plan.to_party) for u in units if u.plan}
    assert plans == {IN_STOCK: ("handover", "DY"), IN_TRANSIT: ("return", None)}
    # the handover itself is a real shipment: once DY received it, DX no longer has it
    t = ms(2026, 1, 20)
    world.scan(
        Hop(IN_STOCK, K.SHIPPING, "DX", t, counterparty="DY"),
        Hop(IN_STOCK, K.RECEIVING, "DY", t + 60_000),
    )
    units, total = exits.custody(world.engine, x.id, MANAGER)
    assert total == 1 and units[0].key == IN_TRANSIT
    done = {h.unit_key: h.in_custody for h in exits.handovers(world.engine, x.id, MANAGER)}
    assert done == {IN_STOCK: False, IN_TRANSIT: True}
    assert exits.record_customers(
        world.engine, x.id, MANAGER, customers=["Café Lumière", " ", "Hotel Adlon"],
        to_party_code="DY",
    ) == 2  # fmt: skip
    customers = exits.handovers(world.engine, x.id, MANAGER, kind="customer")
    assert [(c.customer, c.to_party) for c in customers] == [
        ("Café Lumière", "DY"),
        ("Hotel Adlon", "DY"),
    ]


# ------------------------------------------------------------------ final settlement


def test_deposit_refund_is_what_is_held_minus_what_is_owed(world) -> None:  # type: ignore[no-untyped-def]
    x = _start(world.engine)
    run_id = world.owes(120_000)
    done = xs.final_settlement(world.engine, x.id, "2026-01", FINANCE)
    # held 500000 - owed 120000 = refund 380000
    assert done.settled and done.run_id == run_id and done.run_status == "posted"
    assert (done.held_minor, done.owed_minor) == (500_000, 120_000)
    assert (done.deducted_minor, done.refunded_minor, done.still_owed_minor) == (
        120_000,
        380_000,
        0,
    )
    got = exits.get_exit(world.engine, x.id, FINANCE)
    assert got.status == "settled" and got.final_run_id == run_id
    assert (got.deposit_held_minor, got.deposit_deducted_minor, got.deposit_refunded_minor) == (
        500_000,
        120_000,
        380_000,
    )
    with Session(world.engine) as s:
        moves = s.execute(
            select(DepositMovement.kind, DepositMovement.amount_minor).order_by(DepositMovement.id)
        ).all()
        assert [tuple(m) for m in moves] == [
            ("receipt", 500_000),
            ("deduction", -120_000),
            ("refund", -380_000),
        ]
        owed = s.scalar(select(func.sum(ReceivableMovement.amount_minor)))
        assert owed == 0
    with pytest.raises(PartnerStateError, match="is settled; its final settlement is done"):
        xs.final_settlement(world.engine, x.id, "2026-01", FINANCE)


def test_a_deposit_smaller_than_the_debt_is_all_taken() -> None:
    assert xs.deposit_settlement(100_000, 250_000) == (100_000, 0, 150_000)
    assert xs.deposit_settlement(500_000, 120_000) == (120_000, 380_000, 0)
    assert xs.deposit_settlement(500_000, -3_000) == (0, 500_000, 0)  # credit: nothing owed


def test_final_settlement_waits_for_the_periods_run(world) -> None:  # type: ignore[no-untyped-def]
    x = _start(world.engine)
    with pytest.raises(InvalidField) as bad:
        xs.final_settlement(world.engine, x.id, "2025-12", FINANCE)
    assert bad.value.field == "period"
    with pytest.raises(InvalidField) as bad:
        xs.final_settlement(world.engine, x.id, "2026-Q1", FINANCE)
    assert bad.value.field == "period"
    # no run and no checkpoint: the run's own refusal, nothing recorded
    with pytest.raises(settlement.SettlementError, match="no signed checkpoint"):
        xs.final_settlement(world.engine, x.id, "2026-01", FINANCE)
    assert exits.get_exit(world.engine, x.id, FINANCE).final_run_id is None
    draft, _ = run(world.engine, [Stmt("DX", [("rebate", 10)])], period="2026-01", status="draft")
    waiting = xs.final_settlement(world.engine, x.id, "2026-01", FINANCE)
    assert (waiting.settled, waiting.run_id, waiting.run_status) == (False, draft, "draft")
    got = exits.get_exit(world.engine, x.id, FINANCE)
    assert (got.status, got.final_run_id, got.deposit_refunded_minor) == ("buffer", draft, None)
    exits.record_handover(world.engine, x.id, MANAGER, units=None, action="return")
    with pytest.raises(PartnerStateError, match="its final settlement is not done"):
        exits.complete_exit(world.engine, x.id, MANAGER, completed_on="2026-03-01")


# ------------------------------------------------------------------ complete, cancel


def test_complete_is_refused_with_the_missing_step_named(world) -> None:  # type: ignore[no-untyped-def]
    x = _start(world.engine)
    e = world.engine
    with pytest.raises(PartnerStateError, match="its buffer runs until 2026-02-04"):
        exits.complete_exit(e, x.id, MANAGER, completed_on="2026-02-03")
    with pytest.raises(PartnerStateError, match="2 units in custody have no handover plan"):
        exits.complete_exit(e, x.id, MANAGER, completed_on="2026-02-04")
    exits.record_handover(e, x.id, MANAGER, units=[IN_STOCK], action="return")
    with pytest.raises(PartnerStateError, match="1 units in custody have no handover plan"):
        exits.complete_exit(e, x.id, MANAGER, completed_on="2026-02-04")
    exits.record_handover(e, x.id, MANAGER, units=None, action="handover", to_party_code="DY")
    with pytest.raises(PartnerStateError, match="its final settlement is not done"):
        exits.complete_exit(e, x.id, MANAGER, completed_on="2026-02-04")
    steps = {st.name: st.done for st in exits.exit_steps(e, x.id, MANAGER, today="2026-02-04")}
    assert steps == {
        "started": True, "buffer": True, "custody": True, "settlement": False, "completed": False,
    }  # fmt: skip
    assert _status(e, "DX") == "exiting"


def test_completion_ends_grants_terminates_and_keeps_history(world) -> None:  # type: ignore[no-untyped-def]
    e = world.engine
    x = _start(e)
    exits.record_handover(e, x.id, MANAGER, units=None, action="return")
    world.owes(120_000)
    xs.final_settlement(e, x.id, "2026-01", FINANCE)
    with Session(e) as s:
        pid = s.scalars(select(Party.id).where(Party.code == "DX")).one()
        assert [g.territory_code for g in grants_in_force(s, pid, "2026-02-10")] == ["FR"]
    done = exits.complete_exit(e, x.id, MANAGER, completed_on="2026-02-10")
    assert (done.status, done.completed_on, done.party_status) == (
        "completed",
        "2026-02-10",
        "terminated",
    )
    with Session(e) as s:
        assert [g.territory_code for g in grants_in_force(s, pid, "2026-02-09")] == ["FR"]
        # from the day of completion a scan is out of zone: no grant in force
        assert grants_in_force(s, pid, "2026-02-10") == []
        ag = s.scalar(select(Agreement).where(Agreement.number == world.agreement))
        assert ag is not None
        assert (ag.status, ag.terminated_on, ag.termination_ground) == (
            "terminated", "2026-02-10", "mutual_consent",
        )  # fmt: skip
        task = s.scalars(select(PartnerTask).where(PartnerTask.kind == "exit_handover")).one()
        assert task.status == "done"
    with Session(e) as s:
        from partners.models import TerritoryGrant

        grant = s.scalars(select(TerritoryGrant).where(TerritoryGrant.party_id == pid)).one()
        assert grant.valid_to_ms == day_start_ms("2026-02-10")
    with pytest.raises(PartnerStateError, match="is completed; it cannot be completed"):
        exits.complete_exit(e, x.id, MANAGER, completed_on="2026-02-11")
    # the history stays readable after the end
    got = exits.get_exit(e, x.id, CHANNEL)
    assert got.status == "completed" and got.deposit_refunded_minor == 380_000
    actions = [ev.action for ev in exits.exit_history(e, x.id, CHANNEL)]
    for action in ("exit.started", "exit.handover_planned", "exit.settled", "exit.completed",
                   "agreement.terminated", "party.status"):  # fmt: skip
        assert action in actions
    assert exits.latest_exit(e, "DX", CHANNEL) == got
    page, total = exits.page_exits(e, CHANNEL, status="completed")
    assert total == 1 and page[0].party_code == "DX"


def test_cancel_in_the_buffer_restores_the_party(world) -> None:  # type: ignore[no-untyped-def]
    x = _start(world.engine)
    with pytest.raises(InvalidField) as bad:
        exits.cancel_exit(world.engine, x.id, MANAGER, reason="")
    assert bad.value.field == "reason"
    done = exits.cancel_exit(world.engine, x.id, MANAGER, reason="new strategy dropped")
    assert (done.status, done.party_status) == ("cancelled", "active")
    with pytest.raises(PartnerStateError, match="only an exit in its buffer can be cancelled"):
        exits.cancel_exit(world.engine, x.id, MANAGER, reason="again")
    with pytest.raises(PartnerStateError, match="is cancelled; it cannot plan handovers"):
        exits.record_handover(world.engine, x.id, MANAGER, units=None, action="return")
    again = _start(world.engine)  # a cancelled exit does not block a new one
    assert again.id != x.id


def _events(engine: Engine, action: str) -> list[dict[str, object]]:
    with Session(engine) as s:
        return [
            json.loads(d)
            for d in s.scalars(
                select(PartnerEvent.detail_json)
                .where(PartnerEvent.action == action)
                .order_by(PartnerEvent.id)
            )
        ]


def _make_trial(engine: Engine, code: str = "DX") -> int:
    """Put ``code`` on a running 90-day trial from 2026-01-02 (test setup: the party
    is made ``trial`` directly, as signing a prospect leaves it), with its
    ``trial_cap`` task open."""
    with Session(engine) as s, s.begin():
        party = s.scalars(select(Party).where(Party.code == code)).one()
        party.status = "trial"
        trial_id = trials.start_trial(
            s, party.id, MANAGER, prospect_id=None, starts_on=dt.date(2026, 1, 2), days=90,
            order_cap_units=1,
        )  # fmt: skip
        raise_task(s, party.id, "trial_cap", f"{code} over its cap", key=f"trial:{trial_id}")
        return trial_id


def test_cancel_returns_the_party_to_its_status_through_the_status_rules(world) -> None:  # type: ignore[no-untyped-def]
    e = world.engine
    parties.set_status(e, "DX", "suspended", MANAGER, "late payments")
    x = _start(e)
    assert exits.cancel_exit(e, x.id, MANAGER, reason="paid up").party_status == "suspended"
    _make_trial(e)
    y = _start(e)
    assert exits.cancel_exit(e, y.id, MANAGER, reason="keep trying").party_status == "trial"
    # one party.status row per change, written by partners.parties as every other
    changes = [(d["status"], d["reason"]) for d in _events(e, "party.status")]
    assert changes == [
        (["active", "suspended"], "late payments"),
        (["suspended", "exiting"], f"exit {x.id}: strategy_change"),
        (["exiting", "suspended"], f"exit {x.id} cancelled"),
        (["trial", "exiting"], f"exit {y.id}: strategy_change"),
        (["exiting", "trial"], f"exit {y.id} cancelled"),
    ]
    assert [d["reason"] for d in _events(e, "exit.cancelled")] == ["paid up", "keep trying"]
    with Session(e) as s:  # the trial was not touched by a cancelled exit
        assert s.scalars(select(Trial.status)).one() == "running"


def test_the_party_leaves_exiting_only_through_its_open_exit(world) -> None:  # type: ignore[no-untyped-def]
    e = world.engine
    x = _start(e)
    for target in ("active", "terminated"):
        with pytest.raises(PartnerStateError, match=rf"DX already has an open exit \({x.id}\)"):
            parties.set_status(e, "DX", target, MANAGER, "by hand")
    assert _status(e, "DX") == "exiting"
    assert exits.get_exit(e, x.id, MANAGER).status == "buffer"
    exits.cancel_exit(e, x.id, MANAGER, reason="dropped")
    assert _status(e, "DX") == "active"


def test_completing_a_trial_partys_exit_ends_its_trial(world) -> None:  # type: ignore[no-untyped-def]
    e = world.engine
    trial_id = _make_trial(e)
    x = _start(e)
    exits.record_handover(e, x.id, MANAGER, units=None, action="return")
    world.owes(120_000)
    xs.final_settlement(e, x.id, "2026-01", FINANCE)
    done = exits.complete_exit(e, x.id, MANAGER, completed_on="2026-02-10")
    assert done.party_status == "terminated"
    with Session(e) as s:
        trial = s.get(Trial, trial_id)
        assert trial is not None
        assert (trial.status, trial.decided_by, trial.reason) == (
            "ended", MANAGER.username, f"exit {x.id} completed",
        )  # fmt: skip
        caps = s.scalars(select(PartnerTask.status).where(PartnerTask.kind == "trial_cap"))
        assert list(caps) == ["done"]
    assert _events(e, "trial.ended") == [{"trial": trial_id, "reason": f"exit {x.id} completed"}]
    assert _events(e, "exit.completed")[0]["trial"] == trial_id
    # the trial's page says it ended; deciding it again is refused
    assert trials.trial_status(e, "DX", MANAGER).status == "ended"
    with pytest.raises(PartnerStateError, match=r"was decided already \(ended\)"):
        trials.decide_trial(e, "DX", False, "too late", MANAGER)


def test_an_active_partys_exit_has_no_trial_to_end(world) -> None:  # type: ignore[no-untyped-def]
    e = world.engine
    x = _start(e)
    exits.record_handover(e, x.id, MANAGER, units=None, action="return")
    world.owes(120_000)
    xs.final_settlement(e, x.id, "2026-01", FINANCE)
    exits.complete_exit(e, x.id, MANAGER, completed_on="2026-02-04")
    assert _events(e, "trial.ended") == []
    assert _events(e, "exit.completed")[0]["trial"] is None


def test_a_serious_diversion_exit_terminates_for_a_breach_not_cured_in_the_buffer(world) -> None:  # type: ignore[no-untyped-def]
    e = world.engine
    alert = _alert(e, "DX", "confirmed", "high")
    x = xs.start_exit(
        e, "DX", "serious_diversion", MANAGER, evidence={"alert": alert},
        started_on="2026-01-05", buffer_days=30,
    )  # fmt: skip
    exits.record_handover(e, x.id, MANAGER, units=None, action="return")
    world.owes(120_000)
    xs.final_settlement(e, x.id, "2026-01", FINANCE)
    # completion on the day the buffer ends: the buffer's last day was the deadline
    exits.complete_exit(e, x.id, MANAGER, completed_on="2026-02-04")
    (detail,) = _events(e, "agreement.terminated")
    assert detail == {
        "ground": "material_breach", "terminated_on": "2026-02-04",
        "note": f"exit {x.id}: serious_diversion", "notice_on": "2026-01-05",
        "cure_by": "2026-02-03", "status": ["signed", "terminated"], "exit": x.id,
    }  # fmt: skip
    with Session(e) as s:
        ag = s.scalars(select(Agreement).where(Agreement.number == world.agreement)).one()
        assert (ag.status, ag.termination_ground) == ("terminated", "material_breach")


def test_page_of_exits_is_one_query_per_page(world, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    _start(world.engine)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        rows, total = exits.page_exits(engine, CHANNEL)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert total == 1 and rows[0].evidence == {}
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) <= 3
