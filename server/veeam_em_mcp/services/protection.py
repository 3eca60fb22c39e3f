"""The protection report: every VM EM knows to be protected, against an RPO, without one request per VM.

Who is protected comes from three sources, because no single one is complete: the jobs' members (a VM
added by name, even one never backed up yet), the task sessions of the window (VMs protected through a
folder, tag or host, which no member list names), and the restore points of the window. Each source is
one query of the window, read as one consistent window (``querying.read_all``):

1. ``type=Job``: the jobs, whether they run, their members;
2. ``type=BackupJobSession`` of the window: which job each task's run belongs to (by id);
3. ``type=BackupTaskSession``, created in the window: each VM's newest task (outcome, reason);
4. ``type=VmRestorePoint``, created in the window: each VM's newest point;
5. the backup copy jobs' restore points (``restore_points.copy_restore_points``): which points are copies;
6. Veeam Agent: the agent jobs, their protection groups' computers and the agent points of the window
   (``protection_reads.agent_computers``): a computer is a row too, told apart from VMs by ``agent``;
7. replication: the replica points of the window, tied to the VMs of their replication jobs
   (``replicas.replicas_of``): a replica is not a backup, so it is shown beside the RPO, not counted in it.

A VM is its reference (HierarchyObjRef, a task's VmUid): two VMs named sql01 in two vCenters are two
rows, and a job is its UID. The window is twice the RPO (at least 48 hours), so a VM meeting its RPO
always has its newest point in it. Only the VMs without a point in the window are looked up one by one
(their newest point may be older, or they have none: never backed up), at most ``MAX_OLDER_LOOKUPS`` of
them; the report says when more were left unlooked. The answer is kept as one snapshot for its cursor
pages (``answers``), and identical reports asked at once share one computation.

Here the sources are joined per VM; the reads that stand alone are ``protection_reads``, and a row made of what
is known of a VM, with the summary's words, is ``protection_rows``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import anyio
import anyio.lowlevel

from ..models.arguments import ProtectionReportArgs
from ..models.base import platform_from_hierarchy_ref
from ..models.estate import ProtectionReport, ProtectionSummary, Window
from ..models.resources import AgentRestorePoint, VmRestorePoint
from ..representation.collector import gc_held
from ..representation.fields import AgentJobRowFields, JobFields, JobRunFields, PointFields, TaskFields
from ..representation.query import em_time, parse_query_page, query_url, quote_value
from .answers import Whole, paged
from .context import EmContext
from .estate import (
    guid_of,
    job_condition,
    job_entity_condition,
    job_id_in,
    same_names,
    server_condition,
    uid_guid,
    unknown_name,
    vm_key,
)
from .filters import check_text
from .gather import gather, together
from .protection_reads import agent_computers, no_agent_job, read_windows
from .protection_rows import PROBLEM_ORDER, Row, Vm, is_problem, replication_note, row_of, summary_line
from .query_terms import BY_NAME, conditions
from .querying import QueryWindow as Read
from .querying import read_fields
from .replicas import AnyJob, ReplicaSet, Replicated, is_replica_job, replicas_of
from .restore_points import CopySet, copy_restore_points, is_copy_job
from .runs import WORKER, computer_of, is_agent_computer
from .task_rows import AGENT_NO_REASON

_MEMBERS_AT_A_TIME = 2_000  # jobs' members joined between two checks for the windows' pages (~4 ms)
MAX_OLDER_LOOKUPS = 25  # VMs without a point in the window whose older points are looked up one by one
JOB_PAGE_SIZE = 100


async def protection_report(
    em: EmContext, now: datetime, arguments: ProtectionReportArgs, cursor: str | None = None
) -> ProtectionReport:
    check_text("job_name", arguments.job_name)

    async def compute(args: ProtectionReportArgs) -> Whole[ProtectionReport]:
        return await _compute(em, now, args)

    return await paged(em, "protection_report", arguments, cursor, ProtectionReport, compute, share=False)


async def _compute(em: EmContext, now: datetime, args: ProtectionReportArgs) -> Whole[ProtectionReport]:
    # The whole report, not only its reads: the rows are built from ~20,000 items still held (see gc_held).
    with gc_held():
        return await _report(em, now, args)


async def _report(em: EmContext, now: datetime, args: ProtectionReportArgs) -> Whole[ProtectionReport]:
    lookback = timedelta(hours=min(max(2 * args.rpo_hours, 48.0), 24 * 31))
    since = em_time(now - lookback)
    window = Window(created_after=since, created_before=None)
    server = server_condition(args.backup_server)
    in_window = f"CreationTime>={quote_value(since)}"
    job_guid = job_id_in(args.job_name)
    task_job = job_condition(args.job_name)

    join = _Join(args.job_name)
    members_joined = anyio.Event()

    async def jobs_and_replicas() -> tuple[dict[str, AnyJob], Read[JobFields], ReplicaSet]:
        """The jobs, their members joined (while the windows are still read), then what their replication jobs
        replicate (each VM's newest replica point)."""
        jobs_read = await read_fields(
            em, JobFields, filter=conditions(server, job_entity_condition(args.job_name)), sort=BY_NAME,
            page_size=min(JOB_PAGE_SIZE, em.settings.page_size),
        )
        jobs: dict[str, AnyJob] = {job.id: job for job in jobs_read.items if job.id}
        await join.members(jobs)
        members_joined.set()
        return jobs, jobs_read, await replicas_of(em, jobs.values(), in_window, server)

    async def agents() -> tuple[dict[str, Vm], dict[str, AgentJobRowFields], str | None, int]:
        """Computers protected by Veeam Agent jobs (EM keeps them apart from VMs), unless a platform is asked for."""
        return await agent_computers(em, args, server, in_window) if args.platform is None else ({}, {}, None, 0)

    async def join_tasks(sessions_read: Read[JobRunFields], tasks_read: Read[TaskFields]) -> None:
        """The window's tasks joined once read (after the members: the first source to name a VM names it)."""
        await members_joined.wait()
        join.tasks(sessions_read.items, tasks_read.items)

    # Every read of the report side by side: none needs another's answer but the replicas, which need the jobs.
    # The window's runs, tasks and points take only the fields the report uses (~20,000 items at 5,000 VMs);
    # the copies say which points are copies made by backup copy jobs.
    (jobs, jobs_read, replicated), (sessions_read, tasks_read, points_read), copies, agent_read = await together(
        jobs_and_replicas,
        lambda: read_windows(em, server, task_job, in_window, join_tasks),
        lambda: copy_restore_points(em, since),
        agents,
    )
    if args.job_name and not jobs and not job_guid:
        if missing := await unknown_name(em, "Job", "Name", args.job_name, "job"):
            agent_job = "AgentBackupJob" not in em.unsupported and not await no_agent_job(em, args.job_name)
            if not agent_job:
                raise missing
    reads: list[Read[Any]] = [jobs_read, sessions_read, tasks_read, points_read]
    requests = sum(read.requests for read in reads) + copies.requests + replicated.requests
    join.points(points_read.items, copies)
    vms = join.vms
    # Each VM now holds its newest task, point and copy; the windows' other items (a VM has several of each in
    # the window) are let go before the rows and the answer are built. The notes need only how many were read.
    read_count = {"task sessions": len(tasks_read.items), "restore points": len(points_read.items)}
    tasks_read.items.clear()
    points_read.items.clear()
    if args.platform is not None:
        vms = {key: entry for key, entry in vms.items() if platform_from_hierarchy_ref(entry.ref) == args.platform}
    computers, agent_jobs, agent_note, spent = agent_read
    if args.platform is None:  # computers protected by Veeam Agent jobs (EM keeps them apart from VMs)
        jobs.update(agent_jobs)
        requests += spent
        # A computer's outcome: its newest per-computer session (EM's AgentManagement), among the runs read.
        for session in sessions_read.items:  # newest first
            if is_agent_computer(session) and (name := computer_of(session)):
                found = computers.get(vm_key(None, session.backup_server.name if session.backup_server else None, name))
                if found is not None and found.computer_session is None:
                    found.computer_session = session
        for key, entry in computers.items():
            vms.setdefault(key, entry)
    only_replicated: list[Replicated] = []
    for key, replica in replicated.vms.items():
        if key in vms:
            vms[key].replica = replica
        elif args.platform is None or platform_from_hierarchy_ref(replica.ref) == args.platform:
            only_replicated.append(replica)
    # VMs without a point in the window: their newest point, if any, is older. Looked up one by one, bounded.
    without = sorted((key for key, entry in vms.items() if entry.point is None), key=lambda k: vms[k].name.casefold())
    looked_up = without[:MAX_OLDER_LOOKUPS]

    async def lookup(key: str) -> None:
        entry = vms[key]
        if entry.agent:  # EM's agent points filter by computer, not by backup server
            url = query_url(em.base_url, "AgentRestorePoint", filter=f"ComputerName=={quote_value(entry.name)}",
                            sort=("desc", "CreationTime"), page_size=20)
            page = parse_query_page(await em.client.get(url), "AgentRestorePoint")
            found: list[VmRestorePoint | AgentRestorePoint] = [
                item for item in page.items if isinstance(item, AgentRestorePoint)
                and (item.backup_server.name if item.backup_server else None) == entry.server
            ]
        else:
            condition = (
                f"HierarchyObjRef=={quote_value(entry.ref)}" if entry.ref
                else f"VmDisplayName=={quote_value(entry.name)}"
            )
            url = query_url(em.base_url, "VmRestorePoint", filter=conditions(server, condition),
                            sort=("desc", "CreationTime"), page_size=1)
            page = parse_query_page(await em.client.get(url), "VmRestorePoint")
            found = [item for item in page.items if isinstance(item, VmRestorePoint)]
        entry.point = found[0] if found else None
        entry.looked_up = True

    def looking_up(key: str) -> Callable[[], Awaitable[None]]:
        return lambda: lookup(key)

    await gather([looking_up(key) for key in looked_up], limit=em.settings.max_concurrency)
    requests += len(looked_up)
    rows = [row_of(entry, jobs, args.rpo_hours, now) for entry in vms.values()]
    rows.sort(key=lambda row: (PROBLEM_ORDER[row["status"]], row["last_outcome"] != "failed",
                               row["vm_name"].casefold(), row["backup_server"] or "", row["vm_id"] or ""))
    summary = _summary(rows)
    kept = [row for row in rows if not args.only_problems or is_problem(row)]
    notes: list[str | None] = [read.issue for read in reads]
    notes.append(agent_note)
    notes.append(replicated.note)
    if replicated.vms:
        notes.append(replication_note(only_replicated, now))
    if len(without) > len(looked_up):
        notes.append(
            f"{len(without) - len(looked_up)} VMs have no restore point in the window and were not looked up "
            f"further (at most {MAX_OLDER_LOOKUPS} are, one request each): they miss the RPO, but whether they were "
            "ever backed up is not known here; vm_recovery_summary tells for one VM."
        )
    read_count["job runs"] = len(sessions_read.items)
    for name, read in (("task sessions", tasks_read), ("restore points", points_read), ("job runs", sessions_read)):
        if not read.complete and not read.issue:
            notes.append(f"Only the newest {read_count[name]} {name} of the window were read (EM's page cap).")
    notes.append(
        same_names(((row["vm_name"], row["vm_id"] or row["vm_name"], row["backup_server"]) for row in rows), "VM")
    )
    if any(row["agent"] and row["last_outcome"] in ("failed", "warning") and not row["last_reason"] for row in rows):
        notes.append(AGENT_NO_REASON)
    cut = sum(1 for row in kept if row["last_reason_chars"])
    if cut:
        notes.append(f"{cut} reasons were cut to fit (last_reason_chars says how long EM's text is).")
    if args.only_problems and not kept and rows:
        notes.append(f"None of the {len(rows)} VMs has a problem: every one meets the RPO in an enabled job.")
    if not rows:
        notes.append("No protected VM matches these filters.")
    report = ProtectionReport(
        rows=[],
        summary=summary,
        summary_line=summary_line(summary, args.rpo_hours),
        rpo_hours=args.rpo_hours,
        as_of=em_time(now),
        window=window,
        only_problems=args.only_problems,
        returned=len(kept),
        total=len(kept),
        em_requests=requests,
        note=" ".join(note for note in notes if note) or None,
    )
    # The windows' records and the join are freed as this returns, not later (release_later): at 50,000 VMs they
    # would be held beside the 27 MB kept answer, +21 MiB of peak RSS (380 MiB, of the 400 allowed).
    return Whole(report, kept)  # ~20,000 rows: each validated when a page hands it out


class _Join:
    """Each VM (by ``vm_key``) with its jobs, its newest task and its newest point and copy of the window, joined
    source by source in the order that decides a VM's shown name (the first source to name it): the jobs'
    members (as soon as the jobs are read, while the windows still are), then the window's tasks (as soon as they
    and the runs are read, while the points may still be), then its points.

    Tens of thousands of tasks and points, most of them sharing a run or a job-level point: what a run's or a
    point's link says is worked out once per link.
    """

    def __init__(self, job_name: str | None) -> None:
        self.vms: dict[str, Vm] = {}
        self.job_name = job_name

    async def members(self, jobs: dict[str, AnyJob]) -> None:
        """The VMs the jobs name as members (a VM added by name, even one never backed up yet)."""
        vms = self.vms
        found = vms.get
        since_yield = 0
        for job in jobs.values():
            if is_copy_job(job.job_type) or is_replica_job(job):
                continue  # a copy or a replica is not the VM's backup: its members are rows through their backup jobs
            server_name = job.backup_server.name if job.backup_server else None
            includes = job.includes or []
            for member in includes:
                if member.object_type == "Vm" and member.name:
                    key = vm_key(member.hierarchy_obj_ref, server_name, member.name)
                    entry = found(key) or vms.setdefault(key, Vm(member.name, member.hierarchy_obj_ref, server_name))
                    entry.jobs.add(job.id or "")
            since_yield += len(includes)
            if since_yield >= _MEMBERS_AT_A_TIME:  # the windows' pages meanwhile read, their next requests sent
                since_yield = 0
                await anyio.lowlevel.checkpoint()

    def tasks(self, sessions: list[JobRunFields], tasks: list[TaskFields]) -> None:
        """Each VM's newest task of the window, and the jobs its runs belong to (by the run's id)."""
        # Which job each run belongs to, by id; runs that copy backups are not a VM's backup.
        run_job: dict[str, str | None] = {}
        copy_runs: set[str] = set()
        for session in sessions:
            if session.id:
                run_job[session.id] = uid_guid(session.job_uid) or guid_of(session.job)
                # Runs that copy backups (their tasks say "copied", not "backed up"): not a VM's backup outcome.
                if is_copy_job(session.job_type) or (session.job_type or "").lower() == WORKER:
                    copy_runs.add(session.id)
        vms, job_name = self.vms, self.job_name
        found = vms.get
        runs: dict[str, str | None] = {}  # a run's href → its id
        for task in tasks:  # newest first
            if not task.vm_name:
                continue
            link = task.job_session
            if link is None:
                run = None
            elif (run := runs.get(link.href, "")) == "":
                run = runs[link.href] = guid_of(link)
            if run in copy_runs:
                continue
            job_id = run_job.get(run or "")
            if job_id is None and run is not None and run not in run_job and job_name:
                continue  # a run outside the job filter (its session was not read)
            server_name = task.backup_server.name if task.backup_server else None
            key = vm_key(task.vm_uid, server_name, task.vm_name)
            entry = found(key) or vms.setdefault(key, Vm(task.vm_name, task.vm_uid, server_name))
            if job_id:
                entry.jobs.add(job_id)
            elif link and link.name:
                entry.job_names.add(link.name.rsplit("@", 1)[0])
            if entry.task is None:
                entry.task = task

    def points(self, points: list[PointFields], copies: CopySet) -> None:
        """Each VM's newest point of the window, and its newest copy made by a backup copy job."""
        vms, job_name = self.vms, self.job_name
        found = vms.get
        copied: dict[str, bool] = {}  # a job-level point's href → whether a backup copy job made it
        for point in points:  # newest first
            name = point.vm_name or point.vm_display_name
            if not name:
                continue
            server_name = point.backup_server.name if point.backup_server else None
            key = vm_key(point.hierarchy_obj_ref, server_name, name)
            vm = found(key)
            if vm is None:
                if job_name is not None:
                    continue  # points do not say their job; the job's members and tasks do
                vm = vms[key] = Vm(name, point.hierarchy_obj_ref, server_name)
            parent = point.restore_point
            if parent is None:
                copy = copies.is_copy(point)
            elif (copy_or_none := copied.get(parent.href)) is None:
                copy = copied[parent.href] = copies.is_copy(point)
            else:
                copy = copy_or_none
            if copy:
                if vm.copy is None:
                    vm.copy = point
            elif vm.point is None:
                vm.point = point


def _summary(rows: list[Row]) -> ProtectionSummary:
    """The report's counts, over every row, in one pass."""
    met = missed = never = failed = running = copied = replicated = computers = 0
    for row in rows:
        status, outcome = row["status"], row["last_outcome"]
        if status == "met":
            met += 1
        elif status == "missed":
            missed += 1
        else:
            never += 1
        if outcome == "failed":
            failed += 1
        elif outcome == "running":
            running += 1
        copied += 1 if row["newest_copy"] else 0
        replicated += 1 if row["newest_replica"] else 0
        computers += 1 if row["agent"] else 0
    return ProtectionSummary(
        vms=len(rows), met=met, missed=missed, never_backed_up=never, failed_last_run=failed, running=running,
        copied=copied, replicated=replicated, computers=computers,
    )
