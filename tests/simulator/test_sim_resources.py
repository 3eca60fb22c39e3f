"""Simulator resources: reference vs entity forms and their exact link sets, XML attribute order, JSON
shapes and key order, sub-collections, error bodies (400/404/405) and the representation knobs."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from veeam_em_mcp.simulator.dataset import Dataset

pytestmark = pytest.mark.anyio

NS = "{http://www.veeam.com/ent/v1.0}"
BASE = "http://em.sim.test:9398/api"
POINT = "6c958531-3177-4055-b0ce-dc4ef1ce6433"
JSON = {"Accept": "application/json"}


def links_of(el: ET.Element) -> list[tuple[str | None, str | None, str | None]]:
    """(Rel, Type, Href) of the element's own links."""
    links = el.find(f"{NS}Links")
    return [] if links is None else [(x.get("Rel"), x.get("Type"), x.get("Href")) for x in links]


async def test_vm_restore_point_reference(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    p = sim_dataset.vm_restore_points[POINT]
    r = await api.get(f"/api/vmRestorePoints/{POINT}")
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.tag == f"{NS}EntityRef"
    assert root.get("Type") == "VmRestorePointReference"
    assert root.get("Href") == f"{BASE}/vmRestorePoints/{POINT}"
    assert root.get("UID") == f"urn:veeam:VmRestorePoint:{POINT}"
    assert root.get("Name") == p.name
    assert links_of(root) == [
        ("Up", "BackupServerReference", f"{BASE}/backupServers/{p.backup_server_id}"),
        ("Up", "RestorePointReference", f"{BASE}/restorePoints/{p.restore_point_id}"),
        ("Up", "BackupFileReference", f"{BASE}/backupFiles/{p.backup_file_id}"),
        ("Alternate", "VmRestorePoint", f"{BASE}/vmRestorePoints/{POINT}?format=Entity"),
    ]
    assert list(root) == [root.find(f"{NS}Links")]  # a reference has no fields


async def test_vm_restore_point_entity_xml(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    p = sim_dataset.vm_restore_points[POINT]
    r = await api.get(f"/api/vmRestorePoints/{POINT}?format=Entity")
    text = r.text
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    # The real .NET attribute order on the root element and on links.
    head = re.search(r"<VmRestorePoint ([^>]*)>", text)
    assert head is not None
    assert re.findall(r'([\w:]+)="', head.group(1)) == [
        "xmlns:xsd", "xmlns:xsi", "Href", "Type", "Name", "UID", "VmDisplayName", "xmlns"]
    first_up = re.search(r"<Link ([^>]*Rel=\"Up\"[^>]*)/>", text)
    assert first_up is not None
    assert re.findall(r'(\w+)="', first_up.group(1)) == ["Href", "Name", "Type", "Rel"]
    root = ET.fromstring(r.content)
    assert root.tag == f"{NS}VmRestorePoint" and root.get("Type") == "VmRestorePoint"
    assert root.get("Href") == f"{BASE}/vmRestorePoints/{POINT}?format=Entity"
    assert root.get("VmDisplayName") == "sql01"
    href = f"{BASE}/vmRestorePoints/{POINT}"
    assert links_of(root) == [
        ("Restore", None, f"{href}?action=restore"),
        ("Up", "BackupServerReference", f"{BASE}/backupServers/{p.backup_server_id}"),
        ("Up", "RestorePointReference", f"{BASE}/restorePoints/{p.restore_point_id}"),
        ("Up", "BackupFileReference", f"{BASE}/backupFiles/{p.backup_file_id}"),
        ("Alternate", "VmRestorePointReference", href),
        ("Down", "VmRestorePointMountList", f"{href}/mounts"),
        ("Create", "VmRestorePointMount", f"{href}/mounts"),
    ]
    fields = [(c.tag.removeprefix(NS), c.text) for c in root if c.tag != f"{NS}Links"]
    assert fields == [
        ("CreationTimeUTC", p.creation_time_utc), ("VmName", "sql01"), ("Algorithm", p.algorithm),
        ("PointType", p.point_type), ("HierarchyObjRef", p.hierarchy_obj_ref),
    ]


async def test_vm_restore_point_entity_json(api: httpx.AsyncClient) -> None:
    r = await api.get(f"/api/vmRestorePoints/{POINT}?format=Entity", headers=JSON)
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body = r.json()
    assert list(body) == ["CreationTimeUTC", "VmName", "Algorithm", "PointType", "HierarchyObjRef",
                          "VmDisplayName", "Name", "UID", "Links", "Href", "Type"]
    assert isinstance(body["Links"], list)
    assert body["Links"][0] == {"Rel": "Restore", "Href": f"{BASE}/vmRestorePoints/{POINT}?action=restore"}
    ref = (await api.get(f"/api/vmRestorePoints/{POINT}", headers=JSON)).json()
    assert list(ref) == ["Links", "UID", "Name", "Href", "Type"]
    assert ref["Type"] == "VmRestorePointReference"


@pytest.mark.parametrize("query", ["format=Entity", "FORMAT=entity", "Format=ENTITY", "format=Entities"])
async def test_format_parameter_is_case_insensitive(api: httpx.AsyncClient, query: str) -> None:
    r = await api.get(f"/api/vmRestorePoints/{POINT}?{query}")
    assert ET.fromstring(r.content).tag == f"{NS}VmRestorePoint"


async def test_restore_point_quirky_related_link(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    p = sim_dataset.vm_restore_points[POINT]
    rp = sim_dataset.restore_points[p.restore_point_id]
    href = f"{BASE}/restorePoints/{rp.id}"
    root = ET.fromstring((await api.get(f"/api/restorePoints/{rp.id}?format=Entity")).content)
    assert root.get("Name") == rp.name
    assert links_of(root) == [
        ("Up", "BackupReference", f"{BASE}/backups/{rp.backup_id}"),
        ("Up", "BackupServerReference", f"{BASE}/backupServers/{rp.server_id}"),
        ("Alternate", "RestorePointReference", href),
        ("Down", "VmRestorePointReferenceList", f"{href}/vmRestorePoints"),
        # The real-server quirk: a backupFiles list typed as RestorePointReferenceList.
        ("Related", "RestorePointReferenceList", f"{href}/backupFiles"),
    ]
    assert root.findtext(f"{NS}BackupDateUTC") == rp.backup_date_utc


async def test_backup_file_entity_spells_creation_time_utc(api: httpx.AsyncClient,
                                                           sim_dataset: Dataset) -> None:
    bf = sim_dataset.backup_files[sim_dataset.vm_restore_points[POINT].backup_file_id]
    body = (await api.get(f"/api/backupFiles/{bf.id}?format=Entity", headers=JSON)).json()
    assert list(body)[:7] == ["FilePath", "BackupSize", "DataSize", "DeduplicationRatio", "CompressRatio",
                              "CreationTimeUtc", "FileType"]
    assert body["FileType"] == "vib" and body["FilePath"].endswith(bf.name)
    assert isinstance(body["BackupSize"], int)
    xml = (await api.get(f"/api/backupFiles/{bf.id}?format=Entity")).text
    assert "<CreationTimeUtc>" in xml and "CreationTimeUTC" not in xml


@pytest.mark.parametrize(("coll", "ref_type", "entity_tag", "plural"), [
    ("backupServers", "BackupServerReference", "BackupServer", "BackupServers"),
    ("jobs", "JobReference", "Job", "Jobs"),
    ("backups", "BackupReference", "Backup", "Backups"),
    ("repositories", "RepositoryReference", "Repository", "Repositories"),
    ("restorePoints", "RestorePointReference", "RestorePoint", "RestorePoints"),
    ("backupFiles", "BackupFileReference", "BackupFile", "BackupFiles"),
    ("vmRestorePoints", "VmRestorePointReference", "VmRestorePoint", "VmRestorePoints"),
])
async def test_collections_and_items(api: httpx.AsyncClient, coll: str, ref_type: str, entity_tag: str,
                                     plural: str) -> None:
    refs = ET.fromstring((await api.get(f"/api/{coll}")).content)
    assert refs.tag == f"{NS}EntityReferences"
    items = list(refs)
    assert items and all(x.tag == f"{NS}Ref" and x.get("Type") == ref_type for x in items)
    entities = ET.fromstring((await api.get(f"/api/{coll}?format=Entity")).content)
    assert entities.tag == f"{NS}{plural}"
    assert len(entities) == len(items) and all(x.tag == f"{NS}{entity_tag}" for x in entities)
    # Every reference's Alternate leads to its entity, whose Alternate leads back.
    first = items[0]
    alt = next(h for rel, _, h in links_of(first) if rel == "Alternate")
    assert alt == f"{first.get('Href')}?format=Entity"
    entity = ET.fromstring((await api.get(alt)).content)
    assert entity.tag == f"{NS}{entity_tag}" and entity.get("UID") == first.get("UID")
    back = next(h for rel, _, h in links_of(entity) if rel == "Alternate")
    assert back == first.get("Href")
    json_refs = (await api.get(f"/api/{coll}", headers=JSON)).json()
    assert list(json_refs) == ["Refs"] and len(json_refs["Refs"]) == len(items)
    json_entities = (await api.get(f"/api/{coll}?format=Entity", headers=JSON)).json()
    assert list(json_entities) == [plural] and len(json_entities[plural]) == len(items)


async def test_sub_collections_link_back(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    p = sim_dataset.vm_restore_points[POINT]
    for href in (f"/api/restorePoints/{p.restore_point_id}/vmRestorePoints",
                 f"/api/backupFiles/{p.backup_file_id}/vmRestorePoints"):
        refs = (await api.get(href, headers=JSON)).json()["Refs"]
        assert POINT in {x["UID"].rsplit(":", 1)[1] for x in refs}
    files = (await api.get(f"/api/restorePoints/{p.restore_point_id}/backupFiles", headers=JSON)).json()
    assert [x["UID"] for x in files["Refs"]] == [f"urn:veeam:BackupFile:{p.backup_file_id}"]
    rps = (await api.get(f"/api/backupFiles/{p.backup_file_id}/restorePoints?format=Entity", headers=JSON)).json()
    assert [x["UID"] for x in rps["RestorePoints"]] == [f"urn:veeam:RestorePoint:{p.restore_point_id}"]
    backup = sim_dataset.backups[p.backup_id]
    rps = (await api.get(f"/api/backups/{p.backup_id}/restorePoints", headers=JSON)).json()["Refs"]
    assert len(rps) == len(backup.restore_point_ids)
    bfs = (await api.get(f"/api/backups/{p.backup_id}/backupFiles", headers=JSON)).json()["Refs"]
    assert len(bfs) == len(backup.backup_file_ids)
    jobs = (await api.get(f"/api/backupServers/{p.backup_server_id}/jobs", headers=JSON)).json()["Refs"]
    assert f"urn:veeam:Job:{p.job_id}" in {j["UID"] for j in jobs}


async def test_mounts_are_an_empty_list(api: httpx.AsyncClient) -> None:
    r = await api.get(f"/api/vmRestorePoints/{POINT}/mounts")
    root = ET.fromstring(r.content)
    assert root.tag == f"{NS}VmRestorePointMounts" and len(root) == 0
    assert (await api.get(f"/api/vmRestorePoints/{POINT}/mounts", headers=JSON)).json() == {
        "VmRestorePointMounts": []}


@pytest.mark.parametrize("accept", ["application/xml", "application/json"])
async def test_error_bodies(api: httpx.AsyncClient, accept: str) -> None:
    cases = [
        ("GET", "/api/vmRestorePoints/not-a-guid", 400),
        ("GET", "/api/restorePoints/null/backupFiles", 400),
        ("GET", "/api/vmRestorePoints/00000000-0000-4000-8000-000000000000", 404),
        ("GET", "/api/noSuchCollection", 404),
        ("GET", f"/api/vmRestorePoints/{POINT}/nothing", 404),
        ("POST", f"/api/vmRestorePoints/{POINT}", 405),
        ("PUT", "/api/jobs", 405),
        ("DELETE", "/api/backupServers", 405),
        ("POST", "/api/query?type=Job", 405),
    ]
    for method, url, status in cases:
        r = await api.request(method, url, headers={"Accept": accept})
        assert r.status_code == status, (method, url)
        assert r.headers["server"] == "Microsoft-HTTPAPI/2.0"
        if accept == "application/json":
            body = r.json()
            assert body["StatusCode"] == status and body["Message"]
            assert set(body) == {"FirstChanceExceptionMessage", "Message", "StackTrace", "Status", "StatusCode"}
        else:
            assert r.text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<Error Message="')
            err = ET.fromstring(r.content)
            assert err.get("StatusCode") == str(status) and err.get("Message")
            # Unknown or malformed ids leave FirstChanceExceptionMessage out, like the real 400/404 bodies.
            first_chance = err.findtext(f"{NS}FirstChanceExceptionMessage")
            assert first_chance == (None if status in (400, 404) and "/api/noSuch" not in url
                                    and "nothing" not in url else err.get("Message"))
    missing = await api.get("/api/vmRestorePoints/00000000-0000-4000-8000-000000000000", headers=JSON)
    assert "00000000-0000-4000-8000-000000000000" in missing.json()["Message"]


async def test_unknown_path_outside_api_is_404_error(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/web/index.html")
    assert r.status_code == 404 and ET.fromstring(r.content).get("StatusCode") == "404"


async def test_uppercase_guid_and_double_slash(api: httpx.AsyncClient) -> None:
    r = await api.get(f"/api//vmRestorePoints/{POINT.upper()}")
    assert r.status_code == 200
    assert ET.fromstring(r.content).get("Href") == f"{BASE}/vmRestorePoints/{POINT}"


async def test_hrefs_follow_the_request_origin(sim: Starlette, client_factory: Callable[..., httpx.AsyncClient],
                                               logon_fn: Callable[..., Any]) -> None:
    async with client_factory(sim, "https://other.example:1234") as c:
        await logon_fn(c)
        body = (await c.get(f"/api/vmRestorePoints/{POINT}", headers=JSON)).json()
    assert body["Href"] == f"https://other.example:1234/api/vmRestorePoints/{POINT}"
    assert all(x["Href"].startswith("https://other.example:1234/api/") for x in body["Links"])


async def test_awkward_names_are_escaped(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    point = sim_dataset.points_by_vm['a";Name!="x'][-1]
    r = await api.get(f"/api/vmRestorePoints/{point.id}?format=Entity")
    assert '&quot;' in r.text
    root = ET.fromstring(r.content)
    assert root.get("VmDisplayName") == 'a";Name!="x'
    assert root.findtext(f"{NS}VmName") == 'a";Name!="x'


async def test_camel_case_bom_and_spelling_knobs(make_app: Callable[..., Starlette],
                                                 client_factory: Callable[..., httpx.AsyncClient],
                                                 logon_fn: Callable[..., Any]) -> None:
    app = make_app(json_casing="camel", json_bom=True, xml_bom=True, creation_time_spelling="Utc")
    async with client_factory(app) as c:
        await logon_fn(c)
        r = await c.get(f"/api/vmRestorePoints/{POINT}?format=Entity", headers=JSON)
        assert r.content.startswith(b"\xef\xbb\xbf")
        body = json.loads(r.content.decode("utf-8-sig"))
        assert list(body) == ["creationTimeUtc", "vmName", "algorithm", "pointType", "hierarchyObjRef",
                              "vmDisplayName", "name", "uid", "links", "href", "type"]
        assert set(body["links"][1]) == {"rel", "href", "name", "type"}
        x = await c.get(f"/api/vmRestorePoints/{POINT}?format=Entity")
        assert x.content.startswith(b"\xef\xbb\xbf<?xml")
        assert "<CreationTimeUtc>" in x.content.decode("utf-8-sig")
        err = await c.get("/api/jobs/nope", headers=JSON)
        assert json.loads(err.content.decode("utf-8-sig"))["statusCode"] == 400


async def test_omit_vm_name(make_app: Callable[..., Starlette], client_factory: Callable[..., httpx.AsyncClient],
                            logon_fn: Callable[..., Any]) -> None:
    async with client_factory(make_app(omit_vm_name=True)) as c:
        await logon_fn(c)
        body = (await c.get(f"/api/vmRestorePoints/{POINT}?format=Entity", headers=JSON)).json()
        assert "VmName" not in body and "VmDisplayName" not in body
        assert body["Name"].rpartition("@")[0] == "sql01"
        # The server still knows the VM name for filtering.
        q = await c.get("/api/query?type=VmRestorePoint&filter=VmName==sql01", headers=JSON)
        assert len(q.json()["Refs"]["Refs"]) == 30


async def test_job_and_server_entities(api: httpx.AsyncClient, sim_dataset: Dataset) -> None:
    jobs = (await api.get("/api/jobs?format=Entity", headers=JSON)).json()["Jobs"]
    by_name = {j["Name"]: j for j in jobs}
    assert by_name["Hyper-V File Servers"]["ScheduleEnabled"] is False
    assert "NextRun" not in by_name["Hyper-V File Servers"]
    assert by_name["SQL Backup"]["ScheduleEnabled"] is True and by_name["SQL Backup"]["NextRun"].endswith("Z")
    servers = ET.fromstring((await api.get("/api/backupServers?format=Entity")).content)
    assert [s.findtext(f"{NS}Port") for s in servers] == ["9392", "9392"]
    ref = (await api.get(f"/api/backupServers/{next(iter(sim_dataset.backup_servers))}", headers=JSON)).json()
    # Managed servers, credentials and password keys are not modelled, hence not advertised.
    assert [x["Rel"] for x in ref["Links"]] == ["Down", "Down", "Down", "Alternate"]
