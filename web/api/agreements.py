"""Agreements with partners as JSON (issue 12, "Agreements").

``POST /agreements`` drafts one; ``GET /agreements`` lists them (paged; filters
``party``, ``status``, ``expiring_within`` days); ``GET /agreements/{number}`` gives
one with its reviews, documents and audit trail; ``PATCH`` edits a draft;
``POST .../submit``, ``.../reviews``, ``.../sign`` (multipart with the PDF, or JSON
with it base64-encoded), ``.../terminate`` and ``.../renew`` move it through the
workflow; ``GET .../document`` is the signed PDF. The rules (who reviews, four
eyes, what signing puts in force) are :mod:`partners.agreements`'; this module
parses requests, naming the JSON path of a bad member in a 400 answer
(``$.territories[1]: XX is not a stored territory ...``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable
from typing import Any

from flask import Response, abort, jsonify, request
from flask.typing import ResponseReturnValue

from partners import agreements as ag
from partners.errors import PartnerError
from web.api import api_route, json_body, json_response, query_int, query_param, query_str
from web.api import body as members
from web.api.paging import page_answer, page_params, page_window, paged_response
from web.db import get_engine
from web.roles import Role
from web.settlement_access import current_actor

__all__ = ["READERS", "REVIEWERS", "WRITERS", "abort_for_agreement", "agreement_json"]

READERS = tuple(Role(r) for r in ag.READERS)
WRITERS = tuple(Role(r) for r in ag.WRITERS)
REVIEWERS = tuple(Role(r) for r in dict.fromkeys(ag.LEGAL_REVIEWERS + ag.BUSINESS_REVIEWERS))
_OBJECT: dict[str, Any] = {"type": "object"}
_CODES = {"type": "array", "items": {"type": "string"}}
_TERMS = {
    "valid_from": {"type": "string", "format": "date"},
    "valid_to": {"type": "string", "format": "date"},
    "currency": {"type": "string", "description": "ISO 4217; default the party's"},
    "territories": {**_CODES, "description": "Stored territory codes"},
    "programs": {**_CODES, "description": "Rebate program codes"},
    "deposit_minor": {"type": "integer", "minimum": 0},
    "credit_limit_minor": {"type": "integer", "minimum": 0},
    "payment_terms_days": {"type": "integer", "minimum": 0, "maximum": 365},
    "notes": {"type": "string"},
}


def agreement_json(view: ag.AgreementView) -> dict[str, Any]:
    out = dataclasses.asdict(view)
    out["territories"] = list(view.territories)
    out["programs"] = list(view.programs)
    return out


def _detail_json(detail: ag.AgreementDetail) -> dict[str, Any]:
    return {
        **agreement_json(detail.agreement),
        "reviews": [dataclasses.asdict(r) for r in detail.reviews],
        "documents": [dataclasses.asdict(d) for d in detail.documents],
        "amended_by": [v.number for v in detail.amended_by],
        "superseded_by": detail.superseded_by,
        "notice_on": detail.notice_on,
        "cure_by": detail.cure_by,
        "history": [dataclasses.asdict(e) for e in detail.history],
    }


#: 400 naming the JSON path of a term that cannot be stored, else abort_for
#: (404 unknown, 403 role, 409 status or four eyes, 422 anything else).
abort_for_agreement = members.refuse


def _call(write: Callable[[], Any]) -> Any:
    try:
        return write()
    except PartnerError as exc:
        abort_for_agreement(exc)


def _detail(number: str) -> ResponseReturnValue:
    detail = _call(lambda: ag.get_agreement(get_engine(), number, current_actor()))
    return jsonify(_detail_json(detail))


# ------------------------------------------------------------------ endpoints

_DRAFT_MEMBERS = ("party", "kind", "amends", *_TERMS)


@api_route(
    "/agreements",
    methods=("POST",),
    summary="Draft an agreement (main, supplementary or renewal)",
    description='Body `{"party": "D-EAST", "valid_from": "2027-01-01", "valid_to": '
    '"2027-12-31", "territories": ["DE"], "programs": ["VOL"], "deposit_minor": 500000, '
    '"credit_limit_minor": 2000000, "payment_terms_days": 45}`; a supplementary agreement '
    'or renewal adds `"kind"` and `"amends"` (the number of the signed agreement it '
    "changes). Answers 201 with the draft; 400 names the JSON path of a bad member.",
    request_body=members.request_json(
        {
            "party": {"type": "string"},
            "kind": {"type": "string", "enum": list(ag.KINDS)},
            "amends": {"type": "string"},
            **_TERMS,
        },
        ("party", "valid_from", "valid_to"),
    ),
    responses={
        201: json_response("The draft", _OBJECT),
        404: "No such party or amended agreement",
        409: "The amended agreement is not signed, or already has an amendment on its way",
    },
    roles=WRITERS,
    tags=("agreements",),
)
def agreement_draft() -> ResponseReturnValue:
    body = json_body()
    members.known(body, _DRAFT_MEMBERS)
    party = members.text(body, "party", required=True)
    terms = ag.AgreementInput(
        valid_from=members.text(body, "valid_from", required=True) or "",
        valid_to=members.text(body, "valid_to", required=True) or "",
        kind=members.text(body, "kind") or "main",
        amends=members.text(body, "amends"),
        currency=members.text(body, "currency"),
        # a member left out is None: a supplementary agreement or renewal keeps the
        # amended agreement's term, a main agreement has none (30 days' terms)
        territories=members.strings(body, "territories", "a list of codes"),
        programs=members.strings(body, "programs", "a list of codes"),
        deposit_minor=members.whole(body, "deposit_minor"),
        credit_limit_minor=members.whole(body, "credit_limit_minor"),
        payment_terms_days=members.whole(body, "payment_terms_days"),
        notes=members.text(body, "notes") or "",
    )
    number = _call(lambda: ag.draft(get_engine(), party or "", terms, current_actor()))
    return _created(number)


def _created(number: str) -> Response:
    """201 with the new agreement (a draft or a renewal) and its Location."""
    response = _detail(number)
    assert isinstance(response, Response)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/agreements/{number}"
    return response


@api_route(
    "/agreements",
    summary="Agreements, newest first (or soonest ending, with expiring_within)",
    description="Filter by `party` (code), `status` and `expiring_within` (signed agreements "
    "whose validity ends within that many days from today); page with `limit` and the "
    "`cursor` of the `Link` header. Answers `{items, total, offset, limit}`.",
    params=(
        query_param("party", "string", maxLength=64, description="A party code."),
        query_param("status", "string", enum=list(ag.STATUSES)),
        query_param("expiring_within", minimum=0, maximum=3650, description="Days from today."),
        *page_params("agreements", maximum=200),
    ),
    responses={200: paged_response("A page of agreements", _OBJECT)},
    roles=READERS,
    tags=("agreements",),
)
def agreement_list() -> ResponseReturnValue:
    offset, limit = page_window()
    rows, total = _call(
        lambda: ag.page_agreements(
            get_engine(),
            current_actor(),
            party_code=query_str("party"),
            status=query_str("status"),
            expiring_within=query_int("expiring_within"),
            offset=offset,
            limit=limit,
        )
    )
    return page_answer([agreement_json(v) for v in rows], total, offset, limit)


@api_route(
    "/agreements/<number>",
    summary="One agreement with its reviews, documents and audit trail",
    responses={200: json_response("The agreement", _OBJECT), 404: "No such agreement"},
    roles=READERS,
    tags=("agreements",),
)
def agreement_detail(number: str) -> ResponseReturnValue:
    return _detail(number)


@api_route(
    "/agreements/<number>",
    methods=("PATCH",),
    summary="Change a draft's terms",
    description="Any of the terms of `POST /agreements`; the members given replace the "
    "draft's. A submitted or signed agreement answers 409: a signed one changes only "
    "through a supplementary agreement.",
    request_body=members.request_json(dict(_TERMS)),
    responses={
        200: json_response("The draft as changed", _OBJECT),
        404: "No such agreement",
        409: "Not a draft",
    },
    roles=WRITERS,
    tags=("agreements",),
)
def agreement_patch(number: str) -> ResponseReturnValue:
    body = json_body()
    members.known(body, tuple(_TERMS))
    changes = ag.AgreementChanges(
        valid_from=members.text(body, "valid_from"),
        valid_to=members.text(body, "valid_to"),
        currency=members.text(body, "currency"),
        territories=members.strings(body, "territories", "a list of codes"),
        programs=members.strings(body, "programs", "a list of codes"),
        deposit_minor=members.whole(body, "deposit_minor"),
        credit_limit_minor=members.whole(body, "credit_limit_minor"),
        payment_terms_days=members.whole(body, "payment_terms_days"),
        notes=members.text(body, "notes"),
    )
    _call(lambda: ag.update_draft(get_engine(), number, changes, current_actor()))
    return _detail(number)


@api_route(
    "/agreements/<number>/submit",
    methods=("POST",),
    summary="Send a draft to its legal review",
    responses={
        200: json_response("The agreement, in legal review", _OBJECT),
        404: "No such agreement",
        409: "Not a draft",
    },
    roles=WRITERS,
    tags=("agreements",),
)
def agreement_submit(number: str) -> ResponseReturnValue:
    _call(lambda: ag.submit(get_engine(), number, current_actor()))
    return _detail(number)


@api_route(
    "/agreements/<number>/reviews",
    methods=("POST",),
    summary="Give the legal or business review: approve, or return it to draft",
    description='Body `{"stage": "legal", "approve": true, "note": "..."}`. The legal '
    "review is a partner manager's or admin's, the business review a finance user's, "
    "channel manager's or admin's; nobody reviews what they drafted, edited or "
    "submitted, and the business reviewer is not the legal reviewer (409). Returning "
    "needs a note.",
    request_body=members.request_json(
        {
            "stage": {"type": "string", "enum": ["legal", "business"]},
            "approve": {"type": "boolean"},
            "note": {"type": "string"},
        },
        ("stage", "approve"),
    ),
    responses={
        200: json_response("The agreement after the review", _OBJECT),
        404: "No such agreement",
        409: "Not waiting for that review, or the same person again",
    },
    roles=REVIEWERS,
    tags=("agreements",),
)
def agreement_review(number: str) -> ResponseReturnValue:
    body = json_body()
    members.known(body, ("stage", "approve", "note"))
    stage = members.text(body, "stage", required=True) or ""
    approve = body.get("approve")
    if not isinstance(approve, bool):
        abort(400, "$.approve must be true or false")
    note = members.text(body, "note") or ""
    _call(lambda: ag.review(get_engine(), number, stage, approve, note, current_actor()))
    return _detail(number)


def _document() -> tuple[str, tuple[str, bytes] | None]:
    """``(signed_on, (filename, bytes))`` of a multipart or JSON signing request."""
    if request.is_json:
        body = json_body()
        members.known(body, ("signed_on", "document", "filename"))
        signed_on = members.text(body, "signed_on", required=True) or ""
        encoded = members.text(body, "document")
        if encoded is None:
            return signed_on, None
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            abort(400, "$.document must be the PDF encoded in base64")
        return signed_on, (members.text(body, "filename") or "agreement.pdf", data)
    signed_on = request.form.get("signed_on", "")
    if not signed_on:
        abort(400, "signed_on is required (a form field, YYYY-MM-DD)")
    upload = request.files.get("document")
    if upload is None:
        return signed_on, None
    return signed_on, (upload.filename or "agreement.pdf", upload.read())


@api_route(
    "/agreements/<number>/sign",
    methods=("POST",),
    summary="Sign an approved agreement with its signed PDF; puts it in force",
    description="`multipart/form-data` with `signed_on` (YYYY-MM-DD) and the file "
    '`document`, or JSON `{"signed_on": "2027-01-05", "document": BASE64, "filename": '
    '"..."}`. The PDF is required (at most 10 MiB). Signing writes the territory grants '
    "and program enrolment for the agreement's validity; a supplementary agreement or "
    "renewal supersedes the one it changes from its own start.",
    request_body={
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["signed_on", "document"],
                    "properties": {
                        "signed_on": {"type": "string", "format": "date"},
                        "document": {"type": "string", "format": "binary"},
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["signed_on", "document"],
                    "properties": {
                        "signed_on": {"type": "string", "format": "date"},
                        "document": {"type": "string", "contentEncoding": "base64"},
                        "filename": {"type": "string"},
                    },
                }
            },
        },
    },
    responses={
        200: json_response("The signed agreement", _OBJECT),
        404: "No such agreement",
        409: "Not approved, or another agreement is in force on its days",
    },
    roles=WRITERS,
    tags=("agreements",),
)
def agreement_sign(number: str) -> ResponseReturnValue:
    signed_on, document = _document()
    _call(lambda: ag.sign(get_engine(), number, signed_on, current_actor(), document))
    return _detail(number)


@api_route(
    "/agreements/<number>/terminate",
    methods=("POST",),
    summary="Terminate a signed agreement on one of the grounds the rules name",
    description='Body `{"ground": "material_breach", "terminated_on": "2027-06-01", "note": '
    '"...", "notice_on": "2027-04-20", "cure_by": "2027-05-20"}`. Grounds: '
    + ", ".join(ag.GROUNDS)
    + ". A material breach needs the notice date and a cure deadline that has passed.",
    request_body=members.request_json(
        {
            "ground": {"type": "string", "enum": list(ag.GROUNDS)},
            "terminated_on": {"type": "string", "format": "date"},
            "note": {"type": "string"},
            "notice_on": {"type": "string", "format": "date"},
            "cure_by": {"type": "string", "format": "date"},
        },
        ("ground", "terminated_on", "note"),
    ),
    responses={
        200: json_response("The terminated agreement", _OBJECT),
        404: "No such agreement",
        409: "Not signed",
    },
    roles=WRITERS,
    tags=("agreements",),
)
def agreement_terminate(number: str) -> ResponseReturnValue:
    body = json_body()
    members.known(body, ("ground", "terminated_on", "note", "notice_on", "cure_by"))
    ground = members.text(body, "ground", required=True) or ""
    end = members.text(body, "terminated_on", required=True) or ""
    note = members.text(body, "note", required=True) or ""
    notice_on, cure_by = members.text(body, "notice_on"), members.text(body, "cure_by")
    _call(
        lambda: ag.terminate(
            get_engine(),
            number,
            ground,
            end,
            note,
            current_actor(),
            notice_on=notice_on,
            cure_by=cure_by,
        )
    )
    return _detail(number)


@api_route(
    "/agreements/<number>/renew",
    methods=("POST",),
    summary="Draft the renewal of a signed agreement with the same terms",
    description='Body `{"valid_to": "2028-12-31"}`: the renewal runs from the day after the '
    "agreement ends until then. Answers 201 with the renewal (a draft).",
    request_body=members.request_json(
        {"valid_to": {"type": "string", "format": "date"}}, ("valid_to",)
    ),
    responses={
        201: json_response("The renewal, a draft", _OBJECT),
        404: "No such agreement",
        409: "Not signed, or already has an amendment on its way",
    },
    roles=WRITERS,
    tags=("agreements",),
)
def agreement_renew(number: str) -> ResponseReturnValue:
    body = json_body()
    members.known(body, ("valid_to",))
    valid_to = members.text(body, "valid_to", required=True) or ""
    renewal = _call(lambda: ag.renew(get_engine(), number, valid_to, current_actor()))
    return _created(renewal)


@api_route(
    "/agreements/<number>/document",
    summary="The signed agreement (PDF)",
    responses={
        200: {"description": "The PDF", "content": {"application/pdf": {}}},
        404: "No such agreement, or none signed yet",
    },
    roles=READERS,
    tags=("agreements",),
)
def agreement_document(number: str) -> ResponseReturnValue:
    meta, data = _call(lambda: ag.get_document(get_engine(), number, current_actor()))
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{_ascii(meta.filename)}"'
    response.headers["X-Content-SHA256"] = meta.sha256
    return response


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
