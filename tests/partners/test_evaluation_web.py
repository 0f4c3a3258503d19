"""Evaluation and CRM through the API, the pages (English and Chinese) and the
command line: reviews opened, entered and confirmed; the class it writes; health
scores and tasks; interactions; who may do what."""

from __future__ import annotations

import re
from collections.abc import Callable

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from partners.models import PartnerClass, PartnerTask
from risk.reviews import open_review
from tests.partners.evaluation_support import CM, add_alert, score_quarter
from web.models import User

MANUAL = {"market_promotion": 80, "customer_service": 70, "team_stability": 60, "compliance": 90}
SCORES = {
    "target": "1.0000", "growth": "0.5000", "diversion": "0.5000", "returns": "1.0000",
    "timeliness": "1.0000",
}  # fmt: skip


def _chinese(engine: Engine, username: str) -> None:
    """Switch ``username`` to Chinese pages (the language of the profile wins)."""
    with Session(engine) as s, s.begin():
        s.scalars(select(User).where(User.username == username)).one().locale = "zh_Hans_CN"


def test_review_through_the_api_to_the_class_in_force(
    engine: Engine, make_party: Callable[..., int], bearer: Callable[..., dict[str, str]],
    client: FlaskClient,
) -> None:  # fmt: skip
    pid = make_party("DIST")
    score_quarter(engine, pid, "2026-Q1", "80", SCORES)
    cm, pm = bearer("channel_manager"), bearer("partner_manager")
    r = client.post("/api/v1/reviews", json={"party": "DIST", "year": 2026}, headers=pm)
    assert r.status_code == 201, r.get_json()
    review = r.get_json()
    assert review["status"] == "open" and review["score"] == "77.50"  # the scorecard only
    rid = review["id"]
    again = client.post("/api/v1/reviews", json={"party": "DIST", "year": 2026}, headers=pm)
    assert again.status_code == 409
    assert (
        client.post("/api/v1/reviews", json={"party": "NOPE", "year": 2026}, headers=pm).status_code
        == 404
    )
    bad = client.post("/api/v1/reviews", json={"party": "DIST", "year": "2026"}, headers=pm)
    assert bad.status_code == 422 and "$.year" in bad.get_json()["error"]
    # a partner manager may not enter indicators; a finance user may not open reviews
    denied = client.post(
        f"/api/v1/reviews/{rid}/indicators",
        json={"indicator": "compliance", "value": 5},
        headers=pm,
    )
    assert denied.status_code == 403
    assert client.post("/api/v1/reviews", json={"party": "DIST", "year": 2025},
                       headers=bearer("finance")).status_code == 403  # fmt: skip
    out = client.post(
        f"/api/v1/reviews/{rid}/indicators",
        json={"indicator": "compliance", "value": 101},
        headers=cm,
    )
    assert out.status_code == 422 and "0 to 100" in out.get_json()["error"]
    for name, value in MANUAL.items():
        r = client.post(
            f"/api/v1/reviews/{rid}/indicators",
            json={"indicator": name, "value": value, "note": "seen"}, headers=cm,
        )  # fmt: skip
        assert r.status_code == 200
    assert r.get_json()["score"] == "76.50" and r.get_json()["proposed_class"] == "B"
    no_reason = client.post(
        f"/api/v1/reviews/{rid}/confirm", json={"class": "A", "reason": ""}, headers=pm
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]
    done = client.post(
        f"/api/v1/reviews/{rid}/confirm",
        json={"class": "A", "reason": "strong promoter", "valid_from": "2027-01-01"}, headers=pm,
    )  # fmt: skip
    assert done.status_code == 200 and done.get_json()["confirmed_class"] == "A"
    twice = client.post(
        f"/api/v1/reviews/{rid}/confirm", json={"class": "B", "reason": "x"}, headers=pm
    )
    assert twice.status_code == 409
    with Session(engine) as s:
        row = s.scalars(select(PartnerClass).where(PartnerClass.party_id == pid)).one()
        assert (row.partner_class, row.valid_from) == ("A", "2027-01-01")
    listed = client.get(
        "/api/v1/reviews?status=confirmed&party=DIST&limit=1", headers=bearer("auditor")
    )
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "1"
    assert (
        client.get("/api/v1/reviews", headers=bearer("distributor", party="DIST")).status_code
        == 403
    )
    weights = client.post(
        "/api/v1/review-weights", json={"year": 2027, "weights": {"target": "0.5"}}, headers=pm
    )
    assert weights.status_code == 422 and "add up to 1" in weights.get_json()["error"]
    ok = client.post(
        "/api/v1/review-weights",
        json={"year": 2027, "weights": {"target": "0.5", "compliance": "0.5"}}, headers=pm,
    )  # fmt: skip
    assert ok.status_code == 201 and ok.get_json()["version"] == 1
    assert (
        client.get("/api/v1/review-weights?year=2027", headers=cm).get_json()["weights"][
            "compliance"
        ]
        == "0.5"
    )


def test_confirming_a_serious_alert_on_the_page_opens_an_event_review(
    engine: Engine, make_party: Callable[..., int], login_as: Callable[..., FlaskClient],
    csrf_token: Callable[..., str],
) -> None:  # fmt: skip
    pid = make_party("DIST")
    aid = add_alert(engine, pid, "2026-10", severity="critical", status="investigating")
    browser = login_as("channel_manager")
    r = browser.post(
        f"/alerts/{aid}/confirm",
        data={"note": "proved", "csrf_token": csrf_token(f"/alerts/{aid}")},
    )
    assert r.status_code == 302
    page = browser.get("/partners/reviews/?status=open").get_data(as_text=True)
    assert "DIST" in page and "Event" in page
    from risk.models import ClassReview

    with Session(engine) as s:
        [review] = s.scalars(select(ClassReview)).all()
        assert (review.kind, review.trigger_alert_id, review.year) == ("event", aid, 2026)


def test_review_pages_in_english_and_chinese(
    engine: Engine, make_party: Callable[..., int], login_as: Callable[..., FlaskClient],
    csrf_token: Callable[..., str],
) -> None:  # fmt: skip
    pid = make_party("DIST")
    score_quarter(engine, pid, "2026-Q1", "80", SCORES)
    browser = login_as("channel_manager", username="cm-pages")
    token = csrf_token("/partners/reviews/")
    r = browser.post(
        "/partners/reviews/",
        data={"party": "DIST", "year": "20x6", "kind": "annual", "csrf_token": token},
    )
    assert r.status_code == 422 and "is not a year such as 2026" in r.get_data(as_text=True)
    r = browser.post(
        "/partners/reviews/",
        data={"party": "DIST", "year": "2026", "kind": "annual", "csrf_token": token},
    )
    assert r.status_code == 302
    rid = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    page = browser.get(f"/partners/reviews/{rid}").get_data(as_text=True)
    assert "Score 77.50 of 100: proposed class B" in page
    assert "Diversion record" in page and 'id="review-chart"' in page and "evaluation.js" in page
    bad = browser.post(
        f"/partners/reviews/{rid}/indicators",
        data={"indicator": "compliance", "value": "lots", "note": "", "csrf_token": token},
    )  # fmt: skip
    assert bad.status_code == 422 and "lots is not a whole number from 0 to 100" in bad.get_data(
        as_text=True
    )
    for name, value in MANUAL.items():
        browser.post(
            f"/partners/reviews/{rid}/indicators",
            data={"indicator": name, "value": str(value), "note": "seen", "csrf_token": token},
        )  # fmt: skip
    refused = browser.post(
        f"/partners/reviews/{rid}/confirm",
        data={"class": "A", "reason": "", "valid_from": "", "csrf_token": token},
    )  # fmt: skip
    assert refused.status_code == 422 and "say why this class is confirmed" in refused.get_data(
        as_text=True
    )
    _chinese(engine, "cm-pages")
    page = browser.get(f"/partners/reviews/{rid}").get_data(as_text=True)
    assert "76.50" in page and "市场推广" in page and "确认" in page
    done = browser.post(
        f"/partners/reviews/{rid}/confirm",
        data={"class": "A", "reason": "表现突出", "valid_from": "2026-12-01", "csrf_token": token},
    )  # fmt: skip
    assert done.status_code == 302
    party = browser.get("/partners/reviews/party/DIST").get_data(as_text=True)
    assert "表现突出" in party and "2026-12-01" in party
    assert browser.get("/partners/reviews/party/NOPE").status_code == 404


def test_health_tasks_and_interactions_through_api_and_pages(
    engine: Engine, make_party: Callable[..., int], bearer: Callable[..., dict[str, str]],
    client: FlaskClient, login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str],
    app: Flask,
) -> None:  # fmt: skip
    make_party("DIST")
    pm = bearer("partner_manager")
    r = client.post(
        "/api/v1/interactions",
        json={"party": "DIST", "kind": "meeting", "happened_on": "2026-11-02", "subject": "Q4",
              "next_step": "send prices", "next_due_on": "2026-11-10"}, headers=pm,
    )  # fmt: skip
    assert r.status_code == 201 and r.get_json()["next_due_on"] == "2026-11-10"
    bad = client.post(
        "/api/v1/interactions",
        json={"party": "DIST", "kind": "dinner", "happened_on": "2026-11-02", "subject": "x"}, headers=pm,
    )  # fmt: skip
    assert bad.status_code == 422 and "kind: 'dinner'" in bad.get_json()["error"]
    iid = r.get_json()["id"]
    fixed = client.patch(f"/api/v1/interactions/{iid}", json={"subject": "Q4 review"}, headers=pm)
    assert fixed.status_code == 200 and fixed.get_json()["subject"] == "Q4 review"
    assert fixed.get_json()["next_step"] == "send prices"  # the other fields stay
    odd = client.patch(f"/api/v1/interactions/{iid}", json={"colour": "red"}, headers=pm)
    assert odd.status_code == 422 and "$.colour" in odd.get_json()["error"]
    assert client.patch("/api/v1/interactions/999", json={}, headers=pm).status_code == 404
    listed = client.get("/api/v1/interactions?party=DIST", headers=bearer("auditor"))
    assert listed.get_json()["total"] == 1
    assert client.get("/api/v1/interactions?party=NOPE", headers=pm).status_code == 404
    scores = client.post("/api/v1/health-scores", json={"today": "2026-11-20"}, headers=pm)
    assert scores.status_code == 200
    [item] = scores.get_json()["items"]
    # no scorecard: trend, target and diversion no data; the rest weighs 0.35 < half:
    # no score, none stored (issue 12: re-weighting gave a new party a high score)
    assert item["score"] is None and item["why"] == "not enough data: no trend, diversion, target"
    none = client.get("/api/v1/health-scores?party=DIST", headers=bearer("finance"))
    assert none.headers["X-Total-Count"] == "0"
    # scored 2026-Q3 (65, no target): trend 65, diversion 100, receivables 100, last
    # contact 18 days ago: recency 100 -> (16.25 + 25 + 20 + 15) / 0.85 = 89.7 -> 90
    score_quarter(engine, s_id("DIST", engine), "2026-Q3", "65", {"growth": "0.5"})
    scores = client.post("/api/v1/health-scores", json={"today": "2026-11-20"}, headers=pm)
    [item] = scores.get_json()["items"]
    assert item["score"] == 90 and item["parts"][3]["value"] is None
    history = client.get("/api/v1/health-scores?party=DIST", headers=bearer("finance"))
    assert history.headers["X-Total-Count"] == "1"
    assert (
        client.post("/api/v1/health-scores", json={"today": "2026-13-01"}, headers=pm).status_code
        == 422
    )
    with Session(engine) as s, s.begin():
        s.add(PartnerTask(party_id=s.scalar(select(PartnerTask.party_id)) or 1, kind="health_drop",
                          title="t", detail_json='{"from": 80, "to": 50, "on": "2026-11-20", "key": ""}',
                          status="open", created_ms=1))  # fmt: skip
    tasks = client.get("/api/v1/tasks?kind=health_drop", headers=pm).get_json()
    [task] = tasks["items"]
    assert task["party"] == "DIST"
    assert (
        client.post(
            f"/api/v1/tasks/{task['id']}/done", json={}, headers=bearer("auditor")
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/tasks/{task['id']}/done", json={"note": "called"}, headers=pm
        ).status_code
        == 200
    )
    assert client.post(f"/api/v1/tasks/{task['id']}/done", json={}, headers=pm).status_code == 409
    # pages
    browser = login_as("partner_manager", username="pm-pages")
    page = browser.get("/partners/crm/party/DIST").get_data(as_text=True)
    assert "send prices" in page and "Record an interaction" in page
    token = csrf_token("/partners/crm/party/DIST", on=browser)
    r = browser.post(
        "/partners/crm/party/DIST",
        data={"kind": "call", "happened_on": "2026-11-31", "subject": "x", "csrf_token": token},
    )  # fmt: skip
    assert r.status_code == 422 and "happened_on: &#39;2026-11-31&#39; is not a date" in r.get_data(
        as_text=True
    )
    r = browser.post(
        "/partners/crm/party/DIST",
        data={"kind": "call", "happened_on": "2026-11-12", "subject": "follow-up call", "csrf_token": token},
    )  # fmt: skip
    assert r.status_code == 302
    assert "follow-up call" in browser.get("/partners/crm/party/DIST").get_data(as_text=True)
    r = browser.post("/partners/crm/tasks/meetings", data={"csrf_token": token})
    assert r.status_code == 302
    tasks_page = browser.get("/partners/crm/tasks").get_data(as_text=True)
    assert "Partner tasks" in tasks_page and "Quarterly meeting overdue" in tasks_page
    _chinese(engine, "pm-pages")
    assert "合作伙伴任务" in browser.get("/partners/crm/tasks").get_data(as_text=True)
    party = browser.get("/partners/reviews/party/DIST").get_data(as_text=True)
    assert 'id="health-chart"' in party and "100" in party
    finance = login_as("finance", on=app.test_client())
    assert finance.get("/partners/crm/tasks").status_code == 403
    assert finance.get("/partners/reviews/party/DIST").status_code == 200  # finance reads reviews


def test_command_line(
    engine: Engine, make_party: Callable[..., int], make_user: Callable[..., int],
    run_cli: Callable[..., Result],
) -> None:  # fmt: skip
    pid = make_party("DIST")
    make_user("carla", "channel_manager")
    add_alert(engine, pid, "2026-10", severity="high")
    out = run_cli("reviews", "events", "--as", "carla")
    assert out.exit_code == 0, out.output
    assert re.search(r"review \d+: DIST 2026", out.output)
    out = run_cli("reviews", "indicator", "1", "compliance", "101", "--as", "carla")
    assert out.exit_code == 1 and "value: 101 is not a whole number from 0 to 100" in out.output
    review = open_review(engine, "DIST", "annual", 2026, "", CM)
    out = run_cli(
        "reviews", "confirm", str(review.id), "--class", "B", "--reason", "ok", "--as", "carla"
    )
    assert out.exit_code == 1 and "still needs: market_promotion" in out.output
    out = run_cli("health", "compute", "--today", "2026-11-20", "--as", "carla")
    assert out.exit_code == 0 and out.output.startswith("DIST\t")
    out = run_cli("crm", "overdue", "--today", "2026-11-20", "--as", "carla")
    assert out.exit_code == 0 and "DIST\tno meeting in 2026-Q3 (last: never)" in out.output
    no_user = run_cli("health", "compute", "--as", "nobody")
    assert no_user.exit_code == 1 and "no user nobody" in no_user.output


def s_id(code: str, engine: Engine) -> int:
    from ledger.models import Party

    with Session(engine) as s:
        pid = s.scalar(select(Party.id).where(Party.code == code))
        assert pid is not None
        return pid
