"""The simulator's query service: filter grammar (quoting, and/or precedence, parentheses, dates), field
and type names, sorting, paging with First/Previous/Next/Last, defaults, JSON wrappers and 400 bodies.
A property test checks random filters against a naive evaluator written independently here."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veeam_em_mcp.simulator.dataset import Dataset
from veeam_em_mcp.simulator.dataset.clock import ticks_of
from veeam_em_mcp.simulator.dataset.records import VmRestorePoint
from veeam_em_mcp.simulator.fields import QueryError
from veeam_em_mcp.simulator.query.filter import And, Cmp, Or, parse_filter
from veeam_em_mcp.simulator.query.request import parse_query_params
from veeam_em_mcp.simulator.query.service import QueryService

NS = "{http://www.veeam.com/ent/v1.0}"
JSON = {"Accept": "application/json"}


def ids(body: dict[str, Any]) -> list[str]:
    if "Refs" in body:
        items = body["Refs"]["Refs"]
    else:
        [(plural, wrapper)] = body["Entities"].items()
        items = wrapper[plural]
    return [x["UID"].rsplit(":", 1)[1] for x in items]


# --- grammar ---------------------------------------------------------------------------------------------

def test_parse_simple_and_quoted() -> None:
    assert parse_filter("VmName==sql01") == Cmp("VmName", "==", "sql01")
    assert parse_filter('Name=="a"";Name!=""x"') == Cmp("Name", "==", 'a";Name!="x')
    assert parse_filter('VmName == "web,db (old)"') == Cmp("VmName", "==", "web,db (old)")
    assert parse_filter("CreationTime>=2025-10-20T00:00:00Z") == Cmp("CreationTime", ">=", "2025-10-20T00:00:00Z")
    assert parse_filter('x==""') == Cmp("x", "==", "")


def test_and_binds_tighter_than_or() -> None:
    a, b, c = Cmp("a", "==", "1"), Cmp("b", "<", "2"), Cmp("c", ">=", "3")
    assert parse_filter("a==1,b<2;c>=3") == Or((a, And((b, c))))
    assert parse_filter("a==1;b<2,c>=3") == Or((And((a, b)), c))
    assert parse_filter("(a==1,b<2);c>=3") == And((Or((a, b)), c))
    assert parse_filter(" ( ( a==1 ) ) ") == a


@pytest.mark.parametrize("bad", [
    "", "VmName", "VmName=sql01", "VmName==", '"x"==1', "VmName==\"unterminated", "(a==1", "a==1)",
    "a==1;", ",a==1", "a==1;;b==2", "a==\"x\"y",
])
def test_malformed_filters(bad: str) -> None:
    with pytest.raises(QueryError):
        parse_filter(bad)


def test_query_params_defaults_and_errors() -> None:
    req = parse_query_params([("Type", "VmRestorePoint")])
    assert (req.page_size, req.page, req.entities, req.sort_field) == (100, 1, False, None)
    req = parse_query_params([("type", "Job"), ("FORMAT", "entities"), ("SORTDESC", "Name"), ("pagesize", "5")])
    assert (req.entities, req.sort_field, req.sort_desc, req.page_size) == (True, "Name", True, 5)
    for bad in ([("format", "Entities")], [("type", "Job"), ("pageSize", "0")],
                [("type", "Job"), ("page", "x")], [("type", "Job"), ("format", "Pretty")],
                [("type", "Job"), ("sortAsc", "Name"), ("sortDesc", "Name")]):
        with pytest.raises(QueryError):
            parse_query_params(bad)


# --- over HTTP -------------------------------------------------------------------------------------------

@pytest.mark.anyio
async def test_default_page_and_paging_links_xml(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    total = len(sim_dataset.vm_restore_points)
    pages = -(-total // 100)
    r = await api.get("/api/query?type=VmRestorePoint")
    assert r.status_code == 200
    assert "&amp;pageSize=100&amp;page=2" in r.text  # raw XML escapes & in hrefs
    root = ET.fromstring(r.content)
    assert root.tag == f"{NS}QueryResult"
    refs = root.find(f"{NS}Refs")
    assert refs is not None and len(refs) == 100 and all(x.tag == f"{NS}Ref" for x in refs)
    info = root.find(f"{NS}PagingInfo")
    assert info is not None
    assert (info.get("PageNum"), info.get("PageSize"), info.get("PagesCount")) == ("1", "100", str(pages))
    rels = {x.get("Rel"): x.get("Href") for x in info.iter(f"{NS}Link")}
    assert list(rels) == ["First", "Next", "Last"]
    assert rels["Last"] == f"http://em.sim.test:9398/api/query?type=VmRestorePoint&pageSize=100&page={pages}"

    # Walking Next links visits every point exactly once.
    seen: list[str] = []
    href: str | None = "/api/query?type=VmRestorePoint&format=Entities&sortDesc=CreationTime&pageSize=250"
    page_nums = []
    while href:
        page = ET.fromstring((await api.get(href)).content)
        seen += [e.get("UID", "").rsplit(":", 1)[1] for e in page.iter(f"{NS}VmRestorePoint")]
        info = page.find(f"{NS}PagingInfo")
        assert info is not None
        page_nums.append(int(info.get("PageNum", "0")))
        links = {x.get("Rel"): x.get("Href") for x in info.iter(f"{NS}Link")}
        assert ("Previous" in links) == (page_nums[-1] > 1)
        href = links.get("Next")
    assert page_nums == list(range(1, -(-total // 250) + 1))
    assert len(seen) == total and set(seen) == set(sim_dataset.vm_restore_points)
    times = [sim_dataset.vm_restore_points[i].creation_ticks for i in seen]
    assert times == sorted(times, reverse=True)


@pytest.mark.anyio
async def test_json_wrappers_and_paging_info(api: httpx.AsyncClient) -> None:
    body = (await api.get("/api/query?type=VmRestorePoint&format=Entities&filter=VmName==sql01&pageSize=7"
                          "&page=2", headers=JSON)).json()
    assert list(body) == ["Entities", "PagingInfo"]
    points = body["Entities"]["VmRestorePoints"]["VmRestorePoints"]
    assert len(points) == 7 and all(p["VmName"] == "sql01" for p in points)
    info = body["PagingInfo"]
    assert list(info) == ["Links", "PageNum", "PageSize", "PagesCount"]
    assert (info["PageNum"], info["PageSize"], info["PagesCount"]) == (2, 7, 5)
    assert [x["Rel"] for x in info["Links"]] == ["First", "Previous", "Next", "Last"]
    refs = (await api.get("/api/query?type=VmRestorePoint&filter=VmName==sql01", headers=JSON)).json()
    assert list(refs) == ["Refs", "PagingInfo"] and len(refs["Refs"]["Refs"]) == 30
    assert refs["Refs"]["Refs"][0]["Type"] == "VmRestorePointReference"
    # A page past the end is empty but well-formed.
    empty = (await api.get("/api/query?type=VmRestorePoint&filter=VmName==sql01&page=9", headers=JSON)).json()
    assert empty["Refs"]["Refs"] == [] and empty["PagingInfo"]["PagesCount"] == 1


@pytest.mark.anyio
async def test_awkward_names_with_doubled_quotes(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    for name in ('a";Name!="x', "web,db (old)"):
        quoted = '"' + name.replace('"', '""') + '"'
        r = await api.get("/api/query", params={"type": "VmRestorePoint", "filter": f"VmName=={quoted}",
                                                "pageSize": "1000"}, headers=JSON)
        assert r.status_code == 200, r.text
        assert sorted(ids(r.json())) == sorted(p.id for p in sim_dataset.points_by_vm[name])


@pytest.mark.anyio
async def test_names_and_values_are_case_insensitive(api: httpx.AsyncClient) -> None:
    a = (await api.get("/api/query?type=VmRestorePoint&filter=VmName==sql01", headers=JSON)).json()
    b = (await api.get("/api/query?TYPE=vmrestorepoint&Filter=VMNAME==SQL01;type==increment,"
                       "vmdisplayname==Sql01;pointtype==FULL", headers=JSON)).json()
    assert sorted(ids(a)) == sorted(ids(b))


@pytest.mark.anyio
async def test_date_filters(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    lo = ticks_of(sim_dataset.anchor) - 2 * 86_400 * 10_000_000
    expected = sorted(p.id for p in sim_dataset.vm_restore_points.values() if p.creation_ticks >= lo)
    for value in ('"2025-10-19T09:00:00Z"', "2025-10-19T09:00:00Z", "2025-10-19T09:00:00.0000000Z",
                  "2025-10-19T11:00:00+02:00", "2025-10-19 09:00"):
        r = await api.get("/api/query", params={"type": "VmRestorePoint", "filter": f"CreationTime>={value}",
                                                "pageSize": "5000"}, headers=JSON)
        assert sorted(ids(r.json())) == expected, value
    day = (await api.get("/api/query?type=VmRestorePoint&pageSize=5000&filter=CreationTime>=2025-10-20;"
                         "creationtime<2025-10-21", headers=JSON)).json()
    for pid in ids(day):
        assert sim_dataset.vm_restore_points[pid].creation_time_utc.startswith("2025-10-20")


@pytest.mark.anyio
async def test_sorting(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    body = (await api.get("/api/query?type=VmRestorePoint&sortAsc=Name&pageSize=2000", headers=JSON)).json()
    names = [sim_dataset.vm_restore_points[i].name.casefold() for i in ids(body)]
    assert names == sorted(names)
    body = (await api.get("/api/query?type=VmRestorePoint&filter=VmName==web01&sortDesc=creationTime",
                          headers=JSON)).json()
    assert ids(body) == [p.id for p in reversed(sim_dataset.points_by_vm["web01"])]
    jobs = (await api.get("/api/query?type=Job&format=Entities&sortDesc=Name", headers=JSON)).json()
    job_names = [j["Name"] for j in jobs["Entities"]["Jobs"]["Jobs"]]
    assert job_names == sorted(job_names, key=str.casefold, reverse=True)


@pytest.mark.anyio
@pytest.mark.parametrize(("qtype", "plural", "count_attr"), [
    ("RestorePoint", "RestorePoints", "restore_points"),
    ("BackupFile", "BackupFiles", "backup_files"),
    ("BackupServer", "BackupServers", "backup_servers"),
    ("Job", "Jobs", "jobs"),
    ("Backup", "Backups", "backups"),
    ("Repository", "Repositories", "repositories"),
])
async def test_other_types(api: httpx.AsyncClient, sim_dataset: Dataset, qtype: str, plural: str,
                           count_attr: str) -> None:
    body = (await api.get(f"/api/query?type={qtype.lower()}&format=Entities&pageSize=1000", headers=JSON)).json()
    items = body["Entities"][plural][plural]
    assert len(items) == len(getattr(sim_dataset, count_attr))
    assert all(x["Type"] == qtype for x in items)
    server = next(iter(sim_dataset.backup_servers.values()))
    if qtype not in ("BackupServer",):
        r = await api.get("/api/query", params={"type": qtype, "filter": f'BackupServerName=="{server.name}"',
                                                "pageSize": "1000"}, headers=JSON)
        assert r.status_code == 200 and 0 < len(ids(r.json())) < len(items) + 1


@pytest.mark.anyio
async def test_job_filters(api: httpx.AsyncClient) -> None:
    body = (await api.get('/api/query?type=Job&filter=ScheduleEnabled==false', headers=JSON)).json()
    assert len(ids(body)) == 1
    body = (await api.get('/api/query?type=Job&format=Entities&filter=Platform==HyperV', headers=JSON)).json()
    assert {j["Name"] for j in body["Entities"]["Jobs"]["Jobs"]} == {"Hyper-V Infrastructure",
                                                                     "Hyper-V File Servers", "Hyper-V Replication"}
    body = (await api.get('/api/query?type=BackupFile&filter=FileType==vrb', headers=JSON)).json()
    assert len(ids(body)) > 0


@pytest.mark.anyio
@pytest.mark.parametrize("accept", ["application/xml", "application/json"])
@pytest.mark.parametrize("query", [
    "type=VmRestorePoint&filter=VmName==",
    "type=VmRestorePoint&filter=(VmName==a",
    "type=VmRestorePoint&filter=NoSuchField==1",
    "type=VmRestorePoint&filter=CreationTime>yesterday",
    "type=VmRestorePoint&filter=PointType==Differential",
    "type=VmRestorePoint&sortAsc=Bogus",
    "type=Nope",
    "format=Entities",
    "type=Job&pageSize=-1",
])
async def test_bad_queries_are_400(api: httpx.AsyncClient, accept: str, query: str) -> None:
    r = await api.get(f"/api/query?{query}", headers={"Accept": accept})
    assert r.status_code == 400
    if accept == "application/json":
        assert r.json()["StatusCode"] == 400 and r.json()["Message"]
    else:
        err = ET.fromstring(r.content)
        assert err.tag == f"{NS}Error" and err.get("StatusCode") == "400"


# --- property: random filters vs a naive evaluator -------------------------------------------------------

_POINT_TYPES = ["Full", "Increment", "ReverseIncrement"]
_ALGOS = ["Full", "Incremental", "ReversedIncremental", "SyntheticFull"]
_OPS = ["==", "!=", "<", ">", "<=", ">="]


def _compare(op: str, a: Any, b: Any) -> bool:
    results: dict[str, bool] = {"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}
    return results[op]


def _leaf(vm_names: list[str]) -> st.SearchStrategy[tuple[str, Any]]:
    def quote(s: str) -> str:
        return '"' + s.replace('"', '""') + '"'

    name_cmp = st.tuples(st.sampled_from(["VmName", "vmdisplayname"]), st.sampled_from(_OPS),
                         st.sampled_from(vm_names)).map(
        lambda t: (f"{t[0]}{t[1]}{quote(t[2])}",
                   lambda p, t=t: _compare(t[1], p.vm_name.casefold(), t[2].casefold())))
    type_cmp = st.tuples(st.sampled_from(_OPS), st.sampled_from(_POINT_TYPES)).map(
        lambda t: (f"PointType{t[0]}{t[1]}",
                   lambda p, t=t: _compare(t[0], _POINT_TYPES.index(p.point_type), _POINT_TYPES.index(t[1]))))
    algo_cmp = st.tuples(st.sampled_from(["==", "!="]), st.sampled_from(_ALGOS)).map(
        lambda t: (f"Algorithm{t[0]}{t[1]}", lambda p, t=t: _compare(t[0], p.algorithm, t[1])))
    def day(n: int) -> datetime:
        return datetime(2025, 10, n, tzinfo=UTC) if n <= 21 else datetime(2025, 9, n - 1, tzinfo=UTC)

    # Alternate the quoted full form and the bare date-only form of the same instant.
    day_cmp = st.tuples(st.sampled_from(_OPS), st.integers(1, 31)).map(
        lambda t: (f'CreationTime{t[0]}"{day(t[1]):%Y-%m-%dT%H:%M:%SZ}"' if t[1] % 2 else
                   f"CreationTime{t[0]}{day(t[1]):%Y-%m-%d}",
                   lambda p, t=t: _compare(t[0], p.creation_ticks, ticks_of(day(t[1])))))
    return st.one_of(name_cmp, type_cmp, algo_cmp, day_cmp)


def _tree(vm_names: list[str]) -> st.SearchStrategy[tuple[str, Any]]:
    def combine(children: st.SearchStrategy[tuple[str, Any]]) -> st.SearchStrategy[tuple[str, Any]]:
        def build(parts: list[tuple[str, Any]], conj: bool) -> tuple[str, Any]:
            sep = ";" if conj else ","
            text = "(" + sep.join(t for t, _ in parts) + ")"
            fns = [f for _, f in parts]
            if conj:
                return text, lambda p: all(f(p) for f in fns)
            return text, lambda p: any(f(p) for f in fns)
        return st.builds(build, st.lists(children, min_size=1, max_size=3), st.booleans())
    return st.recursive(_leaf(vm_names), combine, max_leaves=6)


@pytest.fixture(scope="module")
def service(sim_dataset: Dataset) -> QueryService:
    return QueryService(sim_dataset)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_filters_match_naive_evaluation(data: st.DataObject, service: QueryService,
                                               sim_dataset: Dataset) -> None:
    vm_names = [*sim_dataset.vm_names()[:8], "nobody"]
    text, predicate = data.draw(_tree(vm_names))
    sort = data.draw(st.sampled_from([None, "CreationTime", "Name", "PointType"]))
    desc = data.draw(st.booleans())
    params = [("type", "VmRestorePoint"), ("filter", text), ("pageSize", "100000")]
    if sort:
        params.append(("sortDesc" if desc else "sortAsc", sort))
    page = service.run(parse_query_params(params))
    points: list[VmRestorePoint] = list(sim_dataset.vm_restore_points.values())
    expected = {p.id for p in points if predicate(p)}
    assert {p.id for p in page.items} == expected, text
    assert page.total == len(expected)
    if sort == "CreationTime":
        keys = [p.creation_ticks for p in page.items]
        assert keys == sorted(keys, reverse=desc)
