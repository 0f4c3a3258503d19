"""Every route with a number in its path, pages and API alike, copes with any number.

Ids are ``Integer`` columns (1 … 2**31-1 on PostgreSQL) and ledger seqs
``BigInteger``; a number outside that range used to reach the database and
answer 500 ("integer out of range") on PostgreSQL. The ``id``/``seq`` URL
converters now refuse it while routing (404), and the largest number they let
through reaches the view and is answered without a server error. Run on SQLite
and, with ``HOPCHAIN_TEST_PG_URL``, on PostgreSQL.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter, Rule

from web.converters import ID_MAX, SEQ_MAX, IdConverter, SeqConverter
from web.roles import Role

Bearer = Callable[..., dict[str, str]]
Login = Callable[..., FlaskClient]

PARTY = "D-ROUTES"
# Numbers each converter must refuse (404 before any view runs).
REFUSED = {
    IdConverter: ["0", "-1", str(ID_MAX + 1), str(2**63), "9" * 30, "1e3", "٣"],
    SeqConverter: ["-1", str(SEQ_MAX + 1), "9" * 30, "1e3"],
}
LARGEST = {IdConverter: str(ID_MAX), SeqConverter: str(SEQ_MAX)}
# Query values that once reached the database unchecked on some page or endpoint.
HUGE_QUERY = {
    "page": "9" * 25,
    "party": str(2**40),
    "party_id": str(2**40),
    "run_id": str(2**40),
    "seq": "9" * 25,
    "offset": "9" * 25,
    "limit": "9" * 25,
}
_VARIABLE = re.compile(r"<(?:(?P<converter>[^:>]+):)?(?P<name>\w+)>")


def _numbered_rules(app: Flask) -> Iterator[tuple[Rule, type[IntegerConverter]]]:
    for rule in app.url_map.iter_rules():
        numeric = [type(c) for c in rule._converters.values() if isinstance(c, IntegerConverter)]
        if numeric:
            yield rule, numeric[0]


def _url(rule: Rule, number: str) -> str:
    """The rule's path with every number variable set to ``number`` and text to ``x``."""

    def fill(match: re.Match[str]) -> str:
        converter = rule._converters[match["name"]]
        return number if isinstance(converter, IntegerConverter) else "x"

    return _VARIABLE.sub(fill, rule.rule)


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def test_every_number_in_a_path_is_an_id_or_a_seq(words_app: Flask) -> None:
    rules = list(_numbered_rules(words_app))
    assert len(rules) > 40, "the walk found too few routes with a number"
    unbounded = [r.rule for r, kind in rules if kind not in (IdConverter, SeqConverter)]
    assert not unbounded, f"use <id:...> or <seq:...> in {unbounded}"


def test_numbers_out_of_range_are_404_before_any_view(app: Flask, client: FlaskClient) -> None:
    checked = 0
    for rule, kind in _numbered_rules(app):
        for number in REFUSED[kind]:
            for method in _methods(rule):
                url = _url(rule, number)
                response = client.open(url, method=method)
                assert response.status_code == 404, f"{method} {url}: {response.status}"
                checked += 1
    assert checked > 200


@pytest.fixture
def signed_in(
    app: Flask, run_cli: Callable[..., Result], login_as: Login, bearer: Bearer
) -> Callable[[Rule], tuple[FlaskClient, dict[str, str]]]:
    """A browser and token headers of a role the rule's view admits (CSRF off once
    signed in, so a POST reaches its view)."""
    assert run_cli("init").exit_code == 0  # the ledger's signing key
    browsers: dict[str, FlaskClient] = {}
    tokens: dict[str, dict[str, str]] = {}

    def pick(rule: Rule) -> tuple[FlaskClient, dict[str, str]]:
        roles: tuple[Any, ...] = getattr(app.view_functions[rule.endpoint], "hopchain_roles", ())
        role = str(roles[0]) if roles else Role.ADMIN.value
        party = PARTY if role == Role.DISTRIBUTOR.value else None
        if role not in browsers:
            app.config["WTF_CSRF_ENABLED"] = True  # the sign-in form carries its token
            browsers[role] = login_as(role, party=party, on=app.test_client())
            app.config["WTF_CSRF_ENABLED"] = False
            tokens[role] = bearer(role, party=party)
        return browsers[role], tokens[role]

    return pick


def test_the_largest_numbers_reach_the_views_without_a_server_error(
    app: Flask, signed_in: Callable[[Rule], tuple[FlaskClient, dict[str, str]]]
) -> None:
    for rule, kind in _numbered_rules(app):
        browser, token = signed_in(rule)
        api = rule.rule.startswith("/api/")
        for method in _methods(rule):
            url = _url(rule, LARGEST[kind])
            response = browser.open(
                url, method=method, headers=token if api else {}, json={} if api else None
            )
            assert response.status_code < 500, f"{method} {url}: {response.status}"
            if rule.arguments == {"run_id"} or rule.arguments <= {
                "alert_id", "statement_id", "party_id", "dispute_id", "report_id", "user_id",
                "adjustment_id", "grant_id",
            }:  # fmt: skip
                assert response.status_code in (302, 303, 400, 403, 404, 409, 422), (
                    f"{method} {url}: {response.status}"
                )


def test_huge_query_numbers_never_answer_a_server_error(
    app: Flask, signed_in: Callable[[Rule], tuple[FlaskClient, dict[str, str]]]
) -> None:
    """Every GET without path variables, with every number-like query parameter huge."""
    query = "&".join(f"{k}={v}" for k, v in HUGE_QUERY.items())
    walked = 0
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        browser, token = signed_in(rule)
        response = browser.get(f"{rule.rule}?{query}", headers=token)
        assert response.status_code < 500, f"GET {rule.rule}?{query}: {response.status}"
        walked += 1
    assert walked > 30


def test_a_nul_in_any_query_parameter_or_form_field_is_400(app: Flask, client: FlaskClient) -> None:
    """PostgreSQL text cannot hold NUL: it is refused before any view, naming the field."""
    walked = 0
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        response = client.get(f"{rule.rule}?page=1&q=a%00b")
        assert response.status_code == 400, f"GET {rule.rule}: {response.status}"
        walked += 1
    assert walked > 30
    api = client.get("/api/v1/runs?period=2026%0010")
    assert api.get_json() == {
        "error": "query parameter 'period' holds a NUL character (%00), which text may not contain",
        "status": 400,
        "parameter": "period",
    }
    form = client.post("/login", data={"username": "a\x00", "password": "x"})
    assert form.status_code == 400
    assert "field 'username' holds a NUL character" in html.unescape(form.get_data(as_text=True))


def test_a_nul_in_any_text_path_segment_is_400(
    app: Flask, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    """A party code, unit key or other text in the path holding NUL never reaches the
    database (PostgreSQL refused it with a 500): 400 naming the segment, whatever
    the method, for a caller the route admits."""
    token = bearer("admin")
    walked = 0
    for rule in app.url_map.iter_rules():
        converters = rule._converters  # werkzeug keeps them here
        text = [
            n
            for n, c in converters.items()
            if type(c).__name__ in ("UnicodeConverter", "PathConverter")
        ]
        if not text or rule.endpoint == "static":
            continue
        values = {n: ("1" if n not in text else "D-A\x00T") for n in rule.arguments}
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<(?:[^:>]+:)?{name}>", value.replace("\x00", "%00"), path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, headers=token)
            assert response.status_code == 400, f"{method} {rule.rule}: {response.status}"
            walked += 1
    assert walked >= 3


def test_a_multipart_part_without_a_readable_name_is_400(client: FlaskClient) -> None:
    """Werkzeug reads such a part with no name, which Flask-WTF's CSRF check crashed on."""
    body = b'--B\r\nContent-Disposition: form-data; name="\nx"\r\n\r\nL\r\n--B--\r\n'
    for path in ("/api/v1/alerts/1/attachments", "/alerts/1/attach", "/login"):
        response = client.post(path, data=body, content_type="multipart/form-data; boundary=B")
        assert response.status_code == 400, f"{path}: {response.status}"
        assert "has no readable name" in html.unescape(response.get_data(as_text=True))
