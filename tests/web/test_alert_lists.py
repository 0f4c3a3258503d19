"""Alert lists and party pickers (issue 11, lists and forms): server-side paging,
filters, search, sorting and words for bad values on the channel manager's and
the distributor's pages and in the API (cursor walk = page walk); severity from
the rule, with its reason on the alert; the party picker's endpoint; the grant
form without a silent default; no internal notes for distributors; each role's
navigation lists exactly the pages it may open."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import settlement
from ledger.models import Party, Unit
from settlement.detection import _grade_all
from settlement.models import Alert, AlertFinding, PriceList
from web.nav import NAV
from web.roles import Role

GTIN = "09506000134352"
PRICE = 2_000  # EUR 20.00 per unit
TYPES = ("out_of_zone", "cross_region", "custody_break", "clone")
ROW = re.compile(r'href="/(?:alerts|partner/alerts)/(\d+)"')
N_ALERTS = 60


def _units(i: int) -> int:
    return i % 5 + 1


def _world(engine: Engine) -> dict[int, dict[str, object]]:
    """60 alerts: even i about DA, odd about DB; period 2026-07/08/09 by i % 3; type by
    i % 4; alert i has i % 5 + 1 units (serials A{i:03d}U{j}); stored severity by i % 4.
    Plus 25 more distributors, so pickers have more than 20 parties to search."""
    facts: dict[int, dict[str, object]] = {}
    with Session(engine) as s, s.begin():
        da = Party(code="DA", name="Alpha Trading", kind="distributor", currency="EUR")
        db = Party(code="DB", name="Beta Supply", kind="distributor", currency="EUR")
        s.add_all([da, db])
        s.add_all(Party(code=f"X{n:02d}", name=f"Extra {n}", kind="distributor") for n in range(25))
        s.add(PriceList(gtin=GTIN, currency="EUR", valid_from="2026-01-01", list_price_minor=PRICE))
        s.flush()
        seq = 0
        for i in range(N_ALERTS):
            party = da if i % 2 == 0 else db
            period = f"2026-{i % 3 + 7:02d}"
            a = Alert(
                natural_key=f"{party.code}|T|{period}|{TYPES[i % 4]}|{i}",
                party_id=party.id,
                territory_code="T",
                period=period,
                finding_type=TYPES[i % 4],
                status="open",
                severity=settlement.SEVERITIES[i % 4],
                unit_count=_units(i),
                finding_count=_units(i),
                # the grade's facts as detection stores them (settlement.detection)
                value_minor=_units(i) * PRICE,
                value_currency="EUR",
                value_fx_rate="1",
                value_reference_minor=_units(i) * PRICE,
                appealed=False,
                created_ms=1,
                updated_ms=1,
                detected_tree_size=1,
            )
            s.add(a)
            s.flush()
            for j in range(_units(i)):
                u = Unit(key=f"01/{GTIN}/21/A{i:03d}U{j}", gtin=GTIN, serial=f"A{i:03d}U{j}",
                         state="sold")  # fmt: skip
                s.add(u)
                s.flush()
                s.add(AlertFinding(alert_id=a.id, seq=seq, unit_id=u.id, at_ms=1))
                seq += 1
            facts[a.id] = {"i": i, "party": party.code, "period": period, "type": TYPES[i % 4]}
    return facts


@pytest.fixture
def world(engine: Engine) -> dict[int, dict[str, object]]:
    return _world(engine)


def _ids(page: str) -> list[int]:
    out: list[int] = []
    for m in ROW.findall(page):
        if int(m) not in out:
            out.append(int(m))
    return out


def _walk(client: FlaskClient, url: str) -> tuple[list[int], list[str]]:
    """Follow rel="next" from ``url``; the ids of every page in order, and the pages."""
    ids: list[int] = []
    pages: list[str] = []
    while url:
        page = client.get(url)
        assert page.status_code == 200, url
        text = page.get_data(as_text=True)
        pages.append(text)
        ids.extend(_ids(text))
        nxt = re.search(r'rel="next" href="([^"]+)"', text)
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    return ids, pages


def test_manager_list_pages_on_the_server(
    world: dict[int, dict[str, object]], login_as: Callable[..., FlaskClient]
) -> None:
    manager = login_as("channel_manager")
    first = manager.get("/alerts/").get_data(as_text=True)
    assert len(_ids(first)) == 50  # the page size
    assert "1–50 of 60 (page 1 of 2)" in first
    ids, pages = _walk(manager, "/alerts/")
    assert len(pages) == 2 and len(_ids(pages[1])) == 10  # the last page
    assert sorted(ids) == sorted(world) and len(set(ids)) == N_ALERTS
    assert 'rel="prev"' in pages[1] and 'rel="next"' not in pages[1]
    # newest period first, then newest alert
    periods = [world[i]["period"] for i in ids]
    assert periods == sorted(periods, reverse=True)
    # a page past the end shows the last page
    assert _ids(manager.get("/alerts/?page=99").get_data(as_text=True)) == _ids(pages[1])


def test_filters_combine_and_search_by_unit_key(
    world: dict[int, dict[str, object]], login_as: Callable[..., FlaskClient]
) -> None:
    manager = login_as("channel_manager")
    page = manager.get("/alerts/?party=DA&period=2026-07&type=out_of_zone").get_data(as_text=True)
    want = {
        a
        for a, f in world.items()
        if f["party"] == "DA" and f["period"] == "2026-07" and f["type"] == "out_of_zone"
    }
    assert want and set(_ids(page)) == want  # i = 0, 12, 24, 36, 48
    # the party by code, case-insensitive, or by id (older links)
    assert set(_ids(manager.get("/alerts/?party=da&period=2026-07&type=out_of_zone").text)) == want
    severity = manager.get("/alerts/?severity=critical&status=open").get_data(as_text=True)
    assert set(_ids(severity)) == {a for a, f in world.items() if int(str(f["i"])) % 4 == 3}
    # search: part of a unit key names the alert its findings cite
    target = next(a for a, f in world.items() if f["i"] == 7)
    assert _ids(manager.get("/alerts/?q=A007U").get_data(as_text=True)) == [target]
    assert _ids(manager.get("/alerts/?q=21%2FA007U2").get_data(as_text=True)) == [target]
    none = manager.get("/alerts/?q=NOSUCH").get_data(as_text=True)
    assert _ids(none) == [] and "No alerts match" in none


def test_sorting(world: dict[int, dict[str, object]], login_as: Callable[..., FlaskClient]) -> None:
    manager = login_as("channel_manager")
    by_units, _ = _walk(manager, "/alerts/?sort=units")
    units = [_units(int(str(world[a]["i"]))) for a in by_units]
    assert units == sorted(units, reverse=True) and units[0] == 5
    by_sev, _ = _walk(manager, "/alerts/?sort=severity")
    ranks = [int(str(world[a]["i"])) % 4 for a in by_sev]  # stored severity rank = i % 4
    assert ranks == sorted(ranks, reverse=True)
    by_value, _ = _walk(manager, "/alerts/?sort=value")
    # value = units x EUR 20.00, all priced: same order of magnitude as units
    assert [_units(int(str(world[a]["i"]))) for a in by_value] == sorted(units, reverse=True)
    assert sorted(by_value) == sorted(world)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("status=nope", "Status: 'nope' is not one of open, investigating"),
        ("severity=huge", "Severity: 'huge' is not one of low, medium, high, critical"),
        ("type=theft", "Type: 'theft' is not one of out_of_zone"),
        ("sort=random", "Sort: 'random' is not one of newest, severity, units, value"),
        ("period=2026-13", "Period: '2026-13' is neither YYYY-MM nor YYYY-Qn"),
        ("party=NOPE", "Party: no distributor has the code 'NOPE'."),
        ("q=" + "x" * 65, "Unit key: at most 64 characters, this search has 65."),
    ],
)
def test_bad_filter_values_are_answered_in_words(
    world: dict[int, dict[str, object]],
    login_as: Callable[..., FlaskClient],
    query: str,
    words: str,
) -> None:
    manager = login_as("channel_manager")
    answer = manager.get(f"/alerts/?{query}")
    assert answer.status_code == 400
    assert words in answer.get_data(as_text=True).replace("&#39;", "'")
    assert len(_ids(answer.get_data(as_text=True))) == 50  # the bad filter is dropped


def test_distributor_list_is_its_own_with_the_same_paging(
    world: dict[int, dict[str, object]], login_as: Callable[..., FlaskClient]
) -> None:
    dist = login_as("distributor", party="DA")
    ids, pages = _walk(dist, "/partner/alerts?party=DB")  # party is not a filter here
    assert sorted(ids) == sorted(a for a, f in world.items() if f["party"] == "DA")
    assert "30 alerts" in pages[0]
    only = dist.get("/partner/alerts?severity=low&period=2026-07").get_data(as_text=True)
    assert set(_ids(only)) == {
        a
        for a, f in world.items()
        if f["party"] == "DA" and f["period"] == "2026-07" and int(str(f["i"])) % 4 == 0
    }
    bad = dist.get("/partner/alerts?status=lost")
    assert bad.status_code == 400 and "Status: " in bad.get_data(as_text=True)


def test_api_cursor_walk_equals_the_page_walk(
    world: dict[int, dict[str, object]],
    login_as: Callable[..., FlaskClient],
    bearer: Callable[..., dict[str, str]],
    client: FlaskClient,
) -> None:
    token = bearer("channel_manager")
    browser = login_as("channel_manager", on=client.application.test_client())
    for sort in ("newest", "severity", "units", "value"):
        url: str | None = f"/api/v1/alerts?limit=7&sort={sort}"
        api_ids: list[int] = []
        while url:
            r = client.get(url, headers=token)
            assert r.status_code == 200, r.get_data(as_text=True)
            assert r.headers["X-Total-Count"] == str(N_ALERTS)
            api_ids.extend(a["id"] for a in r.get_json())
            nxt = re.search(r'<([^>]+)>; rel="next"', r.headers.get("Link", ""))
            url = nxt.group(1) if nxt else None
        page_ids, _ = _walk(browser, f"/alerts/?sort={sort}")
        assert api_ids == page_ids, sort
    one = client.get("/api/v1/alerts?q=A007U&party_id=999999", headers=token)
    assert one.get_json() == [] and one.headers["X-Total-Count"] == "0"
    found = client.get("/api/v1/alerts?q=A007U", headers=token).get_json()
    assert [a["id"] for a in found] == [a for a, f in world.items() if f["i"] == 7]
    assert found[0]["value_minor"] == 3 * PRICE and found[0]["value_currency"] == "EUR"
    assert found[0]["severity_reason"].startswith("high: ")  # i = 7: a clone
    bad = client.get("/api/v1/alerts?severity=huge", headers=token)
    assert bad.status_code == 400 and "severity" in bad.get_data(as_text=True)
    doc = client.get("/api/v1/openapi.json").get_json()
    params = {p["name"] for p in doc["paths"]["/api/v1/alerts"]["get"]["parameters"]}
    assert {
        "q",
        "party_id",
        "type",
        "severity",
        "status",
        "period",
        "sort",
        "limit",
        "cursor",
    } <= params
    assert "/api/v1/parties" in doc["paths"]


def test_detection_grades_every_alert_and_the_page_shows_why(
    world: dict[int, dict[str, object]],
    engine: Engine,
    login_as: Callable[..., FlaskClient],
) -> None:
    with Session(engine) as s, s.begin():
        _grade_all(s)
    with Session(engine) as s:
        stored = dict(s.execute(select(Alert.id, Alert.severity)).all())
    for aid, f in world.items():
        i = int(str(f["i"]))
        # units <= 5 x EUR 20 = EUR 100 < EUR 1,000; no confirmed alert; so only the
        # clone (i % 4 == 3 -> high) and 5 units (i % 5 == 4 -> medium) raise it
        want = "high" if i % 4 == 3 else "medium" if i % 5 == 4 else "low"
        assert stored[aid] == want, (i, stored[aid])
    target = next(a for a, f in world.items() if f["i"] == 4)  # 5 units, out of zone
    page = login_as("channel_manager").get(f"/alerts/{target}").get_data(as_text=True)
    assert "5 units involved (from 5: medium)" in page
    assert "EUR" in page and "100.00" in page  # value at stake: 5 x EUR 20.00


def test_party_picker_endpoint(
    world: dict[int, dict[str, object]],
    bearer: Callable[..., dict[str, str]],
    client: FlaskClient,
) -> None:
    manager = bearer("channel_manager")
    codes = [
        p["code"] for p in client.get("/api/v1/parties?q=d", headers=manager).get_json()["items"]
    ]
    assert codes == ["DA", "DB"]
    by_name = client.get("/api/v1/parties?q=beta", headers=manager).get_json()["items"]
    assert [p["code"] for p in by_name] == ["DB"]
    assert len(client.get("/api/v1/parties?q=x&limit=5", headers=manager).get_json()["items"]) == 5
    assert client.get("/api/v1/parties?q=%25", headers=manager).get_json()["items"] == []
    # a distributor finds only itself, whatever it types
    dist = bearer("distributor", party="DA")
    assert [
        p["code"] for p in client.get("/api/v1/parties?q=", headers=dist).get_json()["items"]
    ] == ["DA"]
    assert client.get("/api/v1/parties?q=DB", headers=dist).get_json()["items"] == []
    assert client.get("/api/v1/parties?q=D", headers=bearer("warehouse")).status_code == 403
    assert client.get("/api/v1/parties?q=D").status_code == 401


def test_territory_page_party_picker_has_no_silent_default(
    world: dict[int, dict[str, object]],
    login_as: Callable[..., FlaskClient],
) -> None:
    """The territory page's one party field (the map's picker; grants come from
    signed agreements, so there is no grant form to pre-fill) starts empty in this
    world without grants, suggests parties as you type, and an unknown code is
    named above the map."""
    manager = login_as("channel_manager")
    page = manager.get("/admin/territories").get_data(as_text=True)
    fields = re.findall(r'<input[^>]*name="party"[^>]*>', page)
    assert len(fields) == 1
    assert 'value=""' in fields[0] or 'value="' not in fields[0]
    assert "data-party-picker" in fields[0] and "party_picker.js" in page
    unknown = manager.get("/admin/territories?party=ZZ9").get_data(as_text=True)
    assert "Party: no distributor has the code “ZZ9”." in unknown


def test_distributor_never_sees_internal_notes(
    world: dict[int, dict[str, object]],
    engine: Engine,
    login_as: Callable[..., FlaskClient],
    bearer: Callable[..., dict[str, str]],
    client: FlaskClient,
) -> None:
    aid = next(a for a, f in world.items() if f["party"] == "DA")
    boss = settlement.Actor("carla", "channel_manager")
    settlement.add_note(engine, aid, "INTERNAL: call their bank first", boss)
    settlement.start_investigation(engine, aid, boss, "INTERNAL: suspect the DB dealer")
    settlement.assign_alert(engine, aid, "carla", boss, assignee_role="channel_manager")
    with Session(engine) as s:
        da = s.scalar(select(Party.id).where(Party.code == "DA"))
    settlement.add_note(
        engine, aid, "OURS: the invoice is attached", settlement.Actor("d", "distributor", da)
    )

    manager_page = login_as("channel_manager").get(f"/alerts/{aid}").get_data(as_text=True)
    assert "INTERNAL: call their bank first" in manager_page  # the team sees its notes
    dist_browser = login_as("distributor", party="DA", on=client.application.test_client())
    dist_page = dist_browser.get(f"/partner/alerts/{aid}")
    api = client.get(f"/api/v1/alerts/{aid}", headers=bearer("distributor", party="DA"))
    for shown in (dist_page.get_data(as_text=True), api.get_data(as_text=True)):
        assert "INTERNAL" not in shown
        assert "OURS: the invoice is attached" in shown  # its own note stays
    statuses = [e["to_status"] for e in api.get_json()["history"] if e["to_status"]]
    assert statuses == ["investigating"]  # where the alert stands is not hidden


#: Linked from every page's layout rather than from the bar: the brand links home.
LAYOUT_LINKS = {"pages.home"}


def test_each_roles_navigation_lists_exactly_its_pages(
    app: Flask, login_as: Callable[..., FlaskClient], run_cli: Callable[..., object]
) -> None:
    """Every nav link opens, every page the role may open (a GET view guarded by
    require_roles naming the role, needing no parameters, not a ``.json`` look-up) is in its nav or linked
    from the nav item's page (its ``pages``), and nothing else is in it."""
    run_cli("init")  # the ledger's signing key, which the ledger page reads
    problems: list[str] = []
    for role in Role:
        may_open = set()
        for rule in app.url_map.iter_rules():
            roles = getattr(app.view_functions[rule.endpoint], "hopchain_roles", None)
            if (
                "GET" in (rule.methods or ())
                and not rule.arguments
                and roles
                and role in roles
                and not rule.endpoint.startswith(("api.", "static"))
                and not rule.rule.endswith(".json")  # a picker's look-up, not a page
            ):
                may_open.add(rule.endpoint)
        items = [item for item in NAV if role in item.roles]
        listed = {i.endpoint for i in items} | {p for i in items for p in i.pages}
        for missing in sorted(may_open - listed - LAYOUT_LINKS):
            problems.append(f"{role}: {missing} opens but is not in the navigation")
        browser = login_as(role.value, party="NAVP" if role is Role.DISTRIBUTOR else None,
                           on=app.test_client())  # fmt: skip
        with app.test_request_context():
            urls = {e: url_for(e) for e in listed if e in app.view_functions}
        for item in items:
            if item.endpoint not in urls:
                problems.append(f"{role}: nav names {item.endpoint}, which no page answers")
                continue
            page = browser.get(urls[item.endpoint])
            # 422: the page opened and says why it has nothing to show on an empty instance
            if page.status_code not in (200, 422) or "<nav" not in page.get_data(as_text=True):
                problems.append(f"{role}: nav link {item.endpoint} answers {page.status_code}")
                continue
            for sub in item.pages:
                if sub not in may_open:
                    continue  # a card the hub shows only to roles that may open it
                if f'href="{urls[sub]}"' not in page.get_data(as_text=True):
                    problems.append(f"{role}: {item.endpoint} does not link {sub}")
        for extra in sorted({i.endpoint for i in items} - may_open - LAYOUT_LINKS):
            roles = getattr(app.view_functions.get(extra), "hopchain_roles", ())
            if roles:  # guarded for other roles only: listed but refused
                problems.append(f"{role}: nav lists {extra}, which the role may not open")
    assert not problems, "\n".join(problems)
