"""The suite's shared URL builders and rule parses (tests/_route_builders.py) build
every URL of the app exactly as Werkzeug's own freshly compiled builders do, and give
every rule the parts, trace and converters Werkzeug's own parse gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from werkzeug.routing import Map, Rule
from werkzeug.routing.converters import IntegerConverter, PathConverter

from tests import _route_builders


def _sample(converter: object) -> object:
    if isinstance(converter, IntegerConverter):
        return 7
    if isinstance(converter, PathConverter):
        return "a/b c"
    return "x y/ü"


def test_every_rule_builds_the_url_werkzeug_builds(words_app: Flask) -> None:
    checked = 0
    for rule in words_app.url_map.iter_rules():
        args = {name: _sample(c) for name, c in rule._converters.items()}
        for unknown in (False, True):
            fresh = _route_builders.original_compile_builder(rule, unknown).__get__(rule, None)
            shared = rule._build_unknown if unknown else rule._build
            extra = {"q": "1 2", "page": 3} if unknown else {}
            assert shared(**args, **extra) == fresh(**args, **extra), rule.rule
        checked += 1
    assert checked > 250  # every page, API endpoint and static route


def test_every_rule_is_parsed_as_werkzeug_parses_it(words_app: Flask) -> None:
    """The shared parse gives each rule the parts, trace, converters (its own objects,
    on its own map) and arguments a fresh parse by Werkzeug gives."""
    checked = 0
    for rule in words_app.url_map.iter_rules():
        fresh = Rule(rule.rule, endpoint=rule.endpoint, defaults=rule.defaults)
        fresh.map = rule.map
        fresh._trace, fresh._converters, fresh.arguments = [], {}, set()
        fresh_parts = list(_route_builders.original_parse_rule(fresh, rule.rule))
        assert rule._parts[1:] == fresh_parts, rule.rule  # [0]: the empty domain part
        assert rule._trace == [(False, "|"), *fresh._trace], rule.rule
        assert rule.arguments >= fresh.arguments == set(rule._converters), rule.rule
        for name, converter in rule._converters.items():
            made = fresh._converters[name]
            assert converter is not made and converter.map is rule.map, rule.rule
            assert (type(converter), vars(converter)) == (type(made), vars(made)), rule.rule
        checked += 1
    assert checked > 250


def test_a_second_app_shares_the_parse_and_not_the_converters(words_app: Flask) -> None:
    """The memo serves a second app's rules (same parts), each rule still has
    converters of its own bound to its own map, and a malformed rule is refused as
    Werkzeug refuses it."""
    from web import create_app
    from web.db import get_engine

    same = {k: words_app.config[k] for k in ("TESTING", "DATABASE_URL", "SECRET_KEY")}
    other = create_app(
        {**same, "INSTANCE_PATH": Path(words_app.instance_path), "SECURE_COOKIES": False}
    )
    rules = {(r.rule, r.endpoint): r for r in words_app.url_map.iter_rules()}
    shared = 0
    for rule in other.url_map.iter_rules():
        mine = rules[rule.rule, rule.endpoint]
        assert rule._parts == mine._parts and rule._trace == mine._trace, rule.rule
        for name, converter in rule._converters.items():
            assert converter is not mine._converters[name] and converter.map is other.url_map
            shared += 1
    assert shared > 50
    with other.app_context():
        get_engine().dispose()
    for _ in range(2):  # not remembered as parsed either
        with pytest.raises(ValueError, match="malformed url rule"):
            Map([Rule("/b/<int:id", endpoint="y")])
