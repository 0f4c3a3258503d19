"""The credit-rating accuracy through the page (English and Chinese), the API and the
command line, on the hand-built history of tests/credit/_accuracy_world.py (seen from
today: 4 of 6 right = 66.7 % with a year's horizon, 4 of 7 = 57.1 % with 90 days)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.credit._accuracy_world import build_history
from web.models import User


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def test_the_page_shows_the_rate_beside_the_target_and_the_wrong_ratings(
    engine: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    build_history(engine, _today())
    browser = login_as("finance", username="fiona")
    page = browser.get("/credit/accuracy/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "66.7 %" in html and "below the target of 95 %" in html
    assert "4 of 6 ratings with an outcome were right; 1 are still pending" in html
    assert "invoice:INV-P2 was 91 days past due and unpaid on" in html
    assert "A-P4" in html and "A-P1" not in html  # only the wrong ones are listed
    assert 'id="accuracy-chart"' in html and "echarts.min.js" in html
    assert "100.0 %" in html  # the bad rate of A beside the picture
    shorter = browser.get("/credit/accuracy/?horizon_days=90").get_data(as_text=True)
    assert "57.1 %" in shorter and "A-P7" in shorter
    odd = browser.get("/credit/accuracy/?horizon_days=5").get_data(as_text=True)
    assert "Horizon: 5 is not a whole number of days from 30 to 1825." in odd
    assert "66.7 %" in odd  # shown with the default year


def test_the_page_in_chinese_and_who_may_see_it(
    engine: Engine, login_as: Callable[..., FlaskClient], client: FlaskClient, app: Flask
) -> None:
    build_history(engine, _today())
    login_as("auditor", username="aude")
    with Session(engine) as s, s.begin():
        s.scalars(select(User).where(User.username == "aude")).one().locale = "zh_Hans_CN"
    page = client.get("/credit/accuracy/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="zh' in html and "66.7 %" in html
    for role in ("distributor", "warehouse"):
        party = "A-P1" if role == "distributor" else None
        browser = login_as(role, party=party, on=app.test_client())
        assert browser.get("/credit/accuracy/").status_code == 403


def test_the_api_pages_the_wrong_ratings(
    engine: Engine, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    on = dt.date(2026, 12, 1)
    build_history(engine, on)
    headers = bearer("channel_manager")
    r = client.get("/api/v1/credit/accuracy?on=2026-12-01&limit=1", headers=headers)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["accuracy_percent"] == "66.7" and body["target_percent"] == 95
    assert body["meets_target"] is False and (body["rated"], body["right"]) == (6, 4)
    assert body["grades"]["A"] == {"good": 0, "bad": 1, "pending": 0, "bad_rate_percent": "100.0"}
    assert body["grades"]["BBB"]["bad_rate_percent"] is None
    assert body["wrong_count"] == 2 and len(body["wrong"]) == 1
    assert r.headers["X-Total-Count"] == "2" and 'rel="next"' in r.headers["Link"]
    nxt = client.get("/api/v1/credit/accuracy?on=2026-12-01&limit=1&cursor=1", headers=headers)
    both = {body["wrong"][0]["party"], nxt.get_json()["wrong"][0]["party"]}
    assert both == {"A-P2", "A-P4"}
    p2 = next(w for w in (body["wrong"] + nxt.get_json()["wrong"]) if w["party"] == "A-P2")
    assert p2["reason"] == "overdue" and p2["item"] == "invoice:INV-P2"
    assert p2["why"] == "invoice:INV-P2 was 91 days past due and unpaid on 2025-08-09"
    short = client.get("/api/v1/credit/accuracy?on=2026-12-01&horizon_days=90", headers=headers)
    assert short.get_json()["accuracy_percent"] == "57.1"
    assert client.get("/api/v1/credit/accuracy?horizon_days=10", headers=headers).status_code == 400
    assert client.get("/api/v1/credit/accuracy?on=2026-02-30", headers=headers).status_code == 400
    assert client.get("/api/v1/credit/accuracy", headers=bearer("warehouse")).status_code == 403


def test_the_command_prints_the_table_the_rate_and_why(
    engine: Engine, run_cli: Callable[..., Result], make_user: Callable[..., int]
) -> None:
    build_history(engine, dt.date(2026, 12, 1))
    make_user("fiona", "finance")
    out = run_cli("credit", "accuracy", "--on", "2026-12-01")
    assert out.exit_code == 0, out.output
    assert "accuracy: 4 of 6 right = 66.7 % (below the target 95 %)" in out.output
    assert "A          0     1        0   100.0 %" in out.output
    assert "wrong: A-P4 rated B on 2025-04-10, good: nothing 90+ days overdue" in out.output
    as_json = run_cli("credit", "accuracy", "--on", "2026-12-01", "--horizon-days", "90", "--json")
    assert json.loads(as_json.output)["accuracy_percent"] == "57.1"
    bad = run_cli("credit", "accuracy", "--horizon-days", "7")
    assert bad.exit_code == 1
    assert "horizon_days: 7 is not a whole number of days from 30 to 1825" in bad.output
