"""The numbers that decide what a label scan means, in one place.

Each has a config key of the same name (``app.config["SIGHTINGS_..."]``) so a
deployment can tune it; these are the defaults.
"""

from __future__ import annotations

__all__ = [
    "CLONE_MAX_KMH",
    "CLONE_MIN_KM",
    "COARSE_E6",
    "COPY_WARNING_KM",
    "COPY_WARNING_VERIFICATIONS",
    "coarse_e6",
]

#: A public location is rounded to 0.01° (about 1.1 km of latitude, less of
#: longitude away from the equator): enough to judge a territory, too little to
#: find a home.
COARSE_E6 = 10_000

#: A unit whose label was verified more often than this may be a copy: one genuine
#: item is checked a few times (shop, buyer, gift), not dozens.
COPY_WARNING_VERIFICATIONS = 10

#: Public sightings of one unit farther apart than this (km) suggest a copied code.
COPY_WARNING_KM = 300

#: Two public sightings imply a cloned code when going from one to the other
#: needs more than this speed (km/h, an airliner; settlement.detection uses the
#: same figure for the ledger's own clone finding) ...
CLONE_MAX_KMH = 900.0
#: ... and they are farther apart than this (km): coarse locations of one shop
#: may differ by a couple of kilometres, which is not a clone.
CLONE_MIN_KM = 50.0


def coarse_e6(value_e6: int) -> int:
    """``value_e6`` (micro-degrees) rounded half-even to :data:`COARSE_E6`:
    ``48_858_370`` -> ``48_860_000``; the exact location is never kept."""
    q, r = divmod(int(value_e6), COARSE_E6)
    if r * 2 > COARSE_E6 or (r * 2 == COARSE_E6 and q % 2 == 1):
        q += 1
    return q * COARSE_E6
