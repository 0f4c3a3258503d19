"""Seals over posted settlement and alerts, ``verify_settlement``, four eyes by user id.

The world is test_settlement_engine's October 2026 (two diverted units, one alert,
a whistleblower report) with the alert confirmed and an approved adjustment, settled
by one run that is posted. Every settlement table is then changed directly in the
database, one change at a time inside a transaction that is rolled back, and
verification must name the row (table, id) and what differs. SQLite and, with
``HOPCHAIN_TEST_PG_URL``, PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from engine_world import SIGNER, EngineWorld  # type: ignore[import-not-found]
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session
from test_settlement_engine import CM, FIN1, FIN2, build, detect  # type: ignore[import-not-found]

from settlement import (
    Actor,
    AdjustmentStateError,
    PermissionDenied,
    RunStateError,
    SettlementIntegrityError,
    StatementTampered,
    add_adjustment,
    approve_adjustment,
    approve_run,
    confirm_alert,
    create_run,
    get_statement,
    list_alerts,
    post_run,
    seal_unsealed_runs,
    start_investigation,
    verify_settlement,
)
from settlement.models import (
    Adjustment,
    Alert,
    AlertFinding,
    IncidentCharge,
    Seal,
    SettlementRun,
    Statement,
    StatementLine,
)
from settlement.seals import LineRow, evidence_hash, open_note, restate_statement

KEY, NAME = SIGNER.public_key, SIGNER.name


@dataclass
class Posted:
    w: EngineWorld
    run_id: int
    statement_id: int  # party A's statement: tier, cliff, growth, KPI, fine, deposit lines
    adjustment_id: int
    alert_id: int


def posted_world(db_url: str) -> Posted:
    w, size = build(db_url)
    detect(w, size)
    [alert] = list_alerts(w.engine, CM)
    start_investigation(w.engine, alert.id, CM)
    confirm_alert(w.engine, alert.id, CM)
    adj = add_adjustment(w.engine, w.parties["B"], 1_250, "damaged delivery", FIN1)
    approve_adjustment(w.engine, adj, FIN2)
    run = create_run(w.engine, "2026-10", "final", FIN1)
    approve_run(w.engine, run.id, FIN2)
    post_run(w.engine, run.id, FIN1, signer=SIGNER)
    with Session(w.engine) as s:
        sid = s.scalar(
            select(Statement.id).where(
                Statement.run_id == run.id, Statement.party_id == w.parties["A"]
            )
        )
        charges = s.scalar(select(IncidentCharge.id).where(IncidentCharge.run_id == run.id))
    assert sid is not None and charges is not None  # the run fined A's diverted units
    return Posted(w, run.id, sid, adj, alert.id)


def _one(conn: Connection, sql: str, **params: Any) -> Any:
    return conn.execute(text(sql), params).scalar_one()


def _problem(conn: Connection) -> tuple[str, int | None, str]:
    with pytest.raises(SettlementIntegrityError) as caught:
        verify_settlement(conn, KEY, NAME)
    return caught.value.table, caught.value.row_id, caught.value.problem


def test_a_posted_run_and_the_alerts_verify_with_the_ledger_key(db_url: str) -> None:
    p = posted_world(db_url)
    report = verify_settlement(p.w.engine, KEY, NAME)
    assert report.posted_runs == 1 and report.run_seals == 1
    assert report.statements >= 2 and report.statement_lines > report.statements
    assert report.incident_charges >= 2 and report.adjustments == 1
    assert report.alerts == 1 and report.findings == 2 and report.alerts_seals == 1
    assert report.as_json()["ok"] is True
    with Session(p.w.engine) as s:
        run = s.get(SettlementRun, p.run_id)
        assert run is not None
        assert (run.created_by_id, run.approved_by_id, run.posted_by_id) == (
            FIN1.user_id,
            FIN2.user_id,
            FIN1.user_id,
        )
        seal = s.scalars(select(Seal).where(Seal.kind == "settlement_run")).one()
        body = open_note(seal.note, NAME, KEY)
        assert body[0] == f"{NAME}/settlement-run" and body[1] == f"run {p.run_id}"
        assert f"run-hash {run.run_hash}" in body
        # a seal is no checkpoint: its first line is not the ledger name alone
        assert body[0] != NAME
        alert = s.get(Alert, p.alert_id)
        assert alert is not None and len(alert.evidence_hash) == 64
        alerts_seal = s.scalars(select(Seal).where(Seal.kind == "alerts")).one()
        assert alerts_seal.subject == alert.detected_tree_size
    other_key = bytes(32 * [7])
    with pytest.raises(SettlementIntegrityError, match="seal of run"):
        verify_settlement(p.w.engine, other_key, NAME)


def _rewrite_statement_consistently(conn: Connection, p: Posted) -> None:
    """What a careful forger does: change a line, then the total, the statement hash
    and the run hash so that they all agree again. Only the seal can tell."""
    conn.execute(
        text(
            "UPDATE statement_lines SET amount_minor = amount_minor + 500 "
            "WHERE statement_id = :s AND position = 0"
        ),
        {"s": p.statement_id},
    )
    conn.execute(
        text("UPDATE statements SET total_minor = total_minor + 500 WHERE id = :s"),
        {"s": p.statement_id},
    )
    with Session(bind=conn) as s:
        run = s.get(SettlementRun, p.run_id)
        assert run is not None
        hashes = []
        for st in s.scalars(
            select(Statement).where(Statement.run_id == run.id).order_by(Statement.id)
        ):
            rows = s.execute(
                select(StatementLine.position, StatementLine.rule, StatementLine.category,
                       StatementLine.basis, StatementLine.rate, StatementLine.amount_minor,
                       StatementLine.ref, StatementLine.quantity)
                .where(StatementLine.statement_id == st.id)
                .order_by(StatementLine.position)
            ).all()  # fmt: skip
            code = "A" if st.id == p.statement_id else None
            if code is not None:
                st_hash = restate_statement(
                    run, code, st.currency, st.partner_class, [LineRow(*r) for r in rows]
                )
                conn.execute(
                    text("UPDATE statements SET hash = :h WHERE id = :s"),
                    {"h": st_hash, "s": st.id},
                )
                hashes.append(st_hash)
            else:
                hashes.append(st.hash)
        run_hash = hashlib.sha256(
            json.dumps(
                [run.period, run.kind, run.tree_size, run.root_hex,
                 sorted(json.loads(run.program_versions_json)), hashes, run.reporting_currency]
            ).encode()
        ).hexdigest()  # fmt: skip
    conn.execute(
        text("UPDATE settlement_runs SET run_hash = :h WHERE id = :r"),
        {"h": run_hash, "r": p.run_id},
    )


def _rewrite_evidence_consistently(conn: Connection, p: Posted) -> None:
    """Drop a finding and write the evidence hash its remaining findings give."""
    fid = _one(conn, "SELECT MAX(id) FROM alert_findings WHERE alert_id = :a", a=p.alert_id)
    conn.execute(text("DELETE FROM alert_findings WHERE id = :f"), {"f": fid})
    with Session(bind=conn) as s:
        a = s.get(Alert, p.alert_id)
        assert a is not None
        rows = s.execute(
            text(
                "SELECT f.seq, f.unit_id, f.at_ms, e.leaf_hash FROM alert_findings f "
                "JOIN entries e ON e.seq = f.seq WHERE f.alert_id = :a ORDER BY f.seq"
            ),
            {"a": a.id},
        ).all()
        digest = evidence_hash(
            a.natural_key, a.party_id, a.territory_code, a.period, a.finding_type,
            [(int(q), int(u), int(t), bytes(h)) for q, u, t, h in rows],
        )  # fmt: skip
    conn.execute(
        text("UPDATE alerts SET evidence_hash = :h WHERE id = :a"), {"h": digest, "a": p.alert_id}
    )


Tamper = Callable[[Connection, Posted], None]


def _sql(sql: str) -> Tamper:
    def run(conn: Connection, p: Posted) -> None:
        params = {
            "s": p.statement_id,
            "r": p.run_id,
            "a": p.alert_id,
            "adj": p.adjustment_id,
        }
        conn.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})

    return run


def _run_seal(conn: Connection, p: Posted) -> int:
    return int(
        _one(
            conn, "SELECT id FROM seals WHERE kind = 'settlement_run' AND subject = :r", r=p.run_id
        )
    )


def _alerts_seal(conn: Connection, p: Posted) -> int:
    return int(_one(conn, "SELECT id FROM seals WHERE kind = 'alerts'"))


def _first_line(conn: Connection, p: Posted) -> int:
    return int(_one(conn, "SELECT MIN(id) FROM alert_findings WHERE alert_id = :a", a=p.alert_id))


# (what is changed, how, expected (table, id of the row named, problem))
CASES: list[tuple[str, Tamper, Callable[[Connection, Posted], tuple[str, int, str]]]] = [
    ("statements.total_minor",
     _sql("UPDATE statements SET total_minor = total_minor + 1 WHERE id = :s"),
     lambda c, p: ("statements", p.statement_id, "total_mismatch")),
    ("statements.hash",
     _sql("UPDATE statements SET hash = '" + "0" * 64 + "' WHERE id = :s"),
     lambda c, p: ("statements", p.statement_id, "hash_mismatch")),
    ("statements.partner_class",
     _sql("UPDATE statements SET partner_class = 'A' WHERE id = :s"),
     lambda c, p: ("statements", p.statement_id, "hash_mismatch")),
    ("statements.deposit_after_minor",
     _sql("UPDATE statements SET deposit_after_minor = 99999 WHERE id = :s"),
     lambda c, p: ("settlement_runs", p.run_id, "seal_mismatch")),
    ("statements.opening_balance_minor",
     _sql("UPDATE statements SET opening_balance_minor = -1 WHERE id = :s"),
     lambda c, p: ("settlement_runs", p.run_id, "seal_mismatch")),
    ("statement_lines.amount_minor",
     _sql("UPDATE statement_lines SET amount_minor = amount_minor - 100 "
          "WHERE statement_id = :s AND position = 0"),
     lambda c, p: ("statements", p.statement_id, "hash_mismatch")),
    ("statement_lines.category",
     _sql("UPDATE statement_lines SET category = 'bogus' WHERE statement_id = :s AND position = 0"),
     lambda c, p: ("statements", p.statement_id, "bad_line")),
    ("statement_lines.position",
     _sql("UPDATE statement_lines SET position = 99 WHERE statement_id = :s AND position = 0"),
     lambda c, p: ("statements", p.statement_id, "bad_line")),
    ("statement_lines (one deleted)",
     _sql("DELETE FROM statement_lines WHERE statement_id = :s AND position = "
          "(SELECT MAX(position) FROM statement_lines WHERE statement_id = :s)"),
     lambda c, p: ("statements", p.statement_id, "hash_mismatch")),
    ("statements + statement_lines + settlement_runs rewritten consistently",
     _rewrite_statement_consistently,
     lambda c, p: ("settlement_runs", p.run_id, "seal_mismatch")),
    ("settlement_runs.run_hash",
     _sql("UPDATE settlement_runs SET run_hash = '" + "1" * 64 + "' WHERE id = :r"),
     lambda c, p: ("settlement_runs", p.run_id, "run_hash_mismatch")),
    ("settlement_runs.approved_by_id",
     _sql("UPDATE settlement_runs SET approved_by_id = created_by_id WHERE id = :r"),
     lambda c, p: ("settlement_runs", p.run_id, "seal_mismatch")),
    ("settlement_runs.posted_by",
     _sql("UPDATE settlement_runs SET posted_by = 'mallory' WHERE id = :r"),
     lambda c, p: ("settlement_runs", p.run_id, "seal_mismatch")),
    ("settlement_runs.status",
     _sql("UPDATE settlement_runs SET status = 'approved' WHERE id = :r"),
     lambda c, p: ("settlement_runs", p.run_id, "sealed_not_posted")),
    ("settlement_runs.tree_size",
     _sql("UPDATE settlement_runs SET tree_size = tree_size - 1 WHERE id = :r"),
     lambda c, p: ("settlement_runs", p.run_id, "no_checkpoint")),
    ("seals.note (run)",
     _sql("UPDATE seals SET note = REPLACE(note, 'kind final', 'kind partial') "
          "WHERE kind = 'settlement_run'"),
     lambda c, p: ("seals", _run_seal(c, p), "bad_signature")),
    ("seals (run seal deleted)",
     _sql("DELETE FROM seals WHERE kind = 'settlement_run'"),
     lambda c, p: ("settlement_runs", p.run_id, "no_seal")),
    ("seals.subject (run)",
     _sql("UPDATE seals SET subject = subject + 1000 WHERE kind = 'settlement_run'"),
     lambda c, p: ("settlement_runs", p.run_id, "no_seal")),
    ("incident_charges.fine_minor",
     _sql("UPDATE incident_charges SET fine_minor = fine_minor + 1 WHERE run_id = :r"),
     lambda c, p: ("settlement_runs", p.run_id, "seal_mismatch")),
    ("incident_charges (one deleted)",
     _sql("DELETE FROM incident_charges WHERE id = "
          "(SELECT MAX(id) FROM incident_charges WHERE run_id = :r)"),
     lambda c, p: ("settlement_runs", p.run_id, "seal_mismatch")),
    ("adjustments.amount_minor",
     _sql("UPDATE adjustments SET amount_minor = 9999 WHERE id = :adj"),
     lambda c, p: ("adjustments", p.adjustment_id, "adjustment_mismatch")),
    ("adjustments.approved_by_id",
     _sql("UPDATE adjustments SET approved_by_id = created_by_id WHERE id = :adj"),
     lambda c, p: ("settlement_runs", p.run_id, "seal_mismatch")),
    ("adjustments.applied_run_id",
     _sql("UPDATE adjustments SET applied_run_id = NULL WHERE id = :adj"),
     lambda c, p: ("adjustments", p.adjustment_id, "adjustment_mismatch")),
    ("alerts.territory_code",
     _sql("UPDATE alerts SET territory_code = 'FR-PAR' WHERE id = :a"),
     lambda c, p: ("alerts", p.alert_id, "key_mismatch")),
    ("alerts.period and natural_key",
     _sql("UPDATE alerts SET period = '2026-09', natural_key = 'A|DE|2026-09|out_of_zone' "
          "WHERE id = :a"),
     lambda c, p: ("alerts", p.alert_id, "evidence_mismatch")),
    ("alerts.evidence_hash",
     _sql("UPDATE alerts SET evidence_hash = '" + "2" * 64 + "' WHERE id = :a"),
     lambda c, p: ("alerts", p.alert_id, "evidence_mismatch")),
    ("alert_findings.at_ms",
     _sql("UPDATE alert_findings SET at_ms = at_ms + 1 WHERE id = "
          "(SELECT MIN(id) FROM alert_findings WHERE alert_id = :a)"),
     lambda c, p: ("alert_findings", _first_line(c, p), "entry_mismatch")),
    ("alert_findings (one deleted)",
     _sql("DELETE FROM alert_findings WHERE id = "
          "(SELECT MIN(id) FROM alert_findings WHERE alert_id = :a)"),
     lambda c, p: ("alerts", p.alert_id, "evidence_mismatch")),
    ("alert_findings + alerts rewritten consistently",
     _rewrite_evidence_consistently,
     lambda c, p: ("seals", _alerts_seal(c, p), "seal_mismatch")),
    ("seals.note (alerts)",
     _sql("UPDATE seals SET note = REPLACE(note, 'tree-size', 'tree-size 1') WHERE kind = 'alerts'"),
     lambda c, p: ("seals", _alerts_seal(c, p), "bad_signature")),
    ("seals (alerts seal deleted)",
     _sql("DELETE FROM seals WHERE kind = 'alerts'"),
     lambda c, p: ("alerts", p.alert_id, "no_seal")),
]  # fmt: skip


def test_every_change_to_a_settlement_table_is_named(db_url: str) -> None:
    p = posted_world(db_url)
    for what, tamper, expected in CASES:
        with p.w.engine.connect() as conn:
            tx = conn.begin()
            try:
                want = expected(conn, p)
                tamper(conn, p)
                table, row_id, problem = _problem(conn)
                assert (table, row_id, problem) == want, what
            finally:
                tx.rollback()
    verify_settlement(p.w.engine, KEY, NAME)  # every change was rolled back


def test_the_error_names_the_statement_in_words(db_url: str) -> None:
    p = posted_world(db_url)
    with p.w.engine.connect() as conn, conn.begin() as tx:
        _sql("UPDATE statement_lines SET amount_minor = 1 WHERE statement_id = :s")(conn, p)
        with pytest.raises(SettlementIntegrityError) as caught:
            verify_settlement(conn, KEY, NAME)
        message = str(caught.value)
        assert message.startswith(f"statements {p.statement_id}: statement {p.statement_id} of run")
        assert "statement_lines hash to" in message and "its stored hash is" in message
        assert caught.value.as_json()["ok"] is False
        tx.rollback()


def test_a_tampered_posted_statement_is_never_served(db_url: str) -> None:
    p = posted_world(db_url)
    reader = Actor("audrey", "auditor")
    before = get_statement(p.w.engine, p.statement_id, reader)
    with p.w.engine.begin() as conn:
        conn.execute(
            text("UPDATE statement_lines SET amount_minor = amount_minor + 100000 "
                 "WHERE statement_id = :s AND position = 0"),
            {"s": p.statement_id},
        )  # fmt: skip
    with pytest.raises(StatementTampered, match=f"statement {p.statement_id} does not match"):
        get_statement(p.w.engine, p.statement_id, reader)
    owner = Actor("anna", "distributor", p.w.parties["A"])
    with pytest.raises(StatementTampered):
        get_statement(p.w.engine, p.statement_id, owner)
    with p.w.engine.begin() as conn:  # the old figure back: served again
        conn.execute(
            text("UPDATE statement_lines SET amount_minor = :v "
                 "WHERE statement_id = :s AND position = 0"),
            {"s": p.statement_id, "v": before.lines[0].amount_minor},
        )  # fmt: skip
        conn.execute(
            text("UPDATE statements SET total_minor = total_minor + 7 WHERE id = :s"),
            {"s": p.statement_id},
        )
    with pytest.raises(StatementTampered, match="is not the sum of its lines"):
        get_statement(p.w.engine, p.statement_id, reader)


def test_four_eyes_compare_user_ids_not_names(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    run = create_run(w.engine, "2026-10", "final", FIN1)
    # the same person under another name (a token labelled "finance2") is refused
    alias = Actor("finance2", "finance", user_id=FIN1.user_id)
    with pytest.raises(RunStateError, match="a different finance user must approve it"):
        approve_run(w.engine, run.id, alias)
    # someone with no user id (a program acting as no one) is refused outright
    with pytest.raises(PermissionDenied, match="is no user"):
        approve_run(w.engine, run.id, Actor("fiona", "finance"))
    with pytest.raises(PermissionDenied, match="is no user"):
        create_run(w.engine, "2026-10", "final", Actor("batch", "finance"))
    # a different person with the creator's name is a different person
    namesake = Actor("fiona", "finance", user_id=77)
    approved = approve_run(w.engine, run.id, namesake)
    assert (approved.approved_by, approved.approved_by_id) == ("fiona", 77)
    with pytest.raises(PermissionDenied, match="is no user"):
        post_run(w.engine, run.id, Actor("fiona", "finance"), signer=SIGNER)

    adj = add_adjustment(w.engine, w.parties["B"], 100, "goodwill", FIN1)
    with pytest.raises(AdjustmentStateError, match="another finance user"):
        approve_adjustment(w.engine, adj, alias)
    with pytest.raises(PermissionDenied, match="is no user"):
        add_adjustment(w.engine, w.parties["B"], 100, "goodwill", Actor("batch", "finance"))
    approve_adjustment(w.engine, adj, namesake)
    with Session(w.engine) as s:
        row = s.get(Adjustment, adj)
        assert row is not None
        assert (row.created_by_id, row.approved_by_id) == (FIN1.user_id, 77)
    # a run made before creators were recorded by id cannot be shown to have 4 eyes
    again = create_run(w.engine, "2026-10", "final", FIN1)
    with w.engine.begin() as conn:
        conn.execute(
            text("UPDATE settlement_runs SET created_by_id = NULL WHERE id = :r"), {"r": again.id}
        )
    with pytest.raises(RunStateError, match="created without a user id"):
        approve_run(w.engine, again.id, FIN2)


def test_detection_again_reseals_and_keeps_evidence(db_url: str) -> None:
    w, size = build(db_url)
    detect(w, size)
    with Session(w.engine) as s:
        first = s.scalars(select(Alert.evidence_hash)).one()
    detect(w, size)  # nothing new: same evidence, one seal at this size
    with Session(w.engine) as s:
        assert s.scalars(select(Alert.evidence_hash)).one() == first
        assert len(s.scalars(select(Seal).where(Seal.kind == "alerts")).all()) == 1
        findings = s.scalars(select(AlertFinding)).all()
        assert len(findings) == 2
    # an alert from before evidence hashes existed gets one the next time detection runs
    with w.engine.begin() as conn:
        conn.execute(text("UPDATE alerts SET evidence_hash = ''"))
    with pytest.raises(SettlementIntegrityError, match="evidence_hash is \\(empty\\)"):
        verify_settlement(w.engine, KEY, NAME)
    detect(w, size)
    assert verify_settlement(w.engine, KEY, NAME).alerts == 1


def test_a_run_posted_before_seals_is_sealed_once_it_verifies(db_url: str) -> None:
    p = posted_world(db_url)
    with p.w.engine.begin() as conn:
        conn.execute(text("DELETE FROM seals WHERE kind = 'settlement_run'"))
        conn.execute(
            text("UPDATE statement_lines SET amount_minor = amount_minor + 1 "
                 "WHERE statement_id = :s AND position = 0"),
            {"s": p.statement_id},
        )  # fmt: skip
    with pytest.raises(SettlementIntegrityError) as caught:
        seal_unsealed_runs(p.w.engine, SIGNER)
    assert (caught.value.table, caught.value.row_id) == ("statements", p.statement_id)
    with Session(p.w.engine) as s:  # all or nothing: nothing was sealed
        assert s.scalars(select(Seal).where(Seal.kind == "settlement_run")).all() == []
    with p.w.engine.begin() as conn:
        conn.execute(
            text("UPDATE statement_lines SET amount_minor = amount_minor - 1 "
                 "WHERE statement_id = :s AND position = 0"),
            {"s": p.statement_id},
        )  # fmt: skip
    with pytest.raises(SettlementIntegrityError, match="hopchain settlement seal"):
        verify_settlement(p.w.engine, KEY, NAME)
    assert seal_unsealed_runs(p.w.engine, SIGNER) == [p.run_id]
    assert seal_unsealed_runs(p.w.engine, SIGNER) == []
    assert verify_settlement(p.w.engine, KEY, NAME).run_seals == 1
