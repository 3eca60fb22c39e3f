"""The CPU a window read's tool call spends, against the CPU of its floor: for a machine too busy for wall clocks.

The simulator runs in its own process, so this process's CPU time (``resource.getrusage``) is the server's
alone: the MCP tool call in-process (the product's server and an in-memory MCP client), against the floor's
CPU measured the same way in the same rounds: the same EM GETs (each with its ``Accept``) replayed 8 in
flight by a bare httpx client, every body parsed by ``json.loads`` / ``ElementTree`` with the collector off,
plus an in-memory MCP no-op returning a text as large as the answer. CPU time does not count the time a
process waits for the cores it shares, so the ratio holds on a loaded machine where wall-clock ratios do not.
``--profile`` adds a cProfile of one more call (the functions of most own time, then of most cumulative time).

Run: ``python bench/window_cpu.py [--vms 5000] [--days 30] [--rounds 5] [--format xml|json]
[--tools find_task_sessions list_jobs ...] [--profile] [--top 25]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import resource
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.server import MCPServer
from mcp.types import CallToolResult, TextContent

sys.path.insert(0, str(Path(__file__).resolve().parent))
import veeam_em_mcp
from harness import BareGet, Recording, SimulatorProcess, replay, settings_for, spread, text_of
from veeam_em_mcp.surface.server import build_server

IN_FLIGHT = 8
TOOLS: dict[str, dict[str, Any]] = {
    "find_job_sessions": {},
    "find_task_sessions": {"newest_per_vm": False},
    "list_jobs": {},
    "protection_report": {},
}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def cpu_of(call: Callable[[], Awaitable[Any]]) -> float:
    started = cpu()
    await call()
    return (cpu() - started) * 1000


def noop_server(text: str) -> MCPServer:
    server = MCPServer("noop")

    @server.tool(name="noop", description="Does nothing; returns a fixed text.")
    async def noop() -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=text)])

    return server


async def measure(base_url: str, em_format: str, tool: str, rounds: int, profile: bool, top: int) -> dict[str, Any]:
    recording = Recording()
    settings = settings_for(base_url, VEEAM_EM_FORMAT=em_format)
    arguments = TOOLS[tool]
    async with Client(build_server(settings, transport=recording)) as client:
        await client.call_tool("list_repositories", {})  # the logon is not part of the question
        recording.reset()
        answer = text_of(await client.call_tool(tool, arguments))
        gets = [(url, accept) for method, url, accept in recording.requests if method == "GET"]
        bytes_read = recording.bytes
        samples: dict[str, list[float]] = {"tool": [], "replay_parsed": [], "noop": []}
        async with (
            BareGet(base_url, gets[0][0], gets[0][1]) as bare,
            Client(noop_server("x" * len(answer))) as noop,
        ):
            calls: dict[str, Callable[[], Awaitable[Any]]] = {
                "tool": lambda: client.call_tool(tool, arguments),
                "replay_parsed": lambda: replay(bare, gets, IN_FLIGHT, parsed=True),
                "noop": lambda: noop.call_tool("noop", {}),
            }
            for round_no in range(rounds + 1):  # the first round warms up
                names = list(calls)
                shift = round_no % len(names)
                for name in names[shift:] + names[:shift]:
                    spent = await cpu_of(calls[name])
                    if round_no:
                        samples[name].append(spent)
        profiled = ""
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await client.call_tool(tool, arguments)
            profiler.disable()
            for order in ("tottime", "cumulative"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
                profiled += out.getvalue().split("\n\n", 1)[-1]
    floor = [r + n for r, n in zip(samples["replay_parsed"], samples["noop"], strict=True)]
    ratios = [t / f for t, f in zip(samples["tool"], floor, strict=True)]
    return {
        "tool": tool,
        "gets": len(gets),
        "bytes": bytes_read,
        "chars": len(answer),
        "tool_cpu_ms": samples["tool"],
        "floor_cpu_ms": floor,
        "ratio": ratios,
        "profile": profiled,
    }



def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--format", choices=("xml", "json"), default="json", help="VEEAM_EM_FORMAT")
    parser.add_argument("--tools", nargs="*", default=list(TOOLS)[:3], choices=list(TOOLS))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("VEEAM_MCP_LOG_LEVEL", "ERROR")
    print(f"veeam_em_mcp from {veeam_em_mcp.__file__}; {args.vms:,} VMs, VEEAM_EM_FORMAT={args.format}", flush=True)
    with SimulatorProcess("--vm-count", str(args.vms), "--days", str(args.days), startup_timeout=1800) as sim:
        for tool in args.tools:
            got = anyio.run(measure, sim.base_url, args.format, tool, args.rounds, args.profile, args.top)
            print(
                f"{tool:<19} {got['gets']} GETs / {got['bytes'] / 1e6:.1f} MB, answer {got['chars']:,} chars; CPU ms "
                f"(min / median / max of {args.rounds}): call {spread(got['tool_cpu_ms'])}, floor "
                f"{spread(got['floor_cpu_ms'])}, ratio {spread(got['ratio'], 2)}x",
                flush=True,
            )
            if got["profile"]:
                print(got["profile"], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
