"""A tamper test per derived table: each change made with raw SQL is named by table,
row and kind, on SQLite and PostgreSQL; a log cut back is caught against the
checkpoint an auditor kept (``verify --since-checkpoint FILE``)."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import Connection, Engine

from ledger import (
    EntryKind,
    Hop,
    LedgerIntegrityError,
    LedgerSigner,
    inclusion_proof,
    make_checkpoint,
    verify_inclusion,
    verify_ledger,
)
from ledger.hops import scan_digest
from ledger.verify import CheckContext, Problem, VerifyReport
from tests.ledger._tamper import restore, snapshot
from tests.ledger.conftest import Network, item, sscc

K = EntryKind
Cli = Callable[..., Result]


def _ph(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _build(net: Network, signer: LedgerSigner) -> dict[int, Hop]:
    """About 70 entries: handheld scans (so receipts), cases that carry their items,
    an anomaly only a receipt records, a note; signed twice. Returns the hops by
    device_seq of handheld HH-1."""
    counter = itertools.count()
    hops: dict[int, Hop] = {}

    def hh(hop: Hop) -> Hop:
        hop = replace(hop, device="HH-1", device_seq=next(counter))
        hops[hop.device_seq or 0] = hop
        return hop

    at = net.at
    net.append(
        *(hh(Hop(item(i), K.COMMISSIONING, "MFR", at(), site="MFR-PLANT")) for i in range(24))
    )
    # the first item packed into each case commissions the case (two entries, one scan)
    net.append(
        *(hh(Hop(item(i), K.PACKING, "MFR", at(), container=sscc(i // 8))) for i in range(16))
    )
    net.append(*(hh(Hop(sscc(c), K.SHIPPING, "MFR", at(), counterparty="D-NORTH")) for c in (0, 1)))
    net.append(
        *(hh(Hop(item(i), K.SHIPPING, "MFR", at(), counterparty="D-SOUTH")) for i in range(16, 24))
    )
    make_checkpoint(net.engine, signer)
    net.append(
        hh(Hop(sscc(0), K.RECEIVING, "D-NORTH", at())),
        hh(Hop(sscc(1), K.RECEIVING, "D-SOUTH", at())),  # shipped to D-NORTH: anomaly
        hh(Hop(sscc(0), K.UNPACKING, "D-NORTH", at())),
        hh(Hop(item(20), K.UNPACKING, "D-SOUTH", at())),  # not packed: said by the receipt only
    )
    net.append(*(hh(Hop(item(i), K.RETAIL_SELLING, "D-NORTH", at())) for i in range(4)))
    net.append(Hop(item(5), K.INSPECTING, "D-NORTH", at(), note="label scuffed"))
    make_checkpoint(net.engine, signer)
    return hops


@pytest.fixture
def built(network: Network, signer: LedgerSigner) -> dict[int, Hop]:
    return _build(network, signer)


def _verify(net: Network, signer: LedgerSigner, **kw: Any) -> VerifyReport:
    return verify_ledger(net.engine, signer.name, signer.public_key, **kw)


def _tamper(net: Network, sql: str, params: tuple[Any, ...] = ()) -> None:
    with net.engine.begin() as conn:
        conn.exec_driver_sql(sql.replace("?", _ph(conn)), params)


def _fails(net: Network, signer: LedgerSigner, **kw: Any) -> LedgerIntegrityError:
    with pytest.raises(LedgerIntegrityError) as caught:
        _verify(net, signer, **kw)
    return caught.value


def _expect_row(
    net: Network, signer: LedgerSigner, table: str, problem: str, key: dict[str, Any]
) -> LedgerIntegrityError:
    err = _fails(net, signer)
    assert (err.seq, err.table, err.problem, err.key) == (None, table, problem, key), str(err)
    return err


def _scalar(net: Network, sql: str) -> Any:
    with net.engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar_one()


def test_the_ledger_as_built_verifies(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    report = _verify(network, signer)
    assert report.entries == network.count()
    assert report.units == network.count("units") == 26
    assert report.receipts == network.count("scan_receipts") == len(built)
    assert report.tree_nodes == report.entries // 16
    assert report.checkpoints_checked == 2


# --- tree_nodes ------------------------------------------------------------------------


def test_a_random_hash_in_a_tree_node_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    size = network.count()
    before = _proof_verifies(network, 20, size)
    _tamper(
        network, "UPDATE tree_nodes SET hash = ? WHERE level = 4 AND idx = 1", (os.urandom(32),)
    )
    assert before and not _proof_verifies(network, 20, size)  # what the change breaks
    err = _expect_row(network, signer, "tree_nodes", "tree node changed", {"level": 4, "idx": 1})
    assert "seqs 16..31" in err.detail


def _proof_verifies(net: Network, seq: int, size: int) -> bool:
    with net.engine.connect() as conn:
        proof = inclusion_proof(conn, 0, size)
        root = conn.exec_driver_sql(
            "SELECT root_hash FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
        ).scalar_one()
    try:
        verify_inclusion(proof.leaf_hash, 0, size, proof.path, bytes(root))
    except ValueError:
        return False
    return True


def test_a_deleted_tree_node_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    _tamper(network, "DELETE FROM tree_nodes WHERE level = 4 AND idx = 2")
    _expect_row(network, signer, "tree_nodes", "tree node missing", {"level": 4, "idx": 2})


@pytest.mark.parametrize(("level", "idx"), [(3, 0), (4, 99), (8, 0)])
def test_a_tree_node_that_cannot_exist_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop], level: int, idx: int
) -> None:
    _tamper(
        network,
        "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)",
        (level, idx, os.urandom(32)),
    )
    _expect_row(network, signer, "tree_nodes", "tree node extra", {"level": level, "idx": idx})


# --- ledger_head ---------------------------------------------------------------------------


def test_a_corrupted_head_frontier_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    packed = bytes(_scalar(network, "SELECT frontier FROM ledger_head"))
    _tamper(network, "UPDATE ledger_head SET frontier = ?", (os.urandom(len(packed)),))
    err = _expect_row(network, signer, "ledger_head", "head changed", {"id": 1})
    assert "frontier" in err.detail


def test_a_changed_head_size_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    _tamper(network, "UPDATE ledger_head SET tree_size = tree_size - 1")
    _expect_row(network, signer, "ledger_head", "head changed", {"id": 1})


def test_a_deleted_head_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    _tamper(network, "DELETE FROM ledger_head")
    _expect_row(network, signer, "ledger_head", "head missing", {"id": 1})


# --- units ---------------------------------------------------------------------------------

_PARTY = "(SELECT id FROM parties WHERE code = '{}')"


@pytest.mark.parametrize(
    ("serial", "change", "said"),
    [
        (
            0,
            f"holder_id = {_PARTY.format('D-SOUTH')}",
            "holder is D-SOUTH, the entries give D-NORTH",
        ),
        (10, "state = 'sold'", "state is sold, the entries give in_stock"),
        (20, f"bound_for_id = {_PARTY.format('D-NORTH')}", "bound_for is D-NORTH"),
        (9, "container_id = NULL", "container_id is None"),
        (7, "head_seq = head_seq - 1", "head_seq is"),
        (6, "head_hash = NULL", "head_hash is none"),
        (5, "serial = '55'", "gtin/serial/sscc"),
    ],
)
def test_a_changed_unit_is_named(
    network: Network,
    signer: LedgerSigner,
    built: dict[int, Hop],
    serial: int,
    change: str,
    said: str,
) -> None:
    key = item(serial)
    uid = _scalar(network, f"SELECT id FROM units WHERE key = '{key}'")
    _tamper(network, f"UPDATE units SET {change} WHERE id = {uid}")
    err = _expect_row(network, signer, "units", "unit changed", {"id": uid, "key": key})
    assert said in err.detail, err.detail


def test_a_unit_no_entry_names_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    _tamper(
        network,
        "INSERT INTO units (id, key, gtin, serial, state) VALUES (999, ?, ?, '999', 'in_stock')",
        (item(999), item(999).split("/")[1]),
    )
    _expect_row(network, signer, "units", "unit extra", {"id": 999, "key": item(999)})


def test_a_deleted_unit_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    uid = _scalar(network, f"SELECT id FROM units WHERE key = '{item(23)}'")
    first = _scalar(network, f"SELECT MIN(seq) FROM entries WHERE unit_id = {uid}")
    _without_foreign_keys(network.engine, f"DELETE FROM units WHERE id = {uid}")
    err = _fails(network, signer)
    # its entries no longer encode (their unit key is gone), and the row is missed
    assert (err.seq, err.problem) == (first, "changed"), str(err)
    assert any(p.problem == "unit missing" and p.key == {"id": uid} for p in err.problems), (
        err.problems
    )


def _without_foreign_keys(engine: Engine, sql: str) -> None:
    """Run ``sql`` with foreign keys not enforced (what the database's owner can do)."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            raw.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction
            raw.execute("BEGIN")
            raw.execute(sql)
            raw.execute("COMMIT")
            raw.execute("PRAGMA foreign_keys = ON")
        finally:
            raw.close()
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql(sql)


# --- scan_receipts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dseq", "change", "said"),
    [
        (3, "first_seq = first_seq + 1", "first_seq is 4, the entries give 3"),
        (24, "entry_count = 1", "entry_count is 1, the entries give 2"),
        (40, "entry_count = 3", "entry_count is 3, the entries give 9"),
        (
            51,
            "anomaly = ''",
            "the entries give '9 of 9 units: received by D-SOUTH but shipped to D-NORTH'",
        ),
        (53, "anomaly = 'unpacked by D-SOUTH while in transit to D-SOUTH'", "which is not packed"),
        (12, "anomaly = 'shipped by MFR, which does not hold it'", "the entries give ''"),
    ],
)
def test_a_changed_receipt_is_named(
    network: Network,
    signer: LedgerSigner,
    built: dict[int, Hop],
    dseq: int,
    change: str,
    said: str,
) -> None:
    _tamper(
        network, f"UPDATE scan_receipts SET {change} WHERE device = 'HH-1' AND device_seq = {dseq}"
    )
    err = _expect_row(
        network, signer, "scan_receipts", "receipt changed", {"device": "HH-1", "device_seq": dseq}
    )
    assert said in err.detail, err.detail


def _digest(hop: Hop) -> bytes:
    return scan_digest(
        hop.unit, hop.kind.value, hop.at_ms, hop.party, hop.counterparty, hop.container
    )


@pytest.mark.parametrize(
    "dseq", [0, 24, 40, 45]
)  # plain, packing a new case, a case shipped, unpacking
def test_content_hashes_are_checked_and_null_ones_allowed(
    network: Network, signer: LedgerSigner, built: dict[int, Hop], dseq: int
) -> None:
    where = f"device = 'HH-1' AND device_seq = {dseq}"
    _tamper(network, f"UPDATE scan_receipts SET content_hash = NULL WHERE {where}")
    _verify(network, signer)  # receipts written before content hashes existed
    _tamper(
        network, f"UPDATE scan_receipts SET content_hash = ? WHERE {where}", (_digest(built[dseq]),)
    )
    _verify(network, signer)  # what the scan said, re-derived from its entry
    _tamper(network, f"UPDATE scan_receipts SET content_hash = ? WHERE {where}", (os.urandom(32),))
    err = _expect_row(
        network, signer, "scan_receipts", "receipt changed", {"device": "HH-1", "device_seq": dseq}
    )
    assert "content_hash is" in err.detail


def test_a_deleted_receipt_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    _tamper(network, "DELETE FROM scan_receipts WHERE device = 'HH-1' AND device_seq = 30")
    err = _expect_row(
        network, signer, "scan_receipts", "receipt missing", {"device": "HH-1", "device_seq": 30}
    )
    assert "a replay would be appended again" in err.detail


def test_a_receipt_no_scan_explains_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    _tamper(
        network,
        "INSERT INTO scan_receipts (device, device_seq, first_seq, entry_count, anomaly)"
        " VALUES ('HH-1', 500, 3, 1, '')",
    )
    _expect_row(
        network, signer, "scan_receipts", "receipt extra", {"device": "HH-1", "device_seq": 500}
    )


# --- checkpoints and the checkpoint an auditor kept ------------------------------------------------


def test_a_checkpoint_row_that_disagrees_with_its_note_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    row_id = _scalar(network, "SELECT MAX(id) FROM checkpoints")
    size = _scalar(network, f"SELECT tree_size FROM checkpoints WHERE id = {row_id}")
    _tamper(network, f"UPDATE checkpoints SET root_hash = ? WHERE id = {row_id}", (os.urandom(32),))
    err = _expect_row(
        network, signer, "checkpoints", "checkpoint changed", {"id": row_id, "tree_size": size}
    )
    assert "root_hash is" in err.detail


@pytest.fixture
def cut_back(network: Network, signer: LedgerSigner) -> Iterator[str]:
    """The log is cut back to 40 entries after an auditor kept a checkpoint of 60:
    yields the kept note."""
    net = network
    net.append(*(Hop(item(i), K.COMMISSIONING, "MFR", net.at()) for i in range(40)))
    make_checkpoint(net.engine, signer)
    backup = snapshot(net.engine)
    net.append(
        *(Hop(item(i), K.SHIPPING, "MFR", net.at(), counterparty="D-NORTH") for i in range(20))
    )
    kept = make_checkpoint(net.engine, signer).note
    _verify(net, signer, kept_note=kept)
    restore(net.engine, backup)
    yield kept


def test_a_log_cut_back_with_its_checkpoints_is_caught_against_the_kept_one(
    network: Network, signer: LedgerSigner, cut_back: str
) -> None:
    # Everything in the database agrees with the shorter log...
    assert _verify(network, signer).entries == 40
    # ...but not with what was published before.
    err = _fails(network, signer, kept_note=cut_back, kept_label="kept.txt")
    assert (err.seq, err.problem) == (40, "truncated")
    assert err.detail == "the log has 40 entries but checkpoint kept.txt you kept covers 60"


def test_a_log_cut_back_and_grown_again_is_caught_against_the_kept_one(
    network: Network, signer: LedgerSigner, cut_back: str
) -> None:
    net = network
    net.append(*(Hop(item(i), K.INSPECTING, "D-SOUTH", net.at()) for i in range(30)))
    make_checkpoint(net.engine, signer)
    assert _verify(network, signer).entries == 70
    err = _fails(network, signer, kept_note=cut_back, kept_label="kept.txt")
    assert err.problem == "root mismatch" and err.seq is not None and err.seq < 60, str(err)
    assert "checkpoint kept.txt you kept says" in err.detail


def test_a_forged_kept_checkpoint_is_named(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    note = _scalar(network, "SELECT note FROM checkpoints ORDER BY tree_size DESC LIMIT 1")
    size = str(_scalar(network, "SELECT MAX(tree_size) FROM checkpoints"))
    forged = note.replace(f"\n{size}\n", f"\n{int(size) + 1}\n")
    err = _fails(network, signer, kept_note=forged, kept_label="kept.txt")
    assert (err.seq, err.table, err.problem) == (None, "checkpoint file", "bad signature")


# --- the command an auditor runs --------------------------------------------------------------------


def _last_json(result: Result) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(result.output.strip().splitlines()[-1])
    return doc


def test_verify_since_checkpoint_keeps_the_newest_and_catches_a_cut_back_log(
    network: Network, run_cli: Cli, tmp_path: Path
) -> None:
    assert run_cli("init").exit_code == 0
    net = network
    kept = tmp_path / "kept-checkpoint.txt"
    net.append(*(Hop(item(i), K.COMMISSIONING, "MFR", net.at()) for i in range(40)))
    first_note = run_cli("ledger", "checkpoint").output
    backup = snapshot(net.engine)

    first = run_cli("ledger", "verify", "--quiet", "--since-checkpoint", str(kept))
    assert first.exit_code == 0, first.output
    assert _last_json(first)["kept_checkpoint"] == {"file": str(kept), "size": 40, "saved": True}
    assert kept.read_text() == first_note

    net.append(
        *(Hop(item(i), K.SHIPPING, "MFR", net.at(), counterparty="D-NORTH") for i in range(20))
    )
    newer_note = run_cli("ledger", "checkpoint").output
    second = run_cli("ledger", "verify", "--quiet", "--since-checkpoint", str(kept))
    assert second.exit_code == 0, second.output
    assert _last_json(second)["kept_checkpoint"]["size"] == 60
    assert kept.read_text() == newer_note

    restore(net.engine, backup)
    assert run_cli("ledger", "verify", "--quiet").exit_code == 0  # blind without it
    third = run_cli("ledger", "verify", "--quiet", "--since-checkpoint", str(kept))
    assert third.exit_code == 1
    verdict = _last_json(third)
    assert (verdict["ok"], verdict["seq"], verdict["problem"]) == (False, 40, "truncated")
    assert verdict["detail"] == f"the log has 40 entries but checkpoint {kept} you kept covers 60"
    assert kept.read_text() == newer_note  # a failed verification keeps what it had


def test_verify_names_a_derived_table_row_in_its_report(
    network: Network, run_cli: Cli, tmp_path: Path
) -> None:
    run_cli("init")
    _build(network, LedgerSigner.load(tmp_path / "instance"))
    assert run_cli("ledger", "verify", "--quiet").exit_code == 0
    _tamper(network, "UPDATE units SET state = 'decommissioned' WHERE key = ?", (item(3),))
    result = run_cli("ledger", "verify", "--quiet")
    assert result.exit_code == 1
    verdict = _last_json(result)
    assert verdict["seq"] is None and verdict["problem"] == "unit changed"
    assert verdict["table"] == "units" and verdict["key"]["key"] == item(3)
    assert verdict["problems"][0] == {
        k: verdict[k] for k in ("seq", "problem", "detail", "table", "key")
    }


# --- never a crash; more checks join the same report ------------------------------------------------


def test_a_table_that_cannot_be_read_is_named_and_the_rest_still_checked(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    _tamper(network, "UPDATE units SET state = 'sold' WHERE key = ?", (item(11),))
    _tamper(network, "DROP TABLE tree_nodes")
    err = _fails(network, signer)
    found = {(p.table, p.problem) for p in err.problems}
    assert ("tree_nodes", "unreadable") in found
    assert ("units", "unit changed") in found  # checked all the same


def test_extra_checks_run_on_the_same_snapshot_and_join_the_report(
    network: Network, signer: LedgerSigner, built: dict[int, Hop]
) -> None:
    seen: list[int] = []

    def settlement_check(ctx: CheckContext) -> list[Problem]:
        seen.append(int(ctx.conn.exec_driver_sql("SELECT COUNT(*) FROM entries").scalar_one()))
        return [Problem(None, "statement changed", "run 3, party D-NORTH", "statements", {"id": 3})]

    def broken_check(ctx: CheckContext) -> list[Problem]:
        ctx.conn.exec_driver_sql("SELECT nothing FROM no_such_table")
        return []

    err = _fails(network, signer, extra_checks=[settlement_check, broken_check])
    assert seen == [network.count()]
    assert {(p.table, p.problem) for p in err.problems} == {
        ("statements", "statement changed"),
        ("broken_check", "unreadable"),
    }
    assert _verify(network, signer, extra_checks=[lambda ctx: []]).entries == network.count()


def test_verify_ends_with_its_report_even_when_verification_itself_fails(
    network: Network, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli("init")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr("web.cli_ledger.verify_ledger", broken)
    result = run_cli("ledger", "verify", "--quiet")
    assert result.exit_code == 1
    verdict = _last_json(result)
    assert verdict["ok"] is False and verdict["problem"] == "unreadable"
    assert "RuntimeError" in verdict["detail"] and "a bug of ours" not in verdict["detail"]


@pytest.mark.parametrize(
    "at_ms",
    [
        253_402_300_800_000,  # 10000-01-01T00:00:00Z, one ms past what RFC 3339 can write
        -62_135_596_800_001,  # one ms before 0001-01-01
        2**63 - 1,
    ],
)
def test_a_time_no_date_can_hold_is_named_at_its_seq(
    network: Network, signer: LedgerSigner, built: dict[int, Hop], at_ms: int
) -> None:
    """A stored time past year 9999 or before year 1 cannot be re-encoded: verify
    names that entry as changed (it cannot hash to what was signed) instead of
    stopping with a date overflow."""
    _tamper(network, "UPDATE entries SET at_ms = ? WHERE seq = 7", (at_ms,))
    err = _fails(network, signer)
    assert (err.seq, err.problem) == (7, "changed"), str(err)
