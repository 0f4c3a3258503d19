"""Public sightings: a member of the public shares where a label was verified.

A consumer's page (``label.verify``) carries a one-time token made by
:func:`issue_token`; the page posts it back with the reader's location and
:func:`record_sighting` stores a :class:`~sightings.models.PublicSighting` with
the location rounded to about 1 km (:func:`sightings.policy.coarse_e6`), judged
against the unit's zone (:func:`sightings.zone.judge_location`, detection's rule).

What a sighting may raise (never more than one open row per unit and kind, the
partial unique index of :class:`~sightings.models.SuspectedAlert`):

* ``out_of_zone``: the sighting's verdict is ``out_of_zone`` -> a suspected
  alert of that kind is raised, or the open one joined (its ``sighting_count``
  and ``last_ms`` grow, ``territory_code`` becomes this sighting's territory);
* ``clone``: this sighting and an earlier located observation of the same unit
  are farther apart than :data:`~sightings.policy.CLONE_MIN_KM` and going from
  one to the other needs more than :data:`~sightings.policy.CLONE_MAX_KMH`
  (great circle, :func:`geo.distance.great_circle_m`). The earlier observations
  compared are the unit's public sightings of the last :data:`CLONE_WINDOW_MS`
  (no farther point on Earth can be reached slower than an airliner in more time)
  and the unit's latest located ledger entry in that window (a warehouse scan in
  Paris and a public sighting in Shanghai an hour later mean a copied label just
  as two public sightings do). ``distance_km`` keeps the longest such distance.

Low trust by design: nothing here writes the ledger, custody, settlement alerts
or statements (settlement reads only the ledger and ``alerts``), so a flood of
sightings moves no statement. Bots and replays cannot flood the queue: a token
is good once (``nonce_hash`` is unique), a unit has at most one open suspect per
kind, and a unit takes at most :data:`SIGHTINGS_PER_UNIT_HOUR` sightings an hour
(more are refused with a reason, never silently dropped).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo.distance import great_circle_m
from ledger.database import begin_writing
from ledger.models import Entry, Unit
from ledger.partitions import declarations
from ledger.retraction import live_entries
from sightings import policy
from sightings.errors import SightingRefused, UnknownCode
from sightings.models import PublicSighting, SuspectedAlert
from sightings.zone import judge_location

__all__ = [
    "CLONE_WINDOW_MS",
    "SIGHTINGS_PER_UNIT_HOUR",
    "TOKEN_TTL_MS",
    "SightingResult",
    "check_token",
    "clone_pairs",
    "issue_token",
    "nonce_hash",
    "record_sighting",
]

#: How long a page's one-time token stays good (30 minutes).
TOKEN_TTL_MS = 30 * 60 * 1000
#: A token issued this far in the future (another server's clock) is still taken.
_CLOCK_SKEW_MS = 60 * 1000
#: Default of config ``SIGHTINGS_PER_UNIT_HOUR``: sightings one unit takes per hour.
SIGHTINGS_PER_UNIT_HOUR = 20
#: Earlier sightings compared for a clone: half the Earth's circumference (20,016 km)
#: at :data:`~sightings.policy.CLONE_MAX_KMH` takes 22.3 h; 24 h covers any pair
#: that can be too fast.
CLONE_WINDOW_MS = 24 * 3600 * 1000
_HOUR_MS = 3600 * 1000
_TOKEN_CONTEXT = b"hopchain/public-sighting-token/v1"
_MAX_LAT_E6 = 90_000_000
_MAX_LON_E6 = 180_000_000

# The sentences a reader sees when a sighting is refused (translated by the page).
BAD_TOKEN = "This page's one-time code is not valid for this label: reload the page and try again."
EXPIRED_TOKEN = (
    "This page's one-time code expired (it is good for %(minutes)d minutes): "
    "reload the page and try again."
)
USED_TOKEN = (
    "This page's sighting was already recorded (its one-time code was used): "
    "reload the page to share again."
)
BAD_LAT = "The latitude must be a whole number of micro-degrees between -90 and 90 degrees."
BAD_LON = "The longitude must be a whole number of micro-degrees between -180 and 180 degrees."
TOO_MANY = (
    "This label was shared too often in the last hour (at most %(cap)d times an hour): "
    "try again later."
)
UNKNOWN_UNIT = "No unit of ours carries this code."


@dataclass(frozen=True, slots=True)
class SightingResult:
    """The stored sighting's id, its verdict (``in_zone`` | ``out_of_zone`` |
    ``unlocated`` | ``unallocated``), the deepest territory holding its coarse
    location ("" when none) and the suspected alerts it raised or joined."""

    sighting_id: int
    verdict: str
    territory_code: str
    suspect_ids: tuple[int, ...]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _mac(secret: str, unit_key: str, issued_ms: int, nonce: str) -> str:
    key = hmac.new(secret.encode("utf-8"), _TOKEN_CONTEXT, hashlib.sha256).digest()
    msg = f"{unit_key}\n{issued_ms}\n{nonce}".encode()
    return _b64(hmac.new(key, msg, hashlib.sha256).digest())


def issue_token(secret: str, unit_key: str, now_ms: int) -> str:
    """A one-time token for the consumer page of ``unit_key``, good for 30 minutes.

    Shape: ``{issued_ms}.{nonce}.{mac}`` (URL-safe ASCII, about 70 characters):
    ``nonce`` is 16 random bytes, ``mac`` is HMAC-SHA256 (RFC 2104) over the unit
    key, the time and the nonce with a key derived from ``secret`` (the app's
    secret key), both URL-safe base64 without padding. The token is bound to the
    unit key: it is no good for another code, and once a sighting used it, it is
    refused (:func:`record_sighting`). ``secret`` must not be empty (ValueError).
    """
    if not secret:
        raise ValueError("issue_token needs the application's secret key")
    issued = int(now_ms)
    nonce = _b64(secrets.token_bytes(16))
    return f"{issued}.{nonce}.{_mac(secret, unit_key, issued, nonce)}"


def check_token(secret: str, unit_key: str, token: str, now_ms: int) -> None:
    """Raise :class:`SightingRefused` (field ``token``) unless ``token`` was issued by
    :func:`issue_token` for ``unit_key`` with ``secret`` and is at most
    :data:`TOKEN_TTL_MS` old at ``now_ms``. Whether it was used is not checked here."""
    parts = token.split(".") if isinstance(token, str) and len(token) <= 200 else []
    if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit() or not secret:
        raise SightingRefused(BAD_TOKEN, field="token")
    issued = int(parts[0])
    try:
        base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
    except (binascii.Error, ValueError):
        raise SightingRefused(BAD_TOKEN, field="token") from None
    expected = _mac(secret, unit_key, issued, parts[1])
    if not hmac.compare_digest(expected.encode("ascii"), parts[2].encode("ascii", "replace")):
        raise SightingRefused(BAD_TOKEN, field="token")
    if issued > now_ms + _CLOCK_SKEW_MS:
        raise SightingRefused(BAD_TOKEN, field="token")
    if now_ms - issued > TOKEN_TTL_MS:
        raise SightingRefused(EXPIRED_TOKEN, field="token", minutes=TOKEN_TTL_MS // 60_000)


def nonce_hash(token: str) -> str:
    """Hex SHA-256 of the token as stored in ``public_sightings.nonce_hash``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_coordinate(value: object, limit: int, field: str, words: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -limit <= value <= limit:
        raise SightingRefused(words, field=field)
    return value


def clone_pairs(
    here: tuple[int, int, int],
    earlier: list[tuple[int, int, int]],
    *,
    min_km: float = policy.CLONE_MIN_KM,
    max_kmh: float = policy.CLONE_MAX_KMH,
) -> list[float]:
    """Distances (km) from ``here`` to each of ``earlier`` that imply a clone.

    Points are ``(lat_e6, lon_e6, at_ms)``. A pair implies a clone when it is
    farther apart than ``min_km`` and either at the same instant or farther apart
    than ``max_kmh`` times the hours between them (great circle on the mean Earth
    radius, :func:`geo.distance.great_circle_m`). Example: Paris (48.86, 2.35) and
    Berlin (52.52, 13.40) are 878 km apart; 30 minutes apart that is 1,756 km/h,
    a clone; two hours apart 439 km/h, not one.
    """
    if not earlier:
        return []
    lat = np.array([p[0] for p in earlier], dtype=np.float64) / 1e6
    lon = np.array([p[1] for p in earlier], dtype=np.float64) / 1e6
    n = len(earlier)
    km = great_circle_m(np.full(n, here[1] / 1e6), np.full(n, here[0] / 1e6), lon, lat) / 1000.0
    out = []
    for (_, _, at), d in zip(earlier, km.tolist(), strict=True):
        hours = abs(here[2] - at) / _HOUR_MS
        if d > min_km and (hours <= 0.0 or d / hours > max_kmh):
            out.append(float(d))
    return out


def _raise_or_join(
    session: Session,
    *,
    unit_id: int,
    kind: str,
    allocated_party_id: int | None,
    territory_code: str,
    now_ms: int,
    distance_km: int = 0,
) -> SuspectedAlert:
    """The open suspect of (unit, kind), joined, or a new one raised."""
    q = select(SuspectedAlert).where(
        SuspectedAlert.unit_id == unit_id,
        SuspectedAlert.kind == kind,
        SuspectedAlert.status == "suspected",
    )
    row = session.scalars(q.with_for_update()).first()
    if row is None:
        try:
            with session.begin_nested():
                row = SuspectedAlert(
                    unit_id=unit_id, kind=kind, status="suspected",
                    allocated_party_id=allocated_party_id, territory_code=territory_code,
                    first_ms=now_ms, last_ms=now_ms, sighting_count=1,
                    distance_km=distance_km, resolution_note="",
                )  # fmt: skip
                session.add(row)
                session.flush()
            return row
        except IntegrityError:  # another request raised it meanwhile: join that one
            row = session.scalars(q).one()
    row.sighting_count += 1
    row.last_ms = max(row.last_ms, now_ms)
    row.territory_code = territory_code or row.territory_code
    row.distance_km = max(row.distance_km, distance_km)
    if allocated_party_id is not None:
        row.allocated_party_id = allocated_party_id
    session.flush()
    return row


def record_sighting(
    session: Session,
    *,
    unit_key: str,
    lat_e6: int,
    lon_e6: int,
    token: str,
    secret: str,
    locale: str,
    now_ms: int,
    per_unit_hour: int = SIGHTINGS_PER_UNIT_HOUR,
) -> SightingResult:
    """Store one public sighting of ``unit_key`` and raise or join what it suggests.

    ``lat_e6``/``lon_e6``: WGS 84 micro-degrees (ints); they are rounded with
    :func:`sightings.policy.coarse_e6` before anything else sees them. ``token``:
    the page's :func:`issue_token` token for this unit key; ``secret`` the key it
    was made with; ``locale`` the page's language (kept, cut to 16 characters);
    ``per_unit_hour``: config ``SIGHTINGS_PER_UNIT_HOUR``.

    Raises :class:`SightingRefused` naming the field: ``token`` (not made for this
    code, altered, expired, or already used), ``lat``/``lon`` (not an int or out
    of range), ``""`` (more than ``per_unit_hour`` sightings of the unit in the
    hour before ``now_ms``); :class:`UnknownCode` (field ``unit``) for a key no
    unit carries. Nothing is stored when it raises. The caller commits.
    """
    check_token(secret, unit_key, token, now_ms)
    lat = _check_coordinate(lat_e6, _MAX_LAT_E6, "lat", BAD_LAT)
    lon = _check_coordinate(lon_e6, _MAX_LON_E6, "lon", BAD_LON)
    lat, lon = policy.coarse_e6(lat), policy.coarse_e6(lon)
    begin_writing(session)  # read, then write: concurrent posts queue for SQLite's lock
    unit_id = session.scalar(select(Unit.id).where(Unit.key == unit_key))
    if unit_id is None:
        raise UnknownCode(UNKNOWN_UNIT, field="unit")
    digest = nonce_hash(token)
    if session.scalar(select(PublicSighting.id).where(PublicSighting.nonce_hash == digest)):
        raise SightingRefused(USED_TOKEN, field="token")
    recent = session.scalar(
        select(func.count())
        .select_from(PublicSighting)
        .where(PublicSighting.unit_id == unit_id, PublicSighting.at_ms > now_ms - _HOUR_MS)
    )
    if int(recent or 0) >= per_unit_hour:
        raise SightingRefused(TOO_MANY, cap=per_unit_hour)

    judged = judge_location(session, unit_id, lat, lon, now_ms)
    earlier = [
        (int(a), int(b), int(t))
        for a, b, t in session.execute(
            select(PublicSighting.lat_e6, PublicSighting.lon_e6, PublicSighting.at_ms).where(
                PublicSighting.unit_id == unit_id,
                PublicSighting.at_ms > now_ms - CLONE_WINDOW_MS,
            )
        )
    ]
    entry = session.execute(
        select(Entry.lat_e6, Entry.lon_e6, Entry.at_ms)
        .where(
            Entry.unit_id == unit_id,
            Entry.lat_e6.is_not(None),
            Entry.lon_e6.is_not(None),
            Entry.at_ms > now_ms - CLONE_WINDOW_MS,
            live_entries(declared=declarations(session)),
        )
        .order_by(Entry.seq.desc())
        .limit(1)
    ).first()
    if entry is not None and entry[0] is not None and entry[1] is not None:
        earlier.append((entry[0], entry[1], entry[2]))

    sighting = PublicSighting(
        unit_id=unit_id, at_ms=now_ms, lat_e6=lat, lon_e6=lon,
        territory_code=judged.territory_code, verdict=judged.verdict,
        locale=(locale or "")[:16], nonce_hash=digest,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(sighting)
            session.flush()
    except IntegrityError:  # the same token posted twice at once: one of them wins
        raise SightingRefused(USED_TOKEN, field="token") from None

    suspects: list[SuspectedAlert] = []
    allocated = judged.zone.allocated_party_id
    if judged.verdict == "out_of_zone":
        suspects.append(
            _raise_or_join(
                session,
                unit_id=unit_id,
                kind="out_of_zone",
                allocated_party_id=allocated,
                territory_code=judged.territory_code,
                now_ms=now_ms,
            )
        )
    far = clone_pairs((lat, lon, now_ms), earlier)
    if far:
        suspects.append(
            _raise_or_join(
                session,
                unit_id=unit_id,
                kind="clone",
                allocated_party_id=allocated,
                territory_code=judged.territory_code,
                now_ms=now_ms,
                distance_km=round(max(far)),
            )
        )
    if suspects:
        sighting.suspect_id = suspects[0].id
        session.flush()
    return SightingResult(
        sighting.id, judged.verdict, judged.territory_code, tuple(s.id for s in suspects)
    )
