"""Views of backup servers, repositories, backups, their job-level restore points, backup files and VM restore
points (RestorePoint's `Related` link to `/backupFiles` is typed `RestorePointReferenceList`, BackupFile spells
`CreationTimeUtc`, as on real servers).
"""

from __future__ import annotations

from ..dataset.records import (
    Backup,
    BackupFile,
    BackupServer,
    Repository,
    RestorePoint,
    VmRestorePoint,
)
from ..render.resource import ABSENT, FieldT, Link, Resource
from .common import ViewContext, alternate, backup_up, server_up, uid_of

# --- VmRestorePoint ------------------------------------------------------------------------------------

def vm_restore_point(ctx: ViewContext, p: VmRestorePoint, entity: bool) -> Resource:
    ds = ctx.dataset
    href = f"{ctx.base}/vmRestorePoints/{p.id}"
    rp = ds.restore_points[p.restore_point_id]
    bf = ds.backup_files[p.backup_file_id]
    ups = [
        server_up(ctx, p.backup_server_id),
        Link(f"{ctx.base}/restorePoints/{rp.id}", "Up", "RestorePointReference", rp.name),
        Link(f"{ctx.base}/backupFiles/{bf.id}", "Up", "BackupFileReference", bf.name),
    ]
    uid = uid_of("VmRestorePoint", p.id)
    if not entity:
        return Resource(element="VmRestorePoint", type="VmRestorePointReference", href=href, name=p.name, uid=uid,
                        links=[*ups, alternate(href, "VmRestorePoint", p.name, True)], is_ref=True)
    omit = ctx.config.omit_vm_name
    links = [
        Link(f"{href}?action=restore", "Restore"),
        *ups,
        alternate(href, "VmRestorePointReference", p.name, False),
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
    ups = [backup_up(ctx, rp.backup_id), server_up(ctx, rp.server_id)]
    uid = uid_of("RestorePoint", rp.id)
    if not entity:
        return Resource(element="RestorePoint", type="RestorePointReference", href=href, name=rp.name, uid=uid,
                        links=[*ups, alternate(href, "RestorePoint", rp.name, True), *common], is_ref=True)
    links = [*ups, alternate(href, "RestorePointReference", rp.name, False), *common]
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
    ups = [backup_up(ctx, bf.backup_id), server_up(ctx, bf.server_id)]
    uid = uid_of("BackupFile", bf.id)
    if not entity:
        return Resource(element="BackupFile", type="BackupFileReference", href=href, name=bf.name, uid=uid,
                        links=[*ups, alternate(href, "BackupFile", bf.name, True), *common], is_ref=True)
    links = [*ups, alternate(href, "BackupFileReference", bf.name, False), *common]
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
        server_up(ctx, b.server_id),
    ]
    downs = [
        Link(f"{href}/restorePoints", "Down", "RestorePointReferenceList"),
        Link(f"{href}/backupFiles", "Down", "BackupFileReferenceList"),
    ]
    uid = uid_of("Backup", b.id)
    if not entity:
        return Resource(element="Backup", type="BackupReference", href=href, name=b.name, uid=uid,
                        links=[*ups, alternate(href, "Backup", b.name, True), *downs], is_ref=True)
    links = [*ups, alternate(href, "BackupReference", b.name, False), *downs]
    return Resource(element="Backup", type="Backup", href=f"{href}?format=Entity", name=b.name, uid=uid, links=links,
                    fields=[("Platform", b.platform), ("BackupType", b.backup_type)])


# --- BackupServer ---------------------------------------------------------------------------------------

def backup_server(ctx: ViewContext, s: BackupServer, entity: bool) -> Resource:
    # Managed servers, credentials and password keys are not modelled, so they are not advertised (a real
    # server links them too); external repositories are served as an empty list (there are none).
    href = f"{ctx.base}/backupServers/{s.id}"
    uid = uid_of("BackupServer", s.id)
    if not entity:
        links = [
            Link(f"{href}/jobs", "Down", "JobReferenceList"),
            Link(f"{href}/repositories", "Down", "RepositoryReferenceList"),
            Link(f"{href}/externalRepositories", "Down", "ExternalRepositoryReferenceList"),
            alternate(href, "BackupServer", s.name, True),
        ]
        return Resource(element="BackupServer", type="BackupServerReference", href=href, name=s.name, uid=uid,
                        links=links, is_ref=True)
    links = [
        alternate(href, "BackupServerReference", s.name, False),
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


# --- Repository -----------------------------------------------------------------------------------------

def repository(ctx: ViewContext, r: Repository, entity: bool) -> Resource:
    href = f"{ctx.base}/repositories/{r.id}"
    uid = uid_of("Repository", r.id)
    up = server_up(ctx, r.server_id)
    downs = [
        Link(f"{href}/backups", "Down", "BackupReferenceList"),
        Link(f"{href}/replicas", "Down", "ReplicaReferenceList"),
    ]
    if not entity:
        return Resource(element="Repository", type="RepositoryReference", href=href, name=r.name, uid=uid,
                        links=[up, alternate(href, "Repository", r.name, True), *downs], is_ref=True)
    return Resource(element="Repository", type="Repository", href=f"{href}?format=Entity", name=r.name, uid=uid,
                    links=[up, alternate(href, "RepositoryReference", r.name, False), *downs],
                    fields=[("Capacity", r.capacity), ("FreeSpace", r.free_space), ("Kind", r.kind)])
