"""Connection diagnosis: the check_connection tool and ``veeam-em-mcp doctor``, against real parts.

Each diagnosis runs against something real: the EM simulator (in-process, on loopback, over TLS
with a trustme CA), the small foreign servers of ``foreign_servers.py`` (the VBR REST API, an
HTML sign-in page, a service that is not EM), and a port nothing listens on.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from veeam_em_mcp.cli import render_text
from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.config import Settings
from veeam_em_mcp.models.diagnosis import ConnectionDiagnosis
from veeam_em_mcp.services.connection import username_hint
from veeam_em_mcp.services.diagnosis import diagnose
from veeam_em_mcp.simulator.runner import RunningSimulator

from . import foreign_servers
from .conftest import PASSWORD, USERNAME, McpFactory, make_settings

pytestmark = pytest.mark.anyio


async def diagnose_app(app: Any, base_url: str = "http://em.test:9398", **env: str) -> ConnectionDiagnosis:
    settings = make_settings(base_url, env={"VEEAM_EM_RETRIES": "1", **env})
    async with EnterpriseManagerClient(settings, transport=httpx.ASGITransport(app=app)) as client:
        return await diagnose(client)


async def diagnose_url(base_url: str, **env: str) -> ConnectionDiagnosis:
    settings = make_settings(base_url, env={"VEEAM_EM_RETRIES": "1", "VEEAM_EM_TIMEOUT": "5", **env})
    async with EnterpriseManagerClient(settings) as client:
        return await diagnose(client)


def statuses(diagnosis: ConnectionDiagnosis) -> dict[str, str]:
    return {check.name: check.status for check in diagnosis.checks}


def check(diagnosis: ConnectionDiagnosis, name: str) -> Any:
    return next(c for c in diagnosis.checks if c.name == name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- diagnose() -----------------------------------------------------------------------------


async def test_healthy_simulator(sim_app: Any) -> None:
    diagnosis = await diagnose_app(sim_app)
    assert diagnosis.ok
    assert diagnosis.verdict.startswith("READY")
    assert diagnosis.api_versions == ["v1_5", "v1_6", "v1_7"]
    assert diagnosis.newest_api_version == "v1_7"
    assert diagnosis.logged_on_as == USERNAME
    assert statuses(diagnosis) == {
        "configuration": "ok",
        "reachable": "ok",
        "tls": "warning",  # plain HTTP to a non-loopback name
        "api": "ok",
        "logon": "ok",
        "access": "ok",
    }
    assert "visible" in check(diagnosis, "access").summary
    assert sim_app.state.sim.active_sessions() == 0, "the diagnosis logs out of its session"


async def test_wrong_password(sim_app: Any) -> None:
    diagnosis = await diagnose_app(sim_app, VEEAM_EM_PASSWORD="not-the-password")
    assert not diagnosis.ok
    assert statuses(diagnosis)["logon"] == "error"
    assert statuses(diagnosis)["access"] == "skipped"
    assert diagnosis.api_versions == ["v1_5", "v1_6", "v1_7"], "EM itself was found"
    logon = check(diagnosis, "logon")
    assert "401" in logon.summary
    assert "VEEAM_EM_PASSWORD" in logon.fix and "Portal Administrator" in logon.fix
    assert "not-the-password" not in diagnosis.model_dump_json()


@pytest.mark.parametrize(
    ("username", "hint"),
    [
        ("demo", "has no domain"),
        ("DEMO\\\\demo", "two backslashes"),
        ("DEMO/demo", "forward slash"),
        ("DEMO\\demo", None),
        ("demo@demo.local", None),
    ],
)
def test_username_hints(username: str, hint: str | None) -> None:
    found = username_hint(username)
    assert (found is None) if hint is None else (hint in (found or ""))


async def test_wrong_username_format_is_named(sim_app: Any) -> None:
    diagnosis = await diagnose_app(sim_app, VEEAM_EM_USERNAME="demo")
    assert "has no domain" in check(diagnosis, "logon").fix


async def test_vbr_rest_api_is_not_em() -> None:
    diagnosis = await diagnose_app(foreign_servers.vbr_rest_api(), "https://vbr.test:9419")
    api = check(diagnosis, "api")
    assert api.status == "error"
    assert "Backup & Replication REST API" in api.summary
    assert "9398" in api.fix
    assert statuses(diagnosis)["logon"] == "skipped"


async def test_web_ui_is_not_em() -> None:
    diagnosis = await diagnose_app(foreign_servers.html_login_page(), "https://em.test:9443")
    api = check(diagnosis, "api")
    assert api.status == "error"
    assert "HTML page" in api.summary
    assert "web UI" in api.fix and "9398" in api.fix


async def test_other_service_is_not_em() -> None:
    diagnosis = await diagnose_app(foreign_servers.ok_without_token(), "https://svc.test:8443")
    api = check(diagnosis, "api")
    assert api.status == "error"
    assert "not EM's entry document" in api.summary
    assert "8443" in api.fix


async def test_nothing_listening() -> None:
    port = free_port()
    diagnosis = await diagnose_url(f"http://127.0.0.1:{port}")
    reachable = check(diagnosis, "reachable")
    assert reachable.status == "error"
    assert "Cannot connect" in reachable.summary
    assert "VEEAM_EM_URL" in reachable.fix and "9398" in reachable.fix
    assert [c.status for c in diagnosis.checks[2:]] == ["skipped"] * 4


# --- TLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSimulator, Path, str]]:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    key_and_chain = folder / "server.pem"
    leaf.private_key_and_cert_chain_pem.write_to_path(str(key_and_chain))
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    running = RunningSimulator(ssl_certfile=str(key_and_chain), ssl_keyfile=str(key_and_chain))
    running.start()
    try:
        yield running, ca_file, sha256(der).hexdigest()
    finally:
        running.stop()


async def test_untrusted_certificate_names_the_variables_and_the_fingerprint(
    tls_simulator: tuple[RunningSimulator, Path, str],
) -> None:
    running, _, fingerprint = tls_simulator
    diagnosis = await diagnose_url(running.base_url)
    tls = check(diagnosis, "tls")
    assert tls.status == "error"
    assert "not trusted" in tls.summary
    assert "VEEAM_EM_CA_BUNDLE" in tls.fix and "VEEAM_EM_TLS_FINGERPRINT" in tls.fix
    shown = fingerprint.upper()
    assert ":".join(shown[i : i + 2] for i in range(0, 64, 2)) in tls.fix


async def test_ca_bundle_and_fingerprint_fix_it(tls_simulator: tuple[RunningSimulator, Path, str]) -> None:
    running, ca_file, fingerprint = tls_simulator
    with_ca = await diagnose_url(running.base_url, VEEAM_EM_CA_BUNDLE=str(ca_file))
    pinned = await diagnose_url(running.base_url, VEEAM_EM_TLS_FINGERPRINT=fingerprint)
    assert with_ca.ok and "VEEAM_EM_CA_BUNDLE" in with_ca.tls
    assert pinned.ok and "pinned" in pinned.tls


async def test_https_to_a_plain_http_port(loopback_simulator: RunningSimulator) -> None:
    url = loopback_simulator.base_url.replace("http://", "https://")
    diagnosis = await diagnose_url(url)
    tls = check(diagnosis, "tls")
    assert tls.status == "error"
    assert "handshake" in tls.summary
    assert "plain-HTTP" in tls.fix


# --- the check_connection tool ------------------------------------------------------------------


async def test_check_connection_tool(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        result = await client.call_tool("check_connection", {})
    assert tools["check_connection"].annotations.read_only_hint is True
    assert not result.is_error
    report = result.structured_content
    assert report["ok"] is True
    assert report["api_versions"] == ["v1_5", "v1_6", "v1_7"]
    assert PASSWORD not in json.dumps(report)


async def test_check_connection_tool_reports_a_failed_logon_as_an_answer(mcp_session: McpFactory) -> None:
    async with mcp_session(env={"VEEAM_EM_PASSWORD": "wrong-password"}) as client:
        result = await client.call_tool("check_connection", {})
    assert not result.is_error, "the diagnosis is the answer, not a tool failure"
    report = result.structured_content
    assert report["ok"] is False
    assert report["verdict"].startswith("NOT READY: logon")
    assert "wrong-password" not in json.dumps(report)


# --- veeam-em-mcp doctor (the real console script) --------------------------------------------------


def doctor(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("veeam-em-mcp")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "veeam_em_mcp"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_"))}
    return subprocess.run(
        [*command, "doctor", *args], env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def em_env(url: str, password: str = PASSWORD) -> dict[str, str]:
    return {"VEEAM_EM_URL": url, "VEEAM_EM_USERNAME": USERNAME, "VEEAM_EM_PASSWORD": password}


def test_doctor_cli_three_diagnoses(loopback_simulator: RunningSimulator) -> None:
    healthy = doctor(**em_env(loopback_simulator.base_url))
    wrong_port = doctor(**em_env(f"http://127.0.0.1:{free_port()}"))
    wrong_password = doctor(**em_env(loopback_simulator.base_url, "wrong-password"))

    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "READY: Enterprise Manager" in healthy.stdout
    assert "supported versions: v1_5, v1_6, v1_7" in healthy.stdout

    assert wrong_port.returncode == 1
    assert "[FAIL] reachable" in wrong_port.stdout
    assert "Cannot connect" in wrong_port.stdout

    assert wrong_password.returncode == 1
    assert "[FAIL] logon" in wrong_password.stdout
    assert "[  ok] api" in wrong_password.stdout
    assert "wrong-password" not in wrong_password.stdout + wrong_password.stderr

    assert len({healthy.stdout, wrong_port.stdout, wrong_password.stdout}) == 3


def test_doctor_cli_json(loopback_simulator: RunningSimulator) -> None:
    result = doctor("--json", **em_env(loopback_simulator.base_url))
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["newest_api_version"] == "v1_7"


def test_doctor_cli_configuration_error() -> None:
    result = doctor(VEEAM_EM_USERNAME=USERNAME, VEEAM_EM_PASSWORD=PASSWORD)
    assert result.returncode == 2
    assert "VEEAM_EM_URL" in result.stdout
    assert "Traceback" not in result.stderr


def test_render_text_marks_each_check() -> None:
    settings = Settings.from_env(em_env("http://127.0.0.1:9"))
    assert settings.username == USERNAME
    diagnosis = ConnectionDiagnosis(
        ok=False, verdict="NOT READY", em_url=settings.base_url, username=USERNAME, tls="x", checks=[]
    )
    assert render_text(diagnosis).startswith("veeam-em-mcp doctor: http://127.0.0.1:9/api as DEMO\\demo")


def test_doctor_cli_names_the_proxy_the_requests_go_through(loopback_simulator: RunningSimulator) -> None:
    """httpx honours HTTP(S)_PROXY / NO_PROXY; doctor says which proxy applies to EM, without its password."""
    proxy_variables = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    unset = {name: "" for name in os.environ if name.lower() in proxy_variables}
    port = free_port()  # nothing listens there: a proxy that is down
    through = doctor(**unset, **em_env(loopback_simulator.base_url), HTTP_PROXY=f"http://ops:s3cret@127.0.0.1:{port}")
    assert through.returncode == 1, through.stdout + through.stderr
    assert "[FAIL] reachable" in through.stdout
    assert f"through the proxy http://127.0.0.1:{port} (credentials masked)" in through.stdout
    assert "add 127.0.0.1 to NO_PROXY" in through.stdout
    assert "s3cret" not in through.stdout + through.stderr

    bypassed = doctor(
        **unset, **em_env(loopback_simulator.base_url), HTTP_PROXY=f"http://127.0.0.1:{port}", NO_PROXY="127.0.0.1"
    )
    assert bypassed.returncode == 0, bypassed.stdout + bypassed.stderr
    assert "proxy" not in bypassed.stdout
