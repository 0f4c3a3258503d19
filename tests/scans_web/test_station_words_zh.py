"""The scan station and the alert list answer a Chinese reader in Chinese (issue 11):
a code the station cannot read is refused in a Chinese sentence (the scanners' own
reason, which names the AI and value, said in Chinese from its id); a bad alert filter
is named in Chinese. The ``network`` fixture
(conftest.py): manufacturer MFR, distributors DIST-A and DIST-B."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from scanners import parse
from web.models import User

LoginAs = Callable[..., FlaskClient]
HAN = re.compile(r"[\u4e00-\u9fff]")
_INPUT = re.compile(r'name="(csrf_token|device_seq)"[^>]*value="([^"]*)"')


def _in_chinese(engine: Engine, username: str) -> None:
    with Session(engine) as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.locale = "zh_Hans_CN"
        s.commit()


def test_a_code_the_station_cannot_read_is_refused_in_chinese(
    network: Engine, login_as: LoginAs
) -> None:
    browser = login_as("warehouse", username="wang")
    _in_chinese(network, "wang")
    page = browser.get("/scan/")
    assert page.status_code == 200
    fields = dict(_INPUT.findall(page.get_data(as_text=True)))
    bad_check_digit = "(01)04012345000017(21)A1"  # GTIN check digit 7, GS1 says 6
    answer = browser.post(
        "/scan/scan.json",
        data={**fields, "party": "DIST-B", "kind": "receive", "code": bad_check_digit},
        headers={"X-CSRFToken": fields["csrf_token"]},
    )
    (scan,) = answer.get_json()["scans"]
    assert (scan["status"], scan["tone"]) == ("rejected", "bad")
    assert HAN.search(scan["headline"]), scan["headline"]
    reason = parse(bad_check_digit).error
    assert reason is not None and "check digit" in reason
    assert HAN.search(scan["message"]), scan["message"]
    assert scan["message"].startswith(repr(bad_check_digit))  # which code, then why
    # the scanners' detail said from its id (tests/scans_web/test_station_reasons_zh.py)
    assert reason not in scan["message"] and "的校验位为 7，应为 6" in scan["message"]


def test_a_bad_alert_filter_is_named_in_chinese(network: Engine, login_as: LoginAs) -> None:
    manager = login_as("channel_manager", username="li")
    _in_chinese(network, "li")
    answer = manager.get("/alerts/?status=nope&period=2026-13")
    page = answer.get_data(as_text=True).replace("&#39;", "'")
    assert answer.status_code == 400
    assert "'nope' 不在 open, investigating" in page
    assert "期间：'2026-13' 既不是 YYYY-MM 也不是 YYYY-Qn" in page
    assert "is not one of" not in page and "is neither" not in page
