"""Importing a file of reference data from the browser: the same ``import_file`` as
``hopchain import KIND FILE [--dry-run]``. Finance picks a kind, uploads CSV or XLSX
(JSON or YAML for programs) and may ask for a dry run; the page shows what was (or
would be) created, updated and left unchanged, or every problem as a table of row,
column and what is wrong, in which case nothing was stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

import settlement
from risk.bank_import import import_file
from settlement import LAYOUTS
from settlement.imports import IMPORTERS
from web.db import get_engine
from web.finance._common import EDITORS, FormState, render_page
from web.reasons import problem_words, reason_words
from web.security import require_roles
from web.settlement_access import current_actor

__all__ = ["KIND_LABELS", "bp", "import_kinds"]

bp = Blueprint("imports", __name__, url_prefix="/finance/import")

#: How the form names each kind ``settlement.IMPORT_KINDS`` accepts.
KIND_LABELS: dict[str, str] = {
    "prices": _l("Prices"),
    "fx": _l("FX rates"),
    "programs": _l("Program version"),
    "targets": _l("Sales targets"),
    "deposits": _l("Deposit receipts and refunds"),
    "deposit-agreements": _l("Agreed deposit levels"),
    "adjustments": _l("Adjustments"),
    "payments": _l("Payments received"),
    "billing": _l("Billing details"),
    "party-locales": _l("Languages of parties' documents"),
}


def import_kinds() -> dict[str, tuple[str, str]]:
    """Each importable kind: (label, what the file holds), in the service's order and
    the request's language (column names as the file must write them)."""
    kinds = {}
    for kind in settlement.IMPORT_KINDS:
        if "finance" not in IMPORTERS.get(kind, ("finance",)):
            continue  # another role's file (parties: the partners' import page)
        columns = ", ".join(LAYOUTS.get(kind, ()))
        if kind == "programs":
            layout = gettext(
                "a program document in JSON or YAML (code, name, valid_from, valid_to, rules)"
            )
        elif kind == "fx":
            layout = gettext(
                "columns %(columns)s (CSV or Excel), or the ECB reference-rate CSV as published",
                columns=columns,
            )
        elif kind == "payments":
            layout = gettext(
                "columns %(columns)s (CSV or Excel), or a bank statement CSV (booking_date,"
                " value_date, amount, currency, counterparty_name, counterparty_iban, reference,"
                " remittance_information)",
                columns=columns,
            )
        else:
            layout = gettext("columns %(columns)s (CSV or Excel)", columns=columns)
        kinds[kind] = (KIND_LABELS.get(kind, kind), layout)
    return kinds


def _page(
    form: FormState,
    *,
    report: object = None,
    problems: Sequence[settlement.ImportProblem] = (),
    status: int = 200,
) -> ResponseReturnValue:
    """The page; each problem goes to the template with what is wrong in the reader's
    language (:func:`web.reasons.problem_words`)."""
    return render_page(
        "finance/import.html",
        status,
        form=form,
        kinds=import_kinds(),
        report=report,
        problems=[(p, problem_words(p)) for p in problems],
    )


@bp.get("/")
@require_roles(*EDITORS)
def index() -> ResponseReturnValue:
    kind = request.args.get("kind", "prices")
    return _page(
        FormState(
            values={"kind": kind if kind in settlement.IMPORT_KINDS else "prices", "dry_run": "1"}
        )
    )


@bp.post("/")
@require_roles(*EDITORS)
def upload() -> ResponseReturnValue:
    form = FormState.read(request.form, "kind", "dry_run")
    kind = form.values["kind"]
    if kind not in settlement.IMPORT_KINDS:
        form.errors["kind"] = gettext("kind: choose what the file holds")
    sent = request.files.get("file")
    data = sent.read() if sent is not None else b""
    if sent is None or not sent.filename:
        form.errors["file"] = gettext("file: choose a file to import")
    elif not data:
        form.errors["file"] = gettext("file: %(file)s is empty", file=sent.filename)
    if form.failed or sent is None:
        return _page(form, status=422)
    try:
        report: Any = import_file(
            get_engine(), kind, sent.filename or "upload", data, current_actor(),
            dry_run=bool(form.values["dry_run"]),
        )  # fmt: skip
    except settlement.ImportRejected as exc:
        form.problem = gettext(
            "%(file)s was not imported: nothing was stored. Correct these rows and upload it"
            " again.",
            file=sent.filename,
        )
        return _page(form, problems=exc.problems, status=422)
    except settlement.SettlementError as exc:
        form.problem = gettext(
            "%(file)s was not imported: %(reason)s", file=sent.filename, reason=reason_words(exc)
        )
        return _page(form, status=422)
    return _page(form, report=report)
