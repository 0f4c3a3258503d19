"""Navigation per role: one table, read by the layout and by the home dashboard.

An entry whose page does not exist yet (its endpoint is not registered) shows
as unavailable rather than as a broken link; the page's author only has to use
the endpoint name written here.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import gettext, pgettext

from web.i18n import N_
from web.roles import Role

__all__ = ["NAV", "NavItem", "ShownItem", "items_for"]


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    endpoint: str
    roles: tuple[Role, ...]
    blurb: str  # one line on the dashboard card
    # Pages the item's page links to as its own sub-navigation (a hub's cards, a
    # list's "reports" link): reachable in one step, so not repeated in the bar.
    pages: tuple[str, ...] = ()
    # The label's pgettext context where the bare word means something else too
    # ("Credit": credit standing here, the ledger's credit side on the journal).
    context: str = ""


@dataclass(frozen=True, slots=True)
class ShownItem:
    label: str
    endpoint: str
    url: str | None  # None: page not available yet
    blurb: str


NAV: tuple[NavItem, ...] = (
    NavItem(
        N_("Scan station"), "scans.station", (Role.WAREHOUSE,), N_("Scan shipments in and out.")
    ),
    NavItem(
        N_("Alerts"),
        "alerts.index",
        (Role.CHANNEL_MANAGER, Role.ADMIN),
        N_("Diversion alerts to investigate."),
        pages=("alerts.reports",),
    ),
    NavItem(
        N_("Trace a unit"),
        "trace.unit",
        (Role.CHANNEL_MANAGER, Role.WAREHOUSE, Role.AUDITOR, Role.ADMIN, Role.DISTRIBUTOR),
        N_("Every hop of one serial number."),
    ),
    NavItem(
        N_("Settlement runs"),
        "settlement.runs",
        (Role.FINANCE, Role.AUDITOR, Role.ADMIN),
        N_("Monthly rebates and penalties."),
        pages=("settlement.scores",),
    ),
    NavItem(
        N_("My statements"),
        "partner.statements",
        (Role.DISTRIBUTOR,),
        N_("Your rebate statements."),
    ),
    NavItem(
        N_("My alerts"),
        "partner.alerts",
        (Role.DISTRIBUTOR,),
        N_("Diversion alerts about you."),
        pages=("partner.report",),
    ),
    NavItem(N_("Users"), "admin.users", (Role.ADMIN,), N_("Who may sign in, and as what.")),
    NavItem(
        N_("Account activity"),
        "admin.activity",
        (Role.ADMIN,),
        N_("Sign-ins, lockouts and changes to accounts and tokens."),
    ),
    NavItem(
        N_("Outbox"),
        "admin.outbox",
        (Role.ADMIN,),
        N_("E-mails to partners and whether they were sent."),
    ),
    NavItem(
        N_("Devices"), "admin.devices", (Role.ADMIN,), N_("Registered scanners and their keys.")
    ),
    NavItem(
        N_("Territories"),
        "admin.territories",
        (Role.ADMIN, Role.CHANNEL_MANAGER),
        N_("Regions each distributor serves."),
    ),
    NavItem(
        N_("Ledger"),
        "ledger_pages.index",
        (Role.AUDITOR, Role.ADMIN),
        N_("Entries, checkpoints and proofs."),
    ),
    NavItem(
        N_("Receivables and deposits"),
        "money.accounts",
        (Role.FINANCE, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN),
        N_("What each distributor owes, the deposit it holds, what was deducted."),
    ),
    NavItem(
        N_("Accruals"),
        "money.accruals",
        (Role.FINANCE, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN),
        N_("This month so far, and who is close to the next tier."),
    ),
    NavItem(
        N_("My account"),
        "portal_money.my_account",
        (Role.DISTRIBUTOR,),
        N_("What you owe and your deposit."),
    ),
    NavItem(
        N_("My accruals"),
        "portal_money.my_accruals",
        (Role.DISTRIBUTOR,),
        N_("Your rebate so far, your next tier."),
    ),
    NavItem(
        N_("Reference data"),
        "reference.index",
        (Role.FINANCE, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN),
        N_("Prices, FX rates, programs, targets, deposits and billing details."),
        pages=(
            "prices.index",
            "fx.index",
            "programs.index",
            "targets.index",
            "deposits.index",
            "adjustments.index",
            "billing.index",
            "reference.history",
            "imports.index",
        ),
    ),
    NavItem(
        N_("Adjustments"),
        "adjustments.index",
        (Role.FINANCE,),
        N_("One-off lines waiting for approval."),
    ),
    NavItem(
        N_("Disputes"),
        "disputes.index",
        (Role.FINANCE, Role.AUDITOR, Role.ADMIN),
        N_("Statement lines distributors dispute."),
    ),
    NavItem(
        N_("Partners"),
        "partners.parties",
        (
            Role.PARTNER_MANAGER,
            Role.FINANCE,
            Role.CHANNEL_MANAGER,
            Role.AUDITOR,
            Role.ADMIN,
        ),
        N_("Distributors, dealers and other parties: master data, contacts and status."),
        pages=("partners.new", "partners.import_parties"),
    ),
    NavItem(
        N_("Recruitment"),
        "recruitment.board",
        (
            Role.PARTNER_MANAGER,
            Role.CHANNEL_MANAGER,
            Role.FINANCE,
            Role.AUDITOR,
            Role.ADMIN,
        ),
        N_("Prospects from application to signing, conversion per channel, trials."),
        pages=(
            "recruitment.prospects",
            "recruitment.trials_index",
            "recruitment.costs",
            "recruitment.weights",
        ),
    ),
    NavItem(
        N_("Agreements"),
        "agreements.index",
        (
            Role.PARTNER_MANAGER,
            Role.FINANCE,
            Role.CHANNEL_MANAGER,
            Role.AUDITOR,
            Role.ADMIN,
        ),
        N_("What each partner signed, its reviews, renewals and terminations."),
        pages=("agreements.new",),
    ),
    NavItem(
        N_("Exits"),
        "exits.index",
        (
            Role.PARTNER_MANAGER,
            Role.FINANCE,
            Role.CHANNEL_MANAGER,
            Role.AUDITOR,
            Role.ADMIN,
        ),
        N_("Partners on their way out: buffer, custody, final settlement, deposit."),
    ),
    NavItem(
        N_("Reviews"),
        "evaluation.reviews",
        (Role.CHANNEL_MANAGER, Role.PARTNER_MANAGER, Role.FINANCE, Role.ADMIN, Role.AUDITOR),
        N_("A/B/C class reviews of partners, their indicators and confirmation."),
    ),
    NavItem(
        N_("Partner tasks"),
        "crm.tasks",
        (Role.PARTNER_MANAGER, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN),
        N_("Health drops, quarterly meetings and next steps to follow up."),
    ),
    NavItem(
        N_("Credit"),
        "credit.index",
        (Role.FINANCE, Role.CHANNEL_MANAGER, Role.PARTNER_MANAGER, Role.AUDITOR, Role.ADMIN),
        N_("Credit files, ratings, limits, exposure and risk level of each partner."),
        pages=("credit.limit_table", "credit.model", "credit_accuracy.index"),
        context="credit standing",  # pgettext("credit standing", "Credit"): 信用, not 贷方
    ),
    NavItem(
        N_("Open items"),
        "credit_items.index",
        (Role.FINANCE, Role.AUDITOR, Role.ADMIN),
        N_("What partners owe by age, invoices, payments received and bank statements."),
        pages=("credit_items.invoices", "credit_items.payments"),
    ),
    NavItem(
        N_("Credit alerts"),
        "credit_alerts.index",
        (Role.FINANCE, Role.CHANNEL_MANAGER, Role.PARTNER_MANAGER, Role.AUDITOR, Role.ADMIN),
        N_("Shipments over limit or to cash-only partners, overdue items, thresholds crossed."),
        pages=("credit_alerts.thresholds",),
    ),
    NavItem(
        N_("Risk register"),
        "risk_register.index",
        (Role.FINANCE, Role.CHANNEL_MANAGER, Role.PARTNER_MANAGER, Role.AUDITOR, Role.ADMIN),
        N_("Risks by likelihood and impact, their owners and response plans."),
    ),
    NavItem(
        N_("My credit"),
        "credit_items.mine",
        (Role.DISTRIBUTOR,),
        N_("Your credit limit, what is open and when it is due."),
    ),
    NavItem(
        N_("Inspect"),
        "inspect.scan",
        (Role.INSPECTOR,),
        N_("Scan a unit on a shelf, add the shop and photos, and record it."),
        pages=("inspect.history",),
    ),
    NavItem(
        N_("Suspected"),
        "suspects.index",
        (Role.CHANNEL_MANAGER, Role.INSPECTOR, Role.ADMIN),
        N_("Label scans by the public that suggest diversion or a copied code."),
    ),
    NavItem(
        N_("Product pages"),
        "label.products",
        (Role.CHANNEL_MANAGER, Role.ADMIN),
        N_("The name and picture a consumer sees when scanning a label."),
    ),
    NavItem(
        N_("API tokens"),
        "admin.tokens",
        (Role.ADMIN,),
        N_("Tokens for programs, each acting as a user."),
    ),
    NavItem(
        N_("Two-factor sign-in"),
        "two_factor.setup",
        tuple(Role),
        N_("A code from your phone after your password."),
    ),
    NavItem(
        N_("Change password"),
        "password.change",
        tuple(Role),
        N_("A new password; other sessions of yours are signed out."),
    ),
    NavItem(
        N_("Language and time zone"),
        "preferences.edit",
        tuple(Role),
        N_("The language of the pages and the time zone of the times they show."),
    ),
)


def items_for(role: Role) -> list[ShownItem]:
    """The navigation of ``role``, with a URL for each page that exists."""
    views = current_app.view_functions
    return [
        ShownItem(
            label=pgettext(item.context, item.label) if item.context else gettext(item.label),
            endpoint=item.endpoint,
            url=url_for(item.endpoint) if item.endpoint in views else None,
            blurb=gettext(item.blurb),
        )
        for item in NAV
        if role in item.roles
    ]
