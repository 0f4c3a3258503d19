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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing.rules import Rule

__all__ = ["install", "original_compile_builder"]

original_compile_builder = Rule._compile_builder
_CACHE: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}


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


def install() -> None:
    """Memoize ``Rule._compile_builder`` (idempotent)."""
    Rule._compile_builder = _compile_builder  # type: ignore[method-assign]
