"""Start-up: the checks that refuse an unsafe or incomplete setup, the listening socket, and uvicorn
serving the app with the guarded protocol (``run_http``, what ``serve --transport http`` runs)."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import sys
from collections.abc import Mapping
from typing import Any

import uvicorn
from mcp.server import MCPServer
from starlette.types import ASGIApp

from ...errors import HttpSetupError
from .app import build_http_app
from .connections import ConnectionGuard, GuardedH11Protocol
from .gates import MCP_PATH, TOKEN_ENV
from .limits import ACCEPT_BACKLOG, LISTEN_QUEUE, HttpLimits, fit_to_open_file_limit
from .logs import install_log_flood_guard, loop_exception_handler
from .security import ALLOWED_HOSTS_ENV, ALLOWED_ORIGINS_ENV, _is_wildcard, _split, is_loopback

log = logging.getLogger("veeam_em_mcp.http")

ACCESS_LOG_ENV = "VEEAM_MCP_HTTP_ACCESS_LOG"
MIN_TOKEN_CHARS = 16


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
