"""Fixtures of the reference-data page tests: signed-in browsers per role and two
distributors. Reference data is finance's own: most tests need no ledger at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from tests.finance_web._pages import Browser


@pytest.fixture
def browser(app: Flask, login_as: Callable[..., FlaskClient]) -> Callable[..., Browser]:
    """``browser(role, username=None)``: a new client signed in as a new user of ``role``
    (a distributor belongs to party D-OTHER)."""

    def make(role: str, username: str | None = None) -> Browser:
        name = username or f"{role}-user"
        party = "D-OTHER" if role == "distributor" else None
        client = login_as(role, party=party, username=name, on=app.test_client())
        return Browser(client, name)

    return make


@pytest.fixture
def finance(browser: Callable[..., Browser]) -> Browser:
    return browser("finance", "fiona")


@pytest.fixture
def parties(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    """Two distributors, D-NORTH (EUR) and D-TOKYO (JPY): code -> party id."""
    ids = {"D-NORTH": make_party("D-NORTH"), "D-TOKYO": make_party("D-TOKYO")}
    with Session(engine) as s:
        tokyo = s.scalar(select(Party).where(Party.code == "D-TOKYO"))
        assert tokyo is not None
        tokyo.currency = "JPY"
        s.commit()
    return ids
