"""Chinese text uses Chinese punctuation (issue 11): no zh msgstr puts an ASCII
full stop, comma, colon, semicolon or parenthesis after Chinese words (``渠道经理 .``,
``至:``, ``(正式)``), and the sentences a page once built from pieces with ASCII
punctuation between them are one message each (the home page's sign-in line, a
statement's run)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.statements._world import party, statement

ROOT = Path(__file__).resolve().parents[2]
ZH_PO = ROOT / "web" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
ZH = {"Accept-Language": "zh-CN"}
_HAN = r"[\u4e00-\u9fff]"
#: ASCII punctuation used as punctuation after Chinese: a stop, comma, colon or
#: semicolon after Han (then a space, the end, Han or a tag), a parenthesis opened
#: before Han or closed after it. ".json" and "(01)" (data) do not match.
SLIPS = (
    re.compile(_HAN + r"\s*[.,:;](?=\s|$|<|" + _HAN + ")"),
    re.compile(r"\(\s*" + _HAN),
    re.compile(_HAN + r"\s*\)"),
)

Login = Callable[..., FlaskClient]


def slips(text: str) -> list[str]:
    """The ASCII punctuation slips in ``text`` (the matched pieces)."""
    return [m.group(0) for pattern in SLIPS for m in pattern.finditer(text)]


def test_the_check_finds_the_tester_s_slips_and_passes_data() -> None:
    assert slips("您的登录身份为 渠道经理 .") == ["理 ."]
    assert slips("至:") == ["至:"]
    assert slips("#1 (正式)") == ["(正", "式)"]
    assert slips("金额,币种;备注") == ["额,", "种;"]
    assert slips("请选择 .geojson 或 .json 文件。") == []
    assert slips("或 (01)…(21)…") == []
    assert slips("#1（正式）至：您的登录身份为渠道经理。") == []


def test_no_chinese_message_has_ascii_punctuation_after_chinese() -> None:
    with ZH_PO.open("rb") as f:
        catalog = read_po(f)
    found = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [(message.id, s) for s in strings if isinstance(s, str) and slips(s)]
    assert found == [], found


def test_the_sign_in_line_and_a_statement_s_run_read_in_chinese_punctuation(
    app: Flask, engine: Engine, login_as: Login
) -> None:
    home = login_as("channel_manager").get("/", headers=ZH).get_data(as_text=True)
    assert "您的登录身份为<strong>渠道经理</strong>。" in home
    dist = login_as("distributor", party="D-1", on=app.test_client())
    run_id, sid = statement(engine, party(engine, "D-1"))
    page = dist.get(f"/partner/statements/{sid}", headers=ZH).get_data(as_text=True)
    assert f"#{run_id}（正式）" in page
    dist_home = dist.get("/", headers=ZH).get_data(as_text=True)
    assert "您的登录身份为<strong>D-1</strong>的<strong>经销商</strong>。" in dist_home
