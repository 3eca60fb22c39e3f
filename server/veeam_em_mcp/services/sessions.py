"""Job runs and VM outcomes: did last night's jobs succeed, which VMs failed and why.

Everything comes from EM's query service, sorted by creation time (EM has no default order):
``type=BackupJobSession`` for runs, ``type=BackupTaskSession`` for VMs, filtered by the fields the query
offers (``JobName``/``JobUid``, ``VmDisplayName``, ``CreationTime``…), never one GET per task, and read as
one consistent window (``querying.read_fields``: only the fields a row uses).

"Did it succeed" means the newest run of each job in the window: an automatic retry is a run of its own
(``IsRetry``), so a failed run followed by a successful retry succeeded. Likewise a VM's newest task
tells how it stands. Jobs are told apart by their UID and VMs by their reference (HierarchyObjRef), never
by name: "Backup Job 1" exists on every backup server, and a VM name repeats across vCenters. A filter on
the outcome (``result``) is applied to those rows here, after the whole window is read, so that a filter
that keeps nothing can still say what the window held. ``FailureMessage`` is empty on real servers; the
reasons are in each task session's ``Reason``, given whole up to ``MAX_TEXT_CHARS`` (longer: cut, and the
row says how long it was). A task's row is ``task_rows``'; one run with its tasks is ``job_session``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..errors import BadRequest
from ..models.arguments import FindJobSessionsArgs, FindTaskSessionsArgs, Results, outcomes
from ..models.base import parse_timestamp
from ..models.estate import (
    Counts,
    FindJobSessionsResult,
    FindTaskSessionsResult,
    JobRun,
    JobStats,
    TaskRun,
    Window,
)
from ..representation.fields import JobSessionFields, ReplicaRunFields, ReplicaTaskFields, TaskRowFields
from ..representation.query import em_time
from .answers import paged
from .context import EmContext
from .estate import (
    count,
    guid_of,
    job_condition,
    job_id_in,
    same_names,
    server_condition,
    time_conditions,
    uid_guid,
    unknown_name,
    vm_condition,
    window_of,
)
from .gather import together
from .query_terms import NEWEST_FIRST, conditions
from .querying import QueryWindow, read_fields
from .replicas import Members, replica_job_members, with_replicated_vm_ids
from .runs import Attempts, Run, Session, attempts_index, is_agent_computer, runs_of
from .task_rows import ORDER, RowsAhead, agent_note, computer_run, task_key

_LABELS = (
    ("succeeded", "succeeded"),
    ("warning", "with warnings"),
    ("failed", "failed"),
    ("running", "still running"),
    ("unknown", "without a result"),
)


def job_run(run: Run) -> JobRun:
    """A run as a row: its newest session's id, the whole run's times and outcome, its first attempt's."""
    last = run.last
    outcome = run.outcome
    several = len(run.attempts) > 1
    return JobRun(
        id=last.id,
        first_session=run.first.id if several else None,
        job_name=run.first.job_name or (run.first.job.name if run.first.job else None),
        job_id=uid_guid(run.first.job_uid) or guid_of(run.first.job),
        job_type=run.first.job_type,
        outcome=outcome,
        first_attempt=run.first_outcome if several else None,
        attempts=len(run.attempts),
        result=None if outcome == "running" else last.result,
        state=last.state,
        start=run.start,
        end=run.end,
        duration_seconds=run.seconds,
        is_retry=last.is_retry,
        backup_server=last.backup_server.name if last.backup_server else None,
        sessions=[s.id for s in run.attempts if s.id] if several else None,
    )


def _phrase(counts: Counts) -> str:
    parts = [f"{getattr(counts, name)} {label}" for name, label in _LABELS if getattr(counts, name)]
    return ", ".join(parts) or "none"


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _nothing(window: Window, what: str) -> str:
    span = "the last 24 hours" if window.defaulted else "the window"
    return f"No {what} in {span}. Widen the window (created_after) or drop filters to see more."


def join_notes(*parts: str | None) -> str | None:
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
        # Only the fields a run uses, straight from the pages (representation.fields); replication beside them.
        read, (replicas, replica_note, replica_requests) = await together(
            lambda: read_fields(em, JobSessionFields, filter=expression, sort=NEWEST_FIRST),
            lambda: replica_sessions(em, expression),
        )
        sessions: list[Session] = list(read.items)
        requests = read.requests + replica_requests
        covered = [COVERED_BACKUP]
        if replicas is not None:
            sessions += replicas
            covered.append(COVERED_REPLICA)
        earlier: list[Session] = []
        every = runs_of(sessions, earlier)
        rows = _per_job(every) if args.newest_per_job else [job_run(run) for run in every]
        counts = count([row.outcome for row in rows])
        wanted = outcomes(args.result)
        kept = [row for row in rows if wanted is None or row.outcome in wanted]
        if not every and args.job_name and not job_id_in(args.job_name):
            if missing := await unknown_name(em, "Job", "Name", args.job_name, "job"):
                raise missing
        note = join_notes(
            read.issue,
            None if read.complete else f"Only the newest {len(sessions)} sessions of the window were read (page cap).",
            replica_note,
            _copies_started_before(earlier),
            same_names(((row.job_name, row.job_id or row.job_name or "", row.backup_server) for row in kept), "job"),
            _nothing(window, "job run") if not every else None,
            _none_kept(len(rows), len(kept), args.result, "job" if args.newest_per_job else "run"),
        )
        return FindJobSessionsResult(
            sessions=kept,
            summary=_job_summary(rows, kept, args, window),
            counts=counts,
            newest_per_job=args.newest_per_job,
            window=window,
            covered=covered,
            returned=len(kept),
            total=len(kept),
            as_of=em_time(now),
            em_requests=requests,
            note=note,
        )

    return await paged(em, "find_job_sessions", arguments, cursor, FindJobSessionsResult, compute)


def _copies_started_before(workers: Sequence[Session]) -> str | None:
    """Said, not silently left out: copy workers of the window whose copy run started before it."""
    if not workers:
        return None
    jobs = sorted({(w.job_name or "").split("\\", 1)[0] for w in workers} - {""}, key=str.casefold)
    return (
        f"{len(workers)} copy worker session(s) of {', '.join(jobs) or 'a backup copy job'} ran in the window as "
        "part of a copy run that started before it, so that run is not listed: move created_after earlier to see it."
    )


COVERED_BACKUP = "backup, backup copy, Veeam Agent and file share jobs (EM's backup job sessions)"
COVERED_REPLICA = "replication jobs (EM's replica job sessions)"


async def replica_sessions(
    em: EmContext, expression: str | None
) -> tuple[list[ReplicaRunFields] | None, str | None, int]:
    """The replication sessions of the window (EM keeps them apart from backup sessions), or why not."""
    if "ReplicaJobSession" in em.unsupported:
        return None, "Replication jobs are not covered: this EM's query service has no replica job sessions.", 0
    try:
        read = await read_fields(em, ReplicaRunFields, filter=expression, sort=NEWEST_FIRST)
    except BadRequest as exc:
        em.unsupported.add("ReplicaJobSession")
        said = f" (EM said: {exc.em_message})" if exc.em_message else ""
        return None, f"Replication jobs are not covered: EM refused the query for replica job sessions{said}.", 1
    return read.items, read.issue, read.requests


def _per_job(runs: Sequence[Run]) -> list[JobRun]:
    """One row per job: its newest run (runs come newest first), with the statistics of its runs."""
    by_job: dict[str, list[Run]] = {}
    for run in runs:
        by_job.setdefault(run.key, []).append(run)
    rows = []
    for job_runs in by_job.values():
        rows.append(job_run(job_runs[0]).model_copy(update={"stats": _stats(job_runs)}))
    return sorted(rows, key=lambda row: ((row.job_name or "").casefold(), row.backup_server or "", row.job_id or ""))


def _stats(runs: Sequence[Run]) -> JobStats:
    # Each run's outcome and duration worked out once (each is derived from its sessions anew when asked).
    last = [run.outcome for run in runs]
    first = [run.first_outcome for run in runs]
    seconds = [None if outcome == "running" else run.seconds for run, outcome in zip(runs, last, strict=True)]
    finished = [spent for spent in seconds if spent is not None]
    newest = finished[0] if finished else None
    median = int(statistics.median(finished)) if finished else None
    return JobStats(
        runs=len(runs),
        first_attempt_succeeded=first.count("succeeded"),
        succeeded_after_retry=sum(
            1 for run, was, now in zip(runs, first, last, strict=True)
            if len(run.attempts) > 1 and was == "failed" and now == "succeeded"
        ),
        warning=last.count("warning"),
        failed=last.count("failed"),
        running=last.count("running"),
        duration_min_seconds=min(finished) if finished else None,
        duration_median_seconds=median,
        duration_max_seconds=max(finished) if finished else None,
        newest_vs_median=round(newest / median, 2) if newest is not None and median else None,
    )


def _kept_said(kept: int, result: Results, which: str) -> str:
    """How many rows the result filter kept, in words (the summaries of runs and of tasks say it alike)."""
    asked = " or ".join(sorted(outcomes(result) or ()))
    if kept:
        return f" {kept} {'has' if kept == 1 else 'have'} the outcome {asked}{which}."
    return f" None has the outcome {asked}{which}."


def _job_summary(rows: Sequence[JobRun], kept: Sequence[JobRun], args: FindJobSessionsArgs, window: Window) -> str:
    if not rows:
        return "No job run in the window."
    subject = f"{_plural(len(rows), 'job')} ran" if args.newest_per_job else _plural(len(rows), "job run")
    retried = sum(1 for row in rows if row.first_attempt == "failed" and row.outcome == "succeeded")
    tail = f" ({retried} only after an automatic retry)" if retried else ""
    since = f" since {window.created_after}" if window.created_after else ""
    line = f"{subject}{since}: {_phrase(count([row.outcome for row in rows]))}{tail}."
    if args.result is not None:
        line += _kept_said(len(kept), args.result, " in its newest run" if args.newest_per_job else "")
    if args.newest_per_job:
        slowest = max((row for row in rows if row.duration_seconds is not None), key=lambda r: r.duration_seconds or 0,
                      default=None)
        if slowest is not None:
            line += f" Longest newest run: {slowest.job_name} ({slowest.duration_seconds} s, retries included)."
    return line


@dataclass(frozen=True)
class _Replication:
    """What ``find_task_sessions`` reads of replication, beside the backup tasks and runs."""

    runs: list[ReplicaRunFields]
    tasks: list[ReplicaTaskFields]
    run_jobs: dict[str, str]  # replication session id -> its job's id
    members: Members  # those jobs' VM members by name (replicas.owners)
    note: str | None
    requests: int


# --- find_task_sessions -----------------------------------------------------------------------------------


async def find_task_sessions(
    em: EmContext, now: datetime, arguments: FindTaskSessionsArgs, cursor: str | None = None
) -> FindTaskSessionsResult:

    async def compute(args: FindTaskSessionsArgs) -> FindTaskSessionsResult:
        window = window_of(args.created_after, args.created_before, now)
        vm_filter, vm_ref, requests = await vm_condition(em, args.vm_name)
        jobs = job_condition(args.job_name)
        expression = conditions(vm_filter, jobs, *time_conditions(window))
        run_filter = conditions(jobs, *time_conditions(window))

        # Each task's row is made as its page is read, once the window's runs are known (task_rows.RowsAhead).
        ahead = RowsAhead()

        async def runs_and_replication() -> tuple[QueryWindow[JobSessionFields], _Replication, Attempts]:
            """The window's runs (a run: a job's start and its retries: which run and attempt each task is), with
            replication's, which EM keeps apart with its tasks (an EM without them is said); then the replica
            tasks and the members of their jobs: EM's replica task names the VM without its reference."""
            runs_read, (replica_runs, note, spent) = await together(
                lambda: read_fields(em, JobSessionFields, filter=run_filter, sort=NEWEST_FIRST),
                lambda: replica_sessions(em, run_filter),
            )
            index = attempts_index(runs_of([*runs_read.items, *(replica_runs or [])]))
            ahead.runs_known(index)
            if replica_runs is None:
                return runs_read, _Replication([], [], {}, {}, note, spent), index
            tasks = await read_fields(em, ReplicaTaskFields, filter=expression, sort=NEWEST_FIRST)
            run_jobs = {run.id: job for run in replica_runs
                        if run.id and (job := uid_guid(run.job_uid) or guid_of(run.job))}
            unnamed = (guid_of(task.replica_session) for task in tasks.items if not task.vm_uid)
            members, looked_up = await replica_job_members(em, run_jobs, unnamed)
            requests = spent + tasks.requests + looked_up
            replicated = _Replication(replica_runs, tasks.items, run_jobs, members, note or tasks.issue, requests)
            return runs_read, replicated, index

        # Side by side: a row per task of the window (only the fields a row shows, straight from the pages), and
        # the runs and replication.
        tasks_read, (runs_read, replicated, index) = await together(
            lambda: read_fields(em, TaskRowFields, filter=expression, sort=NEWEST_FIRST, each_page=ahead.page),
            runs_and_replication,
        )
        requests += tasks_read.requests + runs_read.requests + replicated.requests
        replica_note, replica_tasks = replicated.note, replicated.tasks
        sessions: list[Session] = [*runs_read.items, *replicated.runs]
        tasks: list[TaskRowFields] = [*tasks_read.items, *replica_tasks]
        # A Veeam Agent job's computers: its per-computer sessions are among the window's runs (no more requests).
        computers = [computer_run(s, index) for s in sessions if is_agent_computer(s)]
        if args.vm_name is not None:  # a computer by its name (EM gives it no reference a VM id could match)
            computers = [row for row in computers if (row.vm_name or "").casefold() == args.vm_name.casefold()]
        every = [ahead.row(task, index) for task in tasks] + computers
        if replica_tasks or computers:  # newest first across every kind
            every.sort(key=lambda row: parse_timestamp(row.start or "0001-01-01T00:00:00Z"), reverse=True)
        if replicated.members:  # each replica task's VM by the reference its replication job lists it under
            every = with_replicated_vm_ids(every, replicated.run_jobs, replicated.members)
        if vm_ref is not None:  # a VM given by id: other VMs of that name are not it
            every = [run for run in every if (run.vm_id or "").lower() == vm_ref]
        rows = _newest_per_vm(every) if args.newest_per_vm else every
        counts = count([row.outcome for row in rows])
        wanted = outcomes(args.result)
        kept = [row for row in rows if wanted is None or row.outcome in wanted]
        if args.min_failed_runs is not None:
            kept = [row for row in kept if (row.failed_runs or 0) >= args.min_failed_runs]
        if not every:
            for name, em_type, field, what in (
                (args.job_name if not job_id_in(args.job_name) else None, "Job", "Name", "job"),
                (args.vm_name if vm_ref is None else None, "VmRestorePoint", "VmDisplayName", "VM"),
            ):
                if name and (missing := await unknown_name(em, em_type, field, name, what)):
                    raise missing
        note = join_notes(
            tasks_read.issue,
            runs_read.issue,
            replica_note,
            agent_note(kept),
            None if tasks_read.complete else f"Only the newest {len(tasks)} tasks of the window were read (page cap).",
            same_names(((row.vm_name, task_key(row), row.backup_server) for row in kept), "VM"),
            _nothing(window, "task (VM processed by a job)") if not every else None,
            _none_kept(len(rows), len(kept), args.result, "VM" if args.newest_per_vm else "task"),
            _cut(kept),
        )
        return FindTaskSessionsResult(
            tasks=kept,
            summary=_task_summary(rows, kept, args),
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


def _none_kept(rows: int, kept: int, result: Results, what: str) -> str | None:
    """Filtering is not absence: when the result filter keeps nothing, say that the window did hold rows."""
    if not rows or kept or result is None:
        return None
    asked = " or ".join(sorted(outcomes(result) or ()))
    return (
        f"The window holds {_plural(rows, what)}, none with the outcome {asked} (the summary says how they ended); "
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
    by_vm: dict[tuple[str, bool], list[TaskRun]] = {}
    for run in runs:  # a VM's replication is a row of its own: a replica's outcome is not its backup's
        by_vm.setdefault((task_key(run), bool(run.replication)), []).append(run)
    newest = []
    for vm_runs in by_vm.values():
        failed = [run for run in vm_runs if run.outcome == "failed"]
        head = vm_runs[0]
        earlier = failed[0].reason if failed and head.outcome != "failed" else None
        # Per run (tasks come newest first): the VM's last attempt in it tells how the run left it.
        last_in_run: dict[str, TaskRun] = {}
        for row in vm_runs:
            last_in_run.setdefault(row.run or row.job_session or "", row)
        newest.append(
            head.model_copy(
                update={
                    "attempts": len(vm_runs),
                    "failed_attempts": len(failed),
                    "earlier_reason": earlier,
                    "runs": len(last_in_run),
                    "failed_runs": sum(1 for row in last_in_run.values() if row.outcome == "failed"),
                }
            )
        )
    return sorted(newest, key=lambda run: (ORDER[run.outcome], (run.vm_name or "").casefold(), task_key(run)))


def _task_summary(runs: Sequence[TaskRun], kept: Sequence[TaskRun], args: FindTaskSessionsArgs) -> str:
    if not runs:
        return "No VM was processed in the window."
    subject = _plural(len(runs), "VM") if args.newest_per_vm else _plural(len(runs), "task")
    recovered = sum(1 for run in runs if args.newest_per_vm and run.failed_attempts and run.outcome != "failed")
    tail = f"; {recovered} of them only after a failed attempt (see earlier_reason)" if recovered else ""
    line = f"{subject} processed in the window: {_phrase(count([run.outcome for run in runs]))}{tail}."
    twice = sum(1 for run in runs if (run.failed_runs or 0) >= 2)
    if twice:
        line += f" {_plural(twice, 'VM')} failed in two or more separate runs, after their retries (failed_runs)."
    if args.result is not None:
        line += _kept_said(len(kept), args.result, " in its newest attempt" if args.newest_per_vm else "")
        if not kept:
            failed_fixed = sum(run.failed_attempts or 0 for run in runs if run.outcome != "failed")
            if "failed" in (outcomes(args.result) or ()) and failed_fixed:
                verb = "was" if failed_fixed == 1 else "were"
                line += f" {_plural(failed_fixed, 'failed attempt')} {verb} fixed by a retry."
    return line
