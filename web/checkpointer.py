"""Signs checkpoints in the background of a serving process.

Appends sign nothing themselves (the sequencer should hold its lock as briefly as
possible), so a serving process runs this loop: every few seconds it signs a new
checkpoint when ``CHECKPOINT_EVERY_ENTRIES`` entries or ``CHECKPOINT_EVERY_SECONDS``
seconds have passed since the last one. Signing takes the appenders' writer lock
and retries a lock not granted in time (:func:`ledger.make_checkpoint`), so under
write load it queues with the appenders instead of failing. Several processes may
run the loop; under that lock the same size is never signed twice.

The loop never ends on an error: a failed round is logged (a lock timeout as a
warning in words, anything else with its traceback) and the next round tries
again. Whatever happens, the gap it leaves is on the ledger page and in
``GET /api/v1/health`` (:func:`ledger.checkpoint.checkpoint_gap`).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from ledger.checkpoint import CheckpointLockTimeout
from web.signing import checkpoint_now

__all__ = ["sign_round", "start_checkpointer"]

log = logging.getLogger(__name__)


def sign_round(app: Flask) -> bool:
    """One round of the loop: sign if due, log what happened; never raises.

    Returns False when the round failed (and was logged), True otherwise.
    """
    try:
        with app.app_context():
            made = checkpoint_now()
    except CheckpointLockTimeout as exc:
        log.warning("checkpoint not signed this round: %s; trying again next round", exc)
        return False
    except Exception:  # keep signing later; one failure must not stop the loop
        log.exception("could not sign a checkpoint; trying again next round")
        return False
    if made is not None:
        log.info("signed checkpoint at tree size %d", made.tree_size)
    return True


def start_checkpointer(app: Flask, poll_seconds: float = 5.0) -> threading.Event:
    """Start the loop in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(poll_seconds):
            sign_round(app)

    threading.Thread(target=loop, name="hopchain-checkpointer", daemon=True).start()
    return stop
