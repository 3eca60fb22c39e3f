"""Result models of the estate tools: job runs, VM outcomes, jobs, repositories, the protection report.

Rows are compact (what an administrator's question needs), say when the data is incomplete, and never
turn a running job into a success or a failure: ``outcome`` is ``running`` until EM says the run stopped.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import Model, UtcTimestamp
from .resources import BackupJobSession

Outcome = Literal["succeeded", "warning", "failed", "running", "unknown"]

SHARED = "Fields every row of this page has with the same value, left out of each row: read them as part of every row"
OUTCOME = (
    "succeeded, warning, failed, or running (EM has not finished it: its result means nothing yet); unknown when EM "
    "reported no result"
)


class Window(Model):
    """The time window a result covers (UTC)."""

    created_after: UtcTimestamp | None = Field(None, description="From this time on (inclusive)")
    created_before: UtcTimestamp | None = Field(None, description="Before this time (exclusive)")
    defaulted: bool = Field(False, description="True when the window is the default (the last 24 hours)")


class Counts(Model):
    """How many rows have each outcome."""

    succeeded: int = 0
    warning: int = 0
    failed: int = 0
    running: int = 0
    unknown: int = 0


# --- job runs ---------------------------------------------------------------------------------------


class JobRun(Model):
    """One job run (a job session); with newest_per_job, the newest run of its job in the window."""

    id: str | None = Field(None, description="Job session GUID: pass to get_job_session for its VMs and reasons")
    job_name: str | None = None
    job_type: str | None = Field(None, description="Backup, BackupCopy, ImmediateBackupCopy(Worker), AgentBackup…")
    outcome: Outcome = Field(description=OUTCOME)
    result: str | None = Field(None, description="EM's Result (Success, Warning, Failed); absent while running")
    state: str | None = Field(None, description="EM's State: Stopped when done; Starting, Working… while running")
    start: UtcTimestamp | None = Field(None, description="When the run started (UTC)")
    end: UtcTimestamp | None = Field(None, description="When it ended (UTC); absent while running")
    duration_seconds: int | None = Field(None, description="end - start, when both are known")
    is_retry: bool | None = Field(None, description="True for an automatic retry of an earlier failed run")
    backup_server: str | None = Field(None, description="Name of the backup server that ran it")
    runs_in_window: int | None = Field(
        None, description="With newest_per_job: how many runs of this job the window holds (retries included)"
    )
    failed_runs_before: int | None = Field(
        None, description="With newest_per_job: failed runs of this job in the window before this one"
    )


class FindJobSessionsResult(Model):
    """Job runs from EM's query service, newest first; with newest_per_job, one row per job: its outcome."""

    sessions: list[JobRun] = Field(description="The runs (newest_per_job: the newest run of each job, by job name)")
    shared: dict[str, Any] | None = Field(None, description=SHARED)
    summary: str = Field(description="One sentence: how many jobs or runs, and how they ended")
    counts: Counts = Field(description="Rows per outcome, over the whole window (not only this page)")
    newest_per_job: bool = Field(description="True: a job's newest run in the window is its answer")
    window: Window
    returned: int = Field(description="Rows in this result")
    total: int | None = Field(None, description="Rows in the whole answer (newest_per_job), when known")
    next_cursor: str | None = Field(None, description="Pass as cursor to get the next rows; absent at the end")
    truncated: bool = Field(False, description="True when more rows follow (next_cursor)")
    em_requests: int = Field(description="EM requests made for this result")
    note: str | None = Field(None, description="What was left out, or why nothing matched")


# --- VM outcomes --------------------------------------------------------------------------------------


class TaskRun(Model):
    """One VM in one job run (a task session); with newest_per_vm, the VM's newest task in the window."""

    vm_name: str | None = None
    job_name: str | None = Field(None, description="The job (from the job session's name)")
    outcome: Outcome = Field(description=OUTCOME)
    result: str | None = Field(None, description="EM's Result: Success, Warning or Failed")
    state: str | None = Field(None, description="Completed when done; InProgress or Pending while the run goes on")
    reason: str | None = Field(None, description="EM's whole text of why it failed or warned")
    start: UtcTimestamp | None = None
    end: UtcTimestamp | None = None
    total_size: int | None = Field(None, description="Bytes EM reports for the task (0 when it failed)")
    restore_point: str | None = Field(
        None, description="GUID of the VM restore point it created (get_vm_restore_point)"
    )
    job_session: str | None = Field(None, description="GUID of its job run (get_job_session)")
    attempts: int | None = Field(
        None, description="With newest_per_vm: the VM's tasks in the window (retries included)"
    )
    failed_attempts: int | None = Field(None, description="With newest_per_vm: of those, how many failed")
    earlier_reason: str | None = Field(
        None, description="With newest_per_vm, when the newest succeeded: the reason of the last failed attempt"
    )


class FindTaskSessionsResult(Model):
    """Per-VM outcomes across job runs, newest first; with newest_per_vm, one row per VM."""

    tasks: list[TaskRun]
    shared: dict[str, Any] | None = Field(None, description=SHARED)
    summary: str = Field(description="One sentence: how many VMs or tasks, and how they ended")
    counts: Counts = Field(description="Rows per outcome, over the whole window (not only this page)")
    newest_per_vm: bool
    window: Window
    returned: int
    total: int | None = Field(None, description="Rows in the whole answer, when known")
    next_cursor: str | None = None
    truncated: bool = False
    em_requests: int
    note: str | None = None


class JobSessionDetail(Model):
    """One job run and every VM in it, with EM's whole reason for each failure or warning."""

    session: BackupJobSession = Field(description="The job run as EM gives it (compact)")
    outcome: Outcome = Field(description=OUTCOME)
    tasks: list[TaskRun] = Field(description="One row per VM of the run, failures first")
    counts: Counts = Field(description="VMs per outcome")
    returned: int
    total: int = Field(description="Task sessions EM holds for the run")
    truncated: bool = Field(False, description="True when rows were left out to fit the size limit (successes first)")
    em_requests: int
    note: str | None = None


# --- jobs ---------------------------------------------------------------------------------------------


class Member(Model):
    """A job member: a VM, or a container (Folder, Tag, Host, ResourcePool…) whose VMs the job backs up."""

    name: str | None = None
    type: str | None = Field(None, description="Vm, or the container type")


class LastRun(Model):
    """A job's newest run in the last days."""

    outcome: Outcome = Field(description=OUTCOME)
    start: UtcTimestamp | None = None
    end: UtcTimestamp | None = None
    is_retry: bool | None = None
    session: str | None = Field(None, description="Job session GUID (get_job_session)")


class JobRow(Model):
    """One job: what it is, whether it runs, when next, how its newest run ended, what it backs up."""

    name: str | None = None
    id: str | None = Field(None, description="Job GUID")
    job_type: str | None = None
    platform: str | None = None
    backup_server: str | None = None
    schedule_enabled: bool | None = Field(None, description="False: the job does not run on its schedule")
    schedule: str | None = Field(None, description="EM's schedule in words")
    next_run: UtcTimestamp | None = Field(None, description="When it runs next (UTC); absent when not scheduled")
    last_run: LastRun | None = Field(None, description="Its newest run in the last days; absent when there was none")
    members: list[Member] | None = Field(None, description="What it backs up, when EM lists it")
    protects_vm: str | None = Field(
        None, description="With vm_name: how the job protects that VM (by name, or through a container, seen in runs)"
    )


class ListJobsResult(Model):
    jobs: list[JobRow]
    shared: dict[str, Any] | None = Field(None, description=SHARED)
    returned: int
    total: int = Field(description="Jobs matching the filters")
    next_cursor: str | None = None
    truncated: bool = False
    em_requests: int
    note: str | None = None


# --- repositories -----------------------------------------------------------------------------------


class RepositoryRow(Model):
    """One repository and how full it is. EM reports -1 when it does not know (object storage): said as unknown."""

    name: str | None = None
    id: str | None = None
    storage_kind: str | None = Field(None, description="EM's Kind (Extendable = scale-out)")
    backup_server: str | None = None
    capacity: int | None = Field(None, description="Bytes; absent when unknown")
    free_space: int | None = Field(None, description="Bytes; absent when unknown")
    used: int | None = Field(None, description="capacity - free_space, bytes; absent when unknown")
    used_percent: float | None = Field(None, description="used / capacity in percent; absent when unknown")
    backup_size: int | None = Field(None, description="Bytes of backups on it, from EM's repository report")
    size_known: bool = Field(description="False when EM reports -1 (object storage: capacity unknown)")
    note: str | None = Field(None, description="e.g. unknown (object storage), nearly full, scale-out")


class RepositoryTotals(Model):
    capacity: int = Field(description="Bytes over the repositories counted")
    free_space: int
    used: int
    used_percent: float | None = None
    counted: int = Field(description="Repositories counted")
    left_out: list[str] = Field(
        default_factory=list, description="Not counted, and why (unknown size; a scale-out whose extents are listed)"
    )


class ListRepositoriesResult(Model):
    repositories: list[RepositoryRow]
    totals: RepositoryTotals
    returned: int
    em_requests: int
    note: str | None = None


# --- the protection report --------------------------------------------------------------------------

Status = Literal["met", "missed", "never backed up"]


class ProtectionRow(Model):
    """One protected VM: its job(s), its newest restore point and age against the RPO, its newest task."""

    vm_name: str
    status: Status = Field(description="met, missed (newest point older than rpo_hours), or never backed up")
    jobs: list[str] | None = Field(None, description="The job(s) that back it up")
    job_enabled: bool | None = Field(None, description="False when none of its jobs runs on a schedule")
    newest_point: UtcTimestamp | None = Field(None, description="Its newest restore point (UTC)")
    age_hours: float | None = Field(None, description="Hours between newest_point and as_of")
    last_outcome: Outcome | None = Field(None, description="Its newest task in the window: " + OUTCOME)
    last_task: UtcTimestamp | None = Field(None, description="When that task started")
    last_reason: str | None = Field(None, description="EM's reason, when that task failed or warned")
    restore_point: str | None = Field(None, description="GUID of the newest point (get_vm_restore_point)")


class ProtectionSummary(Model):
    vms: int = Field(description="Protected VMs EM knows (job members, task sessions, restore points)")
    met: int
    missed: int
    never_backed_up: int
    failed_last_run: int = Field(description="VMs whose newest task failed")
    running: int = Field(0, description="VMs whose newest task is still running")


class ProtectionReport(Model):
    """Every VM EM knows to be protected, against an RPO, in compact rows."""

    rows: list[ProtectionRow]
    summary: ProtectionSummary
    summary_line: str = Field(description="One sentence a person can read")
    rpo_hours: float
    as_of: UtcTimestamp = Field(description="The time ages were measured against (UTC)")
    window: Window = Field(description="The task sessions and restore points read (older points: per VM, see note)")
    only_problems: bool
    returned: int
    total: int = Field(description="Rows of the whole report (after filters)")
    next_cursor: str | None = None
    truncated: bool = False
    em_requests: int = Field(description="EM requests made to build the report")
    note: str | None = None
