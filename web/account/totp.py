"""Two-factor sign-in with time-based one-time passwords (TOTP, RFC 6238).

Finance and admin users (:data:`TWO_FACTOR_ROLES`) must have it; anyone may
set it up. A shared secret (160 random bits, base32, as RFC 4226 §4 recommends)
is shown once as an ``otpauth://`` URI and a QR code drawn on the server (no
third-party service sees it) and becomes active when the person types a code
their authenticator app made from it. At sign-in, a user with a secret gives a
6-digit code after the password.

Codes are HMAC-SHA1 over 30-second time steps (RFC 6238 defaults, what every
authenticator app uses); a code of the previous or next step is accepted too
(clock drift, RFC 6238 §5.2). Each step's code works once: the last step used
is stored, and only a later step is accepted after it (RFC 6238 §5.2: "the
verifier MUST NOT accept the second attempt of the same OTP"). The check and
the update are one compare-and-set, so two requests racing with the same code
cannot both pass.

Storage: ``users.totp_secret`` holds the base32 secret and
``users.totp_last_step`` the last time step (``unix seconds // 30``) whose code
was accepted.
"""

from __future__ import annotations

import hmac
import time

import pyotp
import qrcode
import qrcode.image.svg
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import update
from sqlalchemy.orm import Session

from web.models import User
from web.roles import Role

__all__ = [
    "ISSUER",
    "STEP_SECONDS",
    "TWO_FACTOR_ROLES",
    "check_code",
    "enroll",
    "has_two_factor",
    "new_secret",
    "provisioning_uri",
    "qr_svg",
    "required_for",
]

TWO_FACTOR_ROLES = frozenset({Role.FINANCE, Role.ADMIN})
ISSUER = "hopchain"
STEP_SECONDS = 30
_DIGITS = 6
_SECRET_CHARS = 32  # base32: 5 bits each, 160 bits


def required_for(role: Role | str) -> bool:
    """Whether users of ``role`` must sign in with a second factor."""
    return Role(role) in TWO_FACTOR_ROLES


def has_two_factor(user: User) -> bool:
    """Whether the user has set up a TOTP secret."""
    return bool(user.totp_secret)


def new_secret() -> str:
    """A fresh random base32 secret of 160 bits."""
    return pyotp.random_base32(length=_SECRET_CHARS)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://totp/hopchain:USERNAME?secret=...&issuer=hopchain`` URI that
    authenticator apps read (Google Authenticator "Key Uri Format")."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(text: str) -> str:
    """``text`` as a QR code: inline SVG markup (no image request, no inline style, so the
    page's Content-Security-Policy stays ``default-src 'self'``), labelled in the
    request's language."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg: bytes = image.to_string()
    markup = svg.decode("utf-8")
    if markup.startswith("<?xml"):
        markup = markup.split("?>", 1)[1]
    label = escape(gettext("QR code of the two-factor secret"))
    return markup.replace("<svg ", f'<svg role="img" aria-label="{label}" class="qr" ', 1)


def _matching_step(secret: str, code: str, now_s: float, after: int | None) -> int | None:
    """The time step (previous, current or next) whose code is ``code``, if later than ``after``."""
    code = "".join(code.split())
    if len(code) != _DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=_DIGITS, interval=STEP_SECONDS)
    current = int(now_s) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def enroll(
    db: Session, user_id: int, secret: str, code: str, *, now_s: float | None = None
) -> bool:
    """Make ``secret`` the user's second factor if ``code`` is one of its current codes.

    ``False`` (and nothing changes) when the code does not match. The step of
    ``code`` counts as used. Commits.
    """
    now = time.time() if now_s is None else now_s
    step = _matching_step(secret, code, now, None)
    user = db.get(User, user_id)
    if step is None or user is None:
        return False
    user.totp_secret = secret
    user.totp_last_step = step
    db.commit()
    return True


def check_code(db: Session, user_id: int, code: str, *, now_s: float | None = None) -> bool:
    """Whether ``code`` is a valid, unused code of the user's secret; uses it up. Commits.

    ``False`` for a wrong, malformed or already used code, and for a user
    without a secret.
    """
    now = time.time() if now_s is None else now_s
    user = db.get(User, user_id)
    if user is None or not user.totp_secret:
        return False
    secret, last = user.totp_secret, user.totp_last_step
    step = _matching_step(secret, code, now, last)
    if step is None:
        return False
    used = User.totp_last_step
    result = db.execute(  # compare-and-set: of two requests with one code, one wins
        update(User)
        .where(User.id == user_id, User.totp_secret == secret)
        .where((used.is_(None)) | (used < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.commit()
    db.expire(user)
    return bool(getattr(result, "rowcount", 0))
