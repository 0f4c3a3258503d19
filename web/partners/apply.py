"""The public application form (issue 12, "Recruitment pipeline"): a company applies
to become a partner without an account (``/apply``, endpoint ``apply.form``).

Seed 003 (二(一)4 报名申请): potential partners fill in the application form through
the designated channel with their company's basic information, business scope and
contact details. The page is in the visitor's language (the language switch on
every page), checks the CSRF token like every form, is rate-limited per address
(:func:`web.partners._recruit.application_allowed`: 429 past the limit) and has a
honeypot instead of a captcha: a field people never see (``website_url``); a
submission that fills it gets the same thank-you page and nothing is stored or
audited. The thank-you page shows the application's reference.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from partners import recruitment as rc
from partners.values import InvalidField
from web.db import get_engine
from web.i18n import N_
from web.partners._recruit import (
    FIELD_LABELS,
    HONEYPOT,
    KIND_WORDS,
    application_allowed,
    field_problems,
)
from web.security import public

__all__ = ["FORM_FIELDS", "bp"]

bp = Blueprint("apply", __name__)

#: The form's inputs, in order: (name, required, kind of input).
FORM_FIELDS: tuple[tuple[str, bool, str], ...] = (
    ("company_name", True, "text"),
    ("local_name", False, "text"),
    ("kind", False, "kind"),
    ("country", True, "country"),
    ("city", False, "text"),
    ("contact_name", True, "text"),
    ("contact_email", True, "email"),
    ("contact_phone", False, "tel"),
    ("website", False, "url"),
    ("territories_wanted", False, "text"),
    ("message", False, "textarea"),
)
_TOO_MANY = N_("Too many applications from your address; please try again in an hour")


def _countries() -> list[tuple[str, str]]:
    """``(ISO 3166 code, name)`` of every country, named and sorted in the page's
    language (CLDR names from Babel; the ISO name where CLDR has none)."""
    import pycountry

    locale = get_locale()
    names = locale.territories if locale is not None else {}
    return sorted(
        ((c.alpha_2, names.get(c.alpha_2, c.name)) for c in pycountry.countries),
        key=lambda c: c[1],
    )


def _form(values: dict[str, str], errors: dict[str, str], status: int) -> ResponseReturnValue:
    return (
        render_template(
            "partners/apply.html",
            fields=FORM_FIELDS,
            labels=FIELD_LABELS,
            kinds=KIND_WORDS,
            countries=_countries(),
            values=values,
            errors=errors,
            honeypot=HONEYPOT,
        ),
        status,
    )


@bp.route("/apply", methods=["GET", "POST"])
@public
def form() -> ResponseReturnValue:
    if request.method == "GET":
        return _form({}, {}, 200)
    if not application_allowed():
        abort(429, _TOO_MANY)
    values = {name: request.form.get(name, "").strip() for name, _, _ in FORM_FIELDS}
    if request.form.get(HONEYPOT, "").strip():
        # a robot: the same answer as a person's, nothing stored
        tail = "".join(secrets.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(8))
        return render_template("partners/apply_thanks.html", reference=f"APP-{_year()}-{tail}")
    try:
        _, reference = rc.submit_application(get_engine(), values, source="form")
    except (InvalidField, rc.InvalidInput) as exc:
        return _form(values, field_problems(exc), 422)
    return render_template("partners/apply_thanks.html", reference=reference)


def _year() -> int:
    import datetime as dt

    return dt.datetime.now(dt.UTC).year
