"""The Claude Desktop bundle: bundle/manifest.json agrees with the server, and the packed bundle serves.

- The manifest's ``tools`` and ``prompts`` are what the server lists (names, titles, prompt arguments, and
  each prompt's text with ``${arguments.x}`` for its placeholders); ``UPDATE_SNAPSHOTS=1`` rewrites them, as
  for ``tests/snapshots/tools/``. Its version is ``__version__``; the password is a sensitive user
  setting; every variable it sets is one the server reads.
- ``bundle/build.py`` validates and packs it with the pinned ``@anthropic-ai/mcpb`` CLI (npm, installed by
  .ci/mcpb.sh; skipped without npm, as the Inspector's tests are), ``mcpb unpack`` unpacks it, and the
  unpacked bundle is started exactly as its ``mcp_config`` says (``uv run --project ${__dirname} …``, the
  user settings filled in with the loopback simulator's account): ``tools/list`` and a tool call over MCP.
  Claude Desktop brings its own uv and Python; here uv is the test extra's and Python this interpreter.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import StdioServerParameters

from veeam_em_mcp import __version__
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.prompts import load_prompts
from veeam_em_mcp.surface.tools import ALL_TOOLS

from .conftest import PASSWORD, USERNAME, McpFactory
from .stdio_check import serves_every_tool

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "bundle" / "manifest.json"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_USER_CONFIG = re.compile(r"\$\{user_config\.(\w+)\}")


def manifest(path: Path = MANIFEST) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


async def served_lists(mcp_session: McpFactory) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    async with mcp_session() as client:
        tools = (await client.list_tools()).tools
        prompts = (await client.list_prompts()).prompts
    bodies = {template.name: template.body for template in load_prompts()}
    tool_rows = [{"name": tool.name, "description": tool.title or tool.name} for tool in tools]
    prompt_rows = [
        {
            "name": prompt.name,
            "description": prompt.description or "",
            "arguments": [argument.name for argument in prompt.arguments or []],
            "text": _PLACEHOLDER.sub(r"${arguments.\1}", bodies[prompt.name]),
        }
        for prompt in prompts
    ]
    return tool_rows, prompt_rows


async def test_the_manifest_lists_what_the_server_serves(mcp_session: McpFactory) -> None:
    tools, prompts = await served_lists(mcp_session)
    document = manifest()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        document.update(tools=tools, prompts=prompts)
        MANIFEST.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert len(tools) == len(ALL_TOOLS) and prompts
    assert document["tools"] == tools, "tools changed: UPDATE_SNAPSHOTS=1 pytest tests/test_bundle.py"
    assert document["prompts"] == prompts, "prompts changed: UPDATE_SNAPSHOTS=1 pytest tests/test_bundle.py"


def test_the_manifest_agrees_with_the_project() -> None:
    document = manifest()
    assert document["version"] == __version__ and document["manifest_version"] == "0.4"
    settings = document["user_config"]
    assert {name for name, setting in settings.items() if setting.get("sensitive")} == {"password"}
    assert {name for name, setting in settings.items() if setting.get("required")} == {"em_url", "username", "password"}
    config = document["server"]["mcp_config"]
    referenced = {name for value in config["env"].values() for name in _USER_CONFIG.findall(value)}
    assert referenced == set(settings), "every user setting reaches the server, and only those"
    read_by_server = {
        name
        for path in (ROOT / "server" / "veeam_em_mcp").rglob("*.py")
        for name in re.findall(r"VEEAM_(?:EM|MCP)_[A-Z_]+", path.read_text(encoding="utf-8"))
    }
    assert set(config["env"]) <= read_by_server
    assert document["server"]["type"] == "uv" and config["command"] == "uv"
    assert (ROOT / document["server"]["entry_point"]).is_file()


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node are not installed: cannot install the MCPB CLI (@anthropic-ai/mcpb)")
    out = tmp_path_factory.mktemp("bundle")
    built = subprocess.run(
        [sys.executable, str(ROOT / "bundle" / "build.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    bundle = Path(built.stdout.strip().splitlines()[-1])
    assert bundle.name == f"veeam-em-mcp-{__version__}.mcpb" and bundle.stat().st_size < 1_000_000
    mcpb = ROOT / ".ci" / "mcpb" / "node_modules" / ".bin" / "mcpb"
    target = out / "unpacked"
    done = subprocess.run(
        [str(mcpb), "unpack", str(bundle), str(target)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def test_the_bundle_holds_the_manifest_and_no_caches(unpacked: Path) -> None:
    assert manifest(unpacked / "manifest.json") == manifest()
    names = {path.relative_to(unpacked).as_posix() for path in unpacked.rglob("*") if path.is_file()}
    assert {"pyproject.toml", "icon.png", "server/veeam_em_mcp/__main__.py", "prompts/morning_backup_check.md"} <= names
    assert not [name for name in names if "__pycache__" in name or name.startswith(("tests/", ".venv"))]


async def test_the_unpacked_bundle_starts_as_its_manifest_says(
    unpacked: Path, loopback_simulator: RunningSimulator, tmp_path: Path
) -> None:
    config = manifest(unpacked / "manifest.json")["server"]["mcp_config"]
    user_config = {"em_url": loopback_simulator.base_url, "username": USERNAME, "password": PASSWORD}

    def filled(value: str) -> str:  # Claude Desktop's substitution; an optional setting left empty is ""
        value = value.replace("${__dirname}", str(unpacked))
        return _USER_CONFIG.sub(lambda match: user_config.get(match.group(1), ""), value)

    uv = shutil.which(config["command"], path=str(Path(sys.executable).parent))
    assert uv is not None, "uv is in the test extra"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_", "VIRTUAL_ENV", "UV_"))}
    env.update({name: filled(value) for name, value in config["env"].items()})
    # What Claude Desktop's managed uv does for the user: a Python (here this one, never a download).
    env.update(UV_PYTHON=sys.executable, UV_PYTHON_DOWNLOADS="never", VEEAM_MCP_LOG_LEVEL="WARNING")
    params = StdioServerParameters(
        command=uv, args=[filled(arg) for arg in config["args"]], env=env, cwd=str(tmp_path)
    )
    await serves_every_tool(params, read_timeout=300)  # the first start installs the dependencies
    # The server ran from the bundle's own environment, built by uv from the bundle's pyproject.toml.
    assert (unpacked / ".venv").is_dir()
