"""Job runs and VM outcomes: did last night's jobs succeed, which VMs failed and why.

Everything comes from EM's query service, sorted by creation time (EM has no default order):
``type=BackupJobSession`` for runs, ``type=BackupTaskSession`` for VMs, filtered by the fields the query
offers (``JobName``/``JobUid``, ``VmDisplayName``, ``CreationTime``…), never one GET per task, and read as
one consistent window (``querying.read_all``).

"Did it succeed" means the newest run of each job in the window: an automatic retry is a run of its own
(``IsRetry``), so a failed run followed by a successful retry succeeded. Likewise a VM's newest task
tells how it stands. Jobs are told apart by their UID and VMs by their reference (HierarchyObjRef), never
by name: "Backup Job 1" exists on every backup server, and a VM name repeats across vCenters. A filter on
the outcome (``result``) is applied to those rows here, after the whole window is read, so that a filter
that keeps nothing can still say what the window held. ``FailureMessage`` is empty on real servers; the
reasons are in each task session's ``Reason``, given whole up to ``MAX_TEXT_CHARS`` (longer: cut, and the
row says how long it was).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..errors import InvalidArgument
from ..models.arguments import FindJobSessionsArgs, FindTaskSessionsArgs, GetJobSessionArgs
from ..models.base import clip
from ..models.estate import (
    Counts,
    FindJobSessionsResult,
    FindTaskSessionsResult,
    JobRun,
    JobSessionDetail,
    TaskRun,
    Window,
)
from ..models.resources import BackupJobSession, BackupTaskSession
from ..representation.ids import GUID, uid_pattern
from ..representation.links import LinkPolicy
from ..representation.query import em_time, quote_value
from .answers import paged
from .context import EmContext
from .estate import (
    count,
    duration,
    guid_of,
    job_condition,
    job_id_in,
    job_of_session_name,
    outcome_of,
    same_names,
    server_condition,
    time_conditions,
    uid_guid,
    unknown_name,
    vm_condition,
    vm_key,
    window_of,
)
from .fetch import fetch_entity
from .querying import NEWEST_FIRST, Sort, conditions, read_all

_SESSION_UID = uid_pattern("BackupJobSession")
_ORDER = {"failed": 0, "warning": 1, "running": 2, "unknown": 3, "succeeded": 4}
_LABELS = (
    ("succeeded", "succeeded"),
    ("warning", "with warnings"),
    ("failed", "failed"),
    ("running", "still running"),
    ("unknown", "without a result"),
)


def job_run(session: BackupJobSession) -> JobRun:
    outcome = outcome_of(session.state, session.result)
    return JobRun(
        id=session.id,
        job_name=session.job_name or (session.job.name if session.job else None),
        job_id=uid_guid(session.job_uid) or guid_of(session.job),
        job_type=session.job_type,
        outcome=outcome,
        result=None if outcome == "running" else session.result,
        state=session.state,
        start=session.creation_time,
        end=session.end_time,
        duration_seconds=duration(session.creation_time, session.end_time),
        is_retry=session.is_retry,
        backup_server=session.backup_server.name if session.backup_server else None,
    )


def task_run(task: BackupTaskSession) -> TaskRun:
    outcome = outcome_of(task.state, task.result)
    reason, reason_chars = clip(task.reason or None)
    return TaskRun(
        vm_name=task.vm_name,
        vm_id=task.vm_uid,
        job_name=job_of_session_name(task.job_session.name if task.job_session else None),
        backup_server=task.backup_server.name if task.backup_server else None,
        outcome=outcome,
        result=None if outcome == "running" else task.result,  # EM says Success for a task in progress
        state=task.state,
        reason=reason,
        reason_chars=reason_chars,
        start=task.creation_time,
        # A task still waiting (Pending) has not started: its creation time is when it was queued.
        end=task.end_time,
        total_size=task.total_size,
        restore_point=guid_of(task.vm_restore_point),
        job_session=guid_of(task.job_session),
    )


def job_key(run: JobRun) -> str:
    """A job's runs by its id; a backup copy job's worker runs (one per source) apart from its own."""
    if run.job_id is None:
        return f"name:{run.backup_server or '?'}:{(run.job_name or '').casefold()}"
    if (run.job_type or "").lower().endswith("worker"):
        return f"{run.job_id}:{(run.job_name or '').casefold()}"
    return run.job_id


def task_key(run: TaskRun) -> str:
    return vm_key(run.vm_id, run.backup_server, run.vm_name)


def _phrase(counts: Counts) -> str:
    parts = [f"{getattr(counts, name)} {label}" for name, label in _LABELS if getattr(counts, name)]
    return ", ".join(parts) or "none"


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _nothing(window: Window, what: str) -> str:
    span = "the last 24 hours" if window.defaulted else "the window"
    return f"No {what} in {span}. Widen the window (created_after) or drop filters to see more."


def _join(*parts: str | None) -> str | None:
    kept = [part for part in parts if part]
    return " ".join(kept) or None


# --- find_job_sessions ------------------------------------------------------------------------------------


async def find_job_sessions(
    em: EmContext, now: datetime, arguments: FindJobSessionsArgs, cursor: str | None = None
) -> FindJobSessionsResult:

    async def compute(args: FindJobSessionsArgs) -> FindJobSessionsResult:
        window = window_of(args.created_after, args.created_before, now)
        expression = conditions(job_condition(args.job_name), server_condition(args.backup_server),
                                *time_conditions(window))
        read = await read_all(em, "BackupJobSession", filter=expression, sort=NEWEST_FIRST)
        sessions = [item for item in read.items if isinstance(item, BackupJobSession)]
        requests = read.requests
        every = [job_run(session) for session in sessions]
        runs = _newest_per_job(every) if args.newest_per_job else every
        counts = count([run.outcome for run in runs])
        kept = [run for run in runs if args.result is None or run.outcome == args.result]
        if not every and args.job_name and not job_id_in(args.job_name):
            if missing := await unknown_name(em, "Job", "Name", args.job_name, "job"):
                raise missing
        note = _join(
            read.issue,
            None if read.complete else f"Only the newest {len(sessions)} runs of the window were read (EM's page cap).",
            same_names(((run.job_name, job_key(run), run.backup_server) for run in kept), "job"),
            _nothing(window, "job run") if not every else None,
            _none_kept(len(runs), len(kept), args.result, "job" if args.newest_per_job else "run"),
        )
        return FindJobSessionsResult(
            sessions=kept,
            summary=_job_summary(runs, kept, args, window),
            counts=counts,
            newest_per_job=args.newest_per_job,
            window=window,
            returned=len(kept),
            total=len(kept),
            as_of=em_time(now),
            em_requests=requests,
            note=note,
        )

    return await paged(em, "find_job_sessions", arguments, cursor, FindJobSessionsResult, compute)


def _newest_per_job(runs: Sequence[JobRun]) -> list[JobRun]:
    """The newest run of each job (runs come newest first), with how many runs and failed runs came before."""
    by_job: dict[str, list[JobRun]] = {}
    for run in runs:
        by_job.setdefault(job_key(run), []).append(run)
    newest = []
    for job_runs in by_job.values():
        failed_before = sum(1 for run in job_runs[1:] if run.outcome == "failed")
        newest.append(
            job_runs[0].model_copy(update={"runs_in_window": len(job_runs), "failed_runs_before": failed_before})
        )
    return sorted(newest, key=lambda run: ((run.job_name or "").casefold(), run.backup_server or "", job_key(run)))


def _job_summary(runs: Sequence[JobRun], kept: Sequence[JobRun], args: FindJobSessionsArgs, window: Window) -> str:
    if not runs:
        return "No job run in the window."
    subject = f"{_plural(len(runs), 'job')} ran" if args.newest_per_job else _plural(len(runs), "job run")
    retried = sum(1 for run in runs if args.newest_per_job and run.failed_runs_before and run.outcome == "succeeded")
    tail = f" ({retried} only after an automatic retry)" if retried else ""
    since = f" since {window.created_after}" if window.created_after else ""
    line = f"{subject}{since}: {_phrase(count([run.outcome for run in runs]))}{tail}."
    if args.result is not None:
        which = "in its newest run" if args.newest_per_job else ""
        line += (
            f" {len(kept)} {'has' if len(kept) == 1 else 'have'} the outcome {args.result} {which}".rstrip() + "."
            if kept
            else f" None has the outcome {args.result} {which}".rstrip() + "."
        )
    return line


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


async def get_job_session(
    em: EmContext, now: datetime, arguments: GetJobSessionArgs, cursor: str | None = None
) -> JobSessionDetail:
    async def compute(args: GetJobSessionArgs) -> JobSessionDetail:
        guid = session_guid(args.session_id, em.policy)  # a malformed id is refused before any request
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
            sort=Sort("CreationTime", "creation_time", False, "time"),
        )
        tasks = [task_run(task) for task in read.items if isinstance(task, BackupTaskSession)]
        tasks.sort(key=lambda task: (_ORDER[task.outcome], (task.vm_name or "").casefold(), task_key(task)))
        outcome = outcome_of(session.state, session.result)
        note = _join(
            read.issue,
            "The run is still going on: its result is not final, and tasks still running have no outcome yet."
            if outcome == "running"
            else None,
            same_names(((task.vm_name, task_key(task), task.vm_id) for task in tasks), "VM"),
        )
        return JobSessionDetail(
            session=session,
            outcome=outcome,
            tasks=tasks,
            counts=count([task.outcome for task in tasks]),
            returned=len(tasks),
            total=len(tasks),
            as_of=em_time(now),
            em_requests=1 + read.requests,
            note=note,
        )

    return await paged(em, "get_job_session", arguments, cursor, JobSessionDetail, compute)


# --- find_task_sessions -----------------------------------------------------------------------------------


async def find_task_sessions(
    em: EmContext, now: datetime, arguments: FindTaskSessionsArgs, cursor: str | None = None
) -> FindTaskSessionsResult:

    async def compute(args: FindTaskSessionsArgs) -> FindTaskSessionsResult:
        window = window_of(args.created_after, args.created_before, now)
        vm_filter, vm_ref, requests = await vm_condition(em, args.vm_name)
        expression = conditions(vm_filter, job_condition(args.job_name), *time_conditions(window))
        read = await read_all(em, "BackupTaskSession", filter=expression, sort=NEWEST_FIRST)
        requests += read.requests
        tasks = [item for item in read.items if isinstance(item, BackupTaskSession)]
        every = [task_run(task) for task in tasks]
        if vm_ref is not None:  # a VM given by id: other VMs of that name are not it
            every = [run for run in every if (run.vm_id or "").lower() == vm_ref]
        runs = _newest_per_vm(every) if args.newest_per_vm else every
        counts = count([run.outcome for run in runs])
        kept = [run for run in runs if args.result is None or run.outcome == args.result]
        if not every:
            for name, em_type, field, what in (
                (args.job_name if not job_id_in(args.job_name) else None, "Job", "Name", "job"),
                (args.vm_name if vm_ref is None else None, "VmRestorePoint", "VmDisplayName", "VM"),
            ):
                if name and (missing := await unknown_name(em, em_type, field, name, what)):
                    raise missing
        note = _join(
            read.issue,
            None if read.complete else f"Only the newest {len(tasks)} tasks of the window were read (EM's page cap).",
            same_names(((run.vm_name, task_key(run), run.backup_server) for run in kept), "VM"),
            _nothing(window, "task (VM processed by a job)") if not every else None,
            _none_kept(len(runs), len(kept), args.result, "VM" if args.newest_per_vm else "task"),
            _cut(kept),
        )
        return FindTaskSessionsResult(
            tasks=kept,
            summary=_task_summary(runs, kept, args),
            counts=counts,
            newest_per_vm=args.newest_per_vm,
            window=window,
            returned=len(kept),
            total=len(kept),
            as_of=em_time(now),
            em_requests=requests,
            note=note,
        )

    return await paged(em, "find_task_sessions", arguments, cursor, FindTaskSessionsResult, compute)


def _none_kept(rows: int, kept: int, result: str | None, what: str) -> str | None:
    """Filtering is not absence: when the result filter keeps nothing, say that the window did hold rows."""
    if not rows or kept or result is None:
        return None
    return (
        f"The window holds {_plural(rows, what)}, none with the outcome {result} (the summary says how they ended); "
        "drop result to list them."
    )


def _cut(rows: Sequence[TaskRun]) -> str | None:
    cut = sum(1 for row in rows if row.reason_chars)
    if not cut:
        return None
    return (
        f"{_plural(cut, 'reason')} longer than the rows can hold {'was' if cut == 1 else 'were'} cut (reason_chars "
        "says how long EM's text is); follow_link on the task session gives more of it."
    )


def _newest_per_vm(runs: Sequence[TaskRun]) -> list[TaskRun]:
    """The newest task of each VM (tasks come newest first), with its attempts and the last failure's reason."""
    by_vm: dict[str, list[TaskRun]] = {}
    for run in runs:
        by_vm.setdefault(task_key(run), []).append(run)
    newest = []
    for vm_runs in by_vm.values():
        failed = [run for run in vm_runs if run.outcome == "failed"]
        head = vm_runs[0]
        earlier = failed[0].reason if failed and head.outcome != "failed" else None
        newest.append(
            head.model_copy(
                update={"attempts": len(vm_runs), "failed_attempts": len(failed), "earlier_reason": earlier}
            )
        )
    return sorted(newest, key=lambda run: (_ORDER[run.outcome], (run.vm_name or "").casefold(), task_key(run)))


def _task_summary(runs: Sequence[TaskRun], kept: Sequence[TaskRun], args: FindTaskSessionsArgs) -> str:
    if not runs:
        return "No VM was processed in the window."
    subject = _plural(len(runs), "VM") if args.newest_per_vm else _plural(len(runs), "task")
    recovered = sum(1 for run in runs if args.newest_per_vm and run.failed_attempts and run.outcome != "failed")
    tail = f"; {recovered} of them only after a failed attempt (see earlier_reason)" if recovered else ""
    line = f"{subject} processed in the window: {_phrase(count([run.outcome for run in runs]))}{tail}."
    if args.result is not None:
        which = " in its newest attempt" if args.newest_per_vm else ""
        if kept:
            line += f" {len(kept)} {'has' if len(kept) == 1 else 'have'} the outcome {args.result}{which}."
        else:
            line += f" None has the outcome {args.result}{which}."
            failed_fixed = sum(run.failed_attempts or 0 for run in runs if run.outcome != "failed")
            if args.result == "failed" and failed_fixed:
                verb = "was" if failed_fixed == 1 else "were"
                line += f" {_plural(failed_fixed, 'failed attempt')} {verb} fixed by a retry."
    return line
