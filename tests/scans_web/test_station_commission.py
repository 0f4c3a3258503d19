"""The scan station commissions from label sheets, answers a repeat scan "already
recorded" and keeps the step and counter-party in force in sight (issue 11).

The ``network`` fixture (conftest.py): manufacturer MFR, distributors DIST-A and
DIST-B, units U1..U6 commissioned, U1..U3 shipped to DIST-A.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from _scans_web import entry_count, hri, unit
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.ids import gs1_check_digit
from ledger.models import Entry, Unit
from ledger.times import format_ms
from scanners import allocate_serials, decode_image, render_labels, unit_labels
from settlement.models import Product
from web.models import User

LoginAs = Callable[..., FlaskClient]
_INPUT = re.compile(r'name="(csrf_token|device_seq)"[^>]*value="([^"]*)"')
_BODY = "0950600013437"
SHEET_GTIN = _BODY + str(gs1_check_digit(_BODY))  # a product of MFR's with no unit yet


class Station:
    """A browser at the scan station: posts as the page's script does."""

    def __init__(self, browser: FlaskClient, **settings: str) -> None:
        self.browser = browser
        page = browser.get("/scan/")
        assert page.status_code == 200
        self.fields = dict(_INPUT.findall(page.get_data(as_text=True)))
        self.settings = settings

    def post(self, **form: Any) -> tuple[int, list[dict[str, Any]]]:
        data = {**self.fields, **self.settings, "code": "", **form}
        answer = self.browser.post(
            "/scan/scan.json",
            data=data,
            content_type="multipart/form-data",
            headers={"X-CSRFToken": self.fields["csrf_token"]},
        )
        body = answer.get_json()
        if "next_seq" in body:
            self.fields["device_seq"] = str(body["next_seq"])
        return answer.status_code, body["scans"]


def _sheet(network: Engine, count: int) -> tuple[list[str], bytes]:
    """``count`` fresh serials of SHEET_GTIN (as ``hopchain labels --count`` allocates
    them) and the PNG of their label sheet."""
    with Session(network) as session:
        serials = allocate_serials(session, SHEET_GTIN, count)
        session.commit()
    (png,) = render_labels(unit_labels(SHEET_GTIN, serials)).pngs
    return serials, png


def _commissioned(network: Engine, gtin: str) -> dict[str, str]:
    """Key -> the kinds of its entries, in order and joined by commas, of each unit
    of ``gtin``."""
    with Session(network) as session:
        rows = session.execute(
            select(Unit.key, Entry.kind)
            .join(Entry, Entry.unit_id == Unit.id)
            .where(Unit.gtin == gtin)
            .order_by(Entry.seq)
        )
        out: dict[str, str] = {}
        for key, kind in rows:
            out[key] = f"{out[key]},{kind}" if key in out else kind
        return out


def test_a_label_sheet_photo_commissions_every_unit_in_one_submission(
    network: Engine, login_as: LoginAs
) -> None:
    serials, png = _sheet(network, 6)
    keys = [f"01/{SHEET_GTIN}/21/{s}" for s in serials]
    assert [r.key for r in decode_image(png)] == keys  # the sheet reads back
    station = Station(login_as("warehouse", "MFR"), kind="commission")
    before = entry_count(network)

    status, scans = station.post(photo=(io.BytesIO(png), "sheet.png"))

    assert status == 200
    assert [(s["status"], s["tone"], s["key"]) for s in scans] == [
        ("accepted", "ok", key) for key in keys
    ]
    assert all(s["entries"] == 1 and s["units"] == 1 for s in scans)
    assert entry_count(network) == before + 6
    assert _commissioned(network, SHEET_GTIN) == dict.fromkeys(keys, "commissioning")
    # One result line each in the session's list, the newest first.
    page = station.browser.get("/scan/").get_data(as_text=True)
    assert page.count('<tr class="recent-ok">') == 6
    for key in keys:
        assert key in page

    # The same sheet photographed again: every unit is already recorded, nothing added.
    status, again = station.post(photo=(io.BytesIO(png), "sheet.png"))
    assert [s["status"] for s in again] == ["duplicate"] * 6
    assert all(s["message"].startswith("Already recorded (seq ") for s in again)
    assert entry_count(network) == before + 6


def test_commissioning_refuses_serials_never_allocated_and_unknown_products(
    network: Engine, login_as: LoginAs
) -> None:
    serials, _png = _sheet(network, 3)
    station = Station(login_as("warehouse", "MFR"), kind="commission")
    before = entry_count(network)
    # Serial 4 was not handed out (1..3 were), nor is "0003" (serials have no leading zeros).
    for serial in ("4", "0003"):
        _, (scan,) = station.post(code=f"(01){SHEET_GTIN}(21){serial}")
        assert scan["status"] == "rejected", scan
        assert scan["message"] == (
            f"Serial {serial} of GTIN {SHEET_GTIN} was never allocated (serials 1 to 3 were):"
            " print labels with hopchain labels."
        )
    _, (typed,) = station.post(code=f"(01){SHEET_GTIN}(21){serials[0]}")  # wedge: one by one
    assert typed["status"] == "accepted"
    assert entry_count(network) == before + 1

    # Once products exist, a GTIN that is none of them is refused, in words.
    with Session(network) as session:
        session.add(Product(gtin=SHEET_GTIN, name="Sheet product"))
        session.commit()
    _, (known,) = station.post(code=f"(01){SHEET_GTIN}(21){serials[1]}")
    assert known["status"] == "accepted"
    _, (unknown,) = station.post(code=hri("NEW-1"))
    assert unknown["status"] == "rejected"
    assert "is not a known product" in unknown["message"]
    assert unit("NEW-1").split("/")[1] in unknown["message"]
    # A pallet code is not commissioned.
    _, (pallet,) = station.post(code="(00)106141411234567897")
    assert pallet["status"] == "rejected" and "pallet" in pallet["message"]
    assert entry_count(network) == before + 2


def test_a_distributors_station_cannot_commission(
    network: Engine, login_as: LoginAs, app: Flask
) -> None:
    _serials, png = _sheet(network, 2)
    staff = login_as("warehouse", "DIST-A")
    page = staff.get("/scan/").get_data(as_text=True)
    assert 'value="commission"' not in page
    assert 'value="receive"' in page
    station = Station(staff, kind="commission")
    before = entry_count(network)
    status, (scan,) = station.post(photo=(io.BytesIO(png), "sheet.png"))
    assert status == 422
    assert scan["status"] == "rejected"
    assert "does not commission" in scan["message"]
    # The manufacturer's staff acting for a distributor are refused too: only the
    # manufacturer commissions.
    manufacturer = login_as("warehouse", on=app.test_client())
    acting = Station(manufacturer, kind="commission", party="DIST-B")
    assert 'value="commission"' in acting.browser.get("/scan/").get_data(as_text=True)
    status, scans = acting.post(photo=(io.BytesIO(png), "sheet.png"))
    assert status == 200
    assert [s["status"] for s in scans] == ["rejected", "rejected"]
    assert all(
        s["message"] == "DIST-B does not commission units: only the manufacturer commissions."
        for s in scans
    )
    assert entry_count(network) == before


def test_a_repeat_scan_of_the_same_step_is_already_recorded(
    network: Engine, login_as: LoginAs
) -> None:
    station = Station(login_as("warehouse", "DIST-A"), kind="receive", counterparty="MFR")
    before = entry_count(network)
    _, (first,) = station.post(code=hri("U1"))
    assert (first["status"], first["tone"]) == ("accepted", "ok")
    with Session(network) as session:
        seq, at_ms = session.execute(
            select(Entry.seq, Entry.at_ms).order_by(Entry.seq.desc()).limit(1)
        ).one()

    _, (again,) = station.post(code=hri("U1"))  # a new form, the same case scanned again

    assert entry_count(network) == before + 1
    assert (again["status"], again["tone"], again["headline"]) == (
        "duplicate",
        "ok",
        "Already recorded",
    )
    when = format_ms(at_ms, "%Y-%m-%d %H:%M:%S UTC")
    assert again["message"] == f"Already recorded (seq {seq} at {when}): nothing added."
    assert again["entries"] == 0
    with Session(network) as session:
        assert session.scalars(select(Entry.anomaly).where(Entry.seq > seq)).all() == []
    # Another step on the unit is a new observation.
    ship = station.post(code=hri("U1"), kind="ship", counterparty="DIST-B")[1][0]
    assert ship["status"] == "accepted"
    assert entry_count(network) == before + 2


def test_the_status_bar_shows_the_step_and_counterparty_after_a_reload(
    network: Engine, login_as: LoginAs
) -> None:
    browser = login_as("warehouse", "DIST-A")
    station = Station(browser)
    # Without JavaScript: "Keep these settings" posts the settings and redirects back.
    kept = browser.post(
        "/scan/settings", data={**station.fields, "kind": "receive", "counterparty": "MFR"}
    )
    assert kept.status_code == 302
    page = browser.get("/scan/").get_data(as_text=True)
    bar = re.search(r'<div class="station-bar".*?</div>', page, re.S)
    assert bar is not None
    text = re.sub(r"<[^>]+>|\s+", " ", bar.group(0))
    assert re.search(r"Step: Receive · From: MFR", re.sub(r" +", " ", text)), text
    assert 'href="#station-settings"' in bar.group(0)  # the way to change them
    assert re.search(r'<option selected value="receive">|<option value="receive" selected>', page)

    # The page's script keeps a change at once and gets the bar's words back.
    answer = browser.post(
        "/scan/settings",
        data={**station.fields, "kind": "ship", "counterparty": "DIST-B"},
        headers={"Accept": "application/json", "X-CSRFToken": station.fields["csrf_token"]},
    )
    assert answer.status_code == 200
    assert answer.get_json() | {"party": ""} == {
        "kind": "ship",
        "step": "Ship out",
        "counterparty_role": "To",
        "counterparty_label": "To:",
        "counterparty": "DIST-B",
        "counterparty_name": "Distributor B",
        "party": "",
    }
    page = browser.get("/scan/").get_data(as_text=True)
    assert 'id="bar-step">Ship out<' in page and 'id="bar-counterparty">DIST-B<' in page
    assert 'id="bar-counterparty-role">To:<' in page
    # in Chinese the label takes the language's own colon, on the page and in the answer
    zh = {"Accept-Language": "zh-CN"}
    assert 'id="bar-counterparty-role">至：<' in browser.get("/scan/", headers=zh).get_data(
        as_text=True
    )
    bad = browser.post(
        "/scan/settings",
        data={**station.fields, "kind": "commission"},
        headers={"Accept": "application/json", "X-CSRFToken": station.fields["csrf_token"]},
    )
    assert bad.status_code == 422 and "does not commission" in bad.get_json()["error"]


def test_the_station_renders_in_chinese(network: Engine, login_as: LoginAs) -> None:
    browser = login_as("warehouse", "MFR", username="zh-warehouse")
    with Session(network) as session:
        user = session.scalars(select(User).where(User.username == "zh-warehouse")).one()
        user.locale = "zh_Hans_CN"
        session.commit()
    station = Station(browser, kind="receive", counterparty="DIST-A")
    page = browser.get("/scan/").get_data(as_text=True)
    assert 'lang="zh' in page
    bar = re.search(r'<div class="station-bar".*?</div>', page, re.S)
    assert bar is not None
    assert "Step:" not in bar.group(0) and "Change" not in bar.group(0)
    assert re.search(r"[\u4e00-\u9fff]", bar.group(0))
    assert "Commission (label sheet)" not in page
    _, (first,) = station.post(code=hri("U4"), kind="ship")
    _, (again,) = station.post(code=hri("U4"), kind="ship")
    assert first["status"] == "accepted" and again["status"] == "duplicate"
    assert "Already recorded" not in again["headline"] + again["message"]
    assert re.search(r"[\u4e00-\u9fff]", again["message"])
