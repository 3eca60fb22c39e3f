"""Shared pieces of the benchmarks: the simulator in its own process, the bare GET, interleaved timing.

``bench/run.py`` and any figure script beside it (a protection-report benchmark, say) import these, so that
every figure is measured the same way: against a baseline timed in the same rounds, on the same machine,
against the same simulator. A figure script needs nothing else::

    from harness import BareGet, SimulatorProcess, interleaved, settings_for, summary
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

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


def minimal_params(*args: str) -> StdioServerParameters:
    """The floor's MCP server (``bench/minimal_server.py``) over stdio; ``args`` are its command line."""
    return StdioServerParameters(
        command=sys.executable, args=[str(HERE / "minimal_server.py"), *args], env=dict(os.environ)
    )


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 3),
    }


async def interleaved(
    repeat: int, warmup: int = WARMUP_ROUNDS, **calls: Callable[[], Awaitable[Any]]
) -> dict[str, list[float]]:
    """Time each call once per round, round after round, so that all see the same machine state.

    The order within a round rotates, so that no call always runs first (on a cold cache) or last.
    """
    names = list(calls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(repeat + warmup):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            await calls[name]()
            if round_no >= warmup:
                samples[name].append((time.perf_counter() - started) * 1000)
    return samples


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
            if self.process.poll() is not None:
                raise RuntimeError(f"the simulator exited with {self.process.returncode}: {self.args}")
            try:
                if httpx.get(f"{self.base_url}/api/", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("the simulator did not start within 60 s")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


class BareGet:
    """The floor's HTTP part: one EM session, keep-alive, the same URL, nothing else."""

    def __init__(self, base_url: str, url: str, accept: str = "application/xml") -> None:
        self.base_url, self.url, self.accept = base_url, url, accept
        self.http = httpx.AsyncClient()
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
