"""MCP resources and completions: restore points by URI, the connected EM, and VM-name completion.

- ``veeam-em://vmRestorePoints/{id}``: one VM restore point as JSON (the same model
  ``get_vm_restore_point`` returns), so a client can attach a point to a conversation by URI.
- ``veeam-em://enterpriseManager``: which Enterprise Manager this server talks to (URL, user,
  supported API versions from ``GET /api/``, TLS mode); never the password.
- Completions for ``vm_name`` arguments, from EM's query service.

Static resources and completion handlers get no MCP ``Context`` in mcp 2.3 (only tools, prompts
and resource templates do), so a small server middleware puts the lifespan state in a context
variable for the duration of each ``resources/read`` and ``completion/complete`` request.
"""

from __future__ import annotations

import json
import logging
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from . import __version__
from .client import EnterpriseManagerClient
from .doctor import supported_versions, tls_mode
from .errors import BadRequest, InvalidIdentifier, NotFound, VeeamEmError
from .models import VmRestorePoint
from .tools.common import AppState, result_json, state_of
from .tools.restore_points import read_vm_restore_point

log = logging.getLogger("veeam_em_mcp.resources")

RESTORE_POINT_TEMPLATE = "veeam-em://vmRestorePoints/{id}"
ENTERPRISE_MANAGER_URI = "veeam-em://enterpriseManager"
JSON = "application/json"

_current_state: ContextVar[AppState | None] = ContextVar("veeam_em_state", default=None)
_STATE_METHODS = frozenset({"resources/read", "completion/complete"})

# VM-name completion tuning: how many newest points to sample, and how long to trust the sample.
NAME_SAMPLE_POINTS = 1000
NAME_CACHE_SECONDS = 300.0
NAME_RANGE_POINTS = 500  # points per range query: sorted by name, so several VMs' worth
MAX_COMPLETIONS = 100  # the MCP spec caps a completion answer at 100 values
_POINT_NAME = re.compile(r"^(?P<vm>.+)@\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")


def register(server: MCPServer[Any]) -> None:
    server.middleware.append(_expose_state)

    @server.resource(
        RESTORE_POINT_TEMPLATE,
        name="vm_restore_point",
        title="VM restore point",
        description=(
            "One VM restore point from Enterprise Manager as JSON (creation time UTC, VM, algorithm, point "
            "type, platform, links). {id} is the restore point's GUID."
        ),
        mime_type=JSON,
    )
    async def vm_restore_point(id: str, ctx: Context) -> str:  # the URI variable's name
        state = state_of(ctx)
        point = await _read_restore_point(state, id)
        # The same JSON get_vm_restore_point returns (absent fields left out, EM hrefs made relative).
        return result_json(point, state.settings)

    @server.resource(
        ENTERPRISE_MANAGER_URI,
        name="enterprise_manager",
        title="Connected Enterprise Manager",
        description=(
            "Which Veeam Backup Enterprise Manager this server reads: REST API URL, user, supported API "
            "versions (GET /api/), how TLS is checked, and whether the logon works. Never the password."
        ),
        mime_type=JSON,
    )
    async def enterprise_manager() -> str:
        state = _current_state.get()
        if state is None:  # read outside a request (e.g. a direct call in a test)
            raise ResourceError("the Enterprise Manager description is only available through MCP resources/read")
        return _json(await describe_enterprise_manager(state))

    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if argument.name != "vm_name":
            return None
        state = _current_state.get()
        if state is None:
            return None
        return await complete_vm_name(state, argument.value)

    # The SDK leaves this decorator factory unannotated; the handler itself is fully typed.
    server.completion()(complete)  # type: ignore[no-untyped-call]


async def _expose_state(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    if ctx.method not in _STATE_METHODS or not isinstance(ctx.lifespan_context, AppState):
        return await call_next(ctx)
    token = _current_state.set(ctx.lifespan_context)
    try:
        return await call_next(ctx)
    finally:
        _current_state.reset(token)


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


# --- veeam-em://vmRestorePoints/{id} ---------------------------------------------------------


async def _read_restore_point(state: AppState, identifier: str) -> VmRestorePoint:
    # Resource errors travel as JSON-RPC errors whose message the client shows: keep them actionable.
    try:
        return await read_vm_restore_point(state, identifier)
    except (InvalidIdentifier, NotFound) as exc:
        raise ResourceNotFoundError(str(exc)) from None
    except VeeamEmError as exc:
        raise ResourceError(str(exc)) from None


# --- veeam-em://enterpriseManager --------------------------------------------------------------


async def describe_enterprise_manager(state: AppState) -> dict[str, Any]:
    """What a person needs to know about the connection; the password is never included."""
    settings, client = state.settings, state.client
    _, tls = tls_mode(settings)
    described: dict[str, Any] = {
        "url": settings.base_url,
        "username": settings.username,
        "logged_on_as": client.user_name,
        "session": "open" if client.logged_on else "not logged on yet (the first tool call logs on)",
        "logon_api_version": "latest (POST /api/sessionMngr/?v=latest)",
        "api_versions": None,
        "newest_api_version": None,
        "format": settings.format,
        "tls": tls,
        "read_only": True,
        "demo": settings.demo,
        "server": f"veeam-em-mcp {__version__}",
    }
    try:
        # GET /api/ needs no session: it is cheap and does not create an EM logon.
        versions = supported_versions(await client.entry_point())
        described["api_versions"] = versions
        described["newest_api_version"] = versions[-1] if versions else None
    except VeeamEmError as exc:
        described["error"] = f"{exc!s} Call the check_connection tool for a full diagnosis."
    return described


# --- vm_name completion -----------------------------------------------------------------------


@dataclass
class VmNameIndex:
    """VM names EM has restore points for, sampled from the newest points and cached briefly.

    EM's query filter has no wildcard, LIKE or "starts with" operator (only == != < > <= >=), so a
    prefix cannot be asked for directly. Two practical sources instead:

    1. the newest ``NAME_SAMPLE_POINTS`` restore points (one query, References format, sorted by
       creation time): every VM backed up recently is in it; cached for ``NAME_CACHE_SECONDS``;
    2. when that sample has few matches, a range query ``VmName>="<prefix>"`` sorted by VmName.
       EM documents the comparison operators but not how they order strings; it works on the
       simulator (case-insensitive, like EM's SQL collation), and if a real EM rejects it (400)
       it is not tried again.

    Completion is a convenience: a failure yields no suggestions, never an error.
    """

    names: list[str] = field(default_factory=list)
    fetched_at: float = -1e18
    sample_is_complete: bool = False  # the sample held every restore point: nothing else to find
    range_queries_work: bool = True
    by_prefix: dict[str, tuple[float, set[str]]] = field(default_factory=dict)

    async def refresh(self, client: EnterpriseManagerClient, base_url: str) -> None:
        if time.monotonic() - self.fetched_at < NAME_CACHE_SECONDS:
            return
        url = (
            f"{base_url}/query?type=VmRestorePoint&format=References&sortDesc=CreationTime"
            f"&pageSize={NAME_SAMPLE_POINTS}&page=1"
        )
        doc = await client.get(url)
        self.names = sorted(_vm_names(doc), key=str.casefold)
        paging = doc.data.get("paging_info")
        self.sample_is_complete = isinstance(paging, dict) and str(paging.get("pages_count", "")) in ("0", "1")
        self.fetched_at = time.monotonic()
        self.by_prefix.clear()

    async def by_range(self, client: EnterpriseManagerClient, base_url: str, prefix: str) -> set[str]:
        if not self.range_queries_work or not prefix or self.sample_is_complete:
            return set()
        cached = self.by_prefix.get(prefix.casefold())
        if cached is not None and time.monotonic() - cached[0] < NAME_CACHE_SECONDS:
            return cached[1]
        condition = quote(f"VmName>={quote_filter_value(prefix)}", safe="")
        url = (
            f"{base_url}/query?type=VmRestorePoint&format=References&sortAsc=VmName"
            f"&pageSize={NAME_RANGE_POINTS}&page=1&filter={condition}"
        )
        try:
            found = _vm_names(await client.get(url))
        except BadRequest:
            log.info("EM rejected a VmName range query; completing from the cached sample only")
            self.range_queries_work = False
            return set()
        if len(self.by_prefix) >= 256:  # typing one name asks once per keystroke; keep it bounded
            self.by_prefix.clear()
        self.by_prefix[prefix.casefold()] = (time.monotonic(), found)
        return found

    async def complete(self, client: EnterpriseManagerClient, base_url: str, prefix: str) -> Completion:
        await self.refresh(client, base_url)
        wanted = prefix.casefold()
        found = {name for name in self.names if name.casefold().startswith(wanted)}
        if len(found) < 10:
            found |= {n for n in await self.by_range(client, base_url, prefix) if n.casefold().startswith(wanted)}
        ordered = sorted(found, key=str.casefold)
        return Completion(
            values=ordered[:MAX_COMPLETIONS],
            total=len(ordered),
            has_more=len(ordered) > MAX_COMPLETIONS,
        )


def quote_filter_value(value: str) -> str:
    """A string literal for EM's filter: in double quotes, an inner quote doubled."""
    return '"' + value.replace('"', '""') + '"'


def _vm_names(doc: Any) -> set[str]:
    data = doc.data
    items = data.get("refs")
    if items is None:  # Entities format, or a differently wrapped answer
        entities = data.get("entities")
        items = entities.get("vm_restore_points") if isinstance(entities, dict) else None
    names: set[str] = set()
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name = item.get("vm_name") or item.get("vm_display_name")
        if not name and isinstance(item.get("name"), str):
            # References carry only Name="<vm>@<yyyy-mm-dd hh:mm:ss>"; the VM is what precedes the time.
            match = _POINT_NAME.match(item["name"])
            name = match.group("vm") if match else None
        if isinstance(name, str) and name.strip():
            names.add(name)
    return names


async def complete_vm_name(state: AppState, prefix: str) -> Completion:
    index = state.extras.get("vm_names")
    if not isinstance(index, VmNameIndex):
        index = state.extras["vm_names"] = VmNameIndex()
    try:
        return await index.complete(state.client, state.settings.base_url, prefix)
    except VeeamEmError as exc:
        log.warning("vm_name completion failed: %s: %s", type(exc).__name__, exc)
        return Completion(values=[], total=0, has_more=False)
