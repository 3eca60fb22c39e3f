"""The server's log records sent to the MCP client that asked for them (``notifications/message``).

``logging/setLevel`` is served on handshake-era connections (2025-11-25 and older); afterwards the server's
own log records (``veeam_em_mcp.*``: retries, re-logons, failed calls) raised while a request of that
connection runs are sent to the client at or above the level it asked for, secrets redacted like on stderr.
On 2026-07-28 connections, which have no ``logging/setLevel``, the same records go to a request that opts in
with the ``io.modelcontextprotocol/logLevel`` ``_meta`` key. The server's stderr level
(``VEEAM_MCP_LOG_LEVEL``, default INFO) still decides which records exist at all: a client asking for
``debug`` gets INFO and above unless stderr is at DEBUG.
"""

from __future__ import annotations

import logging
import threading
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

import anyio
import anyio.from_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.connection import allowed_log_levels
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import (
    EmptyResult,
    LoggingLevel,
    LoggingMessageNotification,
    LoggingMessageNotificationParams,
    SetLevelRequestParams,
)
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

from ..text import RedactSecrets
from .sdk_seams import session_connection

PACKAGE_LOGGER = "veeam_em_mcp"

# MCP log levels, least severe first (RFC 5424 order, as the specification lists them).
MCP_LEVELS: Final[tuple[LoggingLevel, ...]] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)
# Log records forwarded to one request at most; past that the client is told how many were not.
MAX_LOG_MESSAGES_PER_REQUEST = 100

_LEVEL_KEY = "veeam_em_mcp.log_level"  # connection.state: the level logging/setLevel asked for


async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
    """``logging/setLevel``: the connection's level, kept for its later requests (``wanted_levels``)."""
    session_connection(ctx.session).state[_LEVEL_KEY] = params.level
    return EmptyResult()


@dataclass
class _LogSink:
    """Where the log records of one request go: a bounded queue drained by a sender task."""

    send: MemoryObjectSendStream[tuple[LoggingLevel, str, str]]
    levels: frozenset[str]
    thread: int
    dropped: int = 0


_current_sink: ContextVar[_LogSink | None] = ContextVar("veeam_em_log_sink", default=None)


def mcp_level(levelno: int) -> LoggingLevel:
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


def levels_from(level: str) -> frozenset[str]:
    """``level`` and every level more severe than it."""
    return frozenset(MCP_LEVELS[MCP_LEVELS.index(level) :]) if level in MCP_LEVELS else frozenset()


def wanted_levels(ctx: ServerRequestContext[Any, Any]) -> frozenset[str]:
    """The levels this request may receive: the 2026-07-28 ``_meta`` opt-in, or the connection's setLevel."""
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return frozenset(allowed_log_levels(ctx.protocol_version, ctx.meta))
    requested = session_connection(ctx.session).state.get(_LEVEL_KEY)
    return levels_from(requested) if isinstance(requested, str) else frozenset()


class ClientLogForwarder(logging.Handler):
    """A handler on the ``veeam_em_mcp`` logger: copies records into the running request's sink.

    Outside a request that asked for logs it does nothing. Records are formatted without their
    traceback (that stays on stderr) and pass the same secret redaction as the stderr handler.
    """

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RedactSecrets())

    def emit(self, record: logging.LogRecord) -> None:
        sink = _current_sink.get()
        if sink is None:
            return
        level = mcp_level(record.levelno)
        if level not in sink.levels:
            return
        entry = (level, record.name, record.getMessage())
        try:
            if threading.get_ident() == sink.thread:
                sink.send.send_nowait(entry)
            else:  # a synchronous function running in one of anyio's worker threads
                anyio.from_thread.run_sync(sink.send.send_nowait, entry)
        except anyio.WouldBlock:
            sink.dropped += 1
        except Exception:  # the request has finished, or the thread is not anyio's: nobody to tell
            sink.dropped += 1


_FORWARDER = ClientLogForwarder()


def install_log_forwarder() -> None:
    """Attach the one forwarder to the package logger (idempotent: every server shares it)."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    if _FORWARDER not in logger.handlers:
        logger.addHandler(_FORWARDER)


async def forward_logs(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: while a request runs, send the server's log records to the client that asked."""
    if ctx.request_id is None:  # a notification has no response stream to carry log messages
        return await call_next(ctx)
    levels = wanted_levels(ctx)
    if not levels:
        return await call_next(ctx)
    send, receive = anyio.create_memory_object_stream[tuple[LoggingLevel, str, str]](MAX_LOG_MESSAGES_PER_REQUEST)
    sink = _LogSink(send, levels, threading.get_ident())
    failure: Exception | None = None
    result: HandlerResult = None
    async with anyio.create_task_group() as group:
        group.start_soon(_deliver_logs, ctx, receive, sink)
        token = _current_sink.set(sink)
        try:
            result = await call_next(ctx)
        except Exception as exc:  # re-raised below, after the records logged on the way are sent
            failure = exc
        finally:
            _current_sink.reset(token)
            send.close()
    if failure is not None:
        raise failure
    return result


async def _deliver_logs(
    ctx: ServerRequestContext[Any, Any],
    receive: MemoryObjectReceiveStream[tuple[LoggingLevel, str, str]],
    sink: _LogSink,
) -> None:
    _current_sink.set(None)  # this task's own records (if any) must not feed its queue
    async with receive:
        async for level, logger_name, message in receive:
            await _send_log(ctx, level, logger_name, message)
    if sink.dropped:
        await _send_log(
            ctx,
            "warning",
            PACKAGE_LOGGER,
            f"{sink.dropped} more log message(s) of this request were not sent "
            f"(at most {MAX_LOG_MESSAGES_PER_REQUEST} per request); the server's stderr log has them all",
        )


async def _send_log(ctx: ServerRequestContext[Any, Any], level: LoggingLevel, logger_name: str, message: str) -> None:
    notification = LoggingMessageNotification(
        params=LoggingMessageNotificationParams(level=level, data=message, logger=logger_name)
    )
    try:
        # On the request's own stream: the 2026-07-28 rule, and the one a streamable HTTP client reads.
        await ctx.session.send_notification(notification, related_request_id=ctx.request_id)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass  # the client went away; its request is being cancelled
