"""Issue 18 in-process: the MCP Apps views (ui:// resources tied to tools), progress per EM page, cancellation
that stops EM reads, restore points as resource links, and the icon sent once.

Real parts only: the simulator over ASGI (its requests recorded as the server sends them), the server, and the
official ``mcp.Client``, advertising the Apps extension or not.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.extension import advertise
from mcp.types import ResourceLink, TextContent

from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.surface.apps import APP_MIME_TYPE, VIEWS
from veeam_em_mcp.surface.server import build_server
from veeam_em_mcp.surface.tools import ALL_TOOLS

from .conftest import SQL01_POINT, make_settings
from .http_server import console_script
from .recording import RecordingTransport

pytestmark = pytest.mark.anyio

UI = "io.modelcontextprotocol/ui"
APPS_CLIENT = advertise(UI, {"mimeTypes": [APP_MIME_TYPE]})
SERVER_INFO = "io.modelcontextprotocol/serverInfo"


@asynccontextmanager
async def session(
    dataset: Dataset, *, apps: bool = False, mode: str = "auto", **overrides: Any
) -> AsyncIterator[tuple[Client, RecordingTransport]]:
    recorder = RecordingTransport(httpx.ASGITransport(app=create_app(SimulatorConfig(), dataset)))
    server = build_server(make_settings(**overrides), transport=recorder, retry_base_delay=0.01)
    async with Client(server, mode=mode, extensions=[APPS_CLIENT] if apps else None) as client:  # type: ignore[arg-type]
        yield client, recorder


@pytest.fixture(scope="module")
def estate() -> Dataset:
    return build_dataset()  # anchored now: the demo's estate, as a user's first call sees it


@pytest.fixture(scope="module")
def large_estate() -> Dataset:
    return build_dataset(vm_count=3000, days=3)


# --- views: ui:// resources tied to tools --------------------------------------------------------------------


async def test_each_view_is_a_ui_resource_tied_to_its_tool(estate: Dataset) -> None:
    async with session(estate) as (client, _):
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        capabilities = client.server_capabilities.model_dump(by_alias=True, exclude_none=True)
        reads = {view.uri: await client.read_resource(view.uri) for view in VIEWS}
    assert capabilities["extensions"] == {UI: {}}
    with_view = {view.tool: view.uri for view in VIEWS}
    assert "protection_report" in with_view
    for name, tool in tools.items():
        ui = (tool.meta or {}).get("ui")
        if name in with_view:
            assert ui == {"resourceUri": with_view[name]}, name
        else:
            assert ui is None, f"{name} has no view but advertises {ui}"
    for uri, read in reads.items():
        assert resources[uri].mime_type == APP_MIME_TYPE
        (content,) = read.contents
        assert content.mime_type == APP_MIME_TYPE
        html = getattr(content, "text", "")
        assert html.lstrip().lower().startswith("<!doctype html>")
        # Self-contained: nothing loaded from anywhere (no external script, style, image, font or request).
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I), uri
        assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|EventSource|importScripts)\s*\(", html), uri
        assert "@import" not in html and "url(" not in html, uri
        assert "innerHTML" not in html, f"{uri}: EM's text must only ever be set as text"
        assert len(html.encode()) < 40_000, f"{uri} is {len(html.encode())} bytes"


# Tools whose answer does not depend on the second it is given (ages, as_of): the two calls must be equal.
@pytest.mark.parametrize("tool,arguments", [("list_repositories", {}), ("list_tenants", {}),
                                            ("get_vm_restore_point", {"restore_point_id": SQL01_POINT}),
                                            ("find_vm_restore_points", {"vm_name": "sql01"})])
async def test_a_host_with_the_extension_gets_the_same_result_as_one_without(
    estate: Dataset, tool: str, arguments: dict[str, Any]
) -> None:
    async with session(estate, apps=True) as (with_apps, _):
        viewed = await with_apps.call_tool(tool, arguments)
    async with session(estate) as (without, _):
        plain = await without.call_tool(tool, arguments)
    assert not plain.is_error
    assert viewed.structured_content == plain.structured_content
    assert [block.model_dump() for block in viewed.content] == [block.model_dump() for block in plain.content]


# --- progress per EM page, and cancellation ------------------------------------------------------------------


def query_pages(recorder: RecordingTransport) -> list[httpx.Request]:
    """The EM query-service requests that read a page of items (not a one-item probe or count)."""
    pages = []
    for request in recorder.requests:
        query = parse_qs(urlsplit(str(request.url)).query)
        if urlsplit(str(request.url)).path.endswith("/query") and query.get("pageSize", ["0"])[0] != "1":
            pages.append(request)
    return pages


async def test_protection_report_over_thousands_of_vms_reports_progress_per_em_page(large_estate: Dataset) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    # Pages of 200: the 3,000 VMs' sessions and points take several pages per window.
    async with session(large_estate, env={"VEEAM_EM_PAGE_SIZE": "200"}) as (client, recorder):
        result = await client.call_tool("protection_report", {"only_problems": True}, progress_callback=on_progress)
    assert not result.is_error, result.content
    report = result.structured_content or {}
    assert report["summary"]["vms"] >= 3000
    pages = query_pages(recorder)
    assert len(pages) >= 10, f"only {len(pages)} EM pages: the estate is too small to show progress per page"
    assert len(seen) >= len(pages), f"{len(seen)} progress notifications for {len(pages)} EM pages"
    values = [progress for progress, _, _ in seen]
    assert values == sorted(set(values)), "progress must increase with every notification"
    assert all(total is not None and total >= progress for progress, total, _ in seen)
    assert all(message and "EM pages read" in message for _, _, message in seen)
    assert values[-1] <= report["em_requests"]


@pytest.mark.parametrize("tool", [spec.name for spec in ALL_TOOLS if spec.name in {
    "find_job_sessions", "find_task_sessions", "list_jobs", "list_repositories", "find_restore_sessions",
    "list_backup_servers", "list_tenants"}])
async def test_every_tool_reading_several_pages_reports_them(large_estate: Dataset, tool: str) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with session(large_estate, env={"VEEAM_EM_PAGE_SIZE": "100"}) as (client, recorder):
        result = await client.call_tool(tool, {}, progress_callback=on_progress)
    assert not result.is_error, result.content
    windows = [r for r in query_pages(recorder) if "SystemSession" not in str(r.url)]
    # Every page of a query window is reported (freshness's one-page SystemSession look-up, outside the window
    # reader, is not); a client that asked sees movement on every tool that reads more than one page.
    assert len(seen) >= (len(windows) if len(windows) > 2 else 1), f"{tool}: {len(seen)} for {len(windows)} pages"
    assert seen == sorted(set(seen))


def em_gets(recorder: RecordingTransport) -> int:
    """The EM GETs a call made (the logon is a POST; every GET reads something the answer is built from)."""
    return sum(1 for request in recorder.requests if request.method == "GET")


# Every tool whose call makes more than one EM GET, with its arguments (vm_recovery_summary reports its own steps).
@pytest.mark.parametrize("tool,arguments", [
    ("get_vm_restore_point", {"restore_point_id": SQL01_POINT}),
    ("find_vm_restore_points", {"vm_name": "sql01"}),
    ("protection_report", {}),
    ("find_job_sessions", {}),
    ("find_task_sessions", {}),
    ("list_jobs", {}),
    ("list_repositories", {}),
    ("list_backup_servers", {}),
    ("list_tenants", {}),
    ("find_restore_sessions", {}),
    ("get_job_session", None),  # the newest failed run of the estate the test serves
])
async def test_every_em_request_of_a_multi_request_tool_is_reported(
    estate: Dataset, tool: str, arguments: dict[str, Any] | None
) -> None:
    if arguments is None:
        failed = [run for run in estate.job_sessions.values() if run.result == "Failed"]
        arguments = {"session_id": max(failed, key=lambda run: run.creation_ticks).id}
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with session(estate) as (client, recorder):
        await client.call_tool("check_connection", {})  # the logon and its probes, outside the measured call
        recorder.requests.clear()
        result = await client.call_tool(tool, arguments, progress_callback=on_progress)
    assert not result.is_error, result.content
    gets = em_gets(recorder)
    assert gets > 1, f"{tool} made {gets} EM GET: it does not belong in this test"
    # Not only the query reader's pages: single resources, one-page queries and summary reports count too.
    assert [progress for progress, _ in seen] == list(range(1, gets + 1)), f"{tool}: {seen} for {gets} GETs"
    assert all(total is not None and total >= progress for progress, total in seen)


# The tools that read many pages of a large estate (a cancellation needs pages still to read to be seen).
@pytest.mark.parametrize("tool,arguments", [
    ("protection_report", {"only_problems": True}),
    ("find_task_sessions", {}),
    ("find_job_sessions", {}),
    ("list_jobs", {}),
])
async def test_a_cancelled_call_makes_no_further_em_request(
    large_estate: Dataset, tool: str, arguments: dict[str, Any]
) -> None:
    async with session(large_estate, env={"VEEAM_EM_PAGE_SIZE": "100"}) as (client, recorder):
        full = await client.call_tool(tool, arguments)
        assert not full.is_error
        whole = len(recorder.requests)
        recorder.requests.clear()

        started = anyio.Event()

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            if progress >= 3:
                started.set()

        async with anyio.create_task_group() as group:
            scope = anyio.CancelScope()

            async def call() -> None:
                with scope:
                    await client.call_tool(tool, arguments, progress_callback=on_progress)

            group.start_soon(call)
            with anyio.fail_after(30):
                await started.wait()
            scope.cancel()
        await anyio.sleep(0.3)  # the cancellation reaches the server
        made = len(recorder.requests)
        await anyio.sleep(1.0)
        assert len(recorder.requests) == made, f"{len(recorder.requests) - made} EM requests after the cancellation"
        assert made < whole, f"the cancelled call made {made} requests, as many as a whole call ({whole})"
        again = await client.call_tool("list_repositories", {})  # the server still serves
        assert not again.is_error


# --- resource links and the icon ----------------------------------------------------------------------------


async def test_restore_points_come_as_resource_links_a_client_can_open(estate: Dataset) -> None:
    async with session(estate) as (client, _):
        one = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        found = await client.call_tool("find_vm_restore_points", {"vm_name": "sql01", "page_size": 5})
        summary = await client.call_tool("vm_recovery_summary", {"vm_name": "sql01"})
        (link,) = [block for block in one.content if isinstance(block, ResourceLink)]
        opened = await client.read_resource(str(link.uri))
    assert isinstance(one.content[0], TextContent)  # the JSON first, unchanged; links beside it
    assert str(link.uri) == f"veeam-em://vmRestorePoints/{SQL01_POINT}"
    assert json.loads(getattr(opened.contents[0], "text", "{}"))["id"] == SQL01_POINT
    points = (found.structured_content or {})["restore_points"]
    assert [str(b.uri) for b in found.content if isinstance(b, ResourceLink)] == [
        f"veeam-em://vmRestorePoints/{p['id']}" for p in points
    ]
    data = summary.structured_content or {}
    linked = {str(b.uri).rsplit("/", 1)[1] for b in summary.content if isinstance(b, ResourceLink)}
    assert data["newest"]["id"] in linked and data["oldest"]["id"] in linked
    assert data["chain"]["base_full"]["id"] in linked


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_icon_is_sent_once_in_discovery_not_in_every_result(estate: Dataset, mode: str) -> None:
    async with session(estate, mode=mode) as (client, _):
        assert client.server_info is not None and client.server_info.icons  # initialize / server/discover
        result = await client.call_tool("list_repositories", {})
        listed = await client.list_tools()
    for answer in (result, listed):
        stamp = (answer.meta or {}).get(SERVER_INFO)
        if mode == "auto":
            assert stamp is not None and stamp["name"] == "veeam-em-mcp", "the 2026-07-28 identity stamp stays"
            assert "icons" not in stamp
        wire = json.dumps(answer.model_dump(by_alias=True, mode="json"))
        assert "data:image/png" not in wire


async def test_progress_reaches_a_client_over_stdio() -> None:
    """The same notifications as JSON-RPC ``notifications/progress`` from the console script (pages of 10)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_"))}
    env.update({"VEEAM_EM_PAGE_SIZE": "10", "VEEAM_MCP_LOG_LEVEL": "WARNING"})
    command = console_script()
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    params = StdioServerParameters(command=command[0], args=[*command[1:], "serve", "--demo"], env=env)
    async with Client(params, read_timeout_seconds=60) as client:
        result = await client.call_tool("protection_report", {}, progress_callback=on_progress)
    assert not result.is_error
    values = [progress for progress, _, _ in seen]
    assert len(values) >= 10 and values == sorted(set(values))
    assert values[-1] <= (result.structured_content or {})["em_requests"]
