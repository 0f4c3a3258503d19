"""Property tests: tampering at random positions and sizes is named at the right seq
with the right kind, whatever the chunk size verification reads with, and
verification never crashes.

One ledger of about 2,500 entries is built once for the module; every example
tampers with a fresh copy of its SQLite file.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from ledger import (
    EntryKind,
    Hop,
    LedgerIntegrityError,
    LedgerSigner,
    append_hops,
    ensure_signing_key,
    make_checkpoint,
    verify_ledger,
)
from ledger.database import make_engine
from ledger.merkle import leaf_hash
from ledger.models import Party, Site
from ledger.rows import canonical_bytes, fetch_rows, load_codebook
from tests.ledger.conftest import T0, item, sscc

K = EntryKind
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CHUNKS = st.sampled_from([7, 64, 1000, 20_000])


@dataclass(frozen=True)
class Built:
    template: Path
    work: Path
    signer: LedgerSigner
    size: int


def _network(engine: Engine) -> None:
    with Session(engine) as session:
        mfr = Party(code="MFR", name="Maker", kind="manufacturer")
        session.add(mfr)
        session.flush()
        for code in ("D-NORTH", "D-SOUTH", "DEALER"):
            session.add(Party(code=code, name=code, kind="distributor", parent_id=mfr.id))
        session.add(
            Site(code="PLANT", name="Plant", party_id=mfr.id, lat_e6=48_000_000, lon_e6=11_000_000)
        )
        session.commit()


def _hops(rng: random.Random) -> Iterator[list[Hop]]:
    """Batches of hops: items commissioned by handhelds, packed into cases, cases
    shipped and received, then random traffic (with anomalies) between parties."""
    clock = iter(range(T0, T0 + 10**9, 1000))
    dseq = iter(range(10**6))

    def hh(hop: Hop, device: str = "HH-A") -> Hop:
        return replace(hop, device=device, device_seq=next(dseq))

    yield [hh(Hop(item(i), K.COMMISSIONING, "MFR", next(clock), site="PLANT")) for i in range(300)]
    yield [
        hh(Hop(item(i), K.PACKING, "MFR", next(clock), container=sscc(i // 8))) for i in range(240)
    ]
    dest = {c: rng.choice(["D-NORTH", "D-SOUTH"]) for c in range(30)}
    yield [
        hh(Hop(sscc(c), K.SHIPPING, "MFR", next(clock), counterparty=dest[c]), "DOCK")
        for c in range(30)
    ]
    yield [hh(Hop(sscc(c), K.RECEIVING, dest[c], next(clock)), "GATE") for c in range(30)]
    yield [hh(Hop(sscc(c), K.UNPACKING, dest[c], next(clock)), "GATE") for c in range(0, 30, 2)]
    parties = ["MFR", "D-NORTH", "D-SOUTH", "DEALER"]
    kinds = [K.SHIPPING, K.RECEIVING, K.INSPECTING, K.RETAIL_SELLING, K.RETURNING]
    for _ in range(12):
        batch = []
        for _ in range(100):
            kind = rng.choice(kinds)
            hop = Hop(
                item(rng.randrange(300)),
                kind,
                rng.choice(parties),
                next(clock),
                counterparty=rng.choice(parties) if kind is K.SHIPPING else None,
            )
            batch.append(hh(hop, rng.choice(["HH-A", "HH-B"])) if rng.random() < 0.8 else hop)
        yield batch


@pytest.fixture(scope="module")
def built(
    _migrated_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("verify-properties")
    template = folder / "template.db"
    shutil.copyfile(_migrated_sqlite_template, template)
    ensure_signing_key(folder / "key", "test.hopchain/ledger")
    signer = LedgerSigner.load(folder / "key")
    engine = make_engine(f"sqlite:///{template}")
    _network(engine)
    rng = random.Random(2026)
    for n, batch in enumerate(_hops(rng)):
        append_hops(engine, batch)
        if n % 5 == 4:
            make_checkpoint(engine, signer)
    make_checkpoint(engine, signer)
    with engine.connect() as conn:
        size = int(conn.exec_driver_sql("SELECT COUNT(*) FROM entries").scalar_one())
    raw = engine.raw_connection()
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the whole ledger in the one file
    raw.close()
    engine.dispose()
    assert 2_000 <= size <= 3_000, size
    yield Built(template, folder / "work.db", signer, size)


def _fresh(b: Built) -> Engine:
    for suffix in ("-wal", "-shm"):
        Path(f"{b.work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(b.template, b.work)
    return make_engine(f"sqlite:///{b.work}")


def _verdict(b: Built, engine: Engine, chunk: int) -> tuple[int | None, str]:
    try:
        verify_ledger(engine, b.signer.name, b.signer.public_key, chunk=chunk)
    except LedgerIntegrityError as err:
        return err.seq, err.problem
    finally:
        engine.dispose()
    return None, "intact"


def _shift(conn: Connection, start: int, by: int) -> None:
    """Renumber every entry at or after ``start`` by ``by`` (two steps: seq is unique)."""
    conn.exec_driver_sql(f"UPDATE entries SET seq = -seq - 1 WHERE seq >= {start}")
    conn.exec_driver_sql(f"UPDATE entries SET seq = -seq - 1 + {by} WHERE seq < 0")


def _rehash(conn: Connection, seq: int) -> None:
    (row,) = fetch_rows(conn, seq, seq + 1)
    leaf = leaf_hash(canonical_bytes(row, load_codebook(conn)))
    conn.exec_driver_sql("UPDATE entries SET leaf_hash = ? WHERE seq = ?", (leaf, seq))


def test_the_untouched_ledger_verifies(built: Built) -> None:
    assert _verdict(built, _fresh(built), 1000) == (None, "intact")


@EXAMPLES
@given(data=st.data(), renumber=st.booleans(), chunk=CHUNKS)
def test_a_deleted_run_is_named_where_it_starts(
    built: Built, data: st.DataObject, renumber: bool, chunk: int
) -> None:
    start = data.draw(st.integers(0, built.size - 1), label="start")
    count = data.draw(st.integers(1, min(40, built.size - start)), label="count")
    engine = _fresh(built)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM entries WHERE seq >= {start} AND seq < {start + count}")
        if renumber:
            _shift(conn, start + count, -count)
    assert _verdict(built, engine, chunk) == (start, "deleted")


@EXAMPLES
@given(data=st.data(), rehash=st.booleans(), chunk=CHUNKS)
def test_inserted_entries_are_named_where_they_start(
    built: Built, data: st.DataObject, rehash: bool, chunk: int
) -> None:
    start = data.draw(st.integers(0, built.size), label="start")
    count = data.draw(st.integers(1, 20), label="count")
    source = data.draw(st.integers(0, built.size - 1), label="copied from")
    engine = _fresh(built)
    with engine.begin() as conn:
        _shift(conn, start, count)
        src = source + count if source >= start else source
        for i in range(count):
            # a copy of another entry, a little later: new content, an old hash
            conn.exec_driver_sql(
                "INSERT INTO entries (seq, unit_id, kind, at_ms, party_id, counterparty_id,"
                " site_id, lat_e6, lon_e6, container_id, device, device_seq, anomaly, prev_hash,"
                " leaf_hash) SELECT ?, unit_id, kind, at_ms + ?, party_id, counterparty_id,"
                " site_id, lat_e6, lon_e6, container_id, device, device_seq, anomaly, prev_hash,"
                " leaf_hash FROM entries WHERE seq = ?",
                (start + i, 1 + i, src),
            )
            if rehash:
                _rehash(conn, start + i)
    assert _verdict(built, engine, chunk) == (start, "inserted")


@EXAMPLES
@given(data=st.data(), chunk=CHUNKS)
def test_swapped_entries_are_named_at_the_first(
    built: Built, data: st.DataObject, chunk: int
) -> None:
    first = data.draw(st.integers(0, built.size - 2), label="first")
    apart = data.draw(
        st.one_of(st.just(1), st.integers(1, min(30, built.size - 1 - first))), label="apart"
    )
    engine = _fresh(built)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE entries SET seq = -1 WHERE seq = {first}")
        conn.exec_driver_sql(f"UPDATE entries SET seq = {first} WHERE seq = {first + apart}")
        conn.exec_driver_sql(f"UPDATE entries SET seq = {first + apart} WHERE seq = -1")
    assert _verdict(built, engine, chunk) == (first, "reordered")


_CHANGES = {
    "at_ms": ("at_ms = at_ms + 1", "changed"),
    "kind": (
        "kind = CASE kind WHEN 'inspecting' THEN 'shipping' ELSE 'inspecting' END",
        "changed",
    ),
    "party_id": (
        "party_id = (SELECT MIN(id) FROM parties p WHERE p.id <> entries.party_id)",
        "changed",
    ),
    "lat_e6": ("lat_e6 = COALESCE(lat_e6, 0) + 1, lon_e6 = COALESCE(lon_e6, 0)", "changed"),
    "anomaly": ("anomaly = anomaly || ' (edited)'", "changed"),
    "device_seq": ("device = 'HH-Z', device_seq = 7", "changed"),
    "prev_hash": ("prev_hash = leaf_hash", "chain broken"),
}


@EXAMPLES
@given(data=st.data(), column=st.sampled_from(sorted(_CHANGES)), chunk=CHUNKS)
def test_a_changed_column_is_named(
    built: Built, data: st.DataObject, column: str, chunk: int
) -> None:
    seq = data.draw(st.integers(0, built.size - 1), label="seq")
    change, kind = _CHANGES[column]
    engine = _fresh(built)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE entries SET {change} WHERE seq = {seq}")
    assert _verdict(built, engine, chunk) == (seq, kind)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), chunk=CHUNKS)
def test_a_truncated_log_is_named_where_it_ends(
    built: Built, data: st.DataObject, chunk: int
) -> None:
    keep = data.draw(st.integers(0, built.size - 1), label="entries kept")
    engine = _fresh(built)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM entries WHERE seq >= {keep}")
    assert _verdict(built, engine, chunk) == (keep, "deleted")


def test_deleting_an_entry_at_an_even_seq_is_named_not_a_crash(built: Built) -> None:
    engine = _fresh(built)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM entries WHERE seq = 4")
    assert _verdict(built, engine, 1000) == (4, "deleted")
