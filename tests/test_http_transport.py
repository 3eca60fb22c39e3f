"""The streamable HTTP transport: bearer token, Host/Origin checks, stateless mode, start-up refusals.

The app is the one ``veeam-em-mcp serve --transport http`` runs (``build_http_app``), driven
in-process for the cheap checks and under uvicorn on loopback with the official MCP client for
the real ones; the CLI itself is started as a subprocess for the end-to-end check.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from veeam_em_mcp.errors import HttpSetupError
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.http import (
    TOKEN_ENV,
    build_http_app,
    check_http_setup,
    is_loopback,
    transport_security,
)
from veeam_em_mcp.surface.server import build_server

from .conftest import SQL01_POINT, make_settings
from .http_server import console_script, demo_http_server, http_server_process

pytestmark = pytest.mark.anyio

TOKEN = "test-token-0123456789abcdef"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


# --- start-up decisions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("mcp.example.com", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_token_is_required_unless_no_auth_on_loopback() -> None:
    assert check_http_setup("127.0.0.1", no_auth=False, env={TOKEN_ENV: TOKEN}) == TOKEN
    assert check_http_setup("127.0.0.1", no_auth=True, env={}) is None
    with pytest.raises(HttpSetupError, match=f"{TOKEN_ENV} is not set"):
        check_http_setup("127.0.0.1", no_auth=False, env={})
    with pytest.raises(HttpSetupError, match="too short"):
        check_http_setup("127.0.0.1", no_auth=False, env={TOKEN_ENV: "short"})
    with pytest.raises(HttpSetupError, match="only allowed on a loopback host"):
        check_http_setup("0.0.0.0", no_auth=True, env={TOKEN_ENV: TOKEN})


def test_allowed_hosts_cover_loopback_the_bound_name_and_extras() -> None:
    settings = transport_security("10.0.0.5", 8000, ["mcp.example.com"], ["https://app.example.com"])
    assert settings.enable_dns_rebinding_protection
    assert {"127.0.0.1:*", "localhost:*", "10.0.0.5:8000", "mcp.example.com"} <= set(settings.allowed_hosts)
    assert "https://app.example.com" in settings.allowed_origins
    wildcard = transport_security("0.0.0.0", 8000)
    assert not any(host.startswith("0.0.0.0") for host in wildcard.allowed_hosts)


# --- the app in-process (requests refused before reaching MCP) ------------------------------


@pytest.fixture
def gated_app(sim_app: Any) -> Any:
    server = build_server(make_settings(), transport=httpx.ASGITransport(app=sim_app))
    return build_http_app(server, token=TOKEN)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer wrong-token-0123456789", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"bearer  {TOKEN[:-1]}"],
)
async def test_requests_without_the_right_token_get_401(gated_app: Any, authorization: str | None) -> None:
    headers = dict(MCP_HEADERS)
    if authorization is not None:
        headers["Authorization"] = authorization
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gated_app), base_url="http://127.0.0.1:8000") as c:
        response = await c.post("/mcp", json=INIT, headers=headers)
        other = await c.get("/anything-else", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN_ENV in response.json()["error_description"]
    assert other.status_code == 401


async def test_health_check_needs_no_token_and_says_nothing(gated_app: Any) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gated_app), base_url="http://127.0.0.1:8000") as c:
        response = await c.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok\n"


# --- on loopback under uvicorn, with the official MCP client -------------------------------------


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def http_server(simulator: RunningSimulator, *, token: str | None, stateless: bool = False) -> Iterator[str]:
    server = build_server(make_settings(simulator.base_url), retry_base_delay=0.01)
    with serve_app(build_http_app(server, token=token, stateless=stateless)) as base:
        yield base


@asynccontextmanager
async def mcp_over_http(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    http_client = httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30, read=60))
    async with http_client, Client(streamable_http_client(url, http_client=http_client)) as client:
        yield client


@pytest.mark.parametrize("stateless", [False, True])
async def test_with_the_token_tools_work(loopback_simulator: RunningSimulator, stateless: bool) -> None:
    with http_server(loopback_simulator, token=TOKEN, stateless=stateless) as base:
        async with mcp_over_http(f"{base}/mcp", {"Authorization": f"Bearer {TOKEN}"}) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
            prompts = (await client.list_prompts()).prompts
        # A second, independent client: in stateless mode nothing ties it to the first.
        async with mcp_over_http(f"{base}/mcp", {"Authorization": f"Bearer {TOKEN}"}) as again:
            second = await again.call_tool("check_connection", {})
        async with httpx.AsyncClient() as raw:
            refused = await raw.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS)
    assert {"get_vm_restore_point", "follow_link", "check_connection"} <= tools
    assert not result.is_error and result.structured_content["vm_name"] == "sql01"
    assert prompts
    assert not second.is_error and second.structured_content["ok"] is True
    assert refused.status_code == 401


async def test_without_the_token_the_mcp_client_is_refused(loopback_simulator: RunningSimulator) -> None:
    with http_server(loopback_simulator, token=TOKEN) as base:
        # The SDK reports the 401 as an MCPError ("Server returned an error response") in task groups.
        with pytest.raises(BaseException) as raised:
            async with mcp_over_http(f"{base}/mcp") as client:
                await client.list_tools()
    assert "MCPError" in repr(raised.value)


async def test_origin_and_host_checks_stay_on(loopback_simulator: RunningSimulator) -> None:
    with http_server(loopback_simulator, token=TOKEN) as base:
        auth = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient() as raw:
            evil_origin = await raw.post(f"{base}/mcp", json=INIT, headers={**auth, "Origin": "http://evil.example"})
            evil_host = await raw.post(f"{base}/mcp", json=INIT, headers={**auth, "Host": "evil.example"})
            fine = await raw.post(f"{base}/mcp", json=INIT, headers={**auth, "Origin": "http://127.0.0.1:3000"})
    assert evil_origin.status_code == 403
    assert evil_host.status_code == 421
    assert fine.status_code == 200


async def test_no_auth_on_loopback_serves_without_a_token(loopback_simulator: RunningSimulator) -> None:
    with http_server(loopback_simulator, token=None) as base:
        async with mcp_over_http(f"{base}/mcp") as client:
            result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
    assert not result.is_error


# --- the real command line ---------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_"))}
    return {**env, "VEEAM_MCP_LOG_LEVEL": "WARNING", **extra}


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--host", "0.0.0.0", "--no-auth"], {}, "only allowed on a loopback host"),
        ([], {}, f"{TOKEN_ENV} is not set"),
        ([], {TOKEN_ENV: "abc"}, "too short"),
    ],
)
def test_cli_refuses_unsafe_or_incomplete_http_setups(args: list[str], env: dict[str, str], expected: str) -> None:
    result = subprocess.run(
        [*console_script(), "serve", "--demo", "--transport", "http", "--port", "0", *args],
        env=clean_env(**env), capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("veeam-em-mcp:")]
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


async def test_cli_http_end_to_end() -> None:
    with demo_http_server(clean_env(**{TOKEN_ENV: TOKEN}), "--stateless") as base:
        async with httpx.AsyncClient() as raw:
            refused = await raw.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS)
        async with mcp_over_http(f"{base}/mcp", {"Authorization": f"Bearer {TOKEN}"}) as client:
            result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
    assert refused.status_code == 401
    assert not result.is_error
    assert result.structured_content["vm_name"] == "sql01"
    assert "DEMO DATA" in result.content[0].text


# --- every client just works: loopback names, no OAuth, quiet logs -------------------------------------


async def test_loopback_hosts_without_a_port_and_https_loopback_origins_pass(
    loopback_simulator: RunningSimulator,
) -> None:
    # What a client behind a local reverse proxy on 80/443 sends; anything else is still refused.
    with http_server(loopback_simulator, token=TOKEN) as base:
        auth = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient() as raw:
            hosts = {
                host: (await raw.post(f"{base}/mcp", json=INIT, headers={**auth, "Host": host})).status_code
                for host in ("localhost", "127.0.0.1", "[::1]", "localhost:443", "localhost.evil.example", "evil.example")
            }
            origins = {
                origin: (await raw.post(f"{base}/mcp", json=INIT, headers={**auth, "Origin": origin})).status_code
                for origin in (
                    "https://localhost:8443",
                    "https://127.0.0.1",
                    "http://localhost",
                    "https://[::1]:3000",
                    "https://localhost.evil.example",
                    "https://evil.example",
                )
            }
    assert hosts == {
        "localhost": 200, "127.0.0.1": 200, "[::1]": 200, "localhost:443": 200,
        "localhost.evil.example": 421, "evil.example": 421,
    }
    assert origins == {
        "https://localhost:8443": 200, "https://127.0.0.1": 200, "http://localhost": 200, "https://[::1]:3000": 200,
        "https://localhost.evil.example": 403, "https://evil.example": 403,
    }


async def test_oauth_discovery_answers_404_without_a_token_and_says_why(gated_app: Any) -> None:
    paths = [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/mcp/.well-known/openid-configuration",
        "/register",
        "/authorize",
        "/token",
    ]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gated_app), base_url="http://127.0.0.1:8000") as c:
        answers = [await c.get(path) for path in paths]
        registration = await c.post("/register", json={"client_name": "x"})
        still_gated = await c.get("/anything-else")
    for response in [*answers, registration]:
        assert response.status_code == 404, response.request.url
        assert "offers no OAuth" in response.json()["error_description"]
        assert TOKEN_ENV in response.json()["error_description"]
    assert still_gated.status_code == 401


def test_cli_refuses_a_bad_limit_with_one_line() -> None:
    result = subprocess.run(
        [*console_script(), "serve", "--demo", "--transport", "http", "--port", "0"],
        env=clean_env(**{TOKEN_ENV: TOKEN, "VEEAM_MCP_HTTP_MAX_SESSIONS": "lots"}),
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("veeam-em-mcp:")]
    assert lines == ["veeam-em-mcp: VEEAM_MCP_HTTP_MAX_SESSIONS must be a whole number of at least 1 (got 'lots')"]


@pytest.mark.parametrize("access_log", [False, True])
async def test_no_query_string_reaches_the_log(access_log: bool, tmp_path: Any) -> None:
    env = clean_env(**{TOKEN_ENV: TOKEN, "VEEAM_MCP_LOG_LEVEL": "INFO", "VEEAM_MCP_HTTP_ACCESS_LOG": str(access_log)})
    with http_server_process(env, stderr_path=tmp_path / "stderr") as server:
        async with httpx.AsyncClient() as raw:
            await raw.post(f"{server.base}/mcp?access_token=SECRET-IN-QUERY", json=INIT, headers=MCP_HEADERS)
            await raw.post(
                f"{server.base}/mcp?api_key=SECRET-IN-QUERY",
                json=INIT,
                headers={**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"},
            )
            await raw.get(f"{server.base}/healthz?probe=SECRET-IN-QUERY")
        # The access line of a request is written once its answer is sent: wait for both (a busy machine is slow).
        deadline = time.monotonic() + 10
        while access_log and server.stderr_text().count("veeam_em_mcp.http.access") < 2 and time.monotonic() < deadline:
            await anyio.sleep(0.05)
        text = server.stderr_text()
    assert "SECRET-IN-QUERY" not in text
    assert TOKEN not in text
    access_lines = [line for line in text.splitlines() if "veeam_em_mcp.http.access" in line]
    if access_log:
        assert len(access_lines) == 2  # /healthz is not logged
        assert " POST /mcp 401 " in access_lines[0] and " POST /mcp 200 " in access_lines[1]
    else:
        assert access_lines == []
        assert " /mcp" not in text.replace(f"{server.base}/mcp", "")  # no uvicorn access lines either
