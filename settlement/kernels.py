"""Numba kernels of the batch engine: plain functions over numpy arrays.

No objects, no I/O, no validation: :mod:`settlement.detection` and
:mod:`settlement.runs` check shapes and dtypes and then call these. Every kernel
walks the entries once in ``seq`` order, which is also time order per unit, so a
unit's history is replayed exactly as the ledger recorded it.

Kernels that keep per-unit state (allocation, custody, last location) split the
work by contiguous unit ranges instead of by entry ranges: each thread then owns
its units' state outright (no locking, no merging, no two threads writing one
cache line), at the cost of every thread reading the sequential ``unit`` column.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

# lat_e6/lon_e6 value of an entry without a location (no scan fix and no site):
# the ledger's column reader writes it, the kernels compare against it.
from ledger.columns import NO_COORD
from ledger.ids import EntryKind

__all__ = [
    "F_CLONE_AFTER_END",
    "F_CLONE_SPEED",
    "F_CROSS_REGION",
    "F_CUSTODY_BREAK",
    "F_OUT_OF_ZONE",
    "NO_COORD",
    "N_STATS",
    "PK_DEALER",
    "PK_DISTRIBUTOR",
    "PK_INSPECTOR",
    "PK_MANUFACTURER",
    "PK_OTHER",
    "PK_RETAILER",
    "S_EXCL_U",
    "S_EXCL_V",
    "S_GROSS_U",
    "S_GROSS_V",
    "S_MISSING_PRICE",
    "S_RET_U",
    "S_RET_V",
    "TERR_OUTSIDE",
    "TERR_UNLOCATED",
    "aggregate_sales",
    "connect_by_key",
    "detect",
    "great_circle_km",
    "receipt_timeliness",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(parallel: bool = False) -> Callable[[_F], _F]:
    """``numba.njit`` typed for mypy: the compiled function keeps its signature."""
    return cast(Callable[[_F], _F], numba.njit(cache=True, parallel=parallel, nogil=True))


def _inline() -> Callable[[_F], _F]:
    """A helper inlined into its caller at numba IR level: calls with array arguments
    otherwise pay reference-count updates on every call, in the hottest loop."""
    return cast(Callable[[_F], _F], numba.njit(cache=True, nogil=True, inline="always"))


I8 = npt.NDArray[np.int8]
I16 = npt.NDArray[np.int16]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
B1 = npt.NDArray[np.bool_]

# Entry kinds as EntryKind.code; checked against the enum so a reordering fails loudly.
K_COMMISSIONING = 0
K_PACKING = 1
K_UNPACKING = 2
K_SHIPPING = 3
K_RECEIVING = 4
K_RETAIL_SELLING = 5
K_INSPECTING = 6
K_RETURNING = 7
K_DECOMMISSIONING = 8
_EXPECTED = {
    EntryKind.COMMISSIONING: K_COMMISSIONING,
    EntryKind.PACKING: K_PACKING,
    EntryKind.UNPACKING: K_UNPACKING,
    EntryKind.SHIPPING: K_SHIPPING,
    EntryKind.RECEIVING: K_RECEIVING,
    EntryKind.RETAIL_SELLING: K_RETAIL_SELLING,
    EntryKind.INSPECTING: K_INSPECTING,
    EntryKind.RETURNING: K_RETURNING,
    EntryKind.DECOMMISSIONING: K_DECOMMISSIONING,
}
for _kind, _code in _EXPECTED.items():
    if _kind.code != _code:  # pragma: no cover - guards a change in ledger.ids
        raise ImportError(f"EntryKind.{_kind.name}.code is {_kind.code}, kernels expect {_code}")

# Party kinds (settlement.snapshot.PARTY_KINDS maps the stored strings to these).
PK_MANUFACTURER = 0
PK_DISTRIBUTOR = 1
PK_DEALER = 2
PK_RETAILER = 3
PK_INSPECTOR = 4
PK_OTHER = 5

#: Per-entry territory: not located at all / located but inside no territory.
TERR_UNLOCATED = -2
TERR_OUTSIDE = -1

# Finding bits in the per-entry flags.
F_OUT_OF_ZONE = 1
F_CROSS_REGION = 2
F_CUSTODY_BREAK = 4
F_CLONE_SPEED = 8
F_CLONE_AFTER_END = 16

# Custody states per unit while replaying.
_ST_UNKNOWN = 0
_ST_STOCK = 1
_ST_TRANSIT = 2
_ST_SOLD = 3
_ST_DECOMMISSIONED = 4

# Per-unit state row of detect (one cache line of int64).
_U_ALLOC = 0
_U_CUSTODIAN = 1
_U_HOLDER = 2
_U_BOUND = 3
_U_BITS = 4
_U_LAT = 5
_U_LON = 6
_U_MS = 7
_U_WIDTH = 8
_B_STATE = 0xF
_B_HAS_LOC = 0x10
_B_LOGISTIC = 0x20

# Columns of aggregate_sales' last axis.
S_GROSS_U = 0
S_RET_U = 1
S_EXCL_U = 2
S_GROSS_V = 3
S_RET_V = 4
S_EXCL_V = 5
S_MISSING_PRICE = 6
N_STATS = 7

_EARTH_KM = 6371.0088
_KM_PER_E6 = _EARTH_KM * math.pi / 180e6  # km per micro-degree along a great circle


@_jit()
def great_circle_km(lat1_e6: int, lon1_e6: int, lat2_e6: int, lon2_e6: int) -> float:
    """Haversine distance on the mean Earth radius; exact enough for a 900 km/h test."""
    f = math.pi / 180e6
    la1 = lat1_e6 * f
    la2 = lat2_e6 * f
    dla = la2 - la1
    dlo = (lon2_e6 - lon1_e6) * f
    s1 = math.sin(dla / 2.0)
    s2 = math.sin(dlo / 2.0)
    h = s1 * s1 + math.cos(la1) * math.cos(la2) * s2 * s2
    if h > 1.0:
        h = 1.0
    return 2.0 * _EARTH_KM * math.asin(math.sqrt(h))


@_inline()
def _is_ancestor_or_self(a: int, b: int, terr_anc: I32) -> bool:
    """Whether territory ``a`` is ``b`` or contains it (``terr_anc[b]`` lists b's chain)."""
    for d in range(terr_anc.shape[1]):
        x = terr_anc[b, d]
        if x < 0:
            return False
        if x == a:
            return True
    return False


@_inline()
def _covered(
    terr: int, t: int, p: int, ptr: I64, g_terr: I32, g_from: I64, g_to: I64, terr_anc: I32
) -> bool:
    """Whether party ``p`` holds a grant, valid at ``t``, on ``terr`` or a territory above it."""
    for d in range(terr_anc.shape[1]):
        a = terr_anc[terr, d]
        if a < 0:
            return False
        for k in range(ptr[p], ptr[p + 1]):
            if g_terr[k] == a and g_from[k] <= t and t < g_to[k]:
                return True
    return False


@_inline()
def _zones_overlap(
    p: int,
    q: int,
    t: int,
    a_ptr: I64,
    a_terr: I32,
    a_from: I64,
    a_to: I64,
    z_ptr: I64,
    z_terr: I32,
    z_from: I64,
    z_to: I64,
    terr_anc: I32,
) -> bool:
    """Whether party ``p``'s authorized zone and unit zone ``q`` share ground at ``t``.

    Two grants share ground when one territory contains the other (or they are equal).
    """
    for k in range(a_ptr[p], a_ptr[p + 1]):
        if not (a_from[k] <= t and t < a_to[k]):
            continue
        a = a_terr[k]
        for j in range(z_ptr[q], z_ptr[q + 1]):
            if not (z_from[j] <= t and t < z_to[j]):
                continue
            b = z_terr[j]
            if _is_ancestor_or_self(a, b, terr_anc) or _is_ancestor_or_self(b, a, terr_anc):
                return True
    return False


@_jit(parallel=True)
def detect(
    unit: I32,
    kind: I8,
    party: I32,
    counterparty: I32,
    at_ms: I64,
    lat_e6: I32,
    lon_e6: I32,
    entry_terr: I32,
    unit_product: I32,
    party_kind: I8,
    zone_ptr: I64,
    zone_terr: I32,
    zone_from: I64,
    zone_to: I64,
    auth_ptr: I64,
    auth_terr: I32,
    auth_from: I64,
    auth_to: I64,
    terr_anc: I32,
    max_kmh: float,
    min_km: float,
    n_parts: int,
) -> tuple[I8, I32, I32, I64]:
    """Replay every unit's history; return per-entry finding bits and responsible party,
    and per-unit allocated distributor and allocation row.

    ``zone_*`` is the CSR table of a distributor's unit zone (its own grants and its
    sub-distributors'); ``auth_*`` the table of a party's authorized zone (its own
    grants and its parents'). Logistic units (``unit_product < 0``) are skipped:
    the units packed in them carry their own entries.
    """
    n = unit.shape[0]
    n_units = unit_product.shape[0]
    flags = np.zeros(n, np.int8)
    resp = np.full(n, -1, np.int32)
    alloc_row = np.full(n_units, -1, np.int64)
    # One 64-byte row of state per unit, so replaying an entry touches one cache line
    # (entries arrive in time order, i.e. in random unit order).
    ust = np.empty((n_units, _U_WIDTH), np.int64)
    for part in numba.prange(n_parts):
        lo_u = part * n_units // n_parts
        hi_u = (part + 1) * n_units // n_parts
        for u in range(lo_u, hi_u):
            ust[u, _U_ALLOC] = -1
            ust[u, _U_CUSTODIAN] = -1
            ust[u, _U_HOLDER] = -1
            ust[u, _U_BOUND] = -1
            ust[u, _U_BITS] = _B_LOGISTIC if unit_product[u] < 0 else 0
            ust[u, _U_LAT] = 0
            ust[u, _U_LON] = 0
            ust[u, _U_MS] = 0
        for i in range(n):
            u = unit[i]
            # Contiguous unit ranges per thread: no two threads write the same cache line.
            if u < lo_u or u >= hi_u:
                continue
            row = ust[u]
            bits = row[_U_BITS]
            if bits & _B_LOGISTIC:
                continue
            k = kind[i]
            p = party[i]
            cp = counterparty[i]
            t = at_ms[i]
            f = 0
            st = bits & _B_STATE
            # Cloned code: seen after the end of its life. After a sale, only a customer
            # return or the unit's decommissioning are legitimate sightings.
            if st == _ST_DECOMMISSIONED or (
                st == _ST_SOLD and k != K_RETURNING and k != K_DECOMMISSIONING
            ):
                f |= F_CLONE_AFTER_END
            # Cloned code: two located scans further apart than a plane could fly.
            la = lat_e6[i]
            if la != NO_COORD:
                lo = lon_e6[i]
                if bits & _B_HAS_LOC:
                    dt_h = (t - row[_U_MS]) / 3.6e6
                    limit = max(min_km, max_kmh * dt_h) if dt_h > 0.0 else min_km
                    # Walking along a meridian then a parallel is never shorter than the
                    # great circle: when even that path is within reach, skip the trig.
                    dlon = abs(lo - row[_U_LON])
                    if dlon > 180_000_000:
                        dlon = 360_000_000 - dlon
                    upper = (abs(la - row[_U_LAT]) + dlon) * _KM_PER_E6
                    if upper > limit:
                        d = great_circle_km(row[_U_LAT], row[_U_LON], la, lo)
                        if d > min_km and (dt_h <= 0.0 or d / dt_h > max_kmh):
                            f |= F_CLONE_SPEED
                row[_U_LAT] = la
                row[_U_LON] = lo
                row[_U_MS] = t
                bits |= _B_HAS_LOC
            alloc_u = row[_U_ALLOC]
            # Custody break: the unit turns up with a party it was not handed to.
            if alloc_u >= 0 and st in (_ST_STOCK, _ST_TRANSIT):
                holder = row[_U_HOLDER]
                bound = row[_U_BOUND]
                broke = False
                if k == K_RECEIVING:
                    expected = bound if st == _ST_TRANSIT else holder
                    broke = expected >= 0 and p != expected
                elif k in (K_SHIPPING, K_RETAIL_SELLING, K_RETURNING):
                    if st == _ST_TRANSIT:
                        broke = p != bound and p != holder
                    else:
                        broke = holder >= 0 and p != holder
                if broke:
                    f |= F_CUSTODY_BREAK
            # Allocation: the first manufacturer -> distributor shipment.
            if (
                alloc_u < 0
                and k == K_SHIPPING
                and cp >= 0
                and party_kind[p] == PK_MANUFACTURER
                and party_kind[cp] == PK_DISTRIBUTOR
            ):
                row[_U_ALLOC] = cp
                alloc_row[u] = i
                row[_U_CUSTODIAN] = cp
            elif alloc_u >= 0 and party_kind[p] != PK_MANUFACTURER:
                q = alloc_u
                terr = entry_terr[i]
                located = terr != TERR_UNLOCATED
                in_zone = terr >= 0 and _covered(
                    terr, t, q, zone_ptr, zone_terr, zone_from, zone_to, terr_anc
                )
                custodial = k in (K_SHIPPING, K_RECEIVING, K_RETAIL_SELLING, K_RETURNING)
                if custodial and party_kind[p] == PK_DISTRIBUTOR:
                    if located:
                        keeps = in_zone
                    else:
                        keeps = _zones_overlap(
                            p, q, t, auth_ptr, auth_terr, auth_from, auth_to,
                            zone_ptr, zone_terr, zone_from, zone_to, terr_anc,
                        )  # fmt: skip
                    if keeps:
                        row[_U_CUSTODIAN] = p
                if (k in (K_RETAIL_SELLING, K_INSPECTING, K_RECEIVING)) and located and not in_zone:
                    f |= F_OUT_OF_ZONE
                # Shipping to any party outside the unit's zone is a cross-region
                # transfer: a dealer is authorized where its distributor is.
                if (
                    k == K_SHIPPING
                    and cp >= 0
                    and party_kind[cp] != PK_MANUFACTURER
                    and not _zones_overlap(
                        cp,
                        q,
                        t,
                        auth_ptr,
                        auth_terr,
                        auth_from,
                        auth_to,
                        zone_ptr,
                        zone_terr,
                        zone_from,
                        zone_to,
                        terr_anc,
                    )
                ):
                    f |= F_CROSS_REGION
            # Custody follows what was physically seen, as the ledger's custody rules do.
            if k == K_COMMISSIONING:
                st = _ST_STOCK
                row[_U_HOLDER] = p
                row[_U_BOUND] = -1
            elif k == K_SHIPPING:
                st = _ST_TRANSIT
                row[_U_HOLDER] = p
                row[_U_BOUND] = cp
            elif k == K_RECEIVING:
                st = _ST_STOCK
                row[_U_HOLDER] = p
                row[_U_BOUND] = -1
            elif k == K_RETAIL_SELLING:
                st = _ST_SOLD
                row[_U_HOLDER] = p
                row[_U_BOUND] = -1
            elif k == K_RETURNING:
                row[_U_HOLDER] = p
                if cp >= 0:
                    st = _ST_TRANSIT
                    row[_U_BOUND] = cp
                else:
                    st = _ST_STOCK
                    row[_U_BOUND] = -1
            elif k == K_DECOMMISSIONING:
                st = _ST_DECOMMISSIONED
                row[_U_BOUND] = -1
            row[_U_BITS] = (bits & ~_B_STATE) | st
            if f != 0:
                flags[i] = f
                resp[i] = row[_U_CUSTODIAN]
    alloc = ust[:, _U_ALLOC].astype(np.int32)
    return flags, resp, alloc, alloc_row


@_jit(parallel=True)
def aggregate_sales(
    unit: I32,
    kind: I8,
    party: I32,
    counterparty: I32,
    at_ms: I64,
    unit_product: I32,
    party_kind: I8,
    party_currency: I16,
    price: I64,
    unit_excluded: B1,
    start_ms: int,
    end_ms: int,
    n_parts: int,
) -> I64:
    """Per distributor and basis (0 sell-in, 1 sell-through): gross, returned and
    excluded units and list values in ``[start_ms, end_ms)``; shape (parties, 2, N_STATS).

    ``price[c, product]`` is the list price in currency ``c`` (-1: none, counted in
    ``S_MISSING_PRICE`` so the caller can name it). Units in ``unit_excluded``
    (confirmed diversion) are counted as excluded and their returns are ignored, so
    net = gross - returned - excluded never subtracts a unit twice.
    """
    n = unit.shape[0]
    n_parties = party_kind.shape[0]
    acc = np.zeros((n_parts, n_parties, 2, N_STATS), np.int64)
    chunk = (n + n_parts - 1) // n_parts
    for part in numba.prange(n_parts):
        lo = part * chunk
        hi = min(n, lo + chunk)
        a = acc[part]
        for i in range(lo, hi):
            t = at_ms[i]
            if t < start_ms or t >= end_ms:
                continue
            u = unit[i]
            prod = unit_product[u]
            if prod < 0:
                continue
            k = kind[i]
            p = party[i]
            cp = counterparty[i]
            d = -1
            basis = 0
            sign = 0
            if k == K_SHIPPING and cp >= 0:
                if party_kind[p] == PK_MANUFACTURER and party_kind[cp] == PK_DISTRIBUTOR:
                    d, basis, sign = cp, 0, 1
                elif party_kind[p] == PK_DISTRIBUTOR and (
                    party_kind[cp] == PK_DEALER or party_kind[cp] == PK_RETAILER
                ):
                    d, basis, sign = p, 1, 1
            elif k == K_RETAIL_SELLING and party_kind[p] == PK_DISTRIBUTOR:
                d, basis, sign = p, 1, 1
            elif k == K_RETURNING and cp >= 0:
                if party_kind[p] == PK_DISTRIBUTOR and party_kind[cp] == PK_MANUFACTURER:
                    d, basis, sign = p, 0, -1
                elif party_kind[cp] == PK_DISTRIBUTOR and (
                    party_kind[p] == PK_DEALER or party_kind[p] == PK_RETAILER
                ):
                    d, basis, sign = cp, 1, -1
            if d < 0:
                continue
            v = price[party_currency[d], prod]
            if v < 0:
                a[d, basis, S_MISSING_PRICE] += 1
                v = 0
            if unit_excluded[u]:
                if sign > 0:
                    a[d, basis, S_GROSS_U] += 1
                    a[d, basis, S_GROSS_V] += v
                    a[d, basis, S_EXCL_U] += 1
                    a[d, basis, S_EXCL_V] += v
            elif sign > 0:
                a[d, basis, S_GROSS_U] += 1
                a[d, basis, S_GROSS_V] += v
            else:
                a[d, basis, S_RET_U] += 1
                a[d, basis, S_RET_V] += v
    out = np.zeros((n_parties, 2, N_STATS), np.int64)
    for part in range(n_parts):
        out += acc[part]
    return out


@_jit(parallel=True)
def receipt_timeliness(
    unit: I32,
    kind: I8,
    party: I32,
    counterparty: I32,
    at_ms: I64,
    unit_product: I32,
    n_parties: int,
    start_ms: int,
    end_ms: int,
    max_lag_ms: int,
    n_parts: int,
) -> I64:
    """Per party: receipts in the window, and those scanned within ``max_lag_ms`` of
    the shipment addressed to that party; shape (parties, 2).

    A late receipt scan hides where a unit really was in between, which is why the
    scorecard rewards timeliness.
    """
    n = unit.shape[0]
    n_units = unit_product.shape[0]
    shipped_ms = np.full(n_units, -1, np.int64)
    shipped_to = np.full(n_units, -1, np.int32)
    acc = np.zeros((n_parts, n_parties, 2), np.int64)
    for part in numba.prange(n_parts):
        lo_u = part * n_units // n_parts
        hi_u = (part + 1) * n_units // n_parts
        for i in range(n):
            u = unit[i]
            if u < lo_u or u >= hi_u or unit_product[u] < 0:
                continue
            k = kind[i]
            if k == K_SHIPPING:
                shipped_ms[u] = at_ms[i]
                shipped_to[u] = counterparty[i]
            elif k == K_RECEIVING:
                t = at_ms[i]
                p = party[i]
                if start_ms <= t and t < end_ms:
                    acc[part, p, 0] += 1
                    if shipped_to[u] == p and t - shipped_ms[u] <= max_lag_ms:
                        acc[part, p, 1] += 1
                shipped_to[u] = -1
    out = np.zeros((n_parties, 2), np.int64)
    for part in range(n_parts):
        out += acc[part]
    return out


@_jit()
def connect_by_key(member: I64, key: I64, n_members: int) -> I64:
    """Connected components of members that share a key (union-find).

    ``member[i]`` (0..n_members-1) holds ``key[i]``; two members holding one key are
    connected, transitively. Returns each member's component root: the smallest
    member index of its component. Used to merge alerts that share a unit into one
    incident (:mod:`settlement.incidents`).
    """
    parent = np.arange(n_members, dtype=np.int64)
    order = np.argsort(key, kind="mergesort")
    for j in range(1, order.shape[0]):
        a = order[j - 1]
        b = order[j]
        if key[a] != key[b]:
            continue
        ra = member[a]
        while parent[ra] != ra:
            parent[ra] = parent[parent[ra]]
            ra = parent[ra]
        rb = member[b]
        while parent[rb] != rb:
            parent[rb] = parent[parent[rb]]
            rb = parent[rb]
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb
    for m in range(n_members):
        r = m
        while parent[r] != r:
            r = parent[r]
        parent[m] = r
    return parent
