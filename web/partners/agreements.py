"""Agreement pages (issue 12, "Agreements"): the list with its filters and the
agreements ending soon, one agreement (terms, territories, programs, the reviews'
timeline, the signed PDF and the actions its status and the reader's role allow),
a party's agreement history, and the forms to draft, edit, review, sign (upload),
terminate and renew.

The rules are :mod:`partners.agreements`'; these views read the form, call one
service function and show its refusal in the reader's language next to the field
it names (:class:`partners.values.InvalidField`) or above the form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, format_date, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from partners import agreements as ag
from partners.audit import now_ms
from partners.errors import PartnerError
from partners.values import InvalidField
from settlement import InvalidValue, major_to_minor, minor_to_major
from web.db import get_engine, get_session
from web.finance._common import FormState
from web.i18n import DEFAULT_LOCALE, format_money
from web.paging import page_request
from web.partners import _pages as pages
from web.reasons import reason_words
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor, format_ms

__all__ = ["GROUND_WORDS", "KIND_WORDS", "READERS", "WRITERS", "bp"]

bp = Blueprint("agreements", __name__, url_prefix="/partners/agreements")

READERS = tuple(Role(r) for r in ag.READERS)
WRITERS = tuple(Role(r) for r in ag.WRITERS)
REVIEWERS = tuple(Role(r) for r in dict.fromkeys(ag.LEGAL_REVIEWERS + ag.BUSINESS_REVIEWERS))
#: How many days ahead the list calls an agreement "ending soon".
SOON_DAYS = max(ag.REMINDER_DAYS)

KIND_WORDS = {
    "main": _l("Main agreement"),
    "supplementary": _l("Supplementary agreement"),
    "renewal": _l("Renewal"),
}
GROUND_WORDS = {
    "material_breach": _l("Material breach not cured after written notice"),
    "failing_business": _l("The partner's business is failing"),
    "violation_of_law": _l("Serious violation of law"),
    "force_majeure": _l("Force majeure"),
    "mutual_consent": _l("Mutual consent"),
    "trial_not_admitted": _l("Trial ended without admission"),
}
STAGE_WORDS = {"legal": _l("Legal review"), "business": _l("Business review")}
DECISION_WORDS = {"approved": _l("approved"), "returned": _l("returned to draft")}
_TERM_FIELDS = (
    "valid_from",
    "valid_to",
    "currency",
    "territories",
    "programs",
    "deposit",
    "credit_limit",
    "payment_terms_days",
    "notes",
)


def _day_words(day: str | None) -> str:
    """An ISO date as the reader's language writes it (``2027年12月31日``)."""
    if not day:
        return "—"
    try:
        return str(format_date(dt.date.fromisoformat(day), "medium"))
    except ValueError:
        return day


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    role = pages.role()
    return (
        render_template(
            template,
            can_write=role in ag.WRITERS,
            can_legal=role in ag.LEGAL_REVIEWERS,
            can_business=role in ag.BUSINESS_REVIEWERS,
            kind_words=KIND_WORDS,
            ground_words=GROUND_WORDS,
            stage_words=STAGE_WORDS,
            decision_words=DECISION_WORDS,
            money=format_money,
            format_ms=format_ms,
            today=pages.today().isoformat(),
            today_date=pages.today(),
            day_words=_day_words,
            linked=pages.linked,
            **context,
        ),
        status,
    )


def _keep(form: FormState, exc: PartnerError) -> None:
    """The service's refusal next to the field it names, else above the form."""
    if isinstance(exc, InvalidField):
        name = exc.field.split("[", 1)[0]
        name = {"deposit_minor": "deposit", "credit_limit_minor": "credit_limit"}.get(name, name)
        if name in form.values:
            form.errors[name] = reason_words(exc)
            return
    form.problem = reason_words(exc)


def _codes(text: str) -> list[str]:
    return [c for c in text.replace(",", " ").split() if c]


def _amount(form: FormState, name: str, currency: str) -> int:
    text = form.values.get(name, "")
    if not text:
        return 0
    try:
        return major_to_minor(text, currency, name)
    except InvalidValue as exc:
        form.errors[name] = reason_words(exc)
        return 0


def _days(form: FormState) -> int:
    text = form.values.get("payment_terms_days", "") or "30"
    if not (text.isascii() and text.isdigit() and len(text) <= 3):
        form.errors["payment_terms_days"] = gettext(
            "%(value)s is not a number of days from 0 to 365", value=text
        )
        return 0
    return int(text)


#: The outbox ``kind`` of an agreement's expiry reminder to a partner manager.
EXPIRY_MAIL = "agreement-expiry"


def queue_expiry_mails(reminders: Sequence[ag.Reminder]) -> int:
    """Queue one e-mail per reminder to each active partner manager with an e-mail
    address, in that person's language, into the notify outbox (``hopchain mail
    send`` delivers it); a reminder already queued to someone is not queued again.
    Returns how many were queued. Needs an app context (the database, catalogues)."""
    from notify.models import OutboxMessage
    from web.models import User

    if not reminders:
        return 0
    s = get_session()
    people = s.scalars(
        select(User).where(
            User.role == Role.PARTNER_MANAGER.value,
            User.active.is_(True),
            User.email.is_not(None),
        )
    ).all()
    queued = 0
    for r in reminders:
        reference = f"agreement:{r.number}:{r.threshold}"
        known = set(
            s.scalars(
                select(OutboxMessage.recipient).where(
                    OutboxMessage.kind == EXPIRY_MAIL, OutboxMessage.reference == reference
                )
            )
        )
        for person in people:
            if not person.email or person.email in known:
                continue
            locale = person.locale or DEFAULT_LOCALE
            with force_locale(locale):
                subject = gettext(
                    "Agreement %(number)s of %(party)s ends on %(day)s",
                    number=r.number, party=r.party_code, day=_day_words(r.valid_to),
                )  # fmt: skip
                body = gettext(
                    "Agreement %(number)s of %(party)s ends on %(day)s, in %(days)s days. "
                    "Talk renewal with the partner: draft the renewal on the agreement's page, "
                    "or let it end. A task is open for it.",
                    number=r.number, party=r.party_code, day=_day_words(r.valid_to),
                    days=r.days_left,
                )  # fmt: skip
            s.add(
                OutboxMessage(
                    kind=EXPIRY_MAIL, reference=reference, recipient=person.email,
                    party_id=r.task.party_id, locale=locale, subject=str(subject),
                    body_text=str(body), created_ms=now_ms(),
                )
            )  # fmt: skip
            queued += 1
    s.commit()
    return queued


# ------------------------------------------------------------------ lists


@bp.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    party = request.args.get("party", "").strip() or None
    status = request.args.get("status", "").strip() or None
    if status not in (None, *ag.STATUSES):
        status = None
    raw_days = request.args.get("expiring", "").strip()
    expiring = int(raw_days) if raw_days.isascii() and raw_days.isdigit() else None
    if expiring is not None:
        expiring = min(expiring, 3650)
    pager = page_request()
    engine, actor = get_engine(), current_actor()
    try:
        rows, total = ag.page_agreements(
            engine, actor, party_code=party, status=status, expiring_within=expiring,
            offset=pager.offset, limit=pager.size,
        )  # fmt: skip
        _soon, soon_total = ag.page_agreements(engine, actor, expiring_within=SOON_DAYS, limit=1)
    except PartnerError as exc:
        abort_for(exc)
    return _render(
        "partners/agreements.html",
        rows=rows,
        pager=pager.with_total(total),
        party=party or "",
        status_filter=status or "",
        expiring=raw_days if expiring is not None else "",
        statuses=ag.STATUSES,
        soon_days=SOON_DAYS,
        soon_total=soon_total,
        soon_until=(pages.today() + dt.timedelta(days=SOON_DAYS)).isoformat(),
    )


@bp.post("/remind")
@require_roles(*WRITERS)
def remind() -> ResponseReturnValue:
    """Raise the expiry reminders due today (what ``hopchain agreements remind`` does)."""
    raised = ag.reminders_due(get_engine(), actor=current_actor())
    mails = queue_expiry_mails(raised)
    flash(
        gettext(
            "%(count)s reminders raised as tasks for the partner managers (%(mails)s e-mails"
            " queued).",
            count=len(raised),
            mails=mails,
        )
        if raised
        else gettext("No new reminder is due today."),
        "success",
    )
    return redirect(url_for("agreements.index", expiring=SOON_DAYS))


@bp.get("/party/<code>")
@require_roles(*READERS)
def party(code: str) -> ResponseReturnValue:
    try:
        rows = ag.party_agreements(get_engine(), code, current_actor())
        in_force = ag.agreement_in_force(
            get_engine(), code, pages.today().isoformat(), current_actor()
        )
    except PartnerError as exc:
        abort_for(exc)
    pager = page_request().with_total(len(rows))
    shown = list(reversed(rows))[pager.offset : pager.offset + pager.size]
    return _render(
        "partners/agreements_party.html", code=code, rows=shown, pager=pager, in_force=in_force
    )


# ------------------------------------------------------------------ drafting


def _form_page(form: FormState, status: int, **context: Any) -> ResponseReturnValue:
    return _render("partners/agreement_form.html", status, form=form, kinds=ag.KINDS, **context)


@bp.get("/new")
@require_roles(*WRITERS)
def new() -> ResponseReturnValue:
    form = FormState.read(request.args, "party", "kind", "amends", *_TERM_FIELDS)
    form.values["kind"] = form.values["kind"] or "main"
    return _form_page(form, 200, editing=None)


@bp.post("/new")
@require_roles(*WRITERS)
def create() -> ResponseReturnValue:
    form = FormState.read(request.form, "party", "kind", "amends", *_TERM_FIELDS)
    v = form.values
    currency = v["currency"].upper() or _party_currency(v["party"])
    deposit = _amount(form, "deposit", currency)
    credit = _amount(form, "credit_limit", currency)
    days = _days(form)
    if not v["party"]:
        form.errors["party"] = gettext("Give the party's code.")
    if form.failed:
        return _form_page(form, 422, editing=None)
    # a supplementary agreement or renewal keeps the amended one's term left blank
    keep = (v["kind"] or "main") != "main"

    def given(name: str) -> bool:
        return not keep or bool(v.get(name, "").strip())

    terms = ag.AgreementInput(
        valid_from=v["valid_from"], valid_to=v["valid_to"], kind=v["kind"] or "main",
        amends=v["amends"] or None, currency=v["currency"] or None,
        territories=_codes(v["territories"]) if given("territories") else None,
        programs=_codes(v["programs"]) if given("programs") else None,
        deposit_minor=deposit if given("deposit") else None,
        credit_limit_minor=credit if given("credit_limit") else None,
        payment_terms_days=days if given("payment_terms_days") else None,
        notes=v["notes"],
    )  # fmt: skip
    try:
        number = ag.draft(get_engine(), v["party"], terms, current_actor())
    except PartnerError as exc:
        if exc.message_id == "no_party":
            form.errors["party"] = reason_words(exc)
        else:
            _keep(form, exc)
        return _form_page(form, 422, editing=None)
    flash(gettext("Agreement %(number)s drafted.", number=number), "success")
    return redirect(url_for("agreements.agreement", number=number))


def _party_currency(code: str) -> str:
    from ledger.models import Party

    return get_session().scalar(select(Party.currency).where(Party.code == code)) or "EUR"


def _detail(number: str) -> ag.AgreementDetail:
    try:
        return ag.get_agreement(get_engine(), number, current_actor())
    except PartnerError as exc:
        abort_for(exc)


@bp.get("/<number>/edit")
@require_roles(*WRITERS)
def edit(number: str) -> ResponseReturnValue:
    a = _detail(number).agreement
    form = FormState(
        values={
            "party": a.party_code, "kind": a.kind, "amends": a.amends_number or "",
            "valid_from": a.valid_from, "valid_to": a.valid_to, "currency": a.currency,
            "territories": " ".join(a.territories), "programs": " ".join(a.programs),
            "deposit": minor_to_major(a.deposit_minor, a.currency),
            "credit_limit": minor_to_major(a.credit_limit_minor, a.currency),
            "payment_terms_days": str(a.payment_terms_days), "notes": a.notes,
        }
    )  # fmt: skip
    return _form_page(form, 200, editing=a)


@bp.post("/<number>/edit")
@require_roles(*WRITERS)
def update(number: str) -> ResponseReturnValue:
    a = _detail(number).agreement
    form = FormState.read(request.form, *_TERM_FIELDS)
    form.values.update(party=a.party_code, kind=a.kind, amends=a.amends_number or "")
    v = form.values
    currency = v["currency"].upper() or a.currency
    deposit = _amount(form, "deposit", currency)
    credit = _amount(form, "credit_limit", currency)
    days = _days(form)
    if form.failed:
        return _form_page(form, 422, editing=a)
    changes = ag.AgreementChanges(
        valid_from=v["valid_from"], valid_to=v["valid_to"], currency=currency,
        territories=_codes(v["territories"]), programs=_codes(v["programs"]),
        deposit_minor=deposit, credit_limit_minor=credit, payment_terms_days=days,
        notes=v["notes"],
    )  # fmt: skip
    try:
        ag.update_draft(get_engine(), number, changes, current_actor())
    except PartnerError as exc:
        _keep(form, exc)
        return _form_page(form, 422, editing=a)
    flash(gettext("Agreement %(number)s saved.", number=number), "success")
    return redirect(url_for("agreements.agreement", number=number))


# ------------------------------------------------------------------ one agreement


def _agreement_page(
    number: str, status: int = 200, forms: dict[str, FormState] | None = None
) -> ResponseReturnValue:
    detail = _detail(number)
    a = detail.agreement
    forms = forms or {}
    blank = FormState()
    return _render(
        "partners/agreement.html",
        status,
        d=detail,
        a=a,
        forms={
            "review": forms.get("review", blank),
            "sign": forms.get("sign", FormState(values={"signed_on": pages.today().isoformat()})),
            "terminate": forms.get("terminate", FormState(values={"terminated_on": ""})),
            "renew": forms.get("renew", blank),
        },
        grounds=ag.GROUNDS,
        days_left=a.days_left(pages.today()),
        soon_days=SOON_DAYS,
    )


@bp.get("/<number>")
@require_roles(*READERS)
def agreement(number: str) -> ResponseReturnValue:
    return _agreement_page(number)


def _act(
    number: str, key: str, form: FormState, write: Callable[[], Any], done: str
) -> ResponseReturnValue:
    if not form.failed:
        try:
            write()
        except PartnerError as exc:
            if isinstance(exc, InvalidField) or exc.message_id.startswith("agreement_"):
                _keep(form, exc)
            else:
                abort_for(exc)
        else:
            flash(done, "success")
            return redirect(url_for("agreements.agreement", number=number))
    return _agreement_page(number, 422, {key: form})


@bp.post("/<number>/submit")
@require_roles(*WRITERS)
def submit(number: str) -> ResponseReturnValue:
    return _act(
        number, "review", FormState(),
        lambda: ag.submit(get_engine(), number, current_actor()),
        gettext("Agreement %(number)s sent to its legal review.", number=number),
    )  # fmt: skip


@bp.post("/<number>/review")
@require_roles(*REVIEWERS)
def review(number: str) -> ResponseReturnValue:
    form = FormState.read(request.form, "stage", "decision", "note")
    v = form.values
    approve = v["decision"] == "approve"
    return _act(
        number, "review", form,
        lambda: ag.review(get_engine(), number, v["stage"], approve, v["note"], current_actor()),
        gettext("Review of agreement %(number)s recorded.", number=number),
    )  # fmt: skip


@bp.post("/<number>/sign")
@require_roles(*WRITERS)
def sign(number: str) -> ResponseReturnValue:
    form = FormState.read(request.form, "signed_on")
    form.values["document"] = ""
    upload = request.files.get("document")
    document = None
    if upload is not None and upload.filename:
        document = (upload.filename, upload.read())
    return _act(
        number, "sign", form,
        lambda: ag.sign(get_engine(), number, form.values["signed_on"], current_actor(), document),
        gettext("Agreement %(number)s signed: its territories and programs are in force.",
                number=number),
    )  # fmt: skip


@bp.post("/<number>/terminate")
@require_roles(*WRITERS)
def terminate(number: str) -> ResponseReturnValue:
    form = FormState.read(request.form, "ground", "terminated_on", "note", "notice_on", "cure_by")
    v = form.values
    return _act(
        number, "terminate", form,
        lambda: ag.terminate(
            get_engine(), number, v["ground"], v["terminated_on"], v["note"], current_actor(),
            notice_on=v["notice_on"] or None, cure_by=v["cure_by"] or None,
        ),
        gettext("Agreement %(number)s terminated.", number=number),
    )  # fmt: skip


@bp.post("/<number>/renew")
@require_roles(*WRITERS)
def renew(number: str) -> ResponseReturnValue:
    form = FormState.read(request.form, "valid_to")
    made: list[str] = []
    response = _act(
        number, "renew", form,
        lambda: made.append(ag.renew(get_engine(), number, form.values["valid_to"],
                                     current_actor())),
        gettext("Renewal drafted."),
    )  # fmt: skip
    if made:
        return redirect(url_for("agreements.agreement", number=made[0]))
    return response


@bp.get("/<number>/document")
@require_roles(*READERS)
def document(number: str) -> ResponseReturnValue:
    try:
        meta, data = ag.get_document(get_engine(), number, current_actor())
    except PartnerError as exc:
        abort_for(exc)
    if not data:
        abort(404)
    response = Response(data, mimetype="application/pdf")
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in meta.filename)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response
