"""The ``veeam-em-mcp`` command line: serve (stdio by default), demo, doctor, simulator.

stdout belongs to the MCP stdio channel, so everything human-readable from ``serve`` goes to
stderr. Configuration errors end the process with one line naming the variable, not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence

from . import __version__
from .config import Settings
from .errors import ConfigurationError

log = logging.getLogger("veeam_em_mcp")

DEMO_USERNAME = "DEMO\\demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105  # the simulator's published demo credential


def configure_logging() -> None:
    level = os.environ.get("VEEAM_MCP_LOG_LEVEL", "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    # httpx logs every request URL at INFO and httpcore every header (the session token among
    # them) at DEBUG; ours are enough, and they never carry a secret.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


class RedactSecrets(logging.Filter):
    """Last line of defence: mask anything shaped like a session token or Basic credentials."""

    _PATTERNS = (
        re.compile(r"(?i)(x-restsvcsessionid['\"]?\s*[:=,]\s*(?:b?['\"])?)[A-Za-z0-9+/=_-]{8,}"),
        re.compile(r"(?i)(authorization['\"]?\s*[:=,]\s*(?:b?['\"])?basic\s+)[A-Za-z0-9+/=]+"),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for pattern in self._PATTERNS:
            redacted = pattern.sub(r"\1[redacted]", redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="veeam-em-mcp",
        description="MCP server for Veeam Backup Enterprise Manager's REST API (stdio by default).",
    )
    parser.add_argument("--version", action="version", version=f"veeam-em-mcp {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the MCP server (stdio by default)")
    serve.add_argument("--demo", action="store_true", help="serve the embedded EM simulator's demo data")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP transport: address to bind")
    serve.add_argument("--port", type=int, default=8000, help="HTTP transport: port")
    serve.add_argument("--no-auth", action="store_true", help="HTTP on loopback only: no bearer token")
    serve.add_argument("--stateless", action="store_true", help="HTTP: stateless (for several replicas)")

    commands.add_parser("demo", help="a first run: a short investigation against the simulator")

    doctor = commands.add_parser("doctor", help="diagnose the connection to Enterprise Manager (VEEAM_EM_*)")
    doctor.add_argument("--json", action="store_true", help="print the diagnosis as JSON")

    simulator = commands.add_parser("simulator", help="run the Enterprise Manager simulator alone")
    simulator.add_argument("--host", default="127.0.0.1")
    simulator.add_argument("--port", type=int, default=9398)
    simulator.add_argument("--vm-count", type=int, default=30)
    simulator.add_argument("--days", type=int, default=30)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "serve"
    if command == "demo":
        from .demo import run_demo

        return run_demo()
    if command == "doctor":
        from .doctor import run_doctor

        return run_doctor(as_json=args.json)
    configure_logging()
    if command == "simulator":
        from .simulator.runner import main as simulator_main

        return simulator_main(
            ["--host", args.host, "--port", str(args.port), "--vm-count", str(args.vm_count), "--days", str(args.days)]
        )
    return serve(
        demo=getattr(args, "demo", False),
        transport=getattr(args, "transport", "stdio"),
        host=getattr(args, "host", "127.0.0.1"),
        port=getattr(args, "port", 8000),
        no_auth=getattr(args, "no_auth", False),
        stateless=getattr(args, "stateless", False),
    )


def demo_settings(base_url: str) -> Settings:
    """Settings for the embedded simulator; the few tuning variables still apply."""
    env = dict(os.environ)
    env.update(
        {
            "VEEAM_EM_URL": base_url,
            "VEEAM_EM_USERNAME": DEMO_USERNAME,
            "VEEAM_EM_PASSWORD": DEMO_PASSWORD,
            "VEEAM_EM_VERIFY_TLS": "true",
        }
    )
    for name in ("VEEAM_EM_PASSWORD_FILE", "VEEAM_EM_CA_BUNDLE", "VEEAM_EM_TLS_FINGERPRINT"):
        env.pop(name, None)
    settings = Settings.from_env(env)
    return Settings(**{**settings.__dict__, "demo": True})


def serve(
    *,
    demo: bool,
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    no_auth: bool = False,
    stateless: bool = False,
) -> int:
    from .server import build_server

    running = None
    try:
        if demo:
            from .simulator.runner import RunningSimulator

            running = RunningSimulator()
            running.start()
            settings = demo_settings(running.base_url)
            log.info("demo mode: Enterprise Manager simulator at %s", running.base_url)
        else:
            settings = Settings.from_env()
    except ConfigurationError as exc:
        print(f"veeam-em-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        warn_about_settings(settings)
        server = build_server(settings)
        if transport == "http":
            from .http import run_http

            return run_http(server, host=host, port=port, no_auth=no_auth, stateless=stateless)
        server.run("stdio")
        return 0
    except ConfigurationError as exc:
        print(f"veeam-em-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if running is not None:
            running.stop()


def warn_about_settings(settings: Settings) -> None:
    if settings.insecure_http and not settings.demo:
        log.warning(
            "VEEAM_EM_URL uses http://: credentials and data cross the network unencrypted. "
            "EM's REST API is HTTPS on port 9398; plain HTTP (9399) is deprecated."
        )
    if not settings.verify_tls and not settings.insecure_http:
        log.warning(
            "!!! VEEAM_EM_VERIFY_TLS=false: the EM certificate is NOT checked; anyone on the path can "
            "impersonate Enterprise Manager and capture the password. Prefer VEEAM_EM_CA_BUNDLE or "
            "VEEAM_EM_TLS_FINGERPRINT. !!!"
        )
