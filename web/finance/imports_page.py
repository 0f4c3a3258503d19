"""Importing a file of reference data from the browser: the same ``import_file`` as
``hopchain import KIND FILE [--dry-run]``. Finance picks a kind, uploads CSV or XLSX
(JSON or YAML for programs) and may ask for a dry run; the page shows what was (or
would be) created, updated and left unchanged, or every problem as a table of row,
column and what is wrong, in which case nothing was stored."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

import settlement
from settlement.import_tables import ImportRejected
from web.db import get_engine
from web.finance._common import EDITORS, FormState, render_page
from web.security import require_roles
from web.settlement_access import current_actor

__all__ = ["IMPORT_KINDS", "bp"]

bp = Blueprint("imports", __name__, url_prefix="/finance/import")

#: What can be imported, as the form offers it: kind -> (label, what the file holds).
IMPORT_KINDS: dict[str, tuple[str, str]] = {
    "prices": ("Prices", "gtin, currency, valid_from, list_price (CSV or Excel)"),
    "fx": (
        "FX rates",
        "period, currency, reporting_currency, rate, source, or the ECB reference-rate CSV as "
        "published",
    ),
    "programs": ("Program version", "a program document in JSON or YAML"),
    "targets": ("Sales targets", "party, period and units or value (CSV or Excel)"),
    "deposits": ("Deposit receipts and refunds", "CSV or Excel"),
    "adjustments": ("Adjustments", "CSV or Excel; each waits for a second finance user"),
    "payments": ("Payments received", "CSV or Excel"),
    "billing": ("Billing details", "legal name, address, IBAN and BIC per party"),
}


def _page(
    form: FormState, *, report: object = None, problems: object = (), status: int = 200
) -> ResponseReturnValue:
    return render_page(
        "finance/import.html",
        status,
        form=form,
        kinds=IMPORT_KINDS,
        report=report,
        problems=problems,
    )


@bp.get("/")
@require_roles(*EDITORS)
def index() -> ResponseReturnValue:
    kind = request.args.get("kind", "prices")
    return _page(
        FormState(values={"kind": kind if kind in IMPORT_KINDS else "prices", "dry_run": "1"})
    )


@bp.post("/")
@require_roles(*EDITORS)
def upload() -> ResponseReturnValue:
    form = FormState(
        values={"kind": request.form.get("kind", ""), "dry_run": request.form.get("dry_run", "")}
    )
    kind = form.values["kind"]
    if kind not in IMPORT_KINDS:
        form.errors["kind"] = "kind: choose what the file holds"
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    if upload is None or not upload.filename:
        form.errors["file"] = "file: choose a file to import"
    elif not data:
        form.errors["file"] = f"file: {upload.filename} is empty"
    if form.failed or upload is None:
        return _page(form, status=422)
    try:
        report = settlement.import_file(
            get_engine(), kind, upload.filename or "upload", data, current_actor(),
            dry_run=bool(form.values["dry_run"]),
        )  # fmt: skip
    except ImportRejected as exc:
        form.problem = (
            f"{upload.filename} was not imported: nothing was stored. "
            "Correct these rows and upload it again."
        )
        return _page(form, problems=exc.problems, status=422)
    except settlement.SettlementError as exc:
        form.problem = f"{upload.filename} was not imported: {exc}"
        return _page(form, status=422)
    return _page(form, report=report)
