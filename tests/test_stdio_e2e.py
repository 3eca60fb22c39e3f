"""End to end: the installed ``veeam-em-mcp`` console script over stdio, against the simulator on loopback."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client, StdioServerParameters

from veeam_em_mcp.simulator.runner import RunningSimulator

from .conftest import PASSWORD, SQL01_POINT, USERNAME

pytestmark = pytest.mark.anyio


def console_script() -> str:
    found = Path(sys.executable).with_name("veeam-em-mcp")
    if found.exists():
        return str(found)
    path = shutil.which("veeam-em-mcp")
    assert path, "the veeam-em-mcp console script is not installed (pip install -e .)"
    return path


@pytest.mark.parametrize("em_format", ["xml", "json"])
async def test_console_script_over_stdio(loopback_simulator: RunningSimulator, em_format: str) -> None:
    env = {
        **os.environ,
        "VEEAM_EM_URL": loopback_simulator.base_url,
        "VEEAM_EM_USERNAME": USERNAME,
        "VEEAM_EM_PASSWORD": PASSWORD,
        "VEEAM_EM_FORMAT": em_format,
    }
    params = StdioServerParameters(command=console_script(), args=[], env=env)
    async with Client(params, read_timeout_seconds=60) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert {"get_vm_restore_point", "follow_link"} <= set(tools)

        result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        assert not result.is_error
        point: dict[str, Any] = dict(result.structured_content or {})
        jsonschema.validate(point, tools["get_vm_restore_point"].output_schema)
        assert point["vm_name"] == "sql01"

        file_href = point["backup_file"]["href"]
        followed = await client.call_tool("follow_link", {"href": file_href})
        assert not followed.is_error
        jsonschema.validate(followed.structured_content, tools["follow_link"].output_schema)
        assert (followed.structured_content or {})["resource"]["kind"] == "BackupFile"

        missing = await client.call_tool(
            "get_vm_restore_point", {"restore_point_id": "00000000-0000-0000-0000-000000000000"}
        )
        assert missing.is_error
        again = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        assert not again.is_error
