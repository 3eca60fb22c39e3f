"""Following EM's own links: any href from an earlier result, fetched read-only and read into its model.

EM is a hypermedia API: a restore point links Up to its backup server, its job-level restore point and
its backup file. Rather than one operation per resource, ``follow`` fetches any such link (vetted by
the ``LinkPolicy``: same origin, under ``/api/``, never an action) and returns the matching model. Lists
are cut to fit the result size limit, and say so.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..models.base import CompactSchema
from ..models.resources import EntityReferences
from ..representation.registry import AnyResource, ResourceList, to_resource
from .context import EmContext
from .fetch import fetch


class FollowLinkResult(CompactSchema):
    """What ``follow_link`` fetched: the resource as its model, and whether a list was shortened."""

    href: str = Field(description="The URL that was fetched (normalised; entity form for single resources)")
    resource_kind: str = Field(description="What the href's path names: VmRestorePoint, BackupFile, …")
    resource: AnyResource = Field(description="The resource; its 'kind' says which model it is")
    truncated: bool = Field(False, description="True when a list was cut to fit the result size limit")
    total_items: int | None = Field(None, description="Items EM returned, for lists")
    returned_items: int | None = Field(None, description="Items included here, for lists")
    note: str | None = Field(None, description="What was left out and how to get it")


async def follow(em: EmContext, href: str) -> FollowLinkResult:
    """Fetch ``href`` (refused without a request unless the policy allows it) as its model, fitted to size."""
    target = em.policy.vet(href)
    doc = await fetch(
        em,
        target.url,
        missing=f"Enterprise Manager has no resource at {href} (404). The link may be stale: the object was "
        "deleted or retention removed it.",
    )
    result = FollowLinkResult(href=target.url, resource_kind=target.kind, resource=to_resource(doc, target.kind))
    return _fit(em, result)


def _fit(em: EmContext, result: FollowLinkResult) -> FollowLinkResult:
    """Cut a list so the result text (banner included) stays under the limit, and say so; never silently."""
    resource = result.resource
    if not isinstance(resource, EntityReferences | ResourceList):
        return result
    items: list[Any] = list(resource.refs if isinstance(resource, EntityReferences) else resource.items)
    total = len(items)
    full = result.model_copy(update={"total_items": total, "returned_items": total})
    return em.budget.longest_fitting(
        total, lambda count: full if count == total else _with_items(result, items[:count], total)
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
