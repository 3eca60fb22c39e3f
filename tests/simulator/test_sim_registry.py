"""One dataset entity plus one registry row is a whole new EM type: a throwaway `Widget` is served as a
collection (references and entities), a single resource, a sub-collection, a query type with filters and
sorting, and gets EM's 400/404 errors, without touching app.py, query/ or views/."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset
from veeam_em_mcp.simulator.fields import Field, FieldList
from veeam_em_mcp.simulator.registry import Registry
from veeam_em_mcp.simulator.registry.row import Child, Row
from veeam_em_mcp.simulator.registry.table import ROWS
from veeam_em_mcp.simulator.render.resource import Link, Resource
from veeam_em_mcp.simulator.views.common import ViewContext

pytestmark = pytest.mark.anyio

NS = "{http://www.veeam.com/ent/v1.0}"
ORIGIN = "http://em.sim.test:9398"
JSON = {"Accept": "application/json"}
IDS = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
       "33333333-3333-4333-8333-333333333333")


@dataclass(slots=True)
class Widget:
    """The throwaway entity."""

    id: str
    name: str
    size: int
    server_id: str
    part_ids: list[str] = field(default_factory=list)


@dataclass
class WidgetDataset(Dataset):
    widgets: dict[str, Widget] = field(default_factory=dict)


def widget_view(ctx: ViewContext, w: Widget, entity: bool) -> Resource:
    href = f"{ctx.base}/widgets/{w.id}"
    up = Link(f"{ctx.base}/backupServers/{w.server_id}", "Up", "BackupServerReference")
    parts = Link(f"{href}/parts", "Down", "WidgetReferenceList")
    if not entity:
        return Resource(element="Widget", type="WidgetReference", href=href, name=w.name, uid=f"urn:veeam:Widget:{w.id}",
                        links=[up, Link(f"{href}?format=Entity", "Alternate", "Widget", w.name), parts], is_ref=True)
    return Resource(element="Widget", type="Widget", href=f"{href}?format=Entity", name=w.name, uid=f"urn:veeam:Widget:{w.id}",
                    links=[up, Link(href, "Alternate", "WidgetReference", w.name), parts], fields=[("Size", w.size)])


def widget_fields(ds: Dataset) -> FieldList:
    return [
        (("UID",), Field("UID", "uid", lambda w: w.id)),
        (("Name",), Field("Name", "str", lambda w: w.name.casefold())),
        (("Size",), Field("Size", "int", lambda w: w.size)),
        # A field that is not in the entity, joined from elsewhere, like JobName on task sessions.
        (("BackupServerName",), Field("BackupServerName", "str",
                                      lambda w: ds.backup_servers[w.server_id].name.casefold())),
    ]


WIDGET_ROW = Row(
    type_name="Widget", plural="Widgets", items=lambda d: d.widgets,  # type: ignore[attr-defined]
    view=widget_view, label="widget", segment="widgets",
    children=(Child("parts", "Widget", lambda d, w: [d.widgets[i] for i in w.part_ids]),),  # type: ignore[attr-defined]
    query=widget_fields,
)


@pytest.fixture
async def widget_api(sim_dataset: Dataset, logon_fn: Callable[[httpx.AsyncClient], Any]
                     ) -> AsyncIterator[tuple[httpx.AsyncClient, WidgetDataset]]:
    server = next(iter(sim_dataset.backup_servers))
    widgets = {
        IDS[0]: Widget(IDS[0], "gear", 3, server, [IDS[1], IDS[2]]),
        IDS[1]: Widget(IDS[1], "cog", 1, server),
        IDS[2]: Widget(IDS[2], "Sprocket", 2, server),
    }
    base = {f.name: getattr(sim_dataset, f.name) for f in dataclasses.fields(Dataset)}
    ds = WidgetDataset(**base, widgets=widgets)
    app = create_app(SimulatorConfig(), ds, Registry((*ROWS, WIDGET_ROW)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        await logon_fn(c)
        yield c, ds


async def test_a_new_type_is_one_entity_and_one_row(widget_api: tuple[httpx.AsyncClient, WidgetDataset]) -> None:
    api, _ds = widget_api
    refs = ET.fromstring((await api.get("/api/widgets")).content)
    assert refs.tag == f"{NS}EntityReferences"
    assert [r.get("Name") for r in refs] == ["gear", "cog", "Sprocket"]
    entities = (await api.get("/api/widgets?format=Entity", headers=JSON)).json()
    assert [w["Size"] for w in entities["Widgets"]] == [3, 1, 2]
    one = ET.fromstring((await api.get(f"/api/widgets/{IDS[0]}?format=Entity")).content)
    assert one.tag == f"{NS}Widget" and one.findtext(f"{NS}Size") == "3"
    ref = (await api.get(f"/api/widgets/{IDS[0]}", headers=JSON)).json()
    assert ref["Type"] == "WidgetReference"
    parts = (await api.get(f"/api/widgets/{IDS[0]}/parts", headers=JSON)).json()
    assert [p["Name"] for p in parts["Refs"]] == ["cog", "Sprocket"]
    missing = await api.get("/api/widgets/44444444-4444-4444-8444-444444444444", headers=JSON)
    assert missing.status_code == 404
    assert missing.json()["Message"] == "Cannot find widget [44444444-4444-4444-8444-444444444444]"
    bad = await api.get("/api/widgets/42", headers=JSON)
    assert bad.status_code == 400 and bad.json()["Message"] == " ID 42 is invalid. Type: Widget"
    assert (await api.get(f"/api/widgets/{IDS[0]}/nothing")).status_code == 404


async def test_the_new_type_is_a_query_type(widget_api: tuple[httpx.AsyncClient, WidgetDataset]) -> None:
    api, ds = widget_api
    server = next(iter(ds.backup_servers.values()))
    body = (await api.get("/api/query?type=widget&format=Entities&filter=Size>=2&sortAsc=size", headers=JSON)).json()
    assert [w["Name"] for w in body["Entities"]["Widgets"]["Widgets"]] == ["Sprocket", "gear"]
    refs = (await api.get("/api/query", params={"type": "Widget", "filter": f'backupservername=="{server.name}";'
                                                                           "name==SPROCKET"}, headers=JSON)).json()
    assert [r["UID"] for r in refs["Refs"]["Refs"]] == [f"urn:veeam:Widget:{IDS[2]}"]
    unsorted = (await api.get("/api/query?type=Widget", headers=JSON)).json()
    assert [r["Name"] for r in unsorted["Refs"]["Refs"]] == ["gear", "cog", "Sprocket"]  # storage order
    assert (await api.get("/api/query?type=Widget&filter=Colour==red")).status_code == 400


def test_a_row_must_name_known_child_types() -> None:
    broken = dataclasses.replace(WIDGET_ROW, children=(Child("parts", "Gadget", lambda d, w: []),))
    with pytest.raises(ValueError, match="unknown type Gadget"):
        Registry((*ROWS, broken))
    with pytest.raises(ValueError, match="share a type name"):
        Registry((*ROWS, WIDGET_ROW, WIDGET_ROW))
