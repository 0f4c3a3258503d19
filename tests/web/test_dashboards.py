"""Home dashboards per role: the numbers a user reads, the map's data, the
vendored chart libraries, nothing external, a distributor's own figures only,
and the pages in Chinese.

The world: region NORTH (lon 0..40, lat 40..60) holds AA (D1's territory) and
BB (D2's), each granted by a signed agreement from 2026-01-01. In March 2026 three units allocated to D1 are seen in BB (three
out-of-zone sightings in one alert, weeks 10 and 11), one is moved into BB
(a cross-region transfer, week 11); D2's own unit is received in BB. Runs,
statements, a receivable, a dispute, devices and today's scans are written as
rows, as the services that make them would leave them.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

import geo
from ledger import EntryKind, Hop, append_hops, unit_key
from ledger.models import Entry, Site
from scanners.devices import Device
from settlement.common import now_ms
from settlement.models import (
    Alert,
    AlertFinding,
    ReceivableMovement,
    SettlementRun,
    Statement,
    StatementDispute,
    StatementLine,
)
from tests.agreement_support import signed_agreement
from web.models import User

K = EntryKind
GTIN = "09506000134352"
STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
ECHARTS = "vendor/echarts-5.5.1/echarts.min.js"
LEAFLET = "vendor/leaflet-1.9.4/leaflet.js"


def ms(month: int, day: int, hour: int = 12) -> int:
    return calendar.timegm((2026, month, day, hour, 0, 0)) * 1000


def square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _feature(code: str, name: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **props},
        "geometry": geometry,
    }


def _hop(
    n: int, kind: EntryKind, party: str, at: int, where: tuple[float, float], **kw: Any
) -> Hop:
    return Hop(
        unit_key(GTIN, f"U{n}"), kind, party, at,
        lon_e6=round(where[0] * 1e6), lat_e6=round(where[1] * 1e6), **kw,
    )  # fmt: skip


IN_AA = (11.0, 51.0)
IN_BB = (21.0, 51.0)
PLANT = (5.0, 45.0)


@pytest.fixture
def world(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    ids = {c: make_party(c, k) for c, k in [("MFR", "manufacturer"), ("D1", "distributor"),
                                             ("D2", "distributor"), ("S2", "dealer")]}  # fmt: skip
    with Session(engine) as s, s.begin():
        geo.import_feature_collection(
            s,
            {
                "type": "FeatureCollection",
                "features": [
                    _feature("NORTH", "The North", square(0, 40, 40, 60), level="region"),
                    _feature(
                        "AA", "Aland", square(10, 50, 12, 52), parent="NORTH", level="country"
                    ),
                    _feature(
                        "BB", "Bland", square(20, 50, 22, 52), parent="NORTH", level="country"
                    ),
                ],
            },
        )
        s.add_all(
            [
                Site(code="WH-1", name="Main warehouse", party_id=ids["MFR"]),
                Site(code="WH-2", name="Second warehouse", party_id=ids["MFR"]),
            ]
        )
    signed_agreement(engine, "D1", ["AA"], valid_from="2026-01-01")  # the grants
    signed_agreement(engine, "D2", ["BB"], valid_from="2026-01-01")
    feb = ms(2, 20)
    hops = [_hop(n, K.COMMISSIONING, "MFR", feb + n, PLANT) for n in range(1, 6)]
    hops += [
        _hop(n, K.SHIPPING, "MFR", feb + 10 + n, PLANT, counterparty="D1") for n in range(1, 5)
    ]
    hops.append(_hop(5, K.SHIPPING, "MFR", feb + 15, PLANT, counterparty="D2"))
    hops += [_hop(n, K.RECEIVING, "D1", ms(3, 2) + n, IN_AA) for n in range(1, 5)]
    hops.append(_hop(5, K.RECEIVING, "D2", ms(3, 2) + 5, IN_BB))
    # out of zone: units 1 and 2 in week 10 (Mar 2-8), unit 3 in week 11
    hops += [
        _hop(1, K.RETAIL_SELLING, "S2", ms(3, 5), IN_BB),
        _hop(2, K.RETAIL_SELLING, "S2", ms(3, 6), IN_BB),
        _hop(3, K.RETAIL_SELLING, "S2", ms(3, 10), IN_BB),
        _hop(4, K.INSPECTING, "S2", ms(3, 11), IN_BB),
    ]
    results = append_hops(engine, hops)
    assert all(r.status == "accepted" for r in results), results
    with Session(engine) as s, s.begin():
        seqs = {
            (key, kind): seq
            for seq, key, kind in s.execute(
                select(Entry.seq, Entry.unit_id, Entry.kind).where(Entry.at_ms >= ms(3, 5))
            )
        }
        sold = sorted(seq for (_, kind), seq in seqs.items() if kind == "retail_selling")
        moved = next(seq for (_, kind), seq in seqs.items() if kind == "inspecting")
        stamp = now_ms()

        def alert(ftype: str, status: str, findings: list[int], updated: int) -> Alert:
            a = Alert(
                natural_key=f"D1|BB|2026-03|{ftype}", party_id=ids["D1"], territory_code="BB",
                period="2026-03", finding_type=ftype, status=status, severity="medium",
                unit_count=len(findings), finding_count=len(findings), appealed=False,
                created_ms=stamp, updated_ms=updated, detected_tree_size=len(hops),
            )  # fmt: skip
            s.add(a)
            s.flush()
            for seq in findings:
                e = s.get(Entry, seq)
                assert e is not None
                s.add(AlertFinding(alert_id=a.id, seq=seq, unit_id=e.unit_id, at_ms=e.at_ms))
            return a

        alert("out_of_zone", "open", sold, stamp - 5000)
        alert("cross_region", "investigating", [moved], stamp - 9000)
    return ids


def _alert_ids(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {t: i for i, t in s.execute(select(Alert.id, Alert.finding_type))}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _table(html: str, table_id: str) -> list[list[str]]:
    """The rows of table ``table_id``, each a list of its cells' text."""
    m = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert m, f"no table {table_id}"
    body = m.group(0).split("<tbody>", 1)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [_text(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows
    ]


def _spec(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    assert m, "no dashboard data block"
    out: dict[str, Any] = json.loads(m.group(1))
    return out


def _assert_local_only(html: str) -> None:
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src")):
        for url in re.findall(rf"<{tag}\b[^>]*\b{attr}=\"([^\"]+)\"", html):
            assert not url.startswith(("http://", "https://", "//")), url
    # no inline script other than the data block
    for attrs, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        assert 'type="application/json"' in attrs or not body.strip(), attrs


# ------------------------------------------------------------------ channel manager


def test_channel_manager_reads_the_months_diversion(
    world: dict[str, int], engine: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    page = login_as("channel_manager").get("/?period=2026-03")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sightings = _table(html, "sightings-table")
    assert len(sightings) == 3
    assert {r[1] for r in sightings} == {unit_key(GTIN, f"U{n}") for n in (1, 2, 3)}
    assert all(r[2:5] == ["S2", "BB", "D1"] for r in sightings)
    transfers = _table(html, "transfers-table")
    assert len(transfers) == 1 and transfers[0][1] == unit_key(GTIN, "U4")
    # the out-of-zone alert's first evidence is in week 10; the transfer's in week 11
    assert _table(html, "weeks-table") == [["2026-W10", "1", "0"], ["2026-W11", "0", "1"]]
    # NORTH: units 1-5 seen; 1, 2, 3 (out of zone) and 4 (transfer) diverted
    assert _table(html, "regions-table") == [["The North (NORTH)", "5", "4", "80.0%"]]
    assert _table(html, "parties-table") == [["D1 · D1 Ltd", "2", "4", "2"]]
    waiting = _table(html, "waiting-table")
    ids = _alert_ids(engine)
    # the cross-region alert has waited longer (older last change)
    assert [r[0] for r in waiting] == [f"#{ids['cross_region']}", f"#{ids['out_of_zone']}"]
    assert 'href="/alerts/' in html  # nav cards and links still there
    assert 'class="cards"' in html


def test_channel_map_data_has_territories_points_and_lines(
    world: dict[str, int], login_as: Callable[..., FlaskClient]
) -> None:
    html = login_as("channel_manager").get("/?period=2026-03").get_data(as_text=True)
    spec = _spec(html)
    m = spec["map"]
    codes = {f["properties"]["code"] for f in m["territories"]["features"]}
    assert codes == {"AA", "BB"}  # granted, and where the alerts were seen
    assert all(
        f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in m["territories"]["features"]
    )
    assert len(m["sightings"]) == 3
    assert all((p["lat"], p["lon"]) == (51.0, 21.0) for p in m["sightings"])
    assert m["transfers"] == [
        {"from": [51.0, 11.0], "to": [51.0, 21.0], "label": m["transfers"][0]["label"]}
    ]
    assert set(m["legend"]) == {"territory", "sighting", "transfer"}
    weeks = next(c for c in spec["charts"] if c["id"] == "chart-weeks")
    assert weeks["categories"] == ["2026-W10", "2026-W11"]
    assert [s["data"] for s in weeks["series"]] == [[1, 0], [0, 1]]
    for chart in spec["charts"]:
        assert f'id="{chart["id"]}"' in html  # each chart has its box on the page
    _assert_local_only(html)
    assert ECHARTS in html and LEAFLET in html


def test_channel_period_picker_sets_a_bad_value_aside_in_words(
    world: dict[str, int], login_as: Callable[..., FlaskClient]
) -> None:
    browser = login_as("channel_manager")
    page = browser.get("/?period=2026-13")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "The period 2026-13 is not a month written YYYY-MM" in _text(html)
    assert len(_table(html, "sightings-table")) == 1  # this month: the empty row
    assert "No out-of-zone sightings this month." in html
    assert browser.get("/?period=<script>").status_code == 200


def test_a_retracted_sighting_leaves_the_map(
    world: dict[str, int], engine: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    with Session(engine) as s:
        seq = s.scalar(
            select(Entry.seq).where(Entry.kind == "retail_selling").order_by(Entry.seq).limit(1)
        )
    assert seq is not None
    r = append_hops(
        engine,
        [
            Hop(
                unit_key(GTIN, "U1"),
                K.ERROR_DECLARATION,
                "S2",
                ms(3, 20),
                retracts=seq,
                note="typo",
            )
        ],
    )
    assert r[0].status == "accepted", r
    html = login_as("channel_manager").get("/?period=2026-03").get_data(as_text=True)
    assert len(_table(html, "sightings-table")) == 2
    assert len(_spec(html)["map"]["sightings"]) == 2


# ------------------------------------------------------------------ finance


@pytest.fixture
def money_world(world: dict[str, int], engine: Engine) -> dict[str, int]:
    with Session(engine) as s, s.begin():
        runs = []
        for period, status in [("2026-01", "posted"), ("2026-02", "posted"), ("2026-03", "draft")]:
            run = SettlementRun(
                period=period, kind="final", status=status, tree_size=1, root_hex="0" * 64,
                program_versions_json="[]", reporting_currency="EUR", run_hash="0" * 64,
                created_by="fin", created_ms=ms(int(period[-2:]), 28),
                posted_ms=ms(int(period[-2:]), 28) if status == "posted" else None,
            )  # fmt: skip
            s.add(run)
            s.flush()
            runs.append(run.id)
        statements = {}
        for party, total in [("D1", 12345), ("D2", -98765)]:
            st = Statement(
                run_id=runs[1], party_id=world[party], currency="EUR", partner_class="B",
                total_minor=total, hash=party.lower() * 32,
            )  # fmt: skip
            s.add(st)
            s.flush()
            s.add(
                StatementLine(
                    statement_id=st.id, position=0, rule="tier", category="rebate",
                    basis="10 units", rate="1", amount_minor=total,
                )
            )  # fmt: skip
            statements[party] = st.id
        s.add(
            ReceivableMovement(
                party_id=world["D2"], at_ms=ms(2, 28), amount_minor=98765, currency="EUR",
                kind="statement", run_id=runs[1],
            )
        )  # fmt: skip
        s.add(
            StatementDispute(
                statement_id=statements["D2"], line_position=0, reason="wrong count",
                created_by="d2", created_ms=ms(3, 1),
            )
        )  # fmt: skip
    return statements


def test_finance_reads_runs_receivables_and_disputes(
    money_world: dict[str, int], login_as: Callable[..., FlaskClient]
) -> None:
    html = login_as("finance").get("/").get_data(as_text=True)
    assert _table(html, "runs-table") == [["draft", "1"], ["approved", "0"], ["posted", "2"]]
    assert _table(html, "receivables-table")[0][:2] == ["D2", "EUR 987.65"]
    assert _table(html, "money-table") == [["EUR", "EUR 0.00", "EUR 987.65"]]
    disputes = _table(html, "disputes-table")
    assert len(disputes) == 1 and disputes[0][:2] == ["D2", "2026-02"]
    # no checkpoint or program: the accruals say why instead of failing the page
    assert "No accruals to show:" in html
    spec = _spec(html)
    runs = next(c for c in spec["charts"] if c["id"] == "chart-runs")
    assert runs["series"][0]["data"] == [1, 0, 2]
    _assert_local_only(html)


# ------------------------------------------------------------------ warehouse


def test_warehouse_reads_todays_scans_anomalies_and_silent_devices(
    world: dict[str, int], engine: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    now = now_ms()
    into_day = now % 86_400_000
    if into_day < 90_000:  # the scans a minute ago would be yesterday's: wait for today's
        time.sleep((90_000 - into_day) / 1000)
        now = now_ms()
    with Session(engine) as s, s.begin():
        for dev in ("HH-LIVE", "HH-QUIET"):
            s.add(Device(device_id=dev, name=dev.lower(), public_key=b"\0" * 32,
                         party_id=world["MFR"], registered_ms=ms(1, 1)))  # fmt: skip
    hops = [
        Hop(unit_key(GTIN, f"T{n}"), K.COMMISSIONING, "MFR", now - 60_000 + n, site="WH-1",
            device="HH-LIVE", device_seq=n)
        for n in range(1, 4)
    ]  # fmt: skip
    hops.append(Hop(unit_key(GTIN, "T9"), K.COMMISSIONING, "MFR", now - 50_000, site="WH-2"))
    hops.append(
        Hop(unit_key(GTIN, "T1"), K.PACKING, "MFR", now - 40_000, site="WH-2",
            container=None, note="")
    )  # fmt: skip
    results = append_hops(engine, hops)
    assert all(r.status in ("accepted", "rejected") for r in results)
    accepted = sum(r.status == "accepted" for r in results)
    with Session(engine) as s, s.begin():
        s.execute(
            update(Entry)
            .where(Entry.device == "HH-LIVE", Entry.device_seq == 2)
            .values(anomaly="holder is not the scanning party")
        )
    html = login_as("warehouse").get("/").get_data(as_text=True)
    scans = _table(html, "scans-table")
    assert ["Commissioning", "3", "1", "4"] in scans  # the step in words
    assert sum(int(r[-1]) for r in scans) == accepted
    anomalies = _table(html, "anomalies-table")
    assert len(anomalies) == 1 and anomalies[0][1] == unit_key(GTIN, "T2")
    silent = _table(html, "silent-table")
    assert [r[0].split(" ")[0] for r in silent] == ["HH-QUIET"]
    assert silent[0][3] == "never"
    _assert_local_only(html)


# ------------------------------------------------------------------ distributor


def test_distributor_sees_only_its_own_figures(
    money_world: dict[str, int], app: Flask, login_as: Callable[..., FlaskClient]
) -> None:
    html = login_as("distributor", party="D1").get("/").get_data(as_text=True)
    statements = _table(html, "statements-table")
    assert len(statements) == 1
    assert statements[0][0] == "2026-02" and statements[0][3] == "EUR 123.45"
    assert "987.65" not in html and "D2 Ltd" not in html
    alerts = _table(html, "alerts-table")
    assert len(alerts) == 2  # both alerts are about D1
    assert _table(html, "alert-counts-table") == [["1", "1", "0", "0"]]
    spec = _spec(html)
    totals = next(c for c in spec["charts"] if c["id"] == "chart-statements")
    assert totals["series"][0]["data"] == [123.45]
    _assert_local_only(html)

    second = login_as("distributor", party="D2", on=app.test_client())
    other = second.get("/").get_data(as_text=True)
    assert _table(other, "statements-table")[0][3] == "EUR -987.65"
    assert "123.45" not in other
    assert "No alerts about you." in other  # D1's alerts are not D2's


def test_other_roles_keep_the_cards(
    world: dict[str, int], login_as: Callable[..., FlaskClient]
) -> None:
    html = login_as("auditor").get("/").get_data(as_text=True)
    assert 'class="cards"' in html and "dashboard-data" not in html


# ------------------------------------------------------------------ assets and language


@pytest.mark.parametrize(
    "path",
    [
        ECHARTS,
        LEAFLET,
        "vendor/leaflet-1.9.4/leaflet.css",
        "vendor/leaflet-1.9.4/images/marker-icon.png",
        "dashboards.js",
        "dashboards.css",
    ],
)
def test_vendored_assets_are_served(client: FlaskClient, path: str) -> None:
    page = client.get(f"/static/{path}")
    assert page.status_code == 200
    assert len(page.data) > 100
    page.close()


def test_vendored_libraries_carry_their_licenses_and_stay_small() -> None:
    for lib in ("echarts-5.5.1", "leaflet-1.9.4"):
        assert "Licen" in (STATIC / "vendor" / lib / "LICENSE").read_text(encoding="utf-8")
    assert (STATIC / ECHARTS).stat().st_size < 1_500_000
    assert (STATIC / LEAFLET).stat().st_size < 300_000


@pytest.mark.parametrize(
    ("role", "party", "path"),
    [
        ("channel_manager", None, "/?period=2026-03"),
        ("finance", None, "/"),
        ("warehouse", None, "/"),
        ("distributor", "D1", "/"),
    ],
)
def test_dashboards_render_in_chinese(
    money_world: dict[str, int],
    engine: Engine,
    login_as: Callable[..., FlaskClient],
    role: str,
    party: str | None,
    path: str,
) -> None:
    username = f"zh-{role}"
    browser = login_as(role, party=party, username=username)
    with Session(engine) as s, s.begin():
        s.execute(update(User).where(User.username == username).values(locale="zh_Hans_CN"))
    page = browser.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="zh' in html
    assert "欢迎" in html  # the greeting, translated
