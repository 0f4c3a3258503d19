"""The last full selects of parties become pickers (issue 11, tester findings).

The devices page's owning party, the scan station's counter-party and acting party
and the territory map's party are text fields for a party's code that
web/static/party_picker.js turns into search-as-you-type pickers, not a <select> of
every party; none is pre-filled with a party nobody chose. The server finds the code
in any case and names an unknown or missing one next to its field, in words, in the
reader's language. Where a dealer or retailer is a valid counter-party (the station's
ship-to, a device's owner) the look-up searches those kinds too.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from ledger.models import Entry, Party
from scanners import generate_device_key
from scanners.devices import Device
from tests.scans_web._scans_web import hri, now_ms, unit
from web.models import User

LoginAs = Callable[..., FlaskClient]
MANY = 141  # distributors: a <select> of them all was a page of options
_INPUT = re.compile(r'name="(csrf_token|device_seq)"[^>]*value="([^"]*)"')
_HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def many(engine: Engine, make_party: Callable[..., int]) -> Engine:
    """MFR (manufacturer), D-000..D-140 (distributors), DLR-1 (a dealer), RTL-1 (a retailer),
    and unit U1 commissioned by MFR."""
    make_party("MFR", kind="manufacturer", name="Maker Co")
    for i in range(MANY):
        make_party(f"D-{i:03d}", name=f"Distributor {i:03d}")
    make_party("DLR-1", kind="dealer", name="Corner Bikes")
    make_party("RTL-1", kind="retailer", name="Retail One")
    hop = Hop(unit("U1"), EntryKind.COMMISSIONING, "MFR", now_ms() - 60_000)
    assert {r.status for r in append_hops(engine, [hop])} == {"accepted"}
    return engine


def _in_chinese(engine: Engine, username: str) -> None:
    with Session(engine) as session:
        session.scalars(select(User).where(User.username == username)).one().locale = "zh_Hans_CN"
        session.commit()


def _error(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    assert match, f"no error next to {field_id}"
    return html.unescape(match.group(1))


def _input(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert match, f"no input {name}"
    return match.group(0)


def _no_party_options(page: str) -> None:
    assert "D-000" not in page and "D-140" not in page  # no option per distributor
    assert page.count("<option") < 12


# --- the devices page -------------------------------------------------------------------


def test_the_devices_form_has_an_empty_picker_of_every_kind(
    many: Engine, login_as: LoginAs
) -> None:
    page = login_as("admin").get("/admin/devices").get_data(as_text=True)
    field = _input(page, "party")
    assert 'type="text"' in field
    assert 'value="' not in field or 'value=""' in field  # no silent default
    lookup = html.unescape(re.search(r'data-party-picker="([^"]*)"', field).group(1))  # type: ignore[union-attr]
    assert lookup.startswith("/api/v1/parties?kind=")
    assert {"distributor", "dealer", "retailer", "manufacturer"} <= set(
        lookup.split("=", 1)[1].replace("%2C", ",").split(",")
    )
    _no_party_options(page)
    assert 'src="/static/party_picker.js"' in page


def test_a_device_is_registered_for_a_dealer_typed_in_any_case(
    many: Engine, login_as: LoginAs, csrf_token: Callable[..., str]
) -> None:
    browser = login_as("admin")
    _, key = generate_device_key()
    token = csrf_token("/admin/devices", on=browser)
    added = browser.post(
        "/admin/devices",
        data={"csrf_token": token, "device_id": "HH-7", "party": " dlr-1 ", "public_key": key},
    )
    assert added.status_code == 302
    with Session(many) as session:
        party_id = session.scalars(select(Device.party_id).where(Device.device_id == "HH-7")).one()
        assert session.get(Party, party_id).code == "DLR-1"  # type: ignore[union-attr]


def test_an_unknown_or_empty_owner_is_named_next_to_the_field_in_chinese(
    many: Engine, login_as: LoginAs, csrf_token: Callable[..., str]
) -> None:
    browser = login_as("admin", username="zh-admin")
    _in_chinese(many, "zh-admin")
    _, key = generate_device_key()
    token = csrf_token("/admin/devices", on=browser)
    form = {"csrf_token": token, "device_id": "HH-8", "public_key": key}
    unknown = browser.post("/admin/devices", data={**form, "party": "NOPE-9"})
    assert unknown.status_code == 422
    page = unknown.get_data(as_text=True)
    said = _error(page, "party")
    assert "NOPE-9" in said and _HAN.search(said) and "no party" not in said
    assert 'value="NOPE-9"' in _input(page, "party")  # kept as typed, to correct it
    empty = browser.post("/admin/devices", data={**form, "party": ""}).get_data(as_text=True)
    said = _error(empty, "party")
    assert _HAN.search(said) and "choose" not in said
    with Session(many) as session:
        assert session.scalar(select(Device.id).where(Device.device_id == "HH-8")) is None


# --- the scan station -------------------------------------------------------------------


def _station(browser: FlaskClient) -> tuple[str, dict[str, str]]:
    page = browser.get("/scan/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return text, dict(_INPUT.findall(text))


def test_the_station_renders_pickers_and_no_party_is_chosen_for_you(
    many: Engine, login_as: LoginAs
) -> None:
    page, _ = _station(login_as("warehouse"))  # manufacturer staff: picks the acting party
    for name in ("counterparty", "party"):
        field = _input(page, name)
        assert 'type="text"' in field and 'data-party-picker="/scan/parties.json"' in field
        assert 'value="' not in field or 'value=""' in field
    _no_party_options(page)
    assert 'src="/static/party_picker.js"' in page
    assert 'id="bar-party"></strong>' in page  # acting for nobody until one is picked


def test_the_station_look_up_finds_dealers_and_retailers(many: Engine, login_as: LoginAs) -> None:
    browser = login_as("warehouse", "D-000")
    dealers = browser.get("/scan/parties.json?q=dl").get_json()["items"]
    assert dealers == [{"code": "DLR-1", "name": "Corner Bikes", "kind": "dealer"}]
    by_name = browser.get("/scan/parties.json?q=retail").get_json()["items"]
    assert [p["code"] for p in by_name] == ["RTL-1"]
    assert len(browser.get("/scan/parties.json?q=d").get_json()["items"]) == 20  # at most
    assert (
        login_as("auditor", on=browser.application.test_client())
        .get("/scan/parties.json?q=d")
        .status_code
        == 403
    )


def test_the_station_ships_to_a_dealer_picked_by_code(many: Engine, login_as: LoginAs) -> None:
    browser = login_as("warehouse")
    _, fields = _station(browser)
    answer = browser.post(
        "/scan/scan.json",
        data={
            **fields,
            "party": "mfr",
            "kind": "ship",
            "counterparty": " dlr-1",
            "code": hri("U1"),
        },
        headers={"X-CSRFToken": fields["csrf_token"]},
    )
    assert answer.status_code == 200
    assert answer.get_json()["scans"][0]["status"] == "accepted"
    with Session(many) as session:
        last = session.scalars(select(Entry).order_by(Entry.seq.desc()).limit(1)).one()
        to = session.get(Party, last.counterparty_id)
        by = session.get(Party, last.party_id)
    assert (last.kind, by and by.code, to and to.code) == ("shipping", "MFR", "DLR-1")
    page, _ = _station(browser)  # the sticky bar keeps the choice in sight, as stored
    bar = re.search(r'<div class="station-bar".*?</div>', page, re.S)
    assert bar is not None
    assert 'id="bar-counterparty">DLR-1<' in bar.group(0) and "Corner Bikes" in bar.group(0)
    assert 'id="bar-party">MFR<' in bar.group(0)
    assert 'value="DLR-1"' in _input(page, "counterparty")


def test_an_unknown_counterparty_is_named_next_to_the_field_in_chinese(
    many: Engine, login_as: LoginAs
) -> None:
    browser = login_as("warehouse", "D-000", username="zh-dock")
    _in_chinese(many, "zh-dock")
    _, fields = _station(browser)
    before = browser.post("/scan/settings", data={**fields, "kind": "ship", "counterparty": "NOPE"})
    assert before.status_code == 302  # without JavaScript: said on the page that follows
    page, _ = _station(browser)
    said = _error(page, "counterparty")
    assert "NOPE" in said and _HAN.search(said) and "no party" not in said
    assert 'aria-invalid="true"' in _input(page, "counterparty")
    answer = browser.post(
        "/scan/scan.json",
        data={**fields, "kind": "ship", "counterparty": "NOPE", "code": hri("U1")},
        headers={"X-CSRFToken": fields["csrf_token"]},
    )
    assert answer.status_code == 422
    assert answer.get_json()["scans"][0]["message"] == said
    kept = browser.post(
        "/scan/settings",
        data={**fields, "kind": "ship", "counterparty": "NOPE"},
        headers={"Accept": "application/json", "X-CSRFToken": fields["csrf_token"]},
    )
    assert kept.status_code == 422 and kept.get_json() == {"error": said, "field": "counterparty"}


def test_an_unknown_acting_party_is_named_and_an_empty_one_asked_for(
    many: Engine, login_as: LoginAs
) -> None:
    browser = login_as("warehouse")
    _, fields = _station(browser)

    def post(party: str) -> str:
        answer = browser.post(
            "/scan/scan.json",
            data={**fields, "party": party, "kind": "ship", "code": hri("U1")},
            headers={"X-CSRFToken": fields["csrf_token"]},
        )
        assert answer.status_code == 422
        return str(answer.get_json()["scans"][0]["message"])

    assert post("ZZZ") == "Acting party: no party has the code “ZZZ”."
    assert post("") == "Choose the party you act for."


# --- the territory map and the look-up's kinds ------------------------------------------


def test_the_territory_map_filter_is_a_picker(many: Engine, login_as: LoginAs) -> None:
    browser = login_as("admin")
    page = browser.get("/admin/territories?party=d-007").get_data(as_text=True)
    field = _input(page, "party")
    assert 'id="map-party"' in field and 'data-party-picker="/api/v1/parties"' in field
    assert 'value="D-007"' in field  # found in any case, shown as stored
    assert "data-party-select" not in page
    assert "D-000" not in page and "D-140" not in page
    unknown = browser.get("/admin/territories?party=NOPE").get_data(as_text=True)
    assert "Party: no distributor has the code “NOPE”." in html.unescape(unknown)
    assert 'aria-invalid="true"' in _input(unknown, "party")


def test_the_look_up_searches_several_kinds_as_documented(
    many: Engine, login_as: LoginAs, client: FlaskClient
) -> None:
    browser = login_as("channel_manager")
    both = browser.get("/api/v1/parties?kind=retailer,dealer").get_json()["items"]
    assert [(p["code"], p["kind"]) for p in both] == [("DLR-1", "dealer"), ("RTL-1", "retailer")]
    mixed = browser.get("/api/v1/parties?kind=dealer,distributor&q=d&limit=3").get_json()
    assert [p["code"] for p in mixed["items"]] == ["D-000", "D-001", "D-002"]
    plain = browser.get("/api/v1/parties?q=d").get_json()["items"]
    assert {p["kind"] for p in plain} == {"distributor"}  # the default
    bad = browser.get("/api/v1/parties?kind=dealer,bank")
    assert bad.status_code == 400 and "kind" in bad.get_data(as_text=True)
    doc = client.get("/api/v1/openapi.json").get_json()
    (kind,) = [
        p for p in doc["paths"]["/api/v1/parties"]["get"]["parameters"] if p["name"] == "kind"
    ]
    assert "comma-separated" in kind["description"]
    assert re.fullmatch(kind["schema"]["pattern"], "dealer,retailer")
    assert not re.fullmatch(kind["schema"]["pattern"], "dealer,bank")
