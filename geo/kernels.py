"""Numba kernels of the territory index and of scan distances.

Plain functions over numpy arrays with explicit dtypes: no objects, no I/O, no
error raising. ``geo.index`` and ``geo.distance`` validate shapes and dtypes before
calling them.

The index is a uniform grid over the territories' bounding box. A cell lists, per
territory, the polygon edges that come near it and one parity bit ``k``; a point
``p`` of the cell lies inside territory ``t`` when ``k`` XOR (the number of listed
edges that a ray from ``p`` towards +x crosses) is odd. ``k`` stands for every edge
not listed: they are far from the cell, so they cross the ray from any point of
the cell equally often (see ``close_chains`` for the one case where that needs
help). A territory that covers a cell without an edge in it is listed with
``k = 1`` and no edges, which answers most points without a single crossing test.

The crossing test is the one GEOS uses (``RayCrossingCounter``): an edge counts
when exactly one endpoint lies strictly above the point, and then by the sign of
an orientation determinant, computed with Shewchuk's filter and an exact
fallback. So for every point not on a boundary the answer is shapely's. A point
on a boundary is decided as if it were moved by an infinitesimal ``d`` east and
``d*d`` north (an orientation of zero never counts); the index documents it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_EPS = 2.0**-53
_CCW_ERRBOUND_A = (3.0 + 16.0 * _EPS) * _EPS
_SPLITTER = 134217729.0  # 2**27 + 1, Dekker's split of a double into two halves
EARTH_RADIUS_M = 6371008.8  # IUGG mean Earth radius


# --------------------------------------------------------------------------- exact sign


@njit(cache=True)
def _two_sum(a: float, b: float) -> tuple[float, float]:
    x = a + b
    bv = x - a
    av = x - bv
    return x, (a - av) + (b - bv)


@njit(cache=True)
def _two_product(a: float, b: float) -> tuple[float, float]:
    x = a * b
    c = _SPLITTER * a
    ahi = c - (c - a)
    alo = a - ahi
    c = _SPLITTER * b
    bhi = c - (c - b)
    blo = b - bhi
    err3 = ((x - ahi * bhi) - alo * bhi) - ahi * blo
    return x, alo * blo - err3


@njit(cache=True)
def _orient_exact_sign(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    """Sign of the orientation determinant in exact arithmetic.

    Only reached when the floating-point filter cannot decide, i.e. for points
    within a few ulps of an edge's line. The determinant is expanded into six
    products of input coordinates; each is split exactly into two doubles and
    the twelve are summed as a Shewchuk expansion, whose top non-zero component
    carries the sign.
    """
    terms = np.empty(12, dtype=np.float64)
    terms[0], terms[1] = _two_product(ax, by)
    terms[2], terms[3] = _two_product(-ax, py)
    terms[4], terms[5] = _two_product(-px, by)
    terms[6], terms[7] = _two_product(-ay, bx)
    terms[8], terms[9] = _two_product(ay, px)
    terms[10], terms[11] = _two_product(py, bx)
    h = np.zeros(12, dtype=np.float64)
    m = 0
    for k in range(12):
        q = terms[k]
        for i in range(m):
            q, h[i] = _two_sum(q, h[i])
        h[m] = q
        m += 1
    for i in range(m - 1, -1, -1):
        if h[i] > 0.0:
            return 1
        if h[i] < 0.0:
            return -1
    return 0


@njit(cache=True)
def _orient_sign(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    """Sign of orient2d(a, b, p): +1 when p lies left of a->b (Shewchuk's filter)."""
    detleft = (ax - px) * (by - py)
    detright = (ay - py) * (bx - px)
    det = detleft - detright
    if detleft > 0.0:
        if detright <= 0.0:
            return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
        detsum = detleft + detright
    elif detleft < 0.0:
        if detright >= 0.0:
            return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
        detsum = -detleft - detright
    else:
        return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
    errbound = _CCW_ERRBOUND_A * detsum
    if det >= errbound:
        return 1
    if -det >= errbound:
        return -1
    return _orient_exact_sign(ax, ay, bx, by, px, py)


@njit(cache=True)
def _crosses(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> bool:
    """Whether edge a-b crosses the ray from p towards +x (half-open in y)."""
    if (ay > py) == (by > py):
        return False
    if ax < px and bx < px:
        return False
    if ax > px and bx > px:
        return True
    o = _orient_sign(ax, ay, bx, by, px, py)
    if by > ay:
        return o > 0
    return o < 0


# --------------------------------------------------------------------------- queries


@njit(cache=True)
def _cell_of(
    x: float, y: float, gx0: float, gy0: float, dx: float, dy: float, ncol: int, nrow: int
) -> int:
    fx = (x - gx0) / dx
    fy = (y - gy0) / dy
    if not (fx >= 0.0 and fy >= 0.0 and fx <= ncol and fy <= nrow):
        return -1
    col = min(int(fx), ncol - 1)
    row = min(int(fy), nrow - 1)
    return row * ncol + col


# Coordinates nearer to 0 than this are taken as 0: products of such numbers
# (or of differences between them) underflow, and then no sign is exact.
TINY = 1e-100


@njit(cache=True)
def _flush(v: float) -> float:
    return 0.0 if abs(v) < TINY else v


@njit(cache=True)
def _wrap_lon(x: float) -> float:
    if x >= 180.0 or x < -180.0:
        return x - 360.0 * math.floor((x + 180.0) / 360.0)
    return _flush(x)


@njit(cache=True)
def _pair_inside(p: int, x: float, y: float, pairs: np.ndarray, edges: np.ndarray) -> bool:
    inside = bool(pairs[p, 1] != 0)
    for q in range(pairs[p, 2], pairs[p, 3]):
        if _crosses(edges[q, 0], edges[q, 1], edges[q, 2], edges[q, 3], x, y):
            inside = not inside
    return inside


@njit(parallel=True, cache=True)
def locate_kernel(
    lon: np.ndarray,  # float64[n]
    lat: np.ndarray,  # float64[n]
    gx0: float,
    gy0: float,
    inv_dx: float,
    inv_dy: float,
    ncol: int,
    nrow: int,
    cell_answer: np.ndarray,  # int32[ncell]: territory; -1 none; <= -2: blob offset -2 - v
    blob: np.ndarray,  # float64: per cell [npair, (territory, k, nedge, nedge * (ax, ay, bx, by))...]
    out: np.ndarray,  # int32[n]
) -> None:
    """Deepest territory per point.

    Random points make this memory-bound, so the layout minimizes dependent
    loads: ``cell_answer`` settles empty cells and cells whose deepest
    territory covers them whole in one access; any other cell's pairs and
    their edges lie together in ``blob``, deepest territory first, read in
    sequence. (Resolving points in blocks, cell loads first, measured slower.)
    """
    for i in prange(lon.shape[0]):
        x = _wrap_lon(lon[i])
        y = _flush(lat[i])
        res = -1
        fx = (x - gx0) * inv_dx
        fy = (y - gy0) * inv_dy
        if fx >= 0.0 and fy >= 0.0 and fx <= ncol and fy <= nrow:
            res = cell_answer[min(int(fy), nrow - 1) * ncol + min(int(fx), ncol - 1)]
            if res <= -2:
                o = -2 - res
                res = -1
                npair = int(blob[o])
                o += 1
                for _ in range(npair):
                    inside = blob[o + 1] != 0.0
                    ne = int(blob[o + 2])
                    q = o + 3
                    for _e in range(ne):
                        if _crosses(blob[q], blob[q + 1], blob[q + 2], blob[q + 3], x, y):
                            inside = not inside
                        q += 4
                    if inside:
                        res = int(blob[o])
                        break
                    o = q
        out[i] = res


@njit(cache=True)
def build_blob(
    cell_start: np.ndarray,  # int32[ncell + 1]
    pairs: np.ndarray,  # int32[npair, 4]
    edges: np.ndarray,  # float64[nentry, 4]
    cell_answer: np.ndarray,  # int32[ncell], in: -2 where the cell needs tests; out: offsets
) -> np.ndarray:
    """Lay out, cell after cell, the pairs and edges that ``locate_kernel`` reads."""
    ncell = cell_answer.shape[0]
    size = 0
    for c in range(ncell):
        if cell_answer[c] == -2:
            size += 1
            for p in range(cell_start[c], cell_start[c + 1]):
                size += 3 + 4 * (pairs[p, 3] - pairs[p, 2])
    blob = np.empty(size, dtype=np.float64)
    o = 0
    for c in range(ncell):
        if cell_answer[c] != -2:
            continue
        cell_answer[c] = -2 - o
        blob[o] = cell_start[c + 1] - cell_start[c]
        o += 1
        for p in range(cell_start[c], cell_start[c + 1]):
            blob[o] = pairs[p, 0]
            blob[o + 1] = pairs[p, 1]
            blob[o + 2] = pairs[p, 3] - pairs[p, 2]
            o += 3
            for q in range(pairs[p, 2], pairs[p, 3]):
                for j in range(4):
                    blob[o + j] = edges[q, j]
                o += 4
    return blob


@njit(parallel=True, cache=True)
def within_kernel(
    lon: np.ndarray,  # float64[n]
    lat: np.ndarray,  # float64[n]
    point_zone: np.ndarray,  # int32[n] or int32[1] (one zone for all points); -1: no zone
    cover: np.ndarray,  # uint8[nzone, nterr]: zone z covers territory t
    gx0: float,
    gy0: float,
    dx: float,
    dy: float,
    ncol: int,
    nrow: int,
    cell_answer: np.ndarray,  # int32[ncell], as in locate_kernel
    cell_start: np.ndarray,  # int32[ncell + 1]: the cell's rows of ``pairs``
    pairs: np.ndarray,  # int32[npair, 4]: territory, k, first edge, end edge
    edges: np.ndarray,  # float64[nentry, 4]: ax, ay, bx, by
    out: np.ndarray,  # bool[n]
) -> None:
    """Whether each point lies in a territory its zone covers. A cell whose
    deepest territory covers it whole and belongs to the zone answers at once;
    otherwise every territory of the cell is tested until one is in the zone."""
    one_zone = point_zone.shape[0] == 1
    for i in prange(lon.shape[0]):
        z = point_zone[0] if one_zone else point_zone[i]
        res = False
        if z >= 0:
            x = _wrap_lon(lon[i])
            y = _flush(lat[i])
            c = _cell_of(x, y, gx0, gy0, dx, dy, ncol, nrow)
            if c >= 0 and cell_answer[c] >= 0 and cover[z, cell_answer[c]] != 0:
                res = True
            elif c >= 0:
                for p in range(cell_start[c], cell_start[c + 1]):
                    if cover[z, pairs[p, 0]] != 0 and _pair_inside(p, x, y, pairs, edges):
                        res = True
                        break
        out[i] = res


# --------------------------------------------------------------------------- build


@njit(cache=True)
def _xint(ax: float, ay: float, bx: float, by: float, y: float) -> float:
    """Where a non-horizontal edge meets the line at height y (floating point)."""
    return ax + (y - ay) * (bx - ax) / (by - ay)


@njit(cache=True)
def assign_edges(
    ax: np.ndarray,  # float64[nedge]
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    gx0: float,
    gy0: float,
    dx: float,
    dy: float,
    ncol: int,
    nrow: int,
    tol: float,
    out_key: np.ndarray,  # int64[count]; empty to count only
) -> int:
    """Conservatively rasterize edges: every cell an edge comes within ``tol`` of.

    Emits ``cell * nedge + edge`` keys (so sorting groups them by cell, then by
    territory, since a territory's edges are contiguous). Listing a few cells too
    many is harmless; missing one would not be, hence the tolerance, which is far
    above the rounding error of the arithmetic here and in the sweep.
    """
    nedge = ax.shape[0]
    fill = out_key.shape[0] > 0
    n = 0
    for e in range(nedge):
        x0 = ax[e]
        y0 = ay[e]
        x1 = bx[e]
        y1 = by[e]
        ylo = min(y0, y1) - tol
        yhi = max(y0, y1) + tol
        r0 = max(math.floor((ylo - gy0) / dy), 0)
        r1 = min(math.floor((yhi - gy0) / dy), nrow - 1)
        for r in range(r0, r1 + 1):
            blo = max(gy0 + r * dy - tol, ylo)
            bhi = min(gy0 + (r + 1) * dy + tol, yhi)
            if y0 == y1:
                xa = min(x0, x1)
                xb = max(x0, x1)
            else:
                ta = min(max((blo - y0) / (y1 - y0), 0.0), 1.0)
                tb = min(max((bhi - y0) / (y1 - y0), 0.0), 1.0)
                xa = x0 + ta * (x1 - x0)
                xb = x0 + tb * (x1 - x0)
                if xa > xb:
                    xa, xb = xb, xa
            c0 = max(math.floor((xa - tol - gx0) / dx), 0)
            c1 = min(math.floor((xb + tol - gx0) / dx), ncol - 1)
            for c in range(c0, c1 + 1):
                if fill:
                    out_key[n] = np.int64(r * ncol + c) * nedge + e
                n += 1
    return n


@njit(cache=True)
def _has_key(keys: np.ndarray, key: np.int64) -> bool:
    i = np.searchsorted(keys, key)
    return bool(i < keys.shape[0] and keys[i] == key)


@njit(cache=True)
def close_chains(
    keys: np.ndarray,  # int64[nkey], sorted unique cell*nedge+edge
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    edge_prev: np.ndarray,  # int32[nedge]: previous edge of the same ring
    edge_next: np.ndarray,  # int32[nedge]
    gx0: float,
    gy0: float,
    dx: float,
    dy: float,
    ncol: int,
    tol: float,
    out_key: np.ndarray,  # int64[count]; empty to count only
) -> int:
    """List the extra edges that keep a cell's parity bit ``k`` constant.

    The unlisted edges right of a cell cross a point's ray when they span its
    height. Around a vertex where two unlisted edges meet, the two switch
    together and the parity holds. But where a listed edge ends at a vertex
    right of the cell and inside its band of heights, the unlisted edge going
    on from there would switch alone: so it is listed too, and the next one,
    until the ring leaves the band or comes back to a listed edge.
    """
    nedge = ax.shape[0]
    fill = out_key.shape[0] > 0
    n = 0
    for i in range(keys.shape[0]):
        cell = keys[i] // nedge
        e0 = np.int64(keys[i] - cell * nedge)
        row = cell // ncol
        col = cell - row * ncol
        x1 = gx0 + (col + 1) * dx
        ylo = gy0 + row * dy - tol
        yhi = gy0 + (row + 1) * dy + tol
        base = cell * nedge
        for direction in range(2):
            e = e0
            while True:
                # the vertex where the chain leaves edge e in this direction
                if direction == 0:
                    vx = bx[e]
                    vy = by[e]
                    nxt = np.int64(edge_next[e])
                else:
                    vx = ax[e]
                    vy = ay[e]
                    nxt = np.int64(edge_prev[e])
                if not (vx > x1 and vy > ylo and vy < yhi):
                    break
                if nxt == e0 or _has_key(keys, base + nxt):
                    break
                if fill:
                    out_key[n] = base + nxt
                n += 1
                e = nxt
    return n


@njit(cache=True)
def row_events(
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    edge_terr: np.ndarray,  # int32[nedge]
    gy0: float,
    dy: float,
    nrow: int,
    out_row: np.ndarray,  # int32[count]; empty to count only
    out_terr: np.ndarray,  # int32[count]
    out_x: np.ndarray,  # float64[count]
) -> int:
    """Where each edge crosses the bottom line of each grid row it spans."""
    fill = out_row.shape[0] > 0
    n = 0
    for e in range(ax.shape[0]):
        ylo = min(ay[e], by[e])
        yhi = max(ay[e], by[e])
        if ylo == yhi:
            continue
        r0 = max(math.floor((ylo - gy0) / dy) - 1, 0)
        r1 = min(math.floor((yhi - gy0) / dy) + 1, nrow - 1)
        for r in range(r0, r1 + 1):
            y = gy0 + r * dy
            if (ay[e] > y) != (by[e] > y):
                if fill:
                    out_row[n] = r
                    out_terr[n] = edge_terr[e]
                    out_x[n] = _xint(ax[e], ay[e], bx[e], by[e], y)
                n += 1
    return n


@njit(cache=True)
def sweep_pairs(
    keys: np.ndarray,  # int64[nkey], sorted unique cell*nedge+edge
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    edge_terr: np.ndarray,  # int32[nedge]
    nterr: int,
    ev_start: np.ndarray,  # int64[nrow + 1]: events of row r, by x descending
    ev_terr: np.ndarray,  # int32[nev]
    ev_x: np.ndarray,  # float64[nev]
    gx0: float,
    gy0: float,
    dx: float,
    dy: float,
    ncol: int,
    nrow: int,
    out_cell: np.ndarray,  # int64[count]; empty to count only
    out_terr: np.ndarray,  # int32[count]
    out_k: np.ndarray,  # uint8[count]
    out_kstart: np.ndarray,  # int64[count]: first key of the pair's edges
    out_kend: np.ndarray,  # int64[count]
) -> int:
    """One (cell, territory) pair per territory with edges near or covering a cell.

    Sweeps each row's bottom line from east to west, toggling a territory's
    parity at every crossing, so at each cell's south-west corner ``q`` the full
    ray parity of every territory is known. A territory with listed edges gets
    ``k`` = that parity XOR the listed edges' own crossings of the ray from
    ``q``; both are computed with the same floating-point formula, so only the
    unlisted (far) edges remain in ``k``, where rounding cannot matter.
    """
    nedge = ax.shape[0]
    fill = out_cell.shape[0] > 0
    parity = np.zeros(nterr, dtype=np.uint8)
    odd = np.empty(nterr, dtype=np.int32)
    odd_pos = np.full(nterr, -1, dtype=np.int32)
    stamp = np.full(nterr, -1, dtype=np.int64)
    n = 0
    for r in range(nrow):
        y = gy0 + r * dy
        parity[:] = 0
        nodd = 0
        odd_pos[:] = -1
        ev = ev_start[r]
        ev_end = ev_start[r + 1]
        # keys of this row's cells: a contiguous, sorted range
        krow_lo = np.searchsorted(keys, np.int64(r * ncol) * nedge)
        krow_hi = np.searchsorted(keys, np.int64((r + 1) * ncol) * nedge)
        kpos = krow_hi
        for c in range(ncol - 1, -1, -1):
            x = gx0 + c * dx
            while ev < ev_end and ev_x[ev] > x:
                t = ev_terr[ev]
                parity[t] ^= 1
                if parity[t]:
                    odd[nodd] = t
                    odd_pos[t] = nodd
                    nodd += 1
                else:
                    j = odd_pos[t]
                    last = odd[nodd - 1]
                    odd[j] = last
                    odd_pos[last] = j
                    odd_pos[t] = -1
                    nodd -= 1
                ev += 1
            cell = np.int64(r * ncol + c)
            kend = kpos
            kbeg = kend
            lo_key = cell * nedge
            while kbeg > krow_lo and keys[kbeg - 1] >= lo_key:
                kbeg -= 1
            kpos = kbeg
            i = kbeg
            while i < kend:
                t = edge_terr[keys[i] - lo_key]
                j = i
                k = parity[t]
                while j < kend and edge_terr[keys[j] - lo_key] == t:
                    e = keys[j] - lo_key
                    if (ay[e] > y) != (by[e] > y) and _xint(ax[e], ay[e], bx[e], by[e], y) > x:
                        k ^= 1
                    j += 1
                if fill:
                    out_cell[n] = cell
                    out_terr[n] = t
                    out_k[n] = k
                    out_kstart[n] = i
                    out_kend[n] = j
                n += 1
                stamp[t] = cell
                i = j
            for m in range(nodd):
                t = odd[m]
                if stamp[t] != cell:
                    if fill:
                        out_cell[n] = cell
                        out_terr[n] = t
                        out_k[n] = 1
                        out_kstart[n] = 0
                        out_kend[n] = 0
                    n += 1
    return n


# --------------------------------------------------------------------------- distances


@njit(parallel=True, cache=True)
def great_circle_kernel(
    lon1: np.ndarray,  # float64[n], degrees
    lat1: np.ndarray,
    lon2: np.ndarray,
    lat2: np.ndarray,
    out: np.ndarray,  # float64[n], metres
) -> None:
    """Haversine on a sphere of the mean Earth radius (error < 0.5 % vs WGS 84)."""
    r = math.pi / 180.0
    for i in prange(lon1.shape[0]):
        p1 = lat1[i] * r
        p2 = lat2[i] * r
        sdp = math.sin((p2 - p1) * 0.5)
        sdl = math.sin((lon2[i] - lon1[i]) * r * 0.5)
        h = sdp * sdp + math.cos(p1) * math.cos(p2) * sdl * sdl
        h = min(max(h, 0.0), 1.0)
        out[i] = 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(h))
