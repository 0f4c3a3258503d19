"""The credit pages after the new-user test (issue 13 fix round, F5): the words a
Chinese reader sees (信用 for credit standing, never the ledger's 贷方; 标题 for a
risk's title), English the store keeps worded from its parts, refusals naming the
field's label instead of its key, the open items pages' roles, and wide tables
that scroll inside their card instead of the page."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext, pgettext
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from risk.limits import set_limit_in
from risk.payments import record_payment
from settlement.reference_values import InvalidValue, major_to_minor
from tests.credit._items_world import FINANCE, GADGET, World, make_world
from web.credit._words import limit_reason_words, payment_source_words, refusal_words
from web.models import User

ZH = "zh_Hans_CN"


def _chinese(engine: Engine, username: str) -> None:
    with Session(engine) as s, s.begin():
        s.scalars(select(User).where(User.username == username)).one().locale = ZH


def _errors(html: str) -> list[str]:
    return re.findall(r'<p class="error"[^>]*>([^<]*)</p>', html)


@pytest.fixture
def world(engine: Engine) -> World:
    w = make_world(engine)
    w.ship("2026-10-01", "D-NORTH", GADGET, GADGET)  # 2 x 40.00 = 80.00 EUR
    return w


# ------------------------------------------------------------------ words


def test_credit_is_credit_standing_in_chinese_and_the_ledger_side_stays(app: Flask) -> None:
    with app.test_request_context("/"), force_locale(ZH):
        assert pgettext("credit standing", "Credit") == "信用"
        assert gettext("Credit") == "贷方"  # the journal's debit/credit columns
        assert pgettext("risk", "Title") == "标题"
        assert gettext("Title") == "职务"  # a contact's job title
    with app.test_request_context("/"), force_locale("en"):
        assert pgettext("credit standing", "Credit") == "Credit"


def test_the_chinese_nav_breadcrumb_and_register_say_credit_standing_and_title(
    world: World, login_as: Callable[..., FlaskClient], engine: Engine
) -> None:
    browser = login_as("finance", username="fin-zh")
    _chinese(engine, "fin-zh")
    for page in ("/credit/", "/credit/model", "/credit/limit-table", "/credit/parties/D-NORTH"):
        html = browser.get(page).get_data(as_text=True)
        assert "信用" in html and "贷方" not in html, page
    risk = browser.get("/risk/").get_data(as_text=True)
    assert "贷方" not in risk and "职务" not in risk
    assert ">信用</option>" in risk  # the category
    assert '<th scope="col">标题</th>' in risk and '<label for="title">标题</label>' in risk


@pytest.mark.parametrize(
    ("stored", "english", "chinese"),
    [
        ("grade AAA, table version 1", "grade AAA, table version 1", "评级 AAA，额度表第 1 版"),
        ("grade CCC, table version 12", "grade CCC, table version 12", "评级 CCC，额度表第 12 版"),
        (
            "override removed; table version 2, grade BB",
            "override removed; table version 2, grade BB",
            "已取消手动额度；额度表第 2 版，评级 BB",
        ),
        (
            "risk level medium on 2026-12-01",
            "risk level medium on Dec 1, 2026",
            "2026年12月1日风险等级为中",
        ),
        (
            "risk level high on 2026-01-31",
            "risk level high on Jan 31, 2026",
            "2026年1月31日风险等级为高",
        ),
        # what finance typed (an override's reason) is shown as typed
        ("bank guarantee until March", "bank guarantee until March", "bank guarantee until March"),
        ("grade X, table version 1", "grade X, table version 1", "grade X, table version 1"),
    ],
)
def test_a_limits_reason_is_worded_from_its_parts(
    app: Flask, stored: str, english: str, chinese: str
) -> None:
    with app.test_request_context("/"), force_locale("en"):
        assert limit_reason_words(stored) == english
    with app.test_request_context("/"), force_locale(ZH):
        assert limit_reason_words(stored) == chinese


@pytest.mark.parametrize(
    ("stored", "english", "chinese"),
    [
        ("page", "entered on the page", "在页面录入"),
        ("api", "API", "API"),
        ("cli", "command line", "命令行"),
        (
            "import bank-statement-2026-12-01.csv row 7",
            "import bank-statement-2026-12-01.csv, row 7",
            "导入 bank-statement-2026-12-01.csv，第 7 行",
        ),
        ("import payments.csv", "import payments.csv", "导入 payments.csv"),
        ("something else", "something else", "something else"),
    ],
)
def test_a_payments_source_is_worded_from_its_parts(
    app: Flask, stored: str, english: str, chinese: str
) -> None:
    with app.test_request_context("/"), force_locale("en"):
        assert payment_source_words(stored) == english
    with app.test_request_context("/"), force_locale(ZH):
        assert payment_source_words(stored) == chinese


def test_the_chinese_credit_file_and_payments_list_have_no_store_english(
    world: World, login_as: Callable[..., FlaskClient], engine: Engine, app: Flask
) -> None:
    pid = world.ids["D-NORTH"]
    with Session(engine) as s, s.begin():
        set_limit_in(s, pid, limit_minor=500_000, payment_days=45, source="rating",
                     actor=FINANCE, reason="grade AAA, table version 1")  # fmt: skip
        set_limit_in(s, pid, limit_minor=250_000, payment_days=45, source="risk",
                     actor=FINANCE, reason="risk level medium on 2026-12-01")  # fmt: skip
    record_payment(engine, pid, 8_000, "SEPA 9", FINANCE, received_on="2026-11-02",
                   source="import bank-statement-2026-12-01.csv row 3")  # fmt: skip
    browser = login_as("finance", username="fin-zh2")
    _chinese(engine, "fin-zh2")
    file = browser.get("/credit/parties/D-NORTH").get_data(as_text=True)
    assert "table version" not in file and "risk level" not in file
    assert "评级 AAA，额度表第 1 版" in file and "2026年12月1日风险等级为中" in file
    listed = browser.get("/credit/items/payments").get_data(as_text=True)
    assert " row 3" not in listed and "导入 bank-statement-2026-12-01.csv，第 3 行" in listed
    english = (
        login_as("finance", on=app.test_client())
        .get("/credit/parties/D-NORTH")
        .get_data(as_text=True)
    )
    assert "grade AAA, table version 1" in english


def test_refusals_name_the_fields_label_not_its_key(app: Flask) -> None:
    try:
        major_to_minor("12.345", "EUR", "amount")
    except InvalidValue as exc:
        refused = exc
    with app.test_request_context("/"), force_locale("en"):
        assert refusal_words(refused, {"amount": "Amount"}).startswith("Amount: 12.345 has 3")
        # a field without a label keeps the engine's words
        assert refusal_words(refused, {}) == str(refused)
    with app.test_request_context("/"), force_locale(ZH):
        said = refusal_words(refused, {"amount": "Amount"})
        assert said.startswith("金额") and "amount" not in said


def test_chinese_form_errors_show_labels(
    world: World,
    login_as: Callable[..., FlaskClient],
    csrf_token: Callable[..., str],
    engine: Engine,
) -> None:
    browser = login_as("finance", username="fin-zh3")
    _chinese(engine, "fin-zh3")
    page = "/credit/parties/D-NORTH"
    bad = browser.post(page + "/investigations", data={
        "investigated_on": "2099-01-01", "insurer_grade": "12", "revenue": "1,5",
        "csrf_token": csrf_token(page, on=browser),
    })  # fmt: skip
    errors = _errors(bad.get_data(as_text=True))
    assert bad.status_code == 422 and len(errors) >= 2
    for key in ("investigated_on", "insurer_grade", "revenue"):
        assert not any(key in e for e in errors), errors
    assert any(e.startswith("日期") for e in errors), errors
    items = "/credit/items/invoices"
    nobody = browser.post(items, data={
        "party": "NOPE", "number": "X", "issued_on": "2026-11-01", "amount": "1.00",
        "csrf_token": csrf_token(items, on=browser),
    })  # fmt: skip
    assert not any(e.startswith("party") for e in _errors(nobody.get_data(as_text=True)))
    off = "/credit/items/parties/D-NORTH"
    no_reason = browser.post(off + "/write-off", data={
        "item": "delivery:2026-10-01", "amount": "", "reason": "",
        "csrf_token": csrf_token(off, on=browser),
    })  # fmt: skip
    assert no_reason.status_code == 422
    assert not any(e.startswith("reason") for e in _errors(no_reason.get_data(as_text=True)))


# ------------------------------------------------------------------ roles


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("finance", 200),
        ("auditor", 200),
        ("admin", 200),
        ("channel_manager", 403),
        ("partner_manager", 403),
        ("warehouse", 403),
    ],
)
def test_a_partys_items_follow_the_boards_roles(
    world: World, login_as: Callable[..., FlaskClient], role: str, status: int
) -> None:
    browser = login_as(role)
    assert browser.get("/credit/items/").status_code == status
    assert browser.get("/credit/items/parties/D-NORTH").status_code == status
    assert browser.get("/credit/items/invoices").status_code == status
    assert browser.get("/credit/items/payments").status_code == status


def test_a_distributor_still_reads_its_own_items_only(
    world: World, login_as: Callable[..., FlaskClient]
) -> None:
    browser = login_as("distributor", party="D-NORTH")
    assert browser.get("/credit/items/parties/D-NORTH").status_code == 200
    assert browser.get("/credit/items/parties/D-SOUTH").status_code == 404


# ------------------------------------------------------------------ layout


@pytest.mark.parametrize(
    ("page", "tables"),
    [("/credit/items/", 1), ("/credit/limit-table", 1), ("/credit/model", 1), ("/risk/", 1)],
)
def test_wide_tables_scroll_inside_their_card(
    world: World, login_as: Callable[..., FlaskClient], page: str, tables: int
) -> None:
    html = login_as("finance").get(page).get_data(as_text=True)
    assert "credit.css" in html
    assert html.count('<div class="credit-scroll"><table') >= tables
    assert " style=" not in html  # the CSP allows no inline styles
