"""End to end with a client nobody here wrote: the MCP Inspector CLI (npm, pinned) against the real
``veeam-em-mcp serve --demo``, over stdio and over streamable HTTP.

Checks: ``--strict tools/list`` exits 0 (no schema portability errors), a ``tools/call`` of every
listed tool succeeds (the Inspector exits 5 on ``isError``), and ``prompts/list`` and
``resources/templates/list`` are not empty. The Inspector is installed by ``.ci/inspector.sh``
into ``.ci/node/`` on first use; without npm the test is skipped and says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import SQL01_POINT
from .http_server import console_script, demo_http_server

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / ".ci" / "inspector.sh"
TOKEN = "inspector-token-0123456789abcdef"
# Values for the tools' required arguments; a new tool with another required argument must add one. A job
# session's id is asked of the server itself (exercise): the demo's estate is anchored at the minute it
# starts, and which runs its window holds (so the ids its seeded generator hands out) varies with that minute.
KNOWN_ARGUMENTS: dict[str, Any] = {
    "restore_point_id": SQL01_POINT,
    "vm_name": "sql01",
}


@pytest.fixture(scope="module")
def inspector() -> str:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node are not installed: cannot install the MCP Inspector (@modelcontextprotocol/inspector)")
    result = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        pytest.fail(f".ci/inspector.sh failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def inspector_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("inspector-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_"))}
    # The Inspector keeps a catalog and client config under $HOME: keep them out of the real one.
    env.update(
        {
            "HOME": str(home),
            "MCP_CATALOG_PATH": str(home / "catalog.json"),
            "MCP_CLIENT_CONFIG_PATH": str(home / "client.json"),
            "VEEAM_MCP_LOG_LEVEL": "WARNING",
            "NO_COLOR": "1",
        }
    )
    return env


Run = Callable[..., dict[str, Any]]


def make_runner(inspector: str, env: dict[str, str], target: list[str]) -> Run:
    def run(method: str, *args: str, strict: bool = False) -> dict[str, Any]:
        command = [inspector, "--cli", "-q", *(["--strict"] if strict else []), *target, "--method", method, *args]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90, check=False)
        assert result.returncode == 0, f"{method} {args} exited {result.returncode}:\n{result.stderr[-3000:]}"
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer

    return run


def arguments_for(tool: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
    schema = tool.get("inputSchema") or {}
    properties = schema.get("properties") or {}
    arguments = {name: value for name, value in known.items() if name in properties}
    missing = [name for name in schema.get("required", []) if name not in arguments and name != "href"]
    assert not missing, f"{tool['name']}: add a value for required argument(s) {missing} to KNOWN_ARGUMENTS"
    return arguments


# Over stdio every Inspector run starts a server of its own (about 4 s each): there it calls these, and over HTTP,
# where one server answers every run, every tool.
STDIO_TOOLS = {"get_vm_restore_point", "find_job_sessions", "protection_report", "check_connection"}


def exercise(run: Run, *, relative_hrefs: bool, only: set[str] | None = None) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        listed = pool.submit(run, "tools/list", strict=True)
        prompts = pool.submit(run, "prompts/list")
        templates = pool.submit(run, "resources/templates/list")
        tools = listed.result()["tools"]
        assert prompts.result()["prompts"], "prompts/list is empty"
        assert templates.result()["resourceTemplates"], "resources/templates/list is empty"

        names = {tool["name"] for tool in tools}
        assert {"get_vm_restore_point", "follow_link", "check_connection"} <= names
        known = dict(KNOWN_ARGUMENTS)
        if "get_job_session" in names and (only is None or "get_job_session" in only):
            runs = run("tools/call", "--tool-name", "find_job_sessions", "--tool-args-json", "{}")
            known["session_id"] = runs["structuredContent"]["sessions"][0]["id"]
        calls = {
            tool["name"]: pool.submit(
                run, "tools/call", "--tool-name", tool["name"], "--tool-args-json",
                json.dumps(arguments_for(tool, known)),
            )
            for tool in tools
            if tool["name"] != "follow_link" and (only is None or tool["name"] in only)
        }
        results = {name: future.result() for name, future in calls.items()}
    for name, result in results.items():
        assert not result.get("isError"), f"{name}: {result}"
        assert result.get("structuredContent") is not None, name

    point = results["get_vm_restore_point"]["structuredContent"]
    assert point["vm_name"] == "sql01"
    href = point["backup_file"]["href"]
    if relative_hrefs:
        # Over stdio every Inspector run starts its own server and simulator on a new port, so an
        # absolute href from one run names another origin; the path is the same link.
        parts = urlsplit(href)
        href = parts.path + (f"?{parts.query}" if parts.query else "")
    followed = run("tools/call", "--tool-name", "follow_link", "--tool-args-json", json.dumps({"href": href}))
    assert not followed.get("isError"), followed
    assert followed["structuredContent"]["resource"]["kind"] == "BackupFile"


def test_inspector_over_stdio(inspector: str, inspector_env: dict[str, str]) -> None:
    runner = make_runner(inspector, inspector_env, [*console_script(), "serve", "--demo"])
    exercise(runner, relative_hrefs=True, only=STDIO_TOOLS)


@pytest.fixture
def http_server(inspector_env: dict[str, str]) -> Iterator[str]:
    with demo_http_server({**inspector_env, "VEEAM_MCP_HTTP_TOKEN": TOKEN}) as base:
        yield f"{base}/mcp"


def test_inspector_over_http(inspector: str, inspector_env: dict[str, str], http_server: str) -> None:
    target = [http_server, "--header", f"Authorization: Bearer {TOKEN}"]
    exercise(make_runner(inspector, inspector_env, target), relative_hrefs=False)

    # Without the token the Inspector gets no further than the 401 (it then asks for OAuth).
    refused = subprocess.run(
        [inspector, "--cli", "-q", "--stored-auth-only", http_server, "--method", "tools/list"],
        env=inspector_env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert refused.returncode != 0
    assert '"tools"' not in refused.stdout
