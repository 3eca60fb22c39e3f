"""Repositories: how full each is, and in total, without ever reporting EM's ``-1`` as a size.

One query (``type=Repository``, entities) gives capacity and free space; the summary report's repository
frame (``/reports/summary/repository``) adds the size of the backups on each, when EM has it. EM reports
``-1`` for what it does not know (object storage): such a repository is said to be of unknown size and
left out of the totals. A scale-out repository (Kind ``Extendable``) is listed, but left out of the
totals too: EM may list its extents as repositories of their own, and adding both would count them twice.
"""

from __future__ import annotations

from ..errors import VeeamEmError
from ..models.estate import ListRepositoriesResult, RepositoryRow, RepositoryTotals
from ..models.resources import Repository
from ..representation.readers import int_of, text_of
from .context import EmContext
from .estate import server_condition
from .query_terms import BY_NAME
from .querying import read_all

NEARLY_FULL_PERCENT = 90.0


async def list_repositories(em: EmContext, *, backup_server: str | None = None) -> ListRepositoriesResult:
    read = await read_all(em, "Repository", filter=server_condition(backup_server), sort=BY_NAME)
    repositories = [item for item in read.items if isinstance(item, Repository)]
    requests = read.requests
    sizes, report_note = await _backup_sizes(em)
    requests += 1
    rows = [_row(repository, sizes) for repository in repositories]
    counted = [row for row in rows if row.size_known and row.storage_kind != "Extendable"]
    left_out = [
        f"{row.name}: {'scale-out (its extents are counted, or would be twice)' if row.size_known else 'size unknown'}"
        for row in rows
        if row not in counted
    ]
    capacity = sum(row.capacity or 0 for row in counted)
    free = sum(row.free_space or 0 for row in counted)
    totals = RepositoryTotals(
        capacity=capacity,
        free_space=free,
        used=capacity - free,
        used_percent=round(100 * (capacity - free) / capacity, 1) if capacity > 0 else None,
        counted=len(counted),
        left_out=left_out,
    )
    note = report_note
    if not rows:
        note = "Enterprise Manager lists no repository" + (" for that backup server." if backup_server else ".")
    return ListRepositoriesResult(repositories=rows, totals=totals, returned=len(rows), em_requests=requests, note=note)


def _row(repository: Repository, sizes: dict[str, int]) -> RepositoryRow:
    capacity, free = repository.capacity, repository.free_space
    known = capacity is not None and free is not None and capacity >= 0 and free >= 0
    used = capacity - free if known and capacity is not None and free is not None else None
    percent = round(100 * used / capacity, 1) if used is not None and capacity else None
    notes = []
    if not known:
        notes.append("capacity unknown (object storage: EM reports -1)")
    elif percent is not None and percent >= NEARLY_FULL_PERCENT:
        notes.append(f"nearly full ({percent:g} % used)")
    if repository.storage_kind == "Extendable":
        notes.append("scale-out: capacity and free space are its extents'")
    return RepositoryRow(
        name=repository.name,
        id=repository.id,
        storage_kind=repository.storage_kind,
        backup_server=repository.backup_server.name if repository.backup_server else None,
        capacity=capacity if known else None,
        free_space=free if known else None,
        used=used,
        used_percent=percent,
        backup_size=sizes.get((repository.name or "").casefold()),
        size_known=known,
        note="; ".join(notes) or None,
    )


async def _backup_sizes(em: EmContext) -> tuple[dict[str, int], str | None]:
    """Backup size per repository name from the repository report frame (EM's only source of it)."""
    try:
        doc = await em.client.get(f"{em.base_url}/reports/summary/repository")
    except VeeamEmError as exc:
        return {}, f"backup_size is absent: EM's repository report could not be read ({type(exc).__name__})."
    periods = doc.data.get("periods", doc.data.get("period"))
    items = periods if isinstance(periods, list) else [periods] if isinstance(periods, dict) else []
    sizes: dict[str, int] = {}
    for item in items:
        if isinstance(item, dict) and (name := text_of(item, "name")) is not None:
            size = int_of(item, "backup_size")
            if size is not None and size >= 0:
                sizes[name.casefold()] = size
    return sizes, None
