"""Fault injection for the EM simulator: the ways a real Enterprise Manager, or what sits in front of it, misbehaves.

Real EM servers are slow at times, restart (HTTP.sys answers 503 while the service comes back), sit behind
proxies that show a sign-in page or cut connections, expire sessions, and could in principle send hostile XML.
The client's hardening (retries, timeouts, size cap, entity refusal, re-logon) is only worth something if it is
exercised against those behaviours on a real socket, so each one can be switched on here:

- per test, at runtime: ``app.state.sim.faults.set("status=503:3,method=GET")`` (returns the ``Fault`` objects,
  whose ``fired`` counters say whether the fault was really hit);
- from the command line: ``python -m veeam_em_mcp.simulator --fault latency=2.0 --fault status=503:3``.

Spec grammar (``parse_fault``): ``KIND[=VALUE][:COUNT][,key=value...]`` with keys ``count``, ``after`` (let this
many matching requests through first), ``method``, ``path`` (case-insensitive prefix of the request path),
``variant`` (``status``: ``em`` or ``html``; ``malformed``: ``cut`` or ``binary``; ``entities``: see below),
``url`` (system identifier of ``entities=external|parameter``), ``length`` (``huge`` only: ``declared`` sends a
Content-Length up front), ``encoding`` (``huge`` only: ``gzip`` sends it compressed, a decompression bomb) and
``type`` (the query faults below). Without a count a fault applies to every matching request until cleared.

Faults that make multi-page reads unreliable apply to ``GET /api/query`` (their default method and path):

- ``short-page[=N]``: a page that is not the last one (PageNum < PagesCount) holds N fewer items (default 300,
  so a default-size page comes back empty); PagingInfo is unchanged. Only such pages count as matching.
- ``pages-drift[=K]``: PagingInfo reports PagesCount + K (K may be negative; never below 1; default 1), and the
  Next/Last links follow that count; the items are unchanged.
- ``mutate=insert|remove`` (default ``insert``, default count 1): just before the matching request is answered,
  the dataset changes once: ``insert`` adds a copy of the item in the middle of the type's items sorted by
  creation time (new id, a creation time strictly between its neighbours; a task-session copy is linked to the
  copied one's job session), ``remove`` deletes the middle item (with what cannot exist without it). The type
  is ``type=`` or else the request's query type; VmRestorePoint, RestorePoint, BackupFile, BackupJobSession and
  BackupTaskSession can change (a request of another type does not match). The query service's cached tables
  are rebuilt, so every later query and entity GET sees the change; ``Fault.changed`` lists the ids.
- ``deep[=N]``: a 200 whose body is a document nested N levels deep (default 10000): XML elements, or JSON
  objects and arrays alternating when the request's Accept has application/json (parsers' recursion limits).

``type=T`` restricts ``short-page``, ``pages-drift`` and ``deep`` to queries of type T; for ``mutate`` it names
the type to change. ``short-page`` and ``pages-drift`` are taken by the query handler (``FaultSet.take_page``,
which knows whether a page is the last), the others by the middleware.

Faults that break the HTTP framing (``drop``, ``truncate``) and ``huge`` need a real socket: run them through
``RunningSimulator``. httpx's in-process ASGITransport neither reports a short body as an error nor streams (it
would buffer the whole huge body in memory).
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, get_args
from urllib.parse import parse_qsl

import anyio
import anyio.lowlevel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .dataset import MUTABLE_TYPES
from .render import Renderer

FaultKind = Literal[
    "latency", "slow-logon", "status", "drop", "truncate", "malformed", "html", "huge", "entities", "expire",
    "short-page", "pages-drift", "mutate", "deep",
]
FAULT_KINDS: Final[tuple[str, ...]] = get_args(FaultKind)
# Faults that only delay or change session state or data, then let the request be answered normally (or by a
# responder).
_PASS_THROUGH = frozenset({"latency", "slow-logon", "expire", "mutate"})
# Faults on query pages, applied by the query handler (FaultSet.take_page), not by the middleware.
_PAGE_KINDS = frozenset({"short-page", "pages-drift"})
# Faults on GET /api/query answers by default; `type=` is an option of theirs only.
_QUERY_KINDS = frozenset({"short-page", "pages-drift", "mutate", "deep"})
_QUERY_PATH = "/api/query"
_TOKEN_HEADER = b"x-restsvcsessionid"
_MB = 1024 * 1024
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|k|m|g)?$", re.IGNORECASE)
_STATUS_TEXT = {
    500: "An internal error occurred on the Enterprise Manager server (simulated fault).",
    502: "Bad gateway: the upstream Enterprise Manager did not answer (simulated fault).",
    503: "The service is unavailable (simulated fault).",
    504: "Gateway timeout: the upstream Enterprise Manager did not answer in time (simulated fault).",
}
_VARIANTS: dict[str, tuple[str, ...]] = {
    "status": ("em", "html"),
    "malformed": ("cut", "binary"),
    "entities": ("laughs", "external", "parameter", "late"),
    "mutate": ("insert", "remove"),
}

HELP = """\
inject a fault (repeatable): KIND[=VALUE][:COUNT][,count=N][,after=N][,method=M][,path=P][,variant=V][,url=U]
[,length=declared][,encoding=gzip]. KINDs: latency=SECONDS (delay every answer); slow-logon=SECONDS (delay
POST /api/sessionMngr only); status=CODE (answer CODE, e.g. 503, with EM's Error body; ',variant=html' for
HTTP.sys' HTML page); drop (send part of a chunked answer, then close the connection); truncate
(Content-Length larger than the body, then close); malformed (a complete 200 whose body is cut mid-document;
'=binary' for invalid UTF-8); html (200 text/html sign-in page, like a proxy or a wrong port); huge=SIZE
(a lazily generated 200 body, e.g. 400MB; ',length=declared' announces it in Content-Length;
',encoding=gzip' compresses it several hundredfold, whatever the client asked for);
entities=VARIANT (XML with a DTD; VARIANT is laughs (billion laughs), external (external entity to ',url=U'),
parameter (external parameter entity) or late (a DTD after 8 KB of comment)); expire (drop every session
just before the matching request that carries one). On GET /api/query answers (',type=T' limits them to
queries of type T): short-page=N (a page that is not the last holds N fewer items, PagingInfo unchanged;
default 300); pages-drift=K (PagingInfo reports PagesCount+K, K may be negative, never below 1; default 1);
deep=N (a 200 body nested N levels deep, XML or JSON per Accept; default 10000); mutate=insert|remove
(default count 1: just before the matching query is answered, add a copy of the middle item by creation time,
with a new id and a time between its neighbours, or remove the middle item, of ',type=T' or else the query's
type; every later query and GET sees it). Without COUNT a fault lasts until cleared."""


class FaultSpecError(ValueError):
    """A ``--fault`` spec that cannot be understood."""


@dataclass(kw_only=True)
class Fault:
    """One fault: what to do, to which requests (method, path prefix), and how many times.

    ``seen``/``fired``/``bytes_sent`` are live counters: tests assert that a fault actually fired, so that a
    test cannot pass because its fault never matched.
    """

    kind: FaultKind
    seconds: float = 0.0
    status: int = 503
    size: int = 300 * _MB
    declare_length: bool = False
    gzip: bool = False
    variant: str = ""
    url: str = "http://127.0.0.1:9/xxe"
    # short-page: items left out; pages-drift: added to PagesCount; deep: nesting levels.
    items: int = 300
    drift: int = 1
    depth: int = 10_000
    # short-page / pages-drift / deep: only queries of this type; mutate: the type to change.
    type_name: str | None = None
    count: int | None = None
    after: int = 0
    method: str | None = None
    path: str | None = None
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)
    bytes_sent: int = field(default=0, compare=False)
    # mutate: the ids inserted or removed, one per firing.
    changed: list[str] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultSpecError(f"unknown fault kind {self.kind!r}; one of: {', '.join(FAULT_KINDS)}")
        if self.kind == "slow-logon":
            self.method = self.method or "POST"
            self.path = self.path or "/api/sessionMngr"
        if self.kind in _QUERY_KINDS:
            self.method = self.method or "GET"
            self.path = self.path or _QUERY_PATH
        elif self.type_name is not None:
            raise FaultSpecError(f"{self.kind} takes no type option")
        if self.kind == "mutate":
            if self.count is None:
                self.count = 1
            if self.type_name is not None and self.type_name.lower() not in MUTABLE_TYPES:
                raise FaultSpecError(f"mutate cannot change {self.type_name}; one of: VmRestorePoint, RestorePoint, "
                                     "BackupFile, BackupJobSession, BackupTaskSession")
        if self.method:
            self.method = self.method.upper()
        allowed = _VARIANTS.get(self.kind, ("",))
        if self.variant == "":
            self.variant = allowed[0]
        if self.variant not in allowed:
            raise FaultSpecError(f"{self.kind} takes one of {', '.join(a for a in allowed if a) or 'no value'}")
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise FaultSpecError(f"status must be an HTTP error code (400-599), not {self.status}")
        if self.seconds < 0 or self.size < 0 or self.after < 0 or (self.count is not None and self.count < 0) \
                or self.items < 0:
            raise FaultSpecError("fault numbers must not be negative")
        if self.depth < 1:
            raise FaultSpecError("deep needs at least 1 level")

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def matches(self, method: str, path: str, has_session: bool, query_type: str | None = None) -> bool:
        if self.method and method.upper() != self.method:
            return False
        if self.path and not path.lower().startswith(self.path.lower()):
            return False
        if self.kind == "mutate":
            # Something must say what to change: the option, or the query's own type.
            target = self.type_name or query_type
            return target is not None and target.lower() in MUTABLE_TYPES
        if self.type_name is not None and (query_type or "").lower() != self.type_name.lower():
            return False
        # A session can only expire under a request that uses one; requests without one are not counted.
        return has_session or self.kind != "expire"


def parse_size(text: str) -> int:
    match = _SIZE.match(text.strip())
    if not match:
        raise FaultSpecError(f"not a size: {text!r} (e.g. 400MB)")
    number, unit = float(match.group(1)), (match.group(2) or "b").lower()
    return int(number * {"b": 1, "k": 1024, "kb": 1024, "m": _MB, "mb": _MB, "g": 1024 * _MB, "gb": 1024 * _MB}[unit])


def parse_fault(spec: str) -> Fault:
    """``status=503:3,method=GET`` → ``Fault(kind="status", status=503, count=3, method="GET")``."""
    head, *options = [part.strip() for part in spec.split(",")]
    kind, _, value = head.partition("=")
    kind = kind.strip().lower()
    count: int | None = None
    # A trailing ":N" is the count, on the value (status=503:3) or on a bare kind (drop:2).
    if ":" in (value or kind):
        target, _, tail = (value or kind).rpartition(":")
        if tail.isdigit():
            count = int(tail)
            value, kind = (target, kind) if value else ("", target)
    fields: dict[str, object] = {"kind": kind, "count": count}
    try:
        if value:
            if kind in ("latency", "slow-logon"):
                fields["seconds"] = float(value)
            elif kind == "status":
                fields["status"] = int(value)
            elif kind == "huge":
                fields["size"] = parse_size(value)
            elif kind == "short-page":
                fields["items"] = int(value)
            elif kind == "pages-drift":
                fields["drift"] = int(value)
            elif kind == "deep":
                fields["depth"] = int(value)
            elif kind in _VARIANTS:
                fields["variant"] = value.lower()
            else:
                raise FaultSpecError(f"{kind} takes no value (got {value!r})")
        for option in options:
            key, sep, raw = option.partition("=")
            key = key.strip().lower()
            if not sep:
                raise FaultSpecError(f"option {option!r} is not key=value")
            if key in ("count", "after"):
                fields[key] = int(raw)
            elif key in ("method", "path", "url", "variant"):
                fields[key] = raw.strip()
            elif key == "type":
                fields["type_name"] = raw.strip()
            elif key == "length":
                fields["declare_length"] = raw.strip().lower() == "declared"
            elif key == "encoding":
                fields["gzip"] = raw.strip().lower() == "gzip"
            else:
                raise FaultSpecError(f"unknown option {key!r}")
    except ValueError as exc:
        if isinstance(exc, FaultSpecError):
            raise
        raise FaultSpecError(f"bad number in fault {spec!r}: {exc}") from None
    return Fault(**fields)  # type: ignore[arg-type]  # kind is validated in __post_init__


class FaultSet:
    """The simulator's active faults; safe to change from a test thread while uvicorn serves."""

    def __init__(self, faults: Sequence[Fault | str] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = [self._make(f) for f in faults]
        self.in_flight = 0
        self.max_in_flight = 0

    @staticmethod
    def _make(fault: Fault | str) -> Fault:
        return parse_fault(fault) if isinstance(fault, str) else fault

    def set(self, *faults: Fault | str) -> list[Fault]:
        """Replace every fault with these; returns them (to read ``fired`` later)."""
        made = [self._make(f) for f in faults]
        with self._lock:
            self._faults = made
        return made

    def add(self, fault: Fault | str) -> Fault:
        made = self._make(fault)
        with self._lock:
            self._faults.append(made)
        return made

    def clear(self) -> None:
        with self._lock:
            self._faults = []
            self.max_in_flight = self.in_flight

    @property
    def active(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if not f.exhausted]

    def take(self, method: str, path: str, has_session: bool, query_type: str | None = None) -> list[Fault]:
        """The faults this request meets: every delay/expiry/mutation that applies, and at most one responder
        (the query-page faults are left to `take_page`)."""
        chosen: list[Fault] = []
        responder = False
        with self._lock:
            for fault in self._faults:
                if fault.kind in _PAGE_KINDS or fault.exhausted \
                        or not fault.matches(method, path, has_session, query_type):
                    continue
                passes = fault.kind in _PASS_THROUGH
                if not passes and responder:
                    continue  # one answer per request; later responders keep their count
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.fired += 1
                chosen.append(fault)
                responder = responder or not passes
        return chosen

    def take_page(self, method: str, path: str, query_type: str, last_page: bool) -> list[Fault]:
        """The query-page faults (short-page, pages-drift) a query answer meets; called by the query handler once
        it knows whether its page is the last (a last page never matches short-page)."""
        chosen: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.kind not in _PAGE_KINDS or fault.exhausted or (fault.kind == "short-page" and last_page):
                    continue
                if not fault.matches(method, path, True, query_type):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.fired += 1
                chosen.append(fault)
        return chosen

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def shape_page(chosen: Sequence[Fault], items: list[object], pages_count: int) -> tuple[list[object], int]:
    """(items, PagesCount) of a query page after the query-page faults `take_page` chose."""
    for fault in chosen:
        if fault.kind == "short-page":
            items = items[: max(0, len(items) - fault.items)]
        elif fault.kind == "pages-drift":
            pages_count = max(1, pages_count + fault.drift)
    return items, pages_count


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
        has_session = _TOKEN_HEADER in headers or _TOKEN_HEADER in headers.get(b"cookie", b"").lower()
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
                await _send_whole(send, fault.status, "text/html; charset=us-ascii", _http_sys_page(fault.status))
            else:
                message = _STATUS_TEXT.get(fault.status, f"HTTP {fault.status} (simulated fault).")
                await _send_whole(send, fault.status, r.content_type, r.error(fault.status, message))
        elif fault.kind == "html":
            await _send_whole(send, 200, "text/html; charset=utf-8", _LOGIN_PAGE)
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


_CHUNK_ITEMS = 256


def huge_chunks(fmt: str, size: int) -> Iterator[bytes]:
    """``size`` bytes of a plausible reference list, from one reused block: nothing of that size is allocated."""
    ref = (
        '  <Ref Type="VmRestorePointReference" Href="http://em/api/vmRestorePoints/'
        '00000000-0000-0000-0000-000000000000" Name="filler"/>\n'
    )
    if fmt == "json":
        head = b'{"Refs":['
        block = (
            '{"Type":"VmRestorePointReference","Href":"http://em/api/vmRestorePoints/'
            '00000000-0000-0000-0000-000000000000","Name":"filler"},' * _CHUNK_ITEMS
        ).encode()
    else:
        head = b'<?xml version="1.0" encoding="utf-8"?>\n<EntityReferences xmlns="http://www.veeam.com/ent/v1.0">\n'
        block = (ref * _CHUNK_ITEMS).encode()
    first = head[:size]
    yield first
    left = size - len(first)
    while left > 0:
        yield block if left >= len(block) else block[:left]
        left -= min(left, len(block))


def _gzipped(chunks: Iterator[bytes], flush_at: int = 16 * 1024) -> Iterator[bytes]:
    """Compress lazily; the repetitive filler shrinks about a thousandfold, so little goes on the wire."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        out = packer.compress(chunk)
        if out:
            pending.append(out)
            held += len(out)
        if held >= flush_at:
            yield b"".join(pending)
            pending, held = [], 0
    pending.append(packer.flush())
    yield b"".join(pending)


async def _send_huge(fault: Fault, r: Renderer, receive: Receive, send: Send) -> None:
    """Stream ``fault.size`` bytes, stopping as soon as the client goes away (it must stop at its cap)."""
    headers = [(b"content-type", r.content_type.encode())]
    if fault.declare_length:
        headers.append((b"content-length", str(fault.size).encode()))
    chunks = huge_chunks(r.fmt, fault.size)
    if fault.gzip:
        headers.append((b"content-encoding", b"gzip"))
        chunks = _gzipped(chunks)
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


def deep_body(fmt: str, depth: int) -> bytes:
    """A well-formed document nested `depth` levels deep: XML elements (the root is level 1), or JSON objects
    and arrays alternating (`{"Entities":[{"Entities":[...]}]}`, every container a level)."""
    if fmt == "json":
        pairs, odd = divmod(depth - 1, 2)
        opens = '{"Entities":[' * pairs + ('{"Entities":' if odd else "")
        inner = "[]" if odd else "{}"
        closes = ("}" if odd else "") + "]}" * pairs
        return (opens + inner + closes).encode()
    head = '<?xml version="1.0" encoding="utf-8"?>\n<QueryResult xmlns="http://www.veeam.com/ent/v1.0">'
    return (head + "<Entities>" * (depth - 1) + "</Entities>" * (depth - 1) + "</QueryResult>").encode()


_POINT = (
    '<VmRestorePoint Type="VmRestorePoint" Href="http://em/api/vmRestorePoints/'
    '6c958531-3177-4055-b0ce-dc4ef1ce6433?format=Entity" Name="sql01@2026-11-20 06:00:00" '
    'UID="urn:veeam:VmRestorePoint:6c958531-3177-4055-b0ce-dc4ef1ce6433" xmlns="http://www.veeam.com/ent/v1.0">'
    "<CreationTimeUTC>2026-11-20T06:00:00Z</CreationTimeUTC><VmName>{name}</VmName>"
    "<Algorithm>Full</Algorithm><PointType>Full</PointType></VmRestorePoint>\n"
)


def entity_body(variant: str, url: str) -> bytes:
    """A VmRestorePoint whose VmName is an entity: expanding or fetching it is the attack."""
    decl = '<?xml version="1.0" encoding="utf-8"?>\n'
    if variant == "external":
        dtd = f'<!DOCTYPE VmRestorePoint [<!ENTITY xxe SYSTEM "{url}">]>\n'
        return (decl + dtd + _POINT.format(name="&xxe;")).encode()
    if variant == "parameter":
        dtd = f'<!DOCTYPE VmRestorePoint [<!ENTITY % remote SYSTEM "{url}"> %remote;]>\n'
        return (decl + dtd + _POINT.format(name="sql01")).encode()
    laughs = ['<!ENTITY lol0 "lol">']
    laughs += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    dtd = "<!DOCTYPE VmRestorePoint [" + "".join(laughs) + "]>\n"
    # "late": comments may precede the DTD; 8 KB of them defeats any check of only the first few KB.
    padding = "<!--" + "x" * 8192 + "-->\n" if variant == "late" else ""
    return (decl + padding + dtd + _POINT.format(name="&lol9;")).encode()


_LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form method=\"post\" action=\"/login\">"
    b"<input name=\"user\"><input name=\"password\" type=\"password\"></form></body></html>\n"
)


def _http_sys_page(status: int) -> bytes:
    title = {503: "Service Unavailable", 500: "Internal Server Error", 502: "Bad Gateway", 504: "Gateway Timeout"}
    text = title.get(status, "Error")
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
        f"<HTML><HEAD><TITLE>{text}</TITLE>\r\n"
        '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
        f"<BODY><h2>{text}</h2>\r\n<hr><p>HTTP Error {status}. The service is unavailable.</p>\r\n</BODY></HTML>\r\n"
    ).encode()
