"""The link policy: the only hrefs follow_link may fetch, and what each one is."""

from __future__ import annotations

import pytest

from veeam_em_mcp.errors import InvalidIdentifier, LinkRefused
from veeam_em_mcp.links import LinkPolicy, classify, restore_point_guid

from .hostile_hrefs import GUID, HOSTILE_HREFS, OK

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
    assert restore_point_guid(value, BASE) == GUID


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
        restore_point_guid(value, BASE)


def test_off_origin_restore_point_href_is_refused() -> None:
    with pytest.raises(LinkRefused):
        restore_point_guid(f"http://evil.example/api/vmRestorePoints/{GUID}", BASE)
