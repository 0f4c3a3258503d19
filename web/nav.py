"""Navigation per role: one table, read by the layout and by the home dashboard.

An entry whose page does not exist yet (its endpoint is not registered) shows
as unavailable rather than as a broken link; the page's author only has to use
the endpoint name written here.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for

from web.roles import Role

__all__ = ["NAV", "NavItem", "ShownItem", "items_for"]


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    endpoint: str
    roles: tuple[Role, ...]
    blurb: str  # one line on the dashboard card


@dataclass(frozen=True, slots=True)
class ShownItem:
    label: str
    endpoint: str
    url: str | None  # None: page not available yet
    blurb: str


NAV: tuple[NavItem, ...] = (
    NavItem("Scan station", "scans.station", (Role.WAREHOUSE,), "Scan shipments in and out."),
    NavItem("Alerts", "alerts.index", (Role.CHANNEL_MANAGER,), "Diversion alerts to investigate."),
    NavItem(
        "Trace a unit",
        "trace.unit",
        (Role.CHANNEL_MANAGER, Role.WAREHOUSE, Role.AUDITOR),
        "Every hop of one serial number.",
    ),
    NavItem(
        "Settlement runs", "settlement.runs", (Role.FINANCE,), "Monthly rebates and penalties."
    ),
    NavItem("My statements", "partner.statements", (Role.DISTRIBUTOR,), "Your rebate statements."),
    NavItem("My alerts", "partner.alerts", (Role.DISTRIBUTOR,), "Diversion alerts about you."),
    NavItem("Users", "admin.users", (Role.ADMIN,), "Who may sign in, and as what."),
    NavItem(
        "Account activity",
        "admin.activity",
        (Role.ADMIN,),
        "Sign-ins, lockouts and changes to accounts and tokens.",
    ),
    NavItem("Devices", "admin.devices", (Role.ADMIN,), "Registered scanners and their keys."),
    NavItem(
        "Territories",
        "admin.territories",
        (Role.ADMIN, Role.CHANNEL_MANAGER),
        "Regions each distributor serves.",
    ),
    NavItem("Ledger", "ledger_pages.index", (Role.AUDITOR,), "Entries, checkpoints and proofs."),
    NavItem(
        "Receivables and deposits",
        "money.accounts",
        (Role.FINANCE, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN),
        "What each distributor owes, the deposit it holds, what was deducted.",
    ),
    NavItem(
        "Accruals",
        "money.accruals",
        (Role.FINANCE, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN),
        "This month so far, and who is close to the next tier.",
    ),
    NavItem(
        "My account",
        "portal_money.my_account",
        (Role.DISTRIBUTOR,),
        "What you owe and your deposit.",
    ),
    NavItem(
        "My accruals",
        "portal_money.my_accruals",
        (Role.DISTRIBUTOR,),
        "Your rebate so far, your next tier.",
    ),
    NavItem(
        "Reference data",
        "reference.index",
        (Role.FINANCE, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN),
        "Prices, FX rates, programs, targets, deposits and billing details.",
    ),
    NavItem(
        "Adjustments", "adjustments.index", (Role.FINANCE,), "One-off lines waiting for approval."
    ),
    NavItem(
        "Disputes",
        "disputes.index",
        (Role.FINANCE, Role.AUDITOR, Role.ADMIN),
        "Statement lines distributors dispute.",
    ),
    NavItem(
        "API tokens", "admin.tokens", (Role.ADMIN,), "Tokens for programs, each acting as a user."
    ),
    NavItem(
        "Two-factor sign-in",
        "two_factor.setup",
        (Role.FINANCE, Role.ADMIN),
        "A code from your phone after your password.",
    ),
    NavItem(
        "Change password",
        "password.change",
        tuple(Role),
        "A new password; other sessions of yours are signed out.",
    ),
)


def items_for(role: Role) -> list[ShownItem]:
    """The navigation of ``role``, with a URL for each page that exists."""
    views = current_app.view_functions
    return [
        ShownItem(
            label=item.label,
            endpoint=item.endpoint,
            url=url_for(item.endpoint) if item.endpoint in views else None,
            blurb=item.blurb,
        )
        for item in NAV
        if role in item.roles
    ]
