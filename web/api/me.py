"""Who the caller is, so a program can check its token and a page its session."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from web.api import api_route, json_response
from web.roles import ALL_ROLES
from web.security import current_principal

_ME_SCHEMA = {
    "type": "object",
    "required": ["kind", "name", "display_name", "role", "party"],
    "properties": {
        "kind": {"type": "string", "enum": ["user", "token"]},
        "name": {"type": "string"},
        "display_name": {"type": "string"},
        "role": {"type": "string", "enum": [r.value for r in ALL_ROLES]},
        "party": {
            "description": "The party the caller acts for; null for the manufacturer's staff.",
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "code": {"type": "string"}},
                },
            ],
        },
    },
}


@api_route(
    "/me",
    summary="The authenticated caller: name, role and party",
    responses={200: json_response("The caller", _ME_SCHEMA)},
    roles=ALL_ROLES,
    tags=("auth",),
)
def me() -> ResponseReturnValue:
    principal = current_principal()
    assert principal is not None  # guaranteed by roles=
    party = (
        None
        if principal.party_id is None
        else {"id": principal.party_id, "code": principal.party_code}
    )
    return {
        "kind": principal.kind,
        "name": principal.name,
        "display_name": principal.display_name,
        "role": principal.role.value,
        "party": party,
    }
