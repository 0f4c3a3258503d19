"""Who may record what: the write rule for a party that acts only within its custody.

The manufacturer commissions, inspects and moves any unit. A channel partner (a
distributor, and the dealers and retailers below it) records only what it does
with its own stock:

- on a unit it holds (custody's ``holder`` is the party): shipping, receiving,
  retail_selling, returning, packing, unpacking and decommissioning;
- on a unit addressed to it (in transit, custody's ``bound_for`` is the party):
  receiving;
- never commissioning or inspecting, and nothing on any other unit.

The rule is checked by the sequencer (:mod:`ledger.append`) for every hop marked
``restricted``, under the ledger lock, against the custody the batch already
loaded: it costs no query. A hop naming an SSCC is checked on the logistic unit
(what is packed in it follows it); packing is checked on the unit and on the
container, which must be the party's own or new. A unit the ledger has never seen
is refused with exactly the words used for another party's unit, so that a refusal
never tells whether a serial number exists, nor who holds it.

The rule follows the custody model of GS1 EPCIS 2.0 / CBV 2.0 (a business step is
recorded by the party in possession at the read point) and the design's "a party
may write only events its role and custody allow".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from ledger.custody import Custody
from ledger.hops import Hop
from ledger.ids import EntryKind, parse_key

__all__ = [
    "CHANNEL_PARTNER_KINDS",
    "CUSTODY_RULE",
    "CustodyRule",
    "HasCustody",
    "acts_within_custody",
    "custody_refusal",
]

#: ``parties.kind`` values whose devices, tokens and staff act only within their custody.
CHANNEL_PARTNER_KINDS = frozenset({"distributor", "dealer", "retailer"})


@dataclass(frozen=True, slots=True)
class CustodyRule:
    """Entry kinds (``EntryKind`` values) a restricted party may record, by its tie
    to the unit."""

    on_held: frozenset[str]  # units it holds
    on_addressed: frozenset[str]  # units in transit to it


CUSTODY_RULE = CustodyRule(
    on_held=frozenset(
        k.value
        for k in (
            EntryKind.SHIPPING,
            EntryKind.RECEIVING,
            EntryKind.RETAIL_SELLING,
            EntryKind.RETURNING,
            EntryKind.PACKING,
            EntryKind.UNPACKING,
            EntryKind.DECOMMISSIONING,
        )
    ),
    on_addressed=frozenset({EntryKind.RECEIVING.value}),
)
_ALLOWED = CUSTODY_RULE.on_held | CUSTODY_RULE.on_addressed
_PACKING = EntryKind.PACKING.value


class HasCustody(Protocol):
    """What the check reads of a unit: its custody as the batch has it now."""

    @property
    def custody(self) -> Custody: ...


def acts_within_custody(party_kind: str | None) -> bool:
    """Whether a party of kind ``party_kind`` (``parties.kind``) records only within
    its custody: distributors, dealers and retailers do; the manufacturer and
    inspectors do not."""
    return party_kind in CHANNEL_PARTNER_KINDS


def _find(units: Mapping[str, HasCustody], raw: str) -> tuple[str, HasCustody | None]:
    """(canonical key, the unit or None) of a key as a hop wrote it.

    Raises :class:`~ledger.ids.InvalidIdentifierError` for a malformed key, which
    the append answers as a rejection naming the problem.
    """
    key = raw.removeprefix("/")
    found = units.get(key)
    if found is not None:
        return key, found
    key = parse_key(key).key
    return key, units.get(key)


def custody_refusal(hop: Hop, units: Mapping[str, HasCustody]) -> str:
    """Why the restricted ``hop`` may not be recorded ("" when it may).

    ``units`` maps canonical keys (and keys as hops wrote them) to the units the
    batch holds in memory, with custody as of this hop. The reason names the unit,
    the entry kind, the party and the rule; it never names another party.
    Raises :class:`~ledger.ids.InvalidIdentifierError` for a malformed key.
    """
    kind = hop.kind.value if isinstance(hop.kind, EntryKind) else str(hop.kind)
    party = hop.party
    key, unit = _find(units, hop.unit)
    if kind not in _ALLOWED:
        return (
            f"{kind} of {key} by {party} refused: a distributor never records {kind}; "
            "it records shipping, receiving, selling, returning, packing, unpacking and "
            "decommissioning of units in its custody"
        )
    custody = unit.custody if unit is not None else None
    if custody is not None and custody.holder == party and kind in CUSTODY_RULE.on_held:
        if kind == _PACKING and hop.container:
            box_key, box = _find(units, hop.container)
            if box is not None and box.custody.holder != party:
                return (
                    f"packing of {key} into {box_key} by {party} refused: that case or "
                    f"pallet is not in {party}'s custody; a distributor packs only into "
                    "its own or new cases and pallets"
                )
        return ""
    if custody is not None and custody.bound_for == party:
        if kind in CUSTODY_RULE.on_addressed:
            return ""
        return (
            f"{kind} of {key} by {party} refused: {key} is addressed to {party} but not "
            "received yet; record its receiving first"
        )
    return (
        f"{kind} of {key} by {party} refused: {key} is neither in {party}'s custody nor "
        "addressed to it; a distributor records only units in its custody or addressed to it"
    )
