"""Page errors in words (issue 11, tester findings): a malformed query parameter or
form field on a page is refused in the reader's language, naming the field and the
parameter, never with Python's exception text (``invalid literal for int()``) or the
engine's English; CSRF and language-switcher refusals are words too; the
administrator's user and token forms say their refusals in words on the field, find
a party code in any case as the finance forms do, and refuse a party for a role
that acts for none. Every reader here reads Chinese (``Accept-Language: zh-CN``)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from ledger.keys import ensure_signing_key
from ledger.models import Party
from tests.ledger.conftest import T0, item
from web.models import ApiToken, User

HAN = re.compile(r"[\u4e00-\u9fff]")
#: What must never reach a person: Python's and the engine's English.
LEAKS = (
    "invalid literal",
    "Traceback",
    "ValueError",
    "leaf index",
    "must be YYYY-MM",
    "neither YYYY-MM nor",
    "CSRF token is missing",
    "is not one of en",
    "must belong to a party (give",
    "characters without spaces",
    "acts for no party",
)

Login = Callable[..., FlaskClient]


def _zh(browser: FlaskClient) -> FlaskClient:
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    return browser


def _text(body: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _problem(body: str) -> str:
    """The text of the page's error: the error page's lead or an alert paragraph."""
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', body, re.S)
    if found is None and 'class="status-code"' in body:  # the error page
        found = re.search(r'<p class="lead"[^>]*>(.*?)</p>', body, re.S)
    assert found, body[:2000]
    return _text(found.group(1)).strip()


def _says(body: str, *names: str) -> str:
    """The page's problem, checked: Chinese, naming each of ``names``, no leak."""
    problem = _problem(body)
    assert HAN.search(problem), problem
    for name in names:
        assert name in problem, (name, problem)
    text = _text(body)
    for leak in LEAKS:
        assert leak not in text, (leak, problem)
    return problem


# ------------------------------------------------------------------ ledger ?seq=


@pytest.fixture
def auditor(
    app: Flask, login_as: Login, engine: Engine, make_party: Callable[..., int]
) -> FlaskClient:
    ensure_signing_key(Path(app.instance_path))
    make_party("MFR", kind="manufacturer")
    append_hops(engine, [Hop(item(i), EntryKind.COMMISSIONING, "MFR", T0 + i) for i in range(5)])
    return _zh(login_as("auditor"))


@pytest.mark.parametrize("seq", ["abc", "1.5", "1e3", "٣"])
def test_a_seq_that_is_no_whole_number_is_named_in_chinese(auditor: FlaskClient, seq: str) -> None:
    page = auditor.get(f"/ledger/?seq={seq}")
    assert page.status_code == 400
    problem = _says(page.get_data(as_text=True), "seq", "记录", seq)
    assert "整数" in problem


@pytest.mark.parametrize("seq", ["-5", "5", "99999999999999999999999"])  # 5 entries: 0 to 4
def test_a_seq_outside_the_tree_says_the_range_in_chinese(auditor: FlaskClient, seq: str) -> None:
    page = auditor.get(f"/ledger/?seq={seq}")
    assert page.status_code == 400
    problem = _says(page.get_data(as_text=True), "seq", seq)
    assert "0 至 4" in problem


def test_a_seq_in_the_tree_still_gives_its_proof(auditor: FlaskClient) -> None:
    page = auditor.get("/ledger/?seq=3")
    assert page.status_code == 200
    assert 'class="error"' not in page.get_data(as_text=True)


# ------------------------------------------------------------------ periods


@pytest.mark.parametrize("month", ["2026-13", "abc", "0000-01"])
def test_the_territory_map_names_a_malformed_month(login_as: Login, month: str) -> None:
    admin = _zh(login_as("admin"))
    page = admin.get(f"/admin/territories?month={month}")
    assert page.status_code == 400
    problem = _says(page.get_data(as_text=True), "month", month, "YYYY-MM")
    assert "月份" in problem


@pytest.mark.parametrize("period", ["2026-13", "2026-Q1", "abc"])
def test_finance_accruals_name_a_malformed_period(login_as: Login, period: str) -> None:
    finance = _zh(login_as("finance"))
    page = finance.get(f"/finance/accruals?period={period}")
    assert page.status_code == 422
    _says(page.get_data(as_text=True), "period", period, "YYYY-MM")


def test_partner_accruals_name_a_malformed_period(login_as: Login) -> None:
    distributor = _zh(login_as("distributor", party="D-AT"))
    page = distributor.get("/partner/accruals?period=2026-13")
    assert page.status_code == 422
    _says(page.get_data(as_text=True), "period", "2026-13", "YYYY-MM")


def test_accruals_name_a_malformed_day(login_as: Login) -> None:
    finance = _zh(login_as("finance"))
    page = finance.get("/finance/accruals?period=2026-10&day=2026-10-32")
    assert page.status_code == 422
    _says(page.get_data(as_text=True), "day", "2026-10-32", "YYYY-MM-DD")


@pytest.mark.parametrize("quarter", ["abc", "2026-10", "2026-Q5"])
def test_scores_refuse_a_malformed_quarter(login_as: Login, quarter: str) -> None:
    finance = _zh(login_as("finance"))
    page = finance.get(f"/settlement/scores?quarter={quarter}")
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    problem = _says(body, "quarter", quarter, "YYYY-Qn")
    assert "季度" in problem
    assert "尚无评分" not in body


def test_scores_of_a_good_quarter_still_show(login_as: Login) -> None:
    finance = _zh(login_as("finance"))
    assert finance.get("/settlement/scores?quarter=2026-Q4").status_code == 200


def test_the_activity_filter_names_an_unknown_event(login_as: Login) -> None:
    admin = _zh(login_as("admin"))
    page = admin.get("/admin/activity?event=bogus")
    assert page.status_code == 400
    _says(page.get_data(as_text=True), "event", "bogus")


# ------------------------------------------------------------------ CSRF and language


def test_a_form_without_its_csrf_token_says_why_in_chinese(client: FlaskClient) -> None:
    page = _zh(client).post("/language", data={"locale": "es"})
    assert page.status_code == 400
    problem = _says(page.get_data(as_text=True))
    assert "重新加载" in problem or "刷新" in problem, problem


def test_an_unknown_language_is_refused_naming_the_languages(
    client: FlaskClient, csrf_token: Callable[..., str]
) -> None:
    browser = _zh(client)
    page = browser.post("/language", data={"locale": "klingon", "csrf_token": csrf_token()})
    assert page.status_code == 400
    problem = _says(
        page.get_data(as_text=True), "locale", "klingon", "英语", "西班牙语", "简体中文"
    )
    assert "zh_Hans_CN" not in problem


# ------------------------------------------------------------------ admin forms


def _post(admin: FlaskClient, csrf_token: Callable[..., str], path: str, **data: str) -> str:
    data["csrf_token"] = csrf_token(path, on=admin)
    page = admin.post(path, data=data)
    assert page.status_code in (201, 302, 422), page.status
    return page.get_data(as_text=True) if page.status_code != 302 else ""


def _field_error(body: str, field: str) -> str:
    """The error text shown with ``field`` (its ``id="<field>-error"`` paragraph or
    the form's problem list)."""
    text = _text(body)
    for leak in LEAKS:
        assert leak not in text, leak
    found = re.search(rf'id="{field}-error"[^>]*>(.*?)</', body, re.S)
    assert found, body[body.find("<form") : body.find("</form>")][:3000]
    return _text(found.group(1)).strip()


USER = {"display_name": "", "password": "a long and unusual passphrase 42"}


def test_a_distributor_user_without_party_is_refused_on_the_field(
    login_as: Login, csrf_token: Callable[..., str]
) -> None:
    admin = _zh(login_as("admin"))
    body = _post(admin, csrf_token, "/admin/users", username="newdist", role="distributor", **USER)
    error = _field_error(body, "party")
    assert HAN.search(error) and "经销商" in error, error


def test_a_username_with_a_space_is_refused_on_the_field(
    login_as: Login, csrf_token: Callable[..., str]
) -> None:
    admin = _zh(login_as("admin"))
    body = _post(admin, csrf_token, "/admin/users", username="x y", role="auditor", **USER)
    error = _field_error(body, "username")
    assert HAN.search(error) and "'x y'" in error and "64" in error, error


def test_the_party_code_is_found_in_any_case(
    login_as: Login, csrf_token: Callable[..., str], make_party: Callable[..., int], engine: Engine
) -> None:
    party_id = make_party("D-AT")
    admin = _zh(login_as("admin"))
    body = _post(
        admin,
        csrf_token,
        "/admin/users",
        username="d-at-1",
        role="distributor",
        party="d-at",
        **USER,
    )
    assert body == ""  # redirected: created
    with Session(engine) as s:
        assert s.scalar(select(User.party_id).where(User.username == "d-at-1")) == party_id


def test_warehouse_staff_may_belong_to_a_party(
    login_as: Login, csrf_token: Callable[..., str], make_party: Callable[..., int], engine: Engine
) -> None:
    party_id = make_party("D-AT")
    admin = _zh(login_as("admin"))
    body = _post(
        admin, csrf_token, "/admin/users", username="wh-at", role="warehouse", party="D-AT", **USER
    )
    assert body == ""
    with Session(engine) as s:
        assert s.scalar(select(User.party_id).where(User.username == "wh-at")) == party_id


@pytest.mark.parametrize("role", ["finance", "auditor", "channel_manager", "admin"])
def test_a_role_that_acts_for_no_party_is_refused_one(
    login_as: Login,
    csrf_token: Callable[..., str],
    make_party: Callable[..., int],
    engine: Engine,
    role: str,
) -> None:
    make_party("D-AT")
    admin = _zh(login_as("admin"))
    body = _post(admin, csrf_token, "/admin/users", username="odd", role=role, party="D-AT", **USER)
    error = _field_error(body, "party")
    assert HAN.search(error), error
    with Session(engine) as s:
        assert s.scalar(select(User.id).where(User.username == "odd")) is None


def test_a_finance_token_with_a_party_is_refused(
    login_as: Login, csrf_token: Callable[..., str], make_party: Callable[..., int], engine: Engine
) -> None:
    make_party("D-AT")
    admin = _zh(login_as("admin"))
    with Session(engine) as s:
        before = len(s.scalars(select(ApiToken.id)).all())
    body = _post(admin, csrf_token, "/admin/tokens", role="finance", party="D-AT", label="x")
    error = _field_error(body, "party")
    assert HAN.search(error), error
    with Session(engine) as s:
        assert len(s.scalars(select(ApiToken.id)).all()) == before
        assert s.scalar(select(Party.id).where(Party.code == "D-AT")) is not None


def test_a_distributor_token_without_party_is_refused_on_the_field(
    login_as: Login, csrf_token: Callable[..., str]
) -> None:
    admin = _zh(login_as("admin"))
    body = _post(admin, csrf_token, "/admin/tokens", role="distributor", party="", label="x")
    error = _field_error(body, "party")
    assert "经销商" in error, error
