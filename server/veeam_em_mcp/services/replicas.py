"""Replica points: each replicated VM's newest replica point of a window, by the VM's reference.

EM's replica point names a VM but gives no reference to it (no HierarchyObjRef, unlike a VM restore
point), and its VM name is the replica VM's (``<source>_replica``, VBR's default suffix) on most EMs, the
source VM's on some. So a point is tied to a VM through its replication job: the point's replica is named
after the job (on the same backup server), and the job's members carry the VMs' references. Within one
job, a member is found by its name, with or without the suffix. One query of the window
(``type=VmReplicaPoint``), only when there are replication jobs; for one VM (``replica_summary``), its
points by name, then the replication jobs they belong to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import BadRequest
from ..models.base import age_hours
from ..models.estate import TaskRun
from ..models.resources import Job, VmReplicaPoint
from ..models.results import PointBrief, ReplicaInfo
from ..representation.fields import JobFields, ReplicaPointFields
from ..representation.query import parse_query_page, query_url
from .chunked_reads import read_any_of
from .context import EmContext
from .estate import server_id, vm_key
from .query_terms import BY_NAME, NEWEST_FIRST, any_of, conditions
from .querying import read_fields

AnyJob = Job | JobFields  # a job as the registry's model, or as the fields a window read took (protection report)
REPLICA_SUFFIX = "_replica"  # VBR's default suffix of a replica VM's name
SUMMARY_POINTS = 100  # one VM's newest replica points read for its summary


def is_replica_job(job: AnyJob) -> bool:
    return (job.job_type or "").lower() == "replica"


@dataclass
class Replicated:
    """A replicated VM (by its key, as ``estate.vm_key`` makes it) and its newest replica point of the window."""

    name: str
    ref: str | None  # the VM's reference (HierarchyObjRef), as its replication job lists it
    job: str  # the replication job's name
    newest: ReplicaPointFields | None = None  # only the fields a window read took (representation.fields)
    points: int = 0


@dataclass
class ReplicaSet:
    vms: dict[str, Replicated] = field(default_factory=dict)
    requests: int = 0
    note: str | None = None


async def replicas_of(em: EmContext, jobs: Iterable[AnyJob], in_window: str, server: str | None) -> ReplicaSet:
    """The VMs the replication jobs among ``jobs`` replicate, each with its newest replica point in the window."""
    replication = [job for job in jobs if is_replica_job(job)]
    if not replication:
        return ReplicaSet()
    by_replica, members = owners(replication)
    found = ReplicaSet()
    for job in replication:
        server_name = job.backup_server.name if job.backup_server else None
        for named in members[job.id or ""].values():
            for ref, name in named:
                found.vms.setdefault(vm_key(ref, server_name, name), Replicated(name, ref, job.name or ""))
    if "VmReplicaPoint" in em.unsupported:
        found.note = "Replica points are not read: this EM's query service has none."
        return found
    try:
        read = await read_fields(em, ReplicaPointFields, filter=conditions(server, in_window), sort=NEWEST_FIRST)
    except BadRequest:
        em.unsupported.add("VmReplicaPoint")
        found.requests, found.note = 1, "Replica points are not read: EM refused the query for them."
        return found
    found.requests = read.requests
    unmatched = 0
    for point in read.items:  # newest first
        replica = (point.replica.name or "") if point.replica else ""
        owner = by_replica.get((server_id(point.backup_server), replica.casefold()))
        if owner is None:
            continue  # a replica of a job outside the filters (or of a job EM no longer lists)
        server_name = owner.backup_server.name if owner.backup_server else None
        match = _member(members.get(owner.id or "", {}), point)
        if match is None:
            unmatched += 1
            continue
        key = vm_key(match[0], server_name, match[1])
        entry = found.vms.setdefault(key, Replicated(match[1], match[0], owner.name or ""))
        entry.points += 1
        if entry.newest is None:
            entry.newest = point
    notes = [read.issue]
    if unmatched:
        notes.append(
            f"{unmatched} replica points name no VM that their replication job lists by name (VMs added through a "
            "folder, tag or host, or a replica suffix other than _replica): they are not attributed to a VM."
        )
    if not read.complete and not read.issue:
        notes.append(f"Only the newest {len(read.items)} replica points of the window were read (EM's page cap).")
    found.note = " ".join(n for n in notes if n) or None
    return found


async def replica_summary(
    em: EmContext, vm_name: str, vm_ref: str | None, now: datetime
) -> tuple[ReplicaInfo | None, int]:
    """One VM's replica points (``vm_recovery_summary``) and the EM requests spent: its newest points by name
    (EM's replica point has no VM reference), kept where their replication job lists this VM by its reference.
    Two requests; one when EM has no replica point of that name. None when EM has no replica points at all."""
    if "VmReplicaPoint" in em.unsupported:
        return None, 0
    names = [f"{vm_name}{REPLICA_SUFFIX}", vm_name]
    url = query_url(em.base_url, "VmReplicaPoint", filter=any_of("VmDisplayName", names),
                    sort=("desc", "CreationTime"), page_size=SUMMARY_POINTS)
    try:
        page = parse_query_page(await em.client.get(url), "VmReplicaPoint")
    except BadRequest:
        em.unsupported.add("VmReplicaPoint")
        return None, 1
    points = [p for p in page.items if isinstance(p, VmReplicaPoint)]
    if not points:
        return ReplicaInfo(
            count=0, note=f"EM has no replica point named after this VM ({' or '.join(names)}): no replication job "
            "replicates it, or its replica is named otherwise."
        ), 1
    replica_names = sorted({p.replica.name for p in points if p.replica and p.replica.name})
    jobs_read = await read_any_of(em, "Job", "Name", replica_names, also='JobType=="Replica"', sort=BY_NAME)
    by_replica, members = owners([job for job in jobs_read.items if isinstance(job, Job)])
    kept: list[VmReplicaPoint] = []
    jobs: set[str] = set()
    for point in points:  # newest first
        owner = by_replica.get((server_id(point.backup_server), ((point.replica.name or "") if point.replica else "")
                                .casefold()))
        match = _member(members.get(owner.id or "", {}), point) if owner else None
        if owner is None or match is None or (vm_ref and (match[0] or "").lower() != vm_ref.lower()):
            continue  # another VM of that name, or a replica of a job EM does not list
        kept.append(point)
        jobs.add(owner.name or "")
    other = len(points) - len(kept)
    newest = kept[0] if kept else None
    age = age_hours(newest.creation_time, now) if newest and newest.creation_time else None
    said = [
        f"Replicated by {', '.join(sorted(jobs))}; the newest replica point is {age:g} h old." if age is not None
        else "None of EM's replica points named after this VM belongs to a replication job that lists this VM."
    ]
    if other and kept:
        said.append(f"{other} replica points of the same name belong to another VM or job and are not counted.")
    if page.paging.has_next:
        said.append(f"Only the newest {SUMMARY_POINTS} replica points of that name were read.")
    if not vm_ref and kept:
        said.append("The VM has no reference in EM here, so its replicas were matched by name only.")
    brief = PointBrief(
        id=newest.id, name=newest.name, creation_time=newest.creation_time, age_hours=age,
        algorithm=newest.algorithm, point_type=newest.point_type,
    ) if newest else None
    return ReplicaInfo(count=len(kept), newest=brief, jobs=sorted(jobs) or None, note=" ".join(said)), 1 + (
        jobs_read.requests)


Owners = dict[tuple[str | None, str], AnyJob]
Members = dict[str, dict[str, list[tuple[str | None, str]]]]


def owners(replication: Iterable[AnyJob]) -> tuple[Owners, Members]:
    """Each replication job by its replica's identity (same name, same backup server), and each job's VM
    members by name (reference, name as listed)."""
    by_replica: Owners = {}
    members: Members = {}
    for job in replication:
        by_replica[(server_id(job.backup_server), (job.name or "").casefold())] = job
        named = members.setdefault(job.id or "", {})
        for member in job.includes or []:
            if member.object_type == "Vm" and member.name:
                named.setdefault(member.name.casefold(), []).append((member.hierarchy_obj_ref, member.name))
    return by_replica, members


async def replicated_vm_ids(em: EmContext, rows: Sequence[TaskRun], run_jobs: dict[str, str]) -> tuple[
    list[TaskRun], int
]:
    """Replication task rows with the VM's id: EM's replica task names the VM but gives no reference, and its
    replication job lists the VM by reference. ``run_jobs``: replication session id -> its job's id. One query of
    those jobs (by UID), only when a row needs it; a name the job lists twice, or not at all, stays without id."""
    sessions = (row.job_session for row in rows if row.replication and not row.vm_id)
    members, requests = await replica_job_members(em, run_jobs, sessions)
    return with_replicated_vm_ids(rows, run_jobs, members), requests


async def replica_job_members(
    em: EmContext, run_jobs: dict[str, str], sessions: Iterable[str | None]
) -> tuple[Members, int]:
    """The VM members of the replication jobs that ran these sessions (``run_jobs``: session id -> job id), by
    job: one query of those jobs (by UID), none when no session needs it."""
    wanted = sorted({run_jobs[session] for session in sessions if session and session in run_jobs})
    if not wanted:
        return {}, 0
    read = await read_any_of(em, "Job", "UID", [f"urn:veeam:Job:{job}" for job in wanted], sort=BY_NAME)
    _, members = owners(job for job in read.items if isinstance(job, Job))
    return members, read.requests


def with_replicated_vm_ids(rows: Sequence[TaskRun], run_jobs: dict[str, str], members: Members) -> list[TaskRun]:
    """Each replication row without a VM id given the one its job lists under the VM's name, if exactly one."""
    named: list[TaskRun] = []
    for row in rows:
        if not row.replication or row.vm_id:  # a backup task, or a replication task EM gave the VM's reference
            named.append(row)
            continue
        found = members.get(run_jobs.get(row.job_session or "") or "", {}).get((row.vm_name or "").casefold(), [])
        named.append(row.model_copy(update={"vm_id": found[0][0]}) if len(found) == 1 and found[0][0] else row)
    return named


def _member(
    named: dict[str, list[tuple[str | None, str]]], point: VmReplicaPoint | ReplicaPointFields
) -> tuple[str | None, str] | None:
    """The one member of the point's job its VM name stands for (with or without the replica suffix)."""
    for name in (point.vm_display_name, point.vm_name):
        if not name:
            continue
        folded = name.casefold()
        for candidate in (folded, folded.removesuffix(REPLICA_SUFFIX)):
            matches = named.get(candidate)
            if matches and len(matches) == 1:
                return matches[0]
    return None
