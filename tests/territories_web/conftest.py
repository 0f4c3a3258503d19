"""Fixtures of the territory tests: the hand-built world of :mod:`_territories_world`."""

from __future__ import annotations

from collections.abc import Callable

import _territories_world as _world
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import geo
from tests.agreement_support import signed_agreement


@pytest.fixture
def territories(engine: Engine) -> None:
    """NORTH, AA and BB stored."""
    with Session(engine) as session, session.begin():
        geo.import_feature_collection(session, _world.world_fc())


@pytest.fixture
def world(engine: Engine, territories: None, make_party: Callable[..., int]) -> dict[str, int]:
    """Territories, parties, grants by signed agreements (D1: AA by AG-D1, D2: BB by
    AG-D2, both from 2026-01-01 to 2030-12-31) and March's scans."""
    ids = _world.build_parties(make_party)
    signed_agreement(engine, "D1", ["AA"], valid_from="2026-01-01", number="AG-D1")
    signed_agreement(engine, "D2", ["BB"], valid_from="2026-01-01", number="AG-D2")
    _world.append_scans(engine)
    return ids
