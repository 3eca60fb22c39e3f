"""A real Redis (or Valkey) server on loopback, for the tests of the shared snapshot store.

``redis_server()`` starts ``redis-server`` (or ``valkey-server``) on a free 127.0.0.1 port with no
persistence, waits until it answers PING, yields its ``redis://127.0.0.1:<port>/0`` URL, and stops it
afterwards. Without a server binary the test is skipped, naming the Debian package to install, except
in CI (``CI`` set), where a missing server fails instead of silently skipping the tests that need it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BINARIES = ("redis-server", "valkey-server")
DEBIAN_PACKAGE = "redis-server"
START_TIMEOUT = 10.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def server_binary() -> str:
    """The installed server binary; otherwise skip (fail in CI)."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    reason = (
        f"no Redis/Valkey server installed ({' or '.join(BINARIES)} not on PATH): "
        f"install the Debian package {DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE})"
    )
    if _in_ci():
        pytest.fail(f"{reason}; CI must run the shared snapshot store tests (.ci/run installs it)")
    pytest.skip(reason)


def free_port() -> int:
    """A loopback port nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextmanager
def redis_server() -> Iterator[str]:
    """Yield the URL of a fresh, empty server with no persistence; stopped on exit."""
    binary = server_binary()
    with tempfile.TemporaryDirectory(prefix="veeam-em-mcp-redis-") as workdir:
        log = Path(workdir) / "server.log"
        for _ in range(3):  # the free port may be taken between the probe and the server's bind
            port = free_port()
            command = [
                binary,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", workdir,
                "--logfile", str(log),
            ]  # fmt: skip
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + START_TIMEOUT
                while process.poll() is None and not answers_ping(port):
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{binary} did not answer PING within {START_TIMEOUT:g} s")
                    time.sleep(0.02)
                if process.poll() is not None:
                    continue  # it exited (the port was taken): try another
                yield f"redis://127.0.0.1:{port}/0"
                return
            finally:
                stop(process)
        text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise AssertionError(f"{binary} would not start:\n{text}")
