"""Running the simulator over real HTTP(S): a background-thread server for tests and the demo, a blocking
`serve` and the `python -m veeam_em_mcp.simulator` command line.

Logging goes to stderr only, because stdout may be an MCP stdio channel when the product runs its demo.
By default only the loopback interface is bound: the simulator accepts a well-known demo password.
`--fault SPEC` (repeatable) starts it misbehaving on purpose; see faults/ for the grammar. `--twins` serves an
estate with same-name twins (dataset/twins.py), `--no-coverage` the estate without what dataset/coverage/ adds (copies,
replicas, restores, EM's own sessions, agents, MSP views), `--reason-chars N` pads every task-session Reason to N
characters.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import socket
import sys
import threading
import time
from collections.abc import Sequence
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .config import SimulatorConfig
from .dataset import Dataset, build_dataset
from .faults.spec import HELP as FAULT_HELP
from .faults.spec import FaultSpecError, parse_fault
from .state import SimulatorState

log = logging.getLogger("veeam_em_mcp.simulator")


def _uvicorn_config(app: Starlette, host: str, port: int, ssl_certfile: str | None,
                    ssl_keyfile: str | None) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
        # log_config=None keeps uvicorn from installing its stdout access-log handler.
        log_config=None, access_log=False, log_level="warning",
        server_header=False, lifespan="off", timeout_graceful_shutdown=2,
    )


class RunningSimulator:
    """The simulator served by uvicorn in a background thread; use as a context manager or start()/stop()."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        dataset: Dataset | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        app: Starlette | None = None,
    ) -> None:
        self.app: Starlette = app if app is not None else create_app(config, dataset)
        self.state: SimulatorState = self.app.state.sim
        self.host = host
        self.port = port
        self.ssl_certfile = ssl_certfile
        self.ssl_keyfile = ssl_keyfile
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_certfile else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> RunningSimulator:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        # Bind here so the (possibly ephemeral) port is known before the thread starts serving.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
        # IPPROTO_TCP, and without it Nagle + delayed ACK add ~40 ms to every response.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._sock = sock
        server = uvicorn.Server(_uvicorn_config(self.app, self.host, self.port, self.ssl_certfile,
                                                self.ssl_keyfile))
        self._server = server
        self._thread = threading.Thread(target=self._run, name="em-simulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("EM simulator failed to start")
            time.sleep(0.005)
        log.info("EM simulator listening on %s/api/", self.base_url)
        return self

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = None
        self._sock = None

    def __enter__(self) -> RunningSimulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 9398,
    config: SimulatorConfig | None = None,
    *,
    dataset: Dataset | None = None,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> None:
    """Serve the simulator in the foreground until interrupted."""
    app = create_app(config, dataset)
    uvicorn.Server(_uvicorn_config(app, host, port, ssl_certfile, ssl_keyfile)).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m veeam_em_mcp.simulator",
        description="Run a simulated Veeam Backup Enterprise Manager REST API (demo data).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="fault examples:\n  --fault latency=2.0\n  --fault status=503:3,method=GET,path=/api/vmRestorePoints\n"
               "  --fault slow-logon=5 --fault expire:1,after=10\n  --fault huge=400MB\n"
               "  --fault entities=external,url=http://127.0.0.1:8000/x\n"
               "  --fault short-page=10:1 --fault pages-drift=-1,type=BackupTaskSession\n"
               "  --fault mutate=insert,type=VmRestorePoint,after=1 --fault deep=5000",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=9398)
    parser.add_argument("--vm-count", type=int, default=30)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--twins", action="store_true",
                        help="add same-name twins: a second 'SQL Backup' job with another sql01 (on vbr02, failing "
                             "its last 3 runs) and another vcd-web01 in a second vCloud organisation")
    parser.add_argument("--no-coverage", action="store_true",
                        help="leave out what the coverage phase adds (backup copies, replication, restore sessions, "
                             "EM's system sessions, Veeam Agent, vCloud org configs, Cloud Connect tenants)")
    parser.add_argument("--idle-timeout", type=float, default=900.0, help="session idle timeout in seconds")
    parser.add_argument("--json-casing", choices=("pascal", "camel"), default="pascal",
                        help="camelCase JSON keys on top of the dialect (implied by --json-dialect 13)")
    parser.add_argument("--json-dialect", choices=("9.5", "12", "13"), default="9.5",
                        help="JSON like EM 9.5 U4 (absent values left out), 12 (nulls, all Entities keys) or 13 "
                             "(the v12 dialect in camelCase); also sets the PagingInfo href encoding")
    parser.add_argument("--running-end-time", choices=("absent", "null", "min"), default="absent",
                        help="EndTimeUTC/Result of the running session: left out, null, or 0001-01-01/None")
    parser.add_argument("--unsorted-order", choices=("storage", "shuffle"), default="storage",
                        help="order of query results without sortAsc/sortDesc")
    parser.add_argument("--reason-chars", type=int, default=0, metavar="N",
                        help="serve every non-empty task-session Reason padded (repeated) or cut to N characters")
    parser.add_argument("--ssl-certfile")
    parser.add_argument("--ssl-keyfile")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC", help=FAULT_HELP)
    args = parser.parse_args(argv)
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        parser.error("--ssl-certfile and --ssl-keyfile go together")
    if args.reason_chars < 0:
        parser.error("--reason-chars must not be negative")
    try:
        faults = tuple(parse_fault(spec) for spec in args.fault)
    except FaultSpecError as exc:
        parser.error(f"--fault: {exc}")

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = SimulatorConfig(
        idle_timeout=args.idle_timeout, json_casing=args.json_casing, json_dialect=args.json_dialect,
        running_end_time=args.running_end_time, unsorted_order=args.unsorted_order, faults=faults,
        reason_chars=args.reason_chars,
    )
    started = time.perf_counter()
    dataset = build_dataset(seed=args.seed, vm_count=args.vm_count, days=args.days, twins=args.twins,
                            coverage=not args.no_coverage)
    # The estate lives as long as the process: frozen out of the collector's sight (a full collection traverses all
    # of it: pauses of ~300 ms at 5,000 VMs in whichever answer triggers one), and full collections kept rare (after
    # a freeze, Python 3.11 counts long-lived objects from the last full collection only, so it would run one every
    # few requests, each traversing the query tables built since: the 50,000-VM report's floor went 8.9 -> 25 s).
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1_000)
    scheme = "https" if args.ssl_certfile else "http"
    log.info(
        "EM simulator: %d VM restore points, %d task sessions for %d VMs built in %.2f s; listening on "
        "%s://%s:%d/api/ (user %s, password %s)",
        len(dataset.vm_restore_points), len(dataset.task_sessions), len(dataset.vms), time.perf_counter() - started,
        scheme, args.host,
        args.port, config.username, config.password,
    )
    for fault in faults:
        log.warning("fault injection active: %s", fault)
    try:
        serve(args.host, args.port, config, dataset=dataset, ssl_certfile=args.ssl_certfile,
              ssl_keyfile=args.ssl_keyfile)
    except KeyboardInterrupt:
        pass
    return 0
