"""When an answer's memory is reclaimed (``representation.collector``): held a moment after the call returns, so
that freeing its rows and records does not delay the answer, and then freed: nothing is kept for longer."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref

import anyio
import pytest
from mcp import Client

from veeam_em_mcp.models.estate import TaskRun
from veeam_em_mcp.representation import collector
from veeam_em_mcp.representation.collector import RELEASE_DELAY, release_later
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.server import build_server

from .conftest import make_settings

pytestmark = pytest.mark.anyio


class Held:
    """Something an answer was made from (a weak reference tells when it is freed)."""


async def test_released_after_the_delay_not_as_the_caller_lets_go() -> None:
    held = Held()
    gone = weakref.ref(held)
    release_later([held], {"rows": held})
    del held
    assert gone() is not None, "kept while the answer is on its way"
    await anyio.sleep(RELEASE_DELAY * 3)
    assert gone() is None, "freed once the delay is over"


def test_without_an_event_loop_nothing_is_kept() -> None:
    held = Held()
    gone = weakref.ref(held)
    release_later(held)
    del held
    assert gone() is None


async def test_a_tool_calls_rows_are_freed_soon_after_the_call(em: RunningSimulator) -> None:
    def task_rows() -> int:
        gc.collect()
        return sum(1 for item in gc.get_objects() if isinstance(item, TaskRun))

    async with Client(build_server(make_settings(em.base_url))) as client:
        window = {"created_after": "2026-11-01T00:00:00Z", "created_before": "2026-11-21T00:00:00Z"}
        result = await client.call_tool("find_task_sessions", {"newest_per_vm": False, **window})
        assert not result.is_error and result.structured_content and result.structured_content["total"] > 0
        await anyio.sleep(RELEASE_DELAY * 4)
        assert task_rows() == 0, "every row of the answer and every record it was made from is freed"


@pytest.mark.parametrize("host_disabled", [False, True])
async def test_the_collector_resumes_once_the_answer_is_sent(
    em: RunningSimulator, monkeypatch: pytest.MonkeyPatch, host_disabled: bool
) -> None:
    """Collections resume after the answer is sent (``held_until_sent``), not as it is built: the first one would
    traverse every row of it. A collector the host disabled stays disabled."""
    monkeypatch.setattr(collector, "RELEASE_DELAY", 0.5)  # wide enough to look before it is over on a busy host
    was = gc.isenabled()
    if host_disabled:
        gc.disable()
    try:
        async with Client(build_server(make_settings(em.base_url))) as client:
            window = {"created_after": "2026-11-01T00:00:00Z", "created_before": "2026-11-21T00:00:00Z"}
            result = await client.call_tool("find_task_sessions", {"newest_per_vm": False, **window})
            assert not result.is_error
            assert not gc.isenabled(), "still held while the answer is on its way"
            await anyio.sleep(1.5)
            assert gc.isenabled() is not host_disabled
    finally:
        if was:
            gc.enable()


def test_collections_resume_with_the_next_read_when_the_loop_ended_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hold past sending is a deadline: an event loop that ends before its timer leaves the collector held
    only until the next read ends."""
    monkeypatch.setattr(collector, "RELEASE_DELAY", 0.01)
    assert gc.isenabled()

    async def answer() -> None:
        with collector.gc_held():
            collector.held_until_sent()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(answer())
    finally:
        loop.close()  # the timer never runs
    try:
        assert not gc.isenabled()
        time.sleep(0.05)
        with collector.gc_held():
            assert not gc.isenabled()
        assert gc.isenabled()
    finally:
        gc.enable()
