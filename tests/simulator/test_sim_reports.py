"""`/reports/summary` and its five frames: XML and JSON shapes of reference §5, and numbers that agree with what
the rest of the API says (checked through the query service and the collections, not through reports.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from veeam_em_mcp.simulator.dataset import Dataset
from veeam_em_mcp.simulator.fields import parse_date_ticks

pytestmark = pytest.mark.anyio

NS = "{http://www.veeam.com/ent/v1.0}"
BASE = "http://em.sim.test:9398/api"
JSON = {"Accept": "application/json"}
FRAMES = [("overview", "OverviewReportFrame", "Overview"), ("vms_overview", "VmsOverviewReportFrame", "VmsOverview"),
          ("job_statistics", "JobStatisticsReportFrame", "JobStatistics"),
          ("processed_vms", "ProcessedVmsReportFrame", "ProcessedVms"),
          ("repository", "RepositoryReportFrame", "Repositories")]


async def query_all(api: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    params = {"format": "Entities", "pageSize": "1000", **params}
    body = (await api.get("/api/query", params=params, headers=JSON)).json()
    [(plural, wrapper)] = body["Entities"].items()
    assert body["PagingInfo"]["PagesCount"] == 1
    items: list[dict[str, Any]] = wrapper[plural]
    return items


async def test_summary_links_every_frame(api: httpx.AsyncClient) -> None:
    root = ET.fromstring((await api.get("/api/reports/summary")).content)
    assert root.tag == f"{NS}SummaryReport"
    links = root.findall(f"{NS}Links/{NS}Link")
    assert [(x.get("Rel"), x.get("Type"), x.get("Name"), x.get("Href")) for x in links] == [
        ("Down", "ReportFrame", name, f"{BASE}/reports/summary/{path}") for path, _, name in FRAMES]
    for path, element, _ in FRAMES:
        frame = ET.fromstring((await api.get(f"/api/reports/summary/{path}")).content)
        assert frame.tag == f"{NS}{element}" and frame.get("Href") is None and frame.find(f"{NS}Links") is None
    assert (await api.get("/api/reports/summary/statistics")).status_code == 404


async def test_overview_and_job_statistics_agree_with_the_sessions(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    overview = (await api.get("/api/reports/summary/overview", headers=JSON)).json()
    stats = (await api.get("/api/reports/summary/job_statistics", headers=JSON)).json()
    assert list(overview) == ["BackupServers", "ProxyServers", "RepositoryServers", "RunningJobs", "ScheduledJobs",
                              "SuccessfulVmLastestStates", "WarningVmLastestStates", "FailedVmLastestStates"]
    jobs = (await api.get("/api/jobs?format=Entity", headers=JSON)).json()["Jobs"]
    scheduled = [j for j in jobs if j["ScheduleConfigured"] and j["ScheduleEnabled"]]
    working = await query_all(api, type="BackupJobSession", filter="State==Working")
    assert overview["BackupServers"] == len(sim_dataset.backup_servers)
    assert overview["RunningJobs"] == stats["RunningJobs"] == len({s["JobUid"] for s in working}) == 1
    assert overview["ScheduledJobs"] == stats["ScheduledJobs"] == len(scheduled)
    assert stats["ScheduledBackupJobs"] == sum(1 for j in scheduled if j["JobType"] == "Backup")
    repos = (await api.get("/api/repositories?format=Entity", headers=JSON)).json()["Repositories"]
    assert overview["RepositoryServers"] == sum(1 for r in repos if r["Kind"] not in ("Extendable", "AmazonS3Compatible"))

    # Each VM's latest state: its newest completed backup task.
    tasks = await query_all(api, type="BackupTaskSession", filter="State==Completed", sortDesc="CreationTime",
                            pageSize="100000")
    backup_sessions = {s["UID"] for s in await query_all(api, type="BackupJobSession", filter="JobType==Backup",
                                                          pageSize="100000")}
    latest: dict[str, str] = {}
    for t in tasks:
        if t["JobSessionUid"] in backup_sessions:
            latest.setdefault(t["VmDisplayName"], t["Result"])
    assert overview["SuccessfulVmLastestStates"] == sum(1 for r in latest.values() if r == "Success")
    assert overview["WarningVmLastestStates"] == sum(1 for r in latest.values() if r == "Warning")
    assert overview["FailedVmLastestStates"] == sum(1 for r in latest.values() if r == "Failed") >= 1

    since = (sim_dataset.anchor - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    window = await query_all(api, type="BackupJobSession", filter=f'CreationTime>="{since}";State==Stopped')
    assert stats["TotalJobRuns"] == len(window) == (stats["SuccessfulJobRuns"] + stats["WarningsJobRuns"]
                                                      + stats["FailedJobRuns"])
    assert stats["FailedJobRuns"] == sum(1 for s in window if s["Result"] == "Failed") >= 1
    durations = [((parse_date_ticks(s["EndTimeUTC"]) - parse_date_ticks(s["CreationTimeUTC"])) // 10_000_000, s)
                 for s in window]
    assert stats["MaxJobDuration"] == max(d for d, _ in durations)
    longest_backup = max((d, s["JobName"]) for d, s in durations if s["JobType"] == "Backup")
    assert (stats["MaxBackupJobDuration"], stats["MaxDurationBackupJobName"]) == longest_backup
    assert stats["BackupJobStatusReportLink"].startswith("Workspace/ViewReport.aspx?definition=7962844d-")


async def test_vms_overview_agrees_with_the_points(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    body = (await api.get("/api/reports/summary/vms_overview", headers=JSON)).json()
    points = await query_all(api, type="VmRestorePoint", pageSize="100000")
    files = (await api.get("/api/backupFiles?format=Entity", headers=JSON)).json()["BackupFiles"]
    protected = {p["VmDisplayName"] for p in points}
    assert body["ProtectedVms"] == body["BackedUpVms"] == len(protected) == len(sim_dataset.vm_names())
    assert body["RestorePoints"] == len(points)
    assert body["FullBackupPointsSize"] == sum(f["BackupSize"] for f in files if f["FileType"] == "vbk")
    assert body["IncrementalBackupPointsSize"] == sum(f["BackupSize"] for f in files if f["FileType"] != "vbk")
    # Replicas (coverage phase): VMs with a replica point, and the size of the replica tasks that made one.
    replica_points = await query_all(api, type="VmReplicaPoint")
    replica_tasks = await query_all(api, type="ReplicaTaskSession", filter="Result==Success")
    assert body["ReplicatedVms"] == len({p["VmDisplayName"] for p in replica_points}) == 3
    assert body["ReplicaRestorePointsSize"] == sum(t["TotalSize"] for t in replica_tasks) > 0
    assert len(replica_tasks) == len(replica_points)
    assert body["SourceVmsSize"] == sum(sim_dataset.vms[v].size_bytes for v in protected)
    assert 0 < body["SuccessBackupPercents"] < 100


async def test_processed_vms(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    body = (await api.get("/api/reports/summary/processed_vms", headers=JSON)).json()
    days = body["Days"]
    assert list(body) == ["Days"] and len(days) == 7
    stamps = [parse_date_ticks(d["Timestamp"]) for d in days]
    assert stamps == sorted(stamps, reverse=True)
    # Local midnights of EM's UTC+2: 22:00 UTC.
    assert all(d["Timestamp"].endswith("T22:00:00Z") for d in days)
    backup_sessions = {s["UID"] for s in await query_all(api, type="BackupJobSession", filter="JobType==Backup",
                                                          pageSize="100000")}
    for day, start in zip(days, stamps, strict=True):
        end = start + 86_400 * 10_000_000
        tasks = await query_all(api, type="BackupTaskSession", pageSize="100000",
                                filter=f'CreationTime>="{day["Timestamp"]}";Result<=Warning;State==Completed')
        backup = [t for t in tasks if parse_date_ticks(t["CreationTimeUTC"]) < end
                  and t["JobSessionUid"] in backup_sessions]  # copy workers' tasks do not count
        assert day["BackupedVms"] == len({t["VmDisplayName"] for t in backup}) > 0
        replicas = await query_all(api, type="ReplicaTaskSession", pageSize="100000",
                                   filter=f'CreationTime>="{day["Timestamp"]}";Result<=Warning;State==Completed')
        replicated = {t["VmDisplayName"] for t in replicas if parse_date_ticks(t["CreationTimeUTC"]) < end}
        assert day["ReplicatedVms"] == len(replicated)
    # The replication job replicates three VMs a day; one failed in its newest run.
    assert {d["ReplicatedVms"] for d in days} <= {2, 3} and sum(d["ReplicatedVms"] for d in days) >= 18
    xml = ET.fromstring((await api.get("/api/reports/summary/processed_vms")).content)
    xml_days = xml.findall(f"{NS}Day")
    assert [(d.get("BackupedVms"), d.get("ReplicatedVms")) for d in xml_days] == [
        (str(d["BackupedVms"]), str(d["ReplicatedVms"])) for d in days]
    assert all((d.get("Timestamp") or "").endswith("T00:00:00+02:00") for d in xml_days)
    assert list(xml_days[0].attrib) == ["BackupedVms", "ReplicatedVms", "Timestamp"]


async def test_repository_report(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    body = (await api.get("/api/reports/summary/repository", headers=JSON)).json()
    assert list(body) == ["Periods", "CapacityPlanningReportLink"]
    assert body["CapacityPlanningReportLink"] == (
        "Workspace/ViewReport.aspx?definition=62221565-102c-4ec8-851b-d61c03d972d1&ShowParams=1")
    repos = (await api.get("/api/repositories?format=Entity", headers=JSON)).json()["Repositories"]
    extents = {r.name for r in sim_dataset.repositories.values() if r.scale_out_id is not None}
    expected = [r for r in repos if r["Name"] not in extents]
    assert [(p["Name"], p["Capacity"], p["FreeSpace"]) for p in body["Periods"]] == [
        (r["Name"], r["Capacity"], r["FreeSpace"]) for r in expected]
    for period, repo in zip(body["Periods"], expected, strict=True):
        backups = (await api.get(repo["Href"].replace("?format=Entity", "/backups"), headers=JSON)).json()["Refs"]
        size = 0
        for b in backups:
            files = (await api.get(f"{b['Href']}/backupFiles?format=Entity", headers=JSON)).json()["BackupFiles"]
            size += sum(f["BackupSize"] for f in files)
        assert period["BackupSize"] == size
    xml = ET.fromstring((await api.get("/api/reports/summary/repository")).content)
    assert xml.get("CapacityPlanningReportLink") == body["CapacityPlanningReportLink"]
    assert [p.findtext(f"{NS}Name") for p in xml.findall(f"{NS}Period")] == [p["Name"] for p in body["Periods"]]
    assert [c.tag.removeprefix(NS) for c in xml.findall(f"{NS}Period")[0]] == [
        "Name", "Capacity", "FreeSpace", "BackupSize"]


async def test_frames_in_the_v12_and_v13_dialects(make_app: Callable[..., Starlette],
                                                  client_factory: Callable[..., httpx.AsyncClient],
                                                  logon_fn: Callable[..., Any]) -> None:
    async with client_factory(make_app(json_dialect="12")) as c:
        await logon_fn(c)
        stats = (await c.get("/api/reports/summary/job_statistics", headers=JSON)).json()
        assert list(stats)[-3:] == ["Links", "Href", "Type"] and stats["Links"] is stats["Type"] is None
        repo = (await c.get("/api/reports/summary/repository", headers=JSON)).json()
        assert list(repo) == ["Periods", "CapacityPlanningReportLink", "Links", "Href", "Type"]
    async with client_factory(make_app(json_dialect="13")) as c:
        await logon_fn(c)
        overview = (await c.get("/api/reports/summary/vms_overview", headers=JSON)).json()
        assert {"protectedVms", "backedUpVms", "links", "href", "type"} <= set(overview)
        days = (await c.get("/api/reports/summary/processed_vms", headers=JSON)).json()["days"]
        assert set(days[0]) == {"backupedVms", "replicatedVms", "timestamp"}
