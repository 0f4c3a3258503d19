"""Detection, alerts, whistleblowing and settlement runs on a real (SQLite) database.

Each test runs on SQLite and, when ``HOPCHAIN_TEST_PG_URL`` is set, on PostgreSQL
(the shared ``db_url`` fixture). The scenario (period 2026-10, list price 100.00 EUR per unit):
- distributor A holds FR-PAR; distributor B holds DE (each by a signed agreement from
  2024, which also enrols it in program VOL); dealer X sits under A in Paris;
- the manufacturer ships 12 units to A on Oct 5; A returns one (u11) on Oct 20;
- A ships u0..u9 to X, X sells u0..u6 in Paris and u7, u8 in Berlin (diverted);
- a year before, A bought 8 units (growth baseline).
Program: sell-in volume tiers retroactive, 5+ units 2.00/unit, 10+ units 3.00/unit;
class B x1; growth 1 % of value growth; KPI target 10 units, floor 60 %, pro rata;
fine 50.00 per diverted unit (x2 for a repeat), forfeiture, whistleblower 10 %.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_world import (  # type: ignore[import-not-found]
    BERLIN,
    PARIS,
    PARIS_2,
    SIGNER,
    EngineWorld,
    ms,
    territory_index,
)
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.ids import EntryKind as E
from settlement import (
    Actor,
    AlertWorkflowError,
    PermissionDenied,
    RunStateError,
    SettlementError,
    add_note,
    add_program_version,
    alert_findings,
    alert_history,
    appeal_alert,
    approve_run,
    assign_alert,
    attach_file,
    confirm_alert,
    confirm_report,
    create_program,
    create_run,
    deposit_balance,
    dismiss_alert,
    file_report,
    get_run,
    get_statement,
    list_alerts,
    post_run,
    record_deposit,
    run_chart_png,
    run_detection,
    run_summary,
    score_partners,
    set_price,
    set_target,
    start_investigation,
    statement_csv,
    statement_pdf,
    statement_xlsx,
)
from settlement.models import Statement, StatementLine
from tests.agreement_support import signed_agreement

FIN1 = Actor("fiona", "finance", user_id=1)
FIN2 = Actor("frank", "finance", user_id=2)
CM = Actor("carla", "channel_manager")
GTIN_PRICE = 10_000  # 100.00 EUR

RULES: dict[str, Any] = {
    "currency": "EUR",
    "basis": "sell_in",
    "measure": "volume",
    "mode": "retroactive",
    "tiers": [{"threshold": 5, "rate": "200"}, {"threshold": 10, "rate": "300"}],
    "class_multipliers": {"A": "1.1", "B": "1", "C": "0.9"},
    "default_class": "B",
    "growth": {"rate": "0.01", "new_distributor": "none"},
    "kpi": {"floor": "0.6", "pro_rata": True},
    "penalties": {
        "fine_per_unit": 5_000,
        "escalation": ["1", "2"],
        "forfeiture": True,
        "whistleblower_share": "0.1",
    },
}


def build(db_url: str) -> tuple[EngineWorld, int]:
    from engine_world import GTIN  # type: ignore[import-not-found]

    w = EngineWorld.create(db_url)
    w.party("MFR", "manufacturer")
    w.party("A", "distributor", country="FR")
    w.party("B", "distributor", country="DE")
    w.party("X", "dealer", parent="A")
    w.party("INSP", "inspector")
    signed_agreement(w.engine, "A", ["FR-PAR"], ["VOL"], number="AG-A")
    signed_agreement(w.engine, "B", ["DE"], ["VOL"], number="AG-B")
    for serial in [f"u{i}" for i in range(12)] + [f"p{i}" for i in range(8)]:
        w.unit(serial)
    for i in range(8):  # prior year: 8 units sold in to A
        w.event(f"p{i}", E.COMMISSIONING, "MFR", ms(2025, 10, 1))
        w.event(f"p{i}", E.SHIPPING, "MFR", ms(2025, 10, 5), "A")
        w.event(f"p{i}", E.RECEIVING, "A", ms(2025, 10, 5, 14), "MFR", PARIS)
    for i in range(12):
        u = f"u{i}"
        w.event(u, E.COMMISSIONING, "MFR", ms(2026, 10, 1))
        w.event(u, E.SHIPPING, "MFR", ms(2026, 10, 5), "A")
        w.event(u, E.RECEIVING, "A", ms(2026, 10, 5, 14), "MFR", PARIS)
    w.event("u11", E.RETURNING, "A", ms(2026, 10, 20), "MFR", PARIS)
    for i in range(10):
        w.event(f"u{i}", E.SHIPPING, "A", ms(2026, 10, 6), "X", PARIS)
        w.event(f"u{i}", E.RECEIVING, "X", ms(2026, 10, 6, 15), "A", PARIS_2)
    for i in range(7):
        w.event(f"u{i}", E.RETAIL_SELLING, "X", ms(2026, 10, 10), where=PARIS_2)
    for i in (7, 8):
        w.event(f"u{i}", E.RETAIL_SELLING, "X", ms(2026, 10, 12), where=BERLIN)
    size = w.flush()
    for period in ("2026-10", "2025-10"):
        set_price(w.engine, GTIN, "EUR", f"{period}-01", GTIN_PRICE, FIN1)
    set_target(w.engine, w.parties["A"], "2026-10", FIN1, units=10)
    create_program(w.engine, "VOL", "Volume rebate", FIN1)
    add_program_version(w.engine, "VOL", "2026-01", None, RULES, FIN1)
    return w, size


def detect(w: EngineWorld, size: int) -> Any:
    from settlement import latest_checkpoint

    assert latest_checkpoint(w.engine) == (size, w.root(size).hex())
    return run_detection(w.engine, size, w.root(size).hex(), territory_index(), signer=SIGNER)


def lines_of(w: EngineWorld, run_id: int, party: str) -> tuple[Statement, list[StatementLine]]:
    with Session(w.engine) as s:
        st = s.scalars(
            select(Statement).where(
                Statement.run_id == run_id, Statement.party_id == w.parties[party]
            )
        ).one()
        lines = list(
            s.scalars(
                select(StatementLine)
                .where(StatementLine.statement_id == st.id)
                .order_by(StatementLine.position)
            )
        )
        s.expunge_all()
        return st, lines


def amounts(lines: list[StatementLine]) -> dict[str, int]:
    out: dict[str, int] = {}
    for ln in lines:
        out[ln.rule] = out.get(ln.rule, 0) + ln.amount_minor
    return out


def test_detection_finds_the_diverted_sales_and_never_duplicates_alerts(db_url: str) -> None:
    w, size = build(db_url)
    report = detect(w, size)
    assert report.findings["out_of_zone"] == 2
    assert report.alerts_created == 1
    [alert] = list_alerts(w.engine, CM)
    assert alert.natural_key == "A|DE|2026-10|out_of_zone"
    assert alert.party_id == w.parties["A"]  # the in-zone custodian that let them out
    assert alert.unit_count == 2 and alert.severity == "low"
    evidence = alert_findings(w.engine, alert.id, CM)
    assert [u for _, u, _ in evidence] == [w.units["u7"], w.units["u8"]]
    # Again, same checkpoint: nothing new.
    again = detect(w, size)
    assert again.alerts_created == 0 and again.alerts_updated == 0
    assert len(list_alerts(w.engine, CM)) == 1
    # A later sale out of zone joins the same alert instead of creating one.
    w.event("u9", E.RETAIL_SELLING, "X", ms(2026, 10, 25), where=BERLIN)
    size2 = w.flush()
    later = detect(w, size2)
    assert later.alerts_created == 0 and later.alerts_updated == 1
    [alert] = list_alerts(w.engine, CM)
    assert alert.unit_count == 3 and alert.finding_count == 3
    assert [e.action for e in alert_history(w.engine, alert.id, CM)] == [
        "detected",
        "findings_added",
    ]


def test_detection_refuses_a_root_no_checkpoint_signed(db_url: str) -> None:
    w, size = build(db_url)
    with pytest.raises(SettlementError, match="does not match the signed checkpoint"):
        run_detection(w.engine, size, "00" * 32, territory_index(), signer=SIGNER)
    with pytest.raises(SettlementError, match="no signed checkpoint at tree size 3"):
        run_detection(w.engine, 3, "00" * 32, territory_index(), signer=SIGNER)


def test_alert_workflow_roles_transitions_and_history(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [alert] = list_alerts(w.engine, CM)
    dist_a = Actor("anna", "distributor", w.parties["A"])
    dist_b = Actor("bob", "distributor", w.parties["B"])
    with pytest.raises(AlertWorkflowError, match="only a channel manager"):
        start_investigation(w.engine, alert.id, dist_a)
    with pytest.raises(AlertWorkflowError, match="cannot move to confirmed"):
        confirm_alert(w.engine, alert.id, CM)
    start_investigation(w.engine, alert.id, CM, "looking")
    assign_alert(w.engine, alert.id, "carla", CM, assignee_role="channel_manager")
    attach_file(w.engine, alert.id, "uploads/berlin-receipt.jpg", CM, "shop receipt")
    add_note(w.engine, alert.id, "we never sold to Berlin", dist_a)
    with pytest.raises(AlertWorkflowError, match="may not see alert"):
        add_note(w.engine, alert.id, "not mine", dist_b)
    assert list_alerts(w.engine, dist_b) == []
    confirmed = confirm_alert(w.engine, alert.id, CM, "receipts match")
    assert confirmed.status == "confirmed" and confirmed.assignee == "carla"
    with pytest.raises(AlertWorkflowError, match="only the distributor"):
        appeal_alert(w.engine, alert.id, "unfair", dist_b)
    appealed = appeal_alert(w.engine, alert.id, "the dealer acted alone", dist_a)
    assert appealed.status == "investigating" and appealed.appealed
    history = alert_history(w.engine, alert.id, CM)
    assert [h.action for h in history] == [
        "detected", "status", "assign", "attachment", "note", "status", "appeal",
    ]  # fmt: skip
    assert history[3].attachment_ref == "uploads/berlin-receipt.jpg"
    # the distributor sees where its alert stands and what it wrote, never the channel
    # team's internal work (assignment, attachment, the words on a status change)
    seen = alert_history(w.engine, alert.id, dist_a)
    assert [h.action for h in seen] == ["detected", "status", "note", "status", "appeal"]
    assert all(h.attachment_ref in (None, "") for h in seen)
    assert "receipts match" not in " ".join(h.text or "" for h in seen)


def test_run_before_confirmation_pays_the_full_rebate(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)  # alert stays open: open alerts cost nothing
    run = create_run(w.engine, "2026-10", "final", FIN1)
    assert run.tree_size == size and run.root_hex == w.root(size).hex()
    st, lines = lines_of(w, run.id, "A")
    a = amounts(lines)
    # net sell-in 12 - 1 returned = 11 units, tier 10+: 11 * 300 = 3_300
    assert a["tier_retroactive"] == 3_300
    assert a["class_multiplier"] == 0  # class B x1
    # value 11 * 10_000 = 110_000 vs 8 * 10_000 = 80_000 a year before: 30_000 * 1 % = 300
    assert a["growth"] == 300
    assert a["kpi_gate"] == 0  # 11 of 10 units: target met
    assert st.total_minor == 3_600 == sum(ln.amount_minor for ln in lines)


def test_confirmed_diversion_excludes_units_fines_and_takes_the_deposit(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [alert] = list_alerts(w.engine, CM)
    start_investigation(w.engine, alert.id, CM)
    confirm_alert(w.engine, alert.id, CM)
    record_deposit(w.engine, w.parties["A"], 5_000, "deposit paid in", FIN1, kind="receipt")
    # B saw u7 in Berlin and reports it: a confirmed report earns 10 % of the fine
    dist_b = Actor("bob", "distributor", w.parties["B"])
    rep = file_report(
        w.engine,
        w.parties["B"],
        f"01/{_gtin()}/21/u7",
        ms(2026, 10, 13),
        dist_b,
        lat_e6=BERLIN[0],
        lon_e6=BERLIN[1],
    )
    assert not rep.malicious
    confirm_report(w.engine, rep.id, alert.id, CM)

    run = create_run(w.engine, "2026-10", "final", FIN1)
    st, lines = lines_of(w, run.id, "A")
    a = amounts(lines)
    # net 12 - 1 returned - 2 diverted = 9 units: tier 5+, 9 * 200 = 1_800. The 11
    # units without the diverted ones would have reached tier 10+ (300): the tier line
    # pays 9 * 300 = 2_700 and the cliff line takes 9 * (300 - 200) = 900 back.
    assert a["tier_retroactive"] == 2_700
    assert a["tier_cliff"] == -900
    # value 9 * 10_000 = 90_000 vs 80_000: 10_000 * 1 % = 100
    assert a["growth"] == 100
    # 9 of 10 units = 90 % >= 60 %: keep 90 %, withhold (1_800 + 0 + 100) * 0.1 = 190
    assert a["kpi_gate"] == -190
    # fine: 2 units * 5_000 * 1 (first offence) = 10_000; the units were sold in this
    # period, so they are already out of the base: no forfeiture line
    assert a["fine"] == -10_000 and "forfeiture" not in a
    # 1_800 + 100 - 190 - 10_000 = -8_290; the 5_000 deposit covers part of it
    assert a["deposit_deduction"] == 5_000
    assert st.total_minor == -3_290 == sum(ln.amount_minor for ln in lines)
    assert st.deposit_after_minor == 0
    _, b_lines = lines_of(w, run.id, "B")
    # reward: 10 % of 10_000 = 1_000
    assert amounts(b_lines)["whistleblower_reward"] == 1_000

    with pytest.raises(RunStateError, match="different finance user"):
        approve_run(w.engine, run.id, FIN1)
    with pytest.raises(PermissionDenied):
        approve_run(w.engine, run.id, CM)
    with pytest.raises(RunStateError, match="only an approved run"):
        post_run(w.engine, run.id, FIN2, signer=SIGNER)
    approve_run(w.engine, run.id, FIN2)
    posted = post_run(w.engine, run.id, FIN1, signer=SIGNER)
    assert posted.status == "posted"
    assert deposit_balance(w.engine, w.parties["A"]) == 0
    # Posted means immutable, even through the ORM.
    with Session(w.engine) as s, pytest.raises(RunStateError, match="posted"), s.begin():
        line = s.scalars(select(StatementLine).where(StatementLine.statement_id == st.id)).first()
        assert line is not None
        line.amount_minor = 0
    with pytest.raises(SettlementError, match="corrections go as adjustments"):
        create_run(w.engine, "2026-10", "final", FIN1)

    # A appeals; the manager dismisses: the next run gives the posted fine back, and
    # opens with the 3_290 A still owes from October.
    dist_a = Actor("anna", "distributor", w.parties["A"])
    appeal_alert(w.engine, alert.id, "the dealer acted alone", dist_a)
    dismiss_alert(w.engine, alert.id, CM, "appeal upheld")
    nxt = create_run(w.engine, "2026-11", "final", FIN1)
    n_st, n_lines = lines_of(w, nxt.id, "A")
    n = amounts(n_lines)
    assert n["fine_correction"] == 10_000 and "adjustment" not in n
    assert n["balance_brought_forward"] == -3_290
    # no November sales: -3_290 + 10_000 = 6_710 payable
    assert n_st.total_minor == 6_710


def test_repeat_offender_fine_escalates_and_old_units_are_forfeited(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    [first] = list_alerts(w.engine, CM)
    start_investigation(w.engine, first.id, CM)
    confirm_alert(w.engine, first.id, CM)
    # November: X sells u9 (sold in to A in October) in Berlin again
    w.event("u9", E.RETAIL_SELLING, "X", ms(2026, 11, 3), where=BERLIN)
    size2 = w.flush()
    detect(w, size2)
    second = next(a for a in list_alerts(w.engine, CM) if a.period == "2026-11")
    start_investigation(w.engine, second.id, CM)
    confirm_alert(w.engine, second.id, CM)
    run = create_run(w.engine, "2026-11", "final", FIN1)
    _, lines = lines_of(w, run.id, "A")
    fines = [ln for ln in lines if ln.rule == "fine"]
    # October alert: 2 * 5_000 * 1 = 10_000; November alert, one prior offence: 1 * 5_000 * 2
    assert [ln.amount_minor for ln in fines] == [-10_000, -10_000]
    assert fines[1].rate == "10000"
    # November has no sell-in, so nothing earned: no rate to forfeit
    assert not [ln for ln in lines if ln.rule == "forfeiture"]


def test_partial_run_is_trued_up_by_the_final_run(db_url: str) -> None:
    w, _size = build(db_url)
    partial = create_run(w.engine, "2026-10", "partial", FIN1)
    approve_run(w.engine, partial.id, FIN2)
    post_run(w.engine, partial.id, FIN2, signer=SIGNER)
    _, p_lines = lines_of(w, partial.id, "A")
    paid = sum(ln.amount_minor for ln in p_lines if ln.category == "rebate")
    assert paid == 3_600
    # later in October, 5 more units reach A
    for i in range(5):
        w.unit(f"n{i}")
        w.event(f"n{i}", E.COMMISSIONING, "MFR", ms(2026, 10, 26))
        w.event(f"n{i}", E.SHIPPING, "MFR", ms(2026, 10, 27), "A")
    w.flush()
    second = create_run(w.engine, "2026-10", "partial", FIN1)
    approve_run(w.engine, second.id, FIN2)
    post_run(w.engine, second.id, FIN2, signer=SIGNER)
    _, s_lines = lines_of(w, second.id, "A")
    # 16 units * 300 = 4_800; growth (160_000 - 80_000) * 1 % = 800; minus 3_600 already paid
    assert amounts(s_lines)["partial_trueup"] == -3_600
    assert sum(ln.amount_minor for ln in s_lines) == 2_000
    # and two more units before the month closes
    for i in range(5, 7):
        w.unit(f"n{i}")
        w.event(f"n{i}", E.SHIPPING, "MFR", ms(2026, 10, 30), "A")
    w.flush()
    final = create_run(w.engine, "2026-10", "final", FIN1)
    _, f_lines = lines_of(w, final.id, "A")
    a = amounts(f_lines)
    # 18 units * 300 = 5_400; growth (180_000 - 80_000) * 1 % = 1_000;
    # paid so far 3_600 + 2_000 = 5_600: the final run pays 6_400 - 5_600 = 800
    assert a["tier_retroactive"] == 5_400 and a["growth"] == 1_000
    assert a["partial_trueup"] == -5_600
    assert sum(ln.amount_minor for ln in f_lines) == 800


def test_same_checkpoint_and_programs_give_the_same_statement_hashes(db_url: str) -> None:
    w, _size = build(db_url)
    r1 = create_run(w.engine, "2026-10", "final", FIN1)
    with Session(w.engine) as s:
        h1 = sorted(s.scalars(select(Statement.hash).where(Statement.run_id == r1.id)))
    r2 = create_run(w.engine, "2026-10", "final", FIN2)
    assert r1.run_hash == r2.run_hash
    with Session(w.engine) as s:
        h2 = sorted(s.scalars(select(Statement.hash).where(Statement.run_id == r2.id)))
        gone = s.scalars(select(Statement.hash).where(Statement.run_id == r1.id)).all()
    assert h1 == h2 and len(h1) == 2
    # the second draft superseded the first: its statements are discarded, with a note
    old = get_run(w.engine, r1.id)
    assert old.status == "superseded" and old.superseded_by == r2.id and not gone
    assert f"superseded by run {r2.id}" in old.note
    # a new program version changes them
    add_program_version(w.engine, "VOL", "2026-10", None, {**RULES, "default_class": "C"}, FIN1)
    r3 = create_run(w.engine, "2026-10", "final", FIN1)
    assert r3.run_hash != r1.run_hash and r3.program_versions != r1.program_versions


def test_malicious_report_of_a_unit_the_reporter_bought_out_of_zone(db_url: str) -> None:
    w, _size = build(db_url)
    # A ships u10 to B (another region): a cross-region transfer B took delivery of
    w.event("u10", E.SHIPPING, "A", ms(2026, 10, 21), "B", PARIS)
    w.event("u10", E.RECEIVING, "B", ms(2026, 10, 23), "A", BERLIN)
    size2 = w.flush()
    report = detect(w, size2)
    assert report.findings["cross_region"] == 1
    keys = {a.natural_key for a in list_alerts(w.engine, CM)}
    assert "A|FR-PAR|2026-10|cross_region" in keys
    dist_b = Actor("bob", "distributor", w.parties["B"])
    rep = file_report(w.engine, w.parties["B"], f"01/{_gtin()}/21/u10", ms(2026, 10, 24), dist_b)
    assert rep.malicious and "B itself took delivery" in rep.malicious_reason
    with pytest.raises(PermissionDenied, match="only report as its own party"):
        file_report(w.engine, w.parties["A"], f"01/{_gtin()}/21/u10", 0, dist_b)


def test_statement_exports_and_run_summary(db_url: str) -> None:
    w, _size = build(db_url)
    run = create_run(w.engine, "2026-10", "final", FIN1)
    st, _lines = lines_of(w, run.id, "A")
    dist_a = Actor("anna", "distributor", w.parties["A"])
    approve_run(w.engine, run.id, FIN2)
    post_run(w.engine, run.id, FIN1, signer=SIGNER)  # a distributor reads posted statements only
    csv_text = statement_csv(w.engine, st.id, dist_a).decode("utf-8-sig")
    header, table = csv_text.split("\n\n", 1)
    assert "Party,A" in header and "Period,2026-10" in header and "Status,posted" in header
    assert table.splitlines()[0].startswith("Line,Description,Basis,Rate,Amount,Currency")
    assert table.splitlines()[-1] == ",Total,,,36.00,EUR,"
    wb = load_workbook(__import__("io").BytesIO(statement_xlsx(w.engine, st.id, FIN2)))
    ws = wb.active
    assert ws is not None
    assert str(ws.cell(row=ws.max_row, column=5).value).startswith("=SUM(E")
    pdf = statement_pdf(w.engine, st.id, FIN1)
    assert pdf.startswith(b"%PDF")
    with pytest.raises(SettlementError, match="no statement"):
        get_statement(w.engine, st.id, Actor("bob", "distributor", w.parties["B"]))
    summ = run_summary(w.engine, run.id, FIN1)
    assert summ.grand_total.rebates == 3_600
    assert {r.key for r in summ.by_class} == {"B"}
    assert {r.key: r.total for r in summ.by_region} == {"FR": 3_600, "DE": 0}
    assert run_chart_png(w.engine, run.id, FIN1).startswith(b"\x89PNG")


def test_scorecard_ranks_with_a_visible_breakdown(db_url: str) -> None:
    w, _size = build(db_url)
    scores = score_partners(w.engine, "2026-Q4", CM)
    a = next(s for s in scores if s.party_code == "A")
    # target 10, net 11: 1.0; growth (11-8)/8 = 0.375 -> 0.875; no alerts: 1;
    # returns 1/12 / 0.2 = 0.4167 -> 0.5833; receipts 12 within 48 h: 1
    # 30*1 + 20*0.875 + 25*1 + 15*0.58333 + 10*1 = 91.25
    assert a.score == pytest.approx(91.25, abs=0.01)
    assert a.partner_class == "A"
    assert a.breakdown["returns"]["basis"] == "1 of 12 units returned"


def _gtin() -> str:
    from engine_world import GTIN  # type: ignore[import-not-found]

    return str(GTIN)


def test_a_distributor_in_another_currency_is_settled_at_the_period_rate(db_url: str) -> None:
    from engine_world import GTIN  # type: ignore[import-not-found]

    from settlement import set_fx_rate

    w, _ = build(db_url)
    w.party("C", "distributor", currency="CNY", country="CN")
    signed_agreement(w.engine, "C", ["FR-LYO"], ["VOL"])
    for i in range(10):
        w.unit(f"c{i}")
        w.event(f"c{i}", E.COMMISSIONING, "MFR", ms(2026, 10, 1))
        w.event(f"c{i}", E.SHIPPING, "MFR", ms(2026, 10, 8), "C")
    w.flush()
    set_price(w.engine, GTIN, "CNY", "2026-10-01", 78_000, FIN1)
    with pytest.raises(
        SettlementError, match=r"no FX rate for 2026-10: CNY->EUR, EUR->CNY\. Import"
    ):
        create_run(w.engine, "2026-10", "final", FIN1)
    set_fx_rate(w.engine, "2026-10", "CNY", "EUR", "0.128", FIN1)  # 1 CNY = 0.128 EUR
    run = create_run(w.engine, "2026-10", "final", FIN1)
    st, lines = lines_of(w, run.id, "C")
    a = amounts(lines)
    # 3.00 EUR per unit = 300 / 0.128 = 2343.75 fen per unit; 10 units = 23437.5 -> 23438 (half even)
    assert a["tier_retroactive"] == 23_438
    assert lines[0].rate == "2343.75"
    assert st.currency == "CNY" and st.total_minor == 23_438
    summ = run_summary(w.engine, run.id, FIN1)
    # reporting currency EUR: 23_438 * 0.128 = 3000.064 -> 3_000 cents; A earns 3_600 cents
    assert {r.key: r.rebates for r in summ.by_currency} == {"CNY": 3_000, "EUR": 3_600}
    assert summ.native_by_currency == {"CNY": 23_438, "EUR": 3_600}
    assert summ.grand_total.rebates == 6_600


def test_snapshot_columns_and_errors(db_url: str) -> None:
    from settlement import NO_COORD, SnapshotError, load_snapshot

    w, size = build(db_url)
    with w.engine.connect() as conn:
        snap = load_snapshot(conn, size)
        assert snap.n_entries == size and snap.seq.tolist() == list(range(size))
        assert snap.kind.dtype.name == "int8" and snap.at_ms.dtype.name == "int64"
        first = 0  # a commissioning at the factory: no location
        assert snap.lat_e6[first] == NO_COORD and snap.lon_e6[first] == NO_COORD
        a = snap.party_index(w.parties["A"])
        assert snap.party_is_distributor[a] and snap.party_codes[a] == "A"
        assert snap.party_parent[snap.party_index(w.parties["X"])] == a
        assert snap.currencies == ("EUR",)
        with pytest.raises(SnapshotError, match=f"tree_size {size + 5} is beyond the ledger"):
            load_snapshot(conn, size + 5)


def test_grant_on_an_unknown_territory_is_named(db_url: str) -> None:
    w, size = build(db_url)
    signed_agreement(w.engine, "B", ["ATLANTIS"])  # a second agreement, a bad code
    with pytest.raises(SettlementError, match="'ATLANTIS', which is not in the territory index"):
        detect(w, size)


def test_a_draft_can_be_discarded_but_a_posted_run_cannot(db_url: str) -> None:
    from settlement import discard_run, get_run

    w, _ = build(db_url)
    draft = create_run(w.engine, "2026-10", "final", FIN1)
    discard_run(w.engine, draft.id, FIN2)
    with pytest.raises(SettlementError, match=f"no settlement run {draft.id}"):
        get_run(w.engine, draft.id)
    run = create_run(w.engine, "2026-10", "final", FIN1)
    approve_run(w.engine, run.id, FIN2)
    post_run(w.engine, run.id, FIN2, signer=SIGNER)
    with pytest.raises(RunStateError, match="posted and cannot be discarded"):
        discard_run(w.engine, run.id, FIN1)


def test_an_entry_of_an_unknown_kind_is_named(db_url: str) -> None:
    from sqlalchemy import update

    from ledger.models import Entry
    from settlement import SnapshotError, load_snapshot

    w, size = build(db_url)
    with w.engine.begin() as conn:
        conn.execute(update(Entry).where(Entry.seq == 7).values(kind="teleporting"))
    with (
        w.engine.connect() as conn,
        pytest.raises(SnapshotError, match="entry 7 has kind 'teleporting'"),
    ):
        load_snapshot(conn, size)


def test_statement_lists_for_finance_and_for_a_distributor(db_url: str) -> None:
    from settlement import list_partner_scores, list_statements

    w, _ = build(db_url)
    run = create_run(w.engine, "2026-10", "final", FIN1)
    assert {s.party_code for s in list_statements(w.engine, FIN2, run_id=run.id)} == {"A", "B"}
    anna = Actor("anna", "distributor", w.parties["A"])
    assert list_statements(w.engine, anna) == []  # a draft is not the distributor's yet
    approve_run(w.engine, run.id, FIN2)
    post_run(w.engine, run.id, FIN1, signer=SIGNER)
    mine = list_statements(w.engine, anna)
    assert [(s.party_code, s.total_minor, s.run_status) for s in mine] == [("A", 3_600, "posted")]
    with pytest.raises(SettlementError, match="may not read statements"):
        list_statements(w.engine, CM)
    score_partners(w.engine, "2026-Q4", CM)
    stored = list_partner_scores(w.engine, "2026-Q4")
    assert stored[0].party_code == "A"
    assert set(stored[0].breakdown) == {"target", "growth", "diversion", "returns", "timeliness"}


def test_no_clawback_of_rebate_that_no_run_paid(db_url: str) -> None:
    """Issue 8 fault 3 (D-AU): October was never settled, so a November run claws
    nothing back for October units; only the fine is charged."""
    from engine_world import GTIN  # type: ignore[import-not-found]

    w, _ = build(db_url)
    set_price(w.engine, GTIN, "EUR", "2026-11-01", GTIN_PRICE, FIN1)
    for i in range(10):  # November sell-in: 10 units, tier 10+: 10 * 300 = 3_000
        w.unit(f"m{i}")
        w.event(f"m{i}", E.SHIPPING, "MFR", ms(2026, 11, 3), "A")
    w.event("u9", E.RETAIL_SELLING, "X", ms(2026, 11, 5), where=BERLIN)  # sold in in October
    size = w.flush()
    detect(w, size)
    nov = next(a for a in list_alerts(w.engine, CM) if a.period == "2026-11")
    start_investigation(w.engine, nov.id, CM)
    confirm_alert(w.engine, nov.id, CM)
    run = create_run(w.engine, "2026-11", "final", FIN1)
    st, lines = lines_of(w, run.id, "A")
    a = amounts(lines)
    assert a["tier_retroactive"] == 3_000
    assert a["fine"] == -5_000  # 1 unit * 5_000, first offence (October's alert is still open)
    assert "forfeiture" not in a  # no run paid rebate on u9: nothing to take back
    assert st.total_minor == 3_000 - 5_000


def test_a_second_program_on_sell_through_value_with_incremental_bands(db_url: str) -> None:
    w, _ = build(db_url)
    create_program(w.engine, "THRU", "Sell-through value rebate", FIN1)
    add_program_version(
        w.engine,
        "THRU",
        "2026-10",
        "2026-12",
        {
            "currency": "EUR",
            "basis": "sell_through",
            "measure": "value",
            "mode": "incremental",
            "tiers": [{"threshold": 0, "rate": "0.01"}, {"threshold": 50_000, "rate": "0.02"}],
        },
        FIN1,
    )
    for party, territory in (("A", "FR-PAR"), ("B", "DE")):  # enrolled in THRU from October
        signed_agreement(
            w.engine, party, [territory], ["VOL", "THRU"], "2026-10-01", amends=f"AG-{party}"
        )
    run = create_run(w.engine, "2026-10", "final", FIN1)
    assert len(run.program_versions) == 2
    st, lines = lines_of(w, run.id, "A")
    thru = [ln for ln in lines if ln.ref == "program:THRU"]
    # A moved 10 units (100_000) on to dealer X: 50_000 * 1 % = 500, 50_000 * 2 % = 1_000
    assert [(ln.rule, ln.amount_minor) for ln in thru] == [
        ("tier_incremental", 500),
        ("tier_incremental", 1_000),
        ("class_multiplier", 0),
    ]
    assert "sell_through 10 - returned 0 - diverted 0 = 10 units" in thru[0].basis
    assert st.total_minor == 3_600 + 1_500
    # outside its validity the program does not apply
    assert len(create_run(w.engine, "2027-01", "final", FIN1).program_versions) == 1
