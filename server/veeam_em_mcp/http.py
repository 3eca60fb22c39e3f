"""Streamable HTTP transport: ``veeam-em-mcp serve --transport http`` serves MCP at ``/mcp``.

Over stdio the client *is* the user; over HTTP anyone who can reach the port could ask about the
backup estate with the server's EM credentials. So:

- it binds loopback (127.0.0.1) unless told otherwise;
- every request to ``/mcp`` needs ``Authorization: Bearer <VEEAM_MCP_HTTP_TOKEN>`` (401 without it;
  compared in constant time), unless ``--no-auth`` is given *and* the host is loopback; the server
  refuses to start otherwise, with one line saying why;
- the SDK's Host/Origin checks (DNS-rebinding protection) stay on; extra names come from
  ``VEEAM_MCP_HTTP_ALLOWED_HOSTS`` / ``VEEAM_MCP_HTTP_ALLOWED_ORIGINS``;
- ``--stateless`` keeps no MCP session between requests, so replicas can sit behind a load
  balancer without sticky sessions (each replica keeps its own EM logon session);
- ``/healthz`` answers 200 without auth and reveals nothing, for load-balancer probes.

``build_http_app`` makes the ASGI app without running it, so tests drive it in-process or under
uvicorn on loopback.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import HttpSetupError

log = logging.getLogger("veeam_em_mcp.http")

TOKEN_ENV = "VEEAM_MCP_HTTP_TOKEN"  # noqa: S105  # the variable's name, not a token
ALLOWED_HOSTS_ENV = "VEEAM_MCP_HTTP_ALLOWED_HOSTS"
ALLOWED_ORIGINS_ENV = "VEEAM_MCP_HTTP_ALLOWED_ORIGINS"
MIN_TOKEN_CHARS = 16
MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


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
    """Host/Origin allow-lists: loopback names always, the bound address, and configured extras."""
    hosts = [f"{name}:*" for name in _LOOPBACK_NAMES]
    origins = [f"http://{name}:*" for name in _LOOPBACK_NAMES]
    if not is_loopback(host) and not _is_wildcard(host):
        bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
        hosts += [bracketed, f"{bracketed}:{port}"]
        origins += [f"http://{bracketed}:{port}", f"https://{bracketed}:{port}"]
    hosts += list(extra_hosts)
    origins += list(extra_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


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
        body = json.dumps(
            {
                "error": "invalid_token",
                "error_description": (
                    f"this MCP server requires 'Authorization: Bearer <token>' with the token set in {TOKEN_ENV}"
                ),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="veeam-em-mcp", error="invalid_token"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

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


def build_http_app(
    server: MCPServer[Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None,
    stateless: bool = False,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
) -> ASGIApp:
    """The ASGI app: ``/mcp`` (streamable HTTP, behind the token when one is given) and ``/healthz``.

    ``token=None`` means no authentication; ``check_http_setup`` decides whether that is allowed.
    The app's lifespan starts the MCP session manager (and so the EM client): run it under a
    server that drives ASGI lifespan (uvicorn does).
    """
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=stateless,
        transport_security=transport_security(host, port, allowed_hosts, allowed_origins),
        host=host,
    )
    if token is not None:
        app = BearerTokenGate(app, token)
    return HealthCheck(app)


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


def run_http(server: MCPServer[Any], *, host: str, port: int, no_auth: bool, stateless: bool) -> int:
    """Serve until interrupted; returns the process exit code (2: refused to start)."""
    env = os.environ
    try:
        token = check_http_setup(host, no_auth=no_auth, env=env)
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
        sock = _bind(host, port)
    except OSError as exc:
        print(f"veeam-em-mcp: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    app = build_http_app(
        server,
        host=host,
        port=port,
        token=token,
        stateless=stateless,
        allowed_hosts=extra_hosts,
        allowed_origins=extra_origins,
    )
    shown = f"[{host}]" if ":" in host else host
    log.info(
        "serving MCP over streamable HTTP at http://%s:%d%s (%s%s)",
        shown,
        sock.getsockname()[1],
        MCP_PATH,
        "no authentication, loopback only" if token is None else f"bearer token from {TOKEN_ENV} required",
        ", stateless" if stateless else "",
    )
    # log_config=None: uvicorn's loggers propagate to ours, which write to stderr only.
    config = uvicorn.Config(app, log_config=None, lifespan="on", server_header=False, timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _bind(host: str, port: int) -> socket.socket:
    # Binding here (not in uvicorn) turns "address in use" into one clear line and exit code 2.
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
