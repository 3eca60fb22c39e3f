"""What "who misses the RPO?" costs on a large estate: protection_report against the bare EM pages it reads.

The simulator runs in its own process with a 5,000-VM estate (30 days of runs), as EM runs on its own
machine. Each round calls protection_report through the official MCP client (in-process) and, in the same
round, replays the very GET requests that call made, with a bare logged-on httpx client: once one after
another, and once with as many in flight as the product allows itself (two window reads side by side,
four pages each), and once more in flight with each body parsed by the standard library (json.loads or
ElementTree), the least any Python client does with it. The product's call is compared to the concurrent
replay plus an MCP no-op returning a text of the same size (the protocol's own cost), all interleaved.

Printed: EM requests and bytes per report, characters of the answer (first page and only_problems), wall
time and its ratio to the floor. Run: ``python bench/protection_report.py [--vm-count 5000] [--repeat 5]
[--format xml|json] [--output results.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer

os.environ.setdefault("VEEAM_MCP_LOG_LEVEL", "ERROR")  # one log line per EM request would be the bench's noise
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import BareGet, Recording, SimulatorProcess, interleaved, replay, settings_for, summary, text_of
from veeam_em_mcp.surface.server import build_server

IN_FLIGHT = 8  # the product's own bound for this report: two reads side by side, four pages each


def noop_server(text: str) -> MCPServer:
    server = MCPServer("noop")

    @server.tool()
    def noop() -> str:
        """Returns a fixed text as large as the report."""
        return text

    return server


async def bench(base_url: str, em_format: str, repeat: int) -> dict[str, Any]:
    accept = "application/json" if em_format == "json" else "application/xml"
    recording = Recording()
    server = build_server(settings_for(base_url, VEEAM_EM_FORMAT=em_format), transport=recording)
    async with Client(server) as client:
        await client.call_tool("list_repositories", {})  # logs on: the logon is not part of the question
        recording.reset()
        first = await client.call_tool("protection_report", {})
        assert not first.is_error, text_of(first)
        gets = [(url, accept) for method, url, accept in recording.requests if method == "GET"]
        em_bytes = recording.bytes
        report = first.structured_content or {}
        problems = await client.call_tool("protection_report", {"only_problems": True})
        assert not problems.is_error, text_of(problems)
        answer_text = text_of(first)

        async with BareGet(base_url, gets[0][0], accept) as bare, Client(noop_server(answer_text)) as noop:

            async def sequential() -> None:
                await replay(bare, gets, 1)

            async def concurrent() -> None:
                await replay(bare, gets, IN_FLIGHT)

            async def concurrent_parsed() -> None:
                await replay(bare, gets, IN_FLIGHT, parsed=True)

            async def tool() -> None:
                result = await client.call_tool("protection_report", {})
                assert not result.is_error

            async def no_op() -> None:
                await noop.call_tool("noop", {})

            samples = await interleaved(
                repeat,
                warmup=1,
                tool=tool,
                replay_sequential=sequential,
                replay_concurrent=concurrent,
                replay_parsed=concurrent_parsed,
                noop=no_op,
            )
    floor = statistics.median(samples["replay_concurrent"]) + statistics.median(samples["noop"])
    return {
        "format": em_format,
        "vms_in_report": report.get("summary", {}).get("vms"),
        "rows_first_page": report.get("returned"),
        "em_requests": report.get("em_requests"),
        "em_gets_recorded": len(gets),
        "em_bytes_read": em_bytes,
        "answer_chars": len(answer_text),
        "only_problems_chars": len(text_of(problems)),
        "only_problems_rows": (problems.structured_content or {}).get("total"),
        "tool": summary(samples["tool"]),
        "replay_sequential": summary(samples["replay_sequential"]),
        "replay_concurrent": summary(samples["replay_concurrent"]),
        "replay_parsed": summary(samples["replay_parsed"]),
        "noop": summary(samples["noop"]),
        "floor_median_ms": round(floor, 1),
        "ratio_to_floor": round(statistics.median(samples["tool"]) / floor, 3),
        "ratio_to_parsed_replay": round(
            statistics.median(samples["tool"])
            / (statistics.median(samples["replay_parsed"]) + statistics.median(samples["noop"])),
            3,
        ),
        "ratio_to_sequential_replay": round(
            statistics.median(samples["tool"]) / statistics.median(samples["replay_sequential"]), 3
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vm-count", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--format", choices=("xml", "json", "both"), default="both")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    formats = ("xml", "json") if args.format == "both" else (args.format,)
    started = time.perf_counter()
    with SimulatorProcess("--vm-count", str(args.vm_count), "--days", str(args.days)) as sim:
        print(f"simulator with {args.vm_count:,} VMs and {args.days} days up in {time.perf_counter() - started:.1f} s")
        results = [anyio.run(bench, sim.base_url, em_format, args.repeat) for em_format in formats]
    for r in results:
        print(
            f"\nprotection_report over {r['vms_in_report']:,} VMs, EM {r['format']}: {r['em_requests']} EM requests "
            f"({r['em_bytes_read'] / 1e6:.1f} MB read), first page {r['rows_first_page']} rows in "
            f"{r['answer_chars']:,} chars; only_problems {r['only_problems_rows']} rows, "
            f"first page {r['only_problems_chars']:,} chars"
        )
        print(
            f"  tool {r['tool']['median_ms']:.0f} ms | same GETs replayed {IN_FLIGHT} in flight "
            f"{r['replay_concurrent']['median_ms']:.0f} ms, one by one {r['replay_sequential']['median_ms']:.0f} ms | "
            f"MCP no-op {r['noop']['median_ms']:.1f} ms"
        )
        print(
            f"  ratio to floor (concurrent replay + no-op): {r['ratio_to_floor']:.2f}x; to the same replay parsed "
            f"by the standard library ({r['replay_parsed']['median_ms']:.0f} ms): {r['ratio_to_parsed_replay']:.2f}x; "
            f"to the one-by-one replay: {r['ratio_to_sequential_replay']:.2f}x"
        )
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
