"""Views of Veeam Agent jobs, their includes, protection groups, discovered computers (whose entity Href is a
`/backupTaskSessions/{id}?format=Entity` URL, as on real servers) and agent restore points.
"""

from __future__ import annotations

from ..dataset.coverage_records import (
    AgentInclude,
    AgentRestorePoint,
    DiscoveredComputer,
    ProtectionGroup,
)
from ..dataset.records import (
    Job,
)
from ..render.resource import Embedded, FieldT, Link, Node, Resource
from .common import ViewContext, alternate, server_up, uid_of
from .jobs import GUEST_PROCESSING, schedule

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
                            ("GuestProcessingOptions", GUEST_PROCESSING["Disabled"])]
    return Resource(element="ObjectInAgentBackupJob", type="ObjectInAgentBackupJob", href=href, links=links,
                    fields=fields,
                    has_links=not embedded)


def agent_job(ctx: ViewContext, j: Job, entity: bool) -> Resource:
    """`<AgentBackupJob>` (`/agents/jobs/{id}`, not in `/jobs`): UID `urn:veeam:AgentBackupJob:` as the D131
    sample (the doc table says `urn:veeam:Job:`), JobInfo.Includes directly (no BackupJobInfo)."""
    href = f"{ctx.base}/agents/jobs/{j.id}"
    uid = uid_of("AgentBackupJob", j.id)
    up = server_up(ctx, j.server_id)
    sessions = Link(f"{href}/backupSessions", "Down", "BackupJobSessionReferenceList")
    if not entity:
        return Resource(element="AgentBackupJob", type="AgentBackupJobReference", href=href, name=j.name, uid=uid,
                        links=[up, alternate(href, "AgentBackupJob", j.name, True), sessions], is_ref=True)
    links = [
        up,
        alternate(href, "AgentBackupJobReference", j.name, False),
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
        ("JobScheduleOptions", schedule(ctx, j)),
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
        server_up(ctx, p.server_id),
        Link(f"{ctx.base}/restorePoints/{rp.id}", "Up", "RestorePointReference", rp.name),
        Link(f"{ctx.base}/backupFiles/{bf.id}", "Up", "BackupFileReference", bf.name),
    ]
    uid = uid_of("AgentRestorePoint", p.id)
    if not entity:
        return Resource(element="AgentRestorePoint", type="AgentRestorePointReference", href=href, name=p.name, uid=uid,
                        links=[*ups, alternate(href, "AgentRestorePoint", p.name, True)], is_ref=True)
    links = [
        *ups,
        alternate(href, "AgentRestorePointReference", p.name, False),
        Link(f"{href}/mounts", "Down", "AgentRestorePointMountList"),
        Link(f"{href}/mounts", "Create", "AgentRestorePointMount"),
    ]
    fields: list[FieldT] = [("CreationTimeUTC", p.creation_time_utc), ("Algorithm", p.algorithm),
                            ("PointType", p.point_type)]
    return Resource(element="AgentRestorePoint", type="AgentRestorePoint", href=f"{href}?format=Entity", name=p.name,
                    uid=uid, links=links, fields=fields)


def protection_group(ctx: ViewContext, g: ProtectionGroup, entity: bool) -> Resource:
    href = f"{ctx.base}/agents/protectionGroups/{g.id}"
    uid = uid_of("AgentProtectionGroup", g.id)
    up = server_up(ctx, g.server_id)
    down = Link(f"{href}/discoveredComputers", "Down", "DiscoveredComputerReferenceList")
    if not entity:
        return Resource(element="AgentProtectionGroup", type="AgentProtectionGroupReference", href=href, name=g.name,
                        uid=uid,
                        links=[up, alternate(href, "AgentProtectionGroup", g.name, True), down], is_ref=True)
    return Resource(element="AgentProtectionGroup", type="AgentProtectionGroup", href=f"{href}?format=Entity",
                    name=g.name, uid=uid,
                    links=[up, alternate(href, "AgentProtectionGroupReference", g.name, False), down],
                    fields=[("RescanScheduleEnabled", g.rescan_enabled), ("HierarchyObjRef", g.hierarchy_obj_ref)])


def discovered_computer(ctx: ViewContext, c: DiscoveredComputer, entity: bool) -> Resource:
    """The real v12 quirk: the entity's own Href is `/backupTaskSessions/{id}?format=Entity` (not served: no
    such task session); its Alternate link is right. The protection group link is `Up` (the doc says Down)."""
    href = f"{ctx.base}/agents/discoveredComputers/{c.id}"
    group = ctx.dataset.protection_groups[c.group_id]
    ups = [
        server_up(ctx, c.server_id),
        Link(f"{ctx.base}/agents/protectionGroups/{group.id}", "Up", "AgentProtectionGroupReference", group.name),
    ]
    uid = uid_of("DiscoveredComputer", c.id)
    if not entity:
        return Resource(element="DiscoveredComputer", type="DiscoveredComputerReference", href=href, name=c.name,
                        uid=uid,
                        links=[*ups, alternate(href, "DiscoveredComputer", c.name, True)], is_ref=True)
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
                    links=[*ups, alternate(href, "DiscoveredComputerReference", c.name, False)], fields=fields)
