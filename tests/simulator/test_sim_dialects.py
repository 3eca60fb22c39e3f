"""The three JSON dialects (reference §3.2, §3.3, §10.4): 9.5 leaves absent values out, v12 writes them as null
(link Name/Type too), v13 is v12 in .NET camelCase, `GET /api/` and the logon session included, with enum and
link values unchanged. XML is the same whatever the dialect."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from veeam_em_mcp.simulator.dataset import Dataset
from veeam_em_mcp.simulator.dataset.scenarios import DISABLED_JOB
from veeam_em_mcp.simulator.render.json_writer import camel

pytestmark = pytest.mark.anyio

JSON = {"Accept": "application/json"}
POINT = "6c958531-3177-4055-b0ce-dc4ef1ce6433"

Factory = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def dialect_client(make_app: Callable[..., Starlette], client_factory: Callable[..., httpx.AsyncClient],
                   logon_fn: Callable[..., Any]) -> Factory:
    """`async with dialect_client("12") as c:` a logged-on client of a simulator speaking that JSON dialect."""

    @asynccontextmanager
    async def open_for(dialect: str) -> AsyncIterator[httpx.AsyncClient]:
        async with client_factory(make_app(json_dialect=dialect)) as c:
            await logon_fn(c)
            yield c

    return open_for


@pytest.fixture
async def v95(dialect_client: Factory) -> AsyncIterator[httpx.AsyncClient]:
    async with dialect_client("9.5") as c:
        yield c


def test_camel_follows_dotnet() -> None:
    assert [camel(k) for k in ("UID", "CreationTimeUTC", "NASJobs", "VAppRestorePoints", "VmUid", "IsRetry",
                               "EnterpiseRoles", "VCloudOrganizationConfigs", "PagingInfo", "SessionId")] == [
        "uid", "creationTimeUTC", "nasJobs", "vAppRestorePoints", "vmUid", "isRetry", "enterpiseRoles",
        "vCloudOrganizationConfigs", "pagingInfo", "sessionId"]


async def test_9_5_leaves_absent_values_out(v95: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    session = (await v95.get(f"/api/backupSessions/{next(iter(sim_dataset.job_sessions))}?format=Entity",
                             headers=JSON)).json()
    assert "FailureMessage" not in session
    stop = next(x for x in session["Links"] if x["Rel"] == "Stop")
    assert set(stop) == {"Rel", "Href"}
    jobs = (await v95.get("/api/jobs?format=Entity", headers=JSON)).json()["Jobs"]
    assert "NextRun" not in next(j for j in jobs if j["Name"] == DISABLED_JOB)
    frame = (await v95.get("/api/reports/summary/overview", headers=JSON)).json()
    assert "Links" not in frame and "Href" not in frame


async def test_v12_writes_nulls(dialect_client: Factory, sim_dataset: Dataset) -> None:
    async with dialect_client("12") as c:
        session = (await c.get(f"/api/backupSessions/{next(iter(sim_dataset.job_sessions))}?format=Entity",
                               headers=JSON)).json()
        assert list(session)[:2] == ["IsRetry", "JobUid"] and session["FailureMessage"] is None
        assert list(session)[-5:] == ["Name", "UID", "Links", "Href", "Type"]
        assert all(set(x) == {"Rel", "Href", "Name", "Type"} for x in session["Links"])
        stop = next(x for x in session["Links"] if x["Rel"] == "Stop")
        assert stop["Name"] is None and stop["Type"] is None
        jobs = (await c.get("/api/jobs?format=Entity", headers=JSON)).json()["Jobs"]
        assert next(j for j in jobs if j["Name"] == DISABLED_JOB)["NextRun"] is None
        point = (await c.get(f"/api/vmRestorePoints/{POINT}?format=Entity", headers=JSON)).json()
        assert point["Links"][0] == {"Rel": "Restore", "Href": point["Href"].replace("?format=Entity", "?action=restore"),
                                     "Name": None, "Type": None}
        xml_12 = (await c.get(f"/api/vmRestorePoints/{POINT}?format=Entity")).content
    async with dialect_client("9.5") as c:
        assert (await c.get(f"/api/vmRestorePoints/{POINT}?format=Entity")).content == xml_12


async def test_v13_is_camel_case_everywhere(dialect_client: Factory, sim_dataset: Dataset) -> None:
    async with dialect_client("13") as c:
        root = (await c.get("/api/", headers=JSON)).json()
        assert [v["name"] for v in root["supportedVersions"]["supportedVersions"]] == ["v1_5", "v1_6", "v1_7"]
        logon = await c.post("/api/sessionMngr/?v=latest", auth=("DEMO\\demo", "demo-password"), headers=JSON)
        body = logon.json()
        assert body["sessionId"] and body["userName"] == "DEMO\\demo"
        assert {x["rel"] for x in body["links"]} == {"Up", "Down", "Delete"}
        task = (await c.get(f"/api/backupTaskSessions/{next(iter(sim_dataset.task_sessions))}?format=Entity",
                            headers=JSON)).json()
        assert {"jobSessionUid", "creationTimeUTC", "endTimeUTC", "vmUid", "vmDisplayName", "totalSize"} <= set(task)
        assert task["state"] == "Completed" and task["type"] == "BackupTaskSession"
        assert task["links"][0]["type"] == "BackupServerReference"
        error = (await c.get("/api/jobs/x", headers=JSON)).json()
        assert error == {"firstChanceExceptionMessage": None, "message": " ID x is invalid. Type: Job",
                         "stackTrace": None, "status": None, "statusCode": 400}
        refs = (await c.get("/api/jobs", headers=JSON)).json()
        assert list(refs) == ["refs"] and list(refs["refs"][0]) == ["links", "uid", "name", "href", "type"]
