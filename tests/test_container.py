"""The container image, built from the Containerfile and run with Podman, without a daemon.

What runs: ``mmdebstrap`` makes a Debian bookworm base (``minbase``, with the dpkg excludes of the
bookworm-slim image) that Podman imports, and ``podman build --from`` builds on it in place of the ``FROM``
image (Docker Hub is not reachable from CI); every step of the Containerfile then runs as written
(``apt-get``, ``useradd``, ``COPY``, pip from PyPI, ``USER``), with ``--isolation chroot``. The image runs
under ``podman run`` as its own ``USER`` (the server's uid is read from /proc), with a read-only root file
system, the password as a read-only file mount and the host's network (the simulator listens on loopback):
over stdio (``tools/list`` and a tool call), and with the HTTP command of docs/http-transport.md's Compose
example (a token, ``/healthz``, the Compose health check run inside the container, MCP over HTTP).

What does not run here: the ``debian:bookworm-slim`` image itself, Docker, and the Compose and Kubernetes
files (their networks, secrets, probes and replicas).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.tools import ALL_TOOLS

from .conftest import PASSWORD, USERNAME
from .http_server import free_port, stop, wait_until_healthy
from .stdio_check import serves_every_tool
from .test_packaging import _in_ci, _network_trouble

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[1]
CONTAINERFILE = ROOT / "Containerfile"
TAG = "localhost/veeam-em-mcp:test"
BASE_TAG = "localhost/debian-mmdebstrap:bookworm"
TOKEN = "container-token-0123456789abcdef"
SECRET_PATH = "/run/secrets/em-password"
# bookworm, its updates and its security fixes, as in the bookworm-slim image's sources.
DEBIAN_SOURCES = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
# What the bookworm-slim image leaves out; mmdebstrap keeps these in the base's dpkg configuration, so the
# Containerfile's apt-get install leaves them out too.
SLIM_DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)
# The image measured 352 MB (December 2026, on the mmdebstrap base): the bound is there to notice bloat
# (a pip cache, the sources, build tools left in), not a target.
MAX_IMAGE_BYTES = 450_000_000


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


def image_user() -> tuple[int, int]:
    uid, gid = only("USER").split(":")
    return int(uid), int(gid)


def test_the_containerfile_runs_unprivileged_and_stdio_by_default() -> None:
    assert only("FROM").startswith("docker.io/library/debian:")
    uid, gid = image_user()
    assert uid != 0 and gid != 0
    assert json.loads(only("ENTRYPOINT")) == ["/opt/veeam-em-mcp/bin/veeam-em-mcp"]
    assert json.loads(only("CMD")) == ["serve"], "stdio by default"
    assert only("EXPOSE") == "8000"


def host_ca_bundle() -> Path | None:
    """The CA bundle this machine trusts: where the network inspects TLS, PyPI is reachable through it only."""
    for candidate in (
        os.environ.get("PIP_CERT"),
        os.environ.get("SSL_CERT_FILE"),
        "/etc/ssl/certs/ca-certificates.crt",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class Podman:
    """Podman on a storage of its own (a temporary directory), so that nothing else on the machine is touched."""

    storage: Path

    def command(self, *arguments: str) -> list[str]:
        options = ["--root", str(self.storage / "root"), "--runroot", str(self.storage / "run")]
        # runc, when installed: crun refuses hybrid cgroup hierarchies ("cgroups in hybrid mode not supported"),
        # which CI machines like this one have; runc runs on cgroup v1, hybrid and v2 alike.
        if shutil.which("runc"):
            options += ["--runtime", "runc"]
        return ["podman", *options, *arguments]

    def run(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*arguments), capture_output=True, text=True, timeout=timeout, check=False)

    def ok(self, *arguments: str, timeout: float = 120) -> str:
        done = self.run(*arguments, timeout=timeout)
        assert done.returncode == 0, f"podman {' '.join(arguments)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        return done.stdout


def building_failed(what: str, output: str) -> None:
    """Skip when the registries are out of reach on a developer's machine; in CI that is a failure."""
    if (
        _network_trouble(output) or "Failed to fetch" in output or "Temporary failure resolving" in output
    ) and not _in_ci():
        pytest.skip(f"{what}: no package repository reachable: {output.strip()[-300:]}")
    pytest.fail(f"{what} failed:\n{output[-4000:]}")


@pytest.fixture(scope="module")
def podman() -> Iterator[Podman]:
    missing = [tool for tool in ("podman", "mmdebstrap") if shutil.which(tool) is None]
    if missing:
        message = f"{' and '.join(missing)} not installed (apt-get install podman mmdebstrap runc; .ci/run does)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    storage = Path(tempfile.mkdtemp(prefix="veeam-em-mcp-podman-"))
    engine = Podman(storage)
    try:
        yield engine
    finally:
        engine.run("rmi", "--all", "--force")
        shutil.rmtree(storage, ignore_errors=True)


@pytest.fixture(scope="module")
def image(podman: Podman) -> str:
    """The image, built once per test run: the Debian base from mmdebstrap, then the Containerfile on it."""
    base = podman.storage / "bookworm.tar"
    mmdebstrap = [
        "mmdebstrap", "--quiet", "--variant=minbase", *(f"--dpkgopt={option}" for option in SLIM_DPKG_OPTIONS),
        "bookworm", str(base), *DEBIAN_SOURCES,
    ]  # fmt: skip
    done = subprocess.run(
        mmdebstrap, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        building_failed("mmdebstrap", done.stdout + done.stderr)
    podman.ok("import", "--quiet", str(base), BASE_TAG)
    base.unlink()
    build = ["build", "--isolation", "chroot", "--pull=never", "--from", BASE_TAG, "--tag", TAG]
    ca_bundle = host_ca_bundle()
    if ca_bundle is not None:
        build += ["--secret", f"id=pip-ca,src={ca_bundle}"]  # the Containerfile's optional build secret
    done = podman.run(*build, "--file", str(CONTAINERFILE), str(ROOT), timeout=900)
    if done.returncode != 0:
        building_failed("podman build", done.stdout + done.stderr)
    return TAG


def test_the_image_is_as_the_containerfile_says(podman: Podman, image: str) -> None:
    (inspected,) = json.loads(podman.ok("image", "inspect", image))
    config = inspected["Config"]
    assert config["User"] == only("USER")
    assert config["Entrypoint"] == json.loads(only("ENTRYPOINT"))
    assert config["Cmd"] == json.loads(only("CMD"))
    assert "8000/tcp" in config["ExposedPorts"]
    assert inspected["Size"] < MAX_IMAGE_BYTES, f"the image is {inspected['Size'] / 1e6:.0f} MB"
    mounted = Path(podman.ok("image", "mount", image).strip())
    try:
        venv = mounted / "opt" / "veeam-em-mcp"
        assert (venv / "bin" / "veeam-em-mcp").is_file()
        assert venv.stat().st_uid == 0 and not venv.stat().st_mode & stat.S_IWOTH, "the venv is root's"
        assert not (mounted / "src").exists(), "the sources are not kept"
        assert not (mounted / "run" / "secrets" / "pip-ca").exists(), "the build's CA secret is not kept"
    finally:
        podman.run("image", "unmount", image)


@pytest.fixture
def password_file() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="veeam-em-mcp-secret-"))
    path = directory / "em-password"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    # A read-only secret mount that the image's user (not the file's owner) can read.
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    yield path
    shutil.rmtree(directory, ignore_errors=True)


def run_options(name: str, simulator: RunningSimulator, password_file: Path, **env: str) -> list[str]:
    """``podman run`` as docs/http-transport.md's examples do it: the image's user, a read-only root, the secret."""
    variables = {
        "VEEAM_EM_URL": simulator.base_url,
        "VEEAM_EM_USERNAME": USERNAME,
        "VEEAM_EM_PASSWORD_FILE": SECRET_PATH,
        "VEEAM_MCP_LOG_LEVEL": "WARNING",
        **env,
    }
    return [
        "run", "--rm", "--name", name, "--read-only", "--network", "host",
        # Podman's limits for a root container (1048576 files) are more than a runner without
        # CAP_SYS_RESOURCE may set ("setrlimit `RLIMIT_NOFILE`: Operation not permitted"); these are plenty.
        "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
        "--volume", f"{password_file}:{SECRET_PATH}:ro",
        *(f"--env={key}={value}" for key, value in variables.items()),
    ]  # fmt: skip


def server_ids(podman: Podman, name: str) -> tuple[int, int]:
    """The (uid, gid) the container's main process (the entry point) runs as, seen from the host."""
    deadline = time.monotonic() + 30
    while True:
        pid = podman.run("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
        if pid.isdigit() and int(pid) > 0:
            break
        assert time.monotonic() < deadline, f"container {name} has no process"
        time.sleep(0.2)
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    uids, gids = {int(value) for value in status["Uid"].split()}, {int(value) for value in status["Gid"].split()}
    assert len(uids) == 1 and len(gids) == 1, f"real, effective, saved and file ids differ: {uids} {gids}"
    return uids.pop(), gids.pop()


def test_the_server_user_cannot_change_the_venv(podman: Podman, image: str) -> None:
    script = json.loads(only("ENTRYPOINT"))[0]
    done = podman.run(
        "run", "--rm", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
        "--entrypoint", "touch", image, script,
    )  # fmt: skip
    assert done.returncode != 0 and "Permission denied" in done.stderr, done.stderr


async def test_the_image_serves_stdio(
    podman: Podman, image: str, loopback_simulator: RunningSimulator, password_file: Path
) -> None:
    name = f"veeam-em-mcp-stdio-{os.getpid()}"
    command = podman.command(
        *run_options(name, loopback_simulator, password_file), "--interactive", image, *json.loads(only("CMD"))
    )
    seen: list[tuple[int, int]] = []
    try:
        await serves_every_tool(
            StdioServerParameters(command=command[0], args=command[1:], cwd="/"),
            while_serving=lambda: seen.append(server_ids(podman, name)),
        )
    finally:
        podman.run("rm", "--force", "--ignore", name)
    assert seen == [image_user()], "the server runs as the image's USER"


def documented_http_command() -> list[str]:
    text = (ROOT / "docs" / "http-transport.md").read_text(encoding="utf-8")
    match = re.search(r"^    command: (\[.*\])$", text, re.MULTILINE)
    assert match, "docs/http-transport.md's Compose example gives the command"
    command: list[str] = json.loads(match.group(1))
    return command


def documented_health_check() -> list[str]:
    text = (ROOT / "docs" / "http-transport.md").read_text(encoding="utf-8")
    match = re.search(r"^      test: (\[.*\])$", text, re.MULTILINE)
    assert match, "docs/http-transport.md's Compose example has a health check"
    test: list[str] = json.loads(match.group(1))
    assert test[0] == "CMD"
    return test[1:]


@asynccontextmanager
async def mcp_over_http(url: str, headers: dict[str, str]) -> Any:
    http_client = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60))
    async with http_client, Client(streamable_http_client(url, http_client=http_client)) as client:
        yield client


async def test_the_image_serves_http_as_documented(
    podman: Podman, image: str, loopback_simulator: RunningSimulator, password_file: Path
) -> None:
    command = documented_http_command()
    assert command[:3] == ["serve", "--transport", "http"] and "--stateless" in command
    port = free_port()
    # 8000 in the container's own network; the host's network here, so any free port.
    command[command.index("--port") + 1] = str(port)
    name = f"veeam-em-mcp-http-{os.getpid()}"
    options = run_options(name, loopback_simulator, password_file, VEEAM_MCP_HTTP_TOKEN=TOKEN)
    process = subprocess.Popen(
        podman.command(*options, image, *command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, lambda: process.stderr.read().decode() if process.stderr else "")
        assert server_ids(podman, name) == image_user(), "the server runs as the image's USER"
        health_check = [part.replace(":8000/", f":{port}/") for part in documented_health_check()]
        done = podman.run("exec", name, *health_check)
        assert done.returncode == 0, f"the Compose health check fails inside the container:\n{done.stderr}"
        assert httpx.get(f"{base}/healthz", timeout=5).text.strip() == "ok"
        assert httpx.post(f"{base}/mcp", json={}, timeout=5).status_code == 401, "the token is required"
        async with mcp_over_http(f"{base}/mcp", {"Authorization": f"Bearer {TOKEN}"}) as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("list_repositories", {})
        assert len(tools) == len(ALL_TOOLS)
        assert not result.is_error, result.content
    finally:
        stop(process)
        podman.run("rm", "--force", "--ignore", name)
