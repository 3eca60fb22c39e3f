"""Views of jobs, their includes (`ObjectInJob`: a resource without a reference form) and a backup copy job's
sources; the schedule is under `Standart` and `RetrySpecified` is `RetrySpecified1` in JSON, as on real servers.
"""

from __future__ import annotations

from datetime import timedelta

from ..dataset.clock import datetime_of
from ..dataset.coverage_records import (
    LinkedJob,
)
from ..dataset.records import (
    Job,
    ObjectInJob,
)
from ..render.resource import Alias, Dual, Embedded, FieldT, Items, Link, Node, Resource
from .common import ViewContext, alternate, server_up, uid_of

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


GUEST_PROCESSING = {mode: _guest_processing(mode) for mode in ("RequireSuccess", "Disabled")}


def schedule(ctx: ViewContext, j: Job) -> Node:
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
        ("GuestProcessingOptions", GUEST_PROCESSING[o.vss_mode]),
    ]
    return Resource(element="ObjectInJob", type="ObjectInJob", href=href, links=links, fields=fields,
                    has_links=not embedded)


def job(ctx: ViewContext, j: Job, entity: bool) -> Resource:
    href = f"{ctx.base}/jobs/{j.id}"
    uid = uid_of("Job", j.id)
    up = server_up(ctx, j.server_id)
    sessions = Link(f"{href}/backupSessions", "Down", "BackupJobSessionReferenceList")
    if not entity:
        return Resource(element="Job", type="JobReference", href=href, name=j.name, uid=uid,
                        links=[up, alternate(href, "Job", j.name, True), sessions], is_ref=True)
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
                            links=[up, alternate(href, "JobReference", j.name, False), sessions], fields=fields)
        # The immediate-copy doc samples (D131): no Edit/Start/Stop/Retry/includes links, Sync and the linked
        # lists instead; no NextRun. Its JobScheduleOptions (ImmediateCopyMode) are not modelled.
        links = [
            up,
            alternate(href, "JobReference", j.name, False),
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
        alternate(href, "JobReference", j.name, False),
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
            ("GuestProcessingOptions", GUEST_PROCESSING["Disabled"]),
        ))),))
    else:
        info = Node((("BackupJobInfo", Node((
            ("Includes", Embedded("ObjectInJobs", includes)),
            ("GuestProcessingOptions", GUEST_PROCESSING["Disabled"]),
            ("AdvancedStorageOptions", Node((("PasswordKeyId", Dual(_ZERO_GUID, "")),))),
        ))),))
    fields += [("JobScheduleOptions", schedule(ctx, j)), ("JobInfo", info)]
    return Resource(element="Job", type="Job", href=f"{href}?format=Entity", name=j.name, uid=uid, links=links,
                    fields=fields)


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
    fields: list[FieldT] = [("ObjectInJobId", o.id), ("LinkedJobUid", uid_of("Job", o.linked_job_id))]
    return Resource(element="LinkedJobObject", type="LinkedJobObject", href=href, links=links, fields=fields,
                    has_links=not embedded)
