"""URL rules whose ``url_for`` builders are compiled on first use.

Werkzeug compiles two builder functions for every rule when the rule is added
(``Rule.compile`` -> ``Rule._compile_builder``: an AST per rule, then
``compile``). With 389 rules that was 80% of :func:`web.app.create_app`
(0.14 s of 0.17 s a call, measured with cProfile), paid by every command that
builds the app and by every test that takes the ``app`` fixture, though a
process builds URLs for only a few of its rules. :class:`LazyBuilderRule`
compiles a rule's builder the first time that rule builds a URL and keeps it;
matching (the router's state machine) is untouched. Installed through Flask's
own extension point, ``Flask.url_rule_class``.

``_compile_builder`` is Werkzeug's (2.2 to 3.x, ``pyproject.toml`` requires
``werkzeug>=3.0``); where a Werkzeug has none, :func:`rule_class` answers the
plain :class:`~werkzeug.routing.Rule`, so such a release costs the start-up
time, never a wrong URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule

__all__ = ["LazyBuilderRule", "rule_class"]

_Builder = Callable[..., tuple[str, str]]


class LazyBuilderRule(Rule):
    """A :class:`~werkzeug.routing.Rule` whose two builders (with and without
    unknown arguments appended as a query string) are compiled on first use.

    The stand-in replaces itself on the rule with Werkzeug's compiled builder,
    then calls it, so the URLs are Werkzeug's own; two threads racing on the
    first use both compile the same builder and one wins, which is harmless."""

    def _compile_builder(self, append_unknown: bool = True) -> _Builder:
        attribute = "_build_unknown" if append_unknown else "_build"

        def build_on_first_use(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            compiled: _Builder = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, attribute, compiled)
            return compiled(*args, **kwargs)

        return build_on_first_use


def rule_class() -> type[Rule]:
    """:class:`LazyBuilderRule` where Werkzeug compiles builders with
    ``Rule._compile_builder``, else the plain ``Rule``."""
    return LazyBuilderRule if callable(getattr(Rule, "_compile_builder", None)) else Rule
