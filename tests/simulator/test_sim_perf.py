"""Scale: 100,000 VmRestorePoints build in seconds and a query page over them answers in milliseconds.
Timings are printed (run with -s to see them), not asserted beyond generous sanity bounds."""

from __future__ import annotations

import time

import httpx
import pytest

from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.dataset import build_dataset

pytestmark = pytest.mark.anyio


async def test_query_page_over_100k_points() -> None:
    t0 = time.perf_counter()
    ds = build_dataset(vm_count=3400, days=30)
    build_s = time.perf_counter() - t0
    assert len(ds.vm_restore_points) >= 100_000
    t0 = time.perf_counter()
    app = create_app(dataset=ds)
    index_s = time.perf_counter() - t0
    print(f"\nbuild_dataset(vm_count=3400, days=30): {len(ds.vm_restore_points)} points in {build_s:.2f} s;"
          f" create_app (indexes) {index_s * 1000:.0f} ms")
    assert build_s < 10
    since = ds.anchor.replace(day=1).strftime("%Y-%m-%dT%H:%M:%SZ")
    queries = [
        "type=VmRestorePoint&format=Entities&sortDesc=CreationTime",
        "type=VmRestorePoint&format=Entities&sortDesc=CreationTime&page=400",
        f'type=VmRestorePoint&format=Entities&sortDesc=CreationTime&filter=CreationTime>="{since}"',
        "type=VmRestorePoint&format=Entities&sortDesc=CreationTime&filter=VmName==sql01",
        "type=VmRestorePoint&filter=PointType==Full;(Algorithm==SyntheticFull,Algorithm==Full)",
    ]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://perf.test") as c:
        r = await c.post("/api/sessionMngr/?v=latest", auth=("DEMO\\demo", "demo-password"))
        assert r.status_code == 201
        for q in queries:
            for accept in ("application/xml", "application/json"):
                await c.get(f"/api/query?{q}", headers={"Accept": accept})  # warm lazily built indexes
                t0 = time.perf_counter()
                r = await c.get(f"/api/query?{q}", headers={"Accept": accept})
                ms = (time.perf_counter() - t0) * 1000
                assert r.status_code == 200
                print(f"  {ms:6.1f} ms  {accept:16}  {q}")
                assert ms < 2000
