"""The EM client's session behaviour against the simulator: reuse, single-flight re-logon, logout."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.errors import AuthenticationFailed, NotEnterpriseManager, NotFound

from .conftest import SIM_ORIGIN, SQL01_POINT, ManualClock, make_settings
from .foreign_servers import html_login_page, ok_without_token, vbr_rest_api
from .recording import RecordingTransport

pytestmark = pytest.mark.anyio
POINT_URL = f"{SIM_ORIGIN}/api/vmRestorePoints/{SQL01_POINT}?format=Entity"


def _client(app: Any, **overrides: Any) -> tuple[EnterpriseManagerClient, RecordingTransport]:
    recorder = RecordingTransport(httpx.ASGITransport(app=app))
    return EnterpriseManagerClient(make_settings(**overrides), transport=recorder, retry_base_delay=0.01), recorder


async def test_one_logon_for_a_hundred_calls(sim_app: Any) -> None:
    client, _ = _client(sim_app)
    async with client:
        for _ in range(100):
            doc = await client.get(POINT_URL)
            assert doc.root == "VmRestorePoint"
    assert sim_app.state.sim.logons == 1
    assert client.stats.logons == 1


async def test_twenty_concurrent_calls_after_expiry_cause_one_relogon(sim_app: Any, clock: ManualClock) -> None:
    client, _ = _client(sim_app)
    async with client:
        await client.get(POINT_URL)
        clock.advance(16 * 60)  # past EM's 15-minute idle timeout
        results: list[str | None] = []

        async def call() -> None:
            results.append((await client.get(POINT_URL)).root)

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(call)
    assert results == ["VmRestorePoint"] * 20
    assert sim_app.state.sim.logons == 2
    assert client.stats.logons == 2


async def test_expired_sessions_on_the_server_side_also_relogon_once(sim_app: Any) -> None:
    client, _ = _client(sim_app)
    async with client:
        await client.get(POINT_URL)
        sim_app.state.sim.expire_all_sessions()
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(client.get, POINT_URL)
    assert sim_app.state.sim.logons == 2


async def test_logout_through_the_delete_link_on_close(sim_app: Any) -> None:
    client, recorder = _client(sim_app)
    async with client:
        await client.get(POINT_URL)
        assert sim_app.state.sim.active_sessions() == 1
    assert sim_app.state.sim.logouts == 1
    assert sim_app.state.sim.active_sessions() == 0
    deletes = [r for r in recorder.requests if r.method == "DELETE"]
    assert len(deletes) == 1
    assert deletes[0].url.path.startswith("/api/logonSessions/")
    # never by listing sessions
    assert not any(r.method == "GET" and r.url.path.rstrip("/") == "/api/logonSessions" for r in recorder.requests)


async def test_logon_request_shape_and_single_accept(sim_app: Any) -> None:
    client, recorder = _client(sim_app, env={"VEEAM_EM_FORMAT": "json"})
    async with client:
        await client.get(POINT_URL)
    logon = recorder.requests[0]
    assert logon.method == "POST"
    assert logon.url.path == "/api/sessionMngr/" and logon.url.params["v"] == "latest"
    assert logon.headers["content-length"] == "0"
    assert logon.headers["authorization"].startswith("Basic ")
    for request in recorder.requests:
        assert request.headers["accept"] == "application/json"
        assert "cookie" not in request.headers  # the header token is the only truth
    assert recorder.requests[1].headers["x-restsvcsessionid"]


async def test_bad_credentials_fail_once_and_clearly(sim_app: Any) -> None:
    client, recorder = _client(sim_app, env={"VEEAM_EM_PASSWORD": "Wr0ng-Passw0rd-7731"})
    async with client:
        with pytest.raises(AuthenticationFailed, match="VEEAM_EM_PASSWORD") as failed:
            await client.get(POINT_URL)
        assert "Wr0ng-Passw0rd-7731" not in str(failed.value)
    assert sim_app.state.sim.failed_logons == 1
    assert len([r for r in recorder.requests if r.method == "POST"]) == 1


async def test_not_found_is_specific(sim_app: Any) -> None:
    client, _ = _client(sim_app)
    async with client:
        with pytest.raises(NotFound):
            await client.get(f"{SIM_ORIGIN}/api/vmRestorePoints/00000000-0000-0000-0000-000000000000?format=Entity")
        # and the session still works afterwards
        assert (await client.get(POINT_URL)).root == "VmRestorePoint"


@pytest.mark.parametrize("foreign", [vbr_rest_api, html_login_page, ok_without_token])
async def test_something_that_is_not_enterprise_manager(foreign: Any) -> None:
    client, _ = _client(foreign())
    async with client:
        with pytest.raises(NotEnterpriseManager, match="9398") as wrong:
            await client.get(POINT_URL)
    assert "9419" in str(wrong.value)


async def test_connections_to_em_are_kept_alive(loopback_simulator: Any) -> None:
    base = loopback_simulator.base_url
    before = set(loopback_simulator.state.peers)
    client = EnterpriseManagerClient(make_settings(base), retry_base_delay=0.01)
    async with client:
        for _ in range(30):
            await client.get(f"{base}/api/vmRestorePoints/{SQL01_POINT}?format=Entity")
    # logon, 30 GETs and the logout share one TCP connection
    assert len(loopback_simulator.state.peers - before) == 1
