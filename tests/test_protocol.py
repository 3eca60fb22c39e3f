"""MCP protocol behaviour (``protocol.py`` and what it installs) through the official ``mcp.Client``, in both eras.

- capabilities: ``initialize`` (2025-11-25) and ``server/discover`` (2026-07-28) say the same, and
  every capability they advertise is served;
- logging: ``logging/setLevel`` at the handshake era, the ``_meta`` opt-in at 2026-07-28; the
  server's own warnings (a retried 503, a failed call) arrive at or above the requested level only,
  and nothing secret is in them;
- resource subscriptions: subscribe/unsubscribe, and ``notifications/resources/updated`` for
  ``veeam-em://enterpriseManager`` when the first tool call logs on (both eras);
- protocol mistakes: unknown prompt / resource / completion reference are -32602 with the valid
  names and no traceback; invalid tool arguments are an ``isError`` text a model can act on.

The server talks to the simulator in-process; faults come from the simulator's own fault injection.
"""

from __future__ import annotations

import base64
import logging
import os
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    LoggingMessageNotificationParams,
    PromptReference,
    ResourceTemplateReference,
    ResourceUpdatedNotification,
)

from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.apps import VIEWS
from veeam_em_mcp.surface.client_logs import MAX_LOG_MESSAGES_PER_REQUEST
from veeam_em_mcp.surface.mistakes import describe_schema
from veeam_em_mcp.surface.resources import ENTERPRISE_MANAGER_URI
from veeam_em_mcp.surface.server import build_server
from veeam_em_mcp.surface.tools import ALL_TOOLS

from .conftest import PASSWORD, SQL01_POINT, USERNAME, make_settings
from .http_server import console_script

# Logging and resources/subscribe are deprecated at 2026-07-28 but are what handshake-era clients use.
pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]

MISSING_POINT = "00000000-0000-0000-0000-000000000000"
PROMPTS = ["explain_backup_chain", "investigate_restore_point", "morning_backup_check", "vm_recoverability_report"]
EXPECTED_CAPABILITIES = {
    "completions": {},
    "logging": {},
    "prompts": {"listChanged": False},
    "resources": {"subscribe": True, "listChanged": False},
    "tools": {"listChanged": False},
}


class Inbox:
    """What the server sent outside results: log messages and other notifications."""

    def __init__(self) -> None:
        self.logs: list[LoggingMessageNotificationParams] = []
        self.updated: list[str] = []

    async def log(self, params: LoggingMessageNotificationParams) -> None:
        self.logs.append(params)

    async def message(self, message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            self.updated.append(message.params.uri)


@asynccontextmanager
async def connect(sim_app: Any, mode: str = "legacy", **client_options: Any) -> AsyncIterator[tuple[Client, Inbox]]:
    server = build_server(make_settings(), transport=httpx.ASGITransport(app=sim_app), retry_base_delay=0.01)
    inbox = Inbox()
    async with Client(
        server, mode=mode, logging_callback=inbox.log, message_handler=inbox.message, **client_options
    ) as client:
        yield client, inbox


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def capabilities(client: Client) -> dict[str, Any]:
    return client.server_capabilities.model_dump(by_alias=True, mode="json", exclude_none=True)


# --- capabilities ----------------------------------------------------------------------------------


async def test_initialize_and_discover_advertise_the_same_capabilities(sim_app: Any) -> None:
    async with connect(sim_app, mode="legacy") as (legacy, _):
        assert legacy.protocol_version == "2025-11-25"
        handshake = capabilities(legacy)
    async with connect(sim_app, mode="auto") as (modern, _):
        assert modern.protocol_version == "2026-07-28"
        discovered = capabilities(modern)
    # The MCP Apps extension (views, issue 18) is a 2026-07-28 capability: the 2025-11-25 schema has no
    # `extensions`, and the SDK's per-version sieve leaves it out there (tools still carry `_meta.ui`).
    assert discovered == {**EXPECTED_CAPABILITIES, "extensions": {"io.modelcontextprotocol/ui": {}}}
    assert handshake == EXPECTED_CAPABILITIES


async def test_every_advertised_capability_is_served_at_the_handshake_era(sim_app: Any) -> None:
    async with connect(sim_app) as (client, _):
        assert (await client.set_logging_level("warning")).model_dump(exclude_none=True) == {}
        await client.subscribe_resource(ENTERPRISE_MANAGER_URI)
        await client.unsubscribe_resource(ENTERPRISE_MANAGER_URI)
        await client.unsubscribe_resource(ENTERPRISE_MANAGER_URI)  # unsubscribing twice is no mistake
        completion = await client.complete(
            PromptReference(type="ref/prompt", name="vm_recoverability_report"), {"name": "vm_name", "value": "sql"}
        )
        assert "sql01" in completion.completion.values
        assert [tool.name for tool in (await client.list_tools()).tools] == [spec.name for spec in ALL_TOOLS]
        assert [prompt.name for prompt in (await client.list_prompts()).prompts] == PROMPTS


async def test_the_server_shows_its_icon(sim_app: Any) -> None:
    async with connect(sim_app) as (client, _):
        info = client.server_info
    assert info is not None and info.icons
    (icon,) = info.icons
    assert icon.mime_type == "image/png" and icon.sizes == ["128x128"]
    header, _, data = icon.src.partition(",")
    assert header == "data:image/png;base64"
    png = base64.b64decode(data)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (128, 128)  # the IHDR width and height


# --- logging -------------------------------------------------------------------------------------


async def test_set_level_brings_the_servers_warnings_to_the_client(sim_app: Any) -> None:
    async with connect(sim_app) as (client, inbox):
        before = await client.call_tool("get_vm_restore_point", {"restore_point_id": MISSING_POINT})
        assert before.is_error and not inbox.logs, "nothing is sent before the client asks"

        await client.set_logging_level("warning")
        (fault,) = sim_app.state.sim.faults.set("status=503:1,method=GET,path=/api/vmRestorePoints")
        retried = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        failed = await client.call_tool("get_vm_restore_point", {"restore_point_id": MISSING_POINT})
    assert fault.fired == 1 and not retried.is_error and failed.is_error
    messages = [(log.level, log.logger, str(log.data)) for log in inbox.logs]
    assert [level for level, _, _ in messages] == ["warning", "warning"], messages
    assert messages[0][1] == "veeam_em_mcp.client" and "failed (HTTP 503); retrying" in messages[0][2]
    assert messages[1][1] == "veeam_em_mcp.tools" and MISSING_POINT in messages[1][2]
    for _, _, text in messages:
        assert PASSWORD not in text and "Traceback" not in text


async def test_records_below_the_requested_level_are_not_sent(sim_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="veeam_em_mcp")  # the logon is logged at INFO: make it exist
    async with connect(sim_app) as (client, inbox):
        await client.set_logging_level("error")
        sim_app.state.sim.faults.set("status=503:1,method=GET,path=/api/vmRestorePoints")
        await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        assert inbox.logs == []
        await client.set_logging_level("info")
        await client.call_tool("get_vm_restore_point", {"restore_point_id": MISSING_POINT})
    assert any("logged on" in record.getMessage() for record in caplog.records), "the INFO record was made"
    assert [log.level for log in inbox.logs] == ["warning"], "the logon happened earlier, at level error"


async def test_the_2026_era_sends_logs_to_requests_that_opt_in(sim_app: Any) -> None:
    async with connect(sim_app, mode="auto") as (silent, inbox):
        await silent.call_tool("get_vm_restore_point", {"restore_point_id": MISSING_POINT})
        assert inbox.logs == []
        with pytest.raises(MCPError) as refused:
            await silent.set_logging_level("info")
        assert refused.value.error.code == -32601, "logging/setLevel does not exist at 2026-07-28"
    async with connect(sim_app, mode="auto", log_level="warning") as (opted_in, inbox):
        assert opted_in.protocol_version == "2026-07-28"
        await opted_in.call_tool("get_vm_restore_point", {"restore_point_id": MISSING_POINT})
    assert [(log.level, log.logger) for log in inbox.logs] == [("warning", "veeam_em_mcp.tools")]


async def test_a_flood_of_log_records_is_capped_and_says_so(sim_app: Any) -> None:
    async with connect(sim_app) as (client, inbox):
        await client.set_logging_level("debug")
        # No tool logs 125 records in one call, so a middleware inside the forwarder does, with the
        # logger a tool uses: the records go through the real forwarder and the real notifications.
        tool_logger = logging.getLogger("veeam_em_mcp.tools")
        flood = MAX_LOG_MESSAGES_PER_REQUEST + 25

        async def noisy(ctx: Any, call_next: Any) -> Any:
            if ctx.method == "tools/call":
                for number in range(flood):
                    tool_logger.warning("record %d", number)
            return await call_next(ctx)

        server = client.server
        assert isinstance(server, MCPServer)
        server.middleware.append(noisy)
        await client.call_tool("check_connection", {})
    assert len(inbox.logs) == MAX_LOG_MESSAGES_PER_REQUEST + 1
    assert "25 more log message(s) of this request were not sent" in str(inbox.logs[-1].data)


async def test_log_messages_reach_a_stdio_client_of_the_console_script(loopback_simulator: RunningSimulator) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_"))},
        "VEEAM_EM_URL": loopback_simulator.base_url,
        "VEEAM_EM_USERNAME": USERNAME,
        "VEEAM_EM_PASSWORD": PASSWORD,
        "VEEAM_MCP_LOG_LEVEL": "WARNING",
    }
    inbox = Inbox()
    params = StdioServerParameters(command=console_script()[0], args=[*console_script()[1:], "serve"], env=env)
    async with Client(params, mode="legacy", logging_callback=inbox.log, read_timeout_seconds=60) as client:
        await client.set_logging_level("warning")
        result = await client.call_tool("get_vm_restore_point", {"restore_point_id": MISSING_POINT})
    assert result.is_error
    assert [(log.level, log.logger) for log in inbox.logs] == [("warning", "veeam_em_mcp.tools")]
    assert MISSING_POINT in str(inbox.logs[0].data) and PASSWORD not in str(inbox.logs[0].data)


# --- resource subscriptions -------------------------------------------------------------------------


async def test_subscribers_learn_when_the_em_session_opens(sim_app: Any) -> None:
    async with connect(sim_app) as (client, inbox):
        await client.subscribe_resource(ENTERPRISE_MANAGER_URI)
        await client.subscribe_resource(f"veeam-em://vmRestorePoints/{SQL01_POINT}")
        await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})  # logs on
        await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})  # same session
        with anyio.fail_after(5):
            while not inbox.updated:
                await anyio.sleep(0.01)
        described = await client.read_resource(ENTERPRISE_MANAGER_URI)
    assert inbox.updated == [ENTERPRISE_MANAGER_URI], "one update, and none for the unchanged restore point"
    assert '"session": "open"' in described.contents[0].text  # type: ignore[union-attr]


async def test_unsubscribed_clients_hear_nothing(sim_app: Any) -> None:
    async with connect(sim_app) as (client, inbox):
        await client.subscribe_resource(ENTERPRISE_MANAGER_URI)
        await client.unsubscribe_resource(ENTERPRISE_MANAGER_URI)
        await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        await anyio.sleep(0.05)
    assert inbox.updated == []


async def test_2026_listeners_learn_when_the_em_session_opens(sim_app: Any) -> None:
    async with connect(sim_app, mode="auto") as (client, _):
        async with client.listen(resource_subscriptions=[ENTERPRISE_MANAGER_URI]) as subscription:
            await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
            with anyio.fail_after(5):
                event = await subscription.__aiter__().__anext__()
    assert getattr(event, "uri", None) == ENTERPRISE_MANAGER_URI


# --- protocol mistakes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_unknown_prompt_is_invalid_params_naming_the_prompts(
    sim_app: Any, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with connect(sim_app, mode=mode) as (client, _):
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("vm_report")
        with pytest.raises(MCPError) as completion:
            await client.complete(
                PromptReference(type="ref/prompt", name="vm_report"), {"name": "vm_name", "value": "s"}
            )
        rendered = await client.get_prompt("vm_recoverability_report", {"vm_name": "sql01"})
    for error in (unknown.value.error, completion.value.error):
        assert error.code == INVALID_PARAMS
        assert error.message == f"Unknown prompt 'vm_report'. Prompts on this server: {', '.join(PROMPTS)}."
        assert error.data == {"name": "vm_report", "prompts": PROMPTS}
    assert "sql01" in rendered.messages[0].content.text  # type: ignore[union-attr]
    assert not [record for record in caplog.records if record.exc_info], "a client's mistake logs no traceback"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_unknown_resource_is_invalid_params_naming_what_is_served(sim_app: Any, mode: str) -> None:
    async with connect(sim_app, mode=mode) as (client, _):
        with pytest.raises(MCPError) as unknown:
            await client.read_resource("veeam-em://vmRestorePoint/x")
        with pytest.raises(MCPError) as missing:
            await client.read_resource(f"veeam-em://vmRestorePoints/{MISSING_POINT}")
        with pytest.raises(MCPError) as template:
            await client.complete(
                ResourceTemplateReference(type="ref/resource", uri="veeam-em://points/{id}"),
                {"name": "id", "value": ""},
            )
    assert unknown.value.error.code == INVALID_PARAMS
    assert unknown.value.error.message == (
        "Unknown resource 'veeam-em://vmRestorePoint/x'. This server serves "
        + "".join(f"{view.uri}, " for view in VIEWS)  # the MCP Apps views (issue 18), in their order
        + "veeam-em://enterpriseManager, "
        "veeam-em://vmRestorePoints/{id}; resources/list and resources/templates/list describe them."
    )
    # A served template whose point does not exist keeps the resource's own, specific message.
    assert missing.value.error.code == INVALID_PARAMS and MISSING_POINT in missing.value.error.message
    assert "Unknown resource" not in missing.value.error.message
    assert template.value.error.code == INVALID_PARAMS
    assert "Templates on this server: veeam-em://vmRestorePoints/{id}" in template.value.error.message


async def test_invalid_tool_arguments_are_explained_for_a_model(sim_app: Any) -> None:
    async with connect(sim_app, mode="auto") as (client, _):
        summary = await client.call_tool("vm_recovery_summary", {"vm_nam": "sql01", "rpo_hours": "a day"})
        page = await client.call_tool("find_vm_restore_points", {"page_size": 500, "algorithm": ["Fast"]})
        link = await client.call_tool("follow_link", {"href": "x" * 3000})
        good = await client.call_tool("vm_recovery_summary", {"vm_name": "sql01"})
    assert summary.is_error and page.is_error and link.is_error and not good.is_error
    assert text_of(summary) == (
        "vm_recovery_summary was not run: its arguments are invalid. Correct them and call it again.\n"
        "- vm_name: required, but missing. Accepted: text from 1 to 512 characters: Exact VM name (case-insensitive), "
        "or its vm_id.\n"
        "- rpo_hours: Input should be a valid number, unable to parse string as a number (you sent 'a day'). "
        "Accepted: a number from 0.01 to 8760 (default 24): Recovery point objective in hours (default 24).\n"
        "- vm_nam: not an argument of vm_recovery_summary (ignored); its arguments are vm_name, rpo_hours."
    )
    assert (
        "- page_size: Input should be less than or equal to 100 (you sent 500). Accepted: an integer from 1 to 100"
        in (text_of(page))
    )
    assert "- algorithm.0: Input should be 'Full', 'Incremental', 'ReversedIncremental' or 'SyntheticFull'" in (
        text_of(page)
    )
    assert "(you sent 'xxxxxxxx" in text_of(link) and "... (3002 characters)" in text_of(link)
    for result in (summary, page, link):
        assert "pydantic" not in text_of(result) and "validation error for" not in text_of(result)


async def test_an_unknown_tool_lists_the_tools(sim_app: Any) -> None:
    async with connect(sim_app) as (client, _):
        result = await client.call_tool("get_restore_point", {})
        failed_call = await client.call_tool("get_vm_restore_point", {"restore_point_id": MISSING_POINT})
    assert result.is_error
    assert text_of(result) == (
        "Unknown tool 'get_restore_point'. Tools on this server: get_vm_restore_point, find_vm_restore_points, "
        "vm_recovery_summary, find_job_sessions, get_job_session, find_task_sessions, list_jobs, list_repositories, "
        "protection_report, find_restore_sessions, list_backup_servers, list_tenants, follow_link, check_connection."
    )
    assert MISSING_POINT in text_of(failed_call), "an EM failure keeps its own message"


def test_schema_descriptions_cover_every_argument_shape() -> None:
    assert describe_schema({"type": "boolean"}) == "true or false"
    assert describe_schema({"anyOf": [{"enum": ["A", "B"], "type": "string"}, {"type": "null"}]}) == (
        "one of 'A', 'B', or null to leave it out"
    )
    assert describe_schema({"type": "string", "maxLength": 64}) == "text of at most 64 characters"
    assert describe_schema({"type": "integer", "minimum": 1}) == "an integer of at least 1"
    assert describe_schema({}) == "any value"
