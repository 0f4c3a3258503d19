"""Party look-up for pickers: ``GET /api/v1/parties?q=PREFIX[&kind=KIND[,KIND...]]``.

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

__all__ = ["PARTY_KINDS", "PICKER_ROLES", "kinds_of"]

PICKER_ROLES = (Role.ADMIN, Role.CHANNEL_MANAGER, Role.FINANCE, Role.AUDITOR, Role.DISTRIBUTOR)
#: The kinds of party (:class:`ledger.models.Party` ``kind``) a picker may ask for.
PARTY_KINDS = ("distributor", "dealer", "retailer", "manufacturer", "inspector")
_KIND_LIST = "(?:{0})(?:,(?:{0}))*".format("|".join(PARTY_KINDS))
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
    "`kind` says otherwise (one kind or several, comma-separated: `kind=dealer,retailer`), "
    "by code. A distributor finds only its own party.",
    params=(
        query_param("q", "string", maxLength=64, description="Start of a code or a name."),
        query_param(
            "kind",
            "string",
            pattern=_KIND_LIST,
            maxLength=120,
            default="distributor",
            description="The kinds of party, comma-separated, each one of "
            + ", ".join(PARTY_KINDS)
            + " (default distributor).",
        ),
        query_param("limit", minimum=1, maximum=50, default=20, description="At most this many."),
    ),
    responses={200: json_response("Matching parties", _CHOICES)},
    roles=PICKER_ROLES,
    tags=("parties",),
)
def parties() -> ResponseReturnValue:
    limit = query_int("limit", 20) or 20
    found: list[settlement.PartyChoice] = []
    try:
        for kind in kinds_of(query_str("kind", "distributor") or "distributor"):
            found += settlement.search_parties(
                get_engine(), current_actor(), query_str("q", "") or "", kind=kind, limit=limit
            )
    except settlement.SettlementError as exc:
        abort_for(exc)
    found.sort(key=lambda p: p.code)
    return jsonify({"items": [dataclasses.asdict(p) for p in found[:limit]]})


def kinds_of(value: str) -> list[str]:
    """The distinct kinds named in ``value`` (``"dealer,retailer"``), in their order.

    ``value`` has passed the parameter's pattern (each name one of :data:`PARTY_KINDS`);
    each kind is searched on its own, the matches merged by code and cut to ``limit``.
    """
    return list(dict.fromkeys(k for k in value.split(",") if k))
