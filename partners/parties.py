"""Parties as master data (issue 12): create, edit, change status, read and list
distributors, sub-distributors, dealers, retailers and inspectors, with their
addresses and contacts.

A party is a :class:`ledger.models.Party` row; its addresses and contacts are
:class:`partners.models.PartyAddress` / :class:`partners.models.PartyContact`.
Every change writes a :class:`partners.models.PartnerEvent` (``party.created``,
``party.updated`` with ``{field: [old, new]}``, ``party.status``,
``party.address_added``...) in the same transaction (:mod:`partners.audit`).

Kinds and parents (the channel structure of the channel rules, seed 003: the
manufacturer's national agents, regional distributors under them, dealer chains
under a distributor):

============ =========================================== ===========
kind         parent                                      parent is
============ =========================================== ===========
distributor  none or the manufacturer (a national agent), optional
             a distributor (a regional / sub-distributor)
dealer       a distributor                               required
retailer     a distributor or a dealer                   optional
inspector    none or the manufacturer                    optional
============ =========================================== ===========

``manufacturer`` is not created here (there is one, made by ``hopchain demo`` or
the installation). A parent chain never loops back on itself.

Statuses and the transitions :func:`set_status` allows (:data:`TRANSITIONS`)::

    prospect -> trial -> active <-> suspended
    trial | active | suspended -> exiting -> terminated
    exiting -> trial | active | suspended   (an exit cancelled in its buffer returns
                                             the party to where it was)
    trial -> terminated          (a trial ended without admission)

``terminated`` is final. While the party has an open exit (a
:class:`partners.models.PartnerExit` in ``buffer`` or ``settled``) it leaves
``exiting`` only through that exit (``partners.exits.cancel_exit`` or
``complete_exit``, which close the exit first), so a status change on the party's
page cannot leave an exit open behind it. A new party starts as ``prospect``, ``trial``, ``active``
(the default) or ``suspended`` (:data:`INITIAL_STATUSES`); ``exiting`` and
``terminated`` come only through a transition (the exit workflow).

Who may act: ``partner_manager`` and ``admin`` write; ``finance``,
``channel_manager`` and ``auditor`` read every party; a ``distributor`` reads only
its own party. Refusals are :class:`partners.errors.PartnerDenied`; bad values
:class:`partners.values.InvalidField` naming the field; a missing party
:class:`partners.errors.PartnerNotFound`; a forbidden transition
:class:`partners.errors.PartnerStateError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session, aliased

from ledger.models import Party
from partners.audit import EventView, changes, event_view, history, record
from partners.errors import Acting, PartnerDenied, PartnerNotFound, PartnerStateError, require
from partners.models import PartnerEvent, PartnerExit, PartyAddress, PartyContact
from partners.values import (
    InvalidField,
    check_choice,
    check_code,
    check_coordinate,
    check_country,
    check_currency,
    check_email,
    check_locale,
    check_phone,
    check_text,
    check_time_zone,
)

__all__ = [
    "ADDRESS_KINDS",
    "EDITABLE",
    "INITIAL_STATUSES",
    "KINDS",
    "MASTER_DATA_ACTIONS",
    "PARENT_KINDS",
    "PARENT_REQUIRED",
    "READERS",
    "STATUSES",
    "TRANSITIONS",
    "WRITERS",
    "AddressInput",
    "AddressView",
    "ContactInput",
    "ContactView",
    "PartyDetail",
    "PartyInput",
    "PartyPage",
    "PartyView",
    "add_address",
    "add_contact",
    "add_contact_in",
    "check_contact_input",
    "check_party_input",
    "create_party",
    "create_party_in",
    "get_party",
    "page_history",
    "page_parties",
    "party_by_code",
    "party_history",
    "remove_address",
    "remove_contact",
    "set_status",
    "set_status_in",
    "update_address",
    "update_contact",
    "update_party",
    "update_party_in",
]

#: Kinds of party that can be created (``manufacturer`` cannot).
KINDS: tuple[str, ...] = ("distributor", "dealer", "retailer", "inspector")
#: Every status of a party, in the order of a relationship.
STATUSES: tuple[str, ...] = ("prospect", "trial", "active", "suspended", "exiting", "terminated")
#: Statuses a party may be created with.
INITIAL_STATUSES: tuple[str, ...] = ("prospect", "trial", "active", "suspended")
#: The statuses each status may change to (:func:`set_status`).
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "prospect": ("trial",),
    "trial": ("active", "exiting", "terminated"),
    "active": ("suspended", "exiting"),
    "suspended": ("active", "exiting"),
    "exiting": ("trial", "active", "suspended", "terminated"),
    "terminated": (),
}
#: The kinds a party of each kind may have as its parent.
PARENT_KINDS: Mapping[str, tuple[str, ...]] = {
    "distributor": ("manufacturer", "distributor"),
    "dealer": ("distributor",),
    "retailer": ("distributor", "dealer"),
    "inspector": ("manufacturer",),
}
#: Kinds that cannot be without a parent.
PARENT_REQUIRED: frozenset[str] = frozenset({"dealer"})
#: Kinds of address.
ADDRESS_KINDS: tuple[str, ...] = ("registered", "billing", "warehouse", "office", "shop")

WRITERS = ("partner_manager", "admin")
READERS = ("partner_manager", "admin", "finance", "channel_manager", "auditor")
#: The fields :func:`update_party` may change (``code`` never changes; ``status``
#: changes through :func:`set_status`).
EDITABLE: tuple[str, ...] = (
    "name",
    "local_name",
    "kind",
    "country",
    "currency",
    "time_zone",
    "parent",
    "locale",
)


# ------------------------------------------------------------------ inputs and views


@dataclass(frozen=True, slots=True)
class PartyInput:
    """A new party as a person or a file gives it: text as typed, checked on create.

    ``name`` is the legal name, ``local_name`` the name in the partner's own script;
    ``country`` ISO 3166-1 alpha-2, ``currency`` ISO 4217, ``time_zone`` IANA
    (empty: none), ``parent`` a stored party's code (empty: none), ``locale`` the
    language of its documents (``en``, ``zh_Hans_CN``, ``es``; empty: the default).
    """

    code: str
    name: str
    kind: str
    country: str
    currency: str
    local_name: str = ""
    time_zone: str = ""
    parent: str = ""
    locale: str = ""
    status: str = "active"


@dataclass(frozen=True, slots=True)
class PartyView:
    """A party's master data (``parent``: the parent's code, None without one)."""

    id: int
    code: str
    name: str
    local_name: str
    kind: str
    country: str | None
    currency: str
    time_zone: str | None
    parent: str | None
    locale: str | None
    status: str


@dataclass(frozen=True, slots=True)
class AddressInput:
    """An address as typed; ``lat``/``lon`` decimal degrees (empty: unknown)."""

    kind: str
    line1: str
    city: str
    country: str
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    lat: str = ""
    lon: str = ""


@dataclass(frozen=True, slots=True)
class AddressView:
    """A stored address; coordinates in integer micro-degrees (None: unknown)."""

    id: int
    kind: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    lat_e6: int | None
    lon_e6: int | None


@dataclass(frozen=True, slots=True)
class ContactInput:
    """A contact person as typed; ``language`` a document language (empty: the party's)."""

    name: str
    role: str = ""
    email: str = ""
    phone: str = ""
    language: str = ""
    primary: bool = False


@dataclass(frozen=True, slots=True)
class ContactView:
    id: int
    name: str
    role: str
    email: str
    phone: str
    language: str
    primary: bool


@dataclass(frozen=True, slots=True)
class PartyDetail:
    """One party with what its page shows: parent, number of children, addresses,
    contacts (primary first)."""

    party: PartyView
    parent: PartyView | None
    children: int
    addresses: tuple[AddressView, ...]
    contacts: tuple[ContactView, ...]


@dataclass(frozen=True, slots=True)
class PartyPage:
    """A page of :func:`page_parties`: the rows, how many match in all, and how many
    parties match the other filters in each status (every status present, 0 too)."""

    rows: tuple[PartyView, ...]
    total: int
    by_status: Mapping[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------ checks


@dataclass(frozen=True, slots=True)
class _Clean:
    code: str
    name: str
    local_name: str
    kind: str
    country: str
    currency: str
    time_zone: str | None
    parent: str
    locale: str | None
    status: str


def check_party_input(data: PartyInput) -> tuple[_Clean | None, list[InvalidField]]:
    """Check every field of ``data`` that needs no database (codes, names, kind,
    country, currency, time zone, locale, status): the clean values, or None and
    every problem (one :class:`InvalidField` per bad field, in field order)."""
    problems: list[InvalidField] = []

    def take(check: Any, *args: Any, **kw: Any) -> Any:
        try:
            return check(*args, **kw)
        except InvalidField as exc:
            problems.append(exc)
            return None

    code = take(check_code, data.code)
    name = take(check_text, data.name, "name")
    local_name = take(check_text, data.local_name, "local_name", required=False)
    kind = take(check_choice, data.kind, "kind", KINDS)
    country = take(check_country, data.country)
    currency = take(check_currency, data.currency)
    time_zone = take(check_time_zone, data.time_zone)
    parent = data.parent.strip()
    if parent:
        take(check_code, parent, "parent")
    locale = take(check_locale, data.locale)
    status = take(check_choice, data.status or "active", "status", INITIAL_STATUSES)
    if problems:
        return None, problems
    return (
        _Clean(code, name, local_name, kind, country, currency, time_zone, parent, locale, status),
        [],
    )


def party_by_code(s: Session, code: str, *, field_name: str | None = None) -> Party:
    """The party ``code`` in ``s``; :class:`PartnerNotFound` when there is none, or
    :class:`~partners.values.InvalidField` on ``field_name`` when the code was given
    in that input field."""
    party = s.scalar(select(Party).where(Party.code == code))
    if party is None:
        if field_name is not None:
            raise InvalidField.said(
                "party_unknown_field",
                "there is no party with code %(code)s",
                field=field_name,
                code=repr(code),
            )
        raise PartnerNotFound.said("no_party", "there is no party %(party)s", party=code)
    return party


def _check_parent(s: Session, kind: str, parent_code: str, party_id: int | None) -> Party | None:
    """The parent row a party of ``kind`` may have (None for no parent); refuses a
    parent of the wrong kind, a missing required one and a loop (``party_id``'s own
    descendant as its parent)."""
    if not parent_code:
        if kind in PARENT_REQUIRED:
            raise InvalidField.said(
                "parent_required",
                "a %(kind)s needs a parent of kind %(kinds)s",
                field="parent",
                kind=kind,
                kinds=" or ".join(PARENT_KINDS[kind]),
            )
        return None
    parent = party_by_code(s, parent_code, field_name="parent")
    if parent.kind not in PARENT_KINDS[kind]:
        raise InvalidField.said(
            "parent_kind",
            "%(parent)s is a %(parent_kind)s; the parent of a %(kind)s is a %(kinds)s",
            field="parent",
            parent=parent.code,
            parent_kind=parent.kind,
            kind=kind,
            kinds=" or ".join(PARENT_KINDS[kind]),
        )
    if party_id is not None:
        seen = set()
        at: int | None = parent.id
        while at is not None and at not in seen:
            if at == party_id:
                raise InvalidField.said(
                    "parent_cycle",
                    "%(parent)s is below this party; a party cannot be its own ancestor",
                    field="parent",
                    parent=parent.code,
                )
            seen.add(at)
            at = s.scalar(select(Party.parent_id).where(Party.id == at))
    return parent


def _can_write(actor: Acting, action: str) -> None:
    require(actor, *WRITERS, action=action)


def _can_read(actor: Acting, party_id: int | None = None) -> None:
    """Readers see every party; a distributor only its own (``party_id``; for a list,
    pass None and filter to its own party)."""
    if actor.role in READERS:
        return
    own = actor.role == "distributor" and actor.party_id is not None
    if own and (party_id is None or party_id == actor.party_id):
        return
    raise PartnerDenied.said(
        "party_read_denied",
        "%(user)s (%(role)s) may not see this party",
        user=actor.username,
        role=actor.role,
    )


def _view(p: Party, parent_code: str | None) -> PartyView:
    return PartyView(
        p.id, p.code, p.name, p.local_name, p.kind, p.country, p.currency, p.time_zone,
        parent_code, p.locale, p.status,
    )  # fmt: skip


def _state(p: Party, parent_code: str | None) -> dict[str, Any]:
    """The editable fields of a stored party as audit details show them."""
    return {
        "name": p.name,
        "local_name": p.local_name,
        "kind": p.kind,
        "country": p.country,
        "currency": p.currency,
        "time_zone": p.time_zone,
        "parent": parent_code,
        "locale": p.locale,
    }


# ------------------------------------------------------------------ create


def create_party_in(s: Session, data: PartyInput, actor: Acting, *, source: str = "") -> int:
    """Create the party ``data`` inside ``s``'s open transaction (the caller commits)
    and return its id; audited as ``party.created`` with the stored values (and
    ``source``, e.g. ``import parties.csv row 7``, when given).

    Raises :class:`InvalidField` for the first bad field (the parent: unknown, of a
    kind that cannot be this kind's parent, missing for a dealer; the code: already
    used), :class:`PartnerDenied` unless ``actor`` is a partner manager or admin."""
    _can_write(actor, "create parties")
    clean, problems = check_party_input(data)
    if clean is None:
        raise problems[0]
    if s.scalar(select(Party.id).where(Party.code == clean.code)) is not None:
        raise InvalidField.said(
            "party_code_taken",
            "%(code)s is already the code of a party",
            field="code",
            code=clean.code,
        )
    parent = _check_parent(s, clean.kind, clean.parent, None)
    party = Party(
        code=clean.code,
        name=clean.name,
        local_name=clean.local_name,
        kind=clean.kind,
        country=clean.country,
        currency=clean.currency,
        time_zone=clean.time_zone,
        parent_id=parent.id if parent else None,
        locale=clean.locale,
        status=clean.status,
    )
    s.add(party)
    s.flush()
    record(
        s,
        "party.created",
        actor,
        party_id=party.id,
        detail={
            "code": party.code,
            "status": party.status,
            **_state(party, clean.parent or None),
            **({"source": source} if source else {}),
        },
    )
    return party.id


def create_party(
    engine: Engine, data: PartyInput, actor: Acting, *, session: Session | None = None
) -> PartyView:
    """Create the party ``data`` (:func:`create_party_in`) and return it.

    With ``session`` the party is created inside that session's transaction (the
    caller commits); without, in a transaction of its own."""
    if session is not None:
        return _read_view(session, create_party_in(session, data, actor))
    with Session(engine) as s, s.begin():
        return _read_view(s, create_party_in(s, data, actor))


def _read_view(s: Session, party_id: int) -> PartyView:
    parent = aliased(Party)
    row = s.execute(
        select(Party, parent.code)
        .outerjoin(parent, parent.id == Party.parent_id)
        .where(Party.id == party_id)
    ).one()
    return _view(row[0], row[1])


# ------------------------------------------------------------------ update


def update_party_in(
    s: Session, code: str, values: Mapping[str, object], actor: Acting
) -> PartyView:
    """Change the fields ``values`` names (:data:`EDITABLE`; text as typed, None or
    "" to clear an optional one) of party ``code`` inside ``s``'s transaction.

    Audited as ``party.updated`` with ``{field: [old, new]}``; a change that changes
    nothing records nothing. A kind change must keep every child's parent rule.
    Raises :class:`InvalidField` (``code``/``status``/unknown fields, bad values,
    the parent rules), :class:`PartnerNotFound`, :class:`PartnerDenied`."""
    _can_write(actor, "edit parties")
    party = party_by_code(s, code)
    if party.kind == "manufacturer":
        raise PartnerStateError.said(
            "manufacturer_fixed",
            "%(party)s is the manufacturer; it is not edited here",
            party=party.code,
        )
    for name in values:
        if name == "code":
            raise InvalidField.said(
                "code_fixed", "a party's code never changes; create a new party", field="code"
            )
        if name == "status":
            raise InvalidField.said(
                "status_by_transition",
                "the status changes through a status change with its reason",
                field="status",
            )
        if name not in EDITABLE:
            raise InvalidField.said(
                "not_party_field",
                "is not a field of a party; the fields are %(fields)s",
                field=name,
                fields=", ".join(EDITABLE),
            )
    parent_code = s.scalar(select(Party.code).where(Party.id == party.parent_id))
    before = _state(party, parent_code)
    text = {k: "" if v is None else v for k, v in values.items()}
    for name, value in text.items():
        if not isinstance(value, str):
            raise InvalidField.said(
                "not_text", "must be text, not %(value)s", field=name, value=repr(value)
            )
    merged = PartyInput(
        code=party.code,
        name=str(text.get("name", party.name)),
        kind=str(text.get("kind", party.kind)),
        country=str(text.get("country", party.country or "")),
        currency=str(text.get("currency", party.currency)),
        local_name=str(text.get("local_name", party.local_name)),
        time_zone=str(text.get("time_zone", party.time_zone or "")),
        parent=str(text.get("parent", parent_code or "")),
        locale=str(text.get("locale", party.locale or "")),
        status="active",
    )
    clean, problems = check_party_input(merged)
    if clean is None:
        raise problems[0]
    after = {
        "name": clean.name,
        "local_name": clean.local_name,
        "kind": clean.kind,
        "country": clean.country,
        "currency": clean.currency,
        "time_zone": clean.time_zone,
        "parent": clean.parent or None,
        "locale": clean.locale,
    }
    diff = changes(before, after)
    if not diff:
        return _view(party, parent_code)
    if "parent" in diff or "kind" in diff:
        parent = _check_parent(s, clean.kind, clean.parent, party.id)
        party.parent_id = parent.id if parent else None
    if "kind" in diff:
        child_kinds = {
            kind
            for kind in s.scalars(select(Party.kind).where(Party.parent_id == party.id).distinct())
        }
        for child_kind in sorted(child_kinds):
            if clean.kind not in PARENT_KINDS.get(child_kind, ()):
                raise InvalidField.said(
                    "kind_breaks_children",
                    "%(party)s has %(child_kind)s children, whose parent cannot be a %(kind)s",
                    field="kind",
                    party=party.code,
                    child_kind=child_kind,
                    kind=clean.kind,
                )
    party.name = clean.name
    party.local_name = clean.local_name
    party.kind = clean.kind
    party.country = clean.country
    party.currency = clean.currency
    party.time_zone = clean.time_zone
    party.locale = clean.locale
    record(s, "party.updated", actor, party_id=party.id, detail=diff)
    return _view(party, clean.parent or None)


def update_party(
    engine: Engine,
    code: str,
    changes: Mapping[str, object],
    actor: Acting,
    *,
    session: Session | None = None,
) -> PartyView:
    """:func:`update_party_in` in a transaction of its own (or in ``session``'s)."""
    if session is not None:
        return update_party_in(session, code, changes, actor)
    with Session(engine) as s, s.begin():
        return update_party_in(s, code, changes, actor)


# ------------------------------------------------------------------ status


def set_status_in(s: Session, code: str, status: str, actor: Acting, reason: str) -> PartyView:
    """Move party ``code`` to ``status`` inside ``s``'s transaction, if
    :data:`TRANSITIONS` allows it; ``reason`` (required) is kept in the audit row
    ``party.status`` (``{"status": [old, new], "reason": ...}``).

    Raises :class:`InvalidField` (unknown status, empty reason),
    :class:`PartnerStateError` (a transition the rules do not allow, the same
    status again, leaving ``exiting`` while the party's exit is open: that exit is
    cancelled or completed instead), :class:`PartnerNotFound`,
    :class:`PartnerDenied`."""
    _can_write(actor, "change a party's status")
    target = check_choice(status, "status", STATUSES)
    why = check_text(reason, "reason", max_length=1000)
    party = party_by_code(s, code)
    if party.kind == "manufacturer":
        raise PartnerStateError.said(
            "manufacturer_fixed",
            "%(party)s is the manufacturer; it is not edited here",
            party=party.code,
        )
    allowed = TRANSITIONS.get(party.status, ())
    if target not in allowed:
        raise PartnerStateError.said(
            "party_transition",
            "%(party)s is %(status)s; it cannot become %(to)s (it may become: %(allowed)s)",
            party=party.code,
            status=party.status,
            to=target,
            allowed=", ".join(allowed) or "nothing, terminated is final",
        )
    if party.status == "exiting":
        open_exit = s.scalar(
            select(PartnerExit.id).where(
                PartnerExit.party_id == party.id, PartnerExit.status.in_(("buffer", "settled"))
            )
        )
        if open_exit is not None:
            raise PartnerStateError.said(
                "exit_open",
                "%(party)s already has an open exit (%(exit)s)",
                party=party.code,
                exit=open_exit,
            )
    old = party.status
    party.status = target
    record(
        s, "party.status", actor, party_id=party.id, detail={"status": [old, target], "reason": why}
    )
    parent_code = s.scalar(select(Party.code).where(Party.id == party.parent_id))
    return _view(party, parent_code)


def set_status(
    engine: Engine,
    code: str,
    status: str,
    actor: Acting,
    reason: str,
    *,
    session: Session | None = None,
) -> PartyView:
    """:func:`set_status_in` in a transaction of its own (or in ``session``'s)."""
    if session is not None:
        return set_status_in(session, code, status, actor, reason)
    with Session(engine) as s, s.begin():
        return set_status_in(s, code, status, actor, reason)


# ------------------------------------------------------------------ read


def _address_view(a: PartyAddress) -> AddressView:
    return AddressView(
        a.id, a.kind, a.line1, a.line2, a.city, a.region, a.postal_code, a.country,
        a.lat_e6, a.lon_e6,
    )  # fmt: skip


def _contact_view(c: PartyContact) -> ContactView:
    return ContactView(c.id, c.name, c.role, c.email, c.phone, c.language, c.primary)


def get_party(engine: Engine, code: str, actor: Acting) -> PartyDetail:
    """Party ``code`` with its parent, number of children, addresses and contacts.

    Raises :class:`PartnerNotFound`, :class:`PartnerDenied` (a distributor asking
    for another party, a role that reads no parties)."""
    with Session(engine) as s:
        party = party_by_code(s, code)
        _can_read(actor, party.id)
        parent_row = s.get(Party, party.parent_id) if party.parent_id is not None else None
        grand = (
            s.scalar(select(Party.code).where(Party.id == parent_row.parent_id))
            if parent_row is not None and parent_row.parent_id is not None
            else None
        )
        children = s.scalar(select(func.count()).where(Party.parent_id == party.id)) or 0
        addresses = s.scalars(
            select(PartyAddress).where(PartyAddress.party_id == party.id).order_by(PartyAddress.id)
        )
        contacts = s.scalars(
            select(PartyContact)
            .where(PartyContact.party_id == party.id)
            .order_by(PartyContact.primary.desc(), PartyContact.id)
        )
        return PartyDetail(
            _view(party, parent_row.code if parent_row else None),
            _view(parent_row, grand) if parent_row is not None else None,
            children,
            tuple(_address_view(a) for a in addresses),
            tuple(_contact_view(c) for c in contacts),
        )


#: The audit rows a distributor reads about its own party: its master data only
#: (creation, edits, addresses, contacts). The rest of the trail is internal (issue
#: 12): status changes with the manager's reason, class reviews and their scores,
#: indicators and notes, alerts, agreement reminders, tasks, exits.
MASTER_DATA_ACTIONS = (
    "party.created",
    "party.updated",
    "party.address_added",
    "party.address_updated",
    "party.address_removed",
    "party.contact_added",
    "party.contact_updated",
    "party.contact_removed",
)
_INTERNAL_DETAIL = frozenset({"source"})  # where a party came from (a prospect, an import)


def _trail_scope(actor: Acting, party_id: int) -> list[Any]:
    """The conditions on :class:`PartnerEvent` of what ``actor`` reads about party
    ``party_id`` (after :func:`_can_read`): everything for an internal reader, the
    master-data rows (:data:`MASTER_DATA_ACTIONS`) for a distributor."""
    conds: list[Any] = [PartnerEvent.party_id == party_id]
    if actor.role not in READERS:
        conds.append(PartnerEvent.action.in_(MASTER_DATA_ACTIONS))
    return conds


def _as_seen(e: PartnerEvent, actor: Acting) -> EventView:
    """``e`` as ``actor`` reads it: whole for an internal reader; for a distributor
    without internal names (who made the change is blank unless it was the
    distributor's own user) and without internal detail (``source``)."""
    view = event_view(e)
    if actor.role in READERS:
        return view
    return EventView(
        view.id,
        view.action,
        {k: v for k, v in view.detail.items() if k not in _INTERNAL_DETAIL},
        view.actor_name if view.actor_name == actor.username else "",
        view.at_ms,
        view.party_id,
        None,
        None,
    )


def party_history(engine: Engine, code: str, actor: Acting, *, limit: int = 200) -> list[EventView]:
    """The newest ``limit`` audit rows about party ``code`` (creation, edits, status
    changes with their reasons, addresses, contacts, and other areas' rows about it),
    newest first. Same access as :func:`get_party`; a distributor reads only its
    master-data rows (:data:`MASTER_DATA_ACTIONS`), no internal user names, never the
    internal trail (reviews, scores, alerts, reminders, status reasons; issue 12)."""
    with Session(engine) as s:
        party = party_by_code(s, code)
        _can_read(actor, party.id)
        if actor.role in READERS:
            return history(s, party_id=party.id, limit=limit)
        rows = s.scalars(
            select(PartnerEvent)
            .where(*_trail_scope(actor, party.id))
            .order_by(PartnerEvent.at_ms.desc(), PartnerEvent.id.desc())
            .limit(limit)
        )
        return [_as_seen(e, actor) for e in rows]


def page_history(
    engine: Engine, code: str, actor: Acting, *, offset: int = 0, limit: int = 20
) -> tuple[list[EventView], int]:
    """A page of party ``code``'s audit trail, newest first, and its length: what
    :func:`party_history` reads (a distributor its master-data rows only, no
    internal names), ``offset`` rows skipped. Same access."""
    with Session(engine) as s:
        party = party_by_code(s, code)
        _can_read(actor, party.id)
        scope = _trail_scope(actor, party.id)
        total = s.scalar(select(func.count()).select_from(PartnerEvent).where(*scope))
        rows = s.scalars(
            select(PartnerEvent)
            .where(*scope)
            .order_by(PartnerEvent.at_ms.desc(), PartnerEvent.id.desc())
            .offset(offset)
            .limit(limit)
        )
        events = [_as_seen(e, actor) for e in rows]
        return events, int(total or 0)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def page_parties(
    engine: Engine,
    actor: Acting,
    *,
    q: str = "",
    kind: str = "",
    status: str = "",
    country: str = "",
    parent: str = "",
    limit: int = 50,
    offset: int = 0,
) -> PartyPage:
    """Parties by code matching every filter given (empty: any), ``offset`` rows
    skipped, at most ``limit``: ``q`` a case-insensitive part of the code, name or
    local name; ``kind``, ``status``, ``country`` (ISO 3166 alpha-2) exact; ``parent``
    the parent's code. The manufacturer is listed too (kind ``manufacturer``).

    Three queries whatever the page's length: the rows (with the parent's code
    joined), the total, the counts per status. A distributor lists only its own
    party. Raises :class:`PartnerDenied` for a role that reads no parties."""
    _can_read(actor)
    conds: list[Any] = []
    if actor.role not in READERS:
        conds.append(Party.id == actor.party_id)
    if q.strip():
        pattern = f"%{_escape_like(q.strip().lower())}%"
        conds.append(
            or_(
                func.lower(Party.code).like(pattern, escape="\\"),
                func.lower(Party.name).like(pattern, escape="\\"),
                func.lower(Party.local_name).like(pattern, escape="\\"),
            )
        )
    if kind:
        conds.append(Party.kind == kind)
    if country:
        conds.append(Party.country == country.strip().upper())
    parent_alias = aliased(Party)
    if parent:
        conds.append(
            Party.parent_id == select(Party.id).where(Party.code == parent).scalar_subquery()
        )
    status_conds = [*conds, Party.status == status] if status else conds
    with Session(engine) as s:
        rows = s.execute(
            select(Party, parent_alias.code)
            .outerjoin(parent_alias, parent_alias.id == Party.parent_id)
            .where(*status_conds)
            .order_by(Party.code)
            .limit(limit)
            .offset(offset)
        ).all()
        counted = s.execute(
            select(Party.status, func.count()).where(*conds).group_by(Party.status)
        ).all()
    by_status = dict.fromkeys(STATUSES, 0)
    for st, n in counted:
        by_status[st] = by_status.get(st, 0) + n
    total = by_status.get(status, 0) if status else sum(by_status.values())
    return PartyPage(tuple(_view(p, pc) for p, pc in rows), total, by_status)


# ------------------------------------------------------------------ addresses


def _check_address(data: AddressInput) -> dict[str, Any]:
    lat = check_coordinate(data.lat, "lat", limit=90)
    lon = check_coordinate(data.lon, "lon", limit=180)
    if (lat is None) != (lon is None):
        raise InvalidField.said(
            "coordinates_pair",
            "give both latitude and longitude, or neither",
            field="lat" if lat is None else "lon",
        )
    return {
        "kind": check_choice(data.kind, "kind", ADDRESS_KINDS),
        "line1": check_text(data.line1, "line1"),
        "line2": check_text(data.line2, "line2", required=False),
        "city": check_text(data.city, "city", max_length=100),
        "region": check_text(data.region, "region", required=False, max_length=100),
        "postal_code": check_text(data.postal_code, "postal_code", required=False, max_length=20),
        "country": check_country(data.country),
        "lat_e6": lat,
        "lon_e6": lon,
    }


def _address(s: Session, party: Party, address_id: int) -> PartyAddress:
    a = s.get(PartyAddress, address_id)
    if a is None or a.party_id != party.id:
        raise PartnerNotFound.said(
            "no_address",
            "%(party)s has no address %(address)s",
            party=party.code,
            address=address_id,
        )
    return a


def add_address(engine: Engine, code: str, data: AddressInput, actor: Acting) -> AddressView:
    """Add an address to party ``code`` (audited ``party.address_added``).

    Raises :class:`InvalidField` (kind, empty line1/city, country, a coordinate
    out of range or only one of the two), :class:`PartnerNotFound`, :class:`PartnerDenied`."""
    _can_write(actor, "edit parties")
    values = _check_address(data)
    with Session(engine) as s, s.begin():
        party = party_by_code(s, code)
        a = PartyAddress(party_id=party.id, **values)
        s.add(a)
        s.flush()
        record(s, "party.address_added", actor, party_id=party.id, detail={"id": a.id, **values})
        return _address_view(a)


def update_address(
    engine: Engine, code: str, address_id: int, data: AddressInput, actor: Acting
) -> AddressView:
    """Replace address ``address_id`` of party ``code`` by ``data`` (audited
    ``party.address_updated`` with the fields changed). Same errors as
    :func:`add_address`, and :class:`PartnerNotFound` for an address of another party."""
    _can_write(actor, "edit parties")
    values = _check_address(data)
    with Session(engine) as s, s.begin():
        party = party_by_code(s, code)
        a = _address(s, party, address_id)
        before = {k: getattr(a, k) for k in values}
        diff = changes(before, values)
        if diff:
            for k, v in values.items():
                setattr(a, k, v)
            record(
                s,
                "party.address_updated",
                actor,
                party_id=party.id,
                detail={"id": a.id, **diff},
            )
        return _address_view(a)


def remove_address(engine: Engine, code: str, address_id: int, actor: Acting) -> None:
    """Remove address ``address_id`` of party ``code`` (audited ``party.address_removed``
    with what it was)."""
    _can_write(actor, "edit parties")
    with Session(engine) as s, s.begin():
        party = party_by_code(s, code)
        a = _address(s, party, address_id)
        gone = _address_view(a)
        s.delete(a)
        record(
            s,
            "party.address_removed",
            actor,
            party_id=party.id,
            detail={f.name: getattr(gone, f.name) for f in fields(gone)},
        )


# ------------------------------------------------------------------ contacts


def check_contact_input(data: ContactInput) -> list[InvalidField]:
    """Every problem of ``data`` (one per bad field: name, role, email, phone,
    language); empty when it can be stored."""
    problems: list[InvalidField] = []
    try:
        _check_contact(data, problems)
    except InvalidField as exc:  # pragma: no cover - _check_contact collects
        problems.append(exc)
    return problems


def _check_contact(
    data: ContactInput, problems: list[InvalidField] | None = None
) -> dict[str, Any]:
    """The stored values of ``data``; raises the first problem, or with ``problems``
    collects every one there (the values returned are then incomplete)."""
    out: dict[str, Any] = {"primary": bool(data.primary)}
    checks: tuple[tuple[str, Any], ...] = (
        ("name", lambda: check_text(data.name, "name")),
        ("role", lambda: check_text(data.role, "role", required=False, max_length=100)),
        ("email", lambda: check_email(data.email)),
        ("phone", lambda: check_phone(data.phone)),
        ("language", lambda: check_locale(data.language, "language") or ""),
    )
    for name, check in checks:
        try:
            out[name] = check()
        except InvalidField as exc:
            if problems is None:
                raise
            problems.append(exc)
    return out


def _contact(s: Session, party: Party, contact_id: int) -> PartyContact:
    c = s.get(PartyContact, contact_id)
    if c is None or c.party_id != party.id:
        raise PartnerNotFound.said(
            "no_contact",
            "%(party)s has no contact %(contact)s",
            party=party.code,
            contact=contact_id,
        )
    return c


def _one_primary(s: Session, party_id: int, keep: PartyContact) -> None:
    """A primary contact is the only primary one of its party."""
    if keep.primary:
        for other in s.scalars(
            select(PartyContact).where(
                PartyContact.party_id == party_id,
                PartyContact.primary.is_(True),
                PartyContact.id != keep.id,
            )
        ):
            other.primary = False


def add_contact(engine: Engine, code: str, data: ContactInput, actor: Acting) -> ContactView:
    """Add a contact person to party ``code`` (audited ``party.contact_added``); a
    primary contact makes the party's other contacts not primary.

    Raises :class:`InvalidField` (empty name, e-mail address, telephone number,
    language), :class:`PartnerNotFound`, :class:`PartnerDenied`."""
    _can_write(actor, "edit parties")
    _check_contact(data)
    with Session(engine) as s, s.begin():
        return add_contact_in(s, party_by_code(s, code).id, data, actor)


def add_contact_in(
    s: Session, party_id: int, data: ContactInput, actor: Acting, *, source: str = ""
) -> ContactView:
    """:func:`add_contact` to the party with id ``party_id`` inside ``s``'s transaction
    (a file import, a signed prospect's contact); ``source`` goes into the audit row."""
    _can_write(actor, "edit parties")
    values = _check_contact(data)
    c = PartyContact(party_id=party_id, **values)
    s.add(c)
    s.flush()
    _one_primary(s, party_id, c)
    detail = {"id": c.id, **values, **({"source": source} if source else {})}
    record(s, "party.contact_added", actor, party_id=party_id, detail=detail)
    return _contact_view(c)


def update_contact(
    engine: Engine, code: str, contact_id: int, data: ContactInput, actor: Acting
) -> ContactView:
    """Replace contact ``contact_id`` of party ``code`` by ``data`` (audited
    ``party.contact_updated`` with the fields changed)."""
    _can_write(actor, "edit parties")
    values = _check_contact(data)
    with Session(engine) as s, s.begin():
        party = party_by_code(s, code)
        c = _contact(s, party, contact_id)
        diff = changes({k: getattr(c, k) for k in values}, values)
        if diff:
            for k, v in values.items():
                setattr(c, k, v)
            _one_primary(s, party.id, c)
            record(
                s,
                "party.contact_updated",
                actor,
                party_id=party.id,
                detail={"id": c.id, **diff},
            )
        return _contact_view(c)


def remove_contact(engine: Engine, code: str, contact_id: int, actor: Acting) -> None:
    """Remove contact ``contact_id`` of party ``code`` (audited ``party.contact_removed``)."""
    _can_write(actor, "edit parties")
    with Session(engine) as s, s.begin():
        party = party_by_code(s, code)
        c = _contact(s, party, contact_id)
        gone = _contact_view(c)
        s.delete(c)
        record(
            s,
            "party.contact_removed",
            actor,
            party_id=party.id,
            detail={f.name: getattr(gone, f.name) for f in fields(gone)},
        )
