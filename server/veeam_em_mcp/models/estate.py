"""Result models of the estate tools: job runs, VM outcomes, jobs, repositories, the protection report.

Rows are compact (what an administrator's question needs), say when the data is incomplete, and never
turn a running job into a success or a failure: ``outcome`` is ``running`` until EM says the run stopped.
Every row carries EM's id of what it describes (a VM's reference, a job's id): names repeat across backup
servers, vCenters and tenants, so rows are told apart, and filtered again, by id. Every paged answer has
the same envelope (``Page``), described field by field.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from .base import Model, UtcTimestamp, free_text
from .resources import BackupJobSession, ReplicaJobSession

Outcome = Literal["succeeded", "warning", "failed", "running", "unknown"]

SHARED = "Fields every row of this page has with the same value, left out of each row: read them as part of every row"
OUTCOME = (
    "succeeded, warning, failed, or running (EM has not finished it: its result means nothing yet); unknown when EM "
    "reported no result"
)
CUT = "Present only when the text was cut to fit: how many characters EM's whole text has"


class Page(Model):
    """The envelope every paged answer shares. ``truncated`` has one meaning: more rows follow."""

    ROWS: ClassVar[str] = "rows"  # the field holding the rows

    returned: int = Field(description="Rows in this result")
    total: int = Field(description="Rows in the whole answer, over all its pages")
    next_cursor: str | None = Field(
        None, description="Pass as cursor, alone, for the next rows; absent on the answer's last page"
    )
    truncated: bool = Field(
        False, description="True when this result is not the whole answer: more rows follow (next_cursor)"
    )
    as_of: UtcTimestamp | None = Field(
        None, description="When EM was read for this answer (UTC); every page of one cursor walk has the same"
    )
    em_requests: int = Field(
        description="EM requests this call made (0 for a later page: it comes from the answer kept at the first)"
    )
    collected: UtcTimestamp | None = Field(
        None, description="The oldest of EM's last good collections from its backup servers (UTC): how current "
        "the data behind this answer is; absent when EM does not say"
    )
    server_versions: dict[str, str] | None = Field(
        None, description="Each backup server's VBR version, by name (read with EM's freshness, kept a few minutes)"
    )
    note: str | None = Field(None, description="What was left out, cut or may be off, or why nothing matched")
    shared: dict[str, Any] | None = Field(None, description=SHARED)


class Window(Model):
    """The time window a result covers (UTC)."""

    created_after: UtcTimestamp | None = Field(None, description="From this time on (inclusive)")
    created_before: UtcTimestamp | None = Field(None, description="Before this time (exclusive)")
    defaulted: bool = Field(False, description="True when the window is the default (the last 24 hours)")


class Counts(Model):
    """How many rows have each outcome."""

    succeeded: int = Field(0, description="Rows that succeeded")
    warning: int = Field(0, description="Rows that ended with a warning")
    failed: int = Field(0, description="Rows that failed")
    running: int = Field(0, description="Rows still running")
    unknown: int = Field(0, description="Rows without a result from EM")


# --- job runs ---------------------------------------------------------------------------------------


class JobStats(Model):
    """A job's runs in the window: how they ended, and how long they took."""

    runs: int = Field(description="Runs in the window (a run: the scheduled start and its automatic retries)")
    first_attempt_succeeded: int = Field(description="Runs that succeeded at their first attempt")
    succeeded_after_retry: int = Field(description="Runs whose first attempt failed and a retry succeeded")
    warning: int = Field(description="Runs that ended with a warning")
    failed: int = Field(description="Runs that failed after all their retries")
    running: int = Field(description="Runs still going on")
    duration_min_seconds: int | None = Field(None, description="Shortest finished run, retries included")
    duration_median_seconds: int | None = Field(None, description="Median finished run, retries included")
    duration_max_seconds: int | None = Field(None, description="Longest finished run, retries included")
    newest_vs_median: float | None = Field(
        None, description="The newest finished run's duration / the median (above 1: slower than usual)"
    )


class JobRun(Model):
    """One run of a job: its first session and the automatic retries that followed (a copy job: its workers);
    with newest_per_job, the newest run of its job in the window, with the job's statistics."""

    id: str | None = Field(None, description="GUID of the run's newest session: pass to get_job_session")
    first_session: str | None = Field(
        None, description="GUID of the run's first session, when the run had retries (its own id otherwise)"
    )
    job_name: str | None = Field(None, description=free_text("The job's name"))
    job_id: str | None = Field(None, description="The job's GUID (names repeat across backup servers; this does not)")
    job_type: str | None = Field(None, description="Backup, BackupCopy, ImmediateBackupCopy, Replica, AgentBackup…")
    outcome: Outcome = Field(description="How the run ended, after its retries: " + OUTCOME)
    first_attempt: Outcome | None = Field(
        None, description="How its first attempt ended, when it had retries (failed, then succeeded after a retry)"
    )
    attempts: int = Field(1, description="Sessions in the run: 1, or 1 + its automatic retries")
    result: str | None = Field(None, description="EM's Result of the last attempt; absent while running")
    state: str | None = Field(None, description="EM's State of the last attempt: Stopped when done")
    start: UtcTimestamp | None = Field(None, description="When the run's first attempt started (UTC)")
    end: UtcTimestamp | None = Field(None, description="When its last attempt ended (UTC); absent while running")
    duration_seconds: int | None = Field(None, description="end - start: the whole run, retries included")
    is_retry: bool | None = Field(None, description="True when the newest session is an automatic retry")
    backup_server: str | None = Field(None, description="Name of the backup server that ran it")
    sessions: list[str] | None = Field(None, description="GUIDs of the run's sessions, oldest first, when several")
    stats: JobStats | None = Field(None, description="With newest_per_job: the job's runs in the window")


class FindJobSessionsResult(Page):
    """Job runs from EM's query service, newest first; with newest_per_job, one row per job: its outcome."""

    ROWS: ClassVar[str] = "sessions"

    sessions: list[JobRun] = Field(
        description="The runs, newest first (newest_per_job: the newest run of each job, by job id, by name)"
    )
    summary: str = Field(description="One sentence: what the window holds, and what the filters kept")
    counts: Counts = Field(description="Rows per outcome over the whole window, before the result filter")
    newest_per_job: bool = Field(description="True: a job's newest run in the window is its answer")
    window: Window = Field(description="The time window read")
    covered: list[str] = Field(
        description="Which kinds of job sessions EM was read for (what an answer about 'every job' includes)"
    )


# --- VM outcomes --------------------------------------------------------------------------------------


class TaskRun(Model):
    """One VM in one job run (a task session); with newest_per_vm, the VM's newest task in the window."""

    vm_name: str | None = Field(None, description=free_text("The VM's name"))
    vm_id: str | None = Field(
        None, description="EM's reference of the VM (its HierarchyObjRef): names repeat across vCenters, this not"
    )
    job_name: str | None = Field(None, description=free_text("The job (from the job run's name)"))
    backup_server: str | None = Field(None, description="Name of the backup server that processed it")
    agent: bool | None = Field(
        None, description="True for a computer a Veeam Agent job backs up (EM's per-computer session; no vm_id)"
    )
    replication: bool | None = Field(
        None, description="True for a replication task: the outcome of the VM's replica, not of a backup"
    )
    outcome: Outcome = Field(description=OUTCOME)
    result: str | None = Field(None, description="EM's Result: Success, Warning or Failed")
    state: str | None = Field(None, description="Completed when done; InProgress or Pending while the run goes on")
    reason: str | None = Field(None, description=free_text("EM's text of why it failed or warned"))
    reason_chars: int | None = Field(None, description=CUT)
    start: UtcTimestamp | None = Field(None, description="When processing of the VM started (UTC)")
    end: UtcTimestamp | None = Field(None, description="When it ended (UTC); absent while running")
    total_size: int | None = Field(None, description="Bytes EM reports for the task (0 when it failed)")
    restore_point: str | None = Field(
        None, description="GUID of the VM restore point it created (get_vm_restore_point)"
    )
    replica_point: str | None = Field(
        None, description="A replication task's: GUID of the replica point it created (/api/vmReplicaPoints/<id>)"
    )
    job_session: str | None = Field(None, description="GUID of its job session (get_job_session)")
    run: str | None = Field(None, description="GUID of the first session of its run (the run's id)")
    attempt: int | None = Field(None, description="Which attempt of its run: 1 = the scheduled start, 2+ = retries")
    attempts: int | None = Field(
        None, description="With newest_per_vm: the VM's tasks in the window (retries included)"
    )
    failed_attempts: int | None = Field(None, description="With newest_per_vm: of those, how many failed")
    runs: int | None = Field(None, description="With newest_per_vm: the runs in the window that processed it")
    failed_runs: int | None = Field(
        None, description="With newest_per_vm: of those, the runs in which it still failed after every retry"
    )
    earlier_reason: str | None = Field(
        None,
        description=free_text("With newest_per_vm, when the newest succeeded: the reason of the last failed attempt"),
    )


class FindTaskSessionsResult(Page):
    """Per-VM outcomes across job runs, newest first; with newest_per_vm, one row per VM (by its id)."""

    ROWS: ClassVar[str] = "tasks"

    tasks: list[TaskRun] = Field(description="The rows (newest_per_vm: the newest task of each VM, failures first)")
    summary: str = Field(description="One sentence: what the window holds, and what the filters kept")
    counts: Counts = Field(description="Rows per outcome over the whole window, before the result filter")
    newest_per_vm: bool = Field(description="True: a VM's newest task in the window is its answer")
    window: Window = Field(description="The time window read")


class JobSessionDetail(Page):
    """One job run and every VM in it, with EM's reason for each failure or warning."""

    ROWS: ClassVar[str] = "tasks"

    session: BackupJobSession | ReplicaJobSession = Field(
        description="The job run as EM gives it (compact); a replication run is EM's ReplicaJobSession"
    )
    outcome: Outcome = Field(description=OUTCOME)
    tasks: list[TaskRun] = Field(description="One row per VM of the run, failures first")
    counts: Counts = Field(description="VMs per outcome, over the whole run")


# --- jobs ---------------------------------------------------------------------------------------------


class Member(Model):
    """A job member: a VM, or a container (Folder, Tag, Host, ResourcePool…) whose VMs the job backs up."""

    name: str | None = Field(None, description=free_text("Its name in the job"))
    type: str | None = Field(None, description="Vm, or the container type")


class LastRun(Model):
    """A job's newest run in the last days: its start and its automatic retries."""

    outcome: Outcome = Field(description=OUTCOME)
    start: UtcTimestamp | None = Field(None, description="When it started (UTC)")
    end: UtcTimestamp | None = Field(None, description="When it ended (UTC); absent while running")
    is_retry: bool | None = Field(None, description="True when its newest session is an automatic retry")
    session: str | None = Field(None, description="GUID of its newest session (get_job_session)")


class FileRow(Model):
    """One backup file of a job."""

    name: str | None = Field(None, description="File name, as EM names it")
    file_type: str | None = Field(None, description="vbk (full), vib (increment) or vrb (reverse increment)")
    backup_size: int | None = Field(None, description="Bytes on disk; absent when EM did not report it")
    creation_time: UtcTimestamp | None = Field(None, description="When the file was written (UTC)")


class JobFiles(Model):
    """A job's backup files (in every backup EM keeps for it) and what they add up to."""

    count: int = Field(description="Backup files EM lists for the job")
    total_backup_size: int | None = Field(
        None, description="Bytes on disk over all of them; absent when EM did not report a size for each"
    )
    total_data_size: int | None = Field(None, description="Bytes of source data over all of them, when known")
    repositories: list[str] | None = Field(None, description=free_text("Where the files are (repository names)"))
    files: list[FileRow] | None = Field(None, description="The files, newest first (up to 50)")
    note: str | None = Field(None, description="What was left out, or could not be read")


class JobRow(Model):
    """One job: what it is, whether it runs, when next, how its newest run ended, what it backs up."""

    name: str | None = Field(None, description=free_text("The job's name"))
    id: str | None = Field(None, description="Job GUID (job names repeat across backup servers; this does not)")
    job_type: str | None = Field(None, description="Backup, BackupCopy, ImmediateBackupCopy, Replica…")
    platform: str | None = Field(None, description="VMware, Hyperv, vCloud, CustomPlatform…")
    backup_server: str | None = Field(None, description="Name of the backup server that runs it")
    schedule_enabled: bool | None = Field(None, description="False: the job does not run on its schedule")
    schedule: str | None = Field(None, description="EM's schedule in words")
    next_run: UtcTimestamp | None = Field(None, description="When it runs next (UTC); absent when not scheduled")
    last_run: LastRun | None = Field(None, description="Its newest run in the last days; absent when there was none")
    members: list[Member] | None = Field(None, description="What it backs up, when EM lists it")
    copies_from: list[str] | None = Field(
        None, description=free_text("A backup copy job: the jobs whose backups it copies (names)")
    )
    target_repository: str | None = Field(
        None, description=free_text("A backup copy job: the repository its copies go to")
    )
    protects_vm: str | None = Field(
        None, description="With vm_name: how the job protects that VM (by name, or through a container, seen in runs)"
    )
    backup_files: JobFiles | None = Field(None, description="With backup_files: the job's backup files and totals")
    container_vms: list[str] | None = Field(
        None,
        description=free_text(
            "A job with containers (folder, tag, host…): the VMs its newest run processed that no member names, "
            "i.e. what its containers covered then (listed for up to 10 jobs)"
        ),
    )


class ListJobsResult(Page):
    """Jobs, sorted by name; with vm_name, the jobs that protect that VM."""

    ROWS: ClassVar[str] = "jobs"

    jobs: list[JobRow] = Field(description="The jobs")


# --- repositories -----------------------------------------------------------------------------------


class RepositoryRow(Model):
    """One repository and how full it is. EM reports -1 when it does not know (object storage): said as unknown."""

    name: str | None = Field(None, description=free_text("The repository's name"))
    id: str | None = Field(None, description="Repository GUID")
    storage_kind: str | None = Field(None, description="EM's Kind (Extendable = scale-out)")
    backup_server: str | None = Field(None, description="Name of the backup server it belongs to")
    capacity: int | None = Field(None, description="Bytes; absent when unknown")
    free_space: int | None = Field(None, description="Bytes; absent when unknown")
    used: int | None = Field(None, description="capacity - free_space, bytes; absent when unknown")
    used_percent: float | None = Field(None, description="used / capacity in percent; absent when unknown")
    backup_size: int | None = Field(None, description="Bytes of backups on it, from EM's repository report")
    size_known: bool = Field(description="False when EM reports -1 (object storage: capacity unknown)")
    note: str | None = Field(None, description="e.g. unknown (object storage), nearly full, scale-out")


class RepositoryTotals(Model):
    """Capacity and free space added up over the repositories whose sizes are known and not counted twice."""

    capacity: int = Field(description="Bytes over the repositories counted")
    free_space: int = Field(description="Bytes free over the repositories counted")
    used: int = Field(description="capacity - free_space, bytes")
    used_percent: float | None = Field(None, description="used / capacity in percent")
    counted: int = Field(description="Repositories counted")
    left_out: list[str] = Field(
        default_factory=list, description="Not counted, and why (unknown size; a scale-out whose extents are listed)"
    )


class ListRepositoriesResult(Model):
    """Every repository and how full it is, with totals."""

    repositories: list[RepositoryRow] = Field(description="The repositories, by name")
    totals: RepositoryTotals = Field(description="Totals over the repositories that can be added up")
    returned: int = Field(description="Rows in this result")
    em_requests: int = Field(description="EM requests made for this result")
    note: str | None = Field(None, description="What is missing or may be off, or why nothing is listed")


# --- the protection report --------------------------------------------------------------------------

Status = Literal["met", "missed", "never backed up"]


class ProtectionRow(Model):
    """One protected VM: its job(s), its newest restore point and age against the RPO, its newest task."""

    vm_name: str = Field(description=free_text("The VM's name"))
    vm_id: str | None = Field(
        None, description="EM's reference of the VM (HierarchyObjRef; a computer's, for agent rows): VM names "
        "repeat across vCenters, this not"
    )
    backup_server: str | None = Field(None, description="Name of the backup server that protects it")
    platform: str | None = Field(None, description="VMware, HyperV or vCloud (from vm_id)")
    agent: str | None = Field(
        None, description="A computer Veeam Agent protects (AgentForWindows, AgentForLinux): vm_name is its name"
    )
    status: Status = Field(description="met, missed (newest point older than rpo_hours), or never backed up")
    jobs: list[str] | None = Field(None, description=free_text("The names of the job(s) that back it up"))
    job_enabled: bool | None = Field(None, description="False when none of its jobs runs on a schedule")
    newest_point: UtcTimestamp | None = Field(None, description="Its newest restore point (UTC)")
    age_hours: float | None = Field(None, description="Hours between newest_point and as_of")
    last_outcome: Outcome | None = Field(None, description="Its newest task in the window: " + OUTCOME)
    last_task: UtcTimestamp | None = Field(None, description="When that task started")
    last_reason: str | None = Field(None, description=free_text("EM's reason, when that task failed or warned"))
    last_reason_chars: int | None = Field(None, description=CUT)
    restore_point: str | None = Field(
        None, description="GUID of the newest point (a VM's: get_vm_restore_point; a computer's: its agent point)"
    )
    newest_copy: UtcTimestamp | None = Field(
        None, description="Its newest copy made by a backup copy job, in the window (UTC); absent: no copy in it"
    )
    copy_age_hours: float | None = Field(None, description="Hours between newest_copy and as_of")
    newest_replica: UtcTimestamp | None = Field(
        None, description="Its newest replica point (replication jobs), in the window (UTC); not counted for the RPO"
    )
    replica_age_hours: float | None = Field(None, description="Hours between newest_replica and as_of")


class ProtectionSummary(Model):
    """The report's numbers, over every row (before only_problems)."""

    vms: int = Field(description="Protected VMs EM knows (job members, task sessions, restore points), by id")
    met: int = Field(description="VMs whose newest point is within the RPO")
    missed: int = Field(description="VMs whose newest point is older than the RPO, or unknown")
    never_backed_up: int = Field(description="VMs with no restore point at all")
    failed_last_run: int = Field(description="VMs whose newest task failed")
    running: int = Field(0, description="VMs whose newest task is still running")
    copied: int = Field(0, description="VMs with a copy made by a backup copy job in the window (3-2-1)")
    replicated: int = Field(0, description="VMs with a replica point in the window")
    computers: int = Field(0, description="Of the rows, computers protected by Veeam Agent jobs")


class ProtectionReport(Page):
    """Every VM EM knows to be protected, against an RPO, in compact rows (problems first)."""

    ROWS: ClassVar[str] = "rows"

    rows: list[ProtectionRow] = Field(description="One row per VM (by vm_id), problems first")
    summary: ProtectionSummary = Field(description="Counts over every VM of the report")
    summary_line: str = Field(description="One sentence a person can read")
    rpo_hours: float = Field(description="The RPO checked, in hours")
    window: Window = Field(description="The task sessions and restore points read (older points: per VM, see note)")
    only_problems: bool = Field(description="True: only the rows with a problem are listed")
