"""Checking and storing a file of parties (``hopchain import parties FILE``).

``settlement.imports`` reads the CSV or XLSX table (its reader, its problem
reports and its all-or-nothing transaction); this module knows what a row of
parties means. :func:`check_party_rows` checks every row and every column
without the database (the parties already stored are passed in), and returns
the rows in the order they can be created (a parent before its children) or
every problem found; :func:`store_party_row` creates one checked row inside the
import's session through :func:`partners.parties.create_party_in` (audited
``party.created`` with the file and row as its source).

Layout (``docs/imports.md``): columns :data:`REQUIRED_COLUMNS`, optionally
:data:`OPTIONAL_COLUMNS`, in any order. ``parent`` names a party by its code: a
party stored already or a row of the same file, before or after the row. A code
used twice in the file, or already stored, is an error; so are an unknown
country (ISO 3166), currency (ISO 4217), parent, time zone, language, status or
kind, a parent of a kind that cannot be this kind's parent, and parents that
loop. ``email``, ``phone`` and ``contact_name`` make the party's primary contact
(``contact_name`` is needed when ``email`` or ``phone`` is given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from partners.errors import Acting
from partners.parties import (
    PARENT_KINDS,
    PARENT_REQUIRED,
    ContactInput,
    PartyInput,
    add_contact_in,
    check_contact_input,
    check_party_input,
    create_party_in,
)
from partners.values import InvalidField

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "PartyRow",
    "RowProblem",
    "check_party_rows",
    "store_party_row",
]

#: Columns every parties file has.
REQUIRED_COLUMNS: tuple[str, ...] = ("code", "name", "kind", "country", "currency", "parent")
#: Columns a parties file may have.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "local_name",
    "time_zone",
    "locale",
    "status",
    "email",
    "phone",
    "contact_name",
)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A problem of a row (``row`` as a spreadsheet numbers it) and ``column``
    (None: the whole row); ``message`` is the English without the column,
    ``message_id`` and ``values`` its id and values (``web/partners/reasons.py``)."""

    row: int
    column: str | None
    message: str
    message_id: str = ""
    values: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, row: int, exc: InvalidField) -> RowProblem:
        return cls(row, exc.field, exc.message, exc.message_id, dict(exc.values))


@dataclass(frozen=True, slots=True)
class PartyRow:
    """A checked row: the party to create and its primary contact, if the row has one."""

    row: int
    party: PartyInput
    contact: ContactInput | None


def check_party_rows(
    rows: Sequence[tuple[int, Mapping[str, str]]], stored: Mapping[str, str]
) -> tuple[list[PartyRow], list[RowProblem]]:
    """Check ``rows`` (row number and cells by column name; a missing optional
    column reads as empty) against the parties ``stored`` (code -> kind).

    Returns the rows ordered so that every parent comes before its children, and
    no problem; or no rows and every problem, by row and column."""
    problems: list[RowProblem] = []
    checked: dict[str, PartyRow] = {}
    first_row: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for number, cells in rows:
        cell = {c: cells.get(c, "") for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
        data = PartyInput(
            code=cell["code"],
            name=cell["name"],
            kind=cell["kind"],
            country=cell["country"],
            currency=cell["currency"],
            local_name=cell["local_name"],
            time_zone=cell["time_zone"],
            parent=cell["parent"],
            locale=cell["locale"],
            status=cell["status"] or "active",
        )
        clean, bad = check_party_input(data)
        problems += [RowProblem.of(number, exc) for exc in bad]
        contact: ContactInput | None = None
        if any(cell[c].strip() for c in ("email", "phone", "contact_name")):
            contact = ContactInput(
                name=cell["contact_name"],
                email=cell["email"],
                phone=cell["phone"],
                primary=True,
            )
            for exc in check_contact_input(contact):
                column = "contact_name" if exc.field == "name" else exc.field
                problems.append(
                    RowProblem(number, column, exc.message, exc.message_id, dict(exc.values))
                )
        code = data.code.strip()
        if code in first_row:
            problems.append(
                RowProblem.of(
                    number,
                    InvalidField.said(
                        "code_twice_in_file",
                        "%(code)s is also the code of row %(row)s",
                        field="code",
                        code=code,
                        row=first_row[code],
                    ),
                )
            )
            continue
        if code in stored:
            problems.append(
                RowProblem.of(
                    number,
                    InvalidField.said(
                        "party_code_taken",
                        "%(code)s is already the code of a party",
                        field="code",
                        code=code,
                    ),
                )
            )
        if code:
            first_row[code] = number
        if clean is not None:
            kinds[clean.code] = clean.kind
            checked[clean.code] = PartyRow(number, data, contact)
    # parents: known (stored or in the file), of a kind that fits, no loop
    for code, prow in checked.items():
        kind = kinds[code]
        parent = prow.party.parent.strip()
        if not parent:
            if kind in PARENT_REQUIRED:
                problems.append(
                    RowProblem.of(
                        prow.row,
                        InvalidField.said(
                            "parent_required",
                            "a %(kind)s needs a parent of kind %(kinds)s",
                            field="parent",
                            kind=kind,
                            kinds=" or ".join(PARENT_KINDS[kind]),
                        ),
                    )
                )
            continue
        parent_kind = kinds.get(parent, stored.get(parent))
        if parent_kind is None and parent in first_row:
            continue  # that row is wrong itself; its problems are reported there
        if parent_kind is None:
            problems.append(
                RowProblem.of(
                    prow.row,
                    InvalidField.said(
                        "parent_not_found",
                        "there is no party with code %(code)s, stored or in this file",
                        field="parent",
                        code=repr(parent),
                    ),
                )
            )
        elif parent_kind not in PARENT_KINDS[kind]:
            problems.append(
                RowProblem.of(
                    prow.row,
                    InvalidField.said(
                        "parent_kind",
                        "%(parent)s is a %(parent_kind)s; the parent of a %(kind)s is a %(kinds)s",
                        field="parent",
                        parent=parent,
                        parent_kind=parent_kind,
                        kind=kind,
                        kinds=" or ".join(PARENT_KINDS[kind]),
                    ),
                )
            )
    ordered = _parents_first(checked, problems)
    problems.sort(key=lambda p: (p.row, p.column or ""))
    if problems:
        return [], problems
    return ordered, []


def _parents_first(checked: Mapping[str, PartyRow], problems: list[RowProblem]) -> list[PartyRow]:
    """The rows with each parent of the file before its children (file order
    otherwise); a loop of parents inside the file is a problem at each of its rows."""
    ordered: list[PartyRow] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done

    def visit(code: str) -> None:
        path: list[str] = []
        at: str | None = code
        while at is not None and at in checked and state.get(at) != 2:
            if state.get(at) == 1:
                loop = path[path.index(at) :]
                for member in loop:
                    problems.append(
                        RowProblem.of(
                            checked[member].row,
                            InvalidField.said(
                                "parent_loop_in_file",
                                "the parents of %(codes)s go round in a loop",
                                field="parent",
                                codes=" -> ".join([*loop, at]),
                            ),
                        )
                    )
                for member in path:
                    state[member] = 2
                return
            state[at] = 1
            path.append(at)
            at = checked[at].party.parent.strip() or None
        for member in reversed(path):
            if state.get(member) == 1:
                state[member] = 2
                ordered.append(checked[member])

    for code in checked:
        visit(code)
    return ordered


def store_party_row(s: Session, prow: PartyRow, actor: Acting, source: str) -> int:
    """Create the party of checked row ``prow`` (and its primary contact) inside
    ``s``'s transaction, audited with ``source`` (``import FILE row N``); returns
    its id. Raises what :func:`partners.parties.create_party_in` raises (a party
    stored meanwhile with the same code)."""
    party_id = create_party_in(s, prow.party, actor, source=source)
    if prow.contact is not None:
        add_contact_in(s, party_id, prow.contact, actor, source=source)
    return party_id
