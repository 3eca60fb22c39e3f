"""The records the coverage phase adds (coverage/): backup copy sources, replicas and their points, restore
sessions, EM's own system sessions, Veeam Agent protection groups, computers, includes and restore points, vCloud
organisation configs, Cloud Connect tenants; and `CoverageData`, the tables they fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .records import Job, JobSession, TaskSession


@dataclass(slots=True, kw_only=True)
class LinkedJob:
    """A source job of a backup copy job (`LinkedJobObject`: `/jobs/{copy job}/linkedJobs/{id}`)."""

    id: str
    job_id: str
    linked_job_id: str


@dataclass(slots=True, kw_only=True)
class Replica:
    """One per replication job (like `Backup`); its repository holds the replica metadata."""

    id: str
    name: str
    server_id: str
    repository_id: str
    job_id: str
    platform: str


@dataclass(slots=True, kw_only=True)
class VmReplicaPoint:
    id: str
    # `<vm>_replica@<UTC time>`; VmName/VmDisplayName is the replica VM's name (source name + `_replica`).
    name: str
    vm_name: str
    source_vm: str
    source_ref: str
    creation_time_utc: str
    creation_ticks: int
    algorithm: str
    point_type: str
    replica_id: str
    server_id: str
    task_session_id: str


@dataclass(slots=True, kw_only=True)
class RestoreSession:
    id: str
    # `FLR_[<vm>]@<UTC start>` or `<vm>@<UTC start>`.
    name: str
    vm_name: str
    # RestoreVm or FileLevelRestore.
    job_type: str
    server_id: str
    creation_time_utc: str
    creation_ticks: int
    # None while running.
    end_time_utc: str | None
    end_ticks: int | None
    state: str
    # None while running (served as `None`).
    result: str | None
    progress: int
    # The VM restore point restored from; None: no `Related` link (the Hyper-V doc sample has none).
    point_id: str | None


@dataclass(slots=True, kw_only=True)
class SystemSession:
    """One of EM's own jobs (a data collection, a catalog replication) with its event log."""

    id: str
    # `Collect Job @<yyyy-MM-dd HH:mm:ss.ffffff>` (a space before the @).
    name: str
    session_type: str
    # `...Z` with microseconds.
    creation_time_utc: str
    creation_ticks: int
    end_time_utc: str
    end_ticks: int
    state: str
    result: str
    message: str
    # (ticks, message), in Order.
    events: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class ProtectionGroup:
    id: str
    name: str
    server_id: str
    platform: str
    hierarchy_obj_ref: str
    rescan_enabled: bool
    computer_ids: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class DiscoveredComputer:
    id: str
    # FQDN.
    name: str
    server_id: str
    group_id: str
    platform: str
    host_status: str
    agent_status: str
    agent_version: str
    os_version: str
    ip_address: str
    hierarchy_obj_ref: str
    size_bytes: int


@dataclass(slots=True, kw_only=True)
class AgentInclude:
    """`ObjectInAgentBackupJob`: the protection group an agent job protects."""

    id: str
    job_id: str
    group_id: str
    name: str


@dataclass(slots=True, kw_only=True)
class AgentRestorePoint:
    id: str
    # `<computer>@<UTC time>`.
    name: str
    computer_name: str
    computer_id: str
    creation_time_utc: str
    creation_ticks: int
    algorithm: str
    point_type: str
    restore_point_id: str
    backup_file_id: str
    backup_id: str
    server_id: str
    job_id: str
    # The AgentManagement session that made it.
    session_id: str


@dataclass(slots=True, kw_only=True)
class OrgConfig:
    """A vCloud Director self-service configuration (`VCloudOrganizationConfig`)."""

    id: str
    name: str
    server_id: str
    repository_id: str
    # urn:veeam:ManagedServer:<guid> of the vCD server (managed servers are not served).
    host_uid: str
    quota_gb: int
    used_quota_mb: int
    is_disabled: bool
    scheduler_type: str
    high_priority: bool
    template_job_id: str | None


@dataclass(slots=True, kw_only=True)
class CloudTenant:
    id: str
    name: str
    description: str
    server_id: str
    enabled: bool
    # Standalone, ActiveDirectory or vCD (the query's `Type`).
    tenant_type: str
    lease_expiration: str | None
    resource_id: str
    repository_id: str
    quota_display_name: str
    quota_mb: int
    used_quota_mb: int
    last_result: str
    # SQL_MIN_DATETIME when the tenant never connected.
    last_active: str
    backup_count: int
    replica_count: int
    workstation_count: int
    server_count: int
    max_concurrent_tasks: int


@dataclass
class CoverageData:
    """The new tables (they become `Dataset` attributes of the same names)."""

    linked_jobs: dict[str, LinkedJob] = field(default_factory=dict)
    replicas: dict[str, Replica] = field(default_factory=dict)
    vm_replica_points: dict[str, VmReplicaPoint] = field(default_factory=dict)
    replica_sessions: dict[str, JobSession] = field(default_factory=dict)
    replica_task_sessions: dict[str, TaskSession] = field(default_factory=dict)
    restore_sessions: dict[str, RestoreSession] = field(default_factory=dict)
    system_sessions: dict[str, SystemSession] = field(default_factory=dict)
    agent_jobs: dict[str, Job] = field(default_factory=dict)
    agent_includes: dict[str, AgentInclude] = field(default_factory=dict)
    protection_groups: dict[str, ProtectionGroup] = field(default_factory=dict)
    discovered_computers: dict[str, DiscoveredComputer] = field(default_factory=dict)
    agent_restore_points: dict[str, AgentRestorePoint] = field(default_factory=dict)
    # AgentManagement session id -> its computer's id.
    agent_session_computers: dict[str, str] = field(default_factory=dict)
    org_configs: dict[str, OrgConfig] = field(default_factory=dict)
    cloud_tenants: dict[str, CloudTenant] = field(default_factory=dict)

