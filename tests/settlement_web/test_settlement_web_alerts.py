"""The alert workflow through the channel manager's pages (with an attachment), a
distributor's appeal, and whistleblower reports confirmed and rejected."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from _settlement_web import Demo
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

import settlement

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _token(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _diversion_alert(engine: Engine, demo: Demo) -> settlement.AlertView:
    for code in sorted(demo.distributors):
        for a in demo.alerts_of(engine, code):
            if a.finding_type == "out_of_zone" and a.status == "open":
                return a
    raise AssertionError("the demo raised no out-of-zone alert")


def test_alert_workflow_through_the_pages(
    app: Flask,
    engine: Engine,
    demo: Demo,
    login_as: Callable[..., FlaskClient],
) -> None:
    alert = _diversion_alert(engine, demo)
    code = next(c for c, i in demo.distributors.items() if i == alert.party_id)
    manager = login_as("channel_manager", username="carla")

    listing = manager.get("/alerts/").get_data(as_text=True)
    assert f'href="/alerts/{alert.id}"' in listing
    filtered = manager.get(
        f"/alerts/?status=open&period={alert.period}&party={alert.party_id}"
    ).get_data(as_text=True)
    shown = {int(i) for i in re.findall(r'href="/alerts/(\d+)"', filtered)}
    assert alert.id in shown
    assert shown == {a.id for a in demo.alerts_of(engine, code) if a.period == alert.period}
    bad = manager.get("/alerts/?period=2026-13")
    assert bad.status_code == 400 and "neither YYYY-MM nor YYYY-Qn" in bad.get_data(as_text=True)

    detail = manager.get(f"/alerts/{alert.id}")
    assert detail.status_code == 200
    page = detail.get_data(as_text=True)
    findings = settlement.alert_findings(engine, alert.id, settlement.Actor("t", "admin"))
    assert f"#{findings[0][0]}" in page  # evidence seq
    assert 'href="/trace/?q=01' in page  # unit keys link to the trace page
    token = _token(page)
    url = f"/alerts/{alert.id}"

    # Confirming an open alert is refused with the reason, shown on the page.
    refused = manager.post(f"{url}/confirm", data={"csrf_token": token}, follow_redirects=True)
    assert "start the investigation first" in refused.get_data(as_text=True)

    for action, data in (
        ("assign", {"assignee": "carla"}),
        ("investigate", {"note": "asking the dealer"}),
        ("note", {"text": "The dealer shows an invoice from the wrong country."}),
    ):
        answer = manager.post(f"{url}/{action}", data={"csrf_token": token, **data})
        assert answer.status_code == 302 and answer.headers["Location"] == url, action

    upload = manager.post(
        f"{url}/attach",
        data={
            "csrf_token": token,
            "note": "photo of the shelf",
            "file": (io.BytesIO(b"\x89PNG fake photo"), "shelf photo.png"),
        },
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    history = settlement.alert_history(engine, alert.id, settlement.Actor("t", "admin"))
    ref = next(e.attachment_ref for e in history if e.attachment_ref)
    assert ref is not None and ref.startswith("uploads/") and ref.endswith("shelf_photo.png")
    stored = Path(app.instance_path) / ref
    assert stored.read_bytes() == b"\x89PNG fake photo"
    name = ref.partition("/")[2]
    download = manager.get(f"{url}/files/{name}")
    assert download.status_code == 200 and download.data == b"\x89PNG fake photo"
    assert manager.get(f"/alerts/{alert.id}/files/../secret_key").status_code == 404
    empty = manager.post(
        f"{url}/attach", data={"csrf_token": token}, content_type="multipart/form-data"
    )
    assert empty.status_code == 302  # back to the page with "Choose a file to attach."

    confirmed = manager.post(f"{url}/confirm", data={"csrf_token": token, "note": "diverted"})
    assert confirmed.status_code == 302
    page = manager.get(url).get_data(as_text=True)
    for text in ("confirmed", "asking the dealer", "invoice from the wrong country", "carla"):
        assert text in page, text
    assert (
        settlement.get_alert(engine, alert.id, settlement.Actor("t", "admin")).assignee == "carla"
    )

    # The distributor appeals through its portal; the manager sees it and dismisses.
    dist = login_as("distributor", party=code, on=app.test_client())
    mine = dist.get(f"/partner/alerts/{alert.id}").get_data(as_text=True)
    assert "Send appeal" in mine
    appealed = dist.post(
        f"/partner/alerts/{alert.id}/appeal",
        data={"csrf_token": _token(mine), "reason": "Stolen from our warehouse; police report."},
    )
    assert appealed.status_code == 302
    page = manager.get(url).get_data(as_text=True)
    assert "appealed this alert" in page and "police report" in page
    dismissed = manager.post(f"{url}/dismiss", data={"csrf_token": token, "note": "accepted"})
    assert dismissed.status_code == 302
    view = settlement.get_alert(engine, alert.id, settlement.Actor("t", "admin"))
    assert view.status == "dismissed" and view.appealed


def test_whistleblower_report_filed_by_a_distributor_and_confirmed(
    app: Flask,
    engine: Engine,
    demo: Demo,
    login_as: Callable[..., FlaskClient],
    bearer: Callable[..., dict[str, str]],
) -> None:
    alert = _diversion_alert(engine, demo)
    admin = settlement.Actor("t", "admin")
    settlement.start_investigation(engine, alert.id, admin)
    settlement.confirm_alert(engine, alert.id, admin)
    unit_key = (
        app.test_client()
        .get(f"/api/v1/alerts/{alert.id}", headers=bearer("channel_manager"))
        .get_json()["findings"][0]["unit_key"]
    )
    reporter = next(c for c, i in sorted(demo.distributors.items()) if i != alert.party_id)

    dist = login_as("distributor", party=reporter)
    form = dist.get("/partner/report").get_data(as_text=True)
    token = _token(form)
    missing = dist.post(
        "/partner/report", data={"csrf_token": token, "seen_at": "2026-09-20T10:00"}
    )
    assert missing.status_code == 422 and "Enter the unit key" in missing.get_data(as_text=True)
    bad_place = dist.post(
        "/partner/report",
        data={"csrf_token": token, "unit": unit_key, "seen_at": "2026-09-20T10:00", "lat": "48.8"},
    )
    assert bad_place.status_code == 422
    assert "both latitude and longitude" in bad_place.get_data(as_text=True)
    filed = dist.post(
        "/partner/report",
        data={
            "csrf_token": token,
            "unit": unit_key,
            "seen_at": "2026-09-20T10:00",
            "lat": "48.8566",
            "lon": "2.3522",
            "territory": "fr",
            "note": "on a market stall",
        },
    )
    assert filed.status_code == 302
    reports = settlement.list_reports(engine, admin)
    assert len(reports) == 1
    r = reports[0]
    assert r.reporter_id == demo.distributors[reporter] and r.territory_code == "FR"
    assert r.seen_ms == 1_789_898_400_000 and not r.malicious

    # A second report, filed through the API, gets rejected.
    api_filed = app.test_client().post(
        "/api/v1/reports",
        json={"unit": unit_key, "seen_at": "2026-09-21T09:30Z"},
        headers=bearer("distributor", party=reporter),
    )
    assert api_filed.status_code == 201, api_filed.get_json()
    second = api_filed.get_json()["id"]

    manager = login_as("channel_manager", on=app.test_client())
    page = manager.get("/alerts/reports").get_data(as_text=True)
    assert unit_key in page and reporter in page
    token = _token(page)
    confirmed = manager.post(
        f"/alerts/reports/{r.id}/confirm", data={"csrf_token": token, "alert_id": str(alert.id)}
    )
    assert confirmed.status_code == 302
    rejected = manager.post(
        f"/alerts/reports/{second}/reject", data={"csrf_token": token, "note": "duplicate"}
    )
    assert rejected.status_code == 302
    statuses = {x.id: (x.status, x.alert_id) for x in settlement.list_reports(engine, admin)}
    assert statuses == {r.id: ("confirmed", alert.id), second: ("rejected", None)}
    again = manager.post(
        f"/alerts/reports/{second}/reject", data={"csrf_token": token}, follow_redirects=True
    )
    assert "already rejected" in again.get_data(as_text=True)


def test_alert_actions_through_the_api(
    engine: Engine, demo: Demo, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    alert = _diversion_alert(engine, demo)
    manager = bearer("channel_manager", label="api-manager")
    base = f"/api/v1/alerts/{alert.id}"
    assert client.post(f"{base}/confirm", headers=manager).status_code == 409
    assert client.post(f"{base}/assign", json={}, headers=manager).status_code == 422
    moved = client.post(f"{base}/investigate", json={"note": "why"}, headers=manager)
    assert moved.status_code == 200 and moved.get_json()["status"] == "investigating"
    attached = client.post(
        f"{base}/attachments",
        data={"file": (io.BytesIO(b"%PDF-1.4"), "invoice.pdf"), "note": "invoice"},
        headers=manager,
        content_type="multipart/form-data",
    )
    assert attached.status_code == 200
    assert attached.get_json()["attachment_ref"].endswith("-invoice.pdf")
    detail = client.get(base, headers=manager).get_json()
    assert [e["action"] for e in detail["history"]][-2:] == ["status", "attachment"]
    assert detail["findings"] and detail["findings"][0]["unit_key"].startswith("01/")
    listed = client.get("/api/v1/alerts?status=investigating", headers=manager).get_json()
    assert [a["id"] for a in listed] == [alert.id]
    assert client.get("/api/v1/alerts?status=nope", headers=manager).status_code == 400
