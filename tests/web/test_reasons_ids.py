"""The engine's reasons in the reader's language (issue 11): every reason the engine
raises with a message id (``Error.said("id", "English %(name)s", name=...)`` in
``settlement/*.py``, found by reading the source) has its words in ``web/reasons.py``;
in English those words give exactly ``str(exc)`` (what the CLI prints and the API
sends as ``error``), so the two never drift; in Chinese and Spanish they are
translated, statuses in words and dates as the language writes them. A finance user
whose profile is in Chinese who approves the adjustment they booked themselves reads
the refusal in Chinese."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import settlement
from web.models import User
from web.reasons import REASONS, reason_message, reason_sentence, reason_words

ROOT = Path(__file__).resolve().parents[2]
#: The packages whose errors pages say in words (settlement, and partner management).
PACKAGES = ("settlement", "partners", "risk")


def _modules() -> list[tuple[str, Path]]:
    return [(pkg, path) for pkg in PACKAGES for path in sorted((ROOT / pkg).glob("*.py"))]


HAN = re.compile(r"[\u4e00-\u9fff]")

#: Sample values by name: what a page shows for each kind of value.
SAMPLES = {
    "status": "approved",
    "to": "dismissed",
    "became": "posted",
    "day": "2026-10-03",
    "today": "2026-10-05",
    "deadline": "2026-11-30",
    "field": "amount",
}


@dataclass(frozen=True)
class Site:
    """One raise of a worded reason: where, the id, the English, how to build it."""

    module: str
    line: int
    message_id: str
    english: str
    build: Callable[..., settlement.SettlementError]
    names: tuple[str, ...]

    def error(self) -> settlement.SettlementError:
        values = {name: SAMPLES.get(name, f"X{name}") for name in self.names}
        return self.build(self.message_id, self.english, **values)


def _sites() -> list[Site]:
    """Every ``X.said("id", "English", ...)`` (and ``_stale("id", "why", ...)``) call
    in ``settlement/*.py``, ``partners/*.py`` and ``risk/*.py`` with its id and
    English written out."""
    found = []
    for pkg, path in _modules():
        module = importlib.import_module(f"{pkg}.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            func = node.func
            build: Any
            if isinstance(func, ast.Attribute) and func.attr == "said":
                assert isinstance(func.value, ast.Name), ast.dump(func)
                build = getattr(module, func.value.id).said
            elif isinstance(func, ast.Name) and func.id == "_stale":
                build = module._stale
            else:
                continue
            first, second = node.args[:2]
            if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
                continue  # a helper passing its own argument on (_stale itself)
            assert isinstance(second, ast.Constant) and isinstance(second.value, str), (
                f"{path.name}:{node.lineno}: the English of {first.value!r} must be written "
                "out (one string), so that this test can compare it with web/reasons.py"
            )
            names = tuple(k.arg for k in node.keywords if k.arg is not None)
            for k in node.keywords:  # **line: the names of a dict written out above
                if k.arg is None:
                    names += ("line", "title")
            found.append(Site(path.stem, node.lineno, first.value, second.value, build, names))
    return found


SITES = _sites()


def _site_id(site: Site) -> str:
    return f"{site.module}:{site.line}:{site.message_id}"


def test_the_engine_gives_most_page_reasons_an_id() -> None:
    """The modules whose refusals pages show each raise worded reasons."""
    modules = {site.module for site in SITES}
    assert {
        "runs",
        "disputes",
        "adjustments",
        "deposits",
        "alerts",
        "programs",
        "payments",
        "reference_values",
    } <= modules
    assert len({site.message_id for site in SITES}) >= 70


@pytest.mark.parametrize("site", SITES, ids=_site_id)
def test_english_words_are_exactly_the_engines(words_app: Flask, site: Site) -> None:
    exc = site.error()
    assert site.message_id in REASONS, f"no words for {site.message_id!r} in web/reasons.py"
    assert exc.message_id == site.message_id
    with words_app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert reason_message(exc) is not None, "the values do not fill the words"
        assert reason_words(exc) == str(exc)


@pytest.mark.parametrize("site", SITES, ids=_site_id)
def test_chinese_and_spanish_words_keep_every_value(words_app: Flask, site: Site) -> None:
    exc = site.error()
    with words_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        chinese = reason_words(exc)
    with words_app.test_request_context("/", headers={"Accept-Language": "es"}):
        spanish = reason_words(exc)
    assert HAN.search(chinese), f"{site.message_id}: {chinese!r} is not in Chinese"
    assert spanish != str(exc), f"{site.message_id}: {spanish!r} is not in Spanish"
    for name, value in exc.values.items():
        if name not in SAMPLES:  # data (ids, codes, amounts) is shown as it is
            assert value in chinese and value in spanish, (name, chinese, spanish)


def test_every_id_with_words_is_raised_by_the_engine() -> None:
    """No words for reasons the engine no longer gives (the four first ids are raised
    with ``message_id=`` by their own classes)."""
    raised = {site.message_id for site in SITES}
    for _pkg, path in _modules():
        raised |= set(re.findall(r'message_id="(\w+)"', path.read_text(encoding="utf-8")))
    assert set(REASONS) - raised == set()


def test_values_are_said_in_words_and_dates_as_dates(words_app: Flask) -> None:
    approved = settlement.RunStateError.said(
        "run_not_draft", "run %(run)s is %(status)s; only a draft can be approved",
        run=7, status="approved",
    )  # fmt: skip
    late = settlement.PaymentError.said(
        "execution_date_past",
        "execution date %(day)s is in the past; banks take %(today)s or later",
        day="2026-10-03",
        today="2026-10-05",
    )
    with words_app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert reason_words(late) == (
            "execution date 2026-10-03 is in the past; banks take 2026-10-05 or later"
        )
        assert reason_sentence(approved) == ("Run 7 is approved; only a draft can be approved.")
    with words_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        chinese = reason_words(approved)
        assert "approved" not in chinese and "7" in chinese
        assert "2026年10月3日" in reason_words(late) and "2026-10-03" not in reason_words(late)
        assert reason_sentence(approved).endswith("。")
    with words_app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert "3 oct 2026" in reason_words(late)
    # without an id (or with values that do not fill the words) the English is kept
    broken = settlement.SettlementError("odd", message_id="run_not_draft", values={"x": "1"})
    with words_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert reason_words(broken) == "odd"


def _user_id(engine: Engine, username: str, locale: str) -> int:
    with Session(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        user.locale = locale
        session.commit()
        return int(user.id)


def _flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+">([^<]*)</p>', page)


def test_a_chinese_finance_user_reads_the_four_eyes_refusal_in_chinese(
    login_as: Callable[..., FlaskClient],
    engine: Engine,
    make_party: Callable[..., int],
    csrf_token: Callable[..., str],
) -> None:
    party = make_party("D-EAST")
    browser = login_as("finance", username="fang")
    me = settlement.Actor("fang", "finance", user_id=_user_id(engine, "fang", "zh_Hans_CN"))
    aid = settlement.add_adjustment(engine, party, -2500, "damaged delivery", me)
    token = csrf_token("/finance/adjustments/", on=browser)
    page = browser.post(
        f"/finance/adjustments/{aid}/approve", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    (said,) = [f for f in _flashes(page) if str(aid) in f]
    assert HAN.search(said) and "booked adjustment" not in said and "fang" in said
    # the engine's own words (the CLI's, the API's ``error``) stay English
    with pytest.raises(settlement.AdjustmentStateError) as refused:
        settlement.approve_adjustment(engine, aid, me)
    assert str(refused.value) == (f"fang booked adjustment {aid}; another finance user approves it")
