"""A package's public names imported on first use (PEP 562), so ``import settlement`` is free.

The command line starts in a fraction of a second only when importing a package
does not import all of it (numba kernels, matplotlib maps, reportlab labels,
SQLAlchemy models). A package's ``__init__.py`` lists its public names as
imports under ``if TYPE_CHECKING:`` — what readers and mypy see — and ends
with::

    if not TYPE_CHECKING:
        __getattr__, __dir__ = lazy_exports(__name__, __file__)

The first ``package.name`` (or ``from package import name``) imports the one
submodule that defines the name and keeps the value in the package. The
``if TYPE_CHECKING:`` block of the ``__init__.py`` is the only list: it is read
from the file itself (Python's ``ast``), so the two cannot drift apart.

A public name equal to a submodule's name (``scanners.parse``) must be bound
eagerly in the ``__init__.py``: importing the submodule would otherwise set the
package attribute to the module.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, init_file: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package ``package`` whose ``__init__.py`` is ``init_file``.

    ``__getattr__(name)`` imports ``name`` from the submodule its
    ``if TYPE_CHECKING:`` import names and stores it in the package; it raises
    ``AttributeError`` for any other name (so ``from package import submodule``
    still imports the submodule).
    """
    origins: dict[str, tuple[str, str]] = {}

    def known() -> dict[str, tuple[str, str]]:
        if not origins:
            origins.update(_type_checking_imports(Path(init_file).read_text(encoding="utf-8")))
        return origins

    def __getattr__(name: str) -> Any:
        origin = known().get(name)
        if origin is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, attr = origin
        value = getattr(importlib.import_module(module_name), attr)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(known()))

    return __getattr__, __dir__


def _type_checking_imports(source: str) -> dict[str, tuple[str, str]]:
    """Bound name → (absolute module, attribute) of every ``from M import a [as b]``
    directly inside a module-level ``if TYPE_CHECKING:`` of ``source``."""
    found: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
                for alias in statement.names:
                    found[alias.asname or alias.name] = (statement.module, alias.name)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )
