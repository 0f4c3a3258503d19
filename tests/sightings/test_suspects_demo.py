"""``hopchain demo`` fills the suspected-alert queue: an inspection party, an
inspector who can sign in and read it, and public sightings in and out of zone
with one copied code (web/demo_sightings.py)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from click.testing import Result
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from sightings.models import PublicSighting, SuspectedAlert
from web.models import User


def test_the_demo_has_an_inspector_and_a_queue_to_check(
    run_cli: Callable[..., Result],
    engine: Engine,
    client: FlaskClient,
    csrf_token: Callable[..., str],
    db_url: str,
) -> None:
    if db_url.startswith("postgresql"):
        pytest.skip("the demo runs once, on SQLite: tests/sightings cover PostgreSQL")
    assert run_cli("init").exit_code == 0
    out = run_cli("demo", "--units", "80", "--distributors", "3", "--months", "1", "--seed", "5")
    assert out.exit_code == 0, out.output
    found = re.search(r"^\s+inspector\s+(\S+)$", out.output, re.M)
    assert found, out.output
    with Session(engine) as session:
        party = session.scalars(select(Party).where(Party.code == "INSP-1")).one()
        assert party.kind == "inspector"
        user = session.scalars(select(User).where(User.username == "inspector")).one()
        assert (user.role, user.party_id) == ("inspector", party.id)
        verdicts = sorted(session.scalars(select(PublicSighting.verdict)))
        kinds = sorted(
            session.scalars(select(SuspectedAlert.kind).where(SuspectedAlert.status == "suspected"))
        )
    assert verdicts.count("in_zone") >= 3 and verdicts.count("out_of_zone") >= 4
    assert kinds.count("clone") == 1 and kinds.count("out_of_zone") >= 4
    response = client.post(
        "/login",
        data={"username": "inspector", "password": found.group(1), "csrf_token": csrf_token()},
    )
    assert response.status_code == 302
    queue = client.get("/suspects/")
    assert queue.status_code == 200
    assert "Possible copied code" in queue.get_data(as_text=True)
