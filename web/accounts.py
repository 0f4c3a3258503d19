"""Users and API tokens: the only business rules ``web`` owns (who may sign in, as what).

Every function takes the caller's :class:`~sqlalchemy.orm.Session` and commits
its own change, so pages, API handlers and CLI commands share one code path.

Sign-in (:func:`check_password`, :func:`check_second_factor`) counts failed
attempts per account and locks the account for a while after too many in a row
(:class:`LockoutPolicy`; OWASP Authentication Cheat Sheet, "account lockout"),
and records every account event (sign-ins and their failures, lockouts, password
and two-factor changes, what administrators and the command line did to accounts
and tokens) with :func:`audit`: a row of the audit trail
(:class:`~web.models.AccountEvent`, listed by :func:`account_events`) and a line
on the ``hopchain.audit`` logger, each with who, by whom, when and from where.

An API token belongs to a user and acts as that user (role and party are the
user's; the label is only a note). ``token create`` without a user gives the
token to the *service user* of that role and party: an account made once for
programs, with no usable password, that cannot sign in to the pages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.models import Party
from ledger.times import format_ms
from web.account import totp, user_sessions
from web.account.passwords import MIN_PASSWORD_LENGTH, password_problem
from web.models import AccountEvent, ApiToken, User
from web.roles import Role, parse_role

__all__ = [
    "CLI_ACTOR",
    "EVENT_LABELS",
    "MIN_PASSWORD_LENGTH",
    "SERVICE_PREFIX",
    "SYSTEM_ACTOR",
    "AccountError",
    "AccountEventRow",
    "LockoutPolicy",
    "NewToken",
    "SignInCheck",
    "TokenRow",
    "UserRow",
    "account_events",
    "audit",
    "audit_user",
    "authenticate_token",
    "change_password",
    "check_password",
    "check_second_factor",
    "create_token",
    "create_user",
    "find_party_id",
    "format_utc",
    "hash_token",
    "list_users",
    "reset_two_factor",
    "revoke_token",
    "service_user",
    "set_user_active",
    "signed_in",
    "tokens",
    "unlock_user",
    "use_password_hasher",
    "user_by_id",
]

#: Usernames of service users start with this; people's usernames may not.
SERVICE_PREFIX = "service:"
# A service user's password hash: not an argon2 hash, so no password verifies.
_NO_PASSWORD = "!service-user: no password"
_MAX_USERNAME = 64

_hasher = PasswordHasher()
_dummy_hash: str | None = None

_audit_log = logging.getLogger("hopchain.audit")

#: The actor of what the command line (``hopchain user create``, ``token create`` ...)
#: and scripts do to accounts and tokens.
CLI_ACTOR = "cli"
#: The actor of what the application does by itself (a token made before tokens
#: belonged to users gets its service user on first use).
SYSTEM_ACTOR = "system"

#: Every event of the audit trail, in words (the activity page shows these).
EVENT_LABELS: dict[str, str] = {
    "sign-in-failed": _l("Sign-in failed"),
    "sign-in-refused-locked": _l("Sign-in refused: account locked"),
    "sign-in-password-ok": _l("Password accepted"),
    "account-locked": _l("Account locked"),
    "signed-in": _l("Signed in"),
    "signed-out": _l("Signed out"),
    "password-changed": _l("Password changed"),
    "password-change-refused": _l("Password change refused"),
    "user-created": _l("Account created"),
    "user-deactivated": _l("Account deactivated"),
    "user-reactivated": _l("Account reactivated"),
    "account-unlocked": _l("Account unlocked"),
    "two-factor-set-up": _l("Two-factor sign-in set up"),
    "two-factor-reset": _l("Two-factor sign-in reset"),
    "token-created": _l("API token created"),
    "token-revoked": _l("API token revoked"),
    "preferences-changed": _l("Language or time zone changed"),
    "email-changed": _l("E-mail address changed"),
}
#: Actors that are not people, in words (the activity page's "By" column).
ACTOR_LABELS: dict[str, str] = {
    CLI_ACTOR: _l("command line"),
    SYSTEM_ACTOR: _l("the application"),
}
#: The names of the details events record, in words (others show with ``_`` as a space).
_DETAIL_NAMES: dict[str, str] = {
    "party": _l("party"),
    "role": _l("role"),
    "next": _l("next"),
    "reason": _l("reason"),
    "failures": _l("failures"),
    "locked_until": _l("locked until"),
    "sessions_ended": _l("sessions ended"),
    "service": _l("service user"),
    "token_id": _l("token"),
    "label": _l("label"),
    "locale": _l("language"),
    "timezone": _l("time zone"),
    "detail": _l("detail"),
}
#: Recorded detail values that are words of the code, in words: (name, value) -> words.
_DETAIL_VALUES: dict[tuple[str, str], str] = {
    ("next", "code"): _l("two-factor code"),
    ("next", "session"): _l("signed in"),
    ("reason", "wrong password"): _l("wrong password"),
    ("reason", "wrong or used code"): _l("wrong or used code"),
    ("reason", "unknown username"): _l("unknown username"),
    ("reason", "service user"): _l("service user"),
    ("reason", "deactivated"): _l("deactivated"),
    ("service", "True"): _l("yes"),
    ("party", "-"): "—",
    **{("role", role.value): _l(role.label) for role in Role},
}
_TEXT_COLUMN = 64  # account_events.username, actor and address are VARCHAR(64)


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


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue; :func:`account_error_words` translates it."""
    return message


class AccountError(ValueError):
    """A user or token that cannot be created or changed, with the reason shown to people.

    ``str(exc)`` is the reason in English (the CLI prints it). ``words`` (a catalogue
    message with ``%(name)s`` placeholders filled from ``values``) says it on pages in
    the reader's language (:func:`account_error_words`); ``field`` names the form
    field it is about (``"username"``, ``"party"``, ``"user"``), None for the form.
    """

    def __init__(
        self, english: str, words: str | None = None, field: str | None = None, **values: object
    ) -> None:
        super().__init__(english)
        self.words = words
        self.field = field
        self.values = values


def account_error_words(exc: AccountError) -> str:
    """The reason of ``exc`` in the request's language (its English where it has no words)."""
    if exc.words is None:
        return str(exc)
    return str(gettext(exc.words, **exc.values))


#: The roles whose accounts belong to a party (DESIGN.md: a distributor user sees
#: its own party's data, so it must have one; warehouse staff may work for one
#: party, whose scans the station then records; an inspector belongs to its
#: inspection party); every other role acts for none.
PARTY_ROLES: dict[Role, bool] = {
    Role.DISTRIBUTOR: True,
    Role.WAREHOUSE: False,
    # an inspector works for an inspection party (kind ``inspector``): its
    # inspections are that party's ledger entries, which detection judges
    Role.INSPECTOR: True,
}


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as pages list it (no password hash or second-factor secret).

    ``locked_until_ms``: set while sign-in is locked (ms since the epoch, UTC);
    ``last_sign_in_ms``: the start of the latest session, ``None`` if never.
    """

    id: int
    username: str
    display_name: str
    role: Role
    party_code: str | None
    active: bool
    service: bool = False
    two_factor: bool = False
    failed_logins: int = 0
    locked_until_ms: int | None = None
    last_sign_in_ms: int | None = None

    @property
    def two_factor_required(self) -> bool:
        return totp.required_for(self.role) and not self.service


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly created token: ``secret`` is shown once and never stored."""

    id: int
    secret: str
    role: Role
    party_code: str | None
    label: str
    user_id: int
    username: str


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A token as listings show it: whose it is, never the secret."""

    id: int
    role: Role
    party_code: str | None
    label: str
    user_id: int | None
    username: str | None
    service: bool
    created_ms: int
    revoked_ms: int | None


@dataclass(frozen=True, slots=True)
class AccountEventRow:
    """One event of the audit trail as the activity page shows it.

    ``at_ms``: when (ms since the epoch, UTC); ``label``: the event in words;
    ``username``/``user_id``: the account concerned; ``actor``: who did it;
    ``address``: the client's IP address, ``""`` from the command line;
    ``detail``: (name, value) pairs in words, e.g. ``(("reason", "wrong password"),)``;
    ``by``: ``actor`` in words (the command line, the application, or the username).
    """

    id: int
    at_ms: int
    event: str
    label: str
    username: str
    user_id: int | None
    actor: str
    address: str
    detail: tuple[tuple[str, str], ...]
    by: str = ""


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """After ``max_failures`` failed sign-ins in a row, refuse the account for ``lock_s``
    seconds (both > 0). A success, or an admin's unlock, resets the count."""

    max_failures: int = 5
    lock_s: int = 15 * 60

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.lock_s < 1:
            raise ValueError("lockout needs at least 1 failure and 1 second")


@dataclass(frozen=True, slots=True)
class SignInCheck:
    """What a password or code check decided.

    ``user_id`` is set only when the credential was right and the account may
    sign in; ``locked_until_ms`` when the account is (now) locked, whatever was
    typed; ``needs_code`` when the password was right and a second factor must
    follow before any session starts.
    """

    user_id: int | None = None
    locked_until_ms: int | None = None
    needs_code: bool = False


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def format_utc(ms: int) -> str:
    """``2026-11-30 14:05 UTC`` for a time in ms since the epoch (messages and the audit
    log); never fails on an odd stored value (:func:`ledger.times.format_ms`)."""
    return format_ms(ms)


def audit(
    session: Session,
    event: str,
    *,
    username: str,
    address: str,
    actor: str,
    user_id: int | None = None,
    **detail: object,
) -> None:
    """Record one account event: a row of the audit trail, committed in ``session``
    (with anything the caller left uncommitted, so a change and its event are one
    transaction when the caller lets this commit), then a ``hopchain.audit`` log line.

    ``event``: a key of :data:`EVENT_LABELS` (``ValueError`` otherwise, a
    programming error); ``username``/``user_id``: the account concerned;
    ``actor``: who did it (the person themselves, an administrator's username,
    :data:`CLI_ACTOR` or :data:`SYSTEM_ACTOR`); ``address``: the client's IP
    address, ``""`` when there is none (command line); ``detail``: the event's
    particulars, stored as a JSON object (values that are not JSON become text).
    Text longer than its column (64 characters) is cut, so a typed username can
    never make the record fail.

    The log line is ``key=value`` pairs (values with spaces quoted), e.g.
    ``sign-in-failed user=ana user_id=3 actor=ana address=10.0.0.7
    at=2026-11-30T14:05:01Z failures=2``.
    """
    if event not in EVENT_LABELS:
        raise ValueError(f"{event!r} is not an account event (web.accounts.EVENT_LABELS)")
    at_ms = _now_ms()
    session.add(
        AccountEvent(
            at_ms=at_ms,
            event=event,
            username=username[:_TEXT_COLUMN],
            user_id=user_id,
            actor=actor[:_TEXT_COLUMN],
            address=address[:_TEXT_COLUMN],
            detail=json.dumps(detail, default=str, sort_keys=True, ensure_ascii=False),
        )
    )
    session.commit()
    fields: dict[str, object] = {
        "user": username,
        "user_id": user_id if user_id is not None else "-",
        "actor": actor,
        "address": address or "-",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at_ms // 1000)),
        **detail,
    }
    text = " ".join(f"{k}={_quoted(v)}" for k, v in fields.items())
    _audit_log.info("%s %s", event, text)


def audit_user(
    session: Session,
    event: str,
    user: User,
    *,
    address: str,
    actor: str | None = None,
    **detail: object,
) -> None:
    """:func:`audit` of an event about an existing ``user`` (its username and id);
    ``actor`` defaults to the user (their own sign-in, sign-out, password change)."""
    audit(
        session,
        event,
        username=user.username,
        user_id=user.id,
        address=address,
        actor=user.username if actor is None else actor,
        **detail,
    )


def _quoted(value: object) -> str:
    text = str(value)
    if not text or any(ch.isspace() or ch in '"=' for ch in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def hash_token(secret: str) -> str:
    """Hex SHA-256 of a bearer token, the only form in which tokens are stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def find_party_id(session: Session, code: str | None) -> int | None:
    """The id of the party with ``code``; ``AccountError`` when there is none."""
    if code is None or code == "":
        return None
    party_id = session.scalar(select(Party.id).where(Party.code == code))
    if party_id is None:
        raise AccountError(
            f"no party has the code {code!r}",
            N_("Party code: no party has the code “%(code)s”."),
            "party",
            code=code,
        )
    return party_id


def _check_party(role: Role, party_id: int | None) -> None:
    """A party exactly where :data:`PARTY_ROLES` allows one; AccountError naming the field."""
    if PARTY_ROLES.get(role) and party_id is None:
        raise AccountError(
            f"an account with the role {role.value} must belong to a party (give its code)",
            N_(
                "Party code: an account with the role %(role)s must belong to a party; type its code"
            ),
            "party",
            role=_l(role.label),
        )
    if role not in PARTY_ROLES and party_id is not None:
        raise AccountError(
            f"a {role.value} account acts for no party: leave the party empty"
            " (only distributor, warehouse and inspector accounts belong to one)",
            N_(
                "Party code: a %(role)s account acts for no party; leave it empty"
                " (only distributor, warehouse and inspector accounts belong to one)"
            ),
            "party",
            role=_l(role.label),
        )


def _check_password(password: str, username: str, display_name: str) -> None:
    problem = password_problem(password, (username, display_name))
    if problem is not None:
        raise AccountError(problem)


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role | str,
    *,
    party: str | None = None,
    display_name: str = "",
    actor: str = CLI_ACTOR,
    address: str = "",
) -> int:
    """Create an active user and return its id; records ``user-created`` by ``actor``
    (the administrator's username on the users page; :data:`CLI_ACTOR` by default).

    The password must pass :func:`web.account.passwords.password_problem` (at least 10
    characters and hard to guess, judged with the username and display name as
    known words). ``AccountError`` says in words what is wrong: username (1-64
    characters, no spaces, not starting ``service:``), password, role, party, or
    a username already taken.
    """
    role = _role(role)
    username = username.strip()
    if not username or len(username) > _MAX_USERNAME or any(ch.isspace() for ch in username):
        raise AccountError(
            "a username is 1 to 64 characters without spaces",
            N_("Username: 1 to 64 characters without spaces; %(value)s is not"),
            "username",
            value=repr(username),
        )
    if username.startswith(SERVICE_PREFIX):
        raise AccountError(
            f"usernames starting with {SERVICE_PREFIX!r} are kept for service users",
            N_("Username: names starting with %(prefix)s are kept for service users"),
            "username",
            prefix=repr(SERVICE_PREFIX),
        )
    display_name = display_name.strip() or username
    _check_password(password, username, display_name)
    party_id = find_party_id(session, party)
    _check_party(role, party_id)
    now = _now_ms()
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        role=role.value,
        party_id=party_id,
        display_name=display_name,
        active=True,
        created_ms=now,
        password_changed_ms=now,
        failed_logins=0,
        service=False,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AccountError(
            f"the username {username!r} is taken",
            N_("Username: %(value)s is taken; choose another"),
            "username",
            value=repr(username),
        ) from None
    audit_user(
        session,
        "user-created",
        user,
        address=address,
        actor=actor,
        role=role.value,
        party=party or "-",
    )
    return user.id


def user_by_id(session: Session, user_id: int) -> User | None:
    """The user row with this id, or ``None``."""
    return session.get(User, user_id)


def check_password(
    session: Session,
    username: str,
    password: str,
    policy: LockoutPolicy,
    *,
    address: str = "",
    now_ms: int | None = None,
) -> SignInCheck:
    """The first step of signing in: is this the account's password, and may it sign in?

    Never says which part was wrong. A locked account is refused without
    looking at the password (so guessing on stops counting); a wrong password
    counts towards the lockout. Deactivated accounts and service users are
    refused like a wrong password. A right password for a user with a second
    factor (or who must set one up) returns ``needs_code`` / a user id; the
    failure count is reset only once sign-in completes (:func:`signed_in`), so
    wrong codes after right passwords still lock the account.
    """
    now = _now_ms() if now_ms is None else now_ms
    name = username.strip()
    user = session.scalar(select(User).where(User.username == name))
    if user is None or user.service or not user.active:
        return _no_sign_in(session, user, name, password, policy, address, now)
    locked = _refused_while_locked(session, user, address, now)
    if locked is not None:
        return locked
    if not _verify(user.password_hash, password):
        return _failed(session, user, policy, address, "wrong password", now)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)  # committed with the event below
    needs_code = totp.has_two_factor(user)
    audit_user(
        session,
        "sign-in-password-ok",
        user,
        address=address,
        next="code" if needs_code else "session",
    )
    return SignInCheck(user_id=user.id, needs_code=needs_code)


class _StandInLocks:
    """Failure counts for names that cannot sign in (unknown, deactivated, service
    users), so that they lock after as many failures as a real account and the
    answers never tell which names are real accounts (OWASP Authentication Cheat
    Sheet: the same response for unknown and known users). Per process, like the
    rate limiter's default storage; the oldest names are forgotten past ``limit``.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._names: OrderedDict[str, tuple[int, int]] = OrderedDict()  # failures, until

    def locked_until(self, name: str, now: int) -> int | None:
        with self._lock:
            _, until = self._names.get(name, (0, 0))
            return until if until > now else None

    def failed(self, name: str, policy: LockoutPolicy, now: int) -> int | None:
        """Count a failure; the time the name is locked until when this one locks it."""
        with self._lock:
            failures, _ = self._names.pop(name, (0, 0))
            failures += 1
            until = 0
            if failures >= policy.max_failures:
                failures, until = 0, now + policy.lock_s * 1000
            self._names[name] = (failures, until)
            while len(self._names) > self._limit:
                self._names.popitem(last=False)
            return until or None


_stand_in = _StandInLocks()


def _no_sign_in(
    session: Session,
    user: User | None,
    name: str,
    password: str,
    policy: LockoutPolicy,
    address: str,
    now: int,
) -> SignInCheck:
    """A name that cannot sign in answers exactly as a real account with a wrong
    password would, locking included; the audit trail says why."""
    _verify(_dummy(), password)  # as long as checking a real password
    reason = (
        "unknown username" if user is None else "service user" if user.service else "deactivated"
    )
    username = name if user is None else user.username
    user_id = None if user is None else user.id
    # keyed by database too: one process may serve (or test) several instances
    bind = session.get_bind()
    key = f"{bind.engine.url}|{name}"
    until = _stand_in.locked_until(key, now)
    if until is not None:
        audit(
            session,
            "sign-in-refused-locked",
            username=username,
            user_id=user_id,
            address=address,
            actor=username,
            reason=reason,
            locked_until=format_utc(until),
        )
        return SignInCheck(locked_until_ms=until)
    audit(
        session,
        "sign-in-failed",
        username=username,
        user_id=user_id,
        address=address,
        actor=username,
        reason=reason,
    )
    until = _stand_in.failed(key, policy, now)
    return SignInCheck() if until is None else SignInCheck(locked_until_ms=until)


def _refused_while_locked(
    session: Session, user: User, address: str, now: int
) -> SignInCheck | None:
    """The refusal (audited) when ``user`` is locked at ``now`` (ms), else None."""
    if user.locked_until_ms is None or user.locked_until_ms <= now:
        return None
    audit_user(
        session,
        "sign-in-refused-locked",
        user,
        address=address,
        locked_until=format_utc(user.locked_until_ms),
    )
    return SignInCheck(locked_until_ms=user.locked_until_ms)


def check_second_factor(
    session: Session,
    user_id: int,
    code: str,
    policy: LockoutPolicy,
    *,
    address: str = "",
    now_ms: int | None = None,
) -> SignInCheck:
    """The second step for a user with TOTP: is ``code`` a valid, unused code?

    A wrong or replayed code counts towards the lockout like a wrong password.
    """
    now = _now_ms() if now_ms is None else now_ms
    user = session.get(User, user_id)
    if user is None or not user.active or user.service:
        return SignInCheck()
    locked = _refused_while_locked(session, user, address, now)
    if locked is not None:
        return locked
    if not totp.check_code(session, user_id, code, now_s=now / 1000):
        return _failed(session, user, policy, address, "wrong or used code", now)
    return SignInCheck(user_id=user.id)


def _failed(
    session: Session, user: User, policy: LockoutPolicy, address: str, reason: str, now: int
) -> SignInCheck:
    # One UPDATE increments, so concurrent guesses cannot overwrite each other's count.
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(user)
    failures = user.failed_logins
    audit_user(
        session,
        "sign-in-failed",
        user,
        address=address,
        reason=reason,
        failures=failures,
    )
    if failures < policy.max_failures:
        return SignInCheck()
    user.locked_until_ms = now + policy.lock_s * 1000
    user.failed_logins = 0
    audit_user(  # commits the lock with its event
        session,
        "account-locked",
        user,
        address=address,
        failures=failures,
        locked_until=format_utc(user.locked_until_ms),
    )
    return SignInCheck(locked_until_ms=user.locked_until_ms)


def signed_in(session: Session, user_id: int, *, address: str = "") -> None:
    """Record a completed sign-in: the failure count starts again from zero. Commits."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError(f"no user has the id {user_id}")
    user.failed_logins = 0
    user.locked_until_ms = None
    audit_user(
        session,
        "signed-in",
        user,
        address=address,
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(
    session: Session, user_id: int, current: str, new: str, *, address: str = ""
) -> int:
    """Replace a user's password after checking the current one; returns how many
    sessions were ended.

    Every session of the user is revoked (the caller starts a fresh one for the
    browser that made the change), so a session stolen with the old password
    ends too. API tokens are separate credentials and stay valid: a program's
    token is not tied to a person's password; revoke tokens on the token page.
    ``AccountError`` when the current password is wrong or the new one is
    refused by the password rule (the reason in words), or equals the old one.
    """
    user = session.get(User, user_id)
    if user is None or user.service:
        raise AccountError(f"no user has the id {user_id}")
    if not _verify(user.password_hash, current):
        audit_user(
            session,
            "password-change-refused",
            user,
            address=address,
        )
        raise AccountError("the current password is not right")
    if new == current:
        raise AccountError("the new password must differ from the current one")
    _check_password(new, user.username, user.display_name)
    user.password_hash = _hasher.hash(new)
    user.password_changed_ms = _now_ms()
    ended = user_sessions.revoke_all(session, user.id)
    audit_user(  # commits the new password with its event
        session,
        "password-changed",
        user,
        address=address,
        sessions_ended=ended,
    )
    return ended


def list_users(session: Session, *, service: bool = False) -> list[UserRow]:
    """People (or, with ``service=True``, service users), active first, then by username."""
    last = user_sessions.last_sign_in_ms(session)
    rows = session.execute(
        select(User, Party.code)
        .outerjoin(Party, Party.id == User.party_id)
        .where(User.service.is_(service))
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
            service=user.service,
            two_factor=totp.has_two_factor(user),
            failed_logins=user.failed_logins or 0,
            locked_until_ms=user.locked_until_ms,
            last_sign_in_ms=last.get(user.id),
        )
        for user, code in rows
    ]


def set_user_active(
    session: Session, user_id: int, active: bool, *, address: str = "", actor: str = CLI_ACTOR
) -> None:
    """(De)activate a user; deactivation revokes every session of the user, so open
    sessions stop working at once, and the user's API tokens are refused while it lasts.
    Records ``user-deactivated``/``user-reactivated`` by ``actor``. Commits."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError(f"no user has the id {user_id}")
    user.active = active
    ended = 0 if active else user_sessions.revoke_all(session, user.id)
    audit_user(
        session,
        "user-reactivated" if active else "user-deactivated",
        user,
        address=address,
        actor=actor,
        sessions_ended=ended,
    )


def unlock_user(
    session: Session, user_id: int, *, address: str = "", actor: str = CLI_ACTOR
) -> None:
    """End a lockout now (an admin's action) and reset the failure count; records
    ``account-unlocked`` by ``actor``. Commits."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError(f"no user has the id {user_id}")
    user.locked_until_ms = None
    user.failed_logins = 0
    audit_user(
        session,
        "account-unlocked",
        user,
        address=address,
        actor=actor,
    )


def reset_two_factor(
    session: Session, user_id: int, *, address: str = "", actor: str = CLI_ACTOR
) -> None:
    """Remove a user's second factor (lost phone) and end their sessions; a finance or
    admin user must set up a new one at the next sign-in. Records ``two-factor-reset``
    by ``actor``. Commits."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError(f"no user has the id {user_id}")
    user.totp_secret = None
    user.totp_last_step = None
    ended = user_sessions.revoke_all(session, user.id)
    audit_user(
        session,
        "two-factor-reset",
        user,
        address=address,
        actor=actor,
        sessions_ended=ended,
    )


def _service_username(role: Role, party_code: str | None, party_id: int | None) -> str:
    name = SERVICE_PREFIX + role.value
    if party_code is None:
        return name
    full = f"{name}:{party_code}"
    return full if len(full) <= _MAX_USERNAME else f"{name}:#{party_id}"


def service_user(
    session: Session,
    role: Role | str,
    party: str | None = None,
    *,
    actor: str = CLI_ACTOR,
    address: str = "",
) -> User:
    """The service user of ``role`` (and party code), created on first use (recorded
    as ``user-created`` by ``actor``). Commits.

    Named ``service:ROLE`` or ``service:ROLE:PARTY``; it has no usable password
    and cannot sign in, and is listed apart from people.
    """
    role = _role(role)
    party_id = find_party_id(session, party)
    _check_party(role, party_id)
    query = select(User).where(
        User.service.is_(True),
        User.role == role.value,
        User.party_id.is_(None) if party_id is None else User.party_id == party_id,
    )
    found = session.scalars(query.order_by(User.id)).first()
    if found is not None:
        return found
    user = User(
        username=_service_username(role, party, party_id),
        password_hash=_NO_PASSWORD,
        role=role.value,
        party_id=party_id,
        display_name=f"{role.label} service" + (f" ({party})" if party else ""),
        active=True,
        created_ms=_now_ms(),
        failed_logins=0,
        service=True,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # made by a concurrent call a moment ago
        session.rollback()
        again = session.scalars(query.order_by(User.id)).first()
        if again is None:
            raise AccountError(f"the username {user.username!r} is taken by a person") from None
        return again
    audit_user(
        session,
        "user-created",
        user,
        address=address,
        actor=actor,
        role=role.value,
        party=party or "-",
        service=True,
    )
    return user


def _party_code_of(session: Session, party_id: int | None) -> str | None:
    if party_id is None:
        return None
    return session.scalar(select(Party.code).where(Party.id == party_id))


def create_token(
    session: Session,
    role: Role | str,
    *,
    party: str | None = None,
    label: str = "",
    user: str | None = None,
    actor: str = CLI_ACTOR,
    address: str = "",
) -> NewToken:
    """Create an API token that acts as a user; the returned secret is the only copy.
    Records ``token-created`` (on the token's user) by ``actor``. Commits.

    With ``user`` (a username) the token belongs to that person: ``role`` and
    ``party`` must be theirs (``AccountError`` saying what differs otherwise),
    and the user must be active. Without it, the token belongs to the service
    user of ``role`` and ``party`` (:func:`service_user`). ``label`` is a note
    for people and never identifies anyone.
    """
    role = _role(role)
    party_id = find_party_id(session, party)
    _check_party(role, party_id)
    if user is None:
        owner = service_user(session, role, party, actor=actor, address=address)
    else:
        found = session.scalar(select(User).where(User.username == user.strip()))
        if found is None:
            raise AccountError(
                f"no user has the username {user!r}",
                N_("User: no user has the username “%(name)s”."),
                "user",
                name=user.strip(),
            )
        owner = found
        if not owner.active:
            raise AccountError(
                f"the user {owner.username!r} is deactivated",
                N_("User: %(name)s is deactivated"),
                "user",
                name=repr(owner.username),
            )
        if owner.role != role.value:
            raise AccountError(
                f"the user {owner.username!r} has the role {owner.role}, not {role.value}",
                N_("Role: the user %(name)s has the role %(theirs)s, not %(asked)s"),
                "role",
                name=repr(owner.username),
                theirs=_l(_role(owner.role).label),
                asked=_l(role.label),
            )
        if owner.party_id != party_id:
            theirs = _party_code_of(session, owner.party_id)
            asked = f"party {party}" if party else "no party"
            said = f"party {theirs}" if theirs else "no party"
            raise AccountError(
                f"the user {owner.username!r} acts for {said}, not {asked}",
                N_("Party code: the user %(name)s acts for %(theirs)s, not %(asked)s"),
                "party",
                name=repr(owner.username),
                theirs=theirs or "—",
                asked=party or "—",
            )
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=hash_token(secret),
        role=role.value,
        party_id=party_id,
        label=label,
        user_id=owner.id,
        created_ms=_now_ms(),
    )
    session.add(token)
    session.flush()  # the token's id, for the event committed with it
    audit_user(
        session,
        "token-created",
        owner,
        address=address,
        actor=actor,
        token_id=token.id,
        role=role.value,
        party=party or "-",
        label=label,
    )
    return NewToken(
        id=token.id,
        secret=secret,
        role=role,
        party_code=party or None,
        label=label,
        user_id=owner.id,
        username=owner.username,
    )


def authenticate_token(session: Session, secret: str) -> tuple[ApiToken, User] | None:
    """The unrevoked token whose secret this is, with the user it acts as; ``None`` when
    there is none, or its user is deactivated or no longer has the token's role and party.

    A token made before tokens belonged to users is given to the service user of
    its role and party on first use (what ``token create`` without ``--user``
    does today).
    """
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(secret), ApiToken.revoked_ms.is_(None)
        )
    )
    if token is None:
        return None
    if token.user_id is None:
        owner = service_user(
            session, token.role, _party_code_of(session, token.party_id), actor=SYSTEM_ACTOR
        )
        token.user_id = owner.id
        session.commit()
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    if user.role != token.role or user.party_id != token.party_id:
        return None
    return token, user


def revoke_token(
    session: Session, token_id: int, *, actor: str = CLI_ACTOR, address: str = ""
) -> None:
    """Refuse the token from now on (kept, with the time, for the audit trail); records
    ``token-revoked`` (on the token's user) by ``actor``. Revoking a revoked token
    changes and records nothing. ``AccountError`` when no token has the id. Commits."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise AccountError(f"no token has the id {token_id}")
    if token.revoked_ms is not None:
        return
    token.revoked_ms = _now_ms()
    owner = None if token.user_id is None else session.get(User, token.user_id)
    audit(
        session,
        "token-revoked",
        username=owner.username if owner is not None else "-",
        user_id=token.user_id,
        address=address,
        actor=actor,
        token_id=token.id,
        label=token.label,
    )


def tokens(session: Session) -> list[TokenRow]:
    """Every token with the user it belongs to, newest first (never the secret)."""
    rows = session.execute(
        select(ApiToken, User, Party.code)
        .outerjoin(User, User.id == ApiToken.user_id)
        .outerjoin(Party, Party.id == ApiToken.party_id)
        .order_by(ApiToken.id.desc())
    )
    return [
        TokenRow(
            id=token.id,
            role=Role(token.role),
            party_code=code,
            label=token.label,
            user_id=token.user_id,
            username=None if user is None else user.username,
            service=bool(user is not None and user.service),
            created_ms=token.created_ms,
            revoked_ms=token.revoked_ms,
        )
        for token, user, code in rows
    ]


def account_events(
    session: Session,
    *,
    username: str | None = None,
    event: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AccountEventRow], int]:
    """One page of the audit trail, newest first, and how many events match in all.

    ``username``: only events about this account (exact username); ``event``:
    only this event (a key of :data:`EVENT_LABELS`); ``None`` or ``""`` does not
    filter. ``offset`` >= 0 and ``limit`` >= 1 are counted in events.
    """
    query = select(AccountEvent)
    if username:
        query = query.where(AccountEvent.username == username)
    if event:
        query = query.where(AccountEvent.event == event)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AccountEvent.at_ms.desc(), AccountEvent.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_event_row(row) for row in rows], total


def _event_row(row: AccountEvent) -> AccountEventRow:
    return AccountEventRow(
        id=row.id,
        at_ms=row.at_ms,
        event=row.event,
        label=EVENT_LABELS.get(row.event, row.event),
        username=row.username,
        user_id=row.user_id,
        actor=row.actor,
        address=row.address,
        detail=_detail_pairs(row.detail),
        by=ACTOR_LABELS.get(row.actor, row.actor),
    )


def _detail_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``{"failures": 2, "reason": "wrong password"}`` as ``(("failures", "2"), ...)``;
    a detail that is not a JSON object (an edited row) is shown as it is."""
    try:
        value = json.loads(text)
    except ValueError:
        return ((_DETAIL_NAMES["detail"], text),)
    if not isinstance(value, dict):
        return ((_DETAIL_NAMES["detail"], text),)
    return tuple(_detail_pair(key, item) for key, item in value.items())


def _detail_pair(key: str, item: object) -> tuple[str, str]:
    """One recorded detail in the reader's words: its name and, for the values that
    are words of the code (a role, a reason, what comes next), its value."""
    text = "" if item is None else str(item)
    name = _DETAIL_NAMES.get(key, key.replace("_", " "))
    return name, _DETAIL_VALUES.get((key, text), text)


def _role(value: Role | str) -> Role:
    try:
        return parse_role(value)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
