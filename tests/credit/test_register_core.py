"""The risk register (issue 13, seed 000 "风险控制策略"): risks added and changed with
their audit trail, bad values refused naming the field, the 5 x 5 heat map's
counts and bands, review due, and who may read and write."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from partners.errors import PartnerDenied, PartnerNotFound
from partners.models import PartnerEvent
from partners.values import InvalidField
from risk import register as rr
from settlement.common import Actor

FINANCE = Actor("fiona", "finance", None, 1)
AUDITOR = Actor("audrey", "auditor", None, 2)
DAY = dt.date(2026, 12, 1)


@pytest.fixture
def world(engine: Engine, make_user: Callable[..., int]) -> Engine:
    make_user("fiona", "finance")
    make_user("carl", "channel_manager")
    make_user("audrey", "auditor")
    make_user("dora", "distributor", party="D1")
    return engine


def _add(engine: Engine, **values: object) -> rr.RiskView:
    base: dict[str, object] = {
        "category": "credit", "title": "D1 pays late", "likelihood": 4, "impact": 3,
        "owner": "carl", "party": "D1",
    }  # fmt: skip
    return rr.add_risk(engine, FINANCE, {**base, **values}, on=DAY)


def test_a_risk_is_added_scored_and_audited(world: Engine) -> None:
    v = _add(world, response_plan="cash only until paid")
    # score = likelihood x impact = 4 x 3 = 12: the high band (10-16); reviewed in 30 days
    assert (v.score, v.band, v.party_code) == (12, "high", "D1")
    assert v.review_on == "2026-12-31"
    with Session(world) as s:
        event = s.scalars(
            select(PartnerEvent).where(PartnerEvent.action == "credit.risk_added")
        ).one()
    detail = json.loads(event.detail_json)
    assert detail["likelihood"] == [None, 4] and detail["owner"] == [None, "carl"]
    assert event.actor_name == "fiona"


def test_a_change_is_audited_with_before_and_after(world: Engine) -> None:
    v = _add(world)
    changed = rr.update_risk(world, v.id, FINANCE, {"likelihood": "2", "status": "mitigating"})
    # 2 x 3 = 6: medium (5-9)
    assert (changed.score, changed.band, changed.status) == (6, "medium", "mitigating")
    with Session(world) as s:
        event = s.scalars(
            select(PartnerEvent).where(PartnerEvent.action == "credit.risk_updated")
        ).one()
    assert json.loads(event.detail_json) == {
        "risk": v.id,
        "likelihood": [4, 2],
        "status": ["open", "mitigating"],
    }
    rr.update_risk(world, v.id, FINANCE, {"likelihood": 2})  # nothing changed: no audit row
    with Session(world) as s:
        n = len(
            s.scalars(
                select(PartnerEvent).where(PartnerEvent.action == "credit.risk_updated")
            ).all()
        )
    assert n == 1


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("likelihood", 6, "likelihood: 6 is not a whole number from 1 to 5"),
        ("impact", "0", "impact: 0 is not a whole number from 1 to 5"),
        (
            "category",
            "weather",
            "category: 'weather' is not one of credit, market, cooperation, brand",
        ),
        ("owner", "nobody", "owner: nobody is not an active user"),
        ("party", "NOPE", "party: there is no party NOPE"),
        ("review_on", "31.12.2026", "review_on: '31.12.2026' is not a date (YYYY-MM-DD)"),
        ("title", "  ", "title: is empty"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field(
    world: Engine, field: str, value: object, words: str
) -> None:
    with pytest.raises(InvalidField) as caught:
        _add(world, **{field: value})
    assert caught.value.field == field
    assert str(caught.value).startswith(words)


def test_the_heat_map_counts_cells_bands_and_review_due(world: Engine) -> None:
    _add(world, likelihood=5, impact=5)  # 25 critical
    _add(world, likelihood=5, impact=5, category="brand", party="")  # 25 critical
    _add(world, likelihood=1, impact=2, review_on="2026-11-01")  # 2 low, review passed
    gone = _add(world, likelihood=3, impact=3)  # 9 medium, then closed
    rr.update_risk(world, gone.id, FINANCE, {"status": "closed"})
    with Session(world) as s:
        heat = rr.heat_map(s, rr.RiskFilters(on=DAY))
        credit_only = rr.heat_map(s, rr.RiskFilters(category="credit", on=DAY))
        everything = rr.heat_map(s, rr.RiskFilters(status="all", on=DAY))
    assert heat.cells[4][4] == 2 and heat.cells[0][1] == 1 and heat.total == 3
    assert heat.bands == {"low": 1, "medium": 0, "high": 0, "critical": 2}
    assert heat.review_due == 1
    assert credit_only.total == 2 and credit_only.cells[4][4] == 1
    assert everything.cells[2][2] == 1 and everything.total == 4
    page, total = rr.list_risks(world, AUDITOR, rr.RiskFilters(review_due=True, on=DAY))
    assert total == 1 and page[0].review_due and page[0].score == 2


def test_the_list_is_highest_score_first_and_paged(world: Engine) -> None:
    for likelihood in (1, 5, 3):
        _add(world, likelihood=likelihood)
    page, total = rr.list_risks(world, AUDITOR, rr.RiskFilters(on=DAY), offset=0, limit=2)
    assert total == 3 and [v.likelihood for v in page] == [5, 3]


def test_roles_auditor_reads_distributor_gets_nothing(world: Engine) -> None:
    v = _add(world)
    with pytest.raises(PartnerDenied):
        rr.add_risk(world, AUDITOR, {"title": "x"})
    dist = Actor("dora", "distributor", None, 4)
    with pytest.raises(PartnerDenied):
        rr.list_risks(world, dist, rr.RiskFilters())
    with pytest.raises(PartnerDenied):
        rr.get_risk(world, v.id, dist)
    with pytest.raises(PartnerNotFound):
        rr.get_risk(world, 9999, AUDITOR)


@given(st.integers(1, 5), st.integers(1, 5))
def test_every_score_falls_in_exactly_one_documented_band(likelihood: int, impact: int) -> None:
    score = likelihood * impact
    band = rr.band_for(score)
    low, high = next((lo, hi) for name, lo, hi in rr.BANDS if name == band)
    assert low <= score <= high
