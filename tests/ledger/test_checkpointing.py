"""Checkpoints are signed on schedule, and the signing key stays private."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from flask import Flask

from ledger import EntryKind, Hop, ensure_signing_key, parse_checkpoint
from ledger.checkpoint import latest_checkpoint
from ledger.keys import KEY_FILE, LedgerSigner
from tests.ledger.conftest import Network, item
from web.checkpointer import start_checkpointer
from web.signing import checkpoint_now


def test_the_signing_key_is_created_once_and_readable_only_by_its_owner(tmp_path: Path) -> None:
    key = ensure_signing_key(tmp_path / "inst")
    assert key.name == KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = LedgerSigner.load(tmp_path / "inst").public_key
    ensure_signing_key(tmp_path / "inst")  # a second init never replaces the key
    assert LedgerSigner.load(tmp_path / "inst").public_key == first


def test_checkpoints_are_signed_every_n_entries(app: Flask, network: Network) -> None:
    ensure_signing_key(Path(app.instance_path))
    app.config.update(CHECKPOINT_EVERY_ENTRIES=5, CHECKPOINT_EVERY_SECONDS=3600)

    def add(start: int, stop: int) -> int | None:
        network.append(
            *(
                Hop(item(i), EntryKind.COMMISSIONING, "MFR", network.at())
                for i in range(start, stop)
            )
        )
        with app.app_context():
            made = checkpoint_now()
        return None if made is None else made.tree_size

    assert add(0, 3) == 3  # the first entries are signed at once
    assert add(3, 5) is None  # 2 new entries < 5: not yet
    assert add(5, 9) == 9  # 6 new entries
    signer = LedgerSigner.load(Path(app.instance_path))
    note = latest_checkpoint(network.engine)[1]  # type: ignore[index]
    assert parse_checkpoint(note, signer.name, signer.public_key).tree_size == 9


def test_a_serving_process_signs_in_the_background(app: Flask, network: Network) -> None:
    ensure_signing_key(Path(app.instance_path))
    app.config.update(CHECKPOINT_EVERY_ENTRIES=5, CHECKPOINT_EVERY_SECONDS=3600)
    network.append(*(Hop(item(i), EntryKind.COMMISSIONING, "MFR", network.at()) for i in range(7)))
    stop = start_checkpointer(app, poll_seconds=0.05)
    try:
        deadline = time.monotonic() + 30
        while (latest_checkpoint(network.engine) or (0,))[0] != 7:
            assert time.monotonic() < deadline, "the background loop signed nothing in 30 s"
            time.sleep(0.05)
    finally:
        stop.set()
