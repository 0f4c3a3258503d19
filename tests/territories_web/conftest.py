"""Fixtures of the territory tests: the hand-built world of :mod:`_territories_world`."""

from __future__ import annotations

from collections.abc import Callable

import _territories_world as _world
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import geo
import settlement


@pytest.fixture
def territories(engine: Engine) -> None:
    """NORTH, AA and BB stored."""
    with Session(engine) as session, session.begin():
        geo.import_feature_collection(session, _world.world_fc())


@pytest.fixture
def world(engine: Engine, territories: None, make_party: Callable[..., int]) -> dict[str, int]:
    """Territories, parties, grants (D1: AA, D2: BB from 2026-01-01) and March's scans."""
    ids = _world.build_parties(make_party)
    actor = settlement.Actor("test", "admin")
    start = _world.ms(2026, 1, 1, 0)
    settlement.grant_party_territory(engine, "D1", "AA", start, actor)
    settlement.grant_party_territory(engine, "D2", "BB", start, actor)
    _world.append_scans(engine)
    return ids
