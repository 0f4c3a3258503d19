"""The hash-chained serial-number ledger: every hop of every unit, verifiable by anyone.

Public entry points: :func:`append_hops` writes, :func:`verify_ledger` checks,
:func:`inclusion_proof` / :func:`consistency_proof` prove, :func:`make_checkpoint`
signs, and :mod:`ledger.queries` answers "where is this unit and what is in it".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from ledger.append import append_hops
    from ledger.checkpoint import (
        CheckpointGap,
        CheckpointLockTimeout,
        SignedCheckpoint,
        checkpoint_gap,
        make_checkpoint,
        maybe_checkpoint,
        parse_checkpoint,
    )
    from ledger.custody import UnitState
    from ledger.hops import Hop, HopResult
    from ledger.ids import EntryKind, InvalidIdentifierError, UnitId, parse_key, sscc_key, unit_key
    from ledger.keys import CheckpointError, LedgerSigner, ensure_signing_key, verifier_key
    from ledger.merkle import ProofError, verify_consistency, verify_inclusion
    from ledger.proofs import InclusionProof, consistency_proof, inclusion_proof, root_at
    from ledger.queries import (
        UnitNotFoundError,
        UnitStatus,
        canonical_entries,
        contents,
        recent_entries,
        unit_history,
        unit_status,
    )
    from ledger.times import format_day, format_ms
    from ledger.verify import (
        CheckContext,
        ExtraCheck,
        LedgerIntegrityError,
        Problem,
        VerifyReport,
        verify_ledger,
    )

__all__ = [
    "CheckContext",
    "CheckpointError",
    "CheckpointGap",
    "CheckpointLockTimeout",
    "EntryKind",
    "ExtraCheck",
    "Hop",
    "HopResult",
    "InclusionProof",
    "InvalidIdentifierError",
    "LedgerIntegrityError",
    "LedgerSigner",
    "Problem",
    "ProofError",
    "SignedCheckpoint",
    "UnitId",
    "UnitNotFoundError",
    "UnitState",
    "UnitStatus",
    "VerifyReport",
    "append_hops",
    "canonical_entries",
    "checkpoint_gap",
    "consistency_proof",
    "contents",
    "ensure_signing_key",
    "format_day",
    "format_ms",
    "inclusion_proof",
    "make_checkpoint",
    "maybe_checkpoint",
    "parse_checkpoint",
    "parse_key",
    "recent_entries",
    "root_at",
    "sscc_key",
    "unit_history",
    "unit_key",
    "unit_status",
    "verifier_key",
    "verify_consistency",
    "verify_inclusion",
    "verify_ledger",
]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, __file__)
