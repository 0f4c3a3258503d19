"""A realistic data set for the settlement web tests: ``hopchain demo`` (200 units,
4 distributors, September 2026) written through the real code paths, then
``hopchain detect``, built once per session and engine and copied into each test's
database (``cli_world``). Tests that only check roles use no data at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _settlement_web import Demo
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.in_force import parties_in_force
from settlement.common import period_bounds
from tests._worlds import DEMO_2026_09, Ran


@pytest.fixture
def demo(engine: Engine, cli_world: Callable[..., list[Ran]]) -> Demo:
    """The demo network of this test's database: built once per session and engine,
    copied into each test's database and instance folder afterwards (the same rows,
    ids and signing key: a fraction of a second instead of 8 s)."""
    init, made, detected = cli_world(*DEMO_2026_09)
    assert init.exit_code == 0, init.output
    assert made.exit_code == 0, made.output
    assert detected.exit_code == 0, detected.output
    with Session(engine) as s:
        # the network's distributors: under an agreement in 2026-09 (the demo's
        # recruitment pipeline also signs parties on trial today, after that month)
        in_force = parties_in_force(s, *period_bounds("2026-09"))
        rows = s.execute(
            select(Party.code, Party.id).where(Party.kind == "distributor", Party.id.in_(in_force))
        ).all()
    return Demo({str(c): int(i) for c, i in rows}, detected.output)
