"""The errors of ``geo``: one feature, one reason."""

from __future__ import annotations


class TerritoryError(ValueError):
    """A feature of a territory file cannot become a territory.

    Carries the feature's position in the file and its code (when it has one),
    so the person who drew it can find it, and the reason in words.
    """

    def __init__(self, index: int | None, code: str | None, reason: str) -> None:
        self.index = index
        self.code = code
        self.reason = reason
        where = "territory file" if index is None else f"feature {index}"
        if code:
            where += f" ({code})"
        super().__init__(f"{where}: {reason}")


class GeometryError(TerritoryError):
    """A feature's geometry is not a valid (multi)polygon: open ring, too few
    positions, coordinates out of range, self-intersection, hole outside its shell.
    """
