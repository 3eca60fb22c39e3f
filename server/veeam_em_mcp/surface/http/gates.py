"""The small ASGI layers in front of ``/mcp``: the bearer token, ``/healthz``, no OAuth, the request's
shape, the request body's deadline and size, and the opt-in access log."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping

import anyio
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
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


def _jsonrpc_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    # The shape of the SDK's own refusals (a JSON-RPC error without a request id), so a client reads ours alike.
    payload = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
    return JSONResponse(payload, status_code=status, headers=headers)


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
        refusal = JSONResponse(
            {
                "error": "invalid_token",
                "error_description": (
                    f"this MCP server requires 'Authorization: Bearer <token>' with the token set in {TOKEN_ENV}"
                ),
            },
            status_code=401,
            headers={"www-authenticate": 'Bearer realm="veeam-em-mcp", error="invalid_token"'},
        )
        await refusal(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        value = Headers(scope=scope).get("authorization")
        if value is None:
            return False
        scheme, _, credential = value.strip().partition(" ")
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
            # The content type given as a header: as media_type, starlette would add "; charset=utf-8".
            await Response(b"ok\n", headers={"content-type": "text/plain"})(scope, receive, send)
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
            nothing_here = JSONResponse({"error": "not_found", "error_description": NO_OAUTH}, status_code=404)
            await nothing_here(scope, receive, send)
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
        headers = Headers(scope=scope)
        modern = headers.get(MCP_PROTOCOL_VERSION_HEADER) not in (None, *HANDSHAKE_PROTOCOL_VERSIONS)
        if method not in self.allowed or (method != "POST" and modern):
            if self.stateless:
                why = "this server is stateless (--stateless): no standalone SSE stream, no sessions; use POST"
            elif modern:
                why = "protocol 2026-07-28 has no standalone SSE stream and no sessions; use POST"
            else:
                why = "use POST for requests, GET for the session's SSE stream, DELETE to end a session"
            allow = "POST" if self.stateless or modern else ", ".join(self.allowed)
            await _jsonrpc_error(405, f"Method Not Allowed: {why}", {"allow": allow})(scope, receive, send)
            return
        if method != "POST" and headers.get(MCP_SESSION_ID_HEADER) is None:
            await _jsonrpc_error(400, "Bad Request: Missing session ID")(scope, receive, send)
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
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
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
                    await self._too_large(scope, receive, send)
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
            timed_out = _jsonrpc_error(
                408,
                f"Request Timeout: the request body did not arrive within {self.timeout:g} s",
                {"connection": "close"},
            )
            await timed_out(scope, receive, send)
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

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        too_large = _jsonrpc_error(
            413,
            f"Request body too large: at most {self.max_bytes} bytes ({LIMITS['max_body_bytes'][0]})",
            {"connection": "close"},
        )
        await too_large(scope, receive, send)


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
