"""The password and the session token never appear in a result, a log line, an error or a repr.

The server runs with a known, unique password; every tool is called (successes and failures),
and every result, every log record (in-process, DEBUG) and the stdio server's whole stderr are
scanned for the password and for the session tokens the simulator handed out.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from veeam_em_mcp.config import Settings
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.server import build_server

from .conftest import ANCHOR, SIM_ORIGIN, SQL01_POINT, USERNAME

pytestmark = pytest.mark.anyio
KNOWN_PASSWORD = "Kn0wn-P4ss!word-7f3a9c"


def sample_calls() -> list[tuple[str, dict[str, Any]]]:
    """Arguments for every tool; a tool missing here fails the coverage check below."""
    href = f"{SIM_ORIGIN}/api/vmRestorePoints/{SQL01_POINT}"
    return [
        ("get_vm_restore_point", {"restore_point_id": SQL01_POINT}),
        ("get_vm_restore_point", {"restore_point_id": "00000000-0000-0000-0000-000000000000"}),
        ("get_vm_restore_point", {"restore_point_id": "nonsense"}),
        ("follow_link", {"href": href}),
        ("follow_link", {"href": f"{href}?action=restore"}),
        ("follow_link", {"href": f"http://user:{KNOWN_PASSWORD}@evil.example/api/"}),
        ("find_vm_restore_points", {"vm_name": "sql01", "page_size": 3}),
        ("vm_recovery_summary", {"vm_name": "sql01"}),
        ("vm_recovery_summary", {"vm_name": "no-such-vm"}),
        ("check_connection", {}),
        ("find_job_sessions", {"job_name": "SQL Backup"}),
        ("find_job_sessions", {"job_name": "no such job"}),
        ("get_job_session", {"session_id": build_dataset(anchor=ANCHOR).facts.all_failed_session_id}),
        ("get_job_session", {"session_id": "00000000-0000-0000-0000-000000000000"}),
        ("find_task_sessions", {"vm_name": "exch01"}),
        ("list_jobs", {"vm_name": "print01"}),
        ("list_repositories", {}),
        ("protection_report", {}),
        ("find_restore_sessions", {"created_after": "2000-01-01"}),
        ("list_backup_servers", {}),
        ("list_tenants", {}),
    ]


def scan(texts: list[str], secrets: list[str]) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"secret leaked in: {text[:300]}"


def result_texts(result: Any) -> list[str]:
    return [result.model_dump_json()] + [block.text for block in result.content if block.type == "text"]


async def test_no_secret_in_results_logs_or_reprs(dataset: Dataset, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(SimulatorConfig(password=KNOWN_PASSWORD), dataset)
    settings = Settings.from_env(
        {"VEEAM_EM_URL": SIM_ORIGIN, "VEEAM_EM_USERNAME": USERNAME, "VEEAM_EM_PASSWORD": KNOWN_PASSWORD}
    )
    texts = [repr(settings), str(settings), repr(settings.password)]
    caplog.set_level(logging.DEBUG)
    server = build_server(settings, transport=httpx.ASGITransport(app=app), retry_base_delay=0.01)
    async with Client(server) as client:
        available = {tool.name for tool in (await client.list_tools()).tools}
        covered = {name for name, _ in sample_calls()}
        assert available <= covered, f"add sample arguments for {available - covered}"
        for name, arguments in sample_calls():
            if name not in available:
                continue
            texts.extend(result_texts(await client.call_tool(name, arguments)))
        app.state.sim.expire_all_sessions()
        texts.extend(result_texts(await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})))
    tokens = [*app.state.sim.issued_tokens]
    assert tokens, "the simulator should have issued session tokens"
    texts.extend(record.getMessage() for record in caplog.records)
    texts.extend(repr(record.args) for record in caplog.records)
    assert any("logged on" in record.getMessage() for record in caplog.records)
    scan(texts, [KNOWN_PASSWORD, *tokens])


async def test_no_secret_on_the_stdio_servers_stderr(dataset: Dataset) -> None:
    running = RunningSimulator(SimulatorConfig(password=KNOWN_PASSWORD), dataset)
    running.start()
    try:
        env = {
            **os.environ,
            "VEEAM_EM_URL": running.base_url,
            "VEEAM_EM_USERNAME": USERNAME,
            "VEEAM_EM_PASSWORD": KNOWN_PASSWORD,
            "VEEAM_MCP_LOG_LEVEL": "DEBUG",
        }
        params = StdioServerParameters(command=sys.executable, args=["-m", "veeam_em_mcp"], env=env)
        with tempfile.TemporaryFile(mode="w+") as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=60) as client:
                ok = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
                assert not ok.is_error
                texts = result_texts(ok)
                running.state.expire_all_sessions()
                texts += result_texts(await client.call_tool("follow_link", {"href": f"{running.base_url}/api/"}))
            errlog.seek(0)
            stderr = errlog.read()
        tokens = [*running.state.issued_tokens]
    finally:
        running.stop()
    assert "logged on" in stderr  # the log really was captured
    scan([*texts, stderr], [KNOWN_PASSWORD, *tokens])


def test_password_file_is_read_and_not_shown(tmp_path: Path) -> None:
    secret_file = tmp_path / "password"
    secret_file.write_text(KNOWN_PASSWORD + "\n", encoding="utf-8")
    settings = Settings.from_env(
        {"VEEAM_EM_URL": "https://em:9398", "VEEAM_EM_USERNAME": "u", "VEEAM_EM_PASSWORD_FILE": str(secret_file)}
    )
    assert settings.password.reveal() == KNOWN_PASSWORD
    scan([repr(settings), str(settings), f"{settings}", repr(settings.password)], [KNOWN_PASSWORD])


def test_log_filter_masks_tokens_and_basic_credentials() -> None:
    from veeam_em_mcp.text import RedactSecrets

    record = logging.LogRecord(
        "httpcore", logging.DEBUG, __file__, 1,
        "send_request_headers: [(b'X-RestSvcSessionId', b'ZDVlMjBkMTYtMDc3My00YTVm'), (b'Authorization', b'Basic %s')]",
        ("dXNlcjpwYXNz",), None,
    )
    RedactSecrets().filter(record)
    message = record.getMessage()
    assert "ZDVlMjBkMTYtMDc3My00YTVm" not in message and "dXNlcjpwYXNz" not in message
    assert message.count("[redacted]") == 2
