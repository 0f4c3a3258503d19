"""EPCIS event hash IDs (CBV 2.0 §8.9), offline.

The EPCIS event hash ID identifies an event by what it says: a SHA-256 over the
event's fields in a canonical order (``eventID``, ``recordTime`` and
``errorDeclaration`` excluded), written ``ni:///sha-256;<64 hex>?ver=CBV2.0``
(RFC 6920 named information). Two captures of the same observation give the same
hash ID whatever their JSON layout, URN or Digital Link spelling, or eventID.

The algorithm is the maintained reference implementation,
``epcis-event-hash-generator`` (PyPI; GS1 Germany and EECC). It expands the
document with PyLD, whose default document loader fetches any remote ``@context``
from the internet. :func:`event_hash_ids` instead installs, for the duration of
the call, a loader that serves the EPCIS 2.0 context for every EPCIS context URL
in :data:`EPCIS_CONTEXT_URLS` from the file bundled with the package and refuses
every other remote context (:class:`EventHashError`, no network call). The
library keeps module state (the JSON-LD prefixes it has seen, the join string,
PyLD's global loader), so calls are serialized by a lock and that state is reset
before each one.

Cost: the document is expanded once per call (hash IDs are computed once per
document, not per event). Measured on one core for single-EPC ObjectEvents like
our export's: 1.1 s per 1,000 events for 100 to 1,000 events, 15 s for a
10,000-event document (1.5 ms per event), most of it PyLD expansion and the
library's eager debug formatting.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["EPCIS_CONTEXT_URLS", "EventHashError", "event_hash_ids"]

#: The EPCIS 2.0 JSON-LD context URLs served from the package's bundled copy (all
#: name the same vocabulary; the standard publishes it at each of them).
EPCIS_CONTEXT_URLS: tuple[str, ...] = (
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    "https://gs1.github.io/EPCIS/epcis-context.jsonld",
)
# The package's file for ref.gs1.org/standards/epcis/2.0.0 (named by its SHA-256).
_CONTEXT_FILE = "e532647e8eb371379b8b0e8602d8981c8566bc60f7351f22c76a5bc865962008.jsonld"
_PACKAGE = "epcis_event_hash_generator"

_LOCK = threading.Lock()


class _QuietReference(logging.Filter):
    """Drops what the reference implementation logs on the *root* logger (every
    event of every document at INFO, pre-hash strings at DEBUG): a server's log is
    for the server. Records of every other logger pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "root" and _PACKAGE in record.pathname)


_QUIET = _QuietReference()
_context_document: dict[str, Any] | None = None


class EventHashError(ValueError):
    """No hash ID can be computed: ``index`` is the event's position in
    ``epcisBody.eventList`` (None for the document as a whole), ``reason`` says why
    in words."""

    def __init__(self, index: int | None, reason: str) -> None:
        where = "the document" if index is None else f"event {index}"
        super().__init__(f"{where}: {reason}")
        self.index = index
        self.reason = reason


class _RefusedContext(Exception):
    """Raised by the loader for a context URL it will not fetch."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _epcis_context() -> dict[str, Any]:
    global _context_document
    if _context_document is None:
        text = importlib.resources.files(_PACKAGE).joinpath(_CONTEXT_FILE).read_text("utf-8")
        _context_document = json.loads(text)
    return _context_document


def _offline_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A PyLD document loader: the bundled EPCIS context for its URLs, else refuse."""
    if url not in EPCIS_CONTEXT_URLS:
        raise _RefusedContext(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": _epcis_context(),
    }


def _refused_url(exc: BaseException) -> str | None:
    """The URL our loader refused, found anywhere in PyLD's chain of wrapped errors."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, _RefusedContext):
            return cur.url
        cause = getattr(cur, "cause", None)
        todo += [cur.__cause__, cur.__context__]
        if isinstance(cause, BaseException):
            todo.append(cause)
    return None


def _failing_event(json_to_py: Any, doc: Mapping[str, Any], events: list[Any]) -> int | None:
    """The index of the first event that fails conversion on its own (None if none
    does): the library converts a document in one go and says not which failed."""
    for index, event in enumerate(events):
        alone = {**doc, "epcisBody": {"eventList": [copy.deepcopy(event)]}}
        json_to_py._namespaces.clear()
        try:
            json_to_py.event_list_from_epcis_document_json(copy.deepcopy(alone))
        except Exception:
            return index
    return None


def event_hash_ids(doc: Mapping[str, Any]) -> list[str]:
    """The EPCIS event hash ID of every event in ``doc["epcisBody"]["eventList"]``,
    in order: ``ni:///sha-256;<64 lowercase hex>?ver=CBV2.0`` (CBV 2.0 §8.9).

    ``doc`` is an EPCIS 2.0 JSON-LD document (a dict as :func:`json.loads` gives
    it); it is not changed. Raises :class:`EventHashError` when a remote
    ``@context`` other than :data:`EPCIS_CONTEXT_URLS` is named (nothing is
    fetched), when JSON-LD expansion fails, or when the algorithm cannot handle an
    event (the library logs and skips such an event; here it names the event).
    """
    from epcis_event_hash_generator import (  # type: ignore[import-untyped]
        hash_generator,
        json_to_py,
    )
    from pyld import jsonld  # type: ignore[import-untyped]

    body = doc.get("epcisBody")
    events = body.get("eventList") if isinstance(body, Mapping) else None
    if not isinstance(events, list):
        raise EventHashError(None, "epcisBody.eventList is missing or not a list")
    if not events:
        return []
    root = logging.getLogger()
    if _QUIET not in root.filters:
        root.addFilter(_QUIET)
    with _LOCK:
        jsonld.set_document_loader(_offline_loader)
        json_to_py._namespaces.clear()  # prefixes seen in earlier documents
        try:
            # expands the document once; rewrites values in place, hence the copy
            tree = json_to_py.event_list_from_epcis_document_json(copy.deepcopy(dict(doc)))
        except Exception as exc:
            url = _refused_url(exc)
            if url is not None:
                raise EventHashError(
                    None,
                    f"@context names {url!r}, which is not fetched: only the EPCIS 2.0 "
                    f"context ({', '.join(EPCIS_CONTEXT_URLS)}) and inline contexts are "
                    "understood offline",
                ) from None
            index = _failing_event(json_to_py, doc, events)
            raise EventHashError(
                index,
                "the EPCIS event hash algorithm cannot read "
                + ("the document" if index is None else "this event")
                + f" as JSON-LD ({type(exc).__name__}; a field of an unexpected shape?)",
            ) from None
        converted = tree[2]
        if len(converted) != len(events):
            raise EventHashError(
                None, f"{len(events)} events in the document, {len(converted)} converted"
            )
        hashes: list[str] = []
        for index, event in enumerate(converted):
            # one event at a time: the library logs and skips an event it cannot read
            pre = hash_generator.derive_prehashes_from_events(("EventList", "", [event]))
            if len(pre) != 1:
                raise EventHashError(
                    index,
                    "the EPCIS event hash algorithm cannot read this event "
                    "(a field of an unexpected shape)",
                )
            hashes += hash_generator.calculate_hashes_from_pre_hashes(pre)
    return hashes
