"""The errors of partner management and who may act.

Services take the acting user as any object with ``username``, ``role``,
``party_id`` and ``user_id`` (``settlement.Actor`` is one): :class:`Acting`.
"""

from __future__ import annotations

from typing import Protocol

from ledger.said import SaidError

__all__ = [
    "Acting",
    "PartnerDenied",
    "PartnerError",
    "PartnerNotFound",
    "PartnerStateError",
    "require",
]


class PartnerError(SaidError):
    """A partner-management request that cannot be carried out, with the reason
    (English in ``str(exc)``; ``message_id`` and ``values`` for ``web/reasons.py``)."""


class PartnerNotFound(PartnerError):
    """The party, prospect, agreement or record named does not exist (HTTP 404)."""


class PartnerStateError(PartnerError):
    """The record's status forbids the action (a signed agreement edited, a closed
    prospect moved, an exit completed twice) (HTTP 409)."""


class PartnerDenied(PartnerError):
    """The acting user's role (or party) does not allow this action (HTTP 403)."""


class Acting(Protocol):
    """The user on whose behalf a service acts (``settlement.Actor`` fits)."""

    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def party_id(self) -> int | None: ...
    @property
    def user_id(self) -> int | None: ...


def require(actor: Acting, *roles: str, action: str) -> None:
    """Refuse (:class:`PartnerDenied`) unless ``actor``'s role is one of ``roles``."""
    if actor.role not in roles:
        raise PartnerDenied.said(
            "partner_denied",
            "%(user)s (%(role)s) may not %(action)s; needs one of: %(roles)s",
            user=actor.username,
            role=actor.role,
            action=action,
            roles=", ".join(roles),
        )
