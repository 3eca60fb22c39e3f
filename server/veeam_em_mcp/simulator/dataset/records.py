"""The estate's records as EM serves them: servers, repositories, VMs, jobs and their includes, backups, restore
points, backup files, VM restore points, job and task sessions (the coverage phase's are in coverage_records.py).

Plain slots dataclasses cross-linked by id; the views render them, the builders fill them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Task results, in EM's enumeration order (a job session's result is the worst of its tasks').
RESULTS = ("Success", "Warning", "Failed")


def worst(results: list[str]) -> str:
    """The worst of task results (Failed > Warning > Success)."""
    return max(results, key=RESULTS.index)


@dataclass(slots=True, kw_only=True)
class BackupServer:
    id: str
    name: str
    description: str
    port: int
    version: str
    utc_offset_hours: int
    job_ids: list[str] = field(default_factory=list)
    repository_ids: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Repository:
    id: str
    name: str
    server_id: str
    # Bytes; -1 for object storage (EM cannot measure it).
    capacity: int
    free_space: int
    # As real servers spell it: WindowsLocal, LinuxLocal, DDBoost, Extendable (scale-out), AmazonS3Compatible.
    kind: str
    # Where backup files of this repository live (a scale-out repository writes to its first extent).
    path: str
    extent_ids: list[str] = field(default_factory=list)
    # The scale-out repository an extent belongs to.
    scale_out_id: str | None = None
    backup_ids: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Vm:
    name: str
    platform: str
    hierarchy_obj_ref: str
    job_id: str
    size_bytes: int
    # The include (ObjectInJob) that puts the VM in its job: the VM itself or a container such as a folder.
    object_in_job_id: str = ""
    # When the VM was added to its job (runs before that do not process it); 0 = from the start.
    added_ticks: int = 0


@dataclass(slots=True, kw_only=True)
class ObjectInJob:
    """An include of a job: a VM added by name, or a container (folder) whose VMs the job processes."""

    id: str
    job_id: str
    hierarchy_obj_ref: str
    name: str
    display_name: str
    order: int
    # RequireSuccess (application-aware processing) or Disabled.
    vss_mode: str
    # VM names the include covers (the VM itself, or the folder's VMs).
    vm_names: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Job:
    id: str
    name: str
    server_id: str
    repository_id: str
    platform: str
    # Backup, or ImmediateBackupCopy for the backup copy job.
    job_type: str
    description: str
    schedule_configured: bool
    schedule_enabled: bool
    next_run: str | None
    # "forward" (incremental, with `full_mode` "synthetic" or "active" weekly fulls) or "reverse".
    method: str
    full_mode: str
    # Daily start, minutes after midnight UTC (None: no daily schedule, e.g. the immediate copy job).
    schedule_minute: int | None = None
    created_ticks: int = 0
    # Member VMs in processing order (including one added after the last run).
    vm_names: list[str] = field(default_factory=list)
    backup_id: str = ""
    object_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    # The jobs a backup copy job copies from.
    source_job_ids: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Backup:
    id: str
    name: str
    server_id: str
    repository_id: str
    job_id: str
    platform: str
    backup_type: str
    restore_point_ids: list[str] = field(default_factory=list)
    backup_file_ids: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class RestorePoint:
    """A job-level restore point: one per job session that produced at least one VM restore point."""

    id: str
    name: str
    backup_id: str
    server_id: str
    job_id: str
    backup_date_utc: str
    backup_ticks: int
    job_session_id: str = ""
    vm_point_ids: list[str] = field(default_factory=list)
    backup_file_ids: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class BackupFile:
    id: str
    name: str
    file_path: str
    backup_size: int
    data_size: int
    dedup_ratio: float
    compress_ratio: float
    creation_time_utc: str
    creation_ticks: int
    file_type: str
    backup_id: str
    server_id: str
    restore_point_ids: list[str] = field(default_factory=list)
    vm_point_ids: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class VmRestorePoint:
    id: str
    name: str
    vm_name: str
    creation_time_utc: str
    creation_ticks: int
    algorithm: str
    point_type: str
    hierarchy_obj_ref: str
    restore_point_id: str
    backup_file_id: str
    backup_server_id: str
    job_id: str
    backup_id: str
    task_session_id: str = ""


@dataclass(slots=True, kw_only=True)
class JobSession:
    """A BackupJobSession: one run of a job, a retry of its failed VMs, or a backup copy (worker) session."""

    id: str
    name: str
    job_id: str
    # JobName as EM writes it (a copy worker's is `<copy job>\\<source job>`).
    job_name: str
    # Backup, ImmediateBackupCopy (copy parent) or ImmediateBackupCopyWorker.
    job_type: str
    server_id: str
    creation_time_utc: str
    creation_ticks: int
    # None while the session is running.
    end_time_utc: str | None
    end_ticks: int | None
    # Stopped, or Working for the one running session.
    state: str
    # Worst of the tasks' results; None while running.
    result: str | None
    progress: int
    is_retry: bool
    task_ids: list[str] = field(default_factory=list)
    restore_point_ids: list[str] = field(default_factory=list)
    # A copy worker's parent (ImmediateBackupCopy) session; EM does not expose it, tests use it.
    parent_id: str | None = None


@dataclass(slots=True, kw_only=True)
class TaskSession:
    """A BackupTaskSession: one VM in one job session."""

    id: str
    name: str
    job_session_id: str
    job_id: str
    job_name: str
    server_id: str
    vm_name: str
    # The VM's HierarchyObjRef.
    vm_uid: str
    creation_time_utc: str
    creation_ticks: int
    end_time_utc: str | None
    end_ticks: int | None
    # Completed, or InProgress / Pending inside the running session.
    state: str
    result: str | None
    reason: str
    total_size: int
    vm_point_id: str | None = None


