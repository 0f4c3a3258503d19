"""Appending hops from requests: group commit of concurrent batches.

Every append pays a fixed price (take the ledger lock, read the head, parties and
units, commit) whatever its size. When many handhelds upload at once, requests
of one process queue here and the request that gets the turn appends everything
queued so far in one :func:`ledger.append_hops` call (a group commit), then hands
each request its own results. A lone request is appended alone, at once. The
append goes through the credit gate (:func:`risk.credit_gate.append_gated`):
manufacturer shipments on credit to a cash-only party or over its limit are
recorded with a note (an anomaly) and raise a credit alert.

- Order: each batch keeps its order; batches follow one another in arrival order.
- Idempotency is the ledger's: a replay inside one group is answered duplicate.
- Failure: per-hop problems are results (``rejected``), never exceptions. Should
  a grouped append raise (a database error), each batch of the group is tried on
  its own, so one batch cannot fail the others.
- Across processes the ledger's own lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL
  advisory lock) still serializes appenders; waiting on a Python lock here also
  spares SQLite's busy-wait sleeps between one batch and the next.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import Engine

from ledger import Hop, HopResult, append_hops
from risk.credit_gate import append_gated
from web.db import get_engine

__all__ = ["MAX_GROUP_HOPS", "GroupAppender", "append"]

#: Batches are merged until a group holds this many hops (a batch is never split).
MAX_GROUP_HOPS = 5000
_EXTENSION = "hopchain.appender"
_CREATE = threading.Lock()


@dataclass(eq=False, slots=True)
class _Pending:
    hops: Sequence[Hop]
    results: list[HopResult] | None = None
    error: BaseException | None = None
    done: bool = field(default=False)


class GroupAppender:
    """Appends to one engine's ledger, merging batches that arrive while it is busy."""

    def __init__(self, engine: Engine, max_group_hops: int = MAX_GROUP_HOPS) -> None:
        self.engine = engine
        self.max_group_hops = max_group_hops
        self._turn = threading.Lock()  # held by the request appending for the group
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []

    def append(self, hops: Sequence[Hop]) -> list[HopResult]:
        """The results of ``hops`` (one per hop, in order), appended alone or in a group."""
        if not hops:
            return []
        mine = _Pending(hops)
        with self._queue_lock:
            self._queue.append(mine)
        with self._turn:
            if not mine.done:  # nobody took it along: append the queue, this batch first
                self._append_group(self._take(mine))
        if mine.error is not None:
            raise mine.error
        assert mine.results is not None
        return mine.results

    def _take(self, mine: _Pending) -> list[_Pending]:
        with self._queue_lock:
            group = [mine]
            size = len(mine.hops)
            rest = []
            for pending in self._queue:
                if pending is mine:
                    continue
                if size + len(pending.hops) <= self.max_group_hops:
                    group.append(pending)
                    size += len(pending.hops)
                else:
                    rest.append(pending)
            self._queue = rest
        return group

    def _append_group(self, group: list[_Pending]) -> None:
        try:
            hops = [h for p in group for h in p.hops]
            results = append_gated(self.engine, hops, append_hops)
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                group[0].done = True
                return
            for pending in group:  # find the culprit: each batch on its own
                self._append_group([pending])
            return
        start = 0
        for pending in group:
            pending.results = results[start : start + len(pending.hops)]
            start += len(pending.hops)
            pending.done = True


def _appender() -> GroupAppender:
    extensions = current_app.extensions
    appender = extensions.get(_EXTENSION)
    if appender is None:
        with _CREATE:
            appender = extensions.get(_EXTENSION)
            if appender is None:
                appender = extensions[_EXTENSION] = GroupAppender(get_engine())
    assert isinstance(appender, GroupAppender)
    return appender


def append(hops: Sequence[Hop]) -> list[HopResult]:
    """Append ``hops`` to the app's ledger as one batch (maybe within a group commit)."""
    return _appender().append(hops)
