"""``get_vm_restore_point`` and ``follow_link``: read one restore point, then walk EM's own links.

EM is a hypermedia API: a restore point links Up to its backup server, its job-level restore
point and its backup file. Rather than one tool per resource, ``follow_link`` fetches any of those
links (vetted by the ``LinkPolicy``) and returns the matching model, so the tool surface stays
small while the assistant can reach everything a restore point points at.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from ..config import Settings
from ..errors import MalformedResponse, NotFound
from ..links import restore_point_guid
from ..models import AnyResource, EntityReferences, ResourceList, VmRestorePoint
from ..representation import to_resource
from .common import READ_ONLY, AppState, bounded_result, em_errors, longest_fitting, state_of


class FollowLinkResult(BaseModel):
    """What ``follow_link`` fetched: the resource as its model, and whether a list was shortened."""

    href: str = Field(description="The URL that was fetched (normalised; entity form for single resources)")
    resource_kind: str = Field(description="What the href's path names: VmRestorePoint, BackupFile, …")
    resource: AnyResource = Field(description="The resource; its 'kind' says which model it is")
    truncated: bool = Field(False, description="True when a list was cut to fit the result size limit")
    total_items: int | None = Field(None, description="Items EM returned, for lists")
    returned_items: int | None = Field(None, description="Items included here, for lists")
    note: str | None = Field(None, description="What was left out and how to get it")


GET_VM_RESTORE_POINT = """\
Get one VM restore point from Veeam Backup Enterprise Manager: when it was created (UTC, full \
precision), the VM it belongs to, whether it is a full or an increment (algorithm, point_type), \
the platform (VMware, HyperV, vCloud), and its links.

restore_point_id accepts the restore point's GUID (6c958531-3177-4055-b0ce-dc4ef1ce6433), its UID \
(urn:veeam:VmRestorePoint:<GUID>) or its href. To go further, pass a link's href to follow_link: the \
'Up' links lead to the backup server that made it (BackupServerReference), the job-level restore \
point (RestorePointReference) and the backup file that holds it (BackupFileReference). Links with \
rel 'Restore' or 'Create' are actions and cannot be followed (this server is read-only)."""

FOLLOW_LINK = """\
Fetch a resource by following a link href taken from an earlier result of this server (a 'links' \
entry, an 'href' or a reference). Returns the resource as its model: VmRestorePoint, RestorePoint \
(job-level point), BackupFile (file path, size, vbk/vib/vrb), BackupServer, Backup, Job, \
EntityReferences (lists of refs), VmRestorePointMounts, or GenericResource (all fields kept). \
Single resources are returned in their full entity form. Only read-only links on the configured \
Enterprise Manager are followed: action links (?action=…, rel Restore/Create/Start…), other hosts \
and ports, and paths outside /api/ are refused without any request."""


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name="get_vm_restore_point",
        title="Get a VM restore point",
        description=GET_VM_RESTORE_POINT,
        annotations=ToolAnnotations(title="Get a VM restore point", **READ_ONLY),
    )
    @em_errors
    async def get_vm_restore_point(
        restore_point_id: Annotated[
            str,
            Field(
                description="GUID, UID (urn:veeam:VmRestorePoint:<GUID>) or href of the VM restore point",
                max_length=2048,
            ),
        ],
        ctx: Context,
    ) -> Annotated[CallToolResult, VmRestorePoint]:
        state = state_of(ctx)
        return bounded_result(
            await read_vm_restore_point(state, restore_point_id),
            state.settings,
            "One restore point cannot be split: raise VEEAM_MCP_MAX_RESULT_CHARS.",
        )

    @server.tool(
        name="follow_link",
        title="Follow a link",
        description=FOLLOW_LINK,
        annotations=ToolAnnotations(title="Follow a link", **READ_ONLY),
    )
    @em_errors
    async def follow_link(
        href: Annotated[
            str,
            Field(description="A link href from an earlier result of this server", max_length=2048),
        ],
        ctx: Context,
    ) -> Annotated[CallToolResult, FollowLinkResult]:
        state = state_of(ctx)
        target = state.policy.vet(href)
        try:
            doc = await state.client.get(target.url)
        except NotFound as exc:
            raise NotFound(
                404,
                f"Enterprise Manager has no resource at {href} (404). The link may be stale: the object "
                "was deleted or retention removed it.",
                exc.em_message,
            ) from None
        resource = to_resource(doc, target.kind)
        result = FollowLinkResult(href=target.url, resource_kind=target.kind, resource=resource)
        return bounded_result(
            fit_result(result, state.settings),
            state.settings,
            "A single resource cannot be split: raise VEEAM_MCP_MAX_RESULT_CHARS. For a query link, ask for a "
            "smaller page (pageSize=5) or use find_vm_restore_points, which pages and cuts results itself.",
        )


async def read_vm_restore_point(state: AppState, identifier: str) -> VmRestorePoint:
    """One VM restore point in entity form, from its GUID, UID or href (the tool and the resource)."""
    guid = restore_point_guid(identifier, state.settings.base_url)
    try:
        doc = await state.client.get(f"{state.settings.base_url}/vmRestorePoints/{guid}?format=Entity")
    except NotFound as exc:
        raise NotFound(
            404,
            f"No VM restore point with id {guid} exists on Enterprise Manager. Check the id, or search "
            "by VM name with find_vm_restore_points.",
            exc.em_message,
        ) from None
    resource = to_resource(doc, "VmRestorePoint")
    if not isinstance(resource, VmRestorePoint):
        raise MalformedResponse(f"Enterprise Manager answered {guid} with a {resource.kind}, not a VM restore point.")
    return resource


def fit_result(result: FollowLinkResult, settings: Settings) -> FollowLinkResult:
    """Cut a list so the result text (banner included) stays under the limit, and say so; never silently."""
    resource = result.resource
    if not isinstance(resource, EntityReferences | ResourceList):
        return result
    items: list[Any] = list(resource.refs if isinstance(resource, EntityReferences) else resource.items)
    total = len(items)
    full = result.model_copy(update={"total_items": total, "returned_items": total})
    return longest_fitting(
        total, lambda count: full if count == total else _with_items(result, items[:count], total), settings
    )


def _with_items(result: FollowLinkResult, items: list[Any], total: int) -> FollowLinkResult:
    resource = result.resource
    if isinstance(resource, EntityReferences):
        shortened: AnyResource = resource.model_copy(update={"refs": items})
    else:
        shortened = resource.model_copy(update={"items": items})
    return result.model_copy(
        update={
            "resource": shortened,
            "truncated": True,
            "total_items": total,
            "returned_items": len(items),
            "note": (
                f"Only the first {len(items)} of {total} items fit the result size limit "
                "(VEEAM_MCP_MAX_RESULT_CHARS). For restore points, narrow the question with "
                "find_vm_restore_points (filters and paging) instead of listing whole collections."
            ),
        }
    )
