"""A Chinese distributor who disputes a line without a reason reads the line's title
in Chinese inside the refusal (issue 11): ``settlement.respond_to_statement`` names the
line by number and by its title in the language of the ``words`` it is given (the
page passes the reader's); without them (CLI, API) the title stays English."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

import settlement
from tests.statements._world import party, statement
from web.i18n import page_words

Login = Callable[..., FlaskClient]
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ZH = {"Accept-Language": "zh-CN"}


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_the_refusal_names_the_line_by_its_chinese_title(
    app: Flask, engine: Engine, login_as: Login
) -> None:
    dist = login_as("distributor", party="D-1")
    _, sid = statement(engine, party(engine, "D-1"))
    finance = settlement.Actor("f", "finance")
    with app.test_request_context("/", headers=ZH):
        title = settlement.get_statement(engine, sid, finance, page_words()).lines[0].text.title
    english = settlement.get_statement(engine, sid, finance).lines[0].text.title
    assert re.search(r"[\u4e00-\u9fff]", title) and title != english

    page = dist.get(f"/partner/statements/{sid}", headers=ZH).get_data(as_text=True)
    token = _CSRF.search(page)
    assert token is not None
    bad = dist.post(
        f"/partner/statements/{sid}/respond",
        data={"csrf_token": token.group(1), "action": "dispute", "dispute": ["0"]},
        headers=ZH,
    )
    assert bad.status_code == 422
    shown = _text(bad.get_data(as_text=True))
    assert f"须填写对第 1 行（{title}）提出异议的理由。" in shown, shown
    assert english not in shown


def test_without_words_the_engine_keeps_the_english_title(engine: Engine) -> None:
    pid = party(engine, "D-1")
    _, sid = statement(engine, pid)
    english = settlement.get_statement(engine, sid, settlement.Actor("f", "finance"))
    with pytest.raises(settlement.SettlementError) as refused:
        settlement.respond_to_statement(
            engine, sid, settlement.Actor("d", "distributor", party_id=pid),
            confirm=False, disputes=[(0, "  ")],
        )  # fmt: skip
    assert str(refused.value) == (
        f"a reason for disputing line 1 ({english.lines[0].text.title}) is required"
    )
