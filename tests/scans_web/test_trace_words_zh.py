"""The unit trace page says why a code is not a unit in the reader's language (issue 11):
a Chinese warehouse user who types a code with a bad check digit reads the scanners'
reason in Chinese (``web.reasons.scan_reason_words``), an unknown unit is said in
Chinese too; an English reader gets the scanners' English as before. The ``network``
fixture (conftest.py): manufacturer MFR, distributors DIST-A and DIST-B."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.web.test_i18n_pages import english_left
from web.models import User

LoginAs = Callable[..., FlaskClient]
BAD_CHECK_DIGIT = "(01)04012345000017(21)A1"  # GTIN check digit 7, GS1 says 6
UNKNOWN_UNIT = "(01)04012345000016(21)NEVER"


def _warehouse(network: Engine, login_as: LoginAs, locale: str) -> FlaskClient:
    browser = login_as("warehouse", username=f"trace-{locale}")
    with Session(network) as s:
        user = s.scalars(select(User).where(User.username == f"trace-{locale}")).one()
        user.locale = locale
        s.commit()
    return browser


def test_trace_says_why_in_chinese(network: Engine, login_as: LoginAs) -> None:
    browser = _warehouse(network, login_as, "zh_Hans_CN")
    bad = browser.get("/trace/", query_string={"q": BAD_CHECK_DIGIT})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "不是产品：" in page
    assert "GTIN 04012345000017 的校验位为 7，应为 6" in page
    assert "check digit" not in page
    missing = browser.get("/trace/", query_string={"q": UNKNOWN_UNIT})
    assert missing.status_code == 404
    text = missing.get_data(as_text=True)
    assert "in the ledger" not in text and "台账中没有产品" in text
    assert not english_left(text, frozenset({"trace-zh_Hans_CN", "NEVER"}))


def test_trace_keeps_the_scanners_english(network: Engine, login_as: LoginAs) -> None:
    browser = _warehouse(network, login_as, "en")
    page = browser.get("/trace/", query_string={"q": BAD_CHECK_DIGIT}).get_data(as_text=True)
    assert "Not a unit: GTIN 04012345000017 has check digit 7, expected 6" in page
