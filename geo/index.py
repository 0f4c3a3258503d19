"""The point-in-territory index: millions of scans a second, the same answers as shapely.

Boundary rule. A point on the boundary of a territory is decided as if it were
moved east by an infinitesimal ``d`` and north by ``d*d``: it belongs to the
territory on its east side, and on an east-west edge to the one on its north
side. So territories that share a border (neighbouring countries, a split at the
antimeridian) still partition the plane, and a scan on a border is in exactly
one of them, never in both and never in neither. Longitudes are taken modulo
360 first, so 180 is -180 (and a point on the antimeridian of a territory split
there lands in its western half, the one east of -180). shapely's ``contains``
answers False for every boundary point; everywhere else our answer is its
answer, tested on random and adversarial points.

Overlaps. Territories may overlap (a country and its provinces, or custom
polygons). :meth:`TerritoryIndex.locate` returns the most specific one: the
deepest in the parent hierarchy, and of equally deep ones the first (lowest
position). :meth:`TerritoryIndex.within_any` asks the other question: is the
point inside any of these territories or of their descendants.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geo import kernels
from geo._threads import PARALLEL_LOCK
from geo.errors import TerritoryError
from geo.geometry import Territory, check_hierarchy, parse_feature_collection, polygons_of

# Rounding in the build is ~1e-13 degrees; edges within this distance of a cell
# are listed with it, so that every unlisted edge is unambiguously far away.
_TOL = 1e-9


def _points(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.ascontiguousarray(lon, dtype=np.float64)
    y = np.ascontiguousarray(lat, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"lon and lat must be 1-D arrays, got shapes {x.shape} and {y.shape}")
    if x.shape != y.shape:
        raise ValueError(f"lon and lat differ in length: {x.shape[0]} != {y.shape[0]}")
    return x, y


def _points_e6(
    lon_e6: ArrayLike, lat_e6: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    xi = np.asarray(lon_e6)
    yi = np.asarray(lat_e6)
    if xi.dtype.kind not in "iu" or yi.dtype.kind not in "iu":
        raise ValueError("micro-degree coordinates must be integer arrays")
    return _points(xi / 1e6, yi / 1e6)


def _sorted_unique(a: NDArray[np.int64]) -> NDArray[np.int64]:
    # np.unique hashes first in numpy 2.3+, several times slower than sort + mask here
    a = np.sort(a)
    keep = np.ones(a.shape[0], dtype=np.bool_)
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


class TerritoryIndex:
    """Territories on a uniform grid, answering point queries with numba kernels.

    Build one with :meth:`from_geojson` or :meth:`from_territories`; positions
    (0-based, in input order) identify territories in every answer, and
    :attr:`codes` turns them into codes. The index is immutable and safe to
    share between threads.
    """

    def __init__(
        self,
        territories: Sequence[Territory],
        *,
        cells_per_edge: float = 24.0,
        max_cells: int = 1 << 22,
    ) -> None:
        check_hierarchy(territories)
        self.territories: tuple[Territory, ...] = tuple(territories)
        self.codes: tuple[str, ...] = tuple(t.code for t in territories)
        self._pos = {c: i for i, c in enumerate(self.codes)}
        n = len(self.codes)
        self.parent: NDArray[np.int32] = np.array(
            [self._pos[t.parent] if t.parent is not None else -1 for t in territories],
            dtype=np.int32,
        ).reshape(n)
        self.depth: NDArray[np.int32] = np.zeros(n, dtype=np.int32)
        for i in range(n):
            p, d = int(self.parent[i]), 0
            while p >= 0:
                p, d = int(self.parent[p]), d + 1
            self.depth[i] = d
        self._children: list[list[int]] = [[] for _ in range(n)]
        for i in range(n):
            if self.parent[i] >= 0:
                self._children[int(self.parent[i])].append(i)
        self._build(cells_per_edge, max_cells)

    # ----------------------------------------------------------------- building

    @classmethod
    def from_geojson(cls, source: Mapping[str, Any] | str | Path) -> TerritoryIndex:
        """Index a GeoJSON FeatureCollection (a decoded dict or a file path).

        Invalid features raise :class:`geo.GeometryError` / :class:`geo.TerritoryError`
        naming the feature; see :func:`geo.parse_feature_collection`.
        """
        if isinstance(source, str) and source.lstrip().startswith("{"):
            source = json.loads(source)
        return cls(parse_feature_collection(source))

    @classmethod
    def from_territories(cls, territories: Iterable[Territory]) -> TerritoryIndex:
        """Index territories already validated (for example loaded from the store)."""
        return cls(list(territories))

    def _build(self, cells_per_edge: float, max_cells: int) -> None:
        ax_l: list[NDArray[np.float64]] = []
        ay_l: list[NDArray[np.float64]] = []
        bx_l: list[NDArray[np.float64]] = []
        by_l: list[NDArray[np.float64]] = []
        terr_l: list[NDArray[np.int32]] = []
        prev_l: list[NDArray[np.int32]] = []
        next_l: list[NDArray[np.int32]] = []
        off = 0
        for t, terr in enumerate(self.territories):
            for poly in polygons_of(terr.geometry):
                for ring in poly:
                    r = np.asarray(ring, dtype=np.float64)[:, :2]
                    m = r.shape[0] - 1
                    if m < 1:
                        continue
                    ax_l.append(r[:-1, 0])
                    ay_l.append(r[:-1, 1])
                    bx_l.append(r[1:, 0])
                    by_l.append(r[1:, 1])
                    terr_l.append(np.full(m, t, dtype=np.int32))
                    k = np.arange(m, dtype=np.int32)
                    next_l.append(off + (k + 1) % m)
                    prev_l.append(off + (k - 1) % m)
                    off += m
        self._nedge = off
        self._blob = np.zeros(1, dtype=np.float64)
        if off == 0:
            self._grid = (0.0, 0.0, 1.0, 1.0, 1, 1)
            self._cell_answer = np.full(1, -1, dtype=np.int32)
            self._cell_start = np.zeros(2, dtype=np.int32)
            self._pairs = np.zeros((0, 4), dtype=np.int32)
            self._edges = np.zeros((0, 4), dtype=np.float64)
            self._cells = (self._cell_answer, self._cell_start, self._pairs, self._edges)
            return
        ax, ay = np.concatenate(ax_l), np.concatenate(ay_l)
        bx, by = np.concatenate(bx_l), np.concatenate(by_l)
        edge_terr = np.concatenate(terr_l)
        edge_prev = np.concatenate(prev_l).astype(np.int32)
        edge_next = np.concatenate(next_l).astype(np.int32)

        x0, x1 = float(min(ax.min(), bx.min())), float(max(ax.max(), bx.max()))
        y0, y1 = float(min(ay.min(), by.min())), float(max(ay.max(), by.max()))
        margin = 1e-6 * max(x1 - x0, y1 - y0, 1e-3)
        gx0, gy0 = x0 - margin, y0 - margin
        w, h = (x1 + margin) - gx0, (y1 + margin) - gy0
        cells = max(1.0, min(float(max_cells), cells_per_edge * off))
        ncol = max(1, min(round(np.sqrt(cells * w / h)), max_cells))
        nrow = max(1, min(round(cells / ncol), max_cells // ncol))
        dx, dy = w / ncol, h / nrow
        self._grid = (gx0, gy0, dx, dy, ncol, nrow)

        empty_i64 = np.zeros(0, dtype=np.int64)
        nkey = kernels.assign_edges(ax, ay, bx, by, gx0, gy0, dx, dy, ncol, nrow, _TOL, empty_i64)
        keys = np.empty(nkey, dtype=np.int64)
        kernels.assign_edges(ax, ay, bx, by, gx0, gy0, dx, dy, ncol, nrow, _TOL, keys)
        keys = _sorted_unique(keys)
        args = (ax, ay, bx, by, edge_prev, edge_next, gx0, gy0, dx, dy, ncol, _TOL)
        nextra = kernels.close_chains(keys, *args, empty_i64)
        if nextra:
            extra = np.empty(nextra, dtype=np.int64)
            kernels.close_chains(keys, *args, extra)
            keys = _sorted_unique(np.concatenate([keys, extra]))

        e_i32 = np.zeros(0, dtype=np.int32)
        e_f64 = np.zeros(0, dtype=np.float64)
        nev = kernels.row_events(ax, ay, bx, by, edge_terr, gy0, dy, nrow, e_i32, e_i32, e_f64)
        ev_row = np.empty(nev, dtype=np.int32)
        ev_terr = np.empty(nev, dtype=np.int32)
        ev_x = np.empty(nev, dtype=np.float64)
        kernels.row_events(ax, ay, bx, by, edge_terr, gy0, dy, nrow, ev_row, ev_terr, ev_x)
        order = np.lexsort((-ev_x, ev_row))
        ev_terr, ev_x = ev_terr[order], ev_x[order]
        ev_start = np.searchsorted(ev_row[order], np.arange(nrow + 1)).astype(np.int64)

        n = len(self.codes)
        sweep = (keys, ax, ay, bx, by, edge_terr, n, ev_start, ev_terr, ev_x)
        grid = (gx0, gy0, dx, dy, ncol, nrow)
        e_u8 = np.zeros(0, dtype=np.uint8)
        npair = kernels.sweep_pairs(*sweep, *grid, empty_i64, e_i32, e_u8, empty_i64, empty_i64)
        p_cell = np.empty(npair, dtype=np.int64)
        p_terr = np.empty(npair, dtype=np.int32)
        p_k = np.empty(npair, dtype=np.uint8)
        p_ks = np.empty(npair, dtype=np.int64)
        p_ke = np.empty(npair, dtype=np.int64)
        kernels.sweep_pairs(*sweep, *grid, p_cell, p_terr, p_k, p_ks, p_ke)

        # per cell: deepest territory first, then lowest position (locate stops at the first hit)
        order = np.lexsort((p_terr, -self.depth[p_terr], p_cell))
        p_cell, p_terr, p_k = p_cell[order], p_terr[order], p_k[order]
        p_ks, p_ke = p_ks[order], p_ke[order]
        counts = p_ke - p_ks
        estart = np.zeros(npair + 1, dtype=np.int64)
        np.cumsum(counts, out=estart[1:])
        if ncol * nrow + 3 * npair + 4 * estart[-1] >= 2**31 - 2:
            raise TerritoryError(None, None, "too many edges for one index")
        total = int(estart[-1])
        idx = np.repeat(p_ks - estart[:-1], counts) + np.arange(total, dtype=np.int64)
        edges = keys[idx] - np.repeat(p_cell, counts) * off
        ncell = ncol * nrow
        self._cell_start = np.searchsorted(p_cell, np.arange(ncell + 1)).astype(np.int32)
        self._pairs = np.empty((npair, 4), dtype=np.int32)
        self._pairs[:, 0] = p_terr
        self._pairs[:, 1] = p_k
        self._pairs[:, 2] = estart[:-1]
        self._pairs[:, 3] = estart[1:]
        self._edges = np.empty((total, 4), dtype=np.float64)
        for j, coord in enumerate((ax, ay, bx, by)):
            self._edges[:, j] = coord[edges]
        # a cell whose deepest territory covers it whole (no edges) needs no test
        answer = np.full(ncell, -1, dtype=np.int32)
        first = self._cell_start[:-1]
        has = first < self._cell_start[1:]
        fp = first[has]
        whole = (p_k[fp] == 1) & (counts[fp] == 0)
        answer[has] = np.where(whole, p_terr[fp], -2)
        if answer.size and answer.min() < -1:
            self._blob = kernels.build_blob(self._cell_start, self._pairs, self._edges, answer)
        self._cell_answer = answer
        self._cells = (answer, self._cell_start, self._pairs, self._edges)

    # ----------------------------------------------------------------- lookups

    def __len__(self) -> int:
        return len(self.codes)

    def position(self, code: str) -> int:
        """The position of a territory code (KeyError when unknown)."""
        return self._pos[code]

    def positions(self, territories: Iterable[int] | Iterable[str]) -> NDArray[np.int32]:
        """Positions of territories given as codes (or positions, passed through)."""
        return np.array(self._as_positions(territories), dtype=np.int32).reshape(-1)

    def descendants(self, positions: Iterable[int]) -> NDArray[np.int32]:
        """The given territories and all territories below them, sorted."""
        out: set[int] = set()
        stack = [int(p) for p in positions]
        for p in stack:
            if not 0 <= p < len(self.codes):
                raise IndexError(f"no territory at position {p}")
        while stack:
            p = stack.pop()
            if p not in out:
                out.add(p)
                stack.extend(self._children[p])
        return np.array(sorted(out), dtype=np.int32)

    def locate(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.int32]:
        """The territory position of each point (degrees, WGS 84), -1 where none.

        Where territories overlap, the deepest in the hierarchy wins (then the
        lowest position). Points on a boundary follow the module's boundary
        rule; NaN coordinates and latitudes beyond ±90 give -1; coordinates
        nearer to 0 than 1e-100° are read as 0 (there floating-point products
        underflow and no predicate is exact).
        """
        x, y = _points(lon, lat)
        out = np.empty(x.shape[0], dtype=np.int32)
        gx0, gy0, dx, dy, ncol, nrow = self._grid
        with PARALLEL_LOCK:
            kernels.locate_kernel(
                x, y, gx0, gy0, 1.0 / dx, 1.0 / dy, ncol, nrow, self._cell_answer, self._blob, out
            )
        return out

    def locate_e6(self, lon_e6: ArrayLike, lat_e6: ArrayLike) -> NDArray[np.int32]:
        """:meth:`locate` for integer micro-degrees, as the database stores them."""
        return self.locate(*_points_e6(lon_e6, lat_e6))

    def within_any(
        self, lon: ArrayLike, lat: ArrayLike, territories: Iterable[int] | Iterable[str]
    ) -> NDArray[np.bool_]:
        """Whether each point lies in one of ``territories`` (positions or codes),
        a territory covering its descendants: the zone of a party, in one call."""
        cover = np.zeros((1, len(self.codes)), dtype=np.uint8)
        cover[0, self.descendants(self._as_positions(territories))] = 1
        x, y = _points(lon, lat)
        zone = np.zeros(1, dtype=np.int32)
        out = np.empty(x.shape[0], dtype=np.bool_)
        with PARALLEL_LOCK:
            kernels.within_kernel(x, y, zone, cover, *self._grid, *self._cells, out)
        return out

    def within_zones(
        self,
        lon: ArrayLike,
        lat: ArrayLike,
        point_zone: ArrayLike,
        zones: Sequence[Iterable[int] | Iterable[str]],
    ) -> NDArray[np.bool_]:
        """Whether each point lies in its own zone: ``zones[point_zone[i]]``.

        For a month of scans, each with the zone of the party that held the
        unit (``point_zone`` = -1: no zone, answer False). A zone is a set of
        territories, each covering its descendants, as in :meth:`within_any`.
        """
        x, y = _points(lon, lat)
        pz = np.ascontiguousarray(point_zone, dtype=np.int32)
        if pz.shape != x.shape:
            raise ValueError(f"point_zone has shape {pz.shape}, the points {x.shape}")
        if pz.size and (pz.max() >= len(zones) or pz.min() < -1):
            raise ValueError(f"point_zone values must be -1 or below {len(zones)}")
        cover = np.zeros((max(len(zones), 1), len(self.codes)), dtype=np.uint8)
        for z, terrs in enumerate(zones):
            cover[z, self.descendants(self._as_positions(terrs))] = 1
        out = np.empty(x.shape[0], dtype=np.bool_)
        with PARALLEL_LOCK:
            kernels.within_kernel(x, y, pz, cover, *self._grid, *self._cells, out)
        return out

    def _as_positions(self, territories: Iterable[int] | Iterable[str]) -> list[int]:
        return [self._pos[t] if isinstance(t, str) else int(t) for t in territories]

    @property
    def stats(self) -> dict[str, int]:
        """Sizes of the grid, for benchmarks and tuning."""
        return {
            "territories": len(self.codes),
            "edges": self._nedge,
            "cells": int(self._grid[4]) * int(self._grid[5]),
            "pairs": int(self._pairs.shape[0]),
            "listed_edges": int(self._edges.shape[0]),
        }
