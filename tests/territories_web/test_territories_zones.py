"""``settlement.party_zone_scans``: each scan judged by the grants of its own time."""

from __future__ import annotations

import _territories_world as w
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import settlement
from ledger.models import Party


def test_the_hand_built_month(engine: Engine, world: dict[str, int]) -> None:
    scans = settlement.party_zone_scans(engine, "D1", w.MONTH)
    assert scans.zone == ("AA",)
    assert (scans.n_in_zone, scans.n_out_of_zone) == (w.IN_ZONE, w.OUT_OF_ZONE)
    assert scans.units == 4  # unit 5 was never located, unit 6 is D2's
    out = [
        (kind, by, where)
        for kind, by, where, inside in zip(
            scans.kind, scans.scanned_by, scans.located, scans.in_zone, strict=True
        )
        if not inside
    ]
    assert out == [
        ("receiving", "D1", ""),
        ("retail_selling", "S2", "BB"),
        ("inspecting", "S2", "NORTH"),
    ]
    april = settlement.party_zone_scans(engine, "D1", "2026-04")
    assert (april.n_in_zone, april.n_out_of_zone) == (1, 0)


def test_a_grant_counts_only_while_in_force(engine: Engine, world: dict[str, int]) -> None:
    """BB granted to D1 from March 10: S2's sale in BB that day is in zone, while the
    inspection in NORTH (no grant covers it) stays out; ending AA on March 4 turns
    the later AA scans (shipping on the 5th, receiving on the 6th) out of zone."""
    actor = settlement.Actor("test", "channel_manager")
    settlement.grant_party_territory(engine, "D1", "BB", w.ms(2026, 3, 10, 0), actor)
    aa = next(g for g in settlement.list_grants(engine) if g.party_code == "D1")
    settlement.end_party_grant(engine, aa.id, w.ms(2026, 3, 4, 0), actor)

    scans = settlement.party_zone_scans(engine, "D1", w.MONTH)
    assert scans.zone == ("AA", "BB")
    judged = {
        (k, p): bool(z) for k, p, z in zip(scans.kind, scans.scanned_by, scans.in_zone, strict=True)
    }
    assert judged[("retail_selling", "S2")] is True
    assert judged[("inspecting", "S2")] is False
    assert judged[("shipping", "D1")] is False
    assert judged[("receiving", "S1")] is False
    assert (scans.n_in_zone, scans.n_out_of_zone) == (4, 4)


def test_a_sub_distributor_s_grant_is_in_its_parent_s_zone(
    engine: Engine, world: dict[str, int]
) -> None:
    with Session(engine) as s, s.begin():
        s.add(Party(code="D1-SUB", name="Sub", kind="distributor", parent_id=world["D1"]))
    settlement.grant_party_territory(
        engine, "D1-SUB", "BB", w.ms(2026, 1, 1, 0), settlement.Actor("t", "admin")
    )
    scans = settlement.party_zone_scans(engine, "D1", w.MONTH)
    assert scans.zone == ("AA", "BB")
    assert (scans.n_in_zone, scans.n_out_of_zone) == (w.IN_ZONE + 1, w.OUT_OF_ZONE - 1)


def test_ending_a_grant_twice_or_before_it_starts_is_refused(
    engine: Engine, world: dict[str, int]
) -> None:
    actor = settlement.Actor("test", "admin")
    aa = next(g for g in settlement.list_grants(engine) if g.party_code == "D1")
    with pytest.raises(settlement.SettlementError, match="cannot end before"):
        settlement.end_party_grant(engine, aa.id, w.ms(2025, 12, 1, 0), actor)
    settlement.end_party_grant(engine, aa.id, w.ms(2026, 3, 1, 0), actor)
    with pytest.raises(settlement.SettlementError, match="already ended"):
        settlement.end_party_grant(engine, aa.id, w.ms(2026, 3, 2, 0), actor)
    with pytest.raises(settlement.PermissionDenied, match="may not end territory grants"):
        settlement.end_party_grant(
            engine, aa.id, w.ms(2026, 3, 2, 0), settlement.Actor("f", "finance")
        )
