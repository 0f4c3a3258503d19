"""Custody rules: who holds a unit, and in what state, after each kind of entry.

A scan that contradicts custody is still a real observation: it is recorded, the
custody follows what was physically seen, and the entry carries an ``anomaly``
sentence that a channel manager can read without looking anything up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ledger.ids import EntryKind

__all__ = ["Custody", "UnitState", "apply_entry"]


class UnitState(enum.Enum):
    UNCOMMISSIONED = "uncommissioned"  # seen, but never commissioned: suspect
    IN_STOCK = "in_stock"
    IN_TRANSIT = "in_transit"
    SOLD = "sold"
    DECOMMISSIONED = "decommissioned"


@dataclass(slots=True)
class Custody:
    """The mutable custody of one unit while a batch is being appended."""

    state: UnitState
    holder: str | None  # party code
    bound_for: str | None  # party code a unit in transit was shipped to


def _holding_problem(c: Custody, party: str, verb: str) -> str:
    if c.state is UnitState.DECOMMISSIONED:
        return f"{verb} after decommissioning"
    if c.state is UnitState.SOLD:
        return f"{verb} after it was sold"
    if c.state is UnitState.IN_TRANSIT:
        return f"{verb} by {party} while in transit to {c.bound_for}"
    if c.holder != party:
        return f"{verb} by {party}, which does not hold it (holder {c.holder})"
    return ""


def apply_entry(
    c: Custody, kind: EntryKind, party: str, counterparty: str | None, *, is_new: bool
) -> str:
    """Advance ``c`` for one entry and return the anomaly ("" when none).

    ``is_new`` says the unit had no entry before this one.
    """
    if is_new and kind is not EntryKind.COMMISSIONING:
        anomaly = f"{kind.value} of a unit that was never commissioned"
        c.state, c.holder = UnitState.UNCOMMISSIONED, party
        _follow(c, kind, party, counterparty)
        return anomaly
    if kind is EntryKind.COMMISSIONING:
        anomaly = "" if is_new else "commissioned again"
        c.state, c.holder, c.bound_for = UnitState.IN_STOCK, party, None
        return anomaly
    if c.state is UnitState.UNCOMMISSIONED:
        # Already flagged on first sight; keep following it without repeating.
        _follow(c, kind, party, counterparty)
        return ""
    anomaly = _check(c, kind, party, counterparty)
    _follow(c, kind, party, counterparty)
    return anomaly


def _check(c: Custody, kind: EntryKind, party: str, counterparty: str | None) -> str:
    if kind is EntryKind.SHIPPING:
        if counterparty is None:
            return "shipped without a ship-to party"
        return _holding_problem(c, party, "shipped")
    if kind is EntryKind.RECEIVING:
        if c.state is UnitState.DECOMMISSIONED:
            return "received after decommissioning"
        if c.state is UnitState.SOLD:
            return "received after it was sold"
        if c.state is not UnitState.IN_TRANSIT:
            return f"received by {party} but never shipped (holder {c.holder})"
        if c.bound_for != party:
            return f"received by {party} but shipped to {c.bound_for}"
        return ""
    if kind is EntryKind.RETAIL_SELLING:
        return _holding_problem(c, party, "sold")
    if kind in (EntryKind.PACKING, EntryKind.UNPACKING):
        return _holding_problem(c, party, "packed" if kind is EntryKind.PACKING else "unpacked")
    if kind is EntryKind.RETURNING:
        if c.state is UnitState.DECOMMISSIONED:
            return "returned after decommissioning"
        if c.state is UnitState.SOLD:
            return ""  # a customer return at the point of sale
        return _holding_problem(c, party, "returned")
    if kind is EntryKind.INSPECTING:
        return "inspected after decommissioning" if c.state is UnitState.DECOMMISSIONED else ""
    if kind is EntryKind.DECOMMISSIONING:
        if c.state is UnitState.DECOMMISSIONED:
            return "decommissioned twice"
        return ""
    return ""


def _follow(c: Custody, kind: EntryKind, party: str, counterparty: str | None) -> None:
    """Custody follows the physical observation, anomaly or not."""
    if kind is EntryKind.SHIPPING:
        c.state, c.holder, c.bound_for = UnitState.IN_TRANSIT, party, counterparty
    elif kind is EntryKind.RECEIVING:
        c.state, c.holder, c.bound_for = UnitState.IN_STOCK, party, None
    elif kind is EntryKind.RETAIL_SELLING:
        c.state, c.holder, c.bound_for = UnitState.SOLD, party, None
    elif kind is EntryKind.RETURNING:
        if counterparty is None:
            c.state, c.holder, c.bound_for = UnitState.IN_STOCK, party, None
        else:
            c.state, c.holder, c.bound_for = UnitState.IN_TRANSIT, party, counterparty
    elif kind is EntryKind.DECOMMISSIONING:
        c.state, c.bound_for = UnitState.DECOMMISSIONED, None
    elif (
        kind in (EntryKind.PACKING, EntryKind.UNPACKING) and c.state is not UnitState.UNCOMMISSIONED
    ):
        c.holder = party
