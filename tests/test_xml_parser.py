"""The ElementTree reader gives exactly what the former xmltodict reader gave, on every body EM sends.

``representation.parse`` reads XML straight from an ElementTree (the hot single-entity path, about
three times faster). The reference below is the earlier reader (xmltodict, then a normalising pass),
kept here so that every shape it handled (attributes, text, ``<X />``, Link/Ref lists, plural
containers, same-name wrappers) is checked against it on the simulator's real bodies in XML.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import xmltodict

from veeam_em_mcp.representation.parse import _tag, parse_xml, snake
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.dataset import Dataset
from veeam_em_mcp.text import clean

from .conftest import PASSWORD, SIM_ORIGIN, USERNAME

pytestmark = pytest.mark.anyio
_LIST_ITEMS = frozenset({"Link", "Ref", "DirectoryEntry"})


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1].lstrip("@")


def _plural(container: str, item: str) -> bool:
    # The former reader knew only -s and -es plurals; "Repositories" of "Repository" (-ies) is the one
    # fix the tree reader brings, and the reference has it too so that both can be compared on it.
    return container in (item + "s", item + "es") or (item.endswith("y") and container == item[:-1] + "ies")


def _force_list(path: list[tuple[str, Any]], key: str, value: Any) -> bool:
    local = _local(key)
    return local in _LIST_ITEMS or (bool(path) and _plural(_local(path[-1][0]), local))


def _normalise_mapping(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith(("@xmlns", "xmlns")):
            continue
        local = "value" if key == "#text" else _local(key)
        name = snake(local)
        if name == "links":
            out["links"] = _links(value)
            continue
        out[name] = _normalise_value(local, value)
    return out


def _normalise_value(local: str, value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((inner_key, inner),) = value.items()
            inner_local = _local(inner_key)
            if isinstance(inner, list) and (inner_local == local or _plural(local, inner_local) or inner_local in _LIST_ITEMS):
                return [_normalise_value(inner_local, item) for item in inner]
        return _normalise_mapping(value)
    if isinstance(value, list):
        return [_normalise_value(local, item) for item in value]
    if isinstance(value, str):
        return clean(value)
    return value


def _links(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        value = next(iter(value.values())) if len(value) == 1 and _local(next(iter(value))) == "Link" else [value]
    if isinstance(value, dict):
        value = [value]
    return [_normalise_mapping(item) for item in value if isinstance(item, dict)]


def reference_parse(text: str) -> tuple[str, dict[str, Any]]:
    parsed = xmltodict.parse(text, force_list=_force_list, disable_entities=True)
    ((root_key, body),) = parsed.items()
    return _local(root_key), _normalise_mapping(body) if isinstance(body, dict) else {}


async def xml_bodies(dataset: Dataset) -> list[tuple[str, str]]:
    """Every kind of body the simulator sends in XML: entry document, logon, entities, references, lists,
    query pages (entities and references), and errors."""
    bodies: list[tuple[str, str]] = []
    app = create_app(dataset=dataset)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM_ORIGIN) as http:
        bodies.append(("entry", (await http.get("/api/")).text))
        logon = await http.post("/api/sessionMngr/?v=latest", auth=(USERNAME, PASSWORD))
        bodies.append(("logon", logon.text))
        http.cookies.clear()
        http.headers["X-RestSvcSessionId"] = logon.headers["X-RestSvcSessionId"]
        point = next(iter(dataset.vm_restore_points.values()))
        samples = {
            "vmRestorePoints": point.id,
            "restorePoints": point.restore_point_id,
            "backupFiles": point.backup_file_id,
            "backups": point.backup_id,
            "backupServers": point.backup_server_id,
            "jobs": point.job_id,
        }
        for collection, guid in samples.items():
            for suffix in ("", "?format=Entity"):
                bodies.append((f"{collection} {suffix}", (await http.get(f"/api/{collection}/{guid}{suffix}")).text))
        for path in (
            f"/api/restorePoints/{point.restore_point_id}/vmRestorePoints",
            f"/api/restorePoints/{point.restore_point_id}/vmRestorePoints?format=Entity",
            f"/api/backups/{point.backup_id}/backupFiles?format=Entity",
            f"/api/vmRestorePoints/{point.id}/mounts",
            "/api/backupServers",
            "/api/query?type=VmRestorePoint&format=Entities&pageSize=3",
            "/api/query?type=VmRestorePoint&format=References&pageSize=3",
            "/api/query?type=VmRestorePoint&format=Entities&filter=VmName==%22no%20such%20vm%22",
            "/api/query?type=Job&format=Entities",
            "/api/query?type=Repository&format=Entities",
            "/api/repositories?format=Entity",
            "/api/query?type=BackupJobSession&format=Entities&pageSize=5",
            "/api/query?type=BackupTaskSession&format=Entities&pageSize=5",
            "/api/query?type=ObjectInJob&format=Entities&pageSize=5",
            f"/api/jobs/{point.job_id}/includes",
            f"/api/jobs/{point.job_id}?format=Entity",
            "/api/reports/summary/repository",
            "/api/vmRestorePoints/00000000-0000-0000-0000-000000000000",
            "/api/vmRestorePoints/not-a-guid",
        ):
            bodies.append((path, (await http.get(path)).text))
    return bodies


async def test_the_tree_reader_matches_the_reference_on_every_simulator_body(dataset: Dataset) -> None:
    bodies = await xml_bodies(dataset)
    assert len(bodies) > 20
    for label, text in bodies:
        doc = parse_xml(text)
        assert (doc.root, doc.data) == reference_parse(text), label


@pytest.mark.parametrize(
    "text",
    [
        '<A xmlns="http://www.veeam.com/ent/v1.0"><Description /><Port>9392</Port></A>',
        '<A><Links><Link Href="h" Rel="Up" /></Links><Name Lang="en">x</Name></A>',
        "<A><Links /><Refs><Ref Href='a' /></Refs></A>",
        "<A><Items><Item>1</Item><Item>2</Item></Items><Single><X>1</X></Single></A>",
        "<QueryResult><Entities><VmRestorePoints><VmRestorePoint Name='a' /></VmRestorePoints></Entities></QueryResult>",
        "<Error Message='m' StatusCode='404'><FirstChanceExceptionMessage>m</FirstChanceExceptionMessage></Error>",
        "<A><B>tab\tand\u202ebidi</B><C xsi:nil='true' xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'/></A>",
        "<Jobs><Job Name='j' /></Jobs>",
        "<Jobs />",
        "<A>text only</A>",
    ],
)
def test_the_tree_reader_matches_the_reference_on_odd_shapes(text: str) -> None:
    doc = parse_xml(text)
    assert (doc.root, doc.data) == reference_parse(text)


def test_namespaced_tags_are_read_by_their_local_name() -> None:
    assert _tag("{http://www.veeam.com/ent/v1.0}VmRestorePoint") == "VmRestorePoint"
    assert _tag("xsi:nil") == "nil"
    assert re.fullmatch(r"[A-Za-z]+", _tag("{urn:x}Links"))
