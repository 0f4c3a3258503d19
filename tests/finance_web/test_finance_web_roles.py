"""Who may open and change reference data on the pages: finance reads and edits;
channel managers, auditors and admins read without a single edit form; warehouse
staff and distributors are refused everything (403), and a read role's POST is
refused on the server, not only hidden."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import Engine

import settlement
from tests.finance_web._pages import Browser
from web.roles import Role

FINANCE = settlement.Actor("setup", "finance", user_id=9001)
READERS = {Role.FINANCE, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN}
EDITORS = {Role.FINANCE}
BLUEPRINTS = (
    "reference", "prices", "fx", "programs", "targets", "deposits", "adjustments", "billing",
    "imports",
)  # fmt: skip

# Every endpoint of these pages and the roles it lets in; a new one missing here fails.
EXPECTED: dict[str, set[Role]] = {
    "reference.index": READERS,
    "reference.history": READERS,
    "prices.index": READERS,
    "prices.add": EDITORS,
    "fx.index": READERS,
    "fx.add": EDITORS,
    "programs.index": READERS,
    "programs.create": EDITORS,
    "programs.detail": READERS,
    "programs.preview": READERS,  # shows what a version would pay; stores nothing
    "programs.add_version": EDITORS,
    "targets.index": READERS,
    "targets.add": EDITORS,
    "deposits.index": READERS,
    "deposits.party": READERS,
    "deposits.movement": EDITORS,
    "deposits.agreement": EDITORS,
    "deposits.topup": EDITORS,
    "adjustments.index": READERS,
    "adjustments.add": EDITORS,
    "adjustments.approve": EDITORS,
    "adjustments.reject": EDITORS,
    "billing.index": READERS,
    "billing.save": EDITORS,
    "imports.index": EDITORS,  # a form and nothing else: only for those who may import
    "imports.upload": EDITORS,
}

_POST_FORM = re.compile(r'<form method="post" action="([^"]+)"')


@pytest.fixture
def world(engine: Engine, parties: dict[str, int]) -> dict[str, str]:
    """A program and a distributor, so that their own pages exist: endpoint -> URL."""
    settlement.create_program(engine, "VOL", "Volume rebate", FINANCE)
    north = parties["D-NORTH"]
    aid = settlement.add_adjustment(engine, north, 500, "credit note", FINANCE)
    return {
        "reference.index": "/finance/reference/",
        "reference.history": "/finance/reference/history",
        "prices.index": "/finance/prices/",
        "fx.index": "/finance/fx/",
        "programs.index": "/finance/programs/",
        "programs.detail": "/finance/programs/VOL",
        "targets.index": "/finance/targets/",
        "deposits.index": "/finance/deposits/",
        "deposits.party": f"/finance/deposits/{north}",
        "adjustments.index": "/finance/adjustments/",
        "billing.index": "/finance/billing/",
        "imports.index": "/finance/import/",
        "prices.add": "/finance/prices/",
        "fx.add": "/finance/fx/",
        "programs.create": "/finance/programs/",
        "programs.preview": "/finance/programs/VOL/preview",
        "programs.add_version": "/finance/programs/VOL/versions",
        "targets.add": "/finance/targets/",
        "deposits.movement": f"/finance/deposits/{north}/movements",
        "deposits.agreement": f"/finance/deposits/{north}/agreement",
        "deposits.topup": f"/finance/deposits/{north}/topups",
        "adjustments.add": "/finance/adjustments/",
        "adjustments.approve": f"/finance/adjustments/{aid}/approve",
        "adjustments.reject": f"/finance/adjustments/{aid}/reject",
        "billing.save": "/finance/billing/",
        "imports.upload": "/finance/import/",
    }


def test_every_endpoint_is_listed_with_its_roles(words_app: Flask) -> None:
    ours = {
        endpoint: set(getattr(view, "hopchain_roles", ()))
        for endpoint, view in words_app.view_functions.items()
        if endpoint.split(".")[0] in BLUEPRINTS
    }
    assert ours == EXPECTED


def _is_get(app: Flask, endpoint: str) -> bool:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return "GET" in (rule.methods or ())


@pytest.mark.parametrize("role", list(Role))
def test_pages_open_for_readers_and_refuse_the_rest(
    app: Flask, world: dict[str, str], browser: Callable[..., Browser], role: Role
) -> None:
    user = browser(role.value)
    for endpoint, allowed in EXPECTED.items():
        url = world[endpoint]
        if _is_get(app, endpoint):
            status = user.get(url).status_code
            assert status == (200 if role in allowed else 403), (endpoint, role, status)
        elif role not in allowed:
            # an empty POST: the role check answers before anything is read
            status = user.post(url, {}).status_code
            assert status == 403, (endpoint, role, status)


@pytest.mark.parametrize("role", [Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN])
def test_readers_see_no_edit_form(
    app: Flask, world: dict[str, str], browser: Callable[..., Browser], role: Role
) -> None:
    user = browser(role.value)
    for endpoint, allowed in EXPECTED.items():
        if role not in allowed or not _is_get(app, endpoint):
            continue
        page = user.text(world[endpoint])
        actions = [
            a for a in _POST_FORM.findall(page) if a not in ("/logout", "/language")
        ]  # the layout's forms
        # the program page keeps its preview, which stores nothing
        assert actions == ([world["programs.preview"]] if endpoint == "programs.detail" else []), (
            endpoint,
            actions,
        )
        assert "Save as new version" not in page and "Import a file" not in page


def test_finance_sees_the_edit_forms(world: dict[str, str], finance: Browser) -> None:
    assert 'action="/finance/prices/"' in finance.text("/finance/prices/")
    program = finance.text("/finance/programs/VOL")
    assert "Save as new version" in program
    assert f'action="{world["adjustments.approve"]}"' in finance.text("/finance/adjustments/")
    # the reference pages link finance to the file import (readers never see it)
    assert 'href="/finance/import/"' in finance.text("/finance/prices/")


def test_the_navigation_offers_reference_data_to_its_readers(
    browser: Callable[..., Browser],
) -> None:
    for role in READERS:
        home = browser(role.value).text("/")
        assert 'href="/finance/reference/"' in home, role
    for role in (Role.WAREHOUSE, Role.DISTRIBUTOR):
        assert "/finance/reference/" not in browser(role.value).text("/"), role
