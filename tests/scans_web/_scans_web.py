"""Helpers of the scans web tests: unit keys, scanned strings, batch bodies."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from ledger.models import Entry

GTIN = "09506000134352"
PALLET = "00/106141411234567897"
DAY_MS = 86_400_000


def unit(serial: str) -> str:
    return f"01/{GTIN}/21/{serial}"


def hri(serial: str) -> str:
    """What a scanner types for unit ``serial`` (GS1 human-readable form)."""
    return f"(01){GTIN}(21){serial}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rfc3339(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def entry_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Entry)) or 0)


@dataclass(frozen=True)
class HandheldKey:
    device_id: str
    key: Ed25519PrivateKey

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.key.sign(body)).decode()


def batch_body(device_id: str, events: list[dict[str, Any]]) -> bytes:
    return json.dumps({"device_id": device_id, "events": events}).encode()


def event(seq: int, serial: str = "U1", kind: str = "receive", **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "device_seq": seq,
        "scanned_at": rfc3339(now_ms() - 60_000),
        "kind": kind,
        "code": hri(serial),
        "counterparty": "MFR",
    }
    fields.update(extra)
    return fields


PostBatch = Callable[..., TestResponse]
