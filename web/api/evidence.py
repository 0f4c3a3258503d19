"""The evidence pack of one unit as a PDF a third party checks without an account.

``GET /api/v1/evidence?unit=KEY[&alert=ID|&suspect=ID]``: channel managers,
administrators and auditors for any unit; a distributor only for an alert whose
responsible party it is (and a unit in that alert's evidence). The pack itself is
:func:`sightings.evidence.evidence_pack`; docs/evidence-pack.md describes it.
"""

from __future__ import annotations

import time

from flask import Response, abort
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from ledger import CheckpointLockTimeout
from sightings.errors import SightingError, UnknownCode
from sightings.evidence import (
    EvidenceNotFound,
    EvidenceUnverifiable,
    distributor_may_read,
    evidence_pack,
)
from web.api import api_route, id_param, query_int, query_param, query_str
from web.db import get_engine
from web.errors import BadParameter, refuse
from web.i18n import N_, page_words
from web.roles import Role
from web.security import current_party_id, current_principal
from web.signing import get_signer

__all__ = ["evidence"]

READERS = (Role.CHANNEL_MANAGER, Role.ADMIN, Role.AUDITOR, Role.DISTRIBUTOR)


def _filename(key: str, alert: int | None, suspect: int | None) -> str:
    stem = key.replace("/", "-")
    if alert is not None:
        stem += f"-alert-{alert}"
    elif suspect is not None:
        stem += f"-suspect-{suspect}"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in f"evidence-{stem}.pdf")


@api_route(
    "/evidence",
    summary="The evidence pack of one unit (PDF with evidence.json attached)",
    description=(
        "A PDF about one unit, optionally about one alert (`alert`) or one suspected alert "
        "(`suspect`), not both: the unit's product, allocated distributor and zone, a map, "
        "its whole ledger history, public sightings, suspected alerts, inspections with "
        "their photos and signed records, and every entry's canonical bytes and RFC 9162 "
        "inclusion proof against one signed checkpoint (signed anew when the newest does "
        "not cover the unit). The same proofs, the checkpoint and the ledger's public key "
        "are attached as `evidence.json`, the photos as files of their own. Channel "
        "managers, administrators and auditors read any unit's pack; a distributor only "
        "one with `alert` naming an alert whose responsible party it is."
    ),
    params=(
        query_param(
            "unit",
            "string",
            required=True,
            maxLength=64,
            description="The unit's key: 01/{gtin14}/21/{serial} or 00/{sscc18}",
        ),
        id_param("alert", description="An alert with the unit among its findings"),
        id_param("suspect", description="A suspected alert about the unit"),
    ),
    responses={
        200: {
            "description": "The PDF (Content-Disposition names the file)",
            "content": {"application/pdf": {}},
        },
        400: "'unit' is not a unit key, both 'alert' and 'suspect' were given, or the "
        "alert or suspected alert is about other units; the answer names the parameter",
        403: "A distributor asked for a pack that is not about an alert of its own",
        404: "No such unit, alert or suspected alert",
        409: "The unit's ledger entries or inspection records do not verify "
        "(hopchain ledger verify names what changed)",
        503: "The ledger lock stayed busy while a checkpoint had to be signed; try again",
    },
    roles=READERS,
    tags=("ledger",),
)
def evidence() -> ResponseReturnValue:
    key = query_str("unit") or ""
    alert = query_int("alert")
    suspect = query_int("suspect")
    principal = current_principal()
    assert principal is not None  # api_route checked the role
    engine = get_engine()
    if principal.role == Role.DISTRIBUTOR and not distributor_may_read(
        engine, party_id=current_party_id(), alert_id=alert
    ):
        refuse(403, N_("a distributor may read the evidence pack of its own alerts only"))
    try:
        pdf = evidence_pack(
            engine,
            unit_key=key,
            alert_id=alert,
            suspect_id=suspect,
            signer=get_signer(),
            now_ms=int(time.time() * 1000),
            words=page_words(),
            generated_by=principal.name,
        )
    except (UnknownCode, EvidenceNotFound) as exc:
        refuse(404, exc.words, **exc.values)
    except EvidenceUnverifiable as exc:
        refuse(409, exc.words, **exc.values)
    except SightingError as exc:
        raise BadParameter(
            exc.field or "unit", str(exc), gettext(exc.words, **exc.values)
        ) from None
    except CheckpointLockTimeout as exc:  # a checkpoint had to be signed and could not
        abort(503, str(exc))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{_filename(key.strip().lstrip("/"), alert, suspect)}"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
