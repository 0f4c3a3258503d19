"""The auditor's view of the ledger: head, signed checkpoint and how far it trails
the head (entries not yet signed, age of the newest checkpoint), recent entries,
proofs, and an on-demand verification of everything."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from ledger import (
    LedgerIntegrityError,
    ProofError,
    inclusion_proof,
    recent_entries,
    verifier_key,
    verify_ledger,
)
from ledger.checkpoint import checkpoint_gap, latest_checkpoint
from ledger.tree import read_head
from web.db import get_engine
from web.errors import BadParameter, localized_message
from web.i18n import N_
from web.page_params import whole_number
from web.roles import Role
from web.security import require_roles
from web.signing import get_signer

__all__ = ["bp"]

bp = Blueprint("ledger_pages", __name__, url_prefix="/ledger")


@bp.route("/", methods=("GET", "POST"))
@require_roles(Role.AUDITOR, Role.ADMIN)
def index() -> ResponseReturnValue:
    signer = get_signer()
    anomalies_only = request.args.get("anomalies") == "1"
    verification: dict[str, object] | None = None
    if request.method == "POST":  # "verify now": the whole ledger, re-derived
        try:
            report = verify_ledger(get_engine(), signer.name, signer.public_key)
            verification = {"ok": True, "report": report}
        except LedgerIntegrityError as exc:
            verification = {"ok": False, "error": exc}
    proof = None
    proof_error = None
    status = 200
    seq_text = request.args.get("seq", "").strip()
    with get_engine().connect() as conn:
        head = read_head(conn)
        if seq_text:
            try:  # a seq of this tree, in words naming the field otherwise (400)
                seq = whole_number("seq", N_("Entry seq"), seq_text, 0, head.size - 1)
                proof = inclusion_proof(conn, seq, head.size)
            except BadParameter as exc:
                proof_error, status = localized_message(exc), 400
            except ProofError as exc:  # the stored tree disagrees with itself
                proof_error = str(exc)
        entries = recent_entries(conn, 50, anomalies_only=anomalies_only)
    latest = latest_checkpoint(get_engine())
    gap = checkpoint_gap(get_engine())
    return render_template(
        "ledger/index.html",
        head=head,
        signer=signer,
        verifier=verifier_key(signer.name, signer.public_key),
        checkpoint=latest,
        gap=gap,
        checkpoint_age=_age(gap.checkpoint_age_s),
        entries=entries,
        anomalies_only=anomalies_only,
        verification=verification,
        proof=proof,
        proof_error=proof_error,
        seq_text=seq_text,
    ), status


def _age(seconds: float | None) -> str:
    """A duration for people: ``42 s``, ``7 min``, ``3 h 5 min``, ``2 days``."""
    if seconds is None:
        return ""
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172_800:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86_400} days"
