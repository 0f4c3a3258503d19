"""Every page and endpoint copes with any stored time (issue 9, item 3).

Intake keeps new scans inside a sane window, but rows imported, written by older
versions or edited by hand can hold any ``at_ms``. After ``hopchain demo`` one
distributor's units get entries at the first and the last millisecond Python's
calendar can hold (0001-01-01T00:00:00.000Z, 9999-12-31T23:59:59.999Z) and,
written straight into the table as a legacy row would be, at 2**62 ms and at
-2**62 ms. Then ``hopchain detect`` and a settlement run over the periods holding
them complete or refuse in words, and every GET page reachable from each role's
navigation, the unit, trace, territory and alert pages of those units, and every
GET operation of the API answer without a 5xx.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from ledger import EntryKind, Hop, append_hops
from ledger.times import MAX_MS, MIN_MS, format_day, format_ms, month_of_ms, to_datetime
from tests._worlds import SMALL_DEMO_2026_09, Ran
from web.roles import Role

Cli = Callable[..., Result]
Login = Callable[..., FlaskClient]
Bearer = Callable[..., dict[str, str]]

FIRST_MS, LAST_MS = MIN_MS, MAX_MS  # 0001-01-01T00:00:00.000Z, 9999-12-31T23:59:59.999Z
HUGE_MS, NEGATIVE_MS = 2**62, -(2**62)
ODD_PERIODS = ("0001-01", "9999-12", "0001-Q1", "9999-Q4")
SETTLED = (*ODD_PERIODS, "2026-09")
NOWHERE = (0, -30_000_000)  # lat, lon (e6) in the Atlantic: in no territory
PAGES_PER_ROLE = 150
SAME_SHAPE = 1  # pages visited per URL shape (ids replaced), beyond the seeds


@dataclass(frozen=True)
class OddWorld:
    distributor: str
    party_id: int
    units: tuple[str, ...]
    odd_seqs: tuple[int, ...]  # FIRST_MS, LAST_MS, HUGE_MS, NEGATIVE_MS, in that order
    detect: Result
    settled: dict[str, Result]


def _allocated_units(engine: Engine, count: int) -> tuple[str, int, list[str]]:
    """A distributor and ``count`` units the manufacturer shipped to it."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.code, p.id, u.key FROM entries e JOIN parties p ON p.id = e.counterparty_id"
                " JOIN parties m ON m.id = e.party_id JOIN units u ON u.id = e.unit_id"
                " WHERE e.kind = 'shipping' AND p.kind = 'distributor' AND m.kind = 'manufacturer'"
                " AND u.key LIKE '01/%' ORDER BY p.code, u.key"
            )
        ).all()
    by_party: dict[str, list[str]] = {}
    ids: dict[str, int] = {}
    for code, pid, key in rows:
        by_party.setdefault(str(code), []).append(str(key))
        ids[str(code)] = int(pid)
    code = next(c for c, keys in sorted(by_party.items()) if len(keys) >= count)
    return code, ids[code], list(dict.fromkeys(by_party[code]))[:count]


def _odd_entry(engine: Engine, unit: str, party: str, at_ms: int) -> int:
    """An inspection of ``unit`` by ``party`` nowhere, stored with ``at_ms``.

    Appended through the ledger when it takes the time; otherwise (a ledger that
    refuses such times) appended at a normal time and rewritten in the table, as
    a legacy row or a hand edit would be. Returns its seq.
    """
    lat, lon = NOWHERE
    hop = Hop(unit, EntryKind.INSPECTING, party, at_ms, lat_e6=lat, lon_e6=lon)
    (result,) = append_hops(engine, [hop])
    if result.status == "accepted":
        return result.seqs[0]
    (result,) = append_hops(
        engine, [Hop(unit, EntryKind.INSPECTING, party, 1_790_000_000_000, lat_e6=lat, lon_e6=lon)]
    )
    assert result.status == "accepted", result
    _rewrite_time(engine, result.seqs[0], at_ms)
    return result.seqs[0]


def _rewrite_time(engine: Engine, seq: int, at_ms: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE entries SET at_ms = :at WHERE seq = :seq"), {"at": at_ms, "seq": seq}
        )


@pytest.fixture
def odd_world(
    engine: Engine, run_cli: Cli, cli_world: Callable[..., list[Ran]], tmp_path: Path
) -> OddWorld:
    init, made = cli_world(*SMALL_DEMO_2026_09)
    assert init.exit_code == 0
    assert made.exit_code == 0, made.output
    code, party_id, units = _allocated_units(engine, 2)
    seqs = [
        _odd_entry(engine, units[0], code, FIRST_MS),
        _odd_entry(engine, units[0], code, LAST_MS),
    ]
    for at_ms in (HUGE_MS, NEGATIVE_MS):  # a legacy row: no ledger path writes these
        seq = _odd_entry(engine, units[1], code, 1_790_000_000_000)
        _rewrite_time(engine, seq, at_ms)
        seqs.append(seq)
    detect = run_cli("detect")
    # rates for 9999-12 (the demo's own), so that a run over it can complete
    with engine.connect() as conn:
        rates = conn.execute(
            text("SELECT currency, reporting_currency, rate FROM fx_rates WHERE period = '2026-09'")
        ).all()
    fx = tmp_path / "fx-9999.csv"
    fx.write_text(
        "period,currency,reporting_currency,rate,source\n"
        + "".join(f"9999-12,{c},{r},{rate},test\n" for c, r, rate in rates)
    )
    imported = run_cli("import", "fx", str(fx))
    assert imported.exit_code == 0, imported.output
    settled = {period: run_cli("settle", "--period", period) for period in SETTLED}
    return OddWorld(code, party_id, tuple(units), tuple(seqs), detect, settled)


def test_the_one_formatter_names_what_it_cannot_show() -> None:
    assert format_ms(FIRST_MS) == "0001-01-01 00:00 UTC"
    assert format_ms(LAST_MS, "%Y-%m-%dT%H:%M:%S") == "9999-12-31T23:59:59"
    assert format_day(LAST_MS) == "9999-12-31"
    assert format_ms(LAST_MS + 1) == f"out of range (at_ms={LAST_MS + 1})"
    assert format_ms(HUGE_MS) == f"out of range (at_ms={HUGE_MS})"
    assert format_day(FIRST_MS - 1) == f"out of range (at_ms={FIRST_MS - 1})"
    assert format_ms(None) == ""
    assert month_of_ms(LAST_MS) == "9999-12" and month_of_ms(NEGATIVE_MS) is None
    moment = to_datetime(LAST_MS)
    assert moment is not None and moment.microsecond == 999_000  # no float rounding up


def _check_commands(world: OddWorld) -> None:
    """``hopchain detect`` and runs over the periods holding the odd rows complete,
    or refuse in words; never a traceback."""
    detect = world.detect
    assert detect.exit_code == 0, detect.output
    assert f"note: 2 entries with a time no calendar holds (seq {world.odd_seqs[2]} " in (
        detect.output
    )
    for period, settled in world.settled.items():
        assert "Traceback" not in settled.output, settled.output
        if period.startswith("0001-"):  # growth needs the year before, which has none
            assert settled.exit_code == 1
            assert f"Error: period '{period}' has no year before it" in settled.output
        else:
            assert settled.exit_code == 0, f"{period}: {settled.output}"
            assert re.search(rf"run \d+: {period} final, draft", settled.output)


_HREF = re.compile(r'href="([^"#]+)')
_SKIP = ("/logout", "/static/", "/login")


def _shape(url: str) -> str:
    parts = urlsplit(url)
    return (
        re.sub(r"\d+", "#", parts.path)
        + "?"
        + ",".join(sorted(re.findall(r"([\w-]+)=", parts.query)))
    )


def _crawl(browser: FlaskClient, seeds: Iterable[str], role: str) -> tuple[list[str], int]:
    """GET the seeds and what their links reach; (the URLs that answered 5xx, pages seen)."""
    queue = list(dict.fromkeys(["/", *seeds]))
    seeded = set(queue)
    seen: set[str] = set()
    shapes: Counter[str] = Counter()
    broken: list[str] = []
    while queue and len(seen) < PAGES_PER_ROLE:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = browser.get(url)
        if response.status_code >= 500:
            broken.append(f"{role} GET {url}: {response.status_code}")
            continue
        if response.mimetype != "text/html":
            continue
        for href in _HREF.findall(response.get_data(as_text=True)):
            link = urljoin(url, href.replace("&amp;", "&"))
            if urlsplit(link).netloc or link.startswith(_SKIP) or link in seen:
                continue
            shape = _shape(link)
            if link in seeded or shapes[shape] < SAME_SHAPE:
                shapes[shape] += 1
                queue.append(link)
    return broken, len(seen)


def _page_seeds(world: OddWorld, alert_ids: list[int]) -> list[str]:
    seeds = []
    for key in world.units:
        seeds += [
            f"/trace/?q={key}",
            f"/{key}",
            f"/api/v1/units/{key}",
            f"/api/v1/units/{key}/history",
        ]
    seeds += [f"/alerts/{i}" for i in alert_ids]
    seeds += [f"/partner/alerts/{i}" for i in alert_ids]
    for month in ("0001-01", "9999-12", "2026-09"):
        query = urlencode({"party": world.distributor, "month": month})
        seeds += [f"/admin/territories?{query}", f"/api/v1/territories/map.png?{query}"]
    for period in ODD_PERIODS:
        seeds += [f"/alerts/?period={period}", f"/api/v1/alerts?period={period}"]
    for period, day in (("9999-12", "9999-12-31"), ("0001-01", "0001-01-01")):
        query = urlencode({"period": period, "day": day})
        seeds += [f"/finance/accruals?{query}", f"/partner/accruals?{query}"]
    seeds += [f"/ledger/?seq={s}" for s in world.odd_seqs]
    return seeds


def _alert_ids(engine: Engine, world: OddWorld) -> list[int]:
    with engine.connect() as conn:
        return [
            int(i)
            for (i,) in conn.execute(
                text("SELECT id FROM alerts WHERE party_id = :p ORDER BY id"), {"p": world.party_id}
            )
        ]


def _check_pages(app: Flask, world: OddWorld, alerts: list[int], login_as: Login) -> None:
    seeds = _page_seeds(world, alerts)
    broken: list[str] = []
    for role in Role:
        browser = app.test_client()
        party = world.distributor if role is Role.DISTRIBUTOR else None
        login_as(role.value, party=party, on=browser)
        found, seen = _crawl(browser, seeds, role.value)
        assert seen > len(seeds) // 2, f"{role}: the crawl reached only {seen} pages"
        broken += found
    assert not broken, "\n".join(broken)


def _check_what_pages_show(app: Flask, world: OddWorld, login_as: Login) -> None:
    """Times a calendar holds are shown as such; others name the stored value."""
    browser = login_as("auditor", on=app.test_client())
    first = browser.get(f"/trace/?q={world.units[0]}").get_data(as_text=True)
    assert "0001-01-01 00:00:00 UTC" in first and "9999-12-31 23:59:59 UTC" in first
    odd = browser.get(f"/trace/?q={world.units[1]}").get_data(as_text=True)
    for at_ms in (HUGE_MS, NEGATIVE_MS):
        assert f"out of range (at_ms={at_ms})" in odd
    ledger_page = browser.get("/ledger/").get_data(as_text=True)
    assert f"out of range (at_ms={HUGE_MS})" in ledger_page
    history = browser.get(f"/api/v1/units/{world.units[1]}/history").get_json()
    odd_entries = [e for e in history["entries"] if e["at"] is None]
    assert sorted(e["at_ms"] for e in odd_entries) == [NEGATIVE_MS, HUGE_MS]
    seq = world.odd_seqs[2]
    refused = browser.get(f"/api/v1/ledger/entries?start={seq}&end={seq + 1}")
    assert refused.status_code == 409
    assert f"entry seq {seq} holds at_ms={HUGE_MS}" in refused.get_json()["error"]
    manager = login_as("channel_manager", on=app.test_client())
    query = urlencode({"party": world.distributor, "month": "9999-12"})
    territory = manager.get(f"/admin/territories?{query}").get_data(as_text=True)
    assert "9999-12-31 23:59" in territory
    # one row dated 9999 does not make the map open on 9999-12 for everyone
    default = manager.get(f"/admin/territories?party={world.distributor}").get_data(as_text=True)
    chosen = re.search(r'id="map-month" name="month" value="([^"]*)"', default)
    assert chosen and chosen.group(1).startswith("2026-"), chosen


def _api_urls(
    spec: dict[str, object], fills: dict[str, list[str]], query: dict[str, str]
) -> list[tuple[str, tuple[str, ...]]]:
    """Every GET operation with its path filled from ``fills`` (each value) and the
    query parameters it takes from ``query``, with the roles it admits (``x-roles``;
    a public one is asked as an auditor)."""
    urls = []
    paths = spec["paths"]
    assert isinstance(paths, dict)
    for path, ops in paths.items():
        get = ops.get("get")
        if get is None:
            continue
        names = re.findall(r"\{(\w+)\}", path)
        if any(n not in fills for n in names):
            continue
        params = [p for p in get.get("parameters", []) if p.get("in") == "query"]
        if any(p.get("required") and p["name"] not in query for p in params):
            continue
        variants = [path]
        for n in names:
            variants = [v.replace("{" + n + "}", value) for v in variants for value in fills[n]]
        q = urlencode({p["name"]: query[p["name"]] for p in params if p["name"] in query})
        roles = tuple(get.get("x-roles", [Role.AUDITOR.value]))
        urls += [(v + (f"?{q}" if q else ""), roles) for v in variants]
    return urls


def _check_api(app: Flask, engine: Engine, odd_world: OddWorld, bearer: Bearer) -> None:
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    alerts = [str(i) for i in _alert_ids(engine, odd_world)]
    with engine.connect() as conn:
        runs = [str(i) for (i,) in conn.execute(text("SELECT id FROM settlement_runs ORDER BY id"))]
        statements = [
            str(i) for (i,) in conn.execute(text("SELECT id FROM statements ORDER BY id"))
        ]
        size = int(conn.execute(text("SELECT tree_size FROM ledger_head")).scalar_one())
    fills = {
        "key": list(odd_world.units),
        "alert_id": alerts,
        "run_id": runs,
        "statement_id": statements,
        "party_id": [str(odd_world.party_id)],
        "party_code": [odd_world.distributor],
    }
    first, last = min(odd_world.odd_seqs), max(odd_world.odd_seqs)
    query = {
        "start": str(first),
        "end": str(last + 1),
        "seq": str(first),
        "tree_size": str(size),
        "first": "1",
        "second": str(size),
        "party": odd_world.distributor,
        "month": "9999-12",
        "period": "9999-12",
        "day": "9999-12-31",  # the end of this day is past the last one a date holds
    }
    urls = _api_urls(spec, fills, query)
    urls += [
        (f"/api/v1/ledger/proof/inclusion?seq={s}&tree_size={size}", ("auditor",))
        for s in odd_world.odd_seqs
    ]
    assert len(urls) >= 20, urls
    headers = {
        role: bearer(role.value, party=odd_world.distributor if role is Role.DISTRIBUTOR else None)
        for role in Role
    }
    broken = []
    answered: Counter[int] = Counter()
    for url, roles in urls:
        for role in map(Role, roles):
            response = client.get(url, headers=headers[role])
            answered[response.status_code] += 1
            if response.status_code >= 500:
                broken.append(
                    f"{role} GET {url}: {response.status_code} {response.get_data(as_text=True)[:200]}"
                )
    assert not broken, "\n".join(broken)
    assert answered[200] >= len(urls) // 2, f"too few operations answered at all: {answered}"


@pytest.mark.slow  # every command, page and endpoint over a demo: end to end
def test_odd_stored_times_break_no_command_page_or_endpoint(
    app: Flask, engine: Engine, odd_world: OddWorld, login_as: Login, bearer: Bearer
) -> None:
    _check_commands(odd_world)
    alerts = _alert_ids(engine, odd_world)
    assert alerts, "detection raised no alert for the units seen nowhere"
    _check_what_pages_show(app, odd_world, login_as)
    _check_pages(app, odd_world, alerts, login_as)
    _check_api(app, engine, odd_world, bearer)
