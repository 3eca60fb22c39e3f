"""The README's Claude Desktop recipe, end to end: ``mcp-remote`` (npm, pinned by ``.ci/mcp-remote.sh``)
bridging stdio to the real ``veeam-em-mcp serve --demo --transport http``, stateful and stateless.

The recipe: ``mcp-remote <url>/mcp --header "Authorization:${AUTH_HEADER}"`` with
``AUTH_HEADER="Bearer <the token>"`` in its environment (mcp-remote expands ``${AUTH_HEADER}``
itself; plain HTTP is accepted on 127.0.0.1 without ``--allow-http``).

- With the token, the official ``mcp.Client`` talks to mcp-remote over stdio, as Claude Desktop
  does, and calls a tool.
- Without it (``AUTH_HEADER`` unset, so the header is the literal ``${AUTH_HEADER}``) mcp-remote
  0.15.1 meets the 401 on ``initialize``, looks for OAuth, finds only 404s, and exits printing
  the server's explanation. It must not start its OAuth sign-in (the callback server and the
  browser wait) or report a registration refused with 401, as it did when the discovery paths
  answered 401.

Without npm/node the tests are skipped and say so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from veeam_em_mcp.surface.http import NO_OAUTH, TOKEN_ENV

from .conftest import SQL01_POINT
from .http_server import demo_http_server

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / ".ci" / "mcp-remote.sh"
TOKEN = "remote-token-0123456789abcdef"
INITIALIZE = (
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
    '"capabilities":{},"clientInfo":{"name":"recipe","version":"1"}}}\n'
)


@pytest.fixture(scope="module")
def mcp_remote() -> str:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node are not installed: cannot install mcp-remote")
    result = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        pytest.fail(f".ci/mcp-remote.sh failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def remote_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_", "AUTH_HEADER"))}
    # mcp-remote keeps OAuth state under ~/.mcp-auth: keep it out of the real home.
    env.update({"HOME": str(tmp_path), "MCP_REMOTE_CONFIG_DIR": str(tmp_path / "mcp-auth"), "NO_COLOR": "1"})
    return env


@pytest.fixture(params=[False, True], ids=["stateful", "stateless"])
def server_url(request: pytest.FixtureRequest, remote_env: dict[str, str]) -> Iterator[str]:
    server_env = {**remote_env, TOKEN_ENV: TOKEN, "VEEAM_MCP_LOG_LEVEL": "WARNING"}
    with demo_http_server(server_env, *(["--stateless"] if request.param else [])) as base:
        yield f"{base}/mcp"


def recipe(mcp_remote: str, url: str) -> list[str]:
    return [mcp_remote, url, "--header", "Authorization:${AUTH_HEADER}"]


async def test_with_the_token_the_recipe_works(mcp_remote: str, remote_env: dict[str, str], server_url: str) -> None:
    command, *args = recipe(mcp_remote, server_url)
    params = StdioServerParameters(command=command, args=args, env={**remote_env, "AUTH_HEADER": f"Bearer {TOKEN}"})
    async with Client(params, mode="legacy") as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
    assert "get_vm_restore_point" in tools
    assert not result.is_error
    assert result.structured_content["vm_name"] == "sql01"


def test_without_the_token_it_reports_the_401_and_starts_no_oauth(
    mcp_remote: str, remote_env: dict[str, str], server_url: str
) -> None:
    process = subprocess.Popen(
        recipe(mcp_remote, server_url),
        env=remote_env,  # AUTH_HEADER unset: the header is sent as the literal "${AUTH_HEADER}"
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # It exits by itself; an OAuth sign-in would wait for a browser (30 s) first.
        stdout, stderr = process.communicate(INITIALIZE, timeout=25)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"mcp-remote did not give up on its own (waiting for an OAuth sign-in?):\n{stderr[-3000:]}")
    assert process.returncode == 1, stderr[-3000:]
    assert '"result"' not in stdout
    # What it prints: the discovery found nothing, and the server's 404 says why the 401 came.
    assert "Dynamic Client Registration rejected (HTTP 404): " in stderr
    assert NO_OAUTH in stderr
    assert "answered 401" in stderr and TOKEN_ENV in stderr
    # What it must not do: start a sign-in, or blame a registration refused with 401.
    for sign_in in ("OAuth callback server running", "Authentication required", "Please authorize", "(HTTP 401)"):
        assert sign_in not in stderr, stderr[-3000:]
