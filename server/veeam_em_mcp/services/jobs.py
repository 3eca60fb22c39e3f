"""Jobs: what each is, whether and when it runs, how its newest run ended, what it backs up.

Two queries answer for every job at once: ``type=Job`` (entities: schedule, next run and, where EM embeds
them, the members) and ``type=BackupJobSession`` over the last days (the newest run per job, matched by
the job's UID: every backup server has its "Backup Job 1"). With ``vm_name`` only the jobs that protect
that VM are listed: those naming it among their members (by reference when the VM is given by id), and
those whose recent runs processed it, because a VM is often protected through a folder, tag or host,
which no member list names. Jobs are read a hundred per page: one job with its members can be tens of
kilobytes, and a thousand of them would pass EM's answer size cap.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..models.arguments import ListJobsArgs
from ..models.base import parse_timestamp
from ..models.estate import JobRow, LastRun, ListJobsResult, Member
from ..models.resources import BackupJobSession, BackupTaskSession, Job
from ..representation.query import em_time, quote_value
from .answers import paged
from .context import EmContext
from .estate import (
    guid_of,
    is_vm_id,
    outcome_of,
    same_names,
    server_condition,
    uid_guid,
    unknown_name,
    vm_condition,
)
from .querying import BY_NAME, NEWEST_FIRST, conditions, read_all
from .restore_points import check_text

LAST_RUN_DAYS = 7  # how far back a job's newest run is looked for
JOB_PAGE_SIZE = 100  # jobs per EM page: a job entity with its members is large
# EM spells Hyper-V "Hyperv" in job entities and filters, and "HyperV" in VM references.
_EM_PLATFORM = {"VMware": "VMware", "HyperV": "Hyperv", "vCloud": "vCloud"}


async def list_jobs(em: EmContext, now: datetime, arguments: ListJobsArgs, cursor: str | None = None) -> ListJobsResult:
    async def compute(args: ListJobsArgs) -> ListJobsResult:
        check_text("vm_name", args.vm_name)
        expression = conditions(
            server_condition(args.backup_server),
            f"Platform=={quote_value(_EM_PLATFORM[args.platform])}" if args.platform else None,
            None if args.enabled is None else f"ScheduleEnabled=={'true' if args.enabled else 'false'}",
        )
        jobs_read = await read_all(
            em, "Job", filter=expression, sort=BY_NAME, page_size=min(JOB_PAGE_SIZE, em.settings.page_size)
        )
        jobs = [job for job in jobs_read.items if isinstance(job, Job)]
        requests = jobs_read.requests
        since = em_time(now - timedelta(days=LAST_RUN_DAYS))
        runs = await read_all(em, "BackupJobSession", filter=f"CreationTime>={quote_value(since)}", sort=NEWEST_FIRST)
        requests += runs.requests
        newest: dict[str, BackupJobSession] = {}
        for session in runs.items:  # newest first
            if isinstance(session, BackupJobSession):
                job_id = uid_guid(session.job_uid) or guid_of(session.job)
                if job_id:
                    newest.setdefault(job_id, session)
        protecting: dict[str, str] = {}
        if args.vm_name is not None:
            protecting, extra = await _protecting(em, jobs, args.vm_name)
            requests += extra
            jobs = [job for job in jobs if (job.id or "") in protecting]
            if not jobs and not is_vm_id(args.vm_name):
                if missing := await unknown_name(em, "VmRestorePoint", "VmDisplayName", args.vm_name, "VM"):
                    raise missing
        if args.runs_within_hours is not None:
            until = now + timedelta(hours=args.runs_within_hours)
            jobs = [job for job in jobs if job.next_run and now <= parse_timestamp(job.next_run) <= until]
            jobs.sort(key=lambda job: parse_timestamp(job.next_run or ""))  # soonest first
        rows = [_row(job, newest.get(job.id or ""), protecting, members=args.members) for job in jobs]
        notes = [runs.issue, jobs_read.issue]
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
        return ListJobsResult(
            jobs=rows,
            returned=len(rows),
            total=len(rows),
            as_of=em_time(now),
            em_requests=requests,
            note=" ".join(note for note in notes if note) or None,
        )

    return await paged(em, "list_jobs", arguments, cursor, ListJobsResult, compute)


def _row(job: Job, newest: BackupJobSession | None, protecting: dict[str, str], *, members: bool = True) -> JobRow:
    last = None
    if newest is not None:
        last = LastRun(
            outcome=outcome_of(newest.state, newest.result),
            start=newest.creation_time,
            end=newest.end_time,
            is_retry=newest.is_retry,
            session=newest.id,
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
    )


async def _protecting(em: EmContext, jobs: list[Job], vm: str) -> tuple[dict[str, str], int]:
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
