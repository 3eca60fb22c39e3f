"""Benchmark of the EM simulator itself: how long the 5,000-VM estate takes to build and to index, how fast the
simulator starts with the default data, and how long the query pages the product's protection report reads
take to answer over loopback HTTP (`CreationTime>=` a week ago, `sortDesc=CreationTime`, pageSize 100 and 1000)
for VmRestorePoint, BackupTaskSession and BackupJobSession, in XML and JSON.

These are the wall-clock figures the test suite does not assert (tests/simulator/test_sim_perf.py checks the
same pages for correctness; `SIM_PERF=1 pytest -m sim_perf tests/simulator` applies generous bounds).

Run: ``python bench/sim_perf.py [--vm-count 5000] [--days 30] [--repeat 7] [--output results.json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.dataset import build_dataset
from veeam_em_mcp.simulator.runner import RunningSimulator

USERNAME, PASSWORD = "DEMO\\demo", "demo-password"
TYPES = ("VmRestorePoint", "BackupTaskSession", "BackupJobSession")


def median_ms(repeat: int, fn: Any) -> float:
    fn()  # warm up (connection, lazily built indexes)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vm-count", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {}

    started = time.perf_counter()
    with RunningSimulator():
        results["default_start_s"] = time.perf_counter() - started

    started = time.perf_counter()
    dataset = build_dataset(vm_count=args.vm_count, days=args.days)
    results["build_s"] = time.perf_counter() - started
    started = time.perf_counter()
    app = create_app(dataset=dataset)
    results["index_s"] = time.perf_counter() - started
    results["counts"] = {"vms": len(dataset.vms), "vm_restore_points": len(dataset.vm_restore_points),
                         "task_sessions": len(dataset.task_sessions), "job_sessions": len(dataset.job_sessions)}
    print(f"simulator start (default estate): {results['default_start_s'] * 1000:.0f} ms")
    print(f"build_dataset(vm_count={args.vm_count}, days={args.days}): {results['build_s']:.2f} s "
          f"({len(dataset.vm_restore_points):,} points, {len(dataset.task_sessions):,} task sessions, "
          f"{len(dataset.job_sessions):,} job sessions); create_app (indexes): {results['index_s']:.2f} s")

    since = (dataset.anchor - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages: list[dict[str, Any]] = []
    with RunningSimulator(app=app) as sim, httpx.Client(base_url=sim.base_url, timeout=60) as client:
        logon = client.post("/api/sessionMngr/?v=latest", auth=(USERNAME, PASSWORD))
        logon.raise_for_status()
        client.cookies.clear()
        client.headers["X-RestSvcSessionId"] = logon.headers["X-RestSvcSessionId"]
        print(f"\n{'type':18} {'format':5} {'pageSize':>8} {'median ms':>10} {'bytes':>10}")
        for type_name in TYPES:
            for fmt, accept in (("xml", "application/xml"), ("json", "application/json")):
                for page_size in (100, 1000):
                    url = (f"/api/query?type={type_name}&format=Entities&sortDesc=CreationTime&pageSize={page_size}"
                           f'&filter=CreationTime>="{since}"')
                    size = 0

                    def get(url: str = url, accept: str = accept) -> None:
                        nonlocal size
                        r = client.get(url, headers={"Accept": accept})
                        r.raise_for_status()
                        size = len(r.content)

                    ms = median_ms(args.repeat, get)
                    pages.append({"type": type_name, "format": fmt, "page_size": page_size, "median_ms": ms,
                                  "bytes": size})
                    print(f"{type_name:18} {fmt:5} {page_size:>8} {ms:>10.1f} {size:>10,}")
    results["pages"] = pages
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
