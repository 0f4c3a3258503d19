"""Great-circle distance and speed between scans, for cloned-code detection.

A serial seen in two places faster than a plane flies was read from two labels:
one of them is a copy. These functions answer for whole arrays of scan pairs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geo import kernels
from geo._threads import PARALLEL_LOCK

EARTH_RADIUS_M = kernels.EARTH_RADIUS_M


def _same_shape(*arrays: ArrayLike) -> list[NDArray[np.float64]]:
    out = [np.ascontiguousarray(a, dtype=np.float64) for a in arrays]
    if any(a.ndim != 1 for a in out) or len({a.shape for a in out}) != 1:
        raise ValueError(f"expected 1-D arrays of one length, got {[a.shape for a in out]}")
    return out


def great_circle_m(
    lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
) -> NDArray[np.float64]:
    """Distance in metres between (lon1, lat1) and (lon2, lat2), degrees, pairwise.

    Haversine on a sphere of the IUGG mean radius: within 0.5 % of the WGS 84
    ellipsoid, far below what separates a truck from a plane.
    """
    x1, y1, x2, y2 = _same_shape(lon1, lat1, lon2, lat2)
    out = np.empty(x1.shape[0], dtype=np.float64)
    with PARALLEL_LOCK:
        kernels.great_circle_kernel(x1, y1, x2, y2, out)
    return out


def speed_kmh(
    lon1: ArrayLike,
    lat1: ArrayLike,
    t1_ms: ArrayLike,
    lon2: ArrayLike,
    lat2: ArrayLike,
    t2_ms: ArrayLike,
) -> NDArray[np.float64]:
    """Ground speed in km/h needed to be at both scans, pairwise.

    Times are integer milliseconds since the epoch, as the ledger stores them;
    their order does not matter. Two scans at the same instant in different
    places give ``inf``; in the same place, 0.
    """
    dist = great_circle_m(lon1, lat1, lon2, lat2)
    t1 = np.asarray(t1_ms, dtype=np.int64)
    t2 = np.asarray(t2_ms, dtype=np.int64)
    if t1.shape != dist.shape or t2.shape != dist.shape:
        raise ValueError(f"times have shapes {t1.shape} and {t2.shape}, points {dist.shape}")
    hours = np.abs(t2 - t1).astype(np.float64) / 3_600_000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        v: NDArray[np.float64] = (dist / 1000.0) / hours
    v[(hours == 0) & (dist == 0)] = 0.0
    return v
