"""Scan distances and speeds, and the territory map."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import EARTH_RADIUS_M, TerritoryIndex, great_circle_m, render_map, speed_kmh


def test_known_distances() -> None:
    # Paris-London, the same point, antipodes, a quarter meridian
    d = great_circle_m(
        [2.3522, 10.0, 0.0, 0.0],
        [48.8566, 10.0, 0.0, 0.0],
        [-0.1276, 10.0, 180.0, 0.0],
        [51.5072, 10.0, 0.0, 90.0],
    )
    assert d[0] == pytest.approx(343_500, rel=0.005)
    assert d[1] == 0.0
    assert d[2] == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert d[3] == pytest.approx(math.pi / 2 * EARTH_RADIUS_M)


@settings(max_examples=50, deadline=None)
@given(st.floats(-180, 180), st.floats(-90, 90), st.floats(-180, 180), st.floats(-90, 90))
def test_distance_is_symmetric_and_bounded(a: float, b: float, c: float, d: float) -> None:
    one = great_circle_m([a], [b], [c], [d])[0]
    other = great_circle_m([c], [d], [a], [b])[0]
    assert one == pytest.approx(other, abs=1e-6)
    assert 0.0 <= one <= math.pi * EARTH_RADIUS_M + 1e-6


def test_speed_flags_a_cloned_code() -> None:
    hour = 3_600_000
    v = speed_kmh(
        [2.3522, 2.3522, 2.3522, 2.3522],
        [48.8566, 48.8566, 48.8566, 48.8566],
        [0, 0, 0, 5 * hour],
        [116.4074, 2.3522, 116.4074, 2.3522],  # Beijing, or Paris again
        [39.9042, 48.8566, 39.9042, 48.8566],
        [hour, 0, 0, 0],
    )
    assert v[0] == pytest.approx(8_200, rel=0.01)  # Paris to Beijing in an hour: a clone
    assert v[1] == 0.0
    assert math.isinf(v[2])
    assert v[3] == 0.0
    with pytest.raises(ValueError):
        speed_kmh([0.0], [0.0], [0, 1], [0.0], [0.0], [0])
    with pytest.raises(ValueError):
        great_circle_m([0.0, 1.0], [0.0], [0.0], [0.0])


def _index() -> TerritoryIndex:
    def sq(code: str, x0: float, parent: str | None = None) -> object:
        ring = [[x0, 0], [x0 + 10, 0], [x0 + 10, 10], [x0, 10], [x0, 0]]
        hole = [[x0 + 4, 4], [x0 + 4, 6], [x0 + 6, 6], [x0 + 6, 4], [x0 + 4, 4]]
        return {
            "type": "Feature",
            "properties": {"code": code, "parent": parent},
            "geometry": {"type": "Polygon", "coordinates": [ring, hole]},
        }

    return TerritoryIndex.from_geojson(
        {"type": "FeatureCollection", "features": [sq("A", 0), sq("B", 12)]}
    )


def test_render_png_and_svg() -> None:
    index = _index()
    rng = np.random.default_rng(0)
    lon = rng.uniform(-2, 24, 500)
    lat = rng.uniform(-2, 12, 500)
    inside = index.within_any(lon, lat, ["A"])
    png = render_map(index, lon, lat, inside, highlight=["A"], title="Party A, March")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png == render_map(index, lon, lat, inside, highlight=["A"], title="Party A, March")
    svg = render_map(index, lon, lat, inside, highlight=[0], fmt="svg")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    assert b"out of zone: " + str(int((~inside).sum())).encode() in svg
    # without judgement, and with more scans than are drawn
    assert render_map(index, lon, lat, max_points=50).startswith(b"\x89PNG")
    assert render_map(index).startswith(b"\x89PNG")


def test_render_refuses_bad_input() -> None:
    index = _index()
    with pytest.raises(ValueError, match="fmt"):
        render_map(index, fmt="gif")
    with pytest.raises(ValueError, match="in_zone"):
        render_map(index, [1.0, 2.0], [1.0, 2.0], [True])
