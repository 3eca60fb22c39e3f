"""Connections: uvicorn's h11 protocol with ``TCP_NODELAY``, a cap on open connections (the longest-idle
one closed at the cap) and deadlines for a fresh connection and for a request's headers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import OrderedDict
from typing import Any, ClassVar

from ..sdk_seams import SeamedH11Protocol
from .limits import LIMITS, HttpLimits

log = logging.getLogger("veeam_em_mcp.http")

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
        sockets = (connection.socket_transport.get_extra_info("socket") for connection in list(self._open))
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


class GuardedH11Protocol(SeamedH11Protocol):
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
        if self._header_timer is None and not self.request_in_progress:
            self._header_timer = self.call_later(self.guard.header_timeout, self._headers_too_slow)
        super().data_received(data)
        self._note_dispatch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.socket_transport.is_closing() or self._note_dispatch():
            return  # closing, or a pipelined request is already being served
        self.guard.waiting(self)
        self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self.guard.closed(self)
        super().connection_lost(exc)

    def close_quietly(self) -> None:
        self._cancel_header_timer()
        self.cancel_idle_timer()
        if not self.socket_transport.is_closing():
            self.socket_transport.close()

    def _note_dispatch(self) -> bool:
        """True when a new request was handed to the app (its headers are complete)."""
        cycle = self.current_cycle
        if cycle is None or cycle is self._dispatched:
            return False
        self._dispatched = cycle
        self._cancel_header_timer()
        self.guard.busy(self)
        return True

    def _arm_idle_timer(self) -> None:
        # The timer uvicorn arms between keep-alive requests, with the exact (fractional) timeout.
        self.arm_idle_timer(self.guard.idle_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.socket_transport.is_closing() or self.request_in_progress:
            return
        self.guard.header_timeouts += 1
        log.warning(
            "a client sent incomplete request headers for %g s (%s): answered 408 and closed",
            self.guard.header_timeout,
            LIMITS["header_timeout"][0],
        )
        self.mark_closed()
        self.socket_transport.write(_RAW_408)
        self.socket_transport.close()


def _set_nodelay(transport: asyncio.BaseTransport) -> None:
    # Without TCP_NODELAY a small response waits for the client's delayed ACK (~40 ms on Linux).
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
