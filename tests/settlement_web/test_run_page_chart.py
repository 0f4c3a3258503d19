"""The settlement run page draws its rebates-vs-penalties chart in the browser from a
JSON spec (ECharts, as the home dashboards do) in the reader's language, with the
figures of the page's "per partner class" table; the PNG stays a download."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from _settlement_web import Demo
from flask.testing import FlaskClient
from sqlalchemy import Engine

import settlement
from settlement.exports import CJK_FONTS, _chart_words
from web.cli import SERVE_PORT, serve_command
from web.outbox import DEFAULT_BASE_URL

_SPEC = re.compile(r'<script type="application/json" id="dashboard-data">(.*?)</script>', re.S)
_CLASS_TABLE = re.compile(
    r'<table class="table table-summary" id="totals-per-class">(.*?)</table>', re.S
)
_ROW = re.compile(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', re.S)
_CELL = re.compile(r'<td class="num">(.*?)</td>', re.S)
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _amount(text: str) -> Decimal:
    """A money cell as a number: ``-€1,234.50`` / ``€-1,234.50`` -> ``-1234.50``."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text)).replace("\u2212", "-")
    sign = -1 if "-" in plain else 1
    digits = re.sub(r"[^0-9.]", "", plain)
    return sign * Decimal(digits)


def _run(browser: FlaskClient) -> int:
    token = _CSRF.search(browser.get("/settlement/").get_data(as_text=True))
    assert token
    made = browser.post("/settlement/", data={"csrf_token": token.group(1), "period": "2026-09"})
    assert made.status_code == 302, made.get_data(as_text=True)
    return int(made.headers["Location"].rsplit("/", 1)[1])


def test_run_chart_is_drawn_in_the_page_in_chinese_with_the_tables_figures(
    engine: Engine, demo: Demo, login_as: Callable[..., FlaskClient]
) -> None:
    boss = settlement.Actor("carla", "channel_manager")
    alert = demo.alerts_of(engine, demo.party_with_alerts(engine))[0]
    settlement.start_investigation(engine, alert.id, boss)
    settlement.confirm_alert(engine, alert.id, boss)  # a penalty to draw
    finance = login_as("finance", username="fiona")
    run_id = _run(finance)
    page = finance.get(f"/settlement/runs/{run_id}", headers=ZH).get_data(as_text=True)

    assert "<img" not in page  # no server-drawn picture on the page any more
    assert 'id="chart-run"' in page and "vendor/echarts-5.5.1/echarts.min.js" in page
    assert f'href="/api/v1/runs/{run_id}/chart.png" download>PNG</a>' in page
    spec_text = _SPEC.search(page)
    assert spec_text, "no chart spec on the run page"
    [chart] = json.loads(spec_text.group(1))["charts"]
    summary = settlement.run_summary(engine, run_id, settlement.Actor("t", "finance"))
    assert chart["id"] == "chart-run" and chart["unit"] == summary.reporting_currency
    assert chart["title"] == f"结算批次 {run_id}（2026-09）：返利与罚款"
    assert [s["name"] for s in chart["series"]] == ["返利", "罚款"]
    assert summary.by_class, "the demo run has no partner class"
    assert chart["categories"] == [f"{r.key} 级" for r in summary.by_class]

    table = _CLASS_TABLE.search(page)
    assert table, "no per-class table on the run page"
    shown = {
        key: [_amount(c) for c in _CELL.findall(cells)]
        for key, cells in _ROW.findall(table.group(1))
    }
    rebates, penalties = (s["data"] for s in chart["series"])
    for i, row in enumerate(summary.by_class):
        # the table's cells: statements, rebates, penalties, rewards, other, net
        assert Decimal(str(rebates[i])) == shown[row.key][1], row.key
        assert Decimal(str(penalties[i])) == shown[row.key][2], row.key
    assert any(p < 0 for p in penalties) and any(r > 0 for r in rebates)

    english = finance.get(f"/settlement/runs/{run_id}", headers={"Accept-Language": "en"})
    [en_chart] = json.loads(_SPEC.search(english.get_data(as_text=True)).group(1))["charts"]  # type: ignore[union-attr]
    assert [s["name"] for s in en_chart["series"]] == ["rebates", "penalties"]
    assert en_chart["series"][0]["data"] == rebates


def test_png_chart_uses_a_chinese_font_where_one_is_installed(
    engine: Engine, demo: Demo, login_as: Callable[..., FlaskClient]
) -> None:
    zh = settlement.Words("zh_Hans_CN", lambda s: s, lambda a, b, n: a, lambda c, s: s)
    words, font = _chart_words(zh)
    if font is None:
        pytest.skip(f"none of {CJK_FONTS} is installed: the PNG is drawn in English")
    assert words is zh and font in CJK_FONTS
    finance = login_as("finance", username="fiona")
    run_id = _run(finance)
    png = finance.get(f"/api/v1/runs/{run_id}/chart.png", headers=ZH)
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    english = finance.get(f"/api/v1/runs/{run_id}/chart.png", headers={"Accept-Language": "en"})
    assert english.data != png.data  # the Chinese labels are drawn, not English ones


def test_mail_links_point_where_serve_listens_by_default() -> None:
    port = next(p.default for p in serve_command.params if p.name == "port")
    assert port == SERVE_PORT and f"http://localhost:{port}" == DEFAULT_BASE_URL
