"""``veeam-em-mcp config CLIENT``: the printed entry starts the server under a desktop client's bare PATH.

Claude Desktop spawns a stdio server with its own PATH (on macOS ``/usr/bin:/bin:/usr/sbin:/sbin``), so a bare
``"command": "veeam-em-mcp"`` fails with ENOENT. Each test runs the real console script, parses the JSON it
prints, and starts the entry exactly as written (command, args, env) with ``PATH=/usr/bin:/bin`` through the
official MCP client: ``tools/list`` and a tool call, against the demo or the loopback simulator.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import StdioServerParameters

from veeam_em_mcp.client_config import CLIENTS, FILL
from veeam_em_mcp.simulator.runner import RunningSimulator

from .conftest import PASSWORD, USERNAME
from .http_server import console_script
from .stdio_check import serves_every_tool

pytestmark = pytest.mark.anyio
BARE_PATH = "/usr/bin:/bin"


def printed(*args: str) -> tuple[dict[str, Any], str]:
    done = subprocess.run(
        [*console_script(), "config", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)  # stdout is the JSON alone
    return document, done.stderr


def server_of(document: dict[str, Any]) -> dict[str, Any]:
    (server,) = (document.get("mcpServers") or document["servers"]).values()
    assert isinstance(server, dict)
    return server


async def start(server: dict[str, Any], env: dict[str, str], tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=server["command"],
        args=server["args"],
        env={"PATH": BARE_PATH, "HOME": str(tmp_path), "VEEAM_MCP_LOG_LEVEL": "WARNING", **env},
        cwd=str(tmp_path),
    )
    await serves_every_tool(params)


def test_the_readme_entry_of_old_would_not_start_here() -> None:
    """What the test guards against is real on this machine: the bare name is not on the bare PATH."""
    assert shutil.which("veeam-em-mcp", path=BARE_PATH) is None


@pytest.mark.parametrize("client", CLIENTS)
async def test_the_demo_entry_starts_with_a_bare_path(client: str, tmp_path: Path) -> None:
    document, notes = printed(client, "--demo")
    server = server_of(document)
    assert Path(server["command"]).is_absolute(), server
    assert server["args"][-2:] == ["serve", "--demo"] and "env" not in server
    assert "nothing to fill" in notes
    await start(server, {}, tmp_path)


@pytest.mark.parametrize("client", CLIENTS)
async def test_the_entry_with_its_values_filled_reaches_enterprise_manager(
    client: str, tmp_path: Path, loopback_simulator: RunningSimulator
) -> None:
    document, notes = printed(client)
    server = server_of(document)
    assert Path(server["command"]).is_absolute() and server["args"][-1] == "serve"
    for name, _, _ in FILL:
        if client == "vscode" and name == "VEEAM_EM_PASSWORD_FILE":
            assert server["env"]["VEEAM_EM_PASSWORD"] == "${input:veeam-em-password}"
            assert document["inputs"][0]["password"] is True
            continue
        assert name in server["env"] and f"  {name}: " in notes, (name, notes)
    # What the user fills in: this machine's simulator and its demo account, the password in a file.
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    filled = {
        "VEEAM_EM_URL": loopback_simulator.base_url,
        "VEEAM_EM_USERNAME": USERNAME,
        "VEEAM_EM_PASSWORD_FILE": str(password_file),
    }
    env = {name: filled.get(name, value) for name, value in server["env"].items() if name != "VEEAM_EM_PASSWORD"}
    env.setdefault("VEEAM_EM_PASSWORD_FILE", str(password_file))  # vscode: what its input prompt would supply
    await start(server, env, tmp_path)


def test_the_notes_say_where_each_file_lives() -> None:
    _, desktop = printed("claude-desktop")
    assert "~/Library/Application Support/Claude/claude_desktop_config.json" in desktop
    assert "%APPDATA%\\Claude\\claude_desktop_config.json" in desktop
    assert ".cursor/mcp.json" in printed("cursor")[1]
    assert ".vscode/mcp.json" in printed("vscode")[1]
    assert "claude mcp add-json" in printed("claude-code")[1]


def test_the_uvx_form_names_the_package_spec() -> None:
    document, _ = printed("claude-desktop", "--uvx", "veeam-em-mcp==0.1.0")
    server = server_of(document)
    assert Path(server["command"]).name in ("uvx", "uvx.exe")
    assert server["args"] == ["--from", "veeam-em-mcp==0.1.0", "veeam-em-mcp", "serve"]


def test_the_readmes_entries_name_the_script_by_its_absolute_path() -> None:
    """The README's own examples must not bring back the bare command that fails under Claude Desktop."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    commands = [
        server["command"]
        for block in re.findall(r"```json\n(.*?)```", readme, re.DOTALL)
        for server in json.loads(block).get("mcpServers", {}).values()
        if "veeam-em-mcp" in server.get("command", "")
    ]
    assert commands, "the README shows a Claude Desktop entry"
    assert all(Path(command).is_absolute() for command in commands), commands
    assert '-- veeam-em-mcp serve' not in readme and '-- "$(command -v veeam-em-mcp)" serve' in readme
