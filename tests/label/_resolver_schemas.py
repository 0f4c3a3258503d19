"""The GS1-Conformant Resolver 1.2 JSON schemas the resolver's answers must validate
against, their essentials written out (draft-07), and :func:`validate`."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator

# The essentials of the standard's linkset schema (ref.gs1.org/standards/resolver/
# linkset-schema, draft-07), written out: a "linkset" array of link context
# objects, each with an http(s) "anchor", optionally "itemDescription" and
# "description", and link types (lower-case words or http(s) URIs) holding
# arrays of targets; a target has "href" (http(s)) and "title", optionally
# "hreflang" (an array of ll or ll-CC tags), "type" (a media type), "context",
# "fwqs", "public", and nothing else.
_URI = r"^https?://[a-zA-Z0-9./]+"
LINKSET_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "linkset": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "anchor": {"type": "string", "pattern": _URI},
                    "itemDescription": {"type": "string"},
                    "description": {"type": "string"},
                },
                "patternProperties": {
                    r"(?!(anchor|itemDescription|description))^([a-z-]+$)|(^https?://[a-zA-Z0-9./]+$)": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "href": {"type": "string", "pattern": _URI},
                                "title": {"type": "string"},
                                "hreflang": {
                                    "type": "array",
                                    "items": {
                                        "type": "string",
                                        "pattern": r"(^\w{2}$)|(^\w{2}-\w{2}$)",
                                    },
                                },
                                "type": {"type": "string", "pattern": r"\w+/[-+.\w]+"},
                                "context": {"type": "array"},
                                "fwqs": {"type": "boolean"},
                                "public": {"type": "boolean"},
                            },
                            "required": ["href", "title"],
                            "additionalProperties": False,
                        },
                    }
                },
                "required": ["anchor"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["linkset"],
    "additionalProperties": False,
}

# The essentials of the resolver description file schema, release 1.2.0
# (ref.gs1.org/standards/resolver/1.2.0/description-file-schema, draft-07).
_KEYS = ["all", "01", "8006", "8013", "8010", "410", "411", "412", "413", "414", "415"]
_KEYS += ["417", "8017", "8018", "255", "00", "253", "401", "402", "8003", "8004"]
DESCRIPTION_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "resolverRoot": {"type": "string", "format": "uri"},
        "supportedPrimaryKeys": {"type": "array", "items": {"type": "string", "enum": _KEYS}},
        "name": {"type": "string"},
        "supportedLinkType": {
            "type": "array",
            "items": {
                "properties": {
                    "namespace": {"type": "string", "format": "uri"},
                    "prefix": {"type": "string", "pattern": "^[a-zA-Z_][A-Za-z0-9_-]*?:$"},
                }
            },
        },
        "linkTypeDefaultCanBeLinkset": {"type": "boolean"},
        "supportedContextValuesEnumerated": {"type": "array", "items": {"type": "string"}},
        "supportedContextValuesExternal": {"type": "array", "items": {"type": "object"}},
        "contact": {"type": "object"},
        "extensionProfile": {"type": "string", "format": "uri"},
        "jsonLdContextLocation": {"type": "string", "format": "uri"},
    },
    "required": ["resolverRoot", "supportedPrimaryKeys"],
}


def validate(schema: dict[str, Any], document: Any) -> None:
    """Assert ``document`` is valid by ``schema``, listing every error otherwise."""
    errors = [e.message for e in Draft7Validator(schema).iter_errors(document)]
    assert errors == [], errors
