"""``find_vm_restore_points`` and ``vm_recovery_summary`` through the official MCP client.

In-process (MCP client ↔ server ↔ simulator over ASGI) for the behaviour, and once over stdio with the
real console script (``veeam-em-mcp serve --demo``) for the done-when criterion. Expected answers come
from the simulator's dataset, never from the code under test.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema
import pytest
from mcp import Client, StdioServerParameters

from veeam_em_mcp.models.base import parse_timestamp
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.simulator.dataset.records import VmRestorePoint
from veeam_em_mcp.surface.server import build_server

from .conftest import SIM_ORIGIN, SQL01_POINT, McpFactory, make_settings
from .test_stdio_e2e import console_script

pytestmark = pytest.mark.anyio


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, text_of(result)
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    jsonschema.validate(result.structured_content, tools[name].output_schema)
    return dict(result.structured_content or {})


async def walk(client: Client, arguments: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every point of a query, following next_cursor; also returns each page's envelope."""
    points: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    for _ in range(500):
        data = await call(client, "find_vm_restore_points", arguments)
        pages.append(data)
        # Fields every point of a page shares are given once, in "shared": read them as part of every point.
        points += [{**(data.get("shared") or {}), **point} for point in data["restore_points"]]
        if not data.get("next_cursor"):
            return points, pages
        arguments = {"cursor": data["next_cursor"]}
    raise AssertionError("paging did not end")


@asynccontextmanager
async def session_over(dataset: Dataset, **overrides: Any) -> AsyncIterator[Client]:
    app = create_app(SimulatorConfig(), dataset)
    server = build_server(make_settings(**overrides), transport=httpx.ASGITransport(app=app), retry_base_delay=0.01)
    async with Client(server) as client:
        yield client


def newest_first(points: list[VmRestorePoint]) -> list[str]:
    return [p.id for p in sorted(points, key=lambda p: p.creation_ticks, reverse=True)]


@pytest.mark.parametrize("em_format", ["xml", "json"])
async def test_only_that_vms_points_newest_first_each_once(
    mcp_session: McpFactory, dataset: Dataset, em_format: str
) -> None:
    async with mcp_session(env={"VEEAM_EM_FORMAT": em_format}) as client:
        points, pages = await walk(client, {"vm_name": "SQL01", "page_size": 7})  # names match case-insensitively
    assert [p["id"] for p in points] == newest_first(dataset.points_by_vm["sql01"])
    assert {p["vm_name"] for p in points} == {"sql01"}
    assert points[0]["id"] == SQL01_POINT
    assert [page["page"] for page in pages] == list(range(1, len(pages) + 1))
    assert {page["pages_count"] for page in pages} == {len(pages)}
    assert [page["truncated"] for page in pages] == [True] * (len(pages) - 1) + [False], "more follow, until the last"
    assert pages[0]["query"]["em_filter"] == 'VmDisplayName=="SQL01"'


async def test_oldest_first(mcp_session: McpFactory, dataset: Dataset) -> None:
    async with mcp_session() as client:
        points, _ = await walk(client, {"vm_name": "fileserver02", "newest_first": False, "page_size": 10})
    assert [p["id"] for p in points] == [p.id for p in dataset.points_by_vm["fileserver02"]]


async def test_filters_match_the_dataset(mcp_session: McpFactory, dataset: Dataset) -> None:
    anchor = dataset.anchor
    after, before = anchor - timedelta(days=10), anchor - timedelta(days=3)
    server = next(s for s in dataset.backup_servers.values() if s.name == "vbr02.tech.local")

    def in_window(p: VmRestorePoint) -> bool:
        created = parse_timestamp(p.creation_time_utc)
        return after <= created < before

    async with mcp_session() as client:
        window, _ = await walk(
            client,
            {
                "vm_name": "sql01",
                # The same instants, written with an offset and without one (UTC assumed).
                "created_after": (after + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"),
                "created_before": before.strftime("%Y-%m-%dT%H:%M:%S"),
                "page_size": 100,
            },
        )
        fulls, _ = await walk(client, {"point_type": "Full", "backup_server": server.name, "page_size": 100})
        synthetic, _ = await walk(client, {"vm_name": "sql01", "algorithm": ["SyntheticFull"], "page_size": 100})
    assert [p["id"] for p in window] == newest_first([p for p in dataset.points_by_vm["sql01"] if in_window(p)])
    assert len(window) == 7
    expected_fulls = [
        p for p in dataset.vm_restore_points.values() if p.point_type == "Full" and p.backup_server_id == server.id
    ]
    assert {p["id"] for p in fulls} == {p.id for p in expected_fulls}
    assert len(fulls) == len(expected_fulls) > 0
    assert {p["id"] for p in synthetic} == {p.id for p in dataset.points_by_vm["sql01"] if p.algorithm == "SyntheticFull"}


async def test_truncation_says_so_and_the_cursor_loses_nothing(mcp_session: McpFactory, dataset: Dataset) -> None:
    limit = 6000
    async with mcp_session(env={"VEEAM_MCP_MAX_RESULT_CHARS": str(limit)}) as client:
        first = await client.call_tool("find_vm_restore_points", {"vm_name": "sql01", "page_size": 20})
        points, pages = await walk(client, {"vm_name": "sql01", "page_size": 20})
    assert len(text_of(first)) <= limit
    data = first.structured_content or {}
    assert data["truncated"] is True
    assert data["returned"] + data["held_back"] == 20
    assert data["returned"] >= 1 and data["next_cursor"]
    assert "VEEAM_MCP_MAX_RESULT_CHARS" in data["note"] and "cursor" in data["note"]
    # Walking the truncated pages still visits every point exactly once, in order.
    assert [p["id"] for p in points] == newest_first(dataset.points_by_vm["sql01"])
    assert any(page["skipped_on_page"] > 0 for page in pages)


async def test_every_tool_result_stays_under_the_limit(mcp_session: McpFactory) -> None:
    limit = 4000
    async with mcp_session(env={"VEEAM_MCP_MAX_RESULT_CHARS": str(limit)}) as client:
        results = [
            await client.call_tool("find_vm_restore_points", {"page_size": 100}),
            await client.call_tool("vm_recovery_summary", {"vm_name": "sql01"}),
            await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT}),
            await client.call_tool("follow_link", {"href": f"{SIM_ORIGIN}/api/vmRestorePoints"}),
        ]
        query_link = await client.call_tool(
            "follow_link", {"href": f"{SIM_ORIGIN}/api/query?type=VmRestorePoint&format=Entities&pageSize=100"}
        )
    for result in results:
        assert not result.is_error, text_of(result)
        assert len(text_of(result)) <= limit
    assert (results[0].structured_content or {})["truncated"] is True
    assert (results[3].structured_content or {})["truncated"] is True
    # A query link pages too: what fits, and a cursor to the rest of EM's page (never silently shortened).
    assert not query_link.is_error and len(text_of(query_link)) <= limit
    paged = query_link.structured_content or {}
    assert paged["truncated"] is True and paged["next_cursor"] and paged["returned"] >= 1


async def test_bad_cursor_and_contradicting_arguments_are_clear_errors(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        bad = await client.call_tool("find_vm_restore_points", {"cursor": "not-a-cursor"})
        first = await call(client, "find_vm_restore_points", {"vm_name": "sql01", "page_size": 5})
        same = await client.call_tool(
            "find_vm_restore_points", {"cursor": first["next_cursor"], "vm_name": "sql01", "page_size": 5}
        )
        other = await client.call_tool("find_vm_restore_points", {"cursor": first["next_cursor"], "vm_name": "sql02"})
        bad_date = await client.call_tool("find_vm_restore_points", {"created_after": "last friday"})
        bad_size = await client.call_tool("find_vm_restore_points", {"page_size": 101})
    assert bad.is_error and "not one this server issued" in text_of(bad)
    assert not same.is_error
    assert other.is_error and "vm_name='sql01'" in text_of(other)
    assert bad_date.is_error and "ISO 8601" in text_of(bad_date)
    assert bad_size.is_error


async def test_nothing_found_says_why(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        data = await call(client, "find_vm_restore_points", {"vm_name": "sql0"})
        summary = await call(client, "vm_recovery_summary", {"vm_name": "sql0"})
    assert data["restore_points"] == [] and data.get("next_cursor") is None
    assert "whole name" in data["note"]
    assert summary["restore_point_count"] == 0 and summary["rpo_met"] is False and "newest" not in summary


# --- the summary ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def current_dataset() -> Dataset:
    """Anchored at the current hour: the summary measures ages against the real clock."""
    return build_dataset(anchor=datetime.now(UTC).replace(minute=0, second=0, microsecond=0))


def nearest_full(points: list[VmRestorePoint]) -> VmRestorePoint:
    return next(p for p in sorted(points, key=lambda p: p.creation_ticks, reverse=True) if p.point_type == "Full")


@pytest.mark.parametrize(("vm", "met"), [("sql01", True), ("fileserver02", False)])
async def test_recovery_summary_rpo(current_dataset: Dataset, vm: str, met: bool) -> None:
    points = current_dataset.points_by_vm[vm]
    newest, oldest = points[-1], points[0]
    async with session_over(current_dataset) as client:
        summary = await call(client, "vm_recovery_summary", {"vm_name": vm})
        strict = await call(client, "vm_recovery_summary", {"vm_name": vm, "rpo_hours": 0.01})
    assert summary["rpo_met"] is met
    assert strict["rpo_met"] is False and strict["hours_over_rpo"] > 0
    assert summary["newest"]["id"] == newest.id
    assert summary["oldest"]["id"] == oldest.id
    assert summary["restore_point_count"] == len(points)
    age = (datetime.now(UTC) - parse_timestamp(newest.creation_time_utc)).total_seconds() / 3600
    assert summary["newest"]["age_hours"] == pytest.approx(age, abs=0.05)
    if met:
        assert summary["hours_over_rpo"] == 0 and summary["newest"]["age_hours"] <= 24
    else:
        assert summary["hours_over_rpo"] == pytest.approx(age - 24, abs=0.05) and "past the 24 h RPO" in summary["note"]
    base = nearest_full(points)
    assert summary["chain"]["found"] is True
    assert summary["chain"]["base_full"]["id"] == base.id
    assert summary["chain"]["points_after_full"] == sum(p.creation_ticks > base.creation_ticks for p in points)
    server = current_dataset.backup_servers[newest.backup_server_id]
    assert summary["backup_server"]["name"] == server.name
    assert summary["backup_server"]["href"].endswith(f"/api/backupServers/{server.id}")
    assert summary["backup_file"]["href"].endswith(f"/api/backupFiles/{newest.backup_file_id}")
    assert summary["backup_file"]["name"] == current_dataset.backup_files[newest.backup_file_id].name


async def test_reverse_incremental_newest_is_its_own_full(current_dataset: Dataset) -> None:
    async with session_over(current_dataset) as client:
        summary = await call(client, "vm_recovery_summary", {"vm_name": "web,db (old)"})
    assert summary["newest"]["point_type"] == "Full"
    assert summary["chain"]["base_full"]["id"] == summary["newest"]["id"]
    assert summary["chain"]["points_after_full"] == 0


async def test_summary_walks_pages_and_reports_progress() -> None:
    # 250 days of daily points: three EM pages of 100 for one VM.
    long_history = build_dataset(anchor=datetime(2026, 11, 20, 12, tzinfo=UTC), vm_count=5, days=250)
    points = long_history.points_by_vm["sql01"]
    assert len(points) > 200
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with session_over(long_history) as client:
        result = await client.call_tool("vm_recovery_summary", {"vm_name": "sql01"}, progress_callback=on_progress)
    assert not result.is_error, text_of(result)
    summary = result.structured_content or {}
    assert summary["restore_point_count"] == len(points)
    assert summary["oldest"]["id"] == points[0].id
    assert summary["pages_read"] >= 2
    assert len(seen) >= 2
    assert [p for p, _, _ in seen] == sorted({p for p, _, _ in seen})  # strictly increasing
    assert seen[-1][0] == seen[-1][1] == 3
    assert all(message for _, _, message in seen)


# --- over stdio, with the real console script and its embedded demo simulator ------------------------------


async def test_find_over_stdio_with_the_demo() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_"))}
    params = StdioServerParameters(command=console_script(), args=["serve", "--demo"], env=env)
    async with Client(params, read_timeout_seconds=60) as client:
        small_pages, pages = await walk(client, {"vm_name": "sql01", "page_size": 6})
        # Large pages are cut to fit the default size limit; their cursors must give the same sequence.
        large_pages, _ = await walk(client, {"vm_name": "sql01", "page_size": 100})
    ids = [p["id"] for p in small_pages]
    assert len(ids) == len(set(ids)) >= 20
    assert {p["vm_name"] for p in small_pages} == {"sql01"}
    times = [parse_timestamp(p["creation_time"]) for p in small_pages]
    assert times == sorted(times, reverse=True)
    assert ids[0] == SQL01_POINT
    assert len(pages) == pages[0]["pages_count"]
    assert [p["id"] for p in large_pages] == ids
