"""What every template may use: the caller and their navigation, and the ``when``
filter (``{{ e.at_ms|when }}``, ``{{ ms|when("%Y-%m-%d") }}``): every stored time
on a page goes through :func:`ledger.times.format_ms`, which never fails on an
odd stored value."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ledger.times import format_ms
from web.nav import items_for
from web.security import current_principal

__all__ = ["init_app"]


def _context() -> dict[str, Any]:
    principal = current_principal()
    return {
        "principal": principal,
        "nav_items": [] if principal is None else items_for(principal.role),
    }


def init_app(app: Flask) -> None:
    app.context_processor(_context)
    app.add_template_filter(format_ms, "when")
