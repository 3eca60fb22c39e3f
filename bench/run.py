"""What an answer costs us on top of Enterprise Manager: the benchmark suite.

Every figure is a ratio to a baseline measured in the same run, on the same machine, against the
same simulator on loopback, so the numbers survive a slower or busier machine:

1. get_vm_restore_point, in-process and over stdio, against its floor: a bare httpx GET of the same
   entity with the same EM session, plus a no-op tool (same result size) of a minimal MCP server
   over the same transport.
2. Concurrency: 1,000 calls with 50 in flight; calls/s and EM logons, then again with a forced
   session expiry in the middle.
3. Result economy: characters of the structured result per restore point vs EM's XML.
4. Cold start: launch to first tools/list over stdio, vs a minimal MCP server with one tool.
5. Query at scale: a find_vm_restore_points page over 100,000 points vs the bare GET of that page.

Run: ``python bench/run.py`` (add ``--quick`` for a smoke run). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client, StdioServerParameters

from veeam_em_mcp.config import Settings
from veeam_em_mcp.server import build_server
from veeam_em_mcp.services.restore_points import build_query
from veeam_em_mcp.simulator.dataset import SQL01_NEWEST_POINT_ID, build_dataset
from veeam_em_mcp.simulator.runner import RunningSimulator

HERE = Path(__file__).resolve().parent
USERNAME, PASSWORD = "DEMO\\demo", "demo-password"


def settings_for(base_url: str, **env: str) -> Settings:
    return Settings.from_env(
        {"VEEAM_EM_URL": base_url, "VEEAM_EM_USERNAME": USERNAME, "VEEAM_EM_PASSWORD": PASSWORD, **env}
    )


def server_env(base_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "VEEAM_EM_URL": base_url,
        "VEEAM_EM_USERNAME": USERNAME,
        "VEEAM_EM_PASSWORD": PASSWORD,
        "VEEAM_MCP_LOG_LEVEL": "ERROR",
    }


async def timings(repeat: int, fn: Callable[[], Awaitable[Any]], warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 3),
    }


class SimulatorProcess:
    """The simulator in its own process, as EM is on its own machine: no GIL shared with the client."""

    def __init__(self, *args: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "veeam_em_mcp.simulator", "--port", str(self.port), *args]
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SimulatorProcess:
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/api/", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the simulator did not start")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


class BareGet:
    """The floor's HTTP part: one EM session, keep-alive, the same URL, nothing else."""

    def __init__(self, base_url: str, url: str) -> None:
        self.base_url, self.url = base_url, url
        self.http = httpx.AsyncClient()
        self.headers: dict[str, str] = {}

    async def __aenter__(self) -> BareGet:
        logon = await self.http.post(
            f"{self.base_url}/api/sessionMngr/?v=latest", auth=(USERNAME, PASSWORD), content=b""
        )
        self.headers = {"X-RestSvcSessionId": logon.headers["X-RestSvcSessionId"], "Accept": "application/xml"}
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.aclose()

    async def get(self) -> str:
        response = await self.http.get(self.url, headers=self.headers)
        assert response.status_code == 200
        return response.text


async def interleaved(repeat: int, **calls: Callable[[], Awaitable[Any]]) -> dict[str, list[float]]:
    """Time each call once per round, round after round, so all see the same machine state."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for round_no in range(repeat + 5):
        for name, call in calls.items():
            started = time.perf_counter()
            await call()
            if round_no >= 5:  # warm-up rounds
                samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def against_floor(samples: dict[str, list[float]]) -> dict[str, Any]:
    floor = statistics.median(samples["bare_get"]) + statistics.median(samples["noop"])
    return {
        "tool": summary(samples["tool"]),
        "bare_get": summary(samples["bare_get"]),
        "noop_tool": summary(samples["noop"]),
        "floor_median_ms": round(floor, 3),
        "ratio_to_floor": round(statistics.median(samples["tool"]) / floor, 3),
    }


def minimal_params(sample_file: Path | None = None) -> StdioServerParameters:
    args = [str(HERE / "minimal_server.py")] + ([str(sample_file)] if sample_file else [])
    return StdioServerParameters(command=sys.executable, args=args, env=dict(os.environ))


async def bench_tool_call(base_url: str, repeat: int) -> dict[str, Any]:
    from minimal_server import build_minimal_server  # type: ignore[import-not-found]

    point_url = f"{base_url}/api/vmRestorePoints/{SQL01_NEWEST_POINT_ID}?format=Entity"
    arguments = {"restore_point_id": SQL01_NEWEST_POINT_ID}
    out: dict[str, Any] = {}
    async with BareGet(base_url, point_url) as bare:
        xml = await bare.get()
        out["em_xml_chars"] = len(xml)

        async with Client(build_server(settings_for(base_url))) as client:
            first = await client.call_tool("get_vm_restore_point", arguments)
            sample = dict(first.structured_content or {})
            async with Client(build_minimal_server(sample)) as minimal:
                out["in_process"] = await tool_vs_floor(repeat, client, minimal, bare, arguments)
        result_chars = len(json.dumps(sample, separators=(",", ":")))
        out["result_chars"] = result_chars
        out["result_vs_em_xml"] = round(result_chars / len(xml), 3)

        sample_file = HERE / "results-sample.json"
        sample_file.write_text(json.dumps(sample), encoding="utf-8")
        params = StdioServerParameters(command=sys.executable, args=["-m", "veeam_em_mcp"], env=server_env(base_url))
        async with (
            Client(params, read_timeout_seconds=60) as client,
            Client(minimal_params(sample_file), read_timeout_seconds=60) as minimal,
        ):
            out["stdio"] = await tool_vs_floor(repeat, client, minimal, bare, arguments)
    return out


async def tool_vs_floor(
    repeat: int, client: Client, minimal: Client, bare: BareGet, arguments: dict[str, Any]
) -> dict[str, Any]:
    return against_floor(
        await interleaved(
            repeat,
            tool=lambda: client.call_tool("get_vm_restore_point", arguments),
            bare_get=bare.get,
            noop=lambda: minimal.call_tool("noop", {}),
        )
    )


async def concurrent_calls(
    running: RunningSimulator, calls: int, in_flight: int, expire_midway: bool
) -> dict[str, Any]:
    arguments = {"restore_point_id": SQL01_NEWEST_POINT_ID}
    logons_before = running.state.logons
    peers_before = set(running.state.peers)
    limiter = anyio.Semaphore(in_flight)
    counts = {"done": 0, "errors": 0}
    async with Client(build_server(settings_for(running.base_url))) as client:

        async def one() -> None:
            async with limiter:
                result = await client.call_tool("get_vm_restore_point", arguments)
                counts["errors"] += int(result.is_error)
                counts["done"] += 1
                if expire_midway and counts["done"] == calls // 2:
                    running.state.expire_all_sessions()

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(calls):
                group.start_soon(one)
        elapsed = time.perf_counter() - started
    return {
        "calls_per_s": round(calls / elapsed, 1),
        "errors": counts["errors"],
        "logons": running.state.logons - logons_before,
        "tcp_connections": len(running.state.peers - peers_before),
    }


async def bench_concurrency(running: RunningSimulator, calls: int, in_flight: int) -> dict[str, Any]:
    return {
        "calls": calls,
        "in_flight": in_flight,
        "steady": await concurrent_calls(running, calls, in_flight, expire_midway=False),
        "with_expiry": await concurrent_calls(running, calls, in_flight, expire_midway=True),
    }


async def first_tools_list_ms(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params, read_timeout_seconds=60) as client:
        await client.list_tools()
        return (time.perf_counter() - started) * 1000


async def bench_cold_start(base_url: str, repeat: int) -> dict[str, Any]:
    ours = StdioServerParameters(command=sys.executable, args=["-m", "veeam_em_mcp"], env=server_env(base_url))
    minimal = minimal_params()
    ours_ms, minimal_ms = [], []
    for _ in range(repeat):  # interleaved so both see the same machine state
        ours_ms.append(await first_tools_list_ms(ours))
        minimal_ms.append(await first_tools_list_ms(minimal))
    return {
        "ours": summary(ours_ms),
        "minimal_server": summary(minimal_ms),
        "ratio": round(statistics.median(ours_ms) / statistics.median(minimal_ms), 3),
    }


async def bench_query_scale(repeat: int, vm_count: int) -> dict[str, Any]:
    points = len(build_dataset(vm_count=vm_count, days=30).vm_restore_points)  # what the simulator serves
    vm_name = "sql01"
    with SimulatorProcess("--vm-count", str(vm_count), "--days", "30") as em:
        base = em.base_url
        # The same page find_vm_restore_points asks EM for, built by the same query builder.
        url = build_query(vm_name=vm_name, page_size=20).url(f"{base}/api", 1)
        arguments = {"vm_name": vm_name, "page_size": 20}
        from minimal_server import build_minimal_server  # type: ignore[import-not-found]

        async with BareGet(base, url) as bare, Client(build_server(settings_for(base))) as client:
            first = await client.call_tool("find_vm_restore_points", arguments)
            data = dict(first.structured_content or {})
            items = data.get("restore_points") or []
            chars = len(json.dumps(data, separators=(",", ":")))
            async with Client(build_minimal_server(data, "FindVmRestorePointsResult")) as minimal:
                samples = await interleaved(
                    repeat,
                    tool=lambda: client.call_tool("find_vm_restore_points", arguments),
                    bare_get=bare.get,
                    noop=lambda: minimal.call_tool("noop", {}),
                )
    floor = statistics.median(samples["bare_get"]) + statistics.median(samples["noop"])
    return {
        "points": points,
        "bare_get": summary(samples["bare_get"]),
        "tool": summary(samples["tool"]),
        "ratio_to_bare_get": round(statistics.median(samples["tool"]) / statistics.median(samples["bare_get"]), 3),
        "noop_tool": summary(samples["noop"]),
        "ratio_to_floor": round(statistics.median(samples["tool"]) / floor, 3),
        "returned_points": len(items),
        "result_chars_per_point": round(chars / max(1, len(items)), 1),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    repeat = 30 if quick else 200
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        }
    }
    with SimulatorProcess() as em:
        results["tool_call"] = await bench_tool_call(em.base_url, repeat)
        results["cold_start"] = await bench_cold_start(em.base_url, 3 if quick else 7)
    # In-thread, because this one reads the simulator's counters and expires its sessions.
    with RunningSimulator(dataset=build_dataset()) as running:
        results["concurrency"] = await bench_concurrency(running, 200 if quick else 1000, 50)
    results["query_scale"] = await bench_query_scale(10 if quick else 50, 300 if quick else 3400)
    return results


def print_table(results: dict[str, Any]) -> None:
    call = results["tool_call"]
    conc = results["concurrency"]
    cold = results["cold_start"]
    query = results["query_scale"]
    rows = [
        (
            "1a get_vm_restore_point in-process, median / p95 ms",
            f"{call['in_process']['tool']['median_ms']} / {call['in_process']['tool']['p95_ms']}",
        ),
        (
            "   floor: bare GET + no-op tool, median ms",
            f"{call['in_process']['bare_get']['median_ms']} + {call['in_process']['noop_tool']['median_ms']}",
        ),
        ("   ratio to floor", f"{call['in_process']['ratio_to_floor']}x"),
        (
            "1b get_vm_restore_point over stdio, median / p95 ms",
            f"{call['stdio']['tool']['median_ms']} / {call['stdio']['tool']['p95_ms']}",
        ),
        (
            "   floor: bare GET + no-op tool, median ms",
            f"{call['stdio']['bare_get']['median_ms']} + {call['stdio']['noop_tool']['median_ms']}",
        ),
        ("   ratio to floor", f"{call['stdio']['ratio_to_floor']}x"),
        (
            f"2  {conc['calls']} calls, {conc['in_flight']} in flight: calls/s, logons",
            f"{conc['steady']['calls_per_s']}/s, {conc['steady']['logons']} logon(s), "
            f"{conc['steady']['errors']} errors, {conc['steady']['tcp_connections']} TCP connections to EM",
        ),
        (
            "   same with a forced expiry midway",
            f"{conc['with_expiry']['calls_per_s']}/s, {conc['with_expiry']['logons']} logon(s), "
            f"{conc['with_expiry']['errors']} errors",
        ),
        (
            "3  result chars per restore point vs EM XML",
            f"{call['result_chars']} vs {call['em_xml_chars']} ({call['result_vs_em_xml']:.0%})",
        ),
        (
            "4  cold start to first tools/list, median ms (ours vs minimal)",
            f"{cold['ours']['median_ms']} vs {cold['minimal_server']['median_ms']} ({cold['ratio']}x)",
        ),
        (
            f"5  find_vm_restore_points page over {query['points']} points, median ms",
            f"{query['tool']['median_ms']} vs bare GET {query['bare_get']['median_ms']} "
            f"({query['ratio_to_bare_get']}x)",
        ),
        (
            "   vs floor (bare GET + no-op tool returning the same page)",
            f"{query['bare_get']['median_ms']} + {query['noop_tool']['median_ms']} ({query['ratio_to_floor']}x)",
        ),
        (
            "   result chars per restore point (query page)",
            f"{query['result_chars_per_point']} ({query['returned_points']} points fit the default limit)",
        ),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--output", default=str(HERE / "results.json"))
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    # MCPServer configures INFO logging on the root logger; the bench's own output is the table.
    logging.disable(logging.INFO)
    started = time.perf_counter()
    results = anyio.run(main_async, args)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    print_table(results)
    print(f"(whole run: {results['wall_s']} s; JSON written to {args.output})")
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
