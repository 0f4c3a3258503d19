"""Custody rules: who holds a unit, and in what state, after each kind of entry.

A scan that contradicts custody is still a real observation: it is recorded, the
custody follows what was physically seen, and the entry carries an ``anomaly``
sentence that a channel manager can read without looking anything up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ledger.ids import EntryKind

__all__ = ["ANOMALY_TEMPLATES", "Custody", "UnitState", "apply_entry"]


class UnitState(enum.Enum):
    UNCOMMISSIONED = "uncommissioned"  # seen, but never commissioned: suspect
    IN_STOCK = "in_stock"
    IN_TRANSIT = "in_transit"
    SOLD = "sold"
    DECOMMISSIONED = "decommissioned"


#: The shape of every anomaly sentence :func:`apply_entry` writes, by id: English with
#: ``%(name)s`` values (party codes, the entry kind as stored). The sentences are
#: stored in ``entries.anomaly`` and printed as they are; pages read the id and values
#: back (:func:`scanners.reasons.anomaly_of`) to say them in the reader's language
#: (``web.reasons.ANOMALIES``). A test checks every id against a sentence this module
#: writes.
ANOMALY_TEMPLATES: dict[str, str] = {
    "never_commissioned": "%(kind)s of a unit that was never commissioned",
    "commissioned_again": "commissioned again",
    "shipped_no_ship_to": "shipped without a ship-to party",
    "received_after_decommissioning": "received after decommissioning",
    "received_after_sold": "received after it was sold",
    "received_never_shipped": "received by %(party)s but never shipped (holder %(holder)s)",
    "received_shipped_elsewhere": "received by %(party)s but shipped to %(bound_for)s",
    "inspected_after_decommissioning": "inspected after decommissioning",
    "decommissioned_twice": "decommissioned twice",
    "shipped_after_decommissioning": "shipped after decommissioning",
    "shipped_after_sold": "shipped after it was sold",
    "shipped_in_transit": "shipped by %(party)s while in transit to %(bound_for)s",
    "shipped_not_holder": "shipped by %(party)s, which does not hold it (holder %(holder)s)",
    "sold_after_decommissioning": "sold after decommissioning",
    "sold_after_sold": "sold after it was sold",
    "sold_in_transit": "sold by %(party)s while in transit to %(bound_for)s",
    "sold_not_holder": "sold by %(party)s, which does not hold it (holder %(holder)s)",
    "packed_after_decommissioning": "packed after decommissioning",
    "packed_after_sold": "packed after it was sold",
    "packed_in_transit": "packed by %(party)s while in transit to %(bound_for)s",
    "packed_not_holder": "packed by %(party)s, which does not hold it (holder %(holder)s)",
    "unpacked_after_decommissioning": "unpacked after decommissioning",
    "unpacked_after_sold": "unpacked after it was sold",
    "unpacked_in_transit": "unpacked by %(party)s while in transit to %(bound_for)s",
    "unpacked_not_holder": "unpacked by %(party)s, which does not hold it (holder %(holder)s)",
    "returned_after_decommissioning": "returned after decommissioning",
    "returned_in_transit": "returned by %(party)s while in transit to %(bound_for)s",
    "returned_not_holder": "returned by %(party)s, which does not hold it (holder %(holder)s)",
}


# Enum member lookups cost a class-attribute access each; these run for every entry.
_COMMISSIONING = EntryKind.COMMISSIONING
_PACKING = EntryKind.PACKING
_UNPACKING = EntryKind.UNPACKING
_SHIPPING = EntryKind.SHIPPING
_RECEIVING = EntryKind.RECEIVING
_RETAIL_SELLING = EntryKind.RETAIL_SELLING
_INSPECTING = EntryKind.INSPECTING
_RETURNING = EntryKind.RETURNING
_DECOMMISSIONING = EntryKind.DECOMMISSIONING
_UNCOMMISSIONED = UnitState.UNCOMMISSIONED
_IN_STOCK = UnitState.IN_STOCK
_IN_TRANSIT = UnitState.IN_TRANSIT
_SOLD = UnitState.SOLD
_DECOMMISSIONED = UnitState.DECOMMISSIONED


@dataclass(slots=True)
class Custody:
    """The mutable custody of one unit while a batch is being appended."""

    state: UnitState
    holder: str | None  # party code
    bound_for: str | None  # party code a unit in transit was shipped to


def _holding_problem(c: Custody, party: str, verb: str) -> str:
    if c.state is _DECOMMISSIONED:
        return f"{verb} after decommissioning"
    if c.state is _SOLD:
        return f"{verb} after it was sold"
    if c.state is _IN_TRANSIT:
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
    if is_new and kind is not _COMMISSIONING:
        anomaly = f"{kind.value} of a unit that was never commissioned"
        c.state, c.holder = _UNCOMMISSIONED, party
        _follow(c, kind, party, counterparty)
        return anomaly
    if kind is _COMMISSIONING:
        anomaly = "" if is_new else "commissioned again"
        c.state, c.holder, c.bound_for = _IN_STOCK, party, None
        return anomaly
    if c.state is _UNCOMMISSIONED:
        # Already flagged on first sight; keep following it without repeating.
        _follow(c, kind, party, counterparty)
        return ""
    anomaly = _check(c, kind, party, counterparty)
    _follow(c, kind, party, counterparty)
    return anomaly


def _check(c: Custody, kind: EntryKind, party: str, counterparty: str | None) -> str:
    if kind is _SHIPPING:
        if counterparty is None:
            return "shipped without a ship-to party"
        return _holding_problem(c, party, "shipped")
    if kind is _RECEIVING:
        if c.state is _DECOMMISSIONED:
            return "received after decommissioning"
        if c.state is _SOLD:
            return "received after it was sold"
        if c.state is not _IN_TRANSIT:
            return f"received by {party} but never shipped (holder {c.holder})"
        if c.bound_for != party:
            return f"received by {party} but shipped to {c.bound_for}"
        return ""
    if kind is _RETAIL_SELLING:
        return _holding_problem(c, party, "sold")
    if kind in (_PACKING, _UNPACKING):
        return _holding_problem(c, party, "packed" if kind is _PACKING else "unpacked")
    if kind is _RETURNING:
        if c.state is _DECOMMISSIONED:
            return "returned after decommissioning"
        if c.state is _SOLD:
            return ""  # a customer return at the point of sale
        return _holding_problem(c, party, "returned")
    if kind is _INSPECTING:
        return "inspected after decommissioning" if c.state is _DECOMMISSIONED else ""
    if kind is _DECOMMISSIONING:
        if c.state is _DECOMMISSIONED:
            return "decommissioned twice"
        return ""
    return ""


def _follow(c: Custody, kind: EntryKind, party: str, counterparty: str | None) -> None:
    """Custody follows the physical observation, anomaly or not."""
    if kind is _SHIPPING:
        c.state, c.holder, c.bound_for = _IN_TRANSIT, party, counterparty
    elif kind is _RECEIVING:
        c.state, c.holder, c.bound_for = _IN_STOCK, party, None
    elif kind is _RETAIL_SELLING:
        c.state, c.holder, c.bound_for = _SOLD, party, None
    elif kind is _RETURNING:
        if counterparty is None:
            c.state, c.holder, c.bound_for = _IN_STOCK, party, None
        else:
            c.state, c.holder, c.bound_for = _IN_TRANSIT, party, counterparty
    elif kind is _DECOMMISSIONING:
        c.state, c.bound_for = _DECOMMISSIONED, None
    elif kind in (_PACKING, _UNPACKING) and c.state is not _UNCOMMISSIONED:
        c.holder = party
