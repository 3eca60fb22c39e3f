"""The small ASGI layers in front of ``/mcp``: the bearer token, ``/healthz``, no OAuth, the request's
shape, the request body's deadline and size, and the opt-in access log."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .limits import LIMITS

log = logging.getLogger("veeam_em_mcp.http")
access_log = logging.getLogger("veeam_em_mcp.http.access")

TOKEN_ENV = "VEEAM_MCP_HTTP_TOKEN"  # noqa: S105  # the variable's name, not a token
ACCESS_LOG_ENV = "VEEAM_MCP_HTTP_ACCESS_LOG"
MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
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
