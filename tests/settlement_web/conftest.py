"""A realistic data set for the settlement web tests: ``hopchain demo`` (200 units,
4 distributors, September 2026) written through the real code paths, then
``hopchain detect``. Tests that only check roles use no data at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _settlement_web import Demo
from click.testing import Result
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party


@pytest.fixture
def demo(engine: Engine, run_cli: Callable[..., Result]) -> Demo:
    assert run_cli("init").exit_code == 0
    made = run_cli(
        "demo", "--units", "200", "--distributors", "4", "--months", "1", "--start", "2026-09"
    )
    assert made.exit_code == 0, made.output
    detected = run_cli("detect")
    assert detected.exit_code == 0, detected.output
    with Session(engine) as s:
        rows = s.execute(select(Party.code, Party.id).where(Party.kind == "distributor")).all()
    return Demo({str(c): int(i) for c, i in rows}, detected.output)
