"""Entity and reference representations of the simulator's data, with EM's exact link sets.

A reference (`GET /coll/{id}`) carries only navigation links (Up, Alternate -> entity with
`?format=Entity`, and Down/Related lists), an entity (`?format=Entity`) adds action links and fields, and its
Alternate points back to the reference. Real-server quirks are reproduced on purpose: the RestorePoint's
`Related` link to `/backupFiles` is typed `RestorePointReferenceList`, BackupFile spells `CreationTimeUtc`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import SimulatorConfig
from .dataset import (
    Backup,
    BackupFile,
    BackupServer,
    Dataset,
    Job,
    Repository,
    RestorePoint,
    VmRestorePoint,
)
from .render import Link, Resource


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
    fields: list[tuple[str, str | int | float | bool | None]] = [
        ("CreationTime" + ctx.config.creation_time_spelling, p.creation_time_utc),
        ("VmName", None if omit else p.vm_name),
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
    fields: list[tuple[str, str | int | float | bool | None]] = [
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
    href = f"{ctx.base}/backupServers/{s.id}"
    uid = _uid("BackupServer", s.id)
    if not entity:
        links = [
            Link(f"{href}/jobs", "Down", "JobReferenceList"),
            Link(f"{href}/repositories", "Down", "RepositoryReferenceList"),
            Link(f"{href}/externalRepositories", "Down", "ExternalRepositoryReferenceList"),
            Link(f"{href}/credentials", "Down", "CredentialsList"),
            Link(f"{href}/passwords", "Down", "PasswordKeyList"),
            _alternate(href, "BackupServer", s.name, True),
            Link(f"{href}/managedServers", "Down", "ManagedServerReferenceList"),
        ]
        return Resource("BackupServer", "BackupServerReference", href, s.name, uid, links, is_ref=True)
    links = [
        _alternate(href, "BackupServerReference", s.name, False),
        Link(href, "Edit", "BackupServerReference"),
        Link(href, "Delete", "BackupServerReference"),
        Link(f"{href}/jobs", "Down", "JobReferenceList"),
        Link(f"{href}/managedServers", "Down", "ManagedServerReferenceList"),
        Link(f"{href}/repositories", "Down", "RepositoryReferenceList"),
        Link(f"{href}/externalRepositories", "Down", "ExternalRepositoryReferenceList"),
        Link(f"{href}/credentials", "Down", "CredentialsList"),
        Link(f"{href}/credentials?action=create", "Create"),
        Link(f"{href}/passwords", "Down", "PasswordKeyList"),
        Link(f"{href}/passwords?action=create", "Create"),
        Link(f"{href}?action=veeamzip", "VeeamZip"),
        Link(f"{href}?action=quickbackup", "QuickBackup"),
        Link(f"{href}?action=collect", "Start"),
    ]
    return Resource("BackupServer", "BackupServer", f"{href}?format=Entity", s.name, uid, links,
                    [("Description", s.description), ("Port", s.port), ("Version", s.version)])


# --- Job ------------------------------------------------------------------------------------------------

def job(ctx: ViewContext, j: Job, entity: bool) -> Resource:
    href = f"{ctx.base}/jobs/{j.id}"
    uid = _uid("Job", j.id)
    up = _server_up(ctx, j.server_id)
    sessions = Link(f"{href}/backupSessions", "Down", "BackupJobSessionReferenceList")
    if not entity:
        return Resource("Job", "JobReference", href, j.name, uid,
                        [up, _alternate(href, "Job", j.name, True), sessions], is_ref=True)
    links = [
        up,
        _alternate(href, "JobReference", j.name, False),
        Link(f"{href}?action=edit", "Edit", "Job"),
        Link(f"{href}?action=clone", "Clone", "JobCloneSpec"),
        Link(f"{href}?action=toggleScheduleEnabled", "ToggleScheduleEnabled", "Task"),
        Link(f"{href}/includes", "Down", "ObjectInJobList"),
        sessions,
        Link(f"{href}/includes", "Create", "ObjectInJob"),
        Link(f"{href}?action=start", "Start", "Task"),
        Link(f"{href}?action=stop", "Stop", "Task"),
        Link(f"{href}?action=retry", "Retry", "Task"),
    ]
    fields: list[tuple[str, str | int | float | bool | None]] = [
        ("JobType", j.job_type),
        ("Platform", j.platform),
        ("Description", j.description),
        ("ScheduleConfigured", j.schedule_configured),
        ("ScheduleEnabled", j.schedule_enabled),
        ("NextRun", j.next_run),
    ]
    return Resource("Job", "Job", f"{href}?format=Entity", j.name, uid, links, fields)


# --- Repository -----------------------------------------------------------------------------------------

def repository(ctx: ViewContext, r: Repository, entity: bool) -> Resource:
    href = f"{ctx.base}/repositories/{r.id}"
    uid = _uid("Repository", r.id)
    up = _server_up(ctx, r.server_id)
    if not entity:
        return Resource("Repository", "RepositoryReference", href, r.name, uid,
                        [up, _alternate(href, "Repository", r.name, True)], is_ref=True)
    return Resource("Repository", "Repository", f"{href}?format=Entity", r.name, uid,
                    [up, _alternate(href, "RepositoryReference", r.name, False)],
                    [("Capacity", r.capacity), ("FreeSpace", r.free_space), ("Kind", r.kind)])


# --- sessions and the entry document --------------------------------------------------------------------

# The Down links of a 12.x/13.x LogonSession, in server order (most targets are not simulated).
_SESSION_DOWN = (
    ("BackupServerReferenceList", "backupServers"), ("ManagedServerReferenceList", "managedServers"),
    ("JobReferenceList", "jobs"), ("FailoverPlanReferenceList", "failoverPlans"),
    ("HierarchyRootReferenceList", "hierarchyRoots"), ("RepositoryReferenceList", "repositories"),
    ("BackupReferenceList", "backups"), ("RestorePointReferenceList", "restorePoints"),
    ("VmRestorePointReferenceList", "vmRestorePoints"),
    ("VAppRestorePointReferenceList", "vAppRestorePoints"), ("ReplicaReferenceList", "replicas"),
    ("VmReplicaPointReferenceList", "vmReplicaPoints"), ("CatalogVmReferenceList", "catalog/vms"),
    ("BackupJobSessionReferenceList", "backupSessions"),
    ("RestoreSessionReferenceList", "restoreSessions"),
    ("ReplicaJobSessionReferenceList", "replicaSessions"),
    ("BackupTaskSessionReferenceList", "backupTaskSessions"),
    ("ReplicaTaskSessionReferenceList", "replicaTaskSessions"),
    ("EnterpriseSecuritySettings", "security"), ("WanAcceleratorReferenceList", "wanAccelerators"),
    ("BackupFileReferenceList", "backupFiles"),
    ("ExternalRepositoryReferenceList", "externalRepositories"), ("TaskList", "tasks"),
    ("QueryService", "querySvc"), ("LookupService", "lookupSvc"),
    ("BackupServerList", "backupServers?format=Entity"), ("JobList", "jobs?format=Entity"),
    ("RepositoryList", "repositories?format=Entity"), ("BackupList", "backups?format=Entity"),
    ("RestorePointList", "restorePoints?format=Entity"),
    ("VmRestorePointList", "vmRestorePoints?format=Entity"),
    ("BackupFileList", "backupFiles?format=Entity"),
)


def logon_session(base: str, session_id: str, user_name: str) -> Resource:
    href = f"{base}/logonSessions/{session_id}"
    links = [Link(f"{base}/", "Up", "EnterpriseManager")]
    links.extend(Link(f"{base}/{path}", "Down", type_) for type_, path in _SESSION_DOWN)
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
