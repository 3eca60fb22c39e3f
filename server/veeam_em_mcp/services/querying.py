"""Reading a whole query window from EM's query service: every page, few requests, a stable snapshot.

The estate operations (job runs of last night, task outcomes, jobs, repositories, the protection report)
need every item of a query, not one page. ``read_all`` asks for large pages (``BULK_PAGE_SIZE``), reads
the first to learn how many there are, then the rest a few at a time, concurrently: the EM client
bounds concurrency and the tool call's deadline bounds time. Time-sorted queries are pinned to the
first page's newest item (``CreationTime<=…``), so a session ending meanwhile neither shifts nor repeats
items across pages. A cap (``max_items``) keeps a huge estate from turning into an unbounded read; what
was left out is said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import anyio

from ..models.resources import Entity
from ..representation.query import QueryPage, parse_query_page, query_url, quote_value
from .context import EmContext

BULK_PAGE_SIZE = 1000  # items per EM page when a whole window is read (EM clients use 1,000–2,000)
PARALLEL_PAGES = 4  # pages in flight at once (the client's VEEAM_EM_MAX_CONCURRENCY bounds them too)


@dataclass(frozen=True)
class Window:
    """All items of a query (up to a cap), and what reading them cost."""

    items: list[Entity]
    pages_read: int
    pages_count: int
    complete: bool  # False when max_items stopped the read before the last page

    @property
    def requests(self) -> int:
        return self.pages_read


def conditions(*parts: str | None) -> str | None:
    """EM's AND of the conditions given (``;``), or ``None`` for no filter."""
    present = [part for part in parts if part]
    return ";".join(present) or None


def any_of(field: str, values: Sequence[str]) -> str | None:
    """``Field=="a"`` or ``(Field=="a",Field=="b")``: EM's OR of equalities, every value quoted."""
    if not values:
        return None
    either = ",".join(f"{field}=={quote_value(value)}" for value in values)
    return f"({either})" if len(values) > 1 else either


async def read_all(
    em: EmContext,
    em_type: str,
    *,
    filter: str | None = None,
    sort: tuple[Literal["asc", "desc"], str] | None = ("desc", "CreationTime"),
    pin: str | None = "creation_time",
    max_items: int | None = None,
    page_size: int = BULK_PAGE_SIZE,
) -> Window:
    """Every item of ``type=em_type`` matching ``filter``, sorted, read in as few requests as EM allows."""

    async def read(expression: str | None, page: int) -> QueryPage:
        url = query_url(em.base_url, em_type, filter=expression, sort=sort, page_size=page_size, page=page)
        return parse_query_page(await em.client.get(url), em_type)

    first = await read(filter, 1)
    items = list(first.items)
    pages_count = first.paging.pages_count
    expression = filter
    if first.paging.has_next and pin is not None and items and sort is not None and sort[0] == "desc":
        newest = getattr(items[0], pin, None)
        if isinstance(newest, str):
            expression = conditions(filter, f"{sort[1]}<={quote_value(newest)}")
    wanted = pages_count
    if max_items is not None:
        wanted = min(pages_count, -(-max_items // page_size))
    pages: dict[int, QueryPage] = {}
    numbers = list(range(2, wanted + 1))
    for start in range(0, len(numbers), PARALLEL_PAGES):
        async with anyio.create_task_group() as group:
            for number in numbers[start : start + PARALLEL_PAGES]:

                async def fetch(page: int = number) -> None:
                    pages[page] = await read(expression, page)

                group.start_soon(fetch)
    for number in sorted(pages):
        items.extend(pages[number].items)
    if max_items is not None and len(items) > max_items:
        items = items[:max_items]
    return Window(items, 1 + len(pages), pages_count, complete=wanted >= pages_count)
