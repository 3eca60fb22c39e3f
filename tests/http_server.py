"""The real ``veeam-em-mcp serve --demo --transport http`` as a subprocess, for end-to-end tests.

``demo_http_server`` yields the base URL; ``http_server_process`` also yields the process (its pid
for RSS, its stderr in a file to measure) and takes a ``preexec_fn`` to give the server its own
limits (``resource.setrlimit``).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.types import ASGIApp

from veeam_em_mcp.surface.http import HttpLimits, HttpService, bind_listener


def console_script() -> list[str]:
    script = Path(sys.executable).with_name("veeam-em-mcp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "veeam_em_mcp"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_healthy(base: str, process: subprocess.Popen[bytes], describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the HTTP server exited ({process.returncode}):\n{describe()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the HTTP server did not come up within 30 s"
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextmanager
def demo_http_server(env: dict[str, str], *args: str) -> Iterator[str]:
    """Start the server on a free loopback port, wait for /healthz, yield its base URL, stop it."""
    port = free_port()
    process = subprocess.Popen(
        [*console_script(), "serve", "--demo", "--transport", "http", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, lambda: process.stderr.read().decode() if process.stderr else "")
        yield base
    finally:
        stop(process)


@dataclass
class ServerProcess:
    base: str
    process: subprocess.Popen[bytes]
    stderr_path: Path

    def stderr_bytes(self) -> int:
        return self.stderr_path.stat().st_size

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS in /proc/<pid>/status")

    def alive(self) -> bool:
        return self.process.poll() is None


@contextmanager
def http_server_process(
    env: dict[str, str],
    *args: str,
    stderr_path: Path,
    preexec_fn: Callable[[], None] | None = None,
) -> Iterator[ServerProcess]:
    """Like ``demo_http_server``, with stderr written to ``stderr_path`` and the process exposed."""
    port = free_port()
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [*console_script(), "serve", "--demo", "--transport", "http", "--port", str(port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=preexec_fn,  # only setrlimit, before exec
        )
    running = ServerProcess(f"http://127.0.0.1:{port}", process, stderr_path)
    try:
        wait_until_healthy(running.base, process, running.stderr_text)
        yield running
    finally:
        stop(process)


@dataclass
class InProcessServer:
    base: str
    service: HttpService
    app: ASGIApp


@contextmanager
def serve_in_thread(app: ASGIApp, limits: HttpLimits | None = None) -> Iterator[InProcessServer]:
    """``HttpService`` (the command line's uvicorn, guarded protocol and all) on a free loopback port, in a thread."""
    limits = limits or HttpLimits()
    sock = bind_listener("127.0.0.1", 0)
    service = HttpService(app, sock, limits)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not service.server.started:
        assert thread.is_alive(), "the HTTP service thread died"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield InProcessServer(f"http://127.0.0.1:{sock.getsockname()[1]}", service, app)
    finally:
        service.server.should_exit = True
        thread.join(15)
        sock.close()


# --- floods, for tests/test_http_floods.py and bench/http_transport.py -----------------------------


def hold_connections(base: str, count: int) -> list[socket.socket]:
    """``count`` connections that never finish a request: half send nothing, half half a header."""
    host, port = base.removeprefix("http://").split(":")
    held = []
    for number in range(count):
        sock = socket.create_connection((host, int(port)), timeout=10)
        if number % 2:
            sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl")
        held.append(sock)
    return held


def closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


async def initialize_flood(base: str, token: str, count: int, connections: int = 8) -> dict[int, int]:
    """``count`` initialize requests over keep-alive connections, each session abandoned (no DELETE).

    A raw HTTP/1.1 client: the flood is about the server's table, and an ordinary client would
    spend more CPU than the server on a 2-core machine. Returns how many got each status.
    """
    host, port = base.removeprefix("http://").split(":")
    body = (
        b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        b'"capabilities":{},"clientInfo":{"name":"flood","version":"1"}}}'
    )
    request = (
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token.encode() + b"\r\n"
        b"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    statuses: dict[int, int] = {}
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while remaining > 0:
                remaining -= 1
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                statuses[status] = statuses.get(status, 0) + 1
                if b"transfer-encoding: chunked" in head.lower():
                    while (size := int((await reader.readuntil(b"\r\n")).strip(), 16)) > 0:
                        await reader.readexactly(size + 2)
                    await reader.readexactly(2)
                else:
                    length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
                    await reader.readexactly(length)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses
