"""Entity and reference representations of the simulator's data, with EM's exact link sets.

A reference (`GET /coll/{id}`) carries only navigation links (Up, Alternate -> entity with `?format=Entity`,
and Down/Related lists), an entity (`?format=Entity`) adds action links and fields, and its Alternate points
back to the reference. Real-server quirks are reproduced on purpose: the RestorePoint's `Related` link to
`/backupFiles` is typed `RestorePointReferenceList`, BackupFile spells `CreationTimeUtc`, the job schedule
is under `Standart`, `RetrySpecified` is `RetrySpecified1` in JSON, `IsRetry` comes first in JSON sessions.
An `ObjectInJob` is a resource, not an entity: it has no reference form and no UID/Name attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .config import SimulatorConfig
from .dataset import (
    Backup,
    BackupFile,
    BackupServer,
    Dataset,
    Job,
    JobSession,
    ObjectInJob,
    Repository,
    RestorePoint,
    TaskSession,
    VmRestorePoint,
    datetime_of,
)
from .render import ABSENT, NIL, Alias, Dual, Embedded, FieldT, Items, Link, Node, Resource, Value


@dataclass(frozen=True, slots=True)
class ViewContext:
    """Per-request inputs of a view: the absolute `/api` base built from the request's origin."""

    base: str
    dataset: Dataset
    config: SimulatorConfig


def _uid(kind: str, id_: str) -> str:
    return f"urn:veeam:{kind}:{id_}"


# --- links to parents, shared by entity and reference forms ---------------------------------------------

def _server_up(ctx: ViewContext, server_id: str) -> Link:
    server = ctx.dataset.backup_servers[server_id]
    return Link(f"{ctx.base}/backupServers/{server_id}", "Up", "BackupServerReference", server.name)


def _backup_up(ctx: ViewContext, backup_id: str) -> Link:
    backup = ctx.dataset.backups[backup_id]
    return Link(f"{ctx.base}/backups/{backup_id}", "Up", "BackupReference", backup.name)


def _alternate(href: str, type_: str, name: str, to_entity: bool) -> Link:
    return Link(href + "?format=Entity" if to_entity else href, "Alternate", type_, name)


# --- VmRestorePoint ------------------------------------------------------------------------------------

def vm_restore_point(ctx: ViewContext, p: VmRestorePoint, entity: bool) -> Resource:
    ds = ctx.dataset
    href = f"{ctx.base}/vmRestorePoints/{p.id}"
    rp = ds.restore_points[p.restore_point_id]
    bf = ds.backup_files[p.backup_file_id]
    ups = [
        _server_up(ctx, p.backup_server_id),
        Link(f"{ctx.base}/restorePoints/{rp.id}", "Up", "RestorePointReference", rp.name),
        Link(f"{ctx.base}/backupFiles/{bf.id}", "Up", "BackupFileReference", bf.name),
    ]
    uid = _uid("VmRestorePoint", p.id)
    if not entity:
        return Resource("VmRestorePoint", "VmRestorePointReference", href, p.name, uid,
                        [*ups, _alternate(href, "VmRestorePoint", p.name, True)], is_ref=True)
    omit = ctx.config.omit_vm_name
    links = [
        Link(f"{href}?action=restore", "Restore"),
        *ups,
        _alternate(href, "VmRestorePointReference", p.name, False),
        Link(f"{href}/mounts", "Down", "VmRestorePointMountList"),
        Link(f"{href}/mounts", "Create", "VmRestorePointMount"),
    ]
    fields: list[FieldT] = [
        ("CreationTime" + ctx.config.creation_time_spelling, p.creation_time_utc),
        # The 13.0 docs sample and v9 servers have no VmName at all (not even null).
        ("VmName", ABSENT if omit else p.vm_name),
        ("Algorithm", p.algorithm),
        ("PointType", p.point_type),
        ("HierarchyObjRef", p.hierarchy_obj_ref),
    ]
    return Resource("VmRestorePoint", "VmRestorePoint", f"{href}?format=Entity", p.name, uid, links, fields,
                    vm_display_name=None if omit else p.vm_name)


# --- RestorePoint (job-level) ---------------------------------------------------------------------------

def restore_point(ctx: ViewContext, rp: RestorePoint, entity: bool) -> Resource:
    href = f"{ctx.base}/restorePoints/{rp.id}"
    common = [
        Link(f"{href}/vmRestorePoints", "Down", "VmRestorePointReferenceList"),
        # Real servers (9.5 U4 capture, 13.0 docs) type this link wrongly; clients must route on Href.
        Link(f"{href}/backupFiles", "Related", "RestorePointReferenceList"),
    ]
    ups = [_backup_up(ctx, rp.backup_id), _server_up(ctx, rp.server_id)]
    uid = _uid("RestorePoint", rp.id)
    if not entity:
        return Resource("RestorePoint", "RestorePointReference", href, rp.name, uid,
                        [*ups, _alternate(href, "RestorePoint", rp.name, True), *common], is_ref=True)
    links = [*ups, _alternate(href, "RestorePointReference", rp.name, False), *common]
    return Resource("RestorePoint", "RestorePoint", f"{href}?format=Entity", rp.name, uid, links,
                    [("BackupDateUTC", rp.backup_date_utc)])


# --- BackupFile -----------------------------------------------------------------------------------------

def backup_file(ctx: ViewContext, bf: BackupFile, entity: bool) -> Resource:
    href = f"{ctx.base}/backupFiles/{bf.id}"
    common = [
        Link(f"{href}/restorePoints", "Related", "RestorePointReferenceList"),
        Link(f"{href}/vmRestorePoints", "Down", "VmRestorePointReferenceList"),
    ]
    ups = [_backup_up(ctx, bf.backup_id), _server_up(ctx, bf.server_id)]
    uid = _uid("BackupFile", bf.id)
    if not entity:
        return Resource("BackupFile", "BackupFileReference", href, bf.name, uid,
                        [*ups, _alternate(href, "BackupFile", bf.name, True), *common], is_ref=True)
    links = [*ups, _alternate(href, "BackupFileReference", bf.name, False), *common]
    fields: list[FieldT] = [
        ("FilePath", bf.file_path),
        ("BackupSize", bf.backup_size),
        ("DataSize", bf.data_size),
        ("DeduplicationRatio", bf.dedup_ratio),
        ("CompressRatio", bf.compress_ratio),
        # Lower-case `tc` is how EM spells it on BackupFile (unlike CreationTimeUTC elsewhere).
        ("CreationTimeUtc", bf.creation_time_utc),
        ("FileType", bf.file_type),
    ]
    return Resource("BackupFile", "BackupFile", f"{href}?format=Entity", bf.name, uid, links, fields)


# --- Backup ---------------------------------------------------------------------------------------------

def backup(ctx: ViewContext, b: Backup, entity: bool) -> Resource:
    href = f"{ctx.base}/backups/{b.id}"
    repo = ctx.dataset.repositories[b.repository_id]
    ups = [
        Link(f"{ctx.base}/repositories/{repo.id}", "Up", "RepositoryReference", repo.name),
        _server_up(ctx, b.server_id),
    ]
    downs = [
        Link(f"{href}/restorePoints", "Down", "RestorePointReferenceList"),
        Link(f"{href}/backupFiles", "Down", "BackupFileReferenceList"),
    ]
    uid = _uid("Backup", b.id)
    if not entity:
        return Resource("Backup", "BackupReference", href, b.name, uid,
                        [*ups, _alternate(href, "Backup", b.name, True), *downs], is_ref=True)
    links = [*ups, _alternate(href, "BackupReference", b.name, False), *downs]
    return Resource("Backup", "Backup", f"{href}?format=Entity", b.name, uid, links,
                    [("Platform", b.platform), ("BackupType", b.backup_type)])


# --- BackupServer ---------------------------------------------------------------------------------------

def backup_server(ctx: ViewContext, s: BackupServer, entity: bool) -> Resource:
    # Managed servers, credentials and password keys are not modelled, so they are not advertised (a real
    # server links them too); external repositories are served as an empty list (there are none).
    href = f"{ctx.base}/backupServers/{s.id}"
    uid = _uid("BackupServer", s.id)
    if not entity:
        links = [
            Link(f"{href}/jobs", "Down", "JobReferenceList"),
            Link(f"{href}/repositories", "Down", "RepositoryReferenceList"),
            Link(f"{href}/externalRepositories", "Down", "ExternalRepositoryReferenceList"),
            _alternate(href, "BackupServer", s.name, True),
        ]
        return Resource("BackupServer", "BackupServerReference", href, s.name, uid, links, is_ref=True)
    links = [
        _alternate(href, "BackupServerReference", s.name, False),
        Link(href, "Edit", "BackupServerReference"),
        Link(href, "Delete", "BackupServerReference"),
        Link(f"{href}/jobs", "Down", "JobReferenceList"),
        Link(f"{href}/repositories", "Down", "RepositoryReferenceList"),
        Link(f"{href}/externalRepositories", "Down", "ExternalRepositoryReferenceList"),
        Link(f"{href}?action=veeamzip", "VeeamZip"),
        Link(f"{href}?action=quickbackup", "QuickBackup"),
        Link(f"{href}?action=collect", "Start"),
    ]
    return Resource("BackupServer", "BackupServer", f"{href}?format=Entity", s.name, uid, links,
                    [("Description", s.description), ("Port", s.port), ("Version", s.version)])


# --- Job ------------------------------------------------------------------------------------------------

_ZERO_GUID = "00000000-0000-0000-0000-000000000000"
_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")


def _indexing() -> Node:
    # Guest file-system indexing is off everywhere, which is why the catalog (/catalog/vms) is empty.
    return Node((("FileSystemIndexingMode", "Disabled"), ("IncludedIndexingFolders", Items((), "Path")),
                 ("ExcludedIndexingFolders", Items((), "Path"))))


def _guest_processing(vss_mode: str) -> Node:
    return Node((
        ("VssSnapshotOptions", Node((("VssSnapshotMode", vss_mode), ("IsCopyOnly", False)))),
        ("WindowsGuestFSIndexingOptions", _indexing()),
        ("LinuxGuestFSIndexingOptions", _indexing()),
        ("SqlBackupOptions", Node((("TransactionLogsProcessing", "OnlyOnSuccessJob"),
                                   ("BackupLogsFrequencyMin", 15), ("UseDbBackupRetention", True),
                                   ("RetainDays", 15)))),
        # XML writes the empty GUID, JSON an empty string (9.5 U4 capture).
        ("WindowsCredentialsId", Dual(_ZERO_GUID, "")),
        ("LinuxCredentialsId", Dual(_ZERO_GUID, "")),
    ))


_GUEST_PROCESSING = {mode: _guest_processing(mode) for mode in ("RequireSuccess", "Disabled")}


def _schedule(ctx: ViewContext, j: Job) -> Node:
    """JobScheduleOptions: `Standart` (sic) with RetryOptions and the daily schedule.

    XML `Time` is an xs:time in the backup server's offset; JSON `Time` is a datetime on the job's creation
    date in UTC (the date part means nothing), as the 9.5 U4 capture shows; NextRun is the UTC instant."""
    assert j.schedule_minute is not None
    offset = ctx.dataset.backup_servers[j.server_id].utc_offset_hours
    hour, minute = divmod(j.schedule_minute, 60)
    local = (j.schedule_minute + offset * 60) % 1440
    sign = "+" if offset >= 0 else "-"
    xml_time = f"{local // 60:02d}:{local % 60:02d}:00.0000000{sign}{abs(offset):02d}:00"
    created = datetime_of(j.created_ticks)
    json_time = f"{created:%Y-%m-%d}T{hour:02d}:{minute:02d}:00Z"
    monthly_local = (created + timedelta(hours=offset)).replace(hour=local // 60, minute=local % 60)
    return Node((("Standart", Node((
        ("RetryOptions", Node((("RetryTimes", 2), ("RetryTimeout", 10),
                               (Alias("RetrySpecified", "RetrySpecified1"), True)))),
        ("WaitForBackupCompletion", True),
        ("BackupCompetitionWaitingPeriodMin", 180),
        ("OptionsDaily", Node((
            ("Kind", "Everyday"),
            ("Days", Items(_WEEKDAYS)),
            ("Time", Dual(xml_time, json_time)),
            ("TimeOffsetUtc", offset),
        ), (("Enabled", True),))),
        ("OptionsMonthly", Node((
            ("Time", Dual(xml_time, f"{monthly_local:%Y-%m-%dT%H:%M:00}{sign}{abs(offset):02d}:00")),
            ("TimeOffsetUtc", offset),
            ("DayNumberInMonth", "Fourth"),
            ("DayOfWeek", "Saturday"),
            ("Months", Items(_MONTH_NAMES)),
            ("DayOfMonth", 1),
        ), (("Enabled", False),))),
    ))),))


def object_in_job(ctx: ViewContext, o: ObjectInJob, entity: bool = True, *, embedded: bool = False) -> Resource:
    """An include of a job. Embedded in the job entity it has no links (9.5 U4 JSON capture)."""
    job = ctx.dataset.jobs[o.job_id]
    job_href = f"{ctx.base}/jobs/{job.id}"
    href = f"{job_href}/includes/{o.id}"
    links = [] if embedded else [
        Link(href, "Delete", "ObjectInJob", o.name),
        Link(f"{job_href}?format=Entity", "Up", "Job", job.name),
    ]
    fields: list[FieldT] = [
        ("ObjectInJobId", o.id),
        ("HierarchyObjRef", o.hierarchy_obj_ref),
        ("Name", o.name),
        ("DisplayName", o.display_name),
        ("Order", o.order),
        ("GuestProcessingOptions", _GUEST_PROCESSING[o.vss_mode]),
    ]
    return Resource("ObjectInJob", "ObjectInJob", href, links=links, fields=fields, has_links=not embedded)


def job(ctx: ViewContext, j: Job, entity: bool) -> Resource:
    href = f"{ctx.base}/jobs/{j.id}"
    uid = _uid("Job", j.id)
    up = _server_up(ctx, j.server_id)
    sessions = Link(f"{href}/backupSessions", "Down", "BackupJobSessionReferenceList")
    if not entity:
        return Resource("Job", "JobReference", href, j.name, uid,
                        [up, _alternate(href, "Job", j.name, True), sessions], is_ref=True)
    fields: list[FieldT] = [
        ("JobType", j.job_type),
        ("Platform", j.platform),
        ("Description", j.description),
        ("ScheduleConfigured", j.schedule_configured),
        ("ScheduleEnabled", j.schedule_enabled),
        # Absent (null in v12/v13 JSON) when the job will not run on a schedule.
        ("NextRun", j.next_run),
    ]
    if j.job_type != "Backup":
        # The immediate-copy doc samples have no Edit/Start/Stop/Retry/includes links; its schedule and
        # ImmediateBackupCopyJobInfo are not modelled (no capture of them).
        return Resource("Job", "Job", f"{href}?format=Entity", j.name, uid,
                        [up, _alternate(href, "JobReference", j.name, False), sessions], fields)
    links = [
        up,
        _alternate(href, "JobReference", j.name, False),
        # 9.5 U4 capture: Edit is the job itself (PUT), the other actions carry no Type.
        Link(href, "Edit", "JobReference", j.name),
        Link(f"{href}?action=clone", "Clone"),
        Link(f"{href}/includes", "Down", "ObjectInJobList"),
        Link(f"{href}?action=toggleScheduleEnabled", "ToggleScheduleEnabled"),
        sessions,
        Link(f"{href}/includes", "Create", "ObjectInJob"),
        Link(f"{href}?action=start", "Start"),
        Link(f"{href}?action=stop", "Stop"),
        Link(f"{href}?action=retry", "Retry"),
    ]
    includes = tuple(object_in_job(ctx, ctx.dataset.objects_in_job[o], embedded=True) for o in j.object_ids)
    fields += [
        ("JobScheduleOptions", _schedule(ctx, j)),
        ("JobInfo", Node((("BackupJobInfo", Node((
            ("Includes", Embedded("ObjectInJobs", includes)),
            ("GuestProcessingOptions", _GUEST_PROCESSING["Disabled"]),
            ("AdvancedStorageOptions", Node((("PasswordKeyId", Dual(_ZERO_GUID, "")),))),
        ))),))),
    ]
    return Resource("Job", "Job", f"{href}?format=Entity", j.name, uid, links, fields)


# --- Repository -----------------------------------------------------------------------------------------

def repository(ctx: ViewContext, r: Repository, entity: bool) -> Resource:
    href = f"{ctx.base}/repositories/{r.id}"
    uid = _uid("Repository", r.id)
    up = _server_up(ctx, r.server_id)
    downs = [
        Link(f"{href}/backups", "Down", "BackupReferenceList"),
        Link(f"{href}/replicas", "Down", "ReplicaReferenceList"),
    ]
    if not entity:
        return Resource("Repository", "RepositoryReference", href, r.name, uid,
                        [up, _alternate(href, "Repository", r.name, True), *downs], is_ref=True)
    return Resource("Repository", "Repository", f"{href}?format=Entity", r.name, uid,
                    [up, _alternate(href, "RepositoryReference", r.name, False), *downs],
                    [("Capacity", r.capacity), ("FreeSpace", r.free_space), ("Kind", r.kind)])


# --- sessions -------------------------------------------------------------------------------------------

def _unfinished(ctx: ViewContext) -> tuple[Value, Value]:
    """(EndTimeUTC, Result) of something still running, per the `running_end_time` knob."""
    mode = ctx.config.running_end_time
    if mode == "null":
        return NIL, NIL
    if mode == "min":
        # A non-nullable .NET DateTime and enum at their defaults.
        return "0001-01-01T00:00:00Z", "None"
    return ABSENT, ABSENT


def job_session(ctx: ViewContext, s: JobSession, entity: bool) -> Resource:
    ds = ctx.dataset
    href = f"{ctx.base}/backupSessions/{s.id}"
    uid = _uid("BackupJobSession", s.id)
    job_obj = ds.jobs[s.job_id]
    ups = [
        _server_up(ctx, s.server_id),
        Link(f"{ctx.base}/jobs/{job_obj.id}", "Up", "JobReference", job_obj.name),
    ]
    tasks = Link(f"{href}/taskSessions", "Down", "BackupTaskSessionReferenceList")
    if not entity:
        return Resource("BackupJobSession", "BackupJobSessionReference", href, s.name, uid,
                        [*ups, _alternate(href, "BackupJobSession", s.name, True), tasks], is_ref=True)
    links = [*ups, _alternate(href, "BackupJobSessionReference", s.name, False), tasks,
             Link(f"{href}?action=stop", "Stop")]
    for rp_id in s.restore_point_ids:
        links.append(Link(f"{ctx.base}/restorePoints/{rp_id}", "Related", "RestorePointReference",
                          ds.restore_points[rp_id].name))
    end: Value = s.end_time_utc
    result: Value = s.result
    if s.end_time_utc is None:
        end, result = _unfinished(ctx)
    fields: list[FieldT] = [
        ("JobUid", _uid("Job", s.job_id)),
        ("JobName", s.job_name),
        ("JobType", s.job_type),
        ("CreationTimeUTC", s.creation_time_utc),
        ("EndTimeUTC", end),
        ("State", s.state),
        ("Result", result),
        ("Progress", s.progress),
        # Undocumented, null even for failed sessions (v12/v13 JSON); absent in XML and 9.5 JSON.
        ("FailureMessage", None),
        ("IsRetry", s.is_retry),
    ]
    return Resource("BackupJobSession", "BackupJobSession", f"{href}?format=Entity", s.name, uid, links, fields,
                    json_first=("IsRetry",))


def pad_reason(reason: str, chars: int) -> str:
    """`reason` repeated (a space between the copies) and cut to exactly `chars` characters (the
    `reason_chars` knob); unchanged when `chars` is 0 or the reason is empty."""
    if chars <= 0 or not reason:
        return reason
    copies = -(-(chars + 1) // (len(reason) + 1))
    return " ".join([reason] * copies)[:chars]


def task_session(ctx: ViewContext, t: TaskSession, entity: bool) -> Resource:
    ds = ctx.dataset
    href = f"{ctx.base}/backupTaskSessions/{t.id}"
    uid = _uid("BackupTaskSession", t.id)
    session = ds.job_sessions[t.job_session_id]
    ups = [
        _server_up(ctx, t.server_id),
        Link(f"{ctx.base}/backupSessions/{session.id}", "Up", "BackupJobSessionReference", session.name),
    ]
    if not entity:
        return Resource("BackupTaskSession", "BackupTaskSessionReference", href, t.name, uid,
                        [*ups, _alternate(href, "BackupTaskSession", t.name, True)], is_ref=True)
    links = [*ups, _alternate(href, "BackupTaskSessionReference", t.name, False)]
    if t.vm_point_id is not None:
        point = ds.vm_restore_points[t.vm_point_id]
        links.append(Link(f"{ctx.base}/vmRestorePoints/{point.id}?format=Entity", "Related", "VmRestorePoint",
                          point.name))
    end: Value = t.end_time_utc
    result: Value = t.result
    if t.end_time_utc is None:
        unfinished_end, unfinished_result = _unfinished(ctx)
        end = unfinished_end
        # A task in progress already reports Success (VEEAM-EM docstring); a pending one has no result yet.
        result = t.result if t.result is not None else unfinished_result
    fields: list[FieldT] = [
        ("JobSessionUid", _uid("BackupJobSession", t.job_session_id)),
        ("CreationTimeUTC", t.creation_time_utc),
        ("EndTimeUTC", end),
        ("State", t.state),
        ("Result", result),
        ("Reason", pad_reason(t.reason, ctx.config.reason_chars)),
        ("TotalSize", t.total_size),
        ("VmUid", t.vm_uid),
    ]
    return Resource("BackupTaskSession", "BackupTaskSession", f"{href}?format=Entity", t.name, uid, links,
                    fields, vm_display_name=t.vm_name)


def unmodelled(ctx: ViewContext, obj: Any, entity: bool) -> Resource:
    """View of the collections EM has nothing in here (replicas, failover plans...): never has items."""
    raise LookupError(f"no items are modelled for {type(obj).__name__}")


# --- the logon session and the entry document ----------------------------------------------------------

# The Down links of a 12.x/13.x LogonSession, in server order, keeping only what the simulator serves:
# collections it models, and those EM would answer with an empty list here (no replicas, no vApps, no
# restores, catalog indexing off...). Not advertised: managedServers, hierarchyRoots, security, querySvc,
# lookupSvc, vCloud, agents, selfService/vSphere, nas (see docs/simulator-contract.md).
SESSION_DOWN = (
    ("BackupServerReferenceList", "backupServers"),
    ("JobReferenceList", "jobs"), ("FailoverPlanReferenceList", "failoverPlans"),
    ("RepositoryReferenceList", "repositories"),
    ("BackupReferenceList", "backups"), ("RestorePointReferenceList", "restorePoints"),
    ("VmRestorePointReferenceList", "vmRestorePoints"),
    ("VAppRestorePointReferenceList", "vAppRestorePoints"), ("ReplicaReferenceList", "replicas"),
    ("VmReplicaPointReferenceList", "vmReplicaPoints"), ("CatalogVmReferenceList", "catalog/vms"),
    ("BackupJobSessionReferenceList", "backupSessions"),
    ("RestoreSessionReferenceList", "restoreSessions"),
    ("ReplicaJobSessionReferenceList", "replicaSessions"),
    ("BackupTaskSessionReferenceList", "backupTaskSessions"),
    ("ReplicaTaskSessionReferenceList", "replicaTaskSessions"),
    ("WanAcceleratorReferenceList", "wanAccelerators"),
    ("BackupFileReferenceList", "backupFiles"),
    ("ExternalRepositoryReferenceList", "externalRepositories"), ("TaskList", "tasks"),
    ("Report", "reports/summary"),
    ("BackupServerList", "backupServers?format=Entity"),
    ("JobList", "jobs?format=Entity"), ("FailoverPlanList", "failoverPlans?format=Entity"),
    ("RepositoryList", "repositories?format=Entity"), ("BackupList", "backups?format=Entity"),
    ("RestorePointList", "restorePoints?format=Entity"),
    ("VmRestorePointList", "vmRestorePoints?format=Entity"),
    ("VAppRestorePointList", "vAppRestorePoints?format=Entity"), ("ReplicaList", "replicas?format=Entity"),
    ("VmReplicaPointList", "vmReplicaPoints?format=Entity"), ("CatalogVmList", "catalog/vms?format=Entity"),
    ("BackupJobSessionList", "backupSessions?format=Entity"),
    ("RestoreSessionList", "restoreSessions?format=Entity"),
    ("ReplicaJobSessionList", "replicaSessions?format=Entity"),
    ("BackupTaskSessionList", "backupTaskSessions?format=Entity"),
    ("ReplicaTaskSessionList", "replicaTaskSessions?format=Entity"),
    ("WanAcceleratorList", "wanAccelerators?format=Entity"),
    ("BackupFileList", "backupFiles?format=Entity"),
    ("ExternalRepositoryList", "externalRepositories?format=Entity"),
)


def logon_session(base: str, session_id: str, user_name: str) -> Resource:
    href = f"{base}/logonSessions/{session_id}"
    links = [Link(f"{base}/", "Up", "EnterpriseManager")]
    for type_, path in SESSION_DOWN:
        links.append(Link(f"{base}/{path}", "Down", type_, "Summary" if type_ == "Report" else None))
    links.append(Link(href, "Delete", "LogonSession"))
    return Resource("LogonSession", "LogonSession", href, links=links,
                    fields=[("UserName", user_name), ("SessionId", session_id)])


SUPPORTED_VERSIONS = ("v1_5", "v1_6", "v1_7")


def enterprise_manager_links(base: str) -> tuple[list[Link], list[tuple[str, list[Link]]]]:
    links = [
        Link(f"{base}/logonSessions", "Down", "LogonSessionList"),
        Link(f"{base}/sessionMngr/?v=latest", "Create", "LogonSession"),
    ]
    versions = [(v, [Link(f"{base}/sessionMngr/?v={v}", "Create", "LogonSession")]) for v in SUPPORTED_VERSIONS]
    return links, versions
