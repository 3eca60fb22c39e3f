"""The real ``veeam-em-mcp serve --demo --transport http`` as a subprocess, for end-to-end tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def console_script() -> list[str]:
    script = Path(sys.executable).with_name("veeam-em-mcp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "veeam_em_mcp"]


@contextmanager
def demo_http_server(env: dict[str, str], *args: str) -> Iterator[str]:
    """Start the server on a free loopback port, wait for /healthz, yield its base URL, stop it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [*console_script(), "serve", "--demo", "--transport", "http", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the HTTP server exited:\n{process.stderr.read() if process.stderr else ''}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the HTTP server did not come up within 30 s"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
