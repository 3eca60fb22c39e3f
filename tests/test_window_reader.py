"""The window reader (services.querying) against the simulator: page 1 is the window's first range (read once,
not again), items tied on the sort key across a page boundary are each kept once, a capped window is one page, and
a window read again sends a count beside page 1 (its later ranges need not wait for page 1) with the same items.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.representation.fields import JobRowFields, JobSessionFields, TaskRowFields
from veeam_em_mcp.services.context import EmContext
from veeam_em_mcp.services.query_terms import BY_NAME
from veeam_em_mcp.services.querying import read_fields
from veeam_em_mcp.services.runs import attempts_index, runs_of
from veeam_em_mcp.services.task_rows import RowsAhead, task_run
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset

from .conftest import ANCHOR, make_settings

pytestmark = pytest.mark.anyio
PAGE = 50


Wrap = Callable[[httpx.AsyncBaseTransport, Any], httpx.AsyncBaseTransport]


@asynccontextmanager
async def em_of(
    dataset: Dataset, bulk: str = "json", wrap: Wrap | None = None
) -> AsyncIterator[tuple[EmContext, list[str]]]:
    """The reader's context over the simulator, and the query requests it sends (``wrap``: a transport around
    the simulator's, given the app)."""
    app = create_app(SimulatorConfig(), dataset)
    log: list[tuple[str, str]] = app.state.sim.request_log
    sent: list[str] = []
    settings = make_settings(env={"VEEAM_EM_BULK_FORMAT": bulk, "VEEAM_EM_PAGE_SIZE": str(PAGE)})
    transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=app)
    async with EnterpriseManagerClient(settings, transport=wrap(transport, app) if wrap else transport) as client:
        yield EmContext(settings, client), sent
        sent.extend(url for _, url in log if url.startswith("/api/query"))


def tie(dataset: Dataset, positions: range) -> set[str]:
    """The tasks at these positions of the newest-first order given one creation time (the first one's)."""
    newest_first = sorted(dataset.task_sessions.values(), key=lambda t: t.creation_ticks, reverse=True)
    anchor = newest_first[positions.start]
    for task in newest_first[positions.start:positions.stop]:
        task.creation_ticks, task.creation_time_utc = anchor.creation_ticks, anchor.creation_time_utc
    return {task.id for task in newest_first[positions.start:positions.stop]}


@pytest.mark.parametrize("bulk", ["json", "xml"])
async def test_page_one_is_read_once_and_every_item_kept_once(bulk: str) -> None:
    dataset = build_dataset(anchor=ANCHOR)
    everything = set(dataset.task_sessions)
    pages = math.ceil(len(everything) / PAGE)
    assert pages >= 4, "the estate must span several pages"
    async with em_of(dataset, bulk) as (em, sent):
        window = await read_fields(em, TaskRowFields)
    assert window.issue is None and window.complete and window.total == len(everything)
    assert [task.id for task in window.items if task.id] == [task.id for task in window.items]
    assert sorted(task.id or "" for task in window.items) == sorted(everything), "each task once, none missing"
    # Page 1, a probe per later boundary, a range per later page, the final count: page 1's items are not read again.
    assert window.requests == len(sent) == 1 + (pages - 2) + (pages - 1) + 1
    assert [url for url in sent if f"pageSize={PAGE}&" in url] == [sent[0]], "one page of the page size: page 1"


@pytest.mark.parametrize(
    "positions",
    [range(PAGE - 3, PAGE + 4), range(0, PAGE + 15), range(2 * PAGE - 2, 2 * PAGE + 2)],
    ids=["across page 1's end", "page 1 all one time, and more", "across a later boundary"],
)
async def test_items_tied_across_a_page_boundary_are_kept_once(positions: range) -> None:
    dataset = build_dataset(anchor=ANCHOR)
    tied = tie(dataset, positions)
    async with em_of(dataset) as (em, _):
        window = await read_fields(em, TaskRowFields)
    ids = [task.id for task in window.items]
    assert window.issue is None and window.complete
    assert len(ids) == len(set(ids)) == len(dataset.task_sessions) == window.total
    assert tied <= set(ids)
    times = [task.creation_time for task in window.items]
    assert times == sorted(times, reverse=True), "newest first, across the seam too"


async def test_a_window_capped_at_one_page_is_page_one_alone() -> None:
    dataset = build_dataset(anchor=ANCHOR)
    async with em_of(dataset) as (em, sent):
        window = await read_fields(em, TaskRowFields, max_pages=1)
    assert len(window.items) == PAGE and not window.complete and window.issue is None
    assert window.requests == len(sent) == 1


async def test_a_window_capped_at_two_pages_counts_the_whole_window() -> None:
    dataset = build_dataset(anchor=ANCHOR)
    async with em_of(dataset) as (em, sent):
        window = await read_fields(em, TaskRowFields, max_pages=2)
    assert not window.complete and window.issue is None
    assert window.total == len(dataset.task_sessions), "the cut's probe counts the whole window"
    newest = sorted(dataset.task_sessions.values(), key=lambda t: t.creation_ticks, reverse=True)
    assert {task.id for task in window.items} == {task.id for task in newest[: 2 * PAGE]}
    assert window.requests == len(sent) == 4  # page 1, the cut's probe, one range, the final count


async def test_names_sorted_by_ems_collation_read_each_job_once() -> None:
    dataset = build_dataset(anchor=ANCHOR)
    async with em_of(dataset) as (em, _):
        window = await read_fields(em, JobRowFields, sort=BY_NAME, page_size=3)
    ids = [job.id for job in window.items]
    assert window.issue is None and window.complete and len(ids) == len(set(ids)) == window.total
    assert len(ids) > 6, "several pages of jobs"


async def test_rows_made_while_pages_arrive_are_the_rows_made_after() -> None:
    """find_task_sessions makes each task's row as its page is read (task_rows.RowsAhead): the same rows as made
    after the read, whether the runs were known before a page came or only after it."""
    dataset = build_dataset(anchor=ANCHOR)
    async with em_of(dataset) as (em, _):
        runs = await read_fields(em, JobSessionFields)
        index = attempts_index(runs_of(runs.items))
        ahead = RowsAhead()
        pages: list[int] = []

        def each_page(records: list[TaskRowFields]) -> None:
            ahead.page(records)
            pages.append(len(records))
            if len(pages) == 2:
                ahead.runs_known(index)  # page 1 waited for the runs; later pages are made at once

        window = await read_fields(em, TaskRowFields, each_page=each_page)
    assert len([size for size in pages if size > 1]) >= 3, "several pages of tasks"
    assert len(ahead.made) >= len(window.items), "every task's row was made as its page came"
    assert [ahead.row(task, index) for task in window.items] == [task_run(task, index) for task in window.items]
    other = attempts_index([])
    assert ahead.row(window.items[0], other) == task_run(window.items[0], other), "another index: made anew"


def unpinned(url: str) -> bool:
    """A task query with no upper end on the creation time: page 1, or the count sent beside it."""
    return "CreationTime%3C" not in url and "CreationTime<" not in url


async def test_a_window_read_again_sends_its_count_beside_page_one() -> None:
    dataset = build_dataset(anchor=ANCHOR)
    async with em_of(dataset) as (em, sent):
        plain = await read_fields(em, TaskRowFields)
        again = await read_fields(em, TaskRowFields)
    assert again.issue is None and again.complete and again.total == plain.total
    assert [task.id for task in again.items] == [task.id for task in plain.items], "the same items, in order"
    assert again.requests == plain.requests + 1 == len(sent) - plain.requests, "one request more: the count"
    second = sent[plain.requests :]
    firsts = sorted(second[:2], key=len)
    assert "pageSize=1&page=1" in firsts[0] and f"pageSize={PAGE}&page=1" in firsts[1], second[:2]
    assert all(unpinned(url) for url in firsts), "page 1 and the count go out together, before any pin is known"
    assert not any(unpinned(url) for url in second[2:]), "every probe, range and the final count are pinned"


class CountFirst(httpx.AsyncBaseTransport):
    """The simulator's transport, answering the count sent beside page 1 before page 1, and a running job adding
    a newest task in between (``mutate=append``): page 1 holds a task the count did not."""

    def __init__(self, inner: httpx.AsyncBaseTransport, app: Any) -> None:
        self.inner, self.app = inner, app
        self.armed = False
        self.counted = anyio.Event()
        self.appended: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        query = self.armed and "type=BackupTaskSession" in url and unpinned(url)
        if query and f"pageSize={PAGE}&page=1" in url:
            await self.counted.wait()
        response = await self.inner.handle_async_request(request)
        if query and "pageSize=1&page=1" in url:
            self.appended.append(self.app.state.sim.mutate("append", "BackupTaskSession"))
            self.counted.set()
        return response


async def test_a_task_come_since_the_count_is_not_in_that_reading_of_the_window() -> None:
    dataset = build_dataset(anchor=ANCHOR)
    transports: list[CountFirst] = []

    def wrap(inner: httpx.AsyncBaseTransport, app: Any) -> httpx.AsyncBaseTransport:
        transports.append(CountFirst(inner, app))
        return transports[0]

    async with em_of(dataset, wrap=wrap) as (em, _):
        plain = await read_fields(em, TaskRowFields)
        transports[0].armed = True
        again = await read_fields(em, TaskRowFields)
        transports[0].armed = False
        settled = await read_fields(em, TaskRowFields)
    (appended,) = transports[0].appended
    assert again.issue is None and again.complete
    assert again.requests == plain.requests + 1, "not read again: the window was consistent"
    assert [task.id for task in again.items] == [task.id for task in plain.items], "pinned at the count's newest"
    assert appended not in {task.id for task in again.items}
    assert settled.items[0].id == appended and settled.total == plain.total + 1, "the next reading has it"
