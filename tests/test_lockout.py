"""A wrong password cannot lock the EM account out: rejected logons back off, concurrent calls share one failure.

Everything goes through the real paths: the product's client and MCP server against the simulator, in-process and
on loopback, and 50 MCP clients over the real streamable HTTP transport. The simulator's ``failed_logons`` counter
is the account's view: it counts every logon EM rejected. The back-off is timed by the client's injectable clock
(the same ``ManualClock`` that ages the simulator's sessions), so periods pass without sleeping.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from veeam_em_mcp.client import FORCED_LOGON_MIN_AGE, LOGON_BACKOFF, EnterpriseManagerClient
from veeam_em_mcp.errors import AccessDenied, AuthenticationFailed, LogonRejected, RoleMissing
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.http import build_http_app
from veeam_em_mcp.surface.server import build_server

from .conftest import PASSWORD, SIM_ORIGIN, SQL01_POINT, USERNAME, ManualClock, McpFactory, make_settings
from .test_http_transport import mcp_over_http, serve_app

pytestmark = pytest.mark.anyio
POINT_URL = f"{SIM_ORIGIN}/api/vmRestorePoints/{SQL01_POINT}?format=Entity"
WRONG = "not-the-demo-password-4711"  # a different length from PASSWORD, so a rewrite always changes the size
POINT = {"restore_point_id": SQL01_POINT}

# The error every call gets while the back-off lasts: the account as plain text, what to check, when it tries again.
REJECTED = re.compile(
    r"Enterprise Manager rejected the logon of DEMO\\demo \(401: a wrong password, an unknown or disabled account, "
    r"or a user-name format EM does not accept\)\. Check VEEAM_EM_USERNAME \(DOMAIN\\user or user@domain\) and "
    r"VEEAM_EM_PASSWORD \(or VEEAM_EM_PASSWORD_FILE\); the account needs the Portal Administrator, Portal User or "
    r"Restore Operator role in EM\. To keep the account from being locked out, no logon is tried before "
    r"\d\d:\d\d:\d\d UTC \(in (?P<wait>\d+ s|\d+ min( \d+ s)?); (?P<count>\d+) failed logons? in a row\); "
    r"(?P<sooner>a new password in VEEAM_EM_PASSWORD_FILE is tried at once|a corrected VEEAM_EM_PASSWORD takes "
    r"effect when the server is restarted)\."
)


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def tool_error(result: Any, tool: str = "get_vm_restore_point") -> str:
    assert result.is_error, text_of(result)
    text = text_of(result)
    prefix = f"Error executing tool {tool}: "
    assert text.startswith(prefix), text
    return text[len(prefix):]


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "em-password"
    path.write_text(WRONG + "\n", encoding="utf-8")
    return path


def client_for(sim_app: Any, clock: ManualClock, **env: Any) -> EnterpriseManagerClient:
    return EnterpriseManagerClient(
        make_settings(env=env), transport=httpx.ASGITransport(app=sim_app), retry_base_delay=0.01, clock=clock
    )


# --- the done-when figures -----------------------------------------------------------------------------------


async def test_fifty_sequential_calls_make_one_failed_logon(mcp_session: McpFactory, sim_app: Any) -> None:
    async with mcp_session(env={"VEEAM_EM_PASSWORD": WRONG}) as client:
        errors = [tool_error(await client.call_tool("get_vm_restore_point", POINT)) for _ in range(50)]
    assert sim_app.state.sim.failed_logons == 1
    for error in errors:
        match = REJECTED.fullmatch(error)
        assert match, error
        assert match["count"] == "1" and match["sooner"].startswith("a corrected VEEAM_EM_PASSWORD")
    # The user name reads as configured: one backslash, no quotes (the README warns against a doubled one).
    assert "DEMO\\demo" in errors[0] and "'DEMO\\\\demo'" not in errors[0] and "\\\\" not in errors[0]
    assert WRONG not in "".join(errors)


async def test_corrected_password_file_works_without_a_restart(
    mcp_session: McpFactory, sim_app: Any, password_file: Path
) -> None:
    async with mcp_session(env={"VEEAM_EM_PASSWORD_FILE": password_file}) as client:
        for _ in range(10):
            match = REJECTED.fullmatch(tool_error(await client.call_tool("get_vm_restore_point", POINT)))
            assert match and match["sooner"] == "a new password in VEEAM_EM_PASSWORD_FILE is tried at once"
        assert sim_app.state.sim.failed_logons == 1
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        fixed = await client.call_tool("get_vm_restore_point", POINT)
        assert not fixed.is_error, text_of(fixed)
        assert fixed.structured_content["vm_name"] == "sql01"
        assert sim_app.state.sim.logons == 1
    assert sim_app.state.sim.failed_logons == 1


async def test_two_hundred_calls_from_fifty_http_clients_make_one_failed_logon(
    em: RunningSimulator, password_file: Path
) -> None:
    """50 MCP clients over the real streamable HTTP transport (uvicorn on loopback), 4 calls each, at once."""
    server = build_server(make_settings(em.base_url, env={"VEEAM_EM_PASSWORD_FILE": password_file}),
                          retry_base_delay=0.01)
    before = em.state.failed_logons
    errors: list[str] = []
    with serve_app(build_http_app(server, token=None)) as base:

        async def one_client() -> None:
            async with mcp_over_http(f"{base}/mcp") as client:
                for _ in range(4):
                    errors.append(tool_error(await client.call_tool("get_vm_restore_point", POINT)))

        with anyio.fail_after(120):
            async with anyio.create_task_group() as group:
                for _ in range(50):
                    group.start_soon(one_client)
        failed = em.state.failed_logons - before
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        async with mcp_over_http(f"{base}/mcp") as client:
            fixed = await client.call_tool("get_vm_restore_point", POINT)
    assert len(errors) == 200
    assert failed == 1
    assert all(REJECTED.fullmatch(error) for error in errors), next(e for e in errors if not REJECTED.fullmatch(e))
    assert not fixed.is_error, text_of(fixed)
    assert em.state.failed_logons - before == 1


# --- the back-off, with the clock moved by hand ------------------------------------------------------------------


async def test_back_off_grows_and_never_allows_two_failures_in_a_period(sim_app: Any, clock: ManualClock) -> None:
    sim = sim_app.state.sim
    async with client_for(sim_app, clock, VEEAM_EM_PASSWORD=WRONG) as client:
        with pytest.raises(AuthenticationFailed) as first:
            await client.get(POINT_URL)
        assert first.value.attempted is True
        waits = [REJECTED.fullmatch(str(first.value))["wait"]]  # type: ignore[index]
        for failures in range(1, 5):
            length = LOGON_BACKOFF[min(failures, len(LOGON_BACKOFF)) - 1]
            for _ in range(20):  # a busy caller throughout the period: refused at once, nothing sent
                clock.advance(length / 21)
                with pytest.raises(AuthenticationFailed) as refused:
                    await client.get(POINT_URL)
                assert refused.value.attempted is False and refused.value.failed_logons == failures
            assert sim.failed_logons == failures
            match = REJECTED.fullmatch(str(refused.value))
            assert match and match["count"] == str(failures)
            backoff = client.logon_backoff
            assert backoff is not None and backoff.status == 401 and backoff.failed_logons == failures
            assert backoff.retry_in == pytest.approx(length / 21)
            clock.advance(length / 21 + 0.01)  # the period is over: the next call tries once more
            with pytest.raises(AuthenticationFailed) as attempted:
                await client.get(POINT_URL)
            assert attempted.value.attempted is True
            waits.append(REJECTED.fullmatch(str(attempted.value))["wait"])  # type: ignore[index]
        assert client.stats.failed_logons == sim.failed_logons == 5
        assert client.stats.logons_refused == 80
    assert waits == ["30 s", "5 min", "15 min", "15 min", "15 min"]


async def test_concurrent_calls_share_one_failed_logon(sim_app: Any, clock: ManualClock) -> None:
    outcomes: list[LogonRejected] = []
    async with client_for(sim_app, clock, VEEAM_EM_PASSWORD=WRONG) as client:

        async def call() -> None:
            try:
                await client.get(POINT_URL)
            except LogonRejected as exc:
                outcomes.append(exc)

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(call)
    assert len(outcomes) == 50
    assert sim_app.state.sim.failed_logons == 1
    assert sum(1 for exc in outcomes if exc.attempted) == 1  # the one that sent it; 49 were refused at once
    assert client.stats.logons_refused == 49
    assert {type(exc) for exc in outcomes} == {AuthenticationFailed}


async def test_calls_waiting_on_a_rejected_logon_try_a_password_fixed_meanwhile(
    sim_app: Any, clock: ManualClock, password_file: Path
) -> None:
    sim = sim_app.state.sim
    sim.faults.set("slow-logon=0.3")  # each logon takes 0.3 s, so the others queue behind the first
    outcomes: list[str] = []
    async with client_for(sim_app, clock, VEEAM_EM_PASSWORD_FILE=password_file) as client:

        async def call() -> None:
            try:
                outcomes.append((await client.get(POINT_URL)).root or "")
            except LogonRejected as exc:
                outcomes.append(type(exc).__name__)

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(call)
            await anyio.sleep(0.1)  # the first logon, with the wrong password, is on its way
            password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    assert sorted(outcomes) == ["AuthenticationFailed"] + ["VmRestorePoint"] * 4
    assert sim.failed_logons == 1 and sim.logons == 1


async def test_forced_logon_is_bounded(sim_app: Any, clock: ManualClock) -> None:
    """``logon()`` (check_connection, doctor) may try sooner, but never right after a failure, nor twice in a row."""
    sim = sim_app.state.sim
    async with client_for(sim_app, clock, VEEAM_EM_PASSWORD=WRONG) as client:
        with pytest.raises(AuthenticationFailed):
            await client.get(POINT_URL)
        with pytest.raises(AuthenticationFailed) as too_soon:
            await client.logon()  # right after the failure: refused, nothing sent
        assert too_soon.value.attempted is False and sim.failed_logons == 1
        clock.advance(LOGON_BACKOFF[0])
        with pytest.raises(AuthenticationFailed):
            await client.get(POINT_URL)  # period 2 (5 min) begins
        assert sim.failed_logons == 2
        clock.advance(FORCED_LOGON_MIN_AGE)
        with pytest.raises(AuthenticationFailed):
            await client.logon(force=False)  # not forced: waits out the back-off like a tool call
        assert sim.failed_logons == 2
        with pytest.raises(AuthenticationFailed) as forced:
            await client.logon()  # forced, 30 s after an ordinary failure: tried once
        assert forced.value.attempted is True and sim.failed_logons == 3
        for _ in range(10):  # a model looping on check_connection
            clock.advance(FORCED_LOGON_MIN_AGE)
            with pytest.raises(AuthenticationFailed) as looped:
                await client.logon()
            assert looped.value.attempted is False
        assert sim.failed_logons == 3  # a forced failure allows no further forced try before a scheduled one
        clock.advance(LOGON_BACKOFF[2])
        with pytest.raises(AuthenticationFailed):
            await client.get(POINT_URL)
        assert sim.failed_logons == 4


async def test_check_connection_right_after_a_failure_sends_no_logon(mcp_session: McpFactory, sim_app: Any) -> None:
    async with mcp_session(env={"VEEAM_EM_PASSWORD": WRONG}) as client:
        tool_error(await client.call_tool("get_vm_restore_point", POINT))
        diagnosis = await client.call_tool("check_connection", {})
    assert not diagnosis.is_error
    report = diagnosis.structured_content
    assert report["ok"] is False
    logon = next(check for check in report["checks"] if check["name"] == "logon")
    assert logon["status"] == "error" and "401" in logon["summary"]
    assert sim_app.state.sim.failed_logons == 1


async def test_a_success_ends_the_back_off(sim_app: Any, clock: ManualClock, password_file: Path) -> None:
    sim = sim_app.state.sim
    async with client_for(sim_app, clock, VEEAM_EM_PASSWORD_FILE=password_file) as client:
        for _ in range(2):
            with pytest.raises(AuthenticationFailed):
                await client.get(POINT_URL)
            clock.advance(LOGON_BACKOFF[0])
        assert client.logon_backoff is not None and client.logon_backoff.failed_logons == 2
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        assert (await client.get(POINT_URL)).root == "VmRestorePoint"
        assert client.logon_backoff is None
        # The password is rotated on EM's side only: the next logon (after the session expires) is rejected,
        # and the back-off starts again from its first, shortest period.
        password_file.write_text(WRONG + "\n", encoding="utf-8")
        sim.expire_all_sessions()
        with pytest.raises(AuthenticationFailed) as rejected:
            await client.get(POINT_URL)
    match = REJECTED.fullmatch(str(rejected.value))
    assert match and match["count"] == "1" and match["wait"] == "30 s"
    assert sim.failed_logons == 3


async def test_a_missing_role_backs_off_too(sim_app: Any, clock: ManualClock) -> None:
    """403 at logon (the account has no EM role): the same back-off, as a RoleMissing (an AccessDenied)."""
    (fault,) = sim_app.state.sim.faults.set("status=403,method=POST")
    async with client_for(sim_app, clock) as client:
        for _ in range(20):
            with pytest.raises(RoleMissing) as refused:
                await client.get(POINT_URL)
        assert fault.fired == 1
        assert isinstance(refused.value, AccessDenied) and refused.value.status == 403
        assert str(refused.value).startswith(
            "Enterprise Manager refused the logon of DEMO\\demo (403): the account lacks an EM role."
        )
        assert "no logon is tried before" in str(refused.value)
        sim_app.state.sim.faults.clear()  # the role is granted in EM
        clock.advance(LOGON_BACKOFF[0])
        assert (await client.get(POINT_URL)).root == "VmRestorePoint"
    assert fault.fired == 1


async def test_password_file_problems_keep_the_last_password_and_never_show_it(
    sim_app: Any, clock: ManualClock, password_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    async with client_for(sim_app, clock, VEEAM_EM_PASSWORD_FILE=password_file) as client:
        assert (await client.get(POINT_URL)).root == "VmRestorePoint"
        password_file.write_text("", encoding="utf-8")  # an editor truncating the file mid-save
        sim_app.state.sim.expire_all_sessions()
        assert (await client.get(POINT_URL)).root == "VmRestorePoint"  # logged on again with the last password
        password_file.unlink()
        sim_app.state.sim.expire_all_sessions()
        assert (await client.get(POINT_URL)).root == "VmRestorePoint"
    assert sim_app.state.sim.failed_logons == 0 and sim_app.state.sim.logons == 3
    assert "VEEAM_EM_PASSWORD_FILE changed, but the file is empty; keeping the password read before" in caplog.text
    assert "VEEAM_EM_PASSWORD_FILE cannot be read any more" in caplog.text
    assert PASSWORD not in caplog.text and WRONG not in caplog.text


async def test_failed_logons_are_logged_with_their_count(
    sim_app: Any, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="veeam_em_mcp")
    async with client_for(sim_app, clock, VEEAM_EM_PASSWORD=WRONG) as client:
        for _ in range(2):
            for _ in range(10):
                with pytest.raises(AuthenticationFailed):
                    await client.get(POINT_URL)
            clock.advance(LOGON_BACKOFF[0])
    lines = [r.getMessage() for r in caplog.records if "rejected the logon" in r.getMessage()]
    assert lines == [
        f"Enterprise Manager rejected the logon of {USERNAME} (401); 1 failed logon in a row (1 since start); "
        "no logon is tried for 30 s",
        f"Enterprise Manager rejected the logon of {USERNAME} (401); 2 failed logons in a row (2 since start); "
        "no logon is tried for 5 min",
    ]
    assert WRONG not in caplog.text
