"""Credit files, ratings and limits through /api/v1/credit: JSON paths for bad
bodies, the override's reason, roles (a distributor is refused)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient

GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")


def test_investigate_rate_and_override_through_the_api(
    client: FlaskClient, make_party: Callable[..., int], bearer: Callable[..., dict[str, str]]
) -> None:
    make_party("DIST")
    fin, cm = bearer("finance"), bearer("channel_manager")
    bad = client.post(
        "/api/v1/credit/parties/DIST/investigations",
        json={"bank_reference": "superb", "insurer_grade": 11, "revenue": "1,5"},
        headers=fin,
    )
    assert bad.status_code == 400
    error = bad.get_json()["error"]
    assert "$.bank_reference: 'superb' is not one of good, fair, poor, none" in error
    assert "$.insurer_grade: '11' is not a whole number from 0 to 10" in error
    assert "$.revenue: '1,5' is not an amount" in error
    assert (
        client.post("/api/v1/credit/parties/DIST/investigations", json={"x": 1}, headers=fin)
    ).status_code == 400
    assert (
        client.post("/api/v1/credit/parties/DIST/rating", headers=fin).status_code == 409
    )  # nothing to rate yet
    ok = client.post(
        "/api/v1/credit/parties/DIST/investigations",
        json={"registration_verified": True, "bank_reference": "good", "insurer_grade": 8,
              "trade_references_good": 3, "current_ratio": "2.1", "days_payable": "25",
              "revenue": "1000000.00", "equity": "400000.00"},
        headers=fin,
    )  # fmt: skip
    assert ok.status_code == 201, ok.get_json()
    assert (
        client.post("/api/v1/credit/parties/DIST/investigations", json={}, headers=cm).status_code
        == 403
    )
    rated = client.post("/api/v1/credit/parties/DIST/rating", headers=fin)
    assert rated.status_code == 201, rated.get_json()
    body = rated.get_json()
    # 10 + 10 + 10 + 16 (8 x 10 x 0.20) + 15 + 10 + 10 + 15 = 96 -> AAA, 500000.00 EUR, 60 days
    assert (body["rating"]["score"], body["rating"]["grade"]) == (96, "AAA")
    assert body["limit"]["limit_minor"] == 50_000_000 and body["limit"]["payment_days"] == 60
    seen = client.get("/api/v1/credit/parties/DIST", headers=cm).get_json()
    assert seen["rating"]["grade"] == "AAA"

    no_reason = client.put(
        "/api/v1/credit/parties/DIST/limit",
        json={"limit": "1000.00", "payment_days": 10, "reason": "  "},
        headers=fin,
    )
    assert no_reason.status_code == 400
    assert no_reason.get_json()["error"] == (
        "$.reason: say why the limit is overridden (the reason is kept with the limit)"
    )
    put = client.put(
        "/api/v1/credit/parties/DIST/limit",
        json={"limit": "1000.00", "payment_days": 10, "reason": "new owner"},
        headers=fin,
    )
    assert put.status_code == 200 and put.get_json()["limit_minor"] == 100_000
    admin = bearer("admin")
    assert (
        client.put(
            "/api/v1/credit/parties/DIST/limit",
            json={"limit": "1.00", "payment_days": 1, "reason": "x"},
            headers=admin,
        ).status_code
        == 403
    )  # an override is a finance approver's
    back = client.delete("/api/v1/credit/parties/DIST/limit", headers=fin)
    assert back.status_code == 200 and back.get_json()["limit_minor"] == 50_000_000
    assert client.get("/api/v1/credit/parties/NOPE", headers=cm).status_code == 404

    board = client.get("/api/v1/credit/parties?q=dis&limit=10", headers=cm)
    assert board.status_code == 200 and board.headers["X-Total-Count"] == "1"
    assert board.get_json()["items"][0]["grade"] == "AAA"


def test_table_and_model_through_the_api(
    client: FlaskClient, bearer: Callable[..., dict[str, str]], make_party: Callable[..., int]
) -> None:
    fin = bearer("finance")
    table = client.get("/api/v1/credit/limit-table", headers=fin).get_json()
    assert table["in_force"]["version"] == 1 and table["in_force"]["currency"] == "EUR"
    rows = {g: {"limit": "1000.00", "payment_days": 30} for g in GRADES}
    bad = client.put(
        "/api/v1/credit/limit-table",
        json={"currency": "EUR", "medium_factor": "0", "rows": {**rows, "A": {"limit": "x", "payment_days": 999}}},
        headers=fin,
    )  # fmt: skip
    assert bad.status_code == 400
    error = bad.get_json()["error"]
    assert "$.rows.A.limit" in error and "$.rows.A.payment_days" in error
    assert "$.medium_factor" in error
    good = client.put(
        "/api/v1/credit/limit-table",
        json={"currency": "EUR", "medium_factor": "0.5", "rows": rows},
        headers=fin,
    )
    assert good.status_code == 200 and good.get_json()["version"] == 2

    model = client.get("/api/v1/credit/model", headers=fin).get_json()
    assert model["in_force"]["weights"]["insurer_grade"] == "0.20"
    weights = dict(model["in_force"]["weights"], registration="0.20")
    summed = client.put("/api/v1/credit/model", json={"weights": weights}, headers=fin)
    assert summed.status_code == 422 and "add up to 1.10, not 1" in summed.get_json()["error"]
    odd = client.put("/api/v1/credit/model", json={"weights": {"luck": "1"}}, headers=fin)
    assert odd.status_code == 400 and "$.weights.luck" in odd.get_json()["error"]
    weights["registration"] = "0.10"
    saved = client.put(
        "/api/v1/credit/model", json={"weights": weights, "note": "same"}, headers=fin
    )
    assert saved.status_code == 200 and saved.get_json()["version"] == 2

    make_party("D1")
    dist = bearer("distributor", party="D1")
    for path in ("/api/v1/credit/model", "/api/v1/credit/parties/D1", "/api/v1/credit/parties"):
        assert client.get(path, headers=dist).status_code == 403


ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _override(
    client: FlaskClient, headers: dict[str, str], body: object
) -> tuple[int, dict[str, object]]:
    answer = client.put("/api/v1/credit/parties/DIST/limit", json=body, headers=headers)
    return answer.status_code, answer.get_json()


def test_an_override_names_every_bad_member_at_once(
    client: FlaskClient, make_party: Callable[..., int], bearer: Callable[..., dict[str, str]]
) -> None:
    make_party("DIST")
    fin = bearer("finance")
    status, body = _override(
        client, fin, {"limit": "1,5", "payment_days": 400, "reason": "", "why": "x"}
    )
    assert status == 400
    error = str(body["error"])
    # every member named by its path, in the body's order, each once
    assert error.index("$.limit: ") < error.index("$.payment_days: ") < error.index("$.reason: ")
    assert "$.why: is not a member of this body; it takes limit, payment_days, reason" in error
    assert "$.payment_days: 400 is not a whole number from 0 to 365" in error
    assert "$.reason: say why the limit is overridden" in error
    assert "message" not in body  # English answers keep their shape

    # missing members and members of the wrong type: each named, none a 500
    status, body = _override(client, fin, {})
    assert status == 400
    assert str(body["error"]).count("$.") == 3 and "$.limit: is empty" in str(body["error"])
    status, body = _override(
        client, fin, {"limit": 1000, "payment_days": "30", "reason": ["bank guarantee"]}
    )
    assert status == 400
    error = str(body["error"])
    assert "$.limit: must be text, not 1000" in error
    assert '$.payment_days: "30" is not a whole number from 0 to 365' in error
    assert '$.reason: must be text, not ["bank guarantee"]' in error
    for days in (True, -1, 366, 2**63, 1.5):
        status, body = _override(
            client, fin, {"limit": "10.00", "payment_days": days, "reason": "r"}
        )
        assert status == 400 and str(body["error"]).startswith("$.payment_days: "), days
    for limit in ("-1.00", "1.005", "1e5", "99999999999999999999999999", "  "):
        status, body = _override(client, fin, {"limit": limit, "payment_days": 30, "reason": "r"})
        assert status == 400 and str(body["error"]).startswith("$.limit: "), limit
    # nothing was stored by any of them
    assert client.get("/api/v1/credit/parties/DIST", headers=fin).get_json()["limit"] is None


def test_an_override_refused_in_chinese_names_the_paths(
    client: FlaskClient, make_party: Callable[..., int], bearer: Callable[..., dict[str, str]]
) -> None:
    make_party("DIST")
    fin = bearer("finance")
    status, body = _override(
        client, {**fin, **ZH}, {"limit": "x", "payment_days": 400, "reason": " "}
    )
    assert status == 400
    message = str(body["message"])
    assert "$.limit" in message and "$.payment_days" in message and "$.reason" in message
    assert re.search(r"[\u4e00-\u9fff]", message), message  # worded in Chinese
    for part in message.split("; "):  # each reason in Chinese after its JSON path
        assert re.match(r"^\$\.(limit|payment_days|reason)：.*[\u4e00-\u9fff]", part), part
    # the English stays in `error` for programs
    assert "$.reason: say why the limit is overridden" in str(body["error"])


def test_an_investigation_names_every_bad_member_at_once(
    client: FlaskClient, make_party: Callable[..., int], bearer: Callable[..., dict[str, str]]
) -> None:
    make_party("DIST")
    fin = bearer("finance")
    bad = client.post(
        "/api/v1/credit/parties/DIST/investigations",
        json={"revenue": ["1"], "insurer_grade": 11, "equity": {"a": 1}, "luck": "high",
              "investigated_on": "2026-13-01"},
        headers={**fin, **ZH},
    )  # fmt: skip
    assert bad.status_code == 400
    body = bad.get_json()
    error = str(body["error"])
    for path in ("$.revenue: must be text", "$.insurer_grade: '11'", "$.equity: must be text",
                 "$.luck: is not a field", "$.investigated_on: '2026-13-01'"):  # fmt: skip
        assert path in error, (path, error)
    message = str(body["message"])
    for path in ("$.revenue", "$.insurer_grade", "$.equity", "$.luck", "$.investigated_on"):
        assert path in message
    assert re.search(r"[\u4e00-\u9fff]", message), message
    assert "revenue: must be text" not in message  # the reasons are in Chinese, not English
    listed = client.get("/api/v1/credit/parties/DIST/investigations", headers=fin).get_json()
    assert listed["total"] == 0


def test_a_table_refused_in_chinese_names_the_cells(
    client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    fin = bearer("finance")
    rows = {g: {"limit": "1000.00", "payment_days": 30} for g in GRADES}
    rows["A"] = {"limit": "x", "payment_days": 999}
    bad = client.put(
        "/api/v1/credit/limit-table",
        json={"currency": "EUR", "medium_factor": "2", "rows": rows},
        headers={**fin, **ZH},
    )
    assert bad.status_code == 400
    message = str(bad.get_json()["message"])
    assert "$.rows.A.limit" in message and "$.rows.A.payment_days" in message
    assert "$.medium_factor" in message and re.search(r"[\u4e00-\u9fff]", message)
