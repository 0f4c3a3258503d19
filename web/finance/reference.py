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

import settlement
from web.finance._common import READERS, FormState, money_text, render_page, service_page
from web.security import require_roles

__all__ = ["HISTORY_KINDS", "ShownChange", "bp", "change_fields"]

bp = Blueprint("reference", __name__, url_prefix="/finance/reference")

#: The kinds the audit trail records, as the history filter offers them.
HISTORY_KINDS = (
    ("prices", "Prices"),
    ("products", "Products"),
    ("fx", "FX rates"),
    ("programs", "Programs"),
    ("targets", "Targets"),
    ("deposits", "Deposits"),
    ("deposit-agreements", "Deposit agreements"),
    ("adjustments", "Adjustments"),
    ("payments", "Payments"),
    ("billing", "Billing details"),
)


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
    changes, pager = service_page(settlement.reference_history, kind=kind, key=key)
    shown = [
        ShownChange(
            c.kind,
            c.key,
            c.action,
            c.actor,
            c.at_ms,
            c.source,
            change_fields(c.before, c.after, kind=c.kind, key=c.key),
        )
        for c in changes
    ]
    return render_page(
        "finance/history.html",
        changes=shown,
        pager=pager,
        filters=filters,
        kinds=HISTORY_KINDS,
    )
