"""Reference data at a glance, and its audit trail: a page linking every kind finance
keeps (prices, FX rates, programs, targets, deposits, adjustments, billing details)
and the history of changes, filterable by kind and key, each change shown as who,
when, from where and every field before -> after."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

import settlement
from web.finance._common import READERS, FormState, money_text, render_page, service_page
from web.security import require_roles

__all__ = [
    "HISTORY_ACTIONS",
    "HISTORY_FIELDS",
    "HISTORY_KINDS",
    "ShownChange",
    "bp",
    "change_fields",
]

bp = Blueprint("reference", __name__, url_prefix="/finance/reference")

#: The kinds the audit trail records, as the history filter offers them.
#: (``settlement.reference_audit.record_change``'s ``kind``, its words).
HISTORY_KINDS: tuple[tuple[str, LazyString], ...] = (
    ("prices", _l("Prices")),
    ("products", _l("Products")),
    ("fx", _l("FX rates")),
    ("programs", _l("Programs")),
    ("targets", _l("Targets")),
    ("deposits", _l("Deposits")),
    ("deposit-agreements", _l("Deposit agreements")),
    ("adjustments", _l("Adjustments")),
    ("payments", _l("Payments")),
    ("billing", _l("Billing details")),
    ("disputes", _l("Statement disputes")),
    ("parties", _l("Document language")),
    ("payment_file", _l("Payment files")),
)

#: The actions the audit trail records (``record_change``'s ``action``), in words.
HISTORY_ACTIONS: dict[str, LazyString] = {
    "create": _l("created"),
    "update": _l("changed"),
    "approve": _l("approved"),
    "reject": _l("rejected"),
    "receipt": _l("receipt booked"),
    "refund": _l("refund booked"),
    "deduction": _l("deduction booked"),
    "topup-request": _l("top-up requested"),
    "topup-met": _l("top-up met"),
    "adjust": _l("adjusted"),
    "confirm": _l("statement confirmed"),
    "dispute": _l("lines disputed"),
    "export": _l("payment file exported"),
}

#: The fields of audited records (as :func:`change_fields` names them: ``_minor``
#: dropped, ``_`` as a space), in words; a field not listed is shown by its name.
HISTORY_FIELDS: dict[str, LazyString] = {
    "name": _l("name"),
    "list price": _l("list price"),
    "valid from": _l("valid from"),
    "valid to": _l("valid to"),
    "rules": _l("rules"),
    "amount": _l("amount"),
    "currency": _l("currency"),
    "date": _l("date"),
    "kind": _l("kind"),
    "status": _l("status"),
    "reason": _l("reason"),
    "note": _l("note"),
    "deadline": _l("deadline"),
    "rate": _l("rate"),
    "as of": _l("as of"),
    "units": _l("units"),
    "value": _l("value"),
    "measure": _l("measure"),
    "reference": _l("reference"),
    "received on": _l("received on"),
    "source": _l("source"),
    "legal name": _l("legal name"),
    "address": _l("address"),
    "iban": _l("IBAN"),
    "bic": _l("BIC"),
    "locale": _l("language"),
    "lines": _l("lines"),
    "dispute id": _l("dispute"),
}


@dataclass(frozen=True, slots=True)
class ShownChange:
    """One audited change as the history table shows it."""

    kind: str
    key: str
    action: str
    actor: str
    at_ms: int
    source: str
    fields: tuple[tuple[str, str | None, str | None], ...]  # (name, before, after)


def _text(value: Any, name: str, currency: str | None) -> str:
    """A stored value for people: money fields (``*_minor``) with their currency."""
    if name.endswith("_minor") and isinstance(value, int) and currency:
        return money_text(value, currency)
    if isinstance(value, str):
        return value
    if value is None:
        return "—"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _currency(kind: str, key: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """The currency of a change's money fields: the record's own ``currency``, or for
    prices the middle part of the key (``gtin|currency|valid_from``)."""
    for record in (new, old):
        if isinstance(record.get("currency"), str):
            return str(record["currency"])
    parts = key.split("|")
    return parts[1] if kind == "prices" and len(parts) == 3 else None


def change_fields(
    before: Any, after: Any, *, kind: str = "", key: str = ""
) -> tuple[tuple[str, str | None, str | None], ...]:
    """``(field, before, after)`` for each field a change of ``kind``/``key`` touched, as
    text; amounts in minor units (``*_minor``) read as money with their currency.

    ``before`` is ``None`` for a new row (every field of ``after`` is listed with no
    "before"); ``after`` is ``None`` for a removed one. Fields equal on both sides
    are left out. Values that are not JSON objects count as one field, ``value``.
    """
    old = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    new = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    ccy = _currency(kind, key, old, new)
    names = list(dict.fromkeys([*old, *new]))
    rows = []
    for name in names:
        if name in old and name in new and old[name] == new[name]:
            continue
        shown_before = _text(old[name], name, ccy) if before is not None and name in old else None
        shown_after = _text(new[name], name, ccy) if name in new else None
        rows.append((name.removesuffix("_minor").replace("_", " "), shown_before, shown_after))
    return tuple(rows)


@bp.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    return render_page("finance/reference.html")


@bp.get("/history")
@require_roles(*READERS)
def history() -> ResponseReturnValue:
    filters = FormState(
        values={k: request.args.get(k, "").strip() for k in ("kind", "key")},
    )
    kind = filters.values["kind"] or None
    key = filters.values["key"] or None
    kind_words = dict(HISTORY_KINDS)
    if kind is not None and kind not in kind_words:
        filters.errors["kind"] = gettext(
            "kind: %(value)s is not a kind the history records; choose one of the list",
            value=kind,
        )
        return render_page(
            "finance/history.html",
            changes=[],
            pager=None,
            filters=filters,
            kinds=HISTORY_KINDS,
            status=400,
        )
    changes, pager = service_page(settlement.reference_history, kind=kind, key=key)
    shown = [
        ShownChange(
            c.kind,
            c.key,
            c.action,
            c.actor,
            c.at_ms,
            c.source,
            tuple(
                (str(HISTORY_FIELDS.get(name, name)), before, after)
                for name, before, after in change_fields(c.before, c.after, kind=c.kind, key=c.key)
            ),
        )
        for c in changes
    ]
    return render_page(
        "finance/history.html",
        changes=shown,
        pager=pager,
        filters=filters,
        kinds=HISTORY_KINDS,
        kind_words=kind_words,
        action_words=HISTORY_ACTIONS,
    )
