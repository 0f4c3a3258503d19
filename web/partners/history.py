"""Partner management's audit trail in words (issue 12): the one way every partner
page (party hub, agreement, exit, prospect) shows a :class:`partners.audit.EventView`.

The stored rows stay raw (``agreement.in_force`` with ``{"status": ["approved",
"signed"], "valid_from_ms": 1754006400000}``); a page shows each through the
``history`` filter (``{% set h = e|history %}``): one sentence per action from
:data:`ACTIONS` and the detail as readable parts, ``"Status: approved → signed"``
(a ``[old, new]`` pair), statuses, kinds and grounds in words (:data:`web.words.WORDS`
and the areas' word lists), ``*_ms`` times in the reader's time zone, booleans as
yes/no, empty values and internal row ids left out. An action or field without words
here is still shown readably (``_`` read as a space), never as a Python repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from web.i18n import N_, format_money, format_when
from web.words import WORDS

__all__ = [
    "ACTIONS",
    "ACTORS",
    "FIELDS",
    "HistoryLine",
    "actor_words",
    "basis_words",
    "history_line",
]

#: Every audit action of partners/*.py and risk/reviews.py, as one sentence.
ACTIONS: dict[str, str] = {
    "party.created": N_("Party created"),
    "party.updated": N_("Master data changed"),
    "party.status": N_("Status changed"),
    "party.address_added": N_("Address added"),
    "party.address_updated": N_("Address changed"),
    "party.address_removed": N_("Address removed"),
    "party.contact_added": N_("Contact added"),
    "party.contact_updated": N_("Contact changed"),
    "party.contact_removed": N_("Contact removed"),
    "agreement.drafted": N_("Agreement drafted"),
    "agreement.updated": N_("Agreement draft changed"),
    "agreement.submitted": N_("Agreement submitted for review"),
    "agreement.reviewed": N_("Agreement reviewed"),
    "agreement.signed": N_("Agreement signed"),
    "agreement.pdf": N_("Agreement document stored"),
    "agreement.in_force": N_("Agreement in force: territories granted, programs enrolled"),
    "agreement.in_force_ended": N_("Territories and programs of the agreement ended"),
    "agreement.superseded": N_("Agreement superseded"),
    "agreement.terminated": N_("Agreement terminated"),
    "agreement.reminded": N_("Renewal reminder raised"),
    "exit.started": N_("Exit started"),
    "exit.handover_planned": N_("Handover of units planned"),
    "exit.customers": N_("Customers handed over"),
    "exit.final_run": N_("Final run recorded"),
    "exit.settled": N_("Final settlement and deposit"),
    "exit.completed": N_("Exit completed"),
    "exit.cancelled": N_("Exit cancelled"),
    "prospect.created": N_("Prospect recorded"),
    "prospect.stage": N_("Stage changed"),
    "prospect.assigned": N_("Prospect assigned"),
    "prospect.scored": N_("Screening score entered"),
    "prospect.visited": N_("Site visit recorded"),
    "prospect.terms": N_("Terms proposed"),
    "prospect.signed": N_("Prospect signed"),
    "screening.weights": N_("Screening weights changed"),
    "acquisition.cost": N_("Acquisition cost recorded"),
    "trial.started": N_("Trial started"),
    "trial.admitted": N_("Trial: admitted"),
    "trial.ended": N_("Trial: ended"),
    "trial.extended": N_("Trial extended"),
    "interaction.recorded": N_("Interaction recorded"),
    "interaction.edited": N_("Interaction changed"),
    "task.done": N_("Task done"),
    "review.opened": N_("Class review opened"),
    "review.indicator": N_("Review indicator entered"),
    "review.confirmed": N_("Class review confirmed"),
    "review.weights": N_("Review weights changed"),
}

#: Detail members with their label (members not here are shown with ``_`` as a space).
FIELDS: dict[str, str] = {
    "status": N_("Status"),
    "reason": N_("Reason"),
    "note": N_("Note"),
    "code": N_("Code"),
    "name": N_("Name"),
    "legal_name": N_("Legal name"),
    "local_name": N_("Local name"),
    "kind": N_("Kind"),
    "country": N_("Country"),
    "city": N_("City"),
    "region": N_("Region"),
    "province": N_("Province"),
    "postal_code": N_("Postal code"),
    "street": N_("Street"),
    "line1": N_("Address"),
    "line2": N_("Address (continued)"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "email": N_("Email"),
    "phone": N_("Phone"),
    "role": N_("Role"),
    "title": N_("Title"),
    "primary": N_("Primary"),
    "time_zone": N_("Time zone"),
    "currency": N_("Currency"),
    "parent": N_("Parent"),
    "parent_id": N_("Parent"),
    "tax_id": N_("Tax number"),
    "website": N_("Website"),
    "source": N_("Source"),
    "number": N_("Number"),
    "amends": N_("Amends"),
    "by": N_("Replaced by"),
    "ground": N_("Ground"),
    "grounds": N_("Grounds"),
    "stage": N_("Stage"),
    "decision": N_("Decision"),
    "signed_on": N_("Signed on"),
    "document": N_("Document"),
    "size": N_("Size (bytes)"),
    "valid_from": N_("Valid from"),
    "valid_until": N_("Valid until"),
    "valid_to": N_("Valid until"),
    "starts_on": N_("Starts on"),
    "ends_on": N_("Ends on"),
    "ended_at": N_("Ended at"),
    "started_at": N_("Started at"),
    "territories": N_("Territories"),
    "programs": N_("Programs"),
    "days_left": N_("Days left"),
    "threshold": N_("Reminder threshold (days)"),
    "hard": N_("Hard exit"),
    "started_on": N_("Started on"),
    "buffer_ends_on": N_("Buffer ends on"),
    "buffer_days": N_("Buffer days"),
    "evidence": N_("Evidence"),
    "alert": N_("Alert"),
    "quarters": N_("Quarters"),
    "action": N_("Plan"),
    "to_party": N_("To party"),
    "units": N_("Units"),
    "first": N_("First units"),
    "customers": N_("Customers"),
    "completed_on": N_("Completed on"),
    "agreements": N_("Agreements"),
    "agreement": N_("Agreement"),
    "trial": N_("Trial"),
    "reference": N_("Reference"),
    "company_name": N_("Legal name"),
    "contact_name": N_("Contact"),
    "contact_email": N_("Email"),
    "contact_phone": N_("Phone"),
    "channel": N_("Channel"),
    "channel_detail": N_("Channel detail"),
    "owner": N_("Owner"),
    "due_on": N_("Due on"),
    "criterion": N_("Criterion"),
    "score": N_("Score"),
    "version": N_("Version"),
    "weights": N_("Weights"),
    "visited_on": N_("Visited on"),
    "visitor": N_("Visitor"),
    "photos": N_("Photos"),
    "period": N_("Period"),
    "amount": N_("Amount"),
    "amount_minor": N_("Amount (minor units)"),
    "happened_on": N_("Date"),
    "subject": N_("Subject"),
    "changes": N_("Changes"),
    "year": N_("Year"),
    "trigger": N_("Trigger"),
    "indicator": N_("Indicator"),
    "value": N_("Value"),
    "class": N_("Class"),
    "proposed": N_("Proposed class"),
    "party": N_("Party"),
    "outcome": N_("Outcome"),
    "territories_wanted": N_("Territories wanted"),
    "message": N_("Message"),
    "deposit_minor": N_("Deposit required"),
    "credit_limit_minor": N_("Credit limit"),
    "payment_terms_days": N_("Payment terms (days)"),
    "notes": N_("Notes"),
    "terminated_on": N_("Terminated on"),
    "notice_on": N_("Notice given on"),
    "cure_by": N_("Cure deadline"),
    "refund_minor": N_("Deposit refunded"),
    "owed_minor": N_("Owed"),
    "deducted_minor": N_("Deducted from the deposit"),
    "run": N_("Settlement run"),
    "run_id": N_("Settlement run"),
    "order_cap_units": N_("Order cap (units)"),
    "used_units": N_("Units ordered"),
    "quarter": N_("Quarter"),
    "held_minor": N_("Deposit held"),
    "refunded_minor": N_("Deposit refunded"),
    "still_owed_minor": N_("Still owed"),
}

#: Row ids and checksums: meaningless to a reader, left out of the details.
_HIDDEN = frozenset(
    {
        "id",
        "owner_user_id",
        "exit",
        "task",
        "interaction",
        "review",
        "visit",
        "sha256",
        "trial_id",
        "prospect",
    }
)

#: The member of the value words that carries an event's currency (for ``*_minor``).
_CURRENCY = "\x00currency"

#: Actors that are no user: the public form, the system.
ACTORS: dict[str, str] = {
    "applicant": N_("the applicant (public application form)"),
    "system": N_("system"),
}


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One audit row in words: ``sentence`` (the action), ``details`` (readable
    parts, one per detail member shown), ``actor``, ``when`` (reader's zone) and
    ``summary`` (the details joined)."""

    sentence: str
    details: tuple[str, ...]
    actor: str
    when: str
    #: the details as one text, parted the way the reader's language parts them
    summary: str


#: How parts of a detail and items of a list are joined (``；`` and ``、`` in Chinese).
_PARTS = N_("%(done)s; %(next)s")
_LIST = N_("%(done)s, %(next)s")


def _joined(parts: list[str], pattern: str) -> str:
    out = ""
    for part in (p for p in parts if p):
        out = _say(pattern) % {"done": out, "next": part} if out else part
    return out


def _say(label: Any) -> str:
    return str(gettext(label)) if isinstance(label, str) else str(label)


def _area_words() -> dict[str, Mapping[str, Any]]:
    """Value words by detail member, from the areas' own lists (imported here: the
    page modules import this one)."""
    from web.partners import _recruit, agreements, crm, evaluation, exits

    return {
        "reason": exits.REASON_WORDS,
        "action": exits.ACTION_WORDS,
        "stage": {**_recruit.STAGE_WORDS, **agreements.STAGE_WORDS},
        "decision": agreements.DECISION_WORDS,
        "channel": _recruit.CHANNEL_WORDS,
        "source": _recruit.SOURCE_WORDS,
        "criterion": _recruit.CRITERION_WORDS,
        "ground": agreements.GROUND_WORDS,
        "grounds": agreements.GROUND_WORDS,
        "indicator": evaluation.INDICATOR_WORDS,
        "trigger": evaluation.KIND_WORDS,
        "kind": {**crm.KIND_WORDS, **agreements.KIND_WORDS, **_recruit.KIND_WORDS},
    }


def _label(key: str) -> str:
    if key in FIELDS:
        return _say(FIELDS[key])
    if key.endswith("_ms"):
        return _label(key[:-3])
    if key.endswith("_minor") and key[: -len("_minor")] in FIELDS:
        return _say(FIELDS[key[: -len("_minor")]])
    return key.replace("_", " ")


def _value(key: str, value: Any, area: Mapping[str, Mapping[str, Any]]) -> str:
    """``value`` of member ``key`` in words; "" when there is nothing to show."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, bool):
        return _say(N_("yes") if value else N_("no"))
    if key.endswith("_ms") and isinstance(value, int):
        return format_when(value)
    currency = area.get(_CURRENCY, {}).get("code")
    if key.endswith("_minor") and isinstance(value, int) and isinstance(currency, str):
        return format_money(value, currency)
    if isinstance(value, list | tuple):
        return _joined([_value(key, v, area) for v in value], _LIST)
    if isinstance(value, dict):
        return _joined([_part(k, v, area) for k, v in value.items()], _PARTS)
    if isinstance(value, str):
        own = area.get(key, {})
        if value in own:
            return _say(own[value])
        if value in WORDS:
            return _say(WORDS[value])
        if key in {"reason", "note"}:
            return _service_text(value, area)
    return str(value)


def _service_text(text: str, area: Mapping[str, Mapping[str, Any]]) -> str:
    """A reason or note the services write themselves (``partners.exits``: ``exit 3:
    strategy_change``, ``exit 3 completed``) in words; a person's own text as it is."""
    import re

    m = re.fullmatch(r"exit (\d+): ([a-z_]+)", text)
    if m:
        reason = area["reason"].get(m[2])
        words = _say(reason) if reason is not None else m[2].replace("_", " ")
        return _say(N_("exit %(exit)s: %(reason)s")) % {"exit": m[1], "reason": words}
    m = re.fullmatch(r"exit (\d+) (completed|cancelled)", text)
    if m:
        label = (
            N_("exit %(exit)s completed") if m[2] == "completed" else N_("exit %(exit)s cancelled")
        )
        return _say(label) % {"exit": m[1]}
    return text


def _part(key: str, value: Any, area: Mapping[str, Mapping[str, Any]]) -> str:
    """``"Label: value"``, ``"Label: old → new"`` for a change, "" for nothing."""
    if key in _HIDDEN:
        return ""
    if isinstance(value, list) and len(value) == 2 and _is_change(key, value):
        old, new = (_value(key, v, area) or "—" for v in value)
        return _say(N_("%(label)s: %(old)s → %(new)s")) % {
            "label": _label(key),
            "old": old,
            "new": new,
        }
    shown = _value(key, value, area)
    return (
        _say(N_("%(label)s: %(value)s")) % {"label": _label(key), "value": shown} if shown else ""
    )


def _is_change(key: str, value: list[Any]) -> bool:
    # a pair of scalars is an edit's [old, new] (partners.audit.changes); lists of
    # codes (territories, quarters) hold more than two or are named here
    if all(isinstance(v, list) for v in value):
        return True  # an edit of a list: [old codes, new codes]
    if key in {"territories", "programs", "quarters", "first", "customers", "agreements"}:
        return False
    return all(not isinstance(v, list | dict) for v in value)


def actor_words(name: str) -> str:
    """The actor's name, or words for an actor that is no user (``applicant``)."""
    return _say(ACTORS[name]) if name in ACTORS else name


def history_line(event: Any) -> HistoryLine:
    """``event`` (a :class:`partners.audit.EventView` or anything with ``action``,
    ``detail``, ``actor_name`` and ``at_ms``) in the request's language."""
    action = str(event.action)
    if action in ACTIONS:
        sentence = _say(ACTIONS[action])
    else:
        sentence = action.replace(".", ": ", 1).replace("_", " ")
    detail = dict(event.detail) if isinstance(event.detail, dict) else {}
    if "from" in detail and "to" in detail:  # a prospect's stage step
        detail["stage"] = [detail.pop("from"), detail.pop("to")]
    area = _area_words()
    if isinstance(detail.get("currency"), str):
        area = {**area, _CURRENCY: {"code": detail["currency"]}}
    parts = tuple(p for p in (_part(k, v, area) for k, v in sorted(detail.items())) if p)
    return HistoryLine(
        sentence,
        parts,
        actor_words(event.actor_name),
        format_when(event.at_ms),
        _joined(list(parts), _PARTS),
    )


# --------------------------------------------------------------- review basis

_BASIS = (
    ("not entered", N_("not entered")),
    ("nothing sold in", N_("nothing sold in")),
    ("no receipts", N_("no receipts")),
    ("no target set: neutral", N_("no target set: neutral")),
    ("no sales a year before: neutral", N_("no sales a year before: neutral")),
)


def basis_words(basis: str) -> str:
    """A review or scorecard indicator's basis (``risk.reviews``, ``settlement.scorecard``
    write it in English) in the request's language; a manager's own note as it is."""
    import re

    for english, label in _BASIS:
        if basis == english:
            return _say(label)
    m = re.fullmatch(r"no scorecard in (\d{4})", basis)
    if m:
        return _say(N_("no scorecard in %(year)s")) % {"year": m[1]}
    m = re.fullmatch(r"scorecard (\S+): (.*)", basis, re.S)
    if m:
        return _say(N_("scorecard %(quarter)s: %(basis)s")) % {
            "quarter": m[1],
            "basis": basis_words(m[2]),
        }
    m = re.fullmatch(r"mean of scorecards (.*)", basis)
    if m:
        return _say(N_("mean of scorecards %(quarters)s")) % {"quarters": m[1]}
    m = re.fullmatch(r"(-?\d+) of target (-?\d+) units", basis)
    if m:
        return _say(N_("%(net)s of target %(target)s units")) % {"net": m[1], "target": m[2]}
    m = re.fullmatch(r"(-?\d+) vs (-?\d+) a year before", basis)
    if m:
        return _say(N_("%(now)s against %(before)s a year before")) % {"now": m[1], "before": m[2]}
    m = re.fullmatch(r"(\d+) confirmed diversion alerts", basis)
    if m:
        return _say(N_("%(n)s confirmed diversion alerts")) % {"n": m[1]}
    m = re.fullmatch(r"(\d+) of (\d+) units returned", basis)
    if m:
        return _say(N_("%(returned)s of %(sold)s units returned")) % {
            "returned": m[1],
            "sold": m[2],
        }
    m = re.fullmatch(r"(\d+) of (\d+) receipts within (\d+) h", basis)
    if m:
        return _say(N_("%(timely)s of %(all)s receipts within %(hours)s h")) % {
            "timely": m[1],
            "all": m[2],
            "hours": m[3],
        }
    return basis
