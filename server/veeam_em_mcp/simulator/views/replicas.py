"""Views of replicas, VM replica points (no HierarchyObjRef), replica job sessions and replica task sessions
(no VmUid), as the reference documents them.
"""

from __future__ import annotations

from ..dataset.coverage_records import (
    Replica,
    VmReplicaPoint,
)
from ..dataset.records import (
    JobSession,
    TaskSession,
)
from ..render.resource import FieldT, Link, Resource
from .common import ViewContext, alternate, server_up, uid_of
from .sessions import pad_reason, session_fields

# --- replicas ---------------------------------------------------------------------------------------------

def replica(ctx: ViewContext, r: Replica, entity: bool) -> Resource:
    href = f"{ctx.base}/replicas/{r.id}"
    repo = ctx.dataset.repositories[r.repository_id]
    ups = [
        # Where the replica metadata lives (OPS §7).
        Link(f"{ctx.base}/repositories/{repo.id}", "Up", "RepositoryReference", repo.name),
        server_up(ctx, r.server_id),
    ]
    down = Link(f"{href}/vmReplicaPoints", "Down", "VmReplicaPointReferenceList")
    uid = uid_of("Replica", r.id)
    if not entity:
        return Resource(element="Replica", type="ReplicaReference", href=href, name=r.name, uid=uid,
                        links=[*ups, alternate(href, "Replica", r.name, True), down], is_ref=True)
    return Resource(element="Replica", type="Replica", href=f"{href}?format=Entity", name=r.name, uid=uid,
                    links=[*ups, alternate(href, "ReplicaReference", r.name, False), down], fields=[("Platform",
                                                                                                     r.platform)])


def vm_replica_point(ctx: ViewContext, p: VmReplicaPoint, entity: bool) -> Resource:
    """The D131 sample: Failover first, no HierarchyObjRef, VmName = the replica VM (`<vm>_replica`)."""
    href = f"{ctx.base}/vmReplicaPoints/{p.id}"
    rep = ctx.dataset.replicas[p.replica_id]
    ups = [server_up(ctx, p.server_id), Link(f"{ctx.base}/replicas/{rep.id}", "Up", "ReplicaReference", rep.name)]
    uid = uid_of("VmReplicaPoint", p.id)
    if not entity:
        return Resource(element="VmReplicaPoint", type="VmReplicaPointReference", href=href, name=p.name, uid=uid,
                        links=[*ups, alternate(href, "VmReplicaPoint", p.name, True)], is_ref=True)
    links = [
        Link(f"{href}?action=failover", "Failover"),
        *ups,
        alternate(href, "VmReplicaPointReference", p.name, False),
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
    uid = uid_of("ReplicaJobSession", s.id)
    job_obj = ctx.dataset.jobs[s.job_id]
    ups = [server_up(ctx, s.server_id), Link(f"{ctx.base}/jobs/{job_obj.id}", "Up", "JobReference", job_obj.name)]
    tasks = Link(f"{href}/replicaTaskSessions", "Down", "ReplicaTaskSessionReferenceList")
    if not entity:
        return Resource(element="ReplicaJobSession", type="ReplicaJobSessionReference", href=href, name=s.name, uid=uid,
                        links=[*ups, alternate(href, "ReplicaJobSession", s.name, True), tasks], is_ref=True)
    links = [*ups, alternate(href, "ReplicaJobSessionReference", s.name, False), tasks,
             Link(f"{href}?action=stop", "Stop")]
    return Resource(element="ReplicaJobSession", type="ReplicaJobSession", href=f"{href}?format=Entity", name=s.name,
                    uid=uid, links=links,
                    fields=session_fields(ctx, s), json_first=("IsRetry",))


def replica_task_session(ctx: ViewContext, t: TaskSession, entity: bool) -> Resource:
    """A ReplicaTaskSession: no VmUid (unlike BackupTaskSession); Related VmReplicaPoint where it made one."""
    ds = ctx.dataset
    href = f"{ctx.base}/replicaTaskSessions/{t.id}"
    uid = uid_of("ReplicaTaskSession", t.id)
    session = ds.replica_sessions[t.job_session_id]
    ups = [
        server_up(ctx, t.server_id),
        Link(f"{ctx.base}/replicaSessions/{session.id}", "Up", "ReplicaJobSessionReference", session.name),
    ]
    if not entity:
        return Resource(element="ReplicaTaskSession", type="ReplicaTaskSessionReference", href=href, name=t.name,
                        uid=uid,
                        links=[*ups, alternate(href, "ReplicaTaskSession", t.name, True)], is_ref=True)
    links = [*ups, alternate(href, "ReplicaTaskSessionReference", t.name, False)]
    if t.vm_point_id is not None and t.vm_point_id in ds.vm_replica_points:
        point = ds.vm_replica_points[t.vm_point_id]
        links.append(Link(f"{ctx.base}/vmReplicaPoints/{point.id}?format=Entity", "Related", "VmReplicaPoint",
                          point.name))
    fields: list[FieldT] = [
        ("JobSessionUid", uid_of("ReplicaJobSession", t.job_session_id)),
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
