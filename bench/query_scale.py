"""Benchmark: one ``find_vm_restore_points`` page over ~100,000 simulated restore points.

Builds a 100k-point simulator dataset, serves it on loopback (real HTTP), and times the same query page
two ways: through the MCP tool (official ``mcp.Client`` in-process → server → httpx → simulator) and as a
bare httpx GET of the identical URL with one reused EM session. The ratio is the cost the MCP layer adds
(parsing, models, JSON, size fitting). It also prints the result size in characters per restore point,
which decides how many points fit ``VEEAM_MCP_MAX_RESULT_CHARS``.

Run: ``python bench/query_scale.py [--repeat 30] [--vm-count 3400] [--days 30]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
from mcp import Client

from veeam_em_mcp.config import Settings
from veeam_em_mcp.query import build_query
from veeam_em_mcp.server import build_server
from veeam_em_mcp.simulator.dataset import build_dataset
from veeam_em_mcp.simulator.runner import RunningSimulator

USERNAME, PASSWORD = "DEMO\\demo", "demo-password"


async def median_ms(repeat: int, fn: Callable[[], Awaitable[Any]]) -> float:
    await fn()  # warm up (logon, connection, lazily built indexes)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def run(repeat: int, vm_count: int, days: int) -> None:
    started = time.perf_counter()
    dataset = build_dataset(vm_count=vm_count, days=days)
    print(
        f"dataset: {len(dataset.vm_restore_points):,} VmRestorePoints, {len(dataset.vms):,} VMs "
        f"(built in {time.perf_counter() - started:.1f} s)"
    )
    vm = sorted(dataset.vms)[len(dataset.vms) // 2]
    with RunningSimulator(dataset=dataset) as sim:
        env = {"VEEAM_EM_URL": sim.base_url, "VEEAM_EM_USERNAME": USERNAME, "VEEAM_EM_PASSWORD": PASSWORD}
        # A generous limit so that a whole page is returned and the per-point size is measured cleanly.
        roomy = Settings.from_env({**env, "VEEAM_MCP_MAX_RESULT_CHARS": "10000000"})
        default = Settings.from_env(env)
        cases = [
            (f"one VM ({vm!r}), newest 20", {"vm_name": vm, "page_size": 20}),
            ("all VMs, newest 20 of 100k", {"page_size": 20}),
            ("all VMs, oldest 100", {"page_size": 100, "newest_first": False}),
        ]
        async with httpx.AsyncClient(timeout=60) as bare:
            logon = await bare.post(f"{sim.base_url}/api/sessionMngr/?v=latest", auth=(USERNAME, PASSWORD))
            headers = {"X-RestSvcSessionId": logon.headers["X-RestSvcSessionId"], "Accept": "application/xml"}
            async with Client(build_server(roomy)) as client, Client(build_server(default)) as limited:
                for label, arguments in cases:
                    query = build_query(**arguments)
                    url = query.url(roomy.base_url, 1)

                    async def tool_call(arguments: dict[str, Any] = arguments) -> Any:
                        result = await client.call_tool("find_vm_restore_points", arguments)
                        assert not result.is_error, text_of(result)
                        return result

                    async def bare_get(url: str = url) -> None:
                        response = await bare.get(url, headers=headers)
                        response.raise_for_status()

                    tool_ms = await median_ms(repeat, tool_call)
                    get_ms = await median_ms(repeat, bare_get)
                    result = await tool_call()
                    returned = (result.structured_content or {})["returned"]
                    chars = len(text_of(result))
                    capped = (await limited.call_tool("find_vm_restore_points", arguments)).structured_content or {}
                    print(f"\n{label}")
                    print(f"  bare GET (XML, same URL, reused session): {get_ms:8.1f} ms median of {repeat}")
                    print(f"  find_vm_restore_points via mcp.Client:   {tool_ms:8.1f} ms median of {repeat}")
                    print(f"  ratio tool / bare GET:                   {tool_ms / get_ms:8.2f}x")
                    per_point = chars / max(returned, 1)
                    print(f"  result: {chars:,} chars for {returned} points = {per_point:,.0f} chars/point")
                    page_total = capped["returned"] + capped["held_back"]
                    print(
                        f"  at the default limit ({default.max_result_chars:,} chars): {capped['returned']} of "
                        f"{page_total} points returned, truncated={capped['truncated']}"
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--vm-count", type=int, default=3400)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    anyio.run(run, args.repeat, args.vm_count, args.days)


if __name__ == "__main__":
    main()
