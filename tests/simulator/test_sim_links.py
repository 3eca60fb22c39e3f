"""Every link the simulator advertises is served: a walk from the entry document and the logon session through
every collection, entity, reference, sub-collection, report and query result (with its PagingInfo links), in
XML and in v13 JSON, GETs every href it meets. Navigation links answer 200; action links (`?action=...`) answer
405; an action Rel whose href is a resource (Edit/Delete = the resource itself, Create = its list) answers 200.
Nothing answers 404, and nothing points off the simulator's origin."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset
from veeam_em_mcp.simulator.registry import DEFAULT_REGISTRY

pytestmark = pytest.mark.anyio

ORIGIN = "http://em.sim.test:9398"
NS = "{http://www.veeam.com/ent/v1.0}"
ACTION_RELS = {"Restore", "Create", "Start", "Stop", "Retry", "Edit", "Delete", "Clone", "ToggleScheduleEnabled",
               "VeeamZip", "QuickBackup", "Failover", "Sync", "Browse"}
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def xml_links(body: bytes) -> Iterator[tuple[str, str]]:
    for el in ET.fromstring(body).iter():
        href = el.get("Href")
        if href is None:
            continue
        yield href, (el.get("Rel") or "Self") if el.tag == f"{NS}Link" else "Self"


def json_links(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        keys = {k.lower(): k for k in node}
        href = node.get(keys["href"]) if "href" in keys else None
        if isinstance(href, str):
            yield href, node.get(keys["rel"], "Self") if "rel" in keys else "Self"
        for value in node.values():
            yield from json_links(value)
    elif isinstance(node, list):
        for value in node:
            yield from json_links(value)


def shape(path: str) -> str:
    return _GUID.sub("{id}", path)


async def walk(dataset: Dataset, accept: str, dialect: str) -> tuple[int, set[str], set[str]]:
    """GET every reachable href; returns (GETs, URL shapes served 200, action URLs answered 405)."""
    app = create_app(SimulatorConfig(json_dialect=dialect), dataset)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        logon = await c.post("/api/sessionMngr/?v=latest", auth=("DEMO\\demo", "demo-password"),
                             headers={"Accept": accept})
        assert logon.status_code == 201
        c.cookies.clear()
        c.headers["X-RestSvcSessionId"] = logon.headers["X-RestSvcSessionId"]
        c.headers["Accept"] = accept

        def links_of(body: bytes) -> Iterator[tuple[str, str]]:
            return json_links(json.loads(body)) if "json" in accept else xml_links(body)

        queue: deque[tuple[str, str, str]] = deque()
        seen: set[str] = set()

        def push(links: Iterator[tuple[str, str]], source: str) -> None:
            for href, rel in links:
                assert href.startswith(f"{ORIGIN}/api/"), (href, source)
                if href not in seen:
                    seen.add(href)
                    queue.append((href, rel, source))

        push(links_of(logon.content), "logon")
        push(iter([(f"{ORIGIN}/api/", "Self")]), "start")
        for row in DEFAULT_REGISTRY.query_rows():
            push(iter([(f"{ORIGIN}/api/query?type={row.type_name}", "Self"),
                       (f"{ORIGIN}/api/query?type={row.type_name}&format=Entities&pageSize=40", "Self")]), "query")
        served: set[str] = set()
        refused: set[str] = set()
        gets = 0
        while queue:
            href, rel, source = queue.popleft()
            r = await c.get(href)
            gets += 1
            parts = urlsplit(href)
            if "action=" in parts.query:
                assert r.status_code == 405, (href, rel, source, r.status_code)
                refused.add(shape(parts.path))
                continue
            if rel in ACTION_RELS and r.status_code == 405:
                refused.add(shape(parts.path))
                continue
            assert r.status_code == 200, (href, rel, source, r.status_code, r.text[:300])
            served.add(shape(parts.path))
            push(links_of(r.content), href)
        return gets, served, refused


@pytest.mark.parametrize(("accept", "dialect"), [("application/xml", "9.5"), ("application/json", "13")])
async def test_every_advertised_link_is_served(sim_dataset: Dataset, accept: str, dialect: str) -> None:
    # The default estate: about 8,400 distinct hrefs, each GET in-process in well under a millisecond.
    gets, served, refused = await walk(sim_dataset, accept, dialect)
    # The walk really went everywhere: every collection row, its items and its sub-collections.
    for row in DEFAULT_REGISTRY.rows:
        if row.segment is None:
            continue
        assert f"/api/{row.segment}" in served, row.segment
        if row.items(sim_dataset):
            assert f"/api/{row.segment}/{{id}}" in served, row.segment
            for child in row.children:
                assert f"/api/{row.segment}/{{id}}/{child.segment}" in served, (row.segment, child.segment)
    for path in ("/api/", "/api/jobs/{id}/includes/{id}", "/api/reports/summary", "/api/reports/summary/repository",
                 "/api/query", "/api/logonSessions", "/api/logonSessions/{id}"):
        assert path in served, path
    assert {"/api/jobs/{id}", "/api/backupSessions/{id}", "/api/vmRestorePoints/{id}", "/api/sessionMngr/"} <= refused
    assert gets > 5000
