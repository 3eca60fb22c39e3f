"""Simulator sessions: logon/logout, 401 bodies, idle expiry (manual clock), cookie-over-header precedence,
counters and EM's response headers."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from veeam_em_mcp.simulator.state import SimulatorState

pytestmark = pytest.mark.anyio

NS = "{http://www.veeam.com/ent/v1.0}"
USER = "DEMO\\demo"
PASSWORD = "demo-password"
EM_HEADERS = {
    "server": "Microsoft-HTTPAPI/2.0",
    "cache-control": "private",
    "x-frame-options": "SAMEORIGIN",
    "x-content-type-options": "nosniff",
    "x-xss-protection": "1; mode=block",
    "strict-transport-security": "max-age=31536000",
}


def assert_em_headers(r: httpx.Response) -> None:
    for name, value in EM_HEADERS.items():
        assert r.headers.get(name) == value, name


async def test_entry_document_needs_no_auth(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/api/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/xml; charset=utf-8"
    assert r.text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<EnterpriseManager xmlns:xsd=')
    root = ET.fromstring(r.content)
    versions = [v.get("Name") for v in root.iter(f"{NS}SupportedVersion")]
    assert versions == ["v1_5", "v1_6", "v1_7"]
    hrefs = [link.get("Href") for link in root.iter(f"{NS}Link")]
    assert "http://em.sim.test:9398/api/sessionMngr/?v=latest" in hrefs
    assert_em_headers(r)
    j = (await anon.get("/api", headers={"Accept": "application/json"})).json()
    assert [v["Name"] for v in j["SupportedVersions"]["SupportedVersions"]] == ["v1_5", "v1_6", "v1_7"]


async def test_logon_returns_token_cookie_and_session(anon: httpx.AsyncClient, state: SimulatorState) -> None:
    r = await anon.post("/api/sessionMngr/?v=latest", auth=(USER, PASSWORD))
    assert r.status_code == 201
    token = r.headers["X-RestSvcSessionId"]
    assert r.headers["set-cookie"] == f"X-RestSvcSessionId={token}; Path=/api;"
    root = ET.fromstring(r.content)
    assert root.tag == f"{NS}LogonSession"
    session_id = root.findtext(f"{NS}SessionId")
    assert root.findtext(f"{NS}UserName") == USER
    assert base64.b64decode(token).decode() == session_id
    delete = [x for x in root.iter(f"{NS}Link") if x.get("Rel") == "Delete"]
    assert [x.get("Href") for x in delete] == [f"http://em.sim.test:9398/api/logonSessions/{session_id}"]
    assert state.logons == 1 and state.active_sessions() == 1
    assert state.issued_tokens == [token]
    assert_em_headers(r)


@pytest.mark.parametrize("version", ["v1_5", "v1_6", "v1_7", None])
async def test_logon_versions(anon: httpx.AsyncClient, version: str | None) -> None:
    url = "/api/sessionMngr/" + (f"?v={version}" if version else "")
    r = await anon.post(url, auth=(USER, PASSWORD), headers={"Accept": "application/json"})
    assert r.status_code == 201
    body = r.json()
    assert body["UserName"] == USER and body["SessionId"]
    assert body["Type"] == "LogonSession"


async def test_unknown_version_is_400(anon: httpx.AsyncClient) -> None:
    r = await anon.post("/api/sessionMngr/?v=v1_9", auth=(USER, PASSWORD))
    assert r.status_code == 400
    assert ET.fromstring(r.content).get("StatusCode") == "400"
    assert "X-RestSvcSessionId" not in r.headers


@pytest.mark.parametrize("auth", [(USER, "wrong"), ("someone", PASSWORD), None])
async def test_bad_credentials(anon: httpx.AsyncClient, state: SimulatorState, auth: Any) -> None:
    r = await anon.post("/api/sessionMngr/?v=latest", auth=auth)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Basic Realm=RestSvc"
    assert "X-RestSvcSessionId" not in r.headers
    assert "set-cookie" not in r.headers
    err = ET.fromstring(r.content)
    assert err.tag == f"{NS}Error" and err.get("StatusCode") == "401"
    assert err.findtext(f"{NS}FirstChanceExceptionMessage") == err.get("Message")
    assert state.failed_logons == 1 and state.logons == 0


async def test_username_is_case_insensitive(anon: httpx.AsyncClient) -> None:
    r = await anon.post("/api/sessionMngr/?v=latest", auth=(USER.upper(), PASSWORD))
    assert r.status_code == 201


async def test_get_on_session_manager_is_405(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/api/sessionMngr/?v=latest")
    assert r.status_code == 405


async def test_missing_or_bad_token_is_401(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/api/backupServers")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/xml; charset=utf-8"
    assert ET.fromstring(r.content).get("StatusCode") == "401"
    assert_em_headers(r)
    r = await anon.get("/api/backupServers", headers={"X-RestSvcSessionId": "bm9wZQ==",
                                                      "Accept": "application/json"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body = r.json()
    assert list(body) == ["FirstChanceExceptionMessage", "Message", "StackTrace", "Status", "StatusCode"]
    assert body["StatusCode"] == 401 and body["StackTrace"] is None
    # Auth comes before routing: unknown paths are 401 too without a token.
    assert (await anon.get("/api/noSuchThing")).status_code == 401


async def test_header_name_is_case_insensitive(anon: httpx.AsyncClient, logon_fn: Callable[..., Any]) -> None:
    token = await logon_fn(anon)
    del anon.headers["X-RestSvcSessionId"]
    r = await anon.get("/api/backupServers", headers={"x-restsvcsessionid": token})
    assert r.status_code == 200


async def test_cookie_wins_over_header(sim: Starlette, client_factory: Callable[..., httpx.AsyncClient]) -> None:
    async with client_factory(sim) as c:
        r = await c.post("/api/sessionMngr/?v=latest", auth=(USER, PASSWORD))
        token = r.headers["X-RestSvcSessionId"]
        # The cookie jar now holds the token: a bogus header is ignored.
        assert (await c.get("/api/jobs", headers={"X-RestSvcSessionId": "Ym9ndXM="})).status_code == 200
        # A bogus cookie is used even though the header is valid.
        c.cookies.clear()
        r = await c.get("/api/jobs", headers={"X-RestSvcSessionId": token,
                                              "Cookie": "X-RestSvcSessionId=Ym9ndXM="})
        assert r.status_code == 401
        assert (await c.get("/api/jobs", headers={"X-RestSvcSessionId": token})).status_code == 200


async def test_idle_expiry_uses_the_injected_clock(api: httpx.AsyncClient, state: SimulatorState,
                                                   manual_clock: Any) -> None:
    assert (await api.get("/api/jobs")).status_code == 200
    manual_clock.advance(600)
    assert (await api.get("/api/jobs")).status_code == 200  # activity resets the idle timer
    manual_clock.advance(899)
    assert (await api.get("/api/jobs")).status_code == 200
    manual_clock.advance(900.5)
    assert state.active_sessions() == 0
    r = await api.get("/api/jobs")
    assert r.status_code == 401
    # The session is gone for good: turning the clock back does not revive it.
    manual_clock.advance(-10_000)
    assert (await api.get("/api/jobs")).status_code == 401


async def test_configurable_idle_timeout(make_app: Callable[..., Starlette], manual_clock: Any,
                                         client_factory: Callable[..., httpx.AsyncClient],
                                         logon_fn: Callable[..., Any]) -> None:
    async with client_factory(make_app(idle_timeout=5)) as c:
        await logon_fn(c)
        manual_clock.advance(6)
        assert (await c.get("/api/jobs")).status_code == 401


async def test_expire_all_sessions(api: httpx.AsyncClient, state: SimulatorState) -> None:
    state.expire_all_sessions()
    assert state.active_sessions() == 0
    assert (await api.get("/api/jobs")).status_code == 401


async def test_logout(api: httpx.AsyncClient, state: SimulatorState) -> None:
    sessions = (await api.get("/api/logonSessions", headers={"Accept": "application/json"})).json()
    [mine] = sessions["LogonSessions"]
    single = await api.get(f"/api/logonSessions/{mine['SessionId']}")
    assert single.status_code == 200
    r = await api.delete(f"/api/logonSessions/{mine['SessionId']}")
    assert r.status_code == 204 and r.content == b""
    assert state.logouts == 1 and state.active_sessions() == 0
    assert (await api.get("/api/jobs")).status_code == 401


async def test_logout_unknown_session_is_404(api: httpx.AsyncClient) -> None:
    r = await api.delete("/api/logonSessions/00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404


async def test_counters_and_request_log(api: httpx.AsyncClient, state: SimulatorState) -> None:
    await api.get("/api/query?type=Job&filter=Name%3D%3D%22SQL%20Backup%22")
    assert state.requests == 2  # logon + query
    assert state.request_log[0] == ("POST", "/api/sessionMngr/?v=latest")
    assert state.request_log[1] == ("GET", "/api/query?type=Job&filter=Name%3D%3D%22SQL%20Backup%22")
