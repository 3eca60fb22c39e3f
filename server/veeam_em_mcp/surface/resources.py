"""MCP resources and completions: restore points by URI, the connected EM, and VM-name completion.

- ``veeam-em://vmRestorePoints/{id}``: one VM restore point as JSON (the same model
  ``get_vm_restore_point`` returns), so a client can attach a point to a conversation by URI.
- ``veeam-em://enterpriseManager``: which Enterprise Manager this server talks to (URL, user,
  supported API versions from ``GET /api/``, TLS mode); never the password.
- Completions for ``vm_name`` arguments, from EM's query service.

Static resources and completion handlers get no MCP ``Context`` in mcp 2.3 (only tools, prompts
and resource templates do), so a small server middleware (``state.expose_state``) puts the lifespan
state in a context variable for the duration of each ``resources/read`` and ``completion/complete`` request.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from ..errors import InvalidIdentifier, NotFound, VeeamEmError
from ..services.completion import complete_vm_name
from ..services.connection import describe_enterprise_manager
from ..services.restore_points import read_vm_restore_point
from .state import current_state, expose_state, state_of

ENTERPRISE_MANAGER_URI = "veeam-em://enterpriseManager"
# One VM restore point as an MCP resource (served here); tool results link the points they name (tools/common.py).
RESTORE_POINT_TEMPLATE = "veeam-em://vmRestorePoints/{id}"
JSON = "application/json"


def register(server: MCPServer[Any]) -> None:
    server.middleware.append(expose_state)

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
        em = state_of(ctx)
        # Resource errors travel as JSON-RPC errors whose message the client shows: keep them actionable.
        try:
            point = await read_vm_restore_point(em, id)
        except (InvalidIdentifier, NotFound) as exc:
            raise ResourceNotFoundError(str(exc)) from None
        except VeeamEmError as exc:
            raise ResourceError(str(exc)) from None
        # The same JSON get_vm_restore_point returns (absent fields left out, EM hrefs made relative).
        return em.budget.json(point)

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
        em = current_state()
        if em is None:  # read outside a request (e.g. a direct call in a test)
            raise ResourceError("the Enterprise Manager description is only available through MCP resources/read")
        return json.dumps(await describe_enterprise_manager(em), ensure_ascii=False, indent=2)

    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if argument.name != "vm_name":
            return None
        em = current_state()
        if em is None:
            return None
        matches = await complete_vm_name(em.vm_names, em.client, em.base_url, argument.value)
        return Completion(values=matches.values, total=matches.total, has_more=matches.has_more)

    # The SDK leaves this decorator factory unannotated; the handler itself is fully typed.
    server.completion()(complete)  # type: ignore[no-untyped-call]
