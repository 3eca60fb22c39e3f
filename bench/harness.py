"""Shared pieces of the benchmarks: the simulator in its own process, the bare GET, interleaved timing.

``bench/run.py`` and any figure script beside it (a protection-report benchmark, say) import these, so that
every figure is measured the same way: against a baseline timed in the same rounds, on the same machine,
against the same simulator. A figure script needs nothing else::

    from harness import BareGet, SimulatorProcess, interleaved, settings_for, summary

A figure that needs the MCP server in a process of its own (its peak RSS alone, say) starts
``bench/recording_server.py`` with ``recording_server_params``: the product as ``serve`` runs it, with a
``Recording`` transport and a ``bench_stats`` tool that reports the EM requests it made and its memory.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import anyio
import httpx
from mcp import StdioServerParameters

from veeam_em_mcp.config import Settings

HERE = Path(__file__).resolve().parent
USERNAME, PASSWORD = "DEMO\\demo", "demo-password"
WARMUP_ROUNDS = 5


def settings_for(base_url: str, **env: str) -> Settings:
    """The product's settings for the simulator at ``base_url`` (the demo account)."""
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


def server_params(base_url: str) -> StdioServerParameters:
    """veeam-em-mcp over stdio, as Claude Desktop starts it (``python -m veeam_em_mcp`` = ``serve``)."""
    return StdioServerParameters(command=sys.executable, args=["-m", "veeam_em_mcp"], env=server_env(base_url))


def recording_server_params(base_url: str, **env: str) -> StdioServerParameters:
    """The product over stdio in a process of its own, recording its EM requests (``bench/recording_server.py``).

    ``env`` adds or overrides settings (``VEEAM_EM_FORMAT="json"``, say); the rest are the product's defaults.
    """
    return StdioServerParameters(
        command=sys.executable, args=[str(HERE / "recording_server.py")], env={**server_env(base_url), **env}
    )


def minimal_params(*args: str) -> StdioServerParameters:
    """The floor's MCP server (``bench/minimal_server.py``) over stdio; ``args`` are its command line."""
    return StdioServerParameters(
        command=sys.executable, args=[str(HERE / "minimal_server.py"), *args], env=dict(os.environ)
    )


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def spread(values: list[float], digits: int = 0) -> str:
    """min / median / max, as the window benches print them."""
    ordered = sorted(values)
    return " / ".join(f"{v:,.{digits}f}" for v in (ordered[0], statistics.median(ordered), ordered[-1]))


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 3),
    }


async def interleaved(
    repeat: int, warmup: int = WARMUP_ROUNDS, first_round: int = 0, **calls: Callable[[], Awaitable[Any]]
) -> dict[str, list[float]]:
    """Time each call once per round, round after round, so that all see the same machine state.

    The order within a round rotates, so that no call always runs first (on a cold cache) or last;
    ``first_round`` numbers the first round, for rounds spread over several calls of this function.
    """
    names = list(calls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(first_round, first_round + repeat + warmup):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            await calls[name]()
            if round_no - first_round >= warmup:
                samples[name].append((time.perf_counter() - started) * 1000)
    return samples


class SimulatorProcess:
    """The simulator in its own process, as EM is on its own machine: no GIL shared with the client."""

    def __init__(self, *args: str, startup_timeout: float = 60.0, env: dict[str, str] | None = None) -> None:
        self.startup_timeout, self.env = startup_timeout, env
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "veeam_em_mcp.simulator", "--port", str(self.port), *args]
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SimulatorProcess:
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the simulator exited with {self.process.returncode}: {self.args}")
            try:
                if httpx.get(f"{self.base_url}/api/", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"the simulator did not start within {self.startup_timeout:.0f} s")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


class BareGet:
    """The floor's HTTP part: one EM session, keep-alive, the same URL, nothing else."""

    def __init__(self, base_url: str, url: str, accept: str = "application/xml") -> None:
        self.base_url, self.url, self.accept = base_url, url, accept
        self.http = httpx.AsyncClient(timeout=300.0)  # a 20,000-VM window page can take seconds on a busy machine
        self.headers: dict[str, str] = {}

    async def __aenter__(self) -> BareGet:
        logon = await self.http.post(
            f"{self.base_url}/api/sessionMngr/?v=latest", auth=(USERNAME, PASSWORD), content=b""
        )
        logon.raise_for_status()
        # The token travels in its header only, as the product sends it: no cookie jar work per request.
        self.http.cookies.clear()
        self.headers = {"X-RestSvcSessionId": logon.headers["X-RestSvcSessionId"], "Accept": self.accept}
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.aclose()

    async def get(self) -> bytes:
        """The timed GET: the body read, not decoded (the product parses bytes too)."""
        response = await self.http.get(self.url, headers=self.headers)
        assert response.status_code == 200, (self.url, response.status_code)
        return response.content

    async def fetch(self, url: str, accept: str) -> str:
        """Any EM URL with this session (``Accept`` chosen per request: EM's XML or its JSON)."""
        response = await self.http.get(url, headers={**self.headers, "Accept": accept})
        assert response.status_code == 200, (url, response.status_code)
        return response.text


class CountingStream(httpx.AsyncByteStream):
    """A response body passed through as it arrives, its bytes counted (nothing buffered on the way)."""

    def __init__(self, inner: httpx.AsyncByteStream, recording: Recording) -> None:
        self.inner, self.recording = inner, recording

    async def __aiter__(self):  # type: ignore[override]
        async for chunk in self.inner:
            self.recording.bytes += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class Recording(httpx.AsyncBaseTransport):
    """The product's transport, noting each request it sends (method, URL) and the bytes it reads."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[tuple[str, str, str]] = []  # method, URL, Accept (window reads ask for JSON)
        self.bytes = 0

    def reset(self) -> None:
        self.requests.clear()
        self.bytes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, str(request.url), request.headers.get("accept", "")))
        response = await self.inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=CountingStream(response.stream, self),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def parser_for(accept: str) -> Callable[[str], Any]:
    """The least any Python client does with a body: ``json.loads`` or ``ElementTree.fromstring``."""
    return json.loads if "json" in accept else ElementTree.fromstring


async def replay(bare: BareGet, gets: Sequence[tuple[str, str]], in_flight: int, parsed: bool = False) -> None:
    """The same GETs (URL, Accept) with a bare logged-on client, ``in_flight`` at a time (1 = one by one), each
    body read and, with ``parsed``, parsed by ``parser_for`` its Accept, with the garbage collector off."""
    was_enabled = gc.isenabled()
    if parsed:
        gc.disable()
    try:
        await _replay(bare, gets, in_flight, parsed)
    finally:
        if parsed and was_enabled:
            gc.enable()


async def _replay(bare: BareGet, gets: Sequence[tuple[str, str]], in_flight: int, parsed: bool) -> None:
    if in_flight <= 1:
        for url, accept in gets:
            text = await bare.fetch(url, accept)
            if parsed:
                parser_for(accept)(text)
        return
    limit = anyio.Semaphore(in_flight)

    async def one(url: str, accept: str) -> None:
        async with limit:
            text = await bare.fetch(url, accept)
        if parsed:
            parser_for(accept)(text)

    async with anyio.create_task_group() as group:
        for url, accept in gets:
            group.start_soon(one, url, accept)


def text_of(result: Any) -> str:
    """The text blocks of a tool result, joined."""
    return "".join(block.text for block in result.content if block.type == "text")


def process_memory(pid: int | str = "self") -> dict[str, int]:
    """A process's peak (``VmHWM``) and current (``VmRSS``) resident set, in KiB, from /proc/<pid>/status."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    return out
