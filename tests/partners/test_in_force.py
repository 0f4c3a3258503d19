"""``partners.in_force``: a signed agreement's territory grants and program enrolment,
their boundaries in epoch milliseconds, supersession by a supplementary agreement,
termination, refusals, audit, and which enrolments overlap a period."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from partners.errors import PartnerError, PartnerNotFound, PartnerStateError
from partners.in_force import (
    apply_signed,
    day_end_ms,
    day_start_ms,
    end_in_force,
    enrolled_programs,
    enrolments_in_force,
    grants_in_force,
)
from partners.models import (
    Agreement,
    AgreementTerritory,
    PartnerEvent,
    ProgramEnrolment,
    TerritoryGrant,
)
from tests.agreement_support import SIGNER, signed_agreement, terminate

MARCH_1 = 1_772_323_200_000  # 2026-03-01T00:00:00Z
APRIL_1 = 1_775_001_600_000  # 2026-04-01T00:00:00Z
DAY = 86_400_000


def _agreement(s: Session, number: str) -> Agreement:
    return s.scalars(select(Agreement).where(Agreement.number == number)).one()


Row = tuple[int | None, str, int, int | None]


def _grants(engine: Engine) -> list[Row]:
    """(agreement id, territory, from, to) of every grant, in the order written."""
    g = TerritoryGrant
    with Session(engine) as s:
        rows = s.execute(
            select(g.agreement_id, g.territory_code, g.valid_from_ms, g.valid_to_ms).order_by(g.id)
        )
        return [(a, c, f, t) for a, c, f, t in rows]


def _enrolments(engine: Engine) -> list[Row]:
    """(agreement id, program, from, to) of every enrolment, in the order written."""
    e = ProgramEnrolment
    with Session(engine) as s:
        rows = s.execute(
            select(e.agreement_id, e.program_code, e.valid_from_ms, e.valid_to_ms).order_by(e.id)
        )
        return [(a, c, f, t) for a, c, f, t in rows]


def test_day_boundaries_are_utc_midnights() -> None:
    assert day_start_ms("2026-03-01") == MARCH_1
    assert day_end_ms("2026-03-31") == APRIL_1
    with pytest.raises(PartnerError, match="day must be a date YYYY-MM-DD, not '2026-02-30'"):
        day_start_ms("2026-02-30")


def test_signing_grants_and_enrols_for_the_validity(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    pid = make_party("D1")
    number = signed_agreement(engine, "D1", ["AA", "BB"], ["VOL"], "2026-03-01", "2026-03-31")
    with Session(engine) as s:
        aid = _agreement(s, number).id
        (event,) = s.scalars(
            select(PartnerEvent).where(
                PartnerEvent.agreement_id == aid, PartnerEvent.action == "agreement.in_force"
            )
        )
        assert event.party_id == pid and event.actor_name == SIGNER.username
        assert json.loads(event.detail_json) == {
            "territories": ["AA", "BB"],
            "programs": ["VOL"],
            "valid_from_ms": MARCH_1,
            "valid_to_ms": APRIL_1,
        }
        assert [g.territory_code for g in grants_in_force(s, pid, "2026-03-31")] == ["AA", "BB"]
        assert grants_in_force(s, pid, "2026-04-01") == []
        assert grants_in_force(s, pid, "2026-02-28") == []
        assert [e.program_code for e in enrolments_in_force(s, pid, "2026-03-15")] == ["VOL"]
    assert _grants(engine) == [
        (aid, "AA", MARCH_1, APRIL_1),
        (aid, "BB", MARCH_1, APRIL_1),
    ]
    assert _enrolments(engine) == [(aid, "VOL", MARCH_1, APRIL_1)]


def test_only_a_signed_agreement_is_put_in_force_and_only_once(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    pid = make_party("D1")
    number = signed_agreement(engine, "D1", ["AA"], ["VOL"])
    with Session(engine) as s, s.begin():
        a = _agreement(s, number)
        with pytest.raises(PartnerStateError, match=f"agreement {number} is already in force"):
            apply_signed(s, a, SIGNER)
        draft = Agreement(
            party_id=pid, number="DRAFT-1", status="draft", valid_from="2026-01-01",
            valid_to="2026-12-31", currency="EUR", created_by="x", created_ms=0,
        )  # fmt: skip
        s.add(draft)
        s.flush()
        s.add(AgreementTerritory(agreement_id=draft.id, territory_code="BB"))
        with pytest.raises(PartnerStateError, match="DRAFT-1 is draft; only a signed agreement"):
            apply_signed(s, draft, SIGNER)
        draft.status, draft.valid_to = "signed", "2025-12-31"
        with pytest.raises(PartnerError, match=r"ends \(2025-12-31\) before it starts"):
            apply_signed(s, draft, SIGNER)
        draft.valid_to = "31/12/2026"
        with pytest.raises(PartnerError, match="valid_to must be a date YYYY-MM-DD"):
            apply_signed(s, draft, SIGNER)
        with pytest.raises(PartnerStateError, match="DRAFT-1 was never in force"):
            end_in_force(s, draft, MARCH_1, SIGNER)
    assert [r[1] for r in _grants(engine)] == ["AA"]  # nothing more written


def test_a_supplementary_agreement_supersedes_from_its_first_day(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    make_party("D1")
    old = signed_agreement(engine, "D1", ["AA"], ["VOL"], "2026-01-01", "2026-12-31")
    new = signed_agreement(
        engine, "D1", ["AA", "BB"], ["VOL", "VAL"], "2026-03-01", "2027-12-31", amends=old
    )
    with Session(engine) as s:
        o, n = _agreement(s, old), _agreement(s, new)
        assert (o.status, n.status, n.kind, n.amends_id) == (
            "superseded",
            "signed",
            "supplementary",
            o.id,
        )
        (event,) = s.scalars(
            select(PartnerEvent).where(
                PartnerEvent.agreement_id == o.id, PartnerEvent.action == "agreement.superseded"
            )
        )
        detail = json.loads(event.detail_json)
        assert detail["by"] == new and detail["ended_at_ms"] == MARCH_1
        assert detail["status"] == ["signed", "superseded"]
        jan_1 = day_start_ms("2026-01-01")
        end = day_end_ms("2027-12-31")
        assert _grants(engine) == [
            (o.id, "AA", jan_1, MARCH_1),  # ended, not deleted: February's scans keep it
            (n.id, "AA", MARCH_1, end),
            (n.id, "BB", MARCH_1, end),
        ]
        assert enrolled_programs(s, day_start_ms("2026-02-01"), MARCH_1) == {o.party_id: {"VOL"}}
        assert enrolled_programs(s, MARCH_1, APRIL_1) == {o.party_id: {"VAL", "VOL"}}


def test_amending_another_party_s_agreement_is_refused(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    make_party("D1")
    make_party("D2")
    theirs = signed_agreement(engine, "D2", ["BB"])
    with pytest.raises(PartnerNotFound, match="which is not an agreement of the same party"):
        signed_agreement(engine, "D1", ["BB"], amends=theirs, number="STEAL-1")
    with Session(engine) as s:  # the failed signing left nothing behind
        assert s.scalar(select(func.count()).select_from(Agreement)) == 1
        assert _agreement(s, theirs).status == "signed"


def test_termination_ends_what_is_still_in_force(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    pid = make_party("D1")
    number = signed_agreement(engine, "D1", ["AA"], ["VOL"], "2026-03-10", "2026-12-31")
    terminate(engine, number, day_start_ms("2026-06-15"))
    terminate(engine, number, day_start_ms("2026-09-01"))  # later: nothing left to end
    with Session(engine) as s:
        assert [g.valid_to_ms for g in s.scalars(select(TerritoryGrant))] == [
            day_start_ms("2026-06-15")
        ]
        assert grants_in_force(s, pid, "2026-06-14") and not grants_in_force(s, pid, "2026-06-15")
        assert enrolled_programs(s, day_start_ms("2026-07-01"), day_start_ms("2026-08-01")) == {}
    other = signed_agreement(engine, "D1", ["BB"], ["VOL"], "2026-09-01", "2026-12-31")
    terminate(engine, other, day_start_ms("2026-08-01"))  # before it starts: never in force
    with Session(engine) as s:
        g = s.scalars(select(TerritoryGrant).where(TerritoryGrant.territory_code == "BB")).one()
        assert g.valid_to_ms == g.valid_from_ms == day_start_ms("2026-09-01")
        assert grants_in_force(s, pid, "2026-09-01") == []
        assert enrolled_programs(s, day_start_ms("2026-09-01"), day_start_ms("2026-10-01")) == {}
        ended = s.scalars(
            select(PartnerEvent.detail_json)
            .where(PartnerEvent.action == "agreement.in_force_ended")
            .order_by(PartnerEvent.id)  # in the order they happened (PostgreSQL gives none unasked)
        ).all()
        assert [json.loads(d)["territories"] for d in ended] == [["AA"], [], ["BB"]]


_instants = st.integers(min_value=0, max_value=40)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(_instants, st.one_of(st.none(), _instants), st.sampled_from(["P", "Q"])),
        max_size=6,
    ),
    window=st.tuples(_instants, _instants).filter(lambda w: w[0] < w[1]),
)
def test_enrolled_programs_are_those_overlapping_the_period(
    engine: Engine,
    make_party: Callable[..., int],
    rows: list[tuple[int, int | None, str]],
    window: tuple[int, int],
) -> None:
    """An enrolment [from, to) counts for [start, end) when it is in force at some
    instant of it: from < end and (open or to > start), and it is not empty."""
    pid = make_party("D1")
    aid = _enrolling_agreement(engine)
    start, end = (x * DAY for x in window)
    with Session(engine) as s:
        for lo, hi, code in rows:
            s.add(
                ProgramEnrolment(
                    party_id=pid, program_code=code, agreement_id=aid, valid_from_ms=lo * DAY,
                    valid_to_ms=None if hi is None else max(hi, lo) * DAY,
                )
            )  # fmt: skip
        s.flush()
        expected = {
            code
            for lo, hi, code in rows
            if lo * DAY < end and (hi is None or (max(hi, lo) > lo and max(hi, lo) * DAY > start))
        }
        assert enrolled_programs(s, start, end) == ({pid: expected} if expected else {})
        s.rollback()


def _enrolling_agreement(engine: Engine) -> int:
    """The id of D1's agreement E-1 (signed by the first example, reused after)."""
    with Session(engine) as s:
        found = s.scalar(select(Agreement.id).where(Agreement.number == "E-1"))
    if found is None:
        signed_agreement(engine, "D1", number="E-1")
        return _enrolling_agreement(engine)
    return found
