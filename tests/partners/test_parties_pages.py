"""The party pages (issue 12): the list with its filters, counts per status and
pages; the hub with master data, addresses, contacts, parent and children, status
and its history; the forms (CSRF) to create, edit, change status and add
addresses and contacts; the import page; in English and Chinese; who sees what."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.models import PartyAddress
from partners.parties import (
    AddressInput,
    ContactInput,
    PartyInput,
    add_address,
    add_contact,
    create_party,
    set_status,
)
from settlement import Actor

PM = Actor("pat", "partner_manager")
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
Login = Callable[..., FlaskClient]
Token = Callable[..., str]


@pytest.fixture
def fresh(app: Flask, login_as: Login) -> Login:
    """``login_as`` on a new browser each call (one person per browser)."""

    def login(role: str, party: str | None = None) -> FlaskClient:
        return login_as(role, party=party, on=app.test_client())

    return login


def _party(engine: Engine, code: str, **kw: str) -> None:
    values = {
        "name": f"{code} Trading Ltd",
        "kind": "distributor",
        "country": "CN",
        "currency": "CNY",
    }
    values.update(kw)
    create_party(engine, PartyInput(code=code, **values), PM)


def _text(page: bytes) -> str:
    return page.decode()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_list_filters_counts_and_pages(engine: Engine, login_as: Login) -> None:
    for i in range(55):
        _party(engine, f"CN-{i:02d}", status="trial" if i < 5 else "active")
    _party(engine, "DE-01", name="Rhein Messtechnik GmbH", country="DE", currency="EUR")
    browser = login_as("finance")
    page = _text(browser.get("/partners/parties/").data)
    assert "CN-00" in page and "CN-49" in page and "CN-50" not in page  # 50 a page
    assert "1–50 of 56" in page
    assert re.search(r"<strong>51</strong> Active", page) and re.search(
        r"<strong>5</strong> On trial", page
    )
    second = _text(browser.get("/partners/parties/?page=2").data)
    assert "CN-50" in second and "DE-01" in second and "CN-00<" not in second
    found = _text(browser.get("/partners/parties/?q=rhein").data)
    assert "DE-01" in found and "CN-01" not in found
    trial = _text(browser.get("/partners/parties/?status=trial").data)
    assert "CN-04" in trial and "CN-05" not in trial
    assert "New party" not in page  # finance reads only


def test_the_pages_in_chinese(engine: Engine, login_as: Login) -> None:
    _party(engine, "NA", local_name="中国精密贸易有限公司")
    _party(engine, "SH1", kind="dealer", parent="NA", status="trial")
    browser = login_as("partner_manager")
    headers = {"Accept-Language": "zh-CN"}
    listing = _text(browser.get("/partners/parties/", headers=headers).data)
    assert "合作伙伴" in listing and "试用" in listing and "中国精密贸易有限公司" in listing
    hub = _text(browser.get("/partners/parties/SH1", headers=headers).data)
    assert "主数据" in hub and "经销商" in hub
    form = _text(browser.get("/partners/parties/new", headers=headers).data)
    assert "新建" in form


def test_the_hub_shows_master_data_addresses_contacts_children_and_history(
    engine: Engine, fresh: Login
) -> None:
    _party(engine, "NA", local_name="中国精密贸易有限公司", time_zone="Asia/Shanghai")
    _party(engine, "SH1", kind="dealer", parent="NA")
    add_address(
        engine,
        "NA",
        AddressInput(
            "warehouse", "88 Century Ave", "Shanghai", "CN", lat="31.2304", lon="121.4737"
        ),
        PM,
    )
    add_contact(
        engine,
        "NA",
        ContactInput("Li Wei", "owner", "li@example.cn", "+86 21 5555 0101", primary=True),
        PM,
    )
    set_status(engine, "NA", "suspended", PM, "late deposit top-up")
    hub = _text(fresh("channel_manager").get("/partners/parties/NA").data)
    assert "中国精密贸易有限公司" in hub and "Asia/Shanghai" in hub
    assert "31.230400, 121.473700" in hub
    assert "li@example.cn" in hub and "+862155550101" in hub
    assert "1 party" in hub and "/partners/parties/?parent=NA" in hub
    assert "Reason: late deposit top-up; Status: active → suspended" in hub
    assert "Edit master data" not in hub and "Change status" not in hub  # reader
    child = _text(fresh("auditor").get("/partners/parties/SH1").data)
    assert 'href="/partners/parties/NA"' in child


def test_create_edit_and_status_through_the_forms(
    engine: Engine, login_as: Login, csrf_token: Token
) -> None:
    _party(engine, "NA")
    browser = login_as("partner_manager")
    token = csrf_token("/partners/parties/new", on=browser)
    bad = browser.post(
        "/partners/parties/new",
        data={"csrf_token": token, "code": "SH-1", "name": "Shanghai Lab", "kind": "dealer",
              "country": "XX", "currency": "CNY", "parent": "", "locale": "", "status": "active"},
    )  # fmt: skip
    assert bad.status_code == 422
    body = _text(bad.data)
    assert "&#39;XX&#39; is not an ISO 3166 country code" in body
    with Session(engine) as s:
        assert s.scalar(select(Party.id).where(Party.code == "SH-1")) is None
    made = browser.post(
        "/partners/parties/new",
        data={"csrf_token": token, "code": "SH-1", "name": "Shanghai Lab", "kind": "dealer",
              "country": "cn", "currency": "cny", "parent": "NA", "locale": "zh_Hans_CN",
              "status": "trial", "time_zone": "Asia/Shanghai"},
    )  # fmt: skip
    assert made.status_code == 302 and made.headers["Location"].endswith("/partners/parties/SH-1")
    no_parent = browser.post(
        "/partners/parties/SH-1/edit",
        data={"csrf_token": token, "name": "Shanghai Lab", "kind": "dealer", "country": "CN",
              "currency": "CNY", "parent": "", "locale": ""},
    )  # fmt: skip
    assert no_parent.status_code == 422 and "a dealer needs a parent" in _text(no_parent.data)
    edited = browser.post(
        "/partners/parties/SH-1/edit",
        data={"csrf_token": token, "name": "Shanghai Lab Supplies", "kind": "dealer",
              "country": "CN", "currency": "CNY", "parent": "NA", "locale": "zh_Hans_CN",
              "time_zone": "Asia/Shanghai", "local_name": "上海实验用品商行"},
    )  # fmt: skip
    assert edited.status_code == 302
    admitted = browser.post(
        "/partners/parties/SH-1/status",
        data={"csrf_token": token, "status": "active", "reason": "trial passed"},
        follow_redirects=True,
    )
    page = _text(admitted.data)
    assert "SH-1 is now Active." in page
    assert "Reason: trial passed; Status: on trial → active" in page
    assert "Name: Shanghai Lab → Shanghai Lab Supplies" in page
    refused = browser.post(
        "/partners/parties/SH-1/status",
        data={"csrf_token": token, "status": "prospect", "reason": "back"},
    )
    assert refused.status_code == 422
    assert "SH-1 is active; it cannot become prospect" in _text(refused.data)
    missing_token = browser.post(
        "/partners/parties/SH-1/status", data={"status": "suspended", "reason": "x"}
    )
    assert missing_token.status_code in (400, 422)
    with Session(engine) as s:
        p = s.scalars(select(Party).where(Party.code == "SH-1")).one()
        assert (p.name, p.status, p.local_name) == (
            "Shanghai Lab Supplies",
            "active",
            "上海实验用品商行",
        )


def test_addresses_and_contacts_through_the_forms(engine: Engine, login_as: Login) -> None:
    _party(engine, "NA")
    browser = login_as("admin")
    hub = _text(browser.get("/partners/parties/NA").data)
    token = _csrf(hub)
    far = browser.post(
        "/partners/parties/NA/addresses",
        data={
            "csrf_token": token,
            "kind": "office",
            "line1": "1 Main St",
            "city": "X",
            "country": "CN",
            "lat": "91",
            "lon": "0",
        },
    )
    assert far.status_code == 422 and "91 is outside -90 to 90 degrees" in _text(far.data)
    ok = browser.post(
        "/partners/parties/NA/addresses",
        data={
            "csrf_token": token,
            "kind": "office",
            "line1": "1 Main St",
            "city": "Beijing",
            "country": "CN",
            "lat": "39.9042",
            "lon": "116.4074",
        },
        follow_redirects=True,
    )
    assert "39.904200, 116.407400" in _text(ok.data)
    contact = browser.post(
        "/partners/parties/NA/contacts",
        data={
            "csrf_token": token,
            "name": "Zhang Min",
            "email": "nope",
            "phone": "",
            "language": "",
        },
    )
    assert contact.status_code == 422 and "is not an e-mail address" in _text(contact.data)
    with Session(engine) as s:
        (aid,) = s.scalars(select(PartyAddress.id)).all()
    removed = browser.post(
        f"/partners/parties/NA/addresses/{aid}/remove",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "No address yet." in _text(removed.data)


def test_the_import_page(engine: Engine, login_as: Login) -> None:
    browser = login_as("partner_manager")
    page = _text(browser.get("/partners/parties/import").data)
    token = _csrf(page)
    data = (EXAMPLES / "parties.csv").read_bytes()
    import io

    dry = browser.post(
        "/partners/parties/import",
        data={"csrf_token": token, "dry_run": "1", "file": (io.BytesIO(data), "parties.csv")},
        content_type="multipart/form-data",
    )
    assert dry.status_code == 200 and "4 parties would be created." in _text(dry.data)
    bad = browser.post(
        "/partners/parties/import",
        data={
            "csrf_token": token,
            "file": (
                io.BytesIO(b"code,name,kind,country,currency,parent\nA,B,dealer,CN,CNY,\n"),
                "p.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "a dealer needs a parent of kind distributor" in _text(bad.data)
    done = browser.post(
        "/partners/parties/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "parties.csv")},
        content_type="multipart/form-data",
    )
    assert "4 parties created." in _text(done.data)
    with Session(engine) as s:
        assert len(s.scalars(select(Party.id)).all()) == 4


def test_roles(engine: Engine, fresh: Login) -> None:
    _party(engine, "NA")
    for role in ("warehouse", "distributor"):
        browser = fresh(role, party="NA" if role == "distributor" else None)
        assert browser.get("/partners/parties/").status_code == 403
        assert browser.get("/partners/parties/NA").status_code == 403
    finance = fresh("finance")
    assert finance.get("/partners/parties/new").status_code == 403
    assert finance.get("/partners/parties/import").status_code == 403
    assert finance.post("/partners/parties/NA/status", data={}).status_code in (400, 403)
    assert fresh("partner_manager").get("/partners/parties/NOPE").status_code == 404


def test_partners_is_in_the_navigation_of_its_roles(fresh: Login) -> None:
    for role in ("partner_manager", "finance", "channel_manager", "auditor", "admin"):
        home = _text(fresh(role).get("/").data)
        assert 'href="/partners/parties/"' in home, role
    assert 'href="/partners/parties/"' not in _text(fresh("warehouse").get("/").data)
