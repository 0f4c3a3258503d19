"""Handheld devices: registration by an admin, revocation, and batch signatures.

A device holds an Ed25519 private key; the server stores the 32-byte public key
with the party that owns the device and, usually, the site where it works. Every
upload is signed over its raw body (``X-Signature: base64(Ed25519(body))``); an
unknown device, a revoked one or a bad signature is refused before anything is read.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from ledger.models import Base, Party, Site
from ledger.permissions import acts_within_custody

__all__ = [
    "RESERVED_DEVICE_PREFIXES",
    "Device",
    "DeviceAuthError",
    "DeviceError",
    "DeviceInfo",
    "DeviceKey",
    "authenticate_device",
    "authenticate_upload",
    "device_codes",
    "device_key",
    "get_device",
    "list_devices",
    "register_device",
    "revoke_device",
    "verify_signature",
]

_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
#: Device ids the server makes itself: ``station:<username>`` (the web scan
#: station) and ``epcis:<hash>`` (captured EPCIS events). A registered handheld
#: must not share their (device, device_seq) idempotency keys.
RESERVED_DEVICE_PREFIXES = ("station:", "epcis:")


class DeviceError(ValueError):
    """A registration or revocation that cannot be done, with the reason."""


class DeviceAuthError(Exception):
    """A batch refused before reading it: unknown or revoked device, bad signature."""

    def __init__(self, device_id: str, reason: str) -> None:
        super().__init__(f"device {device_id!r}: {reason}")
        self.device_id = device_id
        self.reason = reason


class Device(Base):
    """A registered handheld scanner and the key it signs its uploads with."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), default=None)
    registered_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)

    @property
    def revoked(self) -> bool:
        return self.revoked_ms is not None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _decode_public_key(public_key_b64: str) -> bytes:
    try:
        raw = base64.b64decode(public_key_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DeviceError(f"public key is not valid base64: {exc}") from exc
    if len(raw) != 32:
        raise DeviceError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return raw


def register_device(
    session: Session,
    device_id: str,
    public_key_b64: str,
    party_code: str,
    site_code: str | None = None,
    *,
    name: str = "",
    now_ms: int | None = None,
) -> Device:
    """Register a device for ``party_code`` (at ``site_code``, a site of that party).

    Adds it to the session (the caller commits). Raises :class:`DeviceError` for an
    invalid id or key, an unknown party or site, or an id already registered.
    """
    if not _DEVICE_ID.match(device_id):
        raise DeviceError(
            f"device id {device_id!r} must be 1 to 64 letters, digits, '.', '_', ':' or '-'"
        )
    if device_id.lower().startswith(RESERVED_DEVICE_PREFIXES):
        raise DeviceError(
            f"device id {device_id!r}: ids starting with "
            f"{' or '.join(RESERVED_DEVICE_PREFIXES)} are made by the server itself"
        )
    key = _decode_public_key(public_key_b64)
    party = session.scalar(select(Party).where(Party.code == party_code))
    if party is None:
        raise DeviceError(f"unknown party {party_code!r}")
    site_id: int | None = None
    if site_code is not None:
        site = session.scalar(select(Site).where(Site.code == site_code))
        if site is None:
            raise DeviceError(f"unknown site {site_code!r}")
        if site.party_id != party.id:
            raise DeviceError(f"site {site_code!r} is not a site of party {party_code!r}")
        site_id = site.id
    if get_device(session, device_id) is not None:
        raise DeviceError(f"device {device_id!r} is already registered")
    device = Device(
        device_id=device_id,
        name=name,
        public_key=key,
        party_id=party.id,
        site_id=site_id,
        registered_ms=_now_ms() if now_ms is None else now_ms,
    )
    session.add(device)
    session.flush()
    return device


def get_device(session: Session, device_id: str) -> Device | None:
    return session.scalar(select(Device).where(Device.device_id == device_id))


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A registered device as listings show it (codes instead of row ids)."""

    device_id: str
    name: str
    party: str
    site: str | None
    public_key_b64: str
    registered_ms: int
    revoked_ms: int | None

    @property
    def revoked(self) -> bool:
        return self.revoked_ms is not None


def list_devices(session: Session) -> list[DeviceInfo]:
    """Every registered device, revoked ones included, by device id."""
    site = aliased(Site)
    rows = session.execute(
        select(Device, Party.code, site.code)
        .join(Party, Party.id == Device.party_id)
        .outerjoin(site, site.id == Device.site_id)
        .order_by(Device.device_id)
    ).all()
    return [
        DeviceInfo(
            device_id=device.device_id,
            name=device.name,
            party=party_code,
            site=site_code,
            public_key_b64=base64.b64encode(device.public_key).decode("ascii"),
            registered_ms=device.registered_ms,
            revoked_ms=device.revoked_ms,
        )
        for device, party_code, site_code in rows
    ]


def revoke_device(session: Session, device_id: str, *, now_ms: int | None = None) -> Device:
    """Mark a device revoked; its uploads are refused from now on. Idempotent."""
    device = get_device(session, device_id)
    if device is None:
        raise DeviceError(f"unknown device {device_id!r}")
    if device.revoked_ms is None:
        device.revoked_ms = _now_ms() if now_ms is None else now_ms
        session.flush()
    return device


def device_codes(session: Session, device: Device) -> tuple[str, str | None]:
    """The codes of the party owning the device and of its site (None if none)."""
    party = session.get(Party, device.party_id)
    site = session.get(Site, device.site_id) if device.site_id is not None else None
    if party is None:  # pragma: no cover - the foreign key prevents it
        raise DeviceError(f"device {device.device_id!r} has no party")
    return party.code, site.code if site is not None else None


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """What checking an upload needs of a device, read in one query."""

    device_id: str
    public_key: bytes
    revoked_ms: int | None
    party: str  # code of the owning party
    site: str | None  # code of its site
    party_kind: str = ""  # parties.kind of the owning party

    @property
    def restricted(self) -> bool:
        """Whether the device's scans act only within its party's custody (a
        distributor's, dealer's or retailer's device: :mod:`ledger.permissions`)."""
        return acts_within_custody(self.party_kind)


def device_key(session: Session, device_id: str) -> DeviceKey | None:
    """The device's key, state, party code, site code and party kind (one query), or None.

    Plain SQL on the session's connection: this runs for every upload, and an ORM
    statement costs as much to prepare as a small ledger append.
    """
    conn = session.connection()
    ph = "?" if conn.dialect.name == "sqlite" else "%s"
    row = conn.exec_driver_sql(
        "SELECT d.public_key, d.revoked_ms, p.code, s.code, p.kind FROM devices d"
        " JOIN parties p ON p.id = d.party_id LEFT JOIN sites s ON s.id = d.site_id"
        f" WHERE d.device_id = {ph}",
        (device_id,),
    ).first()
    if row is None:
        return None
    public_key, revoked_ms, party, site, kind = row
    return DeviceKey(device_id, bytes(public_key), revoked_ms, str(party), site, str(kind))


def authenticate_upload(
    session: Session, device_id: str, body: bytes, signature_b64: str | None
) -> DeviceKey:
    """Like :func:`authenticate_device`, answering the party and site codes too."""
    key = device_key(session, device_id)
    if key is None:
        raise DeviceAuthError(device_id, "unknown device")
    verify_signature(key, body, signature_b64)
    return key


def verify_signature(
    device: Device | DeviceKey | None, body: bytes, signature_b64: str | None
) -> None:
    """Check ``signature_b64`` (the ``X-Signature`` header) over the raw ``body``.

    Raises :class:`DeviceAuthError` naming the reason: unknown device (``None``),
    revoked device, missing, malformed or wrong signature.
    """
    if device is None:
        raise DeviceAuthError("", "unknown device")
    if device.revoked_ms is not None:
        raise DeviceAuthError(device.device_id, "device is revoked")
    if not signature_b64:
        raise DeviceAuthError(device.device_id, "missing X-Signature header")
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DeviceAuthError(device.device_id, "X-Signature is not base64") from exc
    if len(signature) != 64:
        raise DeviceAuthError(device.device_id, "X-Signature is not a 64-byte Ed25519 signature")
    try:
        Ed25519PublicKey.from_public_bytes(device.public_key).verify(signature, body)
    except InvalidSignature as exc:
        raise DeviceAuthError(device.device_id, "bad signature") from exc


def authenticate_device(
    session: Session, device_id: str, body: bytes, signature_b64: str | None
) -> Device:
    """Look the device up and verify the body's signature; raise DeviceAuthError."""
    device = get_device(session, device_id)
    if device is None:
        raise DeviceAuthError(device_id, "unknown device")
    verify_signature(device, body, signature_b64)
    return device
