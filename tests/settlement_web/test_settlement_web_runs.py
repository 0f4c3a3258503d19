"""Settlement runs through finance's pages and the API; a distributor's portal sees
only its own statements, alerts and reports, and its CSV adds up."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from decimal import Decimal

from _settlement_web import Demo
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

import settlement
from tests.settlement.engine_world import SIGNER

Bearer = Callable[..., dict[str, str]]
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _token(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_run_created_approved_by_a_second_user_and_posted_on_the_pages(
    app: Flask, engine: Engine, demo: Demo, login_as: Callable[..., FlaskClient]
) -> None:
    first = login_as("finance", username="fiona")
    page = first.get("/settlement/").get_data(as_text=True)
    assert "Create a draft run" in page
    token = _token(page)
    bad = first.post("/settlement/", data={"csrf_token": token, "period": "Sept"})
    assert bad.status_code == 422 and "neither YYYY-MM nor YYYY-Qn" in bad.get_data(as_text=True)
    made = first.post("/settlement/", data={"csrf_token": token, "period": "2026-09"})
    assert made.status_code == 302
    run_id = int(made.headers["Location"].rsplit("/", 1)[1])
    run_page = first.get(f"/settlement/runs/{run_id}").get_data(as_text=True)
    assert "a different finance user must approve it" in run_page
    assert f'href="/api/v1/runs/{run_id}/chart.png"' in run_page
    for heading in ("Per partner class", "Per region", "Per currency", "Statements"):
        assert heading in run_page
    chart = first.get(f"/api/v1/runs/{run_id}/chart.png")
    assert chart.status_code == 200 and chart.data[:8] == b"\x89PNG\r\n\x1a\n"

    refused = first.post(
        f"/settlement/runs/{run_id}/approve", data={"csrf_token": token}, follow_redirects=True
    )
    assert "a different finance user must approve it" in refused.get_data(as_text=True)
    assert settlement.get_run(engine, run_id).status == "draft"

    second = login_as("finance", username="frank", on=app.test_client())
    token2 = _token(second.get(f"/settlement/runs/{run_id}").get_data(as_text=True))
    assert (
        second.post(f"/settlement/runs/{run_id}/approve", data={"csrf_token": token2}).status_code
        == 302
    )
    assert (
        second.post(f"/settlement/runs/{run_id}/post", data={"csrf_token": token2}).status_code
        == 302
    )
    run = settlement.get_run(engine, run_id)
    assert (run.status, run.created_by, run.approved_by, run.posted_by) == (
        "posted",
        "fiona",
        "frank",
        "frank",
    )
    gone = second.post(
        f"/settlement/runs/{run_id}/discard", data={"csrf_token": token2}, follow_redirects=True
    )
    assert "is posted and cannot be discarded" in gone.get_data(as_text=True)
    assert settlement.get_run(engine, run_id).status == "posted"

    statement_id = settlement.list_statements(
        engine, settlement.Actor("t", "finance"), run_id=run_id
    )[0].id
    st_page = second.get(f"/settlement/statements/{statement_id}").get_data(as_text=True)
    assert "Total" in st_page and "statement hash" in st_page


def test_runs_through_the_api(
    engine: Engine, demo: Demo, client: FlaskClient, bearer: Bearer
) -> None:
    alice, bob = bearer("finance", label="alice"), bearer("finance", label="bob")
    made = client.post("/api/v1/runs", json={"period": "2026-09", "kind": "partial"}, headers=alice)
    assert made.status_code == 201, made.get_json()
    run = made.get_json()
    assert run["status"] == "draft" and run["statement_count"] == 4
    base = f"/api/v1/runs/{run['id']}"
    same = client.post(f"{base}/approve", headers=alice)
    assert same.status_code == 409 and "different finance user" in same.get_json()["error"]
    assert client.post(f"{base}/post", headers=bob).status_code == 409
    assert client.post(f"{base}/approve", headers=bob).get_json()["status"] == "approved"
    assert client.post(f"{base}/post", headers=alice).get_json()["status"] == "posted"
    assert client.post(f"{base}/discard", headers=alice).status_code == 409
    detail = client.get(base, headers=bearer("auditor")).get_json()
    summary = detail["summary"]
    assert summary["grand_total"]["statements"] == 4
    assert sum(r["total"] for r in summary["by_class"]) == summary["grand_total"]["total"]
    listed = client.get("/api/v1/runs?period=2026-09", headers=bearer("admin")).get_json()
    assert [r["id"] for r in listed] == [run["id"]]
    bad = client.post("/api/v1/runs", json={"period": "2026-09", "kind": "weekly"}, headers=alice)
    assert bad.status_code == 422 and "run kind" in bad.get_json()["error"]


def test_scores_page_and_api(
    demo: Demo, login_as: Callable[..., FlaskClient], client: FlaskClient, bearer: Bearer
) -> None:
    finance = login_as("finance")
    token = _token(finance.get("/settlement/scores?quarter=2026-Q3").get_data(as_text=True))
    scored = finance.post("/settlement/scores", data={"csrf_token": token, "quarter": "2026-Q3"})
    assert scored.status_code == 302
    page = finance.get("/settlement/scores?quarter=2026-Q3").get_data(as_text=True)
    for code in demo.distributors:
        assert code in page
    for indicator in ("target", "growth", "diversion", "returns", "timeliness"):
        assert indicator in page
    scores = client.get("/api/v1/partner-scores?quarter=2026-Q3", headers=bearer("auditor"))
    rows = scores.get_json()
    assert len(rows) == 4 and {r["partner_class"] for r in rows} <= {"A", "B", "C"}
    assert client.get("/api/v1/partner-scores", headers=bearer("auditor")).status_code == 400
    wrong = finance.post("/settlement/scores", data={"csrf_token": token, "quarter": "2026-09"})
    assert wrong.status_code == 302
    said = finance.get(wrong.headers["Location"]).get_data(as_text=True)
    assert "&#39;2026-09&#39; is not a quarter; write it as YYYY-Qn" in said


def test_a_distributor_sees_only_its_own(
    app: Flask,
    engine: Engine,
    demo: Demo,
    login_as: Callable[..., FlaskClient],
    bearer: Bearer,
) -> None:
    finance = settlement.Actor("finance", "finance", user_id=9001)
    run = settlement.create_run(engine, "2026-09", "final", finance)
    draft = settlement.list_statements(engine, finance, run_id=run.id)[0]
    # a statement of a run not yet posted is not the distributor's to read
    early = bearer("distributor", party=draft.party_code)
    assert app.test_client().get(f"/api/v1/statements/{draft.id}", headers=early).status_code == 404
    settlement.approve_run(engine, run.id, settlement.Actor("finance2", "finance", user_id=9002))
    settlement.post_run(engine, run.id, finance, signer=SIGNER)
    statements = settlement.list_statements(engine, finance, run_id=run.id)
    code = demo.party_with_alerts(engine)
    mine = next(s for s in statements if s.party_code == code)
    theirs = next(s for s in statements if s.party_code != code)
    other_code = theirs.party_code
    my_alerts = {a.id for a in demo.alerts_of(engine, code)}
    their_alerts = {a.id for c in demo.distributors if c != code for a in demo.alerts_of(engine, c)}
    assert my_alerts and their_alerts

    # Another distributor files a report; ours must not see it.
    unit_key = (
        app.test_client()
        .get(f"/api/v1/alerts/{min(my_alerts)}", headers=bearer("channel_manager"))
        .get_json()["findings"][0]["unit_key"]
    )
    other = bearer("distributor", party=other_code)
    their_report = app.test_client().post(
        "/api/v1/reports", json={"unit": unit_key, "seen_at": "2026-09-20T10:00"}, headers=other
    )
    assert their_report.status_code == 201

    dist = login_as("distributor", party=code)
    listing = dist.get("/partner/statements").get_data(as_text=True)
    assert f'href="/partner/statements/{mine.id}"' in listing
    assert f'href="/partner/statements/{theirs.id}"' not in listing
    assert dist.get(f"/partner/statements/{mine.id}").status_code == 200
    assert dist.get(f"/partner/statements/{theirs.id}").status_code == 404
    assert dist.get(f"/api/v1/statements/{theirs.id}").status_code == 404
    assert dist.get(f"/api/v1/statements/{theirs.id}/download?format=pdf").status_code == 404
    assert {s["party_id"] for s in dist.get("/api/v1/statements").get_json()} == {mine.party_id}

    alerts_page = dist.get("/partner/alerts").get_data(as_text=True)
    shown = {int(i) for i in re.findall(r'href="/partner/alerts/(\d+)"', alerts_page)}
    assert shown == my_alerts
    other_alert = min(their_alerts)
    assert dist.get(f"/partner/alerts/{other_alert}").status_code == 404
    assert dist.get(f"/api/v1/alerts/{other_alert}").status_code == 404
    token = _token(alerts_page)
    assert (
        dist.post(
            f"/partner/alerts/{other_alert}/appeal", data={"csrf_token": token, "reason": "x"}
        ).status_code
        == 404
    )
    assert {a["id"] for a in dist.get("/api/v1/alerts").get_json()} == my_alerts
    assert dist.get("/api/v1/reports").get_json() == []
    assert dist.get("/alerts/").status_code == 403
    assert dist.get("/api/v1/runs").status_code == 403

    # The CSV's total row equals the sum of its lines and the statement's total.
    answer = dist.get(f"/api/v1/statements/{mine.id}/download?format=csv")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f"statement-{mine.id}-{code}.csv" in answer.headers["Content-Disposition"]
    text = answer.get_data(as_text=True).lstrip("\ufeff")
    header, table = text.split("\n\n", 1)  # the header block, an empty row, the lines
    assert f"Party,{code}" in header and "Status,posted" in header
    rows = list(csv.DictReader(io.StringIO(table)))
    lines, total = rows[:-1], rows[-1]
    assert lines and total["Description"] == "Total"
    assert sum(Decimal(r["Amount"]) for r in lines) == Decimal(total["Amount"])
    assert Decimal(total["Amount"]) == Decimal(
        settlement.format_minor(mine.total_minor, mine.currency)
    )
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        got = dist.get(f"/api/v1/statements/{mine.id}/download?format={fmt}")
        assert got.status_code == 200 and got.data.startswith(magic), fmt
    assert dist.get(f"/api/v1/statements/{mine.id}/download?format=doc").status_code == 400
    detail = dist.get(f"/partner/statements/{mine.id}").get_data(as_text=True)
    assert "Line" in detail and "Basis" in detail and "Rate" in detail
    assert "tier_retroactive" not in detail  # rule names in words, no internal codes
