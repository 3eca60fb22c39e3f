"""Scale: the 5,000-VM estate (about 150,000 restore points and as many task sessions) builds, and the pages the
product's protection report will read -- `CreationTime>=` filter, `sortDesc=CreationTime`, up to 1,000 per page,
for VmRestorePoint, BackupTaskSession and BackupJobSession -- come back right, in XML and JSON.

The default suite checks correctness only. The wall-clock bounds are behind the opt-in `sim_perf` marker
(`SIM_PERF=1 pytest -m sim_perf tests/simulator`); bench/sim_perf.py prints the measured figures.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.simulator.dataset.clock import ticks_of

pytestmark = pytest.mark.anyio

NS = "{http://www.veeam.com/ent/v1.0}"
ANCHOR = datetime(2025, 10, 21, 9, tzinfo=UTC)
TYPES = [("VmRestorePoint", "vm_restore_points"), ("BackupTaskSession", "task_sessions"),
         ("BackupJobSession", "job_sessions")]


@pytest.fixture(scope="module")
def big() -> Dataset:
    return build_dataset(anchor=ANCHOR, vm_count=5000, days=30)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def big_api(big: Dataset) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataset=big)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://perf.test") as c:
        r = await c.post("/api/sessionMngr/?v=latest", auth=("DEMO\\demo", "demo-password"))
        assert r.status_code == 201
        yield c


def page_url(type_name: str, since: datetime, page_size: int, page: int = 1) -> str:
    return (f"/api/query?type={type_name}&format=Entities&sortDesc=CreationTime&pageSize={page_size}&page={page}"
            f'&filter=CreationTime>="{since:%Y-%m-%dT%H:%M:%SZ}"')


def test_the_5000_vm_estate(big: Dataset) -> None:
    assert len(big.vms) == 5000
    assert 140_000 < len(big.vm_restore_points) < 160_000
    assert 140_000 < len(big.task_sessions) < 160_000
    # The coverage phase does not grow with the VMs: the same copies, replicas, sessions... as at 30 VMs.
    assert len(big.system_sessions) == 30 * 96 + 30 and len(big.restore_sessions) == 8
    assert len(big.vm_replica_points) < 100 and len(big.agent_restore_points) < 130
    assert len(big.facts.copied_vms) == 6


@pytest.mark.parametrize(("type_name", "attr"), TYPES)
@pytest.mark.parametrize("accept", ["application/xml", "application/json"])
async def test_protection_report_pages_are_right(big_api: httpx.AsyncClient, big: Dataset, type_name: str, attr: str,
                                                 accept: str) -> None:
    since = ANCHOR - timedelta(days=20)
    items: dict[str, Any] = getattr(big, attr)
    expected = sorted((o for o in items.values() if o.creation_ticks >= ticks_of(since)),
                      key=lambda o: o.creation_ticks, reverse=True)
    r = await big_api.get(page_url(type_name, since, 1000, 2), headers={"Accept": accept})
    assert r.status_code == 200
    if accept == "application/json":
        body = r.json()
        plural = type_name + "s"
        got = [x["UID"].rsplit(":", 1)[1] for x in body["Entities"][plural][plural]]
        pages = body["PagingInfo"]["PagesCount"]
    else:
        root = ET.fromstring(r.content)
        got = [x.get("UID", "").rsplit(":", 1)[1] for x in root.iter(f"{NS}{type_name}")]
        info = root.find(f"{NS}PagingInfo")
        assert info is not None
        pages = int(info.get("PagesCount", "0"))
    assert len(expected) > 2000
    assert [items[i].creation_ticks for i in got] == [o.creation_ticks for o in expected[1000:2000]]
    # Items with the same creation time may straddle the page boundary in either order; all others must be here.
    lo, hi = expected[2000].creation_ticks, expected[999].creation_ticks
    assert {o.id for o in expected[1000:2000] if lo < o.creation_ticks < hi} <= set(got)
    assert pages == -(-len(expected) // 1000)


@pytest.mark.sim_perf
def test_build_time_bound() -> None:
    started = time.perf_counter()
    ds = build_dataset(anchor=ANCHOR, vm_count=5000, days=30)
    built = time.perf_counter() - started
    started = time.perf_counter()
    create_app(dataset=ds)
    indexed = time.perf_counter() - started
    print(f"\nbuild_dataset(vm_count=5000): {built:.2f} s; create_app (indexes): {indexed:.2f} s")
    assert built < 20 and indexed < 10


@pytest.mark.sim_perf
@pytest.mark.parametrize(("type_name", "attr"), TYPES)
@pytest.mark.parametrize("accept", ["application/xml", "application/json"])
async def test_page_time_bound(big_api: httpx.AsyncClient, type_name: str, attr: str, accept: str) -> None:
    url = page_url(type_name, ANCHOR - timedelta(days=7), 1000)
    await big_api.get(url, headers={"Accept": accept})
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        r = await big_api.get(url, headers={"Accept": accept})
        samples.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200
    ms = sorted(samples)[len(samples) // 2]
    print(f"\n{type_name:18} {accept:17} pageSize=1000: {ms:.1f} ms")
    assert ms < 500
