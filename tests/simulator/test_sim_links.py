"""Every link the simulator advertises is served: a walk from the entry document and the logon session (plus the
collections a real LogonSession does not link: `/systemSessions`, `/cloud/tenants`) through every collection,
entity, reference, sub-collection, service document (`/agents`, `/vCloud`), report and query result (with its
PagingInfo links), in XML and in v13 JSON, GETs every href it meets. Navigation links answer 200; action links
(`?action=...`) answer 405; an action Rel whose href is a resource (Edit/Delete = the resource itself, Create =
its list) answers 200. Nothing answers 404 -- except the one real-server quirk reproduced on purpose: a
DiscoveredComputer entity's own Href is `/backupTaskSessions/{its id}?format=Entity` (reference §5.2), which no
server can serve; its Alternate link is right -- and nothing points off the simulator's origin."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

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


# Served but not linked from a LogonSession (the reference's sample has no link to them).
UNLINKED = ("systemSessions", "cloud/tenants")


class DirectGet:
    """GETs straight into the ASGI app, as httpx.ASGITransport builds them, without httpx's own per-request
    work: the walk makes some 21,000 of them per representation (the logon still goes through httpx)."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def get(self, href: str) -> tuple[int, bytes]:
        parts = urlsplit(href)
        host, _, port = parts.netloc.partition(":")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": parts.scheme, "path": unquote(parts.path), "raw_path": parts.path.encode("ascii"),
            "query_string": parts.query.encode("ascii"), "root_path": "",
            "headers": [(b"host", parts.netloc.encode("ascii")), *self.headers],
            "client": ("127.0.0.1", 50000), "server": (host, int(port or 80)),
        }
        status = 0
        chunks: list[bytes] = []
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if requested:
                return {"type": "http.disconnect"}
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


async def walk(dataset: Dataset, accept: str, dialect: str) -> tuple[int, set[str], set[str]]:
    """GET every reachable href; returns (GETs, URL shapes served 200, URL shapes answered 405 -- action links --
    or, prefixed "404 ", the DiscoveredComputer self-Href quirk)."""
    app = create_app(SimulatorConfig(json_dialect=dialect), dataset)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        logon = await c.post("/api/sessionMngr/?v=latest", auth=("DEMO\\demo", "demo-password"),
                             headers={"Accept": accept})
        assert logon.status_code == 201
        direct = DirectGet(app, {"X-RestSvcSessionId": logon.headers["X-RestSvcSessionId"], "Accept": accept})

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
        push(iter([(f"{ORIGIN}/api/", "Self"), *((f"{ORIGIN}/api/{path}", "Self") for path in UNLINKED)]), "start")
        for row in DEFAULT_REGISTRY.query_rows():
            push(iter([(f"{ORIGIN}/api/query?type={row.type_name}", "Self"),
                       (f"{ORIGIN}/api/query?type={row.type_name}&format=Entities&pageSize=40", "Self")]), "query")
        served: set[str] = set()
        refused: set[str] = set()
        gets = 0
        while queue:
            href, rel, source = queue.popleft()
            status, content = await direct.get(href)
            gets += 1
            parts = urlsplit(href)
            if "action=" in parts.query:
                assert status == 405, (href, rel, source, status)
                refused.add(shape(parts.path))
                continue
            if rel in ACTION_RELS and status == 405:
                refused.add(shape(parts.path))
                continue
            if rel == "Self" and parts.path.startswith("/api/backupTaskSessions/") and \
                    parts.path.rsplit("/", 1)[1] in dataset.discovered_computers:
                # The real v12 quirk: a DiscoveredComputer's own Href names a backup task session.
                assert status == 404 and b"Cannot find backup task session" in content, (href, source)
                refused.add("404 " + shape(parts.path))
                continue
            assert status == 200, (href, rel, source, status, content[:300])
            served.add(shape(parts.path))
            push(links_of(content), href)
        return gets, served, refused


@pytest.mark.parametrize(("accept", "dialect"), [("application/xml", "9.5"), ("application/json", "13")])
async def test_every_advertised_link_is_served(sim_dataset: Dataset, accept: str, dialect: str) -> None:
    # The default estate: about 21,000 distinct hrefs (12,000 of them from the coverage phase, 8,700 of those
    # EM's system sessions), each GET in-process in well under a millisecond.
    gets, served, refused = await walk(sim_dataset, accept, dialect)
    # The walk really went everywhere: every collection row, its items and its sub-collections.
    for row in DEFAULT_REGISTRY.rows:
        if row.segment is None:
            continue
        assert f"/api/{row.segment}" in served, row.segment
        # A subset collection (agents/backups...) links its items at their own collection.
        if row.items(sim_dataset) and row.canonical is None:
            assert f"/api/{row.segment}/{{id}}" in served, row.segment
            for child in row.children:
                assert f"/api/{row.segment}/{{id}}/{child.segment}" in served, (row.segment, child.segment)
    for path in ("/api/", "/api/jobs/{id}/includes/{id}", "/api/reports/summary", "/api/reports/summary/repository",
                 "/api/query", "/api/logonSessions", "/api/logonSessions/{id}", "/api/agents", "/api/vCloud",
                 "/api/jobs/{id}/linkedJobs/{id}", "/api/agents/jobs/{id}/includes/{id}",
                 "/api/systemSessions/{id}/events", "/api/agents/agentRestorePoints/{id}/mounts"):
        assert path in served, path
    assert {"/api/jobs/{id}", "/api/backupSessions/{id}", "/api/vmRestorePoints/{id}", "/api/sessionMngr/",
            "/api/vmReplicaPoints/{id}", "/api/agents/jobs/{id}", "404 /api/backupTaskSessions/{id}"} <= refused
    assert gets > 5000
