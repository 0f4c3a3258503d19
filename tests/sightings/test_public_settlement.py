"""A flood of public sightings changes no statement (issue 14).

The territory world of tests/sightings/test_public.py, settled for March 2026:
D1 (holding AA) and D2 (holding BB) are enrolled in program VOL (sell-through)
by their signed agreements; the list price is 100.00 EUR. A run is made, then 90 public
sightings of every unit, most out of zone and several clones, are recorded during
March and after it, and detection and the run are done again over the same
checkpoint: the statements, their lines and the run's hash are the same, and so
are the alerts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import geo
from ledger import make_checkpoint
from settlement import (
    Actor,
    add_program_version,
    create_program,
    create_run,
    run_detection,
    set_price,
)
from settlement.detection import latest_checkpoint
from settlement.models import Alert, AlertFinding, Statement, StatementLine
from sightings.models import PublicSighting, SuspectedAlert
from tests.agreement_support import signed_agreement
from tests.settlement.engine_world import SIGNER
from tests.sightings.test_public import IN_AA, IN_BB, sight
from tests.territories_web import _territories_world as world

FIN = Actor("fiona", "finance", user_id=1)
RULES: dict[str, Any] = {
    "currency": "EUR",
    "basis": "sell_through",
    "measure": "volume",
    "mode": "retroactive",
    "tiers": [{"threshold": 1, "rate": "200"}, {"threshold": 4, "rate": "300"}],
    "class_multipliers": {"A": "1", "B": "1", "C": "1"},
    "default_class": "B",
    "penalties": {"fine_per_unit": 5_000, "forfeiture": True},
}


def _world(engine: Engine, make_party: Callable[..., int]) -> None:
    with Session(engine) as session, session.begin():
        geo.import_feature_collection(session, world.world_fc())
    world.build_parties(make_party)
    signed_agreement(engine, "D1", ["AA"], ["VOL"], valid_from="2026-01-01", number="AG-D1")
    signed_agreement(engine, "D2", ["BB"], ["VOL"], valid_from="2026-01-01", number="AG-D2")
    world.append_scans(engine)
    for period in ("2026-02", "2026-03"):
        set_price(engine, world.GTIN, "EUR", f"{period}-01", 10_000, FIN)
    create_program(engine, "VOL", "Volume rebate", FIN)
    add_program_version(engine, "VOL", "2026-01", None, RULES, FIN)


def _settle(engine: Engine, size: int, root: str) -> tuple[str, list[tuple[Any, ...]]]:
    """Detection, then a final run for 2026-03: the run hash and every statement line."""
    with Session(engine) as session:
        index = geo.load_index(session)
    run_detection(engine, size, root, index, signer=SIGNER)
    run = create_run(engine, "2026-03", "final", FIN, tree_size=size)
    with Session(engine) as session:
        lines = [
            tuple(r)
            for r in session.execute(
                select(Statement.party_id, Statement.hash, Statement.total_minor, StatementLine.position,
                       StatementLine.rule, StatementLine.basis, StatementLine.amount_minor)
                .join(StatementLine, StatementLine.statement_id == Statement.id)
                .where(Statement.run_id == run.id)
                .order_by(Statement.party_id, StatementLine.position)
            )
        ]  # fmt: skip
    return run.run_hash, lines


def _alerts(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        return [
            tuple(r)
            for r in session.execute(
                select(Alert.id, Alert.natural_key, Alert.unit_count, Alert.evidence_hash,
                       AlertFinding.seq)
                .join(AlertFinding, AlertFinding.alert_id == Alert.id)
                .order_by(Alert.id, AlertFinding.seq)
            )
        ]  # fmt: skip


def test_a_flood_of_sightings_changes_no_statement_and_no_alert(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    _world(engine, make_party)
    make_checkpoint(engine, SIGNER)
    size, root = latest_checkpoint(engine)
    run_hash, lines = _settle(engine, size, root)
    alerts = _alerts(engine)
    assert any(amount for *_, amount in lines)  # a real statement, with a rebate
    assert alerts  # the world's own diversion (U2 sold in BB, U3 inspected in NORTH)

    march = world.ms(2026, 3, 15)
    for i in range(90):
        n = 1 + i % 6
        where = IN_AA if n == 6 else IN_BB  # each unit out of its zone ...
        if i % 9 == 0:
            where = IN_BB if n == 6 else IN_AA  # ... or back home, 699 km away: a clone
        when = march + (i // 6) * 20 * 60_000 + (0 if i < 45 else 40 * 86_400_000)
        sight(engine, f"U{n}", where, when)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PublicSighting)) == 90
        kinds = set(session.scalars(select(SuspectedAlert.kind)))
    assert kinds == {"out_of_zone", "clone"}

    assert latest_checkpoint(engine) == (size, root)  # sightings appended nothing
    again_hash, again_lines = _settle(engine, size, root)
    assert (again_hash, again_lines) == (run_hash, lines)
    assert _alerts(engine) == alerts
