"""``settlement.party_zone_scans``: each scan judged by the grants of its own time."""

from __future__ import annotations

import _territories_world as w
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import settlement
from ledger.models import Party
from partners.errors import PartnerStateError
from partners.in_force import apply_signed
from partners.models import Agreement
from tests.agreement_support import SIGNER, signed_agreement, terminate


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
    """AG-D1 (AA) terminated on March 4, a new agreement grants D1 only BB from
    March 10: S2's sale in BB that day is in zone, while the inspection in NORTH (no
    grant covers it) stays out; the later AA scans (shipping on the 5th, receiving
    on the 6th) are out of zone, the earlier ones still judged by AA."""
    terminate(engine, "AG-D1", w.ms(2026, 3, 4, 0))
    signed_agreement(engine, "D1", ["BB"], valid_from="2026-03-10", number="AG-D1-BB")

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
    signed_agreement(engine, "D1-SUB", ["BB"], valid_from="2026-01-01")
    scans = settlement.party_zone_scans(engine, "D1", w.MONTH)
    assert scans.zone == ("AA", "BB")
    assert (scans.n_in_zone, scans.n_out_of_zone) == (w.IN_ZONE + 1, w.OUT_OF_ZONE - 1)


def test_a_terminated_agreement_ends_its_grant_once(engine: Engine, world: dict[str, int]) -> None:
    """Terminating AG-D1 on March 1 ends its AA grant there (not deleted: its
    history stays), so every March scan of D1's units is out of zone while
    February's zone was still AA; a second termination has nothing left to end."""
    terminate(engine, "AG-D1", w.ms(2026, 3, 1, 0))
    (aa,) = [g for g in settlement.list_grants(engine) if g.party_code == "D1"]
    assert (aa.territory_code, aa.valid_to_ms, aa.agreement_number) == (
        "AA",
        w.ms(2026, 3, 1, 0),
        "AG-D1",
    )
    march = settlement.party_zone_scans(engine, "D1", w.MONTH)
    assert march.zone == ()
    assert (march.n_in_zone, march.n_out_of_zone) == (0, w.IN_ZONE + w.OUT_OF_ZONE)
    assert settlement.party_zone_scans(engine, "D1", "2026-02").zone == ("AA",)
    terminate(engine, "AG-D1", w.ms(2026, 3, 2, 0))  # later: nothing changes
    assert [g.valid_to_ms for g in settlement.list_grants(engine) if g.party_code == "D1"] == [
        w.ms(2026, 3, 1, 0)
    ]


def test_a_supplementary_agreement_moves_a_territory_from_its_first_day(
    engine: Engine, world: dict[str, int]
) -> None:
    """AG-D1-2 gives D1 BB instead of AA from March 6: the scans before (in AA)
    are judged by the old grant and stay in zone, S2's sale in BB (after) is in
    zone, and S1's receiving in AA on the 6th is not; AG-D1 is superseded."""
    signed_agreement(
        engine, "D1", ["BB"], valid_from="2026-03-06", amends="AG-D1", number="AG-D1-2"
    )
    scans = settlement.party_zone_scans(engine, "D1", w.MONTH)
    assert scans.zone == ("AA", "BB")
    judged = {
        (k, p): bool(z) for k, p, z in zip(scans.kind, scans.scanned_by, scans.in_zone, strict=True)
    }
    assert judged[("shipping", "D1")] is True  # March 5, AA, under AG-D1
    assert judged[("receiving", "S1")] is False  # March 6, AA: no longer granted
    assert judged[("retail_selling", "S2")] is True  # BB, under the supplementary
    with Session(engine) as s:
        old = s.scalars(select(Agreement).where(Agreement.number == "AG-D1")).one()
        assert old.status == "superseded"
        new = s.scalars(select(Agreement).where(Agreement.number == "AG-D1-2")).one()
        with pytest.raises(PartnerStateError, match="AG-D1-2 is already in force"):
            apply_signed(s, new, SIGNER)  # a second apply would grant BB twice
