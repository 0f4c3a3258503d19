"""Accruals: what each program would pay if the month closed now, and how many more
units a distributor needs for its next tier (computed by hand below)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from settlement import Actor, PermissionDenied, SettlementError
from settlement.accruals import accruals
from tests.money._world import october
from tests.settlement.engine_world import EngineWorld, ms

FINANCE = Actor("fiona", "finance")


@pytest.fixture
def world(engine: Engine) -> EngineWorld:
    return october(engine)


def test_mid_month_the_watchlist_says_how_many_more_units(
    engine: Engine, world: EngineWorld
) -> None:
    acc = accruals(engine, "2026-10", FINANCE, until_ms=ms(2026, 10, 15))
    assert acc.as_of_ms == ms(2026, 10, 15)
    at, be = acc.rows  # by party code
    # D-AT by the 15th: 28 units, tier "from 10" reached: 28 x 3.00 = 84.00 so far.
    assert (at.party_code, at.net_units, at.rebate_minor) == ("D-AT", 28, 8_400)
    assert (at.tier_from, at.next_from, at.shortfall) == (10, 40, 40 - 28)
    assert at.watch == "D-AT needs 12 more units for the next tier (EUR 5.00 per unit from 40)"
    # D-BE: 4 units, below the first tier: pays nothing yet, needs 10 - 4 = 6 more.
    assert (be.net_units, be.rebate_minor, be.tier_from, be.shortfall) == (4, 0, None, 6)
    assert be.watch == "D-BE needs 6 more units for the first tier (EUR 3.00 per unit from 10)"
    # Closest first: D-AT misses 12/40 = 30 % of its next tier, D-BE 6/10 = 60 %.
    assert [r.party_code for r in acc.watchlist] == ["D-AT", "D-BE"]
    assert acc.rebate_by_currency == {"EUR": 8_400}


def test_at_month_end_the_top_tier_pays_every_unit(engine: Engine, world: EngineWorld) -> None:
    acc = accruals(engine, "2026-10", FINANCE, until_ms=ms(2026, 11, 1, 0))
    at = acc.rows[0]
    # 28 + 12 = 40 units reach "from 40": retroactive, all 40 x 5.00 = 200.00.
    assert (at.net_units, at.rebate_minor, at.tier_from, at.next_from) == (40, 20_000, 40, None)
    assert at.watch == "" and [r.party_code for r in acc.watchlist] == ["D-BE"]


def test_a_distributor_gets_only_its_own_rows(engine: Engine, world: EngineWorld) -> None:
    me = Actor("d-be", "distributor", world.parties["D-BE"])
    acc = accruals(engine, "2026-10", me, until_ms=ms(2026, 10, 15))
    assert [r.party_code for r in acc.rows] == ["D-BE"]


def test_refusals(engine: Engine, world: EngineWorld) -> None:
    with pytest.raises(SettlementError, match="period 2027-01 has not started yet"):
        accruals(engine, "2027-01", FINANCE, until_ms=ms(2026, 10, 15))
    with pytest.raises(PermissionDenied):
        accruals(engine, "2026-10", Actor("w", "warehouse"), until_ms=ms(2026, 10, 15))


def test_the_accruals_pages(
    world: EngineWorld, login_as: Callable[..., FlaskClient], bearer: Callable[..., dict[str, str]],
    client: FlaskClient, app: Flask,
) -> None:  # fmt: skip
    # "As of the end of 15 October": the shipments of the 20th are not counted yet.
    url = "?period=2026-10&day=2026-10-15"
    page = login_as("channel_manager").get(f"/finance/accruals{url}").get_data(as_text=True)
    assert "D-AT needs 12 more units for the next tier (EUR 5.00 per unit from 40)" in page
    assert "D-BE needs 6 more units for the first tier" in page
    assert "84.00" in page  # D-AT's 28 x 3.00
    mine = (
        login_as("distributor", party="D-BE", on=app.test_client())
        .get(f"/partner/accruals{url}")
        .get_data(as_text=True)
    )
    assert "D-BE needs 6 more units" in mine and "D-AT" not in mine
    api = client.get(
        f"/api/v1/accruals{url}", headers=bearer("distributor", party="D-AT")
    ).get_json()
    assert [(r["party_code"], r["shortfall"], r["next_rate"]) for r in api["rows"]] == [
        ("D-AT", 12, "500")
    ]
    bad = login_as("finance", on=app.test_client()).get(
        "/finance/accruals?period=2026-10&day=2026-09-30"
    )
    assert bad.status_code == 422 and "Day 2026-09-30 is not in period 2026-10" in bad.get_data(
        as_text=True
    )


def test_tier_words_and_the_next_tier() -> None:
    from decimal import Decimal

    from settlement.accruals import next_tier, tier_words
    from settlement.rules.tiers import Tier

    tiers = (Tier(0, Decimal("100")), Tier(40, Decimal("500")))
    # Nothing is paid at 0 units, not even by a tier from 0: the first tier is next.
    assert next_tier(tiers, 0) == (None, tiers[0])
    assert next_tier(tiers, 39) == (tiers[0], tiers[1])
    assert next_tier(tiers, 40) == (tiers[1], None)
    assert tier_words("volume", tiers[1], "EUR") == "EUR 5.00 per unit from 40"
    assert (
        tier_words("volume", Tier(1_200, Decimal("512.5")), "EUR")
        == "EUR 5.125 per unit from 1,200"
    )
    # A rate converted from EUR keeps many digits: people read it rounded, marked.
    converted = Tier(120, Decimal("869.5652173913043478260869568"))
    assert tier_words("volume", converted, "USD") == "≈ USD 8.6957 per unit from 120"
    assert (
        tier_words("volume", Tier(120, Decimal("1311.4754")), "JPY")
        == "≈ JPY 1,311.48 per unit from 120"
    )
    # Value tiers: a share of value from a threshold in minor units.
    assert (
        tier_words("value", Tier(1_000_000, Decimal("0.03")), "EUR")
        == "3% of value from EUR 10,000.00"
    )


def test_a_value_program_says_how_much_more_value(engine: Engine, world: EngineWorld) -> None:
    from settlement import add_program_version, create_program
    from tests.agreement_support import enrol_distributors

    rules = {"currency": "EUR", "basis": "sell_in", "measure": "value", "mode": "retroactive",
             "tiers": [{"threshold": 300_000, "rate": "0.03"}]}  # fmt: skip
    create_program(engine, "VAL", "Value rebate", FINANCE)
    add_program_version(engine, "VAL", "2026-01", None, rules, FINANCE)
    enrol_distributors(engine, ["VAL"])
    acc = accruals(engine, "2026-10", FINANCE, until_ms=ms(2026, 10, 15))
    val = next(r for r in acc.rows if (r.party_code, r.program_code) == ("D-AT", "VAL"))
    # 28 units x list price 100.00 = 2,800.00 of value; the tier starts at 3,000.00.
    assert (val.net_value, val.rebate_minor, val.shortfall) == (280_000, 0, 20_000)
    assert val.watch == (
        "D-AT needs EUR 200.00 more value for the first tier (3% of value from EUR 3,000.00)"
    )
