"""Every private part of the ``mcp`` SDK and of uvicorn the server relies on, behind one seam.

Neither package offers a public way to do what the server needs here: serve a method ``MCPServer``
does not know (``logging/setLevel``), keep per-connection state (the log level), evict a session when
the table is full instead of refusing, and time out a connection that sends half a request. So the
server reaches into them, and it does so only here: the rest of the package uses the functions and the
two base classes below, whose names are ours and stable.

``HOOKS`` lists each private part with why it is used; ``tests/test_sdk_seams.py`` asserts that each
one still exists and still behaves as relied on, and fails naming the hook. ``pyproject.toml`` holds
``mcp`` and uvicorn to the minor releases these were written for (mcp 2.3, uvicorn 0.55); before raising
a bound, run that test against the new release (docs/development.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from mcp.server import MCPServer
from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.session import ServerSession
from mcp.server.streamable_http import EventStore, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import RequestBodyLimitMiddleware
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle


@dataclass(frozen=True)
class Hook:
    """One private part: ``owner.name`` (a class attribute, or an instance attribute when ``instance``)."""

    owner: type[Any]
    name: str
    why: str
    instance: bool = False

    @property
    def label(self) -> str:
        return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.name}"


HOOKS: tuple[Hook, ...] = (
    # mcp: the low-level server behind MCPServer (protocol.py, http/app.py)
    Hook(MCPServer, "_lowlevel_server", "the handler registry: serve logging/setLevel, resources/subscribe", True),
    Hook(Server, "add_request_handler", "register a handler for a method MCPServer does not serve"),
    Hook(Server, "get_request_handler", "wrap the SDK's server/discover handler"),
    Hook(Server, "get_capabilities", "report in server/discover what initialize reports"),
    Hook(Server, "icons", "the server's icon", True),
    # mcp: the connection behind a request's session (client_logs.py, subscriptions.py)
    Hook(ServerSession, "_connection", "per-connection state: the log level logging/setLevel asked for", True),
    # mcp: the stateful session manager (http/sessions.py)
    Hook(StreamableHTTPSessionManager, "_admit_session", "overridden: evict the LRU idle session when full"),
    Hook(StreamableHTTPSessionManager, "_discard_session", "overridden: drop the session's event store"),
    Hook(StreamableHTTPSessionManager, "_handle_request", "note a session's use before the SDK serves it"),
    Hook(StreamableHTTPSessionManager, "_server_instances", "the session table: count, find and evict", True),
    Hook(StreamableHTTPSessionManager, "_session_owners", "forget an evicted session's owner", True),
    Hook(StreamableHTTPSessionManager, "_task_group", "end an evicted session in the manager's tasks", True),
    Hook(StreamableHTTPSessionManager, "event_store", "read by _admit_session for the new transport", True),
    Hook(StreamableHTTPSessionManager, "asgi_app", "what StreamableHTTPASGIApp calls", True),
    Hook(StreamableHTTPServerTransport, "idle_scope", "a session is idle when its deadline is finite", True),
    # uvicorn: the h11 protocol (http/connections.py)
    Hook(H11Protocol, "cycle", "the request being served, and whether its response is complete", True),
    Hook(H11Protocol, "conn", "the h11 state machine: mark a timed-out connection closed", True),
    Hook(H11Protocol, "loop", "the loop the protocol's timers run on", True),
    Hook(H11Protocol, "transport", "the connection's socket transport", True),
    Hook(H11Protocol, "timeout_keep_alive_task", "the idle timer, armed with a fractional timeout", True),
    Hook(H11Protocol, "timeout_keep_alive_handler", "what the idle timer calls"),
    Hook(H11Protocol, "_unset_keepalive_if_required", "cancel the idle timer"),
    Hook(H11Protocol, "on_response_complete", "overridden: a connection is waiting again after a response"),
    Hook(RequestResponseCycle, "response_complete", "whether a request is still being served", True),
    # uvicorn: the server (http/runner.py)
    Hook(uvicorn.Server, "startup", "overridden: widen the listen queue once uvicorn has listened"),
)


# --- mcp: the low-level server and the connection ------------------------------------------------


def lowlevel_server(server: MCPServer[Any]) -> Server[Any]:
    """The low-level server inside ``server``: its request handlers, capabilities and icons."""
    lowlevel: Server[Any] = server._lowlevel_server
    return lowlevel


def session_connection(session: ServerSession) -> Connection:
    """The connection a request's session belongs to: it outlives the request (the log level lives there)."""
    connection: Connection = session._connection
    return connection


# --- mcp: the stateful session manager --------------------------------------------------------------


class SeamedSessionManager(StreamableHTTPSessionManager):
    """The SDK's session manager with its private parts under names of ours.

    Subclasses override ``admit_session`` and ``discard_session`` (the SDK calls them under its own
    private names) and read the table through ``sessions``.
    """

    def _admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        return self.admit_session(requestor)  # the SDK calls this under its admission lock, with no await

    async def _discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        await self.discard_session(session_id, transport)

    def admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        """A new session's transport, registered in the table; None when the table is full."""
        return super()._admit_session(requestor)

    async def discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        """Forget a session (ended, expired, crashed) and terminate its transport."""
        await super()._discard_session(session_id, transport)

    def admit_session_with(
        self, requestor: AuthorizationContext | None, event_store: EventStore | None
    ) -> StreamableHTTPServerTransport | None:
        """``admit_session`` giving the new transport ``event_store`` (the SDK hands every one the same)."""
        # The SDK passes `self.event_store` to the transport it creates; admission runs under its lock with
        # no await in between, so no other session can see this store.
        self.event_store = event_store
        try:
            return StreamableHTTPSessionManager._admit_session(self, requestor)  # the SDK's, not an override
        finally:
            self.event_store = None

    @property
    def sessions(self) -> dict[str, StreamableHTTPServerTransport]:
        """The session table: session id → transport (mutable: eviction pops from it)."""
        table: dict[str, StreamableHTTPServerTransport] = self._server_instances
        return table

    def forget_owner(self, session_id: str) -> None:
        self._session_owners.pop(session_id, None)

    def start_soon(self, function: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``function`` in the manager's task group (only inside ``run()``)."""
        assert self._task_group is not None, "the session manager is not running"
        self._task_group.start_soon(function, *args)

    def note_requests_with(self, note: Callable[[Scope], None]) -> None:
        """Call ``note(scope)`` before the SDK serves each request (inside its body-size limit)."""

        async def noted(scope: Scope, receive: Receive, send: Send) -> None:
            note(scope)
            await self._handle_request(scope, receive, send)

        self.asgi_app = RequestBodyLimitMiddleware(noted, self.max_request_body_size)

    @staticmethod
    def idle_deadline(transport: StreamableHTTPServerTransport) -> float | None:
        """When the session expires (infinite while a request or a GET stream is open); None before its first
        request has been served."""
        scope = transport.idle_scope
        return None if scope is None else scope.deadline


# --- uvicorn: the h11 protocol ------------------------------------------------------------------------


class SeamedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the internals a connection guard needs under names of ours.

    Subclasses may override the asyncio protocol callbacks and ``on_response_complete`` (uvicorn calls it
    when a response has been sent).
    """

    @property
    def current_cycle(self) -> object | None:
        """The request cycle last handed to the app (a new object per request), or None before the first."""
        cycle: RequestResponseCycle | None = self.cycle
        return cycle

    @property
    def request_in_progress(self) -> bool:
        """A request's headers have arrived and its response is not complete."""
        cycle: RequestResponseCycle | None = self.cycle
        return cycle is not None and not cycle.response_complete

    @property
    def socket_transport(self) -> asyncio.Transport:
        """The connection's asyncio transport (set by ``connection_made``)."""
        transport: asyncio.Transport = self.transport
        return transport

    def call_later(self, seconds: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self.loop.call_later(seconds, callback)

    def arm_idle_timer(self, seconds: float) -> None:
        """(Re)arm uvicorn's keep-alive timer with ``seconds`` (it only takes whole seconds itself)."""
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(seconds, self.timeout_keep_alive_handler)

    def cancel_idle_timer(self) -> None:
        self._unset_keepalive_if_required()

    def mark_closed(self) -> None:
        """Tell h11 the connection is closed, so uvicorn answers nothing more on it."""
        with contextlib.suppress(h11.LocalProtocolError):
            self.conn.send(h11.ConnectionClosed())
