"""The private parts of the mcp SDK and uvicorn the server relies on (``veeam_em_mcp.surface.sdk_seams``) still exist and
still behave as relied on; each failure names the hook, so a new SDK or uvicorn release shows what to look at.

Also: nothing outside ``sdk_seams`` touches those parts, and httpx's private proxy matching (``client``) exists.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest
import uvicorn
from mcp import Client
from mcp.server import MCPServer
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.types import EmptyResult, SetLevelRequestParams
from uvicorn.server import ServerState

from veeam_em_mcp.surface import sdk_seams
from veeam_em_mcp.surface.sdk_seams import HOOKS, Hook, SeamedH11Protocol, SeamedSessionManager

from .test_http_transport import INIT, MCP_HEADERS

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]

PACKAGE = Path(sdk_seams.__file__).resolve().parents[1]  # the whole package, not only the surface


def broken(hook: Hook, what: str) -> str:
    return (
        f"SDK seam broken: {hook.label} {what} (relied on for: {hook.why}). The installed mcp or uvicorn "
        "release changed it: adapt veeam_em_mcp/surface/sdk_seams.py (docs/development.md, 'Private parts of other packages')"
    )


def hook_named(name: str) -> Hook:
    return next(hook for hook in HOOKS if hook.name == name)


# --- each hook exists ------------------------------------------------------------------------------


class _Transport(asyncio.Transport):
    """A socket transport that keeps what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


async def _answer_ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


class _Protocol(SeamedH11Protocol):
    responses_completed = 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.responses_completed += 1


def _protocol() -> tuple[_Protocol, _Transport]:
    config = uvicorn.Config(_answer_ok, log_config=None, lifespan="off")
    protocol = _Protocol(config=config, server_state=ServerState(), app_state={})
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, transport


async def _a_session_of_a_request() -> Any:
    """A request's ``ServerSession``, captured in a handler registered the way protocol.py registers its own."""
    server: MCPServer[Any] = MCPServer("seams")
    seen: list[Any] = []

    async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
        seen.append(ctx.session)
        return EmptyResult()

    sdk_seams.lowlevel_server(server).add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    async with Client(server, mode="legacy") as client:  # logging/setLevel is of the handshake era
        await client.set_logging_level("info")
    return seen[0]


async def _served_protocol() -> _Protocol:
    protocol, _transport = _protocol()
    protocol.data_received(b"GET / HTTP/1.1\r\nhost: seams\r\n\r\n")
    await asyncio.sleep(0.01)  # let the request's task finish
    return protocol


async def _cycle() -> Any:
    return (await _served_protocol()).cycle


async def _lowlevel() -> Any:
    return MCPServer("seams")._lowlevel_server


async def _mcp_server() -> Any:
    return MCPServer("seams")


async def _manager() -> Any:
    return SeamedSessionManager(sdk_seams.Server("seams"))


async def _transport() -> Any:
    return StreamableHTTPServerTransport(mcp_session_id=None)


# One live object of each class a hook is an instance attribute of, made only for that class's hooks.
INSTANCE_OF: dict[type[Any], Callable[[], Awaitable[Any]]] = {
    MCPServer: _mcp_server,
    sdk_seams.Server: _lowlevel,
    sdk_seams.ServerSession: _a_session_of_a_request,
    sdk_seams.StreamableHTTPSessionManager: _manager,
    StreamableHTTPServerTransport: _transport,
    sdk_seams.H11Protocol: _served_protocol,
    sdk_seams.RequestResponseCycle: _cycle,
}


@pytest.mark.parametrize("hook", HOOKS, ids=[hook.label for hook in HOOKS])
async def test_each_hook_exists(hook: Hook) -> None:
    if not hook.instance:
        assert hasattr(hook.owner, hook.name), broken(hook, "is gone")
        return
    try:
        instance = await INSTANCE_OF[hook.owner]()
    except Exception as exc:
        pytest.fail(broken(hook, f"cannot be looked at: making a {hook.owner.__name__} failed ({exc!r})"))
    assert hasattr(instance, hook.name), broken(hook, "is gone (no such attribute on an instance)")


def test_the_hooks_are_private_parts_only_sdk_seams_touches() -> None:
    private = sorted({hook.name for hook in HOOKS if hook.name.startswith("_")} | {"timeout_keep_alive_task"})
    pattern = re.compile(r"\.(" + "|".join(re.escape(name) for name in private) + r")\b")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "sdk_seams.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) or "uvicorn.protocols" in line
    ]
    assert offenders == [], "private SDK/uvicorn parts used outside sdk_seams.py"


# --- each hook behaves ------------------------------------------------------------------------------


async def test_the_low_level_server_serves_what_protocol_py_registers() -> None:
    server: MCPServer[Any] = MCPServer("seams")
    lowlevel = sdk_seams.lowlevel_server(server)
    assert lowlevel.get_request_handler("server/discover") is not None, broken(
        hook_named("get_request_handler"), "no longer finds the SDK's server/discover handler"
    )
    before = lowlevel.get_capabilities()
    assert before.logging is None
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, _noop_set_level)
    assert lowlevel.get_capabilities().logging is not None, broken(
        hook_named("add_request_handler"), "no longer makes a handler part of the capabilities"
    )


async def _noop_set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
    return EmptyResult()


async def test_a_session_leads_to_its_connection() -> None:
    connection = sdk_seams.session_connection(await _a_session_of_a_request())
    hook = hook_named("_connection")
    assert isinstance(connection, Connection), broken(hook, f"is a {type(connection).__name__}, not a Connection")
    assert isinstance(connection.state, dict), broken(hook, "has no per-connection state dict")
    assert hasattr(connection, "exit_stack"), broken(hook, "has no exit_stack (subscriptions end with it)")


class _RecordingManager(SeamedSessionManager):
    def __init__(self) -> None:
        super().__init__(sdk_seams.Server("seams"))
        self.admitted: list[str] = []
        self.discarded: list[str] = []
        self.noted: list[str] = []
        self.note_requests_with(lambda scope: self.noted.append(scope["method"]))

    def admit_session(self, requestor: Any) -> StreamableHTTPServerTransport | None:
        transport = super().admit_session(requestor)
        if transport is not None and transport.mcp_session_id is not None:
            self.admitted.append(transport.mcp_session_id)
        return transport

    async def discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        self.discarded.append(session_id)
        await super().discard_session(session_id, transport)




async def test_the_session_manager_calls_the_overrides_and_keeps_its_table() -> None:
    manager = _RecordingManager()
    async with manager.run(), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=StreamableHTTPASGIApp(manager)), base_url="http://seams"
    ) as http:
        opened = await http.post("/mcp", json=INIT, headers=MCP_HEADERS)
        assert opened.status_code == 200
        session_id = opened.headers["mcp-session-id"]
        assert manager.noted == ["POST"], broken(hook_named("asgi_app"), "is not what serves a request")
        assert manager.admitted == [session_id], broken(hook_named("_admit_session"), "is not called to open one")
        transport = manager.sessions.get(session_id)
        assert transport is not None, broken(hook_named("_server_instances"), "does not hold the open session")
        deadline = manager.idle_deadline(transport)
        assert deadline is not None and math.isfinite(deadline), broken(
            hook_named("idle_scope"), "holds no finite deadline for an idle session"
        )

        ran = asyncio.Event()

        async def mark() -> None:
            ran.set()

        manager.start_soon(mark)
        await asyncio.wait_for(ran.wait(), 5)
        manager.forget_owner(session_id)

        ended = await http.delete(
            "/mcp", headers={"mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
        )
        assert ended.status_code == 200
        assert session_id in manager.discarded, broken(hook_named("_discard_session"), "is not called to end one")
        assert session_id not in manager.sessions


async def test_a_new_session_gets_the_event_store_it_is_admitted_with() -> None:
    manager = SeamedSessionManager(sdk_seams.Server("seams"))
    store: Any = object()
    transport = manager.admit_session_with(None, store)
    assert transport is not None
    assert transport._event_store is store, broken(hook_named("event_store"), "is not what a new transport gets")
    assert manager.event_store is None


async def test_the_h11_protocol_exposes_its_request_cycle_and_timers() -> None:
    protocol, transport = _protocol()
    cycle_hook = hook_named("cycle")
    assert protocol.current_cycle is None and not protocol.request_in_progress, broken(cycle_hook, "is set too early")
    protocol.arm_idle_timer(30)
    assert isinstance(protocol.timeout_keep_alive_task, asyncio.TimerHandle), broken(
        hook_named("timeout_keep_alive_task"), "is not the idle timer"
    )
    protocol.cancel_idle_timer()
    assert protocol.timeout_keep_alive_task is None, broken(hook_named("_unset_keepalive_if_required"), "left it")

    protocol.data_received(b"GET / HTTP/1.1\r\nhost: seams\r\n\r\n")
    first = protocol.current_cycle
    assert first is not None and protocol.request_in_progress, broken(cycle_hook, "is not the request being served")
    for _ in range(100):
        if protocol.responses_completed:
            break
        await asyncio.sleep(0.01)
    assert protocol.responses_completed == 1, broken(hook_named("on_response_complete"), "is not called")
    assert not protocol.request_in_progress, broken(hook_named("response_complete"), "is not set")
    assert transport.written.startswith(b"HTTP/1.1 200")

    protocol.arm_idle_timer(0.01)
    await asyncio.sleep(0.1)
    assert transport.closed, broken(hook_named("timeout_keep_alive_handler"), "does not close an idle connection")

    protocol.mark_closed()
    assert protocol.conn.our_state is h11.CLOSED, broken(hook_named("conn"), "is not the h11 connection")
    assert protocol.socket_transport is transport, broken(hook_named("transport"), "is not the socket transport")


async def test_uvicorn_calls_startup_with_the_sockets() -> None:
    hook = hook_named("startup")
    signature = uvicorn.Server.startup.__code__.co_varnames
    assert "sockets" in signature, broken(hook, "takes no sockets argument")


def test_httpx_still_matches_proxies_the_way_client_asks_it() -> None:
    from httpx._utils import URLPattern, get_environment_proxies

    assert callable(get_environment_proxies), "httpx._utils.get_environment_proxies is gone (client.environment_proxy)"
    assert URLPattern("all://").matches(httpx.URL("https://em:9398")), "httpx._utils.URLPattern changed"
