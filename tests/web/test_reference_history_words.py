"""The reference data history and the programs list in the reader's language (issue
11): a Chinese finance user reads the kind filter's options, each change's kind,
action and field names in Chinese; a ``kind`` the history does not record is refused
in words naming the parameter (not silently ignored); an open-ended program version
reads 无截止期, not "open"."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import Engine

import settlement
from settlement import add_program_version, create_program

Login = Callable[..., FlaskClient]
ZH = {"Accept-Language": "zh-CN"}
FINANCE = settlement.Actor("fiona", "finance")
RULES = {
    "currency": "EUR",
    "basis": "sell_in",
    "measure": "volume",
    "mode": "retroactive",
    "tiers": [{"threshold": 10, "rate": "300"}],
}


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _cells(page: str) -> list[list[str]]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [_text(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def _world(engine: Engine, make_party: Callable[..., int]) -> None:
    pid = make_party("D-AU")
    create_program(engine, "VOL", "Volume rebate", FINANCE)
    add_program_version(engine, "VOL", "2026-08", None, RULES, FINANCE)
    settlement.record_deposit(engine, pid, 50_000, "bank transfer", FINANCE, kind="receipt")


def test_history_reads_in_chinese(
    engine: Engine, make_party: Callable[..., int], login_as: Login
) -> None:
    _world(engine, make_party)
    page = login_as("finance").get("/finance/reference/history", headers=ZH)
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    options = re.findall(r'<option value="[a-z_-]+">([^<]*)</option>', shown)
    assert {"价格", "产品", "汇率", "返利方案", "保证金"} <= set(options), options
    assert not any(re.search(r"[A-Za-z]", o) for o in options), options
    rows = _cells(shown)
    kinds_actions = {(r[2], r[4]) for r in rows}
    assert ("返利方案", "创建") in kinds_actions, rows
    assert ("保证金", "已登记收款") in kinds_actions, rows
    fields = set(re.findall(r"<dt>([^<]*)</dt>", shown))
    assert {"生效起", "生效至", "规则", "名称", "金额"} <= fields, fields
    assert not [f for f in fields if re.search(r"[A-Za-z]", f)], fields
    for raw in ("programs", "deposits", "create", "receipt"):
        assert f"<td>{raw}</td>" not in shown, raw


def test_an_unknown_kind_is_refused_in_words(login_as: Login) -> None:
    finance = login_as("finance")
    answer = finance.get("/finance/reference/history?kind=bogus", headers=ZH)
    assert answer.status_code == 400
    shown = _text(answer.get_data(as_text=True))
    assert "类型：bogus 不是历史记录中的类型，请从列表中选择" in shown, shown
    english = finance.get("/finance/reference/history?kind=bogus").get_data(as_text=True)
    assert "kind: bogus is not a kind the history records" in _text(english)


def test_an_open_ended_version_reads_in_chinese(
    engine: Engine, make_party: Callable[..., int], login_as: Login
) -> None:
    _world(engine, make_party)
    shown = _text(login_as("finance").get("/finance/programs/", headers=ZH).get_data(as_text=True))
    assert "v1：2026-08 – 无截止期" in shown, shown
    assert "– open" not in shown
