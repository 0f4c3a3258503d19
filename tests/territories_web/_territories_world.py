"""A hand-built territory world for the territory CLI, API and page tests.

Region NORTH (lon 0..40, lat 40..60) holds two countries, AA (lon 10..12, lat
50..52) and BB (lon 20..22, lat 50..52). Distributor D1 holds AA from
2026-01-01; D2 holds BB. In March 2026 the units allocated to D1 are seen:

=====  =======================  ==========  =======
unit   step (party)             where       in zone
=====  =======================  ==========  =======
1      receiving (D1)           AA          yes
1      shipping D1 -> S1        AA          yes
1      receiving (S1)           AA          yes
2      receiving (D1)           AA          yes
2      retail_selling (S2)      BB          no
3      receiving (D1)           AA          yes
3      inspecting (S2)          NORTH only  no
4      receiving (D1)           no place    no  (lon 100: in no territory)
5      receiving (D1)           (no site)   --  (unlocated: not a scan on a map)
=====  =======================  ==========  =======

so 5 located scans in zone and 3 out of zone. Unit 6, allocated to D2 and
received in BB, and March's manufacturer scans are not D1's; unit 1's April
sale is not March's.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from ledger import EntryKind, Hop, append_hops, unit_key

K = EntryKind
GTIN = "09506000134352"
MONTH = "2026-03"
IN_ZONE = 5
OUT_OF_ZONE = 3


def square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(code: str, name: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **props},
        "geometry": geometry,
    }


def world_fc() -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            feature("NORTH", "The North", square(0, 40, 40, 60), level="region"),
            feature("AA", "Aland", square(10, 50, 12, 52), parent="NORTH", level="country"),
            feature("BB", "Bland", square(20, 50, 22, 52), parent="NORTH", level="country"),
        ],
    }


def bad_fc() -> dict[str, Any]:
    """Feature 0 is valid, feature 1 (BAD) crosses itself."""
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}
    return {
        "type": "FeatureCollection",
        "features": [
            feature("GOOD", "Good", square(0, 0, 1, 1)),
            feature("BAD", "Bad", bowtie),
        ],
    }


def ms(year: int, month: int, day: int, hour: int = 12) -> int:
    return calendar.timegm((year, month, day, hour, 0, 0)) * 1000


Point = tuple[float, float] | None

IN_AA: Point = (11, 51)
IN_BB: Point = (21, 51)
NORTH_ONLY: Point = (30, 45)
NOWHERE: Point = (100, 10)
PLANT: Point = (5, 45)


def unit(n: int) -> str:
    return unit_key(GTIN, f"U{n}")


def build_parties(make_party: Callable[..., int]) -> dict[str, int]:
    return {
        "MFR": make_party("MFR", "manufacturer"),
        "D1": make_party("D1", "distributor"),
        "D2": make_party("D2", "distributor"),
        "S1": make_party("S1", "dealer"),
        "S2": make_party("S2", "dealer"),
    }


def hop(
    n: int, kind: EntryKind, party: str, at_ms: int, where: Point, to: str | None = None
) -> Hop:
    """Unit ``n`` seen by ``party`` at ``where`` (lon, lat; None: no location)."""
    lon_e6 = None if where is None else round(where[0] * 1e6)
    lat_e6 = None if where is None else round(where[1] * 1e6)
    return Hop(unit(n), kind, party, at_ms, counterparty=to, lat_e6=lat_e6, lon_e6=lon_e6)


def append_scans(engine: Engine) -> None:
    """The ledger of the module docstring (parties must exist)."""
    feb = ms(2026, 2, 20)
    hops = [hop(n, K.COMMISSIONING, "MFR", feb + n, PLANT) for n in range(1, 7)]
    hops += [hop(n, K.SHIPPING, "MFR", feb + 100 + n, PLANT, to="D1") for n in range(1, 6)]
    hops.append(hop(6, K.SHIPPING, "MFR", feb + 106, PLANT, to="D2"))
    t = ms(2026, 3, 2)
    hops += [
        hop(1, K.RECEIVING, "D1", t + 1, IN_AA),
        hop(2, K.RECEIVING, "D1", t + 2, IN_AA),
        hop(3, K.RECEIVING, "D1", t + 3, IN_AA),
        hop(4, K.RECEIVING, "D1", t + 4, NOWHERE),
        hop(5, K.RECEIVING, "D1", t + 5, None),
        hop(6, K.RECEIVING, "D2", t + 6, IN_BB),
        hop(1, K.SHIPPING, "D1", ms(2026, 3, 5), IN_AA, to="S1"),
        hop(1, K.RECEIVING, "S1", ms(2026, 3, 6), IN_AA),
        hop(2, K.RETAIL_SELLING, "S2", ms(2026, 3, 10), IN_BB),
        hop(3, K.INSPECTING, "S2", ms(2026, 3, 11), NORTH_ONLY),
        hop(1, K.RETAIL_SELLING, "S1", ms(2026, 4, 2), IN_AA),
    ]
    results = append_hops(engine, hops)
    rejected = [r for r in results if r.status == "rejected"]
    assert not rejected, rejected
