"""The scan station, trace and devices pages, driven through their forms."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import qrcode
from _scans_web import PALLET, entry_count, hri, unit
from flask import current_app
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger import ensure_signing_key, make_checkpoint
from ledger.models import Entry
from scanners import generate_device_key, get_device
from web.db import get_engine
from web.signing import get_signer

LoginAs = Callable[..., FlaskClient]
_INPUT = re.compile(r'name="(csrf_token|device_seq)"[^>]*value="([^"]*)"')


def _form_fields(page: str) -> dict[str, str]:
    return dict(_INPUT.findall(page))


def _station(browser: FlaskClient) -> dict[str, str]:
    page = browser.get("/scan/")
    assert page.status_code == 200
    return _form_fields(page.get_data(as_text=True))


def _qr_png(text: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(text, box_size=6, border=4).save(out)
    return out.getvalue()


def test_station_records_a_scan_through_the_form_and_a_resubmit_is_a_duplicate(
    network: Engine, login_as: LoginAs
) -> None:
    browser = login_as("warehouse", "DIST-A")
    fields = _station(browser)
    form = {**fields, "kind": "receive", "counterparty": "MFR", "code": hri("U1")}
    before = entry_count(network)

    posted = browser.post("/scan/", data=form)
    assert posted.status_code == 302
    page = browser.get(posted.headers["Location"]).get_data(as_text=True)
    assert "scan-answer scan-ok" in page
    assert "Accepted" in page
    assert unit("U1") in page
    assert "1 unit covered" in page
    assert entry_count(network) == before + 1
    with Session(network) as session:
        last = session.scalars(select(Entry).order_by(Entry.seq.desc()).limit(1)).one()
        assert last.device.startswith("station:warehouse-")
        assert last.device_seq == int(fields["device_seq"])

    again = browser.post("/scan/", data=form)  # the same form once more (double submit)
    page = browser.get(again.headers["Location"]).get_data(as_text=True)
    assert "Already recorded" in page
    assert entry_count(network) == before + 1
    # The step and counter-party stay chosen; the next form has a new device_seq.
    assert int(_form_fields(page)["device_seq"]) > int(fields["device_seq"])
    assert re.search(r'<option selected value="receive">|<option value="receive" selected>', page)


def test_station_reused_form_with_another_code_is_not_mistaken_for_a_resubmit(
    network: Engine, login_as: LoginAs
) -> None:
    browser = login_as("warehouse", "DIST-A")
    fields = _station(browser)
    base = {**fields, "kind": "receive", "counterparty": "MFR"}
    browser.post("/scan/", data={**base, "code": hri("U1")})
    before = entry_count(network)
    browser.post("/scan/", data={**base, "code": hri("U2")})  # back button, new code
    assert entry_count(network) == before + 1


def test_station_answers_anomalies_and_rejections_and_lists_the_session(
    network: Engine, login_as: LoginAs
) -> None:
    # Manufacturer staff (no party) acting for DIST-B: DIST-B's own staff may not
    # record a unit addressed to DIST-A (ledger.permissions), the manufacturer's may.
    browser = login_as("warehouse")
    fields = {**_station(browser), "party": "DIST-B"}
    # DIST-B receives U1, which MFR shipped to DIST-A: recorded, with an anomaly.
    odd = browser.post(
        "/scan/scan.json",
        data={**fields, "kind": "receive", "counterparty": "MFR", "code": hri("U1")},
        headers={"X-CSRFToken": fields["csrf_token"]},
    )
    assert odd.status_code == 200
    (scan,) = odd.get_json()["scans"]
    assert (scan["status"], scan["tone"]) == ("accepted", "warn")
    assert scan["message"]
    assert odd.get_json()["next_seq"] > int(fields["device_seq"])

    bad = browser.post(
        "/scan/scan.json",
        data={
            **fields,
            "device_seq": str(odd.get_json()["next_seq"]),
            "kind": "receive",
            "code": "(01)123",
        },
        headers={"X-CSRFToken": fields["csrf_token"]},
    ).get_json()["scans"][0]
    assert (bad["status"], bad["tone"], bad["headline"]) == ("rejected", "bad", "Rejected")
    assert bad["message"]

    page = browser.get("/scan/").get_data(as_text=True)
    assert page.count('<tr class="recent-') == 2
    assert "recent-warn" in page and "recent-bad" in page


def test_station_pallet_scan_says_how_many_units_it_covered(
    network: Engine, login_as: LoginAs
) -> None:
    browser = login_as("warehouse")  # manufacturer staff: no party, picks the acting one
    fields = _station(browser)
    answer = browser.post(
        "/scan/scan.json",
        data={
            **fields,
            "party": "MFR",
            "kind": "ship",
            "counterparty": "DIST-B",
            "code": f"(00){PALLET[3:]}",
        },
        headers={"X-CSRFToken": fields["csrf_token"]},
    ).get_json()["scans"][0]
    assert answer["status"] == "accepted", answer
    assert answer["key"] == PALLET
    assert (answer["units"], answer["entries"]) == (2, 3)
    missing = browser.post(
        "/scan/scan.json",
        data={**fields, "party": "", "kind": "ship", "code": hri("U4")},
        headers={"X-CSRFToken": fields["csrf_token"]},
    )
    assert missing.status_code == 422
    assert "party" in missing.get_json()["scans"][0]["message"]


def test_station_decodes_a_label_photo_and_records_every_code(
    network: Engine, login_as: LoginAs
) -> None:
    browser = login_as("warehouse", "DIST-A")
    fields = _station(browser)
    photo = _qr_png("https://id.gs1.org/01/09506000134352/21/U2")
    posted = browser.post(
        "/scan/",
        data={**fields, "kind": "receive", "counterparty": "MFR", "code": "",
              "photo": (io.BytesIO(photo), "label.png")},
        content_type="multipart/form-data",
    )  # fmt: skip
    page = browser.get(posted.headers["Location"]).get_data(as_text=True)
    assert "Accepted" in page and unit("U2") in page
    blank = browser.post(
        "/scan/scan.json",
        data={
            **fields,
            "kind": "receive",
            "code": "",
            "photo": (io.BytesIO(b"not an image"), "x.jpg"),
        },
        content_type="multipart/form-data",
        headers={"X-CSRFToken": fields["csrf_token"]},
    ).get_json()["scans"][0]
    assert blank["status"] == "rejected"
    assert "photo" in blank["message"]


def test_station_needs_the_csrf_token_and_the_warehouse_role(
    network: Engine, login_as: LoginAs, client: FlaskClient
) -> None:
    assert client.get("/scan/").status_code == 302  # to the sign-in page
    browser = login_as("warehouse", "DIST-A")
    before = entry_count(network)
    refused = browser.post("/scan/", data={"kind": "receive", "code": hri("U1")})
    assert refused.status_code == 400
    assert entry_count(network) == before
    other = login_as("auditor", on=browser.application.test_client())
    assert other.get("/scan/").status_code == 403


def test_trace_page_shows_custody_timeline_anomalies_and_proof_links(
    network: Engine, login_as: LoginAs
) -> None:
    browser = login_as("channel_manager")
    with browser.application.app_context():
        ensure_signing_key(Path(current_app.instance_path))
        make_checkpoint(get_engine(), get_signer())
    page = browser.get("/trace/", query_string={"q": "https://id.gs1.org/01/09506000134352/21/U5"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert unit("U5") in text
    assert PALLET in text
    assert "Commissioned" in text and "Packed" in text
    assert "/api/v1/ledger/proof/inclusion?seq=" in text
    assert f"/api/v1/units/{unit('U5')}/history?format=epcis&amp;download=1" in text
    pallet = browser.get("/trace/", query_string={"q": PALLET}).get_data(as_text=True)
    assert "2 units" in pallet
    bad = browser.get("/trace/", query_string={"q": "(01)123"})
    assert bad.status_code == 400
    assert "Not a unit" in bad.get_data(as_text=True)


def test_admin_registers_and_revokes_a_device_on_the_devices_page(
    network: Engine, login_as: LoginAs, csrf_token: Callable[..., str]
) -> None:
    browser = login_as("admin")
    _, public_b64 = generate_device_key()
    token = csrf_token("/admin/devices", on=browser)
    added = browser.post(
        "/admin/devices",
        data={"csrf_token": token, "device_id": "HH-9", "name": "Dock 9", "party": "DIST-B",
              "site": "", "public_key": public_b64},
    )  # fmt: skip
    assert added.status_code == 302
    page = browser.get("/admin/devices").get_data(as_text=True)
    assert "HH-9" in page and public_b64 in page and "Active" in page
    refused = browser.post(
        "/admin/devices",
        data={"csrf_token": token, "device_id": "station:bob", "party": "DIST-B",
              "public_key": public_b64},
    )  # fmt: skip
    assert refused.status_code == 422
    assert "made by the server" in refused.get_data(as_text=True)
    revoked = browser.post("/admin/devices/HH-9/revoke", data={"csrf_token": token})
    assert revoked.status_code == 302
    with Session(network) as session:
        device = get_device(session, "HH-9")
        assert device is not None and device.revoked
    assert (
        browser.post("/admin/devices/HH-404/revoke", data={"csrf_token": token}).status_code == 404
    )
    warehouse = login_as("warehouse", on=browser.application.test_client())
    assert warehouse.get("/admin/devices").status_code == 403


def test_navigation_links_to_the_new_pages(login_as: LoginAs) -> None:
    page = login_as("warehouse").get("/").get_data(as_text=True)
    assert 'href="/scan/"' in page
