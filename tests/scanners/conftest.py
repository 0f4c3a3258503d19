"""Fixtures for the scanners tests: a throw-away SQLite database (the ledger's
engine settings, tables from ``Base.metadata.create_all``) with parties and sites,
and a registered device with its private key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import scanners.devices
import scanners.epcis_events
import scanners.serials  # noqa: F401
from ledger.database import make_engine
from ledger.models import Base, Party, Site
from scanners import generate_device_key, register_device


@pytest.fixture
def scan_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'scanners.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        maker = Party(code="ACME", name="Acme Manufacturing", kind="manufacturer")
        dist = Party(code="DIST-FR", name="Distribution France", kind="distributor")
        other = Party(code="DIST-DE", name="Vertrieb Deutschland", kind="distributor")
        session.add_all([maker, dist, other])
        session.flush()
        session.add_all(
            [
                Site(
                    code="ACME-PLANT",
                    name="Plant",
                    party_id=maker.id,
                    lat_e6=45_000_000,
                    lon_e6=5_000_000,
                ),
                Site(
                    code="FR-WH1",
                    name="Lyon warehouse",
                    party_id=dist.id,
                    lat_e6=45_764_043,
                    lon_e6=4_835_659,
                ),
                Site(code="DE-WH1", name="Köln Lager", party_id=other.id),
            ]
        )
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def device_key(scan_engine: Engine) -> tuple[str, Ed25519PrivateKey, bytes]:
    """A device ``HH-1`` of DIST-FR at FR-WH1: (device id, private key, private PEM)."""
    from cryptography.hazmat.primitives import serialization

    pem, public_b64 = generate_device_key()
    with Session(scan_engine) as session:
        register_device(session, "HH-1", public_b64, "DIST-FR", "FR-WH1", name="Lyon 1")
        session.commit()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return "HH-1", key, pem
