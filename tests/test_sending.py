"""The client's count of requests about to be written (``client._sending``): the work a window read does between
slices (``client.settled``) waits for its requests to be written, never for their answers, never for a slot.

Real parts: the simulator on a loopback socket (its ``latency`` fault keeps an answer away), httpx's own transport
reporting each write; and httpx's ``MockTransport``, which reports nothing, as an in-process app would not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.simulator.runner import RunningSimulator

from .conftest import make_settings

pytestmark = pytest.mark.anyio
SLOW = "latency=1.5,method=GET"  # an answer far later than any wait here


@pytest.fixture(autouse=True)
def no_faults_left(em: RunningSimulator) -> Iterator[None]:
    em.state.faults.clear()
    yield
    em.state.faults.clear()


async def test_settled_waits_for_the_write_not_for_the_answer(em: RunningSimulator) -> None:
    async with EnterpriseManagerClient(make_settings(em.base_url)) as client:
        await client.logon()
        em.state.faults.set(SLOW)
        answered = anyio.Event()

        async def get() -> None:
            await client.get_raw(f"{em.base_url}/api/jobs")
            answered.set()

        async with anyio.create_task_group() as group:
            with client.coming():  # said before its task runs: counted from now
                assert client._unsent.count == 1
                group.start_soon(get)
                started = time.monotonic()
                await client.settled()
            waited = time.monotonic() - started
            assert client._unsent.count == 0 and not answered.is_set(), "written, and still unanswered"
            assert waited < 0.5
            await answered.wait()
        assert client._unsent.traced is True


async def test_a_request_waiting_for_a_slot_does_not_hold_the_work_back(em: RunningSimulator) -> None:
    async with EnterpriseManagerClient(make_settings(em.base_url, env={"VEEAM_EM_MAX_CONCURRENCY": 1})) as client:
        await client.logon()
        em.state.faults.set(SLOW)
        async with anyio.create_task_group() as group:
            group.start_soon(client.get_raw, f"{em.base_url}/api/jobs")  # holds the only slot until answered
            await client.settled()  # ... once written
            second_answered = anyio.Event()

            async def second() -> None:
                with client.coming():
                    await client.get_raw(f"{em.base_url}/api/repositories")
                second_answered.set()

            group.start_soon(second)
            await anyio.sleep(0.05)  # the second is waiting for the slot
            started = time.monotonic()
            await client.settled()
            assert time.monotonic() - started < 0.04, "the work went on: nothing was about to be written"
            assert client._unsent.count == 0 and not second_answered.is_set()
            await second_answered.wait()


async def test_a_transport_that_reports_no_write_holds_back_the_first_request_only() -> None:
    release = anyio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":  # the logon: EM's session header
            return httpx.Response(201, headers={"X-RestSvcSessionId": "c2Vzc2lvbg=="}, content=b"")
        await release.wait()
        return httpx.Response(200, headers={"content-type": "application/json"}, content=b"{}")

    settings = make_settings("https://em.test:9398")
    async with EnterpriseManagerClient(settings, transport=httpx.MockTransport(answer)) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(client.logon)  # the first request: counted until answered, no write reported
            await anyio.sleep(0.05)
            assert client._unsent.traced is False and client._unsent.count == 0
            group.start_soon(client.get_raw, "https://em.test:9398/api/jobs")
            await anyio.sleep(0.05)
            assert client._unsent.count == 0, "nothing counts once the transport is known to report no write"
            started = time.monotonic()
            await client.settled()
            assert time.monotonic() - started < 0.04
            release.set()
