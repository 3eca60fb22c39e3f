"""Every tool through the official MCP client, in-process, against the simulator."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from mcp import Client

from .conftest import SIM_ORIGIN, SQL01_POINT, McpFactory
from .hostile_hrefs import HOSTILE_HREFS

pytestmark = pytest.mark.anyio


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def schema_of(client: Client, name: str) -> dict[str, Any]:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    schema = tools[name].output_schema
    assert schema is not None
    return schema


async def call_ok(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    jsonschema.validate(result.structured_content, await schema_of(client, name))
    return dict(result.structured_content)


@pytest.mark.parametrize("em_format", ["xml", "json"])
@pytest.mark.parametrize(
    "identifier",
    [SQL01_POINT, f"urn:veeam:VmRestorePoint:{SQL01_POINT}", f"{SIM_ORIGIN}/api/vmRestorePoints/{SQL01_POINT}"],
)
async def test_get_vm_restore_point(mcp_session: McpFactory, em_format: str, identifier: str) -> None:
    async with mcp_session(env={"VEEAM_EM_FORMAT": em_format}) as client:
        point = await call_ok(client, "get_vm_restore_point", {"restore_point_id": identifier})
    assert point["kind"] == "VmRestorePoint"
    assert point["id"] == SQL01_POINT
    assert "uid" not in point, "urn:veeam:VmRestorePoint:<id> is derivable from the id"
    assert "href" not in point, "the canonical path is derivable from the id"
    assert point["vm_name"] == "sql01"
    assert point["platform"] == "VMware"
    assert point["creation_time"].endswith("Z")
    assert point["algorithm"] in {"Full", "Incremental", "ReversedIncremental", "SyntheticFull"}
    assert point["point_type"] in {"Full", "Increment", "ReverseIncrement"}
    # The three Up links, grouped by what they lead to; the actions by name; no Alternate link.
    assert point["backup_server"]["href"].startswith("/api/backupServers/")
    assert point["restore_point"]["href"].startswith("/api/restorePoints/")
    assert point["backup_file"]["href"].startswith("/api/backupFiles/")
    assert point["actions"] == ["Restore", "Create mount"]
    assert point["collections"] == {"mounts": f"/api/vmRestorePoints/{SQL01_POINT}/mounts"}
    assert "other_links" not in point


async def test_xml_and_json_modes_agree(mcp_session: McpFactory) -> None:
    answers = []
    for em_format in ("xml", "json"):
        async with mcp_session(env={"VEEAM_EM_FORMAT": em_format}) as client:
            answers.append(await call_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT}))
    assert answers[0] == answers[1]


async def test_follow_links_from_a_restore_point(mcp_session: McpFactory, dataset: Any) -> None:
    async with mcp_session() as client:
        point = await call_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT})

        backup_file = await call_ok(client, "follow_link", {"href": point["backup_file"]["href"]})
        assert backup_file["resource_kind"] == "BackupFile"
        assert backup_file["resource"]["kind"] == "BackupFile"
        assert backup_file["resource"]["file_type"] in {"vbk", "vib", "vrb"}
        assert backup_file["href"].endswith("?format=Entity")
        assert backup_file["resource"]["creation_time"]  # CreationTimeUtc spelling read

        server = await call_ok(client, "follow_link", {"href": point["backup_server"]["href"]})
        assert server["resource"]["kind"] == "BackupServer"
        assert server["resource"]["name"] in {s.name for s in dataset.backup_servers.values()}

        parent = await call_ok(client, "follow_link", {"href": point["restore_point"]["href"]})
        assert parent["resource"]["kind"] == "RestorePoint"
        children_href = parent["resource"]["collections"]["vm_restore_points"]
        assert children_href.endswith("/vmRestorePoints")
        children = await call_ok(client, "follow_link", {"href": children_href})
        # A list below a resource comes in entity form: every item with its fields.
        assert children["resource"]["kind"] == "ResourceList"
        assert children["resource"]["item_type"] == "VmRestorePoint"
        assert SQL01_POINT in {item["id"] for item in children["resource"]["items"]}
        assert children["truncated"] is False
        assert children["total"] == children["returned"] == len(children["resource"]["items"])

        mounts = await call_ok(client, "follow_link", {"href": point["collections"]["mounts"]})
        assert mounts["resource"]["kind"] == "VmRestorePointMounts"

        backup = await call_ok(client, "follow_link", {"href": backup_file["resource"]["backup"]["href"]})
        assert backup["resource"]["kind"] == "Backup"


async def test_large_collection_is_truncated_and_says_so(mcp_session: McpFactory) -> None:
    async with mcp_session(env={"VEEAM_MCP_MAX_RESULT_CHARS": "3000"}) as client:
        result = await call_ok(client, "follow_link", {"href": f"{SIM_ORIGIN}/api/vmRestorePoints"})
    # A top-level collection is read through EM's query service, a page at a time.
    assert result["resource_kind"] == "Query" and result["href"].startswith("/api/query?type=VmRestorePoint")
    assert result["truncated"] is True
    assert result["returned"] == len(result["resource"]["items"]) >= 1
    assert result["next_cursor"] and "follow_link(cursor=next_cursor)" in result["note"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"restore_point_id": "00000000-0000-0000-0000-000000000000"}, "No VM restore point with id 00000000"),
        ({"restore_point_id": "not-a-guid"}, "not a valid identifier"),
        ({"restore_point_id": "urn:veeam:BackupFile:6c958531-3177-4055-b0ce-dc4ef1ce6433"}, "not a valid identifier"),
        ({"restore_point_id": f"http://evil.example/api/vmRestorePoints/{SQL01_POINT}"}, "another host"),
    ],
)
async def test_errors_reach_the_model_and_the_server_keeps_serving(
    mcp_session: McpFactory, sim_app: Any, arguments: dict[str, Any], expected: str
) -> None:
    async with mcp_session() as client:
        result = await client.call_tool("get_vm_restore_point", arguments)
        assert result.is_error
        assert expected in text_of(result)
        assert (await call_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT}))["id"] == SQL01_POINT


async def test_malformed_ids_are_rejected_before_any_request(mcp_session: McpFactory, sim_app: Any) -> None:
    async with mcp_session() as client:
        await call_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        before = len(sim_app.state.sim.request_log)
        result = await client.call_tool("get_vm_restore_point", {"restore_point_id": "null"})
        assert result.is_error
        assert len(sim_app.state.sim.request_log) == before


async def test_hostile_links_are_refused_without_any_request(mcp_session: McpFactory, sim_app: Any) -> None:
    async with mcp_session() as client:
        await call_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        before = len(sim_app.state.sim.request_log)
        for href in HOSTILE_HREFS:
            result = await client.call_tool("follow_link", {"href": href})
            assert result.is_error, href
            assert "Refused to follow" in text_of(result) or "String should have at most" in text_of(result), href
        assert len(sim_app.state.sim.request_log) == before
        assert (await call_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT}))["id"] == SQL01_POINT


async def test_action_link_from_a_result_is_refused_with_the_reason(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        point = await call_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        assert "Restore" in point["actions"]  # the model learns the operation exists
        # ... and an action href written from it (EM's own form) is refused without a request.
        restore = f"/api/vmRestorePoints/{point['id']}?action=restore"
        result = await client.call_tool("follow_link", {"href": restore})
    assert result.is_error
    assert "read-only" in text_of(result)


async def test_wrong_password_is_a_clear_tool_error(mcp_session: McpFactory) -> None:
    async with mcp_session(env={"VEEAM_EM_PASSWORD": "hunter2-wrong"}) as client:
        result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
    assert result.is_error
    assert "rejected the logon" in text_of(result)
    assert "hunter2-wrong" not in text_of(result)


async def test_demo_mode_labels_results(mcp_session: McpFactory) -> None:
    async with mcp_session(demo=True) as client:
        result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
    assert text_of(result).startswith("DEMO DATA")
    assert result.structured_content is not None and result.structured_content["id"] == SQL01_POINT


async def test_tool_annotations(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
        assert tool.annotations.idempotent_hint is True
        assert tool.annotations.open_world_hint is True
        assert tool.annotations.destructive_hint is False
