"""``follow_link``: any href from an earlier result, fetched read-only as its model.

A thin adapter over ``services.links.follow``; the link policy there refuses, without any request,
action links, other hosts and ports, and paths outside ``/api/``.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from ...services.links import FollowLinkResult, follow
from ..state import state_of
from ._registration import ToolSpec
from .common import bounded_result

FOLLOW_LINK = """\
Fetch what an href from an earlier result of this server names (any 'href', or an entry of \
'collections'), read-only, as its model: a VM restore point, job-level restore point, backup file \
(path, size), backup server, backup, job, job or task session, repository, a list of them, or any \
other EM resource with all its fields. A list comes a page at a time: when next_cursor is set, call \
again with only cursor=next_cursor. Only links on the configured Enterprise Manager under /api/ are \
followed; actions, other hosts and other ports are refused without any request."""


async def follow_link(
    ctx: Context,
    href: Annotated[
        str | None, Field(description="A link href from an earlier result of this server", max_length=2048)
    ] = None,
    cursor: Annotated[
        str | None,
        Field(description="next_cursor of an earlier follow_link result, for the next items", max_length=4096),
    ] = None,
) -> Annotated[CallToolResult, FollowLinkResult]:
    em = state_of(ctx)
    return bounded_result(
        em,
        await follow(em, href, cursor),
        "A single resource cannot be split: raise VEEAM_MCP_MAX_RESULT_CHARS. For a query link, ask for a "
        "smaller page (pageSize=5) or use find_vm_restore_points, which pages and cuts results itself.",
    )


TOOLS = (ToolSpec(follow_link, "Follow a link", FOLLOW_LINK),)
