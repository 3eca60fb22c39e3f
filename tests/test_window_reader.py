"""The window reader (services.querying) against the simulator: page 1 is the window's first range (read once,
not again), items tied on the sort key across a page boundary are each kept once, a capped window is one page, a
task added at the top while the window is read is not in that reading, and page 1 read but for its items falls
back to the generic reader as a whole page does.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest

from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.representation.field_pages import PagePeek, _falling_back
from veeam_em_mcp.representation.fields import JobRowFields, JobSessionFields, TaskRowFields
from veeam_em_mcp.representation.query import Paging
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


@asynccontextmanager
async def em_of(dataset: Dataset, bulk: str = "json") -> AsyncIterator[tuple[EmContext, list[str]]]:
    """The reader's context over the simulator, and the query requests it sends."""
    app = create_app(SimulatorConfig(), dataset)
    log: list[tuple[str, str]] = app.state.sim.request_log
    sent: list[str] = []
    settings = make_settings(env={"VEEAM_EM_BULK_FORMAT": bulk, "VEEAM_EM_PAGE_SIZE": str(PAGE)})
    async with EnterpriseManagerClient(settings, transport=httpx.ASGITransport(app=app)) as client:
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

        async with anyio.create_task_group() as group:

            def each_page(records: list[TaskRowFields]) -> None:
                ahead.page(records)
                pages.append(len(records))
                if len(pages) == 2:  # page 1 waited for the runs; later pages are made at once
                    group.start_soon(ahead.runs_known, index, em.client.settled)  # the waiting rows a slice at a time, meanwhile

            window = await read_fields(em, TaskRowFields, each_page=each_page)
    assert len([size for size in pages if size > 1]) >= 3, "several pages of tasks"
    assert len(ahead.made) >= len(window.items), "every task's row was made as its page came"
    assert [ahead.row(task, index) for task in window.items] == [task_run(task, index) for task in window.items]
    other = attempts_index([])
    assert ahead.row(window.items[0], other) == task_run(window.items[0], other), "another index: made anew"


async def test_a_task_a_running_job_adds_while_the_window_is_read_is_not_in_that_reading() -> None:
    """The window's upper end is pinned at page 1's newest item: a newest task added after page 1 was read (a
    running job's, ``mutate=append``) is not in this reading, which stays whole and consistent; the next has it."""
    dataset = build_dataset(anchor=ANCHOR)
    app = create_app(SimulatorConfig(), dataset)
    settings = make_settings(env={"VEEAM_EM_PAGE_SIZE": str(PAGE)})
    async with EnterpriseManagerClient(settings, transport=httpx.ASGITransport(app=app)) as client:
        em = EmContext(settings, client)
        before = await read_fields(em, TaskRowFields)
        (fault,) = app.state.sim.faults.set("mutate=append,type=BackupTaskSession,after=1")  # after page 1
        during = await read_fields(em, TaskRowFields)
        app.state.sim.faults.clear()
        after = await read_fields(em, TaskRowFields)
    (appended,) = fault.changed
    assert during.issue is None and during.complete and during.total == before.total
    assert [task.id for task in during.items] == [task.id for task in before.items], "not read again: consistent"
    assert during.requests == before.requests
    assert after.items[0].id == appended and after.total == (before.total or 0) + 1, "the next reading has it"


def test_a_peeked_page_reads_the_generic_way_from_the_first_item_the_field_reader_cannot_make() -> None:
    """field_pages.peek_page: page 1's items are made on demand; from the first one the field reader refuses, the
    page is read whole the generic way (once), as read_page would read it."""
    wholes: list[int] = []

    def lean(index: int) -> str:
        if index == 1:
            raise ValueError("an odd value")
        return f"lean {index}"

    def whole() -> list[str]:
        wholes.append(1)
        return ["generic 0", "generic 1", "generic 2"]

    peek = _falling_back(PagePeek(Paging(page_num=1, page_size=3, pages_count=1, has_next=False), 3, lean), whole)
    assert [peek.record_at(index) for index in (0, 1, 2, 0)] == ["lean 0", "generic 1", "generic 2", "generic 0"]
    assert wholes == [1], "the page is read the generic way once"
