"""``hopchain settlement verify``: re-derive posted settlement and alerts and check
them against their seals (:mod:`settlement.seals`).

For every posted run, in id order: the run read a signed checkpoint; each statement's
hash is re-derived from its lines and header with the function the run used
(:func:`settlement.statement.statement_hash`) and its total is the sum of its lines;
the run hash is re-derived from the statement hashes; every adjustment line pays
what the adjustment it names says, and every adjustment the run applied has its
line; the run's seal verifies with the ledger key and its body equals the one the
database gives now (run columns, and the Merkle roots over its statements,
incident charges and applied adjustments). A seal of a run that is not posted, or a
run not posted that records a posting, is reported too.

For every alert, in id order: its natural key agrees with its columns, each finding
names the unit and time of the ledger entry it cites, and its evidence hash is
re-derived from its findings and those entries' leaf hashes; every alerts seal's
signature verifies and the newest one's body equals the one the database gives now
(no alert after the last one it covers).

The first problem stops verification with :class:`SettlementIntegrityError` naming
the table, the row and what differs, in words.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Checkpoint, Entry, Party
from settlement.common import SettlementError
from settlement.models import (
    Adjustment,
    Alert,
    AlertFinding,
    IncidentCharge,
    Seal,
    SettlementRun,
    Statement,
)
from settlement.seals import (
    ALERTS_SEAL,
    RUN_SEAL,
    NoteSigner,
    SealError,
    alerts_seal_body,
    evidence_hash,
    open_note,
    restate_statement,
    run_seal_body,
    run_statements,
    seal_run,
)
from settlement.statement import run_hash

__all__ = [
    "SettlementIntegrityError",
    "SettlementVerifyReport",
    "seal_unsealed_runs",
    "verify_settlement",
]

_RUN_HASH_HINT = {
    "statements": "a statement's header (total, deposit, balance brought forward, region, "
    "FX note, party), or statements added or removed",
    "incident-charges": "an incident charge of this run changed, added or removed",
    "adjustments": "an adjustment this run applied changed, or its applied run",
}


class SettlementIntegrityError(SettlementError):
    """The first thing verification found wrong: ``table`` and ``row_id`` name the
    row (the run, statement, alert or seal), ``problem`` is a short code and
    ``detail`` says what differs, in words."""

    def __init__(self, table: str, row_id: int | None, problem: str, detail: str) -> None:
        where = f"{table} {row_id}" if row_id is not None else table
        super().__init__(f"{where}: {detail}")
        self.table = table
        self.row_id = row_id
        self.problem = problem
        self.detail = detail

    def as_json(self) -> dict[str, Any]:
        """``{"ok": false, "table", "id", "problem", "detail"}``."""
        return {
            "ok": False,
            "table": self.table,
            "id": self.row_id,
            "problem": self.problem,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class SettlementVerifyReport:
    """What verification checked (counts of rows) and the newest alerts seal's tree size."""

    posted_runs: int
    statements: int
    statement_lines: int
    incident_charges: int
    adjustments: int
    run_seals: int
    alerts: int
    findings: int
    alerts_seals: int
    alerts_sealed_at_tree_size: int | None

    def as_json(self) -> dict[str, Any]:
        """``{"ok": true, ...counts}``."""
        return {"ok": True, **asdict(self)}


def _fail(table: str, row_id: int | None, problem: str, detail: str) -> SettlementIntegrityError:
    return SettlementIntegrityError(table, row_id, problem, detail)


def _open(seal: Seal, what: str, name: str, public_key: bytes) -> list[str]:
    try:
        return open_note(seal.note, name, public_key)
    except SealError as exc:
        raise _fail("seals", seal.id, "bad_signature", f"the seal of {what}: {exc}") from None


def _compare_body(
    signed: list[str], now: list[str], table: str, row_id: int, what: str, hints: dict[str, str]
) -> None:
    """Raise naming the first line where the signed body and the database differ."""
    for i in range(max(len(signed), len(now))):
        was = signed[i] if i < len(signed) else "(nothing)"
        is_ = now[i] if i < len(now) else "(nothing)"
        if was != is_:
            key = (is_ if is_ != "(nothing)" else was).split(" ", 1)[0]
            hint = f" ({hints[key]})" if key in hints else ""
            raise _fail(
                table, row_id, "seal_mismatch",
                f"{what} does not match its seal: the seal signs '{was}' but the database now "
                f"gives '{is_}'{hint}",
            )  # fmt: skip


@dataclass
class _Counts:
    statements: int = 0
    lines: int = 0
    charges: int = 0
    adjustments: int = 0


def _verify_run(
    s: Session,
    run: SettlementRun,
    seal: Seal | None,
    checkpoints: set[tuple[int, str]],
    name: str,
    public_key: bytes,
    counts: _Counts,
) -> None:
    _verify_run_rows(s, run, checkpoints, counts)
    if seal is None:
        raise _fail(
            "settlement_runs", run.id, "no_seal",
            f"run {run.id} is posted but has no seal (a signed note over its statements): the "
            "seal was deleted, the run was marked posted outside hopchain, or it was posted "
            "before runs were sealed (then `hopchain settlement seal` seals it once its "
            "statements verify)",
        )  # fmt: skip
    signed = _open(seal, f"run {run.id}", name, public_key)
    _compare_body(
        signed, run_seal_body(s, run, name), "settlement_runs", run.id, f"run {run.id}",
        _RUN_HASH_HINT,
    )  # fmt: skip


def _verify_run_rows(
    s: Session, run: SettlementRun, checkpoints: set[tuple[int, str]], counts: _Counts
) -> None:
    """Everything about a posted run but its seal: checkpoint, statements, run hash,
    adjustments, incident charges counted."""
    if (int(run.tree_size), run.root_hex.lower()) not in checkpoints:
        raise _fail(
            "settlement_runs", run.id, "no_checkpoint",
            f"run {run.id} says it read the ledger at tree size {run.tree_size} with root "
            f"{run.root_hex}, but no signed checkpoint of that size has that root",
        )  # fmt: skip
    try:
        versions = json.loads(run.program_versions_json or "[]")
        if not isinstance(versions, list) or not all(isinstance(v, int) for v in versions):
            raise ValueError
    except ValueError:
        raise _fail(
            "settlement_runs", run.id, "bad_column",
            f"program_versions_json {run.program_versions_json!r} is not a list of version ids",
        ) from None  # fmt: skip
    hashes = []
    paid: set[int] = set()  # adjustments a line of this run pays
    for st, code, mine in run_statements(s, run):
        if code is None:
            raise _fail("statements", st.id, "no_party", f"party {st.party_id} does not exist")
        try:
            again = restate_statement(run, code, st.currency, st.partner_class, mine)
        except SettlementError as exc:
            raise _fail("statements", st.id, "bad_line", f"statement {st.id}: {exc}") from None
        if again != st.hash:
            raise _fail(
                "statements", st.id, "hash_mismatch",
                f"statement {st.id} of run {run.id} ({code}): its header and its {len(mine)} "
                f"statement_lines hash to {again}, but its stored hash is {st.hash}",
            )  # fmt: skip
        total = sum(x.amount_minor for x in mine)
        if total != st.total_minor:
            raise _fail(
                "statements", st.id, "total_mismatch",
                f"statement {st.id} of run {run.id} ({code}): total_minor {st.total_minor} is "
                f"not the sum of its lines, {total}",
            )  # fmt: skip
        for x in mine:
            kind, _, num = x.ref.partition(":")
            if kind == "adjustment" and num.isdigit():
                paid.add(int(num))
                _check_adjustment_line(s, run, st, int(num), x.amount_minor, x.basis)
        hashes.append(st.hash)
        counts.statements += 1
        counts.lines += len(mine)
    again = run_hash(
        period=run.period,
        kind=run.kind,
        tree_size=run.tree_size,
        root_hex=run.root_hex,
        program_versions=versions,
        statement_hashes=hashes,
        reporting_currency=run.reporting_currency,
    )
    if again != run.run_hash:
        raise _fail(
            "settlement_runs", run.id, "run_hash_mismatch",
            f"run {run.id}: its columns and its {len(hashes)} statement hashes give run hash "
            f"{again}, but its stored run_hash is {run.run_hash}",
        )  # fmt: skip
    for adj_id in s.scalars(
        select(Adjustment.id).where(Adjustment.applied_run_id == run.id).order_by(Adjustment.id)
    ):
        if adj_id not in paid:
            raise _fail(
                "adjustments", adj_id, "not_paid",
                f"adjustment {adj_id} says run {run.id} applied it, but no line of that run's "
                "statements pays it",
            )  # fmt: skip
        counts.adjustments += 1
    counts.charges += int(
        s.scalar(
            select(func.count()).select_from(IncidentCharge).where(IncidentCharge.run_id == run.id)
        )
        or 0
    )


def _check_adjustment_line(
    s: Session, run: SettlementRun, st: Statement, adj_id: int, amount: int, basis: str
) -> None:
    adj = s.get(Adjustment, adj_id)
    if adj is None:
        raise _fail(
            "statements", st.id, "no_adjustment",
            f"statement {st.id} pays adjustment {adj_id}, which does not exist",
        )  # fmt: skip
    problems = []
    if adj.applied_run_id != run.id:
        problems.append(f"applied_run_id is {adj.applied_run_id}, not run {run.id}")
    if adj.party_id != st.party_id:
        problems.append(f"party_id is {adj.party_id}, the statement's is {st.party_id}")
    if adj.amount_minor != amount:
        problems.append(f"amount_minor is {adj.amount_minor}, the line pays {amount}")
    if adj.reason != basis:
        problems.append(f"reason is {adj.reason!r}, the line says {basis!r}")
    if adj.status != "approved":
        problems.append(f"status is {adj.status}, not approved")
    if problems:
        raise _fail(
            "adjustments", adj_id, "adjustment_mismatch",
            f"adjustment {adj_id} does not match the line of statement {st.id} that pays it: "
            + "; ".join(problems),
        )  # fmt: skip


def _checkpoints(s: Session) -> set[tuple[int, str]]:
    return {
        (int(size), bytes(root).hex())
        for size, root in s.execute(select(Checkpoint.tree_size, Checkpoint.root_hash))
    }


def _run_seals(s: Session) -> dict[int, Seal]:
    return {
        int(seal.subject): seal
        for seal in s.scalars(select(Seal).where(Seal.kind == RUN_SEAL).order_by(Seal.id))
    }


def _verify_runs(s: Session, name: str, public_key: bytes) -> tuple[int, int, _Counts]:
    checkpoints = _checkpoints(s)
    seals = _run_seals(s)
    counts = _Counts()
    posted = 0
    for run in s.scalars(select(SettlementRun).order_by(SettlementRun.id)):
        if run.status != "posted":
            if run.id in seals:
                raise _fail(
                    "settlement_runs", run.id, "sealed_not_posted",
                    f"run {run.id} is {run.status}, but it has a seal, which only posting signs",
                )  # fmt: skip
            if run.posted_ms is not None or run.posted_by is not None:
                raise _fail(
                    "settlement_runs", run.id, "posted_not_posted",
                    f"run {run.id} is {run.status}, but it records a posting "
                    f"(posted_ms {run.posted_ms}, posted_by {run.posted_by})",
                )  # fmt: skip
            continue
        _verify_run(s, run, seals.get(run.id), checkpoints, name, public_key, counts)
        posted += 1
    runs = set(s.scalars(select(SettlementRun.id)))
    for subject, seal in seals.items():
        if subject not in runs:
            raise _fail(
                "seals", seal.id, "orphan_seal",
                f"seal {seal.id} seals run {subject}, which does not exist",
            )  # fmt: skip
    return posted, len(seals), counts


def _findings(s: Session) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """(alert id, its findings with the entry each cites) in alert id order."""
    f = AlertFinding
    q = (
        select(f.alert_id, f.id, f.seq, f.unit_id, f.at_ms, Entry.unit_id, Entry.at_ms,
               Entry.leaf_hash)
        .outerjoin(Entry, Entry.seq == f.seq)
        .order_by(f.alert_id, f.seq)
        .execution_options(yield_per=20_000)
    )  # fmt: skip
    current: int | None = None
    group: list[tuple[Any, ...]] = []
    for row in s.execute(q):
        aid = int(row[0])
        if aid != current:
            if current is not None:
                yield current, group
            current, group = aid, []
        group.append(tuple(row[1:]))
    if current is not None:
        yield current, group


def _verify_alerts(s: Session, name: str, public_key: bytes) -> tuple[int, int, int, int | None]:
    codes = {int(i): str(c) for i, c in s.execute(select(Party.id, Party.code))}
    alerts = list(s.scalars(select(Alert).order_by(Alert.id)))
    by_id = {a.id: a for a in alerts}
    found: dict[int, list[tuple[Any, ...]]] = {}
    n_findings = 0
    for aid, group in _findings(s):
        if aid not in by_id:
            raise _fail(
                "alert_findings", int(group[0][0]), "orphan_finding",
                f"finding {group[0][0]} belongs to alert {aid}, which does not exist",
            )  # fmt: skip
        found[aid] = group
        n_findings += len(group)
    for a in alerts:
        party = "-" if a.party_id is None else codes.get(a.party_id, f"#{a.party_id}")
        key = f"{party}|{a.territory_code}|{a.period}|{a.finding_type}"
        if key != a.natural_key:
            raise _fail(
                "alerts", a.id, "key_mismatch",
                f"alert {a.id}: its natural key is {a.natural_key!r}, but its party, territory, "
                f"period and finding type give {key!r}",
            )  # fmt: skip
        evidence = []
        for fid, seq, unit_id, at_ms, e_unit, e_at, leaf in found.get(a.id, []):
            if leaf is None:
                raise _fail(
                    "alert_findings", int(fid), "no_entry",
                    f"finding {fid} of alert {a.id} cites ledger entry {seq}, which does not exist",
                )  # fmt: skip
            if (int(unit_id), int(at_ms)) != (int(e_unit), int(e_at)):
                raise _fail(
                    "alert_findings", int(fid), "entry_mismatch",
                    f"finding {fid} of alert {a.id} says unit {unit_id} at {at_ms} ms, but the "
                    f"ledger entry {seq} it cites is unit {e_unit} at {e_at} ms",
                )  # fmt: skip
            evidence.append((int(seq), int(unit_id), int(at_ms), bytes(leaf)))
        again = evidence_hash(
            a.natural_key, a.party_id, a.territory_code, a.period, a.finding_type, evidence
        )
        if again != a.evidence_hash:
            raise _fail(
                "alerts", a.id, "evidence_mismatch",
                f"alert {a.id}: its identity and its {len(evidence)} alert_findings (with the "
                f"ledger entries they cite) hash to {again}, but its stored evidence_hash is "
                f"{a.evidence_hash or '(empty)'}",
            )  # fmt: skip
    seals = list(s.scalars(select(Seal).where(Seal.kind == ALERTS_SEAL).order_by(Seal.id)))
    for seal in s.scalars(
        select(Seal).where(Seal.kind.not_in((ALERTS_SEAL, RUN_SEAL))).order_by(Seal.id)
    ):
        raise _fail(
            "seals", seal.id, "unknown_kind", f"seal {seal.id} is of unknown kind {seal.kind!r}"
        )
    bodies = [
        (seal, _open(seal, f"alerts at tree size {seal.subject}", name, public_key))
        for seal in seals
    ]
    if not seals:
        if alerts:
            raise _fail(
                "alerts", alerts[0].id, "no_seal",
                f"there are {len(alerts)} alerts but no alerts seal (detection signs one); "
                "the seals were deleted, or the alerts were written outside detection",
            )  # fmt: skip
        return len(alerts), n_findings, 0, None
    latest, signed = bodies[-1]
    parts = signed[-1].split(" ") if signed else []
    if len(signed) != 3 or len(parts) != 4 or parts[0] != "alerts" or not parts[2].isdigit():
        raise _fail("seals", latest.id, "bad_body", f"alerts seal {latest.id} has no 'alerts' line")
    last_id = int(parts[2])
    beyond = [a.id for a in alerts if a.id > last_id]
    if beyond:
        raise _fail(
            "alerts", beyond[0], "not_sealed",
            f"alert {beyond[0]} is not covered by the newest alerts seal (it covers alerts up to "
            f"{last_id}); detection seals every alert it raises",
        )  # fmt: skip
    _compare_body(
        signed, alerts_seal_body(s, name, int(latest.subject), last_id), "seals", latest.id,
        f"the alerts (newest alerts seal, tree size {latest.subject})",
        {"alerts": "an alert's evidence hash changed, or alerts were added or removed"},
    )  # fmt: skip
    return len(alerts), n_findings, len(seals), int(latest.subject)


def verify_settlement(
    engine: Engine | Connection, public_key: bytes, name: str
) -> SettlementVerifyReport:
    """Re-derive every posted run and every alert and check them against their seals.

    ``engine`` is the database (or a connection, to verify what its open
    transaction sees); ``public_key`` is the ledger's 32-byte Ed25519 public key and
    ``name`` its name (the key that signs checkpoints signs seals). Only reads.
    Returns the counts checked; raises
    :class:`SettlementIntegrityError` naming the first bad run, statement,
    adjustment, alert, finding or seal and what differs.
    """
    with Session(engine) as s:
        posted, run_seals, counts = _verify_runs(s, name, public_key)
        alerts, findings, alert_seals, sealed_at = _verify_alerts(s, name, public_key)
    return SettlementVerifyReport(
        posted_runs=posted,
        statements=counts.statements,
        statement_lines=counts.lines,
        incident_charges=counts.charges,
        adjustments=counts.adjustments,
        run_seals=run_seals,
        alerts=alerts,
        findings=findings,
        alerts_seals=alert_seals,
        alerts_sealed_at_tree_size=sealed_at,
    )


def seal_unsealed_runs(engine: Engine, signer: NoteSigner) -> list[int]:
    """Seal every posted run that has no seal (one posted before runs were sealed),
    once its checkpoint, statement hashes, totals, run hash and adjustments verify.

    All or nothing: raises :class:`SettlementIntegrityError` naming the first run row
    that does not verify, and seals none. Returns the ids of the runs sealed.
    """
    with Session(engine) as s, s.begin():
        checkpoints, sealed = _checkpoints(s), _run_seals(s)
        out = []
        for run in s.scalars(
            select(SettlementRun).where(SettlementRun.status == "posted").order_by(SettlementRun.id)
        ):
            if run.id in sealed:
                continue
            _verify_run_rows(s, run, checkpoints, _Counts())
            seal_run(s, run, signer)
            out.append(run.id)
        return out
