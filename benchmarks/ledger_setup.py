"""Shared set-up for the ledger benchmarks: a fresh database with a tiny network."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop
from ledger.database import make_engine
from ledger.ids import gs1_check_digit, unit_key
from ledger.models import Base, Party, Site
from web.db import init_database

GTIN = "0950600013435" + str(gs1_check_digit("0950600013435"))
T0 = 1_790_000_000_000
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_url() -> str | None:
    """The PostgreSQL to benchmark on, or None when none answers."""
    url = os.environ.get("HOPCHAIN_TEST_PG_URL", DEFAULT_PG)
    try:
        probe = create_engine(url)
        with probe.connect():
            pass
        probe.dispose()
    except Exception:
        return None
    return url


@contextmanager
def fresh_database(kind: str, *, migrated: bool = False) -> Iterator[Engine]:
    """An empty schema on SQLite (temporary file) or PostgreSQL (temporary schema).

    Its tables are the models' (``create_all``: on PostgreSQL a plain ``entries``)
    unless ``migrated``: then every migration ran, as ``hopchain init`` does (on
    PostgreSQL ``entries`` partitioned by seq range, see docs/scaling.md).
    """
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            if migrated:
                init_database(engine)
            _populate(engine)
            yield engine
            engine.dispose()
        return
    base = pg_url()
    if base is None:
        raise RuntimeError("no PostgreSQL answers; set HOPCHAIN_TEST_PG_URL")
    schema = f"hc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        if migrated:
            init_database(engine)
        _populate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _populate(engine: Engine) -> None:
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        mfr = Party(code="MFR", name="Maker", kind="manufacturer")
        session.add(mfr)
        session.flush()
        session.add_all(
            [
                Party(code="D1", name="Dist 1", kind="distributor"),
                Site(
                    code="PLANT",
                    name="Plant",
                    party_id=mfr.id,
                    lat_e6=48_137_154,
                    lon_e6=11_576_124,
                ),
            ]
        )
        session.commit()


def commissioning(start: int, count: int, tag: str = "U") -> list[Hop]:
    return [
        Hop(unit_key(GTIN, f"{tag}{i}"), EntryKind.COMMISSIONING, "MFR", T0 + i, site="PLANT")
        for i in range(start, start + count)
    ]


def shipping(start: int, count: int, tag: str = "U") -> list[Hop]:
    return [
        Hop(
            unit_key(GTIN, f"{tag}{i}"),
            EntryKind.SHIPPING,
            "MFR",
            T0 + 10**7 + i,
            counterparty="D1",
        )
        for i in range(start, start + count)
    ]


ENTRY_COLUMNS = (
    "seq, unit_id, kind, at_ms, party_id, counterparty_id, site_id, lat_e6, lon_e6,"
    " container_id, device, device_seq, anomaly, prev_hash, leaf_hash"
)
