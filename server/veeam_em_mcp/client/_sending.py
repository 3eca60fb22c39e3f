"""Requests on their way out: whether every request about to go to EM has been written yet.

A window read's next requests (its boundary probes, then its ranges) are decided while the pages before them are
still being made into records and rows, on the same event loop. httpx needs several turns of the loop to put a
request on the wire (the pool, the connection, the write), and each turn waits for every slice of that work ready
to run: the simulator's trace showed probes written 7-10 ms apart and EM idle ~30 ms before the ranges. So the work
between slices waits (``settled``) until the requests already decided are written, never for their answers.

A request counts from the moment its sender says it is coming (``coming``: a range once its bounds are known) or,
at the latest, from when it has its connection slot, until httpcore reports it written (the request's ``trace``
extension) or ``send`` returns. A request waiting for a slot does not count: it may wait for other answers. A
transport that reports nothing (an ASGI app in-process, a test's mock) makes the first request count until it is
answered, and none after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import anyio
import anyio.lowlevel

# httpcore's trace events once a request is on the wire (HTTP/1.1, and HTTP/2 should a transport speak it).
_WRITTEN = frozenset({"http11.send_request_body.complete", "http2.send_request_body.complete"})
_LONGEST_WAIT = 0.05  # seconds ``settled`` waits at most: work is delayed for a write, never stalled


class _Request:
    """One request's part in the count: counted at most once at a time, and never again once written."""

    def __init__(self, unsent: Unsent) -> None:
        self.unsent = unsent
        self.counted = False
        self.over = False

    def count(self) -> None:
        if not self.counted and not self.over and self.unsent.traced is not False:
            self.counted = True
            self.unsent.count += 1

    def uncount(self, *, over: bool = False) -> None:
        self.over = self.over or over
        if self.counted:
            self.counted = False
            self.unsent.count -= 1
            if self.unsent.count == 0:
                self.unsent.written.set()
                self.unsent.written = anyio.Event()


# The request the current task said is coming (``Unsent.coming``), until its send takes it over.
_COMING: ContextVar[_Request | None] = ContextVar("veeam_em_coming_request", default=None)


class Unsent:
    """Counts the requests about to be written (see the module docstring)."""

    def __init__(self) -> None:
        self.count = 0
        self.written = anyio.Event()  # set (and replaced) whenever the count falls to 0
        self.traced: bool | None = None  # whether the transport reports writes (None: not known yet)

    @contextmanager
    def coming(self) -> Iterator[None]:
        """The next request this task sends counts from now (its turn is decided; it waits for nothing else)."""
        request = _Request(self)
        request.count()
        token = _COMING.set(request)
        try:
            yield
        finally:
            _COMING.reset(token)
            request.uncount(over=True)

    def sending(self, slot_free: bool) -> _Request:
        """The request about to take its connection slot (``slot_free``: at once): the one said to be coming, if
        any, else a new one. Waiting for a slot it does not count; ``sent`` counts it once it has one."""
        coming = _COMING.get()
        request = coming if coming is not None and coming.unsent is self and not coming.over else _Request(self)
        if coming is request:
            _COMING.set(None)  # taken: this task's later requests are its own
        if not slot_free:
            request.uncount()
        return request

    def tracing(self, request: _Request) -> Callable[[str, Any], Awaitable[None]] | None:
        """Once the request has its slot: counted, and the ``trace`` extension that reports it written (None when
        this transport reports nothing)."""
        request.count()
        if self.traced is False:
            return None

        async def trace(event: str, info: Any) -> None:
            if event in _WRITTEN:
                self.traced = True
                request.uncount(over=True)

        return trace

    def sent(self, request: _Request) -> None:
        """``send`` returned or failed: the request is written, or never will be."""
        if request.counted and self.traced is None:
            self.traced = False  # answered without a word of its write: this transport does not report writes
        request.uncount(over=True)

    async def settled(self) -> None:
        """A checkpoint that first waits until no request is waiting to be written (``_LONGEST_WAIT`` at most)."""
        if not self.count:
            await anyio.lowlevel.checkpoint()
            return
        with anyio.move_on_after(_LONGEST_WAIT):
            while self.count:
                await self.written.wait()
