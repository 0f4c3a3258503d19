"""Server-side sign-in sessions: the cookie names a row, and the row can be ended.

Signing in makes a random session id (256 bits, :func:`secrets.token_urlsafe`);
the browser's (signed) session cookie carries it and the table ``user_sessions``
keeps only its SHA-256, so a database reader cannot take over a session. Every
request looks the row up (:func:`resolve`), and the session is live only while

- it is not revoked (signing out, a password change or deactivation revokes it),
- the absolute lifetime since sign-in has not passed (``expires_ms``), and
- the person was active within the idle timeout (``last_seen_ms``),

as OWASP's Session Management Cheat Sheet asks (idle and absolute timeouts,
server-side invalidation on logout). A copy of the cookie taken before any of
these happened authenticates nobody afterwards.

Times are integer milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from web.models import User, UserSession

__all__ = [
    "SessionPolicy",
    "end",
    "hash_session_id",
    "last_sign_in_ms",
    "resolve",
    "revoke_all",
    "start",
]

# last_seen_ms is written at most this often per session: a page load is not a
# database write, and the idle timeout is still exact to within a minute.
_TOUCH_EVERY_MS = 60_000
_MAX_ADDRESS = 64
_MAX_AGENT = 200


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lives: ``idle_s`` without a request, ``lifetime_s`` in all
    (seconds, both > 0)."""

    idle_s: int
    lifetime_s: int

    def __post_init__(self) -> None:
        if self.idle_s <= 0 or self.lifetime_s <= 0:
            raise ValueError("session idle timeout and lifetime must be positive seconds")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def hash_session_id(session_id: str) -> str:
    """Hex SHA-256 of a session id, the only form stored (the id is random, so no salt)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(
    db: Session,
    user_id: int,
    policy: SessionPolicy,
    *,
    address: str = "",
    user_agent: str = "",
    now_ms: int | None = None,
) -> str:
    """Open a session for ``user_id`` and return its id (kept only by the browser).

    Commits. ``address`` and ``user_agent`` are recorded for the sign-in audit
    trail (truncated to the column sizes).
    """
    now = _now_ms() if now_ms is None else now_ms
    session_id = secrets.token_urlsafe(32)
    db.add(
        UserSession(
            token_hash=hash_session_id(session_id),
            user_id=user_id,
            created_ms=now,
            last_seen_ms=now,
            expires_ms=now + policy.lifetime_s * 1000,
            address=address[:_MAX_ADDRESS],
            user_agent=user_agent[:_MAX_AGENT],
        )
    )
    db.commit()
    return session_id


def resolve(
    db: Session, session_id: str, policy: SessionPolicy, *, now_ms: int | None = None
) -> User | None:
    """The user of a live session, or ``None`` (unknown, revoked, expired, idle too
    long, or its user deactivated or a service user).

    Marks the session as seen (at most once a minute; commits when it does).
    """
    now = _now_ms() if now_ms is None else now_ms
    row = db.scalar(
        select(UserSession).where(UserSession.token_hash == hash_session_id(session_id))
    )
    if row is None or row.revoked_ms is not None or row.expires_ms <= now:
        return None
    if now - row.last_seen_ms > policy.idle_s * 1000:
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active or user.service:
        return None
    if now - row.last_seen_ms >= _TOUCH_EVERY_MS:
        row.last_seen_ms = now
        db.commit()
    return user


def end(db: Session, session_id: str, *, now_ms: int | None = None) -> bool:
    """Revoke one session (signing out); ``True`` when a live row was revoked. Commits."""
    now = _now_ms() if now_ms is None else now_ms
    result = db.execute(
        update(UserSession)
        .where(
            UserSession.token_hash == hash_session_id(session_id),
            UserSession.revoked_ms.is_(None),
        )
        .values(revoked_ms=now)
    )
    db.commit()
    return bool(getattr(result, "rowcount", 0))


def revoke_all(db: Session, user_id: int, *, now_ms: int | None = None) -> int:
    """Revoke every open session of ``user_id``; the number revoked.

    Does not commit: the caller revokes in the same transaction as the change
    that requires it (password change, deactivation, two-factor reset).
    """
    now = _now_ms() if now_ms is None else now_ms
    result = db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_ms.is_(None))
        .values(revoked_ms=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def last_sign_in_ms(db: Session) -> dict[int, int]:
    """User id -> time of that user's latest sign-in (session start), for the users page."""
    rows = db.execute(
        select(UserSession.user_id, func.max(UserSession.created_ms)).group_by(UserSession.user_id)
    )
    return {int(user_id): int(at) for user_id, at in rows}
