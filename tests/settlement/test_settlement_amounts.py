"""Issue 8, "every amount right": the seven faults distributors found by hand, each
as a scenario with its arithmetic written out, on a real database (SQLite, and
PostgreSQL with ``HOPCHAIN_TEST_PG_URL``).

The world is the one of test_settlement_engine.py (period 2026-10, list price
100.00 EUR): the manufacturer ships 12 units to distributor A on Oct 5, A returns
one, dealer X (under A) sells u7 and u8 in Berlin (diverted). Program VOL: sell-in
volume tiers retroactive, 5+ units 2.00/unit, 10+ units 3.00/unit; growth 1 %;
KPI target 10 units; fine 50.00 per diverted unit, escalation x1 then x2.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from engine_world import BERLIN, SIGNER, ms  # type: ignore[import-not-found]
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_settlement_engine import (  # type: ignore[import-not-found]
    CM,
    FIN1,
    FIN2,
    amounts,
    build,
    detect,
    lines_of,
)

from ledger.ids import EntryKind as E
from settlement import (
    Actor,
    appeal_alert,
    approve_run,
    confirm_alert,
    create_run,
    dismiss_alert,
    list_alerts,
    post_run,
    start_investigation,
)
from settlement.models import Alert, AlertFinding, ReceivableMovement, Statement


def _confirm(w, alert_id: int) -> None:  # type: ignore[no-untyped-def]
    start_investigation(w.engine, alert_id, CM)
    confirm_alert(w.engine, alert_id, CM)


def _extra_alert(
    w, finding_type: str, territory: str, serials: list[str], period: str = "2026-10"
) -> int:  # type: ignore[no-untyped-def]
    """Another alert about the same party, as detection raises one per finding type
    and territory (a unit seen out of zone in two places is in two alerts)."""
    from settlement.models import AlertEvent

    with Session(w.engine) as s, s.begin():
        a = Alert(
            natural_key=f"A|{territory}|{period}|{finding_type}|{'+'.join(serials)}",
            party_id=w.parties["A"],
            territory_code=territory, period=period, finding_type=finding_type, status="open",
            severity="high", unit_count=len(serials), finding_count=len(serials),
            created_ms=0, updated_ms=0, detected_tree_size=0,
        )  # fmt: skip
        s.add(a)
        s.flush()
        for i, serial in enumerate(serials):
            s.add(
                AlertFinding(
                    alert_id=a.id, seq=10_000 + a.id * 100 + i, unit_id=w.units[serial], at_ms=0
                )
            )
        s.add(AlertEvent(alert_id=a.id, at_ms=0, actor="detect", role="system", action="detected"))
        return a.id


def _post(w, run_id: int) -> None:  # type: ignore[no-untyped-def]
    approve_run(w.engine, run_id, FIN2)
    post_run(w.engine, run_id, FIN1, signer=SIGNER)


# 1 ------------------------------------------------------------ one diversion, one fine


def test_units_in_three_alerts_are_one_incident_and_one_fine(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [detected] = list_alerts(w.engine, CM)
    second = _extra_alert(w, "out_of_zone", "DE", ["u7", "u8"])
    third = _extra_alert(w, "cross_region", "DE", ["u8", "u7"])
    for aid in (detected.id, second, third):
        _confirm(w, aid)
    run = create_run(w.engine, "2026-10", "final", FIN1)
    _st, lines = lines_of(w, run.id, "A")
    fines = [ln for ln in lines if ln.category == "penalty" and ln.rule.startswith("fine")]
    # u7 and u8 in three alerts: one incident, 2 units * 5_000 * 1 = 10_000 (not 3 fines)
    assert [(ln.rule, ln.amount_minor) for ln in fines] == [("fine", -10_000)]
    assert f"alerts {min(detected.id, second)}" in fines[0].basis


def test_disjoint_units_in_one_month_are_two_incidents_at_one_step(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [detected] = list_alerts(w.engine, CM)  # u7, u8
    other = _extra_alert(w, "out_of_zone", "FR-LYO", ["u5"])  # another unit: another incident
    _confirm(w, detected.id)
    _confirm(w, other)
    run = create_run(w.engine, "2026-10", "final", FIN1)
    _st, lines = lines_of(w, run.id, "A")
    # two incidents in October, no earlier month with one: 2 * 5_000 and 1 * 5_000, both x1
    assert [ln.amount_minor for ln in lines if ln.rule == "fine"] == [-10_000, -5_000]


def test_a_unit_in_two_months_is_clawed_back_once(db_url: str) -> None:
    w, _size = build(db_url)
    oct_run = create_run(w.engine, "2026-10", "final", FIN1)
    _post(w, oct_run.id)  # October paid A 3_600 on 11 units
    # u9 (sold in in October) is seen out of zone in November and again in December
    w.event("u9", E.RETAIL_SELLING, "X", ms(2026, 11, 3), where=BERLIN)
    w.flush()
    nov = _extra_alert(w, "out_of_zone", "DE", ["u9"], period="2026-11")
    dec = _extra_alert(w, "out_of_zone", "DE", ["u9"], period="2026-12")
    _confirm(w, nov)
    _confirm(w, dec)
    run = create_run(w.engine, "2026-12", "final", FIN1)
    _st, lines = lines_of(w, run.id, "A")
    # two incidents (one a month): November x1 = 5_000, December (one earlier month) x2
    assert [ln.amount_minor for ln in lines if ln.rule == "fine"] == [-5_000, -10_000]
    # but the rebate October paid on u9 is taken back once: 3_600 / 11 = 327.27 -> 327
    assert [ln.amount_minor for ln in lines if ln.rule == "forfeiture"] == [-327]


def test_winning_an_appeal_never_raises_the_fine(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [wide] = list_alerts(w.engine, CM)  # u7, u8 together
    narrow = [_extra_alert(w, "out_of_zone", t, [u]) for t, u in (("DE", "u7"), ("FR-LYO", "u8"))]
    for aid in (wide.id, *narrow):
        _confirm(w, aid)
    oct_run = create_run(w.engine, "2026-10", "final", FIN1)
    _post(w, oct_run.id)  # one incident, 2 * 5_000 = 10_000
    anna = Actor("anna", "distributor", w.parties["A"])
    appeal_alert(w.engine, wide.id, "wrong region", anna)
    dismiss_alert(w.engine, wide.id, CM, "appeal upheld")
    run = create_run(w.engine, "2026-11", "final", FIN1)
    _st, lines = lines_of(w, run.id, "A")
    # u7 and u8 are now two incidents of the same month: still x1 each, 10_000 in all
    assert not [ln for ln in lines if ln.rule.startswith("fine")]


def test_statement_is_the_same_whatever_order_alerts_were_confirmed(
    db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    seen: dict[tuple[int, ...], set[str]] = {}
    for n, order in enumerate(itertools.permutations(range(3))):
        url = db_url if n == 0 else _fresh_url(db_url, tmp_path_factory)
        w, size = build(url)
        detect(w, size)
        [detected] = list_alerts(w.engine, CM)
        ids = [detected.id, _extra_alert(w, "out_of_zone", "DE", ["u7"]),
               _extra_alert(w, "out_of_zone", "FR-LYO", ["u5"])]  # fmt: skip
        for i in order:
            _confirm(w, ids[i])
        run = create_run(w.engine, "2026-10", "final", FIN1)
        _st, lines = lines_of(w, run.id, "A")
        # incidents {u7, u8} (two alerts) and {u5}, both in October: 2 * 5_000 + 1 * 5_000
        assert sum(ln.amount_minor for ln in lines if ln.rule == "fine") == -15_000
        with Session(w.engine) as s:
            seen[order] = set(s.scalars(select(Statement.hash).where(Statement.run_id == run.id)))
        w.engine.dispose()
    assert len({frozenset(h) for h in seen.values()}) == 1


def _fresh_url(db_url: str, factory: pytest.TempPathFactory) -> str:
    """Another empty database of the same engine (PostgreSQL: the same one, emptied)."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{factory.mktemp('order')}/hopchain.db"
    from sqlalchemy import create_engine

    from ledger.models import Base

    engine = create_engine(db_url)
    Base.metadata.drop_all(engine)
    engine.dispose()
    return db_url


# 2 ------------------------------------------------------------ escalation follows what stands


def _november_incident(w) -> int:  # type: ignore[no-untyped-def]
    """X sells u9 (sold in to A in October) in Berlin in November: a new incident."""
    w.event("u9", E.RETAIL_SELLING, "X", ms(2026, 11, 3), where=BERLIN)
    size = w.flush()
    detect(w, size)
    return next(a.id for a in list_alerts(w.engine, CM) if a.period == "2026-11")


def test_a_dismissed_alert_no_longer_escalates_the_next_incident(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [october] = list_alerts(w.engine, CM)
    _confirm(w, october.id)
    november = _november_incident(w)
    _confirm(w, november)
    anna = Actor("anna", "distributor", w.parties["A"])
    appeal_alert(w.engine, october.id, "the unit never left Paris", anna)  # back to investigating
    dismiss_alert(w.engine, october.id, CM, "appeal upheld: wrong territory")
    run = create_run(w.engine, "2026-11", "final", FIN1)
    _st, lines = lines_of(w, run.id, "A")
    # only November's incident stands: 1 unit * 5_000 * 1 (first offence) = 5_000, not x2
    assert [ln.amount_minor for ln in lines if ln.rule == "fine"] == [-5_000]


def test_an_upheld_appeal_refunds_and_lowers_later_posted_fines(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [october] = list_alerts(w.engine, CM)
    _confirm(w, october.id)
    oct_run = create_run(w.engine, "2026-10", "final", FIN1)
    _post(w, oct_run.id)  # October: fine 2 * 5_000 = 10_000 posted
    november = _november_incident(w)
    _confirm(w, november)
    nov_run = create_run(w.engine, "2026-11", "final", FIN1)
    _st, nov_lines = lines_of(w, nov_run.id, "A")
    # November: one earlier incident: 1 * 5_000 * 2 = 10_000
    assert [ln.amount_minor for ln in nov_lines if ln.rule == "fine"] == [-10_000]
    _post(w, nov_run.id)
    # A appeals October's alert and the manager dismisses it (appeal upheld)
    appeal_alert(
        w.engine, october.id, "the dealer acted alone", Actor("anna", "distributor", w.parties["A"])
    )
    dismiss_alert(w.engine, october.id, CM, "appeal upheld")
    dec_run = create_run(w.engine, "2026-12", "final", FIN1)
    _st, dec_lines = lines_of(w, dec_run.id, "A")
    corrections = sorted(ln.amount_minor for ln in dec_lines if ln.rule == "fine_correction")
    # October's 10_000 comes back; November is now a first offence: 5_000 * 1 is due,
    # 10_000 was charged, 5_000 comes back
    assert corrections == [5_000, 10_000]
    assert not [ln for ln in dec_lines if ln.rule == "fine"]
    _post(w, dec_run.id)
    # nothing more to correct afterwards
    jan = create_run(w.engine, "2027-01", "final", FIN1)
    _st, jan_lines = lines_of(w, jan.id, "A")
    assert not [ln for ln in jan_lines if ln.rule.startswith("fine")]


# 3 ------------------------------------------------------------ claw back only what was paid


def test_clawback_takes_the_rebate_a_posted_run_paid_at_its_rate(db_url: str) -> None:
    w, _size = build(db_url)
    oct_run = create_run(w.engine, "2026-10", "final", FIN1)
    oct_st, oct_lines = lines_of(w, oct_run.id, "A")
    # October paid A: tier 11 * 300 = 3_300, growth (110_000 - 80_000) * 1 % = 300,
    # KPI met: 3_600 on 11 units
    assert sum(ln.amount_minor for ln in oct_lines if ln.ref == "program:VOL") == 3_600
    _post(w, oct_run.id)
    november = _november_incident(w)  # u9 was sold in in October and paid for then
    _confirm(w, november)
    run = create_run(w.engine, "2026-11", "final", FIN1)
    _st, lines = lines_of(w, run.id, "A")
    [claw] = [ln for ln in lines if ln.rule == "forfeiture"]
    tier_pos = next(ln.position for ln in oct_lines if ln.rule == "tier_retroactive")
    # 3_600 / 11 = 327.2727... per unit; 1 unit: 327 (half-even)
    assert claw.amount_minor == -327
    assert f"statement:{oct_st.id}:{tier_pos}" in claw.basis
    _post(w, run.id)
    # clawed back once: a later run does not take it again
    dec = create_run(w.engine, "2026-12", "final", FIN1)
    _st, dec_lines = lines_of(w, dec.id, "A")
    assert not [ln for ln in dec_lines if ln.rule == "forfeiture"]


def test_units_a_posted_run_left_out_are_not_clawed_back(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [october] = list_alerts(w.engine, CM)
    _confirm(w, october.id)  # u7, u8 excluded from October's base before the run
    oct_run = create_run(w.engine, "2026-10", "final", FIN1)
    _post(w, oct_run.id)
    # u8 is seen out of zone again in November: a new incident, but October paid nothing on it
    w.event("u8", E.INSPECTING, "X", ms(2026, 11, 4), where=BERLIN)
    w.flush()
    nov_alert = _extra_alert(w, "out_of_zone", "DE", ["u8"], period="2026-11")
    _confirm(w, nov_alert)
    run = create_run(w.engine, "2026-11", "final", FIN1)
    _st, lines = lines_of(w, run.id, "A")
    assert not [ln for ln in lines if ln.rule == "forfeiture"]


# 4 ------------------------------------------------------------ nothing vanishes


def test_a_negative_statement_is_brought_forward_and_netted(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [october] = list_alerts(w.engine, CM)
    _confirm(w, october.id)
    oct_run = create_run(w.engine, "2026-10", "final", FIN1)
    oct_st, _oct_lines = lines_of(w, oct_run.id, "A")
    # 2_700 tier - 900 cliff + 100 growth - 190 KPI - 10_000 fine = -8_290 (no deposit)
    assert oct_st.total_minor == -8_290
    _post(w, oct_run.id)
    with Session(w.engine) as s:
        owed = s.scalars(
            select(ReceivableMovement.amount_minor).where(
                ReceivableMovement.party_id == w.parties["A"]
            )
        ).all()
    assert owed == [8_290]  # A owes it: an open receivable
    # November: 10 more units sold in to A: tier 10+ 10 * 300 = 3_000, growth 100_000 vs
    # nothing a year before: 0 (new distributor rule "none"), no November target
    from engine_world import GTIN  # type: ignore[import-not-found]

    from settlement import set_price

    set_price(w.engine, GTIN, "EUR", "2026-11-01", 10_000, FIN1)
    for i in range(10):
        w.unit(f"n{i}")
        w.event(f"n{i}", E.SHIPPING, "MFR", ms(2026, 11, 3), "A")
    w.flush()
    nov = create_run(w.engine, "2026-11", "final", FIN1)
    nov_st, nov_lines = lines_of(w, nov.id, "A")
    a = amounts(nov_lines)
    assert nov_lines[0].rule == "balance_brought_forward"
    assert a["balance_brought_forward"] == -8_290 and nov_st.opening_balance_minor == -8_290
    assert a["tier_retroactive"] == 3_000
    # -8_290 + 3_000 = -5_290: still owed, not paid out
    assert nov_st.total_minor == -5_290
    _post(w, nov.id)
    with Session(w.engine) as s:
        total = sum(
            s.scalars(
                select(ReceivableMovement.amount_minor).where(
                    ReceivableMovement.party_id == w.parties["A"]
                )
            )
        )
    # 8_290 owed, -8_290 brought forward, +5_290 owed again
    assert total == 5_290


def test_a_run_made_before_a_payment_is_stale(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [october] = list_alerts(w.engine, CM)
    _confirm(w, october.id)
    oct_run = create_run(w.engine, "2026-10", "final", FIN1)
    _post(w, oct_run.id)
    nov = create_run(w.engine, "2026-11", "final", FIN1)
    approve_run(w.engine, nov.id, FIN2)
    with Session(w.engine) as s, s.begin():  # a payment arrives after the draft was made
        s.add(ReceivableMovement(party_id=w.parties["A"], at_ms=1, amount_minor=-1_000,
                                 currency="EUR", kind="payment", ref="bank", created_by="fiona"))  # fmt: skip
    from settlement import RunStateError

    with pytest.raises(RunStateError, match="stale: what A owes changed"):
        post_run(w.engine, nov.id, FIN1, signer=SIGNER)
    again = create_run(w.engine, "2026-11", "final", FIN1)
    _st, lines = lines_of(w, again.id, "A")
    assert amounts(lines)["balance_brought_forward"] == -(8_290 - 1_000)


# 7 (engine) ------------------------------------------------------------ the cliff, shown


def test_the_cliff_line_names_what_diverted_units_cost(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [october] = list_alerts(w.engine, CM)
    _confirm(w, october.id)
    run = create_run(w.engine, "2026-10", "final", FIN1)
    _st, lines = lines_of(w, run.id, "A")
    [cliff] = [ln for ln in lines if ln.rule == "tier_cliff"]
    # 11 units would reach tier 10+ (3.00); 9 remain: tier 5+ (2.00): 9 * 1.00 = 900 lost
    assert cliff.amount_minor == -900 and cliff.rate == "100"
    assert "2 diverted units excluded" in cliff.basis and "tier from 10" in cliff.basis


def test_a_deduction_below_the_agreed_deposit_asks_for_a_top_up(db_url: str) -> None:
    from settlement import deposit_status, record_deposit, set_deposit_agreement
    from settlement.models import TopUpRequest

    w, size = build(db_url)
    detect(w, size)
    [october] = list_alerts(w.engine, CM)
    _confirm(w, october.id)
    a = w.parties["A"]
    set_deposit_agreement(w.engine, a, "2026-01-01", 6_000, FIN1)
    record_deposit(w.engine, a, 6_000, "deposit paid in", FIN1, kind="receipt")
    run = create_run(w.engine, "2026-10", "final", FIN1)
    st, _lines = lines_of(w, run.id, "A")
    # -8_290 before the deposit: all 6_000 taken, -2_290 still owed
    assert st.total_minor == -2_290 and st.deposit_after_minor == 0
    _post(w, run.id)
    with Session(w.engine) as s:
        [req] = s.scalars(select(TopUpRequest).where(TopUpRequest.party_id == a)).all()
    # agreed 6_000 - balance 0 = 6_000 to top up, within 30 days of posting
    assert req.amount_minor == 6_000 and req.status == "open"
    assert f"run {run.id}" in req.reason
    status = deposit_status(w.engine, a, FIN1)
    assert status.shortfall_minor == 6_000 and len(status.open_topups) == 1


def test_a_partial_run_then_the_final_pay_what_the_final_alone_would(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [october] = list_alerts(w.engine, CM)
    _confirm(w, october.id)
    partial = create_run(w.engine, "2026-10", "partial", FIN1)
    _p_st, p_lines = lines_of(w, partial.id, "A")
    # program lines: 2_700 tier - 900 cliff + 100 growth - 190 KPI = 1_710 on account
    assert sum(ln.amount_minor for ln in p_lines if ln.ref == "program:VOL") == 1_710
    _post(w, partial.id)
    final = create_run(w.engine, "2026-10", "final", FIN1)
    _st, lines = lines_of(w, final.id, "A")
    a = amounts(lines)
    # the final recomputes the same 1_710 and takes back what the partial paid
    assert a["partial_trueup"] == -1_710
    assert a["tier_cliff"] == -900  # shown again, but netted by the true-up
    assert "fine" not in a  # the partial run already charged October's incident
    program_and_trueup = sum(ln.amount_minor for ln in lines if ln.ref in ("program:VOL", "trueup"))
    assert program_and_trueup == 0  # 1_710 + 0 more: nothing paid twice, nothing charged twice


def test_a_month_and_its_quarter_are_never_both_settled(db_url: str) -> None:
    from settlement import SettlementError

    w, _size = build(db_url)
    october = create_run(w.engine, "2026-10", "final", FIN1)
    _post(w, october.id)
    with pytest.raises(SettlementError, match=r"2026-Q4 overlaps 2026-10, settled by posted run"):
        create_run(w.engine, "2026-Q4", "final", FIN1)
    with pytest.raises(SettlementError, match="overlaps 2026-10"):
        create_run(w.engine, "2026-Q4", "partial", FIN1)  # not even on account


def test_a_quarter_uses_its_own_or_its_last_months_fx_rate(db_url: str) -> None:
    from sqlalchemy.orm import Session as S

    from settlement import set_fx_rate
    from settlement.fx import FxBook

    w, _size = build(db_url)
    set_fx_rate(w.engine, "2026-10", "USD", "EUR", "0.92", FIN1)
    with S(w.engine) as s:
        assert FxBook(s, "2026-Q4").quote("USD", "EUR") is None  # October is not period-end
    set_fx_rate(w.engine, "2026-12", "USD", "EUR", "0.95", FIN1)
    with S(w.engine) as s:
        q = FxBook(s, "2026-Q4").quote("USD", "EUR")
        assert q is not None and q.rate == Decimal("0.95")


def test_a_reward_is_a_share_of_its_own_incidents_fine(db_url: str) -> None:
    from settlement import confirm_report, file_report
    from settlement.models import Alert as AlertRow

    w, size = build(db_url)
    detect(w, size)
    [october] = list_alerts(w.engine, CM)  # u7, u8
    _confirm(w, october.id)
    _post(w, create_run(w.engine, "2026-10", "final", FIN1).id)  # 2 * 5_000 = 10_000
    november = _extra_alert(w, "out_of_zone", "DE", ["u8"], period="2026-11")
    _confirm(w, november)
    _post(w, create_run(w.engine, "2026-11", "final", FIN1).id)  # u8 again: 1 * 5_000 * 2
    with Session(w.engine) as s:
        oct_alert = s.get(AlertRow, october.id)
        assert oct_alert is not None and oct_alert.penalty_minor == 10_000  # not 20_000
    # B reports u7, seen in Berlin in October; the report is confirmed against October's alert
    from engine_world import GTIN  # type: ignore[import-not-found]

    bob = Actor("bob", "distributor", w.parties["B"])
    rep = file_report(w.engine, w.parties["B"], f"01/{GTIN}/21/u7", ms(2026, 10, 13), bob,
                      lat_e6=BERLIN[0], lon_e6=BERLIN[1])  # fmt: skip
    confirm_report(w.engine, rep.id, october.id, CM)
    run = create_run(w.engine, "2026-12", "final", FIN1)
    _st, lines = lines_of(w, run.id, "B")
    # 10 % of October's incident fine 10_000 = 1_000
    assert amounts(lines)["whistleblower_reward"] == 1_000
