"""Reading a whole query window from EM's query service: every item once, in few requests, or said what is off.

EM pages a query by number (``pageSize``/``page``), and its data changes while the pages are read: a
session ends, EM collects a backup server's data late (items appear *inside* the window), retention or a
person deletes one. Read page by page, an item added before page 5 makes the last item of page 4 appear
twice, and one removed from page 1 makes the first of page 5 vanish, silently. So a window of several pages
is read as a partition of the sort key, not by page numbers:

1. page 1 tells how many pages there are and, for a newest-first read, pins the window's upper end; its items
   are the window's first range (they are not asked for again);
2. one tiny probe per later page boundary (``pageSize=1&page=k·P+1``, k ≥ 2) gives the sort value at that
   position, and the exact number of items (with one item per page, EM's ``PagesCount`` is the count);
3. each later range is read with one request: the second from page 1's last sort value (a second further back
   for a time, so that EM's rounding of times cannot open a gap; what page 1 already holds is kept once), then
   between two boundaries (``CreationTime<=b_k;CreationTime>b_k+1``): the ranges cover the key without gaps
   and, past the seam, partition it, so no item can fall between them, whatever moves;
4. a final count of the window must equal the items read (and the probes' count).

Every non-final page must be full, every page must agree on the count, every item is kept once (by id);
when anything disagrees, EM's data changed under the read: it is read again, once, and if it changes again
the ``QueryWindow`` says precisely what may be off (``issue``). The pages read are capped for every tool
(``max_pages``): an EM claiming a million pages gets a bounded number of requests and an honest note.

Pages are sized by what they carry (``page_sizing``): page 1 tells what an item weighs, and a window whose
pages would come near ``VEEAM_EM_MAX_RESPONSE_BYTES`` is read again at the size that fits.

Pages are asked for in ``VEEAM_EM_BULK_FORMAT`` (JSON unless set otherwise: fewer bytes, cheaper to parse),
at most ``VEEAM_EM_MAX_CONCURRENCY`` in flight, each sent as soon as one before it is answered (``gather``).
``read_all`` gives the registry's models; ``read_fields`` gives only the fields a question names
(``representation.fields``), under the same checks. The garbage collector is held off for the whole read.
A window's order and filter are written in ``query_terms``; a read over a long list of values is ``chunked_reads``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from ..errors import ApiError, ResponseTooLarge
from ..models.base import parse_timestamp
from ..models.resources import Entity
from ..representation.collector import gc_held
from ..representation.field_pages import read_page
from ..representation.fields import Record
from ..representation.query import Paging, em_time, parse_query_page, query_url, quote_value
from . import progress
from .context import EmContext
from .gather import gather
from .page_sizing import MIN_PAGE_SIZE, fitting_size, range_size
from .query_terms import NEWEST_FIRST, Sort, conditions

T = TypeVar("T")
R = TypeVar("R", bound=Record)
_MEDIA = {"json": "application/json", "xml": "application/xml"}
_REFUSED_MEDIA = (406, 415)  # an EM that does not speak the bulk format: read in XML from then on

DEFAULT_MAX_PAGES = 50  # EM pages one window read takes at most (50,000 items at the default page size)


@dataclass(frozen=True)
class QueryWindow(Generic[T]):
    """The items of a query window (each once), what reading them cost, and what may be off."""

    items: list[T]
    requests: int
    complete: bool  # False when the page cap left the rest of the window unread (the oldest items)
    total: int | None  # items EM counted in the window, when known
    issue: str | None = None  # set when EM's data kept changing while it was read (after one re-read)
    page_size: int = 0


class _Resized(Exception):
    """Page 1 weighed so much that the window's pages at its size would come near the cap: read at ``size``."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class _Changed(Exception):
    """EM's data changed under a read (or EM's pages disagree); ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def read_all(
    em: EmContext,
    em_type: str,
    *,
    filter: str | None = None,
    sort: Sort = NEWEST_FIRST,
    max_pages: int = DEFAULT_MAX_PAGES,
    page_size: int | None = None,
) -> QueryWindow[Entity]:
    """Every item of ``type=em_type`` matching ``filter``, each once, read as one consistent window."""

    def models(response: Any, body: bytes) -> tuple[Paging, list[Entity]]:
        page = parse_query_page(em.client.document(response, body), em_type)
        return page.paging, list(page.items)

    return await _read(em, em_type, models, _entity_key, filter, sort, max_pages, page_size)


async def read_fields(
    em: EmContext,
    record: type[R],
    *,
    filter: str | None = None,
    sort: Sort = NEWEST_FIRST,
    max_pages: int = DEFAULT_MAX_PAGES,
    page_size: int | None = None,
    each_page: Callable[[list[R]], None] | None = None,
) -> QueryWindow[R]:
    """Every item of ``record``'s EM type matching ``filter``, each once, as one consistent window: only the
    fields ``record`` names (``representation.fields``), read straight from the pages. ``each_page`` is given
    each page's records as soon as they are read (the probes' too, and those of an attempt read again), so
    that a caller can work on them while later pages are on their way; the window is what counts."""
    if sort.attribute not in record.__dataclass_fields__:  # type: ignore[attr-defined]  # records are dataclasses
        raise TypeError(f"{record.__name__} has no {sort.attribute}: the window cannot be split by it")

    def records(response: Any, body: bytes) -> tuple[Paging, list[R]]:
        content_type = response.headers.get("content-type", "")
        paging, read = read_page(body, content_type, record, lambda: em.client.document(response, body))
        if each_page is not None:
            each_page(read)
        return paging, read

    return await _read(em, record.EM_TYPE, records, _record_key, filter, sort, max_pages, page_size)


def _entity_key(item: Entity) -> str | None:
    return item.id or item.href or item.uid


def _record_key(item: Record) -> str | None:
    return item.key


async def _read(
    em: EmContext,
    em_type: str,
    parse: Callable[[Any, bytes], tuple[Paging, list[T]]],
    key: Callable[[T], str | None],
    filter: str | None,
    sort: Sort,
    max_pages: int,
    page_size: int | None,
) -> QueryWindow[T]:
    size = page_size or em.settings.page_size
    # Sized by what this type's items weighed in the last window read, if they are heavy (jobs with members).
    size = fitting_size(size, em.item_bytes.get(em_type, 0.0), em.settings.max_response_bytes)
    requests = 0
    first_change: str | None = None
    while True:
        reader = _Reader(em, em_type, parse, key, filter, sort, size, max(1, max_pages))
        try:
            with gc_held():  # the read's items live until the answer is built: no collection traverses them meanwhile
                window = await reader.read()
        except _Resized as resized:
            requests += reader.requests
            size = resized.size  # always smaller than before: the read ends
            continue
        except ResponseTooLarge:
            # A page over VEEAM_EM_MAX_RESPONSE_BYTES (a thousand jobs with their members): smaller pages.
            requests += reader.requests
            if size <= MIN_PAGE_SIZE:
                raise
            size = max(MIN_PAGE_SIZE, size // 2)
            continue
        except _Changed as change:
            requests += reader.requests
            if first_change is None:
                first_change = change.reason  # read again, once
                continue
            return QueryWindow(
                reader.kept,
                requests,
                complete=False,
                total=reader.counted,
                issue=f"EM's {em_type} data changed while it was read, twice ({first_change}; then "
                f"{change.reason}): {len(reader.kept)} items were read, and some may be missing, stale or "
                "counted in the wrong state. Ask again in a minute for a settled answer.",
                page_size=size,
            )
        return _with(window, requests=requests + window.requests, page_size=size)


def _with(window: QueryWindow[T], **changes: object) -> QueryWindow[T]:
    values = {**window.__dict__, **changes}
    return QueryWindow(**values)


@dataclass(frozen=True)
class _Page(Generic[T]):
    items: list[T]
    paging: Paging
    body_bytes: int


class _Reader(Generic[T]):
    """One attempt at reading a window (see the module docstring); raises ``_Changed`` when EM's data moved."""

    def __init__(
        self,
        em: EmContext,
        em_type: str,
        parse: Callable[[Any, bytes], tuple[Paging, list[T]]],
        key: Callable[[T], str | None],
        filter: str | None,
        sort: Sort,
        page_size: int,
        max_pages: int,
    ) -> None:
        self.em = em
        self.em_type = em_type
        self.parse = parse
        self.key = key
        self.filter = filter
        self.sort = sort
        self.page_size = page_size
        self.max_pages = max_pages
        self.requests = 0
        self.kept: list[T] = []
        self.counted: int | None = None
        self.planned = 1  # EM requests this read will make, as far as it knows (services.progress)

    async def page(self, expression: str | None, size: int, number: int) -> _Page[T]:
        url = query_url(
            self.em.base_url, self.em_type, filter=expression, sort=self.sort.param(), page_size=size, page=number
        )
        self.requests += 1
        bulk = "xml" if "bulk:json" in self.em.unsupported else self.em.settings.bulk_format
        with progress.reader_request():  # reported below, with the reader's plan, not by the client's hook
            try:
                response, body = await self.em.client.get_raw(url, accept=_MEDIA[bulk])
            except ApiError as refused:
                if bulk == "xml" or refused.status not in _REFUSED_MEDIA:
                    raise
                self.em.unsupported.add("bulk:json")  # this EM does not answer queries in JSON: XML from now on
                self.requests += 1
                response, body = await self.em.client.get_raw(url, accept=_MEDIA["xml"])
        paging, items = self.parse(response, body)
        # Every page of a window read (first page, boundary probes, ranges, final count) completes here, once.
        await progress.page_read(self, self.planned)
        return _Page(items, paging, len(body))

    async def count(self, expression: str | None) -> int:
        """The exact number of items matching ``expression``: with one item per page, PagesCount is the count."""
        got = await self.page(expression, 1, 1)
        return got.paging.pages_count if got.items else 0

    def value(self, item: T) -> str:
        value = getattr(item, self.sort.attribute, None)
        if not isinstance(value, str):
            raise _Changed(f"an item has no {self.sort.field}, so the window cannot be split by it")
        return value

    def before(self, bound: str) -> str:
        """Items that come strictly before ``bound`` in the read's order."""
        return f"{self.sort.field}{'>' if self.sort.descending else '<'}{quote_value(bound)}"

    def at_or_after(self, bound: str) -> str:
        """Items at ``bound`` or after it in the read's order."""
        return f"{self.sort.field}{'<=' if self.sort.descending else '>='}{quote_value(bound)}"

    async def read(self) -> QueryWindow[T]:
        size = self.page_size
        first = await self.page(self.filter, size, 1)
        pages = first.paging.pages_count
        head = _unique(first.items, self.key)
        if len(head) != len(first.items):
            raise _Changed(f"EM's page 1 holds {len(first.items) - len(head)} items twice")
        if pages <= 1 and not first.paging.has_next:
            if len(first.items) > size:
                raise _Changed(f"EM's single page holds {len(first.items)} items although {size} were asked for")
            self.kept = head
            return QueryWindow(self.kept, self.requests, complete=True, total=len(self.kept))
        if len(first.items) != size:
            raise _Changed(
                f"page 1 holds {len(first.items)} items, not {size}, although EM reports {pages} pages"
            )
        per_item = first.body_bytes / size
        if size >= MIN_PAGE_SIZE:  # a page of a few items says little of what the others weigh
            self.em.item_bytes[self.em_type] = per_item
        fits = fitting_size(size, per_item, self.em.settings.max_response_bytes)
        if fits < size:
            raise _Resized(fits)
        window = self.filter
        if self.sort.kind == "time" and self.sort.descending:
            # The window's upper end: the newest item seen now (plus a second, for EM's rounding of times).
            upper = _shifted(self.value(first.items[0]), seconds=1)
            window = conditions(self.filter, f"{self.sort.field}<{quote_value(upper)}" if upper else None)
        wanted = min(pages, self.max_pages)
        truncated = pages > wanted
        if wanted == 1:
            # The cap allows one page: page 1 is it, one answer of EM's, whole (the rest is said to be unread).
            self.kept = head
            return QueryWindow(self.kept, self.requests, complete=False, total=None)
        # Page 1 is the window's first range. The next range starts at page 1's last sort value, moved back by a
        # second for a time (EM may round the times of its filters): no item can fall between the two, and the
        # items in that second are read twice and kept once.
        last = self.value(first.items[-1])
        seam = _shifted(last, seconds=1 if self.sort.descending else -1) if self.sort.kind == "time" else last
        # Probes: the sort value at each later page boundary (and at the cut, when the cap cuts the window), and
        # the exact number of items in the window.
        positions = list(range(2, wanted + (1 if truncated else 0)))
        self.planned = 1 + len(positions) + (wanted - 1) + 1  # page 1, the probes, the ranges, the final count
        limit = self.em.settings.max_concurrency
        probes = await gather([self._probe(window, k * size + 1) for k in positions], limit=limit)
        counts = {probe.paging.pages_count for probe in probes if probe.items}
        if any(not probe.items for probe in probes):
            raise _Changed("a page boundary EM reported has no item any more")
        if len(counts) > 1:
            raise _Changed(f"EM counted {' and '.join(str(c) for c in sorted(counts))} items in the same window")
        counted = counts.pop() if counts else None
        if counted is not None and math.ceil(counted / size) != pages:
            raise _Changed(f"EM reported {pages} pages of {size} for a window of {counted} items")
        self.counted = counted
        bounds = [self.value(probe.items[0]) for probe in probes]
        for earlier, later in itertools.pairwise([last, *bounds]):
            if self._out_of_order(earlier, later):
                raise _Changed("EM's page boundaries are out of order")
        # Ranges: [seam, b2); [b2, b3); …; [b(K-1), end) or [b(K-1), bK) when the cap cuts the window.
        ranges: list[str | None] = []
        for index, lower in enumerate([seam or last, *bounds[: wanted - 2]]):
            upper_bound = bounds[index] if index < len(bounds) else None
            ranges.append(
                conditions(
                    window,
                    self.at_or_after(lower),
                    self.before(upper_bound) if upper_bound is not None else None,
                )
            )
        parts = await gather([self._range(r, range_size(size)) for r in ranges], limit=limit)
        items = [item for part in parts for item in part]
        rest = _unique(items, self.key)
        if len(rest) != len(items):
            raise _Changed(f"{len(items) - len(rest)} items came back twice")
        # The seam's items, read with page 1 and again with the next range: kept once, as the range has them.
        again = {self.key(item) for item in rest} & {self.key(item) for item in head} - {None}
        self.kept = [item for item in head if self.key(item) not in again] + rest
        # The final count: what the window holds now, over exactly the part that was read.
        region = conditions(window, self.before(bounds[-1])) if truncated else window
        final = await self.count(region)
        expected = len(self.kept)
        if final != expected:
            raise _Changed(f"{expected} items were read but EM counts {final} now")
        if counted is not None and not truncated and final != counted:
            raise _Changed(f"EM counted {counted} items at the start and {final} at the end")
        total = final if counted is None else counted
        return QueryWindow(self.kept, self.requests, complete=not truncated, total=total)

    def _probe(self, expression: str | None, number: int) -> Callable[[], Awaitable[_Page[T]]]:
        return lambda: self.page(expression, 1, number)

    def _range(self, expression: str | None, size: int) -> Callable[[], Awaitable[list[T]]]:
        return lambda: self.read_range(expression, size)

    async def read_range(self, expression: str | None, size: int) -> list[T]:
        """One range between two boundaries: normally one request; more pages only when it overflowed."""
        got = await self.page(expression, size, 1)
        items = list(got.items)
        number = 1
        while got.paging.has_next or number < got.paging.pages_count:
            if len(got.items) != size:
                raise _Changed(f"a page of a range holds {len(got.items)} items, not {size}")
            number += 1
            if number > self.max_pages:
                raise _Changed("a range between two page boundaries kept growing")
            got = await self.page(expression, size, number)
            items.extend(got.items)
        return items

    def _out_of_order(self, earlier: str, later: str) -> bool:
        if self.sort.kind == "time":
            a, b = parse_timestamp(earlier), parse_timestamp(later)
            return a < b if self.sort.descending else a > b
        return False  # EM's collation orders names; its order is trusted, the ranges stay a partition anyway


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
