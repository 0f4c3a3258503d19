"""Settlement pays a program only to the distributors enrolled in it (issue 12:
"program enrolment comes from the signed agreement in force on each date").

The world (October 2026, list price EUR 100.00 a unit, all parties in EUR):
- program VOL: sell-in volume, retroactive, EUR 3.00 a unit from the first unit;
  class multiplier 1 for every class; fine EUR 50.00 a diverted unit;
- program VAL: sell-in value, retroactive, 2 % of value from the first cent;
- D1 holds FR-PAR and is enrolled in VOL and VAL; D2 holds FR-LYO and is enrolled
  in VOL only; D3 holds DE and is enrolled in nothing (each by its signed agreement
  from 2024-01-01 to 2030-12-31);
- on October 5 the manufacturer ships 10 units to D1 (received in Paris), 10 to D2
  (received in Lyon) and 5 to D3 (received in Berlin); D3 passes 2 on to its dealer
  X3 in Berlin, and X3 sells one of them in Paris on October 12 (out of D3's zone).

So, by hand: D1 earns VOL 10 x 300 = 3_000 and VAL 2 % of 10 x 10_000 = 2_000;
D2 earns VOL 3_000 and nothing of VAL; D3 earns nothing, but once the diversion
alert is confirmed its fine, 1 x 5_000, still applies.
"""

from __future__ import annotations

from typing import Any

from engine_world import (  # type: ignore[import-not-found]
    BERLIN,
    GTIN,
    PARIS,
    SIGNER,
    EngineWorld,
    ms,
    territory_index,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.ids import EntryKind as E
from ledger.models import Party
from settlement import (
    Actor,
    add_program_version,
    approve_run,
    confirm_alert,
    create_program,
    create_run,
    list_alerts,
    post_run,
    preview_program_version,
    run_detection,
    set_price,
    start_investigation,
    verify_settlement,
)
from settlement.models import Statement, StatementLine
from tests.agreement_support import signed_agreement, terminate

FIN1 = Actor("fiona", "finance", user_id=1)
FIN2 = Actor("frank", "finance", user_id=2)
CM = Actor("carla", "channel_manager")
LYON = (45_764_000, 4_835_700)

VOL: dict[str, Any] = {
    "currency": "EUR",
    "basis": "sell_in",
    "measure": "volume",
    "mode": "retroactive",
    "tiers": [{"threshold": 1, "rate": "300"}],
    "class_multipliers": {"A": "1", "B": "1", "C": "1"},
    "penalties": {
        "fine_per_unit": 5_000,
        "escalation": ["1"],
        "forfeiture": False,
        "whistleblower_share": "0",
    },
}
VAL: dict[str, Any] = {
    "currency": "EUR",
    "basis": "sell_in",
    "measure": "value",
    "mode": "retroactive",
    "tiers": [{"threshold": 1, "rate": "0.02"}],
    "class_multipliers": {"A": "1", "B": "1", "C": "1"},
}


def build(db_url: str) -> tuple[EngineWorld, int]:
    w = EngineWorld.create(db_url)
    w.party("MFR", "manufacturer")
    for code in ("D1", "D2", "D3"):
        w.party(code, "distributor")
    w.party("X3", "dealer", parent="D3")
    signed_agreement(w.engine, "D1", ["FR-PAR"], ["VOL", "VAL"], number="AG-D1")
    signed_agreement(w.engine, "D2", ["FR-LYO"], ["VOL"], number="AG-D2")
    signed_agreement(w.engine, "D3", ["DE"], [], number="AG-D3")
    n = 0
    for party, count, where in (("D1", 10, PARIS), ("D2", 10, LYON), ("D3", 5, BERLIN)):
        for _ in range(count):
            serial = f"s{n}"
            n += 1
            w.unit(serial)
            w.event(serial, E.COMMISSIONING, "MFR", ms(2026, 10, 1))
            w.event(serial, E.SHIPPING, "MFR", ms(2026, 10, 5), party)
            w.event(serial, E.RECEIVING, party, ms(2026, 10, 5, 14), "MFR", where)
    for serial in ("s20", "s21"):  # two of D3's units to its dealer X3, in Berlin
        w.event(serial, E.SHIPPING, "D3", ms(2026, 10, 8), "X3", BERLIN)
        w.event(serial, E.RECEIVING, "X3", ms(2026, 10, 8, 15), "D3", BERLIN)
    w.event("s20", E.RETAIL_SELLING, "X3", ms(2026, 10, 12), where=PARIS)
    size = w.flush()
    set_price(w.engine, GTIN, "EUR", "2026-01-01", 10_000, FIN1)
    create_program(w.engine, "VAL", "Value rebate", FIN1)
    add_program_version(w.engine, "VAL", "2026-01", None, VAL, FIN1)
    create_program(w.engine, "VOL", "Volume rebate", FIN1)
    add_program_version(w.engine, "VOL", "2026-01", None, VOL, FIN1)
    return w, size


def paid(w: EngineWorld, run_id: int, party: str) -> tuple[int, dict[str, int]]:
    """The statement's total and its amounts per line ref (``program:VOL``...)."""
    with Session(w.engine) as s:
        st = s.scalars(
            select(Statement).where(
                Statement.run_id == run_id, Statement.party_id == w.parties[party]
            )
        ).one()
        by_ref: dict[str, int] = {}
        for ln in s.scalars(select(StatementLine).where(StatementLine.statement_id == st.id)):
            by_ref[ln.ref] = by_ref.get(ln.ref, 0) + ln.amount_minor
        return st.total_minor, by_ref


def test_only_enrolled_distributors_get_a_program_s_lines(db_url: str) -> None:
    w, _ = build(db_url)
    run = create_run(w.engine, "2026-10", "final", FIN1)
    assert paid(w, run.id, "D1") == (5_000, {"program:VAL": 2_000, "program:VOL": 3_000})
    assert paid(w, run.id, "D2") == (3_000, {"program:VOL": 3_000})
    assert paid(w, run.id, "D3") == (0, {})  # still a statement, with no rebate line
    assert len(run.program_versions) == 2  # both programs are in force; who is paid differs


def test_a_distributor_enrolled_in_nothing_still_pays_its_fine(db_url: str) -> None:
    w, size = build(db_url)
    report = run_detection(w.engine, size, w.root(size).hex(), territory_index(), signer=SIGNER)
    assert report.findings["out_of_zone"] == 1
    [alert] = list_alerts(w.engine, CM)
    start_investigation(w.engine, alert.id, CM)
    confirm_alert(w.engine, alert.id, CM)
    run = create_run(w.engine, "2026-10", "final", FIN1)
    # the fine of VOL, the first program that sets penalties: 1 unit x 5_000
    assert paid(w, run.id, "D3") == (-5_000, {f"alert:{alert.id}": -5_000})
    assert paid(w, run.id, "D1")[0] == 5_000


def test_enrolled_on_any_day_of_the_month_is_paid_the_month(db_url: str) -> None:
    """A supplementary agreement signed from October 20 adds VAL for D2: October pays
    D2 VAL on the whole month's sales (2 % of 100_000); enrolments that ended before
    October (D1's agreement, terminated at the end of September 30) pay nothing, and
    D1, under no agreement in October with nothing to settle, gets no statement."""
    w, _ = build(db_url)
    signed_agreement(w.engine, "D2", ["FR-LYO"], ["VOL", "VAL"], "2026-10-20", amends="AG-D2")
    terminate(w.engine, "AG-D1", ms(2026, 10, 1, 0))
    run = create_run(w.engine, "2026-10", "final", FIN1)
    assert paid(w, run.id, "D2") == (5_000, {"program:VAL": 2_000, "program:VOL": 3_000})
    # D1 was under no agreement in October and has nothing to settle: no statement
    with Session(w.engine) as s:
        assert (
            s.scalar(
                select(Statement.id).where(
                    Statement.run_id == run.id, Statement.party_id == w.parties["D1"]
                )
            )
            is None
        )


def test_the_run_hash_follows_enrolment_and_a_posted_run_verifies(db_url: str) -> None:
    w, _ = build(db_url)
    first = create_run(w.engine, "2026-10", "final", FIN1)
    again = create_run(w.engine, "2026-10", "final", FIN1)
    assert again.run_hash == first.run_hash  # same inputs, same hash
    signed_agreement(
        w.engine, "D3", ["DE"], ["VOL"], "2026-10-01", amends="AG-D3", number="AG-D3-2"
    )
    enrolled = create_run(w.engine, "2026-10", "final", FIN1)
    assert enrolled.run_hash != first.run_hash
    assert enrolled.program_versions == first.program_versions  # only who is paid changed
    assert paid(w, enrolled.id, "D3") == (1_500, {"program:VOL": 1_500})  # 5 x 300
    approve_run(w.engine, enrolled.id, FIN2)
    post_run(w.engine, enrolled.id, FIN1, signer=SIGNER)
    # ending D3's enrolment afterwards changes nothing the posted run sealed
    terminate(w.engine, "AG-D3-2", ms(2026, 10, 2, 0))
    report = verify_settlement(w.engine, SIGNER.public_key, SIGNER.name)
    assert report.posted_runs == 1 and report.as_json()["ok"] is True


def test_a_preview_lists_only_the_program_s_enrolled_distributors(db_url: str) -> None:
    w, _ = build(db_url)
    doubled = {**VAL, "tiers": [{"threshold": 1, "rate": "0.04"}]}
    preview = preview_program_version(w.engine, "VAL", doubled, "2026-10", FIN1)
    assert [(r.party_code, r.proposed_minor, r.in_force_minor) for r in preview.rows] == [
        ("D1", 4_000, 2_000)
    ]


def test_a_party_signed_later_in_a_new_currency_needs_no_rate_for_a_past_month(
    db_url: str,
) -> None:
    """A distributor invoicing in CNY, added today with no agreement in October and no
    sales then, is not settled for October: the run needs no CNY rate (the rates on
    file cover EUR only) and writes it no statement; the others are paid as before."""
    w, _ = build(db_url)
    with Session(w.engine) as s, s.begin():
        s.add(Party(code="D-CN", name="East China Trading", kind="distributor", currency="CNY"))
    run = create_run(w.engine, "2026-10", "final", FIN1)
    assert paid(w, run.id, "D2")[0] > 0
    with Session(w.engine) as s:
        party_id = s.scalar(select(Party.id).where(Party.code == "D-CN"))
        statement = s.scalar(
            select(Statement.id).where(Statement.run_id == run.id, Statement.party_id == party_id)
        )
    assert statement is None
