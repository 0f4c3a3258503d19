"""The password rule: long enough, and not easy to guess.

A password is accepted when it has at least :data:`MIN_PASSWORD_LENGTH`
characters *and* the zxcvbn estimator (Wheeler, "zxcvbn: Low-Budget Password
Strength Estimation", USENIX Security 2016) scores it at least
:data:`MIN_SCORE` out of 4 ("safely unguessable: moderate protection from an
offline slow-hash scenario", about 10^8 guesses and more), with the person's
username and display name, and the service's own name (:data:`SERVICE_WORDS`),
counted as known words. This follows NIST SP 800-63B §5.1.1.2 (which names
"context-specific words, such as the name of the service, the username"): a minimum length, and a check against commonly used, expected or
compromised values, instead of composition rules (no "one digit and one capital").

The reason for a refusal is said in words (zxcvbn's own feedback), never as a
score.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from zxcvbn import zxcvbn  # type: ignore[import-untyped]

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "MIN_SCORE",
    "SERVICE_WORDS",
    "password_problem",
]

MIN_PASSWORD_LENGTH = 10
#: A passphrase of several words fits; a pasted megabyte does not reach argon2.
MAX_PASSWORD_LENGTH = 256
#: zxcvbn's score, 0 (too guessable) to 4 (very unguessable).
MIN_SCORE = 3
# zxcvbn's matching grows faster than linearly with length; it looks at this many
# characters (its own default). A longer password is at least as strong as its prefix.
_SCORED_PREFIX = 72
#: Words any attacker of this service tries first, whoever the account is.
SERVICE_WORDS = ("hopchain", "hop chain")


def password_problem(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """Why ``password`` is refused, in one sentence; ``None`` when it is accepted.

    ``user_inputs``: words an attacker would try first for this account
    (username, display name); a password built from them scores lower.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password has at most {MAX_PASSWORD_LENGTH} characters"
    words = [w for w in (s.strip() for s in user_inputs) if w]
    result_words = [*words, *SERVICE_WORDS]
    result = cast(dict[str, Any], zxcvbn(password[:_SCORED_PREFIX], user_inputs=result_words))
    if int(result["score"]) >= MIN_SCORE:
        return None
    feedback = result.get("feedback") or {}
    hints = [str(feedback.get("warning") or "")] + [str(s) for s in feedback.get("suggestions", ())]
    said = " ".join(h.strip() for h in hints if h.strip())
    if any(w.lower() in password.lower() for w in words):
        said = (said + " It should not contain your username or name.").strip()
    elif SERVICE_WORDS[0] in password.lower():
        said = (said + " It should not be built on the service's name.").strip()
    reason = "this password is too easy to guess"
    return f"{reason}: {said}" if said else f"{reason}; add more unusual words"
