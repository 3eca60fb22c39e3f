"""`/reports/summary` and its five frames, with numbers derived from the dataset (computed once, cached).

Real EM documents no time window for these aggregates (reference §5, §11); the simulator's choices, also in
docs/simulator-contract.md:

- `overview`: BackupServers; ProxyServers = 2 per backup server (proxies are not modelled); RepositoryServers =
  repositories that are a server (not the scale-out repository itself, not object storage); RunningJobs =
  jobs with a Working session; ScheduledJobs = jobs whose schedule is configured and enabled; and the
  `*VmLastestStates` (sic): each VM's newest completed backup task, counted by result.
- `vms_overview`: ProtectedVms = BackedUpVms = VMs with at least one restore point; RestorePoints = all VM
  restore points (copies included); Full/IncrementalBackupPointsSize = BackupSize of the .vbk / .vib+.vrb files;
  SourceVmsSize = provisioned size of the protected VMs; SuccessBackupPercents = share of VMs whose latest state
  is Success or Warning (rounded); ReplicatedVms = VMs with at least one VM replica point;
  ReplicaRestorePointsSize = TotalSize of the replica tasks that made a point.
- `job_statistics`: the finished backup job sessions (every JobType of `/backupSessions`, agent ones included)
  created in the 24 hours before the anchor: runs by result (Total = Successful + Warnings + Failed) and the
  longest one, overall and among `Backup` sessions; ScheduledReplicaJobs and the longest replica job session of
  the same window (replica sessions are not counted in TotalJobRuns).
- `processed_vms`: the last 7 days in EM's time zone (`Dataset.em_utc_offset_hours`), newest first: distinct VMs
  with a successful or warning backup task (BackupedVms) or replica task (ReplicatedVms) that day. JSON
  Timestamps are the UTC instants of local midnight, XML carries the local time with its offset
  (`<Day BackupedVms=".." ReplicatedVms=".." Timestamp=".."/>`).
- `repository`: every repository except scale-out extents (the scale-out repository stands for them; the report
  has no Kind to tell them apart): Capacity, FreeSpace (-1 for object storage) and BackupSize (the sum of its
  backup files).
The `...ReportLink` values are EM web-UI paths, the same on every real server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from .dataset import Dataset
from .dataset.clock import TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_SECOND, datetime_of, iso_utc, ticks_of
from .dataset.records import JobSession
from .render.resource import Alias, Dual, FieldT, Items, Link, Node, Resource, Scalar

_LINK = "Workspace/ViewReport.aspx?definition={}&ShowParams=1"
BACKUP_JOB_STATUS_LINK = _LINK.format("7962844d-db6c-4d29-8b6e-4e0f7db0785f")
PROTECTED_VMS_LINK = _LINK.format("8a56d84f-1790-4f54-ab20-2e0bfdefa16b")
CAPACITY_PLANNING_LINK = _LINK.format("62221565-102c-4ec8-851b-d61c03d972d1")

# URL name -> (XML root element, link Name in /reports/summary).
FRAMES = {
    "overview": ("OverviewReportFrame", "Overview"),
    "vms_overview": ("VmsOverviewReportFrame", "VmsOverview"),
    "job_statistics": ("JobStatisticsReportFrame", "JobStatistics"),
    "processed_vms": ("ProcessedVmsReportFrame", "ProcessedVms"),
    "repository": ("RepositoryReportFrame", "Repositories"),
}
PROXIES_PER_SERVER = 2
PROCESSED_DAYS = 7


@dataclass(frozen=True, kw_only=True)
class Summary:
    """The numbers of every frame, in EM's field order."""

    overview: list[tuple[str, int]]
    vms_overview: list[tuple[str, int | str]]
    job_statistics: list[tuple[str, int | str]]
    # (local midnight ticks, backed-up VMs, replicated VMs), newest first.
    processed_vms: list[tuple[int, int, int]]
    # (name, capacity, free space, backup size).
    repositories: list[tuple[str, int, int, int]]


def latest_states(ds: Dataset) -> dict[str, str]:
    """VM (its HierarchyObjRef, so that same-name twins count apart) -> result of its newest completed backup
    task."""
    newest: dict[str, tuple[int, str]] = {}
    for t in ds.task_sessions.values():
        if t.state != "Completed" or t.result is None or ds.job_sessions[t.job_session_id].job_type != "Backup":
            continue
        seen = newest.get(t.vm_uid)
        if seen is None or t.creation_ticks > seen[0]:
            newest[t.vm_uid] = (t.creation_ticks, t.result)
    return {vm: result for vm, (_, result) in newest.items()}


def compute(ds: Dataset) -> Summary:
    anchor = ticks_of(ds.anchor)
    states = latest_states(ds)
    running = {s.job_id for s in ds.job_sessions.values() if s.state == "Working"}
    scheduled = [j for j in ds.jobs.values() if j.schedule_configured and j.schedule_enabled]
    repo_servers = [r for r in ds.repositories.values() if r.kind not in ("Extendable", "AmazonS3Compatible")]
    overview: list[tuple[str, int]] = [
        ("BackupServers", len(ds.backup_servers)),
        ("ProxyServers", PROXIES_PER_SERVER * len(ds.backup_servers)),
        ("RepositoryServers", len(repo_servers)),
        ("RunningJobs", len(running)),
        ("ScheduledJobs", len(scheduled)),
        ("SuccessfulVmLastestStates", sum(1 for r in states.values() if r == "Success")),
        ("WarningVmLastestStates", sum(1 for r in states.values() if r == "Warning")),
        ("FailedVmLastestStates", sum(1 for r in states.values() if r == "Failed")),
    ]

    # Keys of `points_by_vm` / `vms`: VM names, or refs for same-name twins.
    protected = [key for key, points in ds.points_by_vm.items() if points]
    full = sum(f.backup_size for f in ds.backup_files.values() if f.file_type == "vbk")
    incremental = sum(f.backup_size for f in ds.backup_files.values() if f.file_type != "vbk")
    good = sum(1 for r in states.values() if r != "Failed")
    replicated = {p.source_ref for p in ds.vm_replica_points.values()}
    replica_size = sum(t.total_size for t in ds.replica_task_sessions.values() if t.vm_point_id is not None)
    vms_overview: list[tuple[str, int | str]] = [
        ("ProtectedVms", len(protected)),
        ("BackedUpVms", len(protected)),
        ("ReplicatedVms", len(replicated)),
        ("RestorePoints", len(ds.vm_restore_points)),
        ("FullBackupPointsSize", full),
        ("IncrementalBackupPointsSize", incremental),
        ("ReplicaRestorePointsSize", replica_size),
        ("SourceVmsSize", sum(ds.vms[name].size_bytes for name in protected)),
        ("SuccessBackupPercents", round(100 * good / len(states)) if states else 0),
        ("ProtectedVmsReportLink", PROTECTED_VMS_LINK),
    ]

    def in_window(sessions: Iterable[JobSession]) -> list[JobSession]:
        return [s for s in sessions
                if s.end_ticks is not None and anchor - 24 * TICKS_PER_HOUR <= s.creation_ticks <= anchor]

    window = in_window(ds.job_sessions.values())
    replica_window = in_window(ds.replica_sessions.values())

    def longest(job_type: str | None, sessions: list[JobSession] = window) -> tuple[int, str]:
        """(seconds, job name) of the longest session in `sessions`, of `job_type` if given."""
        best = (0, "")
        for s in sessions:
            if job_type is None or s.job_type == job_type:
                assert s.end_ticks is not None
                seconds = (s.end_ticks - s.creation_ticks) // TICKS_PER_SECOND
                if seconds > best[0]:
                    best = (seconds, s.job_name)
        return best

    overall = longest(None)
    backup_longest = longest("Backup")
    replica_longest = longest(None, replica_window)
    job_statistics: list[tuple[str, int | str]] = [
        ("RunningJobs", len(running)),
        ("ScheduledJobs", len(scheduled)),
        ("ScheduledBackupJobs", sum(1 for j in scheduled if j.job_type == "Backup")),
        ("ScheduledReplicaJobs", sum(1 for j in scheduled if j.job_type == "Replica")),
        ("TotalJobRuns", len(window)),
        ("SuccessfulJobRuns", sum(1 for s in window if s.result == "Success")),
        ("WarningsJobRuns", sum(1 for s in window if s.result == "Warning")),
        ("FailedJobRuns", sum(1 for s in window if s.result == "Failed")),
        ("MaxJobDuration", overall[0]),
        ("MaxBackupJobDuration", backup_longest[0]),
        ("MaxReplicaJobDuration", replica_longest[0]),
        ("MaxDurationBackupJobName", backup_longest[1]),
        ("MaxDurationReplicaJobName", replica_longest[1]),
        ("BackupJobStatusReportLink", BACKUP_JOB_STATUS_LINK),
    ]

    offset = ds.em_utc_offset_hours * TICKS_PER_HOUR
    today = (anchor + offset) // TICKS_PER_DAY * TICKS_PER_DAY - offset
    per_day: dict[int, set[str]] = {}
    for t in ds.task_sessions.values():
        if t.result in ("Success", "Warning") and t.state == "Completed" and \
                ds.job_sessions[t.job_session_id].job_type == "Backup":
            day = (t.creation_ticks + offset) // TICKS_PER_DAY * TICKS_PER_DAY - offset
            per_day.setdefault(day, set()).add(t.vm_uid)
    replicated_per_day: dict[int, set[str]] = {}
    for t in ds.replica_task_sessions.values():
        if t.result in ("Success", "Warning") and t.state == "Completed":
            day = (t.creation_ticks + offset) // TICKS_PER_DAY * TICKS_PER_DAY - offset
            replicated_per_day.setdefault(day, set()).add(t.vm_uid)
    processed = [(day, len(per_day.get(day, ())), len(replicated_per_day.get(day, ())))
                 for day in (today - i * TICKS_PER_DAY for i in range(PROCESSED_DAYS))]

    sizes: dict[str, int] = {}
    for f in ds.backup_files.values():
        repo_id = ds.backups[f.backup_id].repository_id
        sizes[repo_id] = sizes.get(repo_id, 0) + f.backup_size
    repositories = [(r.name, r.capacity, r.free_space, sizes.get(r.id, 0))
                    for r in ds.repositories.values() if r.scale_out_id is None]
    return Summary(overview=overview, vms_overview=vms_overview, job_statistics=job_statistics, processed_vms=processed,
                   repositories=repositories)


def summary_report(base: str) -> Resource:
    href = f"{base}/reports/summary"
    links = [Link(f"{href}/{path}", "Down", "ReportFrame", name) for path, (_, name) in FRAMES.items()]
    return Resource(element="SummaryReport", type="SummaryReport", href=href, links=links)


def _local_text(ticks: int, offset_hours: int) -> str:
    local = datetime_of(ticks) + timedelta(hours=offset_hours)
    sign = "+" if offset_hours >= 0 else "-"
    return f"{local:%Y-%m-%dT%H:%M:%S}{sign}{abs(offset_hours):02d}:00"


def frame(name: str, summary: Summary, ds: Dataset) -> Resource:
    """One report frame as a Resource without Href/Type/Links (report_frame() adds v12's nulls)."""
    element = FRAMES[name][0]
    fields: list[FieldT]
    attrs: list[tuple[str, Scalar]] = []
    if name == "overview":
        fields = list(summary.overview)
    elif name == "vms_overview":
        fields = list(summary.vms_overview)
    elif name == "job_statistics":
        fields = list(summary.job_statistics)
    elif name == "processed_vms":
        # XML: local midnight with its offset; JSON: the UTC instant of that midnight (9.5 U4 capture).
        offset = ds.em_utc_offset_hours
        days = tuple(
            Node((), (("BackupedVms", backed), ("ReplicatedVms", replicated),
                      ("Timestamp", Dual(_local_text(ticks, offset), iso_utc(ticks)))))
            for ticks, backed, replicated in summary.processed_vms
        )
        fields = [(Alias("Day", "Days"), Items(days))]
    else:
        periods = tuple(
            Node((("Name", n), ("Capacity", cap), ("FreeSpace", free), ("BackupSize", size)))
            for n, cap, free, size in summary.repositories
        )
        fields = [(Alias("Period", "Periods"), Items(periods))]
        attrs = [("CapacityPlanningReportLink", CAPACITY_PLANNING_LINK)]
    return Resource(element=element, type=None, href=None, fields=fields, attrs=attrs, has_links=False)
