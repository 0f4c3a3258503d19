"""One unit: custody and containment now, and its history (ours or EPCIS 2.0).

The manufacturer's channel managers, auditors, admins and warehouse staff see any
unit; a distributor sees a unit only if custody was handed to its party
(:mod:`ledger.access`), and any other unit answers 404 exactly like one that does
not exist (see :mod:`web.unit_views`).
"""

from __future__ import annotations

import re

from flask import Response, jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.exceptions import BadRequest

from ledger import InvalidIdentifierError, UnitNotFoundError
from scanners import export_history, history_entries
from web.api import api_route, json_response, query_int, query_param, query_str
from web.db import get_engine, get_session
from web.errors import refuse
from web.i18n import N_
from web.party_scope import custody_scope
from web.reasons import scan_reason_words
from web.roles import Role
from web.security import current_principal
from web.unit_views import UnitReport, load_unit, resolve_key

UNIT_ROLES = (Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN, Role.WAREHOUSE, Role.DISTRIBUTOR)

_STATUS_SCHEMA = {
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "state": {"type": "string"},
        "holder": {"type": ["string", "null"]},
        "bound_for": {"type": ["string", "null"]},
        "container": {"type": ["string", "null"]},
        "outermost_container": {"type": ["string", "null"]},
        "entries": {"type": "integer"},
        "head_seq": {"type": ["integer", "null"]},
        "contents": {"type": "array", "items": {"type": "string"}},
        "unit_count": {"type": "integer"},
    },
}
_KEY_DESCRIPTION = (
    "`01/{gtin14}/21/{serial}` or `00/{sscc18}` (a GS1 element string such as "
    "`(01)…(21)…` is accepted too)."
)


def only_party() -> str | None:
    """The party whose custody bounds what the caller reads (a distributor's, see
    :mod:`web.party_scope`); None for the manufacturer's staff."""
    return custody_scope(current_principal())


def _report(key: str) -> UnitReport:
    try:
        canonical = resolve_key(key)
        return load_unit(get_engine(), canonical, only_party=only_party())
    except InvalidIdentifierError as exc:
        refused = BadRequest(f"invalid unit key: {exc}")
        refused.localized = gettext(  # type: ignore[attr-defined]  # read by web.errors
            "invalid unit key: %(reason)s", reason=scan_reason_words(str(exc))
        )
        raise refused from exc
    except UnitNotFoundError:
        refuse(404, N_("no unit %(key)s in the ledger"), key=key)


@api_route(
    "/units/<path:key>",
    summary="A unit's custody and containment now",
    description=(
        f"The key is {_KEY_DESCRIPTION} State, holder, the party it is bound for, the "
        "case or pallet directly holding it and the outermost pallet; for an SSCC "
        "also everything packed in it now. A distributor sees only units handed "
        "to its party (shipped or returned to it by another party) and the cases "
        "it packed; any other unit answers 404 like one that does not exist."
    ),
    responses={
        200: json_response("The unit now", _STATUS_SCHEMA),
        400: "Not a valid unit key",
        404: "No such unit (or not visible to this distributor)",
    },
    roles=UNIT_ROLES,
    tags=("units",),
)
def unit(key: str) -> ResponseReturnValue:
    return jsonify(_report(key).status_json())


@api_route(
    "/units/<path:key>/history",
    summary="Every ledger entry of a unit, or its EPCIS 2.0 document",
    description=(
        f"The key is {_KEY_DESCRIPTION} Default: our JSON with the custody now and "
        "every entry (kind, time, party, counterparty, site, place, container, "
        "device, anomaly, `prev` and `leaf_hash`), oldest first, plus the tree size "
        "of the newest signed checkpoint (for inclusion proofs). `?format=epcis`: "
        "an EPCIS 2.0 JSON-LD document with one event per entry, which "
        "`POST /api/v1/epcis/capture` reads back; `&download=1` asks the browser to "
        "save it."
    ),
    params=(
        query_param("format", "string", enum=["json", "epcis"], default="json"),
        query_param("download", enum=[0, 1], default=0),
    ),
    responses={
        200: {
            "description": "The history",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/ld+json": {"schema": {"type": "object"}},
            },
        },
        400: "Not a valid unit key, or an unknown format",
        404: "No such unit (or not visible to this distributor)",
    },
    roles=UNIT_ROLES,
    tags=("units",),
)
def unit_history(key: str) -> ResponseReturnValue:
    fmt = query_str("format")
    report = _report(key)
    if fmt == "json":
        return jsonify(report.history_json())
    canonical = report.status.key
    document = export_history(canonical, history_entries(get_session(), canonical))
    response: Response = jsonify(document)
    response.mimetype = "application/ld+json"
    if query_int("download"):
        filename = "epcis-" + re.sub(r"[^A-Za-z0-9.-]", "_", canonical) + ".jsonld"
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
