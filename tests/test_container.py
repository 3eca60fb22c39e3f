"""The container image, as far as a machine without Podman or Docker can check it.

What runs: the Containerfile is parsed; its ``COPY`` sources are copied and its venv ``RUN`` lines are run
as written, with the image's paths (``/src``, ``/opt/veeam-em-mcp``) moved under a temporary directory
(pip installs from PyPI, as in a build); then its ``ENTRYPOINT`` + ``CMD`` run as an unprivileged user
(``setpriv`` to nobody when the tests run as root): over stdio (``tools/list`` and a tool call against the
loopback simulator), and with the HTTP command of docs/http-transport.md's Compose example (a token,
``/healthz``, MCP over HTTP).

What does not run here: the ``FROM`` base, ``apt-get``, ``useradd``, the image layers, ``USER`` as applied
by a runtime, and the Compose and Kubernetes files themselves.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.tools import ALL_TOOLS

from .conftest import PASSWORD, USERNAME
from .http_server import free_port, stop, wait_until_healthy
from .stdio_check import serves_every_tool
from .test_packaging import _in_ci, _network_trouble

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[1]
CONTAINERFILE = ROOT / "Containerfile"
IMAGE_PATHS = ("/opt/veeam-em-mcp", "/src")
NOBODY = 65534
TOKEN = "container-token-0123456789abcdef"


def instructions() -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of each instruction, continuation lines joined, comments left out."""
    logical: list[str] = []
    pending = ""
    for line in CONTAINERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip().removesuffix("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    return [(text.split(" ", 1)[0].upper(), text.split(" ", 1)[1]) for text in logical]


def only(keyword: str) -> str:
    (value,) = [arguments for name, arguments in instructions() if name == keyword]
    return value


def moved(text: str, root: Path) -> str:
    for path in IMAGE_PATHS:
        text = text.replace(path, f"{root}{path}")
    return text


def as_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command  # already unprivileged
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *command]


def test_the_containerfile_runs_unprivileged_and_stdio_by_default() -> None:
    assert only("FROM").startswith("docker.io/library/debian:")
    user = only("USER").split(":")[0]
    assert user not in ("0", "root") and user.isdigit()
    entrypoint = json.loads(only("ENTRYPOINT"))
    assert entrypoint == ["/opt/veeam-em-mcp/bin/veeam-em-mcp"]
    assert json.loads(only("CMD")) == ["serve"], "stdio by default"
    assert only("EXPOSE") == "8000"


@pytest.fixture(scope="module")
def image_root() -> Iterator[Path]:
    """The image's venv, built by the Containerfile's own RUN lines from its COPY sources."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is missing: cannot drop to an unprivileged user")
    root = Path(tempfile.mkdtemp(prefix="veeam-em-mcp-image-"))
    root.chmod(0o755)  # the unprivileged user must reach the venv, as in the image
    try:
        for keyword, arguments in instructions():
            if keyword == "COPY":
                *sources, target = arguments.split()
                for source in sources:
                    destination = Path(moved(target, root))
                    if target.endswith("/"):
                        destination.mkdir(parents=True, exist_ok=True)
                        shutil.copy(ROOT / source, destination / source)
                    else:
                        shutil.copytree(ROOT / source, destination, ignore=shutil.ignore_patterns("__pycache__"))
            elif keyword == "RUN" and any(path in arguments for path in IMAGE_PATHS):
                done = subprocess.run(
                    ["bash", "-c", moved(arguments, root)], capture_output=True, text=True, timeout=600, check=False
                )
                if done.returncode != 0:
                    output = done.stdout + done.stderr
                    if _network_trouble(output) and not _in_ci():
                        pytest.skip(f"no package index reachable: {output.strip()[-300:]}")
                    pytest.fail(f"RUN {shlex.quote(arguments)} failed:\n{output[-3000:]}")
        assert not (root / "src").exists(), "the Containerfile does not keep the sources"
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def entry(root: Path) -> list[str]:
    return [moved(part, root) for part in json.loads(only("ENTRYPOINT"))]


def image_env(simulator: RunningSimulator, password_file: Path, **extra: str) -> dict[str, str]:
    declared = dict(pair.split("=", 1) for pair in shlex.split(only("ENV")))
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/nonexistent",
        **declared,
        "VEEAM_EM_URL": simulator.base_url,
        "VEEAM_EM_USERNAME": USERNAME,
        "VEEAM_EM_PASSWORD_FILE": str(password_file),
        "VEEAM_MCP_LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture
def password_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="veeam-em-mcp-secret-"))
    directory.chmod(0o755)
    path = directory / "em-password"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # a read-only secret mount
    yield path
    shutil.rmtree(directory, ignore_errors=True)


def test_the_server_user_cannot_change_the_venv(image_root: Path) -> None:
    script = Path(entry(image_root)[0])
    assert script.is_file()
    if os.geteuid() != 0:
        pytest.skip("not root: the venv belongs to this user, as it would not in the image")
    done = subprocess.run(as_user(["touch", str(script)]), capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "Permission denied" in done.stderr


async def test_entrypoint_and_cmd_serve_stdio(
    image_root: Path, loopback_simulator: RunningSimulator, password_file: Path
) -> None:
    command = as_user([*entry(image_root), *json.loads(only("CMD"))])
    params = StdioServerParameters(
        command=command[0], args=command[1:], env=image_env(loopback_simulator, password_file), cwd="/"
    )
    await serves_every_tool(params)


def documented_http_command() -> list[str]:
    text = (ROOT / "docs" / "http-transport.md").read_text(encoding="utf-8")
    match = re.search(r"^    command: (\[.*\])$", text, re.MULTILINE)
    assert match, "docs/http-transport.md's Compose example gives the command"
    command: list[str] = json.loads(match.group(1))
    return command


@asynccontextmanager
async def mcp_over_http(url: str, headers: dict[str, str]) -> Any:
    http_client = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60))
    async with http_client, Client(streamable_http_client(url, http_client=http_client)) as client:
        yield client


async def test_entrypoint_serves_http_as_documented(
    image_root: Path, loopback_simulator: RunningSimulator, password_file: Path
) -> None:
    command = documented_http_command()
    assert command[:3] == ["serve", "--transport", "http"] and "--stateless" in command
    port = free_port()
    command[command.index("--port") + 1] = str(port)  # 8000 in the container; any free port here
    env = image_env(loopback_simulator, password_file, VEEAM_MCP_HTTP_TOKEN=TOKEN)
    process = subprocess.Popen(
        as_user([*entry(image_root), *command]), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/"
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, lambda: process.stderr.read().decode() if process.stderr else "")
        assert httpx.get(f"{base}/healthz", timeout=5).text.strip() == "ok"
        assert httpx.post(f"{base}/mcp", json={}, timeout=5).status_code == 401, "the token is required"
        async with mcp_over_http(f"{base}/mcp", {"Authorization": f"Bearer {TOKEN}"}) as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("list_repositories", {})
        assert len(tools) == len(ALL_TOOLS)
        assert not result.is_error, result.content
        status = Path(f"/proc/{process.pid}/status").read_text()
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        assert uid != 0, "the server runs unprivileged"
    finally:
        stop(process)
