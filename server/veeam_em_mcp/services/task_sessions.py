"""VM outcomes: which VMs a window's runs processed, which failed and why (``find_task_sessions``).

One row per task (``type=BackupTaskSession``, and replication's ``ReplicaTaskSession``), read as one consistent
window with only the fields a row shows; the window's runs (``type=BackupJobSession`` and replication's) tell
which run and attempt each task was. The three are read side by side, and each task's row is made as its page
comes (``task_rows.RowsAhead``). A VM is told apart by its reference, never by its name; a VM's newest task tells
how it stands (``newest_per_vm``). The job runs themselves, and what both answers say alike, are ``sessions``'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..models.arguments import FindTaskSessionsArgs, outcomes
from ..models.base import parse_timestamp
from ..models.estate import FindTaskSessionsResult, TaskRun
from ..representation.collector import release_later
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
from .runs import Attempts, Session, attempts_index, is_agent_computer, runs_of
from .sessions import join_notes, kept_said, none_kept, nothing_in, phrase, plural, replica_sessions
from .task_rows import ORDER, RowsAhead, agent_note, computer_run, task_key


@dataclass(frozen=True)
class _Replication:
    """What ``find_task_sessions`` reads of replication, beside the backup tasks and runs."""

    runs: list[ReplicaRunFields]
    tasks: list[ReplicaTaskFields]
    run_jobs: dict[str, str]  # replication session id -> its job's id
    members: Members  # those jobs' VM members by name (replicas.owners)
    note: str | None
    requests: int


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
            await ahead.runs_known(index, em.client.settled)
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
            nothing_in(window, "task (VM processed by a job)") if not every else None,
            none_kept(len(rows), len(kept), args.result, "VM" if args.newest_per_vm else "task"),
            _cut(kept),
        )
        release_later(tasks_read, runs_read, replicated, ahead)  # the records, freed once the answer is sent
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


def _cut(rows: Sequence[TaskRun]) -> str | None:
    cut = sum(1 for row in rows if row.reason_chars)
    if not cut:
        return None
    return (
        f"{plural(cut, 'reason')} longer than the rows can hold {'was' if cut == 1 else 'were'} cut (reason_chars "
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
    subject = plural(len(runs), "VM") if args.newest_per_vm else plural(len(runs), "task")
    recovered = sum(1 for run in runs if args.newest_per_vm and run.failed_attempts and run.outcome != "failed")
    tail = f"; {recovered} of them only after a failed attempt (see earlier_reason)" if recovered else ""
    line = f"{subject} processed in the window: {phrase(count([run.outcome for run in runs]))}{tail}."
    twice = sum(1 for run in runs if (run.failed_runs or 0) >= 2)
    if twice:
        line += f" {plural(twice, 'VM')} failed in two or more separate runs, after their retries (failed_runs)."
    if args.result is not None:
        line += kept_said(len(kept), args.result, " in its newest attempt" if args.newest_per_vm else "")
        if not kept:
            failed_fixed = sum(run.failed_attempts or 0 for run in runs if run.outcome != "failed")
            if "failed" in (outcomes(args.result) or ()) and failed_fixed:
                verb = "was" if failed_fixed == 1 else "were"
                line += f" {plural(failed_fixed, 'failed attempt')} {verb} fixed by a retry."
    return line
