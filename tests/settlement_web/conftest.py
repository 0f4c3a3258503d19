"""A realistic data set for the settlement web tests: ``hopchain demo`` (200 units,
4 distributors, September 2026) written through the real code paths, then
``hopchain detect``, built once per session on SQLite and copied into each test's
database. Tests that only check roles use no data at all."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from _settlement_web import Demo
from click.testing import Result
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.in_force import parties_in_force
from settlement.common import period_bounds

#: The demo built once per test session (xdist worker) on SQLite: the database file
#: and the instance folder (the ledger's signing key) it was built with, and its Demo.
_BUILT: dict[str, tuple[Path, Path, Demo]] = {}


def _backup(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    """Copy a whole SQLite database page by page (the backup API, which takes the
    locks, so connections already open on ``target`` read the new content)."""
    source.backup(target)


def _build(engine: Engine, run_cli: Callable[..., Result]) -> Demo:
    assert run_cli("init").exit_code == 0
    made = run_cli(
        "demo", "--units", "200", "--distributors", "4", "--months", "1", "--start", "2026-09"
    )
    assert made.exit_code == 0, made.output
    detected = run_cli("detect")
    assert detected.exit_code == 0, detected.output
    with Session(engine) as s:
        # the network's distributors: under an agreement in 2026-09 (the demo's
        # recruitment pipeline also signs parties on trial today, after that month)
        in_force = parties_in_force(s, *period_bounds("2026-09"))
        rows = s.execute(
            select(Party.code, Party.id).where(Party.kind == "distributor", Party.id.in_(in_force))
        ).all()
    return Demo({str(c): int(i) for c, i in rows}, detected.output)


@pytest.fixture
def demo(
    engine: Engine,
    db_url: str,
    run_cli: Callable[..., Result],
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Demo:
    """The demo network of this test's database. On SQLite it is built once per
    session and copied into each test's database and instance folder afterwards
    (the same rows, ids and signing key: about 0.1 s instead of 8 s); on PostgreSQL
    it is built for each test."""
    if engine.dialect.name != "sqlite":
        return _build(engine, run_cli)
    instance = tmp_path / "instance"
    built = _BUILT.get("demo")
    if built is not None:
        db_file, instance_copy, made = built
        shutil.copytree(instance_copy, instance, dirs_exist_ok=True)
        with closing(sqlite3.connect(db_file)) as source:
            target = engine.raw_connection()
            try:
                _backup(source, target.driver_connection)  # type: ignore[arg-type]
            finally:
                target.close()
        return made
    made = _build(engine, run_cli)
    keep = tmp_path_factory.mktemp("demo-snapshot")
    target = engine.raw_connection()
    try:
        with closing(sqlite3.connect(keep / "hopchain.db")) as copy:
            _backup(target.driver_connection, copy)  # type: ignore[arg-type]
    finally:
        target.close()
    shutil.copytree(instance, keep / "instance")
    _BUILT["demo"] = (keep / "hopchain.db", keep / "instance", made)
    return made
