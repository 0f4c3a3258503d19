"""How a cluster worker gets the territory index: unpickling the client's index
(what :mod:`settlement.batch.runner` does, ``Client.scatter(..., broadcast=True)``)
beside rebuilding it from the territories' GeoJSON rows (what
:func:`geo.cache.cached_index` does from the database), same run, same index.

Prints, for the world's countries and for 2,000 province-sized polygons: the
pickle's size, seconds to pickle on the client, seconds to unpickle on a worker,
seconds to rebuild from the stored rows (parse the GeoJSON text, build the index),
and the ratio rebuild / unpickle; checks the two indexes locate points alike.

Run: .venv/bin/python benchmarks/compare_territory_shipping.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.compare_geo import small_polygons
from geo import Territory, TerritoryIndex, parse_feature_collection, world_countries


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _rows(fc: dict[str, Any]) -> list[tuple[str, str, str | None, str, str]]:
    """The territories as the database stores them: GeoJSON text per row."""
    return [
        (t.code, t.name, t.parent, t.level, json.dumps(t.geometry))
        for t in parse_feature_collection(fc)
    ]


def compare(name: str, fc: dict[str, Any], repeat: int) -> None:
    rows = _rows(fc)

    def rebuild() -> TerritoryIndex:
        return TerritoryIndex.from_territories(
            Territory(code, nm, parent, level, json.loads(geom))
            for code, nm, parent, level, geom in rows
        )

    index = rebuild()  # warms numba up for both sides
    t_dump, blob = _best(lambda: pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL), repeat)
    t_load, shipped = _best(lambda: pickle.loads(blob), repeat)
    t_build, built = _best(rebuild, repeat)
    rng = np.random.default_rng(3)
    lon = rng.uniform(-20, 40, 200_000)
    lat = rng.uniform(30, 70, 200_000)
    same = np.array_equal(shipped.locate(lon, lat), built.locate(lon, lat))
    print(
        f"{name}: {len(rows):,} territories; pickle {len(blob) / 1e6:.2f} MB, "
        f"dump {t_dump * 1e3:.1f} ms, load {t_load * 1e3:.1f} ms; "
        f"rebuild from rows {t_build * 1e3:.1f} ms; rebuild / load = {t_build / t_load:.1f}x; "
        f"same answers: {same}"
    )
    assert same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    compare("world countries", world_countries(regions=False), args.repeat)
    compare("2,000 provinces", small_polygons(), args.repeat)


if __name__ == "__main__":
    main()
