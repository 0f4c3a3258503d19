"""Error declarations (EPCIS 2.0 errorDeclaration): an entry that retracts an earlier
one. The log stays append-only and verifiable; custody, the snapshot (detection and
settlement) and verification read the unit without the retracted entry."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine

from ledger import (
    EntryKind,
    Hop,
    LedgerIntegrityError,
    LedgerSigner,
    make_checkpoint,
    unit_history,
    unit_status,
    verify_ledger,
)
from ledger.queries import canonical_entries
from ledger.retraction import replay_custody
from settlement.snapshot import load_snapshot
from tests.ledger.conftest import Network, item, sscc

K = EntryKind


def _declare(network: Network, key: str, seq: int, party: str = "MFR", **kw: object) -> Hop:
    return Hop(
        key, K.ERROR_DECLARATION, party, network.at(), retracts=seq, note="incorrect_data", **kw
    )  # type: ignore[arg-type]


def _status(engine: Engine, key: str) -> dict[str, object]:
    with engine.connect() as conn:
        return unit_status(conn, key).as_json()


def _verify(network: Network, signer: LedgerSigner) -> None:
    verify_ledger(network.engine, signer.name, signer.public_key)


def test_the_issue_case_a_shipment_retracted_is_not_a_shipment(
    network: Network, signer: LedgerSigner
) -> None:
    u = item("R1")
    network.append(
        Hop(u, K.COMMISSIONING, "MFR", network.at()),
        Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
    )
    assert _status(network.engine, u)["state"] == "in_transit"
    result = network.one(_declare(network, u, 1))
    assert (result.status, result.seqs) == ("accepted", (2,))
    # custody is back to before the shipment: in stock at the maker
    status = _status(network.engine, u)
    assert (status["state"], status["holder"], status["bound_for"]) == ("in_stock", "MFR", None)
    assert status["entries"] == 3  # nothing removed
    with network.engine.connect() as conn:
        history = unit_history(conn, u)
        canonical = canonical_entries(conn, 2, 3)
    assert [h.kind for h in history] == ["commissioning", "shipping", "error_declaration"]
    assert (history[1].retracted_by, history[2].retracts) == (2, 1)
    assert history[2].anomaly == "incorrect_data"
    assert history[2].prev_hash == history[1].leaf_hash  # still one chain
    # the reference is in the signed bytes
    assert json.loads(canonical[0][1])["retracts"] == 1
    make_checkpoint(network.engine, signer)
    _verify(network, signer)


def test_a_declaration_sent_again_is_a_duplicate(network: Network) -> None:
    u = item("R2")
    network.append(
        Hop(u, K.COMMISSIONING, "MFR", network.at()),
        Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
    )
    first = network.one(_declare(network, u, 1))
    again = network.one(_declare(network, u, 1))
    both = network.append(_declare(network, u, 0), _declare(network, u, 0))
    assert (again.status, again.seqs) == ("duplicate", first.seqs)
    assert [r.status for r in both] == ["accepted", "duplicate"]
    assert both[1].seqs == both[0].seqs
    assert network.count() == 4


@pytest.mark.parametrize(
    ("target", "unit", "reason"),
    [
        (99, "R3", "there is no entry at seq 99"),
        (-1, "R3", "there is no entry at seq -1"),
        (0, "OTHER", "is an entry of"),
        (2, "R3", "is an error declaration itself"),
    ],
)
def test_what_cannot_be_retracted_is_rejected_with_the_reason(
    network: Network, target: int, unit: str, reason: str
) -> None:
    u = item("R3")
    network.append(
        Hop(u, K.COMMISSIONING, "MFR", network.at()),
        Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
    )
    network.one(Hop(item("OTHER"), K.COMMISSIONING, "MFR", network.at()))
    network.one(_declare(network, u, 1))  # seq 3 retracts seq 1
    if target == 2:
        target = 3
    before = network.count()
    result = network.one(_declare(network, item(unit), target))
    assert result.status == "rejected"
    assert reason in result.reason
    assert network.count() == before


def test_declarations_need_a_seq_and_the_declaration_kind(network: Network) -> None:
    u = item("R4")
    network.one(Hop(u, K.COMMISSIONING, "MFR", network.at()))
    no_seq = network.one(Hop(u, K.ERROR_DECLARATION, "MFR", network.at()))
    wrong_kind = network.one(Hop(u, K.SHIPPING, "MFR", network.at(), retracts=0))
    assert no_seq.status == wrong_kind.status == "rejected"
    assert "name the seq" in no_seq.reason
    assert "only an error_declaration" in wrong_kind.reason
    same_batch = network.append(Hop(u, K.INSPECTING, "MFR", network.at()), _declare(network, u, 1))
    assert same_batch[1].status == "rejected" and "same request" in same_batch[1].reason


def test_a_restricted_party_retracts_only_its_own_entries(network: Network) -> None:
    u = item("R5")
    network.append(
        Hop(u, K.COMMISSIONING, "MFR", network.at()),
        Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
        Hop(u, K.RECEIVING, "D-NORTH", network.at()),
    )
    theirs = network.one(_declare(network, u, 1, party="D-NORTH", restricted=True))
    assert theirs.status == "rejected" and "another party" in theirs.reason
    assert "MFR" not in theirs.reason
    own = network.one(_declare(network, u, 2, party="D-NORTH", restricted=True))
    assert own.status == "accepted"
    assert _status(network.engine, u)["state"] == "in_transit"  # received no more


def test_retracting_a_packing_puts_the_unit_back_out_of_the_case(
    network: Network, signer: LedgerSigner
) -> None:
    u, case = item("R6"), sscc(61)
    network.one(Hop(u, K.COMMISSIONING, "MFR", network.at()))
    packed = network.one(Hop(u, K.PACKING, "MFR", network.at(), container=case))
    # packing into a new case commissions the case first: [case commissioning, packing]
    assert _status(network.engine, u)["container"] == case
    declared = network.one(_declare(network, u, packed.seqs[-1]))
    assert declared.status == "accepted"
    assert _status(network.engine, u)["container"] is None
    # a shipment of the case no longer covers the unit
    shipped = network.one(Hop(case, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"))
    assert len(shipped.seqs) == 1
    assert _status(network.engine, u)["state"] == "in_stock"
    make_checkpoint(network.engine, signer)
    _verify(network, signer)


def test_retracting_the_only_commissioning_leaves_a_unit_never_commissioned(
    network: Network, signer: LedgerSigner
) -> None:
    u = item("R7")
    network.one(Hop(u, K.COMMISSIONING, "MFR", network.at()))
    network.one(_declare(network, u, 0))
    status = _status(network.engine, u)
    assert (status["state"], status["holder"]) == ("uncommissioned", None)
    # commissioning it now is its first live commissioning: no "commissioned again"
    again = network.one(Hop(u, K.COMMISSIONING, "MFR", network.at()))
    assert again.anomaly == ""
    make_checkpoint(network.engine, signer)
    _verify(network, signer)


def test_the_snapshot_leaves_out_declarations_and_what_they_retract(
    network: Network,
) -> None:
    u, v = item("S1"), item("S2")
    network.append(
        Hop(u, K.COMMISSIONING, "MFR", network.at()),  # 0
        Hop(v, K.COMMISSIONING, "MFR", network.at()),  # 1
        Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),  # 2
    )
    network.one(_declare(network, u, 2))  # 3
    network.one(Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-SOUTH"))  # 4
    with network.engine.connect() as conn:
        snap = load_snapshot(conn, 5)
        before = load_snapshot(conn, 3)  # as of a checkpoint before the declaration
    assert snap.seq.tolist() == [0, 1, 4]
    assert snap.kind.tolist() == [K.COMMISSIONING.code, K.COMMISSIONING.code, K.SHIPPING.code]
    assert snap.tree_size == 5
    assert before.seq.tolist() == [0, 1, 2]  # the declaration came later


def _break_declaration(conn: Connection, seq: int, retracts: int) -> None:
    conn.exec_driver_sql(f"UPDATE entries SET retracts_seq = {retracts} WHERE seq = {seq}")


def test_verification_names_a_declaration_whose_reference_was_changed(
    network: Network, signer: LedgerSigner
) -> None:
    u = item("V1")
    network.append(
        Hop(u, K.COMMISSIONING, "MFR", network.at()),
        Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
    )
    network.one(_declare(network, u, 1))
    make_checkpoint(network.engine, signer)
    with network.engine.begin() as conn:
        _break_declaration(conn, 2, 0)  # now says it retracts the commissioning
    with pytest.raises(LedgerIntegrityError) as caught:
        _verify(network, signer)
    assert caught.value.seq == 2
    assert caught.value.problem == "changed"


_STEPS = st.lists(
    st.sampled_from(
        [
            ("ship", "MFR", "D-NORTH"),
            ("receive", "D-NORTH", None),
            ("ship", "D-NORTH", "DEALER"),
            ("receive", "DEALER", None),
            ("sell", "DEALER", None),
            ("inspect", "D-SOUTH", None),
        ]
    ),
    min_size=1,
    max_size=6,
)
_KINDS = {
    "ship": K.SHIPPING,
    "receive": K.RECEIVING,
    "sell": K.RETAIL_SELLING,
    "inspect": K.INSPECTING,
}
_COUNTER = iter(range(10**9))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=_STEPS, pick=st.data())
def test_custody_after_a_retraction_equals_a_ledger_that_never_had_the_entry(
    network: Network, steps: list[tuple[str, str, str | None]], pick: st.DataObject
) -> None:
    """Invariant: retracting entry i leaves the unit as a ledger without entry i."""
    n = next(_COUNTER)
    u, twin = item(f"P{n}"), item(f"Q{n}")
    hops = [Hop(u, K.COMMISSIONING, "MFR", network.at())]
    for verb, party, cp in steps:
        hops.append(Hop(u, _KINDS[verb], party, network.at(), counterparty=cp))
    drop = pick.draw(st.integers(0, len(hops) - 1))
    results = network.append(*hops)
    network.one(_declare(network, u, results[drop].seqs[0]))
    network.append(
        *(
            Hop(twin, h.kind, h.party, h.at_ms, counterparty=h.counterparty)
            for i, h in enumerate(hops)
            if i != drop
        )
    )
    mine, theirs = _status(network.engine, u), _status(network.engine, twin)
    for field in ("state", "holder", "bound_for", "container"):
        assert mine[field] == theirs[field], field


def test_replay_custody_skips_declarations_and_their_targets() -> None:
    rows = [
        (0, "commissioning", "MFR", None, None, None),
        (1, "shipping", "MFR", "D-NORTH", None, None),
        (2, "receiving", "D-NORTH", None, None, None),
        (3, "error_declaration", "D-NORTH", None, None, 2),
    ]
    custody, container = replay_custody(rows)
    assert (custody.state.value, custody.holder, custody.bound_for) == (
        "in_transit",
        "MFR",
        "D-NORTH",
    )
    assert container is None
