"""Appending hops: custody, anomalies, aggregation, idempotency, atomicity."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Engine

from ledger import EntryKind, Hop, contents, merkle, unit_history, unit_status
from ledger.append import _Batch
from ledger.tree import read_head
from tests.ledger.conftest import Network, item, sscc

K = EntryKind


def _status(engine: Engine, key: str) -> dict[str, object]:
    with engine.connect() as conn:
        return unit_status(conn, key).as_json()


def test_a_clean_journey_has_no_anomalies(network: Network) -> None:
    u = item("A1")
    results = network.append(
        Hop(u, K.COMMISSIONING, "MFR", network.at(), site="MFR-PLANT"),
        Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
        Hop(u, K.RECEIVING, "D-NORTH", network.at()),
        Hop(u, K.SHIPPING, "D-NORTH", network.at(), counterparty="DEALER"),
        Hop(u, K.RECEIVING, "DEALER", network.at()),
        Hop(u, K.RETAIL_SELLING, "DEALER", network.at()),
    )
    assert [r.status for r in results] == ["accepted"] * 6
    assert [r.seqs for r in results] == [(i,) for i in range(6)]
    assert all(r.anomaly == "" for r in results)
    assert _status(network.engine, u)["state"] == "sold"
    assert _status(network.engine, u)["holder"] == "DEALER"
    with network.engine.connect() as conn:
        history = unit_history(conn, u)
    assert [h.kind for h in history] == [
        "commissioning",
        "shipping",
        "receiving",
        "shipping",
        "receiving",
        "retail_selling",
    ]
    # each entry names the previous entry of the unit by its leaf hash
    assert history[0].prev_hash == b""
    assert all(b.prev_hash == a.leaf_hash for a, b in itertools.pairwise(history))
    # the commissioning scan took the site's coordinates
    assert (history[0].lat_e6, history[0].lon_e6) == (48_137_154, 11_576_124)


def test_receipt_by_the_wrong_party_is_recorded_as_an_anomaly(network: Network) -> None:
    u = item("A2")
    network.append(
        Hop(u, K.COMMISSIONING, "MFR", network.at()),
        Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
    )
    result = network.one(Hop(u, K.RECEIVING, "D-SOUTH", network.at()))
    assert result.status == "accepted"
    assert result.anomaly == "received by D-SOUTH but shipped to D-NORTH"
    # custody follows what was physically seen
    assert _status(network.engine, u)["holder"] == "D-SOUTH"
    with network.engine.connect() as conn:
        assert unit_history(conn, u)[-1].anomaly == result.anomaly


@pytest.mark.parametrize(
    ("hops", "expected"),
    [
        (
            [(K.SHIPPING, "D-NORTH", "DEALER")],
            "shipped by D-NORTH, which does not hold it (holder MFR)",
        ),
        (
            [(K.DECOMMISSIONING, "MFR", None), (K.INSPECTING, "DEALER", None)],
            "inspected after decommissioning",
        ),
        (
            [(K.RETAIL_SELLING, "MFR", None), (K.RETAIL_SELLING, "MFR", None)],
            "sold after it was sold",
        ),
        ([(K.RECEIVING, "D-NORTH", None)], "received by D-NORTH but never shipped (holder MFR)"),
        ([(K.COMMISSIONING, "MFR", None)], "commissioned again"),
    ],
)
def test_custody_contradictions_are_kept_and_explained(
    network: Network, hops: list[tuple[K, str, str | None]], expected: str
) -> None:
    u = item("C1")
    network.one(Hop(u, K.COMMISSIONING, "MFR", network.at()))
    results = network.append(*(Hop(u, k, p, network.at(), counterparty=c) for k, p, c in hops))
    assert results[-1].status == "accepted"
    assert results[-1].anomaly == expected


def test_a_unit_never_commissioned_is_flagged_on_first_sight(network: Network) -> None:
    result = network.one(Hop(item("GHOST"), K.INSPECTING, "DEALER", network.at()))
    assert result.status == "accepted"
    assert result.anomaly == "inspecting of a unit that was never commissioned"
    assert _status(network.engine, item("GHOST"))["state"] == "uncommissioned"


def test_shipping_a_pallet_covers_every_unit_inside_it(network: Network) -> None:
    units = [item(f"P{i}") for i in range(4)]
    case_a, case_b, pallet = sscc(1), sscc(2), sscc(3)
    network.append(*(Hop(u, K.COMMISSIONING, "MFR", network.at()) for u in units))
    packed = network.append(
        Hop(units[0], K.PACKING, "MFR", network.at(), container=case_a),
        Hop(units[1], K.PACKING, "MFR", network.at(), container=case_a),
        Hop(units[2], K.PACKING, "MFR", network.at(), container=case_b),
        Hop(case_a, K.PACKING, "MFR", network.at(), container=pallet),
        Hop(case_b, K.PACKING, "MFR", network.at(), container=pallet),
    )
    # the first packing into a new SSCC commissions it first
    assert [len(r.seqs) for r in packed] == [2, 1, 2, 2, 1]
    shipped = network.one(Hop(pallet, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"))
    assert len(shipped.seqs) == 1 + 2 + 3  # pallet, two cases, three units
    with network.engine.connect() as conn:
        assert contents(conn, pallet) == [case_a, case_b, units[2], units[0], units[1]]
        assert contents(conn, pallet, recursive=False) == [case_a, case_b]
        status = unit_status(conn, units[0])
    assert (status.container, status.outermost) == (case_a, pallet)
    assert status.state == "in_transit" and status.bound_for == "D-NORTH"
    assert _status(network.engine, units[3])["state"] == "in_stock"  # not packed, not shipped

    received = network.one(Hop(pallet, K.RECEIVING, "D-NORTH", network.at()))
    assert len(received.seqs) == 6 and received.anomaly == ""
    unpacked = network.one(Hop(case_a, K.UNPACKING, "D-NORTH", network.at()))
    # case_a is itself inside the pallet: unpacking it takes it out of the pallet
    assert len(unpacked.seqs) == 1
    unpacked = network.one(Hop(pallet, K.UNPACKING, "D-NORTH", network.at()))
    assert len(unpacked.seqs) == 2  # the pallet and case_b
    with network.engine.connect() as conn:
        assert contents(conn, pallet) == []
        assert unit_status(conn, units[2]).outermost == case_b


def test_packing_into_a_loop_is_rejected(network: Network) -> None:
    case, pallet = sscc(10), sscc(11)
    network.one(Hop(case, K.PACKING, "MFR", network.at(), container=pallet))
    before = network.count()
    result = network.one(Hop(pallet, K.PACKING, "MFR", network.at(), container=case))
    assert result.status == "rejected"
    assert "loop" in result.reason
    assert network.count() == before


def test_a_replayed_scan_appends_nothing(network: Network) -> None:
    u = item("R1")
    hop = Hop(u, K.COMMISSIONING, "MFR", network.at(), device="HH-7", device_seq=41)
    first = network.one(hop)
    again = network.append(hop, hop)
    assert first.status == "accepted"
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    assert all(r.seqs == first.seqs for r in again)
    assert network.count() == 1
    # within one batch too
    h2 = Hop(item("R2"), K.COMMISSIONING, "MFR", network.at(), device="HH-7", device_seq=42)
    both = network.append(h2, h2)
    assert [r.status for r in both] == ["accepted", "duplicate"]
    assert network.count() == 2


def test_bad_hops_are_rejected_with_a_reason_and_the_rest_commit(network: Network) -> None:
    results = network.append(
        Hop(item("OK1"), K.COMMISSIONING, "MFR", network.at()),
        Hop("01/09506000134353/21/X", K.COMMISSIONING, "MFR", network.at()),
        Hop(item("OK2"), K.COMMISSIONING, "NOBODY", network.at()),
        Hop(item("OK3"), K.SHIPPING, "MFR", network.at(), counterparty="NOBODY"),
        Hop(item("OK4"), K.INSPECTING, "MFR", network.at(), lat_e6=91_000_000, lon_e6=0),
        Hop(item("OK5"), K.PACKING, "MFR", network.at(), container=item("OK1")),
        Hop(item("OK6"), K.COMMISSIONING, "MFR", network.at()),
    )
    assert [r.status for r in results] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert "check digit 3, expected 2" in results[1].reason
    assert results[2].reason == "unknown party 'NOBODY'"
    assert results[3].reason == "unknown counterparty 'NOBODY'"
    assert "outside the globe" in results[4].reason
    assert "not an SSCC" in results[5].reason
    assert results[6].seqs == (1,)  # rejected hops consumed no seq
    assert network.count() == 2
    assert network.count("units") == 2


def test_a_failing_batch_leaves_nothing_behind(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    network.one(Hop(item("B0"), K.COMMISSIONING, "MFR", network.at()))
    with network.engine.connect() as conn:
        root_before = read_head(conn).root

    original = _Batch._write

    def write_then_fail(self: _Batch) -> None:
        original(self)
        raise RuntimeError("disk unplugged")

    monkeypatch.setattr(_Batch, "_write", write_then_fail)
    with pytest.raises(RuntimeError):
        network.append(
            *(Hop(item(f"B{i}"), K.COMMISSIONING, "MFR", network.at()) for i in range(1, 50))
        )
    monkeypatch.undo()
    assert network.count() == 1
    assert network.count("units") == 1
    with network.engine.connect() as conn:
        assert read_head(conn).root == root_before


def test_head_root_matches_the_leaves_after_many_batches(network: Network) -> None:
    for batch in range(7):
        network.append(
            *(
                Hop(item(f"M{batch}-{i}"), K.COMMISSIONING, "MFR", network.at())
                for i in range(batch * 5 + 3)
            )
        )
    with network.engine.connect() as conn:
        leaves = [
            bytes(h) for (h,) in conn.exec_driver_sql("SELECT leaf_hash FROM entries ORDER BY seq")
        ]
        head = read_head(conn)
    assert head.size == len(leaves) == sum(b * 5 + 3 for b in range(7))
    assert head.root == merkle.root_from_leaves(leaves)


def test_a_serial_with_a_slash_is_one_unit(network: Network) -> None:
    u = item("LOT/42/")
    assert network.one(Hop(u, K.COMMISSIONING, "MFR", network.at())).status == "accepted"
    assert _status(network.engine, u)["key"] == u


def test_what_intake_noticed_is_recorded_in_the_entry(network: Network) -> None:
    u = item("SKEW")
    result = network.one(
        Hop(u, K.COMMISSIONING, "MFR", network.at(), note="device clock 1800 s ahead")
    )
    assert result.anomaly == "device clock 1800 s ahead"
    with network.engine.connect() as conn:
        assert unit_history(conn, u)[0].anomaly == "device clock 1800 s ahead"


def test_a_key_written_with_a_short_gtin_is_the_same_unit(network: Network) -> None:
    long_form = "01/09506000134352/21/SAME"
    network.one(Hop(long_form, K.COMMISSIONING, "MFR", network.at()))
    # the same unit, its GTIN written as EAN-13 (as a Digital Link may carry it)
    result = network.one(
        Hop("01/9506000134352/21/SAME", K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH")
    )
    assert result.status == "accepted" and result.anomaly == ""
    assert network.count("units") == 1
    assert _status(network.engine, long_form)["state"] == "in_transit"
