"""A month with every kind of finding, for comparing the partitioned batch with the
single-process one (tests/settlement/test_batch_*.py).

On top of the engine tests' October 2026 (``test_settlement_engine.build``): twenty
more units of distributor A (sold in Paris, sold in Berlin out of zone, shipped to
distributor B across regions, cloned, received by a party they were never shipped
to), one unit whose history spans many seqs (forty hops between A and its dealer
X), and an error declaration retracting one Berlin sale, which every snapshot must
leave out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
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
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_settlement_engine import FIN1, build  # type: ignore[import-not-found]

from ledger.ids import EntryKind as E
from ledger.models import Entry, Party
from settlement import (
    Actor,
    confirm_alert,
    create_run,
    run_detection,
    start_investigation,
)
from settlement.batch import BatchOptions
from settlement.models import Alert, AlertFinding, Statement, StatementLine

CM = Actor("carla", "channel_manager")
LONG_HOPS = 40


def build_world(db_url: str) -> tuple[EngineWorld, int]:
    """The engine tests' world plus the units above; returns it and its tree size."""
    w, _ = build(db_url)
    for i in range(20):
        w.unit(f"v{i}")
    w.unit("long")
    for i in range(20):
        v = f"v{i}"
        w.event(v, E.COMMISSIONING, "MFR", ms(2026, 10, 2))
        w.event(v, E.SHIPPING, "MFR", ms(2026, 10, 3), "A")
        w.event(v, E.RECEIVING, "A", ms(2026, 10, 3, 15), "MFR", PARIS)
        if i < 15 or i == 18:
            w.event(v, E.SHIPPING, "A", ms(2026, 10, 4), "X", PARIS)
            w.event(v, E.RECEIVING, "X", ms(2026, 10, 4, 15), "A", PARIS_2)
        if i < 10:
            w.event(v, E.RETAIL_SELLING, "X", ms(2026, 10, 8, 10 + i % 8), where=PARIS_2)
        elif i < 15:  # diverted: sold in Berlin, outside A's Paris zone
            w.event(v, E.RETAIL_SELLING, "X", ms(2026, 10, 9, 10 + i % 8), where=BERLIN)
        elif i < 18:  # cross-region: A ships to B, who holds Germany
            w.event(v, E.SHIPPING, "A", ms(2026, 10, 11), "B", PARIS)
            w.event(v, E.RECEIVING, "B", ms(2026, 10, 12), "A", BERLIN)
        elif i == 18:  # cloned: in Paris, then in Berlin (880 km) half an hour later
            w.event(v, E.INSPECTING, "INSP", ms(2026, 10, 4, 15) + 1_800_000, where=BERLIN)
        else:  # custody break: B receives a unit nobody shipped to it
            w.event(v, E.RECEIVING, "B", ms(2026, 10, 13), "A", BERLIN)
    w.event("long", E.COMMISSIONING, "MFR", ms(2026, 10, 1))
    w.event("long", E.SHIPPING, "MFR", ms(2026, 10, 1, 13), "A")
    w.event("long", E.RECEIVING, "A", ms(2026, 10, 1, 15), "MFR", PARIS)
    for hop in range(LONG_HOPS):
        day, hour = 2 + hop // 2, 8 + 6 * (hop % 2)
        src, dst = ("A", "X") if hop % 2 == 0 else ("X", "A")
        w.event("long", E.SHIPPING, src, ms(2026, 10, day, hour), dst, PARIS)
        w.event("long", E.RECEIVING, dst, ms(2026, 10, day, hour + 2), src, PARIS_2)
    w.flush()
    # An error declaration retracting v10's Berlin sale: no finding may cite it.
    with Session(w.engine) as s:
        sale = s.scalar(
            select(Entry.seq).where(
                Entry.unit_id == w.units["v10"], Entry.kind == E.RETAIL_SELLING.value
            )
        )
    w.events.append(
        {
            "unit_id": w.units["v10"],
            "kind": E.ERROR_DECLARATION.value,
            "at_ms": ms(2026, 10, 20),
            "party_id": w.parties["X"],
            "counterparty_id": None,
            "lat_e6": None,
            "lon_e6": None,
            "retracts_seq": sale,
        }
    )
    return w, w.flush()


@dataclass(frozen=True)
class Outcome:
    """What a user sees of a month: every finding, every alert, every statement line."""

    findings: list[tuple[Any, ...]]
    alerts: list[tuple[Any, ...]]
    statements: list[tuple[Any, ...]]
    lines: list[tuple[Any, ...]]


def month_outcome(w: EngineWorld, size: int, batch: BatchOptions) -> Outcome:
    """Detect, confirm the diversion alerts, settle October 2026; read it all back."""
    run_detection(w.engine, size, w.root(size).hex(), territory_index(), signer=SIGNER, batch=batch)
    with Session(w.engine) as s:
        diverted = s.scalars(
            select(Alert.id)
            .where(Alert.finding_type.in_(("out_of_zone", "cross_region")))
            .order_by(Alert.natural_key)
        ).all()
    for aid in diverted:
        start_investigation(w.engine, aid, CM)
        confirm_alert(w.engine, aid, CM)
    run = create_run(w.engine, "2026-10", "final", FIN1, batch=batch)
    with Session(w.engine) as s:
        findings = [
            tuple(r)
            for r in s.execute(
                select(AlertFinding.seq, AlertFinding.unit_id, AlertFinding.at_ms,
                       Alert.finding_type, Party.code, Alert.territory_code, Alert.period)
                .join(Alert, Alert.id == AlertFinding.alert_id)
                .outerjoin(Party, Party.id == Alert.party_id)
                .order_by(AlertFinding.seq, Alert.natural_key)
            )
        ]  # fmt: skip
        alerts = [
            tuple(r)
            for r in s.execute(
                select(Alert.natural_key, Alert.severity, Alert.unit_count, Alert.finding_count,
                       Alert.evidence_hash, Alert.status)
                .order_by(Alert.natural_key)
            )
        ]  # fmt: skip
        statements = [
            tuple(r)
            for r in s.execute(
                select(Party.code, Statement.currency, Statement.partner_class,
                       Statement.total_minor, Statement.deposit_after_minor, Statement.hash,
                       Statement.opening_balance_minor, Statement.fx_note)
                .join(Party, Party.id == Statement.party_id)
                .where(Statement.run_id == run.id)
                .order_by(Party.code)
            )
        ]  # fmt: skip
        lines = [
            tuple(r)
            for r in s.execute(
                select(Party.code, StatementLine.position, StatementLine.rule,
                       StatementLine.category, StatementLine.basis, StatementLine.rate,
                       StatementLine.amount_minor, StatementLine.ref, StatementLine.quantity,
                       Statement.currency)
                .join(Statement, Statement.id == StatementLine.statement_id)
                .join(Party, Party.id == Statement.party_id)
                .where(Statement.run_id == run.id)
                .order_by(Party.code, StatementLine.position)
            )
        ]  # fmt: skip
    return Outcome(findings, alerts, statements, lines)


@contextmanager
def second_database(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Another empty database of the same engine as ``db_url`` (the shared fixture's
    kind: a SQLite file, or a PostgreSQL schema of its own, dropped after)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    urls = request.getfixturevalue("_pg_databases").empty_url()
    try:
        yield next(urls)
    finally:
        urls.close()
