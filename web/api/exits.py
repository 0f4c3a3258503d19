"""Partner exits as JSON (issue 12, "Exit").

``POST /exits`` starts one (201); ``GET /exits`` lists them (paged, ``status``
filter); ``GET /exits/{id}`` gives one with its checklist, handover plans and
customers handed over; ``GET /exits/{id}/custody`` pages the units the party still
has, read from the ledger; ``POST .../handovers`` plans units (or records
customers), ``POST .../final-settlement`` settles it (finance), ``POST
.../complete`` and ``POST .../cancel`` end it. The rules are :mod:`partners.exits`'
and :mod:`settlement.exit_settlement`'s; a bad member is answered 400 naming its
JSON path (``$.evidence.alert: ...``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, jsonify
from flask.typing import ResponseReturnValue

from ledger.said import SaidError
from partners import exits as ex
from settlement import exit_settlement as xs
from web.api import api_route, json_body, json_response, query_param, query_str
from web.api import body as members
from web.api.paging import page_answer, page_params, page_window, paged_response
from web.db import get_engine
from web.roles import Role
from web.settlement_access import current_actor

__all__ = ["exit_json"]

READERS = tuple(Role(r) for r in ex.EXIT_READERS)
MANAGERS = tuple(Role(r) for r in ex.EXIT_MANAGERS)
SETTLERS = tuple(Role(r) for r in ex.SETTLERS)
_OBJECT: dict[str, Any] = {"type": "object"}


def _call(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except SaidError as exc:
        members.refuse(exc)


def exit_json(view: ex.ExitView) -> dict[str, Any]:
    """An exit as the API answers it."""
    return view.as_json()


def _detail(exit_id: int) -> dict[str, Any]:
    engine, actor = get_engine(), current_actor()
    view = _call(lambda: ex.get_exit(engine, exit_id, actor))
    steps = _call(lambda: ex.exit_steps(engine, exit_id, actor))
    done = _call(lambda: ex.handovers(engine, exit_id, actor))
    return {
        **exit_json(view),
        "steps": [{"name": st.name, "done": st.done, **st.values} for st in steps],
        "plans": [h.as_json() for h in done if h.kind == "unit"],
        "customers": [h.as_json() for h in done if h.kind == "customer"],
    }


_START = ("party", "reason", "note", "buffer_days", "started_on", "evidence")


@api_route(
    "/exits",
    methods=("POST",),
    summary="Start a party's exit",
    description='Body `{"party": "D-EAST", "reason": "serious_diversion", "evidence": '
    '{"alert": 42}, "note": "...", "buffer_days": 30, "started_on": "2026-12-01"}`. '
    "Reasons: `under_target` (evidence `quarters`: two consecutive quarters under "
    "target), `serious_diversion` (evidence `alert`: a confirmed alert of high or "
    "critical severity), `agreement_terminated` (evidence `agreement`: the number of a "
    "terminated agreement, else its latest), `strategy_change` (soft; a note is "
    "required). The buffer defaults to six months. Answers 201 with the exit.",
    request_body=members.request_json(
        {
            "party": {"type": "string"},
            "reason": {"type": "string", "enum": list(ex.REASONS)},
            "note": {"type": "string"},
            "buffer_days": {"type": "integer", "minimum": 0, "maximum": ex.MAX_BUFFER_DAYS},
            "started_on": {"type": "string", "format": "date"},
            "evidence": {"type": "object"},
        },
        ("party", "reason"),
    ),
    responses={
        201: json_response("The exit", _OBJECT),
        404: "No such party",
        409: "The party cannot exit now, or the evidence does not hold",
    },
    roles=MANAGERS,
    tags=("exits",),
)
def exit_start() -> ResponseReturnValue:
    body = json_body()
    members.known(body, _START)
    party = members.text(body, "party", required=True) or ""
    reason = members.text(body, "reason", required=True) or ""
    buffer_days = body.get("buffer_days")
    if buffer_days is not None and (
        isinstance(buffer_days, bool) or not isinstance(buffer_days, int)
    ):
        abort(400, "$.buffer_days must be an integer")
    evidence = body.get("evidence")
    if evidence is not None and not isinstance(evidence, dict):
        abort(400, "$.evidence must be an object")
    view = _call(
        lambda: xs.start_exit(
            get_engine(),
            party,
            reason,
            current_actor(),
            note=members.text(body, "note") or "",
            buffer_days=buffer_days,
            started_on=members.text(body, "started_on"),
            evidence=evidence,
        )
    )
    response = jsonify(_detail(view.id))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/exits/{view.id}"
    return response


@api_route(
    "/exits",
    summary="Exits, newest first",
    description="Filter by `status`; page with `limit` and the `cursor` of the `Link` "
    "header. Answers `{items, total, offset, limit}`.",
    params=(
        query_param("status", "string", enum=["buffer", "settled", "completed", "cancelled"]),
        *page_params("exits", maximum=200),
    ),
    responses={200: paged_response("A page of exits", _OBJECT)},
    roles=READERS,
    tags=("exits",),
)
def exit_list() -> ResponseReturnValue:
    offset, limit = page_window()
    rows, total = _call(
        lambda: ex.page_exits(
            get_engine(), current_actor(), status=query_str("status"), offset=offset, limit=limit
        )
    )
    return page_answer([exit_json(v) for v in rows], total, offset, limit)


@api_route(
    "/exits/<id:exit_id>",
    summary="One exit with its checklist, handover plans and customers handed over",
    responses={200: json_response("The exit", _OBJECT), 404: "No such exit"},
    roles=READERS,
    tags=("exits",),
)
def exit_detail(exit_id: int) -> ResponseReturnValue:
    return jsonify(_detail(exit_id))


@api_route(
    "/exits/<id:exit_id>/custody",
    summary="The units the exiting party still has, read from the ledger now",
    description="Units it holds in stock and units shipped to it not yet received, by "
    "unit key, each with its handover plan (or null). Answers `{items, total, offset, "
    "limit}`; page with `limit` and `cursor`.",
    params=page_params("units", maximum=500),
    responses={200: paged_response("A page of units", _OBJECT), 404: "No such exit"},
    roles=READERS,
    tags=("exits",),
)
def exit_custody(exit_id: int) -> ResponseReturnValue:
    offset, limit = page_window()
    rows, total = _call(
        lambda: ex.custody(get_engine(), exit_id, current_actor(), offset=offset, limit=limit)
    )
    return page_answer([u.as_json() for u in rows], total, offset, limit)


_HANDOVER = ("units", "action", "to_party", "note", "customers")


@api_route(
    "/exits/<id:exit_id>/handovers",
    methods=("POST",),
    summary="Plan the handover of units, or record customers handed over",
    description='Units: `{"units": ["01/…/21/…"] or "all", "action": "return" | '
    '"handover", "to_party": "D-WEST", "note": "..."}` (`all`: every unit in custody '
    'without a plan; a handover names `to_party`). Customers: `{"customers": ["Café '
    'Lumière"], "to_party": "D-WEST"}`. The units move only by real scans: a planned '
    "unit stays in the custody list until the ledger shows it gone. Answers "
    "`{written, exit}`.",
    request_body=members.request_json(
        {
            "units": {
                "oneOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "string", "enum": ["all"]},
                ]
            },
            "action": {"type": "string", "enum": ["return", "handover"]},
            "to_party": {"type": "string"},
            "customers": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"},
        }
    ),
    responses={
        200: json_response("What was written, and the exit", _OBJECT),
        404: "No such exit",
        409: "The exit is completed or cancelled",
    },
    roles=MANAGERS,
    tags=("exits",),
)
def exit_handovers(exit_id: int) -> ResponseReturnValue:
    body = json_body()
    members.known(body, _HANDOVER)
    engine, actor = get_engine(), current_actor()
    note = members.text(body, "note") or ""
    to_party = members.text(body, "to_party")
    if "customers" in body:
        if "units" in body or "action" in body:
            abort(400, "$.customers goes without units and action: send them apart")
        customers = members.strings(body, "customers") or []
        written = _call(
            lambda: ex.record_customers(
                engine,
                exit_id,
                actor,
                customers=customers,
                to_party_code=to_party or "",
                note=note,
            )
        )
    else:
        raw = body.get("units")
        if raw is None:
            abort(400, '$.units is required (a list of unit keys, or "all")')
        units = None if raw == "all" else members.strings(body, "units")
        action = members.text(body, "action", required=True) or ""
        written = _call(
            lambda: ex.record_handover(
                engine,
                exit_id,
                actor,
                units=units,
                action=action,
                to_party_code=to_party,
                note=note,
            )
        )
    return jsonify(written=written, exit=_detail(exit_id))


@api_route(
    "/exits/<id:exit_id>/final-settlement",
    methods=("POST",),
    summary="Settle the exit: the final run of a month and the deposit",
    description='Body `{"period": "2026-12"}` (a month on or after the exit started). '
    "If the month is settled by a posted final run, the deposit is refunded minus what "
    "the party owes and the exit is settled; otherwise the month's final run is created "
    "as a draft (or the pending one recorded) and the answer says it waits "
    '(`"settled": false`): approve and post the run, then call again. Finance only.',
    request_body=members.request_json(
        {"period": {"type": "string", "pattern": r"^\d{4}-\d{2}$"}}, ("period",)
    ),
    responses={
        200: json_response("Where the final settlement stands", _OBJECT),
        404: "No such exit",
        409: "The exit is no longer in its buffer",
        422: "The run cannot be computed (what to import is named)",
    },
    roles=SETTLERS,
    tags=("exits",),
)
def exit_final_settlement(exit_id: int) -> ResponseReturnValue:
    body = json_body()
    members.known(body, ("period",))
    period = members.text(body, "period", required=True) or ""
    result = _call(lambda: xs.final_settlement(get_engine(), exit_id, period, current_actor()))
    return jsonify(result.as_json())


@api_route(
    "/exits/<id:exit_id>/complete",
    methods=("POST",),
    summary="Complete the exit: agreements terminated, grants ended, party terminated",
    description='Body `{}` or `{"completed_on": "2027-06-01"}` (default today). Refused '
    "(409, the missing step named) while the buffer runs, while a unit in custody has no "
    "handover plan, or before the final settlement.",
    request_body=members.request_json({"completed_on": {"type": "string", "format": "date"}}),
    responses={
        200: json_response("The completed exit", _OBJECT),
        404: "No such exit",
        409: "A step is missing",
    },
    roles=MANAGERS,
    tags=("exits",),
)
def exit_complete(exit_id: int) -> ResponseReturnValue:
    body = json_body()
    members.known(body, ("completed_on",))
    on = members.text(body, "completed_on")
    _call(lambda: ex.complete_exit(get_engine(), exit_id, current_actor(), completed_on=on))
    return jsonify(_detail(exit_id))


@api_route(
    "/exits/<id:exit_id>/cancel",
    methods=("POST",),
    summary="Cancel an exit still in its buffer",
    description='Body `{"reason": "..."}`: the party is back to its status before the exit.',
    request_body=members.request_json({"reason": {"type": "string"}}, ("reason",)),
    responses={
        200: json_response("The cancelled exit", _OBJECT),
        404: "No such exit",
        409: "The exit is no longer in its buffer",
    },
    roles=MANAGERS,
    tags=("exits",),
)
def exit_cancel(exit_id: int) -> ResponseReturnValue:
    body = json_body()
    members.known(body, ("reason",))
    reason = members.text(body, "reason", required=True) or ""
    _call(lambda: ex.cancel_exit(get_engine(), exit_id, current_actor(), reason=reason))
    return jsonify(_detail(exit_id))
