"""People and programs that may use hopchain: users (session login) and API tokens.

They live on :class:`ledger.models.Base` so one metadata and one Alembic history
cover every table, and so ``party_id`` can reference ``parties`` directly: a
distributor's user or token belongs to its party and only ever sees that party.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base
from web.roles import Role

__all__ = ["AccountEvent", "ApiToken", "User", "UserSession"]

# Roles are fixed by the design; the database refuses anything else even if a
# future code path forgets to validate.
_ROLE_CHECK = "role IN (" + ", ".join(f"'{r.value}'" for r in Role) + ")"


class User(Base):
    """A person who logs in with a password (argon2id hash; the password is never stored)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True, default=None)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    # failed sign-ins since the last success; reaching the limit locks the account
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    password_changed_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # RFC 6238 TOTP shared secret (base32) once two-factor sign-in is set up
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    # the last 30-second time step whose code was accepted (each code works once)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # a service user (tokens only, made by ``token create`` without ``--user``)
    # has no usable password and cannot sign in
    service: Mapped[bool] = mapped_column(Boolean, default=False)
    # the user's language (a BCP 47 / Babel locale such as "zh_Hans_CN", "en", "es"),
    # None = the browser's Accept-Language; and IANA time zone, None = UTC
    locale: Mapped[str | None] = mapped_column(String(16), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    # where hopchain's e-mails reach the person (normalized by email-validator);
    # None = no e-mail (notify.compose counts their party as having no address)
    email: Mapped[str | None] = mapped_column(String(254), default=None)

    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role"),)


class UserSession(Base):
    """A signed-in browser session, kept on the server so it can be ended.

    The cookie carries a random session id; only its SHA-256 is stored. Signing
    out, a password change or deactivation sets ``revoked_ms``, and a copy of the
    cookie then authenticates nobody.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    last_seen_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class ApiToken(Base):
    """A bearer token for a program; only the SHA-256 of the token is kept.

    The token itself is high-entropy random, so a plain hash suffices (no salt or
    slow hash needed) and lets a request be authenticated by one indexed lookup.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256
    role: Mapped[str] = mapped_column(String(20))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True, default=None)
    label: Mapped[str] = mapped_column(String(200), default="")
    # the user the token acts as (role and party are that user's); a label is only
    # a note for people and never identifies anyone
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, default=None)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role"),)


class AccountEvent(Base):
    """The account audit trail: sign-ins (and failures, lockouts), sign-outs, password
    and two-factor changes, and what administrators did to accounts and tokens.

    ``username``/``user_id`` is the account concerned; ``actor`` who did it (the
    same person for their own sign-in or password change, an administrator or
    ``cli`` otherwise); ``detail`` a JSON object of the event's particulars.
    Rows are only ever added.
    """

    __tablename__ = "account_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    event: Mapped[str] = mapped_column(String(40))
    username: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    actor: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
