"""Entity and reference representations of the simulator's data, with EM's exact link sets.

A reference (`GET /coll/{id}`) carries only navigation links (Up, Alternate -> entity with `?format=Entity`,
and Down/Related lists), an entity (`?format=Entity`) adds action links and fields, and its Alternate points
back to the reference. Real-server quirks are reproduced on purpose: the RestorePoint's `Related` link to
`/backupFiles` is typed `RestorePointReferenceList`, BackupFile spells `CreationTimeUtc`, the job schedule
is under `Standart`, `RetrySpecified` is `RetrySpecified1` in JSON, `IsRetry` comes first in JSON sessions.
An `ObjectInJob` is a resource, not an entity: it has no reference form and no UID/Name attributes.

The coverage types (coverage.py) keep the quirks the reference documents: system sessions' links are typed as
backup job sessions and their `Result` is an object, a DiscoveredComputer entity's own Href is a
`/backupTaskSessions/{id}?format=Entity` URL (its Alternate link is right), the agents service types
`backupFiles` as `RestorePointReferenceList`, a running restore session says `Result` `None` and has no
EndTimeUTC, replica tasks have no VmUid and replica points no HierarchyObjRef, a vCloud organisation config
mixes GB and MB, and a Cloud Connect tenant carries an empty `Password`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .config import SimulatorConfig
from .dataset import Dataset
from .dataset.clock import datetime_of, micro_text
from .dataset.coverage_records import (
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
from .dataset.records import (
    Backup,
    BackupFile,
    BackupServer,
    Job,
    JobSession,
    ObjectInJob,
    Repository,
    RestorePoint,
    TaskSession,
    VmRestorePoint,
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
        return Resource(element="VmRestorePoint", type="VmRestorePointReference", href=href, name=p.name, uid=uid,
                        links=[*ups, _alternate(href, "VmRestorePoint", p.name, True)], is_ref=True)
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
    return Resource(element="VmRestorePoint", type="VmRestorePoint", href=f"{href}?format=Entity", name=p.name, uid=uid,
                    links=links, fields=fields,
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
        return Resource(element="RestorePoint", type="RestorePointReference", href=href, name=rp.name, uid=uid,
                        links=[*ups, _alternate(href, "RestorePoint", rp.name, True), *common], is_ref=True)
    links = [*ups, _alternate(href, "RestorePointReference", rp.name, False), *common]
    return Resource(element="RestorePoint", type="RestorePoint", href=f"{href}?format=Entity", name=rp.name, uid=uid,
                    links=links,
                    fields=[("BackupDateUTC", rp.backup_date_utc)])


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
        return Resource(element="BackupFile", type="BackupFileReference", href=href, name=bf.name, uid=uid,
                        links=[*ups, _alternate(href, "BackupFile", bf.name, True), *common], is_ref=True)
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
    return Resource(element="BackupFile", type="BackupFile", href=f"{href}?format=Entity", name=bf.name, uid=uid,
                    links=links, fields=fields)


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
        return Resource(element="Backup", type="BackupReference", href=href, name=b.name, uid=uid,
                        links=[*ups, _alternate(href, "Backup", b.name, True), *downs], is_ref=True)
    links = [*ups, _alternate(href, "BackupReference", b.name, False), *downs]
    return Resource(element="Backup", type="Backup", href=f"{href}?format=Entity", name=b.name, uid=uid, links=links,
                    fields=[("Platform", b.platform), ("BackupType", b.backup_type)])


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
        return Resource(element="BackupServer", type="BackupServerReference", href=href, name=s.name, uid=uid,
                        links=links, is_ref=True)
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
    return Resource(element="BackupServer", type="BackupServer", href=f"{href}?format=Entity", name=s.name, uid=uid,
                    links=links,
                    fields=[("Description", s.description), ("Port", s.port), ("Version", s.version)])


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
    return Resource(element="ObjectInJob", type="ObjectInJob", href=href, links=links, fields=fields,
                    has_links=not embedded)


def job(ctx: ViewContext, j: Job, entity: bool) -> Resource:
    href = f"{ctx.base}/jobs/{j.id}"
    uid = _uid("Job", j.id)
    up = _server_up(ctx, j.server_id)
    sessions = Link(f"{href}/backupSessions", "Down", "BackupJobSessionReferenceList")
    if not entity:
        return Resource(element="Job", type="JobReference", href=href, name=j.name, uid=uid,
                        links=[up, _alternate(href, "Job", j.name, True), sessions], is_ref=True)
    fields: list[FieldT] = [
        ("JobType", j.job_type),
        ("Platform", j.platform),
        ("Description", j.description),
        ("ScheduleConfigured", j.schedule_configured),
        ("ScheduleEnabled", j.schedule_enabled),
        # Absent (null in v12/v13 JSON) when the job will not run on a schedule.
        ("NextRun", j.next_run),
    ]
    if j.job_type not in ("Backup", "Replica"):
        linked = [o for o in ctx.dataset.linked_jobs.values() if o.job_id == j.id]
        if not linked:
            # Without the coverage phase: no sources modelled, only the three links (as before it).
            return Resource(element="Job", type="Job", href=f"{href}?format=Entity", name=j.name, uid=uid,
                            links=[up, _alternate(href, "JobReference", j.name, False), sessions], fields=fields)
        # The immediate-copy doc samples (D131): no Edit/Start/Stop/Retry/includes links, Sync and the linked
        # lists instead; no NextRun. Its JobScheduleOptions (ImmediateCopyMode) are not modelled.
        links = [
            up,
            _alternate(href, "JobReference", j.name, False),
            Link(f"{href}?action=clone", "Clone"),
            Link(f"{href}?action=toggleScheduleEnabled", "ToggleScheduleEnabled"),
            sessions,
            Link(f"{href}?action=sync", "Sync"),
            Link(f"{href}/linkedJobs", "Down", "LinkedJobObjectList"),
            Link(f"{href}/linkedJobs", "Create", "LinkedJobObject"),
            Link(f"{href}/linkedBackupRepositories", "Down", "LinkedBackupRepositoryObjectList"),
            Link(f"{href}/linkedBackupRepositories", "Create", "LinkedBackupRepositoryObject"),
        ]
        info = Node((("ImmediateBackupCopyJobInfo", Node((
            ("LinkedJobIncludes", Embedded("LinkedJobObjects", tuple(linked_job(ctx, o, embedded=True)
                                                                     for o in linked))),
            ("LinkedBackupIncludes", Embedded("LinkedBackups", ())),
            ("LinkedBackupRepositoryIncludes", Embedded("LinkedBackupRepositories", ())),
        ))),))
        return Resource(element="Job", type="Job", href=f"{href}?format=Entity", name=j.name, uid=uid, links=links,
                        fields=[*fields, ("JobInfo", info)])
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
    if j.job_type == "Replica":
        # The JobInfo choice ReplicaJobInfo (no capture: its includes and guest processing, as BackupJobInfo's).
        info = Node((("ReplicaJobInfo", Node((
            ("Includes", Embedded("ObjectInJobs", includes)),
            ("GuestProcessingOptions", _GUEST_PROCESSING["Disabled"]),
        ))),))
    else:
        info = Node((("BackupJobInfo", Node((
            ("Includes", Embedded("ObjectInJobs", includes)),
            ("GuestProcessingOptions", _GUEST_PROCESSING["Disabled"]),
            ("AdvancedStorageOptions", Node((("PasswordKeyId", Dual(_ZERO_GUID, "")),))),
        ))),))
    fields += [("JobScheduleOptions", _schedule(ctx, j)), ("JobInfo", info)]
    return Resource(element="Job", type="Job", href=f"{href}?format=Entity", name=j.name, uid=uid, links=links,
                    fields=fields)


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
        return Resource(element="Repository", type="RepositoryReference", href=href, name=r.name, uid=uid,
                        links=[up, _alternate(href, "Repository", r.name, True), *downs], is_ref=True)
    return Resource(element="Repository", type="Repository", href=f"{href}?format=Entity", name=r.name, uid=uid,
                    links=[up, _alternate(href, "RepositoryReference", r.name, False), *downs],
                    fields=[("Capacity", r.capacity), ("FreeSpace", r.free_space), ("Kind", r.kind)])


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
    job_obj = ds.jobs.get(s.job_id)
    if job_obj is not None:
        ups = [
            _server_up(ctx, s.server_id),
            Link(f"{ctx.base}/jobs/{job_obj.id}", "Up", "JobReference", job_obj.name),
        ]
    else:
        # An agent session: its job lives under /agents/jobs (as NAS sessions' jobs under /nas/jobs on v12).
        agent_job = ds.agent_jobs[s.job_id]
        ups = [
            _server_up(ctx, s.server_id),
            Link(f"{ctx.base}/agents/jobs/{agent_job.id}", "Up", "AgentBackupJobReference", agent_job.name),
        ]
    tasks = Link(f"{href}/taskSessions", "Down", "BackupTaskSessionReferenceList")
    downs = [tasks]
    if s.job_type == "AgentBackup":
        # The per-computer AgentManagement sessions of this run.
        downs.append(Link(f"{href}/agentManagementSessions", "Down", "BackupJobSessionReferenceList"))
    elif s.job_type == "AgentManagement" and s.parent_id is not None and s.parent_id in ds.job_sessions:
        parent = ds.job_sessions[s.parent_id]
        ups.append(Link(f"{ctx.base}/backupSessions/{parent.id}", "Up", "BackupJobSessionReference", parent.name))
    if not entity:
        return Resource(element="BackupJobSession", type="BackupJobSessionReference", href=href, name=s.name, uid=uid,
                        links=[*ups, _alternate(href, "BackupJobSession", s.name, True), *downs], is_ref=True)
    links = [*ups, _alternate(href, "BackupJobSessionReference", s.name, False), *downs,
             Link(f"{href}?action=stop", "Stop")]
    for rp_id in s.restore_point_ids:
        links.append(Link(f"{ctx.base}/restorePoints/{rp_id}", "Related", "RestorePointReference",
                          ds.restore_points[rp_id].name))
    return Resource(element="BackupJobSession", type="BackupJobSession", href=f"{href}?format=Entity", name=s.name,
                    uid=uid, links=links,
                    fields=_session_fields(ctx, s), json_first=("IsRetry",))


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
        return Resource(element="BackupTaskSession", type="BackupTaskSessionReference", href=href, name=t.name, uid=uid,
                        links=[*ups, _alternate(href, "BackupTaskSession", t.name, True)], is_ref=True)
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
    return Resource(element="BackupTaskSession", type="BackupTaskSession", href=f"{href}?format=Entity", name=t.name,
                    uid=uid, links=links,
                    fields=fields, vm_display_name=t.vm_name)


def unmodelled(ctx: ViewContext, obj: Any, entity: bool) -> Resource:
    """View of the collections EM has nothing in here (replicas, failover plans...): never has items."""
    raise LookupError(f"no items are modelled for {type(obj).__name__}")


# --- backup copy sources -----------------------------------------------------------------------------------

def linked_job(ctx: ViewContext, o: LinkedJob, entity: bool = True, *, embedded: bool = False) -> Resource:
    """A source of a copy job (`LinkedJobObject`, a resource like ObjectInJob): `/jobs/{id}/linkedJobs/{id}`,
    links Up (Type Job) and Delete (reference §3.2); embedded in the job's JobInfo without links."""
    job_obj = ctx.dataset.jobs[o.job_id]
    job_href = f"{ctx.base}/jobs/{job_obj.id}"
    href = f"{job_href}/linkedJobs/{o.id}"
    links = [] if embedded else [
        Link(f"{job_href}?format=Entity", "Up", "Job", job_obj.name),
        Link(href, "Delete", "LinkedJobObject"),
    ]
    fields: list[FieldT] = [("ObjectInJobId", o.id), ("LinkedJobUid", _uid("Job", o.linked_job_id))]
    return Resource(element="LinkedJobObject", type="LinkedJobObject", href=href, links=links, fields=fields,
                    has_links=not embedded)


# --- replicas ---------------------------------------------------------------------------------------------

def replica(ctx: ViewContext, r: Replica, entity: bool) -> Resource:
    href = f"{ctx.base}/replicas/{r.id}"
    repo = ctx.dataset.repositories[r.repository_id]
    ups = [
        # Where the replica metadata lives (OPS §7).
        Link(f"{ctx.base}/repositories/{repo.id}", "Up", "RepositoryReference", repo.name),
        _server_up(ctx, r.server_id),
    ]
    down = Link(f"{href}/vmReplicaPoints", "Down", "VmReplicaPointReferenceList")
    uid = _uid("Replica", r.id)
    if not entity:
        return Resource(element="Replica", type="ReplicaReference", href=href, name=r.name, uid=uid,
                        links=[*ups, _alternate(href, "Replica", r.name, True), down], is_ref=True)
    return Resource(element="Replica", type="Replica", href=f"{href}?format=Entity", name=r.name, uid=uid,
                    links=[*ups, _alternate(href, "ReplicaReference", r.name, False), down], fields=[("Platform",
                                                                                                      r.platform)])


def vm_replica_point(ctx: ViewContext, p: VmReplicaPoint, entity: bool) -> Resource:
    """The D131 sample: Failover first, no HierarchyObjRef, VmName = the replica VM (`<vm>_replica`)."""
    href = f"{ctx.base}/vmReplicaPoints/{p.id}"
    rep = ctx.dataset.replicas[p.replica_id]
    ups = [_server_up(ctx, p.server_id), Link(f"{ctx.base}/replicas/{rep.id}", "Up", "ReplicaReference", rep.name)]
    uid = _uid("VmReplicaPoint", p.id)
    if not entity:
        return Resource(element="VmReplicaPoint", type="VmReplicaPointReference", href=href, name=p.name, uid=uid,
                        links=[*ups, _alternate(href, "VmReplicaPoint", p.name, True)], is_ref=True)
    links = [
        Link(f"{href}?action=failover", "Failover"),
        *ups,
        _alternate(href, "VmReplicaPointReference", p.name, False),
        Link(f"{href}/mounts", "Down", "VmReplicaPointMountList"),
        Link(f"{href}/mounts", "Create", "VmReplicaPointMount"),
    ]
    fields: list[FieldT] = [("CreationTimeUTC", p.creation_time_utc), ("VmName", p.vm_name),
                            ("Algorithm", p.algorithm), ("PointType", p.point_type)]
    return Resource(element="VmReplicaPoint", type="VmReplicaPoint", href=f"{href}?format=Entity", name=p.name, uid=uid,
                    links=links, fields=fields,
                    vm_display_name=p.vm_name)


def replica_session(ctx: ViewContext, s: JobSession, entity: bool) -> Resource:
    """A ReplicaJobSession: BackupJobSession's shape, its tasks under `/replicaTaskSessions`."""
    href = f"{ctx.base}/replicaSessions/{s.id}"
    uid = _uid("ReplicaJobSession", s.id)
    job_obj = ctx.dataset.jobs[s.job_id]
    ups = [_server_up(ctx, s.server_id), Link(f"{ctx.base}/jobs/{job_obj.id}", "Up", "JobReference", job_obj.name)]
    tasks = Link(f"{href}/replicaTaskSessions", "Down", "ReplicaTaskSessionReferenceList")
    if not entity:
        return Resource(element="ReplicaJobSession", type="ReplicaJobSessionReference", href=href, name=s.name, uid=uid,
                        links=[*ups, _alternate(href, "ReplicaJobSession", s.name, True), tasks], is_ref=True)
    links = [*ups, _alternate(href, "ReplicaJobSessionReference", s.name, False), tasks,
             Link(f"{href}?action=stop", "Stop")]
    return Resource(element="ReplicaJobSession", type="ReplicaJobSession", href=f"{href}?format=Entity", name=s.name,
                    uid=uid, links=links,
                    fields=_session_fields(ctx, s), json_first=("IsRetry",))


def _session_fields(ctx: ViewContext, s: JobSession) -> list[FieldT]:
    """A job session's fields, the same for backup and replication sessions (a replica session is a backup
    session's shape); a run going on has its end and result as the dialect writes an unfinished one."""
    end: Value = s.end_time_utc
    result: Value = s.result
    if s.end_time_utc is None:
        end, result = _unfinished(ctx)
    return [
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


def replica_task_session(ctx: ViewContext, t: TaskSession, entity: bool) -> Resource:
    """A ReplicaTaskSession: no VmUid (unlike BackupTaskSession); Related VmReplicaPoint where it made one."""
    ds = ctx.dataset
    href = f"{ctx.base}/replicaTaskSessions/{t.id}"
    uid = _uid("ReplicaTaskSession", t.id)
    session = ds.replica_sessions[t.job_session_id]
    ups = [
        _server_up(ctx, t.server_id),
        Link(f"{ctx.base}/replicaSessions/{session.id}", "Up", "ReplicaJobSessionReference", session.name),
    ]
    if not entity:
        return Resource(element="ReplicaTaskSession", type="ReplicaTaskSessionReference", href=href, name=t.name,
                        uid=uid,
                        links=[*ups, _alternate(href, "ReplicaTaskSession", t.name, True)], is_ref=True)
    links = [*ups, _alternate(href, "ReplicaTaskSessionReference", t.name, False)]
    if t.vm_point_id is not None and t.vm_point_id in ds.vm_replica_points:
        point = ds.vm_replica_points[t.vm_point_id]
        links.append(Link(f"{ctx.base}/vmReplicaPoints/{point.id}?format=Entity", "Related", "VmReplicaPoint",
                          point.name))
    fields: list[FieldT] = [
        ("JobSessionUid", _uid("ReplicaJobSession", t.job_session_id)),
        ("CreationTimeUTC", t.creation_time_utc),
        ("EndTimeUTC", t.end_time_utc),
        ("State", t.state),
        ("Result", t.result),
        ("Reason", pad_reason(t.reason, ctx.config.reason_chars)),
        ("TotalSize", t.total_size),
    ]
    return Resource(element="ReplicaTaskSession", type="ReplicaTaskSession", href=f"{href}?format=Entity", name=t.name,
                    uid=uid, links=links,
                    fields=fields, vm_display_name=t.vm_name)


# --- restore sessions -------------------------------------------------------------------------------------

def restore_session(ctx: ViewContext, r: RestoreSession, entity: bool) -> Resource:
    """D131 sample: while running `Result` is `None` and there is no EndTimeUTC (v12/v13 JSON: null); the
    `Related` VmRestorePointReference is optional. No reason, no user (EM records neither)."""
    ds = ctx.dataset
    href = f"{ctx.base}/restoreSessions/{r.id}"
    uid = _uid("RestoreSession", r.id)
    up = _server_up(ctx, r.server_id)
    if not entity:
        return Resource(element="RestoreSession", type="RestoreSessionReference", href=href, name=r.name, uid=uid,
                        links=[up, _alternate(href, "RestoreSession", r.name, True)], is_ref=True)
    links = [up, _alternate(href, "RestoreSessionReference", r.name, False)]
    if r.point_id is not None and r.point_id in ds.vm_restore_points:
        point = ds.vm_restore_points[r.point_id]
        links.append(Link(f"{ctx.base}/vmRestorePoints/{point.id}", "Related", "VmRestorePointReference",
                          point.name))
    fields: list[FieldT] = [
        ("JobType", r.job_type),
        ("CreationTimeUTC", r.creation_time_utc),
        ("EndTimeUTC", r.end_time_utc),
        ("State", r.state),
        ("Result", "None" if r.result is None else r.result),
        ("Progress", r.progress),
    ]
    return Resource(element="RestoreSession", type="RestoreSession", href=f"{href}?format=Entity", name=r.name, uid=uid,
                    links=links, fields=fields,
                    vm_display_name=r.vm_name)


# --- EM's own sessions ------------------------------------------------------------------------------------

def system_session(ctx: ViewContext, s: SystemSession, entity: bool) -> Resource:
    """A system session (reference §2.3): its links are typed as backup job sessions (sic); `Result` is an
    object. In lists the element is `<Sessions>` (registry row `item_element`)."""
    href = f"{ctx.base}/systemSessions/{s.id}"
    uid = _uid("SystemSession", s.id)
    events = Link(f"{href}/events", "Down", "SystemSessionEvents")
    if not entity:
        return Resource(element="SystemSession", type="SystemSessionReference", href=href, name=s.name, uid=uid,
                        links=[Link(f"{href}?format=Entity", "Alternate", "BackupJobSession", s.name), events],
                        is_ref=True)
    fields: list[FieldT] = [
        ("SessionType", s.session_type),
        ("CreationTimeUTC", s.creation_time_utc),
        ("EndTimeUTC", s.end_time_utc),
        ("State", s.state),
        ("Result", Node((("Result", s.result), ("Message", s.message), ("IsCanceled", False)))),
    ]
    return Resource(element="SystemSession", type="SystemSession", href=f"{href}?format=Entity", name=s.name, uid=uid,
                    links=[Link(href, "Alternate", "BackupJobSessionReference", s.name), events], fields=fields)


def system_session_events(ctx: ViewContext, s: SystemSession) -> Resource:
    """`/systemSessions/{id}/events`: `<SystemSessionEvents>` with an Up link and `<Events>` items whose
    CreationTimeUTC has no `Z` (it is UTC all the same)."""
    href = f"{ctx.base}/systemSessions/{s.id}"
    items = tuple(
        Node((("CreationTimeUTC", micro_text(ticks)), ("Message", message), ("Order", order)))
        for order, (ticks, message) in enumerate(s.events)
    )
    return Resource(element="SystemSessionEvents", type="SystemSessionEvents", href=f"{href}/events",
                    links=[Link(f"{href}?format=Entity", "Up", "BackupJobSession", s.name)],
                    fields=[("Events", Items(items))])


# --- Veeam Agent ------------------------------------------------------------------------------------------

def _agent_job_up(ctx: ViewContext, job_id: str) -> Link:
    job_obj = ctx.dataset.agent_jobs[job_id]
    return Link(f"{ctx.base}/agents/jobs/{job_obj.id}?format=Entity", "Up", "AgentBackupJob", job_obj.name)


def agent_include(ctx: ViewContext, o: AgentInclude, entity: bool = True, *, embedded: bool = False) -> Resource:
    """`ObjectInAgentBackupJob`: a protection group in an agent job (no HierarchyObjRef, as the D131 sample)."""
    href = f"{ctx.base}/agents/jobs/{o.job_id}/includes/{o.id}"
    links = [] if embedded else [Link(href, "Delete", "ObjectInAgentBackupJob", o.name),
                                 _agent_job_up(ctx, o.job_id)]
    fields: list[FieldT] = [("ObjectInJobId", o.id), ("Name", o.name), ("DisplayName", o.name),
                            ("GuestProcessingOptions", _GUEST_PROCESSING["Disabled"])]
    return Resource(element="ObjectInAgentBackupJob", type="ObjectInAgentBackupJob", href=href, links=links,
                    fields=fields,
                    has_links=not embedded)


def agent_job(ctx: ViewContext, j: Job, entity: bool) -> Resource:
    """`<AgentBackupJob>` (`/agents/jobs/{id}`, not in `/jobs`): UID `urn:veeam:AgentBackupJob:` as the D131
    sample (the doc table says `urn:veeam:Job:`), JobInfo.Includes directly (no BackupJobInfo)."""
    href = f"{ctx.base}/agents/jobs/{j.id}"
    uid = _uid("AgentBackupJob", j.id)
    up = _server_up(ctx, j.server_id)
    sessions = Link(f"{href}/backupSessions", "Down", "BackupJobSessionReferenceList")
    if not entity:
        return Resource(element="AgentBackupJob", type="AgentBackupJobReference", href=href, name=j.name, uid=uid,
                        links=[up, _alternate(href, "AgentBackupJob", j.name, True), sessions], is_ref=True)
    links = [
        up,
        _alternate(href, "AgentBackupJobReference", j.name, False),
        Link(f"{href}/includes", "Down", "ObjectInAgentBackupJobList"),
        sessions,
        Link(f"{href}?action=start", "Start"),
        Link(f"{href}?action=stop", "Stop"),
        Link(f"{href}?action=retry", "Retry"),
        Link(f"{href}?action=toggleScheduleEnabled", "ToggleScheduleEnabled"),
    ]
    includes = tuple(agent_include(ctx, ctx.dataset.agent_includes[o], embedded=True) for o in j.object_ids)
    fields: list[FieldT] = [
        ("JobType", j.job_type),
        ("Platform", j.platform),
        ("Description", j.description),
        ("ScheduleConfigured", j.schedule_configured),
        ("ScheduleEnabled", j.schedule_enabled),
        ("NextRun", j.next_run),
        ("JobScheduleOptions", _schedule(ctx, j)),
        ("JobInfo", Node((("Includes", Embedded("ObjectInAgentBackupJobs", includes)),))),
    ]
    return Resource(element="AgentBackupJob", type="AgentBackupJob", href=f"{href}?format=Entity", name=j.name, uid=uid,
                    links=links, fields=fields)


def agent_restore_point(ctx: ViewContext, p: AgentRestorePoint, entity: bool) -> Resource:
    """D131 sample: no HierarchyObjRef, no VmName, no VmDisplayName attribute."""
    ds = ctx.dataset
    href = f"{ctx.base}/agents/agentRestorePoints/{p.id}"
    rp = ds.restore_points[p.restore_point_id]
    bf = ds.backup_files[p.backup_file_id]
    ups = [
        _server_up(ctx, p.server_id),
        Link(f"{ctx.base}/restorePoints/{rp.id}", "Up", "RestorePointReference", rp.name),
        Link(f"{ctx.base}/backupFiles/{bf.id}", "Up", "BackupFileReference", bf.name),
    ]
    uid = _uid("AgentRestorePoint", p.id)
    if not entity:
        return Resource(element="AgentRestorePoint", type="AgentRestorePointReference", href=href, name=p.name, uid=uid,
                        links=[*ups, _alternate(href, "AgentRestorePoint", p.name, True)], is_ref=True)
    links = [
        *ups,
        _alternate(href, "AgentRestorePointReference", p.name, False),
        Link(f"{href}/mounts", "Down", "AgentRestorePointMountList"),
        Link(f"{href}/mounts", "Create", "AgentRestorePointMount"),
    ]
    fields: list[FieldT] = [("CreationTimeUTC", p.creation_time_utc), ("Algorithm", p.algorithm),
                            ("PointType", p.point_type)]
    return Resource(element="AgentRestorePoint", type="AgentRestorePoint", href=f"{href}?format=Entity", name=p.name,
                    uid=uid, links=links, fields=fields)


def protection_group(ctx: ViewContext, g: ProtectionGroup, entity: bool) -> Resource:
    href = f"{ctx.base}/agents/protectionGroups/{g.id}"
    uid = _uid("AgentProtectionGroup", g.id)
    up = _server_up(ctx, g.server_id)
    down = Link(f"{href}/discoveredComputers", "Down", "DiscoveredComputerReferenceList")
    if not entity:
        return Resource(element="AgentProtectionGroup", type="AgentProtectionGroupReference", href=href, name=g.name,
                        uid=uid,
                        links=[up, _alternate(href, "AgentProtectionGroup", g.name, True), down], is_ref=True)
    return Resource(element="AgentProtectionGroup", type="AgentProtectionGroup", href=f"{href}?format=Entity",
                    name=g.name, uid=uid,
                    links=[up, _alternate(href, "AgentProtectionGroupReference", g.name, False), down],
                    fields=[("RescanScheduleEnabled", g.rescan_enabled), ("HierarchyObjRef", g.hierarchy_obj_ref)])


def discovered_computer(ctx: ViewContext, c: DiscoveredComputer, entity: bool) -> Resource:
    """The real v12 quirk: the entity's own Href is `/backupTaskSessions/{id}?format=Entity` (not served: no
    such task session); its Alternate link is right. The protection group link is `Up` (the doc says Down)."""
    href = f"{ctx.base}/agents/discoveredComputers/{c.id}"
    group = ctx.dataset.protection_groups[c.group_id]
    ups = [
        _server_up(ctx, c.server_id),
        Link(f"{ctx.base}/agents/protectionGroups/{group.id}", "Up", "AgentProtectionGroupReference", group.name),
    ]
    uid = _uid("DiscoveredComputer", c.id)
    if not entity:
        return Resource(element="DiscoveredComputer", type="DiscoveredComputerReference", href=href, name=c.name,
                        uid=uid,
                        links=[*ups, _alternate(href, "DiscoveredComputer", c.name, True)], is_ref=True)
    fields: list[FieldT] = [
        ("HostStatus", c.host_status),
        ("AgentStatus", c.agent_status),
        ("AgentVersion", c.agent_version),
        ("OsVersion", c.os_version),
        ("IpAddress", c.ip_address),
        ("HierarchyObjRef", c.hierarchy_obj_ref),
    ]
    return Resource(element="DiscoveredComputer", type="DiscoveredComputer",
                    href=f"{ctx.base}/backupTaskSessions/{c.id}?format=Entity", name=c.name, uid=uid,
                    links=[*ups, _alternate(href, "DiscoveredComputerReference", c.name, False)], fields=fields)


# --- MSP views --------------------------------------------------------------------------------------------

def org_config(ctx: ViewContext, o: OrgConfig, entity: bool) -> Resource:
    """A vCloud Director self-service configuration: QuotaGb in GB, UsedQuotaMb in MB (reference §6.1)."""
    href = f"{ctx.base}/vCloud/orgConfigs/{o.id}"
    uid = _uid("VCloudOrganizationConfig", o.id)
    up = _server_up(ctx, o.server_id)
    if not entity:
        return Resource(element="VCloudOrganizationConfig", type="VCloudOrganizationConfigReference", href=href,
                        name=o.name, uid=uid,
                        links=[up, _alternate(href, "VCloudOrganizationConfig", o.name, True)], is_ref=True)
    repo = ctx.dataset.repositories[o.repository_id]
    links = [
        up,
        _alternate(href, "VCloudOrganizationConfigReference", o.name, False),
        Link(href, "Edit", "VCloudOrganizationConfig"),
        Link(href, "Delete", "VCloudOrganizationConfig"),
    ]
    settings = Node((
        ("JobSchedulerType", o.scheduler_type),
        ("HighPriorityJob", o.high_priority),
        ("TemplateJobUid", None if o.template_job_id is None else _uid("Job", o.template_job_id)),
    ))
    fields: list[FieldT] = [
        ("BackupServerUid", _uid("BackupServer", o.server_id)),
        ("RepositoryUid", _uid("Repository", repo.id)),
        ("RepositoryFriendlyName", repo.name),
        ("HostUid", o.host_uid),
        ("QuotaGb", o.quota_gb),
        ("UsedQuotaMb", o.used_quota_mb),
        ("IsDisabled", o.is_disabled),
        ("JobSettings", settings),
    ]
    return Resource(element="VCloudOrganizationConfig", type="VCloudOrganizationConfig", href=f"{href}?format=Entity",
                    name=o.name, uid=uid,
                    links=links, fields=fields)


def cloud_tenant(ctx: ViewContext, t: CloudTenant, entity: bool) -> Resource:
    """A Cloud Connect tenant (9.5 U4 shape, BY-CT): Password present and empty, quotas in MB, lists wrapped in
    a plural key in JSON, a never-active tenant's LastActive at SQL Server's minimum datetime (1753)."""
    href = f"{ctx.base}/cloud/tenants/{t.id}"
    uid = _uid("CloudTenant", t.id)
    up = _server_up(ctx, t.server_id)
    if not entity:
        return Resource(element="CloudTenant", type="CloudTenantReference", href=href, name=t.name, uid=uid,
                        links=[up, _alternate(href, "CloudTenant", t.name, True)], is_ref=True)
    links = [up, _alternate(href, "CloudTenantReference", t.name, False), Link(href, "Edit", "CloudTenant"),
             Link(href, "Delete", "CloudTenant")]
    quota = Node((
        ("DisplayName", t.quota_display_name),
        ("RepositoryUid", _uid("Repository", t.repository_id)),
        ("WanAcceleratorUid", None),
        ("Quota", t.quota_mb),
        ("UsedQuota", t.used_quota_mb),
    ))
    resource = Resource(element="CloudTenantResource", type=None, href=None, fields=[("RepositoryQuota", quota)],
                        attrs=[("Id", t.resource_id)], has_links=False)
    # No expiration: left out in XML and the 9.5 dialect (BY-CT), null in v12/v13.
    lease = Node((("LeaseExpirationDate", t.lease_expiration),), (("Enabled", t.lease_expiration is not None),))
    fields: list[FieldT] = [
        ("Description", t.description),
        ("Enabled", t.enabled),
        ("Password", ""),
        ("LeaseOptions", lease),
        ("Resources", Embedded("CloudTenantResources", (resource,))),
        ("ComputeResources", Embedded("CloudTenantComputeResources", ())),
        ("LastResult", t.last_result),
        ("LastActive", t.last_active),
        ("BackupCount", t.backup_count),
        ("ReplicaCount", t.replica_count),
        ("WorkStationBackupCount", t.workstation_count),
        ("ServerBackupCount", t.server_count),
        ("MaxConcurrentTasks", t.max_concurrent_tasks),
    ]
    return Resource(element="CloudTenant", type="CloudTenant", href=f"{href}?format=Entity", name=t.name, uid=uid,
                    links=links, fields=fields)


# --- service documents ------------------------------------------------------------------------------------

def agents_service(base: str) -> Resource:
    """`GET /agents` (reference §5.1): Down links to the agent collections; `backupFiles` is typed
    `RestorePointReferenceList` (sic), as documented."""
    href = f"{base}/agents"
    links = [Link(f"{href}/{path}", "Down", type_) for type_, path in (
        ("AgentBackupJobReferenceList", "jobs"),
        ("AgentRestorePointReferenceList", "agentRestorePoints"),
        ("BackupReferenceList", "backups"),
        ("RestorePointReferenceList", "restorePoints"),
        ("RestorePointReferenceList", "backupFiles"),
        ("BackupJobSessionReferenceList", "backupSessions"),
        ("AgentProtectionGroupReferenceList", "protectionGroups"),
        ("DiscoveredComputerReferenceList", "discoveredComputers"),
    )]
    return Resource(element="Agents", type="AgentsService", href=href, links=links)


def vcloud_service(base: str) -> Resource:
    """`GET /vCloud`: only the organisation configurations are modelled (no capture of the document)."""
    href = f"{base}/vCloud"
    return Resource(element="VCloud", type="VCloudService", href=href, links=[
        Link(f"{href}/orgConfigs", "Down", "VCloudOrganizationConfigReferenceList"),
        Link(f"{href}/orgConfigs?format=Entity", "Down", "VCloudOrganizationConfigList"),
    ])


# Service documents by their (lower-case) path under /api.
SERVICES = {"agents": agents_service, "vcloud": vcloud_service}


# --- the logon session and the entry document ----------------------------------------------------------

# The Down links of a 12.x/13.x LogonSession, in server order (reference §1.4), keeping only what the simulator
# serves: collections it models, and those EM would answer with an empty list here (no vApps, catalog indexing
# off...). Not advertised: managedServers, hierarchyRoots, security, querySvc, lookupSvc, selfService/vSphere,
# nas (see docs/simulator-contract.md). The sample has no systemSessions or cloud link: they are served, unlinked.
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
    ("VCloudService", "vCloud"),
    ("BackupFileList", "backupFiles?format=Entity"),
    ("AgentsService", "agents"),
    ("ExternalRepositoryList", "externalRepositories?format=Entity"),
)


def logon_session(base: str, session_id: str, user_name: str) -> Resource:
    href = f"{base}/logonSessions/{session_id}"
    links = [Link(f"{base}/", "Up", "EnterpriseManager")]
    for type_, path in SESSION_DOWN:
        links.append(Link(f"{base}/{path}", "Down", type_, "Summary" if type_ == "Report" else None))
    links.append(Link(href, "Delete", "LogonSession"))
    return Resource(element="LogonSession", type="LogonSession", href=href, links=links,
                    fields=[("UserName", user_name), ("SessionId", session_id)])


SUPPORTED_VERSIONS = ("v1_5", "v1_6", "v1_7")


def enterprise_manager_links(base: str) -> tuple[list[Link], list[tuple[str, list[Link]]]]:
    links = [
        Link(f"{base}/logonSessions", "Down", "LogonSessionList"),
        Link(f"{base}/sessionMngr/?v=latest", "Create", "LogonSession"),
    ]
    versions = [(v, [Link(f"{base}/sessionMngr/?v={v}", "Create", "LogonSession")]) for v in SUPPORTED_VERSIONS]
    return links, versions
