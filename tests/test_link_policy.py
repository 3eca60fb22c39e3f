"""The link policy: the only hrefs follow_link may fetch, and what each one is."""

from __future__ import annotations

import pytest
from mcp import Client

from veeam_em_mcp.errors import InvalidIdentifier, LinkRefused
from veeam_em_mcp.representation.links import LinkPolicy, classify, restore_point_guid
from veeam_em_mcp.simulator.dataset import build_dataset
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.server import build_server

from .conftest import make_settings
from .hostile_hrefs import GUID, HOSTILE_HREFS, OK, hostile_hrefs_for

BASE = "http://em.test:9398/api"


def test_battery_is_large_enough() -> None:
    assert len(HOSTILE_HREFS) >= 30
    assert len(set(HOSTILE_HREFS)) == len(HOSTILE_HREFS)


@pytest.mark.parametrize("href", HOSTILE_HREFS)
def test_hostile_hrefs_are_refused_with_a_reason(href: str) -> None:
    with pytest.raises(LinkRefused) as refused:
        LinkPolicy(BASE).vet(href)
    assert refused.value.reason
    assert "No request was made" in str(refused.value)


def test_action_link_refusal_explains_why() -> None:
    with pytest.raises(LinkRefused, match="action link"):
        LinkPolicy(BASE).vet(f"{OK}?action=restore")


@pytest.mark.parametrize(
    ("href", "url", "kind", "single"),
    [
        (OK, f"{OK}?format=Entity", "VmRestorePoint", True),
        (f"{OK}?format=Entity", f"{OK}?format=Entity", "VmRestorePoint", True),
        (f"{OK}?Format=entity", f"{OK}?format=Entity", "VmRestorePoint", True),
        (f"/api/vmRestorePoints/{GUID}", f"{OK}?format=Entity", "VmRestorePoint", True),
        (
            "HTTP://EM.TEST:9398/api/backupFiles/" + GUID,
            f"http://em.test:9398/api/backupFiles/{GUID}?format=Entity",
            "BackupFile",
            True,
        ),
        (
            f"http://em.test:9398/api/restorePoints/{GUID}/vmRestorePoints",
            f"http://em.test:9398/api/restorePoints/{GUID}/vmRestorePoints",
            "Collection",
            False,
        ),
        (f"{OK}/mounts", f"{OK}/mounts", "VmRestorePointMounts", False),
        (
            f"http://em.test:9398/api/repositories/{GUID}",
            f"http://em.test:9398/api/repositories/{GUID}?format=Entity",
            "Repository",
            True,
        ),
        (
            f"http://em.test:9398/api/cloudTenants/{GUID}",
            f"http://em.test:9398/api/cloudTenants/{GUID}?format=Entity",
            "Other",
            True,
        ),
        (
            "http://em.test:9398/api/query?type=VmRestorePoint&filter=VmName%3D%3D%22a%22",
            "http://em.test:9398/api/query?type=VmRestorePoint&filter=VmName%3D%3D%22a%22",
            "Query",
            False,
        ),
    ],
)
def test_allowed_hrefs_are_normalised_and_classified_by_path(href: str, url: str, kind: str, single: bool) -> None:
    target = LinkPolicy(BASE).vet(href)
    assert (target.url, target.kind, target.single) == (url, kind, single)


def test_default_port_is_the_same_origin() -> None:
    policy = LinkPolicy("https://em.corp.local/api")
    assert policy.vet(f"https://em.corp.local:443/api/jobs/{GUID}").kind == "Job"
    with pytest.raises(LinkRefused):
        policy.vet(f"https://em.corp.local:9398/api/jobs/{GUID}")


def test_type_is_decided_by_path_not_by_link_type() -> None:
    # EM labels /restorePoints/{id}/backupFiles as RestorePointReferenceList; the path decides.
    assert classify(f"/api/backupFiles/{GUID}") == ("BackupFile", True)


@pytest.mark.parametrize(
    "value",
    [GUID, GUID.upper(), f"urn:veeam:VmRestorePoint:{GUID}", f"{OK}", f"{OK}?format=Entity", f" {GUID} "],
)
def test_restore_point_ids_in_every_accepted_form(value: str) -> None:
    assert restore_point_guid(value, LinkPolicy(BASE)) == GUID


@pytest.mark.parametrize(
    "value",
    [
        "",
        "null",
        "6c958531",
        f"{GUID}x",
        f"urn:veeam:BackupFile:{GUID}",
        f"http://em.test:9398/api/backupFiles/{GUID}",
        "'; DROP TABLE",
        "../../etc/passwd",
    ],
)
def test_malformed_restore_point_ids_are_rejected(value: str) -> None:
    with pytest.raises(InvalidIdentifier):
        restore_point_guid(value, LinkPolicy(BASE))


def test_off_origin_restore_point_href_is_refused() -> None:
    with pytest.raises(LinkRefused):
        restore_point_guid(f"http://evil.example/api/vmRestorePoints/{GUID}", LinkPolicy(BASE))


def test_legitimate_variants_are_still_allowed() -> None:
    """The stricter checks (decoded controls, disguised actions, invalid UTF-8) keep EM's real hrefs working."""
    policy = LinkPolicy(BASE)
    assert policy.vet(f"{OK}?format=Entity&transaction=1").kind == "VmRestorePoint"  # "action" inside a key
    assert policy.vet("http://em.test:9398/api/catalog/vms/web%20server").url.endswith("/web%20server")
    assert policy.vet("http://em.test:9398/api/catalog/vms/caf%C3%A9").url.endswith("/caf%C3%A9")
    query = "http://em.test:9398/api/query?type=VmRestorePoint&filter=VmName%3D%3D%22a%2Fb%22"
    assert policy.vet(query).kind == "Query"


@pytest.mark.anyio
async def test_hostile_hrefs_reach_no_server_at_all() -> None:
    """Over real sockets: EM on one loopback port, another server on a second; neither sees a request."""
    with RunningSimulator(dataset=build_dataset(vm_count=3, days=2)) as em, RunningSimulator(
        dataset=build_dataset(vm_count=1, days=1)
    ) as other:
        hrefs = hostile_hrefs_for(em.base_url, other.port)
        assert len(hrefs) >= 90
        server = build_server(make_settings(em.base_url), retry_base_delay=0.01)
        async with Client(server) as client:
            warm = await client.call_tool("check_connection", {})  # logged on: the session is not the excuse
            assert not warm.is_error
            before = list(em.state.request_log)
            for href in hrefs:
                for tool, arguments in (("follow_link", {"href": href}), ("get_vm_restore_point",
                                                                          {"restore_point_id": href})):
                    result = await client.call_tool(tool, arguments)
                    assert result.is_error, (tool, href)
            assert em.state.request_log == before
            assert other.state.request_log == []
            # And the server still follows a legitimate link afterwards.
            ok = await client.call_tool("follow_link", {"href": f"{em.base_url}/api/vmRestorePoints"})
            assert not ok.is_error
