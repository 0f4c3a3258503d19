"""A small network for the scans web tests: the manufacturer MFR (site MFR-PLANT),
distributors DIST-A and DIST-B, units U1..U6 commissioned, U5 and U6 packed on a
pallet, U1..U3 shipped to DIST-A, and the handheld HH-1 of DIST-A (its key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from _scans_web import (
    DAY_MS,
    PALLET,
    HandheldKey,
    PostBatch,
    batch_body,
    now_ms,
    unit,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from ledger import EntryKind, Hop, append_hops
from ledger.models import Site
from scanners import generate_device_key, register_device


@pytest.fixture
def network(engine: Engine, make_party: Callable[..., int]) -> Engine:
    mfr = make_party("MFR", kind="manufacturer", name="Maker Co")
    make_party("DIST-A", name="Distributor A")
    make_party("DIST-B", name="Distributor B")
    with Session(engine) as session:
        session.add(
            Site(code="MFR-PLANT", name="Plant", party_id=mfr, lat_e6=48_856_600, lon_e6=2_352_200)
        )
        session.commit()
    t = now_ms() - 3 * DAY_MS
    hops = [
        Hop(unit(f"U{i}"), EntryKind.COMMISSIONING, "MFR", t + i, site="MFR-PLANT")
        for i in range(1, 7)
    ]
    hops += [
        Hop(unit(f"U{i}"), EntryKind.PACKING, "MFR", t + 100, site="MFR-PLANT", container=PALLET)
        for i in (5, 6)
    ]
    hops += [
        Hop(unit(f"U{i}"), EntryKind.SHIPPING, "MFR", t + DAY_MS, counterparty="DIST-A")
        for i in (1, 2, 3)
    ]
    assert {r.status for r in append_hops(engine, hops)} == {"accepted"}
    return engine


@pytest.fixture
def handheld(network: Engine) -> HandheldKey:
    pem, public_b64 = generate_device_key()
    with Session(network) as session:
        register_device(session, "HH-1", public_b64, "DIST-A", name="Dock 1")
        session.commit()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return HandheldKey("HH-1", key)


@pytest.fixture
def post_batch(client: FlaskClient, handheld: HandheldKey) -> PostBatch:
    """POST /api/v1/scans with ``events`` signed by HH-1 (or ``signature``/``device_id``)."""

    def post(
        events: list[dict[str, Any]],
        *,
        device_id: str | None = None,
        signature: str | None = None,
        body: bytes | None = None,
    ) -> TestResponse:
        raw = body if body is not None else batch_body(device_id or handheld.device_id, events)
        headers = {"Content-Type": "application/json"}
        sig = signature if signature is not None else handheld.sign(raw)
        if sig:
            headers["X-Signature"] = sig
        return client.post("/api/v1/scans", data=raw, headers=headers)

    return post
