"""The simulator's collections, one row each: what `/api/<segment>` serves and what `query?type=` knows.

A row names the EM type and its plural, where its items come from in the `Dataset`, its view (reference and
entity representations, views.py), its sub-collections (`/coll/{id}/<child>`), the text of its 400/404
errors and its query-type fields (including the ones EM filters on that are not in the entity, such as
`JobName` on task sessions). app.py routes and query.py answers from these rows alone, so a new EM type is
one dataset entity plus one row (tests/simulator/test_sim_registry.py adds one to prove it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import views
from .dataset import Dataset
from .query import Field, FieldList, parse_date_ticks
from .render import Resource
from .views import ViewContext

View = Callable[[ViewContext, Any, bool], Resource]


@dataclass(frozen=True)
class Child:
    """A sub-collection `/<row segment>/{id}/<segment>` holding items of the row `type_name`."""

    segment: str
    type_name: str
    items: Callable[[Dataset, Any], Sequence[Any]]
    # `/.../{id}/<segment>/{child id}` serves one item (the includes of a job).
    addressable: bool = False


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

    @property
    def list_element(self) -> str:
        return self.xml_plural or self.plural


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
    jobs = ds.jobs
    return [
        *_uid_name(),
        (("Platform",), _enum("Platform", PLATFORMS, lambda b: b.platform)),
        (("BackupType",), Field("BackupType", "str", lambda b: b.backup_type.casefold())),
        (("JobUid", "JobId"), Field("JobUid", "uid", lambda b: b.job_id)),
        (("JobName",), Field("JobName", "str", lambda b: jobs[b.job_id].name.casefold())),
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


_VM_POINTS = Child("vmRestorePoints", "VmRestorePoint", _by_ids("vm_restore_points", "vm_point_ids"))
_RESTORE_POINTS = Child("restorePoints", "RestorePoint", _by_ids("restore_points", "restore_point_ids"))
_BACKUP_FILES = Child("backupFiles", "BackupFile", _by_ids("backup_files", "backup_file_ids"))


def _unmodelled(type_name: str, plural: str, label: str, segment: str, *, guid_ids: bool = True) -> Row:
    """A collection EM has nothing in for this estate: served as an empty list, every id unknown."""
    return Row(type_name, plural, _empty, views.unmodelled, label, segment, guid_ids=guid_ids)


ROWS: tuple[Row, ...] = (
    Row("VmRestorePoint", "VmRestorePoints", lambda d: d.vm_restore_points, views.vm_restore_point,
        "VM restore point", "vmRestorePoints",
        # Mounts live only within a logon session and none are ever created here.
        (Child("mounts", "VmRestorePointMount", _nothing),), _vm_point_fields),
    Row("RestorePoint", "RestorePoints", lambda d: d.restore_points, views.restore_point, "restore point",
        "restorePoints", (_VM_POINTS, _BACKUP_FILES), _restore_point_fields),
    Row("BackupFile", "BackupFiles", lambda d: d.backup_files, views.backup_file, "backup file", "backupFiles",
        (_VM_POINTS, _RESTORE_POINTS), _backup_file_fields),
    Row("Backup", "Backups", lambda d: d.backups, views.backup, "backup", "backups",
        (_RESTORE_POINTS, _BACKUP_FILES), _backup_fields),
    Row("BackupServer", "BackupServers", lambda d: d.backup_servers, views.backup_server, "backup server",
        "backupServers", (
            Child("jobs", "Job", _by_ids("jobs", "job_ids")),
            Child("repositories", "Repository", _by_ids("repositories", "repository_ids")),
            Child("externalRepositories", "ExternalRepository", _nothing),
        ), _backup_server_fields),
    Row("Job", "Jobs", lambda d: d.jobs, views.job, "job", "jobs", (
        Child("includes", "ObjectInJob", _by_ids("objects_in_job", "object_ids"), addressable=True),
        Child("backupSessions", "BackupJobSession", _by_ids("job_sessions", "session_ids")),
    ), _job_fields),
    Row("ObjectInJob", "ObjectInJobs", lambda d: d.objects_in_job, views.object_in_job, "object in job", None,
        query=_object_in_job_fields, resource_only=True, xml_plural="ObjectsInJob",
        query_xml_plural="sInObjectJob"),
    Row("Repository", "Repositories", lambda d: d.repositories, views.repository, "repository", "repositories", (
        Child("backups", "Backup", _by_ids("backups", "backup_ids")),
        Child("replicas", "Replica", _nothing),
    ), _repository_fields),
    Row("BackupJobSession", "BackupJobSessions", lambda d: d.job_sessions, views.job_session,
        "backup job session", "backupSessions",
        (Child("taskSessions", "BackupTaskSession", _by_ids("task_sessions", "task_ids")),), _job_session_fields),
    Row("BackupTaskSession", "BackupTaskSessions", lambda d: d.task_sessions, views.task_session,
        "backup task session", "backupTaskSessions", query=_task_session_fields),
    Row("VmRestorePointMount", "VmRestorePointMounts", _empty, views.unmodelled, "mount", None,
        resource_only=True),
    _unmodelled("FailoverPlan", "FailoverPlans", "failover plan", "failoverPlans"),
    _unmodelled("VAppRestorePoint", "VAppRestorePoints", "vApp restore point", "vAppRestorePoints"),
    _unmodelled("Replica", "Replicas", "replica", "replicas"),
    _unmodelled("VmReplicaPoint", "VmReplicaPoints", "VM replica point", "vmReplicaPoints"),
    _unmodelled("CatalogVm", "CatalogVms", "catalog VM", "catalog/vms", guid_ids=False),
    _unmodelled("RestoreSession", "RestoreSessions", "restore session", "restoreSessions"),
    _unmodelled("ReplicaJobSession", "ReplicaJobSessions", "replica job session", "replicaSessions"),
    _unmodelled("ReplicaTaskSession", "ReplicaTaskSessions", "replica task session", "replicaTaskSessions"),
    _unmodelled("WanAccelerator", "WanAccelerators", "WAN accelerator", "wanAccelerators"),
    _unmodelled("ExternalRepository", "ExternalRepositories", "external repository", "externalRepositories"),
    # Async operations: none is ever started (the simulator never writes), so the task list is empty.
    _unmodelled("Task", "Tasks", "task", "tasks", guid_ids=False),
)


class Registry:
    """The rows by type name and by path, as app.py and query.py look them up."""

    def __init__(self, rows: Sequence[Row] = ROWS) -> None:
        self.rows = tuple(rows)
        self.by_type = {row.type_name.lower(): row for row in self.rows}
        if len(self.by_type) != len(self.rows):
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
        return [row for row in self.rows if row.query is not None]


DEFAULT_REGISTRY = Registry()
