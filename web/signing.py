"""The ledger signer of the running app, loaded once from the instance folder."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from ledger import LedgerSigner, SignedCheckpoint, maybe_checkpoint
from web.db import get_engine

__all__ = ["checkpoint_now", "get_signer"]

_KEY = "hopchain.signer"


def get_signer() -> LedgerSigner:
    signer = current_app.extensions.get(_KEY)
    if signer is None:
        signer = LedgerSigner.load(Path(current_app.instance_path))
        current_app.extensions[_KEY] = signer
    assert isinstance(signer, LedgerSigner)
    return signer


def checkpoint_now() -> SignedCheckpoint | None:
    """Sign a new checkpoint when the configured number of entries or seconds has
    passed (``CHECKPOINT_EVERY_ENTRIES``, ``CHECKPOINT_EVERY_SECONDS``)."""
    return maybe_checkpoint(
        get_engine(),
        get_signer(),
        every_entries=int(current_app.config.get("CHECKPOINT_EVERY_ENTRIES", 1000)),
        every_seconds=float(current_app.config.get("CHECKPOINT_EVERY_SECONDS", 60)),
    )
