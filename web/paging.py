"""Pages of a long list: ``?page=N`` in, a :class:`Pager` out, one macro to draw it.

Services return ``(items, total)`` for an ``offset`` and ``limit``; a view asks
:func:`page_request` for them and hands the pager to ``_pager.html``'s ``pager()``
macro, which keeps the other query parameters (filters) in its links.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

__all__ = ["PAGE_SIZE", "Pager", "page_request"]

PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # offset at most 5e7 rows: far past any list, far inside BIGINT


@dataclass(frozen=True, slots=True)
class Pager:
    """Where a page sits in a list of ``total`` items (pages count from 1)."""

    page: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_item(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_item(self) -> int:
        return min(self.offset + self.size, self.total)

    def with_total(self, total: int) -> Pager:
        """The same page once the list's length is known (clamped to the last page)."""
        pages = max(1, -(-total // self.size))
        return Pager(min(self.page, pages), self.size, total)


def page_request(size: int = PAGE_SIZE) -> Pager:
    """The page the request asks for (``?page=N``, default 1; nonsense reads as 1).

    Call :meth:`Pager.with_total` once the service has counted the list.
    """
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else 1
    # The offset must fit the database's integers: no list has more rows than ids.
    return Pager(min(max(page, 1), MAX_PAGE), size, 0)
