"""What an append stores is fixed: the same hops give the same rows, byte for byte,
as the append of commit 0eccc36 (before the batch encoder of issue 15).

The workload below touches every branch of the append (new and stored units, keys
written another way, packing into a new container, a case covering its contents,
unpacking, anomalies, notes, locations from a fix or a site, scans with receipts,
a replay, a conflict, refusals, error declarations, restricted parties). Every
column of every table an append writes, and every result, is dumped in key order
and hashed; the digests were recorded from that commit's code. A change of the
append that changes any stored byte (an entry, a leaf hash, a unit's chain head,
a tree node, the head's frontier, a receipt) fails here and names the table.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine

from ledger import EntryKind, Hop, HopResult
from ledger.ids import gs1_check_digit
from tests.ledger.conftest import GTIN, T0, Network, item, sscc
from tests.ledger.test_append_writes import _TABLES, _rows

K = EntryKind

# sha256 of repr() of each table's rows (and of the results), recorded at 0eccc36.
RECORDED = {
    "results": "08b073db7211c392e8d3f0bc1e996b4cafd3bae59f0b5585ad7deedd0169fdfc",
    "entries": "3709abde9452d2d25e2ba135fbf098c9b0d53e00ab9568aaddf6c587054677a4",
    "units": "cae82cd5be7fa481acf6ba277f6f3ec8d066c7a6f93d13566356f9b6bd9e1a86",
    "tree_nodes": "951327781c86cd056d1c92665df63e5aed23b3879a18202c24cebd7bf1d71ca1",
    "scan_receipts": "4467ee560000b9d5cf310653e9c3e9c216b729a6673e730a934fa565ab4c3fde",
    "ledger_head": "1d38746b006a2c4a7f1b6b04ffeb37efba46e4928cb0ba75ab347bcdf5584cde",
}


def _workload(network: Network) -> list[list[HopResult]]:
    """Eight batches through every branch of the append; the results of each."""
    at = iter(range(T0, T0 + 10**9, 1000))
    units = [item(f"G{i}") for i in range(40)]
    cases = [sscc(700 + i) for i in range(4)]
    short = GTIN[1:]  # the same GTIN written with 13 digits
    assert short.zfill(14) == GTIN and str(gs1_check_digit(GTIN[:-1])) == GTIN[-1]
    out: list[list[HopResult]] = []

    def run(*hops: Hop) -> None:
        out.append(network.append(*hops))

    run(
        *(Hop(u, K.COMMISSIONING, "MFR", next(at), site="MFR-PLANT") for u in units[:30]),
        Hop("/" + units[30], K.COMMISSIONING, "MFR", next(at), lat_e6=1_000_000, lon_e6=-2),
        Hop(f"01/{short}/21/G31", K.COMMISSIONING, "MFR", next(at), note="typed by hand"),
        Hop(units[0], K.COMMISSIONING, "MFR", next(at)),  # commissioned again
        Hop(units[32], K.SHIPPING, "MFR", next(at), counterparty="D-NORTH"),  # never commissioned
        Hop(units[33], K.COMMISSIONING, "NOBODY", next(at)),  # unknown party
        Hop("01/123/21/X", K.COMMISSIONING, "MFR", next(at)),  # invalid key
        Hop(units[34], K.COMMISSIONING, "MFR", next(at), site="NOWHERE"),  # unknown site
        Hop(units[35], K.COMMISSIONING, "MFR", next(at), lat_e6=1),  # half a location
        Hop(units[36], K.COMMISSIONING, "MFR", -(10**15)),  # no RFC 3339 time
    )
    run(
        *(Hop(u, K.PACKING, "MFR", next(at), container=cases[i // 5]) for i, u in enumerate(units[:10])),
        Hop(cases[0], K.PACKING, "MFR", next(at), container=cases[2]),
        Hop(cases[2], K.PACKING, "MFR", next(at), container=cases[0]),  # a loop
        Hop(units[11], K.PACKING, "MFR", next(at), container=units[12]),  # not an SSCC
        Hop(units[11], K.PACKING, "MFR", next(at)),  # no container
        Hop(cases[3], K.PACKING, "MFR", next(at), container=cases[3]),  # into itself
    )  # fmt: skip
    run(
        Hop(cases[2], K.SHIPPING, "MFR", next(at), counterparty="D-NORTH", device="HH-1", device_seq=1),
        Hop(cases[1], K.SHIPPING, "D-SOUTH", next(at), counterparty="DEALER", device="HH-1", device_seq=2),
        *(Hop(u, K.SHIPPING, "MFR", next(at), counterparty="D-SOUTH", device="HH-1", device_seq=10 + i)
          for i, u in enumerate(units[10:20])),
        Hop(units[20], K.SHIPPING, "MFR", next(at), device="HH-1", device_seq=30),  # no ship-to
        Hop(units[21], K.SHIPPING, "MFR", next(at), counterparty="D-NORTH", device_seq=31),
    )  # fmt: skip
    run(
        Hop(cases[2], K.RECEIVING, "D-NORTH", next(at), device="HH-2", device_seq=1,
            lat_e6=52_520_008, lon_e6=13_404_954, note="device clock 3 s ahead"),
        Hop(cases[1], K.RECEIVING, "D-NORTH", next(at), device="HH-2", device_seq=2),
        *(Hop(u, K.RECEIVING, "D-SOUTH", next(at), device="HH-3", device_seq=i)
          for i, u in enumerate(units[10:20])),
        Hop(cases[2], K.SHIPPING, "MFR", next(at), counterparty="D-NORTH", device="HH-1", device_seq=1),
        Hop(units[10], K.RETAIL_SELLING, "MFR", next(at), device="HH-1", device_seq=10),  # conflict
    )  # fmt: skip
    run(
        Hop(cases[2], K.UNPACKING, "D-NORTH", next(at)),
        Hop(units[1], K.UNPACKING, "D-NORTH", next(at)),
        Hop(units[25], K.UNPACKING, "MFR", next(at)),  # not packed
        Hop(units[10], K.RETAIL_SELLING, "D-SOUTH", next(at)),
        Hop(units[11], K.RETAIL_SELLING, "D-NORTH", next(at)),  # not the holder
        Hop(units[10], K.RETURNING, "D-SOUTH", next(at)),
        Hop(units[12], K.RETURNING, "D-SOUTH", next(at), counterparty="MFR"),
        Hop(units[13], K.INSPECTING, "DEALER", next(at), site="DEALER-SHOP"),
        Hop(units[13], K.INSPECTING, "MFR", next(at), site="MFR-PLANT"),
        Hop(units[14], K.DECOMMISSIONING, "D-SOUTH", next(at)),
        Hop(units[14], K.DECOMMISSIONING, "D-SOUTH", next(at)),
        Hop(units[14], K.RECEIVING, "D-SOUTH", next(at)),
        Hop(units[15], K.SHIPPING, "D-SOUTH", next(at), counterparty="DEALER"),
        Hop(units[15], K.RECEIVING, "D-NORTH", next(at)),  # shipped elsewhere
        Hop(units[16], K.RECEIVING, "DEALER", next(at), restricted=True),
    )
    run(
        Hop(units[17], K.ERROR_DECLARATION, "D-SOUTH", next(at), retracts=_seq(out, 3, 9),
            note="incorrect_data"),
        Hop(units[18], K.ERROR_DECLARATION, "D-SOUTH", next(at), retracts=_seq(out, 3, 9)),
        Hop(units[18], K.ERROR_DECLARATION, "MFR", next(at), retracts=10**9),
        Hop(units[3], K.SHIPPING, "D-NORTH", next(at), counterparty="DEALER", restricted=True),
        Hop(units[26], K.SHIPPING, "MFR", next(at), counterparty="DEALER", restricted=True),
    )  # fmt: skip
    run(
        Hop(units[17], K.ERROR_DECLARATION, "D-SOUTH", next(at), retracts=_seq(out, 3, 9)),
        Hop(units[19], K.ERROR_DECLARATION, "D-SOUTH", next(at), retracts=_seq(out, 3, 11)),
        Hop(cases[0], K.SHIPPING, "MFR", next(at), counterparty="D-SOUTH"),
        *(Hop(u, K.SHIPPING, "MFR", next(at), counterparty="D-NORTH") for u in units[22:30]),
    )
    run(*(Hop(u, K.RECEIVING, "D-NORTH", next(at)) for u in units[22:30]))
    return out


def _seq(out: list[list[HopResult]], batch: int, hop: int) -> int:
    return out[batch][hop].seqs[0]


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


def _dump(engine: Engine, network: Network) -> dict[str, str]:
    results = _workload(network)
    got = {"results": _digest(results)}
    for table in _TABLES:
        got[table] = _digest(_rows(engine, table))
    return got


def test_append_stores_the_bytes_it_stored_before(engine: Engine, network: Network) -> None:
    got = _dump(engine, network)
    assert {name: got[name] for name in RECORDED} == RECORDED
