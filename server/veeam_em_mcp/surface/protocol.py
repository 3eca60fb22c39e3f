"""MCP protocol-level behaviour: what the server advertises, and how it answers protocol mistakes.

``install(server)`` is called once, at the end of ``build_server``, after every tool, prompt and
resource is registered. It adds what the bare ``MCPServer`` lacks, so that clients nobody here
wrote (the conformance suite, the TypeScript SDK, the Inspector, fastmcp) find what they expect:

- **Logging** (``client_logs``): ``logging/setLevel``, and the server's log records sent to the client
  that asked for them, secrets redacted like on stderr.
- **Resource subscriptions** (``subscriptions``): ``resources/subscribe`` and ``resources/unsubscribe``;
  a change of ``veeam-em://enterpriseManager`` is announced to its subscribers.
- **Capabilities equal to what is served**, the same in ``initialize`` and ``server/discover``:
  ``logging``, ``completions``, ``resources.subscribe: true``, and ``listChanged: false``
  everywhere (the tool, prompt and resource lists are fixed at start). The SDK's own
  ``server/discover`` said ``listChanged: true`` and ``subscribe: true`` while ``initialize``
  said false.
- **Mistakes in words that can be acted on** (``mistakes``): unknown prompts and resources are ``-32602``
  naming what exists; a tool call with invalid arguments says which argument, what was wrong and what
  is accepted; an unknown tool name lists the tools.
- **An icon** (``icon.png`` in the package) in ``serverInfo``, as a ``data:`` URI so that it
  works without any network; sent once, in discovery (``initialize``, ``server/discover``): the
  2026-07-28 ``serverInfo`` stamp on every other result leaves it out (2 KB, 29% of a small result).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.subscriptions import SubscriptionBus
from mcp.types import (
    DiscoverResult,
    Icon,
    RequestParams,
    SetLevelRequestParams,
    SubscribeRequestParams,
    UnsubscribeRequestParams,
)
from mcp_types import SERVER_INFO_META_KEY

from .client_logs import forward_logs, install_log_forwarder, set_level
from .mistakes import NameChecks
from .sdk_seams import lowlevel_server
from .subscriptions import ResourceSubscriptions

ICON_FILE = Path(__file__).with_name("icon.png")
ICON_SIZE = "128x128"


def install(server: MCPServer[Any], bus: SubscriptionBus, tools: Mapping[str, Tool]) -> None:
    """Add logging, resource subscriptions, truthful capabilities, clear errors and the icon.

    ``bus`` is the subscriptions/listen bus the server was built with; ``tools`` are the registered tools
    (``tools._registration.register_tools``), whose argument models explain a failed validation.
    """
    # The SDK's registry of request handlers and capabilities: mcp 2.3 offers no public way to serve a
    # method MCPServer does not know (logging/setLevel, resources/subscribe); sdk_seams fences the access.
    lowlevel = lowlevel_server(server)
    subscriptions = ResourceSubscriptions(bus)

    discover = lowlevel.get_request_handler("server/discover")
    assert discover is not None, "the SDK serves server/discover"

    async def discover_what_is_served(ctx: ServerRequestContext[Any, Any], params: RequestParams) -> DiscoverResult:
        # The SDK's answer, with the capabilities initialize reports: both derive from the
        # registered handlers, so the two eras cannot disagree.
        result = await discover.handler(ctx, params)
        assert isinstance(result, DiscoverResult)
        return result.model_copy(update={"capabilities": lowlevel.get_capabilities()})

    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscriptions.on_subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, subscriptions.on_unsubscribe)
    lowlevel.add_request_handler("server/discover", RequestParams, discover_what_is_served)

    names = NameChecks(server, tools)
    server.middleware.extend([forward_logs, names, subscriptions.announce_em_session_changes, icon_once])
    if ICON_FILE.is_file():
        lowlevel.icons = [server_icon()]
    install_log_forwarder()


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
