"""Seals: signed notes over settlement and alerts, which the ledger does not cover.

The ledger's entries are covered by its Merkle log and checkpoints; what the batch
engine derives from them (statements, runs, alerts) is covered here, by the same
Ed25519 key and the same C2SP ``signed-note`` format as checkpoints, so an auditor
checks both with one public key (``GET /api/v1/ledger/public-key``).

Two kinds of seal (table ``seals``):

- ``settlement_run`` (``subject`` = run id), signed when a run is posted. Its body
  binds the run's columns (period, kind, checkpoint, programs, reporting currency,
  run hash, who created, approved and posted it) and three RFC 9162 Merkle roots:
  over its statements (in id order), its incident charges and the adjustments it
  applied. A statement's leaf covers its hash (which covers its lines, see
  :func:`settlement.statement.statement_hash`) and the header columns the hash does
  not (totals, deposit, balance brought forward, region, FX note).
- ``alerts`` (``subject`` = the tree size detection ran at), signed after every
  detection: a root over every alert's evidence hash (:func:`evidence_hash`: the
  alert's identity and each finding's entry, with that entry's leaf hash).

A body's first line names what it seals (``{ledger name}/settlement-run`` or
``{ledger name}/alerts``), so a seal can never pass for a checkpoint, whose first
line is the ledger name alone. :func:`run_seal_body` and :func:`alerts_seal_body`
build a body from the database; verification (:mod:`settlement.verify`) rebuilds
it and compares it line by line with the signed one.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ledger.keys import CheckpointError, check_note_signature
from ledger.merkle import leaf_hash, root_from_leaves
from ledger.models import Party
from settlement.common import SettlementError, now_ms
from settlement.models import (
    Adjustment,
    Alert,
    IncidentCharge,
    Seal,
    SettlementRun,
    Statement,
    StatementLine,
)
from settlement.rules.money import Line, RuleError
from settlement.statement import StatementLineRef, statement_hash

__all__ = [
    "ALERTS_SEAL",
    "RUN_SEAL",
    "LineRow",
    "NoteSigner",
    "SealError",
    "StatementTampered",
    "alerts_seal_body",
    "check_posted_run",
    "check_posted_statement",
    "evidence_hash",
    "latest_alerts_seal",
    "open_note",
    "restate_statement",
    "run_seal_body",
    "run_statements",
    "seal_alerts",
    "seal_run",
]

RUN_SEAL = "settlement_run"
ALERTS_SEAL = "alerts"


class NoteSigner(Protocol):
    """What sealing needs of :class:`ledger.LedgerSigner`: its name, public key and
    C2SP note signature."""

    name: str
    public_key: bytes

    def sign_note(self, body: str) -> str: ...


class SealError(SettlementError):
    """A seal note that is malformed or whose signature does not verify."""


class StatementTampered(SettlementError):
    """A statement of a posted run whose stored columns no longer give its stored hash.

    Pages and the API answer it (409) instead of serving the changed figures.
    """

    def __init__(self, statement_id: int, why: str) -> None:
        super().__init__(
            f"statement {statement_id} does not match its sealed hash ({why}); "
            "ask an auditor to run hopchain settlement verify"
        )
        self.statement_id = statement_id
        self.why = why


class LineRow(NamedTuple):
    """A stored statement line's columns, as the hash reads them."""

    position: int
    rule: str
    category: str
    basis: str
    rate: str
    amount_minor: int
    ref: str
    quantity: int


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _canonical(value: Any) -> bytes:
    """Canonical JSON bytes: no whitespace, UTF-8 (lists and scalars only)."""
    return _JSON.encode(value).encode()


def _root(leaves: Iterable[Sequence[Any]]) -> tuple[int, str]:
    """(count, hex RFC 9162 root) of the leaves, each hashed as canonical JSON."""
    hashed = [leaf_hash(_canonical(list(leaf))) for leaf in leaves]
    return len(hashed), root_from_leaves(hashed).hex()


# ------------------------------------------------------------------ notes


def _sign(signer: NoteSigner, lines: Sequence[str]) -> str:
    return signer.sign_note("".join(f"{line}\n" for line in lines))


def open_note(note: str, name: str, public_key: bytes) -> list[str]:
    """The body lines of a C2SP signed note once its signature by the key ``name`` /
    ``public_key`` (32-byte Ed25519) verifies. Raises :class:`SealError` saying what
    is wrong: no blank line before the signatures, no signature by that key, or one
    that does not verify."""
    body, sep, signatures = note.partition("\n\n")
    if not sep or not body:
        raise SealError("the note has no blank line between its body and its signatures")
    body += "\n"
    try:
        check_note_signature(body, signatures, name, public_key, what=f"the signature by {name}")
    except CheckpointError as exc:
        raise SealError(str(exc)) from None
    return body[:-1].split("\n")


# ------------------------------------------------------------------ statements


def restate_statement(
    run: SettlementRun, party_code: str, currency: str, partner_class: str, lines: Sequence[LineRow]
) -> str:
    """The statement's hash re-derived from stored columns with the function
    :func:`settlement.runs.create_run` used (:func:`settlement.statement.statement_hash`).

    ``lines`` in position order. Raises :class:`SettlementError` naming the line when
    a stored line is no statement line at all (an unknown category, a non-integer
    amount) or positions are not 0..n-1.
    """
    refs = []
    for i, ln in enumerate(lines):
        if ln.position != i:
            raise SettlementError(f"line positions are {[x.position for x in lines]}, not 0..n-1")
        try:
            line = Line(ln.rule, ln.category, ln.basis, ln.rate, ln.amount_minor, ln.quantity)
        except RuleError as exc:
            raise SettlementError(f"line {ln.position}: {exc}") from None
        refs.append(StatementLineRef(line, ln.ref))
    return statement_hash(
        period=run.period, kind=run.kind, tree_size=run.tree_size, root_hex=run.root_hex,
        program_versions=[int(v) for v in json.loads(run.program_versions_json or "[]")],
        party_code=party_code, currency=currency, partner_class=partner_class, lines=refs,
    )  # fmt: skip


def check_posted_statement(
    run: SettlementRun,
    statement: Statement,
    party_code: str,
    lines: Sequence[LineRow],
) -> None:
    """Refuse to serve a statement of a posted run whose lines or header no longer
    give its stored hash, or whose total is not the sum of its lines.

    One statement's work (its lines are already loaded): pages and the API call it
    on every read. Raises :class:`StatementTampered`; statements of runs not posted
    pass (they may still change).
    """
    if run.status != "posted":
        return
    try:
        again = restate_statement(
            run, party_code, statement.currency, statement.partner_class, lines
        )
    except SettlementError as exc:
        raise StatementTampered(statement.id, str(exc)) from None
    if again != statement.hash:
        raise StatementTampered(statement.id, "its lines and header hash differently")
    total = sum(ln.amount_minor for ln in lines)
    if total != statement.total_minor:
        raise StatementTampered(
            statement.id, f"its total {statement.total_minor} is not the sum of its lines {total}"
        )


def run_statements(
    s: Session, run: SettlementRun
) -> list[tuple[Statement, str | None, list[LineRow]]]:
    """Every statement of ``run`` in id order with its party's code (None when the
    party is gone) and its stored lines in position order."""
    ln = StatementLine
    lines: dict[int, list[LineRow]] = defaultdict(list)
    for row in s.execute(
        select(ln.statement_id, ln.position, ln.rule, ln.category, ln.basis, ln.rate,
               ln.amount_minor, ln.ref, ln.quantity)
        .join(Statement, Statement.id == ln.statement_id)
        .where(Statement.run_id == run.id)
        .order_by(ln.statement_id, ln.position)
    ):  # fmt: skip
        lines[int(row[0])].append(LineRow(*row[1:]))
    return [
        (st, code, lines.get(st.id, []))
        for st, code in s.execute(
            select(Statement, Party.code)
            .outerjoin(Party, Party.id == Statement.party_id)
            .where(Statement.run_id == run.id)
            .order_by(Statement.id)
        ).all()
    ]


def check_posted_run(s: Session, run: SettlementRun) -> None:
    """:func:`check_posted_statement` for every statement of ``run``, for what reads a
    whole posted run (its journal, its payment plan and file): raises
    :class:`StatementTampered` naming the first statement that no longer matches its
    hash, so no tampered amount is booked or paid."""
    if run.status != "posted":
        return
    for st, code, lines in run_statements(s, run):
        if code is None:
            raise StatementTampered(st.id, f"its party {st.party_id} does not exist")
        check_posted_statement(run, st, code, lines)


def _statement_leaves(s: Session, run_id: int) -> list[tuple[Any, ...]]:
    st = Statement
    rows = s.execute(
        select(st.id, st.party_id, st.currency, st.partner_class, st.region, st.total_minor,
               st.deposit_after_minor, st.opening_balance_minor, st.fx_note, st.hash)
        .where(st.run_id == run_id)
        .order_by(st.id)
    ).all()  # fmt: skip
    return [tuple(r) for r in rows]


def _charge_leaves(s: Session, run_id: int) -> list[tuple[Any, ...]]:
    c = IncidentCharge
    rows = s.execute(
        select(c.id, c.party_id, c.unit_id, c.period, c.fine_minor, c.forfeit_minor,
               c.currency, c.clawed, c.base_fine)
        .where(c.run_id == run_id)
        .order_by(c.id)
    ).all()  # fmt: skip
    return [(*r[:7], bool(r[7]), r[8]) for r in rows]


def _adjustment_leaves(s: Session, run_id: int) -> list[tuple[Any, ...]]:
    a = Adjustment
    rows = s.execute(
        select(a.id, a.party_id, a.amount_minor, a.currency, a.reason, a.status, a.created_by,
               a.created_by_id, a.created_ms, a.approved_by, a.approved_by_id, a.approved_ms)
        .where(a.applied_run_id == run_id)
        .order_by(a.id)
    ).all()  # fmt: skip
    return [tuple(r) for r in rows]


def run_seal_body(s: Session, run: SettlementRun, name: str) -> list[str]:
    """The lines a posted run's seal signs, built from the database as it is now.

    ``{name}/settlement-run``, then ``run``, ``period``, ``kind``, ``checkpoint``
    (tree size and root), ``programs``, ``reporting-currency``, ``run-hash``,
    ``created``/``approved``/``posted`` (user id, ms, name as JSON), and
    ``statements``/``incident-charges``/``adjustments`` (count and hex Merkle root
    of their rows in id order).
    """

    def who(user_id: int | None, at_ms: int | None, username: str | None) -> str:
        return f"{user_id if user_id is not None else '-'} {at_ms or 0} {json.dumps(username)}"

    n_st, st_root = _root(_statement_leaves(s, run.id))
    n_ch, ch_root = _root(_charge_leaves(s, run.id))
    n_adj, adj_root = _root(_adjustment_leaves(s, run.id))
    return [
        f"{name}/settlement-run",
        f"run {run.id}",
        f"period {run.period}",
        f"kind {run.kind}",
        f"checkpoint {run.tree_size} {run.root_hex}",
        f"programs {run.program_versions_json}",
        f"reporting-currency {run.reporting_currency}",
        f"run-hash {run.run_hash}",
        f"created {who(run.created_by_id, run.created_ms, run.created_by)}",
        f"approved {who(run.approved_by_id, run.approved_ms, run.approved_by)}",
        f"posted {who(run.posted_by_id, run.posted_ms, run.posted_by)}",
        f"statements {n_st} {st_root}",
        f"incident-charges {n_ch} {ch_root}",
        f"adjustments {n_adj} {adj_root}",
    ]


def seal_run(s: Session, run: SettlementRun, signer: NoteSigner) -> Seal:
    """Sign and store the seal of ``run`` (posted, flushed) in ``s``'s transaction."""
    seal = Seal(
        kind=RUN_SEAL,
        subject=run.id,
        note=_sign(signer, run_seal_body(s, run, signer.name)),
        created_ms=now_ms(),
    )
    s.add(seal)
    s.flush()
    return seal


# ------------------------------------------------------------------ alerts


def evidence_hash(
    natural_key: str,
    party_id: int | None,
    territory_code: str,
    period: str,
    finding_type: str,
    findings: Iterable[tuple[int, int, int, bytes]],
) -> str:
    """Hex SHA-256 over an alert's identity and evidence.

    The first line is the canonical JSON ``[natural_key, party_id, territory_code,
    period, finding_type]``; then one line ``seq unit_id at_ms leaf_hash_hex`` per
    finding, in ascending ``seq`` (``findings`` must come in that order), where the
    leaf hash is the RFC 9162 leaf hash of the ledger entry the finding cites.
    """
    text = "".join(
        f"{seq} {unit_id} {at_ms} {leaf.hex()}\n" for seq, unit_id, at_ms, leaf in findings
    )
    return hashlib.sha256(
        _canonical([natural_key, party_id, territory_code, period, finding_type])
        + b"\n"
        + text.encode()
    ).hexdigest()


def alerts_seal_body(
    s: Session, name: str, tree_size: int, last_id: int | None = None
) -> list[str]:
    """The lines an alerts seal signs: ``{name}/alerts``, ``tree-size T`` and
    ``alerts COUNT LAST_ID ROOT``, a hex Merkle root over ``[id, evidence_hash]`` of
    every alert up to ``last_id`` (default: all), in id order."""
    q = select(Alert.id, Alert.evidence_hash).order_by(Alert.id)
    if last_id is not None:
        q = q.where(Alert.id <= last_id)
    rows = [(int(i), str(h)) for i, h in s.execute(q).all()]
    top = last_id if last_id is not None else (rows[-1][0] if rows else 0)
    n, root = _root(rows)
    return [f"{name}/alerts", f"tree-size {tree_size}", f"alerts {n} {top} {root}"]


def seal_alerts(s: Session, signer: NoteSigner, tree_size: int) -> Seal:
    """Sign and store the alerts seal for detection at ``tree_size`` in ``s``'s
    transaction (replacing an earlier seal at the same size): the newest seal is
    the one verification compares every alert with."""
    s.flush()
    s.execute(delete(Seal).where(Seal.kind == ALERTS_SEAL, Seal.subject == tree_size))
    seal = Seal(
        kind=ALERTS_SEAL,
        subject=tree_size,
        note=_sign(signer, alerts_seal_body(s, signer.name, tree_size)),
        created_ms=now_ms(),
    )
    s.add(seal)
    s.flush()
    return seal


def latest_alerts_seal(s: Session) -> Seal | None:
    """The alerts seal written last (the highest id)."""
    top = s.scalar(select(func.max(Seal.id)).where(Seal.kind == ALERTS_SEAL))
    return None if top is None else s.get(Seal, top)
