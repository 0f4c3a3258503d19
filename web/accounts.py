"""Users and API tokens: the only business rules ``web`` owns (who may sign in, as what).

Every function takes the caller's :class:`~sqlalchemy.orm.Session` and commits
its own change, so pages, API handlers and CLI commands share one code path.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.models import Party
from web.models import ApiToken, User
from web.roles import Role, parse_role

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "AccountError",
    "NewToken",
    "UserRow",
    "authenticate",
    "create_token",
    "create_user",
    "find_party_id",
    "hash_token",
    "list_users",
    "revoke_token",
    "set_user_active",
    "token_by_secret",
    "tokens",
    "use_password_hasher",
]

MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Replace the argon2 parameters (tests use argon2's cheapest profile to stay fast).

    Existing hashes keep verifying: each hash records its own parameters, and a
    successful sign-in re-hashes with the current ones.
    """
    global _hasher, _dummy_hash
    _hasher = hasher
    _dummy_hash = None


def _dummy() -> str:
    """A hash to verify against when the username is unknown, so a wrong username
    costs as much time as a wrong password and timing does not reveal who exists."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_hex(16))
    return _dummy_hash


class AccountError(ValueError):
    """A user or token that cannot be created or changed, with the reason shown to people."""


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as pages list it (no password hash)."""

    id: int
    username: str
    display_name: str
    role: Role
    party_code: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly created token: ``secret`` is shown once and never stored."""

    id: int
    secret: str
    role: Role
    party_code: str | None
    label: str


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def hash_token(secret: str) -> str:
    """Hex SHA-256 of a bearer token, the only form in which tokens are stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def find_party_id(session: Session, code: str | None) -> int | None:
    """The id of the party with ``code``; ``AccountError`` when there is none."""
    if code is None or code == "":
        return None
    party_id = session.scalar(select(Party.id).where(Party.code == code))
    if party_id is None:
        raise AccountError(f"no party has the code {code!r}")
    return party_id


def _check_party(role: Role, party_id: int | None) -> None:
    if role is Role.DISTRIBUTOR and party_id is None:
        raise AccountError("a distributor account must belong to a party (give its code)")


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role | str,
    *,
    party: str | None = None,
    display_name: str = "",
) -> int:
    """Create an active user and return its id."""
    role = _role(role)
    username = username.strip()
    if not username or len(username) > 64 or any(ch.isspace() for ch in username):
        raise AccountError("a username is 1 to 64 characters without spaces")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    party_id = find_party_id(session, party)
    _check_party(role, party_id)
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        role=role.value,
        party_id=party_id,
        display_name=display_name.strip() or username,
        active=True,
        created_ms=_now_ms(),
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AccountError(f"the username {username!r} is taken") from None
    return user.id


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or ``None`` (never says which part was wrong)."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        _verify(_dummy(), password)
        return None
    if not _verify(user.password_hash, password) or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.commit()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def list_users(session: Session) -> list[UserRow]:
    """All users, active first, then by username."""
    rows = session.execute(
        select(User, Party.code)
        .outerjoin(Party, Party.id == User.party_id)
        .order_by(User.active.desc(), User.username)
    )
    return [
        UserRow(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=Role(user.role),
            party_code=code,
            active=user.active,
        )
        for user, code in rows
    ]


def set_user_active(session: Session, user_id: int, active: bool) -> None:
    """(De)activate a user; a deactivated user's open sessions stop working at once."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError(f"no user has the id {user_id}")
    user.active = active
    session.commit()


def create_token(
    session: Session, role: Role | str, *, party: str | None = None, label: str = ""
) -> NewToken:
    """Create an API token; the returned secret is the only copy that will ever exist."""
    role = _role(role)
    party_id = find_party_id(session, party)
    _check_party(role, party_id)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=hash_token(secret),
        role=role.value,
        party_id=party_id,
        label=label,
        created_ms=_now_ms(),
    )
    session.add(token)
    session.commit()
    return NewToken(id=token.id, secret=secret, role=role, party_code=party or None, label=label)


def token_by_secret(session: Session, secret: str) -> ApiToken | None:
    """The unrevoked token whose secret this is, or ``None``."""
    return session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(secret), ApiToken.revoked_ms.is_(None)
        )
    )


def revoke_token(session: Session, token_id: int) -> None:
    """Refuse the token from now on (kept, with the time, for the audit trail)."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise AccountError(f"no token has the id {token_id}")
    if token.revoked_ms is None:
        token.revoked_ms = _now_ms()
        session.commit()


def tokens(session: Session) -> Sequence[ApiToken]:
    """Every token, newest first (hashes only)."""
    return session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()


def _role(value: Role | str) -> Role:
    try:
        return parse_role(value)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
