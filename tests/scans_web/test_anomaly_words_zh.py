"""Custody anomalies and refused scan events in the reader's language (issue 11):
a Chinese warehouse user, auditor and channel manager read the ledger's anomaly
sentences (stored in English in ``entries.anomaly``) in Chinese at the scan station,
on the warehouse home's "今日异常", on /ledger/ and /ledger/?anomalies=1 and on the
trace page, whose state and packing step are in Chinese too. The ``network`` fixture
(conftest.py): MFR, DIST-A, DIST-B; U1..U3 shipped to DIST-A, U5 and U6 packed on
PALLET."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from _scans_web import PALLET, hri, unit
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger import ensure_signing_key
from web.models import User

LoginAs = Callable[..., FlaskClient]
_INPUT = re.compile(r'name="(csrf_token|device_seq)"[^>]*value="([^"]*)"')
ZH = {"Accept-Language": "zh-CN"}

#: DIST-B sells U1, which is on its way to DIST-A.
SOLD_ENGLISH = "sold by DIST-B while in transit to DIST-A"
SOLD_CHINESE = "DIST-B 在该单品运往 DIST-A 途中将其售出"


def _chinese(
    engine: Engine, login_as: LoginAs, role: str, name: str, on: FlaskClient | None = None
) -> FlaskClient:
    browser = login_as(role, username=name, on=on)
    with Session(engine) as s:
        s.scalars(select(User).where(User.username == name)).one().locale = "zh_Hans_CN"
        s.commit()
    return browser


def _station(browser: FlaskClient, **form: str) -> dict[str, str]:
    page = browser.get("/scan/")
    fields = dict(_INPUT.findall(page.get_data(as_text=True)))
    answer = browser.post(
        "/scan/scan.json", data={**fields, **form}, headers={"X-CSRFToken": fields["csrf_token"]}
    )
    (scan,) = answer.get_json()["scans"]
    return dict(scan)


def test_the_station_says_an_anomaly_and_a_refused_pack_in_chinese(
    network: Engine, login_as: LoginAs
) -> None:
    wang = _chinese(network, login_as, "warehouse", "wang")
    sold = _station(wang, party="DIST-B", kind="sell", code=hri("U1"))
    assert sold["message"] == SOLD_CHINESE, sold
    with network.connect() as conn:
        stored = conn.exec_driver_sql("SELECT anomaly FROM entries ORDER BY seq DESC").first()
    assert stored is not None and stored[0] == SOLD_ENGLISH  # the ledger keeps its English

    packed = _station(wang, party="MFR", kind="pack", code=hri("U4"), container="")
    assert packed["status"] == "rejected", packed
    assert "装箱扫描须注明装入的容器" in packed["message"], packed
    assert "container" not in packed["message"]

    home = wang.get("/").get_data(as_text=True)
    assert "今日异常" in home
    assert SOLD_CHINESE in home and SOLD_ENGLISH not in home


def test_ledger_and_trace_pages_say_anomalies_state_and_packing_in_chinese(
    app: Flask, network: Engine, login_as: LoginAs
) -> None:
    ensure_signing_key(Path(app.instance_path))
    wang = _chinese(network, login_as, "warehouse", "wang")
    assert _station(wang, party="DIST-B", kind="sell", code=hri("U1"))["message"] == SOLD_CHINESE

    auditor = _chinese(network, login_as, "auditor", "li", on=app.test_client())
    for path in ("/ledger/", "/ledger/?anomalies=1"):
        page = auditor.get(path).get_data(as_text=True)
        assert SOLD_CHINESE in page and SOLD_ENGLISH not in page, path

    trace = auditor.get("/trace/", query_string={"q": unit("U1")}).get_data(as_text=True)
    assert "⚠ " + SOLD_CHINESE in trace and SOLD_ENGLISH not in trace
    assert "<dt>状态</dt><dd>已售出</dd>" in trace  # not the raw "sold"

    packed = auditor.get("/trace/", query_string={"q": unit("U5")}).get_data(as_text=True)
    assert f'· 装入 <a href="/trace/?q={PALLET}">{PALLET}</a>' in packed
    assert "into" not in re.sub(r"<[^>]+>", " ", packed).split()
    assert "<dt>状态</dt><dd>在库</dd>" in packed
