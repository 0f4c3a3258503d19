"""Signs checkpoints in the background of a serving process.

Appends sign nothing themselves (the sequencer should hold its lock as briefly as
possible), so a serving process runs this loop: every few seconds it signs a new
checkpoint when ``CHECKPOINT_EVERY_ENTRIES`` entries or ``CHECKPOINT_EVERY_SECONDS``
seconds have passed since the last one. Several processes may run it; the worst
case is two checkpoints of the same size, which verify alike.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from web.signing import checkpoint_now

__all__ = ["start_checkpointer"]

log = logging.getLogger(__name__)


def start_checkpointer(app: Flask, poll_seconds: float = 5.0) -> threading.Event:
    """Start the loop in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(poll_seconds):
            try:
                with app.app_context():
                    made = checkpoint_now()
                if made is not None:
                    log.info("signed checkpoint at tree size %d", made.tree_size)
            except Exception:  # keep signing later; one failure must not stop the loop
                log.exception("could not sign a checkpoint")

    threading.Thread(target=loop, name="hopchain-checkpointer", daemon=True).start()
    return stop
