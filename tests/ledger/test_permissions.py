"""A restricted party writes only within its custody (ledger.permissions), and reads
only units handed to it (ledger.access): checked on the append itself, on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import EntryKind, Hop, UnitNotFoundError, unit_history, unit_status
from ledger.access import may_read_unit, require_readable
from ledger.ids import OBSERVATION_KINDS
from ledger.permissions import CUSTODY_RULE, acts_within_custody
from tests.ledger.conftest import Network, item, sscc

K = EntryKind
ALL_KINDS = list(OBSERVATION_KINDS)
HELD_OK = {K(v) for v in CUSTODY_RULE.on_held}


def _made(network: Network, *keys: str) -> None:
    """Commission ``keys`` at the manufacturer."""
    results = network.append(*(Hop(k, K.COMMISSIONING, "MFR", network.at()) for k in keys))
    assert {r.status for r in results} == {"accepted"}


def _hop(kind: EntryKind, key: str, party: str, at: int) -> Hop:
    counterparty = "DEALER" if kind in (K.SHIPPING, K.RETURNING) else None
    container = sscc(900) if kind is K.PACKING else None
    return Hop(
        key, kind, party, at, counterparty=counterparty, container=container, restricted=True
    )


def _readable(network: Network, key: str, party: str) -> bool:
    with network.engine.connect() as conn:
        return may_read_unit(conn, key, party)


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.value)
def test_every_kind_on_a_held_an_addressed_and_a_foreign_unit(
    network: Network, kind: EntryKind
) -> None:
    held, addressed, foreign = item("H1"), item("A1"), item("F1")
    _made(network, held, addressed, foreign)
    network.append(
        Hop(held, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
        Hop(held, K.RECEIVING, "D-NORTH", network.at()),
        Hop(addressed, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
        Hop(foreign, K.SHIPPING, "MFR", network.at(), counterparty="D-SOUTH"),
    )
    before = network.count()
    on_held, on_addressed, on_foreign = (
        network.one(_hop(kind, key, "D-NORTH", network.at())) for key in (held, addressed, foreign)
    )
    assert on_held.status == ("accepted" if kind in HELD_OK else "rejected"), on_held.reason
    assert on_addressed.status == ("accepted" if kind is K.RECEIVING else "rejected")
    assert on_foreign.status == "rejected"
    accepted = [r for r in (on_held, on_addressed) if r.status == "accepted"]
    assert network.count() == before + sum(len(r.seqs) for r in accepted)
    # A refusal names the unit, the kind and the party, and never the holder.
    assert foreign in on_foreign.reason
    assert kind.value in on_foreign.reason
    assert "D-NORTH" in on_foreign.reason
    assert "D-SOUTH" not in on_foreign.reason and "MFR" not in on_foreign.reason
    with network.engine.connect() as conn:
        assert unit_status(conn, foreign).bound_for == "D-SOUTH"  # untouched


def test_the_issue_case_inspecting_a_foreign_unit_is_refused_and_grants_nothing(
    network: Network,
) -> None:
    u = item("X1")
    _made(network, u)
    network.one(Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-SOUTH"))
    before = network.count()
    result = network.one(Hop(u, K.INSPECTING, "D-NORTH", network.at(), restricted=True))
    assert result.status == "rejected"
    assert result.reason.startswith(f"inspecting of {u} by D-NORTH refused")
    assert network.count() == before
    assert not _readable(network, u, "D-NORTH")
    assert _readable(network, u, "D-SOUTH")


def test_a_foreign_unit_and_a_unit_that_does_not_exist_are_refused_in_the_same_words(
    network: Network,
) -> None:
    foreign, missing = item("00000041"), item("00000042")
    _made(network, foreign)
    for kind in (K.RECEIVING, K.SHIPPING, K.RETAIL_SELLING, K.DECOMMISSIONING):
        a = network.one(_hop(kind, foreign, "D-NORTH", network.at()))
        b = network.one(_hop(kind, missing, "D-NORTH", network.at()))
        assert (a.status, b.status) == ("rejected", "rejected")
        assert a.reason.replace(foreign, "KEY") == b.reason.replace(missing, "KEY")
    with network.engine.connect() as conn, pytest.raises(UnitNotFoundError):
        unit_status(conn, missing)  # a refused hop never creates a unit


def test_a_manufacturer_hop_is_not_restricted(network: Network) -> None:
    u = item("M1")
    _made(network, u)
    network.one(Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-SOUTH"))
    # Unrestricted (the manufacturer's staff, any party they act for): recorded,
    # with the custody anomaly the rules find.
    inspected = network.one(Hop(u, K.INSPECTING, "MFR", network.at()))
    odd = network.one(Hop(u, K.RECEIVING, "D-NORTH", network.at()))
    assert (inspected.status, odd.status) == ("accepted", "accepted")
    assert "shipped to D-SOUTH" in odd.anomaly


def test_a_pallet_addressed_to_the_party_is_received_with_its_contents(
    network: Network,
) -> None:
    pallet, inside, other = sscc(1), [item("P1"), item("P2")], sscc(2)
    _made(network, *inside, item("P3"))
    network.append(
        *(Hop(u, K.PACKING, "MFR", network.at(), container=pallet) for u in inside),
        Hop(item("P3"), K.PACKING, "MFR", network.at(), container=other),
        Hop(pallet, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
        Hop(other, K.SHIPPING, "MFR", network.at(), counterparty="D-SOUTH"),
    )
    got = network.one(Hop(pallet, K.RECEIVING, "D-NORTH", network.at(), restricted=True))
    assert got.status == "accepted" and len(got.seqs) == 3  # the pallet and both units
    before = network.count()
    # The other pallet is checked as a whole: refused, nothing for what is inside.
    theirs = network.one(Hop(other, K.RECEIVING, "D-NORTH", network.at(), restricted=True))
    assert theirs.status == "rejected" and other in theirs.reason
    assert network.count() == before
    # What it now holds it may unpack, ship on and sell, in one batch.
    results = network.append(
        Hop(pallet, K.UNPACKING, "D-NORTH", network.at(), restricted=True),
        Hop(inside[0], K.SHIPPING, "D-NORTH", network.at(), counterparty="DEALER", restricted=True),
        Hop(inside[1], K.RETAIL_SELLING, "D-NORTH", network.at(), restricted=True),
        Hop(inside[0], K.RECEIVING, "DEALER", network.at(), restricted=True),
        Hop(inside[0], K.RETAIL_SELLING, "DEALER", network.at(), restricted=True),
    )
    assert [r.status for r in results] == ["accepted"] * 5, [r.reason for r in results]


def test_packing_goes_into_the_partys_own_or_new_cases_only(network: Network) -> None:
    mine, theirs = item("C1"), sscc(20)
    _made(network, mine, item("C2"))
    network.append(
        Hop(item("C2"), K.PACKING, "MFR", network.at(), container=theirs),
        Hop(mine, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
        Hop(mine, K.RECEIVING, "D-NORTH", network.at()),
    )
    before = network.count()
    into_theirs = network.one(
        Hop(mine, K.PACKING, "D-NORTH", network.at(), container=theirs, restricted=True)
    )
    assert into_theirs.status == "rejected"
    assert theirs in into_theirs.reason and "MFR" not in into_theirs.reason
    assert network.count() == before
    new_case = sscc(21)
    packed = network.one(
        Hop(mine, K.PACKING, "D-NORTH", network.at(), container=new_case, restricted=True)
    )
    assert packed.status == "accepted"
    with network.engine.connect() as conn:
        assert unit_status(conn, new_case).holder == "D-NORTH"
    assert _readable(network, new_case, "D-NORTH")  # the case it made
    assert not _readable(network, new_case, "D-SOUTH")


def test_read_access_comes_from_hand_overs_never_from_entries_written(
    network: Network,
) -> None:
    u, passed, legacy, unknown = item("R1"), item("R2"), item("R3"), item("R4")
    _made(network, u, passed, legacy)
    network.append(
        Hop(u, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),  # allocated, in transit
        Hop(passed, K.SHIPPING, "MFR", network.at(), counterparty="D-NORTH"),
        Hop(passed, K.RECEIVING, "D-NORTH", network.at(), restricted=True),
        Hop(passed, K.SHIPPING, "D-NORTH", network.at(), counterparty="D-SOUTH", restricted=True),
        Hop(passed, K.RECEIVING, "D-SOUTH", network.at(), restricted=True),
        Hop(passed, K.RETURNING, "D-SOUTH", network.at(), counterparty="MFR", restricted=True),
        # Entries D-SOUTH wrote itself, unrestricted as before this rule existed: a
        # receipt nobody shipped to it (it is now the holder) and an inspection.
        Hop(legacy, K.RECEIVING, "D-SOUTH", network.at()),
        Hop(legacy, K.INSPECTING, "D-SOUTH", network.at()),
    )
    assert _readable(network, u, "D-NORTH")  # allocated and addressed to it now
    assert not _readable(network, u, "D-SOUTH")
    assert _readable(network, passed, "D-NORTH")  # custody passed through it
    assert _readable(network, passed, "D-SOUTH")  # D-NORTH shipped it there
    assert not _readable(network, passed, "DEALER")
    with network.engine.connect() as conn:
        assert unit_status(conn, legacy).holder == "D-SOUTH"
    assert not _readable(network, legacy, "D-SOUTH")  # its own entries grant nothing
    assert not _readable(network, unknown, "D-SOUTH")
    assert not _readable(network, u, "")
    assert not _readable(network, u, "NO-SUCH-PARTY")
    with network.engine.connect() as conn:
        for key in (legacy, unknown):
            with pytest.raises(UnitNotFoundError) as refused:
                require_readable(conn, key, "D-SOUTH")
            assert str(refused.value) == f"no unit {key} in the ledger"
        with pytest.raises(UnitNotFoundError) as missing:
            unit_history(conn, unknown)
        assert str(missing.value) == f"no unit {unknown} in the ledger"  # the same words


def test_party_kinds_that_act_within_custody() -> None:
    assert acts_within_custody("distributor") and acts_within_custody("dealer")
    assert not acts_within_custody("manufacturer")
    assert not acts_within_custody("inspector")
    assert not acts_within_custody(None)


_POOL = [item(f"Q{i}") for i in range(4)]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    moves=st.lists(
        st.tuples(st.sampled_from(ALL_KINDS), st.integers(0, len(_POOL) - 1)),
        min_size=1,
        max_size=12,
    )
)
def test_restricted_writes_never_reach_units_not_handed_over(
    network: Network, moves: list[tuple[EntryKind, int]]
) -> None:
    """Whatever a restricted D-NORTH tries on units shipped to D-SOUTH or never
    shipped, nothing is stored and it reads none of them."""
    if network.count() == 0:
        _made(network, *_POOL)
        network.append(
            Hop(_POOL[0], K.SHIPPING, "MFR", network.at(), counterparty="D-SOUTH"),
            Hop(_POOL[1], K.SHIPPING, "MFR", network.at(), counterparty="D-SOUTH"),
            Hop(_POOL[1], K.RECEIVING, "D-SOUTH", network.at()),
        )
    before = network.count()
    hops = [_hop(kind, _POOL[i], "D-NORTH", network.at()) for kind, i in moves]
    results = network.append(*hops)
    assert {r.status for r in results} == {"rejected"}
    assert network.count() == before
    assert not any(_readable(network, key, "D-NORTH") for key in _POOL)
