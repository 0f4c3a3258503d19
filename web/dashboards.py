"""What the home dashboards hand to the browser: chart and map specifications.

The figures come from :mod:`settlement.dashboards` and
:func:`scanners.warehouse_dashboard`; this module only words them (in the page's
language) and shapes them for ``static/dashboards.js``, which reads them from a
``<script type="application/json" id="dashboard-data">`` block (the page's
Content-Security-Policy allows no inline script). Every chart's numbers are also
in a server-rendered table on the page, so nothing depends on JavaScript.

Spec shapes: a chart is ``{"id", "title", "categories": [str], "series":
[{"name", "data": [number]}], "stack": bool, "horizontal": bool, "percent":
bool, "unit": str (optional: the value axis's name)}``; the map is ``{"id", "territories": GeoJSON FeatureCollection,
"sightings": [{"lat", "lon", "label"}], "transfers": [{"from": [lat, lon],
"to": [lat, lon], "label"}], "legend": {"territory", "sighting", "transfer"},
"zoom": {"in", "out"}}``
with coordinates in degrees.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flask_babel import get_timezone, gettext

import settlement
from scanners import WarehouseDashboard
from web.alerts import FINDING_LABELS
from web.i18n import N_
from web.words import words

__all__ = [
    "PERIOD",
    "STATUS_LABELS",
    "channel_spec",
    "distributor_spec",
    "finance_spec",
    "finding_label",
    "local_day_ms",
    "run_spec",
    "status_label",
    "warehouse_spec",
]

#: A month as the period picker sends it.
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


#: Run and alert statuses in words (the stored value when missing).
STATUS_LABELS = {
    "draft": N_("draft"),
    "approved": N_("approved"),
    "posted": N_("posted"),
    "open": N_("open"),
    "investigating": N_("investigating"),
    "confirmed": N_("confirmed"),
    "dismissed": N_("dismissed"),
}


def status_label(status: str) -> str:
    """A run or alert status in the page's language."""
    label = STATUS_LABELS.get(status)
    return gettext(label) if label else status


def _deg(e6: int) -> float:
    return round(e6 / 1e6, 6)


def _chart(
    chart_id: str,
    title: str,
    categories: list[str],
    series: list[tuple[str, list[float | int]]],
    *,
    stack: bool = False,
    horizontal: bool = False,
    percent: bool = False,
    unit: str = "",
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "id": chart_id,
        "title": title,
        "categories": categories,
        "series": [{"name": name, "data": data} for name, data in series],
        "stack": stack,
        "horizontal": horizontal,
        "percent": percent,
    }
    if unit:
        spec["unit"] = unit
    return spec


def finding_label(finding_type: str) -> str:
    """A finding type in the page's language (the type itself when unknown)."""
    label = FINDING_LABELS.get(finding_type)
    return gettext(label) if label else finding_type


def channel_spec(board: settlement.ChannelDashboard) -> dict[str, Any]:
    """Charts and map of the channel manager's board."""
    features = [
        {
            "type": "Feature",
            "properties": {"code": t.code, "name": t.name, "level": t.level},
            "geometry": t.geometry,
        }
        for t in board.territories
    ]
    sightings = [
        {
            "lat": _deg(p.lat_e6),
            "lon": _deg(p.lon_e6),
            "label": gettext(
                "%(unit)s seen by %(party)s (responsible: %(responsible)s)",
                unit=p.unit_key,
                party=p.party_code,
                responsible=p.responsible_code,
            ),
        }
        for p in board.sightings
    ]
    transfers: list[dict[str, Any]] = []
    for t in board.transfers:
        if t.from_lat_e6 is None or t.from_lon_e6 is None:
            continue  # the unit had no located entry before: no line to draw
        if t.to_lat_e6 is None or t.to_lon_e6 is None:
            continue
        transfers.append(
            {
                "from": [_deg(t.from_lat_e6), _deg(t.from_lon_e6)],
                "to": [_deg(t.to_lat_e6), _deg(t.to_lon_e6)],
                "label": gettext(
                    "%(unit)s moved into %(territory)s (responsible: %(responsible)s)",
                    unit=t.unit_key,
                    territory=t.territory_code or "-",
                    responsible=t.responsible_code,
                ),
            }
        )
    weeks = list(board.weeks)
    charts = [
        _chart(
            "chart-weeks",
            gettext("Alerts by week and type"),
            weeks,
            [
                (finding_label(ft), [board.week_count(w, ft) for w in weeks])
                for ft in board.finding_types
            ],
            stack=True,
        ),
        _chart(
            "chart-regions",
            gettext("Diversion rate by region"),
            [r.region_name for r in board.region_rates],
            [(gettext("Diversion rate (%)"), [round(r.rate * 100, 2) for r in board.region_rates])],
            horizontal=True,
            percent=True,
        ),
        _chart(
            "chart-parties",
            gettext("Top responsible parties"),
            [p.party_code for p in board.top_parties],
            [(gettext("Units"), [p.units for p in board.top_parties])],
            horizontal=True,
        ),
    ]
    return {
        "charts": charts,
        "map": {
            "id": "map-period",
            "territories": {"type": "FeatureCollection", "features": features},
            "sightings": sightings,
            "transfers": transfers,
            "legend": {
                "territory": gettext("Territory"),
                "sighting": gettext("Out-of-zone sighting"),
                "transfer": gettext("Cross-region transfer"),
            },
            "zoom": {"in": gettext("Zoom in"), "out": gettext("Zoom out")},
        },
    }


def _major(minor: int, currency: str) -> float:
    exponent = int(settlement.minor_exponent(currency))
    return float(minor) / float(10**exponent)


def finance_spec(board: settlement.FinanceDashboard) -> dict[str, Any]:
    """Charts of finance's board (amounts in major units of each currency)."""
    currencies = sorted(set(board.accrual_by_currency) | set(board.receivable_by_currency))
    return {
        "charts": [
            _chart(
                "chart-runs",
                gettext("Runs by status"),
                [status_label(c.status) for c in board.runs_by_status],
                [(gettext("Runs"), [c.runs for c in board.runs_by_status])],
            ),
            _chart(
                "chart-money",
                gettext("Accrued rebates and receivables by currency"),
                currencies,
                [
                    (
                        gettext("Accrued this month"),
                        [_major(board.accrual_by_currency.get(c, 0), c) for c in currencies],
                    ),
                    (
                        gettext("Receivables"),
                        [_major(board.receivable_by_currency.get(c, 0), c) for c in currencies],
                    ),
                ],
            ),
        ]
    }


def warehouse_spec(board: WarehouseDashboard) -> dict[str, Any]:
    """The day's scans by step, one series per site."""
    steps = list(board.steps)
    return {
        "charts": [
            _chart(
                "chart-scans",
                gettext("Today's scans by step and site"),
                [words(k) for k in steps],
                [
                    (site or gettext("no site"), [board.count(k, site) for k in steps])
                    for site in board.sites
                ],
                stack=True,
            )
        ]
    }


def distributor_spec(board: settlement.DistributorDashboard) -> dict[str, Any]:
    """Tier progress (the measure so far against the next tier) and statement totals."""
    statements = list(reversed(board.statements))
    return {
        "charts": [
            _chart(
                "chart-tiers",
                gettext("Tier progress this month"),
                [r.program_code for r in board.tiers],
                [
                    (
                        gettext("So far"),
                        [
                            r.net_units if r.measure == "volume" else r.net_value
                            for r in board.tiers
                        ],
                    ),
                    (gettext("Next tier from"), [r.next_from or 0 for r in board.tiers]),
                ],
                horizontal=True,
            ),
            _chart(
                "chart-statements",
                gettext("Statement totals"),
                [f"{s.period} #{s.run_id}" for s in statements],
                [(gettext("Total"), [_major(s.total_minor, s.currency) for s in statements])],
            ),
        ]
    }


def run_spec(summary: settlement.RunSummary) -> dict[str, Any]:
    """Rebates vs penalties per partner class of one run, in major units of the
    run's reporting currency (``summary.reporting_currency``, the value axis's
    name): the figures of the page's "Per partner class" table, penalties as the
    negative amounts they are (bars below zero). The same chart as
    :func:`settlement.run_chart_png`, worded in the page's language."""
    cur = summary.reporting_currency
    rows = summary.by_class
    return {
        "charts": [
            _chart(
                "chart-run",
                gettext(
                    "Run %(id)s (%(period)s): rebates vs penalties",
                    id=summary.run_id,
                    period=summary.period,
                ),
                [gettext("class %(name)s", name=r.key) for r in rows],
                [
                    (gettext("rebates"), [_major(r.rebates, cur) for r in rows]),
                    (gettext("penalties"), [_major(r.penalties, cur) for r in rows]),
                ],
                unit=cur,
            )
        ]
    }


def local_day_ms(now_ms: int) -> tuple[int, int]:
    """``[start, end)`` in ms of the day holding ``now_ms`` in the user's time zone."""
    zone = get_timezone()
    now = datetime.fromtimestamp(now_ms / 1000, zone)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=3)).replace(hour=0)  # DST-safe next midnight
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)
