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
    assert point["uid"] == f"urn:veeam:VmRestorePoint:{SQL01_POINT}"
    assert point["vm_name"] == "sql01"
    assert point["platform"] == "VMware"
    assert point["creation_time"].endswith("Z")
    assert point["algorithm"] in {"Full", "Incremental", "ReversedIncremental", "SyntheticFull"}
    assert point["point_type"] in {"Full", "Increment", "ReverseIncrement"}
    rels = sorted((link["rel"], link["type"]) for link in point["links"] if link["rel"] == "Up")
    assert [t for _, t in rels] == ["BackupFileReference", "BackupServerReference", "RestorePointReference"]


async def test_xml_and_json_modes_agree(mcp_session: McpFactory) -> None:
    answers = []
    for em_format in ("xml", "json"):
        async with mcp_session(env={"VEEAM_EM_FORMAT": em_format}) as client:
            answers.append(await call_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT}))
    assert answers[0] == answers[1]


async def test_follow_links_from_a_restore_point(mcp_session: McpFactory, dataset: Any) -> None:
    async with mcp_session() as client:
        point = await call_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        by_type = {link["type"]: link["href"] for link in point["links"] if link.get("type")}

        backup_file = await call_ok(client, "follow_link", {"href": by_type["BackupFileReference"]})
        assert backup_file["resource_kind"] == "BackupFile"
        assert backup_file["resource"]["kind"] == "BackupFile"
        assert backup_file["resource"]["file_type"] in {"vbk", "vib", "vrb"}
        assert backup_file["href"].endswith("?format=Entity")
        assert backup_file["resource"]["creation_time"]  # CreationTimeUtc spelling read

        server = await call_ok(client, "follow_link", {"href": by_type["BackupServerReference"]})
        assert server["resource"]["kind"] == "BackupServer"
        assert server["resource"]["name"] in {s.name for s in dataset.backup_servers.values()}

        parent = await call_ok(client, "follow_link", {"href": by_type["RestorePointReference"]})
        assert parent["resource"]["kind"] == "RestorePoint"
        children_href = next(
            link["href"] for link in parent["resource"]["links"] if link["href"].endswith("/vmRestorePoints")
        )
        children = await call_ok(client, "follow_link", {"href": children_href})
        assert children["resource"]["kind"] == "EntityReferences"
        assert SQL01_POINT in {ref["id"] for ref in children["resource"]["refs"]}
        assert children["truncated"] is False

        mounts = await call_ok(client, "follow_link", {"href": by_type["VmRestorePointMountList"]})
        assert mounts["resource"]["kind"] == "VmRestorePointMounts"

        backup_href = next(link["href"] for link in backup_file["resource"]["links"] if "/backups/" in link["href"])
        backup = await call_ok(client, "follow_link", {"href": backup_href})
        assert backup["resource"]["kind"] == "Backup"


async def test_large_collection_is_truncated_and_says_so(mcp_session: McpFactory) -> None:
    async with mcp_session(env={"VEEAM_MCP_MAX_RESULT_CHARS": "3000"}) as client:
        result = await call_ok(client, "follow_link", {"href": f"{SIM_ORIGIN}/api/vmRestorePoints"})
    assert result["truncated"] is True
    assert result["returned_items"] < result["total_items"]
    assert len(result["resource"]["refs"]) == result["returned_items"]
    assert "find_vm_restore_points" in result["note"]


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
        restore = next(link["href"] for link in point["links"] if link["rel"] == "Restore")
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
