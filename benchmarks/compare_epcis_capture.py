"""EPCIS 2.0 capture: schema + CBV validation and event hash IDs, beside the tools a
user would pick instead, in the same run.

    python benchmarks/compare_epcis_capture.py [--events 1000] [--repeat 3]

1. Validation of a valid document: ours (:func:`scanners.epcis_schema.validate_document`:
   jsonschema-rs gives the verdict, then our CBV and extension rules) beside the
   ``jsonschema`` package's Draft 7 validator over the same vendored GS1 schema with
   the same format checks (what one would write first). Ours also checks what the
   schema cannot express, so the ratio understates the difference.
2. EPCIS event hash IDs (CBV 2.0 §8.9): ours (:func:`scanners.epcis_hash.event_hash_ids`,
   the reference implementation behind an offline JSON-LD loader, one event per
   derivation so a failing event is named) beside the reference implementation's
   own entry point (``epcis_hashes_from_events``) on the same document. The two must
   give the same hashes; the ratio is what naming failures and staying offline cost.
3. The whole capture (:func:`scanners.epcis.capture_events`: envelope, validation,
   mapping to hops, hash IDs) per 1,000 events, for scale.

Events are single-EPC ObjectEvents like our export writes. The best of
``--repeat`` runs is printed for each.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jsonschema import Draft7Validator, FormatChecker

from scanners.epcis import capture_events, hopchain_resolvers
from scanners.epcis_hash import event_hash_ids
from scanners.epcis_schema import schema, validate_document

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def document(n: int) -> dict[str, Any]:
    """``n`` OBSERVE shipping events of distinct units, one EPC each."""
    events = [
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "eventID": f"urn:uuid:7c0b7a0e-0000-4000-8000-{i:012d}",
            "eventTime": f"2026-10-01T{8 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": [f"https://id.gs1.org/01/09506000134352/21/S{i}"],
            "bizStep": "shipping",
            "disposition": "in_transit",
            "readPoint": {"id": "geo:48.137154,11.576124"},
            "hc:party": "https://id.hopchain.example/party/MFR",
        }
        for i in range(n)
    ]
    return {
        "@context": [CONTEXT, {"hc": "https://ns.hopchain.example/epcis/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-10-01T08:00:00.000Z",
        "epcisBody": {"eventList": events},
    }


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def reference_hashes(doc: dict[str, Any]) -> list[str]:
    from epcis_event_hash_generator import hash_generator, json_to_py  # type: ignore[import-untyped]

    events = json_to_py.event_list_from_epcis_document_json(copy.deepcopy(doc))
    hashes: list[str] = hash_generator.epcis_hashes_from_events(events)
    return hashes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    doc = document(args.events)
    per_k = 1000 / args.events

    plain = Draft7Validator(schema(), format_checker=FormatChecker())
    ours_v = best(args.repeat, lambda: validate_document(doc))
    theirs_v = best(args.repeat, lambda: list(plain.iter_errors(doc)))
    print(f"validation, {args.events} events (valid document):")
    print(
        f"  ours (jsonschema-rs + CBV + extensions) {ours_v * per_k * 1000:9.1f} ms / 1,000 events"
    )
    print(
        f"  jsonschema Draft7Validator              {theirs_v * per_k * 1000:9.1f} ms / 1,000 events"
    )
    print(f"  ratio (jsonschema / ours)               {theirs_v / ours_v:9.1f}x")

    ours_h = event_hash_ids(doc)
    if reference_hashes(doc) != ours_h:
        raise SystemExit("hash IDs differ from the reference implementation's")
    ours_t = best(args.repeat, lambda: event_hash_ids(doc))
    ref_t = best(args.repeat, lambda: reference_hashes(doc))
    print(f"EPCIS event hash IDs, {args.events} events (identical to the reference):")
    print(f"  ours (offline loader, per-event naming) {ours_t * per_k:9.2f} s / 1,000 events")
    print(f"  epcis-event-hash-generator directly     {ref_t * per_k:9.2f} s / 1,000 events")
    print(f"  ratio (reference / ours)                {ref_t / ours_t:9.2f}x")

    resolvers = hopchain_resolvers(default_party="MFR")
    whole = best(args.repeat, lambda: capture_events(doc, resolvers))
    print(
        f"whole capture (envelope, validation, hops, hash IDs): {whole * per_k:.2f} s / 1,000 events"
    )


if __name__ == "__main__":
    main()
