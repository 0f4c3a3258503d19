"""Party pages (issue 12, "Parties as master data"): the list of parties with its
filters and the count in each status, one party's hub (master data, addresses with
coordinates, contacts, parent and children, status with its history from the
audit trail, links to the party's agreements, interactions, reviews and exit),
the forms to create and edit a party, change its status, add and remove
addresses and contacts, and the file import of new parties.

The rules are :mod:`partners.parties`'; these views read a form (Flask-WTF, CSRF),
call one service function and show a refusal in the reader's language next to the
field it names (:class:`partners.values.InvalidField`) or above the form.
Partner managers and admins write; finance, channel managers and auditors read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

import settlement
from partners import parties as pp
from partners.errors import PartnerError, PartnerNotFound
from partners.values import LOCALES, InvalidField
from web.db import get_engine
from web.i18n import N_
from web.paging import page_request
from web.partners import _pages as pages
from web.reasons import problem_words, reason_words
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor, format_ms

__all__ = ["KIND_WORDS", "READERS", "STATUS_WORDS", "WRITERS", "bp"]

bp = Blueprint("partners", __name__, url_prefix="/partners/parties")

READERS = tuple(Role(r) for r in pp.READERS)
WRITERS = tuple(Role(r) for r in pp.WRITERS)
#: How many audit rows the hub shows per page.
HISTORY_PAGE = 20

STATUS_WORDS = {
    "prospect": _l("Prospect"),
    "trial": _l("On trial"),
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    "exiting": _l("Exiting"),
    "terminated": _l("Terminated"),
}
KIND_WORDS = {
    "distributor": _l("Distributor"),
    "dealer": _l("Dealer"),
    "retailer": _l("Retailer"),
    "inspector": _l("Inspector"),
    "manufacturer": _l("Manufacturer"),
}
ADDRESS_WORDS = {
    "registered": _l("Registered office"),
    "billing": _l("Billing"),
    "warehouse": _l("Warehouse"),
    "office": _l("Office"),
    "shop": _l("Shop"),
}
LOCALE_WORDS = {"": _l("Default"), "en": "English", "zh_Hans_CN": "简体中文", "es": "Español"}
#: The audit trail's actions, in words.
#: Other areas' pages about one party (each takes ``code=``), shown when registered.
AREA_LINKS: tuple[tuple[str, str], ...] = (
    ("agreements.party", N_("Agreements")),
    ("crm.interactions", N_("Interactions")),
    ("evaluation.party", N_("Reviews and class")),
    ("exits.party", N_("Exit")),
)


# ------------------------------------------------------------------ forms


def _choices(words: dict[str, Any], keys: Sequence[str]) -> list[SelectChoice]:
    return [SelectChoice(k, words[k]) for k in keys]


class PartyForm(FlaskForm):  # type: ignore[misc]
    """A party's master data; the service checks every value (codes, ISO 3166,
    ISO 4217, IANA time zone, parent rules)."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("Letters, digits, '.', '_' or '-'; it never changes."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=200)])
    local_name = StringField(
        _l("Local name"),
        validators=[Length(max=200)],
        description=_l("The name in the partner's own script, e.g. its Chinese name."),
    )
    kind = SelectField(_l("Kind"), choices=_choices(KIND_WORDS, pp.KINDS))
    country = StringField(
        _l("Country"),
        validators=[DataRequired(), Length(max=8)],
        description=_l("ISO 3166 code, e.g. CN, DE, US."),
    )
    currency = StringField(
        _l("Currency"),
        validators=[DataRequired(), Length(max=8)],
        description=_l("ISO 4217 code, e.g. CNY, EUR, USD."),
    )
    parent = StringField(
        _l("Parent"),
        validators=[Length(max=64)],
        description=_l(
            "The code of the distributor above it (a dealer needs one; a national agent has none)."
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    time_zone = StringField(
        _l("Time zone"),
        validators=[Length(max=64)],
        description=_l("IANA name, e.g. Asia/Shanghai, Europe/Berlin."),
    )
    locale = SelectField(_l("Language of its documents"), choices=[])
    status = SelectField(_l("Status"), choices=_choices(STATUS_WORDS, pp.INITIAL_STATUSES))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locale.choices = _choices(LOCALE_WORDS, ("", *LOCALES))


class StatusForm(FlaskForm):  # type: ignore[misc]
    status = SelectField(_l("New status"), choices=[])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


class AddressForm(FlaskForm):  # type: ignore[misc]
    kind = SelectField(_l("Kind"), choices=_choices(ADDRESS_WORDS, pp.ADDRESS_KINDS))
    line1 = StringField(_l("Street and number"), validators=[DataRequired(), Length(max=200)])
    line2 = StringField(_l("Address line 2"), validators=[Length(max=200)])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=100)])
    region = StringField(_l("Region"), validators=[Length(max=100)])
    postal_code = StringField(_l("Postal code"), validators=[Length(max=20)])
    country = StringField(
        _l("Country"), validators=[DataRequired(), Length(max=8)], description=_l("ISO 3166 code.")
    )
    lat = StringField(
        _l("Latitude"),
        validators=[Length(max=12)],
        description=_l("Decimal degrees, e.g. 31.2304."),
    )
    lon = StringField(
        _l("Longitude"),
        validators=[Length(max=12)],
        description=_l("Decimal degrees, e.g. 121.4737."),
    )


class ContactForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = StringField(
        _l("Role"), validators=[Length(max=100)], description=_l("e.g. owner, logistics.")
    )
    email = StringField(_l("E-mail"), validators=[Length(max=254)])
    phone = StringField(
        _l("Phone"),
        validators=[Length(max=40)],
        description=_l("International form, e.g. +86 21 5555 0101."),
    )
    language = SelectField(_l("Preferred language"), choices=[])
    primary = BooleanField(_l("Primary contact"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = _choices(LOCALE_WORDS, ("", *LOCALES))


# ------------------------------------------------------------------ helpers


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    return (
        render_template(
            template,
            can_write=pages.has_role(WRITERS),
            status_words=STATUS_WORDS,
            kind_words=KIND_WORDS,
            address_words=ADDRESS_WORDS,
            locale_words=LOCALE_WORDS,
            format_ms=format_ms,
            linked=pages.linked,
            **context,
        ),
        status,
    )


def _place(form: FlaskForm, exc: PartnerError, errors: list[str]) -> None:
    """The refusal next to the form's field it names, else in ``errors`` (above)."""
    field: Field | None = None
    if isinstance(exc, InvalidField):
        field = getattr(form, exc.field, None)
    if isinstance(field, Field):
        field.errors = [*field.errors, reason_words(exc)]
    else:
        errors.append(reason_words(exc))


def _party_input(form: PartyForm) -> pp.PartyInput:
    return pp.PartyInput(
        code=form.code.data or "",
        name=form.name.data or "",
        kind=form.kind.data or "",
        country=form.country.data or "",
        currency=form.currency.data or "",
        local_name=form.local_name.data or "",
        time_zone=form.time_zone.data or "",
        parent=form.parent.data or "",
        locale=form.locale.data or "",
        status=form.status.data or "active",
    )


# ------------------------------------------------------------------ list


@bp.get("/", endpoint="parties")
@require_roles(*READERS)
def parties() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()[:100]
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    country = request.args.get("country", "").strip()[:2]
    parent = request.args.get("parent", "").strip()[:64]
    kind = kind if kind in KIND_WORDS else ""
    status = status if status in STATUS_WORDS else ""
    pager = page_request()
    try:
        page = pp.page_parties(
            get_engine(), current_actor(), q=q, kind=kind, status=status, country=country,
            parent=parent, limit=pager.size, offset=pager.offset,
        )  # fmt: skip
    except PartnerError as exc:
        abort_for(exc)
    return _render(
        "partners/parties.html",
        page=page,
        pager=pager.with_total(page.total),
        q=q,
        kind_filter=kind,
        status_filter=status,
        country=country,
        parent=parent,
        statuses=pp.STATUSES,
    )


# ------------------------------------------------------------------ create, edit


@bp.route("/new", methods=["GET", "POST"])
@require_roles(*WRITERS)
def new() -> ResponseReturnValue:
    form = PartyForm()
    errors: list[str] = []
    if form.validate_on_submit():
        data = _party_input(form)
        _, problems = pp.check_party_input(data)
        for exc in problems:
            _place(form, exc, errors)
        if not problems:
            try:
                view = pp.create_party(get_engine(), data, current_actor())
            except PartnerError as exc:
                _place(form, exc, errors)
            else:
                flash(gettext("Party %(code)s created.", code=view.code), "success")
                return redirect(url_for("partners.party", code=view.code))
    status = 422 if request.method == "POST" else 200
    return _render("partners/party_form.html", status, form=form, errors=errors, editing=None)


@bp.route("/<code>/edit", methods=["GET", "POST"])
@require_roles(*WRITERS)
def edit(code: str) -> ResponseReturnValue:
    try:
        detail = pp.get_party(get_engine(), code, current_actor())
    except PartnerError as exc:
        abort_for(exc)
    party = detail.party
    form = PartyForm(
        data={
            "code": party.code, "name": party.name, "local_name": party.local_name,
            "kind": party.kind, "country": party.country or "", "currency": party.currency,
            "parent": party.parent or "", "time_zone": party.time_zone or "",
            "locale": party.locale or "", "status": party.status,
        }
        if request.method == "GET"
        else None
    )  # fmt: skip
    # the code and the status are not edited here
    form.code.data = party.code
    form.status.choices = [SelectChoice(party.status, STATUS_WORDS.get(party.status, party.status))]
    form.status.data = party.status
    if party.kind not in pp.KINDS:  # the manufacturer
        abort(404)
    errors: list[str] = []
    if form.validate_on_submit():
        changes = {name: getattr(form, name).data or "" for name in pp.EDITABLE}
        try:
            pp.update_party(get_engine(), code, changes, current_actor())
        except PartnerError as exc:
            _place(form, exc, errors)
        else:
            flash(gettext("Party %(code)s saved.", code=code), "success")
            return redirect(url_for("partners.party", code=code))
    status = 422 if request.method == "POST" else 200
    return _render("partners/party_form.html", status, form=form, errors=errors, editing=party)


# ------------------------------------------------------------------ the hub


def _hub(
    code: str,
    *,
    status_form: StatusForm | None = None,
    address_form: AddressForm | None = None,
    contact_form: ContactForm | None = None,
    errors: Sequence[str] = (),
    status: int = 200,
) -> ResponseReturnValue:
    actor = current_actor()
    pager = page_request(HISTORY_PAGE)
    try:
        detail = pp.get_party(get_engine(), code, actor)
        events, total = pp.page_history(
            get_engine(), code, actor, offset=pager.offset, limit=pager.size
        )
    except PartnerError as exc:
        abort_for(exc)
    party = detail.party
    status_form = status_form or StatusForm(formdata=None)
    status_form.status.choices = _choices(STATUS_WORDS, pp.TRANSITIONS.get(party.status, ()))
    return _render(
        "partners/party.html",
        status,
        detail=detail,
        party=party,
        events=events,
        pager=pager.with_total(total),
        area_links=[(e, gettext(label)) for e, label in AREA_LINKS],
        status_form=status_form,
        address_form=address_form or AddressForm(formdata=None),
        contact_form=contact_form or ContactForm(formdata=None),
        errors=errors,
    )


@bp.get("/<code>")
@require_roles(*READERS)
def party(code: str) -> ResponseReturnValue:
    return _hub(code)


@bp.post("/<code>/status")
@require_roles(*WRITERS)
def change_status(code: str) -> ResponseReturnValue:
    form = StatusForm()
    form.status.choices = _choices(STATUS_WORDS, pp.STATUSES)
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            view = pp.set_status(
                get_engine(), code, form.status.data or "", current_actor(), form.reason.data or ""
            )
        except PartnerNotFound as exc:
            abort_for(exc)
        except PartnerError as exc:
            _place(form, exc, errors)
        else:
            flash(
                gettext(
                    "%(code)s is now %(status)s.",
                    code=code,
                    status=STATUS_WORDS.get(view.status, view.status),
                ),
                "success",
            )
            return redirect(url_for("partners.party", code=code))
    return _hub(code, status_form=form, errors=errors, status=422)


@bp.post("/<code>/addresses")
@require_roles(*WRITERS)
def add_address(code: str) -> ResponseReturnValue:
    form = AddressForm()
    errors: list[str] = []
    if form.validate_on_submit():
        data = pp.AddressInput(
            kind=form.kind.data or "", line1=form.line1.data or "", city=form.city.data or "",
            country=form.country.data or "", line2=form.line2.data or "",
            region=form.region.data or "", postal_code=form.postal_code.data or "",
            lat=form.lat.data or "", lon=form.lon.data or "",
        )  # fmt: skip
        try:
            pp.add_address(get_engine(), code, data, current_actor())
        except PartnerNotFound as exc:
            abort_for(exc)
        except PartnerError as exc:
            _place(form, exc, errors)
        else:
            flash(gettext("Address added."), "success")
            return redirect(url_for("partners.party", code=code) + "#addresses")
    return _hub(code, address_form=form, errors=errors, status=422)


@bp.post("/<code>/addresses/<id:address_id>/remove")
@require_roles(*WRITERS)
def remove_address(code: str, address_id: int) -> ResponseReturnValue:
    try:
        pp.remove_address(get_engine(), code, address_id, current_actor())
    except PartnerError as exc:
        abort_for(exc)
    flash(gettext("Address removed."), "success")
    return redirect(url_for("partners.party", code=code) + "#addresses")


@bp.post("/<code>/contacts")
@require_roles(*WRITERS)
def add_contact(code: str) -> ResponseReturnValue:
    form = ContactForm()
    errors: list[str] = []
    if form.validate_on_submit():
        data = pp.ContactInput(
            name=form.name.data or "", role=form.role.data or "", email=form.email.data or "",
            phone=form.phone.data or "", language=form.language.data or "",
            primary=bool(form.primary.data),
        )  # fmt: skip
        problems = pp.check_contact_input(data)
        for exc in problems:
            _place(form, exc, errors)
        if not problems:
            try:
                pp.add_contact(get_engine(), code, data, current_actor())
            except PartnerNotFound as exc:
                abort_for(exc)
            except PartnerError as exc:
                _place(form, exc, errors)
            else:
                flash(gettext("Contact added."), "success")
                return redirect(url_for("partners.party", code=code) + "#contacts")
    return _hub(code, contact_form=form, errors=errors, status=422)


@bp.post("/<code>/contacts/<id:contact_id>/remove")
@require_roles(*WRITERS)
def remove_contact(code: str, contact_id: int) -> ResponseReturnValue:
    try:
        pp.remove_contact(get_engine(), code, contact_id, current_actor())
    except PartnerError as exc:
        abort_for(exc)
    flash(gettext("Contact removed."), "success")
    return redirect(url_for("partners.party", code=code) + "#contacts")


# ------------------------------------------------------------------ import


@bp.route("/import", methods=["GET", "POST"], endpoint="import_parties")
@require_roles(*WRITERS)
def import_parties() -> ResponseReturnValue:
    from settlement.imports import OPTIONAL_LAYOUTS

    context: dict[str, Any] = {
        "columns": ", ".join(settlement.LAYOUTS["parties"]),
        "optional": ", ".join(OPTIONAL_LAYOUTS["parties"]),
        "report": None,
        "problems": [],
        "problem": "",
        "dry_run": True,
    }
    if request.method == "GET":
        return _render("partners/import.html", **context)
    sent = request.files.get("file")
    data = sent.read() if sent is not None else b""
    context["dry_run"] = bool(request.form.get("dry_run"))
    if sent is None or not sent.filename:
        context["problem"] = gettext("file: choose a file to import")
        return _render("partners/import.html", 422, **context)
    if not data:
        context["problem"] = gettext("file: %(file)s is empty", file=sent.filename)
        return _render("partners/import.html", 422, **context)
    try:
        context["report"] = settlement.import_file(
            get_engine(), "parties", sent.filename, data, current_actor(),
            dry_run=context["dry_run"],
        )  # fmt: skip
    except settlement.ImportRejected as exc:
        context["problem"] = gettext(
            "%(file)s was not imported: nothing was stored. Correct these rows and upload it"
            " again.",
            file=sent.filename,
        )
        context["problems"] = [(p, problem_words(p)) for p in exc.problems]
        return _render("partners/import.html", 422, **context)
    except settlement.SettlementError as exc:
        context["problem"] = gettext(
            "%(file)s was not imported: %(reason)s", file=sent.filename, reason=reason_words(exc)
        )
        return _render("partners/import.html", 422, **context)
    return _render("partners/import.html", **context)
