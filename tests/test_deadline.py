"""Every tool call has one deadline: queueing for a connection slot, the logon, every attempt and back-off.

"EM hung" is the simulator's ``latency`` fault on a real loopback socket. The timing bounds here are the behaviour
the deadline promises (its documented value + 1 s, as issue 10 asks), not performance figures: the timeouts are
small so that the tests stay short, and the margin is wide enough for a loaded 2-core machine.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.server.mcpserver import Context

from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.config import Settings, call_deadline
from veeam_em_mcp.errors import DeadlineExceeded, ServerError
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.server import build_server
from veeam_em_mcp.surface.state import state_of
from veeam_em_mcp.surface.tools.common import em_errors
from veeam_em_mcp.surface.tools.estate import TOOLS as ESTATE_TOOLS

from .conftest import SIM_ORIGIN, SQL01_POINT, make_settings

pytestmark = pytest.mark.anyio
# The calls these tests time cost exactly one EM request each: follow_link on a restore point's href
# (get_vm_restore_point reads the point's backup too, a second request).
ONE_GET = "follow_link"
POINT = {"href": f"/api/vmRestorePoints/{SQL01_POINT}"}
BASE_DELAY = 0.01  # the retry back-off the test servers use
HUNG = "latency=3,method=GET"  # far longer than any timeout here: EM accepts the request and never answers in time


@pytest.fixture(autouse=True)
def no_faults_left(em: RunningSimulator) -> Iterator[None]:
    em.state.faults.clear()
    yield
    em.state.faults.clear()


@asynccontextmanager
async def mcp_client(em: RunningSimulator, **env: Any) -> AsyncIterator[tuple[Client, Settings]]:
    settings = make_settings(em.base_url, env=env)
    async with Client(build_server(settings, retry_base_delay=BASE_DELAY)) as client:
        yield client, settings


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def timed_call(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[float, Any]:
    started = time.monotonic()
    result = await client.call_tool(tool, arguments)
    return time.monotonic() - started, result


def test_the_documented_formula() -> None:
    # VEEAM_EM_TIMEOUT × (VEEAM_EM_RETRIES + 1) + 0.25 × (2^(RETRIES−1) − 1): 40.75 s at the defaults (10 s, 3).
    assert call_deadline(10, 3) == 40.75
    assert Settings.from_env({"VEEAM_EM_URL": "https://em:9398", "VEEAM_EM_USERNAME": "u",
                              "VEEAM_EM_PASSWORD": "p"}).call_deadline == 40.75
    assert call_deadline(2, 3) == 8.75
    assert call_deadline(1, 1) == 2.0
    client = EnterpriseManagerClient(make_settings(env={"VEEAM_EM_TIMEOUT": 0.5, "VEEAM_EM_RETRIES": 2}),
                                     retry_base_delay=BASE_DELAY)
    assert client.default_deadline == pytest.approx(0.5 * 3 + 0.01)


# --- the done-when figures -----------------------------------------------------------------------------------

SLOW = re.compile(
    # EM's own timeout (the attempts ran out before the deadline), or the deadline, saying what was slow
    r"Error executing tool follow_link: (?:"
    r"Enterprise Manager did not answer /api/vmRestorePoints/\S+ within 0\.5 s\. It may be overloaded or "
    r"unreachable; try again later, or raise VEEAM_EM_TIMEOUT\."
    r"|The tool call did not finish within its deadline of 1\.51 s \(VEEAM_EM_TIMEOUT 0\.5 s × \(VEEAM_EM_RETRIES 2 "
    r"\+ 1\) \+ retry back-off\), (?P<what>while it waited for a free connection slot to send GET /api/\S+: "
    r"(?P<in_flight>\d+) requests? to Enterprise Manager (?:was|were) in flight \(VEEAM_EM_MAX_CONCURRENCY=8\) and "
    r"(?P<queued>\d+) more (?:was|were) waiting, across \d+ running tool calls; EM is answering slowly or not at all"
    r"|while Enterprise Manager did not answer GET /api/\S+ \(attempt [12] of 2\)"
    r"|while it waited to retry GET /api/\S+, which had failed \(RequestTimedOut\))\. Try again later; "
    r"check_connection shows whether Enterprise Manager answers\. If EM is slow but working, raise VEEAM_EM_TIMEOUT\.)"
)


async def test_forty_concurrent_calls_to_a_hung_em_end_within_the_deadline(em: RunningSimulator) -> None:
    env = {"VEEAM_EM_TIMEOUT": 0.5, "VEEAM_EM_RETRIES": 2}
    deadline = call_deadline(0.5, 2, BASE_DELAY)  # 1.51 s
    async with mcp_client(em, **env) as (client, _):
        assert not (await client.call_tool(ONE_GET, POINT)).is_error  # logged on
        (fault,) = em.state.faults.set(HUNG)
        results: list[tuple[float, Any]] = []

        async def call() -> None:
            results.append(await timed_call(client, ONE_GET, POINT))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for _ in range(40):
                    group.start_soon(call)
        em.state.faults.clear()  # EM recovers
        recovered = await client.call_tool(ONE_GET, POINT)
    assert len(results) == 40 and fault.fired >= 8
    texts = [text_of(result) for _, result in results]
    assert all(result.is_error for _, result in results)
    assert all(SLOW.fullmatch(text) for text in texts), next(t for t in texts if not SLOW.fullmatch(t))
    slowest = max(seconds for seconds, _ in results)
    assert slowest <= deadline + 1, f"slowest call took {slowest:.2f} s; deadline {deadline} s"
    # 8 requests were in flight and the rest queued for a slot: the queued ones say so
    queued = [m for m in map(SLOW.fullmatch, texts) if m and m["in_flight"]]
    assert any(m["in_flight"] == "8" for m in queued)
    assert not recovered.is_error, text_of(recovered)


async def test_a_hung_logon_is_sent_once_for_forty_calls(em: RunningSimulator) -> None:
    """Not logged on and EM hung: one logon reaches EM; the 39 calls that waited for it share its failure."""
    env = {"VEEAM_EM_TIMEOUT": 1, "VEEAM_EM_RETRIES": 2}  # 1 s: ample time for all 40 calls to arrive
    async with mcp_client(em, **env) as (client, _):
        (fault,) = em.state.faults.set("slow-logon=3")
        results: list[tuple[float, Any]] = []

        async def call() -> None:
            results.append(await timed_call(client, ONE_GET, POINT))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for _ in range(40):
                    group.start_soon(call)
        em.state.faults.clear()
        recovered = await client.call_tool(ONE_GET, POINT)
    assert fault.fired == 1
    expected = (
        "Error executing tool follow_link: Enterprise Manager did not answer /api/sessionMngr/?v=latest "
        "within 1 s. It may be overloaded or unreachable; try again later, or raise VEEAM_EM_TIMEOUT."
    )
    assert [text_of(result) for _, result in results] == [expected] * 40
    assert max(seconds for seconds, _ in results) <= call_deadline(1, 2, BASE_DELAY) + 1
    assert not recovered.is_error, text_of(recovered)


async def test_queueing_for_a_slot_counts_and_says_so(em: RunningSimulator) -> None:
    env = {"VEEAM_EM_TIMEOUT": 2, "VEEAM_EM_RETRIES": 1, "VEEAM_EM_MAX_CONCURRENCY": 1}  # deadline 4 s
    async with mcp_client(em, **env) as (client, _):
        assert not (await client.call_tool(ONE_GET, POINT)).is_error
        em.state.faults.set("latency=1.5,method=GET")  # each answer takes 1.5 s; one at a time
        results: list[tuple[float, Any]] = []

        async def call() -> None:
            results.append(await timed_call(client, ONE_GET, POINT))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for _ in range(4):
                    group.start_soon(call)
    texts = [text_of(result) for _, result in results]
    # One at a time, 1.5 s each: two are answered (at 1.5 s and 3 s); at 4 s the third has been waiting 1 s for
    # EM's answer, and the fourth is still queued for the one slot.
    assert sum(not result.is_error for _, result in results) == 2
    head = (
        r"Error executing tool follow_link: The tool call did not finish within its deadline of 4 s "
        r"\(VEEAM_EM_TIMEOUT 2 s × \(VEEAM_EM_RETRIES 1 \+ 1\) \+ retry back-off\), "
    )
    tail = (
        r"\. Try again later; check_connection shows whether Enterprise Manager answers\. If EM is slow but working, "
        r"raise VEEAM_EM_TIMEOUT\."
    )
    queued = re.compile(
        # (the third call's deadline passes within milliseconds of this one's: it may have left already)
        head + r"while it waited for a free connection slot to send GET /api/vmRestorePoints/\S+: [01] requests? to "
        r"Enterprise Manager (?:was|were) in flight \(VEEAM_EM_MAX_CONCURRENCY=1\) and 0 more were waiting, across "
        r"[12] running tool calls; EM is answering slowly or not at all" + tail
    )
    in_flight = re.compile(head + r"while Enterprise Manager did not answer GET /api/\S+ \(attempt 1 of 1\)" + tail)
    failed = [text for text in texts if text.startswith("Error")]
    assert sum(1 for text in failed if queued.fullmatch(text)) == 1, failed
    assert sum(1 for text in failed if in_flight.fullmatch(text)) == 1, failed
    assert max(seconds for seconds, _ in results) <= 4 + 1


# --- the API: a budget per call, shared by all its requests ------------------------------------------------------


@pytest.fixture
def in_process(sim_app: Any) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=sim_app)


POINT_URL = f"{SIM_ORIGIN}/api/vmRestorePoints/{SQL01_POINT}?format=Entity"


async def test_requests_inside_one_deadline_share_it(sim_app: Any, in_process: httpx.ASGITransport) -> None:
    settings = make_settings(env={"VEEAM_EM_TIMEOUT": 5})
    async with EnterpriseManagerClient(settings, transport=in_process, retry_base_delay=BASE_DELAY) as client:
        await client.logon()
        sim_app.state.sim.faults.set("latency=0.3,method=GET")
        answered = 0
        with pytest.raises(DeadlineExceeded) as cut:
            with client.deadline(1.0) as call:
                for _ in range(10):  # a tool reading page after page
                    await client.get(POINT_URL)
                    answered += 1
        assert call.requests_answered == answered == 3
        assert str(cut.value).startswith(
            "The tool call did not finish within its deadline of 1 s, while Enterprise Manager did not answer GET "
            f"/api/vmRestorePoints/{SQL01_POINT}?format=Entity (attempt 1 of 3). "
        )
        assert cut.value.budget == 1.0 and cut.value.waiting_for == "em"
        assert client.stats.deadlines_exceeded == 1
        sim_app.state.sim.faults.clear()
        with client.deadline(0.5):  # the next call has its own, fresh deadline
            assert (await client.get(POINT_URL)).root == "VmRestorePoint"


async def test_nested_deadlines_keep_the_earlier(sim_app: Any, in_process: httpx.ASGITransport) -> None:
    async with EnterpriseManagerClient(make_settings(env={"VEEAM_EM_TIMEOUT": 5}), transport=in_process) as client:
        await client.logon()
        sim_app.state.sim.faults.set("latency=0.5,method=GET")
        with pytest.raises(DeadlineExceeded, match=r"deadline of 0\.2 s"), client.deadline(0.2):
            with client.deadline(30):  # cannot extend the call's deadline
                await client.get(POINT_URL)
        with pytest.raises(DeadlineExceeded, match=r"deadline of 0\.2 s"), client.deadline(30):
            with client.deadline(0.2):  # but may shorten it
                await client.get(POINT_URL)
    with pytest.raises(ValueError, match="positive"), client.deadline(0):
        pass


async def test_retries_stop_when_their_back_off_would_pass_the_deadline(
    sim_app: Any, in_process: httpx.ASGITransport
) -> None:
    # A back-off of at least 0.25 s after the first 503 cannot fit in what is left of a 0.2 s deadline.
    async with EnterpriseManagerClient(make_settings(), transport=in_process, retry_base_delay=0.5) as client:
        await client.logon()
        (fault,) = sim_app.state.sim.faults.set("status=503,method=GET")
        with pytest.raises(ServerError, match="HTTP 503"), client.deadline(0.2):
            await client.get(POINT_URL)
        assert fault.fired == 1 and client.stats.retries == 0
        with pytest.raises(ServerError, match="HTTP 503"):  # without a deadline the retries run as before
            await client.get(POINT_URL)
        assert fault.fired == 4 and client.stats.retries == 2


async def test_a_tool_can_ask_for_a_larger_budget(sim_app: Any) -> None:
    """``em_errors(deadline=...)``: a multi-page tool states its budget; the default one would cut it."""
    settings = make_settings(env={"VEEAM_EM_TIMEOUT": 0.2, "VEEAM_EM_RETRIES": 1})  # default deadline 0.4 s
    server = build_server(settings, transport=httpx.ASGITransport(app=sim_app), retry_base_delay=BASE_DELAY)

    async def read_pages(ctx: Context) -> str:
        client = state_of(ctx).client
        for _ in range(5):  # 5 × 0.1 s: each request is quick, the whole call is not
            await client.get(POINT_URL)
        return "read 5 pages"

    server.tool(name="default_budget")(em_errors(read_pages))
    server.tool(name="larger_budget")(em_errors(deadline=lambda client: 10 * client.default_deadline)(read_pages))
    async with Client(server) as client:
        assert not (await client.call_tool("default_budget", {})).is_error  # logged on, EM quick
        sim_app.state.sim.faults.set("latency=0.1,method=GET")
        cut = await client.call_tool("default_budget", {})
        ample = await client.call_tool("larger_budget", {})
    assert cut.is_error and "did not finish within its deadline of 0.4 s (VEEAM_EM_TIMEOUT 0.2 s" in text_of(cut)
    assert not ample.is_error, text_of(ample)


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [("2", 4 * 8.75), ("10", 55.0), ("30", 120.75)],  # four calls' time, capped at 55 s, never below one call's
)
def test_the_estate_tools_get_several_calls_time_but_not_past_the_clients_patience(timeout: str, expected: float) -> None:
    client = EnterpriseManagerClient(make_settings(env={"VEEAM_EM_TIMEOUT": timeout}))
    deadlines = {spec.name: spec.deadline(client) if callable(spec.deadline) else spec.deadline for spec in ESTATE_TOOLS}
    assert deadlines.pop("list_repositories") is None, "two requests: one call's deadline"
    assert set(deadlines.values()) == {expected}, deadlines
