"""Worlds built once per test session and copied into each test that asks for one.

A *world* is what a list of ``hopchain`` commands (``init``, ``demo ...``,
``detect``) leaves behind: the rows of the test's database, the files of its
instance folder (the ledger's signing key, the demo's credentials) and what each
command printed. Building the demo world takes 5-10 s on the 2-core machine (more
on PostgreSQL, more under load); copying it takes a fraction of a second. So the
first test of a pytest session that asks for a given world on a given engine
builds it through the real commands and saves it; every later test, on any xdist
worker, gets a copy of it in its own database and instance folder. No test ever
shares a database with another: each gets its own copy.

The store sits in a folder every xdist worker of one session shares (the parent of
the worker's ``basetemp``); a lock file per world (``fcntl.flock``, released by the
kernel if the building worker dies) makes the others wait for the one building it.

Copies:

- SQLite: the whole database file, through SQLite's backup API (page by page, under
  its locks, so connections already open on the test's database read the copy).
- PostgreSQL: every table's rows in PostgreSQL's binary ``COPY`` format (a
  partitioned table through its parent: ``COPY (SELECT * FROM parent)`` out, and
  ``COPY parent FROM STDIN`` routes them back into partitions; PostgreSQL
  documentation, "COPY") and every sequence's last value. They are loaded with
  ``session_replication_role = replica`` (as ``pg_restore --disable-triggers``
  does): neither foreign keys nor triggers fire, so tables can be loaded in any order
  and rows that triggers keep in step are copied as they were, not made twice.
  That needs a superuser (the test server's ``postgres``); without one the world is
  built again for each test instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

__all__ = [
    "DEMO_2026_09",
    "DEMO_TWO_MONTHS",
    "SMALL_DEMO_2026_08_TWO_MONTHS",
    "SMALL_DEMO_2026_09",
    "SMALL_DEMO_2026_09_DETECTED",
    "Ran",
    "WorldStore",
    "load_sqlite",
    "save_sqlite",
    "sqlite_backup",
]

#: The demo network several test packages read (settlement pages, e-mails, statements):
#: 200 units, 4 distributors, September 2026, then detection.
DEMO_2026_09: tuple[tuple[str, ...], ...] = (
    ("init",),
    ("demo", "--units", "200", "--distributors", "4", "--months", "1", "--start", "2026-09"),
    ("detect",),
)
#: The demo of two months before today (160 units, 4 distributors, seed 3), not detected.
DEMO_TWO_MONTHS: tuple[tuple[str, ...], ...] = (
    ("init",),
    ("demo", "--units", "160", "--distributors", "4", "--months", "2", "--seed", "3"),
)
#: 60 units, 3 distributors, August and September 2026, seed 4, not detected: the
#: demo's partner pipeline and agreements (tests/partners/test_exits_demo.py,
#: tests/test_demo_agreements.py).
SMALL_DEMO_2026_08_TWO_MONTHS: tuple[tuple[str, ...], ...] = (
    ("init",),
    ("demo", "--units", "60", "--distributors", "3", "--months", "2", "--start", "2026-08",
     "--seed", "4"),
)  # fmt: skip
#: A smaller one (60 units, 3 distributors, September 2026), not detected.
SMALL_DEMO_2026_09: tuple[tuple[str, ...], ...] = (
    ("init",),
    ("demo", "--units", "60", "--distributors", "3", "--months", "1", "--start", "2026-09"),
)
#: The same, then detection: the Chinese pages' crawl and their detail pages
#: (tests/web/test_i18n_pages.py).
SMALL_DEMO_2026_09_DETECTED: tuple[tuple[str, ...], ...] = (*SMALL_DEMO_2026_09, ("detect",))


@dataclass(frozen=True)
class Ran:
    """What one command printed and its exit status, as ``click.testing.Result`` has them."""

    exit_code: int
    output: str


def sqlite_backup(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    """Copy a whole SQLite database page by page (the backup API, which takes the
    locks, so connections already open on ``target`` read the new content)."""
    source.backup(target)


def save_sqlite(engine: Engine, path: Path) -> None:
    """Copy the SQLite database of ``engine`` into the file ``path``."""
    raw = engine.raw_connection()
    try:
        with closing(sqlite3.connect(path)) as copy:
            sqlite_backup(raw.driver_connection, copy)  # type: ignore[arg-type]
    finally:
        raw.close()


def load_sqlite(engine: Engine, path: Path) -> None:
    """Replace the SQLite database of ``engine`` by the one in the file ``path``."""
    raw = engine.raw_connection()
    try:
        with closing(sqlite3.connect(path)) as source:
            sqlite_backup(source, raw.driver_connection)  # type: ignore[arg-type]
    finally:
        raw.close()


# Tables holding rows in this schema: plain tables and partitioned parents, not
# their partitions (their rows come through the parent).
_PG_TABLES = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
      AND NOT c.relispartition AND c.relname <> 'alembic_version'
    ORDER BY c.relname
"""
# Columns a row is written with (generated columns are computed again on the way in).
_PG_COLUMNS = """
    SELECT a.attname FROM pg_attribute a
    WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attgenerated = ''
    ORDER BY a.attnum
"""
_PG_SEQUENCES = """
    SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()
    ORDER BY sequencename
"""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_is_superuser(cur: Any) -> bool:
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cur.fetchone()
    return bool(row and row[0])


def save_postgresql(engine: Engine, folder: Path) -> bool:
    """Write every table's rows (binary ``COPY``) and every sequence's last value of
    the PostgreSQL database of ``engine`` into ``folder``. False, writing nothing,
    when the user is no superuser (:func:`load_postgresql` could not load them)."""
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:  # type: ignore[union-attr]
            if not _pg_is_superuser(cur):
                return False
            cur.execute(_PG_TABLES)
            tables = [str(r[0]) for r in cur.fetchall()]
            cur.execute(_PG_SEQUENCES)
            sequences = {str(name): value for name, value in cur.fetchall()}
            columns: dict[str, str] = {}
            for i, table in enumerate(tables):
                cur.execute(_PG_COLUMNS, (_quote(table),))
                columns[table] = ", ".join(_quote(str(r[0])) for r in cur.fetchall())
                sql = (
                    f"COPY (SELECT {columns[table]} FROM {_quote(table)}) TO STDOUT (FORMAT binary)"
                )
                with (folder / f"{i}.copy").open("wb") as out, cur.copy(sql) as copy:
                    for chunk in copy:
                        out.write(chunk)
        conn.commit()  # type: ignore[union-attr]
    finally:
        raw.close()
    (folder / "tables.json").write_text(
        json.dumps({"tables": tables, "columns": columns, "sequences": sequences})
    )
    return True


def load_postgresql(engine: Engine, folder: Path) -> None:
    """Replace the rows of the PostgreSQL database of ``engine`` by those
    :func:`save_postgresql` wrote into ``folder``, in one transaction, and set its
    sequences where they were."""
    saved = json.loads((folder / "tables.json").read_text())
    tables: list[str] = saved["tables"]
    columns: dict[str, str] = saved["columns"]
    sequences: dict[str, int | None] = saved["sequences"]
    raw = engine.raw_connection()
    conn = raw.driver_connection
    try:
        with conn.cursor() as cur:  # type: ignore[union-attr]
            cur.execute("SET LOCAL session_replication_role = replica")
            for table in tables:  # rows a fixture made before the world came
                cur.execute(f"DELETE FROM {_quote(table)}")
            for i, table in enumerate(tables):
                sql = f"COPY {_quote(table)} ({columns[table]}) FROM STDIN (FORMAT binary)"
                with cur.copy(sql) as copy:
                    copy.write((folder / f"{i}.copy").read_bytes())
            for name, value in sequences.items():
                if value is None:  # never used: as a fresh sequence
                    cur.execute("SELECT setval(%s, 1, false)", (_quote(name),))
                else:
                    cur.execute("SELECT setval(%s, %s, true)", (_quote(name), value))
        conn.commit()  # type: ignore[union-attr]
    except BaseException:
        conn.rollback()  # type: ignore[union-attr]
        raise
    finally:
        raw.close()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class WorldStore:
    """The worlds of one pytest session, kept under ``root`` (shared by its xdist workers).

    :meth:`world` gives a test the world that ``commands`` make on its engine:
    built by ``run`` (the test's ``run_cli``) the first time, copied afterwards.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def world(
        self,
        engine: Engine,
        instance: Path,
        commands: Sequence[Sequence[str]],
        run: Callable[..., Any],
    ) -> list[Ran]:
        """The test's database (``engine``) and ``instance`` folder as ``commands``
        leave them, and what each printed (paths of the instance folder it was built
        in written as ``instance``).

        Raises ValueError when ``commands`` is empty or holds an empty command.
        """
        if not commands or not all(commands):
            raise ValueError(f"a world needs at least one non-empty command, got {commands!r}")
        dialect = engine.dialect.name
        spec = [dialect, [list(c) for c in commands]]
        key = hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]
        folder = self.root / key
        if (folder / "uncopyable").is_file():
            return [Ran(r.exit_code, r.output) for r in (run(*c) for c in commands)]
        with _locked(self.root / f"{key}.lock"):
            if (folder / "done.json").is_file():
                return self._load(engine, instance, folder)
            ran = [run(*c) for c in commands]
            recorded = [Ran(r.exit_code, r.output) for r in ran]
            self._save(engine, instance, folder, recorded)
            return recorded

    def _save(self, engine: Engine, instance: Path, folder: Path, ran: list[Ran]) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        if engine.dialect.name == "sqlite":
            save_sqlite(engine, folder / "hopchain.db")
        elif engine.dialect.name != "postgresql" or not save_postgresql(engine, folder):
            (folder / "uncopyable").touch()  # no way to copy it: built by each test
            return
        if instance.is_dir():
            shutil.copytree(instance, folder / "instance")
        done = {"instance": str(instance), "ran": [[r.exit_code, r.output] for r in ran]}
        (folder / "done.json").write_text(json.dumps(done))

    def _load(self, engine: Engine, instance: Path, folder: Path) -> list[Ran]:
        done = json.loads((folder / "done.json").read_text())
        if engine.dialect.name == "sqlite":
            load_sqlite(engine, folder / "hopchain.db")
        else:
            load_postgresql(engine, folder)
        if (folder / "instance").is_dir():
            shutil.copytree(folder / "instance", instance, dirs_exist_ok=True)
        built_in = str(done["instance"])
        return [Ran(code, out.replace(built_in, str(instance))) for code, out in done["ran"]]


def session_root(basetemp: Path) -> Path:
    """The folder every xdist worker of this session shares: the parent of the
    worker's ``basetemp`` under xdist, the ``basetemp`` itself otherwise (its parent
    then holds other sessions' folders)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return basetemp.parent / "worlds"
    return basetemp / "worlds"
