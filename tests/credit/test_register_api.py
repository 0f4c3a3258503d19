"""The risk register's JSON API checks types and names every bad member at once
(issue 13 fix round): "likelihood": "5" is a string, not 5; a distributor cannot
own a risk; each problem has its JSON path, and in the reader's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk import register as rr

Headers = Callable[..., dict[str, str]]
GOOD: dict[str, Any] = {
    "category": "credit", "title": "D1 pays late", "likelihood": 4, "impact": 3,
    "owner": "carl", "party": "D1",
}  # fmt: skip


@pytest.fixture
def fin(
    bearer: Headers, make_user: Callable[..., int], make_party: Callable[..., int]
) -> dict[str, str]:
    make_party("D1")
    make_user("carl", "channel_manager")
    make_user("dora", "distributor", party="D1")
    return bearer("finance")


def _paths(answer: Any) -> list[str]:
    return [p["path"] for p in answer.get_json()["problems"]]


def _count(client: FlaskClient, headers: dict[str, str]) -> int:
    return int(client.get("/api/v1/risks?status=all", headers=headers).get_json()["total"])


@pytest.mark.parametrize(
    ("member", "value", "words"),
    [
        ("likelihood", "5", "$.likelihood must be an integer"),
        ("impact", 2.5, "$.impact must be an integer"),
        ("impact", True, "$.impact must be an integer"),
        ("likelihood", None, "$.likelihood must be an integer"),
        ("title", 7, "$.title must be a string"),
        ("owner", ["carl"], "$.owner must be a string"),
        ("category", {"name": "credit"}, "$.category must be a string"),
        ("party", 1, "$.party must be a string"),
        ("review_on", 20270115, "$.review_on must be a string"),
        ("description", False, "$.description must be a string"),
    ],
)
def test_a_member_of_the_wrong_type_is_400_by_its_path(
    client: FlaskClient, fin: dict[str, str], member: str, value: Any, words: str
) -> None:
    added = client.post("/api/v1/risks", json={**GOOD, member: value}, headers=fin)
    assert added.status_code == 400, added.get_json()
    assert added.get_json()["error"] == words and _paths(added) == [f"$.{member}"]
    made = client.post("/api/v1/risks", json=GOOD, headers=fin).get_json()
    patched = client.patch(f"/api/v1/risks/{made['id']}", json={member: value}, headers=fin)
    assert patched.status_code == 400 and patched.get_json()["error"] == words
    # nothing changed: still 4 x 3 = 12
    assert client.get(f"/api/v1/risks/{made['id']}", headers=fin).get_json()["score"] == 12
    assert _count(client, fin) == 1


def test_the_reported_patch_of_likelihood_5_as_a_string(
    client: FlaskClient, fin: dict[str, str]
) -> None:
    made = client.post("/api/v1/risks", json=GOOD, headers=fin).get_json()
    r = client.patch(f"/api/v1/risks/{made['id']}", json={"likelihood": "5"}, headers=fin)
    assert r.status_code == 400 and _paths(r) == ["$.likelihood"]
    ok = client.patch(f"/api/v1/risks/{made['id']}", json={"likelihood": 5}, headers=fin)
    assert ok.status_code == 200 and ok.get_json()["score"] == 15  # 5 x 3


def test_every_bad_member_is_named_at_once(client: FlaskClient, fin: dict[str, str]) -> None:
    typed = client.post(
        "/api/v1/risks", json={**GOOD, "likelihood": "5", "impact": "3", "title": 1}, headers=fin
    )
    assert typed.status_code == 400
    assert _paths(typed) == ["$.title", "$.likelihood", "$.impact"]
    valued = client.post(
        "/api/v1/risks",
        json={"category": "weather", "likelihood": 6, "owner": "dora", "colour": "red"},
        headers=fin,
    )
    assert valued.status_code == 400
    # unknown first, then the bad values in the order of a risk's fields, then what is missing
    assert _paths(valued) == [
        "$.colour", "$.category", "$.likelihood", "$.owner", "$.title", "$.impact",
    ]  # fmt: skip
    body = valued.get_json()
    assert body["problems"][3]["error"] == (
        "$.owner: dora is not an active user who may open the risk register"
    )
    assert "message" not in body["problems"][0]  # English asked: no second copy
    assert _count(client, fin) == 0


def test_a_distributor_cannot_be_made_owner_through_the_api(
    client: FlaskClient, fin: dict[str, str]
) -> None:
    made = client.post("/api/v1/risks", json=GOOD, headers=fin).get_json()
    r = client.patch(f"/api/v1/risks/{made['id']}", json={"owner": "dora"}, headers=fin)
    assert r.status_code == 400 and _paths(r) == ["$.owner"]
    assert client.get(f"/api/v1/risks/{made['id']}", headers=fin).get_json()["owner"] == "carl"


def test_a_chinese_request_gets_each_problem_in_its_language(
    client: FlaskClient, fin: dict[str, str]
) -> None:
    zh = {**fin, "Accept-Language": "zh-CN"}
    r = client.post("/api/v1/risks", json={**GOOD, "likelihood": 9, "impact": 0}, headers=zh)
    assert r.status_code == 400 and r.headers["Content-Language"].startswith("zh")
    body = r.get_json()
    assert _paths(r) == ["$.likelihood", "$.impact"]
    assert body["error"].startswith("$.likelihood: 9 is not a whole number from 1 to 5")
    for problem in body["problems"]:
        assert problem["message"].startswith(problem["path"])
    assert body["message"] == "; ".join(p["message"] for p in body["problems"])
    # the value's reason in Chinese (the path stays): "$.likelihood: ..." with CJK words
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["problems"][0]["message"])


def test_types_and_values_are_named_together(client: FlaskClient, fin: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/risks",
        json={"likelihood": 9, "impact": "0", "owner": "dora", "title": 3},
        headers=fin,
    )
    assert r.status_code == 400
    # the wrong types, the bad values and the missing category, in a risk's field order
    assert [p["error"] for p in r.get_json()["problems"]] == [
        "$.category: is empty",
        "$.title must be a string",
        "$.likelihood: 9 is not a whole number from 1 to 5",
        "$.impact must be an integer",
        "$.owner: dora is not an active user who may open the risk register",
    ]
    made = client.post("/api/v1/risks", json=GOOD, headers=fin).get_json()
    patched = client.patch(
        f"/api/v1/risks/{made['id']}", json={"likelihood": "5", "status": "done"}, headers=fin
    )
    assert patched.status_code == 400
    assert [p["path"] for p in patched.get_json()["problems"]] == ["$.likelihood", "$.status"]
    assert _count(client, fin) == 1


def test_null_means_none_only_where_a_risk_can_have_none(
    client: FlaskClient, fin: dict[str, str]
) -> None:
    made = client.post(
        "/api/v1/risks", json={**GOOD, "party": None, "review_on": None}, headers=fin
    )
    assert made.status_code == 201 and made.get_json()["party"] is None
    for member in ("category", "title", "owner", "status", "impact"):
        r = client.post("/api/v1/risks", json={**GOOD, member: None}, headers=fin)
        assert r.status_code == 400 and _paths(r) == [f"$.{member}"], member


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(_TEXT, inner,
                                                                max_size=2),
    max_leaves=4,
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from(list(rr._FIELDS)), _JSON, max_size=5))
def test_any_json_answers_201_or_400_naming_paths_never_500(
    client: FlaskClient, fin: dict[str, str], members: dict[str, Any]
) -> None:
    r = client.post("/api/v1/risks", json={**GOOD, **members}, headers=fin)
    assert r.status_code in (201, 400), r.get_json()
    if r.status_code == 400:
        paths = _paths(r)
        assert paths and all(p.startswith("$.") for p in paths)
        assert set(paths) <= {f"$.{name}" for name in rr._FIELDS}
