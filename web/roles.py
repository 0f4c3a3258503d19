"""The roles of the design, as one enum so a typo fails at start-up, not at request time."""

from __future__ import annotations

import enum

__all__ = ["ALL_ROLES", "Role", "parse_role"]


class Role(enum.StrEnum):
    ADMIN = "admin"
    WAREHOUSE = "warehouse"
    CHANNEL_MANAGER = "channel_manager"
    PARTNER_MANAGER = "partner_manager"
    FINANCE = "finance"
    DISTRIBUTOR = "distributor"
    INSPECTOR = "inspector"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        """How the role is named to people (navigation, greetings, forms)."""
        return _LABELS[self]


_LABELS = {
    Role.ADMIN: "Administrator",
    Role.WAREHOUSE: "Warehouse",
    Role.CHANNEL_MANAGER: "Channel manager",
    Role.PARTNER_MANAGER: "Partner manager",
    Role.FINANCE: "Finance",
    Role.DISTRIBUTOR: "Distributor",
    Role.INSPECTOR: "Inspector",
    Role.AUDITOR: "Auditor",
}

ALL_ROLES: tuple[Role, ...] = tuple(Role)


def parse_role(value: str | Role) -> Role:
    """The role named ``value``; ``ValueError`` listing the valid names otherwise."""
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}; choose one of: {names}") from None
