"""Runs that stay clean: a new draft for a period supersedes the open one, which then
can neither be approved nor posted, and the run list pages through long histories."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from _settlement_web import Demo
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert

import settlement
from settlement.models import SettlementRun
from tests.settlement.engine_world import SIGNER

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _token(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_a_new_draft_supersedes_the_open_ones(
    app: Flask, engine: Engine, demo: Demo, login_as: Callable[..., FlaskClient]
) -> None:
    fiona = settlement.Actor("fiona", "finance", user_id=9001)
    frank = settlement.Actor("frank", "finance", user_id=9002)
    draft = settlement.create_run(engine, "2026-09", "final", fiona)
    approved = settlement.create_run(engine, "2026-09", "final", fiona)
    settlement.approve_run(engine, approved.id, frank)
    old_draft = settlement.get_run(engine, draft.id)
    assert old_draft.status == "superseded" and old_draft.superseded_by == approved.id
    assert old_draft.statement_count == 0 and "statements were discarded" in old_draft.note

    page = login_as("finance", username="fiona")
    made = page.post(
        "/settlement/",
        data={"csrf_token": _token(page.get("/settlement/").get_data(as_text=True)),
              "period": "2026-09"},
    )  # fmt: skip
    assert made.status_code == 302
    newest = int(made.headers["Location"].rsplit("/", 1)[1])
    old = settlement.get_run(engine, approved.id)
    # the approved run keeps its statements for the record but is out of the workflow
    assert old.status == "superseded" and old.superseded_by == newest
    assert old.statement_count > 0 and "can no longer be posted" in old.note
    with pytest.raises(settlement.RunStateError, match=f"superseded by run {newest}"):
        settlement.post_run(engine, approved.id, fiona, signer=SIGNER)
    with pytest.raises(settlement.RunStateError, match="superseded"):
        settlement.approve_run(engine, draft.id, frank)

    shown = page.get(f"/settlement/runs/{approved.id}").get_data(as_text=True)
    assert f"superseded by run {newest}" in shown
    assert "Post run" not in shown and "Approve run" not in shown
    listing = page.get("/settlement/").get_data(as_text=True)
    assert f'href="/settlement/runs/{newest}">#{newest}</a></span>' in listing


def test_the_run_list_pages_through_long_histories(
    engine: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    rows = [
        {"period": f"{2020 + i // 12}-{i % 12 + 1:02d}", "kind": "final", "status": "posted",
         "tree_size": i, "root_hex": "0" * 64, "program_versions_json": "[]",
         "reporting_currency": "EUR", "run_hash": "", "created_by": "fiona", "created_ms": i,
         "note": "", "posted_ms": i}
        for i in range(120)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(SettlementRun), rows)
    page = login_as("finance", username="fiona")
    first = page.get("/settlement/").get_data(as_text=True)
    assert "1–50 of 120" in first and "/settlement/runs/120" in first
    assert '/settlement/runs/70"' not in first
    third = page.get("/settlement/?page=3").get_data(as_text=True)
    assert "101–120 of 120" in third and '/settlement/runs/1"' in third
