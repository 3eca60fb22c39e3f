"""The query types of reference §3.1 (BackupJobSession, BackupTaskSession, Job, ObjectInJob, Repository): every
filter field of the table (the non-entity ones too) against a naive evaluation of the dataset, case-insensitive
names, URN or bare GUID, enum comparison by index, storage order when unsorted (and the shuffle knob), the
ObjectInJob `Resources/sInObjectJob` shape, and the PagingInfo re-encoding per dialect."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from veeam_em_mcp.simulator.dataset import Dataset
from veeam_em_mcp.simulator.dataset.clock import ticks_of
from veeam_em_mcp.simulator.dataset.scenarios import FOLDER_JOB, FOLDER_ONLY_VM, RETRY_JOB
from veeam_em_mcp.simulator.query.request import parse_query_params
from veeam_em_mcp.simulator.query.service import QueryService

pytestmark = pytest.mark.anyio

NS = "{http://www.veeam.com/ent/v1.0}"
JSON = {"Accept": "application/json"}
RESULTS = ("Success", "Warning", "Failed")


def run(service: QueryService, **params: str) -> list[Any]:
    return service.run(parse_query_params([(k, v) for k, v in params.items()] + [("pageSize", "1000000")])).items


@pytest.fixture(scope="module")
def service(sim_dataset: Dataset) -> QueryService:
    return QueryService(sim_dataset)


def test_task_session_fields_including_the_non_entity_ones(service: QueryService, sim_dataset: Dataset) -> None:
    ds = sim_dataset
    tasks = list(ds.task_sessions.values())
    web = next(j for j in ds.jobs.values() if j.name == RETRY_JOB)
    session = ds.job_sessions[ds.facts.retry_chain_session_ids[0]]
    server = ds.backup_servers[web.server_id]
    midnight = (ds.anchor - timedelta(days=1)).replace(hour=0)
    cases: list[tuple[str, Callable[[Any], bool]]] = [
        (f'JobName=="{RETRY_JOB}"', lambda t: t.job_name == RETRY_JOB),
        (f"JobUid==urn:veeam:Job:{web.id}", lambda t: t.job_id == web.id),
        (f"jobuid=={web.id.upper()}", lambda t: t.job_id == web.id),
        ("VmDisplayName==web02", lambda t: t.vm_name == "web02"),
        (f'BackupServerName=="{server.name}"', lambda t: t.server_id == server.id),
        (f"BackupServerUid=={server.id}", lambda t: t.server_id == server.id),
        (f"JobSessionUID=={session.id}", lambda t: t.job_session_id == session.id),
        (f"JobSessionUid==urn:veeam:BackupJobSession:{session.id}", lambda t: t.job_session_id == session.id),
        ("Result==Failed", lambda t: t.result == "Failed"),
        # Enumerations compare by index: Success < Warning < Failed.
        ("Result>=Warning", lambda t: t.result in ("Warning", "Failed")),
        ("State!=Completed", lambda t: t.state != "Completed"),
        (f'CreationTime>="{ds.anchor:%Y-%m-%d}"', lambda t: t.creation_time_utc[:10] >= f"{ds.anchor:%Y-%m-%d}"),
        (f'creationtime>="{midnight:%Y-%m-%dT%H:%M:%SZ}";result==failed',
         lambda t: t.creation_ticks >= ticks_of(midnight) and t.result == "Failed"),
        ('Reason!=""', lambda t: t.reason != ""),
        ("TotalSize==0", lambda t: t.total_size == 0),
        (f"Name=={tasks[3].name}", lambda t: t.name == tasks[3].name),
        (f"UID=={tasks[5].id}", lambda t: t.id == tasks[5].id),
        ("EndTime<2025-10-01", lambda t: t.end_ticks is not None and t.end_time_utc < "2025-10-01"),
    ]
    for text, predicate in cases:
        found = run(service, type="BackupTaskSession", filter=text)
        expected = [t for t in tasks if predicate(t)]
        assert [t.id for t in found] == [t.id for t in expected], text
        assert expected, text


def test_job_session_fields(service: QueryService, sim_dataset: Dataset) -> None:
    sessions = list(sim_dataset.job_sessions.values())
    web = next(j for j in sim_dataset.jobs.values() if j.name == RETRY_JOB)
    cases: list[tuple[str, Callable[[Any], bool]]] = [
        ("IsRetry==true", lambda s: s.is_retry),
        ("State==Working", lambda s: s.state == "Working"),
        ("Result==Warning", lambda s: s.result == "Warning"),
        ("Result>Success", lambda s: s.result in ("Warning", "Failed")),
        ("JobType==ImmediateBackupCopyWorker", lambda s: s.job_type == "ImmediateBackupCopyWorker"),
        # By declaration index: the copy types and then the agent types (AgentBackup, AgentManagement).
        ("JobType>=ImmediateBackupCopy", lambda s: s.job_type.startswith(("ImmediateBackupCopy", "Agent"))),
        (f"JobUid=={web.id}", lambda s: s.job_id == web.id),
        ('jobname=="Periodic Backup Copy Job\\Web Backup"', lambda s: s.job_name.endswith("\\Web Backup")),
        (f'BackupServerName=="{sim_dataset.backup_servers[web.server_id].name}"', lambda s: s.server_id == web.server_id),
        ("EndTime>=2025-10-20", lambda s: s.end_ticks is not None and s.end_time_utc >= "2025-10-20"),
        ('Name=="' + sessions[7].name.replace('"', '""') + '"', lambda s: s.name == sessions[7].name),
    ]
    for text, predicate in cases:
        expected = [s.id for s in sessions if predicate(s)]
        assert [s.id for s in run(service, type="BackupJobSession", filter=text)] == expected, text
        assert expected, text


def test_job_object_in_job_and_repository_fields(service: QueryService, sim_dataset: Dataset) -> None:
    ds = sim_dataset
    jobs = list(ds.jobs.values())
    assert [j.id for j in run(service, type="Job", filter="JobType==ImmediateBackupCopy")] == [
        j.id for j in jobs if j.job_type == "ImmediateBackupCopy"]
    assert [j.id for j in run(service, type="Job", filter="ScheduleConfigured==false")] == [
        j.id for j in jobs if not j.schedule_configured]
    assert len(run(service, type="Job", filter=f'NextRun>="{ds.anchor:%Y-%m-%dT%H:%M:%SZ}"')) == sum(
        1 for j in jobs if j.next_run is not None)
    assert run(service, type="Job", filter='Description=="x"') == []
    folder_job = next(j for j in jobs if j.name == FOLDER_JOB)
    found = run(service, type="ObjectInJob", filter=f'JobName=="{FOLDER_JOB}"')
    assert [o.id for o in found] == folder_job.object_ids
    assert run(service, type="ObjectInJob", filter=f"Name=={FOLDER_ONLY_VM}") == []
    one = ds.objects_in_job[folder_job.object_ids[0]]
    # UID is the bare ObjectInJobId; the URN form works too.
    assert run(service, type="ObjectInJob", filter=f"UID=={one.id}") == [one]
    assert run(service, type="ObjectInJob", filter=f"uid==urn:veeam:ObjectInJob:{one.id}") == [one]
    assert len(run(service, type="ObjectInJob", filter=f"JobUid=={folder_job.id};BackupServerUid=="
                                                        f"{folder_job.server_id}")) == len(folder_job.object_ids)
    repos = list(ds.repositories.values())
    assert [r.id for r in run(service, type="Repository", filter="Capacity==-1")] == [
        r.id for r in repos if r.capacity == -1]
    assert [r.id for r in run(service, type="Repository", filter="FreeSpace<5000000000000;Capacity>0")] == [
        r.id for r in repos if 0 < r.capacity and r.free_space < 5_000_000_000_000]


def test_unsorted_results_come_in_storage_order(service: QueryService, sim_dataset: Dataset) -> None:
    found = run(service, type="BackupJobSession")
    assert [s.id for s in found] == list(sim_dataset.job_sessions)
    times = [s.creation_ticks for s in found]
    assert times != sorted(times) and times != sorted(times, reverse=True)
    shuffled = QueryService(sim_dataset, shuffle=True)
    mixed = run(shuffled, type="BackupJobSession")
    assert {s.id for s in mixed} == {s.id for s in found} and [s.id for s in mixed] != [s.id for s in found]
    assert [s.id for s in run(shuffled, type="BackupJobSession")] == [s.id for s in mixed]  # a fixed permutation
    # An equality filter keeps the shuffled order too; a sort still sorts.
    web = run(shuffled, type="BackupJobSession", filter=f'JobName=="{RETRY_JOB}"')
    assert [s.id for s in web] == [s.id for s in mixed if s.job_name == RETRY_JOB]
    newest = run(shuffled, type="BackupJobSession", sortDesc="CreationTime")
    assert [s.creation_ticks for s in newest] == sorted(times, reverse=True)


def test_repository_has_no_kind_field(service: QueryService) -> None:
    from veeam_em_mcp.simulator.fields import QueryError

    with pytest.raises(QueryError, match="Unknown field 'Kind'"):
        run(service, type="Repository", filter="Kind==DDBoost")


async def test_object_in_job_results_are_resources(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    folder_job = next(j for j in sim_dataset.jobs.values() if j.name == FOLDER_JOB)
    url = f'/api/query?type=ObjectInJob&filter=JobName=="{FOLDER_JOB}"'
    root = ET.fromstring((await api.get(url)).content)
    items = root.findall(f"{NS}Resources/{NS}sInObjectJob/{NS}ObjectInJob")
    assert [o.findtext(f"{NS}ObjectInJobId") for o in items] == folder_job.object_ids
    assert root.find(f"{NS}Refs") is None and root.find(f"{NS}Entities") is None
    # format=Entities changes nothing: there is no other form.
    assert ET.fromstring((await api.get(url + "&format=Entities")).content).find(f"{NS}Resources") is not None
    body = (await api.get(url, headers=JSON)).json()
    assert list(body) == ["Resources", "PagingInfo"]
    assert [o["ObjectInJobId"] for o in body["Resources"]["ObjectInJobs"]["ObjectInJobs"]] == folder_job.object_ids


async def test_v12_and_v13_query_result_shapes(make_app: Callable[..., Starlette],
                                               client_factory: Callable[..., httpx.AsyncClient],
                                               logon_fn: Callable[..., Any]) -> None:
    from veeam_em_mcp.simulator.render.json_writer import ENTITIES_KEYS

    assert len(ENTITIES_KEYS) == 50 and {"EnterpiseRoles", "EnterpiseAccounts", "AgentBackupJob", "NASJobs"} <= set(
        ENTITIES_KEYS)
    async with client_factory(make_app(json_dialect="12")) as c:
        await logon_fn(c)
        body = (await c.get("/api/query?type=BackupTaskSession&format=Entities&pageSize=2", headers=JSON)).json()
        assert list(body) == ["Refs", "Entities", "Resources", "Links", "PagingInfo"]
        assert body["Refs"] is body["Resources"] is body["Links"] is None
        assert list(body["Entities"]) == list(ENTITIES_KEYS)
        assert [k for k, v in body["Entities"].items() if v is not None] == ["BackupTaskSessions"]
        assert len(body["Entities"]["BackupTaskSessions"]["BackupTaskSessions"]) == 2
        assert all(set(lk) == {"Rel", "Href", "Name", "Type"} for lk in body["PagingInfo"]["Links"])
        refs = (await c.get("/api/query?type=Job", headers=JSON)).json()
        assert refs["Entities"] is None and refs["Refs"]["Refs"][0]["Type"] == "JobReference"
        objects = (await c.get("/api/query?type=ObjectInJob&pageSize=1", headers=JSON)).json()
        assert objects["Refs"] is None and objects["Entities"] is None and objects["Resources"]["ObjectInJobs"]
    async with client_factory(make_app(json_dialect="13")) as c:
        await logon_fn(c)
        body = (await c.get("/api/query?type=BackupJobSession&format=Entities&pageSize=3", headers=JSON)).json()
        assert list(body) == ["refs", "entities", "resources", "links", "pagingInfo"]
        entities = body["entities"]
        assert {"nasJobs", "vAppRestorePoints", "enterpiseRoles", "vCloudOrganizationConfigs"} <= set(entities)
        session = entities["backupJobSessions"]["backupJobSessions"][0]
        assert next(iter(session)) == "isRetry"
        assert {"uid", "jobUid", "creationTimeUTC", "endTimeUTC", "failureMessage"} <= set(session)
        assert session["failureMessage"] is None and session["state"] == "Stopped"
        assert {lk["rel"] for lk in session["links"]} >= {"Up", "Alternate", "Down", "Stop"}
        assert set(body["pagingInfo"]) == {"links", "pageNum", "pageSize", "pagesCount"}


@pytest.mark.parametrize(("dialect", "fragment"), [
    ("9.5", "filter=JobName%3D%3D%22Web%20Backup%22%3BResult%3E%3DWarning"),
    ("12", "filter=JobName%3d%3d%22Web+Backup%22%3bResult%3e%3dWarning"),
    ("13", "filter=JobName%3D%3D%22Web+Backup%22;Result%3E%3DWarning"),
])
async def test_paging_info_re_encoding(make_app: Callable[..., Starlette],
                                       client_factory: Callable[..., httpx.AsyncClient], logon_fn: Callable[..., Any],
                                       sim_dataset: Dataset, dialect: str, fragment: str) -> None:
    expected = [s.id for s in sim_dataset.job_sessions.values()
                if s.job_name == RETRY_JOB and s.result in ("Warning", "Failed")]
    async with client_factory(make_app(json_dialect=dialect)) as c:
        await logon_fn(c)
        params = {"filter": f'JobName=="{RETRY_JOB}";Result>=Warning', "type": "BackupJobSession", "pageSize": "1"}
        r = await c.get("/api/query", params=params)
        info = ET.fromstring(r.content).find(f"{NS}PagingInfo")
        assert info is not None
        links = {x.get("Rel"): x.get("Href") or "" for x in info.iter(f"{NS}Link")}
        # The client's parameter order is kept, then pageSize and page.
        assert fragment in links["First"] and urlsplit(links["First"]).query.startswith("filter=")
        assert links["Last"].endswith(f"&pageSize=1&page={len(expected)}")
        seen: list[str] = []
        href: str | None = links["First"]
        while href:
            page = ET.fromstring((await c.get(href)).content)
            seen += [e.get("UID", "").rsplit(":", 1)[1] for e in page.iter(f"{NS}Ref")]
            nxt = {x.get("Rel"): x.get("Href") for x in page.iter(f"{NS}Link") if x.get("Rel") in ("Next",)}
            href = nxt.get("Next")
        assert seen == expected
        assert dict(parse_qsl(urlsplit(links["First"]).query))["filter"] == params["filter"]
