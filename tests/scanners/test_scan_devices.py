"""Device registration, revocation and batch signatures."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scanners import (
    DeviceAuthError,
    DeviceError,
    authenticate_device,
    device_codes,
    generate_device_key,
    get_device,
    register_device,
    revoke_device,
    verify_signature,
)

Key = tuple[str, Ed25519PrivateKey, bytes]


def _sign(key: Ed25519PrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body)).decode()


def test_a_registered_device_signs_its_uploads(scan_engine: Engine, device_key: Key) -> None:
    device_id, key, _ = device_key
    body = b'{"device_id":"HH-1","events":[]}'
    with Session(scan_engine) as session:
        device = authenticate_device(session, device_id, body, _sign(key, body))
        assert device_codes(session, device) == ("DIST-FR", "FR-WH1")
        assert device.name == "Lyon 1" and len(device.public_key) == 32


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda body, sig: (body + b" ", sig), "bad signature"),
        (lambda body, sig: (body, _sign(Ed25519PrivateKey.generate(), body)), "bad signature"),
        (lambda body, sig: (body, None), "missing X-Signature"),
        (lambda body, sig: (body, "not base64!"), "not base64"),
        (lambda body, sig: (body, base64.b64encode(b"short").decode()), "64-byte"),
    ],
)
def test_a_wrong_signature_is_refused(
    scan_engine: Engine, device_key: Key, tamper, reason: str
) -> None:  # type: ignore[no-untyped-def]
    device_id, key, _ = device_key
    body = b'{"device_id":"HH-1","events":[]}'
    body, sig = tamper(body, _sign(key, body))
    with Session(scan_engine) as session, pytest.raises(DeviceAuthError, match=reason):
        authenticate_device(session, device_id, body, sig)


def test_unknown_and_revoked_devices_are_refused(scan_engine: Engine, device_key: Key) -> None:
    device_id, key, _ = device_key
    body = b"{}"
    with Session(scan_engine) as session:
        with pytest.raises(DeviceAuthError, match="unknown device"):
            authenticate_device(session, "HH-404", body, _sign(key, body))
        with pytest.raises(DeviceAuthError, match="unknown device"):
            verify_signature(None, body, _sign(key, body))
        revoked = revoke_device(session, device_id, now_ms=1_700_000_000_000)
        session.commit()
        assert revoked.revoked and revoked.revoked_ms == 1_700_000_000_000
        assert revoke_device(session, device_id).revoked_ms == 1_700_000_000_000  # idempotent
        with pytest.raises(DeviceAuthError, match="revoked"):
            authenticate_device(session, device_id, body, _sign(key, body))


def test_registration_checks_its_input(scan_engine: Engine, device_key: Key) -> None:
    _, public_b64 = generate_device_key()
    with Session(scan_engine) as session:
        with pytest.raises(DeviceError, match="already registered"):
            register_device(session, "HH-1", public_b64, "DIST-FR", "FR-WH1")
        with pytest.raises(DeviceError, match="unknown party"):
            register_device(session, "HH-2", public_b64, "NOPE")
        with pytest.raises(DeviceError, match="unknown site"):
            register_device(session, "HH-2", public_b64, "DIST-FR", "NOPE")
        with pytest.raises(DeviceError, match="not a site of party"):
            register_device(session, "HH-2", public_b64, "DIST-FR", "DE-WH1")
        with pytest.raises(DeviceError, match="32 bytes"):
            register_device(session, "HH-2", base64.b64encode(b"x" * 31).decode(), "DIST-FR")
        with pytest.raises(DeviceError, match="base64"):
            register_device(session, "HH-2", "@@@", "DIST-FR")
        with pytest.raises(DeviceError, match="device id"):
            register_device(session, "bad id with spaces", public_b64, "DIST-FR")
        with pytest.raises(DeviceError, match="unknown device"):
            revoke_device(session, "HH-404")
        device = register_device(session, "HH-2", public_b64, "DIST-DE")  # no site: fine
        session.commit()
        assert get_device(session, "HH-2") is device
        assert device_codes(session, device) == ("DIST-DE", None)
