"""Jobs: what each is, whether and when it runs, how its newest run ended, what it backs up.

Two queries answer for every job at once: ``type=Job`` (entities: schedule, next run and, where EM embeds
them, the members) and ``type=BackupJobSession`` over the last days (the newest run per job, matched by
the job's UID: every backup server has its "Backup Job 1"). With ``vm_name`` only the jobs that protect
that VM are listed: those naming it among their members (by reference when the VM is given by id), and
those whose recent runs processed it, because a VM is often protected through a folder, tag or host,
which no member list names. Jobs are read at most a hundred per page, fewer when page 1 says they are heavy
(``querying``): one job with its members can be tens of kilobytes, and a thousand of them would pass EM's
answer size cap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from ..errors import BadRequest, NotFound, ResponseError
from ..models.arguments import ListJobsArgs
from ..models.base import parse_timestamp
from ..models.estate import FileRow, JobFiles, JobRow, LastRun, ListJobsResult, Member
from ..models.resources import Backup, BackupFile, BackupTaskSession, Entity, Job
from ..representation.collector import release_later
from ..representation.fields import AgentJobRowFields, JobRowFields, JobSessionFields
from ..representation.query import em_time, quote_value
from ..representation.registry import ResourceList, to_resource
from .answers import paged
from .chunked_reads import read_any_of
from .context import EmContext
from .estate import (
    guid_of,
    is_vm_id,
    job_id_in,
    same_names,
    server_condition,
    uid_guid,
    unknown_name,
    vm_condition,
    vm_key,
)
from .filters import check_text
from .gather import gather, together
from .query_terms import BY_NAME, NEWEST_FIRST, conditions
from .querying import QueryWindow, read_all, read_fields
from .restore_points import is_copy_job
from .runs import Run, Session, runs_of
from .sessions import replica_sessions

T = TypeVar("T")
LAST_RUN_DAYS = 7  # how far back a job's newest run is looked for
JOB_PAGE_SIZE = 100  # jobs per EM page: a job entity with its members is large
# EM spells Hyper-V "Hyperv" in job entities and filters, and "HyperV" in VM references.
_EM_PLATFORM = {"VMware": "VMware", "HyperV": "Hyperv", "vCloud": "vCloud"}
# A job as listed: the fields a window read took (representation.fields), or an agent job's model.
Listed = Job | JobRowFields


async def list_jobs(em: EmContext, now: datetime, arguments: ListJobsArgs, cursor: str | None = None) -> ListJobsResult:
    async def compute(args: ListJobsArgs) -> ListJobsResult:
        check_text("vm_name", args.vm_name)
        enabled = None if args.enabled is None else f"ScheduleEnabled=={'true' if args.enabled else 'false'}"
        expression = conditions(
            server_condition(args.backup_server),
            f"Platform=={quote_value(_EM_PLATFORM[args.platform])}" if args.platform else None,
            enabled,
        )
        since = f"CreationTime>={quote_value(em_time(now - timedelta(days=LAST_RUN_DAYS)))}"
        agent_filter = conditions(server_condition(args.backup_server), enabled)

        async def agent_jobs() -> tuple[list[AgentJobRowFields] | None, str | None, int]:
            if args.platform is not None:  # agent jobs have platforms of their own (AgentForWindows, AgentForLinux)
                return [], None, 0
            return await read_agent_jobs(em, agent_filter)

        # Side by side: the jobs (only the fields a row uses, straight from the pages), the agent jobs, and the
        # runs of the last days with replication's (for each job's newest run).
        jobs_read, (agents, agent_issue, agent_requests), runs, (replicas, replica_note, spent) = await together(
            lambda: read_fields(
                em, JobRowFields, filter=expression, sort=BY_NAME, page_size=min(JOB_PAGE_SIZE, em.settings.page_size)
            ),
            agent_jobs,
            lambda: read_fields(em, JobSessionFields, filter=since, sort=NEWEST_FIRST),
            lambda: replica_sessions(em, since),
        )
        jobs: list[Listed] = [*jobs_read.items, *(agents or [])]
        requests = jobs_read.requests + agent_requests + runs.requests + spent
        notes: list[str | None] = [jobs_read.issue]
        if args.platform is None:
            notes.append("Veeam Agent jobs are not listed: this EM's query service has none." if agents is None
                         else agent_issue)
        names = {job.id: job.name for job in jobs if job.id}  # a copy job's sources, named even when filtered out
        notes.append(replica_note if any((job.job_type or "").lower() == "replica" for job in jobs) else None)
        # A job's newest run: its start and its retries (an agent job's per-computer sessions are its
        # run's parts, a copy job's workers too), by the job's id.
        newest: dict[str, Run] = {}
        sessions: list[Session] = [*runs.items, *(replicas or [])]
        for run in runs_of(sessions):  # newest first
            newest.setdefault(run.key, run)
        protecting: dict[str, str] = {}
        if args.vm_name is not None:
            protecting, extra = await _protecting(em, jobs, args.vm_name)
            requests += extra
            jobs = [job for job in jobs if (job.id or "") in protecting]
            if not jobs and not is_vm_id(args.vm_name):
                if missing := await unknown_name(em, "VmRestorePoint", "VmDisplayName", args.vm_name, "VM"):
                    raise missing
        if args.job_name is not None:
            check_text("job_name", args.job_name)
            guid = job_id_in(args.job_name)
            wanted = args.job_name.casefold()
            jobs = [
                job for job in jobs
                if (job.id or "") == guid or (guid is None and (job.name or "").casefold() == wanted)
            ]
            if not jobs and guid is None:
                if missing := await unknown_name(em, "Job", "Name", args.job_name, "job"):
                    raise missing
        if args.runs_within_hours is not None:
            until = now + timedelta(hours=args.runs_within_hours)
            jobs = [job for job in jobs if job.next_run and now <= parse_timestamp(job.next_run) <= until]
            jobs.sort(key=lambda job: parse_timestamp(job.next_run or ""))  # soonest first
        listed = (
            jobs if args.runs_within_hours is not None  # soonest first
            else sorted(jobs, key=lambda job: ((job.name or "").casefold(), job.id or ""))
        )

        async def containers() -> tuple[dict[str, list[str]], str | None, int]:
            return await _container_vms(em, jobs, newest) if args.members and jobs else ({}, None, 0)

        async def files() -> tuple[dict[str, JobFiles], str | None, int]:
            return await _job_files(em, [job.id for job in listed if job.id]) if args.backup_files else ({}, None, 0)

        # Side by side, for the jobs kept only: copy jobs' targets, what containers covered, the backup files.
        (targets, spent), (covered, container_note, container_spent), (found, files_note, files_spent) = (
            await together(lambda: _copy_targets(em, jobs), containers, files)
        )
        requests += spent + container_spent + files_spent
        rows = [
            _row(
                job, newest.get(job.id or ""), protecting, members=args.members,
                copies_from=[names.get(uid_guid(u) or "", u) or u for u in job.source_jobs] or None
                if job.source_jobs else None,
                target_repository=targets.get(job.id or ""),
                container_vms=covered.get(job.id or "") if args.members else None,
                backup_files=found.get(job.id or "") if args.backup_files else None,
            )
            for job in listed
        ]
        notes += [container_note, files_note]
        notes.append(runs.issue)
        notes.append(same_names(((row.name, row.id or "", row.backup_server) for row in rows), "job"))
        if not rows:
            notes.append(
                (
                    f"No job matches these filters (of the jobs read, none runs within {args.runs_within_hours:g} h)."
                    if args.runs_within_hours is not None
                    else "No job matches these filters."
                )
                if args.vm_name is None
                else (
                    f"No job protects a VM {args.vm_name!r}: it is not a member by name or id, and no run in the last "
                    f"{LAST_RUN_DAYS} days processed it."
                )
            )
        release_later(jobs_read, agents, runs, replicas, newest)  # the records, freed once the answer is sent
        return ListJobsResult(
            jobs=rows,
            returned=len(rows),
            total=len(rows),
            as_of=em_time(now),
            em_requests=requests,
            note=" ".join(note for note in notes if note) or None,
        )

    return await paged(em, "list_jobs", arguments, cursor, ListJobsResult, compute)


def _row(
    job: Listed,
    newest: Run | None,
    protecting: dict[str, str],
    *,
    members: bool = True,
    copies_from: list[str] | None = None,
    target_repository: str | None = None,
    container_vms: list[str] | None = None,
    backup_files: JobFiles | None = None,
) -> JobRow:
    """A job's row, with what was read beside the job: its copies' sources and target, what its containers
    covered, its backup files."""
    last = None
    if newest is not None:
        last = LastRun(
            outcome=newest.outcome,
            start=newest.start,
            end=newest.end,
            is_retry=newest.last.is_retry,
            session=newest.last.id,
        )
    listed = [Member(name=member.name, type=member.object_type) for member in job.includes or []] if members else []
    return JobRow(
        name=job.name,
        id=job.id,
        job_type=job.job_type,
        platform=job.platform,
        backup_server=job.backup_server.name if job.backup_server else None,
        schedule_enabled=job.schedule_enabled,
        schedule=job.schedule,
        next_run=job.next_run,
        last_run=last,
        members=listed or None,
        protects_vm=protecting.get(job.id or ""),
        copies_from=copies_from,
        target_repository=target_repository,
        container_vms=container_vms,
        backup_files=backup_files,
    )


MAX_COPY_JOBS = 20  # copy jobs whose target repository is looked up (one query each)


async def read_agent_jobs(
    em: EmContext, expression: str | None
) -> tuple[list[AgentJobRowFields] | None, str | None, int]:
    """Veeam Agent jobs (EM keeps them apart, under /agents/jobs), with the fields a job's row and the protection
    report use, straight from the pages (representation.fields): the jobs (None when this EM's query service has
    none: refused once, then not asked again), what may be off in the read, and the EM requests spent."""
    if "AgentBackupJob" in em.unsupported:
        return None, None, 0
    try:
        window = await read_fields(em, AgentJobRowFields, filter=expression, sort=BY_NAME,
                                   page_size=min(JOB_PAGE_SIZE, em.settings.page_size))
    except BadRequest:
        em.unsupported.add("AgentBackupJob")
        return None, None, 1
    return [job for job in window.items if job.id], window.issue, window.requests


async def _copy_targets(em: EmContext, jobs: list[Listed]) -> tuple[dict[str, str], int]:
    """Where each backup copy job's copies go: the repository of the job's own backup (EM's job entity does
    not name it; ``type=Backup`` filtered by the job's UID does, and a backup does not name its job: one query
    per copy job, side by side)."""
    copies = [job.id for job in jobs if is_copy_job(job.job_type) and job.id][:MAX_COPY_JOBS]

    def target(job: str) -> Callable[[], Awaitable[QueryWindow[Entity]]]:
        return lambda: read_all(em, "Backup", filter=f"JobUid=={quote_value('urn:veeam:Job:' + job)}", sort=BY_NAME)

    reads = await gather([target(job) for job in copies], limit=em.settings.max_concurrency)
    targets: dict[str, str] = {}
    for job, read in zip(copies, reads, strict=True):
        places = sorted({b.repository.name for b in read.items if isinstance(b, Backup) and b.repository
                         and b.repository.name})
        if places:
            targets[job] = ", ".join(places)
    return targets, sum(read.requests for read in reads)


MAX_CONTAINER_JOBS = 10  # jobs whose containers' VMs are listed (one task query over their newest runs)
MAX_CONTAINER_VMS = 100  # VM names listed per job


async def _container_vms(
    em: EmContext, jobs: list[Listed], newest: dict[str, Run]
) -> tuple[dict[str, list[str]], str | None, int]:
    """What each job's containers covered: the VMs its newest run processed that are not its VM members.

    EM lists a folder or tag member by its own name only; the VMs in it are known from the runs. One query of
    the task sessions of those runs (by their session UIDs), for up to ``MAX_CONTAINER_JOBS`` jobs. VMs are
    told apart by their reference (a task's VmUid, a member's HierarchyObjRef), by name only where EM gives
    none; a VM EM cannot attribute to one container is attributed to the job (EM does not say which held it).
    """
    wanted = [
        job for job in jobs
        if job.id and job.id in newest and any(m.object_type not in (None, "Vm") for m in job.includes or [])
    ]
    if not wanted:
        return {}, None, 0
    left = len(wanted) - MAX_CONTAINER_JOBS
    wanted = wanted[:MAX_CONTAINER_JOBS]
    session_job = {s.id: job.id or "" for job in wanted for s in newest[job.id or ""].attempts if s.id}
    read = await read_any_of(
        em, "BackupTaskSession", "JobSessionUid", [f"urn:veeam:BackupJobSession:{sid}" for sid in session_job]
    )
    seen: dict[str, dict[str, str]] = {}  # job id -> VM key -> VM name
    for task in read.items:
        if not isinstance(task, BackupTaskSession) or task.job_session is None or not task.vm_name:
            continue
        job_id = session_job.get(guid_of(task.job_session) or "")
        if job_id:
            seen.setdefault(job_id, {})[vm_key(task.vm_uid, None, task.vm_name)] = task.vm_name
    covered: dict[str, list[str]] = {}
    for job in wanted:
        members = [m for m in job.includes or [] if m.object_type == "Vm"]
        direct = {vm_key(m.hierarchy_obj_ref, None, m.name) for m in members}
        named_only = {(m.name or "").casefold() for m in members}  # a task without a VmUid, matched by name
        names = sorted(
            (name for key, name in seen.get(job.id or "", {}).items()
             if key not in direct and not (key.startswith("name:") and name.casefold() in named_only)),
            key=str.casefold,
        )
        if names:
            covered[job.id or ""] = names[:MAX_CONTAINER_VMS]
    notes = [read.issue]
    if left > 0:
        notes.append(f"The VMs of containers are listed for the first {MAX_CONTAINER_JOBS} such jobs; narrow with "
                     "job_name or vm_name for the others.")
    return covered, " ".join(n for n in notes if n) or None, read.requests


MAX_FILE_JOBS = 10  # jobs whose backup files are read (a query, then one request per backup)
MAX_FILES_LISTED = 50  # files listed per job, newest first; the totals count them all


async def _job_files(em: EmContext, job_ids: list[str]) -> tuple[dict[str, JobFiles], str | None, int]:
    """Each job's backup files: its backups (``type=Backup`` by the job's UID: EM's job entity names none),
    then each backup's files in entity form. Sizes EM does not report leave the total out rather than
    understating it."""
    requests = 0
    result: dict[str, JobFiles] = {}
    for job_id in job_ids[:MAX_FILE_JOBS]:
        read = await read_all(em, "Backup", filter=f"JobUid=={quote_value('urn:veeam:Job:' + job_id)}", sort=BY_NAME)
        requests += read.requests
        backups = [b for b in read.items if isinstance(b, Backup) and b.id]
        files: dict[str, BackupFile] = {}
        unread: list[str] = []
        for backup in backups:
            requests += 1
            try:
                url = f"{em.base_url}/backups/{backup.id}/backupFiles?format=Entity"
                listed = to_resource(await em.client.get(url))
            except (NotFound, ResponseError) as exc:
                unread.append(f"{backup.name or backup.id} ({type(exc).__name__})")
                continue
            if isinstance(listed, ResourceList):
                files.update((f.id, f) for f in listed.items if isinstance(f, BackupFile) and f.id)
        ordered = sorted(files.values(), key=lambda f: f.creation_time or "", reverse=True)
        sizes = [f.backup_size for f in ordered]
        data = [f.data_size for f in ordered]
        notes = []
        if not backups:
            notes.append("EM keeps no backup for this job (not run yet, or not a job that writes backups).")
        if unread:
            notes.append(f"The files of {', '.join(unread)} could not be read; the totals leave them out.")
        if None in sizes:
            notes.append(f"EM reports no size for {sizes.count(None)} file(s): no total is given.")
        if len(ordered) > MAX_FILES_LISTED:
            notes.append(f"The newest {MAX_FILES_LISTED} of {len(ordered)} files are listed; the totals count all.")
        result[job_id] = JobFiles(
            count=len(ordered),
            total_backup_size=sum(s for s in sizes if s is not None) if ordered and None not in sizes else None,
            total_data_size=sum(d for d in data if d is not None) if ordered and None not in data else None,
            repositories=sorted({b.repository.name for b in backups if b.repository and b.repository.name}) or None,
            files=[
                FileRow(name=f.name, file_type=f.file_type, backup_size=f.backup_size, creation_time=f.creation_time)
                for f in ordered[:MAX_FILES_LISTED]
            ] or None,
            note=" ".join(notes) or None,
        )
    left = len(job_ids) - MAX_FILE_JOBS
    note = (
        f"Backup files are given for the first {MAX_FILE_JOBS} jobs; {left} more were not read (narrow with job_name)."
        if left > 0 else None
    )
    return result, note, requests


async def _protecting(em: EmContext, jobs: list[Listed], vm: str) -> tuple[dict[str, str], int]:
    """Jobs protecting ``vm`` (a name, or an id), by job id: members, and runs that processed it (one query)."""
    by_id = is_vm_id(vm)
    wanted = vm.strip().lower() if by_id else vm.casefold()
    found: dict[str, str] = {}
    for job in jobs:
        for member in job.includes or []:
            if member.object_type != "Vm":
                continue
            held = (member.hierarchy_obj_ref or "").lower() if by_id else (member.name or "").casefold()
            hit = held == wanted
            if hit and job.id:
                found[job.id] = f"{member.name or vm} is a member of the job by name"
    vm_filter, vm_ref, requests = await vm_condition(em, vm) if by_id else (None, None, 0)
    if not by_id:
        vm_filter = f"VmDisplayName=={quote_value(vm)}"
    tasks = await read_all(em, "BackupTaskSession", filter=vm_filter, sort=NEWEST_FIRST, page_size=20, max_pages=1)
    requests += tasks.requests
    # A task names its job run (<job>@<start>) and its backup server; a job's name is unique on one backup
    # server (not across them), so the pair names one job.
    for task in tasks.items:
        if not isinstance(task, BackupTaskSession) or task.job_session is None:
            continue
        if vm_ref is not None and (task.vm_uid or "").lower() != vm_ref:
            continue
        ran_in = (task.job_session.name or "").rsplit("@", 1)[0].casefold()
        server = task.backup_server.name if task.backup_server else None
        for job in jobs:
            same_job = (job.name or "").casefold() == ran_in
            same_server = server is None or (job.backup_server is not None and job.backup_server.name == server)
            if not (same_job and same_server and job.id):
                continue
            containers = [m.name for m in job.includes or [] if m.object_type != "Vm" and m.name]
            through = f" (through {', '.join(containers)})" if containers else ""
            found.setdefault(job.id, f"its runs process {task.vm_name or vm}{through}; last on {task.creation_time}")
    return found, requests
