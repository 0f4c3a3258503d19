"""A small world for the risk assessment and credit gate tests (area C): the maker MFR
(EUR) with its handheld HH-M, distributors D-ONE, D-TWO (EUR) and D-YEN (JPY), the
dealer DLR; one item W at 100.00 EUR / 15000 JPY list price; units commissioned at
MFR; ratings of a chosen grade and limits put in force.

Ratings are stored as rows of the chosen grade (the rating model's scoring is area
A's and tested there; here only the grade matters); limits go through area A's
:func:`risk.limits.set_limit_in`, as rating or an override would."""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from ledger import EntryKind, Hop, append_hops
from ledger.ids import gs1_check_digit, sscc_key, unit_key
from ledger.models import Party
from risk.limits import set_limit_in
from risk.models import CreditRating
from scanners import generate_device_key, register_device
from settlement.common import Actor
from settlement.models import PriceList

K = EntryKind
FINANCE = Actor("fiona", "finance", None, None)
MANAGER = Actor("carl", "channel_manager", None, None)
AUDITOR = Actor("aude", "auditor", None, None)


def _gtin(n: int) -> str:
    body = f"095060002{n:04d}"
    return body + str(gs1_check_digit(body))


W = _gtin(1)  # 100.00 EUR, 15000 JPY


def sscc(n: int) -> str:
    body = f"0950600{n:010d}"
    return sscc_key(body + str(gs1_check_digit(body)))


def hri(key: str) -> str:
    """What a scanner types for the unit ``key`` (GS1 human-readable form)."""
    parts = key.split("/")
    return "".join(f"({ai}){value}" for ai, value in zip(parts[::2], parts[1::2], strict=True))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rfc3339(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


@dataclass
class World:
    engine: Engine
    ids: dict[str, int] = field(default_factory=dict)
    serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    device_seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    key: Ed25519PrivateKey | None = None

    def units(self, n: int) -> list[str]:
        """``n`` units of W commissioned at MFR (an hour ago); their keys."""
        at = now_ms() - 3_600_000
        keys = [unit_key(W, f"C{next(self.serial)}") for _ in range(n)]
        results = append_hops(self.engine, [Hop(k, K.COMMISSIONING, "MFR", at) for k in keys])
        assert {r.status for r in results} == {"accepted"}, results
        return keys

    def pallet(self, n: int, number: int) -> str:
        """A pallet (SSCC) of ``n`` new units of W packed at MFR; its key."""
        keys = self.units(n)
        box = sscc(number)
        at = now_ms() - 1_800_000
        hops = [Hop(box, K.COMMISSIONING, "MFR", at)]
        hops += [Hop(k, K.PACKING, "MFR", at + 1, container=box) for k in keys]
        assert {r.status for r in append_hops(self.engine, hops)} == {"accepted"}
        return box

    def ship_directly(self, to: str, keys: list[str]) -> None:
        """Ship ``keys`` from MFR to ``to`` bypassing the gate (earlier deliveries)."""
        at = now_ms() - 600_000
        hops = [Hop(k, K.SHIPPING, "MFR", at, counterparty=to) for k in keys]
        assert {r.status for r in append_hops(self.engine, hops)} == {"accepted"}

    def rate(self, party: str, grade: str, score: int = 50) -> int:
        with Session(self.engine) as s, s.begin():
            row = CreditRating(
                party_id=self.ids[party], investigation_id=None, weights_version=1,
                score=score, grade=grade, inputs_json="{}", contributions_json="{}",
                rated_on=time.strftime("%Y-%m-%d", time.gmtime()), rated_by="fiona",
                created_ms=now_ms(),
            )  # fmt: skip
            s.add(row)
            s.flush()
            return row.id

    def limit(self, party: str, limit_minor: int, days: int = 30) -> None:
        with Session(self.engine) as s, s.begin():
            set_limit_in(
                s, self.ids[party], limit_minor=limit_minor, payment_days=days,
                source="override", actor=FINANCE, reason="set for the test",
            )  # fmt: skip

    def event(
        self, key: str, to: str, kind: str = "ship", seq: int | None = None
    ) -> dict[str, Any]:
        return {
            "device_seq": next(self.device_seq) if seq is None else seq,
            "scanned_at": rfc3339(now_ms() - 60_000),
            "kind": kind,
            "code": hri(key),
            "counterparty": to,
        }

    def post(self, client: FlaskClient, events: list[dict[str, Any]]) -> TestResponse:
        """POST /api/v1/scans signed by the maker's handheld HH-M."""
        assert self.key is not None
        raw = json.dumps({"device_id": "HH-M", "events": events}).encode()
        sig = base64.b64encode(self.key.sign(raw)).decode()
        return client.post(
            "/api/v1/scans",
            data=raw,
            headers={"Content-Type": "application/json", "X-Signature": sig},
        )


def make_world(engine: Engine) -> World:
    w = World(engine)
    with Session(engine) as s, s.begin():
        for code, kind, ccy in (
            ("MFR", "manufacturer", "EUR"),
            ("D-ONE", "distributor", "EUR"),
            ("D-TWO", "distributor", "EUR"),
            ("D-YEN", "distributor", "JPY"),
            ("DLR", "dealer", "EUR"),
        ):
            p = Party(code=code, name=f"{code} Ltd", kind=kind, currency=ccy)
            s.add(p)
            s.flush()
            w.ids[code] = p.id
        s.add(PriceList(gtin=W, currency="EUR", valid_from="2000-01-01", list_price_minor=10000))
        s.add(PriceList(gtin=W, currency="JPY", valid_from="2000-01-01", list_price_minor=15000))
    pem, public_b64 = generate_device_key()
    with Session(engine) as s:
        register_device(s, "HH-M", public_b64, "MFR", name="Maker dock")
        s.commit()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    w.key = key
    return w


def party_id(engine: Engine, code: str) -> int:
    with Session(engine) as s:
        found = s.scalar(select(Party.id).where(Party.code == code))
        assert found is not None
        return int(found)


Poster = Callable[[list[dict[str, Any]]], TestResponse]
