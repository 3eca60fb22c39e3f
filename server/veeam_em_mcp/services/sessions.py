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
row says how long it was). The VMs' outcomes are ``task_sessions``' (a task's row is ``task_rows``'); one run with
its tasks is ``job_session``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime

from ..errors import BadRequest
from ..models.arguments import FindJobSessionsArgs, Results, outcomes
from ..models.estate import (
    Counts,
    FindJobSessionsResult,
    JobRun,
    JobStats,
    Window,
)
from ..representation.fields import JobSessionFields, ReplicaRunFields
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
    window_of,
)
from .gather import together
from .query_terms import NEWEST_FIRST, conditions
from .querying import read_fields
from .runs import Run, Session, runs_of

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


def phrase(counts: Counts) -> str:
    parts = [f"{getattr(counts, name)} {label}" for name, label in _LABELS if getattr(counts, name)]
    return ", ".join(parts) or "none"


def plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def nothing_in(window: Window, what: str) -> str:
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
            nothing_in(window, "job run") if not every else None,
            none_kept(len(rows), len(kept), args.result, "job" if args.newest_per_job else "run"),
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


def kept_said(kept: int, result: Results, which: str) -> str:
    """How many rows the result filter kept, in words (the summaries of runs and of tasks say it alike)."""
    asked = " or ".join(sorted(outcomes(result) or ()))
    if kept:
        return f" {kept} {'has' if kept == 1 else 'have'} the outcome {asked}{which}."
    return f" None has the outcome {asked}{which}."


def _job_summary(rows: Sequence[JobRun], kept: Sequence[JobRun], args: FindJobSessionsArgs, window: Window) -> str:
    if not rows:
        return "No job run in the window."
    subject = f"{plural(len(rows), 'job')} ran" if args.newest_per_job else plural(len(rows), "job run")
    retried = sum(1 for row in rows if row.first_attempt == "failed" and row.outcome == "succeeded")
    tail = f" ({retried} only after an automatic retry)" if retried else ""
    since = f" since {window.created_after}" if window.created_after else ""
    line = f"{subject}{since}: {phrase(count([row.outcome for row in rows]))}{tail}."
    if args.result is not None:
        line += kept_said(len(kept), args.result, " in its newest run" if args.newest_per_job else "")
    if args.newest_per_job:
        slowest = max((row for row in rows if row.duration_seconds is not None), key=lambda r: r.duration_seconds or 0,
                      default=None)
        if slowest is not None:
            line += f" Longest newest run: {slowest.job_name} ({slowest.duration_seconds} s, retries included)."
    return line


def none_kept(rows: int, kept: int, result: Results, what: str) -> str | None:
    """Filtering is not absence: when the result filter keeps nothing, say that the window did hold rows."""
    if not rows or kept or result is None:
        return None
    asked = " or ".join(sorted(outcomes(result) or ()))
    return (
        f"The window holds {plural(rows, what)}, none with the outcome {asked} (the summary says how they ended); "
        "drop result to list them."
    )
