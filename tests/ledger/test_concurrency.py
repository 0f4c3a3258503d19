"""Many writers at once never fork a chain or the log; a killed writer leaves nothing."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ledger import EntryKind, Hop, LedgerSigner, make_checkpoint, unit_history, verify_ledger
from tests.ledger.conftest import Network, item

ROOT = Path(__file__).resolve().parents[2]
WORKERS, BATCHES, SIZE, UNITS = 8, 6, 40, 25


def _spawn(url: str, *args: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ledger._appender", url, *map(str, args)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )


def test_eight_processes_appending_to_the_same_units(
    network: Network, db_url: str, signer: LedgerSigner
) -> None:
    procs = [_spawn(db_url, w, BATCHES, SIZE, UNITS) for w in range(WORKERS)]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err.decode()[-2000:]
    total = WORKERS * BATCHES * SIZE
    assert network.count() == total
    make_checkpoint(network.engine, signer)
    report = verify_ledger(network.engine, signer.name, signer.public_key)
    assert report.entries == total
    # every unit's chain is one line: each entry links to the one before it
    with network.engine.connect() as conn:
        for u in range(UNITS):
            history = unit_history(conn, item(u))
            assert history[0].prev_hash == b""
            for before, after in itertools.pairwise(history):
                assert after.prev_hash == before.leaf_hash


def test_a_writer_killed_mid_batch_leaves_the_batch_out(
    network: Network, db_url: str, signer: LedgerSigner, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    # the child stops after writing its entry rows, before committing (see _appender)
    proc = _spawn(db_url, 0, 1, 2_000, 2_000, ready)
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "the appender never reached its commit"
        time.sleep(0.05)
    assert "2000 entry rows written" in ready.read_text()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert network.count() == 0
    assert network.count("units") == 0
    # the ledger is still usable and verifiable after the crash
    network.one(Hop(item("after"), EntryKind.COMMISSIONING, "MFR", network.at()))
    make_checkpoint(network.engine, signer)
    assert verify_ledger(network.engine, signer.name, signer.public_key).entries == 1
