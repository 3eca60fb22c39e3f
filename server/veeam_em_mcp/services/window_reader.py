"""One attempt at reading a query window (``querying`` says how, retries and re-sizes): its requests and checks.

Page 1 is the window's first range, a probe at each later page boundary gives that boundary's sort value, and
each later range is read between two of them (see ``querying``'s docstring). Page 1 is read but for its items
first (``Query.peek``): its paging and its first and last items decide the probes and the range after it, which
go out while its other items are made, a slice at a time. A range goes out as soon as the probes at its two ends
are answered, not when every probe is (``_Probes``). What EM's answers disagree on raises ``Changed`` (the
attempt is read again), a page 1 too heavy for its size raises ``Resized``.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

import anyio

from ..errors import ApiError
from ..models.base import parse_timestamp
from ..representation.field_pages import PagePeek
from ..representation.query import Paging, em_time, query_url, quote_value
from . import progress
from .context import EmContext
from .gather import gather, together
from .page_sizing import MIN_PAGE_SIZE, fitting_size, range_size
from .query_terms import Sort, conditions

T = TypeVar("T")
_MEDIA = {"json": "application/json", "xml": "application/xml"}
_REFUSED_MEDIA = (406, 415)  # an EM that does not speak the bulk format: read in XML from then on
_LARGE = 64 * 1024  # a body whose reading is long enough to let the requests decided meanwhile go first
_SLICE = 100  # a peeked page's items made at a time, while the requests decided meanwhile go out
_SLICE_BYTES = 128 * 1024  # fewer when they weigh more than this together (jobs with their members: ~25 kB each)


@dataclass(frozen=True)
class QueryWindow(Generic[T]):
    """The items of a query window (each once), what reading them cost, and what may be off."""

    items: list[T]
    requests: int
    complete: bool  # False when the page cap left the rest of the window unread (the oldest items)
    total: int | None  # items EM counted in the window, when known
    issue: str | None = None  # set when EM's data kept changing while it was read (after one re-read)
    page_size: int = 0


class Resized(Exception):
    """Page 1 weighed so much that the window's pages at its size would come near the cap: read at ``size``."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class Changed(Exception):
    """EM's data changed under a read (or EM's pages disagree); ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Page(Generic[T]):
    items: list[T]
    paging: Paging
    body_bytes: int


@dataclass(frozen=True)
class _Plan:
    """How a window of several pages is read: its pages, its filter (pinned at its upper end for a newest-first
    read) and the positions of its boundary probes."""

    pages: int
    window: str | None
    wanted: int  # pages read (the cap may cut the window)
    truncated: bool
    positions: list[int]  # the probes' positions (pageSize=1&page=position)


@dataclass(frozen=True)
class Query(Generic[T]):
    """What a window read asks EM for: the type, its filter and order, how a page's body is read into items, and
    what tells two items apart."""

    em_type: str
    filter: str | None
    sort: Sort
    parse: Callable[[Any, bytes], tuple[Paging, list[T]]]
    key: Callable[[T], str | None]
    # Page 1 read but for its items (``field_pages.peek_page``), and what to do with a page's items once made: a
    # window of several pages sends its probes and ranges before page 1's items are made.
    peek: Callable[[Any, bytes], PagePeek[T]] | None = None
    each_page: Callable[[list[T]], None] | None = None


class Reader(Generic[T]):
    """One attempt at reading a window (see the module docstring); raises ``Changed`` when EM's data moved."""

    def __init__(self, em: EmContext, query: Query[T], page_size: int, max_pages: int) -> None:
        self.em = em
        self.query = query
        self.em_type, self.filter, self.sort, self.parse, self.key = (
            query.em_type, query.filter, query.sort, query.parse, query.key
        )
        self.page_size = page_size
        self.max_pages = max_pages
        self.requests = 0
        self.kept: list[T] = []
        self.counted: int | None = None
        self.planned = 1  # EM requests this read will make, as far as it knows (services.progress)
        self.slots = anyio.Semaphore(max(1, em.settings.max_concurrency))  # this read's pages in flight

    async def page(self, expression: str | None, size: int, number: int) -> _Page[T]:
        got = await self.unreported_page(expression, size, number)
        # Every page of a window read (first page, boundary probes, ranges, final count) completes here, once.
        await progress.page_read(self, self.planned)
        return got

    async def unreported_page(self, expression: str | None, size: int, number: int) -> _Page[T]:
        """``page`` but for its progress report (a probe reports once the ranges waiting for it may go)."""
        response, body = await self.fetch(expression, size, number)
        paging, items = self.parse(response, body)
        return _Page(items, paging, len(body))

    async def fetch(self, expression: str | None, size: int, number: int) -> tuple[Any, bytes]:
        """One page's response and body, in ``VEEAM_EM_BULK_FORMAT`` (XML from then on where EM refuses it); a
        large one once the requests decided meanwhile are written (its reading is long enough to hold them)."""
        response, body = await self._get(expression, size, number)
        if len(body) > _LARGE:
            await self.em.client.settled()
        return response, body

    async def _get(self, expression: str | None, size: int, number: int) -> tuple[Any, bytes]:
        url = query_url(
            self.em.base_url, self.em_type, filter=expression, sort=self.sort.param(), page_size=size, page=number
        )
        self.requests += 1
        bulk = "xml" if "bulk:json" in self.em.unsupported else self.em.settings.bulk_format
        with progress.reader_request():  # reported below, with the reader's plan, not by the client's hook
            try:
                return await self.em.client.get_raw(url, accept=_MEDIA[bulk])
            except ApiError as refused:
                if bulk == "xml" or refused.status not in _REFUSED_MEDIA:
                    raise
                self.em.unsupported.add("bulk:json")  # this EM does not answer queries in JSON: XML from now on
                self.requests += 1
                return await self.em.client.get_raw(url, accept=_MEDIA["xml"])

    async def count(self, expression: str | None) -> int:
        """The exact number of items matching ``expression``: with one item per page, PagesCount is the count."""
        got = await self.page(expression, 1, 1)
        return got.paging.pages_count if got.items else 0

    def value(self, item: T) -> str:
        value = getattr(item, self.sort.attribute, None)
        if not isinstance(value, str):
            raise Changed(f"an item has no {self.sort.field}, so the window cannot be split by it")
        return value

    def before(self, bound: str) -> str:
        """Items that come strictly before ``bound`` in the read's order."""
        return f"{self.sort.field}{'>' if self.sort.descending else '<'}{quote_value(bound)}"

    def at_or_after(self, bound: str) -> str:
        """Items at ``bound`` or after it in the read's order."""
        return f"{self.sort.field}{'<=' if self.sort.descending else '>='}{quote_value(bound)}"

    async def read(self) -> QueryWindow[T]:
        if self.query.peek is not None:
            return await self._peeked()
        return await self._after(await self.page(self.filter, self.page_size, 1))

    async def _after(self, first: _Page[T]) -> QueryWindow[T]:
        """The window from page 1, read whole."""
        size = self.page_size
        pages = first.paging.pages_count
        if pages <= 1 and not first.paging.has_next:
            self._once(first.items)
            if len(first.items) > size:
                raise Changed(f"EM's single page holds {len(first.items)} items although {size} were asked for")
            self.kept = list(first.items)
            return QueryWindow(self.kept, self.requests, complete=True, total=len(self.kept))
        if len(first.items) != size:
            raise Changed(f"page 1 holds {len(first.items)} items, not {size}, although EM reports {pages} pages")
        self._check_weight(len(first.items), first.body_bytes)
        plan = self._plan(pages, self.value(first.items[0]))
        if plan.wanted == 1:
            # The cap allows one page: page 1 is it, one answer of EM's, whole (the rest is said to be unread).
            self._once(first.items)
            self.kept = list(first.items)
            return QueryWindow(self.kept, self.requests, complete=False, total=None)

        async def head() -> list[T]:
            return first.items

        return await self._rest(plan, self.value(first.items[-1]), head)

    async def _peeked(self) -> QueryWindow[T]:
        """Page 1 read but for its items (``Query.peek``): when the window spans several pages, its probes and
        ranges go out at once, and page 1's items are made meanwhile, a slice at a time (the requests just
        decided progress between slices)."""
        assert self.query.peek is not None
        size = self.page_size
        response, body = await self.fetch(self.filter, size, 1)
        peek = self.query.peek(response, body)
        if (peek.paging.pages_count > 1 or peek.paging.has_next) and peek.count == size:
            self._check_weight(peek.count, len(body))
            plan = self._plan(peek.paging.pages_count, self.value(peek.record_at(0)))
            if plan.wanted > 1:
                last = self.value(peek.record_at(size - 1))
                return await self._rest(plan, last, lambda: self._made(peek, len(body)))
        return await self._after(_Page(await self._made(peek, len(body)), peek.paging, len(body)))

    async def _rest(self, plan: _Plan, last: str, head: Callable[[], Awaitable[list[T]]]) -> QueryWindow[T]:
        """The window's probes and ranges after page 1 (whose last sort value is ``last``), side by side with page
        1's items (``head``), then the window checked whole."""
        (probes, later), items = await together(lambda: self._ranges(plan, last), head)
        self._once(items)
        return await self._close(plan, probes, later, items)

    def _once(self, items: list[T]) -> None:
        twice = len(items) - len(_unique(items, self.key))
        if twice:
            raise Changed(f"EM's page 1 holds {twice} items twice")

    async def _made(self, peek: PagePeek[T], body_bytes: int) -> list[T]:
        """Every item of a peeked page made, a slice at a time (the requests of this read and of the reads beside
        it go out between slices), handed to ``Query.each_page``."""
        items: list[T] = []
        step = max(1, min(_SLICE, _SLICE_BYTES * peek.count // max(1, body_bytes)))
        for start in range(0, peek.count, step):
            items += [peek.record_at(index) for index in range(start, min(peek.count, start + step))]
            await self.em.client.settled()
        if self.query.each_page is not None:
            self.query.each_page(items)
        await progress.page_read(self, self.planned)
        return items

    async def _close(self, plan: _Plan, probes: _Probes[T], later: list[list[T]], head: list[T]) -> QueryWindow[T]:
        """The window from page 1's items (``head``) and the later ranges', checked against the probes' counts and
        a final count."""
        size = self.page_size
        pages = plan.pages
        counts = {probe.paging.pages_count for probe in probes.answered}
        if len(counts) > 1:
            raise Changed(f"EM counted {' and '.join(str(c) for c in sorted(counts))} items in the same window")
        counted = counts.pop() if counts else None
        if counted is not None and math.ceil(counted / size) != pages:
            raise Changed(f"EM reported {pages} pages of {size} for a window of {counted} items")
        self.counted = counted
        items = [item for part in later for item in part]
        rest = _unique(items, self.key)
        if len(rest) != len(items):
            raise Changed(f"{len(items) - len(rest)} items came back twice")
        # The seam's items, read with page 1 and again with the next range: kept once, as the range has them.
        again = {self.key(item) for item in rest} & {self.key(item) for item in head} - {None}
        self.kept = [item for item in head if self.key(item) not in again] + rest
        # The final count: what the window holds now, over exactly the part that was read.
        bounds = [self.value(probe.items[0]) for probe in probes.answered]
        region = conditions(plan.window, self.before(bounds[-1])) if plan.truncated else plan.window
        final = await self.count(region)
        expected = len(self.kept)
        if final != expected:
            raise Changed(f"{expected} items were read but EM counts {final} now")
        if counted is not None and not plan.truncated and final != counted:
            raise Changed(f"EM counted {counted} items at the start and {final} at the end")
        total = final if counted is None else counted
        return QueryWindow(self.kept, self.requests, complete=not plan.truncated, total=total)

    def _check_weight(self, count: int, body_bytes: int) -> None:
        """Remember what page 1's items weigh (``count`` items in ``body_bytes``); raise ``Resized`` when the
        window's pages at this size would come near ``VEEAM_EM_MAX_RESPONSE_BYTES``."""
        size = self.page_size
        if count != size:
            return  # a page of a few items says little of what the others weigh
        per_item = body_bytes / size
        if size >= MIN_PAGE_SIZE:
            self.em.item_bytes[self.em_type] = per_item
        fits = fitting_size(size, per_item, self.em.settings.max_response_bytes)
        if fits < size:
            raise Resized(fits)

    def _plan(self, pages: int, newest: str) -> _Plan:
        window = self.filter
        if self.sort.kind == "time" and self.sort.descending:
            # The window's upper end: the newest item seen now (plus a second, for EM's rounding of times).
            pin = _shifted(newest, seconds=1)
            window = conditions(self.filter, f"{self.sort.field}<{quote_value(pin)}" if pin else None)
        wanted = min(pages, self.max_pages)
        truncated = pages > wanted
        positions = [k * self.page_size + 1 for k in range(2, wanted + (1 if truncated else 0))]
        self.planned = 1 + len(positions) + (wanted - 1) + 1  # page 1, the probes, the ranges, the final count
        return _Plan(pages, window, wanted, truncated, positions)

    async def _ranges(self, plan: _Plan, last: str) -> tuple[_Probes[T], list[list[T]]]:
        """The probes, and the ranges after page 1, each sent as soon as the probes at its ends are answered:
        [seam, b2); [b2, b3); …; [b(K-1), end) or [b(K-1), bK) when the cap cuts the window."""
        probes = _Probes(self, plan.window, plan.positions)
        ranges = [self._range(probes, plan, index, last) for index in range(plan.wanted - 1)]
        parts = await gather([*probes.jobs(), *ranges], limit=len(plan.positions) + len(ranges))
        return probes, parts[len(plan.positions) :]

    def _range(
        self, probes: _Probes[T], plan: _Plan, index: int, last: str
    ) -> Callable[[], Awaitable[list[T]]]:
        """The job of range ``index`` after page 1: from the seam (the first) or the probe before it, to the probe
        after it (none for the window's end), sent once both are known."""

        async def run() -> list[T]:
            if index == 0:
                # Page 1's last sort value, moved back by a second for a time (EM may round the times of its
                # filters): no item can fall between page 1 and this range; the items in that second are read
                # twice and kept once.
                seam = _shifted(last, seconds=1 if self.sort.descending else -1) if self.sort.kind == "time" else last
                lower, earlier = seam or last, last
            else:
                lower = earlier = await probes.bound(index - 1)
            upper = await probes.bound(index) if index < len(plan.positions) else None
            if upper is not None and self._out_of_order(earlier, upper):
                raise Changed("EM's page boundaries are out of order")
            expression = conditions(
                plan.window, self.at_or_after(lower), self.before(upper) if upper is not None else None
            )
            # It goes out now (when a slot is free): the work between slices waits for it to be written.
            with self.em.client.coming() if self.slots.value else contextlib.nullcontext():
                async with self.slots:
                    return await self.read_range(expression, range_size(self.page_size))

        return run

    async def read_range(self, expression: str | None, size: int) -> list[T]:
        """One range between two boundaries: normally one request; more pages only when it overflowed."""
        got = await self.page(expression, size, 1)
        items = list(got.items)
        number = 1
        while got.paging.has_next or number < got.paging.pages_count:
            if len(got.items) != size:
                raise Changed(f"a page of a range holds {len(got.items)} items, not {size}")
            number += 1
            if number > self.max_pages:
                raise Changed("a range between two page boundaries kept growing")
            got = await self.page(expression, size, number)
            items.extend(got.items)
        return items

    def _out_of_order(self, earlier: str, later: str) -> bool:
        if self.sort.kind == "time":
            a, b = parse_timestamp(earlier), parse_timestamp(later)
            return a < b if self.sort.descending else a > b
        return False  # EM's collation orders names; its order is trusted, the ranges stay a partition anyway


class _Probes(Generic[T]):
    """The boundary probes of one window read: each a tiny page (``pageSize=1``) at a later page boundary, sent at
    once; a range waits only for the probes at its own two ends (``bound``)."""

    def __init__(self, reader: Reader[T], window: str | None, positions: list[int]) -> None:
        self.reader, self.window, self.positions = reader, window, positions
        self.pages: list[_Page[T] | None] = [None] * len(positions)
        self.done = [anyio.Event() for _ in positions]

    def jobs(self) -> list[Callable[[], Awaitable[list[T]]]]:
        return [functools.partial(self._probe, index) for index in range(len(self.positions))]

    async def _probe(self, index: int) -> list[T]:
        reader = self.reader
        async with reader.slots:
            with reader.em.client.coming():
                self.pages[index] = await reader.unreported_page(self.window, 1, self.positions[index])
        self.done[index].set()  # the ranges at this boundary may go before the progress is told
        await progress.page_read(reader, reader.planned)
        return []  # its item is a bound, not one of the window's items

    async def bound(self, index: int) -> str:
        """The sort value at probe ``index``'s position, once it is answered."""
        await self.done[index].wait()
        page = self.pages[index]
        if page is None or not page.items:
            raise Changed("a page boundary EM reported has no item any more")
        return self.reader.value(page.items[0])

    @property
    def answered(self) -> list[_Page[T]]:
        """Every probe's page (after ``gather``: each was answered, and each has its item)."""
        return [page for page in self.pages if page is not None and page.items]


def _shifted(value: str, *, seconds: int) -> str | None:
    """EM's time ``value`` moved by ``seconds`` (``None`` past the calendar's ends)."""
    try:
        return em_time(parse_timestamp(value) + timedelta(seconds=seconds))
    except OverflowError:
        return None


def _unique(items: Sequence[T], key_of: Callable[[T], str | None]) -> list[T]:
    """Each item once, by its id (items without one are kept: nothing to tell them apart by)."""
    seen: set[str] = set()
    kept: list[T] = []
    for item in items:
        key = key_of(item)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        kept.append(item)
    return kept
