"""Parameters are checked at the edge, as declared: ids by the URL converters, query
parameters by ``api_route`` against their declared schema, JSON text by ``json_body``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue
from werkzeug.test import TestResponse

from web.api import json_body, query_bool, query_float, query_int, query_param, query_str
from web.api.openapi import Operation, id_param, make_api_route
from web.converters import ID_MAX, SEQ_MAX, parse_id

Bearer = Callable[..., dict[str, str]]


@pytest.fixture
def probe(app: Flask) -> tuple[FlaskClient, list[Operation]]:
    """Test endpoints declared with a fresh ``api_route`` under /api/v1/probe."""
    bp = Blueprint("probe", __name__, url_prefix="/api/v1/probe")
    registry: list[Operation] = []
    route = make_api_route(bp, registry)

    @route(
        "/list",
        summary="typed query values",
        params=(
            query_param("limit", minimum=1, maximum=500, default=50),
            id_param("party_id"),
            query_param("status", "string", enum=["open", "closed"]),
            query_param("month", "string", pattern=r"\d{4}-\d{2}", description="YYYY-MM"),
            query_param("q", "string", maxLength=8),
            query_param("lat", "number", minimum=-90, maximum=90),
            query_param("dry_run", "boolean"),
        ),
        roles=("finance",),
    )
    def listing() -> ResponseReturnValue:
        return {
            "limit": query_int("limit"),
            "party_id": query_int("party_id"),
            "status": query_str("status"),
            "month": query_str("month"),
            "q": query_str("q"),
            "lat": query_float("lat"),
            "dry_run": query_bool("dry_run"),
        }

    @route("/proof", summary="a required seq", params=(
        query_param("seq", required=True, minimum=0, maximum=SEQ_MAX),
    ), roles=None)  # fmt: skip
    def proof() -> ResponseReturnValue:
        return {"seq": query_int("seq")}

    @route("/things/<id:thing_id>", summary="an id in the path", roles=None)
    def thing(thing_id: int) -> ResponseReturnValue:
        return {"id": thing_id}

    @route("/entries/<seq:seq>", summary="a seq in the path", roles=None)
    def entry(seq: int) -> ResponseReturnValue:
        return {"seq": seq}

    @route("/echo", methods=("POST",), summary="a JSON body", roles=None,
           request_body={"content": {"application/json": {"schema": {"type": "object"}}}})  # fmt: skip
    def echo() -> ResponseReturnValue:
        return {"got": json_body()}

    @route("/undeclared", summary="reads what it did not declare", roles=None)
    def undeclared() -> ResponseReturnValue:
        return {"q": query_str("q")}

    app.register_blueprint(bp)
    return app.test_client(), registry


def _bad(response: TestResponse) -> dict[str, Any]:
    """A 400 naming its parameter, with exactly the documented error shape."""
    assert response.status_code == 400, response.get_data(as_text=True)
    body: dict[str, Any] = json.loads(response.get_data(as_text=True))
    assert set(body) == {"error", "status", "parameter"} and body["status"] == 400
    return body


def test_typed_values_and_defaults(
    probe: tuple[FlaskClient, list[Operation]], bearer: Bearer
) -> None:
    client, _ = probe
    headers = bearer("finance")
    plain = client.get("/api/v1/probe/list", headers=headers).get_json()
    assert plain == {
        "limit": 50,
        "party_id": None,
        "status": None,
        "month": None,
        "q": None,
        "lat": None,
        "dry_run": False,
    }
    full = client.get(
        "/api/v1/probe/list?limit=500&party_id=2147483647&status=open&month=2026-10"
        "&q=abc&lat=-12.5&dry_run=true",
        headers=headers,
    ).get_json()
    assert full == {
        "limit": 500,
        "party_id": ID_MAX,
        "status": "open",
        "month": "2026-10",
        "q": "abc",
        "lat": -12.5,
        "dry_run": True,
    }
    empty = client.get("/api/v1/probe/list?limit=&dry_run=0", headers=headers).get_json()
    assert empty["limit"] == 50 and empty["dry_run"] is False


BAD_VALUES = [  # (query, parameter named, message begins)
    ("limit=abc", "limit", "limit must be an integer from 1 to 500, got 'abc'"),
    ("limit=0", "limit", "limit must be an integer from 1 to 500, got '0'"),
    ("limit=501", "limit", "limit must be an integer from 1 to 500, got '501'"),
    ("limit=1.5", "limit", "limit must be an integer from 1 to 500, got '1.5'"),
    (
        "party_id=2147483648",
        "party_id",
        "party_id must be an integer from 1 to 2147483647, got '2147483648'",
    ),
    ("party_id=" + "9" * 60, "party_id", "party_id must be an integer from 1 to 2147483647"),
    ("status=nope", "status", "status must be one of open, closed, got 'nope'"),
    ("month=2026-1", "month", r"month must be text matching \d{4}-\d{2}, got '2026-1'"),
    ("month=x2026-10", "month", r"month must be text matching \d{4}-\d{2}, got 'x2026-10'"),
    (
        "month=%D9%A2%D9%A0%D9%A2%D9%A6-10",
        "month",
        r"month must be text matching \d{4}-\d{2}, got '٢٠٢٦-10'",
    ),
    ("q=123456789", "q", "q must be at most 8 characters, got 9"),
    ("q=a%01b", "q", "q must not contain control characters"),
    ("q=a%00b", "q", "query parameter 'q' holds a NUL character (%00)"),
    ("lat=nan", "lat", "lat must be a number from -90 to 90, got 'nan'"),
    ("lat=1e999", "lat", "lat must be a number from -90 to 90, got '1e999'"),
    ("lat=91", "lat", "lat must be a number from -90 to 90, got '91'"),
    ("dry_run=maybe", "dry_run", "dry_run must be true or false, got 'maybe'"),
]


def test_a_bad_value_is_400_naming_the_parameter(
    probe: tuple[FlaskClient, list[Operation]], bearer: Bearer
) -> None:
    client, _ = probe
    headers = bearer("finance")
    for query, parameter, message in BAD_VALUES:
        body = _bad(client.get(f"/api/v1/probe/list?{query}", headers=headers))
        assert body["parameter"] == parameter, query
        assert body["error"].startswith(message), (query, body["error"])


def test_reading_an_undeclared_parameter_is_a_programming_error(
    probe: tuple[FlaskClient, list[Operation]],
) -> None:
    client, _ = probe
    with pytest.raises(LookupError, match=re.escape("'q' is not declared for probe.undeclared")):
        client.get("/api/v1/probe/undeclared")
    # sent, it is refused before the view: an endpoint takes only what it declares
    r = client.get("/api/v1/probe/undeclared?q=1")
    assert r.status_code == 400 and r.get_json()["parameter"] == "q"


def test_required_parameters_and_roles_come_first(
    probe: tuple[FlaskClient, list[Operation]],
) -> None:
    client, _ = probe
    missing = _bad(client.get("/api/v1/probe/proof"))
    assert missing == {
        "error": f"seq is required: an integer from 0 to {SEQ_MAX}",
        "status": 400,
        "parameter": "seq",
    }
    assert client.get(f"/api/v1/probe/proof?seq={SEQ_MAX}").get_json() == {"seq": SEQ_MAX}
    # an anonymous caller learns it must sign in, not what the parameters should be
    assert client.get("/api/v1/probe/list?limit=abc").status_code == 401


PATHS: list[tuple[str, dict[str, int] | None]] = [  # None: refused while routing
    ("/things/1", {"id": 1}),
    (f"/things/{ID_MAX}", {"id": ID_MAX}),
    (f"/things/{ID_MAX + 1}", None),
    (f"/things/{2**63}", None),
    ("/things/0", None),
    ("/things/-1", None),
    ("/things/1e3", None),
    ("/entries/0", {"seq": 0}),
    (f"/entries/{SEQ_MAX}", {"seq": SEQ_MAX}),
    (f"/entries/{SEQ_MAX + 1}", None),
    ("/entries/-1", None),
]


def test_path_ids_out_of_range_are_404_before_the_view(
    probe: tuple[FlaskClient, list[Operation]],
) -> None:
    client, _ = probe
    for path, expected in PATHS:
        response = client.get("/api/v1/probe" + path)
        if expected is None:
            assert response.status_code == 404, path
            assert response.get_json() == {"error": "not found", "status": 404}
        else:
            assert response.get_json() == expected, path


def test_json_text_that_cannot_be_stored_is_422_with_its_path(
    probe: tuple[FlaskClient, list[Operation]], bearer: Bearer
) -> None:
    client, _ = probe
    headers = bearer("finance")  # a token needs no CSRF token

    def post(raw: str) -> TestResponse:
        return client.post(
            "/api/v1/probe/echo", data=raw, content_type="application/json", headers=headers
        )

    nul = post('{"party": "D\\u0000", "lines": [{"reason": "ok"}]}')
    assert nul.status_code == 422
    assert nul.get_json()["error"] == (
        "$.party holds a NUL character (\\u0000), which text may not contain"
    )
    surrogate = post('{"lines": [{"reason": "\\ud800"}]}')
    assert surrogate.status_code == 422
    assert surrogate.get_json()["error"].startswith("$.lines[0].reason holds a lone UTF-16")
    key = post('{"a b": {"\\u0000": 1}}')
    assert key.get_json()["error"].startswith("a key of $['a b'] holds a NUL")
    deep = post("[" * 100_000)
    assert deep.status_code == 400
    assert "nested too deeply" in deep.get_json()["error"]
    assert post('{"party": "D-1 é"}').get_json() == {"got": {"party": "D-1 é"}}


def test_the_document_states_every_parameter_as_checked(
    probe: tuple[FlaskClient, list[Operation]],
) -> None:
    _, registry = probe
    ops = {op.operation_id: op for op in registry}
    thing = ops["thing"].as_openapi()
    assert thing["parameters"] == [
        {
            "name": "thing_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
        }
    ]
    assert thing["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    listing = {p["name"]: p["schema"] for p in ops["listing"].parameters}
    assert listing["limit"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
    assert listing["q"] == {"type": "string", "maxLength": 8}
    assert listing["month"]["pattern"] == r"^(?:\d{4}-\d{2})$"  # the whole value, as checked
    echo = ops["echo"].as_openapi()["responses"]
    assert {"400", "413", "422"} <= set(echo)


def _int_in_path(route: Callable[..., Any]) -> None:
    route("/x/<int:n>", summary="s", roles=None)


def _raw_query_param(route: Callable[..., Any]) -> None:
    untyped = {"name": "n", "in": "query", "schema": {"minimum": 0}}
    route("/x", summary="s", roles=None, params=(untyped,))


@pytest.mark.parametrize(
    ("declare", "complaint"),
    [(_int_in_path, "use <id:...>"), (_raw_query_param, "declare 'n' with query_param()")],
)
def test_declarations_that_could_not_be_checked_are_refused(
    declare: Callable[[Any], None], complaint: str
) -> None:
    route = make_api_route(Blueprint("refused", __name__), [])
    with pytest.raises(ValueError, match=re.escape(complaint)):
        declare(route)


def test_query_param_refuses_a_number_without_a_range_or_an_unknown_keyword() -> None:
    with pytest.raises(ValueError, match="declare its range"):
        query_param("offset", minimum=0)
    with pytest.raises(ValueError, match="unsupported schema keywords"):
        query_param("q", "string", format="email")
    assert query_param("q", "string")["schema"] == {"type": "string", "maxLength": 200}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), (" 42 ", 42), (str(ID_MAX), ID_MAX), (str(ID_MAX + 1), None), ("0", None),
     ("-3", None), ("²", None), ("", None), (None, None), ("9" * 40, None)],
)  # fmt: skip
def test_parse_id(text: str | None, expected: int | None) -> None:
    assert parse_id(text) == expected


def test_the_api_document_states_every_parameter_and_error(client: FlaskClient) -> None:
    """Every parameter of every operation has a type and a range; every error answer
    documents its JSON body; path parameters imply 404, query parameters 400."""
    doc = client.get("/api/v1/openapi.json").get_json()
    problems: list[str] = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            params = op.get("parameters", [])
            for p in params:
                schema, name = p.get("schema", {}), f"{where} {p['in']} {p['name']}"
                if schema.get("type") in ("integer", "number"):
                    if "enum" not in schema and not {"minimum", "maximum"} <= set(schema):
                        problems.append(f"{name}: no range")
                elif schema.get("type") == "string":
                    bounded = {"enum", "pattern", "maxLength"} & set(schema)
                    if p["in"] == "query" and not bounded:
                        problems.append(f"{name}: no length, pattern or values")
                elif schema.get("type") != "boolean":
                    problems.append(f"{name}: no type")
            if any(p["in"] == "path" for p in params) and "404" not in op["responses"]:
                problems.append(f"{where}: 404 not documented")
            if any(p["in"] == "query" for p in params) and "400" not in op["responses"]:
                problems.append(f"{where}: 400 not documented")
            for status, response in op["responses"].items():
                if int(status) >= 400 and "application/json" not in response.get("content", {}):
                    problems.append(f"{where} {status}: no JSON error body")
    assert len(doc["paths"]) > 40
    assert not problems, "\n".join(problems)


def test_months_and_periods_outside_the_calendar_are_400(
    client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    """Month 13, month 00 and quarter 5 are not periods: 400 naming the parameter,
    not an empty list that reads like "nothing happened that month"."""
    token = bearer("admin")
    for path in (
        "/api/v1/alerts?period=2026-13",
        "/api/v1/alerts?period=2026-00",
        "/api/v1/runs?period=2026-Q5",
        "/api/v1/runs?period=2026-13",
    ):
        answer = client.get(path, headers=token)
        assert answer.status_code == 400, path
        assert answer.get_json()["parameter"] == "period", path
    for path in ("/api/v1/alerts?period=2026-12", "/api/v1/runs?period=2026-Q4"):
        assert client.get(path, headers=token).status_code == 200, path
