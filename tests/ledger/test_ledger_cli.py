"""``hopchain ledger verify | checkpoint | proof`` as an operator uses them."""

from __future__ import annotations

import json
from collections.abc import Callable

from click.testing import Result

from ledger import EntryKind, Hop, verify_inclusion
from ledger.tree import read_head
from tests.ledger.conftest import Network, item

Cli = Callable[..., Result]


def _fill(network: Network, n: int = 40) -> None:
    network.append(*(Hop(item(i), EntryKind.COMMISSIONING, "MFR", network.at()) for i in range(n)))


def test_verify_exits_0_when_intact_and_1_naming_the_seq(network: Network, run_cli: Cli) -> None:
    assert run_cli("init").exit_code == 0
    _fill(network)
    note = run_cli("ledger", "checkpoint")
    assert note.exit_code == 0 and "\n40\n" in note.output and "\u2014 " in note.output

    ok = run_cli("ledger", "verify", "--quiet")
    assert ok.exit_code == 0, ok.output
    summary = json.loads(ok.output.strip().splitlines()[-1])
    assert (
        summary["ok"] is True
        and summary["entries"] == 40
        and summary["latest_checkpoint_size"] == 40
    )

    with network.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE entries SET at_ms = at_ms + 1 WHERE seq = 7")
    bad = run_cli("ledger", "verify", "--quiet")
    assert bad.exit_code == 1
    verdict = json.loads(bad.output.strip().splitlines()[-1])
    assert (verdict["seq"], verdict["problem"]) == (7, "changed")


def test_proof_prints_a_proof_that_verifies(network: Network, run_cli: Cli) -> None:
    run_cli("init")
    _fill(network, 13)
    out = run_cli("ledger", "proof", "--seq", "5")
    assert out.exit_code == 0, out.output
    proof = json.loads(out.output)
    with network.engine.connect() as conn:
        root = read_head(conn).root
    verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]), 5, 13, [bytes.fromhex(h) for h in proof["path"]], root
    )
    missing = run_cli("ledger", "proof", "--seq", "50")
    assert missing.exit_code != 0 and "leaf index 50" in missing.output
