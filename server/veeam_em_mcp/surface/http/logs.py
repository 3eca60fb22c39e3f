"""Logging that cannot flood: one line per condition per minute from the HTTP stack's loggers, and one
line (no traceback) when the accept loop runs out of file descriptors."""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from .limits import LIMITS

log = logging.getLogger("veeam_em_mcp.http")

LOG_INTERVAL_SECONDS: Final = 60.0


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
