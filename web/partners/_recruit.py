"""What the recruitment pages, the public form and the recruitment API share: the
words of stages, channels, criteria and kinds, a refusal in the reader's language
with those values in words, a bad input's message per field, and the rate limit
of applications.

Applications are limited per address (config ``APPLICATION_LIMITS``, Flask-Limiter
notation, default ``5 per hour``), counted together for the form and
``POST /api/v1/applications`` in the app's limiter storage (the one
:mod:`web.auth` makes, ``RATELIMIT_STORAGE_URI``).
"""

from __future__ import annotations

from flask import current_app
from flask_babel import get_locale, gettext
from limits import parse_many

from ledger.said import SaidError
from partners.recruitment import InvalidInput
from partners.values import InvalidField
from web.i18n import DEFAULT_LOCALE, N_
from web.reasons import reason_message
from web.security import client_address

__all__ = [
    "CHANNEL_WORDS",
    "CRITERION_WORDS",
    "DEFAULT_APPLICATION_LIMITS",
    "FIELD_LABELS",
    "HONEYPOT",
    "KIND_WORDS",
    "SOURCE_WORDS",
    "STAGE_WORDS",
    "TRIAL_WORDS",
    "application_allowed",
    "field_problems",
    "said",
    "word",
]

DEFAULT_APPLICATION_LIMITS = "5 per hour"
#: The form field (and JSON member) people leave empty and form-filling robots fill.
HONEYPOT = "website_url"

STAGE_WORDS: dict[str, str] = {
    "application": N_("Application"),
    "screening": N_("Screening"),
    "site_visit": N_("Site visit"),
    "negotiation": N_("Negotiation"),
    "signing": N_("Signing"),
    "signed": N_("Signed"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
}
CHANNEL_WORDS: dict[str, str] = {
    "exhibition": N_("Exhibition"),
    "b2b_platform": N_("B2B platform"),
    "referral": N_("Referral"),
    "association": N_("Association"),
    "inbound": N_("Inbound (application form)"),
}
CRITERION_WORDS: dict[str, str] = {
    "qualification": N_("Qualification"),
    "sales_capability": N_("Sales capability"),
    "resources": N_("Resources"),
    "willingness": N_("Willingness to cooperate"),
}
KIND_WORDS: dict[str, str] = {
    "distributor": N_("Distributor"),
    "dealer": N_("Dealer"),
    "retailer": N_("Retailer"),
}
SOURCE_WORDS: dict[str, str] = {
    "form": N_("application form"),
    "api": N_("application through the API"),
    "manual": N_("added by a partner manager"),
    "demo": N_("demo data"),
}
TRIAL_WORDS: dict[str, str] = {
    "running": N_("running"),
    "admitted": N_("admitted"),
    "ended": N_("eliminated"),
}
FIELD_LABELS: dict[str, str] = {
    "company_name": N_("Company name"),
    "local_name": N_("Name in your language"),
    "kind": N_("Type of business"),
    "country": N_("Country"),
    "city": N_("City"),
    "currency": N_("Currency"),
    "contact_name": N_("Contact person"),
    "contact_email": N_("E-mail"),
    "contact_phone": N_("Telephone"),
    "language": N_("Language"),
    "website": N_("Website"),
    "territories_wanted": N_("Territories you want to serve"),
    "message": N_("Message"),
    "channel": N_("Channel"),
    "channel_detail": N_("Channel detail"),
    "stage": N_("Stage"),
    "note": N_("Note"),
    "owner_user_id": N_("Owner"),
    "due_on": N_("Due date"),
    "criterion": N_("Criterion"),
    "score": N_("Score"),
    "reason": N_("Reason"),
    "visited_on": N_("Visited on"),
    "visitor": N_("Visitor"),
    "report": N_("Report"),
    "photos": N_("Photos"),
    "territories": N_("Territories"),
    "programs": N_("Programs"),
    "deposit_minor": N_("Deposit"),
    "deposit": N_("Deposit"),
    "credit_limit_minor": N_("Credit limit"),
    "payment_terms_days": N_("Payment terms (days)"),
    "trial_days": N_("Trial days"),
    "trial_order_cap_units": N_("Trial order cap (units)"),
    "period": N_("Month"),
    "amount_minor": N_("Amount"),
    "code": N_("Party code"),
    "name": N_("Legal name"),
    "parent": N_("Parent"),
    "weights": N_("Weights"),
}
_ALL_WORDS = {**STAGE_WORDS, **CHANNEL_WORDS, **CRITERION_WORDS, **KIND_WORDS}
_WORDED = frozenset({"stage", "target", "needed", "outcome"})


def word(value: str | None) -> str:
    """A stage, channel, criterion or kind in the reader's language (as stored when
    it has no words here)."""
    if not value:
        return ""
    words = _ALL_WORDS.get(value) or TRIAL_WORDS.get(value)
    return str(gettext(words)) if words else value


def _label(field: str) -> str:
    """A field's label: ``weights.resources`` -> the criterion's words, ``photos[1]``
    -> "Photos [1]", else the label of its last part."""
    base, _, rest = field.partition("[")
    head = base.rsplit(".", 1)[-1]
    if base.startswith("weights.") and head in CRITERION_WORDS:
        return str(gettext(CRITERION_WORDS[head]))
    words = FIELD_LABELS.get(head)
    text = str(gettext(words)) if words else head
    return f"{text} [{rest}" if rest else text


def said(exc: SaidError, *, labels: bool = False) -> str:
    """The refusal ``exc`` in the request's language: stages, channels and field
    names in words. English is ``str(exc)`` byte for byte (what the API answers)
    unless ``labels``: a page names the field as its label says in English too
    (``Company name: is empty``, never ``company_name: is empty``; issue 12)."""
    if str(get_locale() or DEFAULT_LOCALE) == DEFAULT_LOCALE and not labels:
        return str(exc)
    worded = reason_message(exc)
    if worded is None:
        return str(exc)
    message, values = worded
    raw = dict(getattr(exc, "values", {}))
    for name in _WORDED & set(raw):
        values[name] = word(raw[name])
    for name in ("allowed", "missing"):
        if name in raw:
            values[name] = ", ".join(word(v) for v in raw[name].split(", "))
    if "field" in raw:
        values["field"] = _label(raw["field"])
    return str(gettext(message, **values))


def field_problems(exc: InvalidField | InvalidInput) -> dict[str, str]:
    """Each bad field of ``exc`` (one or several) with what is wrong with it, in
    the request's language, the field named by its label (English too), in the
    order the service named them."""
    problems = exc.problems if isinstance(exc, InvalidInput) else (exc,)
    out: dict[str, str] = {}
    for p in problems:
        out.setdefault(p.field, said(p, labels=True))
    return out


def application_allowed() -> bool:
    """Count one application from this address; False once it is over the limit."""
    limiter = current_app.extensions["hopchain_limiter"]
    spec = str(current_app.config.get("APPLICATION_LIMITS") or DEFAULT_APPLICATION_LIMITS)
    address = client_address()
    return all(limiter.limiter.hit(item, "applications", address) for item in parse_many(spec))
