"""The query service's fields of every type (`query?type=`): aliases, typed values and the joins EM filters on
that are not in the entity (`JobName` on task sessions), with the enumerations EM accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..dataset import Dataset
from ..fields import Field, FieldList, parse_date_ticks

# --- query fields -----------------------------------------------------------------------------------------

def _uid_name() -> FieldList:
    return [
        (("UID", "Id"), Field("UID", "uid", lambda o: o.id)),
        (("Name",), Field("Name", "str", lambda o: o.name.casefold())),
    ]


def _server(ds: Dataset, attr: str = "server_id") -> FieldList:
    servers = ds.backup_servers
    return [
        (("BackupServerUid", "BackupServerId"), Field("BackupServerUid", "uid", lambda o: getattr(o, attr))),
        (("BackupServerName",),
         Field("BackupServerName", "str", lambda o: servers[getattr(o, attr)].name.casefold())),
    ]


def _enum(name: str, values: tuple[str, ...], get: Callable[[Any], str | None]) -> Field:
    index = {v: i for i, v in enumerate(values)}
    return Field(name, "enum", lambda o: index.get(get(o) or ""), values)


POINT_TYPES = ("Full", "Increment", "ReverseIncrement")
ALGORITHMS = ("Full", "Incremental", "ReversedIncremental", "SyntheticFull")
PLATFORMS = ("VMware", "HyperV", "vCloud", "AgentForLinux", "AgentForWindows", "CustomPlatform")
JOB_TYPES = ("Backup", "BackupCopy", "ImmediateBackupCopy", "Replica")
SESSION_JOB_TYPES = ("Backup", "BackupCopy", "ImmediateBackupCopy", "ImmediateBackupCopyWorker", "AgentBackup",
                     "AgentManagement", "NasBackup")
SESSION_STATES = ("Starting", "Stopping", "Working", "Pausing", "Resuming", "Stopped")
TASK_STATES = ("InProgress", "Pending", "Completed")
RESULTS = ("Success", "Warning", "Failed")
REPLICA_POINT_TYPES = ("Full", "ReverseIncrement", "Increment", "Snapshot")
RESTORE_TYPES = ("FileLevelRestore", "RestoreVm")
RESTORE_STATES = ("Starting", "Stopping", "Working", "Stopped")
SYSTEM_SESSION_STATES = ("InProgress", "CompletedSuccessfully", "CompletedWarning", "Failed")
AGENT_JOB_TYPES = ("AgentBackup",)
TENANT_TYPES = ("vCD", "Standalone", "ActiveDirectory")


def vm_point_fields(ds: Dataset) -> FieldList:
    rps, backups, jobs = ds.restore_points, ds.backups, ds.jobs
    return [
        *_uid_name(),
        (("CreationTime", "CreationTimeUTC"), Field("CreationTime", "date", lambda p: p.creation_ticks)),
        (("Type", "PointType"), _enum("PointType", POINT_TYPES, lambda p: p.point_type)),
        (("Algorithm",), _enum("Algorithm", ALGORITHMS, lambda p: p.algorithm)),
        # VmName and HierarchyObjRef are not in the doc's list but work on real servers (BASE §4).
        (("VmName",), Field("VmName", "str", lambda p: p.vm_name.casefold())),
        (("VmDisplayName",), Field("VmDisplayName", "str", lambda p: p.vm_name.casefold())),
        (("HierarchyObjRef",), Field("HierarchyObjRef", "str", lambda p: p.hierarchy_obj_ref.casefold())),
        (("RestorePointId", "RestorePointUid"), Field("RestorePointId", "uid", lambda p: p.restore_point_id)),
        (("RestorePointName",),
         Field("RestorePointName", "str", lambda p: rps[p.restore_point_id].name.casefold())),
        *_server(ds, "backup_server_id"),
        (("BackupUid", "BackupId"), Field("BackupUid", "uid", lambda p: p.backup_id)),
        (("BackupName",), Field("BackupName", "str", lambda p: backups[p.backup_id].name.casefold())),
        (("BackupFileUid", "BackupFileId"), Field("BackupFileUid", "uid", lambda p: p.backup_file_id)),
        (("JobUid", "JobId"), Field("JobUid", "uid", lambda p: p.job_id)),
        (("JobName",), Field("JobName", "str", lambda p: jobs[p.job_id].name.casefold())),
    ]


def restore_point_fields(ds: Dataset) -> FieldList:
    backups = ds.backups
    return [
        *_uid_name(),
        (("CreationTime", "BackupDate", "BackupDateUTC"), Field("CreationTime", "date", lambda r: r.backup_ticks)),
        (("BackupUid", "BackupId"), Field("BackupUid", "uid", lambda r: r.backup_id)),
        (("BackupName",), Field("BackupName", "str", lambda r: backups[r.backup_id].name.casefold())),
        *_server(ds),
    ]


def backup_file_fields(ds: Dataset) -> FieldList:
    backups = ds.backups
    return [
        *_uid_name(),
        (("FilePath",), Field("FilePath", "str", lambda f: f.file_path.casefold())),
        (("CreationTime", "CreationTimeUtc"), Field("CreationTime", "date", lambda f: f.creation_ticks)),
        (("FileType",), Field("FileType", "str", lambda f: f.file_type)),
        (("BackupSize",), Field("BackupSize", "int", lambda f: f.backup_size)),
        (("DataSize",), Field("DataSize", "int", lambda f: f.data_size)),
        (("BackupUid", "BackupId"), Field("BackupUid", "uid", lambda f: f.backup_id)),
        (("BackupName",), Field("BackupName", "str", lambda f: backups[f.backup_id].name.casefold())),
        *_server(ds),
    ]


def backup_fields(ds: Dataset) -> FieldList:
    # JobUid/JobName/RepositoryUid/RepositoryName: the only way from a (copy) job to its target (reference §3.3).
    repos = ds.repositories
    return [
        *_uid_name(),
        (("Platform",), _enum("Platform", PLATFORMS, lambda b: b.platform)),
        (("BackupType",), Field("BackupType", "str", lambda b: b.backup_type.casefold())),
        (("JobUid", "JobId"), Field("JobUid", "uid", lambda b: b.job_id)),
        (("JobName",), Field("JobName", "str", lambda b: ds.any_job(b.job_id).name.casefold())),
        (("RepositoryUid", "RepositoryId"), Field("RepositoryUid", "uid", lambda b: b.repository_id)),
        (("RepositoryName",), Field("RepositoryName", "str", lambda b: repos[b.repository_id].name.casefold())),
        *_server(ds),
    ]


def backup_server_fields(ds: Dataset) -> FieldList:
    return [
        *_uid_name(),
        (("Description",), Field("Description", "str", lambda s: s.description.casefold())),
        (("Port",), Field("Port", "int", lambda s: s.port)),
        (("Version",), Field("Version", "str", lambda s: s.version.casefold())),
    ]


def job_fields(ds: Dataset) -> FieldList:
    return [
        *_uid_name(),
        (("Description",), Field("Description", "str", lambda j: j.description.casefold())),
        (("NextRun",), Field("NextRun", "date",
                             lambda j: None if j.next_run is None else parse_date_ticks(j.next_run))),
        (("JobType",), _enum("JobType", JOB_TYPES, lambda j: j.job_type)),
        (("Platform",), _enum("Platform", PLATFORMS, lambda j: j.platform)),
        (("ScheduleConfigured",), Field("ScheduleConfigured", "bool", lambda j: j.schedule_configured)),
        (("ScheduleEnabled",), Field("ScheduleEnabled", "bool", lambda j: j.schedule_enabled)),
        *_server(ds),
    ]


def object_in_job_fields(ds: Dataset) -> FieldList:
    jobs = ds.jobs
    return [
        # UID is the ObjectInJobId (a bare GUID, not a URN).
        (("UID", "ObjectInJobId"), Field("UID", "uid", lambda o: o.id)),
        (("Name",), Field("Name", "str", lambda o: o.name.casefold())),
        (("JobUid", "JobId"), Field("JobUid", "uid", lambda o: o.job_id)),
        (("JobName",), Field("JobName", "str", lambda o: jobs[o.job_id].name.casefold())),
        (("BackupServerUid", "BackupServerId"), Field("BackupServerUid", "uid", lambda o: jobs[o.job_id].server_id)),
        (("BackupServerName",), Field("BackupServerName", "str",
                                      lambda o: ds.backup_servers[jobs[o.job_id].server_id].name.casefold())),
    ]


def repository_fields(ds: Dataset) -> FieldList:
    # The reference's field list has no Kind: EM cannot filter repositories on it.
    return [
        *_uid_name(),
        (("FreeSpace",), Field("FreeSpace", "int", lambda r: r.free_space)),
        (("Capacity",), Field("Capacity", "int", lambda r: r.capacity)),
        *_server(ds),
    ]


def job_session_fields(ds: Dataset) -> FieldList:
    return [
        *_uid_name(),
        (("JobType",), _enum("JobType", SESSION_JOB_TYPES, lambda s: s.job_type)),
        (("JobUid", "JobId"), Field("JobUid", "uid", lambda s: s.job_id)),
        (("JobName",), Field("JobName", "str", lambda s: s.job_name.casefold())),
        (("CreationTime", "CreationTimeUTC"), Field("CreationTime", "date", lambda s: s.creation_ticks)),
        (("EndTime", "EndTimeUTC"), Field("EndTime", "date", lambda s: s.end_ticks)),
        (("State",), _enum("State", SESSION_STATES, lambda s: s.state)),
        (("Result",), _enum("Result", RESULTS, lambda s: s.result)),
        (("IsRetry",), Field("IsRetry", "bool", lambda s: s.is_retry)),
        *_server(ds),
    ]


def task_session_fields(ds: Dataset) -> FieldList:
    # JobUid, JobName, BackupServerUid/Name and VmDisplayName are not in the entity: EM joins them in.
    return [
        *_uid_name(),
        (("CreationTime", "CreationTimeUTC"), Field("CreationTime", "date", lambda t: t.creation_ticks)),
        (("EndTime", "EndTimeUTC"), Field("EndTime", "date", lambda t: t.end_ticks)),
        (("State",), _enum("State", TASK_STATES, lambda t: t.state)),
        (("Result",), _enum("Result", RESULTS, lambda t: t.result)),
        (("Reason",), Field("Reason", "str", lambda t: t.reason.casefold())),
        (("TotalSize",), Field("TotalSize", "int", lambda t: t.total_size)),
        (("JobSessionUid", "JobSessionId"), Field("JobSessionUid", "uid", lambda t: t.job_session_id)),
        (("JobUid", "JobId"), Field("JobUid", "uid", lambda t: t.job_id)),
        (("JobName",), Field("JobName", "str", lambda t: t.job_name.casefold())),
        *_server(ds),
        (("VmDisplayName",), Field("VmDisplayName", "str", lambda t: t.vm_name.casefold())),
    ]


def replica_fields(ds: Dataset) -> FieldList:
    jobs, repos = ds.jobs, ds.repositories
    return [
        *_uid_name(),
        (("JobUid", "JobId"), Field("JobUid", "uid", lambda r: r.job_id)),
        (("JobName",), Field("JobName", "str", lambda r: jobs[r.job_id].name.casefold())),
        (("RepositoryUid", "RepositoryId"), Field("RepositoryUid", "uid", lambda r: r.repository_id)),
        (("RepositoryName",), Field("RepositoryName", "str", lambda r: repos[r.repository_id].name.casefold())),
    ]


def vm_replica_point_fields(ds: Dataset) -> FieldList:
    replicas = ds.replicas
    return [
        *_uid_name(),
        (("CreationTime", "CreationTimeUTC"), Field("CreationTime", "date", lambda p: p.creation_ticks)),
        (("Type", "PointType"), _enum("PointType", REPLICA_POINT_TYPES, lambda p: p.point_type)),
        (("Algorithm",), _enum("Algorithm", ALGORITHMS, lambda p: p.algorithm)),
        (("ReplicaUid", "ReplicaId"), Field("ReplicaUid", "uid", lambda p: p.replica_id)),
        (("ReplicaName",), Field("ReplicaName", "str", lambda p: replicas[p.replica_id].name.casefold())),
        # The served VmDisplayName: the replica VM's name (`<vm>_replica`).
        (("VmDisplayName",), Field("VmDisplayName", "str", lambda p: p.vm_name.casefold())),
        *_server(ds),
    ]


def replica_session_fields(ds: Dataset) -> FieldList:
    fields = job_session_fields(ds)
    return [(names, _enum("JobType", JOB_TYPES, lambda s: s.job_type) if names == ("JobType",) else f)
            for names, f in fields]


def restore_session_fields(ds: Dataset) -> FieldList:
    # The JobType filter is `Type` (reference §1.2); `JobType` is not a field of this query.
    return [
        *_uid_name(),
        (("Type",), _enum("Type", RESTORE_TYPES, lambda r: r.job_type)),
        (("CreationTime", "CreationTimeUTC"), Field("CreationTime", "date", lambda r: r.creation_ticks)),
        (("EndTime", "EndTimeUTC"), Field("EndTime", "date", lambda r: r.end_ticks)),
        (("State",), _enum("State", RESTORE_STATES, lambda r: r.state)),
        (("Result",), _enum("Result", RESULTS, lambda r: r.result)),
        *_server(ds),
        (("VmDisplayName",), Field("VmDisplayName", "str", lambda r: r.vm_name.casefold())),
    ]


def system_session_fields(ds: Dataset) -> FieldList:
    # Not a documented query type (reference §2.2); served because v12/v13 `Entities` has a SystemSessions key.
    return [
        *_uid_name(),
        (("SessionType",), Field("SessionType", "str", lambda s: s.session_type.casefold())),
        (("CreationTime", "CreationTimeUTC"), Field("CreationTime", "date", lambda s: s.creation_ticks)),
        (("EndTime", "EndTimeUTC"), Field("EndTime", "date", lambda s: s.end_ticks)),
        (("State",), _enum("State", SYSTEM_SESSION_STATES, lambda s: s.state)),
    ]


def agent_job_fields(ds: Dataset) -> FieldList:
    return [
        *_uid_name(),
        (("Description",), Field("Description", "str", lambda j: j.description.casefold())),
        (("JobType",), _enum("JobType", AGENT_JOB_TYPES, lambda j: j.job_type)),
        (("Platform",), _enum("Platform", PLATFORMS, lambda j: j.platform)),
        (("ScheduleConfigured",), Field("ScheduleConfigured", "bool", lambda j: j.schedule_configured)),
        (("ScheduleEnabled",), Field("ScheduleEnabled", "bool", lambda j: j.schedule_enabled)),
        *_server(ds),
    ]


def agent_point_fields(ds: Dataset) -> FieldList:
    # ComputerName is the per-machine filter (not in the entity); no HierarchyObjRef, no VmName.
    rps, backups, files = ds.restore_points, ds.backups, ds.backup_files
    return [
        *_uid_name(),
        (("CreationTime", "CreationTimeUTC"), Field("CreationTime", "date", lambda p: p.creation_ticks)),
        (("ComputerName",), Field("ComputerName", "str", lambda p: p.computer_name.casefold())),
        (("Type", "PointType"), _enum("PointType", POINT_TYPES, lambda p: p.point_type)),
        (("Algorithm",), _enum("Algorithm", ALGORITHMS, lambda p: p.algorithm)),
        (("RestorePointId", "RestorePointUid"), Field("RestorePointId", "uid", lambda p: p.restore_point_id)),
        (("RestorePointName",),
         Field("RestorePointName", "str", lambda p: rps[p.restore_point_id].name.casefold())),
        (("BackupUid", "BackupId"), Field("BackupUid", "uid", lambda p: p.backup_id)),
        (("BackupName",), Field("BackupName", "str", lambda p: backups[p.backup_id].name.casefold())),
        (("BackupFileUid", "BackupFileId"), Field("BackupFileUid", "uid", lambda p: p.backup_file_id)),
        (("BackupFileName",), Field("BackupFileName", "str", lambda p: files[p.backup_file_id].name.casefold())),
        *_server(ds),
    ]


def protection_group_fields(ds: Dataset) -> FieldList:
    return [*_uid_name(), *_server(ds)]


def discovered_computer_fields(ds: Dataset) -> FieldList:
    groups = ds.protection_groups
    return [
        *_uid_name(),
        (("AgentVersion",), Field("AgentVersion", "str", lambda c: c.agent_version.casefold())),
        (("AgentStatus",), Field("AgentStatus", "str", lambda c: c.agent_status.casefold())),
        (("OsVersion",), Field("OsVersion", "str", lambda c: c.os_version.casefold())),
        (("IpAddress",), Field("IpAddress", "str", lambda c: c.ip_address.casefold())),
        (("ProtectionGroupUid", "ProtectionGroupId"), Field("ProtectionGroupUid", "uid", lambda c: c.group_id)),
        (("ProtectionGroupName",),
         Field("ProtectionGroupName", "str", lambda c: groups[c.group_id].name.casefold())),
        *_server(ds),
    ]


def org_config_fields(ds: Dataset) -> FieldList:
    # The filter names differ from the elements: Disabled (IsDisabled), UsedQuota (UsedQuotaMb, MB).
    repos = ds.repositories
    return [
        *_uid_name(),
        (("Disabled",), Field("Disabled", "bool", lambda o: o.is_disabled)),
        (("UsedQuota",), Field("UsedQuota", "int", lambda o: o.used_quota_mb)),
        (("QuotaGb",), Field("QuotaGb", "int", lambda o: o.quota_gb)),
        (("JobSchedulerType",), Field("JobSchedulerType", "str", lambda o: o.scheduler_type.casefold())),
        (("RepositoryUid", "RepositoryId"), Field("RepositoryUid", "uid", lambda o: o.repository_id)),
        (("HostUid",), Field("HostUid", "uid", lambda o: o.host_uid.rsplit(":", 1)[-1])),
        (("RepositoryFriendlyName",),
         Field("RepositoryFriendlyName", "str", lambda o: repos[o.repository_id].name.casefold())),
        *_server(ds),
    ]


def cloud_tenant_fields(ds: Dataset) -> FieldList:
    servers = ds.backup_servers
    return [
        *_uid_name(),
        (("Enabled",), Field("Enabled", "bool", lambda t: t.enabled)),
        # Spelled BackupServerUId in the doc (sic); names are case-insensitive, so BackupServerUid works too.
        (("BackupServerUId",), Field("BackupServerUId", "uid", lambda t: t.server_id)),
        (("BackupServerName",), Field("BackupServerName", "str", lambda t: servers[t.server_id].name.casefold())),
        (("Type",), _enum("Type", TENANT_TYPES, lambda t: t.tenant_type)),
    ]
