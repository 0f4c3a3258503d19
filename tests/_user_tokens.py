"""API tokens that belong to a given user, for tests of rules that compare people
(four eyes): a token acts as its user, whatever its label."""

from __future__ import annotations

import secrets
import time

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from web.accounts import hash_token
from web.models import ApiToken, User


def user_token(engine: Engine, user_id: int, label: str = "") -> dict[str, str]:
    """``Authorization`` headers of a new token of user ``user_id`` (its role and
    party), labelled ``label``."""
    secret = secrets.token_urlsafe(32)
    with Session(engine) as s, s.begin():
        user = s.get(User, user_id)
        assert user is not None, f"no user {user_id}"
        s.add(
            ApiToken(
                token_hash=hash_token(secret), role=user.role, party_id=user.party_id,
                label=label, user_id=user_id, created_ms=int(time.time() * 1000),
            )
        )  # fmt: skip
    return {"Authorization": f"Bearer {secret}"}
