"""The protection report's reads that stand alone: the window's runs, tasks and points side by side, and the
computers Veeam Agent jobs protect with their newest agent points.

Apart from the report's joining of the sources per VM (``protection``) because each is a read of EM's query
service with its own checks (every window one consistent read, ``querying``) and knows nothing of the RPO.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from ..errors import BadRequest
from ..models.arguments import ProtectionReportArgs
from ..models.resources import AgentRestorePoint, DiscoveredComputer
from ..representation.fields import AgentJobRowFields, JobRunFields, PointFields, TaskFields
from .context import EmContext
from .estate import job_entity_condition, server_id, unknown_name, vm_key
from .gather import together
from .jobs import read_agent_jobs
from .protection_rows import Vm
from .query_terms import BY_NAME, NEWEST_FIRST, conditions
from .querying import QueryWindow as Read
from .querying import read_all, read_fields


async def read_windows(
    em: EmContext,
    server: str | None,
    task_job: str | None,
    in_window: str,
    then: Callable[[Read[JobRunFields], Read[TaskFields]], Awaitable[None]],
) -> tuple[Read[JobRunFields], Read[TaskFields], Read[PointFields]]:
    """The window's runs, tasks and points, read side by side (each one consistent window); ``then`` is given the
    runs and tasks as soon as both are read, while the points may still be."""
    runs_read = anyio.Event()
    runs: list[Read[JobRunFields]] = []

    async def read_runs() -> Read[JobRunFields]:
        read = await read_fields(em, JobRunFields, filter=conditions(server, task_job, in_window), sort=NEWEST_FIRST)
        runs.append(read)
        runs_read.set()
        return read

    async def read_tasks() -> Read[TaskFields]:
        read = await read_fields(em, TaskFields, filter=conditions(server, task_job, in_window), sort=NEWEST_FIRST)
        await runs_read.wait()
        await then(runs[0], read)
        return read

    return await together(
        read_runs,
        read_tasks,
        lambda: read_fields(em, PointFields, filter=conditions(server, in_window), sort=NEWEST_FIRST),
    )


async def no_agent_job(em: EmContext, name: str) -> bool:
    """Whether EM knows no Veeam Agent job of that name (a job_name the VM jobs do not know may be one)."""
    try:
        return await unknown_name(em, "AgentBackupJob", "Name", name, "job") is not None
    except BadRequest:
        em.unsupported.add("AgentBackupJob")
        return True


async def agent_computers(
    em: EmContext, args: ProtectionReportArgs, server: str | None, in_window: str
) -> tuple[dict[str, Vm], dict[str, AgentJobRowFields], str | None, int]:
    """The computers Veeam Agent jobs protect, with their newest agent point of the window.

    EM keeps agents apart: the jobs are ``AgentBackupJob``s whose members are protection groups, the
    computers are the groups' ``DiscoveredComputer``s (listed once per group), and their points are
    ``AgentRestorePoint``s named <computer>@<time>, filtered by computer name and not by backup server.
    Three queries. A computer is told apart by its backup server and name (EM gives agents no VM reference).
    """
    agent_jobs, jobs_issue, requests = await read_agent_jobs(
        em, conditions(server, job_entity_condition(args.job_name, "AgentBackupJob"))
    )
    if agent_jobs is None:
        return {}, {}, "Computers protected by Veeam Agent are not in the report: this EM's query service has none.", 1
    if not agent_jobs:
        return {}, {}, jobs_issue, requests
    computers_read, points_read = await together(
        lambda: read_all(em, "DiscoveredComputer", filter=server, sort=BY_NAME),
        lambda: read_all(em, "AgentRestorePoint", filter=in_window, sort=NEWEST_FIRST),
    )
    requests += computers_read.requests + points_read.requests
    # A job protects the computers of the protection groups it names (EM's agent job names its groups, without
    # their ids; a group's name is unique on its backup server), on its own backup server (by the server's id).
    group_jobs: dict[tuple[str | None, str], set[str]] = {}
    platforms = {job.id: job.platform for job in agent_jobs}
    for job in agent_jobs:
        for member in job.includes or []:
            if member.name:
                group_jobs.setdefault((server_id(job.backup_server), member.name.casefold()), set()).add(job.id or "")
    found: dict[str, Vm] = {}
    for computer in computers_read.items:
        if not isinstance(computer, DiscoveredComputer) or not computer.name:
            continue
        where = computer.backup_server.name if computer.backup_server else None
        group = computer.agent_protection_group.name if computer.agent_protection_group else None
        job_ids = group_jobs.get((server_id(computer.backup_server), (group or "").casefold()))
        if not job_ids:
            continue  # found by a protection group no agent job backs up
        key = vm_key(None, where, computer.name)
        # EM's reference of the computer is its id in the rows (EM lists a computer once per group it is in).
        ref = computer.hierarchy_obj_ref or (f"urn:veeam:DiscoveredComputer:{computer.id}" if computer.id else None)
        entry = found.setdefault(key, Vm(name=computer.name, ref=ref, server=where))
        entry.jobs |= job_ids
        # The job says Windows or Linux (AgentForWindows, AgentForLinux); the computer's reference need not.
        entry.agent = next((platforms[j] for j in sorted(job_ids) if platforms.get(j)), None) or "Agent"
    for point in points_read.items:  # newest first
        if not isinstance(point, AgentRestorePoint) or not point.computer:
            continue
        key = vm_key(None, point.backup_server.name if point.backup_server else None, point.computer)
        if key in found and found[key].point is None:
            found[key].point = point
    notes = [jobs_issue, computers_read.issue, points_read.issue]
    by_id = {job.id or "": job for job in agent_jobs}
    return found, by_id, " ".join(n for n in notes if n) or None, requests
