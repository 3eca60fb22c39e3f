"""The protection report: every VM EM knows to be protected, against an RPO, without one request per VM.

Who is protected comes from three sources, because no single one is complete: the jobs' members (a VM
added by name, even one never backed up yet), the task sessions of the window (VMs protected through a
folder, tag or host, which no member list names), and the restore points of the window. Each source is
one query of the window, read in large pages (``querying.read_all``):

1. ``type=Job``: the jobs, whether they run, their members;
2. ``type=BackupTaskSession``, created in the window: each VM's newest task (outcome, reason);
3. ``type=VmRestorePoint``, created in the window: each VM's newest point.

The window is twice the RPO (at least 48 hours), so a VM meeting its RPO always has its newest point in
it. Only the VMs without a point in the window are looked up one by one (their newest point may be older,
or they have none: never backed up), at most ``MAX_OLDER_LOOKUPS`` of them; the report says when more were
left unlooked. A computed report is kept for a few minutes, so that paging through it with the cursor does
not read the window again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio

from ..errors import InvalidArgument
from ..models.base import age_hours, platform_from_hierarchy_ref
from ..models.estate import Outcome, ProtectionReport, ProtectionRow, ProtectionSummary, Status, Window
from ..models.resources import BackupTaskSession, Job, VmRestorePoint
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
from .restore_points import PLATFORMS, build_query, check_text, read_page

MAX_OLDER_LOOKUPS = 25  # VMs without a point in the window whose older points are looked up one by one
DEFAULT_PAGE_SIZE = 50
CACHE_SECONDS = 300.0
_PROBLEM_ORDER = {"never backed up": 0, "missed": 1, "met": 2}


@dataclass(frozen=True)
class _Computed:
    rows: list[ProtectionRow]
    summary: ProtectionSummary
    as_of: str
    window: Window
    requests: int
    note: str | None


async def protection_report(
    em: EmContext,
    now: datetime,
    *,
    rpo_hours: float = 24.0,
    backup_server: str | None = None,
    job_name: str | None = None,
    platform: str | None = None,
    only_problems: bool = False,
    page_size: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> ProtectionReport:
    offset = 0
    as_of: str | None = None
    if cursor is not None:
        position = RowCursor.decode("protection", "protection_report", cursor, _arguments_ok)
        arguments, offset = position.arguments, position.offset
        rpo_hours, backup_server, job_name = arguments["rpo_hours"], arguments["backup_server"], arguments["job_name"]
        platform, only_problems, page_size = arguments["platform"], arguments["only_problems"], arguments["page_size"]
        as_of = arguments["as_of"]
    if not 0.01 <= rpo_hours <= 8760:
        raise InvalidArgument(f"rpo_hours must be between 0.01 and 8760, not {rpo_hours}.")
    if platform is not None and platform not in PLATFORMS:
        raise InvalidArgument(f"platform must be one of {', '.join(PLATFORMS)}, not {platform!r}.")
    if not 1 <= page_size <= 200:
        raise InvalidArgument(f"page_size must be between 1 and 200, not {page_size}.")
    check_text("job_name", job_name)
    key = repr((rpo_hours, backup_server, job_name, platform, as_of))
    computed = _cached(em, key) if as_of else None
    if computed is None:
        computed = await _compute(em, now, rpo_hours, backup_server, job_name, platform)
        _remember(em, repr((rpo_hours, backup_server, job_name, platform, computed.as_of)), computed)
    rows = [row for row in computed.rows if not only_problems or _is_problem(row)]
    arguments = {
        "rpo_hours": rpo_hours,
        "backup_server": backup_server,
        "job_name": job_name,
        "platform": platform,
        "only_problems": only_problems,
        "page_size": page_size,
        "as_of": computed.as_of,
    }

    def build(page: list[ProtectionRow], shared: dict[str, Any] | None, next_offset: int | None) -> ProtectionReport:
        note = computed.note if next_offset is None else more_rows_note(computed.note, offset, len(page), len(rows))
        return ProtectionReport(
            rows=page,
            summary=computed.summary,
            summary_line=_summary_line(computed.summary, rpo_hours),
            rpo_hours=rpo_hours,
            as_of=computed.as_of,
            window=computed.window,
            only_problems=only_problems,
            returned=len(page),
            total=len(rows),
            next_cursor=(
                None
                if next_offset is None
                else RowCursor("protection", "protection_report", arguments, next_offset).encode()
            ),
            truncated=next_offset is not None,
            em_requests=computed.requests if cursor is None else 0,
            note=note,
        )

    # Rows keep all their fields (no "shared"): each row is one VM, read on its own.
    return page_of(em, rows, offset, page_size, build, share=False)


def _is_problem(row: ProtectionRow) -> bool:
    return row.status != "met" or row.last_outcome == "failed" or row.job_enabled is False


async def _compute(
    em: EmContext,
    now: datetime,
    rpo_hours: float,
    backup_server: str | None,
    job_name: str | None,
    platform: str | None,
) -> _Computed:
    lookback = timedelta(hours=min(max(2 * rpo_hours, 48.0), 24 * 31))
    since = em_time(now - lookback)
    window = Window(created_after=since, created_before=None)
    server = server_condition(backup_server)
    in_window = f"CreationTime>={quote_value(since)}"
    jobs_read = await read_all(
        em,
        "Job",
        filter=conditions(server, f"Name=={quote_value(job_name)}" if job_name else None),
        sort=("asc", "Name"),
        pin=None,
    )
    jobs = [job for job in jobs_read.items if isinstance(job, Job)]
    if job_name and not jobs and (missing := await unknown_name(em, "Job", "Name", job_name, "job")):
        raise missing
    # The two window reads are independent: read them side by side.
    reads: dict[str, Any] = {}

    async def tasks_read() -> None:
        reads["tasks"] = await read_all(
            em,
            "BackupTaskSession",
            filter=conditions(server, f"JobName=={quote_value(job_name)}" if job_name else None, in_window),
        )

    async def points_read() -> None:
        reads["points"] = await read_all(em, "VmRestorePoint", filter=conditions(server, in_window))

    async with anyio.create_task_group() as group:
        group.start_soon(tasks_read)
        group.start_soon(points_read)
    requests = jobs_read.requests + reads["tasks"].requests + reads["points"].requests

    enabled_of: dict[str, bool | None] = {(job.name or "").casefold(): job.schedule_enabled for job in jobs}
    job_names: dict[str, str] = {(job.name or "").casefold(): job.name or "" for job in jobs}
    vm_jobs: dict[str, set[str]] = {}
    refs: dict[str, str] = {}
    names: dict[str, str] = {}  # casefold → as EM spells it
    for job in jobs:
        for member in job.includes or []:
            if member.object_type == "Vm" and member.name:
                key = member.name.casefold()
                names.setdefault(key, member.name)
                vm_jobs.setdefault(key, set()).add(job.name or "")
                if member.hierarchy_obj_ref:
                    refs.setdefault(key, member.hierarchy_obj_ref)
    newest_task: dict[str, BackupTaskSession] = {}
    for task in reads["tasks"].items:  # newest first
        if not isinstance(task, BackupTaskSession) or not task.vm_name:
            continue
        key = task.vm_name.casefold()
        ran_in = job_of_session_name(task.job_session.name if task.job_session else None)
        if ran_in and (job_name is None or ran_in.casefold() == job_name.casefold()):
            names.setdefault(key, task.vm_name)
            vm_jobs.setdefault(key, set()).add(job_names.get(ran_in.casefold(), ran_in))
            newest_task.setdefault(key, task)
            if task.vm_uid:
                refs.setdefault(key, task.vm_uid)
    newest_point: dict[str, VmRestorePoint] = {}
    for point in reads["points"].items:  # newest first
        if isinstance(point, VmRestorePoint) and (point.vm_name or point.vm_display_name):
            key = (point.vm_name or point.vm_display_name or "").casefold()
            if job_name is not None and key not in vm_jobs:
                continue  # points do not say their job; the job's members and tasks do
            names.setdefault(key, point.vm_name or point.vm_display_name or "")
            newest_point.setdefault(key, point)
            if point.hierarchy_obj_ref:
                refs.setdefault(key, point.hierarchy_obj_ref)
    if platform is not None:
        keep = {key for key in names if platform_from_hierarchy_ref(refs.get(key)) == platform}
        names = {key: value for key, value in names.items() if key in keep}
    # VMs without a point in the window: their newest point, if any, is older. Looked up one by one, bounded.
    missing_point = sorted(key for key in names if key not in newest_point)
    looked_up = missing_point[:MAX_OLDER_LOOKUPS]
    older: dict[str, VmRestorePoint | None] = {}

    async def lookup(key: str) -> None:
        page = await read_page(em, build_query(vm_name=names[key], page_size=1), 1)
        older[key] = page.points[0] if page.points else None

    async with anyio.create_task_group() as group:
        for key in looked_up:
            group.start_soon(lookup, key)
    requests += len(looked_up)
    rows = []
    for key, vm in names.items():
        point = newest_point.get(key) or older.get(key)
        task = newest_task.get(key)
        age = age_hours(point.creation_time, now) if point and point.creation_time else None
        status: Status
        if point is None and key in older:
            status = "never backed up"
        elif point is None:
            status = "missed"  # no point in the window; not looked up further (see the note)
        else:
            status = "met" if age is not None and age <= rpo_hours else "missed"
        outcome: Outcome | None = outcome_of(task.state, task.result) if task else None
        jobs_of = sorted(vm_jobs.get(key, set()), key=str.casefold)
        enabled = [enabled_of.get(job.casefold()) for job in jobs_of]
        rows.append(
            ProtectionRow(
                vm_name=vm,
                status=status,
                jobs=jobs_of or None,
                job_enabled=any(e is True for e in enabled) if any(e is not None for e in enabled) else None,
                newest_point=point.creation_time if point else None,
                age_hours=age,
                last_outcome=outcome,
                last_task=task.creation_time if task else None,
                last_reason=(task.reason or None) if task and outcome in ("failed", "warning") else None,
                restore_point=point.id if point else None,
            )
        )
    rows.sort(key=lambda row: (_PROBLEM_ORDER[row.status], row.last_outcome != "failed", row.vm_name.casefold()))
    summary = ProtectionSummary(
        vms=len(rows),
        met=sum(1 for row in rows if row.status == "met"),
        missed=sum(1 for row in rows if row.status == "missed"),
        never_backed_up=sum(1 for row in rows if row.status == "never backed up"),
        failed_last_run=sum(1 for row in rows if row.last_outcome == "failed"),
        running=sum(1 for row in rows if row.last_outcome == "running"),
    )
    notes = []
    if len(missing_point) > len(looked_up):
        notes.append(
            f"{len(missing_point) - len(looked_up)} VMs have no restore point in the window and were not looked up "
            f"further (at most {MAX_OLDER_LOOKUPS} are, one request each): they miss the RPO, but whether they were "
            "ever backed up is not known here; vm_recovery_summary tells for one VM."
        )
    for name, read in (("task sessions", reads["tasks"]), ("restore points", reads["points"])):
        if not read.complete:
            notes.append(f"Only the newest {len(read.items)} {name} of the window were read.")
    return _Computed(rows, summary, em_time(now), window, requests, " ".join(notes) or None)


def _summary_line(summary: ProtectionSummary, rpo_hours: float) -> str:
    parts = [f"{summary.met} meet the {rpo_hours:g} h RPO", f"{summary.missed} miss it"]
    if summary.never_backed_up:
        parts.append(f"{summary.never_backed_up} {'was' if summary.never_backed_up == 1 else 'were'} never backed up")
    line = f"{summary.vms} protected VMs: " + ", ".join(parts)
    if summary.failed_last_run:
        line += f"; {summary.failed_last_run} failed in {'its' if summary.failed_last_run == 1 else 'their'} newest run"
    if summary.running:
        line += f"; {summary.running} {'is' if summary.running == 1 else 'are'} being backed up now"
    return line + "."


def _cached(em: EmContext, key: str) -> _Computed | None:
    entry = em.report_cache.get(key)
    if entry is None or time.monotonic() - entry[0] > CACHE_SECONDS:
        return None
    computed = entry[1]
    return computed if isinstance(computed, _Computed) else None


def _remember(em: EmContext, key: str, computed: _Computed) -> None:
    now = time.monotonic()
    for stale in [k for k, (at, _) in em.report_cache.items() if now - at > CACHE_SECONDS]:
        del em.report_cache[stale]
    if len(em.report_cache) >= 16:
        em.report_cache.pop(next(iter(em.report_cache)))
    em.report_cache[key] = (now, computed)


def _arguments_ok(arguments: dict[str, Any]) -> bool:
    return (
        set(arguments) == {"rpo_hours", "backup_server", "job_name", "platform", "only_problems", "page_size", "as_of"}
        and isinstance(arguments["rpo_hours"], int | float)
        and not isinstance(arguments["rpo_hours"], bool)
        and all(
            arguments[k] is None or isinstance(arguments[k], str) for k in ("backup_server", "job_name", "platform")
        )
        and isinstance(arguments["as_of"], str)
        and type(arguments["only_problems"]) is bool
        and type(arguments["page_size"]) is int
    )
