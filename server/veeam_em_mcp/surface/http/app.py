"""The ASGI app: ``/mcp`` (the SDK's streamable HTTP, stateless or behind our session table) inside the
gates, and ``/healthz``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mcp.server import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from ..sdk_seams import lowlevel_server
from .events import EventBudget
from .gates import MCP_PATH, AccessLog, BearerTokenGate, HealthCheck, McpRequestShape, NoOAuthHere, RequestBodyDeadline
from .limits import HttpLimits
from .security import transport_security
from .sessions import BoundedSessionManager


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
            lowlevel_server(server), limits=limits, security_settings=security, events=budget
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
