"""Views of job and task sessions (`IsRetry` first in JSON), restore sessions (a running one says `Result`
`None` and has no EndTimeUTC) and EM's own system sessions (links typed as backup job sessions, `Result` an
object) with their events.
"""

from __future__ import annotations

from ..dataset.clock import micro_text
from ..dataset.coverage_records import (
    RestoreSession,
    SystemSession,
)
from ..dataset.records import (
    JobSession,
    TaskSession,
)
from ..render.resource import ABSENT, NIL, FieldT, Items, Link, Node, Resource, Value
from .common import ViewContext, alternate, server_up, uid_of

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
    uid = uid_of("BackupJobSession", s.id)
    job_obj = ds.jobs.get(s.job_id)
    if job_obj is not None:
        ups = [
            server_up(ctx, s.server_id),
            Link(f"{ctx.base}/jobs/{job_obj.id}", "Up", "JobReference", job_obj.name),
        ]
    else:
        # An agent session: its job lives under /agents/jobs (as NAS sessions' jobs under /nas/jobs on v12).
        agent_job = ds.agent_jobs[s.job_id]
        ups = [
            server_up(ctx, s.server_id),
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
                        links=[*ups, alternate(href, "BackupJobSession", s.name, True), *downs], is_ref=True)
    links = [*ups, alternate(href, "BackupJobSessionReference", s.name, False), *downs,
             Link(f"{href}?action=stop", "Stop")]
    for rp_id in s.restore_point_ids:
        links.append(Link(f"{ctx.base}/restorePoints/{rp_id}", "Related", "RestorePointReference",
                          ds.restore_points[rp_id].name))
    return Resource(element="BackupJobSession", type="BackupJobSession", href=f"{href}?format=Entity", name=s.name,
                    uid=uid, links=links,
                    fields=session_fields(ctx, s), json_first=("IsRetry",))


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
    uid = uid_of("BackupTaskSession", t.id)
    session = ds.job_sessions[t.job_session_id]
    ups = [
        server_up(ctx, t.server_id),
        Link(f"{ctx.base}/backupSessions/{session.id}", "Up", "BackupJobSessionReference", session.name),
    ]
    if not entity:
        return Resource(element="BackupTaskSession", type="BackupTaskSessionReference", href=href, name=t.name, uid=uid,
                        links=[*ups, alternate(href, "BackupTaskSession", t.name, True)], is_ref=True)
    links = [*ups, alternate(href, "BackupTaskSessionReference", t.name, False)]
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
        ("JobSessionUid", uid_of("BackupJobSession", t.job_session_id)),
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


def session_fields(ctx: ViewContext, s: JobSession) -> list[FieldT]:
    """A job session's fields, the same for backup and replication sessions (a replica session is a backup
    session's shape); a run going on has its end and result as the dialect writes an unfinished one."""
    end: Value = s.end_time_utc
    result: Value = s.result
    if s.end_time_utc is None:
        end, result = _unfinished(ctx)
    return [
        ("JobUid", uid_of("Job", s.job_id)),
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


# --- restore sessions -------------------------------------------------------------------------------------

def restore_session(ctx: ViewContext, r: RestoreSession, entity: bool) -> Resource:
    """D131 sample: while running `Result` is `None` and there is no EndTimeUTC (v12/v13 JSON: null); the
    `Related` VmRestorePointReference is optional. No reason, no user (EM records neither)."""
    ds = ctx.dataset
    href = f"{ctx.base}/restoreSessions/{r.id}"
    uid = uid_of("RestoreSession", r.id)
    up = server_up(ctx, r.server_id)
    if not entity:
        return Resource(element="RestoreSession", type="RestoreSessionReference", href=href, name=r.name, uid=uid,
                        links=[up, alternate(href, "RestoreSession", r.name, True)], is_ref=True)
    links = [up, alternate(href, "RestoreSessionReference", r.name, False)]
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
    uid = uid_of("SystemSession", s.id)
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
