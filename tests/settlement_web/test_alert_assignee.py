"""An alert is assigned to a person who may work alerts (a channel manager or an
administrator), picked from GET /api/v1/users; anyone else is refused, page and API,
with the "Assign to" field named in the reader's language."""

from __future__ import annotations

import re
from collections.abc import Callable

from _settlement_web import Demo
from flask.testing import FlaskClient
from sqlalchemy import Engine

import settlement

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ADMIN = settlement.Actor("t", "admin")


def _alert_id(engine: Engine, demo: Demo) -> int:
    return int(demo.alerts_of(engine, demo.party_with_alerts(engine))[0].id)


def test_channel_manager_picks_only_people_who_work_alerts(
    engine: Engine,
    demo: Demo,
    login_as: Callable[..., FlaskClient],
    make_user: Callable[..., int],
    bearer: Callable[..., dict[str, str]],
    client: FlaskClient,
) -> None:
    make_user("dora", "channel_manager")
    make_user("dani", "admin")
    make_user("dfin", "finance")
    make_user("ddist", "distributor", "DD-1")
    carla = login_as("channel_manager", username="carla")
    page = carla.get(f"/alerts/{_alert_id(engine, demo)}").get_data(as_text=True)
    assert 'data-user-picker="/api/v1/users?works=alerts"' in page
    assert "party_picker.js" in page

    found = carla.get("/api/v1/users?q=D").get_json()["items"]
    assert found == [
        {"username": "dani", "display_name": "dani"},
        {"username": "dora", "display_name": "dora"},
    ]  # no finance user, no distributor, and nothing but the names
    # a channel manager cannot widen the search
    assert carla.get("/api/v1/users?q=dfin").get_json()["items"] == []
    assert carla.get("/api/v1/users?q=d&works=all").status_code == 400

    admin = bearer("admin", user="root-admin")
    everyone = client.get("/api/v1/users?q=d", headers=admin).get_json()["items"]
    assert {u["username"] for u in everyone} >= {"dani", "dora", "dfin", "ddist"}
    assert all("role" in u for u in everyone)
    workers = client.get("/api/v1/users?q=d&works=alerts", headers=admin).get_json()["items"]
    assert [u["username"] for u in workers] == ["dani", "dora"]

    finance = bearer("finance")
    assert client.get("/api/v1/users?q=d", headers=finance).status_code == 403
    spec = client.get("/api/v1/openapi.json").get_json()
    users = spec["paths"]["/api/v1/users"]["get"]
    assert "works" in {p["name"] for p in users["parameters"]}
    assert "Channel managers" in users["description"]


def test_assigning_someone_who_cannot_work_alerts_is_refused_in_chinese(
    engine: Engine,
    demo: Demo,
    login_as: Callable[..., FlaskClient],
    make_user: Callable[..., int],
) -> None:
    make_user("dora", "channel_manager")
    make_user("dfin", "finance")
    alert_id = _alert_id(engine, demo)
    carla = login_as("channel_manager", username="carla")
    path = f"/alerts/{alert_id}"
    token = _CSRF.search(carla.get(path).get_data(as_text=True))
    assert token
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}

    def assign(name: str) -> str:
        answer = carla.post(
            f"{path}/assign",
            data={"csrf_token": token.group(1), "assignee": name},
            headers=zh,
            follow_redirects=True,
        )
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    unknown = assign("nobody-here")
    assert "指派给：没有用户名为 nobody-here 的有效用户" in unknown
    finance = assign("dfin")
    assert "指派给：dfin 无权处理警报" in finance
    assert settlement.get_alert(engine, alert_id, ADMIN).assignee is None
    done = assign("dora")
    assert "nobody-here" not in done
    assert settlement.get_alert(engine, alert_id, ADMIN).assignee == "dora"


def test_api_refuses_an_unknown_assignee_naming_the_field(
    engine: Engine,
    demo: Demo,
    make_user: Callable[..., int],
    bearer: Callable[..., dict[str, str]],
    client: FlaskClient,
) -> None:
    make_user("dora", "channel_manager")
    make_user("ddist", "distributor", "DD-1")
    alert_id = _alert_id(engine, demo)
    manager = bearer("channel_manager")
    url = f"/api/v1/alerts/{alert_id}/assign"
    unknown = client.post(url, json={"assignee": "ghost"}, headers=manager)
    assert unknown.status_code == 422
    assert unknown.get_json()["error"] == "Assign to: no active user has the username ghost"
    partner = client.post(url, json={"assignee": "ddist"}, headers=manager)
    assert partner.status_code == 422
    assert partner.get_json()["error"] == (
        "Assign to: ddist cannot work alerts; choose a channel manager or an administrator"
    )
    ok = client.post(url, json={"assignee": "dora"}, headers=manager)
    assert ok.status_code == 200 and ok.get_json()["assignee"] == "dora"
