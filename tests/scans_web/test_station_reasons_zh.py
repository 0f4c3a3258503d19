"""A Chinese warehouse user reads why the station refused a code fully in Chinese
(issue 11 follow-up): the scanners' reason is said from its id and values
(``web.reasons.scan_reason_words``), so only data is left in Latin letters: the code
as scanned, the AI numbers and digits, GS1's own names (GTIN, AI). The ``network``
fixture (conftest.py): manufacturer MFR, distributors DIST-A and DIST-B."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from scanners import parse
from tests.web.test_i18n_pages import english_left
from web.models import User

LoginAs = Callable[..., FlaskClient]
HAN = re.compile(r"[\u4e00-\u9fff]")
_INPUT = re.compile(r'name="(csrf_token|device_seq)"[^>]*value="([^"]*)"')

BAD_CHECK_DIGIT = "(01)04012345000017(21)A1"  # GTIN check digit 7, GS1 says 6
UNKNOWN_AI = "(01)04012345000016(89)1"  # no GS1 AI 89
BAD_LINK = "https://id.gs1.org/01/04012345000017/21/A1"  # the same GTIN in a Digital Link


def _chinese_warehouse(network: Engine, login_as: LoginAs) -> FlaskClient:
    browser = login_as("warehouse", username="wang")
    with Session(network) as s:
        user = s.scalars(select(User).where(User.username == "wang")).one()
        user.locale = "zh_Hans_CN"
        s.commit()
    return browser


def _fields(browser: FlaskClient) -> dict[str, str]:
    page = browser.get("/scan/")
    assert page.status_code == 200
    return dict(_INPUT.findall(page.get_data(as_text=True)))


@pytest.mark.parametrize(
    ("code", "chinese"),
    [
        (BAD_CHECK_DIGIT, "GTIN 04012345000017 的校验位为 7，应为 6"),
        (UNKNOWN_AI, f"'{UNKNOWN_AI}' 中的 GS1 应用标识符（AI）'89' 未知。"),
        (
            BAD_LINK,
            "不是有效的 GS1 数字链接 URI：路径第 2 段（AI 01 的值）：AI 01（GTIN）："
            "GTIN 04012345000017 的校验位为 7，应为 6",
        ),
    ],
)
def test_the_station_says_why_in_chinese(
    network: Engine, login_as: LoginAs, code: str, chinese: str
) -> None:
    browser = _chinese_warehouse(network, login_as)
    fields = _fields(browser)
    answer = browser.post(
        "/scan/scan.json",
        data={**fields, "party": "DIST-B", "kind": "receive", "code": code},
        headers={"X-CSRFToken": fields["csrf_token"]},
    )
    (scan,) = answer.get_json()["scans"]
    assert (scan["status"], scan["tone"]) == ("rejected", "bad")
    assert scan["message"].startswith(repr(code))  # which code, then why
    assert chinese in scan["message"], scan["message"]
    english = parse(code).error
    assert english is not None and english not in scan["message"]
    leftover = english_left(f"<p>{scan['message']}</p>", frozenset({code}))
    assert leftover == [], leftover


def test_the_page_without_javascript_shows_only_chinese_and_data(
    network: Engine, login_as: LoginAs
) -> None:
    browser = _chinese_warehouse(network, login_as)
    shown = []
    for code in (BAD_CHECK_DIGIT, UNKNOWN_AI):
        fields = _fields(browser)
        page = browser.post(
            "/scan/",
            data={**fields, "party": "DIST-B", "kind": "receive", "code": code},
            follow_redirects=True,
        ).get_data(as_text=True)
        shown.append(page)
    page = shown[-1].replace("&#39;", "'")
    assert "的校验位为 7，应为 6" in page and "'89' 未知" in page
    assert "check digit" not in page and "Unknown GS1" not in page
    names = {"Maker Co", "Distributor A", "Distributor B", "DIST-A", "DIST-B", "MFR", "wang"}
    data = frozenset({BAD_CHECK_DIGIT, UNKNOWN_AI, *names})
    assert english_left(shown[-1], data) == []


def test_the_command_line_keeps_the_english() -> None:
    """``hopchain scan parse`` prints ``ScanResult.error``: unchanged English."""
    assert parse(BAD_CHECK_DIGIT).error == "GTIN 04012345000017 has check digit 7, expected 6"
    assert parse(UNKNOWN_AI).error == (
        f"Unknown GS1 Application Identifier '89' in '{UNKNOWN_AI}'."
    )
