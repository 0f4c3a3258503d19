"""A risk's owner is a person who can open the register (issue 13 fix round): an
active user of finance, channel or partner management, audit or admin - never a
distributor's user, a service user or someone switched off - and several bad
fields are named at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from partners.values import InvalidField
from risk import register as rr
from settlement.common import Actor
from web.models import User

FINANCE = Actor("fiona", "finance", None, 1)
DAY = dt.date(2026, 12, 1)
BASE: dict[str, object] = {
    "category": "credit", "title": "D1 pays late", "likelihood": 4, "impact": 3,
}  # fmt: skip


@pytest.fixture
def world(engine: Engine, make_user: Callable[..., int]) -> Engine:
    for name, role in (
        ("fiona", "finance"), ("carl", "channel_manager"), ("pam", "partner_manager"),
        ("audrey", "auditor"), ("ada", "admin"), ("olga", "channel_manager"),
        ("bot", "finance"),
    ):  # fmt: skip
        make_user(name, role)
    make_user("dora", "distributor", party="D1")
    with Session(engine) as s, s.begin():
        users = {u.username: u for u in s.scalars(select(User))}
        users["olga"].active = False  # left the company
        users["bot"].service = True  # a machine, not a person
    return engine


def test_the_owner_choices_are_the_people_who_can_open_the_register(world: Engine) -> None:
    with Session(world) as s:
        assert rr.owner_choices(s) == ["ada", "audrey", "carl", "fiona", "pam"]


@pytest.mark.parametrize("owner", ["carl", "pam", "audrey", "ada", "fiona"])
def test_every_register_role_may_own_a_risk(world: Engine, owner: str) -> None:
    assert rr.add_risk(world, FINANCE, {**BASE, "owner": owner}, on=DAY).owner == owner


@pytest.mark.parametrize("owner", ["dora", "olga", "bot", "nobody"])
def test_a_distributor_a_leaver_a_service_user_or_a_stranger_is_refused(
    world: Engine, owner: str
) -> None:
    with pytest.raises(InvalidField) as caught:
        rr.add_risk(world, FINANCE, {**BASE, "owner": owner}, on=DAY)
    assert caught.value.field == "owner"
    assert str(caught.value) == (
        f"owner: {owner} is not an active user who may open the risk register"
    )


def test_a_change_to_a_distributor_owner_is_refused_and_nothing_changes(world: Engine) -> None:
    v = rr.add_risk(world, FINANCE, {**BASE, "owner": "carl"}, on=DAY)
    with pytest.raises(InvalidField):
        rr.update_risk(world, v.id, FINANCE, {"owner": "dora", "impact": 1}, on=DAY)
    # refused as a whole: the impact did not change either (4 x 3 = 12 stays)
    again = rr.get_risk(world, v.id, FINANCE, on=DAY)
    assert (again.owner, again.impact, again.score) == ("carl", 3, 12)


def test_every_bad_and_missing_field_is_named_at_once(world: Engine) -> None:
    with pytest.raises(rr.InvalidFields) as caught:
        rr.add_risk(
            world, FINANCE,
            {"colour": "red", "category": "weather", "likelihood": 6, "owner": "dora"}, on=DAY,
        )  # fmt: skip
    words = [str(p) for p in caught.value.problems]
    assert words == [
        "colour: is not a field of a risk",
        "category: 'weather' is not one of credit, market, cooperation, brand",
        "likelihood: 6 is not a whole number from 1 to 5",
        "owner: dora is not an active user who may open the risk register",
        "title: is empty",
        "impact: is empty",
    ]
    # the exception itself reads as the first problem (a form naming one field still can)
    assert caught.value.field == "colour"
