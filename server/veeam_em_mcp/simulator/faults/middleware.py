"""The ASGI middleware that injects the faults the query handler does not take: latency, statuses, dropped and
truncated connections, malformed, HTML, hostile and huge bodies, expired sessions, the `mutate` change.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

import anyio
import anyio.lowlevel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..render.renderer import Renderer
from .bodies import LOGIN_PAGE, deep_body, entity_body, gzipped, http_sys_page, huge_chunks
from .fault_set import FaultSet
from .spec import STATUS_TEXT, TOKEN_HEADER, Fault


def _query_type(scope: Scope) -> str | None:
    """The request's `type` query parameter (name case-insensitive), if any."""
    raw: bytes = scope.get("query_string", b"")
    if b"type=" not in raw.lower():
        return None
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key.lower() == "type":
            return value
    return None


class FaultInjector:
    """ASGI middleware applying the ``FaultSet`` to each HTTP request (inside EM's header envelope).

    ``expire_sessions`` and ``mutate`` (``mutate(variant, type_name) -> changed id``) call back into the
    simulator's state, which owns the sessions and the data."""

    def __init__(
        self,
        app: ASGIApp,
        faults: FaultSet,
        expire_sessions: Callable[[], None],
        xml: Renderer,
        json: Renderer,
        mutate: Callable[[str, str], str] | None = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.expire_sessions = expire_sessions
        self.xml = xml
        self.json = json
        self.mutate = mutate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        has_session = TOKEN_HEADER in headers or TOKEN_HEADER in headers.get(b"cookie", b"").lower()
        query_type = _query_type(scope)
        chosen = self.faults.take(scope["method"], scope["path"], has_session, query_type)
        self.faults._enter()
        try:
            responder: Fault | None = None
            for fault in chosen:
                if fault.kind in ("latency", "slow-logon"):
                    await anyio.sleep(fault.seconds)
                elif fault.kind == "expire":
                    self.expire_sessions()
                elif fault.kind == "mutate":
                    target = fault.type_name or query_type
                    if self.mutate is not None and target is not None:
                        fault.changed.append(self.mutate(fault.variant, target))
                else:
                    responder = fault
            if responder is None:
                await self.app(scope, receive, send)
                return
            renderer = self.json if b"application/json" in headers.get(b"accept", b"").lower() else self.xml
            await self._respond(responder, renderer, scope, receive, send)
        finally:
            self.faults._leave()

    async def _respond(self, fault: Fault, r: Renderer, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.kind == "status":
            if fault.variant == "html":  # HTTP.sys' own page while the EM service is down or restarting
                await _send_whole(send, fault.status, "text/html; charset=us-ascii", http_sys_page(fault.status))
            else:
                message = STATUS_TEXT.get(fault.status, f"HTTP {fault.status} (simulated fault).")
                await _send_whole(send, fault.status, r.content_type, r.error(fault.status, message))
        elif fault.kind == "html":
            await _send_whole(send, 200, "text/html; charset=utf-8", LOGIN_PAGE)
        elif fault.kind == "deep":
            await _send_whole(send, 200, r.content_type, deep_body(r.fmt, fault.depth))
        elif fault.kind == "entities":
            await _send_whole(send, 200, "application/xml; charset=utf-8", entity_body(fault.variant, fault.url))
        elif fault.kind == "huge":
            await _send_huge(fault, r, receive, send)
        else:  # drop, truncate and malformed damage the answer EM would really have given
            start, body = await _capture(self.app, scope, receive)
            if fault.kind == "malformed":
                broken = b"\xff\xfe<\x00V\x00m\x00\xc3(" if fault.variant == "binary" else body[: len(body) * 2 // 3]
                await _send_whole(send, 200, _header(start, b"content-type") or r.content_type, broken)
                return
            kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            if fault.kind == "truncate":  # announce the whole body, deliver half
                kept.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": start["status"], "headers": kept})
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            # Returning without the final body message makes uvicorn close the connection mid-answer.
            fault.bytes_sent += len(body) // 2


def _header(start: Message, name: bytes) -> str | None:
    for key, value in start.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """Run the real handler and keep its answer, so damage is done to a genuine EM body."""
    start: Message = {"type": "http.response.start", "status": 500, "headers": []}
    parts: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    await app(scope, receive, keep)
    return start, b"".join(parts)


async def _send_whole(send: Send, status: int, content_type: str, body: bytes) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_huge(fault: Fault, r: Renderer, receive: Receive, send: Send) -> None:
    """Stream ``fault.size`` bytes, stopping as soon as the client goes away (it must stop at its cap)."""
    headers = [(b"content-type", r.content_type.encode())]
    if fault.declare_length:
        headers.append((b"content-length", str(fault.size).encode()))
    chunks = huge_chunks(r.fmt, fault.size)
    if fault.gzip:
        headers.append((b"content-encoding", b"gzip"))
        chunks = gzipped(chunks)
    gone = anyio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in chunks:
            # uvicorn's send waits while the socket buffer is full, so generation follows the client's reading;
            # but once the client is gone it returns at once, so yield here to let watch() notice that.
            await anyio.lowlevel.checkpoint()
            if gone.is_set():
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            fault.bytes_sent += len(chunk)
        else:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        group.cancel_scope.cancel()
