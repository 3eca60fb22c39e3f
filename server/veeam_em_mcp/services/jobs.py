"""Jobs: what each is, whether and when it runs, how its newest run ended, what it backs up.

Two queries answer for every job at once: ``type=Job`` (entities: schedule, next run and, where EM embeds
them, the members) and ``type=BackupJobSession`` over the last days (the newest run per job). With
``vm_name`` only the jobs that protect that VM are listed: those naming it among their members, and those
whose recent runs processed it, because a VM is often protected through a folder, tag or host, which no
member list names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..errors import InvalidArgument
from ..models.estate import JobRow, LastRun, ListJobsResult, Member
from ..models.resources import BackupJobSession, BackupTaskSession, Job
from ..representation.query import em_time, quote_value
from .context import EmContext
from .estate import (
    RowCursor,
    job_of_session_name,
    more_rows_note,
    outcome_of,
    page_of,
    server_condition,
    unknown_name,
)
from .querying import conditions, read_all
from .restore_points import PLATFORMS, check_text

LAST_RUN_DAYS = 7  # how far back a job's newest run is looked for
DEFAULT_PAGE_SIZE = 50
# EM spells Hyper-V "Hyperv" in job entities and filters, and "HyperV" in VM references.
_EM_PLATFORM = {"VMware": "VMware", "HyperV": "Hyperv", "vCloud": "vCloud"}


async def list_jobs(
    em: EmContext,
    now: datetime,
    *,
    backup_server: str | None = None,
    platform: str | None = None,
    enabled: bool | None = None,
    vm_name: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> ListJobsResult:
    offset = 0
    if cursor is not None:
        position = RowCursor.decode("jobs", "list_jobs", cursor, _arguments_ok)
        arguments, offset = position.arguments, position.offset
        backup_server, platform, enabled = arguments["backup_server"], arguments["platform"], arguments["enabled"]
        vm_name, page_size = arguments["vm_name"], arguments["page_size"]
    if platform is not None and platform not in PLATFORMS:
        raise InvalidArgument(f"platform must be one of {', '.join(PLATFORMS)}, not {platform!r}.")
    check_text("vm_name", vm_name)
    expression = conditions(
        server_condition(backup_server),
        f"Platform=={quote_value(_EM_PLATFORM[platform])}" if platform else None,
        None if enabled is None else f"ScheduleEnabled=={'true' if enabled else 'false'}",
    )
    jobs_read = await read_all(em, "Job", filter=expression, sort=("asc", "Name"), pin=None)
    jobs = [job for job in jobs_read.items if isinstance(job, Job)]
    requests = jobs_read.requests
    since = em_time(now - timedelta(days=LAST_RUN_DAYS))
    runs = await read_all(em, "BackupJobSession", filter=f"CreationTime>={quote_value(since)}")
    requests += runs.requests
    newest: dict[str, BackupJobSession] = {}
    for session in runs.items:  # newest first
        if isinstance(session, BackupJobSession) and session.job_name:
            newest.setdefault(session.job_name.casefold(), session)
    protecting: dict[str, str] = {}
    if vm_name is not None:
        protecting, extra = await _protecting(em, jobs, vm_name)
        requests += extra
        jobs = [job for job in jobs if (job.name or "").casefold() in protecting]
        if not jobs and (missing := await unknown_name(em, "VmRestorePoint", "VmDisplayName", vm_name, "VM")):
            raise missing
    rows = [_row(job, newest.get((job.name or "").casefold()), protecting) for job in jobs]
    note = None
    if not rows:
        note = (
            "No job matches these filters."
            if vm_name is None
            else (
                f"No job protects a VM named {vm_name!r}: it is not a member by name, and no run in the last "
                f"{LAST_RUN_DAYS} days processed it."
            )
        )
    arguments = {
        "backup_server": backup_server,
        "platform": platform,
        "enabled": enabled,
        "vm_name": vm_name,
        "page_size": page_size,
    }

    def build(page: list[JobRow], shared: dict[str, Any] | None, next_offset: int | None) -> ListJobsResult:
        return ListJobsResult(
            jobs=page,
            shared=shared,
            returned=len(page),
            total=len(rows),
            next_cursor=None
            if next_offset is None
            else RowCursor("jobs", "list_jobs", arguments, next_offset).encode(),
            truncated=next_offset is not None,
            em_requests=requests,
            note=note if next_offset is None else more_rows_note(note, offset, len(page), len(rows)),
        )

    return page_of(em, rows, offset, page_size, build)


def _row(job: Job, newest: BackupJobSession | None, protecting: dict[str, str]) -> JobRow:
    last = None
    if newest is not None:
        last = LastRun(
            outcome=outcome_of(newest.state, newest.result),
            start=newest.creation_time,
            end=newest.end_time,
            is_retry=newest.is_retry,
            session=newest.id,
        )
    members = [Member(name=member.name, type=member.object_type) for member in job.includes or []]
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
        members=members or None,
        protects_vm=protecting.get((job.name or "").casefold()),
    )


async def _protecting(em: EmContext, jobs: list[Job], vm_name: str) -> tuple[dict[str, str], int]:
    """Jobs protecting ``vm_name``: by member name, and through runs that processed it (one query)."""
    wanted = vm_name.casefold()
    found: dict[str, str] = {}
    for job in jobs:
        if any(
            (member.name or "").casefold() == wanted and member.object_type == "Vm" for member in job.includes or []
        ):
            found[(job.name or "").casefold()] = f"{vm_name} is a member of the job by name"
    tasks = await read_all(
        em, "BackupTaskSession", filter=f"VmDisplayName=={quote_value(vm_name)}", page_size=20, max_items=20
    )
    for task in tasks.items:
        if isinstance(task, BackupTaskSession) and task.job_session is not None:
            ran_in = (job_of_session_name(task.job_session.name) or "").casefold()
            containers = [
                m.name
                for j in jobs
                if (j.name or "").casefold() == ran_in
                for m in j.includes or []
                if m.object_type != "Vm"
            ]
            through = f" (through {', '.join(c for c in containers if c)})" if containers else ""
            found.setdefault(ran_in, f"its runs process {vm_name}{through}; last on {task.creation_time}")
    return found, tasks.requests


def _arguments_ok(arguments: dict[str, Any]) -> bool:
    return (
        set(arguments) == {"backup_server", "platform", "enabled", "vm_name", "page_size"}
        and all(arguments[k] is None or isinstance(arguments[k], str) for k in ("backup_server", "platform", "vm_name"))
        and (arguments["enabled"] is None or type(arguments["enabled"]) is bool)
        and type(arguments["page_size"]) is int
    )
