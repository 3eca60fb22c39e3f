"""The stateful session table (cap, eviction of the least recently used idle session, idle expiry),
resumable streams (priming event, ``retry``, replay with ``Last-Event-ID``, one store per session,
bounded), and stateless mode's refusals.

The server is ``HttpService`` on loopback in a thread, driven with raw streamable-HTTP requests
(initialize, GET streams, Last-Event-ID) as an MCP client of the 2025-11-25 era sends them, and
with the official ``mcp.Client`` for the tool calls.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import jsonrpc_message_adapter

from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.http import EventBudget, HttpLimits, build_http_app, session_manager_of
from veeam_em_mcp.surface.server import build_server

from .conftest import SQL01_POINT, make_settings
from .http_server import InProcessServer, serve_in_thread

pytestmark = pytest.mark.anyio

TOKEN = "test-token-0123456789abcdef"
VERSION = "2025-11-25"
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "Authorization": f"Bearer {TOKEN}",
}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


@contextmanager
def stateful_server(simulator: RunningSimulator, *, stateless: bool = False, **limits: Any) -> Iterator[InProcessServer]:
    bounds = HttpLimits(**limits)
    server = build_server(make_settings(simulator.base_url), retry_base_delay=0.01)
    with serve_in_thread(build_http_app(server, token=TOKEN, stateless=stateless, limits=bounds), bounds) as running:
        yield running


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    event: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if event:
                yield event
            event = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        event[name] = value.removeprefix(" ")
    if event:
        yield event


def session_headers(session_id: str, **extra: str) -> dict[str, str]:
    return {**HEADERS, "mcp-session-id": session_id, "mcp-protocol-version": VERSION, **extra}


async def open_session(client: httpx.AsyncClient, base: str) -> tuple[str, list[dict[str, str]]]:
    async with client.stream("POST", f"{base}/mcp", json=INIT, headers=HEADERS) as response:
        assert response.status_code == 200, await response.aread()
        session_id = response.headers["mcp-session-id"]
        events = [event async for event in sse_events(response)]
    initialized = await client.post(
        f"{base}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session_headers(session_id)
    )
    assert initialized.status_code == 202
    return session_id, events


async def ping(client: httpx.AsyncClient, base: str, session_id: str) -> int:
    response = await client.post(
        f"{base}/mcp", json={"jsonrpc": "2.0", "id": 99, "method": "ping"}, headers=session_headers(session_id)
    )
    return response.status_code


@asynccontextmanager
async def get_stream(client: httpx.AsyncClient, base: str, session_id: str) -> AsyncIterator[httpx.Response]:
    """The session's standalone SSE stream, held open (a request in flight: the session is busy)."""
    headers = session_headers(session_id, Accept="text/event-stream")
    async with client.stream("GET", f"{base}/mcp", headers=headers) as response:
        assert response.status_code == 200
        yield response


# --- the session table -----------------------------------------------------------------------------


async def test_a_full_table_ends_the_least_recently_used_idle_session(loopback_simulator: RunningSimulator) -> None:
    with stateful_server(loopback_simulator, max_sessions=3) as running:
        base = running.base
        manager = session_manager_of(running.app)
        assert manager is not None
        async with httpx.AsyncClient(timeout=30) as client:
            first, _ = await open_session(client, base)
            second, _ = await open_session(client, base)
            third, _ = await open_session(client, base)
            async with get_stream(client, base, first):  # the oldest, but busy: not a candidate
                fourth, _ = await open_session(client, base)  # the table is full: `second` makes room
                assert manager.evicted_sessions == 1
                assert await ping(client, base, second) == 404
                assert [await ping(client, base, s) for s in (first, third, fourth)] == [200, 200, 200]
                assert manager.open_sessions == 3

                # Every session busy: nothing to end, so the SDK's 503 stands.
                async with get_stream(client, base, third), get_stream(client, base, fourth):
                    refused = await client.post(f"{base}/mcp", json=INIT, headers=HEADERS)
                    assert refused.status_code == 503
                    assert manager.evicted_sessions == 1


async def test_after_eviction_the_client_initialises_again_and_calls_a_tool(
    loopback_simulator: RunningSimulator,
) -> None:
    with stateful_server(loopback_simulator, max_sessions=2) as running:
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(5):  # abandoned sessions, never DELETEd
                await open_session(client, running.base)
        http_client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        async with http_client, Client(
            streamable_http_client(f"{running.base}/mcp", http_client=http_client), mode="legacy"
        ) as mcp_client:
            result = await mcp_client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        manager = session_manager_of(running.app)
        assert manager is not None and manager.evicted_sessions >= 3
    assert not result.is_error and result.structured_content["vm_name"] == "sql01"


async def test_idle_sessions_expire(loopback_simulator: RunningSimulator) -> None:
    with stateful_server(loopback_simulator, session_idle_timeout=1) as running:
        async with httpx.AsyncClient(timeout=30) as client:
            session, _ = await open_session(client, running.base)
            assert await ping(client, running.base, session) == 200
            manager = session_manager_of(running.app)
            assert manager is not None and manager.open_sessions == 1
            deadline = time.monotonic() + 15
            while manager.open_sessions:  # watched from outside: a ping would keep it alive
                assert time.monotonic() < deadline, "the idle session did not expire"
                time.sleep(0.2)
            assert await ping(client, running.base, session) == 404


# --- resumable streams --------------------------------------------------------------------------------


async def test_a_dropped_stream_resumes_with_last_event_id(loopback_simulator: RunningSimulator) -> None:
    with stateful_server(loopback_simulator) as running:
        base = running.base
        async with httpx.AsyncClient(timeout=30) as client:
            session, init_events = await open_session(client, base)
            priming = init_events[0]
            assert priming.get("id") and priming.get("retry") == "1000" and priming.get("data") == ""
            assert json.loads(init_events[1]["data"])["id"] == 1

            call = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "get_vm_restore_point", "arguments": {"restore_point_id": SQL01_POINT}},
            }
            async with client.stream("POST", f"{base}/mcp", json=call, headers=session_headers(session)) as response:
                first = await anext(sse_events(response))
            last_event_id = first["id"]  # the stream dropped right after its priming event

            answer = None
            for _ in range(50):  # a client reconnects after `retry`; the call may still be running
                headers = session_headers(session, Accept="text/event-stream", **{"Last-Event-ID": last_event_id})
                async with client.stream("GET", f"{base}/mcp", headers=headers) as replay:
                    assert replay.status_code == 200
                    async for event in sse_events(replay):
                        if event.get("data"):
                            answer = json.loads(event["data"])
                            break
                if answer is not None:
                    break
                time.sleep(0.1)
    assert answer is not None, "the answer was not replayed"
    assert answer["id"] == 2
    assert answer["result"]["structuredContent"]["vm_name"] == "sql01"


async def test_a_session_cannot_replay_another_sessions_events(loopback_simulator: RunningSimulator) -> None:
    with stateful_server(loopback_simulator) as running:
        base = running.base
        async with httpx.AsyncClient(timeout=30) as client:
            alice, alice_events = await open_session(client, base)
            bob, _ = await open_session(client, base)
            # Both sessions' initialize streams are named "1" by the SDK; only a per-session store
            # keeps Alice's answer out of Bob's replay.
            headers = session_headers(bob, Accept="text/event-stream", **{"Last-Event-ID": alice_events[0]["id"]})
            async with client.stream("GET", f"{base}/mcp", headers=headers) as replay:
                replayed = [event async for event in sse_events(replay)]
            assert await ping(client, base, alice) == 200
    assert not [event for event in replayed if event.get("data")]


def message(request_id: int, size: int) -> Any:
    return jsonrpc_message_adapter.validate_python({"jsonrpc": "2.0", "id": request_id, "result": {"text": "x" * size}})


async def test_the_event_store_is_bounded_per_session_and_in_total() -> None:
    budget = EventBudget(max_bytes=50_000, per_session=10)
    busy, quiet = budget.session_store(), budget.session_store()
    quiet_id = await quiet.store_event("1", message(1, 100))
    ids = [await busy.store_event("1", message(i, 100)) for i in range(30)]
    assert len(busy.order) == 10 and budget.get(ids[0]) is None and budget.get(ids[-1]) is not None
    assert budget.get(quiet_id) is not None

    replayed: list[Any] = []

    async def collect(event: Any) -> None:
        replayed.append(event)

    assert await busy.replay_events_after(ids[25], collect) == "1"
    assert [event.message.id for event in replayed] == [26, 27, 28, 29]
    assert await busy.replay_events_after(ids[0], collect) is None  # dropped: nothing to replay
    assert await quiet.replay_events_after(ids[-1], collect) is None  # not its event

    # Large events push out the oldest ones, whichever session they belong to.
    for i in range(10):
        await busy.store_event("2", message(100 + i, 20_000))
    assert budget.bytes_used <= 50_000
    assert budget.get(quiet_id) is None

    busy.close()
    quiet.close()
    assert budget.events_stored == 0 and budget.bytes_used == 0


# --- stateless mode -------------------------------------------------------------------------------------


async def test_stateless_mode_refuses_standalone_streams_with_405(loopback_simulator: RunningSimulator) -> None:
    with stateful_server(loopback_simulator, stateless=True) as running:
        async with httpx.AsyncClient(timeout=10) as client:
            stream = await client.get(f"{running.base}/mcp", headers={**HEADERS, "Accept": "text/event-stream"})
            delete = await client.delete(f"{running.base}/mcp", headers={**HEADERS, "mcp-session-id": "x"})
            unauthenticated = await client.get(f"{running.base}/mcp", headers={"Accept": "text/event-stream"})
            posted = await client.post(f"{running.base}/mcp", json=INIT, headers=HEADERS)
        assert running.service.guard.open_connections <= 1
    assert stream.status_code == delete.status_code == unauthenticated.status_code == 405
    assert stream.headers["allow"] == "POST"
    assert "stateless" in stream.json()["error"]["message"]
    assert posted.status_code == 200


async def test_stateful_streams_need_a_session_and_modern_requests_have_none(
    loopback_simulator: RunningSimulator,
) -> None:
    with stateful_server(loopback_simulator) as running:
        async with httpx.AsyncClient(timeout=10) as client:
            no_session = await client.get(f"{running.base}/mcp", headers={"Accept": "text/event-stream"})
            modern = await client.get(
                f"{running.base}/mcp", headers={**HEADERS, "mcp-protocol-version": "2026-07-28", "mcp-session-id": "x"}
            )
            put = await client.put(f"{running.base}/mcp", headers=HEADERS)
    assert no_session.status_code == 400 and "Missing session ID" in no_session.json()["error"]["message"]
    assert modern.status_code == 405 and modern.headers["allow"] == "POST"
    assert put.status_code == 405 and put.headers["allow"] == "GET, POST, DELETE"
