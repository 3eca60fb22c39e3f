"""Jobs, includes, job and task sessions, repositories over HTTP: the link sets of reference §1, §2 and §4,
field order and spelling in XML and JSON, the per-type 400/404 errors, 405 for action links, and the knob
that decides how the running session's EndTimeUTC and Result look."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from veeam_em_mcp.simulator.dataset import Dataset
from veeam_em_mcp.simulator.dataset.clock import datetime_of
from veeam_em_mcp.simulator.dataset.scenarios import COPY_JOB, DISABLED_JOB, FOLDER_JOB
from veeam_em_mcp.simulator.fields import parse_date_ticks

pytestmark = pytest.mark.anyio

NS = "{http://www.veeam.com/ent/v1.0}"
BASE = "http://em.sim.test:9398/api"
JSON = {"Accept": "application/json"}


def links_of(el: ET.Element) -> list[tuple[str | None, str | None, str | None]]:
    links = el.find(f"{NS}Links")
    return [] if links is None else [(x.get("Rel"), x.get("Type"), x.get("Href")) for x in links]


def job_of(ds: Dataset, name: str) -> Any:
    return next(j for j in ds.jobs.values() if j.name == name)


async def test_jobs_collection_and_reference(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    refs = (await api.get("/api/jobs", headers=JSON)).json()["Refs"]
    assert [r["UID"] for r in refs] == [f"urn:veeam:Job:{j}" for j in sim_dataset.jobs]
    job = job_of(sim_dataset, FOLDER_JOB)
    ref = next(r for r in refs if r["Name"] == FOLDER_JOB)
    # A job reference has no includes link (reference §1.5): Up, Alternate, Down backupSessions only.
    assert [(x["Rel"], x.get("Type")) for x in ref["Links"]] == [
        ("Up", "BackupServerReference"), ("Alternate", "Job"), ("Down", "BackupJobSessionReferenceList")]
    entities = (await api.get("/api/jobs?format=Entity", headers=JSON)).json()
    assert list(entities) == ["Jobs"] and len(entities["Jobs"]) == len(sim_dataset.jobs)
    xml = ET.fromstring((await api.get(f"/api/jobs/{job.id}")).content)
    assert xml.tag == f"{NS}EntityRef" and xml.get("Type") == "JobReference"


async def test_backup_job_entity(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    job = job_of(sim_dataset, FOLDER_JOB)
    server = sim_dataset.backup_servers[job.server_id]
    href = f"{BASE}/jobs/{job.id}"
    root = ET.fromstring((await api.get(f"/api/jobs/{job.id}?format=Entity")).content)
    assert [rel for rel, _, _ in links_of(root)] == [
        "Up", "Alternate", "Edit", "Clone", "Down", "ToggleScheduleEnabled", "Down", "Create", "Start", "Stop",
        "Retry"]
    assert ("Down", "ObjectInJobList", f"{href}/includes") in links_of(root)
    assert ("Down", "BackupJobSessionReferenceList", f"{href}/backupSessions") in links_of(root)
    assert [c.tag.removeprefix(NS) for c in root][1:] == [
        "JobType", "Platform", "Description", "ScheduleConfigured", "ScheduleEnabled", "NextRun",
        "JobScheduleOptions", "JobInfo"]
    assert root.findtext(f"{NS}NextRun") == job.next_run and job.next_run.endswith("Z")
    daily = root.find(f"{NS}JobScheduleOptions/{NS}Standart/{NS}OptionsDaily")
    assert daily is not None and daily.get("Enabled") == "true"
    assert daily.findtext(f"{NS}Kind") == "Everyday" and len(daily.findall(f"{NS}Days")) == 7
    # XML Time: the server's local time with its offset; it and NextRun name the same time of day.
    time_text = daily.findtext(f"{NS}Time") or ""
    m = re.match(r"^(\d\d):(\d\d):00\.0000000\+(\d\d):00$", time_text)
    assert m is not None and int(m.group(3)) == server.utc_offset_hours
    assert daily.findtext(f"{NS}TimeOffsetUtc") == str(server.utc_offset_hours)
    next_run = datetime_of(parse_date_ticks(job.next_run))
    assert (int(m.group(1)) - server.utc_offset_hours) % 24 == next_run.hour and int(m.group(2)) == next_run.minute
    retry = root.find(f"{NS}JobScheduleOptions/{NS}Standart/{NS}RetryOptions")
    assert retry is not None and retry.findtext(f"{NS}RetrySpecified") == "true"
    includes = root.findall(f"{NS}JobInfo/{NS}BackupJobInfo/{NS}Includes/{NS}ObjectInJob")
    assert [o.findtext(f"{NS}ObjectInJobId") for o in includes] == job.object_ids
    assert all(o.get("UID") is None and o.get("Name") is None for o in includes)

    body = (await api.get(f"/api/jobs/{job.id}?format=Entity", headers=JSON)).json()
    standart = body["JobScheduleOptions"]["Standart"]
    assert standart["RetryOptions"]["RetrySpecified1"] is True and "RetrySpecified" not in standart["RetryOptions"]
    daily_json = standart["OptionsDaily"]
    assert list(daily_json) == ["Kind", "Days", "Time", "TimeOffsetUtc", "Enabled"]
    assert daily_json["Days"] == ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    # JSON Time: a datetime on the job's creation date, time of day in UTC (9.5 U4 capture).
    assert daily_json["Time"].endswith(f"T{next_run:%H:%M}:00Z")
    embedded = body["JobInfo"]["BackupJobInfo"]["Includes"]["ObjectInJobs"]
    assert [o["ObjectInJobId"] for o in embedded] == job.object_ids
    assert all("Links" not in o and o["Type"] == "ObjectInJob" for o in embedded)
    assert embedded[0]["GuestProcessingOptions"]["WindowsCredentialsId"] == ""


async def test_disabled_and_copy_jobs(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    jobs = {j["Name"]: j for j in (await api.get("/api/jobs?format=Entity", headers=JSON)).json()["Jobs"]}
    disabled = jobs[DISABLED_JOB]
    assert disabled["ScheduleEnabled"] is False and "NextRun" not in disabled
    copy = jobs[COPY_JOB]
    assert (copy["JobType"], copy["Platform"], copy["ScheduleConfigured"]) == (
        "ImmediateBackupCopy", "CustomPlatform", False)
    # The immediate-copy doc samples have no Edit/Start/Stop/Retry/includes links; Sync and the linked lists instead.
    assert [(x["Rel"], x.get("Type")) for x in copy["Links"]] == [
        ("Up", "BackupServerReference"), ("Alternate", "JobReference"), ("Clone", None),
        ("ToggleScheduleEnabled", None), ("Down", "BackupJobSessionReferenceList"), ("Sync", None),
        ("Down", "LinkedJobObjectList"), ("Create", "LinkedJobObject"), ("Down", "LinkedBackupRepositoryObjectList"),
        ("Create", "LinkedBackupRepositoryObject")]


async def test_includes(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    job = job_of(sim_dataset, FOLDER_JOB)
    r = await api.get(f"/api/jobs/{job.id}/includes")
    root = ET.fromstring(r.content)
    assert root.tag == f"{NS}ObjectsInJob"
    items = list(root)
    assert [o.findtext(f"{NS}ObjectInJobId") for o in items] == job.object_ids
    first = sim_dataset.objects_in_job[job.object_ids[0]]
    href = f"{BASE}/jobs/{job.id}/includes/{first.id}"
    assert items[0].get("Href") == href and items[0].get("Type") == "ObjectInJob"
    assert links_of(items[0]) == [("Delete", "ObjectInJob", href), ("Up", "Job", f"{BASE}/jobs/{job.id}?format=Entity")]
    assert [c.tag.removeprefix(NS) for c in items[0]][1:] == [
        "ObjectInJobId", "HierarchyObjRef", "Name", "DisplayName", "Order", "GuestProcessingOptions"]
    # format=Entity changes nothing: an ObjectInJob has no reference form.
    assert (await api.get(f"/api/jobs/{job.id}/includes?format=Entity")).content == r.content
    body = (await api.get(f"/api/jobs/{job.id}/includes", headers=JSON)).json()
    assert list(body) == ["ObjectInJobs"] and len(body["ObjectInJobs"]) == len(job.object_ids)
    one = (await api.get(f"/api/jobs/{job.id}/includes/{first.id}", headers=JSON)).json()
    assert one["HierarchyObjRef"] == first.hierarchy_obj_ref and one["Order"] == 0
    other = job_of(sim_dataset, "SQL Backup").object_ids[0]
    missing = await api.get(f"/api/jobs/{job.id}/includes/{other}", headers=JSON)
    assert missing.status_code == 404 and missing.json()["Message"] == f"Cannot find object in job [{other}]"
    assert (await api.get(f"/api/jobs/{job.id}/includes/{first.id}/more")).status_code == 404
    assert (await api.get(f"/api/jobs/{job.id}/backupSessions/{first.id}")).status_code == 404
    bad = await api.get(f"/api/jobs/{job.id}/includes/x1", headers=JSON)
    assert bad.status_code == 400 and bad.json()["Message"] == " ID x1 is invalid. Type: ObjectInJob"


async def test_job_backup_sessions(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    job = job_of(sim_dataset, "Web Backup")
    refs = (await api.get(f"/api/jobs/{job.id}/backupSessions", headers=JSON)).json()["Refs"]
    assert [r["UID"].rsplit(":", 1)[1] for r in refs] == job.session_ids
    assert all(r["Type"] == "BackupJobSessionReference" for r in refs)
    entities = (await api.get(f"/api/jobs/{job.id}/backupSessions?format=Entity", headers=JSON)).json()
    # A bare list, not double-wrapped (SURFER-T capture).
    assert list(entities) == ["BackupJobSessions"]
    assert {s["JobUid"] for s in entities["BackupJobSessions"]} == {f"urn:veeam:Job:{job.id}"}


async def test_backup_session_entity_and_reference(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    s = sim_dataset.job_sessions[sim_dataset.facts.retry_chain_session_ids[0]]
    href = f"{BASE}/backupSessions/{s.id}"
    root = ET.fromstring((await api.get(f"/api/backupSessions/{s.id}?format=Entity")).content)
    assert root.get("Name") == s.name and root.get("UID") == f"urn:veeam:BackupJobSession:{s.id}"
    expected = [
        ("Up", "BackupServerReference", f"{BASE}/backupServers/{s.server_id}"),
        ("Up", "JobReference", f"{BASE}/jobs/{s.job_id}"),
        ("Alternate", "BackupJobSessionReference", href),
        ("Down", "BackupTaskSessionReferenceList", f"{href}/taskSessions"),
        ("Stop", None, f"{href}?action=stop"),
        *[("Related", "RestorePointReference", f"{BASE}/restorePoints/{rp}") for rp in s.restore_point_ids],
    ]
    assert links_of(root) == expected and s.restore_point_ids
    fields = [(c.tag.removeprefix(NS), c.text) for c in root][1:]
    assert fields == [
        ("JobUid", f"urn:veeam:Job:{s.job_id}"), ("JobName", s.job_name), ("JobType", "Backup"),
        ("CreationTimeUTC", s.creation_time_utc), ("EndTimeUTC", s.end_time_utc), ("State", "Stopped"),
        ("Result", "Failed"), ("Progress", "100"), ("IsRetry", "false")]
    body = (await api.get(f"/api/backupSessions/{s.id}?format=Entity", headers=JSON)).json()
    assert next(iter(body)) == "IsRetry" and "FailureMessage" not in body
    ref = ET.fromstring((await api.get(f"/api/backupSessions/{s.id}")).content)
    assert ref.tag == f"{NS}EntityRef" and ref.get("Type") == "BackupJobSessionReference"
    assert ("Alternate", "BackupJobSession", f"{href}?format=Entity") in links_of(ref)


async def test_task_sessions(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    s = sim_dataset.job_sessions[sim_dataset.facts.retry_chain_session_ids[0]]
    refs = ET.fromstring((await api.get(f"/api/backupSessions/{s.id}/taskSessions")).content)
    assert refs.tag == f"{NS}EntityReferences"
    assert [r.get("UID") for r in refs] == [f"urn:veeam:BackupTaskSession:{t}" for t in s.task_ids]
    assert all(r.get("Type") == "BackupTaskSessionReference" for r in refs)
    for tid in s.task_ids:
        t = sim_dataset.task_sessions[tid]
        root = ET.fromstring((await api.get(f"/api/backupTaskSessions/{tid}?format=Entity")).content)
        assert root.get("VmDisplayName") == t.vm_name and root.get("Name") == t.name
        related = [lk for lk in links_of(root) if lk[0] == "Related"]
        if t.vm_point_id is None:
            assert related == [] and t.result == "Failed" and len(root.findtext(f"{NS}Reason") or "") > 100
            assert root.findtext(f"{NS}TotalSize") == "0"
        else:
            assert related == [("Related", "VmRestorePoint", f"{BASE}/vmRestorePoints/{t.vm_point_id}?format=Entity")]
            reason = root.find(f"{NS}Reason")
            assert reason is not None and (reason.text or "") == t.reason
        assert [c.tag.removeprefix(NS) for c in root][1:] == [
            "JobSessionUid", "CreationTimeUTC", "EndTimeUTC", "State", "Result", "Reason", "TotalSize", "VmUid"]
        assert root.findtext(f"{NS}VmUid") == sim_dataset.vms[t.vm_name].hierarchy_obj_ref
        assert ("Up", "BackupJobSessionReference", f"{BASE}/backupSessions/{s.id}") in links_of(root)
    ok = next(sim_dataset.task_sessions[t] for t in s.task_ids if sim_dataset.task_sessions[t].result == "Success")
    text = (await api.get(f"/api/backupTaskSessions/{ok.id}?format=Entity")).text
    assert "<Reason />" in text
    body = (await api.get(f"/api/backupTaskSessions/{ok.id}?format=Entity", headers=JSON)).json()
    assert body["Reason"] == "" and body["VmDisplayName"] == ok.vm_name and body["TotalSize"] == ok.total_size
    everything = (await api.get("/api/backupTaskSessions", headers=JSON)).json()["Refs"]
    assert len(everything) == len(sim_dataset.task_sessions)


@pytest.mark.parametrize(("mode", "end", "result"), [
    ("absent", None, None), ("null", "nil", "nil"), ("min", "0001-01-01T00:00:00Z", "None")])
async def test_running_session_knob(make_app: Callable[..., Starlette], client_factory: Callable[..., httpx.AsyncClient],
                                    logon_fn: Callable[..., Any], sim_dataset: Dataset, mode: str, end: str | None,
                                    result: str | None) -> None:
    running = sim_dataset.job_sessions[sim_dataset.facts.running_session_id]
    tasks = {sim_dataset.task_sessions[t].state: sim_dataset.task_sessions[t] for t in running.task_ids}
    async with client_factory(make_app(running_end_time=mode)) as c:
        await logon_fn(c)
        for url, expected_result in ((f"/api/backupSessions/{running.id}?format=Entity", result),
                                     (f"/api/backupTaskSessions/{tasks['Pending'].id}?format=Entity", result),
                                     (f"/api/backupTaskSessions/{tasks['InProgress'].id}?format=Entity", "Success")):
            root = ET.fromstring((await c.get(url)).content)
            body = (await c.get(url, headers=JSON)).json()
            for name, want in (("EndTimeUTC", end), ("Result", expected_result)):
                el = root.find(f"{NS}{name}")
                if want is None:
                    assert el is None and name not in body, (url, name)
                elif want == "nil":
                    assert el is not None and el.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
                    assert body[name] is None
                else:
                    assert el is not None and el.text == want and body[name] == want
        state = ET.fromstring((await c.get(f"/api/backupSessions/{running.id}?format=Entity")).content)
        assert state.findtext(f"{NS}State") == "Working"
        done = ET.fromstring((await c.get(f"/api/backupTaskSessions/{tasks['Completed'].id}?format=Entity")).content)
        assert done.findtext(f"{NS}EndTimeUTC") == tasks["Completed"].end_time_utc


async def test_repositories(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    repos = (await api.get("/api/repositories?format=Entity", headers=JSON)).json()["Repositories"]
    by_name = {r["Name"]: r for r in repos}
    assert len(repos) == len(sim_dataset.repositories)
    assert (by_name["Amazon S3 Copy"]["Capacity"], by_name["Amazon S3 Copy"]["FreeSpace"]) == (-1, -1)
    assert by_name["DD Boost Repository"]["Kind"] == "DDBoost"
    assert by_name["SOBR Extent 1"]["Kind"] == "WindowsLocal" and by_name["Scale-out Backup Repository"]["Kind"] == \
        "Extendable"
    first = repos[0]
    assert list(first)[:3] == ["Capacity", "FreeSpace", "Kind"]
    href = first["Href"].removesuffix("?format=Entity")
    assert [(x["Rel"], x.get("Type"), x["Href"]) for x in first["Links"]][2:] == [
        ("Down", "BackupReferenceList", f"{href}/backups"), ("Down", "ReplicaReferenceList", f"{href}/replicas")]
    for repo in sim_dataset.repositories.values():
        backups = (await api.get(f"/api/repositories/{repo.id}/backups", headers=JSON)).json()["Refs"]
        assert [b["UID"].rsplit(":", 1)[1] for b in backups] == repo.backup_ids
        replicas = ET.fromstring((await api.get(f"/api/repositories/{repo.id}/replicas")).content)
        # The replication job keeps its replica metadata in vbr02's Backup Repository 2 (coverage phase).
        assert replicas.tag == f"{NS}EntityReferences" and [x.get("UID", "").rsplit(":", 1)[1] for x in replicas] == [
            r.id for r in sim_dataset.replicas.values() if r.repository_id == repo.id]


@pytest.mark.parametrize(("path", "type_name", "label"), [
    ("jobs", "Job", "job"), ("backupSessions", "BackupJobSession", "backup job session"),
    ("backupTaskSessions", "BackupTaskSession", "backup task session"), ("repositories", "Repository", "repository"),
    ("vmRestorePoints", "VmRestorePoint", "VM restore point"), ("backupServers", "BackupServer", "backup server"),
])
async def test_per_type_errors(api: httpx.AsyncClient, path: str, type_name: str, label: str) -> None:
    bad = await api.get(f"/api/{path}/99999/", headers=JSON)
    assert bad.status_code == 400
    # The leading space is real (SURFER-T capture).
    assert bad.json() == {"FirstChanceExceptionMessage": None, "Message": f" ID 99999 is invalid. Type: {type_name}",
                          "StackTrace": None, "Status": None, "StatusCode": 400}
    guid = "9be68a1c-7893-4c92-93e9-045be7533759"
    missing = await api.get(f"/api/{path}/{guid}", headers=JSON)
    assert missing.status_code == 404 and missing.json()["Message"] == f"Cannot find {label} [{guid}]"
    xml = ET.fromstring((await api.get(f"/api/{path}/{guid}")).content)
    assert xml.get("Message") == f"Cannot find {label} [{guid}]" and xml.find(f"{NS}FirstChanceExceptionMessage") is None


async def test_action_links_answer_get_with_405(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    job = job_of(sim_dataset, "SQL Backup")
    session = next(iter(sim_dataset.job_sessions))
    server = next(iter(sim_dataset.backup_servers))
    for url in (f"/api/jobs/{job.id}?action=start", f"/api/jobs/{job.id}?action=toggleScheduleEnabled",
                f"/api/backupSessions/{session}?action=stop", f"/api/backupServers/{server}?action=collect",
                f"/api/vmRestorePoints/{next(iter(sim_dataset.vm_restore_points))}?action=restore",
                "/api/backupServers?action=create"):
        r = await api.get(url, headers=JSON)
        assert r.status_code == 405 and r.json()["StatusCode"] == 405, url
    # An action on something that does not exist is still a 404.
    missing = await api.get("/api/jobs/9be68a1c-7893-4c92-93e9-045be7533759?action=start")
    assert missing.status_code == 404
