"""Money out and money in as JSON and files: a posted run's journal (CSV), its payment
plan, pain.001 payment file and exclusions report; every party's receivable and
deposit account; accruals with the tier watchlist.

Roles: finance, admins and auditors read journals and payment plans; only finance
makes a payment file (it is recorded in the audit trail). Finance, channel
managers, auditors and admins read accounts and accruals; a distributor reads its
own, and another party's account answers 404 like one that does not exist.
"""

from __future__ import annotations

import dataclasses
import os
from calendar import timegm
from datetime import UTC, date, datetime, timedelta

from flask import Response, abort, jsonify, request
from flask.typing import ResponseReturnValue

import settlement
from settlement.accruals import Accruals, accruals
from settlement.journal import chart_from_env, journal_csv
from settlement.payments import (
    PaymentPlan,
    debtor_from_env,
    exclusions_csv,
    payment_file,
    payment_plan,
)
from settlement.receivables import ACCOUNT_READERS, PartyAccount, list_accounts, party_account
from web.api import (
    DAY_PATTERN,
    MONTH_PATTERN,
    api_route,
    json_body,
    json_response,
    query_param,
    query_str,
)
from web.api.paging import page_params, page_window, paged, paged_response
from web.converters import ID_MAX
from web.db import get_engine
from web.errors import refuse
from web.i18n import N_
from web.roles import Role, parse_role
from web.settlement_access import FINANCE_READERS, abort_for, current_actor

__all__ = [
    "MONEY_READERS",
    "accruals_for",
    "existing_run",
    "journal_response",
    "next_business_day",
    "parse_day",
    "payment_file_response",
    "visible_account",
    "visible_plan",
]

#: Who reads accounts and accruals of every party (a distributor reads its own too).
MONEY_READERS: tuple[Role, ...] = tuple(parse_role(r) for r in ACCOUNT_READERS)
_OWN = (*MONEY_READERS, Role.DISTRIBUTOR)
_CSV = "text/csv; charset=utf-8"
_XML = "application/xml"
_OBJECT = {"type": "object"}
_TAGS = ("money",)


def _attachment(data: bytes, content_type: str, name: str) -> Response:
    return Response(
        data,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def parse_day(text: str, what: str) -> date:
    """An ISO date (``YYYY-MM-DD``) typed by a person; 422 naming ``what`` otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        abort(422, f"{what} must be a date like 2026-11-30, got {text!r}")


def next_business_day(today: date) -> date:
    """The first Monday-to-Friday after ``today`` (the default execution date)."""
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# ------------------------------------------------------------------ journal and payments


def existing_run(run_id: int) -> settlement.RunView:
    """The run ``run_id``; 404 when there is none."""
    try:
        return settlement.get_run(get_engine(), run_id)
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)


def journal_response(run_id: int) -> Response:
    """The posted run's journal CSV; 404 no run, 409 not posted, 422 unmapped category."""
    existing_run(run_id)
    try:
        chart = chart_from_env(os.environ)
        data = journal_csv(get_engine(), run_id, current_actor(), chart=chart)
    except settlement.SettlementError as exc:
        abort_for(exc)
    return _attachment(data, _CSV, f"journal-run-{run_id}.csv")


def visible_plan(run_id: int) -> PaymentPlan:
    """The posted run's payment plan; 404 no run, 409 not posted."""
    existing_run(run_id)
    try:
        return payment_plan(get_engine(), run_id, current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc)


def payment_file_response(run_id: int, execution_date: str) -> Response:
    """The run's pain.001 file for ``execution_date`` (``YYYY-MM-DD``, "" for the next
    business day); 409 not posted, 422 no debtor configured or nothing to pay."""
    day = (
        parse_day(execution_date, "execution date")
        if execution_date.strip()
        else next_business_day(datetime.now(UTC).date())
    )
    existing_run(run_id)
    try:
        debtor = debtor_from_env(os.environ)
        xml = payment_file(get_engine(), run_id, current_actor(), debtor=debtor, execution_date=day)
    except settlement.SettlementError as exc:
        abort_for(exc)
    return _attachment(xml, _XML, f"pain.001-run-{run_id}-{day.isoformat()}.xml")


@api_route(
    "/runs/<id:run_id>/journal.csv",
    summary="A posted run's double-entry journal (CSV)",
    description="Columns: date, account, party, debit, credit, currency, reference "
    "(run/statement/line position); amounts in major units. See docs/journal.md.",
    responses={
        200: {"description": "The journal", "content": {"text/csv": {}}},
        404: "No such run",
        409: "The run is not posted, or one of its statements no longer matches its sealed hash",
    },
    roles=FINANCE_READERS,
    tags=_TAGS,
)
def money_journal(run_id: int) -> ResponseReturnValue:
    return journal_response(run_id)


@api_route(
    "/runs/<id:run_id>/payments",
    summary="Who a posted run pays: the transfers of its payment file and the exclusions",
    responses={
        200: json_response("The plan", _OBJECT),
        404: "No such run",
        409: "The run is not posted, or one of its statements no longer matches its sealed hash",
    },
    roles=FINANCE_READERS,
    tags=_TAGS,
)
def money_payment_plan(run_id: int) -> ResponseReturnValue:
    plan = visible_plan(run_id)
    out = dataclasses.asdict(plan)
    out["total_minor"] = plan.total_minor
    return jsonify(out)


@api_route(
    "/runs/<id:run_id>/payments/exclusions.csv",
    summary="Payable statements a run's payment file leaves out, with the reason (CSV)",
    responses={
        200: {"description": "The report", "content": {"text/csv": {}}},
        404: "No such run",
        409: "The run is not posted, or one of its statements no longer matches its sealed hash",
    },
    roles=FINANCE_READERS,
    tags=_TAGS,
)
def money_exclusions(run_id: int) -> ResponseReturnValue:
    return _attachment(
        exclusions_csv(visible_plan(run_id)), _CSV, f"payments-run-{run_id}-excluded.csv"
    )


@api_route(
    "/runs/<id:run_id>/payment-file",
    methods=("POST",),
    summary="Make the run's ISO 20022 pain.001.001.03 credit-transfer file",
    description='Body `{"execution_date": "YYYY-MM-DD"}` (optional: the next business '
    "day). One transfer per payable EUR statement; the debtor is the instance's "
    "HOPCHAIN_DEBTOR_NAME/IBAN/BIC. Each file made is written to the audit trail.",
    request_body={
        "required": False,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"execution_date": {"type": "string"}}}
            }
        },
    },
    responses={
        200: {"description": "The XML file", "content": {_XML: {}}},
        404: "No such run",
        409: "The run is not posted, or one of its statements no longer matches its sealed hash",
        422: "No debtor configured, a past date, or nothing to pay",
    },
    roles=(Role.FINANCE,),
    tags=_TAGS,
)
def money_payment_file(run_id: int) -> ResponseReturnValue:
    body = json_body() if request.content_length else {}
    raw = body.get("execution_date", "")
    if not isinstance(raw, str):
        abort(422, "'execution_date' must be a string like 2026-12-01")
    return payment_file_response(run_id, raw)


# ------------------------------------------------------------------ accounts


def _page_args() -> tuple[int, int]:
    return page_window()


_PAGING = (
    query_param(
        "offset",
        minimum=0,
        maximum=ID_MAX,
        default=0,
        description="skip this many (the previous next_offset)",
    ),
    *page_params("items"),
)


@api_route(
    "/accounts",
    summary="Receivables and deposits per party, most owed first",
    description="`items`: party, currency, receivable_minor (what it owes), deposit_minor "
    "(what it holds), deducted_minor (taken from the deposit so far); `next_offset` "
    "is null on the last page. A distributor gets only its own.",
    params=_PAGING,
    responses={200: paged_response("The accounts", _OBJECT)},
    roles=_OWN,
    tags=_TAGS,
)
def money_accounts() -> ResponseReturnValue:
    offset, limit = _page_args()
    try:
        rows, total = list_accounts(get_engine(), current_actor(), offset=offset, limit=limit)
    except settlement.SettlementError as exc:
        abort_for(exc)
    nxt = offset + len(rows)
    body = jsonify(
        {
            "items": [dataclasses.asdict(r) for r in rows],
            "total": total,
            "next_offset": nxt if nxt < total else None,
        }
    )
    return paged(body, total, offset, limit, len(rows))


def visible_account(party_id: int, offset: int = 0, limit: int | None = None) -> PartyAccount:
    """The party's account if the caller may read it; 404 otherwise."""
    try:
        return party_account(get_engine(), party_id, current_actor(), offset=offset, limit=limit)
    except settlement.PermissionDenied as exc:
        abort_for(exc)
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)


@api_route(
    "/accounts/<id:party_id>",
    summary="One party's receivable and deposit, with its movements (newest first)",
    params=_PAGING,
    responses={200: paged_response("The account", _OBJECT), 404: "No such party"},
    roles=_OWN,
    tags=_TAGS,
)
def money_account(party_id: int) -> ResponseReturnValue:
    offset, limit = _page_args()
    acc = visible_account(party_id, offset, limit)
    out = dataclasses.asdict(acc)
    nxt = offset + len(acc.movements)
    out["next_offset"] = nxt if nxt < acc.movement_count else None
    return paged(jsonify(out), acc.movement_count, offset, limit, len(acc.movements))


# ------------------------------------------------------------------ accruals


def accruals_for(period: str, day: str) -> Accruals:
    """Accruals of ``period`` (YYYY-MM) as of the end of ``day`` (``YYYY-MM-DD``; "" for
    now); 422 naming what is wrong."""
    until = None
    if day.strip():
        d = parse_day(day, "day")
        # the end of the day in integer ms: "+1 day" on 9999-12-31 overflows a date
        until = timegm(d.timetuple()) * 1000 + 86_400_000
        if not day.startswith(period):
            refuse(
                422, N_("day %(day)s is not in period %(period)s"), day=d.isoformat(), period=period
            )
    try:
        return accruals(get_engine(), period, current_actor(), until_ms=until)
    except settlement.SettlementError as exc:
        abort_for(exc)


@api_route(
    "/accruals",
    summary="What each program would pay if the period closed now, and the tier watchlist",
    description="`rows`: per party and program, net units and value so far, "
    "`rebate_minor` if the period closed now, the tier reached, the next tier and "
    "`shortfall` (units, or minor units of value) with `watch`, the sentence. "
    "`day` (YYYY-MM-DD) counts entries up to the end of that day. A distributor "
    "gets only its own rows.",
    params=(
        query_param(
            "period", "string", required=True, description="YYYY-MM", pattern=MONTH_PATTERN
        ),
        query_param("day", "string", description="YYYY-MM-DD in the period", pattern=DAY_PATTERN),
    ),
    responses={200: json_response("The accruals", _OBJECT), 422: "Not computable"},
    roles=_OWN,
    tags=_TAGS,
)
def money_accruals() -> ResponseReturnValue:
    acc = accruals_for(query_str("period") or "", query_str("day") or "")
    out = dataclasses.asdict(acc)
    for row in out["rows"]:
        for key in ("tier_rate", "next_rate"):
            row[key] = None if row[key] is None else str(row[key])
    out["watchlist"] = [
        {"party_code": r.party_code, "program_code": r.program_code, "watch": r.watch}
        for r in acc.watchlist
    ]
    return jsonify(out)
