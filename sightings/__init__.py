"""What the label answers and what is seen in the field (issue 14).

- :mod:`sightings.zone`: the market a unit was shipped for, and whether a place
  is inside it (detection's rule, for one unit);
- :mod:`sightings.answer`: the consumer's answer to a scanned label (genuine or
  unknown, product, market, a warning when the code may be a copy);
- :mod:`sightings.public`: public sightings (coarse location, one-time token)
  and the suspected alerts they raise;
- :mod:`sightings.inspection`: an inspector's scan, an ``inspecting`` ledger
  entry with its shop, photos and signed record, confirming or clearing
  suspected alerts;
- :mod:`sightings.evidence`: the evidence pack (PDF) a third party can check.

May import ``ledger``, ``geo``, ``partners``, ``settlement`` (DESIGN.md).
"""
