"""What callers hand the ledger to append, and what they get back per hop."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, NamedTuple

from ledger.canonical import _code, _s
from ledger.ids import EntryKind

__all__ = ["Hop", "HopResult", "scan_digest"]


@dataclass(frozen=True, slots=True)
class Hop:
    """One observation of one unit or logistic unit, as a scanner or partner reported it.

    A hop naming an SSCC covers the logistic unit and, for shipping, receiving,
    returning and the like, every unit packed in it (recursively): one entry each.
    """

    unit: str  # canonical key: 01/{gtin14}/21/{serial} or 00/{sscc18}
    kind: EntryKind
    party: str  # code of the party that made the observation / performed the step
    at_ms: int  # when it happened (device clock), ms since the Unix epoch, UTC
    counterparty: str | None = None  # ship-to, received-from, returned-to
    site: str | None = None  # site code; its coordinates are used when lat/lon absent
    lat_e6: int | None = None
    lon_e6: int | None = None
    container: str | None = None  # packing: the SSCC key the unit goes into
    device: str = ""
    device_seq: int | None = None  # with device: identifies the scan for idempotency
    note: str = ""  # what intake noticed about the scan itself (e.g. device clock ahead)
    # The party may act only within its custody (a distributor's device, token or
    # staff): the append refuses what ledger.permissions does not allow it.
    restricted: bool = False
    # An error declaration (kind error_declaration, EPCIS 2.0 errorDeclaration): the
    # seq of the entry it retracts, an entry of ``unit``; ``note`` says why.
    retracts: int | None = None


class HopResult(NamedTuple):
    """``accepted`` (with the seqs appended), ``duplicate`` (the original seqs: the
    same scan was stored before under this device and device_seq), ``conflict``
    (a *different* scan is stored under this device and device_seq; nothing
    appended, the device must resync its counter) or ``rejected`` (with the reason;
    nothing appended for this hop).

    A named tuple: one is made per hop on the append path, where a frozen
    dataclass costs several times more to build.
    """

    status: Literal["accepted", "duplicate", "conflict", "rejected"]
    seqs: tuple[int, ...] = ()
    anomaly: str = ""
    reason: str = ""


def scan_digest(
    unit_key: str,
    kind: str,
    at_ms: int,
    party: str,
    counterparty: str | None,
    container: str | None,
) -> bytes:
    """SHA-256 (32 bytes) of what one scan said, stored in ``scan_receipts.content_hash``.

    A replay of (device, device_seq) is a duplicate only when its digest equals the
    stored one. The fields are the canonical unit key (``01/{gtin14}/21/{serial}``
    or ``00/{sscc18}``), the entry kind value, the time in ms since the epoch, the
    party code, the counterparty code and the container key (``""`` when absent),
    all of which the ledger entries record, so verification can re-derive the
    digest from the entry of the scanned unit. Encoding: UTF-8 JSON, keys sorted,
    no whitespace, non-ASCII as is (``json.dumps(doc, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)``, spelled with one format string
    and the canonical encoder's string quoting: it runs for every scan appended).
    """
    raw = _DIGEST % (
        at_ms,
        _s(container) if container else '""',
        _code(counterparty) if counterparty else '""',
        _code(kind),
        _code(party),
        _s(unit_key),
    )
    return hashlib.sha256(raw.encode("utf-8")).digest()


_DIGEST = '{"at_ms":%d,"container":%s,"counterparty":%s,"kind":%s,"party":%s,"unit":%s}'
