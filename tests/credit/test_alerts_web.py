"""The credit alerts and thresholds pages and API (issue 13): alerts listed with
their figures in words (English and Chinese pages), filtered and paged,
acknowledged and closed through the page and the API, thresholds changed with a
bad value named next to its field, and who may see what."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from partners.models import PartnerEvent
from risk.credit_alerts import raise_alert
from web.models import User


def _alerts(engine: Engine, party_id: int, n: int = 1) -> list[int]:
    ids = []
    with Session(engine) as s, s.begin():
        for i in range(n):
            view, _new = raise_alert(s, party_id, "overdue", f"invoice:INV-{i}|30", {
                "threshold": 30, "item": f"invoice:INV-{i}", "days_overdue": 31,
                "due_on": "2026-10-01", "open_minor": 123_456, "amount_minor": 200_000,
                "currency": "EUR", "on": "2026-11-01",
            })  # fmt: skip
            ids.append(view.id)
    return ids


def test_the_list_says_each_alert_in_words_and_acts_on_it(
    engine: Engine, make_party: Callable[..., int], login_as: Callable[..., FlaskClient],
    csrf_token: Callable[..., str],
) -> None:  # fmt: skip
    (alert_id,) = _alerts(engine, make_party("D1"))
    browser = login_as("finance", username="fin")
    page = browser.get("/credit/alerts/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # 123456 minor EUR = EUR 1,234.56 of 200000 = EUR 2,000.00
    assert "Invoice INV-0 of D1 D1 Ltd is 31 days overdue (due 2026-10-01)" in html
    assert "EUR 1,234.56 of EUR 2,000.00 is still open (threshold 30 days)" in html
    token = csrf_token("/credit/alerts/", on=browser)
    ack = browser.post(f"/credit/alerts/{alert_id}/acknowledge", data={"csrf_token": token})
    assert ack.status_code == 302
    closed = browser.post(
        f"/credit/alerts/{alert_id}/close", data={"csrf_token": token, "note": "paid 11-03"}
    )
    assert closed.status_code == 302
    one = browser.get(f"/credit/alerts/{alert_id}").get_data(as_text=True)
    assert "paid 11-03" in one and "closed" in one
    with Session(engine) as s:
        actions = list(s.scalars(select(PartnerEvent.action).order_by(PartnerEvent.id)))
    assert actions[-2:] == ["credit_alert.acknowledged", "credit_alert.closed"]
    empty = browser.get("/credit/alerts/?status=open").get_data(as_text=True)
    assert "No credit alert." in empty
    with Session(engine, expire_on_commit=False) as s, s.begin():
        s.scalars(select(User).where(User.username == "fin")).one().locale = "zh_Hans_CN"
    zh = browser.get("/credit/alerts/")
    assert zh.status_code == 200 and 'lang="zh' in zh.get_data(as_text=True)
    assert "EUR 1,234.56" in zh.get_data(as_text=True)


def test_the_api_lists_pages_and_moves_alerts(
    engine: Engine, make_party: Callable[..., int], client: FlaskClient,
    bearer: Callable[..., dict[str, str]],
) -> None:  # fmt: skip
    ids = _alerts(engine, make_party("D1"), 3)
    aud, fin = bearer("auditor"), bearer("finance")
    first = client.get("/api/v1/credit/alerts?limit=2&party=D1", headers=aud)
    assert first.status_code == 200 and first.headers["X-Total-Count"] == "3"
    assert len(first.get_json()["items"]) == 2
    assert first.get_json()["items"][0]["detail"]["open_minor"] == 123_456
    assert (
        client.post(f"/api/v1/credit/alerts/{ids[0]}/acknowledge", headers=aud).status_code == 403
    )
    ack = client.post(f"/api/v1/credit/alerts/{ids[0]}/acknowledge", headers=fin)
    assert ack.status_code == 200 and ack.get_json()["status"] == "acknowledged"
    again = client.post(f"/api/v1/credit/alerts/{ids[0]}/acknowledge", headers=fin)
    assert again.status_code == 409
    closed = client.post(f"/api/v1/credit/alerts/{ids[1]}/close", json={"note": "ok"}, headers=fin)
    assert closed.status_code == 200 and closed.get_json()["note"] == "ok"
    assert client.get("/api/v1/credit/alerts?party=NOPE", headers=aud).status_code == 404
    dist = bearer("distributor", party="D1")
    assert client.get("/api/v1/credit/alerts", headers=dist).status_code == 403


def test_thresholds_through_the_api_and_the_page(
    client: FlaskClient, bearer: Callable[..., dict[str, str]],
    login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str],
) -> None:  # fmt: skip
    listed = client.get("/api/v1/credit/thresholds", headers=bearer("auditor"))
    assert [(t["kind"], t["value"]) for t in listed.get_json()["items"]][:2] == [
        ("utilisation", 90), ("overdue", 30),
    ]  # fmt: skip
    cm = bearer("channel_manager")
    put = client.put("/api/v1/credit/thresholds", json={"kind": "utilisation", "value": 80},
                     headers=cm)  # fmt: skip
    assert put.status_code == 200 and put.get_json()["set_by"].startswith("test-")
    bad = client.put("/api/v1/credit/thresholds", json={"kind": "overdue", "value": 0}, headers=cm)
    assert bad.status_code == 422 and bad.get_json()["error"].startswith("value: 0 is not")
    assert client.put("/api/v1/credit/thresholds", json={"kind": "overdue", "value": 5},
                      headers=bearer("auditor")).status_code == 403  # fmt: skip
    browser = login_as("finance", username="fin")
    token = csrf_token("/credit/alerts/thresholds", on=browser)
    r = browser.post("/credit/alerts/thresholds",
                     data={"csrf_token": token, "kind": "overdue", "value": "9999"})  # fmt: skip
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert re.search(r'id="value-error">value: 9999 is not a whole number from 1 to 3650', html)
    ok = browser.post("/credit/alerts/thresholds",
                      data={"csrf_token": token, "kind": "overdue", "value": "45",
                            "enabled": "1", "emails": "1"})  # fmt: skip
    assert ok.status_code == 302
    page = browser.get("/credit/alerts/thresholds").get_data(as_text=True)
    assert "45" in page and "days past due" in page


def test_check_now_from_the_page(login_as: Callable[..., FlaskClient],
                                 csrf_token: Callable[..., str]) -> None:  # fmt: skip
    browser = login_as("finance", username="fin")
    token = csrf_token("/credit/alerts/", on=browser)
    r = browser.post("/credit/alerts/check", data={"csrf_token": token})
    assert r.status_code == 302
    assert "0 new alerts" in browser.get("/credit/alerts/").get_data(as_text=True)


def test_a_distributor_sees_no_alerts(login_as: Callable[..., FlaskClient]) -> None:
    browser = login_as("distributor", party="D1")
    assert browser.get("/credit/alerts/").status_code in (403, 404)
    assert browser.get("/credit/alerts/thresholds").status_code in (403, 404)


def _shipment_alert(engine: Engine, party_id: int, detail: dict[str, object]) -> int:
    with Session(engine) as s, s.begin():
        view, _new = raise_alert(s, party_id, "credit_shipment", "2026-11-30", detail)
        return view.id


def test_a_shipment_alert_lists_its_entries_and_the_value_shipped(
    engine: Engine, make_party: Callable[..., int], login_as: Callable[..., FlaskClient],
    app: Flask,
) -> None:  # fmt: skip
    alert_id = _shipment_alert(engine, make_party("D1"), {
        "exposure_minor": 10_000, "value_minor": 30_000, "limit_minor": 5_000,
        "currency": "EUR", "seqs": [3, 4, 17], "note": "credit: over limit",
    })  # fmt: skip
    finance = login_as("finance").get(f"/credit/alerts/{alert_id}").get_data(as_text=True)
    # 30000 minor EUR = EUR 300.00 shipped in 3 entries; finance may not open the ledger
    assert "Value shipped" in finance and "EUR 300.00" in finance
    assert re.search(r"3 entries:\s*3, 4, 17</dd>", finance)
    assert "/ledger/?seq=" not in finance
    auditor = login_as("auditor", on=app.test_client())
    html = auditor.get(f"/credit/alerts/{alert_id}").get_data(as_text=True)
    assert [f'href="/ledger/?seq={q}"' in html for q in (3, 4, 17)] == [True] * 3
    admin = login_as("admin", on=app.test_client())
    assert 'href="/ledger/?seq=17"' in admin.get(f"/credit/alerts/{alert_id}").get_data(
        as_text=True
    )


def test_a_shipment_alert_updated_later_shows_the_new_figures(
    engine: Engine, make_party: Callable[..., int], login_as: Callable[..., FlaskClient],
    app: Flask,
) -> None:  # fmt: skip
    from risk.credit_alerts import update_alert
    from risk.credit_gate import GATE_ACTOR

    party = make_party("D1")
    alert_id = _shipment_alert(engine, party, {
        "exposure_minor": 0, "value_minor": 10_000, "limit_minor": 5_000,
        "currency": "JPY", "seqs": [1], "note": "",
    })  # fmt: skip
    with Session(engine) as s, s.begin():
        update_alert(s, alert_id, {
            "exposure_minor": 0, "value_minor": 25_000, "limit_minor": 5_000,
            "currency": "JPY", "seqs": [1, 5], "note": "",
        }, GATE_ACTOR)  # fmt: skip
    html = login_as("finance").get(f"/credit/alerts/{alert_id}").get_data(as_text=True)
    # 10000 + 15000 JPY (no minor digits) = JPY 25,000 in 2 entries
    assert "JPY 25,000" in html and re.search(r"2 entries:\s*1, 5</dd>", html)
    manager = login_as("channel_manager", on=app.test_client())
    listed = manager.get("/credit/alerts/").get_data(as_text=True)
    assert "JPY 25,000" in listed


def test_a_shipment_alert_without_figures_still_opens(
    engine: Engine, make_party: Callable[..., int], login_as: Callable[..., FlaskClient],
) -> None:  # fmt: skip
    alert_id = _shipment_alert(engine, make_party("D1"), {"seqs": "broken"})
    page = login_as("finance").get(f"/credit/alerts/{alert_id}")
    assert page.status_code == 200 and "0 entries" in page.get_data(as_text=True)
