"""Faults that make multi-page reads unreliable (short-page, pages-drift, mutate, deep) and the `reason_chars`
knob, each observed through real HTTP requests to the app (httpx.ASGITransport)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.simulator.dataset.scenarios import REASON_QUIESCE
from veeam_em_mcp.simulator.faults.bodies import deep_body
from veeam_em_mcp.simulator.faults.spec import Fault, FaultSpecError, parse_fault
from veeam_em_mcp.simulator.state import SimulatorState
from veeam_em_mcp.simulator.views.sessions import pad_reason

pytestmark = pytest.mark.anyio

ORIGIN = "http://em.sim.test:9398"
NS = "{http://www.veeam.com/ent/v1.0}"
JSON = {"Accept": "application/json"}
ANCHOR = datetime(2025, 10, 21, 9, 0, tzinfo=UTC)
POINTS = "/api/query?type=VmRestorePoint&sortAsc=CreationTime&format=Entities"


@asynccontextmanager
async def session(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client logged on to `app` (the session cookie carries the token)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        r = await c.post("/api/sessionMngr/?v=latest", auth=("DEMO\\demo", "demo-password"))
        assert r.status_code == 201
        yield c


@pytest.fixture
async def shared(sim_dataset: Dataset) -> AsyncIterator[tuple[httpx.AsyncClient, SimulatorState]]:
    """A client of the shared (session-wide) estate, for faults that leave the data alone."""
    app = create_app(SimulatorConfig(), sim_dataset)
    async with session(app) as c:
        yield c, app.state.sim


@pytest.fixture
async def own() -> AsyncIterator[tuple[httpx.AsyncClient, SimulatorState]]:
    """A client of an estate of its own (5 days), for faults that change the data."""
    app = create_app(SimulatorConfig(), build_dataset(anchor=ANCHOR, days=5))
    async with session(app) as c:
        yield c, app.state.sim


def points_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = body["Entities"]["VmRestorePoints"]["VmRestorePoints"]
    return items


def paging(body: dict[str, Any]) -> tuple[int, int, int, dict[str, str]]:
    info = body["PagingInfo"]
    return (info["PageNum"], info["PageSize"], info["PagesCount"],
            {link["Rel"]: link["Href"] for link in info["Links"]})


def uid(item: dict[str, Any]) -> str:
    return str(item["UID"]).rsplit(":", 1)[1]


# --- spec grammar ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "fault"), [
    ("short-page", Fault(kind="short-page", items=300, method="GET", path="/api/query")),
    ("short-page=7:2", Fault(kind="short-page", items=7, count=2, method="GET", path="/api/query")),
    ("pages-drift=-2,type=BackupTaskSession",
     Fault(kind="pages-drift", drift=-2, type_name="BackupTaskSession", method="GET", path="/api/query")),
    ("pages-drift", Fault(kind="pages-drift", drift=1, method="GET", path="/api/query")),
    ("mutate=remove,type=VmRestorePoint,after=1",
     Fault(kind="mutate", variant="remove", type_name="VmRestorePoint", after=1, count=1, method="GET",
           path="/api/query")),
    ("mutate", Fault(kind="mutate", variant="insert", count=1, method="GET", path="/api/query")),
    ("mutate=append", Fault(kind="mutate", variant="append", count=1, method="GET", path="/api/query")),
    ("deep=500", Fault(kind="deep", depth=500, method="GET", path="/api/query")),
])
def test_specs_parse(spec: str, fault: Fault) -> None:
    assert parse_fault(spec) == fault


@pytest.mark.parametrize("spec", ["short-page=-1", "short-page=x", "deep=0", "mutate=twist", "mutate,type=Job",
                                  "slow-logon=1,type=Job"])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_fault(spec)


# --- short-page ----------------------------------------------------------------------------------------------

async def test_short_page(shared: tuple[httpx.AsyncClient, SimulatorState]) -> None:
    c, state = shared
    clean = (await c.get(f"{POINTS}&pageSize=50&page=2", headers=JSON)).json()
    pages = paging(clean)[2]
    (fault,) = state.faults.set("short-page=3")
    short = (await c.get(f"{POINTS}&pageSize=50&page=2", headers=JSON)).json()
    assert [uid(p) for p in points_of(short)] == [uid(p) for p in points_of(clean)][:47]
    assert paging(short) == paging(clean)  # PagingInfo unchanged
    # XML too.
    root = ET.fromstring((await c.get(f"{POINTS}&pageSize=50&page=1")).content)
    assert len(root.findall(f"{NS}Entities/{NS}VmRestorePoints/{NS}VmRestorePoint")) == 47
    assert root.find(f"{NS}PagingInfo").get("PageSize") == "50"  # type: ignore[union-attr]
    assert fault.fired == 2
    # The last page is never shortened and does not count.
    last = (await c.get(f"{POINTS}&pageSize=50&page={pages}", headers=JSON)).json()
    assert len(points_of(last)) == len(state.dataset.vm_restore_points) - 50 * (pages - 1)
    assert fault.fired == 2
    # Without N: 300 fewer, so a default page (100) comes back empty though more pages follow.
    (default,) = state.faults.set("short-page:1")
    body = (await c.get(POINTS, headers=JSON)).json()
    assert points_of(body) == [] and paging(body)[2] > 1 and default.fired == 1
    assert len(points_of((await c.get(POINTS, headers=JSON)).json())) == 100  # count exhausted


async def test_short_page_only_for_its_type(shared: tuple[httpx.AsyncClient, SimulatorState]) -> None:
    c, state = shared
    (fault,) = state.faults.set("short-page=10,type=BackupTaskSession,after=1")
    assert len(points_of((await c.get(f"{POINTS}&pageSize=20", headers=JSON)).json())) == 20
    tasks = "/api/query?type=BackupTaskSession&pageSize=20"
    assert len((await c.get(tasks, headers=JSON)).json()["Refs"]["Refs"]) == 20  # `after=1` lets one through
    assert len((await c.get(tasks, headers=JSON)).json()["Refs"]["Refs"]) == 10
    assert (fault.seen, fault.fired) == (2, 1)


async def test_any_fault_limited_to_one_query_type(shared: tuple[httpx.AsyncClient, SimulatorState]) -> None:
    """``type=`` limits a fault of any kind (but slow-logon) to the queries of that type: a reader of
    several types side by side meets it in exactly one of its reads."""
    c, state = shared
    (fault,) = state.faults.set("status=503:2,type=BackupTaskSession")
    assert fault.path == "/api/query"
    tasks = "/api/query?type=BackupTaskSession&pageSize=20"
    assert (await c.get(f"{POINTS}&pageSize=20", headers=JSON)).status_code == 200  # another type: untouched
    assert (await c.get("/api/backupServers", headers=JSON)).status_code == 200
    assert [(await c.get(tasks, headers=JSON)).status_code for _ in range(3)] == [503, 503, 200]
    assert (fault.seen, fault.fired) == (2, 2)


# --- pages-drift ---------------------------------------------------------------------------------------------

async def test_pages_drift(shared: tuple[httpx.AsyncClient, SimulatorState]) -> None:
    c, state = shared
    clean = (await c.get(f"{POINTS}&pageSize=100&page=3", headers=JSON)).json()
    pages = paging(clean)[2]
    (fault,) = state.faults.set("pages-drift=2")
    drifted = (await c.get(f"{POINTS}&pageSize=100&page=3", headers=JSON)).json()
    assert points_of(drifted) == points_of(clean)
    _, _, drifted_pages, links = paging(drifted)
    assert (drifted_pages, fault.fired) == (pages + 2, 1)
    assert links["Last"].endswith(f"pageSize=100&page={pages + 2}")
    # The last real page now claims a Next one.
    tail = (await c.get(f"{POINTS}&pageSize=100&page={pages}", headers=JSON)).json()
    assert "Next" in paging(tail)[3]
    state.faults.set("pages-drift=-1000")
    root = ET.fromstring((await c.get(f"{POINTS}&pageSize=100&page=2")).content)
    assert root.find(f"{NS}PagingInfo").get("PagesCount") == "1"  # type: ignore[union-attr]
    assert len(root.findall(f"{NS}Entities/{NS}VmRestorePoints/{NS}VmRestorePoint")) == 100


# --- mutate --------------------------------------------------------------------------------------------------

async def test_mutate_insert_between_pages(own: tuple[httpx.AsyncClient, SimulatorState]) -> None:
    c, state = own
    ds = state.dataset
    total = len(ds.vm_restore_points)
    (fault,) = state.faults.set("mutate=insert,type=VmRestorePoint,after=1")
    first = (await c.get(f"{POINTS}&pageSize=100&page=1", headers=JSON)).json()
    assert fault.fired == 0 and len(ds.vm_restore_points) == total
    await c.get(f"{POINTS}&pageSize=100&page=2", headers=JSON)
    assert fault.fired == 1 and len(ds.vm_restore_points) == total + 1
    (new_id,) = fault.changed
    # Every later request sees it: the full sorted list, the entity, its parents' lists.
    everything = points_of((await c.get(f"{POINTS}&pageSize=5000", headers=JSON)).json())
    assert len(everything) == total + 1
    at = [uid(p) for p in everything].index(new_id)
    before, new, after = everything[at - 1], everything[at], everything[at + 1]
    assert before["CreationTimeUTC"] < new["CreationTimeUTC"] < after["CreationTimeUTC"]
    assert abs(at - total // 2) < 50  # in the middle
    assert new["VmName"] == before["VmName"] and new["UID"] != before["UID"]
    r = await c.get(f"/api/vmRestorePoints/{new_id}?format=Entity", headers=JSON)
    assert r.status_code == 200 and r.json()["Name"].startswith(new["VmName"] + "@")
    rp_id = ds.vm_restore_points[new_id].restore_point_id
    r = await c.get(f"/api/restorePoints/{rp_id}/vmRestorePoints", headers=JSON)
    assert new_id in {uid(x) for x in r.json()["Refs"]}
    r = await c.get(f"/api/query?type=VmRestorePoint&filter=VmName=={new['VmName']}&pageSize=500", headers=JSON)
    assert new_id in {uid(x) for x in r.json()["Refs"]["Refs"]}
    assert new_id in {p.id for p in ds.points_by_vm[new["VmName"]]}
    # Count 1 by default: the next pages are quiet; the first page is unchanged in size.
    await c.get(f"{POINTS}&pageSize=100&page=3", headers=JSON)
    assert fault.fired == 1 and len(points_of(first)) == 100


async def test_mutate_insert_task_session_is_linked(own: tuple[httpx.AsyncClient, SimulatorState]) -> None:
    c, state = own
    (fault,) = state.faults.set("mutate")  # insert, of the query's own type
    r = await c.get("/api/query?type=BackupTaskSession&pageSize=1", headers=JSON)
    assert r.status_code == 200 and fault.fired == 1
    (new_id,) = fault.changed
    task = state.dataset.task_sessions[new_id]
    r = await c.get(f"/api/backupSessions/{task.job_session_id}/taskSessions", headers=JSON)
    assert new_id in {uid(x) for x in r.json()["Refs"]}
    r = await c.get(f"/api/backupTaskSessions/{new_id}?format=Entity", headers=JSON)
    assert r.status_code == 200 and r.json()["JobSessionUid"].endswith(task.job_session_id)


async def test_mutate_append_adds_a_newest_task_as_a_running_job_does(
    own: tuple[httpx.AsyncClient, SimulatorState],
) -> None:
    c, state = own
    tasks = "/api/query?type=BackupTaskSession&format=Entities&sortDesc=CreationTime"
    newest = (await c.get(f"{tasks}&pageSize=1", headers=JSON)).json()
    (fault,) = state.faults.set("mutate=append")  # of the query's own type
    first = (await c.get(f"{tasks}&pageSize=2", headers=JSON)).json()
    assert fault.fired == 1
    (new_id,) = fault.changed
    got = [task for tasks_ in first["Entities"].values() for task in next(iter(tasks_.values()))]
    before = next(task for tasks_ in newest["Entities"].values() for task in next(iter(tasks_.values())))
    assert [uid(task) for task in got] == [new_id, uid(before)], "the new task is the newest, the old one next"
    seconds = datetime.fromisoformat(got[0]["CreationTimeUTC"]) - datetime.fromisoformat(before["CreationTimeUTC"])
    assert seconds == timedelta(seconds=5)
    task = state.dataset.task_sessions[new_id]
    r = await c.get(f"/api/backupSessions/{task.job_session_id}/taskSessions", headers=JSON)
    assert new_id in {uid(x) for x in r.json()["Refs"]}


async def test_mutate_remove(own: tuple[httpx.AsyncClient, SimulatorState]) -> None:
    c, state = own
    ds = state.dataset
    total = len(ds.vm_restore_points)
    middle = sorted(ds.vm_restore_points.values(), key=lambda p: p.creation_ticks)[total // 2]
    assert (await c.get(f"/api/vmRestorePoints/{middle.id}")).status_code == 200
    (fault,) = state.faults.set("mutate=remove,type=VmRestorePoint")
    everything = points_of((await c.get(f"{POINTS}&pageSize=5000", headers=JSON)).json())
    assert fault.changed == [middle.id] and len(everything) == total - 1
    assert middle.id not in {uid(p) for p in everything}
    assert (await c.get(f"/api/vmRestorePoints/{middle.id}")).status_code == 404
    r = await c.get(f"/api/restorePoints/{middle.restore_point_id}/vmRestorePoints", headers=JSON)
    assert middle.id not in {uid(x) for x in r.json()["Refs"]}
    r = await c.get(f"/api/backupTaskSessions/{middle.task_session_id}?format=Entity", headers=JSON)
    assert r.status_code == 200 and all(link["Rel"] != "Related" for link in r.json()["Links"])


async def test_mutate_remove_session_takes_its_tasks(own: tuple[httpx.AsyncClient, SimulatorState]) -> None:
    c, state = own
    ds = state.dataset
    sessions, tasks = len(ds.job_sessions), len(ds.task_sessions)
    middle = sorted(ds.job_sessions.values(), key=lambda s: s.creation_ticks)[sessions // 2]
    middle_tasks = len(middle.task_ids)
    (fault,) = state.faults.set("mutate=remove,path=/api/backupSessions,type=BackupJobSession")
    # A query does not match this fault's path: nothing changes.
    await c.get("/api/query?type=BackupJobSession", headers=JSON)
    assert fault.fired == 0
    r = await c.get("/api/backupSessions", headers=JSON)
    (gone,) = fault.changed
    assert gone not in {uid(x) for x in r.json()["Refs"]} and len(ds.job_sessions) == sessions - 1
    removed = tasks - len(ds.task_sessions)
    # The middle session by creation time (an agent session has no tasks; a backup session takes its tasks).
    assert gone == middle.id and removed == middle_tasks
    assert (await c.get(f"/api/backupSessions/{gone}")).status_code == 404
    r = await c.get("/api/query?type=BackupTaskSession&pageSize=5000", headers=JSON)
    assert len(r.json()["Refs"]["Refs"]) == tasks - removed
    # The reports follow the data too.
    r = await c.get("/api/reports/summary/job_statistics", headers=JSON)
    assert r.status_code == 200


async def test_mutate_needs_a_changeable_type(own: tuple[httpx.AsyncClient, SimulatorState]) -> None:
    c, state = own
    (fault,) = state.faults.set("mutate=remove")
    jobs = len(state.dataset.jobs)
    assert (await c.get("/api/query?type=Job", headers=JSON)).status_code == 200
    assert (fault.seen, fault.fired, len(state.dataset.jobs)) == (0, 0, jobs)


# --- deep ----------------------------------------------------------------------------------------------------

def xml_depth(body: bytes) -> int:
    depth = deepest = 0
    for event, _ in ET.iterparse(io.BytesIO(body), events=("start", "end")):
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    return deepest


def json_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    assert depth == 0
    return deepest


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_deep_body_levels(depth: int) -> None:
    assert json_depth(deep_body("json", depth).decode()) == depth
    assert xml_depth(deep_body("xml", depth)) == depth


async def test_deep(shared: tuple[httpx.AsyncClient, SimulatorState]) -> None:
    c, state = shared
    (fault,) = state.faults.set("deep=3000:2")
    r = await c.get("/api/query?type=VmRestorePoint", headers=JSON)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert json_depth(r.text) == 3000
    with pytest.raises(RecursionError):
        r.json()
    r = await c.get("/api/query?type=Job")
    assert r.status_code == 200 and "xml" in r.headers["content-type"]
    assert xml_depth(r.content) == 3000
    assert fault.fired == 2
    assert xml_depth((await c.get("/api/query?type=Job")).content) < 10  # exhausted: a real answer
    (default,) = state.faults.set("deep:1")
    r = await c.get("/api/query?type=Job", headers=JSON)
    assert json_depth(r.text) == 10_000 and default.fired == 1
    # Not on other paths by default.
    state.faults.set("deep=50")
    r = await c.get("/api/jobs", headers=JSON)
    assert r.json()["Refs"]


# --- reason_chars --------------------------------------------------------------------------------------------

def test_pad_reason() -> None:
    assert pad_reason("", 500) == "" and pad_reason("abc", 0) == "abc"
    assert pad_reason("abc", 10) == "abc abc ab"
    assert pad_reason("abc", 7) == "abc abc" and pad_reason("abc", 8) == "abc abc "
    assert pad_reason("abcdef", 4) == "abcd"


async def test_reason_chars(sim_dataset: Dataset) -> None:
    facts = sim_dataset.facts
    failed = sim_dataset.task_sessions[facts.last_two_failed_task_ids[-1]]
    ok = next(t for t in sim_dataset.task_sessions.values() if t.result == "Success")
    assert failed.reason.startswith("Processing exch01 Error:") and len(failed.reason) < 1000
    app = create_app(SimulatorConfig(reason_chars=5000), sim_dataset)
    async with session(app) as c:
        r = await c.get(f"/api/backupTaskSessions/{failed.id}?format=Entity", headers=JSON)
        reason = r.json()["Reason"]
        assert len(reason) == 5000 and reason.startswith(failed.reason + " " + failed.reason[:20])
        assert REASON_QUIESCE.split("{vm}")[1][:30] in reason
        r = await c.get(f"/api/backupTaskSessions/{failed.id}?format=Entity")
        assert len(ET.fromstring(r.content).findtext(f"{NS}Reason") or "") == 5000
        r = await c.get(f"/api/backupTaskSessions/{ok.id}?format=Entity", headers=JSON)
        assert r.json()["Reason"] == ""
        r = await c.get("/api/query?type=BackupTaskSession&filter=Result==Failed&format=Entities&pageSize=50",
                        headers=JSON)
        reasons = {t["Reason"] for t in r.json()["Entities"]["BackupTaskSessions"]["BackupTaskSessions"]}
        assert reasons and {len(x) for x in reasons} == {5000}
    app = create_app(SimulatorConfig(reason_chars=40), sim_dataset)
    async with session(app) as c:
        r = await c.get(f"/api/backupTaskSessions/{failed.id}?format=Entity", headers=JSON)
        assert r.json()["Reason"] == failed.reason[:40]


async def test_every_link_is_still_served_after_mutations() -> None:
    """Inserted copies and removals (with their cascades) leave no dangling link: after one insert and one
    removal of every changeable type, in a twin estate, the whole link walk of test_sim_links still passes."""
    from test_sim_links import walk  # the same walk (tests/simulator is on sys.path, as for every test module)

    ds = build_dataset(anchor=ANCHOR, days=2, twins=True)
    app = create_app(SimulatorConfig(), ds)
    state: SimulatorState = app.state.sim
    for type_name in ("VmRestorePoint", "RestorePoint", "BackupFile", "BackupJobSession", "BackupTaskSession"):
        state.mutate("insert", type_name)
        state.mutate("remove", type_name)
    gets, served, _ = await walk(ds, "application/json", "13")
    assert gets > 500 and "/api/backupTaskSessions/{id}" in served
