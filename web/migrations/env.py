"""Alembic environment: the models of every package, on the connection we are handed.

``web.db.init_database`` and ``hopchain db revision`` pass an open connection in
``config.attributes["connection"]``; the URL fallback serves the plain ``alembic``
command line (``sqlalchemy.url`` or ``HOPCHAIN_DATABASE_URL``).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from ledger.database import make_engine
from web.db import target_metadata

config = context.config
METADATA = target_metadata()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        compare_type=True,
        # `hopchain db revision --table/--module` narrows autogenerate to some tables.
        include_object=config.attributes.get("include_object"),
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or os.environ["HOPCHAIN_DATABASE_URL"],
        target_metadata=METADATA,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ["HOPCHAIN_DATABASE_URL"]
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
