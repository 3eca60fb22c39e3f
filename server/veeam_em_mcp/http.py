"""Streamable HTTP transport: ``veeam-em-mcp serve --transport http`` serves MCP at ``/mcp``.

Over stdio the client *is* the user; over HTTP anyone who can reach the port could ask about the
backup estate with the server's EM credentials, and anyone can open connections. So:

- it binds loopback (127.0.0.1) unless told otherwise;
- every request to ``/mcp`` needs ``Authorization: Bearer <VEEAM_MCP_HTTP_TOKEN>`` (401 without it;
  compared in constant time), unless ``--no-auth`` is given *and* the host is loopback; the server
  refuses to start otherwise, with one line saying why;
- the SDK's Host/Origin checks (DNS-rebinding protection) stay on: loopback names (with or without
  a port, http or https) always pass; extra names come from ``VEEAM_MCP_HTTP_ALLOWED_HOSTS`` /
  ``VEEAM_MCP_HTTP_ALLOWED_ORIGINS``;
- there is no OAuth: ``/.well-known/*`` and the default OAuth endpoints answer 404 without a token,
  so a client that meets the 401 finds nothing to sign in to and says so;
- ``--stateless`` keeps no MCP session between requests, so replicas can sit behind a load
  balancer without sticky sessions (each replica keeps its own EM logon session); a standalone
  ``GET`` stream is refused with 405 there;
- ``/healthz`` answers 200 without auth and reveals nothing, for load-balancer probes.

It stays up when callers misbehave (every limit is an environment variable, listed in ``LIMITS``
and in docs/http-transport.md):

- accepted sockets get ``TCP_NODELAY`` (without it every response waits ~40 ms for a delayed ACK);
- connections are capped below the open-file limit; at the cap the longest-idle connection is
  closed to admit a new one (503 only when every connection is serving a request); a connection
  gets a bounded time to send its headers, its body, and to sit idle;
- the stateful session table is capped; when it is full the least recently used idle session is
  ended instead of refusing the new client; idle sessions expire;
- responses are resumable (``Last-Event-ID``): a priming event with ``retry``, and one event store
  per session, all of them together bounded in bytes;
- logging cannot flood: one line per condition per minute, and no access log with query strings.

``build_http_app`` makes the ASGI app without running it, so tests drive it in-process or under
uvicorn on loopback; ``HttpService`` runs it the way the command line does.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import re
import socket
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Final
from uuid import uuid4

import anyio
import h11
import uvicorn
from mcp.server import MCPServer
from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp.server.streamable_http import (
    MCP_SESSION_ID_HEADER,
    EventCallback,
    EventId,
    EventMessage,
    EventStore,
    StreamableHTTPServerTransport,
    StreamId,
)
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import RequestBodyLimitMiddleware, TransportSecuritySettings
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types import JSONRPCMessage, jsonrpc_message_adapter
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from .errors import HttpSetupError

log = logging.getLogger("veeam_em_mcp.http")
access_log = logging.getLogger("veeam_em_mcp.http.access")

TOKEN_ENV = "VEEAM_MCP_HTTP_TOKEN"  # noqa: S105  # the variable's name, not a token
ALLOWED_HOSTS_ENV = "VEEAM_MCP_HTTP_ALLOWED_HOSTS"
ALLOWED_ORIGINS_ENV = "VEEAM_MCP_HTTP_ALLOWED_ORIGINS"
ACCESS_LOG_ENV = "VEEAM_MCP_HTTP_ACCESS_LOG"
MIN_TOKEN_CHARS = 16
MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# Where OAuth clients look for an authorization server, and the endpoints they fall back to when
# there is no metadata (the MCP authorization spec's defaults). None of them exists here.
_OAUTH_DEFAULT_ENDPOINTS = frozenset({"/register", "/authorize", "/token"})
# What a client that went looking for OAuth reads (mcp-remote prints it). It avoids the word
# "Unauthorized": mcp-remote takes an error containing it as a cue to start a browser sign-in.
NO_OAUTH = (
    "this MCP server offers no OAuth (no authorization server, no client registration): requests to "
    f"{MCP_PATH} need the header 'Authorization: Bearer <token>' with the token set in {TOKEN_ENV} "
    "on the server, and are answered 401 without it"
)
# File descriptors kept free for everything that is not a client connection: the EM connection
# pool, the embedded simulator in demo mode, log files, the event loop's own.
FD_RESERVE: Final = 64
# asyncio accepts up to `backlog` connections per loop turn before any protocol sees one, so the
# cap must leave that many descriptors spare; it also makes that number the listen queue, which
# `_GuardedServer` widens again once listening (a short queue drops a burst's SYNs: 1 s retries).
ACCEPT_BACKLOG: Final = 128
LISTEN_QUEUE: Final = 1024
LOG_INTERVAL_SECONDS: Final = 60.0


# --- limits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpLimits:
    """Every bound of the HTTP transport; each field is set by the variable ``LIMITS`` names."""

    max_connections: int = 512
    idle_timeout: float = 15.0
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_body_bytes: int = 4 * 1024 * 1024
    max_sessions: int = 1000
    session_idle_timeout: float = 1800.0
    event_store_bytes: int = 16 * 1024 * 1024
    event_store_session_events: int = 64
    sse_retry_ms: int = 1000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HttpLimits:
        """The defaults overridden by whichever variables are set; ``HttpSetupError`` names a bad one."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            variable, minimum = LIMITS[field.name]
            raw = env.get(variable, "").strip()
            if not raw:
                continue
            values[field.name] = _parse_limit(variable, raw, minimum, whole=field.type in ("int", int))
        return replace(cls(), **values)


# field → (variable, smallest accepted value). Seconds may be fractional; counts and sizes are whole.
LIMITS: Final[dict[str, tuple[str, float]]] = {
    "max_connections": ("VEEAM_MCP_HTTP_MAX_CONNECTIONS", 1),
    "idle_timeout": ("VEEAM_MCP_HTTP_IDLE_TIMEOUT", 0.1),
    "header_timeout": ("VEEAM_MCP_HTTP_HEADER_TIMEOUT", 0.1),
    "body_timeout": ("VEEAM_MCP_HTTP_BODY_TIMEOUT", 0.1),
    "max_body_bytes": ("VEEAM_MCP_HTTP_MAX_BODY_BYTES", 1024),
    "max_sessions": ("VEEAM_MCP_HTTP_MAX_SESSIONS", 1),
    "session_idle_timeout": ("VEEAM_MCP_HTTP_SESSION_IDLE_TIMEOUT", 1),
    "event_store_bytes": ("VEEAM_MCP_HTTP_EVENT_STORE_BYTES", 0),
    "event_store_session_events": ("VEEAM_MCP_HTTP_EVENT_STORE_SESSION_EVENTS", 1),
    "sse_retry_ms": ("VEEAM_MCP_HTTP_SSE_RETRY_MS", 0),
}


def _parse_limit(variable: str, raw: str, minimum: float, *, whole: bool) -> float:
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < minimum:
        kind = "a whole number" if whole else "a number of seconds"
        raise HttpSetupError(f"{variable} must be {kind} of at least {minimum:g} (got {raw!r})")
    return value


def fit_to_open_file_limit(limits: HttpLimits) -> HttpLimits:
    """Lower the connection cap below the process's open-file limit, so accept() never meets EMFILE.

    asyncio logs a traceback for every failed accept (thousands a second under a flood), and the
    connection that failed is lost anyway; a cap that is always reached first avoids both.
    """
    soft_limit = _open_file_limit()
    if soft_limit is None:
        return limits
    allowed = soft_limit - _open_file_count() - FD_RESERVE - ACCEPT_BACKLOG
    if allowed < 8:
        raise HttpSetupError(
            f"the open-file limit ({soft_limit}) leaves no room for client connections: raise it (ulimit -n)"
        )
    if limits.max_connections <= allowed:
        return limits
    log.warning(
        "%s=%d does not fit the open-file limit (%d, %d reserved): serving at most %d connections",
        LIMITS["max_connections"][0],
        limits.max_connections,
        soft_limit,
        FD_RESERVE + ACCEPT_BACKLOG,
        allowed,
    )
    return replace(limits, max_connections=allowed)


def _open_file_limit() -> int | None:
    if sys.platform == "win32":
        return None
    import resource  # POSIX only

    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def _open_file_count() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 32  # not Linux: a typical start-up count


# --- logging that cannot flood --------------------------------------------------------------------


class LogFloodGuard(logging.Filter):
    """A handler filter: one record per condition per interval from the HTTP stack's loggers.

    A condition is a logger, a level and a message up to its first ``": "`` with numbers and ids
    blanked, so "Invalid Host header: a" and "... b" are one condition, as are 2,000 failed
    accepts. The first record of a window passes (saying how many like it were dropped in the
    previous one); the rest are dropped. Whatever the conditions, a logger passes at most
    ``per_logger`` records per interval. Records from other loggers pass untouched.
    """

    _WATCHED = ("uvicorn", "asyncio", "mcp.server", "mcp.shared", "sse_starlette", "starlette", "veeam_em_mcp.http")
    _UNWATCHED = ("veeam_em_mcp.http.access",)
    _VARIABLE = re.compile(r"[0-9a-fA-F]{8,}|\d+")
    _MAX_CONDITIONS = 1000

    def __init__(
        self, interval: float = LOG_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic, per_logger: int = 20
    ) -> None:
        super().__init__()
        self.interval = interval
        self.per_logger = per_logger
        self._clock = clock
        self._conditions: OrderedDict[tuple[str, int, str], list[float]] = OrderedDict()  # [start, dropped]
        self._loggers: dict[str, list[float]] = {}  # [start, passed]

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if not name.startswith(self._WATCHED) or name.startswith(self._UNWATCHED):
            return True
        now = self._clock()
        condition = str(record.msg).split(": ", 1)[0]
        key = (name, record.levelno, self._VARIABLE.sub("#", condition)[:120])
        window = self._conditions.get(key)
        if window is not None and now - window[0] < self.interval:
            window[1] += 1
            return False
        budget = self._loggers.get(name)
        if budget is None or now - budget[0] >= self.interval:
            budget = self._loggers[name] = [now, 0]
        if budget[1] >= self.per_logger:
            if window is not None:
                window[1] += 1
            return False
        budget[1] += 1
        dropped = int(window[1]) if window is not None else 0
        self._conditions[key] = [now, 0]
        self._conditions.move_to_end(key)
        while len(self._conditions) > self._MAX_CONDITIONS:
            self._conditions.popitem(last=False)
        if dropped:
            record.msg = f"{record.getMessage()} [{dropped} more like this in the last {self.interval:g} s not logged]"
            record.args = None
        return True


def install_log_flood_guard(guard: LogFloodGuard | None = None) -> LogFloodGuard:
    """Attach the guard to the root logger's handlers (the CLI's stderr handler)."""
    guard = guard or LogFloodGuard()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, LogFloodGuard) for existing in handler.filters):
            handler.addFilter(guard)
    # The SDK logs every session's creation and end at INFO: 10,000 abandoned sessions would be
    # 20,000 lines. Its warnings and errors still come through (rate-limited).
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in ("mcp.server.streamable_http", "mcp.server.streamable_http_manager"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return guard


_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """One line, no traceback, for the accept loop running out of file descriptors or memory."""
    exc = context.get("exception")
    if isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS:
        log.error(
            "cannot accept connections: %s (errno %d); lower %s or raise the open-file limit (ulimit -n)",
            exc.strerror,
            exc.errno,
            LIMITS["max_connections"][0],
        )
        return
    loop.default_exception_handler(context)


# --- Host / Origin --------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    return host.strip().strip("[]") in ("0.0.0.0", "::", "")  # noqa: S104  # recognised, not bound


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def transport_security(
    host: str, port: int, extra_hosts: Sequence[str] = (), extra_origins: Sequence[str] = ()
) -> TransportSecuritySettings:
    """Host/Origin allow-lists: loopback names always, the bound address, and configured extras.

    Loopback names pass with or without a port (a local reverse proxy on 80/443 sends ``Host:
    localhost``), and over http or https; anything else must be listed.
    """
    hosts = [name for loopback in _LOOPBACK_NAMES for name in (loopback, f"{loopback}:*")]
    origins = [
        origin
        for loopback in _LOOPBACK_NAMES
        for scheme in ("http", "https")
        for origin in (f"{scheme}://{loopback}", f"{scheme}://{loopback}:*")
    ]
    if not is_loopback(host) and not _is_wildcard(host):
        bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
        hosts += [bracketed, f"{bracketed}:{port}"]
        origins += [f"http://{bracketed}:{port}", f"https://{bracketed}:{port}"]
    hosts += list(extra_hosts)
    origins += list(extra_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


# --- small ASGI layers ------------------------------------------------------------------------------


async def _send_json(
    send: Send, status: int, payload: Mapping[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _jsonrpc_error(message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class BearerTokenGate:
    """ASGI middleware: every HTTP request except ``/healthz`` needs the bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        # Compare digests: equal lengths, so compare_digest leaks nothing about the token's length.
        self._expected = hashlib.sha256(token.encode()).digest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        if self._authorised(scope):
            await self.app(scope, receive, send)
            return
        await _send_json(
            send,
            401,
            {
                "error": "invalid_token",
                "error_description": (
                    f"this MCP server requires 'Authorization: Bearer <token>' with the token set in {TOKEN_ENV}"
                ),
            },
            [(b"www-authenticate", b'Bearer realm="veeam-em-mcp", error="invalid_token"')],
        )

    def _authorised(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                scheme, _, credential = value.decode("latin-1").strip().partition(" ")
                if scheme.lower() == "bearer" and credential.strip():
                    seen = hashlib.sha256(credential.strip().encode()).digest()
                    return hmac.compare_digest(seen, self._expected)
        return False


class HealthCheck:
    """ASGI: ``/healthz`` → 200 ``ok`` (no auth, no details); everything else goes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == HEALTH_PATH:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"3")],
                }
            )
            await send({"type": "http.response.body", "body": b"ok\n"})
            return
        await self.app(scope, receive, send)


def is_oauth_discovery(path: str) -> bool:
    """A path an OAuth client probes: any ``.well-known`` document, or a default OAuth endpoint."""
    return path == "/.well-known" or "/.well-known/" in path or path in _OAUTH_DEFAULT_ENDPOINTS


class NoOAuthHere:
    """ASGI: OAuth discovery paths answer 404 (nothing there) without a token.

    Answering them 401 tells a client that an authorization server sits behind the token and sends
    it into OAuth registration; 404 is the truth, and its body says what to send instead.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_oauth_discovery(str(scope.get("path", ""))):
            await _send_json(send, 404, {"error": "not_found", "error_description": NO_OAUTH})
            return
        await self.app(scope, receive, send)


class McpRequestShape:
    """ASGI: refuse, before the token check, requests to ``/mcp`` that no credential could make succeed.

    The answers say nothing about the token or the data: a method the endpoint does not have (405),
    a ``GET``/``DELETE`` without a session in stateful mode (400, as the SDK says), and in stateless
    mode anything but ``POST`` (405: there is no standalone stream to hold and no session to end).
    Refusing these first also keeps clients such as mcp-remote from taking a probe's 401 as an
    invitation to sign in.
    """

    def __init__(self, app: ASGIApp, *, stateless: bool) -> None:
        self.app = app
        self.stateless = stateless
        self.allowed = ("POST",) if stateless else ("GET", "POST", "DELETE")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != MCP_PATH:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        modern = _header(scope, MCP_PROTOCOL_VERSION_HEADER.encode()) not in (None, *HANDSHAKE_PROTOCOL_VERSIONS)
        if method not in self.allowed or (method != "POST" and modern):
            if self.stateless:
                why = "this server is stateless (--stateless): no standalone SSE stream, no sessions; use POST"
            elif modern:
                why = "protocol 2026-07-28 has no standalone SSE stream and no sessions; use POST"
            else:
                why = "use POST for requests, GET for the session's SSE stream, DELETE to end a session"
            allow = "POST" if self.stateless or modern else ", ".join(self.allowed)
            await _send_json(send, 405, _jsonrpc_error(f"Method Not Allowed: {why}"), [(b"allow", allow.encode())])
            return
        if method != "POST" and _header(scope, MCP_SESSION_ID_HEADER.encode()) is None:
            await _send_json(send, 400, _jsonrpc_error("Bad Request: Missing session ID"))
            return
        await self.app(scope, receive, send)


class RequestBodyDeadline:
    """ASGI: read a request's whole body within ``timeout`` seconds and ``max_bytes``, then pass it on.

    A client that stops half-way through its body gets 408 (one log line a minute, however many do
    it) instead of holding a connection and a server task; one that sends too much gets 413 as soon
    as it has. The body is then handed to the app in one piece; later ``receive()`` calls go to
    the connection, so the app still learns of a disconnect.
    """

    def __init__(self, app: ASGIApp, *, timeout: float, max_bytes: int) -> None:
        self.app = app
        self.timeout = timeout
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client left: nobody to answer
                body = message.get("body", b"")
                size += len(body)
                if size > self.max_bytes:
                    await self._too_large(send)
                    return
                chunks.append(body)
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            log.warning(
                "a client sent an incomplete request body for %g s (%s=%g): answered 408 and closed",
                self.timeout,
                LIMITS["body_timeout"][0],
                self.timeout,
            )
            await _send_json(
                send,
                408,
                _jsonrpc_error(f"Request Timeout: the request body did not arrive within {self.timeout:g} s"),
                [(b"connection", b"close")],
            )
            return
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return whole
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await _send_json(
            send,
            413,
            _jsonrpc_error(f"Request body too large: at most {self.max_bytes} bytes ({LIMITS['max_body_bytes'][0]})"),
            [(b"connection", b"close")],
        )


class AccessLog:
    """ASGI, opt-in (``VEEAM_MCP_HTTP_ACCESS_LOG=true``): method, path, status and time of each request.

    Never the query string (tokens travel there in some clients), never a header; ``/healthz`` is
    not logged (a load balancer probes it every few seconds).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info(
                "%s %s %s %d %.1fms",
                client[0],
                scope["method"],
                scope.get("path", ""),
                status,
                (time.perf_counter() - started) * 1000,
            )


# --- resumable streams: the event store -----------------------------------------------------------

_EVENT_OVERHEAD: Final = 160  # bytes an event costs beyond its JSON (ids, list and dict slots)


@dataclass
class _StoredEvent:
    store: SessionEventStore
    stream_id: StreamId
    data: str | None  # the message as JSON; None for a priming event
    size: int


class EventBudget:
    """The memory the resumable events of every session may use together, and each session's share.

    Events are kept as JSON (smaller than the message objects, and serialised once). When the total
    is over ``max_bytes`` the oldest events of any session go first; a session also keeps no more
    than ``per_session`` events. A client that resumes after its event was dropped gets an empty
    stream: the answer is lost, as it was before resumability, but memory stays bounded.
    """

    def __init__(self, max_bytes: int, per_session: int) -> None:
        self.max_bytes = max_bytes
        self.per_session = per_session
        self._events: OrderedDict[EventId, _StoredEvent] = OrderedDict()  # oldest first
        self.bytes_used = 0

    @property
    def events_stored(self) -> int:
        return len(self._events)

    def session_store(self) -> SessionEventStore:
        return SessionEventStore(self)

    def add(self, store: SessionEventStore, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        data = None if message is None else message.model_dump_json(by_alias=True, exclude_unset=True)
        event_id = uuid4().hex
        event = _StoredEvent(store, stream_id, data, len(data or "") + _EVENT_OVERHEAD)
        self._events[event_id] = event
        self.bytes_used += event.size
        store.order.append(event_id)
        store.streams.setdefault(stream_id, deque()).append(event_id)
        while len(store.order) > self.per_session:
            self._drop_oldest_of(store)
        while self.bytes_used > self.max_bytes and len(self._events) > 1:
            oldest = next(iter(self._events.values()))
            self._drop_oldest_of(oldest.store)
        return event_id

    def get(self, event_id: EventId) -> _StoredEvent | None:
        return self._events.get(event_id)

    def forget(self, store: SessionEventStore) -> None:
        while store.order:
            self._drop_oldest_of(store)

    def _drop_oldest_of(self, store: SessionEventStore) -> None:
        # Events are added in time order and only ever dropped oldest-first per session, so the
        # session's oldest event is also the first of its stream.
        event_id = store.order.popleft()
        event = self._events.pop(event_id)
        self.bytes_used -= event.size
        stream = store.streams[event.stream_id]
        stream.popleft()
        if not stream:
            del store.streams[event.stream_id]


class SessionEventStore(EventStore):
    """One session's view of the ``EventBudget``: it replays only its own events.

    The SDK names a response stream after the JSON-RPC request id, which every session starts
    counting from 1; one store shared by all sessions would replay another session's answers.
    """

    def __init__(self, budget: EventBudget) -> None:
        self.budget = budget
        self.order: deque[EventId] = deque()
        self.streams: dict[StreamId, deque[EventId]] = {}

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        return self.budget.add(self, stream_id, message)

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        last = self.budget.get(last_event_id)
        if last is None or last.store is not self:
            return None
        following = list(self.streams.get(last.stream_id, ()))
        if last_event_id in following:
            following = following[following.index(last_event_id) + 1 :]
        for event_id in following:
            event = self.budget.get(event_id)
            if event is not None and event.data is not None:
                await send_callback(EventMessage(jsonrpc_message_adapter.validate_json(event.data), event_id))
        return last.stream_id

    def close(self) -> None:
        self.budget.forget(self)


# --- the stateful session table ---------------------------------------------------------------------


class BoundedSessionManager(StreamableHTTPSessionManager):
    """The SDK's session manager, with a full table that makes room instead of refusing.

    At ``max_sessions`` the least recently used *idle* session (no request in flight, no open
    stream) is ended to admit the new one; its client gets 404 on its next request and, as the
    spec says, initialises again. Only when every session is busy does the SDK's 503 remain.
    Each session gets its own ``SessionEventStore``, dropped with the session.
    """

    def __init__(
        self,
        app: Any,
        *,
        limits: HttpLimits,
        security_settings: TransportSecuritySettings,
        events: EventBudget | None,
    ) -> None:
        super().__init__(
            app,
            security_settings=security_settings,
            retry_interval=limits.sse_retry_ms if events is not None else None,
            session_idle_timeout=limits.session_idle_timeout,
            max_request_body_size=limits.max_body_bytes,
            max_sessions=limits.max_sessions,
        )
        self.events = events
        self.evicted_sessions = 0
        self._stores: dict[str, SessionEventStore] = {}
        # Session ids, least recently used first (moved to the end when a request for one starts),
        # so the eviction candidate is found without scanning the whole table.
        self._recent: OrderedDict[str, None] = OrderedDict()
        self.asgi_app = RequestBodyLimitMiddleware(self._note_use_then_handle, limits.max_body_bytes)

    async def _note_use_then_handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = _header(scope, MCP_SESSION_ID_HEADER.encode())
        if session_id is not None and session_id in self._recent:
            self._recent.move_to_end(session_id)
        await self._handle_request(scope, receive, send)

    @property
    def open_sessions(self) -> int:
        return len(self._server_instances)

    def _admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        if self.max_sessions is not None and len(self._server_instances) >= self.max_sessions:
            self._end_least_recently_used_idle_session()
        store = self.events.session_store() if self.events is not None else None
        # The SDK hands `self.event_store` to the transport it creates; this runs under its
        # admission lock with no await in between, so no other session can see this store.
        self.event_store = store
        try:
            transport = super()._admit_session(requestor)
        finally:
            self.event_store = None
        if transport is not None and transport.mcp_session_id is not None:
            self._recent[transport.mcp_session_id] = None
            if store is not None:
                self._stores[transport.mcp_session_id] = store
        elif store is not None:
            store.close()
        return transport

    def _end_least_recently_used_idle_session(self) -> None:
        victim_id = next((session_id for session_id in self._recent if self._is_idle(session_id)), None)
        if victim_id is None:
            return  # every session is busy: the SDK answers 503
        victim = self._server_instances.pop(victim_id)
        self._session_owners.pop(victim_id, None)
        self._recent.pop(victim_id, None)
        store = self._stores.pop(victim_id, None)
        if store is not None:
            store.close()
        self.evicted_sessions += 1
        log.warning(
            "the session table is full (%s=%d): ended the least recently used idle session to admit a new client",
            LIMITS["max_sessions"][0],
            self.max_sessions,
        )
        assert self._task_group is not None  # admission only runs inside run()
        self._task_group.start_soon(self._terminate, victim)

    def _is_idle(self, session_id: str) -> bool:
        transport = self._server_instances.get(session_id)
        # The SDK keeps each session's idle deadline on this scope: infinite while a request (an
        # open GET stream included) is in flight, else last activity + idle timeout; no scope yet
        # while the session's opening request is still being served.
        idle_scope = transport.idle_scope if transport is not None else None
        return idle_scope is not None and math.isfinite(idle_scope.deadline)

    @staticmethod
    async def _terminate(transport: StreamableHTTPServerTransport) -> None:
        with anyio.CancelScope(shield=True):
            await transport.terminate()

    async def _discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        self._recent.pop(session_id, None)
        store = self._stores.pop(session_id, None)
        if store is not None:
            store.close()
        await super()._discard_session(session_id, transport)


# --- the app ----------------------------------------------------------------------------------------


def build_http_app(
    server: MCPServer[Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None,
    stateless: bool = False,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    limits: HttpLimits | None = None,
    log_requests: bool = False,
) -> ASGIApp:
    """The ASGI app: ``/mcp`` (streamable HTTP, behind the token when one is given) and ``/healthz``.

    ``token=None`` means no authentication; ``check_http_setup`` decides whether that is allowed.
    The app's lifespan starts the MCP session manager (and so the EM client): run it under a
    server that drives ASGI lifespan (uvicorn does).
    """
    limits = limits or HttpLimits()
    security = transport_security(host, port, allowed_hosts, allowed_origins)
    mcp_app: ASGIApp
    if stateless:
        mcp_app = server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            transport_security=security,
            max_request_body_size=limits.max_body_bytes,
            host=host,
        )
    else:
        # The SDK's app, assembled around our session manager (its factory builds its own). We use
        # no SDK auth and no custom routes, so a route and the manager's lifespan are all it is.
        budget = (
            EventBudget(limits.event_store_bytes, limits.event_store_session_events)
            if limits.event_store_bytes > 0
            else None
        )
        manager = BoundedSessionManager(
            server._lowlevel_server, limits=limits, security_settings=security, events=budget
        )
        mcp_app = Starlette(
            routes=[Route(MCP_PATH, endpoint=StreamableHTTPASGIApp(manager))],
            lifespan=lambda _app: manager.run(),
        )
    app: ASGIApp = RequestBodyDeadline(mcp_app, timeout=limits.body_timeout, max_bytes=limits.max_body_bytes)
    if token is not None:
        app = BearerTokenGate(app, token)
    app = McpRequestShape(app, stateless=stateless)
    app = NoOAuthHere(app)
    app = HealthCheck(app)
    return AccessLog(app) if log_requests else app


def session_manager_of(app: ASGIApp) -> BoundedSessionManager | None:
    """The stateful session manager inside an app from ``build_http_app`` (for tests and the bench)."""
    inner: Any = app
    while inner is not None:
        if isinstance(inner, Starlette):
            for route in inner.routes:
                endpoint = getattr(route, "app", None) or getattr(route, "endpoint", None)
                manager = getattr(endpoint, "session_manager", None)
                if isinstance(manager, BoundedSessionManager):
                    return manager
            return None
        inner = getattr(inner, "app", None)
    return None


# --- connections: uvicorn's h11 protocol with a cap and timeouts -------------------------------------

_RAW_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_RAW_503 = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nretry-after: 1\r\nconnection: close\r\n\r\n"


class ConnectionGuard:
    """The open connections of one server, the cap on them, and which one to close at the cap.

    A connection is *waiting* while no request of it is being served: freshly opened, between
    keep-alive requests, or part-way through sending headers. Waiting connections are kept oldest
    first; at the cap the oldest one is closed to admit the newcomer, and only when none is
    waiting is the newcomer refused (503). Requests in progress are never cut.
    """

    def __init__(self, limits: HttpLimits) -> None:
        self.max_connections = limits.max_connections
        self.idle_timeout = limits.idle_timeout
        self.header_timeout = limits.header_timeout
        self._open: set[GuardedH11Protocol] = set()
        self._waiting: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
        self.evicted = 0
        self.refused = 0
        self.header_timeouts = 0

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @property
    def waiting_connections(self) -> int:
        return len(self._waiting)

    def server_sockets(self) -> list[Any]:
        """The accepted sockets (asyncio ``TransportSocket``s) of the open connections."""
        sockets = (connection.transport.get_extra_info("socket") for connection in list(self._open))
        return [sock for sock in sockets if sock is not None]

    def admit(self, connection: GuardedH11Protocol) -> bool:
        self._open.add(connection)
        self._waiting[connection] = None
        if len(self._open) <= self.max_connections:
            return True
        victim = next((waiting for waiting in self._waiting if waiting is not connection), None)
        if victim is not None:
            self.closed(victim)
            victim.close_quietly()
            self.evicted += 1
            log.warning(
                "connection limit reached (%s=%d): closed the longest-idle connection to admit a new one",
                LIMITS["max_connections"][0],
                self.max_connections,
            )
            return True
        self.closed(connection)
        self.refused += 1
        log.warning(
            "connection limit reached (%s=%d) and every connection is serving a request: refused one with 503",
            LIMITS["max_connections"][0],
            self.max_connections,
        )
        return False

    def waiting(self, connection: GuardedH11Protocol) -> None:
        if connection in self._open:
            self._waiting[connection] = None
            self._waiting.move_to_end(connection)

    def busy(self, connection: GuardedH11Protocol) -> None:
        self._waiting.pop(connection, None)

    def closed(self, connection: GuardedH11Protocol) -> None:
        self._open.discard(connection)
        self._waiting.pop(connection, None)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with ``TCP_NODELAY``, the ``ConnectionGuard`` and a header deadline.

    uvicorn itself times out only idle keep-alive connections: a fresh connection that sends
    nothing, or half a request line, would be held forever. Here a fresh connection gets the idle
    timeout too, and from its first byte a request has ``header_timeout`` to complete its headers
    (408 and close otherwise); ``RequestBodyDeadline`` bounds the body.
    """

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._dispatched: object = None  # the request cycle last handed to the app
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _set_nodelay(transport)
        if not self.guard.admit(self):
            self._refused = True
            transport.write(_RAW_503)
            transport.close()
            return
        self._arm_idle_timer()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._header_timer = self.loop.call_later(self.guard.header_timeout, self._headers_too_slow)
        super().data_received(data)
        self._note_dispatch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing() or self._note_dispatch():
            return  # closing, or a pipelined request is already being served
        self.guard.waiting(self)
        self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self.guard.closed(self)
        super().connection_lost(exc)

    def close_quietly(self) -> None:
        self._cancel_header_timer()
        self._unset_keepalive_if_required()
        if not self.transport.is_closing():
            self.transport.close()

    def _note_dispatch(self) -> bool:
        """True when a new request was handed to the app (its headers are complete)."""
        if self.cycle is None or self.cycle is self._dispatched:
            return False
        self._dispatched = self.cycle
        self._cancel_header_timer()
        self.guard.busy(self)
        return True

    def _arm_idle_timer(self) -> None:
        # The timer uvicorn arms between keep-alive requests, with the exact (fractional) timeout.
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(self.guard.idle_timeout, self.timeout_keep_alive_handler)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return
        self.guard.header_timeouts += 1
        log.warning(
            "a client sent incomplete request headers for %g s (%s): answered 408 and closed",
            self.guard.header_timeout,
            LIMITS["header_timeout"][0],
        )
        with contextlib.suppress(h11.LocalProtocolError):
            self.conn.send(h11.ConnectionClosed())
        self.transport.write(_RAW_408)
        self.transport.close()


def _set_nodelay(transport: asyncio.BaseTransport) -> None:
    # Without TCP_NODELAY a small response waits for the client's delayed ACK (~40 ms on Linux).
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _GuardedServer(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        for sock in sockets or ():
            sock.listen(LISTEN_QUEUE)


class HttpService:
    """uvicorn serving ``app`` on an already bound socket, with the guarded protocol and quiet logs."""

    def __init__(self, app: ASGIApp, sock: socket.socket, limits: HttpLimits) -> None:
        self.sock = sock
        self.guard = ConnectionGuard(limits)
        protocol = type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": self.guard})
        config = uvicorn.Config(
            app,
            http=protocol,
            ws="none",  # MCP has no WebSocket transport; an upgrade would leave the guarded protocol
            loop="asyncio",
            log_config=None,  # uvicorn's loggers propagate to ours, which write to stderr only
            access_log=False,  # it would log every query string; AccessLog is the opt-in one
            lifespan="on",
            server_header=False,
            backlog=ACCEPT_BACKLOG,
            timeout_keep_alive=max(1, math.ceil(limits.idle_timeout)),
            timeout_graceful_shutdown=3,
        )
        self.server = _GuardedServer(config)

    def run(self) -> None:
        asyncio.run(self.serve())

    async def serve(self) -> None:
        asyncio.get_running_loop().set_exception_handler(loop_exception_handler)
        await self.server.serve(sockets=[self.sock])


# --- start-up -----------------------------------------------------------------------------------------


def check_http_setup(host: str, *, no_auth: bool, env: Mapping[str, str]) -> str | None:
    """The token to require (``None`` for no auth), or ``HttpSetupError`` when unsafe or incomplete."""
    token = env.get(TOKEN_ENV, "").strip()
    if no_auth:
        if not is_loopback(host):
            raise HttpSetupError(
                f"refusing to serve without authentication on {host}: --no-auth is only allowed on a loopback "
                f"host (127.0.0.1, ::1, localhost); set {TOKEN_ENV} instead"
            )
        if token:
            log.warning("--no-auth given: %s is ignored and requests are not authenticated", TOKEN_ENV)
        return None
    if not token:
        raise HttpSetupError(
            f"{TOKEN_ENV} is not set: the HTTP transport requires a bearer token (generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'), or use --no-auth on a loopback host"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise HttpSetupError(f"{TOKEN_ENV} is too short: use at least {MIN_TOKEN_CHARS} random characters")
    return token


def _flag(env: Mapping[str, str], variable: str) -> bool:
    value = env.get(variable, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise HttpSetupError(f"{variable} must be true or false (got {value!r})")


def run_http(server: MCPServer[Any], *, host: str, port: int, no_auth: bool, stateless: bool) -> int:
    """Serve until interrupted; returns the process exit code (2: refused to start)."""
    env = os.environ
    try:
        token = check_http_setup(host, no_auth=no_auth, env=env)
        limits = HttpLimits.from_env(env)
        log_requests = _flag(env, ACCESS_LOG_ENV)
        limits = fit_to_open_file_limit(limits)
    except HttpSetupError as exc:
        print(f"veeam-em-mcp: {exc}", file=sys.stderr)
        return 2
    extra_hosts = _split(env.get(ALLOWED_HOSTS_ENV, ""))
    extra_origins = _split(env.get(ALLOWED_ORIGINS_ENV, ""))
    if _is_wildcard(host) and not extra_hosts:
        log.warning(
            "bound to all interfaces but %s is empty: only requests addressed to localhost pass the Host "
            "check; set it to the names clients use (e.g. mcp.example.com,mcp.example.com:%d)",
            ALLOWED_HOSTS_ENV,
            port,
        )
    try:
        sock = bind_listener(host, port)
    except OSError as exc:
        print(f"veeam-em-mcp: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    install_log_flood_guard()
    app = build_http_app(
        server,
        host=host,
        port=port,
        token=token,
        stateless=stateless,
        allowed_hosts=extra_hosts,
        allowed_origins=extra_origins,
        limits=limits,
        log_requests=log_requests,
    )
    shown = f"[{host}]" if ":" in host else host
    log.info(
        "serving MCP over streamable HTTP at http://%s:%d%s (%s%s); at most %d connections%s",
        shown,
        sock.getsockname()[1],
        MCP_PATH,
        "no authentication, loopback only" if token is None else f"bearer token from {TOKEN_ENV} required",
        ", stateless" if stateless else "",
        limits.max_connections,
        "" if stateless else f", {limits.max_sessions} sessions",
    )
    HttpService(app, sock, limits).run()
    return 0


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket (loopback names and IPv6 literals accepted), inheritable for uvicorn."""
    # Binding here (not in uvicorn) turns "address in use" into one clear line and exit code 2.
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # accepted sockets inherit the listener's proto (0 would mean "unspecified").
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(LISTEN_QUEUE)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
