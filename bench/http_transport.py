"""What the HTTP transport costs on top of stdio, and what a bad day costs it: the HTTP benchmark.

Every figure is measured against a baseline taken in the same run, on the same machine:

1. ``get_vm_restore_point`` over streamable HTTP vs the same call over stdio, each against its own
   ``veeam-em-mcp serve --demo`` (the console script; the embedded simulator is in-process in
   both), both protocol eras: 2025-11-25 (``initialize``, a stateful session over HTTP) and
   2026-07-28 (no session). Calls are interleaved round by round so all four clients see the same
   machine. Reported: medians and p95, HTTP minus stdio, HTTP / stdio.
2. ``GET /healthz``: on one keep-alive connection, and on a new connection each time; its baseline
   is a bare TCP round trip (connect, one byte written and echoed) to a loopback echo server.
3. 1,100 connections (idle or half-sent headers) held against the server at ``ulimit -n 1024``:
   stderr growth, whether a legitimate client is served, and its ``/healthz`` and tool call times.
4. 10,200 abandoned stateful sessions against the default cap: RSS growth, answers, duration, and
   a new client's tool call afterwards.

Run: ``python bench/http_transport.py`` (~1 min; ``--quick`` for a smoke run without the floods).
Prints a table and writes ``bench/results_http.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the tests' server helpers

from tests.http_server import (  # noqa: E402
    closed_by_server,
    console_script,
    hold_connections,
    http_server_process,
    initialize_flood,
)

from veeam_em_mcp.simulator.dataset.scenarios import SQL01_NEWEST_POINT_ID  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"
ARGUMENTS = {"restore_point_id": SQL01_NEWEST_POINT_ID}


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 3),
    }


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEEAM_EM_", "VEEAM_MCP_"))}
    return {**env, "VEEAM_MCP_LOG_LEVEL": "WARNING", **extra}


@asynccontextmanager
async def http_client(url: str, mode: str) -> AsyncIterator[Client]:
    transport = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx2.Timeout(60))
    async with transport, Client(streamable_http_client(url, http_client=transport), mode=mode) as client:
        yield client


Call = Callable[[], Awaitable[Any]]


async def interleaved(repeat: int, calls: dict[str, Call], warmup: int = 10) -> dict[str, list[float]]:
    for _ in range(warmup):
        for call in calls.values():
            await call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            started = time.perf_counter()
            await call()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


async def bench_tool_call(repeat: int, tmp: Path) -> dict[str, Any]:
    command, *args = console_script()
    stdio = StdioServerParameters(command=command, args=[*args, "serve", "--demo"], env=clean_env())
    with http_server_process(clean_env(VEEAM_MCP_HTTP_TOKEN=TOKEN), stderr_path=tmp / "tool-call.stderr") as server:
        url = f"{server.base}/mcp"
        async with AsyncExitStack() as stack:
            clients = {
                "stdio 2025-11-25": await stack.enter_async_context(Client(stdio, mode="legacy")),
                "http 2025-11-25 (session)": await stack.enter_async_context(http_client(url, "legacy")),
                "stdio 2026-07-28": await stack.enter_async_context(Client(stdio, mode="auto")),
                "http 2026-07-28": await stack.enter_async_context(http_client(url, "auto")),
            }

            def caller(client: Client) -> Call:
                async def call() -> None:
                    result = await client.call_tool("get_vm_restore_point", ARGUMENTS)
                    assert not result.is_error, result

                return call

            samples = await interleaved(repeat, {name: caller(client) for name, client in clients.items()})
    out: dict[str, Any] = {name: summary(values) for name, values in samples.items()}
    for era in ("2025-11-25", "2026-07-28"):
        http = next(value for name, value in out.items() if name.startswith(f"http {era}"))
        base = out[f"stdio {era}"]
        out[f"{era} http - stdio, median ms"] = round(http["median_ms"] - base["median_ms"], 3)
        out[f"{era} http / stdio"] = round(http["median_ms"] / base["median_ms"], 2)
    return out


class EchoServer:
    """A loopback TCP echo server (TCP_NODELAY on both ends): the floor of a request-response on loopback."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def round_trip_ms(self, new_connection: bool, kept: socket.socket | None) -> float:
        started = time.perf_counter()
        sock = kept or socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(b"x")
        sock.recv(1)
        if new_connection:
            sock.close()
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.sock.close()


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def healthz_ms(port: int, kept: socket.socket | None) -> float:
    """One raw ``GET /healthz`` (no client library in the way), on ``kept`` or a new connection."""
    started = time.perf_counter()
    sock = kept or socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(HEALTHZ)
    answer = b""
    while not answer.endswith(b"ok\n"):
        chunk = sock.recv(4096)
        assert chunk, answer
        answer += chunk
    if kept is None:
        sock.close()
    elapsed = (time.perf_counter() - started) * 1000
    assert answer.startswith(b"HTTP/1.1 200"), answer
    return elapsed


def bench_healthz(repeat: int, tmp: Path) -> dict[str, Any]:
    echo = EchoServer()
    kept_echo = socket.create_connection(("127.0.0.1", echo.port))
    names = ("keep-alive", "new connection", "tcp echo, kept", "tcp echo, new")
    samples: dict[str, list[float]] = {name: [] for name in names}
    with http_server_process(clean_env(VEEAM_MCP_HTTP_TOKEN=TOKEN), stderr_path=tmp / "healthz.stderr") as server:
        port = int(server.base.rsplit(":", 1)[1])
        kept = socket.create_connection(("127.0.0.1", port))
        for round_number in range(repeat + 10):
            timings = {
                "keep-alive": healthz_ms(port, kept),
                "new connection": healthz_ms(port, None),
                "tcp echo, kept": echo.round_trip_ms(False, kept_echo),
                "tcp echo, new": echo.round_trip_ms(True, None),
            }
            if round_number >= 10:
                for name, value in timings.items():
                    samples[name].append(value)
        kept.close()
    kept_echo.close()
    echo.close()
    out: dict[str, Any] = {name: summary(values) for name, values in samples.items()}
    out["keep-alive / tcp echo, kept"] = round(out["keep-alive"]["median_ms"] / out["tcp echo, kept"]["median_ms"], 1)
    out["new connection / tcp echo, new"] = round(
        out["new connection"]["median_ms"] / out["tcp echo, new"]["median_ms"], 1
    )
    return out


def limit_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


async def median_ms(call: Call, times: int = 10) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


async def bench_held_connections(tmp: Path, count: int = 1100) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 200)), hard))
    env = clean_env(VEEAM_MCP_HTTP_TOKEN=TOKEN, VEEAM_MCP_LOG_LEVEL="INFO")
    try:
        with http_server_process(env, stderr_path=tmp / "held.stderr", preexec_fn=limit_open_files) as server:
            async with http_client(f"{server.base}/mcp", "auto") as client:
                await client.call_tool("get_vm_restore_point", ARGUMENTS)
                before = server.stderr_bytes()
                started = time.perf_counter()
                held = hold_connections(server.base, count)
                opened_s = time.perf_counter() - started
                port = int(server.base.rsplit(":", 1)[1])
                healthz = statistics.median(healthz_ms(port, None) for _ in range(10))
                call_ms = await median_ms(lambda: client.call_tool("get_vm_restore_point", ARGUMENTS))
            await asyncio.sleep(5)
            growth = server.stderr_bytes() - before
            closed = sum(closed_by_server(sock) for sock in held)
            for sock in held:
                sock.close()
            alive = server.alive()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return {
        "connections": count,
        "opened_in_s": round(opened_s, 2),
        "closed_by_server": closed,
        "legitimate_healthz_median_ms": round(healthz, 3),
        "legitimate_tool_call_median_ms": call_ms,
        "stderr_growth_bytes_after_5s": growth,
        "server_alive": alive,
    }


async def bench_abandoned_sessions(tmp: Path, count: int = 10_200) -> dict[str, Any]:
    env = clean_env(VEEAM_MCP_HTTP_TOKEN=TOKEN, VEEAM_MCP_LOG_LEVEL="INFO")
    with http_server_process(env, stderr_path=tmp / "sessions.stderr") as server:
        url = f"{server.base}/mcp"
        async with http_client(url, "legacy") as client:
            await client.call_tool("get_vm_restore_point", ARGUMENTS)
        rss_before = server.rss_mb()
        started = time.perf_counter()
        statuses = await initialize_flood(server.base, TOKEN, count)
        flood_s = time.perf_counter() - started
        async with http_client(url, "legacy") as client:
            call_ms = await median_ms(lambda: client.call_tool("get_vm_restore_point", ARGUMENTS))
        rss_after = server.rss_mb()
    return {
        "sessions": count,
        "answers": {str(status): n for status, n in statuses.items()},
        "flood_s": round(flood_s, 1),
        "rss_before_mb": round(rss_before, 1),
        "rss_after_mb": round(rss_after, 1),
        "rss_growth_mb": round(rss_after - rss_before, 1),
        "new_client_tool_call_median_ms": call_ms,
    }


async def main_async(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "tool_call": await bench_tool_call(20 if args.quick else args.repeat, tmp),
        "healthz": bench_healthz(20 if args.quick else args.repeat, tmp),
    }
    if not args.quick:
        results["held_connections"] = await bench_held_connections(tmp)
        results["abandoned_sessions"] = await bench_abandoned_sessions(tmp)
    return results


def print_table(results: dict[str, Any]) -> None:
    call = results["tool_call"]
    rows = [
        (f"1  get_vm_restore_point {name}, median / p95 ms", f"{value['median_ms']} / {value['p95_ms']}")
        for name, value in call.items()
        if isinstance(value, dict)
    ]
    rows += [(f"1  {name}", str(value)) for name, value in call.items() if not isinstance(value, dict)]
    health = results["healthz"]
    rows += [
        (f"2  /healthz {name}, median / p95 ms", f"{value['median_ms']} / {value['p95_ms']}")
        for name, value in health.items()
        if isinstance(value, dict)
    ]
    rows += [(f"2  /healthz {name}", f"{value}x") for name, value in health.items() if not isinstance(value, dict)]
    if "held_connections" in results:
        held = results["held_connections"]
        rows += [
            ("3  1,100 held connections at ulimit -n 1024: stderr growth", f"{held['stderr_growth_bytes_after_5s']} B"),
            ("3    legitimate /healthz, new connection, median ms", str(held["legitimate_healthz_median_ms"])),
            ("3    legitimate tool call, median ms", str(held["legitimate_tool_call_median_ms"])),
            ("3    closed by the server (longest idle first)", str(held["closed_by_server"])),
        ]
    if "abandoned_sessions" in results:
        flood = results["abandoned_sessions"]
        rows += [
            ("4  10,200 abandoned sessions: RSS growth", f"{flood['rss_growth_mb']} MB"),
            ("4    RSS before, after", f"{flood['rss_before_mb']}, {flood['rss_after_mb']} MB"),
            ("4    answers, duration", f"{flood['answers']}, {flood['flood_s']} s"),
            ("4    a new client's tool call afterwards, median", f"{flood['new_client_tool_call_median_ms']} ms"),
        ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20 rounds and no floods (a smoke run)")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--output", default=str(HERE / "results_http.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="http-bench-") as tmp:  # the servers' stderr files
        results = asyncio.run(main_async(args, Path(tmp)))
    print_table(results)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
