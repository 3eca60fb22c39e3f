"""Progress of one tool call in EM requests: how many were made, of how many are known to be needed.

A tool that reads several EM pages (the protection report reads a few per thousand VMs) can take seconds;
a client that sent a progress token is told after each one. The services do not take a reporter argument
through every layer: the tool wrapper (``surface.tools.common.em_errors``) puts the call's reporter in a context
variable, and the query reader (``services.querying``) says ``page_read`` once per EM page it completed. Every
other EM GET of the call (a single resource, a one-page query, a summary report) is counted through the
client's ``RESPONSE_HOOK`` as a request of its own, so no request of a multi-request tool goes unreported.
Concurrent reads of one call (probes, ranges) share the reporter; a lock keeps the numbers it sends
increasing, as MCP requires of progress notifications.

"Known" grows as the call learns more: a window's first page tells how many pages the window has, so each
reader says how many requests it plans (``planned``); the total is the sum of what every reader planned
(or made, when it made more), never less than what was made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import anyio

from ..client import RESPONSE_HOOK

# ``Context.report_progress``: (progress, total, message); a no-op when the client sent no progress token.
Report = Callable[[float, float | None, str | None], Awaitable[Any]]


class Progress:
    """The EM requests of one tool call, and the notifications that say so."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._lock = anyio.Lock()
        self._readers: dict[int, tuple[int, int]] = {}  # id(reader) -> (requests made, requests planned)
        self._others = 0  # requests made outside a query reader (each known only once it is made)
        self.done = 0

    async def page_read(self, reader: object, planned: int) -> None:
        """One EM request of ``reader`` completed; it plans ``planned`` in all (as far as it knows now)."""
        async with self._lock:
            made, _ = self._readers.get(id(reader), (0, 0))
            self._readers[id(reader)] = (made + 1, planned)
            await self._send()

    async def request_read(self) -> None:
        """One EM request outside a query reader completed (it was not planned: it is known once made)."""
        async with self._lock:
            self._others += 1
            await self._send()

    async def _send(self) -> None:
        """Under the lock: count the completed request and tell the client."""
        self.done += 1
        known = max(self.done, self._others + sum(max(m, p) for m, p in self._readers.values()))
        # The lock orders sends: a concurrent page's notification never overtakes a later number.
        await self._report(self.done, known, f"EM pages read: {self.done} of {known} known")


_current: ContextVar[Progress | None] = ContextVar("veeam_em_progress", default=None)
_in_reader: ContextVar[bool] = ContextVar("veeam_em_progress_in_reader", default=False)


@contextmanager
def reporting(report: Report) -> Iterator[Progress]:
    """Within the block, EM requests made by this task (and the tasks it starts) are reported to ``report``."""
    progress = Progress(report)
    token = _current.set(progress)
    hook = RESPONSE_HOOK.set(_other_request)
    try:
        yield progress
    finally:
        RESPONSE_HOOK.reset(hook)
        _current.reset(token)


@contextmanager
def silenced() -> Iterator[None]:
    """Within the block, pages are not reported (a tool that reports its own progress, in its own units)."""
    token = _current.set(None)
    hook = RESPONSE_HOOK.set(None)
    try:
        yield
    finally:
        RESPONSE_HOOK.reset(hook)
        _current.reset(token)


@contextmanager
def reader_request() -> Iterator[None]:
    """Around a query reader's own GET: the reader reports it (``page_read``, with its plan), not the client."""
    token = _in_reader.set(True)
    try:
        yield
    finally:
        _in_reader.reset(token)


async def _other_request() -> None:
    progress = _current.get()
    if progress is not None and not _in_reader.get():
        await progress.request_read()


async def page_read(reader: object, planned: int) -> None:
    """Say that ``reader`` completed one EM request of the ``planned`` it knows of; nothing when nobody listens."""
    progress = _current.get()
    if progress is not None:
        await progress.page_read(reader, planned)
