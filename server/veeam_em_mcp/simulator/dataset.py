"""Deterministic demo data for the Enterprise Manager simulator: a whole small estate, thirty days of it.

`build_dataset` fabricates what an EM instance would report: two backup servers, their repositories (local,
scale-out with its extents, object storage, a nearly full DD Boost), jobs with their includes (VMs one by one
and one VM folder), a backup copy job, and for every job run the job session, its task sessions (one per VM),
automatic retry sessions for the VMs that failed, and -- exactly where a backup task succeeded or warned -- the
job-level `RestorePoint`, the `BackupFile` and the `VmRestorePoint`, all cross-linked by id. A session that is
still running at the anchor, failures with long real-looking reasons, warnings and a VM whose last two runs
failed are seeded on purpose (the fixed facts, see docs/simulator-contract.md and `Facts`).

Everything comes from one seeded RNG consumed in a fixed order, so the same (seed, anchor, vm_count, days)
always gives the same ids, names, times and outcomes.

`build_dataset(coverage=True)` (the default) then runs the coverage phase (coverage.py) from RNGs of its own:
the rest of what a real EM serves -- the copy job's own backup and copied points, a replication job with its
replicas and sessions, restore sessions, EM's own system sessions (vbr02's collections failing for the last
hours), Veeam Agent jobs, computers and restore points, vCloud organisation configs and Cloud Connect tenants.
It only adds (new items after the old ones); `coverage=False` is the estate without it.

`build_dataset(twins=True)` then adds (after the coverage phase), from a separate RNG (so nothing of the
normal build changes), the
twins a real multi-server estate has: a second `SQL Backup` job on vbr02 (its own vCenter) protecting another
VM named `sql01` whose last three runs failed, and another `vcd-web01` in a second vCloud organisation
(`Facts.twin_*`). `Dataset.vms` and `points_by_vm` are keyed by VM name; a VM whose name was already taken
when it was added (a twin) is keyed by its HierarchyObjRef instead.

Test transforms (mutate in place; apply them before `create_app`, whose query service caches its tables):
`rename_vm`, `rename_job`. The simulator's `mutate` fault uses `insert_copy` / `remove_middle`.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .coverage import (
        AgentInclude,
        AgentRestorePoint,
        CloudTenant,
        DiscoveredComputer,
        LinkedJob,
        OrgConfig,
        ProtectionGroup,
        Replica,
        RestoreSession,
        SystemSession,
        VmReplicaPoint,
    )

# Times are kept as integer 100 ns ticks since the Unix epoch (.NET's resolution): exact, cheap to compare
# and to sort, and enough to print the 7 fractional digits EM sometimes emits.
TICKS_PER_SECOND = 10_000_000
TICKS_PER_MINUTE = 60 * TICKS_PER_SECOND
TICKS_PER_HOUR = 60 * TICKS_PER_MINUTE
TICKS_PER_DAY = 24 * TICKS_PER_HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SQL01_NEWEST_POINT_ID = "6c958531-3177-4055-b0ce-dc4ef1ce6433"

# Names of the fixed facts (docs/simulator-contract.md lists what each demonstrates).
SQL_JOB = "SQL Backup"
RETRY_JOB = "Web Backup"
RUNNING_JOB = "Hyper-V Infrastructure"
DISABLED_JOB = "Hyper-V File Servers"
FOLDER_JOB = "Infrastructure Backup"
COPY_JOB = "Periodic Backup Copy Job"
FOLDER_NAME = "Infrastructure"
LAST_TWO_FAILED_VM = "exch01"
FOLDER_ONLY_VM = "print01"
NEVER_BACKED_UP_VM = "crm01"
RETRY_VM = "web02"
# The twins (`build_dataset(twins=True)`): the second SQL job's other VM, the second vCloud job, the vCenter
# the second sql01 lives in (named in its failure reason).
TWIN_SQL_VM = "sql01"
TWIN_SQL_PEER_VM = "sqlrpt01"
TWIN_VCD_VM = "vcd-web01"
TWIN_VCD_JOB = "vCloud Org B"
TWIN_VCENTER = "vcsa02.tech.local"
# Runs of the twin SQL job at the end of the window in which the twin sql01 failed (first attempt and retries).
TWIN_FAILED_RUNS = 3

# Automatic retries as the jobs are configured (JobScheduleOptions RetryOptions): twice, 10 minutes apart.
RETRY_TIMES = 2
RETRY_WAIT_MINUTES = 10
# EM's own time zone (the reports' local midnights).
EM_UTC_OFFSET_HOURS = 2

# Task results, in EM's enumeration order (a job session's result is the worst of its tasks').
RESULTS = ("Success", "Warning", "Failed")

# --- failure and warning texts (`{vm}`, `{moref}`, `{host}`, `{ip}`, `{file}` are filled in) ----------------
# The quiescing text is a real EM 13 capture (httpapi_exporter samples), with the VM name substituted.
REASON_QUIESCE = (
    "Processing {vm} Error: An error occurred while quiescing the virtual machine. See the virtual machine's "
    "event log for details. (An error occurred while saving the snapshot: Failed to quiesce the virtual "
    "machine., An error occurred while taking a snapshot: Failed to quiesce the virtual machine.)"
)
REASON_SNAPSHOT_VMWARE = (
    "Processing {vm} Error: Failed to create VM snapshot. Error: CreateSnapshot failed, vmRef {moref}, "
    "timeout 1800000, snName \"VEEAM BACKUP TEMPORARY SNAPSHOT\", snDescription \"Please do not delete this "
    "snapshot. It is being used by Veeam Backup.\", memory False, quiesce False. Task has failed: An error "
    "occurred while taking a snapshot: Unable to access file [datastore02] {vm}/{vm}.vmdk since it is locked."
)
REASON_SNAPSHOT_HYPERV = (
    "Processing {vm} Error: Failed to create VM recovery checkpoint (mode: Veeam application-aware "
    "processing). Details: Job failed ('Checkpoint operation for '{vm}' failed. (Virtual machine ID {moref}) "
    "Checkpoint operation for '{vm}' was cancelled. (Virtual machine ID {moref})')."
)
REASON_NETWORK = (
    "Processing {vm} Error: Failed to connect to the agent's endpoint '{ip}:2500'. Host: '{host}'. An existing "
    "connection was forcibly closed by the remote host. Failed to process [DataTransfer.SyncDisk]. Agent failed "
    "to process method {DataTransfer.SyncDisk}."
)
REASON_OUT_OF_SPACE = (
    "Processing {vm} Error: There is not enough space on the disk. Failed to write data to the file [{file}]. "
    "Repository 'DD Boost Repository' is out of free space: 0 B left. Agent failed to process method "
    "{DataTransfer.SyncDisk}."
)
WARNING_SQL_LOGS = (
    "Processing {vm} Warning: Failed to truncate Microsoft SQL Server transaction logs. Details: Failed to call "
    "RPC function 'Vss.TruncateSqlLogs': Error code: 0x80004005. Failed to invoke func [TruncateSqlLogs]: "
    "Unspecified error. Failed to truncate transaction logs for SQL instances: MSSQLSERVER."
)
WARNING_CBT = (
    "Processing {vm} Warning: Changed block tracking cannot be enabled: one or more snapshots present. Unable "
    "to use changed block tracking, full disk read will be performed."
)
WARNING_CHECKPOINT = (
    "Processing {vm} Warning: Failed to create VM recovery checkpoint in the application-consistent mode, "
    "falling back to a crash-consistent checkpoint. Details: The Hyper-V Volume Shadow Copy Requestor service "
    "of the guest OS is not running."
)

# A VDDK read failure (the transport cannot open the disk through the vCenter): the twin sql01's reason.
REASON_VDDK = (
    "Processing {vm} Error: Failed to open VDDK disk [[datastore11] {vm}/{vm}.vmdk] ( is read-only mode - [true] ) "
    "Logon attempt with parameters [VC/ESX: [{vcenter}];Port: 443;Login: [TECH\\svc-veeam];VMX Spec: "
    "[moref={moref}];Transports: [nbd];Read Only: [true]] failed because of the following errors: Failed to "
    "open disk for read. Failed to upload disk. Agent failed to process method {DataTransfer.SyncDisk}."
)

# Chance of a random failure / warning per backup task (random failures are always fixed by a retry).
RANDOM_FAILURE_RATE = 0.012
RANDOM_WARNING_RATE = 0.02


def ticks_of(dt: datetime) -> int:
    """100 ns ticks since the epoch of an aware datetime."""
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * TICKS_PER_SECOND + delta.microseconds * 10


def datetime_of(ticks: int) -> datetime:
    """Aware UTC datetime of `ticks` (the seventh fractional digit is dropped)."""
    return _EPOCH + timedelta(microseconds=ticks // 10)


_DAY_TEXT: dict[int, str] = {}


def _date_time_text(seconds: int) -> tuple[str, str]:
    """(`yyyy-MM-dd`, `HH:mm:ss`) of Unix `seconds`; day texts are cached since 150k items share 30 days."""
    day, sod = divmod(seconds, 86_400)
    date = _DAY_TEXT.get(day)
    if date is None:
        date = _DAY_TEXT[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
    hours, rest = divmod(sod, 3600)
    return date, f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def iso_utc(ticks: int) -> str:
    """ISO-8601 UTC text the way EM prints it: trailing fractional zeros (and a bare dot) dropped."""
    seconds, frac = divmod(ticks, TICKS_PER_SECOND)
    date, time = _date_time_text(seconds)
    if frac:
        return f"{date}T{time}." + f"{frac:07d}".rstrip("0") + "Z"
    return f"{date}T{time}Z"


def name_stamp(ticks: int) -> str:
    """`yyyy-MM-dd HH:mm:ss` (UTC) as used in VmRestorePoint, session and task names."""
    date, time = _date_time_text(ticks // TICKS_PER_SECOND)
    return f"{date} {time}"


def sql_style_name(ticks: int) -> str:
    """SQL Server `mon dd yyyy hh:miAM` text, e.g. `Oct  6 2025  8:00PM` (space-padded day and hour)."""
    dt = datetime_of(ticks)
    hour12 = dt.hour % 12 or 12
    ampm = "AM" if dt.hour < 12 else "PM"
    return f"{_MONTHS[dt.month - 1]} {dt.day:>2} {dt.year} {hour12:>2}:{dt.minute:02d}{ampm}"


def worst(results: list[str]) -> str:
    """The worst of task results (Failed > Warning > Success)."""
    return max(results, key=RESULTS.index)


@dataclass(slots=True)
class BackupServer:
    id: str
    name: str
    description: str
    port: int
    version: str
    utc_offset_hours: int
    job_ids: list[str] = field(default_factory=list)
    repository_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass
class Facts:
    """Where the seeded scenarios ended up (ids), for tests and for anyone checking the data."""

    # The failed -> failed retry -> successful retry sequence of RETRY_JOB (session ids, oldest first).
    retry_chain_session_ids: list[str] = field(default_factory=list)
    # RUNNING_JOB's session that is still Working at the anchor.
    running_session_id: str = ""
    # A session in which every task failed (no RestorePoint, no BackupFile).
    all_failed_session_id: str = ""
    # LAST_TWO_FAILED_VM's failed tasks in the first sessions of its job's last two runs (oldest first); both
    # retries of those runs failed too.
    last_two_failed_task_ids: list[str] = field(default_factory=list)
    # --- only with build_dataset(twins=True); empty otherwise -------------------------------------------
    # The second `SQL Backup` (vbr02), its backup and the vCenter (hierarchy root GUID) its VMs live in.
    twin_sql_job_id: str = ""
    twin_sql_backup_id: str = ""
    twin_vcenter_root: str = ""
    # The second sql01 (`urn:VMware:Vm:<twin_vcenter_root>.vm-<n>`; `vms[twin_sql01_ref]`) and its failed tasks:
    # first attempt and both retries of each of the job's last TWIN_FAILED_RUNS runs, oldest first.
    twin_sql01_ref: str = ""
    twin_sql01_failed_task_ids: list[str] = field(default_factory=list)
    # Its newest VmRestorePoint (TWIN_FAILED_RUNS runs before the job's newest run).
    twin_sql01_newest_point_id: str = ""
    # The second vcd-web01 (`urn:vCloud:Vm:<twin_vcd_root>.urn:vcloud:vm:<guid>`) and its job TWIN_VCD_JOB (vbr01).
    twin_vcd_ref: str = ""
    twin_vcd_root: str = ""
    twin_vcd_job_id: str = ""
    # --- the coverage phase (build_dataset(coverage=True), the default; empty otherwise; coverage.py) -------
    # The copy job's own Backup (in `Amazon S3 Copy`), the VMs it copied (names, by first copy) and, per VM, the
    # CreationTimeUTC and id of its newest copied VmRestorePoint.
    copy_backup_id: str = ""
    copied_vms: list[str] = field(default_factory=list)
    newest_copy_by_vm: dict[str, str] = field(default_factory=dict)
    newest_copy_point_by_vm: dict[str, str] = field(default_factory=dict)
    # The replication job (vbr02), its Replica, the VMs it replicates, the replica task that failed in its newest
    # run and that run's ReplicaJobSession.
    replica_job_id: str = ""
    replica_id: str = ""
    replicated_vms: list[str] = field(default_factory=list)
    replica_failed_task_id: str = ""
    replica_newest_session_id: str = ""
    # Restore sessions, oldest first; the running one, the failed one, the one without a Related point.
    restore_session_ids: list[str] = field(default_factory=list)
    running_restore_session_id: str = ""
    failed_restore_session_id: str = ""
    restore_without_point_id: str = ""
    # EM's data collection: the backup server whose collections fail for the last coverage.STALE_HOURS hours,
    # the start of its first failed collect (ISO UTC), and per backup server name the time (ISO UTC) of the
    # newest "Data collection from <server> completed successfully." event; the newest collect session.
    stale_server: str = ""
    stale_since: str = ""
    last_good_collection: dict[str, str] = field(default_factory=dict)
    newest_collect_session_id: str = ""
    # Veeam Agent: the agent jobs, the computer that failed in the Windows job's newest run, its AgentManagement
    # session and that run's AgentBackup session; per computer name its newest AgentRestorePoint id.
    agent_job_ids: list[str] = field(default_factory=list)
    failing_computer: str = ""
    agent_failed_session_id: str = ""
    agent_newest_run_session_id: str = ""
    newest_agent_point_by_computer: dict[str, str] = field(default_factory=dict)
    # The Cloud Connect tenant that never connected (LastActive 1753-01-01).
    never_active_tenant_id: str = ""


@dataclass
class Dataset:
    """Everything the simulator serves, as dicts by id (in storage order) plus the per-VM chronology."""

    seed: int
    anchor: datetime
    backup_servers: dict[str, BackupServer]
    repositories: dict[str, Repository]
    jobs: dict[str, Job]
    backups: dict[str, Backup]
    restore_points: dict[str, RestorePoint]
    backup_files: dict[str, BackupFile]
    vm_restore_points: dict[str, VmRestorePoint]
    # By VM name; a twin whose name was already taken is keyed by its HierarchyObjRef.
    vms: dict[str, Vm]
    # The same keys -> the VM's points, oldest first.
    points_by_vm: dict[str, list[VmRestorePoint]]
    objects_in_job: dict[str, ObjectInJob] = field(default_factory=dict)
    job_sessions: dict[str, JobSession] = field(default_factory=dict)
    task_sessions: dict[str, TaskSession] = field(default_factory=dict)
    facts: Facts = field(default_factory=Facts)
    em_utc_offset_hours: int = EM_UTC_OFFSET_HOURS
    # --- the coverage phase (coverage.py; empty with coverage=False) ---------------------------------------
    # Sources of backup copy jobs (LinkedJobObject).
    linked_jobs: dict[str, LinkedJob] = field(default_factory=dict)
    replicas: dict[str, Replica] = field(default_factory=dict)
    vm_replica_points: dict[str, VmReplicaPoint] = field(default_factory=dict)
    # ReplicaJobSessions / ReplicaTaskSessions (JobType Replica); `TaskSession.vm_point_id` is the replica point.
    replica_sessions: dict[str, JobSession] = field(default_factory=dict)
    replica_task_sessions: dict[str, TaskSession] = field(default_factory=dict)
    restore_sessions: dict[str, RestoreSession] = field(default_factory=dict)
    system_sessions: dict[str, SystemSession] = field(default_factory=dict)
    # Agent jobs (JobType AgentBackup; not in `jobs`); their sessions are in `job_sessions`.
    agent_jobs: dict[str, Job] = field(default_factory=dict)
    agent_includes: dict[str, AgentInclude] = field(default_factory=dict)
    protection_groups: dict[str, ProtectionGroup] = field(default_factory=dict)
    discovered_computers: dict[str, DiscoveredComputer] = field(default_factory=dict)
    agent_restore_points: dict[str, AgentRestorePoint] = field(default_factory=dict)
    # AgentManagement session id -> its computer's id.
    agent_session_computers: dict[str, str] = field(default_factory=dict)
    org_configs: dict[str, OrgConfig] = field(default_factory=dict)
    cloud_tenants: dict[str, CloudTenant] = field(default_factory=dict)

    def any_job(self, job_id: str) -> Job:
        """A job of `jobs` or of `agent_jobs` (sessions and backups name either)."""
        found = self.jobs.get(job_id)
        return found if found is not None else self.agent_jobs[job_id]

    def vm_names(self) -> list[str]:
        """Names of the VMs that have restore points (what EM's VmRestorePoint query can find), each once."""
        return list(dict.fromkeys(points[0].vm_name for points in self.points_by_vm.values() if points))


# --- the fixed estate -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _JobSpec:
    name: str
    platform: str
    server: int
    # Repository key (see _REPOSITORIES).
    repository: str
    method: str
    full_mode: str
    # Daily start in UTC as (hour, minute); "sql" = two hours before the anchor's hour (keeps sql01 inside a
    # 24 h RPO whatever the anchor), "running" = 25 minutes before the anchor (the run still going on),
    # "folder" = half past, eleven hours after the anchor's hour (its newest run, 12.5 to 13.5 hours old, and both
    # its retries are over, and it runs again within 12 hours, whatever the time of day: at a fixed hour, an
    # anchor just after it cut the newest run's retries off), "tenants" = eight hours before the anchor's hour.
    # At the tests' fixed anchor (09:00) both are the hours they had when they were fixed (20:30, 01:00).
    when: tuple[int, int] | str
    enabled: bool
    job_type: str = "Backup"


_NAMED_JOBS = (
    _JobSpec(SQL_JOB, "VMware", 0, "local0", "forward", "synthetic", "sql", True),
    _JobSpec(RETRY_JOB, "VMware", 0, "sobr", "reverse", "none", (22, 0), True),
    _JobSpec(RUNNING_JOB, "HyperV", 1, "ddboost", "forward", "active", "running", True),
    _JobSpec(DISABLED_JOB, "HyperV", 1, "local1", "forward", "synthetic", (23, 0), False),
    _JobSpec("vCloud Tenants", "vCloud", 1, "local1", "forward", "synthetic", "tenants", True),
    _JobSpec(FOLDER_JOB, "VMware", 0, "local0", "forward", "active", "folder", True),
)
_COPY_SPEC = _JobSpec(COPY_JOB, "CustomPlatform", 0, "s3", "forward", "none", "immediate", True,
                      "ImmediateBackupCopy")

# (VM name, job index), in priority order: a small vm_count keeps the VMs the oldest fixed facts need.
_NAMED_VMS = (
    ("sql01", 0), ("fileserver02", 3), ("web,db (old)", 1), ('a";Name!="x', 0), ("vcd-web01", 4),
    (LAST_TWO_FAILED_VM, 5), (FOLDER_ONLY_VM, 5), ("hv-dc01", 2), ("wsus01", 2), ("web01", 1),
    (RETRY_VM, 1), (NEVER_BACKED_UP_VM, 0), ("sql02", 0), ("fileserver03", 3), ("vcd-app01", 4),
    ("fileserver01", 2), ("proxy01", 1), ("app01", 5), ("vcd-db01", 4), ("mon01", 2),
    ("sql03", 0), ("web03", 1), ("dc01", 5), ("vcd-web02", 4), ("dns01", 1),
    ("app02", 5), ("vcd-app02", 4), ("vcd-db02", 4), ("vcd-lb01", 4), ("vcd-cache01", 4),
)
# VMs of FOLDER_JOB that it protects through the folder include only (no ObjectInJob of their own).
_FOLDER_VMS = frozenset({FOLDER_ONLY_VM, "app01", "dc01", "app02"})

_SERVERS = (
    ("vbr01.tech.local", "Main site backup server", "12.3.1.1139", 2),
    ("vbr02.tech.local", "DR site backup server", "12.3.2.3617", 1),
)

_TIB = 2**40
# key -> (server, name, kind, capacity, free, path); the scale-out repository sums its extents.
_REPOSITORIES: tuple[tuple[str, int, str, str, int, int, str], ...] = (
    ("local0", 0, "Backup Repository 1", "WindowsLocal", 8 * _TIB, int(8 * _TIB * 0.35), "D:\\Backups"),
    ("extent1", 0, "SOBR Extent 1", "WindowsLocal", 16 * _TIB, int(16 * _TIB * 0.41), "E:\\Backups"),
    ("extent2", 0, "SOBR Extent 2", "LinuxLocal", 16 * _TIB, int(16 * _TIB * 0.62), "/mnt/backups"),
    ("sobr", 0, "Scale-out Backup Repository", "Extendable", 0, 0, "E:\\Backups"),
    ("s3", 0, "Amazon S3 Copy", "AmazonS3Compatible", -1, -1, "s3://veeam-offsite/Backups"),
    ("local1", 1, "Backup Repository 2", "WindowsLocal", 12 * _TIB, int(12 * _TIB * 0.55), "D:\\Backups"),
    ("ddboost", 1, "DD Boost Repository", "DDBoost", 100 * _TIB, int(100 * _TIB * 0.032),
     "ddboost://ddboost01.tech.local/veeam"),
)
_EXTENTS = ("extent1", "extent2")

_EXTRA_JOB_SIZE = 25
_EXTRA_PLATFORMS = ("VMware", "VMware", "HyperV", "vCloud")
_EXTRA_HOURS = (18, 19, 20, 21, 22, 23, 0, 1, 2, 3)


class _Gen:
    """Seeded generator state: one RNG consumed in a fixed order, so output depends only on the inputs."""

    def __init__(self, seed: int) -> None:
        # Reproducible demo data, not security: a seeded PRNG is the point.
        self.rng = random.Random(seed)  # noqa: S311
        self.used_morefs: set[int] = set()

    def guid(self) -> str:
        # Same text as str(uuid.UUID(int=bits, version=4)), formatted directly because it runs 300k times.
        n = self.rng.getrandbits(128)
        n = (n & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def hex4(self) -> str:
        return f"{self.rng.getrandbits(16):04X}"

    def moref(self) -> int:
        while True:
            n = self.rng.randint(1000, 99999)
            if n not in self.used_morefs:
                self.used_morefs.add(n)
                return n

    def seconds(self, lo: int, hi: int) -> int:
        """A duration of lo..hi seconds with a millisecond part, in ticks."""
        return self.rng.randint(lo, hi) * TICKS_PER_SECOND + self.rng.randrange(1000) * 10_000

    def subsecond(self) -> int:
        """Fractional ticks with the precision mix seen on real servers: ms, full 7 digits, or none."""
        r = self.rng.random()
        if r < 0.7:
            return self.rng.randrange(1000) * 10_000
        if r < 0.9:
            return self.rng.randrange(TICKS_PER_SECOND)
        return 0


@dataclass(slots=True)
class _Slot:
    """One VM's task in the first session of a run (planned in pass 1, before outcomes are drawn)."""

    vm: Vm
    start: int
    point: int
    end: int


@dataclass(slots=True)
class _Run:
    start: int
    rp_offset: int
    file_offset: int
    slots: list[_Slot]
    end: int
    running: bool = False


@dataclass(slots=True)
class _Outcome:
    result: str
    reason: str = ""


def _whole(ticks: int) -> int:
    """`ticks` cut to the second (a point's time then gets its own precision from `subsecond`)."""
    return ticks - ticks % TICKS_PER_SECOND


def _days(start: datetime, end: datetime) -> Iterator[datetime]:
    day = datetime(start.year, start.month, start.day, tzinfo=UTC)
    while day <= end:
        yield day
        day += timedelta(days=1)


def _default_anchor() -> datetime:
    # The current minute: the product measures ages against its own clock, so an estate anchored at the top
    # of the hour would look up to 59 minutes stale (a job scheduled at :30 would seem to have missed its run).
    now = datetime.now(UTC)
    return now.replace(second=0, microsecond=0)


def _us_local(ticks: int, offset_hours: int) -> str:
    """`2/23/2017 1:06 PM`: the US-format local time EM writes into job descriptions."""
    dt = datetime_of(ticks) + timedelta(hours=offset_hours)
    hour12 = dt.hour % 12 or 12
    return f"{dt.month}/{dt.day}/{dt.year} {hour12}:{dt.minute:02d} {'AM' if dt.hour < 12 else 'PM'}"


class _Builder:
    """Builds one Dataset; methods run in a fixed order so the RNG stream is reproducible."""

    def __init__(self, seed: int, anchor: datetime, vm_count: int, days: int) -> None:
        self.g = _Gen(seed)
        self.seed = seed
        self.anchor = anchor
        self.anchor_ticks = ticks_of(anchor)
        self.vm_count = vm_count
        self.days = days
        self.servers: dict[str, BackupServer] = {}
        self.repositories: dict[str, Repository] = {}
        self.repo_by_key: dict[str, Repository] = {}
        self.server_ids: list[str] = []
        self.jobs: dict[str, Job] = {}
        self.backups: dict[str, Backup] = {}
        self.vms: dict[str, Vm] = {}
        self.objects: dict[str, ObjectInJob] = {}
        self.restore_points: dict[str, RestorePoint] = {}
        self.backup_files: dict[str, BackupFile] = {}
        self.vm_points: dict[str, VmRestorePoint] = {}
        self.points_by_vm: dict[str, list[VmRestorePoint]] = {}
        self.job_sessions: dict[str, JobSession] = {}
        self.task_sessions: dict[str, TaskSession] = {}
        self.facts = Facts()
        # VM key (see vm_key) -> moref number; job id -> its VMs in processing order.
        self.moref_of: dict[str, int] = {}
        self.job_vms: dict[str, list[Vm]] = {}
        # Twins phase only: the VM whose last TWIN_FAILED_RUNS runs fail, and VMs that never fail.
        self.twin_failing: Vm | None = None
        self.twin_steady: list[Vm] = []

    # --- infrastructure ---------------------------------------------------------------------------------

    def servers_and_repositories(self) -> None:
        g = self.g
        for name, desc, version, offset in _SERVERS:
            sid = g.guid()
            self.servers[sid] = BackupServer(sid, name, desc, 9392, version, offset)
            self.server_ids.append(sid)
        for key, server, name, kind, capacity, free, path in _REPOSITORIES:
            sid = self.server_ids[server]
            repo = Repository(g.guid(), name, sid, capacity, free, kind, path)
            if kind == "Extendable":
                extents = [self.repo_by_key[k] for k in _EXTENTS]
                repo.extent_ids = [e.id for e in extents]
                repo.capacity = sum(e.capacity for e in extents)
                repo.free_space = sum(e.free_space for e in extents)
                for extent in extents:
                    extent.scale_out_id = repo.id
            self.repositories[repo.id] = repo
            self.repo_by_key[key] = repo
            self.servers[sid].repository_ids.append(repo.id)

    # --- jobs and their VMs -----------------------------------------------------------------------------

    def plan_jobs(self) -> list[tuple[_JobSpec, list[str]]]:
        """The jobs that have members at this vm_count, with their VM names (small counts drop jobs)."""
        plans: list[tuple[_JobSpec, list[str]]] = []
        named = _NAMED_VMS[: min(self.vm_count, len(_NAMED_VMS))]
        for job_idx, spec in enumerate(_NAMED_JOBS):
            names = [vm for vm, j in named if j == job_idx]
            # sql01 first: the first VM of a run gets the smallest offset from the job start.
            names.sort(key=lambda n: n != "sql01")
            if names:
                plans.append((spec, names))
        extra = max(0, self.vm_count - len(_NAMED_VMS))
        job_no = len(_NAMED_JOBS) + 1
        vm_no = len(_NAMED_VMS) + 1
        while extra > 0:
            size = min(_EXTRA_JOB_SIZE, extra)
            k = job_no - len(_NAMED_JOBS) - 1
            platform = _EXTRA_PLATFORMS[k % len(_EXTRA_PLATFORMS)]
            method = "reverse" if k % 5 == 4 else "forward"
            full_mode = "none" if method == "reverse" else ("active" if k % 2 else "synthetic")
            spec = _JobSpec(f"Backup Job {job_no}", platform, k % 2, f"local{k % 2}", method, full_mode,
                            (_EXTRA_HOURS[k % len(_EXTRA_HOURS)], 15 * (k % 4)), True)
            prefix = {"VMware": "vm", "HyperV": "hv", "vCloud": "vcd"}[platform]
            plans.append((spec, [f"{prefix}{vm_no + i:05d}" for i in range(size)]))
            vm_no += size
            extra -= size
            job_no += 1
        return plans

    def schedule_minute(self, spec: _JobSpec) -> int | None:
        if spec.when == "sql":
            return ((self.anchor.hour - 2) % 24) * 60
        if spec.when == "tenants":
            return ((self.anchor.hour - 8) % 24) * 60
        if spec.when == "folder":
            return ((self.anchor.hour + 11) % 24) * 60 + 30
        if spec.when == "running":
            started = self.anchor - timedelta(minutes=25)
            return started.hour * 60 + started.minute
        if spec.when == "replica":
            # Seven hours before the anchor's hour: the newest run is over before vbr02's collections fail.
            return ((self.anchor.hour - 7) % 24) * 60
        if isinstance(spec.when, tuple):
            return spec.when[0] * 60 + spec.when[1]
        return None

    def make_job(self, spec: _JobSpec, names: list[str]) -> Job:
        g = self.g
        sid = self.server_ids[spec.server]
        server = self.servers[sid]
        repo = self.repo_by_key[spec.repository]
        minute = self.schedule_minute(spec)
        job_id = g.guid()
        created = self.anchor_ticks - g.rng.randint(400, 900) * TICKS_PER_DAY + g.seconds(0, 86_399)
        next_run: str | None = None
        if spec.enabled and minute is not None:
            nxt = self.anchor.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)
            if nxt <= self.anchor:
                nxt += timedelta(days=1)
            next_run = iso_utc(ticks_of(nxt))
        job = Job(
            id=job_id,
            name=spec.name,
            server_id=sid,
            repository_id=repo.id,
            platform=spec.platform,
            job_type=spec.job_type,
            description=f"Created by {server.name.split('.')[0].upper()}\\Administrator at "
            f"{_us_local(created, server.utc_offset_hours)}.",
            schedule_configured=minute is not None,
            schedule_enabled=spec.enabled,
            next_run=next_run,
            method=spec.method,
            full_mode=spec.full_mode,
            schedule_minute=minute,
            created_ticks=created,
            vm_names=list(names),
        )
        self.jobs[job_id] = job
        server.job_ids.append(job_id)
        if spec.job_type == "Backup":
            backup = Backup(g.guid(), spec.name, sid, repo.id, job_id, spec.platform, "Standard")
            self.backups[backup.id] = backup
            repo.backup_ids.append(backup.id)
            job.backup_id = backup.id
        return job

    def vm_key(self, vm: Vm) -> str:
        """The VM's key in `vms` / `points_by_vm`: its name, or its HierarchyObjRef if a twin took the name first."""
        return vm.name if self.vms.get(vm.name) is vm else vm.hierarchy_obj_ref

    def make_vms(self, spec: _JobSpec, job: Job, roots: dict[tuple[str, str], str]) -> None:
        g = self.g
        root = roots[(job.server_id, spec.platform)]
        folder: ObjectInJob | None = None
        members = self.job_vms.setdefault(job.id, [])
        for name in job.vm_names:
            if spec.platform == "VMware":
                moref = g.moref()
                ref = f"urn:VMware:Vm:{root}.vm-{moref}"
            elif spec.platform == "HyperV":
                moref = 0
                ref = f"urn:HyperV:Vm:{root}.{g.guid()}"
            else:
                moref = 0
                ref = f"urn:vCloud:Vm:{root}.urn:vcloud:vm:{g.guid()}"
            # A name already taken (a twin) keys the VM by its ref instead.
            key = name if name not in self.vms else ref
            self.moref_of[key] = moref
            vm = Vm(name, spec.platform, ref, job.id, g.rng.randint(20, 400) * 2**30)
            if name == NEVER_BACKED_UP_VM:
                # Added to its job after the job's last run: in the includes, in no session, no point.
                vm.added_ticks = self.anchor_ticks - 30 * TICKS_PER_MINUTE
            self.vms[key] = vm
            self.points_by_vm[key] = []
            members.append(vm)
            if spec.name == FOLDER_JOB and name in _FOLDER_VMS:
                if folder is None:
                    folder = self.include(job, f"urn:VMware:Folder:{root}.group-v{g.moref()}", FOLDER_NAME,
                                          "Disabled")
                folder.vm_names.append(name)
                vm.object_in_job_id = folder.id
                continue
            vss = "RequireSuccess" if name.startswith(("sql", "exch", "dc")) else "Disabled"
            vm.object_in_job_id = self.include(job, ref, name, vss).id
            self.objects[vm.object_in_job_id].vm_names.append(name)

    def include(self, job: Job, ref: str, name: str, vss: str) -> ObjectInJob:
        obj = ObjectInJob(self.g.guid(), job.id, ref, name, name, len(job.object_ids), vss)
        self.objects[obj.id] = obj
        job.object_ids.append(obj.id)
        return obj

    # --- runs -------------------------------------------------------------------------------------------

    def plan_runs(self, spec: _JobSpec, job: Job) -> list[_Run]:
        """Pass 1: the runs whose first session finished inside the window (plus the one still running)."""
        g = self.g
        minute = job.schedule_minute
        assert minute is not None
        window_start = self.anchor - timedelta(days=self.days)
        disabled_at = self.anchor - timedelta(days=3, hours=7)
        running_start = ticks_of(self.anchor - timedelta(minutes=25)) // TICKS_PER_MINUTE * TICKS_PER_MINUTE
        runs: list[_Run] = []
        for day in _days(window_start - timedelta(days=1), self.anchor):
            start_dt = day + timedelta(minutes=minute)
            scheduled = ticks_of(start_dt)
            start = scheduled + g.rng.randint(2, 9) * TICKS_PER_SECOND + g.rng.randrange(1000) * 10_000
            running = spec.when == "running" and scheduled == running_start
            rp_offset = g.seconds(15, 45)
            file_offset = g.seconds(3, 12)
            cursor = start + 20 * TICKS_PER_SECOND
            slots: list[_Slot] = []
            for vm in self.job_vms.get(job.id, ()):
                if vm.added_ticks > start:
                    continue
                task_start = cursor + g.seconds(1, 10)
                duration = g.seconds(360, 540) if running else g.rng.randint(40, 300) * TICKS_PER_SECOND
                point = _whole(task_start + duration) - g.rng.randint(4, 15) * TICKS_PER_SECOND + g.subsecond()
                end = task_start + duration + g.rng.randrange(1000) * 10_000
                slots.append(_Slot(vm, task_start, point, end))
                cursor = end
            end = cursor + g.seconds(3, 15)
            if start_dt < window_start or not slots:
                continue
            if not spec.enabled and start_dt >= disabled_at:
                continue
            if not running and end > self.anchor_ticks:
                continue
            if start > self.anchor_ticks:
                continue
            runs.append(_Run(start, rp_offset, file_offset, slots, end, running))
        return runs

    def scripted(self, spec: _JobSpec, r: int, n: int, vm: Vm, attempt: int) -> _Outcome | None:
        """The seeded scenarios: the outcome of `vm` in attempt `attempt` (0 = first session) of run r of n."""
        name = vm.name
        if vm is self.twin_failing and r >= n - TWIN_FAILED_RUNS:
            return _Outcome("Failed", self.reason(REASON_VDDK, vm))
        if self.twin_steady and any(vm is steady for steady in self.twin_steady):
            return _Outcome("Success")
        if spec.name == FOLDER_JOB and name == LAST_TWO_FAILED_VM and r >= n - 2:
            return _Outcome("Failed", self.reason(REASON_QUIESCE, vm))
        if spec.name == RETRY_JOB and r == n - 6:
            if name == RETRY_VM:
                if attempt < 2:
                    return _Outcome("Failed", self.reason(REASON_NETWORK, vm))
                return _Outcome("Success")
            if name == "proxy01":
                # Fails once, then the first retry processes it.
                if attempt == 0:
                    return _Outcome("Failed", self.reason(REASON_SNAPSHOT_VMWARE, vm))
                return _Outcome("Success")
        if spec.name == RUNNING_JOB and r == n - 9:
            if attempt == 0:
                return _Outcome("Failed", self.reason(REASON_OUT_OF_SPACE, vm))
            return _Outcome("Success")
        if spec.name == SQL_JOB and name == "sql02" and r == n - 1 and attempt == 0:
            return _Outcome("Warning", self.reason(WARNING_SQL_LOGS, vm))
        return None

    def reason(self, text: str, vm: Vm) -> str:
        host = self.servers[self.jobs[vm.job_id].server_id].name
        last = sum(ord(c) for c in vm.name) % 200 + 20
        job = self.jobs[vm.job_id]
        file = f"{self.repositories[job.repository_id].path}/{job.name}/{job.name}.vbm"
        return (text.replace("{vm}", vm.name).replace("{moref}", f"vm-{self.moref_of.get(self.vm_key(vm), 0)}")
                .replace("{host}", host).replace("{ip}", f"10.0.12.{last}").replace("{file}", file)
                .replace("{vcenter}", TWIN_VCENTER))

    def random_outcome(self, vm: Vm) -> _Outcome:
        r = self.g.rng.random()
        if r < RANDOM_FAILURE_RATE:
            if vm.platform == "HyperV":
                text = REASON_SNAPSHOT_HYPERV
            else:
                text = (REASON_SNAPSHOT_VMWARE, REASON_NETWORK)[self.g.rng.randrange(2)]
            return _Outcome("Failed", self.reason(text, vm))
        if r < RANDOM_FAILURE_RATE + RANDOM_WARNING_RATE:
            if vm.platform == "HyperV":
                return _Outcome("Warning", self.reason(WARNING_CHECKPOINT, vm))
            return _Outcome("Warning", self.reason(WARNING_SQL_LOGS if vm.name.startswith("sql") else WARNING_CBT,
                                                   vm))
        return _Outcome("Success")

    def run_backup_job(self, spec: _JobSpec, job: Job) -> None:
        """Pass 2: sessions, tasks, retries and, where tasks succeeded, restore points and files."""
        g = self.g
        runs = self.plan_runs(spec, job)
        n = len(runs)
        backup = self.backups[job.backup_id]
        for r, run in enumerate(runs):
            role = _chain_role(spec, r, n, datetime_of(run.start).weekday())
            # Random failures only where both retries still fit before the anchor (they always fix them).
            may_fail = not run.running and run.end + 2 * TICKS_PER_HOUR < self.anchor_ticks
            outcomes: dict[str, _Outcome] = {}
            for slot in run.slots:
                vm = slot.vm
                scripted = self.scripted(spec, r, n, vm, 0)
                if scripted is not None:
                    outcomes[vm.name] = scripted
                elif vm.name == "sql01" or not may_fail:
                    # Never let sql01 fail (the RPO fact); the running run is shaped by hand.
                    outcomes[vm.name] = _Outcome("Success")
                else:
                    outcomes[vm.name] = self.random_outcome(vm)
            if run.running:
                self.running_session(spec, job, backup, run, role)
                continue
            session = self.session(job, run.start, run.end, False)
            tasks = [(slot.vm, slot.start, slot.end, slot.point, outcomes[slot.vm.name]) for slot in run.slots]
            self.finish_session(spec, job, backup, session, tasks, role, run.rp_offset, run.file_offset,
                                newest=r == n - 1)
            chain = [session.id]
            failed = [slot.vm for slot in run.slots if outcomes[slot.vm.name].result == "Failed"]
            end = run.end
            for attempt in range(1, RETRY_TIMES + 1):
                if not failed:
                    break
                start = end + RETRY_WAIT_MINUTES * TICKS_PER_MINUTE + g.seconds(5, 40)
                cursor = start + 20 * TICKS_PER_SECOND
                planned = []
                for vm in failed:
                    task_start = cursor + g.seconds(1, 10)
                    duration = g.rng.randint(40, 300) * TICKS_PER_SECOND
                    point = _whole(task_start + duration) - g.rng.randint(4, 15) * TICKS_PER_SECOND + g.subsecond()
                    task_end = task_start + duration + g.rng.randrange(1000) * 10_000
                    outcome = self.scripted(spec, r, n, vm, attempt)
                    if outcome is None:
                        # A random failure: fixed by the first retry most of the time, by the second always.
                        outcome = _Outcome("Success") if attempt == 2 or g.rng.random() < 0.7 else _Outcome(
                            "Failed", outcomes[vm.name].reason)
                    planned.append((vm, task_start, task_end, point, outcome))
                    cursor = task_end
                end = cursor + g.seconds(3, 15)
                if end > self.anchor_ticks:
                    break  # would still be running: the next retry happens after "now"
                retry = self.session(job, start, end, True)
                self.finish_session(spec, job, backup, retry, planned, role, g.seconds(15, 45), g.seconds(3, 12),
                                    newest=r == n - 1)
                chain.append(retry.id)
                failed = [vm for vm, *_, outcome in planned if outcome.result == "Failed"]
            if spec.name == RETRY_JOB and r == n - 6:
                self.facts.retry_chain_session_ids = chain
            if spec.name == RUNNING_JOB and r == n - 9:
                self.facts.all_failed_session_id = session.id
            if spec.name == FOLDER_JOB and r >= n - 2:
                self.facts.last_two_failed_task_ids += [
                    tid for sid in chain[:1] for tid in self.job_sessions[sid].task_ids
                    if self.task_sessions[tid].vm_name == LAST_TWO_FAILED_VM
                ]

    def session(self, job: Job, start: int, end: int | None, is_retry: bool, *, job_type: str = "Backup",
                job_name: str | None = None) -> JobSession:
        name = job.name if job_name is None else job_name
        s = JobSession(
            id=self.g.guid(),
            name=f"{name}@{name_stamp(start)}",
            job_id=job.id,
            job_name=name,
            job_type=job_type,
            server_id=job.server_id,
            creation_time_utc=iso_utc(start),
            creation_ticks=start,
            end_time_utc=None if end is None else iso_utc(end),
            end_ticks=end,
            state="Stopped" if end is not None else "Working",
            result=None,
            progress=100,
            is_retry=is_retry,
        )
        self.job_sessions[s.id] = s
        job.session_ids.append(s.id)
        return s

    def task(self, session: JobSession, vm: Vm, start: int, end: int | None, state: str, result: str | None,
             reason: str, total_size: int) -> TaskSession:
        t = TaskSession(
            id=self.g.guid(),
            name=f"{vm.name}@{name_stamp(start)}",
            job_session_id=session.id,
            job_id=session.job_id,
            job_name=session.job_name,
            server_id=session.server_id,
            vm_name=vm.name,
            vm_uid=vm.hierarchy_obj_ref,
            creation_time_utc=iso_utc(start),
            creation_ticks=start,
            end_time_utc=None if end is None else iso_utc(end),
            end_ticks=end,
            state=state,
            result=result,
            reason=reason,
            total_size=total_size,
        )
        self.task_sessions[t.id] = t
        session.task_ids.append(t.id)
        return t

    def finish_session(self, spec: _JobSpec, job: Job, backup: Backup, session: JobSession,
                       tasks: list[tuple[Vm, int, int, int, _Outcome]], role: tuple[str, str, str],
                       rp_offset: int, file_offset: int, *, newest: bool) -> None:
        made: list[tuple[Vm, int, TaskSession]] = []
        for vm, start, end, point, outcome in tasks:
            ok = outcome.result != "Failed"
            # A failed task reports TotalSize 0 (EM 13 capture); a processed VM its provisioned size.
            task = self.task(session, vm, start, end, "Completed", outcome.result, outcome.reason,
                             vm.size_bytes if ok else 0)
            if ok:
                made.append((vm, point, task))
        session.result = worst([self.task_sessions[t].result or "Success" for t in session.task_ids])
        if made:
            self.points(spec, job, backup, session, made, role, rp_offset, file_offset, newest=newest)

    def running_session(self, spec: _JobSpec, job: Job, backup: Backup, run: _Run,
                        role: tuple[str, str, str]) -> None:
        """The session still Working at the anchor: two tasks done, one in progress, the rest pending."""
        session = self.session(job, run.start, None, False)
        session.progress = 0
        self.facts.running_session_id = session.id
        made: list[tuple[Vm, int, TaskSession]] = []
        for i, slot in enumerate(run.slots):
            vm = slot.vm
            if i < 2:
                task = self.task(session, vm, slot.start, slot.end, "Completed", "Success", "", vm.size_bytes)
                made.append((vm, slot.point, task))
            elif i == 2:
                self.task(session, vm, slot.start, None, "InProgress", "Success", "", vm.size_bytes)
            else:
                # Queued: created with the session, waiting for a proxy slot.
                self.task(session, vm, run.start + TICKS_PER_SECOND + slot.start % TICKS_PER_SECOND, None, "Pending",
                          None, "", vm.size_bytes)
        session.progress = 100 * len(made) // max(1, len(run.slots))
        if made:
            self.points(spec, job, backup, session, made, role, run.rp_offset, run.file_offset, newest=True)

    def points(self, spec: _JobSpec, job: Job, backup: Backup, session: JobSession,
               made: list[tuple[Vm, int, TaskSession]], role: tuple[str, str, str], rp_offset: int,
               file_offset: int, *, newest: bool) -> None:
        """The job-level restore point, the backup file and one VmRestorePoint per processed VM of a session."""
        g = self.g
        server = self.servers[job.server_id]
        point_type, algorithm, ext = role
        rp_ticks = session.creation_ticks + rp_offset
        file_ticks = session.creation_ticks + file_offset
        rp = RestorePoint(g.guid(), sql_style_name(rp_ticks), backup.id, job.server_id, job.id, iso_utc(rp_ticks),
                          rp_ticks, session.id)
        local = datetime_of(file_ticks) + timedelta(hours=server.utc_offset_hours)
        file_name = f"{job.name}D{local:%Y-%m-%dT%H%M%S}_{g.hex4()}.{ext}"
        total_size = sum(vm.size_bytes for vm, _, _ in made)
        if ext == "vbk":
            data = int(total_size * g.rng.uniform(0.9, 1.0))
            dedup = round(g.rng.uniform(1.2, 2.2), 2)
            compress = round(g.rng.uniform(1.8, 2.6), 2)
        else:
            data = int(total_size * g.rng.uniform(0.02, 0.08))
            dedup = 1.0
            compress = round(g.rng.uniform(4.0, 7.5), 2)
        repo = self.repositories[job.repository_id]
        sep = "/" if "/" in repo.path else "\\"
        bf = BackupFile(
            id=g.guid(),
            name=file_name,
            file_path=f"{repo.path}{sep}{job.name}{sep}{file_name}",
            backup_size=int(data / (dedup * compress)),
            data_size=data,
            dedup_ratio=dedup,
            compress_ratio=compress,
            creation_time_utc=iso_utc(file_ticks),
            creation_ticks=file_ticks,
            file_type=ext,
            backup_id=backup.id,
            server_id=job.server_id,
        )
        bf.restore_point_ids.append(rp.id)
        rp.backup_file_ids.append(bf.id)
        for vm, point_ticks, task in made:
            pid = g.guid()
            if vm.name == "sql01" and newest and not session.is_retry and self.vms.get("sql01") is vm:
                pid = SQL01_NEWEST_POINT_ID
            vp = VmRestorePoint(
                id=pid,
                name=f"{vm.name}@{name_stamp(point_ticks)}",
                vm_name=vm.name,
                creation_time_utc=iso_utc(point_ticks),
                creation_ticks=point_ticks,
                algorithm=algorithm,
                point_type=point_type,
                hierarchy_obj_ref=vm.hierarchy_obj_ref,
                restore_point_id=rp.id,
                backup_file_id=bf.id,
                backup_server_id=job.server_id,
                job_id=job.id,
                backup_id=backup.id,
                task_session_id=task.id,
            )
            task.vm_point_id = pid
            self.vm_points[pid] = vp
            self.points_by_vm[self.vm_key(vm)].append(vp)
            rp.vm_point_ids.append(pid)
            bf.vm_point_ids.append(pid)
        self.restore_points[rp.id] = rp
        self.backup_files[bf.id] = bf
        backup.restore_point_ids.append(rp.id)
        backup.backup_file_ids.append(bf.id)
        session.restore_point_ids.append(rp.id)

    # --- the backup copy job ----------------------------------------------------------------------------

    def run_copy_job(self, job: Job, source: Job) -> None:
        """Immediate backup copy of `source`: per source run a parent session (Progress 0) and one worker
        session per source session that produced points, with one task per copied VM (TotalSize 0)."""
        g = self.g
        worker_name = f"{job.name}\\{source.name}"
        by_ref = {vm.hierarchy_obj_ref: vm for vm in self.vms.values()}
        by_day: dict[int, list[JobSession]] = {}
        for sid in source.session_ids:
            s = self.job_sessions[sid]
            if s.restore_point_ids and s.end_ticks is not None:
                day = (s.creation_ticks - TICKS_PER_HOUR * 12) // TICKS_PER_DAY
                by_day.setdefault(day, []).append(s)
        for sessions in by_day.values():
            parent_start = sessions[0].creation_ticks - g.seconds(240, 360)
            workers: list[tuple[int, int, list[tuple[Vm, int, int]]]] = []
            for src in sessions:
                assert src.end_ticks is not None
                start = src.end_ticks + g.seconds(60, 180)
                cursor = start + g.seconds(5, 15)
                copies: list[tuple[Vm, int, int]] = []
                for tid in src.task_ids:
                    task = self.task_sessions[tid]
                    if task.vm_point_id is None:
                        continue
                    task_start = cursor + g.seconds(1, 5)
                    task_end = task_start + g.seconds(20, 90)
                    copies.append((by_ref[task.vm_uid], task_start, task_end))
                    cursor = task_end
                end = cursor + g.seconds(3, 10)
                if end <= self.anchor_ticks:
                    workers.append((start, end, copies))
            if not workers:
                continue
            parent_end = workers[-1][1] + g.seconds(5, 30)
            if parent_end > self.anchor_ticks:
                continue
            parent = self.session(job, parent_start, parent_end, False, job_type="ImmediateBackupCopy")
            # The real copy parent reports Progress 0 although it is Stopped.
            parent.progress = 0
            results = []
            for start, end, copies in workers:
                worker = self.session(job, start, end, False, job_type="ImmediateBackupCopyWorker",
                                      job_name=worker_name)
                worker.parent_id = parent.id
                for vm, task_start, task_end in copies:
                    self.task(worker, vm, task_start, task_end, "Completed", "Success", "", 0)
                worker.result = worst([self.task_sessions[t].result or "Success" for t in worker.task_ids])
                results.append(worker.result)
            parent.result = worst(results)

    # --- everything -------------------------------------------------------------------------------------

    # --- twins -------------------------------------------------------------------------------------------

    def twins(self) -> None:
        """Same display names for different objects, as a real multi-server estate has them: a second
        `SQL Backup` on vbr02 (another vCenter) with another sql01 that failed its last runs, and a second
        vcd-web01 in another vCloud organisation. Drawn from a separate RNG: the normal build is untouched."""
        g = self.g
        normal = g.rng
        # Reproducible demo data, not security (a str seed is hashed with SHA-512: stable across processes).
        g.rng = random.Random(f"twins/{self.seed}")  # noqa: S311
        try:
            self.sql_twin()
            self.vcd_twin()
        finally:
            g.rng = normal

    def sql_twin(self) -> None:
        original = self.vms.get(TWIN_SQL_VM)
        if original is None or len(self.server_ids) < 2:
            return
        spec = _JobSpec(SQL_JOB, "VMware", 1, "local1", "forward", "synthetic", "sql", True)
        job = self.make_job(spec, [TWIN_SQL_VM, TWIN_SQL_PEER_VM])
        root = self.g.guid()
        self.make_vms(spec, job, {(job.server_id, "VMware"): root})
        twin = self.job_vms[job.id][0]
        self.twin_failing = twin
        try:
            self.run_backup_job(spec, job)
        finally:
            self.twin_failing = None
        facts = self.facts
        facts.twin_sql_job_id, facts.twin_sql_backup_id, facts.twin_vcenter_root = job.id, job.backup_id, root
        facts.twin_sql01_ref = twin.hierarchy_obj_ref
        facts.twin_sql01_failed_task_ids = [
            tid for sid in job.session_ids for tid in self.job_sessions[sid].task_ids
            if self.task_sessions[tid].vm_uid == twin.hierarchy_obj_ref and self.task_sessions[tid].result == "Failed"
        ]
        points = self.points_by_vm[self.vm_key(twin)]
        facts.twin_sql01_newest_point_id = points[-1].id if points else ""

    def vcd_twin(self) -> None:
        original = self.vms.get(TWIN_VCD_VM)
        if original is None or original.platform != "vCloud":
            return
        spec = _JobSpec(TWIN_VCD_JOB, "vCloud", 0, "local0", "forward", "synthetic", (2, 30), True)
        job = self.make_job(spec, [TWIN_VCD_VM])
        root = self.g.guid()
        self.make_vms(spec, job, {(job.server_id, "vCloud"): root})
        twin = self.job_vms[job.id][0]
        self.twin_steady = [twin]
        try:
            self.run_backup_job(spec, job)
        finally:
            self.twin_steady = []
        self.facts.twin_vcd_ref, self.facts.twin_vcd_root = twin.hierarchy_obj_ref, root
        self.facts.twin_vcd_job_id = job.id

    # --- everything -------------------------------------------------------------------------------------

    def build(self, twins: bool = False, coverage: bool = True) -> Dataset:
        g = self.g
        self.servers_and_repositories()
        # One hierarchy root (vCenter, Hyper-V cluster, vCloud Director) per platform per server.
        roots = {(sid, p): g.guid() for sid in self.server_ids for p in ("VMware", "HyperV", "vCloud")}
        plans = self.plan_jobs()
        built: list[tuple[_JobSpec, Job]] = []
        for spec, names in plans:
            job = self.make_job(spec, names)
            self.make_vms(spec, job, roots)
            built.append((spec, job))
        source = next((job for spec, job in built if spec.name == RETRY_JOB), None)
        copy_job = None
        if source is not None:
            copy_job = self.make_job(_COPY_SPEC, [])
            copy_job.source_job_ids.append(source.id)
        for spec, job in built:
            self.run_backup_job(spec, job)
        if copy_job is not None and source is not None:
            self.run_copy_job(copy_job, source)
        extra = None
        if coverage:
            # After the normal build, before the twins, from RNGs of its own (coverage.py).
            from .coverage import add_coverage

            extra = add_coverage(self)
        if twins:
            self.twins()
        ds = Dataset(
            seed=self.seed, anchor=self.anchor, backup_servers=self.servers, repositories=self.repositories,
            jobs=self.jobs, backups=self.backups, restore_points=self.restore_points,
            backup_files=self.backup_files, vm_restore_points=self.vm_points, vms=self.vms,
            points_by_vm=self.points_by_vm, objects_in_job=self.objects, job_sessions=self.job_sessions,
            task_sessions=self.task_sessions, facts=self.facts,
        )
        if extra is not None:
            extra.attach(ds)
        return ds


def build_dataset(
    *, seed: int = 7, anchor: datetime | None = None, vm_count: int = 30, days: int = 30, twins: bool = False,
    coverage: bool = True,
) -> Dataset:
    """Build the simulator's data; see the module docstring and docs/simulator-contract.md.

    `coverage` (default on) adds the rest of what a real EM serves (copies, replicas, restore sessions, EM's own
    sessions, Veeam Agent, vCloud organisation configs, Cloud Connect tenants; coverage.py) after the normal build;
    `twins=True` then adds the same-name twins (`Facts.twin_*`). Neither changes anything of the normal build."""
    if anchor is None:
        anchor = _default_anchor()
    if anchor.tzinfo is None:
        raise ValueError("anchor must be timezone-aware (UTC)")
    anchor = anchor.astimezone(UTC)
    if vm_count < 1 or days < 1:
        raise ValueError("vm_count and days must be positive")
    return _Builder(seed, anchor, vm_count, days).build(twins, coverage)


def _chain_role(spec: _JobSpec, r: int, n: int, weekday: int) -> tuple[str, str, str]:
    """(PointType, Algorithm, file extension) of run `r` of `n` in the job's chain."""
    if spec.method == "reverse":
        # Reverse incremental: the newest point is always the full (.vbk); older ones become .vrb.
        algorithm = "Full" if r == 0 else "ReversedIncremental"
        if r == n - 1:
            return "Full", algorithm, "vbk"
        return "ReverseIncrement", algorithm, "vrb"
    if r == 0 or (spec.full_mode == "active" and weekday == 6):
        return "Full", "Full", "vbk"
    if spec.full_mode == "synthetic" and weekday == 5:
        return "Full", "SyntheticFull", "vbk"
    return "Increment", "Incremental", "vib"


# --- transforms for tests (mutate in place; apply before create_app, whose query service caches tables) ---

def _renamed(text: str, old: str, new: str) -> str:
    """`text` with its `<old>@...` / `<old>\\...` head replaced by `new` (names like `sql01@2025-10-20 07:00:29`)."""
    if text == old:
        return new
    for sep in ("@", "\\", " - "):
        if text.startswith(old + sep):
            return new + text[len(old):]
    return text


def _rekeyed(table: dict[str, Any], old_key: str, new_key: str) -> dict[str, Any]:
    return {(new_key if k == old_key else k): v for k, v in table.items()}


def rename_vm(dataset: Dataset, old_name: str, new_name: str, *, ref: str | None = None) -> None:
    """Rename one VM everywhere its name appears: `vms` and `points_by_vm` (re-keyed, order kept), task sessions'
    VmDisplayName and Name, VM restore points' VmName and Name, its own include's Name and DisplayName, and the
    name lists of its job and include. Refs and ids are unchanged. `ref` (the VM's HierarchyObjRef) picks the VM
    when several have `old_name` (twins); without it the name must be unique. Apply before `create_app`."""
    found = [(key, vm) for key, vm in dataset.vms.items()
             if vm.name == old_name and (ref is None or vm.hierarchy_obj_ref == ref)]
    if not found:
        raise KeyError(f"no VM named {old_name!r}" + (f" with ref {ref!r}" if ref else ""))
    if len(found) > 1:
        raise ValueError(f"{len(found)} VMs are named {old_name!r}; pass ref= to pick one")
    old_key, vm = found[0]
    uid = vm.hierarchy_obj_ref
    vm.name = new_name
    taken = new_name in dataset.vms and dataset.vms[new_name] is not vm
    new_key = uid if taken else new_name
    dataset.vms = _rekeyed(dataset.vms, old_key, new_key)
    dataset.points_by_vm = _rekeyed(dataset.points_by_vm, old_key, new_key)
    for p in dataset.points_by_vm[new_key]:
        p.vm_name = new_name
        p.name = _renamed(p.name, old_name, new_name)
    for t in (*dataset.task_sessions.values(), *dataset.replica_task_sessions.values()):
        if t.vm_uid == uid:
            t.vm_name = new_name
            t.name = _renamed(t.name, old_name, new_name)
    for rp in dataset.vm_replica_points.values():
        if rp.source_ref == uid:
            rp.source_vm, rp.vm_name = new_name, f"{new_name}_replica"
            rp.name = _renamed(rp.name, f"{old_name}_replica", rp.vm_name)
    points = {p.id for p in dataset.points_by_vm[new_key]}
    for r in dataset.restore_sessions.values():
        if r.vm_name == old_name and r.point_id in points:
            r.vm_name = new_name
            r.name = _renamed(r.name, old_name, new_name).replace(f"FLR_[{old_name}]@", f"FLR_[{new_name}]@")
    for job in dataset.jobs.values():
        if job.id == vm.job_id or any(dataset.objects_in_job[o].hierarchy_obj_ref == uid for o in job.object_ids
                                      if o in dataset.objects_in_job):
            job.vm_names = [new_name if n == old_name else n for n in job.vm_names]
    for include in dataset.objects_in_job.values():
        if include.id == vm.object_in_job_id or include.hierarchy_obj_ref == uid:
            include.vm_names = [new_name if n == old_name else n for n in include.vm_names]
            if include.hierarchy_obj_ref == uid:
                include.name = include.display_name = new_name


def rename_job(dataset: Dataset, job_id: str, new_name: str) -> None:
    """Rename a job (of `jobs` or `agent_jobs`): the job, its sessions' JobName and Name (a copy worker's
    `<job>\\<source>` head, an agent session's `<job> - <computer>` head too; replica sessions too), its tasks'
    JobName, its Backups' and its Replica's names. Backup file names and paths keep the old name (as on a real
    server). Apply before `create_app`."""
    job = dataset.any_job(job_id)
    old = job.name
    job.name = new_name
    replica_sessions = [s for s in dataset.replica_sessions.values() if s.job_id == job_id]
    for s in (*(dataset.job_sessions[sid] for sid in job.session_ids), *replica_sessions):
        s.job_name = _renamed(s.job_name, old, new_name)
        s.name = _renamed(s.name, old, new_name)
        tasks = dataset.replica_task_sessions if s.job_type == "Replica" else dataset.task_sessions
        for tid in s.task_ids:
            tasks[tid].job_name = s.job_name
    for backup in dataset.backups.values():
        if backup.id == job.backup_id or backup.job_id == job_id:
            backup.name = new_name
    for replica in dataset.replicas.values():
        if replica.job_id == job_id:
            replica.name = new_name


# --- the `mutate` fault: one item more or less in the middle of a type's items by creation time ------------

# Query type (lower case) -> Dataset attribute; the types the `mutate` fault can change.
MUTABLE_TYPES = {
    "vmrestorepoint": "vm_restore_points",
    "restorepoint": "restore_points",
    "backupfile": "backup_files",
    "backupjobsession": "job_sessions",
    "backuptasksession": "task_sessions",
}


def _created(obj: Any) -> int:
    return int(obj.backup_ticks if isinstance(obj, RestorePoint) else obj.creation_ticks)


def _items_of(dataset: Dataset, type_name: str) -> dict[str, Any]:
    attr = MUTABLE_TYPES.get(type_name.lower())
    if attr is None:
        raise ValueError(f"cannot mutate {type_name}; one of: VmRestorePoint, RestorePoint, BackupFile, "
                         "BackupJobSession, BackupTaskSession")
    items: dict[str, Any] = getattr(dataset, attr)
    return items


def _new_guid(dataset: Dataset, rng: random.Random) -> str:
    taken = (dataset.vm_restore_points, dataset.restore_points, dataset.backup_files, dataset.job_sessions,
             dataset.task_sessions)
    while True:
        n = rng.getrandbits(128)
        n = (n & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
        h = f"{n:032x}"
        guid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if not any(guid in t for t in taken):
            return guid


def _points_key(dataset: Dataset, p: VmRestorePoint) -> str:
    """The `points_by_vm` key of `p`'s VM (its name, or its ref for a twin)."""
    vm = dataset.vms.get(p.vm_name)
    return p.vm_name if vm is not None and vm.hierarchy_obj_ref == p.hierarchy_obj_ref else p.hierarchy_obj_ref


def insert_copy(dataset: Dataset, type_name: str) -> str:
    """Add a copy of the item in the middle of `type_name`'s items sorted by creation time, with a new id and a
    creation time strictly between the copied item and its successor (the nearest pair around the middle
    whose times differ by 2 ticks or more), linked into its parents' lists; returns the new id."""
    items = _items_of(dataset, type_name)
    ordered = sorted(items.values(), key=_created)
    if len(ordered) < 2:
        raise ValueError(f"{type_name} has fewer than two items")
    middle = len(ordered) // 2
    pairs = sorted(range(len(ordered) - 1), key=lambda i: abs(i - middle))
    at = next((i for i in pairs if _created(ordered[i + 1]) - _created(ordered[i]) >= 2), None)
    if at is None:
        raise ValueError(f"no two {type_name} items are far enough apart in time")
    source = ordered[at]
    old = _created(source)
    new = (old + _created(ordered[at + 1])) // 2
    rng = random.Random(f"{dataset.seed}/{type_name.lower()}/{len(items)}")  # noqa: S311 - not security
    new_id = _new_guid(dataset, rng)
    stamp = name_stamp(new)
    if isinstance(source, VmRestorePoint):
        vp = VmRestorePoint(**{**_fields(source), "id": new_id, "name": f"{source.vm_name}@{stamp}",
                               "creation_time_utc": iso_utc(new), "creation_ticks": new, "task_session_id": ""})
        dataset.restore_points[vp.restore_point_id].vm_point_ids.append(new_id)
        dataset.backup_files[vp.backup_file_id].vm_point_ids.append(new_id)
        points = dataset.points_by_vm.setdefault(_points_key(dataset, vp), [])
        points.insert(bisect.bisect_right([p.creation_ticks for p in points], new), vp)
        copy: Any = vp
    elif isinstance(source, RestorePoint):
        copy = RestorePoint(**{**_fields(source), "id": new_id, "name": sql_style_name(new),
                               "backup_date_utc": iso_utc(new), "backup_ticks": new, "vm_point_ids": [],
                               "backup_file_ids": []})
        dataset.backups[copy.backup_id].restore_point_ids.append(new_id)
    elif isinstance(source, BackupFile):
        copy = BackupFile(**{**_fields(source), "id": new_id, "creation_time_utc": iso_utc(new),
                             "creation_ticks": new, "restore_point_ids": [], "vm_point_ids": []})
        dataset.backups[copy.backup_id].backup_file_ids.append(new_id)
    else:
        end = None if source.end_ticks is None else source.end_ticks + new - old
        head = source.vm_name if isinstance(source, TaskSession) else source.job_name
        shifted = {**_fields(source), "id": new_id, "name": f"{head}@{stamp}", "creation_time_utc": iso_utc(new),
                   "creation_ticks": new, "end_ticks": end, "end_time_utc": None if end is None else iso_utc(end)}
        if isinstance(source, TaskSession):
            copy = TaskSession(**{**shifted, "vm_point_id": None})
            dataset.job_sessions[copy.job_session_id].task_ids.append(new_id)
        else:
            copy = JobSession(**{**shifted, "task_ids": [], "restore_point_ids": []})
            dataset.any_job(copy.job_id).session_ids.append(new_id)
    items[new_id] = copy
    return new_id


def _fields(obj: Any) -> dict[str, Any]:
    """A slots dataclass' fields, lists copied."""
    return {name: (list(v) if isinstance(v := getattr(obj, name), list) else v) for name in obj.__dataclass_fields__}


def _drop(ids: list[str], item_id: str) -> None:
    if item_id in ids:
        ids.remove(item_id)


def _remove_vm_point(dataset: Dataset, pid: str) -> None:
    p = dataset.vm_restore_points.pop(pid)
    if (rp := dataset.restore_points.get(p.restore_point_id)) is not None:
        _drop(rp.vm_point_ids, pid)
    if (bf := dataset.backup_files.get(p.backup_file_id)) is not None:
        _drop(bf.vm_point_ids, pid)
    if (task := dataset.task_sessions.get(p.task_session_id)) is not None and task.vm_point_id == pid:
        task.vm_point_id = None
    points = dataset.points_by_vm.get(_points_key(dataset, p), [])
    if any(q is p for q in points):
        points[:] = [q for q in points if q is not p]


def _remove_task(dataset: Dataset, tid: str) -> None:
    t = dataset.task_sessions.pop(tid)
    if (session := dataset.job_sessions.get(t.job_session_id)) is not None:
        _drop(session.task_ids, tid)
    if t.vm_point_id is not None and (p := dataset.vm_restore_points.get(t.vm_point_id)) is not None:
        p.task_session_id = ""


def _remove_agent_points(dataset: Dataset, doomed: Callable[[AgentRestorePoint], bool]) -> None:
    """Agent restore points cannot outlive their RestorePoint or BackupFile."""
    for pid in [p.id for p in dataset.agent_restore_points.values() if doomed(p)]:
        del dataset.agent_restore_points[pid]


def remove_middle(dataset: Dataset, type_name: str) -> str:
    """Delete the item in the middle of `type_name`'s items sorted by creation time, with what cannot exist
    without it (a session's task sessions; a restore point's or backup file's VM restore points) and every
    link to it; returns the removed id."""
    items = _items_of(dataset, type_name)
    if not items:
        raise ValueError(f"{type_name} has no items")
    ordered = sorted(items.values(), key=_created)
    victim = ordered[len(ordered) // 2]
    vid: str = victim.id
    if isinstance(victim, VmRestorePoint):
        _remove_vm_point(dataset, vid)
    elif isinstance(victim, TaskSession):
        _remove_task(dataset, vid)
    elif isinstance(victim, JobSession):
        for tid in list(victim.task_ids):
            _remove_task(dataset, tid)
        del dataset.job_sessions[vid]
        _drop(dataset.any_job(victim.job_id).session_ids, vid)
        for rp_id in victim.restore_point_ids:
            if (rp := dataset.restore_points.get(rp_id)) is not None:
                rp.job_session_id = ""
        for s in dataset.job_sessions.values():
            if s.parent_id == vid:
                s.parent_id = None
    elif isinstance(victim, RestorePoint):
        for pid in list(victim.vm_point_ids):
            _remove_vm_point(dataset, pid)
        _remove_agent_points(dataset, lambda p: p.restore_point_id == vid)
        del dataset.restore_points[vid]
        _drop(dataset.backups[victim.backup_id].restore_point_ids, vid)
        for bf_id in victim.backup_file_ids:
            if (bf := dataset.backup_files.get(bf_id)) is not None:
                _drop(bf.restore_point_ids, vid)
        if (session := dataset.job_sessions.get(victim.job_session_id)) is not None:
            _drop(session.restore_point_ids, vid)
    else:
        for pid in list(victim.vm_point_ids):
            _remove_vm_point(dataset, pid)
        _remove_agent_points(dataset, lambda p: p.backup_file_id == vid)
        del dataset.backup_files[vid]
        _drop(dataset.backups[victim.backup_id].backup_file_ids, vid)
        for rp_id in victim.restore_point_ids:
            if (rp := dataset.restore_points.get(rp_id)) is not None:
                _drop(rp.backup_file_ids, vid)
    return vid
