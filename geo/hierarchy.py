"""The territory hierarchy as people browse it, and a point's chain of territories.

:func:`territory_tree` reads codes, names and parents only (no geometry), so a
page can list thousands of territories cheaply; :func:`locate_chain` answers
"which territory is this point in, and what encloses that?".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.geometry import LEVELS, Territory
from geo.index import TerritoryIndex
from geo.models import TerritoryRow

__all__ = ["TerritoryNode", "locate_chain", "territory_tree"]


@dataclass(frozen=True, slots=True)
class TerritoryNode:
    """A stored territory with its children (sorted by name), without geometry."""

    code: str
    name: str
    level: str
    parent: str | None
    children: tuple[TerritoryNode, ...]

    @property
    def size(self) -> int:
        """This territory and every territory below it."""
        return 1 + sum(c.size for c in self.children)


def territory_tree(session: Session) -> list[TerritoryNode]:
    """The stored territories as a forest: roots by level (regions first), then name.

    A territory whose parent is not stored (the store refuses that, but a row
    edited by hand might) is shown as a root rather than lost.
    """
    rows = session.execute(
        select(TerritoryRow.code, TerritoryRow.name, TerritoryRow.level, TerritoryRow.parent_code)
    ).all()
    known = {r.code for r in rows}
    kids: dict[str | None, list[tuple[str, str, str]]] = {}
    for code, name, level, parent in rows:
        kids.setdefault(parent if parent in known else None, []).append((code, name, level))
    rank = {level: i for i, level in enumerate(LEVELS)}

    def build(parent: str | None, seen: frozenset[str]) -> tuple[TerritoryNode, ...]:
        out = []
        for code, name, level in sorted(
            kids.get(parent, []), key=lambda k: (rank.get(k[2], len(rank)), k[1].lower(), k[0])
        ):
            if code in seen:  # a cycle written around the store: stop rather than recurse
                continue
            out.append(TerritoryNode(code, name, level, parent, build(code, seen | {code})))
        return tuple(out)

    return list(build(None, frozenset()))


def locate_chain(index: TerritoryIndex, lon: float, lat: float) -> tuple[Territory, ...]:
    """The deepest territory containing the point, then its parent, up to the root;
    empty when the point lies in none.

    Raises ValueError naming the coordinate when it is not a finite longitude in
    [-180, 180] or latitude in [-90, 90].
    """
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"longitude must be a number from -180 to 180, got {lon!r}")
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude must be a number from -90 to 90, got {lat!r}")
    position = int(index.locate([lon], [lat])[0])
    chain: list[Territory] = []
    while position >= 0:
        chain.append(index.territories[position])
        position = int(index.parent[position])
    return tuple(chain)
