"""EPCIS 2.0 JSON document validation: the published GS1 JSON schema plus the CBV.

One entry point, :func:`validate_document`, run by
:func:`scanners.epcis.capture_document` before any event is mapped to a hop. It
refuses the whole document with :class:`~scanners.epcis.EpcisError` naming the JSON
path of the first problem in document order (members in the order they appear, list
items by index; a missing required member sorts at the start of its object) and the
reason in words.

Two layers, in one pass over the document:

1. The GS1 EPCIS 2.0 JSON schema (``scanners/schemas/epcis-json-schema.json``,
   vendored from github.com/gs1/EPCIS, JSON Schema draft 07; see ``SOURCE.md`` there),
   checked with :mod:`jsonschema` with format assertion on: ``uri`` is an absolute URI
   (RFC 3986 §4.3: a scheme, ``:``, no spaces) and ``date-time`` an RFC 3339
   date-time. Without the format check the schema's ``vocab-uri`` branch would
   take any string, so ``"disposition": "in_transport"`` passed; with it a vocabulary
   field must be a CBV 2.0 bare name (the schema's ``enum``) or an absolute URI.
2. What the schema cannot say, from EPCIS 2.0 §8 (JSON/JSON-LD binding) and CBV 2.0:

   * a URI in a CBV namespace (``https://ref.gs1.org/cbv/Disp-…``,
     ``urn:epcglobal:cbv:disp:…``, ``cbv:Disp-…``) must name a CBV value of that
     vocabulary (bizStep, disposition and persistentDisposition, bizTransaction type,
     source/destination type, error reason);
   * an extension member (a name that is not an EPCIS member of that object) must be
     namespaced: a compact IRI ``prefix:name`` whose prefix the document or event
     ``@context`` declares (or the EPCIS context itself does: :data:`CONTEXT_PREFIXES`),
     or a full IRI (``https://…``, ``urn:…``); and it may stand only where EPCIS 2.0
     allows extensions (document, header, event, ilmd, readPoint, bizLocation,
     errorDeclaration, sensorElement, sensorMetadata, sensorReport), not in a
     quantity element, business transaction, persistentDisposition, source or
     destination.

What is inside an extension member's value is the extension owner's business and
is not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema_rs
from jsonschema import Draft7Validator, FormatChecker, ValidationError
from jsonschema.exceptions import best_match

__all__ = ["CBV_PREFIXES", "CONTEXT_PREFIXES", "schema", "validate_document"]

#: Prefixes the EPCIS 2.0 JSON-LD context (epcis-context.jsonld) declares itself,
#: usable in compact IRIs without declaring them again.
CONTEXT_PREFIXES = frozenset(
    {"epcis", "cbv", "cbvmda", "gs1", "rdf", "rdfs", "owl", "xsd", "dcterms"}
)

#: For each CBV vocabulary (its definition name in the schema): the URI prefixes
#: that put a value in the CBV namespace (CBV 2.0 §8: web URI, EPCIS 1.x URN,
#: compact form under the context's ``cbv`` prefix).
CBV_PREFIXES: dict[str, tuple[str, ...]] = {
    "bizStep": (
        "https://ref.gs1.org/cbv/BizStep-",
        "urn:epcglobal:cbv:bizstep:",
        "cbv:BizStep-",
    ),
    "disposition": ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:", "cbv:Disp-"),
    "bizTransaction-type": (
        "https://ref.gs1.org/cbv/BTT-",
        "urn:epcglobal:cbv:btt:",
        "cbv:BTT-",
    ),
    "source-dest-type": ("https://ref.gs1.org/cbv/SDT-", "urn:epcglobal:cbv:sdt:", "cbv:SDT-"),
    "error-reason": ("https://ref.gs1.org/cbv/ER-", "urn:epcglobal:cbv:er:", "cbv:ER-"),
}

_VOCAB_WORDS = {
    "bizStep": "business step",
    "disposition": "disposition",
    "bizTransaction-type": "business transaction type",
    "source-dest-type": "source/destination type",
    "error-reason": "error reason",
    "measurementType": "sensor measurement type",
    "sensorAlertType": "sensor alert type",
    "component": "sensor component",
}

_EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$"
)
_MAX_SHOWN = 60

_format_checker = FormatChecker(formats=())


@_format_checker.checks("uri")
def _is_uri(value: object) -> bool:
    """Absolute URI (RFC 3986 §4.3): scheme ``:`` something, no spaces."""
    return not isinstance(value, str) or _URI.match(value) is not None


@_format_checker.checks("date-time")
def _is_date_time(value: object) -> bool:
    """RFC 3339 §5.6 date-time with a real calendar date and clock time."""
    if not isinstance(value, str):
        return True
    m = _DATE_TIME.match(value)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if m.group(7) is not None and (int(m.group(7)) > 23 or int(m.group(8)) > 59):
        return False
    try:
        datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return False
    return second <= 60


@cache
def schema() -> dict[str, Any]:
    """The vendored GS1 EPCIS 2.0 JSON schema (draft 07), parsed once."""
    text = files("scanners").joinpath("schemas/epcis-json-schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> Draft7Validator:
    return Draft7Validator(schema(), format_checker=_format_checker)


@cache
def _event_validator() -> Draft7Validator:
    """The schema's rules for one member of ``eventList`` (EPCIS-Document-Event)."""
    root = {**schema(), "allOf": [{"$ref": "#/definitions/EPCIS-Document-Event"}]}
    del root["required"], root["properties"]
    return Draft7Validator(root, format_checker=_format_checker)


@cache
def _fast() -> jsonschema_rs.Draft7Validator:
    """Same schema and formats in jsonschema-rs: says valid or not, ~30x faster."""
    return jsonschema_rs.Draft7Validator(
        schema(), formats={"uri": _is_uri, "date-time": _is_date_time}, validate_formats=True
    )


def _schema_problems(doc: object, walked: bool) -> list[_Problem]:
    """Schema problems, in words, of a document jsonschema-rs found invalid.

    jsonschema (Python) words the errors, but only where they can come first: the
    document without its events, and the first event jsonschema-rs faulted.
    """
    faulted = [list(e.instance_path) for e in _fast().iter_errors(doc)]
    body = doc.get("epcisBody") if isinstance(doc, dict) else None
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(doc, dict) or not isinstance(body, dict) or not isinstance(events, list):
        return _words_for(_validator().iter_errors(doc), ())
    indices = sorted(
        p[2]
        for p in faulted
        if len(p) > 2 and p[:2] == ["epcisBody", "eventList"] and isinstance(p[2], int)
    )
    problems: list[_Problem] = []
    if any(not (len(p) > 2 and p[:2] == ["epcisBody", "eventList"]) for p in faulted):
        shell = {**doc, "epcisBody": {**body, "eventList": []}}
        problems += _words_for(_validator().iter_errors(shell), ())
    if indices:
        where: tuple[str | int, ...] = ("epcisBody", "eventList", indices[0])
        event = events[indices[0]]
        if isinstance(event, dict) and not isinstance(event.get("type"), str):
            # without a type every event type's rules apply: name only the type
            hint = "a string" if "type" in event else "required member is missing"
            problems.append(
                _Problem((*where, "type"), f"{hint} (the event type, e.g. ObjectEvent)")
            )
        else:
            problems += _words_for(_event_validator().iter_errors(event), where)
    if not problems and not walked and faulted:
        # a member name (words come from _Walker), or the two libraries disagree
        first = min(faulted, key=lambda p: _order(doc, p))
        problems.append(_Problem(tuple(first), "breaks the EPCIS 2.0 JSON schema"))
    return problems


def _words_for(errors: Iterable[ValidationError], prefix: tuple[str | int, ...]) -> list[_Problem]:
    out: list[_Problem] = []
    for error in errors:
        problem = _from_schema(error)
        if problem is not None:
            out.append(_Problem((*prefix, *problem.path), problem.reason, problem.general))
    return out


@dataclass(frozen=True, slots=True)
class _Problem:
    path: tuple[str | int, ...]
    reason: str
    # a requirement across members ("needs a non-empty epcList or quantityList"):
    # reported only when no member has a problem of its own, which explains more
    general: bool = False


def validate_document(doc: object) -> None:
    """Check an EPCIS 2.0 JSON document (parsed JSON) against the schema and the CBV.

    Returns None when valid. Raises :class:`scanners.epcis.EpcisError` with ``path``
    (JSON path of the first problem in document order, e.g.
    ``$.epcisBody.eventList[0].quantityList[0].quantity``) and ``reason`` (words;
    long values cut to 60 characters). Standards: EPCIS 2.0 (ISO/IEC 19987:2024) §8
    and its JSON schema, CBV 2.0 (ISO/IEC 19988:2024) §7-8.
    """
    from scanners.epcis import EpcisError

    bad_key = _non_string_key(doc, ())
    if bad_key is not None:  # not JSON at all (Python callers only)
        raise EpcisError(_json_path(bad_key), "member names must be strings")
    walked = _Walker(doc).problems() if isinstance(doc, dict) else []
    problems = [] if _fast().is_valid(doc) else _schema_problems(doc, bool(walked))
    problems.extend(walked)
    if not problems:
        return
    # the first problem in document order; a member's own problem (epcList is not a
    # list) before a requirement across members that it may be the cause of
    first = min(problems, key=lambda p: (p.general, _order(doc, p.path)))
    raise EpcisError(_json_path(first.path), first.reason)


def _non_string_key(node: object, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                return path
            found = _non_string_key(value, (*path, key))
            if found is not None:
                return found
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found = _non_string_key(item, (*path, i))
            if found is not None:
                return found
    return None


# --- schema errors into words ------------------------------------------------------------


def _from_schema(error: ValidationError) -> _Problem | None:
    """One schema error as a problem at the member it concerns; None if the walker covers it."""
    path = tuple(error.absolute_path)
    kind = error.validator
    if (
        kind in ("propertyNames", "additionalProperties")
        or "propertyNames" in error.absolute_schema_path
    ):
        return None  # member names: _Walker says which and why, in document order
    if kind == "required":
        missing = _missing_member(error)
        hint = _REQUIRED_HINTS.get(missing, "")
        return _Problem((*path, missing), "required member is missing" + hint)
    if kind == "anyOf" or kind == "oneOf":
        return _from_alternatives(error, path)
    return _Problem(path, _words(error))


_REQUIRED_HINTS = {
    "eventTimeZoneOffset": " (the time zone offset of eventTime, ±hh:mm)",
    "eventTime": " (an RFC 3339 date-time)",
    "action": " (ADD, OBSERVE or DELETE)",
    "type": " (the event type, e.g. ObjectEvent)",
}


def _missing_member(error: ValidationError) -> str:
    required = error.validator_value
    instance = error.instance
    if isinstance(required, list) and isinstance(instance, dict):
        for name in required:
            if name not in instance:
                return str(name)
    return str(required)


def _from_alternatives(error: ValidationError, path: tuple[str | int, ...]) -> _Problem:
    vocab = _vocabulary_of(error.schema)
    if vocab is not None:
        return _Problem(path, _vocab_reason(error.instance, vocab))
    subs = list(error.context or ())
    members = _alternative_members(subs)
    if members and isinstance(error.instance, dict):
        # what an event must carry: EPCs, quantities, sensor data (or a DELETE)
        unless_delete = any(
            s.validator == "pattern" and s.validator_value == "^DELETE$" for s in subs
        )
        reason = "needs a non-empty " + " or ".join(members)
        if unless_delete:
            reason += " (unless the action is DELETE)"
        present = [name for name in error.instance if name in members]
        return _Problem((*path, present[0] if present else members[0]), reason, general=True)
    deepest = best_match(subs) if subs else None
    inner = _from_schema(deepest) if deepest is not None else None
    return inner if inner is not None else _Problem(path, _words(error))


def _alternative_members(subs: list[ValidationError]) -> list[str]:
    """Members the alternatives of an anyOf ask for (required or non-empty), in schema order."""
    names: list[str] = []
    for sub in subs:
        if sub.validator == "required":
            name = _missing_member(sub)
        elif sub.validator == "minItems" and sub.relative_path:
            name = str(sub.relative_path[-1])
        else:
            continue
        if name not in names:
            names.append(name)
    return names


def _vocabulary_of(subschema: object) -> str | None:
    if not isinstance(subschema, dict):
        return None
    definitions = schema()["definitions"]
    for name in _VOCAB_WORDS:
        if definitions.get(name) == subschema:
            return name
    return None


def _vocab_values(vocab: str) -> list[str]:
    for branch in schema()["definitions"][vocab]["anyOf"]:
        if "enum" in branch:
            return [str(v) for v in branch["enum"]]
    return []


def _vocab_reason(value: object, vocab: str) -> str:
    values = _vocab_values(vocab)
    shown = ", ".join(values[:8]) + (f" and {len(values) - 8} more" if len(values) > 8 else "")
    return (
        f"{_show(value)} is neither a CBV {_VOCAB_WORDS[vocab]} value ({shown}) "
        "nor an absolute URI (a vocabulary of your own)"
    )


_TYPE_WORDS = {
    "number": "a number",
    "integer": "an integer",
    "string": "a string",
    "array": "a list",
    "object": "an object",
    "boolean": "true or false",
    "null": "null",
}


def _words(error: ValidationError) -> str:
    kind = error.validator
    value = error.instance
    limit = error.validator_value
    if kind == "type":
        types = limit if isinstance(limit, list) else [limit]
        return f"{_show(value)} is not " + " or ".join(
            _TYPE_WORDS.get(str(t), str(t)) for t in types
        )
    if kind == "format":
        if limit == "uri":
            path = tuple(error.absolute_path)
            if path == ("type",):  # an event's type (events are checked one by one)
                return (
                    f"{_show(value)} is not an EPCIS event type ({', '.join(_EVENT_TYPES)}) "
                    "nor a URI naming an extension event type"
                )
            return f"{_show(value)} is not an absolute URI"
        if limit == "date-time":
            return f"{_show(value)} is not an RFC 3339 date-time (e.g. 2024-05-01T08:30:00Z)"
    if kind == "enum" and isinstance(limit, list):
        return f"{_show(value)} is not one of " + ", ".join(str(v) for v in limit)
    if kind == "const":
        return f"expected {_show(limit)}, got {_show(value)}"
    if kind == "pattern":
        if tuple(error.absolute_path)[-1:] == ("eventTimeZoneOffset",):
            return f"{_show(value)} is not a time zone offset ±hh:mm from -13:59 to +14:00"
        if tuple(error.absolute_path)[-1:] == ("action",):
            return f"{_show(value)} is not allowed with these members (ilmd needs action ADD)"
        return f"{_show(value)} does not match the pattern {limit}"
    if kind == "minItems":
        return f"needs at least {limit} item{'s' if limit != 1 else ''}"
    if kind == "uniqueItems":
        return "has duplicate items"
    if kind == "not":
        return "is not allowed here (ilmd goes with action ADD only)"
    return f"breaks the EPCIS 2.0 schema rule {kind!s}"


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


# --- what the schema cannot say -----------------------------------------------------------

_OPEN = "open"  # extension members may stand here
_CLOSED = "closed"  # only the EPCIS members


def _members(definition: str) -> frozenset[str]:
    return frozenset(schema()["definitions"][definition]["properties"])


def _event_members(event_type: str) -> frozenset[str]:
    definitions = schema()["definitions"]
    common = definitions["common-event-properties"]["anyOf"][0]["enum"]
    own = definitions[event_type]["allOf"][1]["propertyNames"]["anyOf"][1]["enum"]
    return frozenset((*common, *own))


class _Walker:
    """Member names, extension namespaces and CBV-namespace URIs, in document order."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.found: list[_Problem] = []

    def problems(self) -> list[_Problem]:
        doc = self.doc
        prefixes = _declared(doc.get("@context"), CONTEXT_PREFIXES)
        self.names(
            doc,
            (),
            {
                "@context",
                "type",
                "id",
                "schemaVersion",
                "creationDate",
                "epcisHeader",
                "epcisBody",
                "sender",
                "receiver",
                "instanceIdentifier",
            },
            _OPEN,
            prefixes,
            "an EPCIS document",
        )
        header = doc.get("epcisHeader")
        if isinstance(header, dict):
            self.names(
                header, ("epcisHeader",), {"epcisMasterData"}, _OPEN, prefixes, "epcisHeader"
            )
        body = doc.get("epcisBody")
        if isinstance(body, dict):
            self.names(
                body, ("epcisBody",), {"eventList", "queryResults"}, _OPEN, prefixes, "epcisBody"
            )
            events = body.get("eventList")
            if isinstance(events, list):
                for i, event in enumerate(events):
                    if isinstance(event, dict):
                        self.event(event, ("epcisBody", "eventList", i), prefixes)
        return self.found

    def event(
        self, event: dict[str, Any], path: tuple[str | int, ...], doc_prefixes: frozenset[str]
    ) -> None:
        prefixes = _declared(event.get("@context"), doc_prefixes)
        etype = event.get("type")
        if etype in _EVENT_TYPES:
            self.names(
                event,
                path,
                _event_members(str(etype)),
                _OPEN,
                prefixes,
                f"an {etype}" if str(etype)[0] in "AEIOU" else f"a {etype}",
            )
        for name, closed_def, label in (
            ("readPoint", "readPoint", "readPoint"),
            ("bizLocation", "bizLocation", "bizLocation"),
        ):
            value = event.get(name)
            if isinstance(value, dict):
                self.names(value, (*path, name), _members(closed_def), _OPEN, prefixes, label)
        self.vocab(event, path, "bizStep", "bizStep")
        self.vocab(event, path, "disposition", "disposition")
        persistent = event.get("persistentDisposition")
        if isinstance(persistent, dict):
            where = (*path, "persistentDisposition")
            self.names(
                persistent, where, {"set", "unset"}, _CLOSED, prefixes, "persistentDisposition"
            )
            for key in ("set", "unset"):
                items = persistent.get(key)
                if isinstance(items, list):
                    for j, item in enumerate(items):
                        self.cbv_uri(item, (*where, key, j), "disposition")
        for list_name, kind in (
            ("quantityList", "quantityElement"),
            ("childQuantityList", "quantityElement"),
            ("inputQuantityList", "quantityElement"),
            ("outputQuantityList", "quantityElement"),
            ("bizTransactionList", "bizTransaction"),
            ("sourceList", "source"),
            ("destinationList", "destination"),
        ):
            items = event.get(list_name)
            if not isinstance(items, list):
                continue
            for j, item in enumerate(items):
                if not isinstance(item, dict):
                    continue
                where = (*path, list_name, j)
                label = {
                    "quantityElement": "a quantity element",
                    "bizTransaction": "a business transaction",
                    "source": "a source",
                    "destination": "a destination",
                }[kind]
                self.names(item, where, _members(kind), _CLOSED, prefixes, label)
                if kind == "bizTransaction":
                    self.vocab(item, where, "type", "bizTransaction-type")
                elif kind in ("source", "destination"):
                    self.vocab(item, where, "type", "source-dest-type")
        error = event.get("errorDeclaration")
        if isinstance(error, dict):
            where = (*path, "errorDeclaration")
            self.names(
                error, where, _members("errorDeclaration"), _OPEN, prefixes, "errorDeclaration"
            )
            self.vocab(error, where, "reason", "error-reason")
        ilmd = event.get("ilmd")
        if isinstance(ilmd, dict):
            self.names(ilmd, (*path, "ilmd"), set(), _OPEN, prefixes, "ilmd")
        sensors = event.get("sensorElementList")
        if isinstance(sensors, list):
            for j, element in enumerate(sensors):
                if not isinstance(element, dict):
                    continue
                where = (*path, "sensorElementList", j)
                self.names(
                    element, where, _members("sensorElement"), _OPEN, prefixes, "a sensorElement"
                )
                meta = element.get("sensorMetadata")
                if isinstance(meta, dict):
                    self.names(
                        meta,
                        (*where, "sensorMetadata"),
                        _members("sensorMetadata"),
                        _OPEN,
                        prefixes,
                        "sensorMetadata",
                    )
                reports = element.get("sensorReport")
                if isinstance(reports, list):
                    for k, report in enumerate(reports):
                        if isinstance(report, dict):
                            self.names(
                                report,
                                (*where, "sensorReport", k),
                                _members("sensorReport") | {"coordinateReferenceSystem"},
                                _OPEN,
                                prefixes,
                                "a sensorReport",
                            )

    def names(
        self,
        obj: dict[str, Any],
        path: tuple[str | int, ...],
        known: frozenset[str] | set[str],
        openness: str,
        prefixes: frozenset[str],
        label: str,
    ) -> None:
        for name in obj:
            if name in known:
                continue
            where = (*path, name)
            problem = _namespace_problem(str(name), prefixes)
            if problem is not None:
                self.found.append(_Problem(where, f"{problem} ({label} has no member {name!r})"))
            elif openness == _CLOSED:
                self.found.append(
                    _Problem(where, f"extension members may not stand in {label} (EPCIS 2.0 §8)")
                )

    def vocab(
        self, obj: dict[str, Any], path: tuple[str | int, ...], name: str, vocab: str
    ) -> None:
        if name in obj:
            self.cbv_uri(obj[name], (*path, name), vocab)

    def cbv_uri(self, value: object, path: tuple[str | int, ...], vocab: str) -> None:
        if not isinstance(value, str):
            return
        for prefix in CBV_PREFIXES[vocab]:
            if value.startswith(prefix) and value[len(prefix) :] not in _vocab_values(vocab):
                values = _vocab_values(vocab)
                shown = ", ".join(values[:8]) + (
                    f" and {len(values) - 8} more" if len(values) > 8 else ""
                )
                reason = (
                    f"{_show(value)} is in the CBV namespace but names no CBV "
                    f"{_VOCAB_WORDS[vocab]} value ({shown})"
                )
                self.found.append(_Problem(path, reason))
                return


def _declared(context: object, inherited: frozenset[str]) -> frozenset[str]:
    """Prefixes a JSON-LD ``@context`` (string, object or list of them) declares."""
    items: Sequence[object] = context if isinstance(context, list) else [context]
    names = {str(k) for item in items if isinstance(item, dict) for k in item}
    return inherited | names if names else inherited


def _namespace_problem(name: str, prefixes: frozenset[str]) -> str | None:
    """Why ``name`` is no namespaced extension member, or None if it is one."""
    if ":" not in name:
        return "an extension member must be namespaced (prefix:name or a full IRI)"
    prefix, rest = name.split(":", 1)
    if rest.startswith("//") or prefix == "urn":
        return None if _URI.match(name) else "not a valid IRI"
    if prefix not in prefixes:
        return f"prefix {prefix!r} is not declared in @context"
    if not rest:
        return "a compact IRI needs a name after the prefix"
    return None


# --- paths and document order ----------------------------------------------------------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _json_path(path: Sequence[str | int]) -> str:
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


def _order(doc: object, path: Sequence[str | int]) -> tuple[int, ...]:
    """Where ``path`` lies in the document: positions of its members and items."""
    key: list[int] = []
    node: object = doc
    for part in path:
        if isinstance(node, dict):
            names = list(node)
            if part in node:
                key.append(names.index(part))
                node = node[part]
                continue
            key.append(-1)  # a missing member sorts first in its object
            break
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            key.append(part)
            node = node[part]
            continue
        break
    return tuple(key)
