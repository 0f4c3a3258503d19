"""The recruitment pipeline and trials as JSON (issue 12).

Public: ``POST /applications`` (no account; rate-limited per address together with
the form, :func:`web.partners._recruit.application_allowed`; a body whose
``website_url`` honeypot is filled is answered like a real one and nothing is
stored). Partner managers and admins walk a prospect through its stages
(``/prospects/{id}/stage``, ``/scores``, ``/visits``, ``/terms``, ``/sign``) and
decide trials (``/trials/{code}/decision``); channel managers, finance and
auditors read. The rules are in :mod:`partners.recruitment` and
:mod:`partners.trials`; this module parses requests and maps errors to answers.

A bad input answers 400 ``{"error", "status", "errors": [{"path": "$.field",
"error": ...}]}`` naming every bad member by its JSON path (plus ``message`` per
problem in the caller's language when it is not English).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from flask import Response, abort, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from ledger.said import SaidError
from partners import recruitment as rc
from partners import trials
from partners.values import InvalidField
from web.api import api_route, json_body, json_response, query_param, query_str
from web.api.body import request_json
from web.api.paging import page_answer, page_params, page_window, paged_response
from web.db import get_engine
from web.i18n import DEFAULT_LOCALE, N_
from web.partners._recruit import HONEYPOT, application_allowed, said
from web.roles import Role
from web.security import csrf_exempt
from web.settlement_access import abort_for, current_actor

__all__ = ["READERS", "WRITERS", "prospect_json", "trial_json"]

WRITERS = (Role.PARTNER_MANAGER, Role.ADMIN)
READERS = (*WRITERS, Role.CHANNEL_MANAGER, Role.FINANCE, Role.AUDITOR)
_OBJECT = {"type": "object"}
_TAGS = ("recruitment",)
_TOO_MANY = N_("Too many applications from your address; please try again in an hour")
_APPLICATION_FIELDS = {name: {"type": "string"} for name in rc.APPLICATION_FIELDS}


def _plain(value: Any) -> Any:
    """JSON-ready: Decimals as strings (exact), tuples as lists, dataclasses as objects."""
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def invalid(exc: InvalidField | rc.InvalidInput, prefix: str = "$.") -> Response:
    """400 naming each bad member by its JSON path (``$.photos[1]``)."""
    problems = exc.problems if isinstance(exc, rc.InvalidInput) else (exc,)
    english = str(get_locale() or DEFAULT_LOCALE) == DEFAULT_LOCALE
    errors = []
    for p in problems:
        item = {"path": prefix + p.field, "field": p.field, "error": str(p)}
        if not english:
            item["message"] = said(p)
        errors.append(item)
    body: dict[str, Any] = {"error": str(exc), "status": 400, "errors": errors}
    if not english:
        body["message"] = "; ".join(e["message"] for e in errors)
    response = jsonify(body)
    response.status_code = 400
    response.headers["Content-Language"] = str(get_locale() or DEFAULT_LOCALE).replace("_", "-")
    return response


def _fail(exc: SaidError) -> Response:
    """400 naming the bad members of an input error; else the status of ``exc``
    (:func:`web.settlement_access.abort_for`)."""
    if isinstance(exc, InvalidField | rc.InvalidInput):
        return invalid(exc)
    abort_for(exc)


def prospect_json(view: rc.ProspectView) -> dict[str, Any]:
    return dict(_plain(view))


def _detail_json(d: rc.ProspectDetail, prospect_id: int) -> dict[str, Any]:
    body = _plain(d)
    body["allowed_moves"] = list(d.allowed_moves)
    body["screening"]["complete"] = d.screening.complete
    for visit in body["visits"]:
        visit["photos"] = [
            {
                "id": pid,
                "filename": name,
                "content_type": ctype,
                "sha256": digest,
                "size": size,
                "url": url_for("api.prospect_photo", prospect_id=prospect_id, photo_id=pid),
            }
            for pid, name, ctype, digest, size in visit["photos"]
        ]
    return dict(body)


def trial_json(view: trials.TrialView) -> dict[str, Any]:
    body = dict(_plain(view))
    body["over_cap"] = view.over_cap
    body["past_end"] = view.past_end
    return body


# ------------------------------------------------------------------ public


@api_route(
    "/applications",
    methods=("POST",),
    summary="Apply to become a partner (public, no account)",
    description="Body: a JSON object of text members. Required: `company_name`, `country` "
    "(ISO 3166-1 alpha-2), `contact_name`, `contact_email`. Optional: `kind` (distributor, "
    "dealer, retailer), `channel` (exhibition, b2b_platform, referral, association, inbound; "
    "default inbound), `local_name`, `city`, `currency`, `contact_phone` (international "
    "form), `language`, `website`, `territories_wanted`, `message`, `channel_detail`. "
    "Answers 201 `{id, reference}` with `Location`; 400 naming every bad member by its JSON "
    "path in `errors`; 429 past the rate limit (per address).",
    request_body=request_json(
        _APPLICATION_FIELDS, ("company_name", "country", "contact_name", "contact_email")
    ),
    responses={
        201: json_response("The application, stored", _OBJECT),
        429: "Too many applications from this address",
    },
    roles=None,
    tags=_TAGS,
)
@csrf_exempt  # public and unauthenticated: no cookie grants it anything to forge
def applications() -> ResponseReturnValue:
    if not application_allowed():
        abort(429, _TOO_MANY)
    body = json_body()
    if body.get(HONEYPOT):
        tail = "".join(secrets.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(8))
        return jsonify(id=None, reference=f"APP-{dt.datetime.now(dt.UTC).year}-{tail}"), 201
    data = {k: v for k, v in body.items() if k != HONEYPOT}
    try:
        prospect_id, reference = rc.submit_application(get_engine(), data, source="api")
    except (InvalidField, rc.InvalidInput) as exc:
        return invalid(exc)
    response = jsonify(id=prospect_id, reference=reference)
    response.status_code = 201
    response.headers["Location"] = url_for("api.prospect", prospect_id=prospect_id)
    return response


# ------------------------------------------------------------------ prospects


@api_route(
    "/prospects",
    summary="Prospects, newest first",
    description="Filter by `stage` (one of the stages, or `open`), `channel` and `q` (start of "
    "the company name or reference). Answers `{items, total, offset, limit}` with "
    "`X-Total-Count` and `Link`.",
    params=(
        query_param("stage", "string", enum=[*rc.STAGES, "open"]),
        query_param("channel", "string", enum=list(rc.CHANNELS)),
        query_param("q", "string", maxLength=100),
        *page_params("prospects", maximum=200),
    ),
    responses={200: paged_response("A page of prospects", _OBJECT)},
    roles=READERS,
    tags=_TAGS,
)
def prospects() -> ResponseReturnValue:
    offset, limit = page_window()
    try:
        items, total = rc.page_prospects(
            get_engine(),
            current_actor(),
            stage=query_str("stage"),
            channel=query_str("channel"),
            q=query_str("q"),
            offset=offset,
            limit=limit,
        )
    except SaidError as exc:
        return _fail(exc)
    return page_answer([prospect_json(p) for p in items], total, offset, limit)


@api_route(
    "/prospects",
    methods=("POST",),
    summary="Add a prospect found by a partner manager (an exhibition, a referral)",
    description="The members of `POST /applications` with `channel` required, plus "
    "`owner_user_id` and `due_on` (YYYY-MM-DD).",
    request_body=request_json(
        {**_APPLICATION_FIELDS, "owner_user_id": {"type": "integer"}, "due_on": {"type": "string"}}
    ),
    responses={201: json_response("The prospect", _OBJECT)},
    roles=WRITERS,
    tags=_TAGS,
)
def prospect_create() -> ResponseReturnValue:
    try:
        view = rc.create_prospect(get_engine(), json_body(), current_actor())
    except SaidError as exc:
        return _fail(exc)
    response = jsonify(prospect_json(view))
    response.status_code = 201
    response.headers["Location"] = url_for("api.prospect", prospect_id=view.id)
    return response


@api_route(
    "/prospects/<id:prospect_id>",
    summary="One prospect: stage history, screening, site visits, terms, audit trail",
    responses={200: json_response("The prospect", _OBJECT), 404: "No such prospect"},
    roles=READERS,
    tags=_TAGS,
)
def prospect(prospect_id: int) -> ResponseReturnValue:
    try:
        detail = rc.get_prospect(get_engine(), prospect_id, current_actor())
    except SaidError as exc:
        return _fail(exc)
    return jsonify(_detail_json(detail, prospect_id))


@api_route(
    "/prospects/<id:prospect_id>/photos/<id:photo_id>",
    summary="A site-visit photo of the prospect (its bytes)",
    responses={
        200: {"description": "The photo (image/jpeg, image/png or image/webp)"},
        404: "No such photo",
    },
    roles=READERS,
    tags=_TAGS,
)
def prospect_photo(prospect_id: int, photo_id: int) -> ResponseReturnValue:
    try:
        name, content_type, data = rc.get_photo(
            get_engine(), photo_id, current_actor(), prospect_id=prospect_id
        )
    except SaidError as exc:
        return _fail(exc)
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{_ascii(name)}"'
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)


def _move_args(body: dict[str, Any]) -> dict[str, Any]:
    for name in ("note", "due_on"):
        if body.get(name) is not None and not isinstance(body.get(name), str):
            raise InvalidField.said("recruit_not_text", "must be text", field=name)
    return {
        "owner_user_id": body.get("owner_user_id"),
        "due_on": body.get("due_on"),
        "note": body.get("note") or "",
    }


@api_route(
    "/prospects/<id:prospect_id>/stage",
    methods=("POST",),
    summary="Move a prospect to its next stage, or close it as rejected or withdrawn",
    description='Body `{"stage": "screening", "owner_user_id": 7, "due_on": "2026-12-20", '
    '"note": "..."}`; `note` is the reason, required to reject or withdraw. Signing is '
    "`POST /prospects/{id}/sign`. 409 names the stages allowed or what the stage still needs.",
    request_body=request_json(
        {
            "stage": {"type": "string", "enum": list(rc.STAGES)},
            "owner_user_id": {"type": "integer"},
            "due_on": {"type": "string"},
            "note": {"type": "string"},
        },
        ("stage",),
    ),
    responses={
        200: json_response("The prospect", _OBJECT),
        404: "No such prospect",
        409: "Not allowed from its stage",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def prospect_stage(prospect_id: int) -> ResponseReturnValue:
    body = json_body()
    try:
        stage = body.get("stage")
        if not isinstance(stage, str):
            raise InvalidField.said("recruit_not_text", "must be text", field="stage")
        view = rc.move(get_engine(), prospect_id, stage, current_actor(), **_move_args(body))
    except SaidError as exc:
        return _fail(exc)
    return jsonify(prospect_json(view))


@api_route(
    "/prospects/<id:prospect_id>/assign",
    methods=("POST",),
    summary="Give a prospect's current stage an owner and a due date",
    request_body=request_json(
        {
            "owner_user_id": {"type": "integer"},
            "due_on": {"type": "string"},
            "note": {"type": "string"},
        }
    ),
    responses={200: json_response("The prospect", _OBJECT), 404: "No such prospect"},
    roles=WRITERS,
    tags=_TAGS,
)
def prospect_assign(prospect_id: int) -> ResponseReturnValue:
    body = json_body()
    try:
        view = rc.assign(get_engine(), prospect_id, current_actor(), **_move_args(body))
    except SaidError as exc:
        return _fail(exc)
    return jsonify(prospect_json(view))


@api_route(
    "/prospects/<id:prospect_id>/scores",
    methods=("POST",),
    summary="Score screening criteria (0-100, each with its reason)",
    description='Body `{"criterion": "qualification", "score": 80, "reason": "..."}` or '
    '`{"scores": [{...}, ...]}` (all or nothing). Answers the screening: each criterion\'s '
    "weight, score and reason, the weighted `total` and the criteria still `missing`.",
    request_body=request_json(
        {
            "criterion": {"type": "string"},
            "score": {"type": "integer"},
            "reason": {"type": "string"},
            "scores": {"type": "array", "items": _OBJECT},
        }
    ),
    responses={
        200: json_response("The screening", _OBJECT),
        404: "No such prospect",
        409: "The prospect is not at screening",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def prospect_scores(prospect_id: int) -> ResponseReturnValue:
    body = json_body()
    try:
        items, prefix = rc.parse_scores(body)
        result = rc.score_many(get_engine(), prospect_id, items, current_actor(), prefix=prefix)
    except SaidError as exc:
        return _fail(exc)
    body_out = dict(_plain(result))
    body_out["complete"] = result.complete
    return jsonify(body_out)


def _photos_json(raw: Any) -> list[rc.PhotoUpload]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidField.said("recruit_not_text", "must be text", field="photos")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InvalidField.said("recruit_not_text", "must be text", field=f"photos[{i}]")
        data = item.get("data_base64", "")
        try:
            if not isinstance(data, str):
                raise ValueError
            content = base64.b64decode(data, validate=True)
        except (ValueError, binascii.Error):
            raise InvalidField.said(
                "visit_photo_type",
                "%(value)s is not a JPEG, PNG or WebP image",
                field=f"photos[{i}].data_base64",
                value=repr(str(item.get("filename", ""))[:60]),
            ) from None
        out.append(
            rc.PhotoUpload(
                str(item.get("filename") or "photo"), str(item.get("content_type") or ""), content
            )
        )
    return out


@api_route(
    "/prospects/<id:prospect_id>/visits",
    methods=("POST",),
    summary="Keep a site visit's dated report with its photos",
    description='JSON `{"visited_on": "2026-11-20", "visitor": "...", "report": "...", '
    '"photos": [{"filename": "front.jpg", "content_type": "image/jpeg", "data_base64": '
    '"..."}]}`, or a multipart form with the same fields and files named `photos`. Photos '
    "are JPEG, PNG or WebP by their bytes, at most 10 of 5 MiB each.",
    request_body={
        "required": True,
        "content": {
            "application/json": {"schema": _OBJECT},
            "multipart/form-data": {"schema": _OBJECT},
        },
    },
    responses={
        201: json_response("The visit", _OBJECT),
        404: "No such prospect",
        409: "The prospect is not at site_visit",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def prospect_visits(prospect_id: int) -> ResponseReturnValue:
    try:
        if request.mimetype == "multipart/form-data":
            form = request.form
            photos = [
                rc.PhotoUpload(f.filename or "photo", f.mimetype or "", f.read())
                for f in request.files.getlist("photos")
                if f.filename
            ]
            args = (form.get("visited_on", ""), form.get("visitor", ""), form.get("report", ""))
        else:
            body = json_body()
            for name in ("visited_on", "visitor", "report"):
                if not isinstance(body.get(name, ""), str):
                    raise InvalidField.said("recruit_not_text", "must be text", field=name)
            photos = _photos_json(body.get("photos"))
            args = (body.get("visited_on", ""), body.get("visitor", ""), body.get("report", ""))
        visit = rc.add_site_visit(get_engine(), prospect_id, *args, photos, current_actor())
    except SaidError as exc:
        return _fail(exc)
    out = _plain(visit)
    out["photos"] = [
        {
            "id": pid,
            "filename": n,
            "content_type": t,
            "sha256": h,
            "size": z,
            "url": url_for("api.prospect_photo", prospect_id=prospect_id, photo_id=pid),
        }
        for pid, n, t, h, z in visit.photos
    ]
    return jsonify(out), 201


@api_route(
    "/prospects/<id:prospect_id>/terms",
    methods=("POST",),
    summary="Propose a new version of the terms to a prospect in negotiation",
    description='Body `{"territories": ["DE"], "programs": ["VOL"], "currency": "EUR", '
    '"deposit_minor": 500000, "credit_limit_minor": 0, "payment_terms_days": 30, '
    '"trial_days": 90, "trial_order_cap_units": 200, "note": "..."}` (money in minor units).',
    request_body=request_json(
        {
            "territories": {"type": "array", "items": {"type": "string"}},
            "programs": {"type": "array", "items": {"type": "string"}},
            "currency": {"type": "string"},
            "deposit_minor": {"type": "integer"},
            "credit_limit_minor": {"type": "integer"},
            "payment_terms_days": {"type": "integer"},
            "trial_days": {"type": "integer"},
            "trial_order_cap_units": {"type": "integer"},
            "note": {"type": "string"},
        },
        ("territories",),
    ),
    responses={
        201: json_response("The terms", _OBJECT),
        404: "No such prospect",
        409: "The prospect is not in negotiation",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def prospect_terms(prospect_id: int) -> ResponseReturnValue:
    try:
        terms = rc.propose_terms(get_engine(), prospect_id, json_body(), current_actor())
    except SaidError as exc:
        return _fail(exc)
    return jsonify(_plain(terms)), 201


@api_route(
    "/prospects/<id:prospect_id>/sign",
    methods=("POST",),
    summary="Sign a prospect: its party is created on trial from the latest terms",
    description='Body `{"code": "CN-BRIGHT", "name": "...", "parent": "..."}` (`name` '
    "defaults to the company name; `parent` a dealer's distributor). Answers 201 "
    '`{"party": code, "trial_id", "prospect"}` with `Location` of the trial. The agreement '
    "is drafted separately from the latest terms.",
    request_body=request_json(
        {"code": {"type": "string"}, "name": {"type": "string"}, "parent": {"type": "string"}},
        ("code",),
    ),
    responses={
        201: json_response("The party on trial", _OBJECT),
        404: "No such prospect",
        409: "The prospect is not at signing",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def prospect_sign(prospect_id: int) -> ResponseReturnValue:
    body = json_body()
    try:
        for name in ("code", "name", "parent"):
            if not isinstance(body.get(name, ""), str):
                raise InvalidField.said("recruit_not_text", "must be text", field=name)
        code, trial_id, number = rc.sign(
            get_engine(),
            prospect_id,
            body.get("code", ""),
            current_actor(),
            name=body.get("name"),
            parent=body.get("parent", ""),
        )
        view = rc.get_prospect(get_engine(), prospect_id, current_actor())
    except SaidError as exc:
        return _fail(exc)
    response = jsonify(
        party=code, trial_id=trial_id, agreement=number, prospect=prospect_json(view.prospect)
    )
    response.status_code = 201
    response.headers["Location"] = url_for("api.trial", code=code)
    return response


# ------------------------------------------------------------------ trials


@api_route(
    "/trials",
    summary="Trials, running first",
    description="Filter by `status` (running, admitted, ended). Each with the units the "
    "manufacturer shipped to the party since the trial started (from the ledger) against "
    "its order cap.",
    params=(
        query_param("status", "string", enum=["running", "admitted", "ended"]),
        *page_params("trials", maximum=200),
    ),
    responses={200: paged_response("A page of trials", _OBJECT)},
    roles=READERS,
    tags=_TAGS,
)
def trials_list() -> ResponseReturnValue:
    offset, limit = page_window()
    try:
        items, total = trials.page_trials(
            get_engine(), current_actor(), status=query_str("status"), offset=offset, limit=limit
        )
    except SaidError as exc:
        return _fail(exc)
    return page_answer([trial_json(t) for t in items], total, offset, limit)


@api_route(
    "/trials/<code>",
    summary="A party's latest trial with its usage from the ledger",
    responses={200: json_response("The trial", _OBJECT), 404: "No such party or trial"},
    roles=READERS,
    tags=_TAGS,
)
def trial(code: str) -> ResponseReturnValue:
    try:
        return jsonify(trial_json(trials.trial_status(get_engine(), code, current_actor())))
    except SaidError as exc:
        return _fail(exc)


@api_route(
    "/trials/<code>/decision",
    methods=("POST",),
    summary="Admit a party on trial (status active) or end its trial (status terminated)",
    description='Body `{"admit": true, "reason": "..."}`; the reason is required.',
    request_body=request_json(
        {"admit": {"type": "boolean"}, "reason": {"type": "string"}}, ("admit", "reason")
    ),
    responses={
        200: json_response("The trial, decided", _OBJECT),
        404: "No such party or trial",
        409: "Decided already",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def trial_decision(code: str) -> ResponseReturnValue:
    body = json_body()
    admit, reason = body.get("admit"), body.get("reason", "")
    try:
        if not isinstance(reason, str):
            raise InvalidField.said("recruit_not_text", "must be text", field="reason")
        view = trials.decide_trial(get_engine(), code, admit, reason, current_actor())
    except SaidError as exc:
        return _fail(exc)
    return jsonify(trial_json(view))


# ------------------------------------------------------------------ board, weights, costs


@api_route(
    "/recruitment/board",
    summary="The recruitment board: stages, ageing, conversion and cost per signed partner",
    description="Per open stage: count, days in stage (median, oldest), overdue. Per channel: "
    "applications, signed, rate, money spent per currency (minor units, every period) and "
    "cost per signed partner per currency (never converted). Trials running, admitted, ended.",
    responses={200: json_response("The board", _OBJECT)},
    roles=READERS,
    tags=_TAGS,
)
def recruitment_board() -> ResponseReturnValue:
    try:
        return jsonify(_plain(rc.board(get_engine(), current_actor())))
    except SaidError as exc:
        return _fail(exc)


@api_route(
    "/screening-weights",
    summary="The weights new screenings are scored by",
    responses={200: json_response("The version and weights", _OBJECT)},
    roles=READERS,
    tags=_TAGS,
)
def screening_weights() -> ResponseReturnValue:
    version, weights = rc.screening_weights(get_engine())
    return jsonify(version=version, weights=_plain(weights))


@api_route(
    "/screening-weights",
    methods=("PUT",),
    summary="Store a new version of the screening weights",
    description='Body `{"weights": {"qualification": "0.3", "sales_capability": "0.3", '
    '"resources": "0.2", "willingness": "0.2"}}`: decimals from 0 to 1 adding up to 1.',
    request_body=request_json({"weights": _OBJECT}, ("weights",)),
    responses={200: json_response("The new version", _OBJECT)},
    roles=WRITERS,
    tags=_TAGS,
)
def screening_weights_put() -> ResponseReturnValue:
    body = json_body()
    weights = body.get("weights")
    try:
        if not isinstance(weights, dict):
            raise InvalidField.said("value_empty", "is empty", field="weights")
        version, stored = rc.set_screening_weights(get_engine(), weights, current_actor())
    except SaidError as exc:
        return _fail(exc)
    return jsonify(version=version, weights=_plain(stored))


@api_route(
    "/acquisition-costs",
    summary="Money spent per acquisition channel and month, newest first",
    params=page_params("costs", maximum=200),
    responses={200: paged_response("A page of costs", _OBJECT)},
    roles=READERS,
    tags=_TAGS,
)
def acquisition_costs() -> ResponseReturnValue:
    offset, limit = page_window()
    try:
        items, total = rc.list_costs(get_engine(), current_actor(), offset=offset, limit=limit)
    except SaidError as exc:
        return _fail(exc)
    return page_answer(_plain(items), total, offset, limit)


@api_route(
    "/acquisition-costs",
    methods=("POST",),
    summary="Record money spent on an acquisition channel in a month",
    description='Body `{"channel": "exhibition", "period": "2026-11", "amount_minor": 300000, '
    '"currency": "EUR", "note": "..."}`.',
    request_body=request_json(
        {
            "channel": {"type": "string"},
            "period": {"type": "string"},
            "amount_minor": {"type": "integer"},
            "currency": {"type": "string"},
            "note": {"type": "string"},
        },
        ("channel", "period", "amount_minor", "currency"),
    ),
    responses={201: json_response("The cost", _OBJECT)},
    roles=WRITERS,
    tags=_TAGS,
)
def acquisition_cost_create() -> ResponseReturnValue:
    body = json_body()
    try:
        for name in ("channel", "period", "currency", "note"):
            if not isinstance(body.get(name, ""), str):
                raise InvalidField.said("recruit_not_text", "must be text", field=name)
        view = rc.record_cost(
            get_engine(),
            body.get("channel", ""),
            body.get("period", ""),
            body.get("amount_minor"),
            body.get("currency", ""),
            body.get("note", ""),
            current_actor(),
        )
    except SaidError as exc:
        return _fail(exc)
    return jsonify(_plain(view)), 201
