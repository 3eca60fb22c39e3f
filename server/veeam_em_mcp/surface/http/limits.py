"""The HTTP transport's bounds: ``HttpLimits`` (one environment variable each, ``LIMITS``) and the
connection cap fitted under the process's open-file limit."""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Final

from ...errors import HttpSetupError

log = logging.getLogger("veeam_em_mcp.http")

# File descriptors kept free for everything that is not a client connection: the EM connection
# pool, the embedded simulator in demo mode, log files, the event loop's own.
FD_RESERVE: Final = 64
# asyncio accepts up to `backlog` connections per loop turn before any protocol sees one, so the
# cap must leave that many descriptors spare; it also makes that number the listen queue, which
# `_GuardedServer` widens again once listening (a short queue drops a burst's SYNs: 1 s retries).
ACCEPT_BACKLOG: Final = 128
LISTEN_QUEUE: Final = 1024


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
