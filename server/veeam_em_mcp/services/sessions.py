"""Job runs and VM outcomes: did last night's jobs succeed, which VMs failed and why.

Everything comes from EM's query service, sorted by creation time (EM has no default order):
``type=BackupJobSession`` for runs, ``type=BackupTaskSession`` for VMs, filtered by the fields the query
offers (``JobName``, ``VmDisplayName``, ``Result``, ``CreationTime``…), never one GET per task.

"Did it succeed" means the newest run of each job in the window: an automatic retry is a run of its own
(``IsRetry``), so a failed run followed by a successful retry succeeded. Likewise a VM's newest task
tells how it stands. A filter on the outcome (``result``) is then applied to the newest runs, not sent
to EM (EM would return the failed first attempt of a job whose retry succeeded). ``FailureMessage`` is
empty on real servers; the reasons are in each task session's ``Reason``, which is returned whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from ..errors import InvalidArgument
from ..models.base import parse_timestamp
from ..models.estate import (
    FindJobSessionsResult,
    FindTaskSessionsResult,
    JobRun,
    JobSessionDetail,
    TaskRun,
    Window,
)
from ..models.resources import BackupJobSession, BackupTaskSession, Ref
from ..representation.ids import GUID, uid_pattern
from ..representation.links import LinkPolicy
from ..representation.query import em_time, quote_value
from .context import EmContext
from .estate import (
    MAX_ROWS_PER_PAGE,
    RowCursor,
    count,
    duration,
    job_of_session_name,
    more_rows_note,
    outcome_of,
    page_of,
    server_condition,
    time_conditions,
    unknown_name,
    window_of,
)
from .fetch import fetch_entity
from .querying import conditions, read_all
from .restore_points import check_text

# The filter speaks the rows' own words (outcome), so a model filters by what it read.
ResultFilter = Literal["succeeded", "warning", "failed", "running"]
RESULTS = ("succeeded", "warning", "failed", "running")
DEFAULT_PAGE_SIZE = 50
MAX_WINDOW_ITEMS = 20_000  # task sessions read for one answer at most (a week of a 3,000-VM estate)
_SESSION_UID = uid_pattern("BackupJobSession")
_EM_RESULT_OF = {"succeeded": "Success", "warning": "Warning", "failed": "Failed"}  # "running" is a State


def _guid_of(ref: Ref | None) -> str | None:
    if ref is None:
        return None
    last = ref.href.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return last.lower() if GUID.match(last) else None


def job_run(session: BackupJobSession) -> JobRun:
    return JobRun(
        id=session.id,
        job_name=session.job_name or (session.job.name if session.job else None),
        job_type=session.job_type,
        outcome=outcome_of(session.state, session.result),
        result=None if outcome_of(session.state, session.result) == "running" else session.result,
        state=session.state,
        start=session.creation_time,
        end=session.end_time,
        duration_seconds=duration(session.creation_time, session.end_time),
        is_retry=session.is_retry,
        backup_server=session.backup_server.name if session.backup_server else None,
    )


def task_run(task: BackupTaskSession) -> TaskRun:
    outcome = outcome_of(task.state, task.result)
    return TaskRun(
        vm_name=task.vm_name,
        job_name=job_of_session_name(task.job_session.name if task.job_session else None),
        outcome=outcome,
        result=None if outcome == "running" else task.result,  # EM says Success for a task in progress
        state=task.state,
        reason=task.reason or None,
        start=task.creation_time,
        end=task.end_time,
        total_size=task.total_size,
        restore_point=_guid_of(task.vm_restore_point),
        job_session=_guid_of(task.job_session),
    )


def _check_result(result: str | None) -> None:
    if result is not None and result not in RESULTS:
        raise InvalidArgument(f"result must be one of {', '.join(RESULTS)}, not {result!r}.")


def _em_result_condition(result: str | None) -> str | None:
    """EM's filter for an outcome when every run is listed (the newest run decides otherwise)."""
    em_result = _EM_RESULT_OF.get(result or "")
    return f"Result=={quote_value(em_result)}" if em_result else None


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_ROWS_PER_PAGE:
        raise InvalidArgument(f"page_size must be between 1 and {MAX_ROWS_PER_PAGE}, not {page_size}.")


# --- find_job_sessions ------------------------------------------------------------------------------------


async def find_job_sessions(
    em: EmContext,
    now: datetime,
    *,
    job_name: str | None = None,
    backup_server: str | None = None,
    result: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    newest_per_job: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> FindJobSessionsResult:
    offset = 0
    if cursor is not None:
        position = RowCursor.decode("job_sessions", "find_job_sessions", cursor, _job_arguments_ok)
        arguments, offset = position.arguments, position.offset
        job_name, backup_server, result = arguments["job_name"], arguments["backup_server"], arguments["result"]
        created_after, created_before = arguments["created_after"], arguments["created_before"]
        newest_per_job, page_size = arguments["newest_per_job"], arguments["page_size"]
    check_text("job_name", job_name)
    _check_result(result)
    _check_page_size(page_size)
    window = window_of(created_after, created_before, now)
    expression = conditions(
        f"JobName=={quote_value(job_name)}" if job_name else None,
        server_condition(backup_server),
        # Sent to EM only when every run is listed: the newest run of a job decides its outcome.
        None if newest_per_job else _em_result_condition(result),
        *time_conditions(window),
    )
    read = await read_all(em, "BackupJobSession", filter=expression, max_items=MAX_WINDOW_ITEMS)
    sessions = [item for item in read.items if isinstance(item, BackupJobSession)]
    requests = read.requests
    runs = [job_run(session) for session in sessions]
    if newest_per_job:
        runs = _newest_per_job(runs)
    if result is not None:  # also after EM's filter: a run still going on may carry a Result already
        runs = [run for run in runs if run.outcome == result]
    note = None if read.complete else f"Only the newest {len(sessions)} runs of the window were read."
    if not runs and job_name and (missing := await unknown_name(em, "Job", "Name", job_name, "job")):
        raise missing
    if not runs:
        note = _nothing(window, "job run")
    arguments = {
        "job_name": job_name,
        "backup_server": backup_server,
        "result": result,
        "created_after": window.created_after,
        "created_before": window.created_before or _pin(sessions),
        "newest_per_job": newest_per_job,
        "page_size": page_size,
    }
    counts = count([run.outcome for run in runs])

    def build(rows: list[JobRun], shared: dict[str, Any] | None, next_offset: int | None) -> FindJobSessionsResult:
        return FindJobSessionsResult(
            sessions=rows,
            shared=shared,
            summary=_summary(runs, newest_per_job, window),
            counts=counts,
            newest_per_job=newest_per_job,
            window=window,
            returned=len(rows),
            total=len(runs),
            next_cursor=None
            if next_offset is None
            else RowCursor("job_sessions", "find_job_sessions", arguments, next_offset).encode(),
            truncated=next_offset is not None,
            em_requests=requests,
            note=note if next_offset is None else more_rows_note(note, offset, len(rows), len(runs)),
        )

    return page_of(em, runs, offset, page_size, build)


def _newest_per_job(runs: Sequence[JobRun]) -> list[JobRun]:
    """The newest run of each job (runs come newest first), with how many runs and failed runs came before."""
    by_job: dict[str, list[JobRun]] = {}
    for run in runs:
        by_job.setdefault((run.job_name or "").casefold(), []).append(run)
    newest = []
    for job_runs in by_job.values():
        failed_before = sum(1 for run in job_runs[1:] if run.outcome == "failed")
        newest.append(
            job_runs[0].model_copy(update={"runs_in_window": len(job_runs), "failed_runs_before": failed_before})
        )
    return sorted(newest, key=lambda run: (run.job_name or "").casefold())


def _summary(runs: Sequence[JobRun], newest_per_job: bool, window: Window) -> str:
    if not runs:
        return "No job run in the window."
    counts = count([run.outcome for run in runs])
    parts = [
        f"{getattr(counts, name)} {label}"
        for name, label in (
            ("succeeded", "succeeded"),
            ("warning", "with warnings"),
            ("failed", "failed"),
            ("running", "still running"),
            ("unknown", "without a result"),
        )
        if getattr(counts, name)
    ]
    subject = f"{_plural(len(runs), 'job')} ran" if newest_per_job else _plural(len(runs), "job run")
    retried = sum(1 for run in runs if newest_per_job and run.failed_runs_before and run.outcome == "succeeded")
    tail = f" ({retried} only after an automatic retry)" if retried else ""
    since = f" since {window.created_after}" if window.created_after else ""
    return f"{subject}{since}: {', '.join(parts)}{tail}."


def _nothing(window: Window, what: str) -> str:
    span = "the last 24 hours" if window.defaulted else "the window"
    return f"No {what} in {span}. Widen the window (created_after) or drop filters to see more."


def _pin(sessions: Sequence[Any]) -> str | None:
    """The end of an open window for later pages: just after the newest item the first page saw."""
    newest = next((getattr(s, "creation_time", None) for s in sessions if getattr(s, "creation_time", None)), None)
    return None if newest is None else _after(newest)


def _after(timestamp: str) -> str:
    return em_time(parse_timestamp(timestamp) + timedelta(microseconds=1))


def _job_arguments_ok(arguments: dict[str, Any]) -> bool:
    return (
        set(arguments)
        == {"job_name", "backup_server", "result", "created_after", "created_before", "newest_per_job", "page_size"}
        and all(
            arguments[k] is None or isinstance(arguments[k], str)
            for k in ("job_name", "backup_server", "result", "created_after", "created_before")
        )
        and type(arguments["newest_per_job"]) is bool
        and type(arguments["page_size"]) is int
    )


# --- get_job_session --------------------------------------------------------------------------------------


def session_guid(identifier: str, policy: LinkPolicy) -> str:
    text = identifier.strip()
    if GUID.match(text):
        return text.lower()
    if match := _SESSION_UID.match(text):
        return match.group(1).lower()
    if text.lower().startswith(("http://", "https://", "/api/")):
        target = policy.vet(text)
        if target.kind == "BackupJobSession" and target.single:
            return target.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].lower()
    raise InvalidArgument(
        f"{identifier!r} is not a job session id: expected its GUID, its UID (urn:veeam:BackupJobSession:<GUID>) "
        "or its href (/api/backupSessions/<GUID>), as find_job_sessions returns them. Nothing was sent."
    )


async def get_job_session(em: EmContext, session_id: str) -> JobSessionDetail:
    guid = session_guid(session_id, em.policy)
    session = await fetch_entity(
        em,
        "backupSessions",
        guid,
        BackupJobSession,
        missing=f"No job session with id {guid} exists on Enterprise Manager (retention may have removed it). "
        "find_job_sessions lists the runs EM holds.",
        what="a job session",
    )
    read = await read_all(
        em,
        "BackupTaskSession",
        filter=f"JobSessionUid=={quote_value('urn:veeam:BackupJobSession:' + guid)}",
        sort=("asc", "CreationTime"),
        pin=None,
        max_items=MAX_WINDOW_ITEMS,
    )
    tasks = [task_run(task) for task in read.items if isinstance(task, BackupTaskSession)]
    order = {"failed": 0, "warning": 1, "running": 2, "unknown": 3, "succeeded": 4}
    tasks.sort(key=lambda task: (order[task.outcome], (task.vm_name or "").casefold()))
    outcome = outcome_of(session.state, session.result)
    counts = count([task.outcome for task in tasks])

    def build(count_: int) -> JobSessionDetail:
        left = len(tasks) - count_
        note = None
        if outcome == "running":
            note = "The run is still going on: its result is not final, and tasks still running have no outcome yet."
        if left:
            note = (f"{note} " if note else "") + (
                f"{left} tasks (the last rows, successes first) were left out to fit the size limit: "
                "find_task_sessions with job_name and a window around the run lists them."
            )
        return JobSessionDetail(
            session=session,
            outcome=outcome,
            tasks=tasks[:count_],
            counts=counts,
            returned=count_,
            total=len(tasks),
            truncated=left > 0,
            em_requests=1 + read.requests,
            note=note,
        )

    return em.budget.longest_fitting(len(tasks), build)


# --- find_task_sessions -----------------------------------------------------------------------------------


async def find_task_sessions(
    em: EmContext,
    now: datetime,
    *,
    vm_name: str | None = None,
    job_name: str | None = None,
    result: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    newest_per_vm: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> FindTaskSessionsResult:
    offset = 0
    if cursor is not None:
        position = RowCursor.decode("task_sessions", "find_task_sessions", cursor, _task_arguments_ok)
        arguments, offset = position.arguments, position.offset
        vm_name, job_name, result = arguments["vm_name"], arguments["job_name"], arguments["result"]
        created_after, created_before = arguments["created_after"], arguments["created_before"]
        newest_per_vm, page_size = arguments["newest_per_vm"], arguments["page_size"]
    check_text("vm_name", vm_name)
    check_text("job_name", job_name)
    _check_result(result)
    _check_page_size(page_size)
    window = window_of(created_after, created_before, now)
    expression = conditions(
        f"VmDisplayName=={quote_value(vm_name)}" if vm_name else None,
        f"JobName=={quote_value(job_name)}" if job_name else None,
        None if newest_per_vm else _em_result_condition(result),
        *time_conditions(window),
    )
    read = await read_all(em, "BackupTaskSession", filter=expression, max_items=MAX_WINDOW_ITEMS)
    tasks = [item for item in read.items if isinstance(item, BackupTaskSession)]
    requests = read.requests
    runs = [task_run(task) for task in tasks]
    if newest_per_vm:
        runs = _newest_per_vm(runs)
    if result is not None:  # also after EM's filter: a task still going on may carry a Result already
        runs = [run for run in runs if run.outcome == result]
    note = None if read.complete else f"Only the newest {len(tasks)} tasks of the window were read."
    if not runs:
        for name, em_type, field, what in (
            (job_name, "Job", "Name", "job"),
            (vm_name, "VmRestorePoint", "VmDisplayName", "VM"),
        ):
            if name and (missing := await unknown_name(em, em_type, field, name, what)):
                raise missing
        note = _nothing(window, "task (VM processed by a job)")
    arguments = {
        "vm_name": vm_name,
        "job_name": job_name,
        "result": result,
        "created_after": window.created_after,
        "created_before": window.created_before or _pin(tasks),
        "newest_per_vm": newest_per_vm,
        "page_size": page_size,
    }
    counts = count([run.outcome for run in runs])

    def build(rows: list[TaskRun], shared: dict[str, Any] | None, next_offset: int | None) -> FindTaskSessionsResult:
        return FindTaskSessionsResult(
            tasks=rows,
            shared=shared,
            summary=_task_summary(runs, newest_per_vm),
            counts=counts,
            newest_per_vm=newest_per_vm,
            window=window,
            returned=len(rows),
            total=len(runs),
            next_cursor=None
            if next_offset is None
            else RowCursor("task_sessions", "find_task_sessions", arguments, next_offset).encode(),
            truncated=next_offset is not None,
            em_requests=requests,
            note=note if next_offset is None else more_rows_note(note, offset, len(rows), len(runs)),
        )

    return page_of(em, runs, offset, page_size, build)


def _newest_per_vm(runs: Sequence[TaskRun]) -> list[TaskRun]:
    """The newest task of each VM (tasks come newest first), with its attempts and the last failure's reason."""
    by_vm: dict[str, list[TaskRun]] = {}
    for run in runs:
        by_vm.setdefault((run.vm_name or "").casefold(), []).append(run)
    newest = []
    for vm_runs in by_vm.values():
        failed = [run for run in vm_runs if run.outcome == "failed"]
        head = vm_runs[0]
        earlier = failed[0].reason if failed and head.outcome != "failed" else None
        newest.append(
            head.model_copy(
                update={
                    "attempts": len(vm_runs),
                    "failed_attempts": len(failed),
                    "earlier_reason": earlier,
                }
            )
        )
    order = {"failed": 0, "warning": 1, "running": 2, "unknown": 3, "succeeded": 4}
    return sorted(newest, key=lambda run: (order[run.outcome], (run.vm_name or "").casefold()))


def _task_summary(runs: Sequence[TaskRun], newest_per_vm: bool) -> str:
    if not runs:
        return "No VM was processed in the window."
    counts = count([run.outcome for run in runs])
    parts = [
        f"{getattr(counts, name)} {label}"
        for name, label in (
            ("failed", "failed"),
            ("warning", "with warnings"),
            ("succeeded", "succeeded"),
            ("running", "still running"),
            ("unknown", "without a result"),
        )
        if getattr(counts, name)
    ]
    subject = _plural(len(runs), "VM") if newest_per_vm else _plural(len(runs), "task")
    recovered = sum(1 for run in runs if newest_per_vm and run.failed_attempts and run.outcome != "failed")
    tail = f"; {recovered} of them only after a failed attempt (see earlier_reason)" if recovered else ""
    return f"{subject}: {', '.join(parts)}{tail}."


def _task_arguments_ok(arguments: dict[str, Any]) -> bool:
    return (
        set(arguments)
        == {"vm_name", "job_name", "result", "created_after", "created_before", "newest_per_vm", "page_size"}
        and all(
            arguments[k] is None or isinstance(arguments[k], str)
            for k in ("vm_name", "job_name", "result", "created_after", "created_before")
        )
        and type(arguments["newest_per_vm"]) is bool
        and type(arguments["page_size"]) is int
    )


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
