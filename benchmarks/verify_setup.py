"""A ledger for the verification benchmarks, built once and kept.

``units`` units, each commissioned by a handheld scan (so scan receipts), shipped,
received by a handheld scan, inspected and sold: 5 entries a unit, signed twice
(half way and at the end). SQLite: ``.benchmarks/verify-ledger-<entries>.sqlite``;
PostgreSQL: schema ``hc_verify_<entries>`` of the benchmark server. Both are kept
between runs: a ledger already there (its last checkpoint signed) is reused.
The signing key is derived from a fixed seed, so a later run verifies it.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ledger_setup import GTIN, T0, _populate, pg_url
from ledger import EntryKind, Hop, LedgerSigner, append_hops, make_checkpoint
from ledger.database import make_engine
from ledger.ids import unit_key

__all__ = ["ENTRIES_PER_UNIT", "SIGNER", "kept_ledger"]

ENTRIES_PER_UNIT = 5
BATCH = 1000
SIGNER = LedgerSigner("bench.hopchain/verify", Ed25519PrivateKey.from_private_bytes(bytes(32)))


def _hops(start: int, count: int) -> list[Hop]:
    """Every hop of units ``start .. start + count``, kind by kind."""
    units = range(start, start + count)
    keys = [unit_key(GTIN, f"V{i}") for i in units]
    out = [
        Hop(k, EntryKind.COMMISSIONING, "MFR", T0 + i, site="PLANT", device="HH-1", device_seq=i)
        for k, i in zip(keys, units, strict=True)
    ]
    out += [
        Hop(k, EntryKind.SHIPPING, "MFR", T0 + 10**7 + i, counterparty="D1")
        for k, i in zip(keys, units, strict=True)
    ]
    out += [
        replace(
            Hop(k, EntryKind.RECEIVING, "D1", T0 + 2 * 10**7 + i),
            device="HH-2",
            device_seq=i,
        )
        for k, i in zip(keys, units, strict=True)
    ]
    out += [
        Hop(k, EntryKind.INSPECTING, "D1", T0 + 3 * 10**7 + i, lat_e6=52_520_008, lon_e6=13_404_954)
        for k, i in zip(keys, units, strict=True)
    ]
    out += [
        Hop(k, EntryKind.RETAIL_SELLING, "D1", T0 + 4 * 10**7 + i)
        for k, i in zip(keys, units, strict=True)
    ]
    return out


def _fill(engine: Engine, units: int) -> None:
    _populate(engine)
    step = BATCH // ENTRIES_PER_UNIT * 4  # units per round: 4,000 entries appended at once
    with tqdm(total=units * ENTRIES_PER_UNIT, desc="building the ledger", unit="entry") as bar:
        for start in range(0, units, step):
            hops = _hops(start, min(step, units - start))
            for i in range(0, len(hops), BATCH):
                append_hops(engine, hops[i : i + BATCH])
                bar.update(len(hops[i : i + BATCH]))
            if start < units // 2 <= start + step:
                make_checkpoint(engine, SIGNER)
    make_checkpoint(engine, SIGNER)


def _complete(engine: Engine, entries: int) -> bool:
    try:
        with engine.connect() as conn:
            size = conn.exec_driver_sql("SELECT MAX(tree_size) FROM checkpoints").scalar()
    except Exception:
        return False
    return size == entries


def kept_ledger(kind: str, entries: int) -> str:
    """The URL of a kept ledger of ``entries`` entries (a multiple of 5) on ``kind``
    ("sqlite" or "postgresql"), building it first when it is not there."""
    units = entries // ENTRIES_PER_UNIT
    if kind == "sqlite":
        path = Path(".benchmarks") / f"verify-ledger-{entries}.sqlite"
        url = f"sqlite:///{path}"
        if path.exists():
            return url
        path.parent.mkdir(exist_ok=True)
        partial = path.with_suffix(".partial")
        for leftover in partial.parent.glob(partial.name + "*"):
            leftover.unlink()
        engine = make_engine(f"sqlite:///{partial}")
        _fill(engine, units)
        engine.dispose()
        shutil.move(partial, path)
        return url
    base = pg_url()
    if base is None:
        raise RuntimeError("no PostgreSQL answers; set HOPCHAIN_TEST_PG_URL")
    schema = f"hc_verify_{entries}"
    url = (
        make_url(base)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    engine = make_engine(url)
    if _complete(engine, entries):
        engine.dispose()
        return url
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    _fill(engine, units)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()
    return url
