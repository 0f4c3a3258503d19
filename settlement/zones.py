"""Territory grants as the CSR tables the detection kernel reads.

Two views of the same grants, because two questions are asked:

* a unit's zone (``zone_*``): where a unit allocated to distributor D may be seen
  — D's grants and those of every sub-distributor below D;
* a party's authorized zone (``auth_*``): where a party may operate — its own
  grants and those of every party above it (a sub-distributor inherits its
  parent's zone).

Each row keeps its validity ``[from_ms, to_ms)`` so a scan is judged against the
grants in force on its own date, not today's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "OPEN_END_MS",
    "Grant",
    "ZoneError",
    "ZoneTables",
    "build_zone_tables",
    "territory_ancestors",
]

#: ``to_ms`` of a grant without an end.
OPEN_END_MS = np.iinfo(np.int64).max


class ZoneError(ValueError):
    """Grants or a territory hierarchy that cannot be turned into zone tables."""


@dataclass(frozen=True, slots=True)
class Grant:
    """Party (dense index) holds territory (index) from ``from_ms`` until ``to_ms``."""

    party: int
    territory: int
    from_ms: int
    to_ms: int = int(OPEN_END_MS)


@dataclass(frozen=True, slots=True)
class ZoneTables:
    zone_ptr: npt.NDArray[np.int64]
    zone_terr: npt.NDArray[np.int32]
    zone_from: npt.NDArray[np.int64]
    zone_to: npt.NDArray[np.int64]
    auth_ptr: npt.NDArray[np.int64]
    auth_terr: npt.NDArray[np.int32]
    auth_from: npt.NDArray[np.int64]
    auth_to: npt.NDArray[np.int64]
    terr_anc: npt.NDArray[np.int32]  # (territories, depth): self, parent, ..., then -1


def territory_ancestors(parent: Sequence[int] | npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Row ``t`` lists ``t``, its parent, grandparent... padded with -1; cycles are errors."""
    par = np.asarray(parent, dtype=np.int64)
    n = par.shape[0]
    if n and (par.min() < -1 or par.max() >= n):
        raise ZoneError("territory parent index out of range")
    chains: list[list[int]] = []
    for t in range(n):
        chain = [t]
        x = int(par[t])
        while x >= 0:
            if x in chain:
                raise ZoneError(f"territory hierarchy has a cycle through index {x}")
            chain.append(x)
            x = int(par[x])
        chains.append(chain)
    depth = max((len(c) for c in chains), default=1)
    out = np.full((max(n, 1), depth), -1, dtype=np.int32)
    for t, c in enumerate(chains):
        out[t, : len(c)] = c
    return out


def _csr(
    rows: list[list[tuple[int, int, int]]],
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int64]
]:
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(r) for r in rows])
    flat = [g for r in rows for g in r]
    terr = np.array([g[0] for g in flat], dtype=np.int32)
    frm = np.array([g[1] for g in flat], dtype=np.int64)
    to = np.array([g[2] for g in flat], dtype=np.int64)
    return ptr, terr, frm, to


def build_zone_tables(
    n_parties: int,
    party_parent: npt.NDArray[np.int32],
    grants: Iterable[Grant],
    territory_parent: Sequence[int] | npt.NDArray[np.int32],
) -> ZoneTables:
    """Expand grants down (unit zones) and up (authorized zones) the party tree."""
    anc = territory_ancestors(territory_parent)
    n_terr = len(territory_parent)
    own: list[list[tuple[int, int, int]]] = [[] for _ in range(n_parties)]
    for g in grants:
        if not 0 <= g.party < n_parties:
            raise ZoneError(f"grant names party index {g.party}, outside 0..{n_parties - 1}")
        if not 0 <= g.territory < n_terr:
            raise ZoneError(f"grant names territory index {g.territory}, outside 0..{n_terr - 1}")
        if g.to_ms <= g.from_ms:
            raise ZoneError(
                f"grant of territory {g.territory} to party {g.party} ends before it starts"
            )
        own[g.party].append((g.territory, g.from_ms, g.to_ms))
    parent = np.asarray(party_parent, dtype=np.int64)
    chains: list[list[int]] = []
    for p in range(n_parties):
        chain = [p]
        x = int(parent[p])
        while x >= 0:
            if x in chain:
                raise ZoneError(f"party hierarchy has a cycle through index {x}")
            chain.append(x)
            x = int(parent[x])
        chains.append(chain)
    auth_rows = [sorted({g for a in chain for g in own[a]}) for chain in chains]
    zone_sets: list[set[tuple[int, int, int]]] = [set() for _ in range(n_parties)]
    for p, chain in enumerate(chains):
        for a in chain:  # p's grants belong to the unit zone of p and of every ancestor
            zone_sets[a].update(own[p])
    zone_rows = [sorted(s) for s in zone_sets]
    zp, zt, zf, zto = _csr(zone_rows)
    ap, at, af, ato = _csr(auth_rows)
    return ZoneTables(zp, zt, zf, zto, ap, at, af, ato, anc)
