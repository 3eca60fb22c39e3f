"""MCP protocol-level behaviour: what the server advertises, and how it answers protocol mistakes.

``install(server)`` is called once, at the end of ``build_server``, after every tool, prompt and
resource is registered. It adds what the bare ``MCPServer`` lacks, so that clients nobody here
wrote (the conformance suite, the TypeScript SDK, the Inspector, fastmcp) find what they expect:

- **Logging.** ``logging/setLevel`` is served on handshake-era connections (2025-11-25 and
  older); afterwards the server's own log records (``veeam_em_mcp.*``: retries, re-logons,
  failed calls) raised while a request of that connection runs are sent to the client as
  ``notifications/message`` at or above the level it asked for, secrets redacted like on stderr.
  On 2026-07-28 connections, which have no ``logging/setLevel``, the same records go to a
  request that opts in with the ``io.modelcontextprotocol/logLevel`` ``_meta`` key.
  The server's stderr level (``VEEAM_MCP_LOG_LEVEL``, default INFO) still decides which records
  exist at all: a client asking for ``debug`` gets INFO and above unless stderr is at DEBUG.
- **Resource subscriptions.** ``resources/subscribe`` and ``resources/unsubscribe`` are served
  (2026-07-28 clients use ``subscriptions/listen``, which the SDK serves). The one resource whose
  content changes while the server runs is ``veeam-em://enterpriseManager`` (its session state and
  logged-on user): when a request changes them, subscribers get ``notifications/resources/updated``.
  Restore points never change once EM has created them, so their subscriptions never fire; the
  server does not poll EM to find out that retention removed one.
- **Capabilities equal to what is served**, the same in ``initialize`` and ``server/discover``:
  ``logging``, ``completions``, ``resources.subscribe: true``, and ``listChanged: false``
  everywhere (the tool, prompt and resource lists are fixed at start). The SDK's own
  ``server/discover`` said ``listChanged: true`` and ``subscribe: true`` while ``initialize``
  said false.
- **Protocol mistakes, protocol errors.** An unknown prompt name (in ``prompts/get`` or as a
  completion reference) is ``-32602`` naming the prompts that exist, instead of the SDK's
  ``MCP error 0`` / ``-32603`` with a traceback; an unknown resource URI is ``-32602`` naming the
  resources and templates that exist.
- **Tool mistakes a model can correct.** A call with invalid arguments stays an ``isError``
  result (the specification's "tool execution error", so the model sees it), but its text says
  which argument, what was wrong and what is accepted, without pydantic's
  "For further information visit https://errors.pydantic.dev/..." lines. An unknown tool name,
  also an ``isError`` result from the SDK, now lists the tools that exist.
- **An icon** (``icon.png`` in the package) in ``serverInfo``, as a ``data:`` URI so that it
  works without any network; sent once, in discovery (``initialize``, ``server/discover``): the
  2026-07-28 ``serverInfo`` stamp on every other result leaves it out (2 KB, 29% of a small result).
"""

from __future__ import annotations

import base64
import logging
import threading
import weakref
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.from_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server import MCPServer
from mcp.server.connection import Connection, allowed_log_levels
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.subscriptions import ResourceUpdated, SubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp.shared.uri_template import UriTemplate
from mcp.types import (
    INVALID_PARAMS,
    DiscoverResult,
    EmptyResult,
    Icon,
    LoggingLevel,
    LoggingMessageNotification,
    LoggingMessageNotificationParams,
    RequestParams,
    SetLevelRequestParams,
    SubscribeRequestParams,
    UnsubscribeRequestParams,
)
from mcp.types.version import MODERN_PROTOCOL_VERSIONS
from mcp_types import SERVER_INFO_META_KEY
from pydantic import ValidationError

from ..services.context import EmContext
from ..text import RedactSecrets
from .resources import ENTERPRISE_MANAGER_URI
from .sdk_seams import lowlevel_server, session_connection

log = logging.getLogger("veeam_em_mcp.protocol")

PACKAGE_LOGGER = "veeam_em_mcp"
ICON_FILE = Path(__file__).with_name("icon.png")
ICON_SIZE = "128x128"

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
# Resource subscriptions one connection may hold (a client subscribes to a few points, not all).
MAX_SUBSCRIPTIONS_PER_CONNECTION = 1000
# Argument values quoted back in a validation error are cut to this many characters.
MAX_QUOTED_VALUE = 80

_LEVEL_KEY = "veeam_em_mcp.log_level"  # connection.state: the level logging/setLevel asked for


def install(server: MCPServer[Any], bus: SubscriptionBus, tools: Mapping[str, Tool]) -> None:
    """Add logging, resource subscriptions, truthful capabilities, clear errors and the icon.

    ``bus`` is the subscriptions/listen bus the server was built with; ``tools`` are the registered tools
    (``tools._registration.register_tools``), whose argument models explain a failed validation.
    """
    # The SDK's registry of request handlers and capabilities: mcp 2.3 offers no public way to serve a
    # method MCPServer does not know (logging/setLevel, resources/subscribe); sdk_seams fences the access.
    lowlevel = lowlevel_server(server)
    subscriptions = ResourceSubscriptions(bus)

    async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
        connection_of(ctx).state[_LEVEL_KEY] = params.level
        return EmptyResult()

    async def subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        subscriptions.subscribe(connection_of(ctx), params.uri)
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        subscriptions.unsubscribe(connection_of(ctx), params.uri)
        return EmptyResult()

    discover = lowlevel.get_request_handler("server/discover")
    assert discover is not None, "the SDK serves server/discover"

    async def discover_what_is_served(ctx: ServerRequestContext[Any, Any], params: RequestParams) -> DiscoverResult:
        # The SDK's answer, with the capabilities initialize reports: both derive from the
        # registered handlers, so the two eras cannot disagree.
        result = await discover.handler(ctx, params)
        assert isinstance(result, DiscoverResult)
        return result.model_copy(update={"capabilities": lowlevel.get_capabilities()})

    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    lowlevel.add_request_handler("server/discover", RequestParams, discover_what_is_served)

    names = NameChecks(server, tools)
    server.middleware.extend([forward_logs, names, subscriptions.announce_em_session_changes, icon_once])
    if ICON_FILE.is_file():
        lowlevel.icons = [server_icon()]
    install_log_forwarder()


def connection_of(ctx: ServerRequestContext[Any, Any]) -> Connection:
    """The request's connection: it holds what lives longer than one request (the log level).

    mcp 2.3 exposes it only as the session's private attribute (``sdk_seams.session_connection``).
    """
    return session_connection(ctx.session)


async def icon_once(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Every 2026-07-28 result but discovery's, with the SDK's ``serverInfo`` stamp minus the icon.

    The stamp is the server's identity on each result; a client has the icon from discovery already.
    """
    result = await call_next(ctx)
    if ctx.method == "server/discover" or not isinstance(result, dict):
        return result
    meta = result.get("_meta")
    info = meta.get(SERVER_INFO_META_KEY) if isinstance(meta, dict) else None
    if isinstance(meta, dict) and isinstance(info, dict) and "icons" in info:
        result["_meta"] = {**meta, SERVER_INFO_META_KEY: {k: v for k, v in info.items() if k != "icons"}}
    return result


def server_icon() -> Icon:
    data = base64.b64encode(ICON_FILE.read_bytes()).decode("ascii")
    return Icon(src=f"data:image/png;base64,{data}", mime_type="image/png", sizes=[ICON_SIZE])


# --- logging ------------------------------------------------------------------------------------


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
    requested = connection_of(ctx).state.get(_LEVEL_KEY)
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


# --- resource subscriptions ----------------------------------------------------------------------


@dataclass
class ResourceSubscriptions:
    """Which connection subscribed to which URI, and the fan-out when a resource changes."""

    bus: SubscriptionBus
    by_connection: weakref.WeakKeyDictionary[Connection, set[str]] = field(default_factory=weakref.WeakKeyDictionary)

    def subscribe(self, connection: Connection, uri: str) -> None:
        uris = self.by_connection.get(connection)
        if uris is None:
            uris = self.by_connection[connection] = set()
            connection.exit_stack.callback(self.by_connection.pop, connection, None)
        if uri not in uris and len(uris) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"this connection already holds {MAX_SUBSCRIPTIONS_PER_CONNECTION} resource subscriptions; "
                "unsubscribe from some first",
            )
        uris.add(uri)

    def unsubscribe(self, connection: Connection, uri: str) -> None:
        self.by_connection.get(connection, set()).discard(uri)

    async def updated(self, uri: str) -> None:
        """Tell every subscriber of ``uri``: handshake-era connections directly, 2026-07-28 listeners via the bus."""
        for connection, uris in list(self.by_connection.items()):
            if uri in uris:
                await connection.send_resource_updated(uri)
        await self.bus.publish(ResourceUpdated(uri=uri))

    async def announce_em_session_changes(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """Middleware: after a request that logged on (or changed the logged-on user), announce the update.

        ``veeam-em://enterpriseManager`` shows the session state and the logged-on user; the
        last announced state lives in the process state, so concurrent requests announce a
        change once.
        """
        state = ctx.lifespan_context
        if ctx.request_id is None or not isinstance(state, EmContext):
            return await call_next(ctx)
        if state.announced_em_session is None:
            state.announced_em_session = em_session(state)
        try:
            result = await call_next(ctx)
        except Exception:  # a failed call can have logged on too
            await self._announce_if_changed(state)
            raise
        await self._announce_if_changed(state)
        return result

    async def _announce_if_changed(self, state: EmContext) -> None:
        now = em_session(state)
        if now != state.announced_em_session:
            state.announced_em_session = now
            await self.updated(ENTERPRISE_MANAGER_URI)


def em_session(state: EmContext) -> tuple[bool, str | None]:
    return state.client.logged_on, state.client.user_name


# --- names that do not exist, arguments that do not fit -------------------------------------------


@dataclass
class NameChecks:
    """Middleware: unknown prompts and resources become -32602 with the valid names; tool mistakes are explained."""

    server: MCPServer[Any]
    tools: Mapping[str, Tool]

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params: Mapping[str, Any] = ctx.params or {}
        if ctx.method == "prompts/get":
            try:
                return await call_next(ctx)
            except ValueError:  # what the SDK raises for an unknown prompt (and for bad params)
                await self._reject_unknown_prompt(params.get("name"))
                raise
        if ctx.method == "completion/complete":
            await self._check_completion_reference(params.get("ref"))
            return await call_next(ctx)
        if ctx.method == "resources/read":
            try:
                return await call_next(ctx)
            except MCPError as exc:
                if exc.error.code == INVALID_PARAMS:
                    await self._reject_unknown_resource(params.get("uri"))
                raise
        if ctx.method == "tools/call":
            result = await call_next(ctx)
            if isinstance(result, dict) and result.get("isError"):
                return await self._explain_tool_error(result, params)
            return result
        return await call_next(ctx)

    async def _reject_unknown_prompt(self, name: Any) -> None:
        prompts = [prompt.name for prompt in await self.server.list_prompts()]
        if isinstance(name, str) and name not in prompts:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Unknown prompt {name!r}. Prompts on this server: {listed(prompts)}.",
                data={"name": name, "prompts": prompts},
            ) from None

    async def _check_completion_reference(self, ref: Any) -> None:
        if not isinstance(ref, Mapping):
            return  # malformed: the SDK's params validation answers it
        if ref.get("type") == "ref/prompt":
            await self._reject_unknown_prompt(ref.get("name"))
        elif ref.get("type") == "ref/resource":
            templates = [template.uri_template for template in await self.server.list_resource_templates()]
            uri = ref.get("uri")
            if isinstance(uri, str) and uri not in templates:
                raise MCPError(
                    code=INVALID_PARAMS,
                    message=f"Unknown resource template {uri!r}. Templates on this server: {listed(templates)}.",
                    data={"uri": uri, "resourceTemplates": templates},
                )

    async def _reject_unknown_resource(self, uri: Any) -> None:
        if not isinstance(uri, str):
            return
        resources = [str(resource.uri) for resource in await self.server.list_resources()]
        templates = [template.uri_template for template in await self.server.list_resource_templates()]
        if uri in resources or any(UriTemplate.parse(t).match(uri) is not None for t in templates):
            return  # a served URI whose resource said "not found" itself: its message is the specific one
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"Unknown resource {uri!r}. This server serves {listed([*resources, *templates])}; "
            "resources/list and resources/templates/list describe them.",
            data={"uri": uri, "resources": resources, "resourceTemplates": templates},
        ) from None

    async def _explain_tool_error(self, result: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        arguments = params.get("arguments")
        tool = self.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            tools = [listed.name for listed in await self.server.list_tools()]
            if name in tools:
                return result  # a tool added outside register_tools: its own error stands
            text = f"Unknown tool {name!r}. Tools on this server: {listed(tools)}."
            return {**result, "content": [{"type": "text", "text": text}]}
        try:
            # Only a failed call is validated again: the exact errors the SDK saw, as data.
            tool.fn_metadata.validate_arguments(arguments if isinstance(arguments, dict) else {})
        except ValidationError as exc:
            text = explain_invalid_arguments(tool.name, tool.parameters, arguments, exc)
            return {**result, "content": [{"type": "text", "text": text}]}
        return result


def explain_invalid_arguments(tool: str, schema: Mapping[str, Any], arguments: Any, error: ValidationError) -> str:
    """A validation failure as a model can act on it: each argument, what was wrong, what is accepted."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    given = arguments if isinstance(arguments, Mapping) else {}
    lines = [f"{tool} was not run: its arguments are invalid. Correct them and call it again."]
    for problem in error.errors(include_url=False):
        location = ".".join(str(part) for part in problem["loc"]) or "arguments"
        top = str(problem["loc"][0]) if problem["loc"] else ""
        if problem["type"] == "missing":
            what = "required, but missing"
        else:
            what = str(problem["msg"]).removeprefix("Value error, ")
            if "input" in problem and top in given:
                what += f" (you sent {_quoted(problem['input'])})"
        accepted = describe_schema(properties[top]) if top in properties else ""
        lines.append(f"- {location}: {what}." + (f" Accepted: {accepted}." if accepted else ""))
    unknown = sorted(set(given) - set(properties))
    if unknown:
        lines.append(
            f"- {', '.join(unknown)}: not an argument of {tool} (ignored); its arguments are {listed(properties)}."
        )
    return "\n".join(lines)


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTED_VALUE else f"{text[: MAX_QUOTED_VALUE - 3]}... ({len(text)} characters)"


def describe_schema(schema: Mapping[str, Any]) -> str:
    """A JSON Schema property in a few words: type, bounds, choices, default, description."""
    alternatives = [a for a in schema.get("anyOf", [schema]) if isinstance(a, Mapping)]
    kinds = [_describe_type(a) for a in alternatives if a.get("type") != "null"]
    text = " or ".join(kind for kind in kinds if kind) or "any value"
    if any(a.get("type") == "null" for a in alternatives):
        text += ", or null to leave it out"
    if schema.get("default") is not None:
        text += f" (default {schema['default']!r})"
    description = schema.get("description")
    return f"{text}: {description}" if isinstance(description, str) and description else text


def _describe_type(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(repr(choice) for choice in schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return "text" + _bounds(schema.get("minLength"), schema.get("maxLength"), " characters")
    if kind in ("integer", "number"):
        noun = "an integer" if kind == "integer" else "a number"
        return noun + _bounds(schema.get("minimum"), schema.get("maximum"), "")
    if kind == "boolean":
        return "true or false"
    return str(kind) if isinstance(kind, str) else ""


def _bounds(low: Any, high: Any, unit: str) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}{unit}"
    if low is not None:
        return f" of at least {low}{unit}"
    if high is not None:
        return f" of at most {high}{unit}"
    return ""


def listed(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"
