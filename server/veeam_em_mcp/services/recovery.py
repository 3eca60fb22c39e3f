"""A VM's recovery summary (``vm_recovery_summary``): newest and oldest point, chain, RPO, copies and replicas,
reading as few EM pages as it can (the first, those back to the chain's full, the last) and reporting progress;
and the backup copy jobs' points (``copy_restore_points``), which the protection report shares.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..errors import ApiError, InvalidArgument, NotFound, ResponseError
from ..models.base import age_hours, parse_timestamp
from ..models.resources import Backup, BackupFile, Job, Ref, RestorePoint, VmRestorePoint
from ..models.results import (
    ChainFile,
    ChainInfo,
    CopyInfo,
    PointBrief,
    VmRecoverySummary,
)
from ..representation.fields import PointFields
from ..representation.ids import guid_from, is_vm_ref
from ..representation.query import em_time, quote_value
from ..representation.registry import ResourceList, to_resource
from . import freshness, replicas
from .chunked_reads import read_any_of
from .context import EmContext
from .fetch import fetch_entity
from .point_query import SUMMARY_PAGE_SIZE, build_query
from .point_search import BY_BACKUP_DATE, PointPage, job_point_guid, read_page
from .query_terms import BY_NAME, any_of
from .querying import read_all

log = logging.getLogger("veeam_em_mcp.services")


# --- the summary --------------------------------------------------------------------------------------

ProgressReporter = Callable[[float, float | None, str | None], Awaitable[Any]]


def _brief(point: VmRestorePoint, now: datetime) -> PointBrief:
    return PointBrief(
        id=point.id,
        name=point.name,
        creation_time=point.creation_time,
        age_hours=age_hours(point.creation_time, now) if point.creation_time else None,
        algorithm=point.algorithm,
        point_type=point.point_type,
    )


async def recovery_summary(
    em: EmContext, vm_name: str, rpo_hours: float, now: datetime, report_progress: ProgressReporter
) -> VmRecoverySummary:
    """Newest, oldest, count, chain and RPO of one VM, reading as few EM pages as possible."""
    query = build_query(vm_name=vm_name, newest_first=True, page_size=SUMMARY_PAGE_SIZE)
    pages: dict[int, PointPage] = {}
    reported = 0.0

    async def progress(done: float, total: float, message: str) -> None:
        nonlocal reported
        if done > reported:  # MCP progress must increase with every notification
            reported = done
            await report_progress(done, max(total, done), message)

    async def read(page: int) -> PointPage:
        nonlocal query
        pages[page] = got = await read_page(em, query, page)
        if page == 1 and got.points and got.points[0].creation_time:
            query = replace(query, until=got.points[0].creation_time)  # a stable snapshot for later pages
        await progress(len(pages), got.pages_count, f"read page {page} of {got.pages_count} for {vm_name!r}")
        return got

    first = await read(1)
    if not first.points:
        # A VM only replicated has no restore point, but has replicas (asked by name: no point gives its reference).
        replica, replica_requests = (
            (None, 0) if is_vm_ref(vm_name) else await replicas.replica_summary(em, vm_name, None, now)
        )
        return VmRecoverySummary(
            vm_name=vm_name,
            as_of=em_time(now),
            restore_point_count=0,
            rpo_hours=rpo_hours,
            rpo_met=False,
            pages_read=len(pages),
            note=(
                f"Enterprise Manager has no restore point for a VM named {vm_name!r}, so no recovery is possible "
                "from EM's backups. Check the exact name (find_vm_restore_points without vm_name lists points of "
                "all VMs), or the VM may not be in any backup job."
            ),
            replicas=replica,
            em_requests=len(pages) + replica_requests,
        )
    refs = sorted({point.hierarchy_obj_ref for point in first.points if point.hierarchy_obj_ref})
    if len(refs) > 1:
        servers = {p.hierarchy_obj_ref: p.backup_server.name if p.backup_server else "?" for p in first.points}
        choices = "; ".join(f"{ref} (on {servers.get(ref)})" for ref in refs)
        raise InvalidArgument(
            f"{len(refs)} VMs are named {vm_name!r} (in different vCenters, hosts or tenants), and a summary is of one "
            f"VM: call again with vm_name set to the id of the one you mean: {choices}."
        )
    copies, copy_points, copy_requests = await copies_of(em, first.points, now)
    primary = [
        point for point in first.points if point.restore_point is None or job_point_guid(point) not in copy_points
    ]
    newest = primary[0] if primary else first.points[0]
    notes: list[str] = []
    if copies is not None and copies.count:
        notes.append(
            f"{copies.count} of the {len(first.points)} newest points are copies made by backup copy jobs: newest, "
            "the chain and the RPO are the primary backups'; copies says where the copies are and how new."
        )

    # The chain: walk back (newest first) to the nearest Full; increments depend on it (copies have their own).
    chain_note: str
    base: VmRestorePoint | None = None
    walked = 0
    chain_points: list[VmRestorePoint] = []  # newest first, down to the full
    page = first
    while base is None:
        for point in page.points:
            if point.restore_point is not None and job_point_guid(point) in copy_points:
                continue
            walked += 1
            chain_points.append(point)
            if point.point_type == "Full":
                base = point
                break
        if base is not None or not page.has_next:
            break
        page = pages.get(page.page_num + 1) or await read(page.page_num + 1)
    if base is None:
        chain_note = (
            "No Full restore point was found for this VM in EM: the newest point's chain has no full, so a "
            "restore from it may fail. Check the backup chain on the backup server."
        )
    elif base is newest:
        chain_note = "The newest restore point is itself a full backup; it depends on no other point."
    else:
        chain_note = (
            f"The newest restore point is an increment; a restore needs the full of {base.creation_time} "
            f"and the {walked - 1} increments after it up to the newest."
        )
    files, file_requests, missing = await chain_files(em, list(reversed(chain_points)) if base else [])
    sizes = [file.backup_size for file in files]
    complete = bool(files) and not missing and None not in sizes
    if missing:
        chain_note += f" EM did not return {missing} of the chain's backup files; their sizes are not counted."
    chain = ChainInfo(
        base_full=_brief(base, now) if base else None,
        points_after_full=walked - 1 if base else None,
        found=base is not None,
        files=files or None,
        total_backup_size=sum(s for s in sizes if s is not None) if complete else None,
        note=chain_note,
    )

    # Oldest and count: EM's page arithmetic, from the last page of the same (pinned) snapshot.
    last_num = max(pages[max(pages)].pages_count, 1)
    last = pages.get(last_num) or await read(last_num)
    while not last.points and last_num > 1:  # retention may have shrunk the list since page 1
        last_num -= 1
        last = pages.get(last_num) or await read(last_num)
    count = (last.page_num - 1) * last.page_size + len(last.points) if last.points else len(first.points)
    oldest = last.points[-1] if last.points else newest
    await progress(max(len(pages), last.pages_count), last.pages_count, "summary complete")

    age = age_hours(newest.creation_time, now) if newest.creation_time else None
    if age is None:
        notes.append("EM did not report the newest point's creation time, so the RPO cannot be checked.")
    elif age < 0:
        notes.append("The newest point is dated in the future: the clocks of EM and this server disagree.")
    rpo_met = age is not None and age <= rpo_hours
    if age is not None and not rpo_met:
        notes.append(
            f"The newest restore point is {age:g} h old, {age - rpo_hours:.2f} h past the {rpo_hours:g} h RPO: "
            "check the VM's backup job (disabled, failing, or the VM was removed from it)."
        )
    named = newest.vm_name or newest.vm_display_name or vm_name  # vm_name may be the VM's id
    replica, replica_requests = await replicas.replica_summary(em, named, refs[0] if refs else None, now)
    backup, repository, backup_requests = await _backup_of(em, newest, notes)

    # EM's copy of the backup servers' data may be stale: said, as in every estate answer (kept a few minutes).
    collected_at, stale, fresh_requests, versions = await freshness.collected(em, now)
    if stale:
        notes.insert(0, stale)
    server_name = newest.backup_server.name if newest.backup_server else None
    return VmRecoverySummary(
        vm_name=vm_name,
        as_of=em_time(now),
        restore_point_count=count,
        newest=_brief(newest, now),
        oldest=_brief(oldest, now),
        rpo_hours=rpo_hours,
        rpo_met=rpo_met,
        hours_over_rpo=None if age is None else max(0.0, round(age - rpo_hours, 2)),
        chain=chain,
        backup_server=newest.backup_server,
        backup_file=newest.backup_file,
        backup=backup,
        repository=repository,
        backup_server_version=(versions or {}).get(server_name or ""),
        collected=collected_at,
        pages_read=len(pages),
        em_requests=len(pages) + file_requests + copy_requests + backup_requests + fresh_requests + replica_requests,
        copies=copies,
        replicas=replica,
        note=" ".join(notes) or None,
    )


async def _backup_of(em: EmContext, point: VmRestorePoint, notes: list[str]) -> tuple[Ref | None, Ref | None, int]:
    """The backup (named after its job) and repository holding ``point``: its job-level point, then the backup.

    EM's VM restore point names neither; its job-level restore point links the backup, and the backup its
    repository. Two GETs; one EM cannot answer leaves the field out and says so in ``notes``.
    """
    guid = job_point_guid(point)
    if guid is None:
        return None, None, 0
    try:
        rp = await fetch_entity(
            em, "restorePoints", guid, RestorePoint, missing="EM has no such restore point.", what="a restore point"
        )
    except (ApiError, ResponseError) as exc:
        notes.append(f"The newest point's backup could not be read ({exc}); see its restore_point link.")
        return None, None, 1
    backup_guid = guid_from(None, rp.backup.href) if rp.backup is not None else None
    if rp.backup is None or backup_guid is None:
        return None, None, 1
    try:
        backup = await fetch_entity(
            em, "backups", backup_guid, Backup, missing="EM has no such backup.", what="a backup"
        )
    except (ApiError, ResponseError) as exc:
        notes.append(f"The repository of backup {rp.backup.name!r} could not be read ({exc}).")
        return rp.backup, None, 2
    return rp.backup, backup.repository, 2


COPY_TYPES = ("BackupCopy", "ImmediateBackupCopy")  # EM's JobType of backup copy jobs (12+ reports both)


def is_copy_job(job_type: str | None) -> bool:
    """Whether EM's JobType is a backup copy job's (compared ignoring case: EM's filters do)."""
    return (job_type or "").lower() in {kind.lower() for kind in COPY_TYPES}


@dataclass(frozen=True)
class CopySet:
    """The backup copy jobs, their backups, and the job-level restore points those backups hold."""

    jobs: dict[str, Job]
    backups: dict[str, Backup]
    restore_points: dict[str, RestorePoint]
    requests: int

    def is_copy(self, point: VmRestorePoint | PointFields) -> bool:
        return job_point_guid(point) in self.restore_points


async def copy_restore_points(em: EmContext, since: str | None) -> CopySet:
    """Which job-level restore points (created since ``since``) are copies made by backup copy jobs.

    EM marks nothing as a copy: a copied point is an ordinary VM restore point in the copy job's own
    backup. So: the copy jobs (``type=Job``), their backups (``type=Backup`` by ``JobUid``), the job-level
    restore points of those backups (``type=RestorePoint`` by ``BackupUid``); a VM restore point whose
    job-level restore point is one of them is a copy. Three queries, whatever the estate.
    """
    jobs_read = await read_all(em, "Job", filter=any_of("JobType", list(COPY_TYPES)), sort=BY_NAME, page_size=100)
    requests = jobs_read.requests
    copy_jobs = {job.id: job for job in jobs_read.items if isinstance(job, Job) and job.id}
    if not copy_jobs:
        return CopySet({}, {}, {}, requests)
    uids = [f"urn:veeam:Job:{job}" for job in copy_jobs]
    backups_read = await read_any_of(em, "Backup", "JobUid", uids, sort=BY_NAME)
    requests += backups_read.requests
    backups = {b.id: b for b in backups_read.items if isinstance(b, Backup) and b.id}
    if not backups:
        return CopySet(copy_jobs, {}, {}, requests)
    rps_read = await read_any_of(
        em,
        "RestorePoint",
        "BackupUid",
        [f"urn:veeam:Backup:{b}" for b in backups],
        also=f"CreationTime>={quote_value(since)}" if since else None,
        sort=BY_BACKUP_DATE,
    )
    requests += rps_read.requests
    rps = {rp.id: rp for rp in rps_read.items if isinstance(rp, RestorePoint) and rp.id}
    return CopySet(copy_jobs, backups, rps, requests + 0)


async def copies_of(
    em: EmContext, points: Sequence[VmRestorePoint], now: datetime
) -> tuple[CopyInfo | None, set[str], int]:
    """Which of ``points`` are copies made by backup copy jobs (``copy_restore_points``), and their summary."""
    times = [parse_timestamp(p.creation_time) for p in points if p.creation_time]
    found = await copy_restore_points(em, em_time(min(times) - timedelta(days=1)) if times else None)
    copy_jobs, backups, copy_rps, requests = found.jobs, found.backups, found.restore_points, found.requests
    if not copy_jobs:
        none = CopyInfo(count=0, note="EM knows no backup copy job: no restore point of this VM is a copy.")
        return none, set(), requests
    if not backups:
        return CopyInfo(count=0, note="The backup copy jobs have no backup in EM yet."), set(), requests
    copied = [p for p in points if job_point_guid(p) in copy_rps]
    where: set[str] = set()
    for point in copied:
        rp = copy_rps.get(job_point_guid(point) or "")
        guid = guid_from(None, rp.backup.href) if rp is not None and rp.backup is not None else None
        repository = backups[guid].repository if guid in backups else None
        if repository is not None:
            where.add(repository.name or "?")
    names = sorted({job.name or "" for job in copy_jobs.values()} - {""})
    newest = copied[0] if copied else None
    places = ", ".join(sorted(where)) or "a repository EM does not name"
    note = (
        f"Copied by {', '.join(names)} to {places}; the newest copy is {age_hours(newest.creation_time, now):g} h old."
        if newest and newest.creation_time
        else f"None of this VM's newest {len(points)} points is a copy: the backup copy jobs ({', '.join(names)}) "
        "do not copy it, or have not yet."
    )
    return (
        CopyInfo(
            count=len(copied),
            newest=_brief(newest, now) if newest else None,
            jobs=names or None,
            repositories=sorted(where) or None,
            note=note,
        ),
        set(copy_rps),
        requests,
    )


MAX_CHAIN_FILE_READS = 10  # single-file reads when the backup's file list does not hold every chain file


async def chain_files(em: EmContext, chain: list[VmRestorePoint]) -> tuple[list[ChainFile], int, int]:
    """The backup files of ``chain`` (full first), their sizes, the EM requests made, and how many are missing.

    Two reads, whatever the chain's length: the newest point's file (for its backup), then that backup's
    files in entity form, where every file of the chain is (one job's chain lives in one backup).
    """
    wanted: list[str] = []
    for point in chain:
        guid = guid_from(None, point.backup_file.href) if point.backup_file else None
        if guid and guid not in wanted:
            wanted.append(guid)
    if not wanted:
        return [], 0, 0
    requests = 0
    found: dict[str, BackupFile] = {}

    async def read_file(guid: str) -> None:
        nonlocal requests
        requests += 1
        resource = to_resource(await em.client.get(f"{em.base_url}/backupFiles/{guid}?format=Entity"), "BackupFile")
        if isinstance(resource, BackupFile) and resource.id:
            found[resource.id] = resource

    try:
        await read_file(wanted[-1])
        newest = found.get(wanted[-1])
        if len(wanted) > 1 and newest is not None and newest.backup is not None:
            target = em.policy.vet(newest.backup.href.rstrip("/") + "/backupFiles?format=Entity")
            requests += 1
            listed = to_resource(await em.client.get(target.url))
            if isinstance(listed, ResourceList):
                found.update((item.id, item) for item in listed.items if isinstance(item, BackupFile) and item.id)
        for guid in [g for g in wanted if g not in found][:MAX_CHAIN_FILE_READS]:
            await read_file(guid)
    except (NotFound, ResponseError) as exc:
        log.info("chain files of a recovery summary incomplete: %s", type(exc).__name__)
    files = [
        ChainFile(
            name=found[guid].name,
            file_type=found[guid].file_type,
            backup_size=found[guid].backup_size,
            creation_time=found[guid].creation_time,
            href=f"{em.base_url}/backupFiles/{guid}",
        )
        for guid in wanted
        if guid in found
    ]
    return files, requests, len(wanted) - len(files)
