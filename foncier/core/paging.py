"""Long lists shown a page at a time (parks, history, outbox): the arithmetic they share."""

from __future__ import annotations

import math
from dataclasses import dataclass

from foncier.core.errors import NotFoundError


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` items fill; an empty list still has its (empty) first page."""
    return max(1, math.ceil(total / per_page))


def check_page(page: int, total: int, per_page: int, *, of: str) -> None:
    """Refuse a page before the first or past the last (``of``: of what, for the message)."""
    if page < 1 or (page > 1 and (page - 1) * per_page >= total):
        raise NotFoundError(f"page {page} of {of} does not exist")


@dataclass(frozen=True)
class Paging:
    """Page ``page`` (from 1) of ``total`` items, ``per_page`` a page; subclasses add the
    page's items."""

    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)
