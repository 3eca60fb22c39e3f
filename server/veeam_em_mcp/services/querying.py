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
at most ``VEEAM_EM_MAX_CONCURRENCY`` in flight. Nothing waits longer than it must (``window_reader``): the
probes go out once page 1's paging and edges are read, before its other items are made, and each range as soon
as the probes at its two ends are answered.
``read_all`` gives the registry's models; ``read_fields`` gives only the fields a question names
(``representation.fields``), under the same checks. The garbage collector is held off for the whole read.
A window's order and filter are written in ``query_terms``; a read over a long list of values is ``chunked_reads``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import ResponseTooLarge
from ..models.resources import Entity
from ..representation.collector import gc_held
from ..representation.field_pages import PagePeek, peek_page, read_page
from ..representation.fields import Record
from ..representation.query import Paging, parse_query_page
from .context import EmContext
from .page_sizing import MIN_PAGE_SIZE, fitting_size
from .query_terms import NEWEST_FIRST, Sort
from .window_reader import Changed, Query, QueryWindow, Reader, Resized

__all__ = ["DEFAULT_MAX_PAGES", "QueryWindow", "read_all", "read_fields"]

T = TypeVar("T")
R = TypeVar("R", bound=Record)

DEFAULT_MAX_PAGES = 50  # EM pages one window read takes at most (50,000 items at the default page size)


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

    return await _read(em, Query(em_type, filter, sort, models, _entity_key), max_pages, page_size)


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

    def peek(response: Any, body: bytes) -> PagePeek[R]:
        content_type = response.headers.get("content-type", "")
        return peek_page(body, content_type, record, lambda: em.client.document(response, body))

    query = Query(record.EM_TYPE, filter, sort, records, _record_key, peek=peek, each_page=each_page)
    return await _read(em, query, max_pages, page_size)


def _entity_key(item: Entity) -> str | None:
    return item.id or item.href or item.uid


def _record_key(item: Record) -> str | None:
    return item.key


async def _read(em: EmContext, query: Query[T], max_pages: int, page_size: int | None) -> QueryWindow[T]:
    em_type = query.em_type
    size = page_size or em.settings.page_size
    # Sized by what this type's items weighed in the last window read, if they are heavy (jobs with members).
    size = fitting_size(size, em.item_bytes.get(em_type, 0.0), em.settings.max_response_bytes)
    requests = 0
    first_change: str | None = None
    while True:
        reader = Reader(em, query, size, max(1, max_pages))
        try:
            with gc_held():  # the read's items live until the answer is built: no collection traverses them meanwhile
                window = await reader.read()
        except Resized as resized:
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
        except Changed as change:
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
