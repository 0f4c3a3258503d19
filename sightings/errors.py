"""The errors of :mod:`sightings`, each naming what is wrong in words a user reads.

``words`` is the English sentence with ``%(name)s`` placeholders (web pages
translate it with the ``values``); ``str(error)`` is the sentence filled in.
"""

from __future__ import annotations

from typing import Any

__all__ = ["InspectionRefused", "SightingError", "SightingRefused", "UnknownCode"]


class SightingError(ValueError):
    """Base class: ``field`` names the input at fault ("" when none)."""

    def __init__(self, words: str, *, field: str = "", **values: Any) -> None:
        self.words = words
        self.field = field
        self.values = values
        super().__init__(words % values if values else words)


class UnknownCode(SightingError):
    """The code is well formed but no unit of ours carries it."""


class SightingRefused(SightingError):
    """A public sighting that cannot be recorded (bad location, used token, no consent)."""


class InspectionRefused(SightingError):
    """An inspection that cannot be recorded (no inspection party, bad photo, ...)."""
