"""A ledger with a bit of everything the column readers convert: every entry kind
(an error declaration included), entries with and without a counterparty, with a
scan fix, a site's location or none. Same appends give the same ids and seqs on
SQLite and PostgreSQL."""

from __future__ import annotations

from ledger import EntryKind, Hop
from tests.ledger.conftest import Network, item, sscc

K = EntryKind


def journey(network: Network, n: int, prefix: str = "MIX") -> int:
    """Unit ``{prefix}{n}`` and its case through every kind: 15 entries (a hop on
    the case covers the unit packed in it), the unit's second shipment retracted
    by an error declaration. Returns the ledger size after it."""
    u = item(f"{prefix}{n}")
    case = sscc(10_000 + n if prefix == "MIX" else 20_000 + n)
    ok = network.append(
        Hop(u, K.COMMISSIONING, "MFR", network.at()),  # no location, no counterparty
        Hop(case, K.COMMISSIONING, "MFR", network.at(), site="MFR-PLANT"),  # the site's
        Hop(u, K.PACKING, "MFR", network.at(), container=case),
        Hop(case, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH", lat_e6=1, lon_e6=-2),
        Hop(case, K.UNPACKING, "D-NORTH", network.at()),
        Hop(u, K.RECEIVING, "D-NORTH", network.at(), lat_e6=-45_000_000, lon_e6=179_999_999),
        Hop(u, K.SHIPPING, "D-NORTH", network.at(), counterparty="DEALER"),
        Hop(u, K.RECEIVING, "DEALER", network.at()),
        Hop(u, K.INSPECTING, "DEALER", network.at()),
        Hop(u, K.RETAIL_SELLING, "DEALER", network.at()),
        Hop(u, K.RETURNING, "DEALER", network.at(), counterparty="D-NORTH"),
    )
    assert all(r.status == "accepted" for r in ok), ok
    shipped = ok[6].seqs[0]
    declared = network.one(
        Hop(u, K.ERROR_DECLARATION, "MFR", network.at(), retracts=shipped, note="incorrect_data")
    )
    assert declared.status == "accepted", declared
    gone = network.one(Hop(case, K.DECOMMISSIONING, "MFR", network.at()))
    assert gone.status == "accepted", gone
    return gone.seqs[-1] + 1
