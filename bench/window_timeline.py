"""Where one window read's wall time goes: each EM request of a tool call on a timeline, against its floor.

The product's server runs in-process (an in-memory MCP client) over a transport that notes, for every EM
request, when it was sent, when EM's headers came and when its body was read, relative to the call's start.
Printed per request: the start, the wait for EM, the body, and the query (type, page size, page, filter);
then the call's end, what followed the last body (the answer's own work), and the floor of the same GETs
(8 in flight, parsed) measured right after. For finding the stages a call waits on, not a ratio to quote:
the ratios are ``bench/window_reads.py``'s.

With ``--summary`` only the calls' and floors' min / median / max are printed (and each call's ratio to the
floor measured right after it): an in-process A/B of two versions of the code (``PYTHONPATH``) on one machine.

Run: ``python bench/window_timeline.py [--vms 5000] [--tool find_task_sessions] [--calls 3] [--summary]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import BareGet, SimulatorProcess, replay, settings_for, spread
from veeam_em_mcp.surface.server import build_server
from window_cpu import TOOLS


class TimedStream(httpx.AsyncByteStream):
    """A body passed through as it arrives; its last byte's time noted."""

    def __init__(self, inner: httpx.AsyncByteStream, row: dict[str, Any], clock: Timing) -> None:
        self.inner, self.row, self.clock = inner, row, clock

    async def __aiter__(self):  # type: ignore[override]
        async for chunk in self.inner:
            self.row["bytes"] += len(chunk)
            yield chunk
        self.row["body"] = self.clock.now()

    async def aclose(self) -> None:
        await self.inner.aclose()


class Timing(httpx.AsyncBaseTransport):
    """The product's transport, noting each request's times."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.rows: list[dict[str, Any]] = []
        self.origin = time.perf_counter()

    def now(self) -> float:
        return (time.perf_counter() - self.origin) * 1000

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        row: dict[str, Any] = {"url": str(request.url), "method": request.method, "sent": self.now(), "bytes": 0}
        self.rows.append(row)
        response = await self.inner.handle_async_request(request)
        row["headers"] = self.now()
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=TimedStream(response.stream, row, self),
            extensions=response.extensions,
            request=request,
        )


def what(url: str) -> str:
    query = parse_qs(urlsplit(url).query)
    first = {key.lower(): values[0] for key, values in query.items()}
    if "type" not in first:
        return urlsplit(url).path
    text = f"{first['type']} size={first.get('pagesize', '-')} page={first.get('page', '-')}"
    if "filter" in first:
        text += f" {first['filter'][:70]}"
    return text


async def run(base_url: str, tool: str, calls: int, summary: bool) -> None:
    timing = Timing()
    arguments = TOOLS[tool]
    measured: list[tuple[float, float]] = []
    async with Client(build_server(settings_for(base_url), transport=timing)) as client:
        await client.call_tool("list_repositories", {})  # the logon is not part of the question
        await client.call_tool(tool, arguments)  # warm
        for _ in range(calls):
            timing.rows.clear()
            timing.origin = time.perf_counter()
            await client.call_tool(tool, arguments)
            end = timing.now()
            gets = [(row["url"], "application/json") for row in timing.rows if row["method"] == "GET"]
            if summary:
                async with BareGet(base_url, gets[0][0], gets[0][1]) as bare:
                    started = time.perf_counter()
                    await replay(bare, gets, 8, parsed=True)
                    measured.append((end, (time.perf_counter() - started) * 1000))
                continue
            print(f"\n{tool}: {len(timing.rows)} EM requests, call {end:.0f} ms")
            for row in sorted(timing.rows, key=lambda r: r["sent"]):
                wait, body = row["headers"] - row["sent"], row.get("body", 0) - row["headers"]
                size = row["bytes"] / 1e3
                print(f"  {row['sent']:7.1f} +{wait:6.1f} wait +{body:5.1f} body {size:8.1f} kB  {what(row['url'])}")
            last = max(row.get("body", 0) for row in timing.rows)
            print(f"  last body at {last:.0f} ms; after it {end - last:.0f} ms")
            async with BareGet(base_url, gets[0][0], gets[0][1]) as bare:
                started = time.perf_counter()
                await replay(bare, gets, 8, parsed=True)
                print(f"  floor (replay, 8 in flight, parsed): {(time.perf_counter() - started) * 1000:.0f} ms")
    if measured:
        call, floor, ratio = ([m[0] for m in measured], [m[1] for m in measured], [c / f for c, f in measured])
        print(f"{tool}: {len(measured)} calls; call {spread(call)} ms, floor {spread(floor)} ms, "
              f"ratio {spread(ratio, 2)}x (min / median / max)")



def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--tool", default="find_task_sessions", choices=list(TOOLS))
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--summary", action="store_true")
    parser.add_argument("--url", help="a simulator already running (bench/harness.SimulatorProcess's), not a new one")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("VEEAM_MCP_LOG_LEVEL", "ERROR")
    if args.url:
        anyio.run(run, args.url, args.tool, args.calls, args.summary)
        return 0
    with SimulatorProcess("--vm-count", str(args.vms), "--days", str(args.days), startup_timeout=1800) as sim:
        anyio.run(run, sim.base_url, args.tool, args.calls, args.summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
