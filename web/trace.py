"""Trace a unit: custody now, containment, every entry, hashes and proofs.

Accepts a canonical key, a GS1 Digital Link URL or whatever a scanner typed; the
same role and party rules as ``GET /api/v1/units/...`` (:mod:`web.unit_views`).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ledger import InvalidIdentifierError, UnitNotFoundError
from ledger.times import format_rfc3339
from web.api.units import UNIT_ROLES, only_party
from web.db import get_engine
from web.reasons import scan_reason_words
from web.security import require_roles
from web.unit_views import UnitReport, load_unit, resolve_key

__all__ = ["KIND_LABELS", "STATE_LABELS", "bp"]

bp = Blueprint("trace", __name__, url_prefix="/trace")

KIND_LABELS = {
    "commissioning": _l("Commissioned"),
    "packing": _l("Packed"),
    "unpacking": _l("Unpacked"),
    "shipping": _l("Shipped"),
    "receiving": _l("Received"),
    "retail_selling": _l("Sold"),
    "inspecting": _l("Inspected"),
    "returning": _l("Returned"),
    "decommissioning": _l("Decommissioned"),
}
#: A unit's custody state (:class:`ledger.custody.UnitState` values) in words.
STATE_LABELS = {
    "uncommissioned": _l("Never commissioned"),
    "in_stock": _l("In stock"),
    "in_transit": _l("In transit"),
    "sold": _l("Sold"),
    "decommissioned": _l("Decommissioned"),
}
MAX_CONTENTS_SHOWN = 200


@bp.get("/")
@require_roles(*UNIT_ROLES)
def unit() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()
    report: UnitReport | None = None
    problem = ""
    status = 200
    if query:
        try:
            report = load_unit(get_engine(), resolve_key(query), only_party=only_party())
        except InvalidIdentifierError as exc:
            problem = gettext("Not a unit: %(why)s", why=scan_reason_words(str(exc)))
            status = 400
        except UnitNotFoundError:
            problem, status = gettext("No unit %(key)s in the ledger.", key=query), 404
    return (
        render_template(
            "trace/unit.html",
            query=query,
            report=report,
            problem=problem,
            kind_labels=KIND_LABELS,
            state_labels=STATE_LABELS,
            rfc3339=format_rfc3339,
            max_contents=MAX_CONTENTS_SHOWN,
        ),
        status,
    )
