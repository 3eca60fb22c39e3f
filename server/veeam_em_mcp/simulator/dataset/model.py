"""What a build produces: the `Dataset` (every table the simulator serves) and its `Facts` (where the seeded
scenarios ended up). Below the builders, so the coverage phase and the views can name it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .coverage_records import (
    AgentInclude,
    AgentRestorePoint,
    CloudTenant,
    CoverageData,
    DiscoveredComputer,
    LinkedJob,
    OrgConfig,
    ProtectionGroup,
    Replica,
    RestoreSession,
    SystemSession,
    VmReplicaPoint,
)
from .records import (
    Backup,
    BackupFile,
    BackupServer,
    Job,
    JobSession,
    ObjectInJob,
    Repository,
    RestorePoint,
    TaskSession,
    Vm,
    VmRestorePoint,
)
from .scenarios import EM_UTC_OFFSET_HOURS


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
    # --- the coverage phase (build_dataset(coverage=True), the default; empty otherwise; coverage/) -------
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
    # --- the coverage phase (coverage/; empty with coverage=False) ---------------------------------------
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

    def take_coverage(self, data: CoverageData) -> None:
        """Make the coverage phase's tables this dataset's (attributes of the same names)."""
        for name in data.__dataclass_fields__:
            setattr(self, name, getattr(data, name))
