"""hopchain's web application: pages per user group, the JSON API, auth and roles.

:func:`create_app` (:mod:`web.app`) builds everything; importing this package does
nothing else, and does not even import Flask (PEP 562 lazy exports,
:mod:`ledger.lazy_exports`): ``hopchain --help`` and ``hopchain scan parse``, which
live in ``web.cli``, start without it (``benchmarks/compare_cli_startup.py``).
Tests and CLI commands make apps with their own configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from web.app import BLUEPRINT_MODULES, create_app, load_secret_key

__all__ = ["BLUEPRINT_MODULES", "create_app", "load_secret_key"]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, __file__)
