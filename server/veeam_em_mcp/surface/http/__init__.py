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

# The transport in rooms of one concern, in the order a request meets them (docs/development.md):
#   limits ........ every bound, one environment variable each; the connection cap under ulimit -n
#   logs .......... logging that cannot flood
#   security ...... Host/Origin allow-lists
#   gates ......... the ASGI layers in front of /mcp (token, /healthz, no OAuth, shape, body, access log)
#   events ........ resumable streams: per-session event stores under one byte budget
#   sessions ...... the stateful session table (the SDK's manager, evicting instead of refusing)
#   app ........... build_http_app: the SDK's app inside the gates
#   connections ... uvicorn's h11 protocol with a connection cap and deadlines
#   runner ........ start-up checks, the socket, uvicorn (run_http)
# The names below are what the CLI, the tests and the bench import from ``veeam_em_mcp.surface.http``.

from __future__ import annotations

from .app import build_http_app, session_manager_of
from .connections import ConnectionGuard, GuardedH11Protocol
from .events import EventBudget, SessionEventStore
from .gates import (
    ACCESS_LOG_ENV,
    HEALTH_PATH,
    MCP_PATH,
    NO_OAUTH,
    TOKEN_ENV,
    AccessLog,
    BearerTokenGate,
    HealthCheck,
    McpRequestShape,
    NoOAuthHere,
    RequestBodyDeadline,
    is_oauth_discovery,
)
from .limits import ACCEPT_BACKLOG, FD_RESERVE, LIMITS, LISTEN_QUEUE, HttpLimits, fit_to_open_file_limit
from .logs import LOG_INTERVAL_SECONDS, LogFloodGuard, install_log_flood_guard, loop_exception_handler
from .runner import MIN_TOKEN_CHARS, HttpService, bind_listener, check_http_setup, run_http
from .security import ALLOWED_HOSTS_ENV, ALLOWED_ORIGINS_ENV, is_loopback, transport_security
from .sessions import BoundedSessionManager

__all__ = [
    "ACCEPT_BACKLOG",
    "ACCESS_LOG_ENV",
    "ALLOWED_HOSTS_ENV",
    "ALLOWED_ORIGINS_ENV",
    "FD_RESERVE",
    "HEALTH_PATH",
    "LIMITS",
    "LISTEN_QUEUE",
    "LOG_INTERVAL_SECONDS",
    "MCP_PATH",
    "MIN_TOKEN_CHARS",
    "NO_OAUTH",
    "TOKEN_ENV",
    "AccessLog",
    "BearerTokenGate",
    "BoundedSessionManager",
    "ConnectionGuard",
    "EventBudget",
    "GuardedH11Protocol",
    "HealthCheck",
    "HttpLimits",
    "HttpService",
    "LogFloodGuard",
    "McpRequestShape",
    "NoOAuthHere",
    "RequestBodyDeadline",
    "SessionEventStore",
    "bind_listener",
    "build_http_app",
    "check_http_setup",
    "fit_to_open_file_limit",
    "install_log_flood_guard",
    "is_loopback",
    "is_oauth_discovery",
    "loop_exception_handler",
    "run_http",
    "session_manager_of",
    "transport_security",
]
