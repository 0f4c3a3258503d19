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


def test_the_signing_key_is_created_once_and_readable_only_by_its_owner(tmp_path: Path) -> None:
    key = ensure_signing_key(tmp_path / "inst")
    assert key.name == KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = LedgerSigner.load(tmp_path / "inst").public_key
    ensure_signing_key(tmp_path / "inst")  # a second init never replaces the key
    assert LedgerSigner.load(tmp_path / "inst").public_key == first


def test_a_serving_process_signs_checkpoints_as_entries_arrive(
    app: Flask, network: Network
) -> None:
    ensure_signing_key(Path(app.instance_path))
    app.config.update(CHECKPOINT_EVERY_ENTRIES=5, CHECKPOINT_EVERY_SECONDS=3600)
    stop = start_checkpointer(app, poll_seconds=0.05)
    try:
        network.append(
            *(Hop(item(i), EntryKind.COMMISSIONING, "MFR", network.at()) for i in range(3))
        )
        time.sleep(0.5)
        first = latest_checkpoint(network.engine)
        assert first is not None and first[0] == 3  # the first entries are signed at once
        network.append(
            *(Hop(item(i), EntryKind.COMMISSIONING, "MFR", network.at()) for i in range(3, 5))
        )
        time.sleep(0.5)
        assert latest_checkpoint(network.engine)[0] == 3  # type: ignore[index]  # 2 < 5 entries
        network.append(
            *(Hop(item(i), EntryKind.COMMISSIONING, "MFR", network.at()) for i in range(5, 9))
        )
        deadline = time.monotonic() + 10
        while latest_checkpoint(network.engine)[0] != 9:  # type: ignore[index]
            assert time.monotonic() < deadline, "no checkpoint after 6 more entries"
            time.sleep(0.05)
    finally:
        stop.set()
    signer = LedgerSigner.load(Path(app.instance_path))
    note = latest_checkpoint(network.engine)[1]  # type: ignore[index]
    assert parse_checkpoint(note, signer.name, signer.public_key).tree_size == 9
