"""The class in force feeds settlement's class multiplier (settlement/runs.py reads
partners.classes.classes_in_force): a confirmed review's class wins over the
quarterly scorecard's, which wins over the program's default class.

The world (list price 100.00 EUR per unit): distributor A receives 12 units from
the manufacturer on 2026-10-05 and returns one on 2026-10-20, so it nets 11 units
sold in; program VOL pays retroactive tiers, 10+ units at 3.00 per unit: tier
rebate 11 x 300 = 3_300 cents; class multipliers A 1.1, B 1, C 0.9, default B.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "settlement"))

from engine_world import GTIN, PARIS, EngineWorld

from ledger.ids import EntryKind as E
from partners.models import Agreement, ProgramEnrolment
from risk.reviews import confirm_review, enter_indicator, open_review, set_weights
from settlement import Actor, add_program_version, create_program, create_run, set_price
from settlement.models import Statement, StatementLine
from tests.partners.evaluation_support import CM, PM, ms, score_quarter

FIN = Actor("fiona", "finance", user_id=1)
NEUTRAL = {n: "0.5000" for n in ("target", "growth", "diversion", "returns", "timeliness")}
RULES: dict[str, Any] = {
    "currency": "EUR",
    "basis": "sell_in",
    "measure": "volume",
    "mode": "retroactive",
    "tiers": [{"threshold": 5, "rate": "200"}, {"threshold": 10, "rate": "300"}],
    "class_multipliers": {"A": "1.1", "B": "1", "C": "0.9"},
    "default_class": "B",
}


def _world(db_url: str) -> EngineWorld:
    w = EngineWorld.create(db_url)
    w.party("MFR", "manufacturer")
    w.party("A", "distributor", country="FR")
    for i in range(12):
        u = f"u{i}"
        w.unit(u)
        w.event(u, E.COMMISSIONING, "MFR", ms(2026, 10, 1))
        w.event(u, E.SHIPPING, "MFR", ms(2026, 10, 5), "A")
        w.event(u, E.RECEIVING, "A", ms(2026, 10, 5), "MFR", PARIS)
    w.event("u11", E.RETURNING, "A", ms(2026, 10, 20), "MFR", PARIS)
    w.flush()
    set_price(w.engine, GTIN, "EUR", "2026-10-01", 10_000, FIN)
    create_program(w.engine, "VOL", "Volume rebate", FIN)
    add_program_version(w.engine, "VOL", "2026-01", None, RULES, FIN)
    with Session(w.engine) as s, s.begin():  # A is enrolled in VOL by a signed agreement
        ag = Agreement(
            party_id=w.parties["A"], number="AG-A-1", status="signed", valid_from="2026-01-01",
            valid_to="2027-12-31", currency="EUR", created_by="test", created_ms=1,
        )  # fmt: skip
        s.add(ag)
        s.flush()
        s.add(
            ProgramEnrolment(
                party_id=w.parties["A"], program_code="VOL", agreement_id=ag.id,
                valid_from_ms=ms(2026, 1, 1) - 12 * 3_600_000,
            )
        )  # fmt: skip
    return w


def _statement(engine: Engine, run_id: int) -> tuple[Statement, dict[str, StatementLine]]:
    with Session(engine) as s:
        st = s.scalars(select(Statement).where(Statement.run_id == run_id)).one()
        lines = {
            ln.rule: ln
            for ln in s.scalars(select(StatementLine).where(StatementLine.statement_id == st.id))
        }
        s.expunge_all()
        return st, lines


def _confirm(engine: Engine, cls: str, valid_from: str) -> None:
    set_weights(engine, 2026, {"compliance": "1"}, CM)
    review = open_review(engine, "A", "annual", 2026, "annual", CM)
    enter_indicator(engine, review.id, "compliance", 90, "clean", CM)
    confirm_review(engine, review.id, cls, "best in France", PM, valid_from=valid_from)


def test_a_confirmed_class_a_raises_the_next_months_class_line(db_url: str) -> None:
    w = _world(db_url)
    # the scorecard of 2026-Q3 says C: without a confirmed class it would cost
    # 3_300 x (0.9 - 1) = -330
    score_quarter(w.engine, w.parties["A"], "2026-Q3", "50", NEUTRAL)
    _confirm(w.engine, "A", "2026-09-20")  # in force before 2026-10-01
    st, lines = _statement(w.engine, create_run(w.engine, "2026-10", "final", FIN).id)
    assert lines["tier_retroactive"].amount_minor == 3_300
    # class A: 3_300 x (1.1 - 1) = 330 cents
    line = lines["class_multiplier"]
    assert (line.amount_minor, line.rate, line.basis) == (330, "1.1", "class A on tier rebate 3300")
    assert st.partner_class == "A"


def test_a_class_confirmed_after_the_first_day_waits_for_the_next_period(db_url: str) -> None:
    w = _world(db_url)
    score_quarter(w.engine, w.parties["A"], "2026-Q3", "50", NEUTRAL)
    _confirm(w.engine, "A", "2026-10-02")  # from the 2nd: not yet for 2026-10
    st, lines = _statement(w.engine, create_run(w.engine, "2026-10", "final", FIN).id)
    # the scorecard's C: 3_300 x (0.9 - 1) = -330 cents
    assert lines["class_multiplier"].amount_minor == -330 and st.partner_class == "C"


def test_without_class_or_scorecard_the_program_default_applies(db_url: str) -> None:
    w = _world(db_url)
    st, lines = _statement(w.engine, create_run(w.engine, "2026-10", "final", FIN).id)
    assert lines["class_multiplier"].amount_minor == 0 and st.partner_class == "B"  # x1
