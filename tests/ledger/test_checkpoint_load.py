"""Checkpoints keep up under write load (issue 9, item 12).

Signing takes the appenders' writer lock up front and retries a lock not granted
in time, so it queues with the appenders instead of failing with "database is
locked"; the background loop logs a failed round and keeps going; the ledger page
and the health endpoint show how far the newest checkpoint trails the head.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

import web.api.ledger
import web.checkpointer
import web.signing
from ledger import EntryKind, Hop, LedgerSigner, SignedCheckpoint, append_hops, ensure_signing_key
from ledger.append import lock_ledger
from ledger.checkpoint import CheckpointLockTimeout, checkpoint_gap, make_checkpoint
from ledger.database import is_sqlite, make_engine, write_transaction
from tests.ledger.conftest import Network, item
from web.checkpointer import sign_round, start_checkpointer

WRITERS, BATCH = 6, 8
SIGNED_DURING_LOAD = 5  # checkpoints that must be signed while the writers append
MAX_BATCHES = 400  # per writer: the bound if signing never succeeds

Login = Callable[..., FlaskClient]


def _failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "web.checkpointer" and r.levelno >= logging.WARNING
    ]


def _checkpoints(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(s) for (s,) in conn.exec_driver_sql("SELECT tree_size FROM checkpoints")]


def test_the_checkpointer_keeps_signing_while_writers_append(
    app: Flask,
    network: Network,
    login_as: Login,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    ensure_signing_key(Path(app.instance_path))
    app.config.update(CHECKPOINT_EVERY_ENTRIES=1, CHECKPOINT_EVERY_SECONDS=3600)
    engine = network.engine
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for b in range(MAX_BATCHES):
                if b >= 3 and len(_checkpoints(engine)) >= SIGNED_DURING_LOAD:
                    return
                hops = [
                    Hop(item(f"{w}-{b}-{i}"), EntryKind.COMMISSIONING, "MFR", network.at())
                    for i in range(BATCH)
                ]
                append_hops(engine, hops)
        except BaseException as exc:  # reported below, with the writer's number
            errors.append(exc)

    stop = start_checkpointer(app, poll_seconds=0.005)
    try:
        writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
        for t in writers:
            t.start()
        for t in writers:
            t.join()
    finally:
        stop.set()
    assert not errors, f"a writer failed: {errors[0]!r}"
    assert not _failures(caplog), f"a signing round failed under load: {_failures(caplog)[:3]}"
    signed = _checkpoints(engine)
    assert len(signed) >= SIGNED_DURING_LOAD, (
        f"only {len(signed)} checkpoints signed while {WRITERS} writers appended"
    )
    total = network.count()

    # after the writers stop, the next round covers every entry
    assert sign_round(app)
    assert max(_checkpoints(engine)) == total
    gap = checkpoint_gap(engine)
    assert (gap.tree_size, gap.checkpoint_size, gap.unsigned_entries) == (total, total, 0)

    auditor = login_as("auditor")
    page = auditor.get("/ledger/").get_data(as_text=True)
    assert "none: every entry is covered by the latest checkpoint" in page

    network.append(
        *(Hop(item(f"late-{i}"), EntryKind.COMMISSIONING, "MFR", network.at()) for i in range(3))
    )
    page = auditor.get("/ledger/").get_data(as_text=True)
    shown = re.search(r'id="checkpoint-gap">(.*?)</dd>', page, re.S)
    assert shown and "3 entries not yet covered by a checkpoint" in shown.group(1)
    health = auditor.get("/api/v1/health").get_json()
    assert health["ledger"]["unsigned_entries"] == 3
    assert health["ledger"]["checkpoint_size"] == total
    assert health["ledger"]["checkpoint_age_seconds"] >= 0


@contextmanager
def _lock_held(engine: Engine, release: threading.Event) -> Iterator[threading.Thread]:
    """Another writer holds the ledger's writer lock until ``release`` is set."""
    taken = threading.Event()

    def hold() -> None:
        with write_transaction(engine) as conn:
            lock_ledger(conn)
            taken.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(60), "the holder never got the lock"
    try:
        yield holder
    finally:
        release.set()
        holder.join()


def _impatient(db_url: str) -> tuple[Engine, dict[str, Any]]:
    """An engine whose attempts give up waiting for the lock after 50 ms."""
    engine = make_engine(db_url)
    if is_sqlite(engine):

        @event.listens_for(engine, "connect")
        def _short_wait(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout=50")

        return engine, {}
    return engine, {"lock_wait_s": 0.05}


class _ReleaseOnRetry(logging.Handler):
    """Lets the holder go (and waits until it has) when signing logs its first retry."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.let_go = release
        self.holder: threading.Thread | None = None
        self.retries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.retries.append(record.getMessage())
        self.let_go.set()
        if self.holder is not None:
            self.holder.join()


def test_signing_retries_while_another_writer_holds_the_lock(
    network: Network, db_url: str, signer: LedgerSigner
) -> None:
    network.append(*(Hop(item(i), EntryKind.COMMISSIONING, "MFR", network.at()) for i in range(4)))
    engine, wait = _impatient(db_url)
    release = threading.Event()
    handler = _ReleaseOnRetry(release)
    logger = logging.getLogger("ledger.checkpoint")
    logger.addHandler(handler)
    try:
        with _lock_held(network.engine, release) as holder:
            handler.holder = holder
            made = make_checkpoint(engine, signer, attempts=4, first_delay_s=0.001, **wait)
    finally:
        logger.removeHandler(handler)
        engine.dispose()
    assert made.tree_size == 4
    assert handler.retries and "attempt 1 of 4 failed" in handler.retries[0]


def test_signing_gives_up_after_its_attempts_naming_them(
    network: Network, db_url: str, signer: LedgerSigner
) -> None:
    network.append(Hop(item(0), EntryKind.COMMISSIONING, "MFR", network.at()))
    engine, wait = _impatient(db_url)
    try:
        with (
            _lock_held(network.engine, threading.Event()),
            pytest.raises(CheckpointLockTimeout) as caught,
        ):
            make_checkpoint(engine, signer, attempts=2, first_delay_s=0.001, **wait)
    finally:
        engine.dispose()
    assert caught.value.attempts == 2
    assert "could not take the ledger's writer lock to sign a checkpoint: 2 attempts" in str(
        caught.value
    )
    assert _checkpoints(network.engine) == []


def test_the_background_loop_survives_failed_rounds(
    app: Flask, network: Network, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ensure_signing_key(Path(app.instance_path))
    app.config.update(CHECKPOINT_EVERY_ENTRIES=1, CHECKPOINT_EVERY_SECONDS=3600)
    network.append(*(Hop(item(i), EntryKind.COMMISSIONING, "MFR", network.at()) for i in range(3)))
    real = web.signing.checkpoint_now
    failures: list[BaseException] = [
        CheckpointLockTimeout(6, 12.5, "another writer held the SQLite database"),
        RuntimeError("the disk is full"),
    ]
    signed = threading.Event()

    def flaky() -> SignedCheckpoint | None:
        if failures:
            raise failures.pop(0)
        made = real()
        signed.set()
        return made

    monkeypatch.setattr(web.checkpointer, "checkpoint_now", flaky)
    stop = start_checkpointer(app, poll_seconds=0.005)
    try:
        assert signed.wait(30), "the loop stopped after a failed round"
    finally:
        stop.set()
    assert _checkpoints(network.engine) == [3]
    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "web.checkpointer"]
    assert logged[0][0] == "WARNING" and "6 attempts over 12.5 s" in logged[0][1]
    assert logged[1][0] == "ERROR" and "trying again next round" in logged[1][1]


def test_the_public_checkpoint_answers_the_stored_one_while_signing_waits(
    app: Flask, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_signing_key(Path(app.instance_path))
    network.append(Hop(item(0), EntryKind.COMMISSIONING, "MFR", network.at()))
    client = app.test_client()
    first = client.get("/api/v1/ledger/checkpoint")
    assert first.status_code == 200
    network.append(Hop(item(1), EntryKind.COMMISSIONING, "MFR", network.at()))

    def busy() -> SignedCheckpoint | None:
        raise CheckpointLockTimeout(6, 61.0, "the SQLite database stayed locked by another writer")

    monkeypatch.setattr(web.api.ledger, "checkpoint_now", busy)
    again = client.get("/api/v1/ledger/checkpoint")
    assert again.status_code == 200
    assert again.get_data(as_text=True) == first.get_data(as_text=True)
