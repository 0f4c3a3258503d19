"""Verification catches every kind of tampering done with raw SQL, and names it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Connection

from ledger import (
    EntryKind,
    Hop,
    LedgerIntegrityError,
    LedgerSigner,
    make_checkpoint,
    verify_ledger,
)
from ledger.database import fetch_all, placeholder
from ledger.merkle import leaf_hash
from ledger.rows import canonical_bytes, fetch_rows, load_codebook
from ledger.verify_scan import _SQL as _SCAN_SQL
from ledger.verify_scan import read_rows
from tests.ledger.conftest import Network, item

K = EntryKind
UNITS = 12


@pytest.fixture
def ledger(network: Network, signer: LedgerSigner) -> Network:
    """60 entries: 12 units commissioned, shipped, received, 4 of them then sold."""
    hops = [
        Hop(item(i), K.COMMISSIONING, "MFR", network.at(), site="MFR-PLANT") for i in range(UNITS)
    ]
    hops += [
        Hop(item(i), K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH") for i in range(UNITS)
    ]
    network.append(*hops)
    make_checkpoint(network.engine, signer)
    network.append(*(Hop(item(i), K.RECEIVING, "D-NORTH", network.at()) for i in range(UNITS)))
    network.append(*(Hop(item(i), K.INSPECTING, "D-NORTH", network.at()) for i in range(UNITS)))
    network.append(*(Hop(item(i), K.RETAIL_SELLING, "D-NORTH", network.at()) for i in range(UNITS)))
    make_checkpoint(network.engine, signer)
    return network


def _verify(network: Network, signer: LedgerSigner) -> None:
    verify_ledger(network.engine, signer.name, signer.public_key)


def _tamper(network: Network, change: Callable[[Connection], None]) -> None:
    with network.engine.begin() as conn:
        change(conn)


def _rehash(conn: Connection, seq: int) -> None:
    """What a careful attacker does: recompute the leaf hash of a changed row."""
    (row,) = fetch_rows(conn, seq, seq + 1)
    new_leaf = leaf_hash(canonical_bytes(row, load_codebook(conn)))
    ph = "?" if conn.dialect.name == "sqlite" else "%s"
    conn.exec_driver_sql(f"UPDATE entries SET leaf_hash = {ph} WHERE seq = {seq}", (new_leaf,))


def _expect(
    network: Network, signer: LedgerSigner, seq: int | None, problem: str
) -> LedgerIntegrityError:
    with pytest.raises(LedgerIntegrityError) as caught:
        _verify(network, signer)
    assert (caught.value.seq, caught.value.problem) == (seq, problem), str(caught.value)
    return caught.value


def test_an_intact_ledger_verifies(ledger: Network, signer: LedgerSigner) -> None:
    report = verify_ledger(ledger.engine, signer.name, signer.public_key)
    assert report.entries == 5 * UNITS
    assert report.units == UNITS
    assert report.checkpoints_checked == 2
    assert report.checkpoint is not None and report.checkpoint.tree_size == 5 * UNITS
    assert report.root == report.checkpoint.root_hash


def test_a_changed_column_is_named(ledger: Network, signer: LedgerSigner) -> None:
    _tamper(
        ledger, lambda c: c.exec_driver_sql("UPDATE entries SET at_ms = at_ms + 1 WHERE seq = 30")
    )
    _expect(ledger, signer, 30, "changed")


def test_a_changed_reference_is_named(ledger: Network, signer: LedgerSigner) -> None:
    # Pointing an entry at another party changes what it says happened.
    _tamper(
        ledger,
        lambda c: c.exec_driver_sql(
            "UPDATE entries SET party_id = (SELECT id FROM parties WHERE code = 'D-SOUTH') WHERE seq = 41"
        ),
    )
    _expect(ledger, signer, 41, "changed")


def test_a_change_with_its_hash_recomputed_is_still_named(
    ledger: Network, signer: LedgerSigner
) -> None:
    def change(conn: Connection) -> None:
        conn.exec_driver_sql("UPDATE entries SET at_ms = at_ms + 5 WHERE seq = 26")
        _rehash(conn, 26)

    _tamper(ledger, change)
    err = _expect(ledger, signer, 26, "changed")
    assert "still links to the original" in err.detail


def test_a_deleted_entry_is_named(ledger: Network, signer: LedgerSigner) -> None:
    _tamper(ledger, lambda c: c.exec_driver_sql("DELETE FROM entries WHERE seq = 17"))
    _expect(ledger, signer, 17, "deleted")


def test_a_deletion_hidden_by_renumbering_is_named(ledger: Network, signer: LedgerSigner) -> None:
    def change(conn: Connection) -> None:
        conn.exec_driver_sql("DELETE FROM entries WHERE seq = 33")
        for seq in range(34, 5 * UNITS):
            conn.exec_driver_sql(f"UPDATE entries SET seq = {seq - 1} WHERE seq = {seq}")

    _tamper(ledger, change)
    _expect(ledger, signer, 33, "deleted")


def test_an_inserted_entry_is_named(ledger: Network, signer: LedgerSigner) -> None:
    def change(conn: Connection) -> None:
        for seq in range(5 * UNITS - 1, 39, -1):
            conn.exec_driver_sql(f"UPDATE entries SET seq = {seq + 1} WHERE seq = {seq}")
        conn.exec_driver_sql(
            "INSERT INTO entries (seq, unit_id, kind, at_ms, party_id, device, anomaly, prev_hash, leaf_hash)"
            " SELECT 40, unit_id, 'retail_selling', at_ms, party_id, '', '', prev_hash, leaf_hash"
            " FROM entries WHERE seq = 41"
        )
        _rehash(conn, 40)

    _tamper(ledger, change)
    _expect(ledger, signer, 40, "inserted")


def test_swapped_entries_are_named(ledger: Network, signer: LedgerSigner) -> None:
    def change(conn: Connection) -> None:
        conn.exec_driver_sql("UPDATE entries SET seq = -1 WHERE seq = 50")
        conn.exec_driver_sql("UPDATE entries SET seq = 50 WHERE seq = 45")
        conn.exec_driver_sql("UPDATE entries SET seq = 45 WHERE seq = -1")

    _tamper(ledger, change)
    err = _expect(ledger, signer, 45, "reordered")
    assert "belongs at seq 50" in err.detail


def test_a_broken_chain_is_named(ledger: Network, signer: LedgerSigner) -> None:
    # Re-point entry 37's prev at another unit's entry, and recompute its hash.
    def change(conn: Connection) -> None:
        other = conn.exec_driver_sql("SELECT leaf_hash FROM entries WHERE seq = 0").scalar_one()
        ph = "?" if conn.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql(f"UPDATE entries SET prev_hash = {ph} WHERE seq = 37", (other,))
        _rehash(conn, 37)

    _tamper(ledger, change)
    _expect(ledger, signer, 37, "chain broken")


def test_rows_rewritten_consistently_still_fail_against_the_signed_root(
    ledger: Network, signer: LedgerSigner
) -> None:
    # Change the last entry of a unit (nothing links to it) and rehash it: only the
    # signed root can tell.
    def change(conn: Connection) -> None:
        conn.exec_driver_sql("UPDATE entries SET at_ms = at_ms + 7 WHERE seq = 59")
        _rehash(conn, 59)

    _tamper(ledger, change)
    err = _expect(ledger, signer, 48, "root mismatch")  # the 16-entry tile holding 59
    assert "signed checkpoint" in err.detail


def test_a_forged_checkpoint_signature_is_named(ledger: Network, signer: LedgerSigner) -> None:
    _tamper(
        ledger,
        lambda c: c.exec_driver_sql(
            "UPDATE checkpoints SET note = REPLACE(note, '\n60\n', '\n61\n') WHERE tree_size = 60"
        ),
    )
    err = _expect(ledger, signer, None, "bad signature")
    assert "size 60" in str(err)


def test_entries_missing_from_the_end_are_named(ledger: Network, signer: LedgerSigner) -> None:
    _tamper(ledger, lambda c: c.exec_driver_sql("DELETE FROM entries WHERE seq >= 55"))
    _expect(ledger, signer, 55, "deleted")


def test_a_row_slipped_in_after_the_head_is_named(ledger: Network, signer: LedgerSigner) -> None:
    _tamper(
        ledger,
        lambda c: c.exec_driver_sql(
            "INSERT INTO entries (seq, unit_id, kind, at_ms, party_id, device, anomaly, prev_hash, leaf_hash)"
            " SELECT 60, unit_id, kind, at_ms, party_id, device, anomaly, leaf_hash, leaf_hash"
            " FROM entries WHERE seq = 59"
        ),
    )
    _expect(ledger, signer, 60, "inserted")


def test_reads_give_the_values_the_driver_gives_in_text(ledger: Network) -> None:
    """read_rows (binary results on PostgreSQL) gives the very values, and types,
    that a plain fetch (text results) gives, for each table verification reads."""
    with ledger.engine.connect() as conn:
        ph = placeholder(conn)
        queries = [
            (_SCAN_SQL.format(ph=ph), (0, 1000)),
            (
                "SELECT id, key, gtin, serial, sscc, container_id, holder_id, bound_for_id,"
                f" state, head_seq, head_hash FROM units ORDER BY id LIMIT {ph}",
                (1000,),
            ),
            ("SELECT level, idx, hash FROM tree_nodes ORDER BY level, idx", ()),
            ("SELECT tree_size, frontier FROM ledger_head", ()),
        ]
        for sql, params in queries:
            ours, plain = read_rows(conn, sql, params), fetch_all(conn, sql, params)
            assert ours, sql
            assert ours == plain, sql
            assert [list(map(type, r)) for r in ours] == [list(map(type, r)) for r in plain]
