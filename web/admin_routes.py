"""Admin pages that live in their own modules but keep ``admin.*`` endpoint names.

The navigation and the links name pages ``admin.devices``, ``admin.territories``…;
a topic module registers its views under those names with :func:`admin_rule`
instead of growing ``web.admin`` into one large module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

__all__ = ["admin_rule"]


def admin_rule(
    bp: Blueprint, rule: str, endpoint: str, methods: tuple[str, ...]
) -> Callable[[Any], Any]:
    """Register the decorated view as ``admin.<endpoint>`` at ``/admin<rule>`` when
    ``bp`` is registered on an app."""

    def decorate(view: Any) -> Any:
        def setup(state: BlueprintSetupState) -> None:
            state.app.add_url_rule(
                "/admin" + rule, endpoint=f"admin.{endpoint}", view_func=view, methods=methods
            )

        bp.record_once(setup)
        return view

    return decorate
