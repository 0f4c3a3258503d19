"""The API's refusals of query parameters, in the caller's language, and its paging.

Issue 11 (tester findings): with ``Accept-Language: zh-CN`` a refused parameter
answers ``error`` in English (unchanged for programs) and ``message`` in Chinese
words naming the parameter, with no English left but the data (the value sent,
the parameter's name); a list endpoint refuses a parameter it does not take
instead of silently listing everything, and every list pages with ``limit`` and
``cursor`` and answers ``X-Total-Count`` and ``Link``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.models import Party, Unit
from settlement.models import WhistleblowerReport
from tests.web.test_alert_lists import N_ALERTS, _world

Bearer = Callable[..., dict[str, str]]
ZH = {"Accept-Language": "zh-CN"}
ES = {"Accept-Language": "es"}
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_WORD = re.compile(r"[A-Za-z]{2,}")
#: Codes a message may hold in any language: GS1 and its Application Identifiers (AI).
ALLOWED = frozenset({"GS", "AI"})


def english_left(message: str, *data: str) -> list[str]:
    """English words in ``message`` once quoted values and ``data`` (names, codes) are out."""
    rest = _QUOTED.sub(" ", message)
    for name in sorted(data, key=len, reverse=True):
        rest = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", " ", rest)
    return [w for w in _WORD.findall(rest) if w not in ALLOWED]


def parameter_names(client: FlaskClient) -> set[str]:
    """Every query parameter name the OpenAPI document declares (data in a message)."""
    doc = client.get("/api/v1/openapi.json").get_json()
    return {
        p["name"]
        for ops in doc["paths"].values()
        for op in ops.values()
        for p in op.get("parameters", [])
    }


def refused(
    client: FlaskClient,
    url: str,
    headers: dict[str, str],
    parameter: str | None = None,
    data: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The 400 body of ``url`` asked in Chinese, after checking its shape: ``error`` in
    English, ``message`` in Chinese naming ``parameter`` with no English word but
    parameter names and ``data``."""
    r = client.get(url, headers={**headers, **ZH})
    assert r.status_code == 400, (url, r.status_code, r.get_data(as_text=True))
    body = r.get_json()
    assert r.headers["Content-Language"].startswith("zh")
    assert body["error"] and body["message"] != body["error"], body
    assert re.search(r"[\u4e00-\u9fff]", body["message"]), body
    if parameter is not None:
        assert body["parameter"] == parameter, body
        assert parameter in body["message"], body
    assert english_left(body["message"], *parameter_names(client), *data) == [], body
    return dict(body)


@pytest.fixture
def world(engine: Engine) -> dict[int, dict[str, object]]:
    return _world(engine)


def test_the_check_finds_english_and_passes_data() -> None:
    assert english_left("cursor 必须是Where the page starts", "cursor") == [
        "Where",
        "the",
        "page",
        "starts",
    ]
    assert english_left("q 最多 64 个字符，收到 70 个", "q") == []
    assert english_left("lang 必须是 'klingon' 之一", "lang") == []


def test_a_pattern_is_refused_in_its_own_words_not_its_description(
    client: FlaskClient, bearer: Bearer
) -> None:
    token = bearer("channel_manager")
    for value in ("garbage", "-1", "1.5"):
        body = refused(client, f"/api/v1/alerts?cursor={value}", token, "cursor")
        assert "Link" not in body["message"] and "Where" not in body["message"]
        assert f"'{value}'" in body["message"]
        assert body["error"] == f"cursor must be a whole number ≥ 0, got '{value}'"
    es = client.get("/api/v1/alerts?cursor=garbage", headers={**token, **ES}).get_json()
    assert "cursor" in es["message"] and "'garbage'" in es["message"]
    assert "Where" not in es["message"] and es["message"] != es["error"]


def test_a_period_pattern_is_said_in_words(client: FlaskClient, bearer: Bearer) -> None:
    body = refused(client, "/api/v1/runs?period=2026-13", bearer("finance"), "period")
    assert "YYYY" not in body["message"] and " or " not in body["message"]
    assert "2026-Q4" in body["message"]  # the example of a quarter
    month = refused(client, "/api/v1/alerts?period=2026-7", bearer("channel_manager"), "period")
    assert "2026-11" in month["message"]
    english = client.get("/api/v1/runs?period=2026-13", headers=bearer("finance")).get_json()
    assert "message" not in english
    assert english["error"].startswith("period must be a month such as 2026-11 or a quarter")


def test_a_long_text_is_refused_in_the_callers_language(
    client: FlaskClient, bearer: Bearer
) -> None:
    body = refused(client, "/api/v1/alerts?q=" + "A" * 70, bearer("channel_manager"), "q")
    assert "64" in body["message"] and "70" in body["message"]
    assert body["error"] == "q must be at most 64 characters, got 70"


def test_a_bad_unit_key_says_why_in_the_scanners_words(client: FlaskClient, bearer: Bearer) -> None:
    token = bearer("auditor")
    for url in ("/api/v1/units/abc", "/api/v1/units/abc/history"):
        body = refused(client, url, token)
        assert "abc" in body["message"]
        assert "Failed" not in body["message"] and "invalid" not in body["message"]
        assert body["error"].startswith("invalid unit key: ")


def test_ledger_ranges_are_refused_naming_the_parameter(
    client: FlaskClient, bearer: Bearer
) -> None:
    body = refused(client, "/api/v1/ledger/proof/inclusion?seq=50&tree_size=10", {}, "seq")
    assert "tree_size" in body["message"] and "50" in body["message"]
    assert "10" in body["message"]
    assert body["error"] == "leaf index 50 is not in a tree of size 10"
    body = refused(client, "/api/v1/ledger/proof/inclusion?seq=0&tree_size=10", {}, "tree_size")
    assert "0" in body["message"]  # the ledger is empty: it holds 0 entries
    token = bearer("auditor")
    body = refused(client, "/api/v1/ledger/entries?start=5&end=2", token, "end")
    assert "start" in body["message"] and "5" in body["message"] and "2" in body["message"]
    body = refused(client, "/api/v1/ledger/proof/consistency?first=5&second=2", {}, "first")
    assert "second" in body["message"]


def test_a_statement_language_not_offered_is_refused_naming_lang(
    client: FlaskClient, bearer: Bearer
) -> None:
    token = bearer("finance")
    offered = ("en", "zh_Hans_CN", "es")
    body = refused(client, "/api/v1/statements/2/download?lang=klingon", token, "lang", offered)
    assert "'klingon'" in body["message"] and "zh_Hans_CN" in body["message"]
    types = ("csv", "xlsx", "pdf")
    body = refused(client, "/api/v1/statements/2/download?format=doc", token, "format", types)
    assert "csv" in body["message"]


@pytest.mark.parametrize(
    ("url", "role", "parameter"),
    [
        ("/api/v1/statements?limit=0", "finance", "limit"),
        ("/api/v1/statements?period=2026-13", "finance", "period"),
        ("/api/v1/runs?limit=0", "finance", "limit"),
        ("/api/v1/runs?cursor=abc", "finance", "cursor"),
        ("/api/v1/disputes?cursor=zz", "finance", "cursor"),
        ("/api/v1/reports?limit=abc", "channel_manager", "limit"),
        ("/api/v1/payments?period=2026-13", "finance", "period"),
        ("/api/v1/alerts?partyid=3", "channel_manager", "partyid"),
        ("/api/v1/partner-scores?quarter=2026-Q5", "finance", "quarter"),
    ],
)
def test_list_endpoints_refuse_bad_or_unknown_parameters(
    client: FlaskClient, bearer: Bearer, url: str, role: str, parameter: str
) -> None:
    body = refused(client, url, bearer(role), parameter)
    if parameter == "partyid":  # unknown: the message lists what the endpoint takes
        assert "party_id" in body["message"] and "cursor" in body["message"]


def test_an_unknown_parameter_is_refused_on_every_endpoint(
    client: FlaskClient, bearer: Bearer, make_party: Callable[..., int]
) -> None:
    """Every GET of the document refuses ``bogus`` (400 naming it) for a caller of
    its first role: a misspelt filter never silently widens a list."""
    doc = client.get("/api/v1/openapi.json").get_json()
    checked = 0
    for path, ops in doc["paths"].items():
        op = ops.get("get")
        if op is None:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        roles = op.get("x-roles") or []
        headers = (
            bearer(roles[0], party="D-X" if roles[0] == "distributor" else None) if roles else {}
        )
        required = [p for p in op.get("parameters", []) if p.get("required") and p["in"] == "query"]
        query = "&".join(f"{p['name']}={_sample(p['schema'])}" for p in required)
        r = client.get(f"{url}?{query + '&' if query else ''}bogus=1", headers={**headers, **ZH})
        assert r.status_code == 400, (path, r.status_code, r.get_data(as_text=True))
        body = r.get_json()
        assert body["parameter"] == "bogus", (path, body)
        names = [p["name"] for p in op.get("parameters", [])]
        assert english_left(body["message"], "bogus", *names) == [], (path, body)
        checked += 1
    assert checked > 20


def _sample(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema["type"] == "integer":
        return str(max(schema.get("minimum", 1), 1))
    pattern = schema.get("pattern", "")
    if "Q[1-4]" in pattern and "0[1-9]" not in pattern:
        return "2026-Q1"
    return "2026-07" if pattern else "x"


def test_alerts_take_a_party_code_in_any_case(
    world: dict[int, dict[str, object]], client: FlaskClient, bearer: Bearer
) -> None:
    token = bearer("channel_manager")
    r = client.get("/api/v1/alerts?party=da&limit=500", headers=token)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert {a["party_code"] for a in r.get_json()} == {"DA"}
    assert r.headers["X-Total-Count"] == str(N_ALERTS // 2)
    body = refused(client, "/api/v1/alerts?party=D-AU", token, "party")
    assert "'D-AU'" in body["message"]
    refused(client, "/api/v1/alerts?party=DA&party_id=1", token, "party")
    doc = client.get("/api/v1/openapi.json").get_json()
    names = {p["name"] for p in doc["paths"]["/api/v1/alerts"]["get"]["parameters"]}
    assert {"party", "party_id", "limit", "cursor"} <= names


def _walk(client: FlaskClient, url: str, headers: dict[str, str]) -> tuple[list[Any], set[str]]:
    """Every item of a list, page by page through ``Link``; and the totals it said."""
    items: list[Any] = []
    totals: set[str] = set()
    next_url: str | None = url
    while next_url:
        r = client.get(next_url, headers=headers)
        assert r.status_code == 200, (next_url, r.get_data(as_text=True))
        totals.add(r.headers["X-Total-Count"])
        body = r.get_json()
        items.extend(body["items"] if isinstance(body, dict) else body)
        found = re.search(r'<([^>]+)>; rel="next"', r.headers.get("Link", ""))
        next_url = found.group(1) if found else None
    return items, totals


def test_reports_page_like_alerts(engine: Engine, client: FlaskClient, bearer: Bearer) -> None:
    with Session(engine) as s, s.begin():
        party = Party(code="DR", name="Reporter", kind="distributor", currency="EUR")
        s.add(party)
        s.flush()
        for i in range(7):
            unit = Unit(
                key=f"01/09506000134352/21/R{i}",
                gtin="09506000134352",
                serial=f"R{i}",
                state="sold",
            )
            s.add(unit)
            s.flush()
            s.add(
                WhistleblowerReport(
                    reporter_id=party.id,
                    unit_id=unit.id,
                    seen_ms=1,
                    created_ms=i,
                    created_by="test",
                )
            )
    token = bearer("channel_manager")
    whole = client.get("/api/v1/reports", headers=token).get_json()
    assert len(whole) == 7
    walked, totals = _walk(client, "/api/v1/reports?limit=3", token)
    assert walked == whole and totals == {"7"}
    second = client.get("/api/v1/reports?limit=3&cursor=3", headers=token)
    links = second.headers["Link"]
    assert "cursor=6" in links and 'rel="next"' in links
    assert "cursor=0" in links and 'rel="prev"' in links
    assert "limit=3" in links


#: Lists that page otherwise, on purpose: pickers answer at most their ``limit``
#: suggestions; territories are the layers of one map; the ledger's entries page by
#: ``start``/``end`` as RFC 6962 get-entries does (a proof reader's contract).
_NOT_PAGED = frozenset(
    {"/api/v1/parties", "/api/v1/users", "/api/v1/territories", "/api/v1/ledger/entries"}
)


def test_every_list_documents_and_sends_the_page_headers(
    world: dict[int, dict[str, object]], client: FlaskClient, bearer: Bearer
) -> None:
    """Each GET answering an array (or a page object) takes limit and cursor and
    answers X-Total-Count; the alert list walks by its Link to every alert."""
    doc = client.get("/api/v1/openapi.json").get_json()
    lists = []
    for path, ops in doc["paths"].items():
        op = ops.get("get")
        if op is None or "{" in path:
            continue
        schema = op["responses"]["200"].get("content", {}).get("application/json", {})
        shape = schema.get("schema", {})
        is_list = shape.get("type") == "array" or "next_cursor" in shape.get("properties", {})
        if not is_list or path in _NOT_PAGED:
            continue
        names = {p["name"] for p in op.get("parameters", [])}
        assert {"limit", "cursor"} <= names, path
        assert set(op["responses"]["200"].get("headers", {})) == {"X-Total-Count", "Link"}, path
        lists.append((path, op))
    assert len(lists) >= 10, [p for p, _ in lists]
    for path, op in lists:
        required = [p for p in op.get("parameters", []) if p.get("required") and p["in"] == "query"]
        query = "".join(f"&{p['name']}={_sample(p['schema'])}" for p in required)
        role = (op.get("x-roles") or ["admin"])[0]
        r = client.get(f"{path}?limit=1{query}", headers=bearer(role))
        assert r.status_code == 200, (path, r.get_data(as_text=True))
        assert r.headers["X-Total-Count"].isdigit(), path
    alerts, totals = _walk(client, "/api/v1/alerts?limit=25", bearer("channel_manager"))
    assert totals == {str(N_ALERTS)} and len({a["id"] for a in alerts}) == N_ALERTS
