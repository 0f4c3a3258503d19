"""Party look-up for pickers: ``GET /api/v1/parties?q=PREFIX``.

The pages' party fields search as you type through it (``web/static/party_picker.js``);
programs may use it too. Channel managers, finance, auditors and admins find
every party; a distributor finds only itself (:mod:`settlement.party_search`).
"""

from __future__ import annotations

import dataclasses

from flask import jsonify
from flask.typing import ResponseReturnValue

import settlement
from web.api import api_route, json_response, query_int, query_param, query_str
from web.db import get_engine
from web.roles import Role
from web.settlement_access import abort_for, current_actor

__all__ = ["PICKER_ROLES"]

PICKER_ROLES = (Role.ADMIN, Role.CHANNEL_MANAGER, Role.FINANCE, Role.AUDITOR, Role.DISTRIBUTOR)
_CHOICES = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "kind": {"type": "string"},
                },
            },
        }
    },
}


@api_route(
    "/parties",
    summary="Parties whose code or name starts with q (a picker's suggestions)",
    description="Case-insensitive prefix of the code or the name, distributors only unless "
    "`kind` says otherwise, by code. A distributor finds only its own party.",
    params=(
        query_param("q", "string", maxLength=64, description="Start of a code or a name."),
        query_param(
            "kind",
            "string",
            enum=["distributor", "dealer", "retailer", "manufacturer", "inspector"],
            default="distributor",
            description="The kind of party (default distributor).",
        ),
        query_param("limit", minimum=1, maximum=50, default=20, description="At most this many."),
    ),
    responses={200: json_response("Matching parties", _CHOICES)},
    roles=PICKER_ROLES,
    tags=("parties",),
)
def parties() -> ResponseReturnValue:
    try:
        found = settlement.search_parties(
            get_engine(),
            current_actor(),
            query_str("q", "") or "",
            kind=query_str("kind", "distributor"),
            limit=query_int("limit", 20) or 20,
        )
    except settlement.SettlementError as exc:
        abort_for(exc)
    return jsonify({"items": [dataclasses.asdict(p) for p in found]})
