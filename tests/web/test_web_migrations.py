"""The Alembic migrations build exactly the tables the models declare.

When this fails after you added or changed a table: run
``hopchain db revision -m "what changed"``, read the file it writes under
``web/migrations/versions/`` and commit it with your models.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from typing import Any

from sqlalchemy import Engine, inspect

from ledger.models import Base
from web.db import MODEL_MODULES, heads, init_database, schema_diff


def _describe(change: Any) -> str:
    """One short line per difference: the operation and the table (and column) it touches."""
    if isinstance(change, list):  # column modifications come grouped
        return "; ".join(_describe(tuple(c)) for c in change)
    op, *rest = change
    names = []
    for item in rest:
        name = getattr(item, "name", None) or (item if isinstance(item, str) else None)
        if name:
            names.append(str(name))
    return f"{op} {' '.join(names)}"


def test_migrations_match_the_models(migrated_engine: Engine) -> None:
    diff = schema_diff(migrated_engine)
    assert not diff, (
        "the models and the migrations differ; run `hopchain db revision -m MSG`:\n  "
        + "\n  ".join(_describe(change) for change in diff)
    )


def test_one_migration_head(migrated_engine: Engine) -> None:
    assert len(heads()) == 1, "parallel migrations: run `hopchain db merge`"


def test_upgrading_twice_changes_nothing(migrated_engine: Engine) -> None:
    before = sorted(inspect(migrated_engine).get_table_names())
    init_database(migrated_engine)
    assert sorted(inspect(migrated_engine).get_table_names()) == before


def test_users_and_tokens_tables_are_created(migrated_engine: Engine) -> None:
    assert {"users", "api_tokens", "parties", "entries"} <= set(
        inspect(migrated_engine).get_table_names()
    )


def test_every_module_that_maps_tables_is_known_to_alembic() -> None:
    """A table declared in a module missing from MODEL_MODULES would never be migrated."""
    for package_name in ("ledger", "scanners", "settlement", "geo", "partners", "risk"):
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            importlib.import_module(info.name)
    known = {module for module, _attr in MODEL_MODULES}
    bases = [Base]
    with contextlib.suppress(ImportError):
        bases.append(importlib.import_module("geo.models").GeoBase)
    unknown = {
        f"{mapper.class_.__module__}.{mapper.class_.__name__}"
        for base in bases
        for mapper in base.registry.mappers
        if mapper.class_.__module__ not in known
    }
    assert not unknown, f"add these modules to web.db.MODEL_MODULES: {sorted(unknown)}"
