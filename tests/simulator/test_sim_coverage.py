"""The coverage phase (coverage.py, reference em-rest-api-coverage.md): backup copies, replication, restore
sessions, EM's own sessions (data freshness), Veeam Agent and the MSP views -- their shapes in XML and v13 JSON
(and the v12 nulls where they matter), their query types and filters, and their consistency with the rest of
the estate: a copy point exactly where a copy worker task succeeded, a replica point exactly where a replica task
succeeded, restore sessions' Related links resolving to real points, vbr02's last good collection about five
hours old, agent restore points per computer."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from veeam_em_mcp.simulator import runner
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset, rename_job, rename_vm
from veeam_em_mcp.simulator.dataset.clock import TICKS_PER_HOUR, TICKS_PER_MINUTE, ticks_of
from veeam_em_mcp.simulator.dataset.scenarios import (
    COLLECT_FAILED,
    COPY_JOB,
    FAILING_COMPUTER,
    REPLICA_FAILED_VM,
    REPLICA_JOB,
    RETRY_JOB,
    STALE_HOURS,
    WINDOWS_AGENT_JOB,
)
from veeam_em_mcp.simulator.fields import parse_date_ticks
from veeam_em_mcp.simulator.views.documents import SESSION_DOWN

pytestmark = pytest.mark.anyio

NS = "{http://www.veeam.com/ent/v1.0}"
BASE = "http://em.sim.test:9398/api"
JSON = {"Accept": "application/json"}


@pytest.fixture
async def v13(make_app: Callable[..., Starlette], client_factory: Callable[..., httpx.AsyncClient],
              logon_fn: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_factory(make_app(json_dialect="13")) as c:
        await logon_fn(c)
        c.headers.update(JSON)
        yield c


@pytest.fixture
async def v12(make_app: Callable[..., Starlette], client_factory: Callable[..., httpx.AsyncClient],
              logon_fn: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_factory(make_app(json_dialect="12")) as c:
        await logon_fn(c)
        c.headers.update(JSON)
        yield c


async def xml(api: httpx.AsyncClient, path: str) -> ET.Element:
    r = await api.get(path)
    assert r.status_code == 200, (path, r.text[:300])
    return ET.fromstring(r.content)


async def query(c: httpx.AsyncClient, type_name: str, filter_: str | None = None, **params: str) -> list[Any]:
    """All entities of a query (one page), through the JSON key of the client's dialect."""
    args = {"type": type_name, "format": "Entities", "pageSize": "5000", **params}
    if filter_ is not None:
        args["filter"] = filter_
    r = await c.get("/api/query", params=args, headers=JSON)
    assert r.status_code == 200, r.text
    body = r.json()
    entities = body.get("Entities") or body.get("entities")
    [(_, wrapper)] = [(k, v) for k, v in entities.items() if v is not None]
    [(_, items)] = wrapper.items()
    return list(items)


def uid(x: dict[str, Any]) -> str:
    return str(x.get("UID") or x["uid"]).rsplit(":", 1)[1]


def links(el: ET.Element) -> list[tuple[str | None, str | None, str | None]]:
    found = el.find(f"{NS}Links")
    return [] if found is None else [(x.get("Rel"), x.get("Type"), x.get("Href")) for x in found]


def copy_job_of(ds: Dataset) -> Any:
    return next(j for j in ds.jobs.values() if j.name == COPY_JOB)


# --- the logon session ---------------------------------------------------------------------------------------

async def test_logon_session_links_the_agents_and_vcloud_services(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/sessionMngr/?v=latest", auth=("DEMO\\demo", "demo-password"))
    rels = [(x.get("Type"), (x.get("Href") or "").removeprefix(f"{BASE}/")) for x in
            ET.fromstring(r.content).iter(f"{NS}Link")]
    # At their places in the 13.0 doc sample: vCloud after WanAcceleratorList, agents after BackupFileList.
    types = [t for t, _ in rels]
    assert ("VCloudService", "vCloud") in rels and ("AgentsService", "agents") in rels
    assert types.index("VCloudService") == types.index("WanAcceleratorList") + 1
    assert types.index("AgentsService") == types.index("BackupFileList") + 1
    # The sample has no systemSessions or cloud links: served, not advertised.
    assert not any(h.startswith(("systemSessions", "cloud")) for _, h in rels)
    assert [t for t, _ in SESSION_DOWN].count("AgentsService") == 1


# --- backup copy ---------------------------------------------------------------------------------------------

async def test_copy_job_names_its_source(api: httpx.AsyncClient, v13: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    ds = sim_dataset
    copy, source = copy_job_of(ds), next(j for j in ds.jobs.values() if j.name == RETRY_JOB)
    root = await xml(api, f"/api/jobs/{copy.id}?format=Entity")
    items = root.findall(f"{NS}JobInfo/{NS}ImmediateBackupCopyJobInfo/{NS}LinkedJobIncludes/{NS}LinkedJobObject")
    assert [x.findtext(f"{NS}LinkedJobUid") for x in items] == [f"urn:veeam:Job:{source.id}"]
    (linked,) = ds.linked_jobs.values()
    assert items[0].findtext(f"{NS}ObjectInJobId") == linked.id and root.find(f"{NS}NextRun") is None
    info = root.find(f"{NS}JobInfo/{NS}ImmediateBackupCopyJobInfo")
    assert info is not None and [c.tag.removeprefix(NS) for c in info] == [
        "LinkedJobIncludes", "LinkedBackupIncludes", "LinkedBackupRepositoryIncludes"]
    lst = await xml(api, f"/api/jobs/{copy.id}/linkedJobs")
    assert lst.tag == f"{NS}LinkedJobResourceObjects"
    (item,) = list(lst)
    assert item.tag == f"{NS}LinkedJobObject" and item.get("Type") == "LinkedJobObject"
    assert links(item) == [("Up", "Job", f"{BASE}/jobs/{copy.id}?format=Entity"),
                           ("Delete", "LinkedJobObject", f"{BASE}/jobs/{copy.id}/linkedJobs/{linked.id}")]
    assert (await api.get(f"/api/jobs/{copy.id}/linkedJobs/{linked.id}")).status_code == 200
    empty = await xml(api, f"/api/jobs/{copy.id}/linkedBackupRepositories")
    assert empty.tag == f"{NS}LinkedBackupRepositoryResourceObjects" and len(empty) == 0
    body = (await v13.get(f"/api/jobs/{copy.id}?format=Entity")).json()
    info13 = body["jobInfo"]["immediateBackupCopyJobInfo"]
    assert info13["linkedJobIncludes"]["linkedJobObjects"][0]["linkedJobUid"] == f"urn:veeam:Job:{source.id}"
    assert info13["linkedBackupIncludes"] == {"linkedBackups": []} and body["nextRun"] is None
    assert (await v13.get(f"/api/jobs/{copy.id}/linkedJobs")).json()["linkedJobObjects"][0]["objectInJobId"] == \
        linked.id


async def test_copy_backup_through_the_backup_query(api: httpx.AsyncClient, v13: httpx.AsyncClient,
                                                    sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    copy = copy_job_of(ds)
    s3 = next(r for r in ds.repositories.values() if r.name == "Amazon S3 Copy")
    for c in (api, v13):
        for flt in (f"JobUid==urn:veeam:Job:{copy.id}", f"JobUid=={copy.id}", f'JobName=="{COPY_JOB}"'):
            assert [uid(b) for b in await query(c, "Backup", flt)] == [facts.copy_backup_id], flt
    on_s3 = await query(api, "Backup", f"RepositoryUid=={s3.id}")
    assert [uid(b) for b in on_s3] == [facts.copy_backup_id] == s3.backup_ids
    assert on_s3[0]["Links"][0] == {"Rel": "Up", "Href": f"{BASE}/repositories/{s3.id}", "Name": "Amazon S3 Copy",
                                    "Type": "RepositoryReference"}
    assert [uid(b) for b in await query(api, "Backup", 'RepositoryName=="Amazon S3 Copy"')] == s3.backup_ids
    # Every other backup still answers its own job.
    for b in ds.backups.values():
        assert [uid(x) for x in await query(api, "Backup", f"JobUid=={b.job_id}")] == [
            x.id for x in ds.backups.values() if x.job_id == b.job_id]


def test_a_copy_point_exists_exactly_where_a_copy_worker_task_succeeded(sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    copy = copy_job_of(ds)
    backup = ds.backups[facts.copy_backup_id]
    copies = {p.task_session_id: p for p in ds.vm_restore_points.values() if p.backup_id == backup.id}
    workers = [ds.job_sessions[s] for s in copy.session_ids
               if ds.job_sessions[s].job_type == "ImmediateBackupCopyWorker"]
    tasks = [ds.task_sessions[t] for w in workers for t in w.task_ids]
    assert tasks and all(t.result == "Success" for t in tasks)
    assert set(copies) == {t.id for t in tasks}  # one point per successful copy task, none elsewhere
    for t in tasks:
        p = copies[t.id]
        assert (p.vm_name, p.hierarchy_obj_ref, p.creation_time_utc, p.creation_ticks) == (
            t.vm_name, t.vm_uid, t.end_time_utc, t.end_ticks)
        assert p.job_id == copy.id and p.backup_server_id == copy.server_id
        rp, bf = ds.restore_points[p.restore_point_id], ds.backup_files[p.backup_file_id]
        # In its own RestorePoint/BackupFile (one per worker session) under the copy backup.
        assert rp.backup_id == bf.backup_id == backup.id and rp.id in backup.restore_point_ids
        assert rp.job_session_id == t.job_session_id and bf.file_path.startswith("s3://veeam-offsite/Backups/")
        assert t.vm_point_id is None  # copy tasks keep no Related link (real HAE12)
        assert any(q is p for q in ds.points_by_vm[p.vm_name])
    assert len(backup.restore_point_ids) == len([w for w in workers if w.task_ids])
    # Facts: which VMs have copies, and the newest copy per VM (first point of each VM a full).
    newest: dict[str, Any] = {}
    for p in sorted(copies.values(), key=lambda p: p.creation_ticks):
        if p.vm_name not in newest:
            assert (p.point_type, p.algorithm) == ("Full", "Full")
        newest[p.vm_name] = p
    assert set(facts.copied_vms) == set(newest) == {"web,db (old)", "web01", "web02", "proxy01", "web03", "dns01"}
    assert facts.newest_copy_by_vm == {v: p.creation_time_utc for v, p in newest.items()}
    assert facts.newest_copy_point_by_vm == {v: p.id for v, p in newest.items()}
    assert "sql01" not in facts.copied_vms


async def test_copies_through_the_api(api: httpx.AsyncClient, v13: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    facts = sim_dataset.facts
    for c in (api, v13):
        points = await query(c, "VmRestorePoint", f'VmName=="web01";BackupUid=={facts.copy_backup_id}',
                             sortDesc="CreationTime")
        assert points and uid(points[0]) == facts.newest_copy_point_by_vm["web01"]
        assert (points[0].get("CreationTimeUTC") or points[0]["creationTimeUTC"]) == facts.newest_copy_by_vm["web01"]
    rp = (await api.get(f"/api/backups/{facts.copy_backup_id}/restorePoints", headers=JSON)).json()["Refs"]
    assert len(rp) == len(sim_dataset.backups[facts.copy_backup_id].restore_point_ids)
    assert await query(api, "VmRestorePoint", f'JobName=="{COPY_JOB}"') != []


# --- replication ---------------------------------------------------------------------------------------------

def test_a_replica_point_exists_exactly_where_a_replica_task_succeeded(sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    job = ds.jobs[facts.replica_job_id]
    assert (job.name, job.job_type, ds.backup_servers[job.server_id].name) == (REPLICA_JOB, "Replica",
                                                                               "vbr02.tech.local")
    assert job.schedule_configured and job.schedule_enabled and job.next_run and not job.session_ids
    assert facts.replicated_vms == ["hv-dc01", "wsus01", "fileserver01"] == job.vm_names
    replica = ds.replicas[facts.replica_id]
    assert (replica.name, replica.job_id, replica.platform) == (REPLICA_JOB, job.id, "HyperV")
    by_task = {p.task_session_id: p for p in ds.vm_replica_points.values()}
    assert len(by_task) == len(ds.vm_replica_points)
    sessions = list(ds.replica_sessions.values())
    assert 29 <= len(sessions) <= 31 and len({s.creation_time_utc[:10] for s in sessions}) == len(sessions)
    for s in sessions:
        assert (s.job_id, s.job_type, s.state) == (job.id, "Replica", "Stopped")
        tasks = [ds.replica_task_sessions[t] for t in s.task_ids]
        assert [t.vm_name for t in tasks] == job.vm_names
        assert s.result == ("Failed" if any(t.result == "Failed" for t in tasks) else "Success")
        for t in tasks:
            assert t.job_session_id == s.id and s.creation_ticks <= t.creation_ticks < (t.end_ticks or 0) <= (
                s.end_ticks or 0)
            if t.result == "Success":
                p = ds.vm_replica_points[t.vm_point_id or ""]
                assert by_task[t.id] is p and p.source_vm == t.vm_name and p.vm_name == f"{t.vm_name}_replica"
                assert t.creation_ticks < p.creation_ticks < (t.end_ticks or 0) and p.point_type == "Snapshot"
                assert p.source_ref == ds.vms[t.vm_name].hierarchy_obj_ref
            else:
                assert t.vm_point_id is None and t.id not in by_task and t.total_size == 0
    failed = [t for t in ds.replica_task_sessions.values() if t.result == "Failed"]
    assert [t.id for t in failed] == [facts.replica_failed_task_id]
    assert failed[0].vm_name == REPLICA_FAILED_VM and failed[0].job_session_id == sessions[-1].id
    assert failed[0].reason.startswith(f"Processing {REPLICA_FAILED_VM} Error:") and len(failed[0].reason) > 120
    assert facts.replica_newest_session_id == sessions[-1].id
    # The replicated VMs' includes: in the replication job too.
    assert [ds.objects_in_job[o].hierarchy_obj_ref for o in job.object_ids] == [
        ds.vms[v].hierarchy_obj_ref for v in job.vm_names]
    # Its newest run was over before vbr02's collections started to fail.
    assert (sessions[-1].end_ticks or 0) < parse_date_ticks(facts.stale_since)


async def test_replica_shapes_xml(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    refs = await xml(api, "/api/replicas")
    assert [x.get("UID") for x in refs] == [f"urn:veeam:Replica:{facts.replica_id}"]
    replica = await xml(api, f"/api/replicas/{facts.replica_id}?format=Entity")
    repo = ds.repositories[ds.replicas[facts.replica_id].repository_id]
    assert links(replica)[0] == ("Up", "RepositoryReference", f"{BASE}/repositories/{repo.id}")
    assert replica.findtext(f"{NS}Platform") == "HyperV"
    points = await xml(api, f"/api/replicas/{facts.replica_id}/vmReplicaPoints")
    assert len(points) == len(ds.vm_replica_points)
    task = ds.replica_task_sessions[next(t for t in ds.replica_sessions[facts.replica_newest_session_id].task_ids
                                         if ds.replica_task_sessions[t].result == "Success")]
    root = await xml(api, f"/api/replicaTaskSessions/{task.id}?format=Entity")
    assert root.get("VmDisplayName") == task.vm_name and root.find(f"{NS}VmUid") is None
    related = [h for rel, t, h in links(root) if rel == "Related"]
    assert related == [f"{BASE}/vmReplicaPoints/{task.vm_point_id}?format=Entity"]
    point = await xml(api, related[0].removeprefix("http://em.sim.test:9398"))
    assert point.tag == f"{NS}VmReplicaPoint" and point.get("VmDisplayName") == f"{task.vm_name}_replica"
    assert [c.tag.removeprefix(NS) for c in point] == ["Links", "CreationTimeUTC", "VmName", "Algorithm", "PointType"]
    assert point.findtext(f"{NS}PointType") == "Snapshot" and point.find(f"{NS}HierarchyObjRef") is None
    assert links(point)[0][0] == "Failover"
    failed = await xml(api, f"/api/replicaTaskSessions/{facts.replica_failed_task_id}?format=Entity")
    assert failed.findtext(f"{NS}Result") == "Failed" and "replica" in (failed.findtext(f"{NS}Reason") or "")
    assert not [rel for rel, _, _ in links(failed) if rel == "Related"]
    session = await xml(api, f"/api/replicaSessions/{facts.replica_newest_session_id}?format=Entity")
    assert ("Down", "ReplicaTaskSessionReferenceList",
            f"{BASE}/replicaSessions/{facts.replica_newest_session_id}/replicaTaskSessions") in links(session)
    assert session.findtext(f"{NS}JobType") == "Replica" and session.findtext(f"{NS}Result") == "Failed"
    tasks = await xml(api, f"/api/replicaSessions/{facts.replica_newest_session_id}/replicaTaskSessions")
    assert [x.get("Type") for x in tasks] == ["ReplicaTaskSessionReference"] * 3


async def test_replica_queries(api: httpx.AsyncClient, v13: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    failed = await query(v13, "ReplicaTaskSession", "Result==Failed")
    assert [uid(t) for t in failed] == [facts.replica_failed_task_id]
    assert failed[0]["vmDisplayName"] == REPLICA_FAILED_VM and "vmUid" not in failed[0]
    assert failed[0]["reason"] == ds.replica_task_sessions[facts.replica_failed_task_id].reason
    by_vm = await query(api, "ReplicaTaskSession", f'VmDisplayName=="wsus01";JobName=="{REPLICA_JOB}"')
    assert len(by_vm) == sum(1 for t in ds.replica_task_sessions.values() if t.vm_name == "wsus01")
    newest = await query(v13, "VmReplicaPoint", 'VmDisplayName=="hv-dc01_replica"', sortDesc="CreationTime",
                         pageSize="1")
    expected = max((p for p in ds.vm_replica_points.values() if p.source_vm == "hv-dc01"),
                   key=lambda p: p.creation_ticks)
    assert [uid(p) for p in newest] == [expected.id] and newest[0]["pointType"] == "Snapshot"
    assert len(await query(api, "VmReplicaPoint", "Type==Snapshot")) == len(ds.vm_replica_points)
    assert len(await query(api, "VmReplicaPoint", f'ReplicaName=="{REPLICA_JOB}"')) == len(ds.vm_replica_points)
    sessions = await query(v13, "ReplicaJobSession", f"JobUid=={facts.replica_job_id}", sortDesc="CreationTime")
    assert uid(sessions[0]) == facts.replica_newest_session_id and sessions[0]["jobType"] == "Replica"
    assert next(iter(sessions[0])) == "isRetry" and sessions[0]["failureMessage"] is None
    assert [uid(r) for r in await query(api, "Replica", f'JobName=="{REPLICA_JOB}"')] == [facts.replica_id]
    body = (await v13.get("/api/query?type=ReplicaJobSession&format=Entities&pageSize=1")).json()
    assert list(body["entities"]["replicaJobSessions"]) == ["replicaJobSessions"]


# --- restore sessions ----------------------------------------------------------------------------------------

def test_restore_sessions(sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    sessions = [ds.restore_sessions[i] for i in facts.restore_session_ids]
    assert len(sessions) == len(ds.restore_sessions) == 8
    anchor = ticks_of(ds.anchor)
    assert all(anchor - 14 * 24 * TICKS_PER_HOUR < s.creation_ticks < anchor for s in sessions)
    assert [s.creation_ticks for s in sessions] == sorted(s.creation_ticks for s in sessions)
    assert {s.job_type for s in sessions} == {"RestoreVm", "FileLevelRestore"}
    assert [s.id for s in sessions if s.result == "Failed"] == [facts.failed_restore_session_id]
    running = [s for s in sessions if s.state == "Working"]
    assert [s.id for s in running] == [facts.running_restore_session_id] == [sessions[-1].id]
    assert running[0].result is None and running[0].end_ticks is None and 0 < running[0].progress < 100
    assert [s.id for s in sessions if s.point_id is None] == [facts.restore_without_point_id]
    for s in sessions:
        stamp = f"{s.creation_time_utc[:10]} {s.creation_time_utc[11:19]}"
        assert s.name == (f"FLR_[{s.vm_name}]@{stamp}" if s.job_type == "FileLevelRestore" else f"{s.vm_name}@{stamp}")
        if s.point_id is not None:
            p = ds.vm_restore_points[s.point_id]
            # A real point of that VM (not a copy), taken before the restore started, on the session's server.
            assert p.vm_name == s.vm_name and p.creation_ticks < s.creation_ticks
            assert p.backup_id != facts.copy_backup_id and p.backup_server_id == s.server_id
        if s.end_ticks is not None:
            assert s.creation_ticks < s.end_ticks < anchor and s.state == "Stopped"


async def test_restore_session_shapes(api: httpx.AsyncClient, v12: httpx.AsyncClient, v13: httpx.AsyncClient,
                                      sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    refs = await xml(api, "/api/restoreSessions")
    assert [x.get("UID", "").rsplit(":", 1)[1] for x in refs] == facts.restore_session_ids
    assert [rel for rel, _, _ in links(refs[0])] == ["Up", "Alternate"]
    run_id = facts.running_restore_session_id
    running = await xml(api, f"/api/restoreSessions/{run_id}?format=Entity")
    assert running.tag == f"{NS}RestoreSession" and running.get("VmDisplayName") == ds.restore_sessions[run_id].vm_name
    assert [c.tag.removeprefix(NS) for c in running] == ["Links", "JobType", "CreationTimeUTC", "State", "Result",
                                                         "Progress"]
    assert (running.findtext(f"{NS}State"), running.findtext(f"{NS}Result")) == ("Working", "None")
    body12 = (await v12.get(f"/api/restoreSessions/{run_id}?format=Entity")).json()
    assert body12["EndTimeUTC"] is None and body12["Result"] == "None"
    body13 = (await v13.get(f"/api/restoreSessions/{run_id}?format=Entity")).json()
    assert body13["endTimeUTC"] is None and body13["jobType"] == "RestoreVm" and body13["vmDisplayName"]
    # Every Related link resolves to the point restored from; one session has none (the Hyper-V doc sample).
    for sid in facts.restore_session_ids:
        root = await xml(api, f"/api/restoreSessions/{sid}?format=Entity")
        related = [(t, h) for rel, t, h in links(root) if rel == "Related"]
        if sid == facts.restore_without_point_id:
            assert related == [] and root.findtext(f"{NS}EndTimeUTC")
            continue
        ((type_, href),) = related
        assert type_ == "VmRestorePointReference" and href == f"{BASE}/vmRestorePoints/{ds.restore_sessions[sid].point_id}"
        point = await xml(api, (href or "").removeprefix("http://em.sim.test:9398"))
        assert point.get("Name", "").startswith(f"{root.get('VmDisplayName')}@")


async def test_restore_session_queries(api: httpx.AsyncClient, v13: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    flr = await query(api, "RestoreSession", "Type==FileLevelRestore")
    assert {uid(s) for s in flr} == {s.id for s in ds.restore_sessions.values() if s.job_type == "FileLevelRestore"}
    assert all(s["JobType"] == "FileLevelRestore" and s["Name"].startswith("FLR_[") for s in flr)
    assert [uid(s) for s in await query(v13, "RestoreSession", "State==Working")] == [facts.running_restore_session_id]
    assert [uid(s) for s in await query(api, "RestoreSession", "Result==Failed")] == [facts.failed_restore_session_id]
    since = (ds.anchor - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = await query(api, "RestoreSession", f'CreationTime>="{since}"', sortDesc="CreationTime")
    assert uid(recent[0]) == facts.running_restore_session_id and len(recent) == sum(
        1 for s in ds.restore_sessions.values() if s.creation_ticks >= parse_date_ticks(since))
    sql01 = await query(api, "RestoreSession", 'VmDisplayName=="sql01"')
    assert [uid(s) for s in sql01] == [s.id for s in ds.restore_sessions.values() if s.vm_name == "sql01"]
    # The JobType filter is called Type here.
    bad = await api.get("/api/query?type=RestoreSession&filter=JobType==RestoreVm", headers=JSON)
    assert bad.status_code == 400


# --- EM's own sessions and data freshness --------------------------------------------------------------------

async def test_system_session_shapes(api: httpx.AsyncClient, v13: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    collects = [s for s in ds.system_sessions.values() if s.session_type == "CollectJob"]
    # Every 15 minutes over the last 30 days (the slot at the anchor is still running: left out), plus a daily
    # catalog replication.
    assert len(collects) == 30 * 96 and len(ds.system_sessions) == 30 * 96 + 30
    root = await xml(api, "/api/systemSessions")
    assert root.tag == f"{NS}SystemSessions" and len(root) == len(ds.system_sessions)
    first = root[0]
    assert first.tag == f"{NS}Sessions" and first.get("Type") == "SystemSession"
    assert (await api.get("/api/systemSessions?format=Entity")).content == (await api.get("/api/systemSessions")).content
    sid = facts.newest_collect_session_id
    s = ds.system_sessions[sid]
    entity = await xml(api, f"/api/systemSessions/{sid}?format=Entity")
    assert entity.tag == f"{NS}SystemSession" and entity.get("Name") == s.name and " @" in s.name
    assert [c.tag.removeprefix(NS) for c in entity] == ["Links", "SessionType", "CreationTimeUTC", "EndTimeUTC",
                                                        "State", "Result"]
    assert entity.findtext(f"{NS}State") == "CompletedSuccessfully"
    assert [c.tag.removeprefix(NS) for c in entity.find(f"{NS}Result") or []] == ["Result", "Message", "IsCanceled"]
    assert links(entity) == [("Alternate", "BackupJobSessionReference", f"{BASE}/systemSessions/{sid}"),
                             ("Down", "SystemSessionEvents", f"{BASE}/systemSessions/{sid}/events")]
    ref = await xml(api, f"/api/systemSessions/{sid}")
    assert ref.tag == f"{NS}EntityRef" and ref.get("Type") == "SystemSessionReference"
    assert links(ref)[0] == ("Alternate", "BackupJobSession", f"{BASE}/systemSessions/{sid}?format=Entity")
    events = await xml(api, f"/api/systemSessions/{sid}/events")
    assert events.tag == f"{NS}SystemSessionEvents" and links(events)[0][:2] == ("Up", "BackupJobSession")
    items = events.findall(f"{NS}Events")
    assert [int(x.findtext(f"{NS}Order") or -1) for x in items] == list(range(len(items))) and len(items) == 8
    times = [x.findtext(f"{NS}CreationTimeUTC") or "" for x in items]
    assert not any(t.endswith("Z") for t in times) and times[0] + "Z" == s.creation_time_utc
    messages = [x.findtext(f"{NS}Message") for x in items]
    assert messages[1:4] == ["Preparing to collect data from vbr01.tech.local", "Retrieving data from vbr01.tech.local...",
                             "Data collection from vbr01.tech.local completed successfully."]
    assert messages[6] == COLLECT_FAILED.replace("{server}", "vbr02.tech.local")
    assert messages[-1] == "Data collection job finished."
    # v13 JSON: the collection under `sessions`, the result an object.
    body = (await v13.get("/api/systemSessions")).json()
    assert list(body) == ["sessions"] and len(body["sessions"]) == len(ds.system_sessions)
    one = (await v13.get(f"/api/systemSessions/{sid}?format=Entity")).json()
    assert one["result"] == {"result": "CompletedSuccessfully", "message": "", "isCanceled": False}
    ev = (await v13.get(f"/api/systemSessions/{sid}/events")).json()
    assert set(ev["events"][0]) == {"creationTimeUTC", "message", "order"}
    nine = (await api.get("/api/systemSessions", headers=JSON)).json()
    assert list(nine) == ["Sessions"]


async def last_good_collections(c: httpx.AsyncClient) -> dict[str, str]:
    """Reference §2.5's recipe over the API: walk collect runs newest first, read their events, keep per backup
    server the time of its newest "Data collection from <server> completed successfully." event."""
    sessions = [s for s in (await c.get("/api/systemSessions?format=Entity")).json()["Sessions"]
                if s["SessionType"] == "CollectJob"]
    sessions.sort(key=lambda s: s["CreationTimeUTC"], reverse=True)
    servers = {s["Name"] for s in (await c.get("/api/backupServers?format=Entity")).json()["BackupServers"]}
    found: dict[str, str] = {}
    for s in sessions:
        events = (await c.get(s["Href"].replace("?format=Entity", "/events"))).json()["Events"]
        for e in events:
            for server in servers - set(found):
                if e["Message"] == f"Data collection from {server} completed successfully.":
                    found[server] = e["CreationTimeUTC"] + "Z"
        if set(found) == servers:
            break
    return found


async def test_vbr02_has_been_stale_for_about_five_hours(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    api.headers.update(JSON)
    found = await last_good_collections(api)
    anchor = ticks_of(ds.anchor)
    age = {server: (anchor - parse_date_ticks(when)) / TICKS_PER_HOUR for server, when in found.items()}
    assert age["vbr01.tech.local"] < 0.5, age  # minutes old
    assert STALE_HOURS <= age["vbr02.tech.local"] < STALE_HOURS + 0.5, age
    assert found == facts.last_good_collection and facts.stale_server == "vbr02.tech.local"
    stale_since = parse_date_ticks(facts.stale_since)
    assert anchor - stale_since <= STALE_HOURS * TICKS_PER_HOUR < anchor - stale_since + 15 * TICKS_PER_MINUTE
    # Every collect since then failed for vbr02 only, and still says CompletedSuccessfully.
    for s in ds.system_sessions.values():
        if s.session_type != "CollectJob":
            continue
        texts = [m for _, m in s.events]
        failed = [m for m in texts if m.startswith("Failed to collect data from ")]
        if s.creation_ticks >= stale_since:
            assert failed == [COLLECT_FAILED.replace("{server}", "vbr02.tech.local")]
            assert "Preparing to collect data from vbr02.tech.local" in texts
        else:
            assert failed == [] and sum(m.endswith("completed successfully.") for m in texts) == 2
        assert s.state == s.result == "CompletedSuccessfully"


async def test_system_session_query(api: httpx.AsyncClient, v13: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    facts = sim_dataset.facts
    newest = await query(v13, "SystemSession", "SessionType==CollectJob", sortDesc="CreationTime", pageSize="1")
    assert [uid(s) for s in newest] == [facts.newest_collect_session_id]
    r = await api.get("/api/query?type=SystemSession&format=Entities&filter=SessionType==CatalogReplicationJob")
    root = ET.fromstring(r.content)
    items = root.findall(f"{NS}Entities/{NS}SystemSessions/{NS}Sessions")
    assert len(items) == 30 and all((x.get("Name") or "").startswith("Catalog Replication Job @") for x in items)
    body = (await api.get("/api/query?type=SystemSession&pageSize=2", headers=JSON)).json()
    assert [x["Type"] for x in body["Refs"]["Refs"]] == ["SystemSessionReference"] * 2


# --- Veeam Agent ---------------------------------------------------------------------------------------------

async def test_agents_service_and_discovered_computers(api: httpx.AsyncClient, v13: httpx.AsyncClient,
                                                       sim_dataset: Dataset) -> None:
    ds = sim_dataset
    root = await xml(api, "/api/agents")
    assert root.tag == f"{NS}Agents" and root.get("Type") == "AgentsService"
    assert [(t, h.removeprefix(f"{BASE}/agents/")) for _, t, h in links(root) if h] == [
        ("AgentBackupJobReferenceList", "jobs"), ("AgentRestorePointReferenceList", "agentRestorePoints"),
        ("BackupReferenceList", "backups"), ("RestorePointReferenceList", "restorePoints"),
        ("RestorePointReferenceList", "backupFiles"), ("BackupJobSessionReferenceList", "backupSessions"),
        ("AgentProtectionGroupReferenceList", "protectionGroups"),
        ("DiscoveredComputerReferenceList", "discoveredComputers")]
    for _, _, href in links(root):
        assert (await api.get((href or "").removeprefix("http://em.sim.test:9398"))).status_code == 200
    computers = (await v13.get("/api/agents/discoveredComputers?format=Entity")).json()["discoveredComputers"]
    assert len(computers) == len(ds.discovered_computers) == 4
    for c in computers:
        cid = uid(c)
        # The real quirk: the item's own href names a backup task session; the Alternate link is right.
        assert c["href"] == f"{BASE}/backupTaskSessions/{cid}?format=Entity"
        alternate = next(x for x in c["links"] if x["rel"] == "Alternate")
        assert alternate["href"] == f"{BASE}/agents/discoveredComputers/{cid}"
        assert [x["type"] for x in c["links"] if x["rel"] == "Up"] == ["BackupServerReference",
                                                                       "AgentProtectionGroupReference"]
        assert {"hostStatus", "agentStatus", "agentVersion", "osVersion", "ipAddress", "hierarchyObjRef"} <= set(c)
        assert c["hierarchyObjRef"] == f"urn:AgentForWindows:VeeamAgent:00000000-0000-0000-0000-000000000000.{cid}"
    offline = [c["name"] for c in computers if c["hostStatus"] == "Offline"]
    assert offline == [FAILING_COMPUTER]
    assert (await api.get(computers[0]["href"].removeprefix("http://em.sim.test:9398"))).status_code == 404
    linux = await query(api, "DiscoveredComputer", 'ProtectionGroupName=="Linux Servers"')
    assert [c["Name"] for c in linux] == ["lnx-web01.tech.local"] and "Ubuntu" in linux[0]["OsVersion"]
    groups = await xml(api, "/api/agents/protectionGroups")
    assert len(groups) == 2
    group = next(iter(ds.protection_groups.values()))
    members = await xml(api, f"/api/agents/protectionGroups/{group.id}/discoveredComputers")
    assert [x.get("Name") for x in members] == [ds.discovered_computers[c].name for c in group.computer_ids]
    assert [g["Name"] for g in await query(api, "AgentProtectionGroup", "BackupServerName==vbr01.tech.local")] == [
        "Windows Servers", "Linux Servers"]


async def test_agent_jobs(api: httpx.AsyncClient, v12: httpx.AsyncClient, v13: httpx.AsyncClient,
                          sim_dataset: Dataset) -> None:
    ds = sim_dataset
    jobs = {j.name: j for j in ds.agent_jobs.values()}
    assert {(j.platform, j.job_type) for j in jobs.values()} == {("AgentForWindows", "AgentBackup"),
                                                                ("AgentForLinux", "AgentBackup")}
    assert not set(jobs) & {j.name for j in ds.jobs.values()}  # not in /jobs
    win = jobs[WINDOWS_AGENT_JOB]
    root = await xml(api, f"/api/agents/jobs/{win.id}?format=Entity")
    assert root.tag == f"{NS}AgentBackupJob" and root.get("UID") == f"urn:veeam:AgentBackupJob:{win.id}"
    assert root.findtext(f"{NS}JobType") == "AgentBackup" and root.findtext(f"{NS}Platform") == "AgentForWindows"
    next_run = parse_date_ticks(root.findtext(f"{NS}NextRun") or "")
    assert 0 < next_run - ticks_of(ds.anchor) <= 24 * TICKS_PER_HOUR
    (include,) = root.findall(f"{NS}JobInfo/{NS}Includes/{NS}ObjectInAgentBackupJob")
    assert include.findtext(f"{NS}Name") == "Windows Servers" and include.find(f"{NS}HierarchyObjRef") is None
    includes = await xml(api, f"/api/agents/jobs/{win.id}/includes")
    assert includes.tag == f"{NS}ObjectsInAgentBackupJob" and len(includes) == 1
    lst = await xml(api, "/api/agents/jobs?format=Entity")
    assert lst.tag == f"{NS}AgentBackupJobs" and len(lst) == 2
    # Query: the Entities key is the singular AgentBackupJob (v12, v13 camelCase), in XML too.
    body = (await v12.get("/api/query?type=AgentBackupJob&format=Entities")).json()
    assert len(body["Entities"]) == 50 and len(body["Entities"]["AgentBackupJob"]["AgentBackupJobs"]) == 2
    assert body["Entities"]["Jobs"] is None
    body13 = (await v13.get("/api/query?type=AgentBackupJob&format=Entities&filter=Platform==AgentForLinux")).json()
    assert [j["name"] for j in body13["entities"]["agentBackupJob"]["agentBackupJobs"]] == ["Linux Agent Backup"]
    q = ET.fromstring((await api.get("/api/query?type=AgentBackupJob&format=Entities")).content)
    assert len(q.findall(f"{NS}Entities/{NS}AgentBackupJob/{NS}AgentBackupJob")) == 2


def test_agent_sessions_and_points(sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    assert facts.agent_job_ids == list(ds.agent_jobs) and facts.failing_computer == FAILING_COMPUTER
    anchor = ticks_of(ds.anchor)
    for job in ds.agent_jobs.values():
        sessions = [ds.job_sessions[s] for s in job.session_ids]
        parents = [s for s in sessions if s.job_type == "AgentBackup"]
        assert 29 <= len(parents) <= 31
        backup = ds.backups[job.backup_id]
        assert (backup.backup_type, backup.platform, backup.job_id) == ("ParentBackup", job.platform, job.id)
        for parent in parents:
            children = [s for s in sessions if s.parent_id == parent.id]
            assert [ds.agent_session_computers[c.id] for c in children] == \
                ds.protection_groups[ds.agent_includes[job.object_ids[0]].group_id].computer_ids
            assert all(c.job_type == "AgentManagement" and c.job_name == job.name == parent.job_name
                       and parent.creation_ticks < c.creation_ticks < (c.end_ticks or 0) <= (parent.end_ticks or 0)
                       for c in children)
            # Started one after the other: the newest child of a run is its last computer.
            assert [c.creation_ticks for c in children] == sorted(c.creation_ticks for c in children)
            assert parent.result == ("Failed" if any(c.result == "Failed" for c in children) else "Success")
            assert not parent.task_ids and (parent.end_ticks or anchor + 1) <= anchor
            for c in children:
                computer = ds.discovered_computers[ds.agent_session_computers[c.id]]
                assert c.name.startswith(f"{job.name} - {computer.name}@")
                points = [p for p in ds.agent_restore_points.values() if p.session_id == c.id]
                # A point exactly where the computer's session succeeded, in its RestorePoint and BackupFile.
                assert len(points) == (c.result == "Success")
                for p in points:
                    rp, bf = ds.restore_points[p.restore_point_id], ds.backup_files[p.backup_file_id]
                    assert rp.id in c.restore_point_ids and rp.backup_id == bf.backup_id == backup.id
                    assert p.computer_name == computer.name and p.name.startswith(f"{computer.name}@")
                    assert c.creation_ticks < p.creation_ticks < (c.end_ticks or 0)
    failed = ds.job_sessions[facts.agent_failed_session_id]
    assert (failed.result, failed.parent_id) == ("Failed", facts.agent_newest_run_session_id)
    assert ds.discovered_computers[ds.agent_session_computers[failed.id]].name == FAILING_COMPUTER
    run = ds.job_sessions[facts.agent_newest_run_session_id]
    assert run.result == "Failed" and run.job_name == WINDOWS_AGENT_JOB
    assert [s.id for s in ds.job_sessions.values() if s.job_type.startswith("Agent") and s.result == "Failed"] == [
        run.id, failed.id]
    # The failing computer's newest point is a day older than the others'.
    newest = {name: ds.agent_restore_points[pid] for name, pid in facts.newest_agent_point_by_computer.items()}
    assert set(newest) == {c.name for c in ds.discovered_computers.values()}
    for name, p in newest.items():
        age = (anchor - p.creation_ticks) / TICKS_PER_HOUR
        assert (24 < age < 48) if name == FAILING_COMPUTER else (age < 24), (name, age)


async def test_agent_restore_points_and_sessions_over_http(api: httpx.AsyncClient, v13: httpx.AsyncClient,
                                                           sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    for name, pid in facts.newest_agent_point_by_computer.items():
        newest = await query(v13, "AgentRestorePoint", f'ComputerName=="{name}"', sortDesc="CreationTime",
                             pageSize="1")
        assert [uid(p) for p in newest] == [pid]
        assert not {"hierarchyObjRef", "vmName", "vmDisplayName"} & set(newest[0])
        assert [x["rel"] for x in newest[0]["links"]] == ["Up", "Up", "Up", "Alternate", "Down", "Create"]
        every = await query(api, "AgentRestorePoint", f'ComputerName=="{name}"')
        assert len(every) == sum(1 for p in ds.agent_restore_points.values() if p.computer_name == name)
    point = await xml(api, f"/api/agents/agentRestorePoints/{next(iter(ds.agent_restore_points))}?format=Entity")
    assert point.get("VmDisplayName") is None and [c.tag.removeprefix(NS) for c in point] == [
        "Links", "CreationTimeUTC", "Algorithm", "PointType"]
    for _, _, href in links(point):
        path = (href or "").removeprefix("http://em.sim.test:9398")
        assert (await api.get(path)).status_code == (405 if "action=" in path else 200), path
    # The agent sessions are BackupJobSessions: /backupSessions, the BackupJobSession query, the agents' lists.
    run = facts.agent_newest_run_session_id
    types = {s["JobType"] for s in await query(api, "BackupJobSession", "JobType>=AgentBackup;JobType<=AgentManagement")}
    assert types == {"AgentBackup", "AgentManagement"}
    root = await xml(api, f"/api/backupSessions/{run}?format=Entity")
    assert ("Up", "AgentBackupJobReference", f"{BASE}/agents/jobs/{ds.job_sessions[run].job_id}") in links(root)
    children = await xml(api, f"/api/backupSessions/{run}/agentManagementSessions")
    assert facts.agent_failed_session_id in {x.get("UID", "").rsplit(":", 1)[1] for x in children}
    child = await xml(api, f"/api/backupSessions/{facts.agent_failed_session_id}?format=Entity")
    assert ("Up", "BackupJobSessionReference", f"{BASE}/backupSessions/{run}") in links(child)
    assert child.findtext(f"{NS}JobType") == "AgentManagement" and child.findtext(f"{NS}Result") == "Failed"
    assert not [r for r, _, _ in links(child) if r == "Related"]  # no point made
    ok = next(s for s in ds.job_sessions.values() if s.parent_id == run and s.result == "Success")
    related = [h for r, _, h in links(await xml(api, f"/api/backupSessions/{ok.id}?format=Entity")) if r == "Related"]
    assert related == [f"{BASE}/restorePoints/{i}" for i in ok.restore_point_ids] and related
    sessions = await xml(api, "/api/agents/backupSessions")
    assert len(sessions) == sum(len(j.session_ids) for j in ds.agent_jobs.values())
    backups = await xml(api, "/api/agents/backups")
    assert {x.get("Name") for x in backups} == {j.name for j in ds.agent_jobs.values()}
    files = await xml(api, "/api/agents/backupFiles")
    assert len(files) == len(ds.agent_restore_points) == len(await xml(api, "/api/agents/restorePoints"))


# --- MSP views ----------------------------------------------------------------------------------------------

async def test_vcloud_org_configs(api: httpx.AsyncClient, v13: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    ds = sim_dataset
    service = await xml(api, "/api/vCloud")
    assert service.get("Type") == "VCloudService"
    orgs = (await v13.get("/api/vCloud/orgConfigs?format=Entity")).json()["vCloudOrganizationConfigs"]
    assert [o["name"] for o in orgs] == ["ACME", "Globex", "Other organizations"]
    globex = orgs[1]
    # QuotaGb in GB, UsedQuotaMb in MB: 979 GB of 1,024 used.
    assert (globex["quotaGb"], globex["usedQuotaMb"]) == (1024, 1_002_701)
    assert 95 < 100 * globex["usedQuotaMb"] / 1024 / globex["quotaGb"] < 96
    assert globex["jobSettings"]["jobSchedulerType"] == "Partial" and globex["hostUid"].startswith(
        "urn:veeam:ManagedServer:")
    assert [o["Name"] for o in await query(api, "VCloudOrganizationConfig", "Disabled==true")] == ["Other organizations"]
    assert [o["Name"] for o in await query(api, "VCloudOrganizationConfig", "UsedQuota>1000000")] == [
        "ACME", "Globex"]
    assert [o["Name"] for o in await query(api, "VCloudOrganizationConfig", "QuotaGb<=1024;Disabled==false")] == [
        "Globex"]
    for wrong in ("IsDisabled==true", "UsedQuotaMb>0"):
        assert (await api.get("/api/query", params={"type": "VCloudOrganizationConfig", "filter": wrong})).status_code \
            == 400
    root = await xml(api, f"/api/vCloud/orgConfigs/{next(iter(ds.org_configs))}?format=Entity")
    assert [c.tag.removeprefix(NS) for c in root][1:] == [
        "BackupServerUid", "RepositoryUid", "RepositoryFriendlyName", "HostUid", "QuotaGb", "UsedQuotaMb", "IsDisabled",
        "JobSettings"]


async def test_cloud_tenants(api: httpx.AsyncClient, v13: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    ds, facts = sim_dataset, sim_dataset.facts
    vbr01 = next(s for s in ds.backup_servers.values() if s.name == "vbr01.tech.local")
    for spelling in ("BackupServerUId", "BackupServerUid"):
        tenants = await query(api, "CloudTenant", f"{spelling}=={vbr01.id}")
        assert len(tenants) == 3
    by_name = {t["Name"]: t for t in tenants}
    never = by_name["Fabrikam"]
    assert uid(never) == facts.never_active_tenant_id and never["LastActive"].startswith("1753-01-01")
    assert all(t["Password"] == "" for t in tenants)
    quota = by_name["ACME"]["Resources"]["CloudTenantResources"][0]["RepositoryQuota"]
    assert (quota["Quota"], quota["UsedQuota"]) == (2_097_152, 1_536_000) and "WanAcceleratorUid" not in quota
    assert by_name["ACME"]["ComputeResources"] == {"CloudTenantComputeResources": []}
    assert by_name["ACME"]["LeaseOptions"] == {"Enabled": False}
    assert set(by_name["TECH\\contoso-backup"]["LeaseOptions"]) == {"LeaseExpirationDate", "Enabled"}
    assert "VmCount" not in by_name["ACME"]
    assert [t["Name"] for t in await query(api, "CloudTenant", "Type==ActiveDirectory")] == ["TECH\\contoso-backup"]
    root = await xml(api, f"/api/cloud/tenants/{facts.never_active_tenant_id}?format=Entity")
    password = root.find(f"{NS}Password")
    assert password is not None and password.text is None and len(password) == 0  # <Password />
    res = root.find(f"{NS}Resources/{NS}CloudTenantResource")
    assert res is not None and res.get("Id") and res.findtext(f"{NS}RepositoryQuota/{NS}Quota") == "512000"
    body = (await v13.get(f"/api/cloud/tenants/{facts.never_active_tenant_id}?format=Entity")).json()
    assert body["resources"]["cloudTenantResources"][0]["repositoryQuota"]["wanAcceleratorUid"] is None
    assert body["lastResult"] == "None" and body["password"] == ""
    acme = next(t for t in (await v13.get("/api/cloud/tenants?format=Entity")).json()["cloudTenants"]
                if t["name"] == "ACME")
    assert acme["leaseOptions"] == {"leaseExpirationDate": None, "enabled": False}


# --- reports, transforms, command line ----------------------------------------------------------------------

async def test_replica_numbers_in_the_reports(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    stats = (await api.get("/api/reports/summary/job_statistics", headers=JSON)).json()
    assert stats["ScheduledReplicaJobs"] == 1
    since = ticks_of(sim_dataset.anchor) - 24 * TICKS_PER_HOUR
    window = [s for s in sim_dataset.replica_sessions.values() if s.creation_ticks >= since]
    longest = max(window, key=lambda s: (s.end_ticks or 0) - s.creation_ticks)
    assert stats["MaxReplicaJobDuration"] == ((longest.end_ticks or 0) - longest.creation_ticks) // 10_000_000
    assert stats["MaxDurationReplicaJobName"] == REPLICA_JOB


def test_renames_reach_the_new_entities(sim_dataset: Dataset) -> None:
    ds = build_dataset(anchor=sim_dataset.anchor, days=5)
    rename_vm(ds, "wsus01", "wsus01-new")
    assert all(t.vm_name == "wsus01-new" for t in ds.replica_task_sessions.values() if t.name.startswith("wsus01"))
    points = [p for p in ds.vm_replica_points.values() if p.source_vm == "wsus01-new"]
    assert points and all(p.vm_name == "wsus01-new_replica" and p.name.startswith("wsus01-new_replica@")
                          for p in points)
    assert "wsus01-new" in ds.jobs[ds.facts.replica_job_id].vm_names
    rename_job(ds, ds.facts.replica_job_id, "DR Replication")
    assert ds.replicas[ds.facts.replica_id].name == "DR Replication"
    assert all(s.name.startswith("DR Replication@") for s in ds.replica_sessions.values())
    agent = ds.facts.agent_job_ids[0]
    rename_job(ds, agent, "Windows Servers Backup")
    sessions = [ds.job_sessions[s] for s in ds.agent_jobs[agent].session_ids]
    assert all(s.job_name == "Windows Servers Backup" and s.name.startswith("Windows Servers Backup") for s in sessions)
    assert any(" - srv-" in s.name for s in sessions)
    rename_job(ds, copy_job_of(ds).id, "Offsite Copy")
    assert ds.backups[ds.facts.copy_backup_id].name == "Offsite Copy"


def test_small_estates_and_the_no_coverage_flag(sim_dataset: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # At the fixed anchor (a quarter-hour boundary): at the current minute, a collection a few minutes old may not
    # have finished yet, and the count below was one short at such minutes.
    one = build_dataset(anchor=sim_dataset.anchor, vm_count=1, days=3)
    # Only sql01: no copy job, no replicated VM, no copies; EM's sessions, agents and MSP views are there.
    assert not one.replicas and not one.linked_jobs and one.facts.copy_backup_id == ""
    assert len([s for s in one.system_sessions.values() if s.session_type == "CollectJob"]) == 3 * 96
    assert one.agent_jobs and one.cloud_tenants and one.org_configs and one.restore_sessions
    assert all(s.vm_name == "sql01" for s in one.restore_sessions.values())
    served: dict[str, Any] = {}
    monkeypatch.setattr(runner, "serve", lambda *a, **kw: served.update(kw))
    assert runner.main(["--no-coverage", "--days", "2"]) == 0
    assert not served["dataset"].system_sessions and not served["dataset"].replicas
    assert runner.main(["--days", "2"]) == 0
    assert served["dataset"].system_sessions


def test_the_coverage_does_not_grow_with_vm_count(sim_dataset: Dataset) -> None:
    """Bounded: nothing of the coverage phase grows with vm_count (300 VMs here; test_sim_perf checks 5,000)."""
    big = build_dataset(anchor=sim_dataset.anchor, vm_count=300)
    for table in ("replicas", "vm_replica_points", "replica_sessions", "replica_task_sessions", "restore_sessions",
                  "system_sessions", "agent_jobs", "discovered_computers", "agent_restore_points", "org_configs",
                  "cloud_tenants", "linked_jobs"):
        assert len(getattr(big, table)) == len(getattr(sim_dataset, table)), table
    assert big.facts.copied_vms == sim_dataset.facts.copied_vms


def test_the_reason_chars_knob_applies_to_replica_tasks(sim_dataset: Dataset) -> None:
    from veeam_em_mcp.simulator.registry import DEFAULT_REGISTRY
    from veeam_em_mcp.simulator.views.common import ViewContext

    ctx = ViewContext(BASE, sim_dataset, SimulatorConfig(reason_chars=500))
    task = sim_dataset.replica_task_sessions[sim_dataset.facts.replica_failed_task_id]
    res = DEFAULT_REGISTRY.row("ReplicaTaskSession").view(ctx, task, True)
    assert len(dict((k, v) for k, v in res.fields if isinstance(k, str))["Reason"]) == 500
