"""Connections: TCP_NODELAY, the cap and what happens at it, and the idle, header and body deadlines.

Each test runs ``HttpService`` (the command line's uvicorn with the guarded protocol) on loopback
in a thread and talks to it with raw sockets, as a misbehaving client would. The deadlines are
shortened so the tests wait fractions of a second; what is asserted is what the server did (closed,
answered 408/503, served the next client), never how fast.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from veeam_em_mcp.errors import HttpSetupError
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.http import (
    ACCEPT_BACKLOG,
    FD_RESERVE,
    HttpLimits,
    LogFloodGuard,
    bind_listener,
    build_http_app,
    fit_to_open_file_limit,
    loop_exception_handler,
)
from veeam_em_mcp.surface.server import build_server

from .conftest import ManualClock, make_settings
from .http_server import InProcessServer, serve_in_thread

TOKEN = "test-token-0123456789abcdef"


@contextmanager
def guarded_server(simulator: RunningSimulator, **limits: Any) -> Iterator[InProcessServer]:
    settings = make_settings(simulator.base_url)
    bounds = HttpLimits(**limits)
    app = build_http_app(build_server(settings, retry_base_delay=0.01), token=TOKEN, limits=bounds)
    with serve_in_thread(app, bounds) as running:
        yield running


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (10 s at most)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def eventually(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Wait for the server thread to get somewhere (not a timing assertion: 10 s is a hang)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server did not get there within 10 s"
        time.sleep(0.01)


def get_healthz(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while not answer.endswith(b"ok\n"):
        chunk = sock.recv(65536)
        assert chunk, f"closed before the answer: {answer!r}"
        answer += chunk
    return answer


def test_the_listener_is_tcp_and_accepted_sockets_have_nodelay(loopback_simulator: RunningSimulator) -> None:
    # asyncio only sets TCP_NODELAY on sockets whose proto says TCP, and accepted sockets inherit it.
    listener = bind_listener("127.0.0.1", 0)
    assert listener.proto == socket.IPPROTO_TCP
    listener.close()
    with guarded_server(loopback_simulator) as running:
        clients = [connect(running.base) for _ in range(3)]
        for client in clients:
            assert get_healthz(client).startswith(b"HTTP/1.1 200")
        accepted = running.service.guard.server_sockets()
        assert len(accepted) == 3
        assert all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in accepted)
        for client in clients:
            client.close()


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(loopback_simulator: RunningSimulator) -> None:
    with guarded_server(loopback_simulator, idle_timeout=0.3) as running:
        silent = connect(running.base)
        assert read_until_closed(silent) == b""  # closed by the server, no answer owed
        kept = connect(running.base)
        assert get_healthz(kept).startswith(b"HTTP/1.1 200")
        assert read_until_closed(kept) == b""  # and again after a keep-alive request
        silent.close()
        kept.close()


def test_half_sent_headers_get_408_after_the_header_timeout(loopback_simulator: RunningSimulator) -> None:
    with guarded_server(loopback_simulator, header_timeout=0.3, idle_timeout=30) as running:
        slow = connect(running.base)
        slow.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer = read_until_closed(slow)
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout")
        assert running.service.guard.header_timeouts == 1
        slow.close()


def test_a_half_sent_body_gets_408_after_the_body_timeout(loopback_simulator: RunningSimulator) -> None:
    with guarded_server(loopback_simulator, body_timeout=0.3) as running:
        slow = connect(running.base)
        slow.sendall(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n"
            b"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            b"Content-Length: 200\r\n\r\n{\"jsonrpc\": "
        )
        answer = read_until_closed(slow)
        assert answer.startswith(b"HTTP/1.1 408")
        assert b"did not arrive within 0.3 s" in answer
        slow.close()


def test_an_oversized_body_is_refused_with_413_before_it_is_read(loopback_simulator: RunningSimulator) -> None:
    with guarded_server(loopback_simulator, max_body_bytes=4096) as running:
        response = httpx.post(
            f"{running.base}/mcp",
            content=b"x" * 5000,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert "VEEAM_MCP_HTTP_MAX_BODY_BYTES" in response.json()["error"]["message"]


def test_at_the_cap_the_longest_idle_connection_makes_room(loopback_simulator: RunningSimulator) -> None:
    with guarded_server(loopback_simulator, max_connections=4, idle_timeout=30, header_timeout=30) as running:
        idle = [connect(running.base) for _ in range(4)]
        idle[1].sendall(b"GET /heal")  # half-sent headers count as idle too
        guard = running.service.guard
        eventually(lambda: guard.open_connections == 4)
        # The fifth connection is admitted by closing the oldest idle one, and served.
        with httpx.Client() as legitimate:
            assert legitimate.get(f"{running.base}/healthz").status_code == 200
        assert read_until_closed(idle[0]) == b""
        assert running.service.guard.evicted == 1
        assert running.service.guard.open_connections <= 4
        for sock in idle:
            sock.close()


def test_when_every_connection_is_busy_a_new_one_gets_503(loopback_simulator: RunningSimulator) -> None:
    with guarded_server(loopback_simulator, max_connections=2, body_timeout=30) as running:
        busy = [connect(running.base) for _ in range(2)]
        for sock in busy:  # complete headers, body pending: a request in progress, never cut
            sock.sendall(
                b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )
        guard = running.service.guard
        eventually(lambda: guard.open_connections == 2 and guard.waiting_connections == 0)
        refused = connect(running.base)
        answer = read_until_closed(refused)
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable")
        assert running.service.guard.refused == 1
        for sock in [*busy, refused]:
            sock.close()


# --- what the limits are made of ----------------------------------------------------------------------


def test_limits_come_from_the_environment_and_bad_values_name_their_variable() -> None:
    limits = HttpLimits.from_env({"VEEAM_MCP_HTTP_MAX_SESSIONS": "50", "VEEAM_MCP_HTTP_HEADER_TIMEOUT": "2.5"})
    assert limits.max_sessions == 50
    assert limits.header_timeout == 2.5
    assert limits.max_connections == HttpLimits().max_connections
    for variable, value in [
        ("VEEAM_MCP_HTTP_MAX_SESSIONS", "abc"),
        ("VEEAM_MCP_HTTP_MAX_CONNECTIONS", "0"),
        ("VEEAM_MCP_HTTP_IDLE_TIMEOUT", "-1"),
        ("VEEAM_MCP_HTTP_BODY_TIMEOUT", "inf"),
        ("VEEAM_MCP_HTTP_MAX_SESSIONS", "2.5"),
    ]:
        with pytest.raises(HttpSetupError, match=variable):
            HttpLimits.from_env({variable: value})


def test_the_connection_cap_is_lowered_to_fit_the_open_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = len(__import__("os").listdir("/proc/self/fd"))
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + FD_RESERVE + ACCEPT_BACKLOG + 100, hard))
        fitted = fit_to_open_file_limit(HttpLimits(max_connections=5000))
        assert 90 <= fitted.max_connections <= 100
        assert fit_to_open_file_limit(HttpLimits(max_connections=10)).max_connections == 10
        resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + FD_RESERVE, hard))
        with pytest.raises(HttpSetupError, match="open-file limit"):
            fit_to_open_file_limit(HttpLimits())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --- logging that cannot flood ----------------------------------------------------------------------


def record(name: str, message: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def test_the_flood_guard_passes_one_line_per_condition_per_interval() -> None:
    clock = ManualClock(0.0)
    guard = LogFloodGuard(interval=60, clock=clock)
    passed = [guard.filter(record("mcp.server.transport_security", f"Invalid Host header: evil{i}.example")) for i in range(1000)]
    assert passed.count(True) == 1
    # Another condition, another logger: each has its own window; foreign loggers are never held back.
    assert guard.filter(record("uvicorn.error", "Invalid HTTP request received."))
    assert all(guard.filter(record("veeam_em_mcp.client", "logged on")) for _ in range(5))
    assert all(guard.filter(record("veeam_em_mcp.http.access", "GET /mcp 200")) for _ in range(5))
    clock.now = 61
    next_window = record("mcp.server.transport_security", "Invalid Host header: %s", "evil.example")
    assert guard.filter(next_window)
    assert "999 more like this in the last 60 s not logged" in next_window.getMessage()


def test_the_flood_guard_caps_each_logger_whatever_its_messages() -> None:
    clock = ManualClock(0.0)
    guard = LogFloodGuard(interval=60, clock=clock, per_logger=20)
    distinct = [guard.filter(record("uvicorn.error", f"problem {letter * 3}")) for letter in "abcdefghijklmnopqrstuvwxyz" * 4]
    assert passed_count(distinct) == 20
    clock.now = 61
    assert guard.filter(record("uvicorn.error", "problem aaa"))


def passed_count(results: list[bool]) -> int:
    return results.count(True)


def test_running_out_of_file_descriptors_is_one_line_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.ERROR, logger="veeam_em_mcp.http"):
            loop_exception_handler(
                loop,
                {"message": "socket.accept() out of system resource", "exception": OSError(errno.EMFILE, "Too many open files")},
            )
    finally:
        loop.close()
    assert len(caplog.records) == 1
    assert caplog.records[0].exc_info is None
    assert "VEEAM_MCP_HTTP_MAX_CONNECTIONS" in caplog.records[0].getMessage()
