"""The simulator's collections, one row each: what `/api/<segment>` serves and what `query?type=` knows.

A row names the EM type and its plural, where its items come from in the `Dataset`, its view (reference and
entity representations, views/), its sub-collections (`/coll/{id}/<child>`), the text of its 400/404
errors and its query-type fields (including the ones EM filters on that are not in the entity, such as
`JobName` on task sessions). app.py routes and query.py answers from these rows alone, so a new EM type is
one dataset entity plus one row (tests/simulator/test_sim_registry.py adds one to prove it).

A few rows carry EM's irregular shapes: `json_list_key`/`item_element`/`list_entities` for `/systemSessions`
(`<SystemSessions>` of `<Sessions>` items, JSON `Sessions`, entities even as a plain collection), a singular
`plural` for `AgentBackupJob` (the query's `Entities` key), `canonical` for the subset collections under
`/agents` (backups, restorePoints, backupFiles, backupSessions: items of another row, linked at their own
collection), and `Child.render` for a sub-resource that is one document, not a list (`/systemSessions/{id}/events`).
Service documents (`/agents`, `/vCloud`) are `views.documents.SERVICES`, not rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .dataset import Dataset
from .fields import Field, FieldList, parse_date_ticks
from .render import Resource
from .views.agents import agent_include, agent_job, agent_restore_point, discovered_computer, protection_group
from .views.backups import backup, backup_file, backup_server, repository, restore_point, vm_restore_point
from .views.common import ViewContext, unmodelled
from .views.jobs import job, linked_job, object_in_job
from .views.msp import cloud_tenant, org_config
from .views.replicas import replica, replica_session, replica_task_session, vm_replica_point
from .views.sessions import job_session, restore_session, system_session, system_session_events, task_session

View = Callable[[ViewContext, Any, bool], Resource]


@dataclass(frozen=True)
class Child:
    """A sub-collection `/<row segment>/{id}/<segment>` holding items of the row `type_name`, or (with `render`)
    one resource about the parent (`/systemSessions/{id}/events`)."""

    segment: str
    type_name: str
    items: Callable[[Dataset, Any], Sequence[Any]]
    # `/.../{id}/<segment>/{child id}` serves one item (the includes of a job).
    addressable: bool = False
    # A single resource instead of a list: `render(ctx, parent)`.
    render: Callable[[ViewContext, Any], Resource] | None = None


@dataclass(frozen=True)
class Row:
    """One EM collection / query type."""

    type_name: str
    # XML element of the entity list, JSON key of entity lists and of query results.
    plural: str
    items: Callable[[Dataset], Mapping[str, Any]]
    view: View
    # How EM names the type in "Cannot find job [<id>]".
    label: str
    # Path under /api (may hold a slash, "catalog/vms"); None: reached only as a child or through the query.
    segment: str | None = None
    children: tuple[Child, ...] = ()
    # Query-type fields (`type=<type_name>`); None: not a query type.
    query: Callable[[Dataset], FieldList] | None = None
    # No reference form (ObjectInJob): every list of it holds full resources, whatever `format` says.
    resource_only: bool = False
    # XML element of a list when it differs from `plural` (`<ObjectsInJob>` vs JSON `ObjectInJobs`).
    xml_plural: str | None = None
    # Query results: the XML element inside `Entities`/`Resources` when it differs (`sInObjectJob`).
    query_xml_plural: str | None = None
    # Items are addressed by GUID (400 " ID x is invalid" otherwise); catalog VMs are addressed by name.
    guid_ids: bool = True
    # JSON key of entity lists and the inner key of query results when it differs from `plural` (the
    # `Entities` key): `{"Sessions": [...]}` / `{"SystemSessions": {"Sessions": [...]}}`.
    json_list_key: str | None = None
    # XML element of each item in lists and query results when it differs from the entity's (`<Sessions>`).
    item_element: str | None = None
    # The collection lists entities even without `format=Entity` (`/systemSessions`).
    list_entities: bool = False
    # A subset of another collection (`agents/backups` of `backups`): items are that row's type, rendered by
    # its view, linked at `/<canonical>/{id}`; not a query type, not in `Registry.by_type`.
    canonical: str | None = None

    @property
    def list_element(self) -> str:
        return self.xml_plural or self.plural

    @property
    def list_key(self) -> str:
        return self.json_list_key or self.plural


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


def _vm_point_fields(ds: Dataset) -> FieldList:
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


def _restore_point_fields(ds: Dataset) -> FieldList:
    backups = ds.backups
    return [
        *_uid_name(),
        (("CreationTime", "BackupDate", "BackupDateUTC"), Field("CreationTime", "date", lambda r: r.backup_ticks)),
        (("BackupUid", "BackupId"), Field("BackupUid", "uid", lambda r: r.backup_id)),
        (("BackupName",), Field("BackupName", "str", lambda r: backups[r.backup_id].name.casefold())),
        *_server(ds),
    ]


def _backup_file_fields(ds: Dataset) -> FieldList:
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


def _backup_fields(ds: Dataset) -> FieldList:
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


def _backup_server_fields(ds: Dataset) -> FieldList:
    return [
        *_uid_name(),
        (("Description",), Field("Description", "str", lambda s: s.description.casefold())),
        (("Port",), Field("Port", "int", lambda s: s.port)),
        (("Version",), Field("Version", "str", lambda s: s.version.casefold())),
    ]


def _job_fields(ds: Dataset) -> FieldList:
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


def _object_in_job_fields(ds: Dataset) -> FieldList:
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


def _repository_fields(ds: Dataset) -> FieldList:
    # The reference's field list has no Kind: EM cannot filter repositories on it.
    return [
        *_uid_name(),
        (("FreeSpace",), Field("FreeSpace", "int", lambda r: r.free_space)),
        (("Capacity",), Field("Capacity", "int", lambda r: r.capacity)),
        *_server(ds),
    ]


def _job_session_fields(ds: Dataset) -> FieldList:
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


def _task_session_fields(ds: Dataset) -> FieldList:
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


def _replica_fields(ds: Dataset) -> FieldList:
    jobs, repos = ds.jobs, ds.repositories
    return [
        *_uid_name(),
        (("JobUid", "JobId"), Field("JobUid", "uid", lambda r: r.job_id)),
        (("JobName",), Field("JobName", "str", lambda r: jobs[r.job_id].name.casefold())),
        (("RepositoryUid", "RepositoryId"), Field("RepositoryUid", "uid", lambda r: r.repository_id)),
        (("RepositoryName",), Field("RepositoryName", "str", lambda r: repos[r.repository_id].name.casefold())),
    ]


def _vm_replica_point_fields(ds: Dataset) -> FieldList:
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


def _replica_session_fields(ds: Dataset) -> FieldList:
    fields = _job_session_fields(ds)
    return [(names, _enum("JobType", JOB_TYPES, lambda s: s.job_type) if names == ("JobType",) else f)
            for names, f in fields]


def _restore_session_fields(ds: Dataset) -> FieldList:
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


def _system_session_fields(ds: Dataset) -> FieldList:
    # Not a documented query type (reference §2.2); served because v12/v13 `Entities` has a SystemSessions key.
    return [
        *_uid_name(),
        (("SessionType",), Field("SessionType", "str", lambda s: s.session_type.casefold())),
        (("CreationTime", "CreationTimeUTC"), Field("CreationTime", "date", lambda s: s.creation_ticks)),
        (("EndTime", "EndTimeUTC"), Field("EndTime", "date", lambda s: s.end_ticks)),
        (("State",), _enum("State", SYSTEM_SESSION_STATES, lambda s: s.state)),
    ]


def _agent_job_fields(ds: Dataset) -> FieldList:
    return [
        *_uid_name(),
        (("Description",), Field("Description", "str", lambda j: j.description.casefold())),
        (("JobType",), _enum("JobType", AGENT_JOB_TYPES, lambda j: j.job_type)),
        (("Platform",), _enum("Platform", PLATFORMS, lambda j: j.platform)),
        (("ScheduleConfigured",), Field("ScheduleConfigured", "bool", lambda j: j.schedule_configured)),
        (("ScheduleEnabled",), Field("ScheduleEnabled", "bool", lambda j: j.schedule_enabled)),
        *_server(ds),
    ]


def _agent_point_fields(ds: Dataset) -> FieldList:
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


def _protection_group_fields(ds: Dataset) -> FieldList:
    return [*_uid_name(), *_server(ds)]


def _discovered_computer_fields(ds: Dataset) -> FieldList:
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


def _org_config_fields(ds: Dataset) -> FieldList:
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


def _cloud_tenant_fields(ds: Dataset) -> FieldList:
    servers = ds.backup_servers
    return [
        *_uid_name(),
        (("Enabled",), Field("Enabled", "bool", lambda t: t.enabled)),
        # Spelled BackupServerUId in the doc (sic); names are case-insensitive, so BackupServerUid works too.
        (("BackupServerUId",), Field("BackupServerUId", "uid", lambda t: t.server_id)),
        (("BackupServerName",), Field("BackupServerName", "str", lambda t: servers[t.server_id].name.casefold())),
        (("Type",), _enum("Type", TENANT_TYPES, lambda t: t.tenant_type)),
    ]


# --- children ---------------------------------------------------------------------------------------------

def _by_ids(attr: str, ids_attr: str) -> Callable[[Dataset, Any], list[Any]]:
    def items(ds: Dataset, obj: Any) -> list[Any]:
        table = getattr(ds, attr)
        return [table[i] for i in getattr(obj, ids_attr)]

    return items


def _nothing(ds: Dataset, obj: Any) -> list[Any]:
    return []


def _empty(ds: Dataset) -> Mapping[str, Any]:
    return {}


def _of(attr: str, key: str) -> Callable[[Dataset, Any], list[Any]]:
    """Items of the table `attr` whose `key` attribute is the parent's id (storage order)."""
    def items(ds: Dataset, obj: Any) -> list[Any]:
        return [o for o in getattr(ds, attr).values() if getattr(o, key) == obj.id]

    return items


def _agent_management(ds: Dataset, s: Any) -> list[Any]:
    if s.job_type != "AgentBackup" or s.job_id not in ds.agent_jobs:
        return []
    return [ds.job_sessions[i] for i in ds.agent_jobs[s.job_id].session_ids
            if i in ds.job_sessions and ds.job_sessions[i].parent_id == s.id]


def _agent_backups(ds: Dataset) -> Mapping[str, Any]:
    return {b.id: b for b in ds.backups.values() if b.job_id in ds.agent_jobs}


def _agent_restore_points(ds: Dataset) -> Mapping[str, Any]:
    return {i: ds.restore_points[i] for b in _agent_backups(ds).values() for i in b.restore_point_ids
            if i in ds.restore_points}


def _agent_backup_files(ds: Dataset) -> Mapping[str, Any]:
    return {i: ds.backup_files[i] for b in _agent_backups(ds).values() for i in b.backup_file_ids
            if i in ds.backup_files}


def _agent_sessions(ds: Dataset) -> Mapping[str, Any]:
    return {i: ds.job_sessions[i] for j in ds.agent_jobs.values() for i in j.session_ids if i in ds.job_sessions}


def _system_events(ctx: ViewContext, s: Any) -> Resource:
    return system_session_events(ctx, s)


_VM_POINTS = Child("vmRestorePoints", "VmRestorePoint", _by_ids("vm_restore_points", "vm_point_ids"))
_RESTORE_POINTS = Child("restorePoints", "RestorePoint", _by_ids("restore_points", "restore_point_ids"))
_BACKUP_FILES = Child("backupFiles", "BackupFile", _by_ids("backup_files", "backup_file_ids"))


def _unmodelled(type_name: str, plural: str, label: str, segment: str, *, guid_ids: bool = True) -> Row:
    """A collection EM has nothing in for this estate: served as an empty list, every id unknown."""
    return Row(type_name, plural, _empty, unmodelled, label, segment, guid_ids=guid_ids)


ROWS: tuple[Row, ...] = (
    Row("VmRestorePoint", "VmRestorePoints", lambda d: d.vm_restore_points, vm_restore_point,
        "VM restore point", "vmRestorePoints",
        # Mounts live only within a logon session and none are ever created here.
        (Child("mounts", "VmRestorePointMount", _nothing),), _vm_point_fields),
    Row("RestorePoint", "RestorePoints", lambda d: d.restore_points, restore_point, "restore point",
        "restorePoints", (_VM_POINTS, _BACKUP_FILES), _restore_point_fields),
    Row("BackupFile", "BackupFiles", lambda d: d.backup_files, backup_file, "backup file", "backupFiles",
        (_VM_POINTS, _RESTORE_POINTS), _backup_file_fields),
    Row("Backup", "Backups", lambda d: d.backups, backup, "backup", "backups",
        (_RESTORE_POINTS, _BACKUP_FILES), _backup_fields),
    Row("BackupServer", "BackupServers", lambda d: d.backup_servers, backup_server, "backup server",
        "backupServers", (
            Child("jobs", "Job", _by_ids("jobs", "job_ids")),
            Child("repositories", "Repository", _by_ids("repositories", "repository_ids")),
            Child("externalRepositories", "ExternalRepository", _nothing),
        ), _backup_server_fields),
    Row("Job", "Jobs", lambda d: d.jobs, job, "job", "jobs", (
        Child("includes", "ObjectInJob", _by_ids("objects_in_job", "object_ids"), addressable=True),
        Child("backupSessions", "BackupJobSession", _by_ids("job_sessions", "session_ids")),
        # A backup copy job's sources (empty for other jobs); repository sources are not modelled.
        Child("linkedJobs", "LinkedJobObject", _of("linked_jobs", "job_id"), addressable=True),
        Child("linkedBackupRepositories", "LinkedBackupRepositoryObject", _nothing, addressable=True),
    ), _job_fields),
    Row("LinkedJobObject", "LinkedJobObjects", lambda d: d.linked_jobs, linked_job, "linked job", None,
        resource_only=True, xml_plural="LinkedJobResourceObjects"),
    Row("LinkedBackupRepositoryObject", "LinkedBackupRepositories", _empty, unmodelled,
        "linked backup repository", None, resource_only=True, xml_plural="LinkedBackupRepositoryResourceObjects"),
    Row("ObjectInJob", "ObjectInJobs", lambda d: d.objects_in_job, object_in_job, "object in job", None,
        query=_object_in_job_fields, resource_only=True, xml_plural="ObjectsInJob",
        query_xml_plural="sInObjectJob"),
    Row("Repository", "Repositories", lambda d: d.repositories, repository, "repository", "repositories", (
        Child("backups", "Backup", _by_ids("backups", "backup_ids")),
        Child("replicas", "Replica", _of("replicas", "repository_id")),
    ), _repository_fields),
    Row("BackupJobSession", "BackupJobSessions", lambda d: d.job_sessions, job_session,
        "backup job session", "backupSessions", (
            Child("taskSessions", "BackupTaskSession", _by_ids("task_sessions", "task_ids")),
            # An AgentBackup session's per-computer AgentManagement sessions (empty for other sessions).
            Child("agentManagementSessions", "BackupJobSession", _agent_management),
        ), _job_session_fields),
    Row("BackupTaskSession", "BackupTaskSessions", lambda d: d.task_sessions, task_session,
        "backup task session", "backupTaskSessions", query=_task_session_fields),
    Row("VmRestorePointMount", "VmRestorePointMounts", _empty, unmodelled, "mount", None,
        resource_only=True),
    # --- replication --------------------------------------------------------------------------------------
    Row("Replica", "Replicas", lambda d: d.replicas, replica, "replica", "replicas",
        (Child("vmReplicaPoints", "VmReplicaPoint", _of("vm_replica_points", "replica_id")),), _replica_fields),
    Row("VmReplicaPoint", "VmReplicaPoints", lambda d: d.vm_replica_points, vm_replica_point,
        "VM replica point", "vmReplicaPoints", (Child("mounts", "VmReplicaPointMount", _nothing),),
        _vm_replica_point_fields),
    Row("VmReplicaPointMount", "VmReplicaPointMounts", _empty, unmodelled, "mount", None, resource_only=True),
    Row("ReplicaJobSession", "ReplicaJobSessions", lambda d: d.replica_sessions, replica_session,
        "replica job session", "replicaSessions",
        (Child("replicaTaskSessions", "ReplicaTaskSession", _by_ids("replica_task_sessions", "task_ids")),),
        _replica_session_fields),
    Row("ReplicaTaskSession", "ReplicaTaskSessions", lambda d: d.replica_task_sessions, replica_task_session,
        "replica task session", "replicaTaskSessions", query=_task_session_fields),
    # --- restores and EM's own sessions ------------------------------------------------------------------
    Row("RestoreSession", "RestoreSessions", lambda d: d.restore_sessions, restore_session,
        "restore session", "restoreSessions", query=_restore_session_fields),
    Row("SystemSession", "SystemSessions", lambda d: d.system_sessions, system_session, "system session",
        "systemSessions", (Child("events", "SystemSession", _nothing, render=_system_events),),
        _system_session_fields, json_list_key="Sessions", item_element="Sessions", list_entities=True),
    # --- Veeam Agent --------------------------------------------------------------------------------------
    Row("AgentBackupJob", "AgentBackupJob", lambda d: d.agent_jobs, agent_job, "agent backup job",
        "agents/jobs", (
            Child("includes", "ObjectInAgentBackupJob", _by_ids("agent_includes", "object_ids"), addressable=True),
            Child("backupSessions", "BackupJobSession", _by_ids("job_sessions", "session_ids")),
        ), _agent_job_fields, xml_plural="AgentBackupJobs", json_list_key="AgentBackupJobs"),
    Row("ObjectInAgentBackupJob", "ObjectInAgentBackupJobs", lambda d: d.agent_includes, agent_include,
        "object in agent backup job", None, resource_only=True, xml_plural="ObjectsInAgentBackupJob"),
    Row("AgentRestorePoint", "AgentRestorePoints", lambda d: d.agent_restore_points, agent_restore_point,
        "agent restore point", "agents/agentRestorePoints", (Child("mounts", "AgentRestorePointMount", _nothing),),
        _agent_point_fields),
    Row("AgentRestorePointMount", "AgentRestorePointMounts", _empty, unmodelled, "mount", None,
        resource_only=True),
    Row("AgentProtectionGroup", "AgentProtectionGroups", lambda d: d.protection_groups, protection_group,
        "agent protection group", "agents/protectionGroups",
        (Child("discoveredComputers", "DiscoveredComputer", _of("discovered_computers", "group_id")),),
        _protection_group_fields),
    Row("DiscoveredComputer", "DiscoveredComputers", lambda d: d.discovered_computers, discovered_computer,
        "discovered computer", "agents/discoveredComputers", query=_discovered_computer_fields),
    Row("Backup", "Backups", _agent_backups, backup, "backup", "agents/backups", canonical="backups"),
    Row("RestorePoint", "RestorePoints", _agent_restore_points, restore_point, "restore point",
        "agents/restorePoints", canonical="restorePoints"),
    Row("BackupFile", "BackupFiles", _agent_backup_files, backup_file, "backup file", "agents/backupFiles",
        canonical="backupFiles"),
    Row("BackupJobSession", "BackupJobSessions", _agent_sessions, job_session, "backup job session",
        "agents/backupSessions", canonical="backupSessions"),
    # --- MSP views ------------------------------------------------------------------------------------------
    Row("VCloudOrganizationConfig", "VCloudOrganizationConfigs", lambda d: d.org_configs, org_config,
        "vCloud organization config", "vCloud/orgConfigs", query=_org_config_fields),
    Row("CloudTenant", "CloudTenants", lambda d: d.cloud_tenants, cloud_tenant, "cloud tenant",
        "cloud/tenants", query=_cloud_tenant_fields),
    # --- empty here -------------------------------------------------------------------------------------------
    _unmodelled("FailoverPlan", "FailoverPlans", "failover plan", "failoverPlans"),
    _unmodelled("VAppRestorePoint", "VAppRestorePoints", "vApp restore point", "vAppRestorePoints"),
    _unmodelled("CatalogVm", "CatalogVms", "catalog VM", "catalog/vms", guid_ids=False),
    _unmodelled("WanAccelerator", "WanAccelerators", "WAN accelerator", "wanAccelerators"),
    _unmodelled("ExternalRepository", "ExternalRepositories", "external repository", "externalRepositories"),
    # Async operations: none is ever started (the simulator never writes), so the task list is empty.
    _unmodelled("Task", "Tasks", "task", "tasks", guid_ids=False),
)


class Registry:
    """The rows by type name and by path, as app.py and query.py look them up."""

    def __init__(self, rows: Sequence[Row] = ROWS) -> None:
        self.rows = tuple(rows)
        # Subset collections (`canonical`) reuse their type's name and are reached by path only.
        main = [row for row in self.rows if row.canonical is None]
        self.by_type = {row.type_name.lower(): row for row in main}
        if len(self.by_type) != len(main):
            raise ValueError("two rows share a type name")
        # Path segments (lower-case) -> row, longest paths first so "catalog/vms" wins over a "catalog" row.
        self.by_path = sorted(
            ((tuple(s.lower() for s in row.segment.split("/")), row) for row in self.rows if row.segment),
            key=lambda entry: -len(entry[0]),
        )
        for row in self.rows:
            for child in row.children:
                if child.type_name.lower() not in self.by_type:
                    raise ValueError(f"{row.type_name}/{child.segment} names the unknown type {child.type_name}")

    def row(self, type_name: str) -> Row:
        return self.by_type[type_name.lower()]

    def match(self, segments: Sequence[str]) -> tuple[Row, int] | None:
        """The row whose path starts `segments` (compared case-insensitively), with its length."""
        lowered = tuple(s.lower() for s in segments)
        for path, row in self.by_path:
            if lowered[: len(path)] == path:
                return row, len(path)
        return None

    def query_rows(self) -> list[Row]:
        return [row for row in self.rows if row.query is not None and row.canonical is None]


DEFAULT_REGISTRY = Registry()
