"""The index of the stored territories, rebuilt only when they change.

Building the index of the world's countries takes about a tenth of a second;
a web process answering ``locate`` or drawing maps would pay that per request.
:func:`cached_index` keeps the last index built together with a digest of the
rows it came from, and rebuilds when the digest differs: another process (the
CLI) importing territories is seen on the next call, at the cost of reading
the rows' text, which is much cheaper than parsing and indexing it.
"""

from __future__ import annotations

import hashlib
import json
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.geometry import Territory
from geo.index import TerritoryIndex
from geo.models import TerritoryRow

__all__ = ["cached_index"]

_lock = threading.Lock()
_last: tuple[str, TerritoryIndex] | None = None


def cached_index(session: Session) -> TerritoryIndex:
    """The index of every stored territory (as :func:`geo.load_index`), cached per process."""
    global _last
    rows = session.execute(
        select(
            TerritoryRow.code,
            TerritoryRow.name,
            TerritoryRow.parent_code,
            TerritoryRow.level,
            TerritoryRow.geometry,
        ).order_by(TerritoryRow.id)
    ).all()
    digest = hashlib.sha256()
    for row in rows:
        for value in row:
            digest.update((value or "").encode("utf-8"))
            digest.update(b"\x00")
    key = digest.hexdigest()
    with _lock:
        if _last is not None and _last[0] == key:
            return _last[1]
    index = TerritoryIndex.from_territories(
        Territory(code, name, parent, level, json.loads(geometry))
        for code, name, parent, level, geometry in rows
    )
    with _lock:
        _last = (key, index)
    return index
