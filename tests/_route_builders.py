"""Share Werkzeug's compiled URL builders between the apps the suite creates.

Every ``create_app()`` registers ~300 URL rules, and Werkzeug compiles two URL
builder functions per rule by building and compiling a Python AST
(``Rule._compile_builder``): about 0.1 s per app, paid again by every test that
makes an app. The builder's code depends only on the rule's parsed trace, its
defaults and whether unknown arguments are appended; the function takes the rule
as its first argument and reads the rule's converters when called, so one compiled
function serves every rule with the same key. :func:`install` memoizes it for the
test session; production builds its app once and is untouched.
``tests/web/test_route_builders.py`` checks that URLs built this way are the ones
Werkzeug builds itself.

Parsing each rule's text into the parts the matcher walks (``Rule._parse_rule``)
was most of the rest (about 40 ms of the 0.12 s an app took, 2-core machine, load
2). The parts depend only on the rule's text and the converters it names (their
class and arguments: a converter's regex is part of a part's text), so
:func:`install` memoizes them too: the first rule with a given text and converter
classes is parsed by Werkzeug; later ones get the same parts and trace, and
converters of their own, made by their own map as Werkzeug makes them.
``tests/web/test_route_builders.py`` checks every rule's parts, trace, converters
and arguments against a fresh parse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.routing.converters import BaseConverter
from werkzeug.routing.rules import Rule, RulePart

__all__ = ["install", "original_compile_builder", "original_parse_rule"]

original_compile_builder = Rule._compile_builder
original_parse_rule = Rule._parse_rule
_CACHE: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}


@dataclass(frozen=True)
class _Parsed:
    """What parsing one rule text leaves: the parts, the trace entries it added and
    each variable's converter as ``(variable, converter name, args, kwargs)``."""

    parts: tuple[RulePart, ...]
    trace: tuple[tuple[bool, str], ...]
    converters: tuple[tuple[str, str, tuple[Any, ...], tuple[tuple[str, Any], ...]], ...]


_PARSED: dict[tuple[Any, ...], _Parsed] = {}


def _key(rule: Rule, append_unknown: bool) -> tuple[Any, ...] | None:
    defaults = rule.defaults or {}
    try:
        frozen = tuple(sorted((k, repr(v)) for k, v in defaults.items()))
    except TypeError:
        return None
    # defaults that appear in the rule are turned into constants by their converter
    converters = tuple(
        sorted(
            (name, type(c).__name__, repr(sorted((k, v) for k, v in vars(c).items() if k != "map")))
            for name, c in rule._converters.items()
        )
    )
    return (rule.rule, tuple(rule._trace), frozen, converters, append_unknown)


def _compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
    key = _key(self, append_unknown)
    if key is None:
        return original_compile_builder(self, append_unknown)
    built = _CACHE.get(key)
    if built is None:
        built = _CACHE[key] = original_compile_builder(self, append_unknown)
    return built


def _parse_rule(self: Rule, rule: str) -> Iterator[RulePart]:
    converters = self.map.converters
    key = (rule, tuple(sorted(converters.items())))
    parsed = _PARSED.get(key)
    if parsed is None:
        trace_before = len(self._trace)
        made: list[tuple[str, str, tuple[Any, ...], tuple[tuple[str, Any], ...]]] = []
        get_converter = self.get_converter

        def recording(
            variable: str, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
        ) -> BaseConverter:
            made.append((variable, name, tuple(args), tuple(sorted(kwargs.items()))))
            return get_converter(variable, name, args, kwargs)

        self.get_converter = recording  # type: ignore[method-assign]
        try:
            parts = tuple(original_parse_rule(self, rule))
        finally:
            del self.get_converter
        parsed = _Parsed(parts, tuple(self._trace[trace_before:]), tuple(made))
        _PARSED[key] = parsed
        yield from parts
        return
    self._trace.extend(parsed.trace)
    for variable, name, args, kwargs in parsed.converters:
        self._converters[variable] = self.get_converter(variable, name, args, dict(kwargs))
        self.arguments.add(variable)
    yield from parsed.parts


def install() -> None:
    """Memoize ``Rule._compile_builder`` and ``Rule._parse_rule`` (idempotent)."""
    Rule._compile_builder = _compile_builder  # type: ignore[method-assign]
    Rule._parse_rule = _parse_rule  # type: ignore[method-assign]
