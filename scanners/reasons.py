"""Ids and values of the reasons a scan is refused, so pages can say them in the
reader's language while the scanners keep speaking English (issue 11).

:func:`scanners.parse` and its helpers (``ledger.ids``, biip, :mod:`scanners.ai_rules`,
:mod:`scanners.check_digits`, :mod:`scanners.digital_link`) write each reason as an
English sentence: ``ScanResult.error``, what ``hopchain scan parse`` prints. This
module names the shape of each sentence by an id (:data:`REASON_TEMPLATES`, English
with ``%(name)s`` placeholders) and :func:`reason_of` reads the id and values back from
the sentence, so the English stays byte for byte what it was and costs nothing on the
scan path. A value named ``reason`` is itself a reason (a Digital Link whose AI value
is wrong: the outer and the inner sentence each have an id). AI numbers, positions,
digits and the scanned data are values: data, shown as they are in every language.

``web/reasons.py`` keeps the words of every id (``SCAN_REASONS``); a test checks the
English of both is the same and that sample scans give each id.

The same reading serves two more kinds of English sentence: the custody anomalies the
ledger stores with an entry (:data:`ledger.custody.ANOMALY_TEMPLATES`, read by
:func:`anomaly_of`) and the reasons :mod:`scanners.batch` refuses one scan event of an
upload for (:data:`EVENT_REASON_TEMPLATES`, read by :func:`event_reason_of`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from ledger.custody import ANOMALY_TEMPLATES

__all__ = [
    "EVENT_REASON_TEMPLATES",
    "NOTE_TEMPLATES",
    "REASON_TEMPLATES",
    "anomaly_of",
    "event_reason_of",
    "note_of",
    "reason_of",
]

#: The English of each reason id, ``%(name)s`` filled from the values. Outer
#: sentences come before the ones they hold and specific shapes before general ones
#: (the first whose pattern matches the whole sentence names it).
REASON_TEMPLATES: dict[str, str] = {
    # an input form around the reason of its content
    "not_element_string": "not a GS1 element string: %(reason)s",
    "not_digital_link": "not a valid GS1 Digital Link URI: %(reason)s",
    "link_ai_value": "path segment %(segment)s (value of AI %(ai)s): %(reason)s",
    "link_query_value": "query parameter %(param)s: %(reason)s",
    "link_ai_reason": "AI %(ai)s (%(title)s): %(reason)s",
    "scan_empty": "empty scan",
    "scan_too_long": "scan is %(length)s characters long, more than %(limit)s",
    "no_data_after_sid": "no data after symbology identifier %(sid)s",
    # ledger.ids: the identifying AIs (GTIN 01, SSCC 00)
    "check_digit_wrong": "%(name)s %(digits)s has check digit %(digit)s, expected %(expected)s",
    "digits_length": "%(name)s must be %(length)s digits, got %(value)s",
    "serial_without_gtin": "serial (21) %(serial)s without a GTIN (01)",
    # scanners.check_digits: every other AI with a check digit
    "ai_check_digit_wrong": (
        "AI %(ai)s (%(title)s) check digit %(digit)s is wrong; expected %(expected)s"
    ),
    # scanners.digital_link.format_mismatch, for every input form
    "ai_format": (
        "AI %(ai)s (%(title)s) value %(value)s does not have the AI's format %(format)s"
        " (N: digits, X: GS1 character set 82, then the length)"
    ),
    "link_not_ai": (
        "%(param)s is not a GS1 Application Identifier (numeric parameter names are"
        " reserved for AIs)"
    ),
    # biip
    "unknown_ai": "Unknown GS1 Application Identifier '%(ai)s' in '%(text)s'.",
    "no_ai_in": "Failed to get GS1 Application Identifier from '%(text)s'.",
    # the input forms
    "hri_malformed": "bracketed GS1 string %(text)s is truncated or malformed (read %(read)s)",
    "epc_urn": (
        "EPC URN %(text)s is neither urn:epc:id:sgtin:<company>.<item>.<serial>"
        " nor urn:epc:id:sscc:<company>.<serial ref> with 13 / 17 digits"
    ),
}

#: The English of the reasons :mod:`scanners.batch` refuses one event of an upload for
#: that pages say in the reader's language (the rest are shown as the batch wrote them).
EVENT_REASON_TEMPLATES: dict[str, str] = {
    "packing_no_container": "a packing scan needs the container it packs into",
    # the container's code did not parse: the scanners' own reason follows (its own id)
    "container_unreadable": "container: %(reason)s",
}

#: The English of the notes intake adds to a hop, which the ledger records in the
#: entry's anomaly after any custody anomaly (``"; "`` between them): the credit
#: gate's (``risk.credit_gate.CASH_ONLY_NOTE`` / ``OVER_LIMIT_NOTE``, amounts in
#: major units). Pages say them in the reader's language (:func:`note_of`).
NOTE_TEMPLATES: dict[str, str] = {
    "credit_cash_only": "credit: shipped on credit to cash-only party %(party)s",
    "credit_over_limit": (
        "credit: over limit of %(party)s: exposure %(exposure)s + shipment %(shipment)s"
        " > limit %(credit_limit)s %(currency)s"
    ),
}

#: Values that are numbers (so the patterns split sentences where they should).
_NUMBERS = frozenset({"ai", "digits", "digit", "expected", "length", "limit", "segment"})
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


#: The sentence kinds :func:`_read` knows, by name (cached patterns per name).
_TEMPLATES: dict[str, Mapping[str, str]] = {
    "scan": REASON_TEMPLATES,
    "anomaly": ANOMALY_TEMPLATES,
    "event": EVENT_REASON_TEMPLATES,
    "note": NOTE_TEMPLATES,
}


@lru_cache(maxsize=len(_TEMPLATES))
def _patterns(kind: str = "scan") -> tuple[tuple[str, re.Pattern[str]], ...]:
    found = []
    for reason_id, english in _TEMPLATES[kind].items():
        parts = _PLACEHOLDER.split(english)
        pattern = ""
        for i, part in enumerate(parts):
            if i % 2 == 0:
                pattern += re.escape(part)
            elif part in _NUMBERS:
                pattern += rf"(?P<{part}>[0-9]+)"
            elif part == "name":  # an identifier's name: GTIN, SSCC
                pattern += rf"(?P<{part}>[A-Z0-9-]+)"
            elif part == "reason":
                pattern += rf"(?P<{part}>.+)"
            else:
                pattern += rf"(?P<{part}>.+?)"
        found.append((reason_id, re.compile(pattern, re.DOTALL)))
    return tuple(found)


def _read(kind: str, text: str | None) -> tuple[str, dict[str, str]] | None:
    """``(id, values)`` of ``text`` among the templates of ``kind``: the first id whose
    pattern matches the whole sentence and whose English filled with the values is
    ``text`` again; None for None, "" or a sentence of no known shape."""
    if not text:
        return None
    templates = _TEMPLATES[kind]
    for reason_id, pattern in _patterns(kind):
        found = pattern.fullmatch(text)
        if found is not None:
            values = found.groupdict()
            if templates[reason_id] % values == text:
                return reason_id, values
    return None


def reason_of(error: str | None) -> tuple[str, dict[str, str]] | None:
    """``(id, values)`` of a scanner's English reason: ``REASON_TEMPLATES[id] % values
    == error``; None for None or a sentence of a shape without an id (said as it is).

    >>> reason_of("GTIN 09506000134353 has check digit 3, expected 2")
    ('check_digit_wrong', {'name': 'GTIN', 'digits': '09506000134353', 'digit': '3', 'expected': '2'})
    """
    return _read("scan", error)


def anomaly_of(anomaly: str | None) -> tuple[str, dict[str, str]] | None:
    """``(id, values)`` of a custody anomaly as the ledger stored it
    (``entries.anomaly``): ``ANOMALY_TEMPLATES[id] % values == anomaly``; None for
    "" (no anomaly) or a sentence of a shape without an id.

    >>> anomaly_of("sold by D-AU, which does not hold it (holder MFR)")
    ('sold_not_holder', {'party': 'D-AU', 'holder': 'MFR'})
    """
    return _read("anomaly", anomaly)


def event_reason_of(reason: str | None) -> tuple[str, dict[str, str]] | None:
    """``(id, values)`` of the reason :mod:`scanners.batch` refused one scan event for
    (``Rejection.reason``): ``EVENT_REASON_TEMPLATES[id] % values == reason``; None
    for a reason of a shape without an id (said as the batch wrote it).

    >>> event_reason_of("a packing scan needs the container it packs into")
    ('packing_no_container', {})
    """
    return _read("event", reason)


def note_of(note: str | None) -> tuple[str, dict[str, str]] | None:
    """``(id, values)`` of a note intake added to an entry's anomaly
    (:data:`NOTE_TEMPLATES`); None for a note of a shape without an id.

    >>> note_of("credit: shipped on credit to cash-only party D-AU")
    ('credit_cash_only', {'party': 'D-AU'})
    """
    return _read("note", note)
