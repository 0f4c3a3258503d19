"""Raw values that pages show, in words of the reader's language (issue 11).

Entry kinds (EPCIS business steps as the ledger stores them: ``retail_selling``),
statuses (``posted``, ``confirmed``, ``active``) and money movement kinds
(``receipt``) are stored and sent by the API as they are; a page shows them
through the ``words`` filter: ``{{ e.kind|words }}`` -> ``"Retail sale"`` (en),
``"零售"`` (zh). A value without words here is shown with ``_`` as a space.
"""

from __future__ import annotations

from flask_babel import gettext

from web.i18n import N_

__all__ = ["WORDS", "value_words", "words"]

#: Every raw value a page may show, with its words (marked for the catalogue).
WORDS: dict[str, str] = {
    # ledger entry kinds (ledger.models.Entry.kind; EPCIS 2.0 bizStep names)
    "commissioning": N_("Commissioning"),
    "packing": N_("Packing"),
    "unpacking": N_("Unpacking"),
    "shipping": N_("Shipping"),
    "receiving": N_("Receiving"),
    "retail_selling": N_("Retail sale"),
    "inspecting": N_("Inspection"),
    "returning": N_("Return"),
    "decommissioning": N_("Decommissioning"),
    "error_declaration": N_("Error declaration"),
    # statuses of grants, alerts, runs, statements, adjustments, disputes
    "active": N_("active"),
    "ended": N_("ended"),
    "upcoming": N_("upcoming"),
    "open": N_("open"),
    "investigating": N_("investigating"),
    "confirmed": N_("confirmed"),
    "dismissed": N_("dismissed"),
    "draft": N_("draft"),
    "approved": N_("approved"),
    "posted": N_("posted"),
    "discarded": N_("discarded"),
    "pending": N_("pending"),
    "rejected": N_("rejected"),
    "adjusted": N_("adjusted"),
    "disputed": N_("disputed"),
    # alert severities (settlement.severity)
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
    "critical": N_("critical"),
    # alert history: actions (settlement.models.AlertEvent.action), roles, the detection actor
    "detected": N_("raised the alert"),
    "findings_added": N_("added evidence"),
    "status": N_("changed the status"),
    "appeal": N_("appealed"),
    "assign": N_("assigned it"),
    "attachment": N_("attached a file"),
    "note": N_("wrote"),
    "system": N_("system"),
    "detection": N_("automatic detection"),
    "admin": N_("Administrator"),
    "warehouse": N_("Warehouse"),
    "channel_manager": N_("Channel manager"),
    "partner_manager": N_("Partner manager"),
    "finance": N_("Finance"),
    "distributor": N_("Distributor"),
    "auditor": N_("Auditor"),
    # territory levels (geo.LEVELS)
    "region": N_("region"),
    "country": N_("country"),
    "province": N_("province"),
    "city": N_("city"),
    "custom": N_("custom territory"),
    # money movements (settlement.deposits.DEPOSIT_KINDS, receivables)
    "receipt": N_("receipt"),
    "refund": N_("refund"),
    "deposit": N_("deposit"),
    "deduction": N_("deduction"),
    "payment": N_("payment"),
    "invoice": N_("invoice"),
    # what a target counts (settlement.models.Target.measure)
    "units": N_("units"),
    # party statuses and kinds (partners.parties.STATUSES, KINDS; "active" is above)
    "prospect": N_("prospect"),
    "trial": N_("on trial"),
    "suspended": N_("suspended"),
    "exiting": N_("exiting"),
    "dealer": N_("Dealer"),
    "retailer": N_("Retailer"),
    "inspector": N_("Inspector"),
    "manufacturer": N_("Manufacturer"),
    # agreements (partners.agreements.STATUSES; "draft" and "approved" are above)
    "legal_review": N_("in legal review"),
    "business_review": N_("in business review"),
    "signed": N_("signed"),
    "superseded": N_("superseded"),
    "terminated": N_("terminated"),
}


def words(value: object) -> str:
    """``value`` (a raw kind or status) in the request's language; unknown values
    come back with ``_`` read as a space (``"out_of_zone"`` -> ``"out of zone"``)."""
    text = "" if value is None else str(value)
    label = WORDS.get(text)
    return str(gettext(label)) if label else text.replace("_", " ")


def value_words(value: object) -> object:
    """A stored field value as the reference-data history shows it: a raw kind or
    status known to :data:`WORDS` in the request's language, anything else (amounts,
    dates, codes, None) exactly as it is (never ``_`` read as a space: it is data)."""
    label = WORDS.get(value) if isinstance(value, str) else None
    return str(gettext(label)) if label else value
