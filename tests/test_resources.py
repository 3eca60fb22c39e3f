"""Resources (a restore point by URI, the connected EM), vm_name completions, and the tool allow-list."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from veeam_em_mcp.representation.query import quote_value
from veeam_em_mcp.services import completion
from veeam_em_mcp.surface.server import build_server

from .conftest import PASSWORD, SIM_ORIGIN, SQL01_POINT, McpFactory, make_settings

pytestmark = pytest.mark.anyio

RECOVERABILITY = PromptReference(type="ref/prompt", name="vm_recoverability_report")


async def test_restore_point_template_is_listed(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        templates = (await client.list_resource_templates()).resource_templates
    template = next(t for t in templates if t.uri_template == "veeam-em://vmRestorePoints/{id}")
    assert template.mime_type == "application/json"
    assert template.description


@pytest.mark.parametrize("em_format", ["xml", "json"])
async def test_restore_point_resource_matches_the_tool(mcp_session: McpFactory, em_format: str) -> None:
    async with mcp_session(env={"VEEAM_EM_FORMAT": em_format}) as client:
        read = await client.read_resource(f"veeam-em://vmRestorePoints/{SQL01_POINT}")
        tool = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
    (content,) = read.contents
    assert content.mime_type == "application/json"
    assert content.uri == f"veeam-em://vmRestorePoints/{SQL01_POINT}"
    point = json.loads(content.text)
    assert point["id"] == SQL01_POINT
    assert point["vm_name"] == "sql01"
    assert point == tool.structured_content


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        ("00000000-0000-4000-8000-000000000000", "No VM restore point"),
        ("not-a-guid", "not a valid identifier"),
    ],
)
async def test_restore_point_resource_errors_say_what_to_do(
    mcp_session: McpFactory, identifier: str, expected: str
) -> None:
    async with mcp_session() as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource(f"veeam-em://vmRestorePoints/{identifier}")
    assert expected in str(raised.value)


async def test_path_traversal_in_the_template_is_rejected(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        with pytest.raises(MCPError):
            await client.read_resource("veeam-em://vmRestorePoints/..%2F..%2Fsecret")


async def test_enterprise_manager_resource_describes_the_connection_without_the_password(
    mcp_session: McpFactory,
) -> None:
    async with mcp_session() as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        read = await client.read_resource("veeam-em://enterpriseManager")
    assert "veeam-em://enterpriseManager" in listed
    text = read.contents[0].text
    assert PASSWORD not in text
    described = json.loads(text)
    assert described["url"] == f"{SIM_ORIGIN}/api"
    assert described["username"] == "DEMO\\demo"
    assert described["api_versions"] == ["v1_5", "v1_6", "v1_7"]
    assert described["newest_api_version"] == "v1_7"
    assert described["read_only"] is True
    assert "password" not in {key.lower() for key in described}


async def test_enterprise_manager_resource_reports_an_unreachable_em() -> None:
    # A URL nothing listens on: the resource still answers, and says what is wrong.
    settings = make_settings("http://127.0.0.1:1", env={"VEEAM_EM_RETRIES": "1"})
    async with Client(build_server(settings)) as client:
        described = json.loads((await client.read_resource("veeam-em://enterpriseManager")).contents[0].text)
    assert described["api_versions"] is None
    assert "Cannot connect" in described["error"]
    assert "check_connection" in described["error"]


async def complete(client: Any, value: str, ref: Any = RECOVERABILITY, name: str = "vm_name") -> list[str]:
    result = await client.complete(ref, {"name": name, "value": value})
    return list(result.completion.values)


async def test_vm_name_completion_offers_matching_vms(mcp_session: McpFactory, dataset: Any) -> None:
    names = dataset.vm_names()
    async with mcp_session() as client:
        sql = await complete(client, "sql")
        upper = await complete(client, "SQL0")
        everything = await complete(client, "")
        nothing = await complete(client, "zz-no-such-vm")
        awkward = await complete(client, 'a"')
        comma = await complete(client, "web,")
    assert "sql01" in sql and all(n.lower().startswith("sql") for n in sql)
    assert sql == sorted(sql, key=str.casefold)
    assert upper == sql
    assert set(everything) == set(names)
    assert nothing == []
    assert awkward == ['a";Name!="x']
    assert comma == ["web,db (old)"]


async def test_completion_of_other_arguments_is_empty(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        template = ResourceTemplateReference(type="ref/resource", uri="veeam-em://vmRestorePoints/{id}")
        assert await complete(client, "6c", ref=template, name="id") == []
        assert await complete(client, "2", name="rpo_hours") == []


async def test_completion_uses_a_range_query_when_the_sample_is_partial(
    mcp_session: McpFactory, monkeypatch: pytest.MonkeyPatch, sim_app: Any
) -> None:
    # Sample only the 3 newest points: names beyond them must come from EM's VmName>= query.
    monkeypatch.setattr(completion, "NAME_SAMPLE_POINTS", 3)
    async with mcp_session() as client:
        first = await complete(client, "fileserver")
        again = await complete(client, "fileserver")
    assert "fileserver02" in first
    assert again == first
    queries = [path for _, path in sim_app.state.sim.request_log if "VmName%3E%3D" in path or "VmName>=" in path]
    assert len(queries) == 1, "a repeated prefix is answered from the cache"


async def test_completion_survives_an_unreachable_em() -> None:
    settings = make_settings("http://127.0.0.1:1", env={"VEEAM_EM_RETRIES": "1"})
    async with Client(build_server(settings)) as client:
        assert await complete(client, "sql") == []


def test_filter_values_are_quoted_with_doubled_quotes() -> None:
    assert quote_value('a";Name!="x') == '"a"";Name!=""x"'
    assert quote_value("web,db (old)") == '"web,db (old)"'


# --- VEEAM_MCP_TOOLS ---------------------------------------------------------------------------


async def test_tool_allow_list_exposes_only_the_named_tools(mcp_session: McpFactory) -> None:
    async with mcp_session(env={"VEEAM_MCP_TOOLS": "get_vm_restore_point, check_connection"}) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        hidden = await client.call_tool("follow_link", {"href": f"{SIM_ORIGIN}/api/backupServers"})
        shown = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        prompts = (await client.list_prompts()).prompts
    assert names == {"get_vm_restore_point", "check_connection"}
    assert hidden.is_error
    assert not shown.is_error
    assert prompts, "the allow-list limits tools only"


async def test_tool_allow_list_warns_about_unknown_names(
    mcp_session: McpFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="veeam_em_mcp.server"):
        async with mcp_session(env={"VEEAM_MCP_TOOLS": "follow_link,get_restore_points"}) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
    assert names == {"follow_link"}
    assert "get_restore_points" in caplog.text


async def test_without_an_allow_list_every_tool_is_exposed(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert {"get_vm_restore_point", "follow_link", "check_connection"} <= names
