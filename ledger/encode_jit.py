"""The loop of :mod:`ledger.encode_kernel`, compiled by numba (imported only when
a chunk is first encoded). The functions live at module level so that numba can
cache their machine code on disk (``cache=True``): a closure would be compiled
again in every process, which takes about ten seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = ["build"]


@njit(cache=True, inline="always")
def put(out: Any, pos: int, src: Any, lo: int, hi: int) -> int:
    for j in range(lo, hi):
        out[pos] = src[j]
        pos += 1
    return pos


@njit(cache=True, inline="always")
def plain(src: Any, lo: int, hi: int) -> bool:
    for j in range(lo, hi):
        b = src[j]
        if b < 0x20 or b > 0x7E or b == 0x22 or b == 0x5C:
            return False
    return True


@njit(cache=True, inline="always")
def coded(code_id: int, is_null: bool, has: Any, null_has: Any) -> bool:
    """The code book has a code for this id (for a null id: a code for None)."""
    if is_null:
        return bool(null_has[0] != 0)
    return 0 <= code_id < len(has) and bool(has[code_id])


@njit(cache=True)
def number(out: Any, pos: int, value: int) -> int:
    if value < 0:
        out[pos] = 0x2D
        pos += 1
        value = -value
    digits = 1
    probe = value
    while probe >= 10:
        probe //= 10
        digits += 1
    for k in range(digits - 1, -1, -1):
        out[pos + k] = 0x30 + value % 10
        value //= 10
    return pos + digits


@njit(cache=True, inline="always")
def null(out: Any, pos: int) -> int:
    out[pos], out[pos + 1], out[pos + 2], out[pos + 3] = 0x6E, 0x75, 0x6C, 0x6C
    return pos + 4


@njit(cache=True, inline="always")
def put_code(out: Any, pos: int, data: Any, offsets: Any, code_id: int, is_null: bool) -> int:
    """The quoted code of ``code_id`` from a code table (its null id's, after the
    last id, where ``is_null``)."""
    k = len(offsets) - 2 if is_null else code_id
    return put(out, pos, data, offsets[k], offsets[k + 1])


@njit(cache=True, inline="always")
def put_found(out: Any, pos: int, data: Any, offsets: Any, k: int, missing: bool) -> int:
    """Code ``k`` of a code table, or ``""`` where it is ``missing`` (as
    ``codes.parties.get(id, "")`` reads an id the code book lacks)."""
    if missing:
        out[pos], out[pos + 1] = 0x22, 0x22
        return pos + 2
    return put(out, pos, data, offsets[k], offsets[k + 1])


@njit(cache=True, inline="always")
def number_or_null(out: Any, pos: int, value: int, is_null: bool) -> int:
    """A nullable integer as JSON spells it: ``null``, or its digits."""
    if is_null:
        return null(out, pos)
    return number(out, pos, value)


@njit(cache=True)
def pad(out: Any, pos: int, value: int, width: int) -> int:
    for k in range(width - 1, -1, -1):
        out[pos + k] = 0x30 + value % 10
        value //= 10
    return pos + width


@njit(cache=True)
def build(  # type: ignore[no-untyped-def]  # numba types the arrays
    n, room,
    seq, seq_n, at, at_n,
    kind_o, kind_d, kind_n, unit_o, unit_d, unit_n,
    party, party_n, cp, cp_n, site, site_n, lat, lat_n, lon, lon_n,
    cont_o, cont_d, cont_n, dev_o, dev_d, dev_n, dseq, dseq_n,
    anom_o, anom_d, anom_n, prev_o, prev_d, prev_n, ret, ret_n,
    pc_o, pc_d, pc_has, pc_null, sc_o, sc_d, sc_has, sc_null,
    hexd, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15, p16,
):  # fmt: skip
    out = np.empty(room, np.uint8)
    offsets = np.empty(n + 1, np.int64)
    odd = np.zeros(n, np.bool_)
    pos = 0
    for i in range(n):
        offsets[i] = pos
        # what the reference would refuse or spell otherwise
        bad = seq_n[i] or at_n[i] or kind_n[i] or unit_n[i] or dev_n[i] or anom_n[i]
        bad = bad or prev_n[i]
        a = at[i]
        if not bad:
            bad = a < -30_610_224_000_000 or a >= 253_402_300_800_000  # years 1000-9999
        if not bad:  # the one integer whose minus sign number() cannot spell
            low = -9_223_372_036_854_775_807 - 1
            bad = seq[i] == low or lat[i] == low or lon[i] == low or dseq[i] == low
            bad = bad or ret[i] == low
        p, c, s = party[i], cp[i], site[i]
        bad = bad or not coded(p, party_n[i], pc_has, pc_null)
        bad = bad or not coded(c, cp_n[i], pc_has, pc_null)
        bad = bad or not coded(s, site_n[i], sc_has, sc_null)
        if not bad:
            bad = not (
                plain(kind_d, kind_o[i], kind_o[i + 1])
                and plain(unit_d, unit_o[i], unit_o[i + 1])
                and plain(dev_d, dev_o[i], dev_o[i + 1])
                and plain(anom_d, anom_o[i], anom_o[i + 1])
                and (cont_n[i] or plain(cont_d, cont_o[i], cont_o[i + 1]))
            )
        if bad:
            odd[i] = True
            continue
        pos = put(out, pos, p0, 0, len(p0))
        pos = put(out, pos, anom_d, anom_o[i], anom_o[i + 1])
        pos = put(out, pos, p1, 0, len(p1))
        # the time: floor division keeps times before 1970 as the reference has them
        days = a // 86_400_000
        rest = a - days * 86_400_000
        z = days + 719_468
        era = (z if z >= 0 else z - 146_096) // 146_097
        doe = z - era * 146_097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146_096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        day = doy - (153 * mp + 2) // 5 + 1
        month = mp + 3 if mp < 10 else mp - 9
        year = yoe + era * 400 + (1 if month <= 2 else 0)
        pos = pad(out, pos, year, 4)
        out[pos] = 0x2D
        pos = pad(out, pos + 1, month, 2)
        out[pos] = 0x2D
        pos = pad(out, pos + 1, day, 2)
        out[pos] = 0x54
        pos = pad(out, pos + 1, rest // 3_600_000, 2)
        out[pos] = 0x3A
        pos = pad(out, pos + 1, rest // 60_000 % 60, 2)
        out[pos] = 0x3A
        pos = pad(out, pos + 1, rest // 1000 % 60, 2)
        out[pos] = 0x2E
        pos = pad(out, pos + 1, rest % 1000, 3)
        pos = put(out, pos, p2, 0, len(p2))
        if cont_n[i] or cont_o[i] == cont_o[i + 1]:
            out[pos] = 0x22
            out[pos + 1] = 0x22
            pos += 2
        else:
            out[pos] = 0x22
            pos = put(out, pos + 1, cont_d, cont_o[i], cont_o[i + 1])
            out[pos] = 0x22
            pos += 1
        pos = put(out, pos, p3, 0, len(p3))
        pos = put_code(out, pos, pc_d, pc_o, c, cp_n[i])
        pos = put(out, pos, p4, 0, len(p4))
        pos = put(out, pos, dev_d, dev_o[i], dev_o[i + 1])
        pos = put(out, pos, p5, 0, len(p5))
        pos = number_or_null(out, pos, dseq[i], dseq_n[i])
        pos = put(out, pos, p6, 0, len(p6))
        pos = put(out, pos, kind_d, kind_o[i], kind_o[i + 1])
        pos = put(out, pos, p7, 0, len(p7))
        pos = number_or_null(out, pos, lat[i], lat_n[i])
        pos = put(out, pos, p8, 0, len(p8))
        pos = number_or_null(out, pos, lon[i], lon_n[i])
        pos = put(out, pos, p9, 0, len(p9))
        pos = put_code(out, pos, pc_d, pc_o, p, party_n[i])
        pos = put(out, pos, p10, 0, len(p10))
        for j in range(prev_o[i], prev_o[i + 1]):
            b = prev_d[j]
            out[pos] = hexd[b >> 4]
            out[pos + 1] = hexd[b & 15]
            pos += 2
        if ret_n[i]:
            pos = put(out, pos, p13, 0, len(p13))
        else:
            pos = put(out, pos, p11, 0, len(p11))
            pos = number(out, pos, ret[i])
            pos = put(out, pos, p12, 0, len(p12))
        pos = number(out, pos, seq[i])
        pos = put(out, pos, p14, 0, len(p14))
        pos = put_code(out, pos, sc_d, sc_o, s, site_n[i])
        pos = put(out, pos, p15, 0, len(p15))
        pos = put(out, pos, unit_d, unit_o[i], unit_o[i + 1])
        pos = put(out, pos, p16, 0, len(p16))
    offsets[n] = pos
    return out[:pos], offsets, odd


@njit(cache=True)
def build_digests(  # type: ignore[no-untyped-def]  # numba types the arrays
    n, room,
    at, at_n, kind_o, kind_d, kind_n, unit_o, unit_d, unit_n,
    party, party_n, cp, cp_n, cont_o, cont_d, cont_n,
    pc_o, pc_d, pc_has, pc_null, packing,
    p0, p1, p2, p3, p4, p5, p6,
):  # fmt: skip
    """``ledger.hops._DIGEST`` of each row as ``verify_scan.receipt_digest`` calls
    ``scan_digest``: party and counterparty codes by id ('""' for an id the code
    book lacks, and for no counterparty), the container for packing only."""
    out = np.empty(room, np.uint8)
    offsets = np.empty(n + 1, np.int64)
    odd = np.zeros(n, np.bool_)
    empty = len(pc_has) + 1  # not an id: '""'
    pos = 0
    for i in range(n):
        offsets[i] = pos
        if at_n[i] or kind_n[i] or unit_n[i] or at[i] == -9_223_372_036_854_775_807 - 1:
            odd[i] = True
            continue
        k0, k1 = kind_o[i], kind_o[i + 1]
        packs = k1 - k0 == len(packing)
        if packs:
            for j in range(len(packing)):
                if kind_d[k0 + j] != packing[j]:
                    packs = False
                    break
        into = packs and not cont_n[i] and cont_o[i + 1] > cont_o[i]
        if not (
            plain(kind_d, k0, k1)
            and plain(unit_d, unit_o[i], unit_o[i + 1])
            and (not into or plain(cont_d, cont_o[i], cont_o[i + 1]))
        ):
            odd[i] = True
            continue
        pos = put(out, pos, p0, 0, len(p0))
        pos = number(out, pos, at[i])
        pos = put(out, pos, p1, 0, len(p1))
        if into:
            out[pos] = 0x22
            pos = put(out, pos + 1, cont_d, cont_o[i], cont_o[i + 1])
            out[pos] = 0x22
            pos += 1
        else:
            out[pos], out[pos + 1] = 0x22, 0x22
            pos += 2
        pos = put(out, pos, p2, 0, len(p2))
        c = cp[i]
        k = empty if cp_n[i] or c < 0 or c >= len(pc_has) or not pc_has[c] else c
        pos = put_found(out, pos, pc_d, pc_o, k, k == empty)
        pos = put(out, pos, p3, 0, len(p3))
        pos = put(out, pos, kind_d, k0, k1)
        pos = put(out, pos, p4, 0, len(p4))
        p = party[i]
        if party_n[i]:
            k = len(pc_has) if pc_null[0] else empty
        else:
            k = p if 0 <= p < len(pc_has) and pc_has[p] else empty
        pos = put_found(out, pos, pc_d, pc_o, k, k == empty)
        pos = put(out, pos, p5, 0, len(p5))
        pos = put(out, pos, unit_d, unit_o[i], unit_o[i + 1])
        pos = put(out, pos, p6, 0, len(p6))
    offsets[n] = pos
    return out[:pos], offsets, odd
