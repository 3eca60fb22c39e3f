"""Same display names for different objects (`build_dataset(twins=True)`): two VMs named sql01 on two vCenters,
two jobs named "SQL Backup" on two backup servers, two vcd-web01 in two vCloud organisations; their links all
served; the default estate unchanged by the feature; the rename transforms; the `--twins` / `--reason-chars`
command-line flags."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import deque
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from veeam_em_mcp.simulator import runner
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset, rename_job, rename_vm
from veeam_em_mcp.simulator.dataset.clock import TICKS_PER_HOUR, ticks_of
from veeam_em_mcp.simulator.dataset.scenarios import (
    RETRY_TIMES,
    SQL01_NEWEST_POINT_ID,
    SQL_JOB,
    TWIN_SQL01_FAILURES,
    TWIN_SQL_PEER_VM,
    TWIN_VCD_JOB,
    TWIN_VCENTER,
)

pytestmark = pytest.mark.anyio

JSON = {"Accept": "application/json"}
ORIGIN = "http://em.sim.test:9398"
SIM_ANCHOR = datetime(2025, 10, 21, 9, 0, tzinfo=UTC)  # conftest's anchor
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_VMWARE_REF = re.compile(r"^urn:VMware:Vm:([0-9a-f-]{36})\.vm-\d+$")
_VCD_REF = re.compile(r"^urn:vCloud:Vm:([0-9a-f-]{36})\.urn:vcloud:vm:[0-9a-f-]{36}$")


@pytest.fixture(scope="module")
def twins() -> Dataset:
    return build_dataset(anchor=SIM_ANCHOR, twins=True)


def client_for(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN)


async def logon(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/sessionMngr/?v=latest", auth=("DEMO\\demo", "demo-password"))
    assert r.status_code == 201, r.text


def _scalars(obj: Any) -> tuple[Any, ...]:
    """Every scalar field of a dataset object (ids, names, times, results, reasons, sizes), no id lists."""
    return tuple(getattr(obj, f.name) for f in dataclasses.fields(obj)
                 if not isinstance(getattr(obj, f.name), list | dict))


_TABLES = ("backup_servers", "repositories", "jobs", "objects_in_job", "backups", "restore_points", "backup_files",
           "vm_restore_points", "job_sessions", "task_sessions", "vms")


def digest(ds: Dataset, counts: dict[str, int] | None = None) -> str:
    """SHA-256 of all ids, names, times (every scalar field) in storage order, of the first `counts[table]` items."""
    h = hashlib.sha256()
    for table in _TABLES:
        items = list(getattr(ds, table).items())
        for key, obj in items[: (counts or {}).get(table, len(items))]:
            h.update(repr((key, _scalars(obj))).encode())
    return h.hexdigest()


# --- the default estate is unchanged -----------------------------------------------------------------------

def test_default_estate_is_unchanged(sim_dataset: Dataset, twins: Dataset) -> None:
    plain = build_dataset(anchor=SIM_ANCHOR, twins=False)
    assert digest(plain) == digest(build_dataset(anchor=SIM_ANCHOR)) == digest(sim_dataset)
    assert plain == sim_dataset
    # Ids of known facts (seed 7, SIM_ANCHOR): a change of the normal build would move them.
    facts = plain.facts
    assert plain.points_by_vm["sql01"][-1].id == SQL01_NEWEST_POINT_ID
    assert facts.running_session_id == "2b98c7c3-2d41-4c25-ab62-22c98bbfb075"
    assert facts.all_failed_session_id == "d639a7be-7c73-44c6-80f2-d511a5528c98"
    assert facts.last_two_failed_task_ids == ["7f311c6e-22db-493c-ac98-319af3e83653",
                                              "f17ee979-5286-477e-bf0f-a3bbfd8889db"]
    assert facts.retry_chain_session_ids[0] == "ce9bc28f-24ac-4c19-afdb-22f318b92793"
    assert (facts.twin_sql_job_id, facts.twin_sql01_ref, facts.twin_vcd_ref) == ("", "", "")
    # The twins only add: the normal part of the twin estate is the default estate, item for item.
    counts = {table: len(getattr(plain, table)) for table in _TABLES}
    assert digest(twins, counts) == digest(plain) and digest(twins) != digest(plain)
    for name in ("retry_chain_session_ids", "running_session_id", "all_failed_session_id",
                 "last_two_failed_task_ids"):
        assert getattr(twins.facts, name) == getattr(facts, name)
    assert build_dataset(anchor=SIM_ANCHOR, twins=True) == twins  # deterministic too


# --- the twins ---------------------------------------------------------------------------------------------

def test_two_sql01_on_two_vcenters(twins: Dataset) -> None:
    ds, facts = twins, twins.facts
    original, twin = ds.vms["sql01"], ds.vms[facts.twin_sql01_ref]
    assert original.name == twin.name == "sql01"
    assert original.hierarchy_obj_ref != twin.hierarchy_obj_ref == facts.twin_sql01_ref
    roots = {m.group(1) for m in (_VMWARE_REF.match(v.hierarchy_obj_ref) for v in (original, twin)) if m}
    assert len(roots) == 2 and facts.twin_vcenter_root in roots
    # No other VM lives in the twin vCenter except the twin job's second VM.
    assert {v.name for v in ds.vms.values() if facts.twin_vcenter_root in v.hierarchy_obj_ref} == {
        "sql01", TWIN_SQL_PEER_VM}
    assert ds.vm_names().count("sql01") == 1  # names, each once
    # Different newest-point ages: the original meets a 24 h RPO, the twin's newest is about 3 days old.
    anchor = ticks_of(ds.anchor)
    original_age = (anchor - ds.points_by_vm["sql01"][-1].creation_ticks) / TICKS_PER_HOUR
    twin_points = ds.points_by_vm[facts.twin_sql01_ref]
    twin_age = (anchor - twin_points[-1].creation_ticks) / TICKS_PER_HOUR
    assert original_age < 24 < 72 < twin_age < 80
    assert twin_points[-1].id == facts.twin_sql01_newest_point_id
    assert all(p.vm_name == "sql01" and p.hierarchy_obj_ref == twin.hierarchy_obj_ref for p in twin_points)
    assert len(twin_points) >= 25


def test_two_sql_jobs_on_two_servers(twins: Dataset) -> None:
    ds, facts = twins, twins.facts
    jobs = [j for j in ds.jobs.values() if j.name == SQL_JOB]
    assert len(jobs) == 2 and len({j.id for j in jobs}) == 2
    first, second = jobs
    assert second.id == facts.twin_sql_job_id
    servers = {j.id: ds.backup_servers[j.server_id].name for j in jobs}
    assert servers == {first.id: "vbr01.tech.local", second.id: "vbr02.tech.local"}
    assert second.id in ds.backup_servers[second.server_id].job_ids
    # Its own backup, in vbr02's local repository, named like the first one's.
    backup = ds.backups[second.backup_id]
    assert backup.id == facts.twin_sql_backup_id != first.backup_id
    assert backup.name == ds.backups[first.backup_id].name == SQL_JOB
    repo = ds.repositories[second.repository_id]
    assert (repo.name, repo.kind, repo.server_id) == ("Backup Repository 2", "WindowsLocal", second.server_id)
    assert backup.id in repo.backup_ids and backup.repository_id == repo.id
    # Includes: each VM by name, named like the first job's sql01 include.
    includes = [ds.objects_in_job[o] for o in second.object_ids]
    assert [(o.name, o.job_id) for o in includes] == [("sql01", second.id), (TWIN_SQL_PEER_VM, second.id)]
    assert includes[0].hierarchy_obj_ref == facts.twin_sql01_ref
    assert ds.vms[facts.twin_sql01_ref].object_in_job_id == includes[0].id
    # 30 days of daily runs, cross-linked like the other jobs.
    firsts = [ds.job_sessions[s] for s in second.session_ids if not ds.job_sessions[s].is_retry]
    assert 29 <= len(firsts) <= 31
    for sid in second.session_ids:
        s = ds.job_sessions[sid]
        assert (s.job_id, s.job_name, s.server_id) == (second.id, SQL_JOB, second.server_id)
        for tid in s.task_ids:
            t = ds.task_sessions[tid]
            assert (t.job_session_id, t.job_id, t.server_id) == (sid, second.id, second.server_id)
            if t.vm_point_id is not None:
                p = ds.vm_restore_points[t.vm_point_id]
                assert p.task_session_id == tid and p.hierarchy_obj_ref == t.vm_uid and p.job_id == second.id
                rp = ds.restore_points[p.restore_point_id]
                assert rp.job_session_id == sid and p.id in ds.backup_files[p.backup_file_id].vm_point_ids
                assert rp.id in s.restore_point_ids and rp.id in backup.restore_point_ids
            assert (t.result == "Failed") == (t.vm_point_id is None)


def test_twin_sql01_failed_its_last_three_runs(twins: Dataset) -> None:
    ds, facts = twins, twins.facts
    job = ds.jobs[facts.twin_sql_job_id]
    failed = [ds.task_sessions[t] for t in facts.twin_sql01_failed_task_ids]
    runs = TWIN_SQL01_FAILURES.runs
    assert runs == 3 and len(failed) == runs * (1 + RETRY_TIMES)  # first attempt + 2 retries per run
    sessions = [ds.job_sessions[t.job_session_id] for t in failed]
    assert [s.is_retry for s in sessions] == [False, True, True] * runs
    firsts = [ds.job_sessions[s] for s in job.session_ids if not ds.job_sessions[s].is_retry]
    assert [s.id for s in sessions if not s.is_retry] == [s.id for s in firsts[-runs:]]
    for t in failed:
        assert (t.vm_name, t.vm_uid, t.result, t.total_size) == ("sql01", facts.twin_sql01_ref, "Failed", 0)
        assert t.reason.startswith("Processing sql01 Error: Failed to open VDDK disk") and TWIN_VCENTER in t.reason
    # The original sql01 never failed.
    assert all(t.result != "Failed" for t in ds.task_sessions.values() if t.vm_uid == ds.vms["sql01"].hierarchy_obj_ref)


def test_vcloud_twin(twins: Dataset) -> None:
    ds, facts = twins, twins.facts
    original, twin = ds.vms["vcd-web01"], ds.vms[facts.twin_vcd_ref]
    assert original.name == twin.name == "vcd-web01" and twin.platform == "vCloud"
    a, b = _VCD_REF.match(original.hierarchy_obj_ref), _VCD_REF.match(twin.hierarchy_obj_ref)
    assert a and b and a.group(1) != b.group(1) == facts.twin_vcd_root
    job = ds.jobs[facts.twin_vcd_job_id]
    assert job.name == TWIN_VCD_JOB != ds.jobs[original.job_id].name
    assert ds.backup_servers[job.server_id].name == "vbr01.tech.local" and job.platform == "vCloud"
    tasks = [ds.task_sessions[t] for s in job.session_ids for t in ds.job_sessions[s].task_ids]
    assert tasks and {t.result for t in tasks} == {"Success"}
    points = ds.points_by_vm[facts.twin_vcd_ref]
    assert len(points) == len(tasks) and (ticks_of(ds.anchor) - points[-1].creation_ticks) < 24 * TICKS_PER_HOUR


async def test_twins_over_http(twins: Dataset) -> None:
    facts = twins.facts
    async with client_for(create_app(SimulatorConfig(), twins)) as c:
        await logon(c)
        r = await c.get("/api/query?type=Job&filter=Name==\"SQL Backup\"&format=Entities", headers=JSON)
        jobs = r.json()["Entities"]["Jobs"]["Jobs"]
        assert len(jobs) == 2 and len({j["UID"] for j in jobs}) == 2
        assert {j["Links"][0]["Name"] for j in jobs} == {"vbr01.tech.local", "vbr02.tech.local"}
        r = await c.get("/api/query?type=VmRestorePoint&filter=VmName==sql01&format=Entities&pageSize=1000"
                        "&sortDesc=CreationTime", headers=JSON)
        points = r.json()["Entities"]["VmRestorePoints"]["VmRestorePoints"]
        refs = [p["HierarchyObjRef"] for p in points]
        assert set(refs) == {twins.vms["sql01"].hierarchy_obj_ref, facts.twin_sql01_ref}
        assert points[0]["HierarchyObjRef"] != facts.twin_sql01_ref  # the newest is the original's
        twin_newest = next(p for p in points if p["HierarchyObjRef"] == facts.twin_sql01_ref)
        assert twin_newest["UID"].endswith(facts.twin_sql01_newest_point_id)
        r = await c.get(f"/api/query?type=VmRestorePoint&filter=HierarchyObjRef==\"{facts.twin_sql01_ref}\""
                        "&pageSize=1000", headers=JSON)
        assert len(r.json()["Refs"]["Refs"]) == len(twins.points_by_vm[facts.twin_sql01_ref])
        r = await c.get("/api/query?type=BackupTaskSession&filter=VmDisplayName==sql01;Result==Failed"
                        "&format=Entities&pageSize=1000", headers=JSON)
        failed = r.json()["Entities"]["BackupTaskSessions"]["BackupTaskSessions"]
        assert {t["UID"].rsplit(":", 1)[1] for t in failed} == set(facts.twin_sql01_failed_task_ids)
        assert {t["VmUid"] for t in failed} == {facts.twin_sql01_ref}
        r = await c.get("/api/reports/summary/vms_overview", headers=JSON)
        assert r.json()["ProtectedVms"] == 29 + 3  # the default 29, the two twins and the twin job's other VM


async def test_links_of_the_twins_are_served(twins: Dataset) -> None:
    """Every href in the representations of the twin objects answers (200, or 405 for actions); the walk
    follows links only into objects of the twin jobs, so it stays small."""
    ds, facts = twins, twins.facts
    own: set[str] = set()
    for job_id in (facts.twin_sql_job_id, facts.twin_vcd_job_id):
        job = ds.jobs[job_id]
        backup = ds.backups[job.backup_id]
        own |= {job.id, backup.id, *job.object_ids, *job.session_ids, *backup.restore_point_ids,
                *backup.backup_file_ids}
        for sid in job.session_ids:
            own |= set(ds.job_sessions[sid].task_ids)
        for rp_id in backup.restore_point_ids:
            own |= set(ds.restore_points[rp_id].vm_point_ids)
    starts = [f"/api/jobs/{facts.twin_sql_job_id}?format=Entity", f"/api/jobs/{facts.twin_vcd_job_id}",
              f"/api/backups/{facts.twin_sql_backup_id}?format=Entity",
              f"/api/vmRestorePoints/{facts.twin_sql01_newest_point_id}?format=Entity",
              *(f"/api/backupTaskSessions/{t}?format=Entity" for t in facts.twin_sql01_failed_task_ids)]
    async with client_for(create_app(SimulatorConfig(), ds)) as c:
        await logon(c)
        c.headers.update(JSON)
        queue = deque(f"{ORIGIN}{s}" for s in starts)
        seen = set(queue)
        gets = 0
        while queue:
            href = queue.popleft()
            r = await c.get(href)
            gets += 1
            if "action=" in href:
                assert r.status_code == 405, href
                continue
            assert r.status_code == 200, (href, r.status_code, r.text[:200])
            for link in _hrefs(r.json()):
                if link in seen:
                    continue
                seen.add(link)
                assert link.startswith(f"{ORIGIN}/api/"), link
                guids = set(_GUID.findall(link))
                if "action=" in link or (guids and guids <= own):
                    queue.append(link)
                else:
                    # Links out of the twin objects (their server, repository): served, not followed.
                    assert (await c.get(link)).status_code == 200, link
    assert gets > 200


def _hrefs(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        href = node.get("Href")
        if isinstance(href, str):
            out.append(href)
        for value in node.values():
            out += _hrefs(value)
    elif isinstance(node, list):
        for value in node:
            out += _hrefs(value)
    return out


# --- renames -----------------------------------------------------------------------------------------------

def test_rename_vm_picks_a_twin_by_ref() -> None:
    ds = build_dataset(anchor=SIM_ANCHOR, days=5, twins=True)
    ref = ds.facts.twin_sql01_ref
    original = ds.vms["sql01"]
    with pytest.raises(ValueError, match="pass ref"):
        rename_vm(ds, "sql01", "sql01-dr")
    with pytest.raises(KeyError):
        rename_vm(ds, "nobody", "x")
    keys = list(ds.vms)
    rename_vm(ds, "sql01", "sql01-dr", ref=ref)
    assert list(ds.vms) == [("sql01-dr" if k == ref else k) for k in keys]  # re-keyed in place, order kept
    assert list(ds.points_by_vm)[keys.index(ref)] == "sql01-dr"
    twin = ds.vms["sql01-dr"]
    assert twin.hierarchy_obj_ref == ref and ds.vms["sql01"] is original and original.name == "sql01"
    assert all(p.vm_name == "sql01-dr" and p.name.startswith("sql01-dr@") for p in ds.points_by_vm["sql01-dr"])
    assert all(p.vm_name == "sql01" for p in ds.points_by_vm["sql01"])
    tasks = [t for t in ds.task_sessions.values() if t.vm_uid == ref]
    assert tasks and all(t.vm_name == "sql01-dr" and t.name.startswith("sql01-dr@") for t in tasks)
    include = ds.objects_in_job[twin.object_in_job_id]
    assert (include.name, include.display_name, include.vm_names) == ("sql01-dr", "sql01-dr", ["sql01-dr"])
    assert ds.jobs[twin.job_id].vm_names == ["sql01-dr", TWIN_SQL_PEER_VM]
    assert ds.facts.twin_sql01_ref == ref  # refs and ids unchanged
    # Now the name is unique: no ref needed; renaming onto a taken name keys the VM by its ref.
    rename_vm(ds, "sql01", "sql01-dr")
    assert ds.vms[original.hierarchy_obj_ref] is original and "sql01" not in ds.vms
    assert [vm.name for vm in ds.vms.values()].count("sql01-dr") == 2


async def test_renamed_vm_over_http() -> None:
    ds = build_dataset(anchor=SIM_ANCHOR, days=5, twins=True)
    rename_vm(ds, "vcd-web01", "vcd-web01-orgb", ref=ds.facts.twin_vcd_ref)
    async with client_for(create_app(SimulatorConfig(), ds)) as c:
        await logon(c)
        r = await c.get("/api/query?type=VmRestorePoint&filter=VmName==vcd-web01-orgb&format=Entities"
                        "&pageSize=100", headers=JSON)
        points = r.json()["Entities"]["VmRestorePoints"]["VmRestorePoints"]
        assert points and {p["HierarchyObjRef"] for p in points} == {ds.facts.twin_vcd_ref}
        r = await c.get("/api/query?type=VmRestorePoint&filter=VmName==vcd-web01&format=Entities", headers=JSON)
        assert {p["HierarchyObjRef"] for p in r.json()["Entities"]["VmRestorePoints"]["VmRestorePoints"]} == {
            ds.vms["vcd-web01"].hierarchy_obj_ref}


async def test_rename_job() -> None:
    ds = build_dataset(anchor=SIM_ANCHOR, days=5, twins=True)
    job_id = ds.facts.twin_sql_job_id
    job = ds.jobs[job_id]
    rename_job(ds, job_id, "SQL Backup (DR)")
    assert job.name == "SQL Backup (DR)" and ds.backups[job.backup_id].name == "SQL Backup (DR)"
    for sid in job.session_ids:
        s = ds.job_sessions[sid]
        assert s.job_name == "SQL Backup (DR)" and s.name.startswith("SQL Backup (DR)@")
        assert all(ds.task_sessions[t].job_name == "SQL Backup (DR)" for t in s.task_ids)
    # A copy job: its workers' `<copy job>\<source>` names follow.
    copy = next(j for j in ds.jobs.values() if j.job_type == "ImmediateBackupCopy")
    rename_job(ds, copy.id, "Offsite Copy")
    workers = [ds.job_sessions[s] for s in copy.session_ids if ds.job_sessions[s].parent_id]
    assert workers and all(s.job_name == "Offsite Copy\\Web Backup" and s.name.startswith("Offsite Copy\\Web Backup@")
                           for s in workers)
    async with client_for(create_app(SimulatorConfig(), ds)) as c:
        await logon(c)
        r = await c.get('/api/query?type=Job&filter=Name=="SQL Backup"', headers=JSON)
        assert len(r.json()["Refs"]["Refs"]) == 1
        r = await c.get('/api/query?type=BackupJobSession&filter=JobName=="SQL Backup (DR)"&pageSize=500',
                        headers=JSON)
        assert len(r.json()["Refs"]["Refs"]) == len(job.session_ids)
        r = await c.get(f"/api/backups/{job.backup_id}", headers=JSON)
        assert r.json()["Name"] == "SQL Backup (DR)"


# --- command-line flags ------------------------------------------------------------------------------------

def test_twins_and_reason_chars_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}

    def fake_serve(host: str, port: int, config: SimulatorConfig | None = None, **kwargs: Any) -> None:
        served.update(kwargs, config=config)

    monkeypatch.setattr(runner, "serve", fake_serve)
    assert runner.main(["--twins", "--reason-chars", "700", "--days", "5"]) == 0
    assert served["dataset"].facts.twin_sql_job_id and served["config"].reason_chars == 700
    assert runner.main(["--days", "5"]) == 0
    assert served["dataset"].facts.twin_sql_job_id == "" and served["config"].reason_chars == 0
    with pytest.raises(SystemExit):
        runner.main(["--reason-chars", "-1"])


def test_help_mentions_the_new_flags_and_faults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        runner.main(["--help"])
    text = capsys.readouterr().out
    for word in ("--twins", "--reason-chars", "short-page", "pages-drift", "mutate", "deep"):
        assert word in text

