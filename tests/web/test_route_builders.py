"""The suite's shared URL builders (tests/_route_builders.py) build every URL of
the app exactly as Werkzeug's own freshly compiled builders do."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing.converters import IntegerConverter, PathConverter

from tests import _route_builders


def _sample(converter: object) -> object:
    if isinstance(converter, IntegerConverter):
        return 7
    if isinstance(converter, PathConverter):
        return "a/b c"
    return "x y/ü"


def test_every_rule_builds_the_url_werkzeug_builds(app: Flask) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        args = {name: _sample(c) for name, c in rule._converters.items()}
        for unknown in (False, True):
            fresh = _route_builders.original_compile_builder(rule, unknown).__get__(rule, None)
            shared = rule._build_unknown if unknown else rule._build
            extra = {"q": "1 2", "page": 3} if unknown else {}
            assert shared(**args, **extra) == fresh(**args, **extra), rule.rule
        checked += 1
    assert checked > 250  # every page, API endpoint and static route
