"""The ``veeam-em-mcp`` command line: serve (stdio by default), demo, config, doctor, simulator.

stdout belongs to the MCP stdio channel, so everything human-readable from ``serve`` goes to
stderr. Configuration errors end the process with one line naming the variable, not a traceback.
``doctor`` prints its report on stdout (text, or JSON with ``--json``, configuration errors included).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from . import __version__
from .client_config import CLIENTS
from .config import Settings
from .errors import ConfigurationError
from .models.diagnosis import Check, ConnectionDiagnosis
from .text import RedactSecrets

log = logging.getLogger("veeam_em_mcp")


def configure_logging(level_name: str | None = None) -> None:
    level = (level_name or os.environ.get("VEEAM_MCP_LOG_LEVEL", "INFO")).upper()
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="veeam-em-mcp",
        description="MCP server for Veeam Backup Enterprise Manager's REST API (stdio by default).",
    )
    parser.add_argument("--version", action="version", version=f"veeam-em-mcp {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the MCP server (stdio by default)")
    serve.add_argument("--demo", action="store_true", help="serve the embedded EM simulator's demo data")
    serve.add_argument(
        "--demo-port", type=int, default=0, metavar="N", help="with --demo: the simulator's port (default: any free)"
    )
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP transport: address to bind")
    serve.add_argument("--port", type=int, default=8000, help="HTTP transport: port")
    serve.add_argument("--no-auth", action="store_true", help="HTTP on loopback only: no bearer token")
    serve.add_argument("--stateless", action="store_true", help="HTTP: stateless (for several replicas)")

    commands.add_parser("demo", help="a first run: a short investigation against the simulator")

    config = commands.add_parser("config", help="print a ready MCP client entry for this installation")
    config.add_argument("client", choices=CLIENTS, help="the client the entry is for")
    config.add_argument("--demo", action="store_true", help="an entry for serve --demo (no Enterprise Manager)")
    config.add_argument("--uvx", metavar="SPEC", help="start with `uvx --from SPEC` instead of this installation")

    doctor = commands.add_parser("doctor", help="diagnose the connection to Enterprise Manager (VEEAM_EM_*)")
    doctor.add_argument("--json", action="store_true", help="print the diagnosis as JSON")

    simulator = commands.add_parser("simulator", help="run the Enterprise Manager simulator alone")
    simulator.add_argument("--host", default="127.0.0.1")
    simulator.add_argument("--port", type=int, default=9398)
    simulator.add_argument("--vm-count", type=int, default=30)
    simulator.add_argument("--days", type=int, default=30)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "serve"
    if getattr(args, "demo_port", 0) and not args.demo:
        parser.error("--demo-port needs --demo")
    if command == "demo":
        from .demo import run_demo

        return run_demo()
    if command == "doctor":
        return run_doctor(as_json=args.json)
    if command == "config":
        from .client_config import entry, notes

        print(notes(args.client, demo=args.demo), file=sys.stderr)
        print(json.dumps(entry(args.client, demo=args.demo, uvx=args.uvx), indent=2))
        return 0
    configure_logging()
    if command == "simulator":
        return serve_simulator(host=args.host, port=args.port, vm_count=args.vm_count, days=args.days)
    return serve(
        demo=getattr(args, "demo", False),
        demo_port=getattr(args, "demo_port", 0),
        transport=getattr(args, "transport", "stdio"),
        host=getattr(args, "host", "127.0.0.1"),
        port=getattr(args, "port", 8000),
        no_auth=getattr(args, "no_auth", False),
        stateless=getattr(args, "stateless", False),
    )


def serve_simulator(*, host: str, port: int, vm_count: int, days: int) -> int:
    """``veeam-em-mcp simulator``: the embedded EM simulator alone, in the foreground (plain HTTP)."""
    from .simulator.config import SimulatorConfig
    from .simulator.dataset import build_dataset
    from .simulator.runner import serve

    config = SimulatorConfig()
    log.info(
        "EM simulator on http://%s:%d/api/ (user %s, password %s); Ctrl-C stops it",
        host, port, config.username, config.password,
    )
    try:
        serve(host, port, config, dataset=build_dataset(vm_count=vm_count, days=days))
    except KeyboardInterrupt:
        pass
    return 0


def demo_settings(base_url: str) -> Settings:
    """Settings for the embedded simulator (its published demo account); the tuning variables still apply."""
    from .simulator.config import SimulatorConfig

    demo_account = SimulatorConfig()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("VEEAM_EM_PASSWORD_FILE", "VEEAM_EM_CA_BUNDLE", "VEEAM_EM_TLS_FINGERPRINT")
    }
    env.update(
        VEEAM_EM_URL=base_url,
        VEEAM_EM_USERNAME=demo_account.username,
        VEEAM_EM_PASSWORD=demo_account.password,
        VEEAM_EM_VERIFY_TLS="true",
    )
    return dataclasses.replace(Settings.from_env(env), demo=True)


def serve(
    *,
    demo: bool,
    demo_port: int = 0,
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    no_auth: bool = False,
    stateless: bool = False,
) -> int:
    from .surface.server import build_server

    running = None
    try:
        if demo:
            from .simulator.runner import RunningSimulator

            running = RunningSimulator(port=demo_port)
            try:
                running.start()
            except OSError as exc:
                print(f"veeam-em-mcp: --demo-port {demo_port}: cannot listen there ({exc.strerror})", file=sys.stderr)
                return 2
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
            from .surface.http import run_http

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


# --- veeam-em-mcp doctor ----------------------------------------------------------------------

_MARKS = {"ok": "ok", "warning": "WARN", "error": "FAIL", "skipped": "--"}
_STEPS = ("reachable", "tls", "api", "logon", "access")


def render_text(diagnosis: ConnectionDiagnosis) -> str:
    lines = [f"veeam-em-mcp doctor: {diagnosis.em_url} as {diagnosis.username}"]
    for check in diagnosis.checks:
        lines.append(f"  [{_MARKS[check.status]:>4}] {check.name:<13} {check.summary}")
        if check.fix and check.status in ("error", "warning"):
            lines.append(f"{'':22}fix: {check.fix}")
    failed = next((check for check in diagnosis.checks if check.status == "error"), None)
    if failed is None:
        lines.append(diagnosis.verdict)
    else:
        lines.append(f"NOT READY: the {failed.name} check failed; see its fix above.")
    return "\n".join(lines)


def configuration_failure(exc: ConfigurationError, env: Mapping[str, str]) -> ConnectionDiagnosis:
    """A configuration error as a diagnosis, so that ``--json`` prints the same shape whatever failed."""
    fix = f"Set {exc.variable} (see the README's Configuration table)."
    return ConnectionDiagnosis(
        ok=False,
        verdict=f"NOT READY: configuration: {exc}. Fix: {fix}",
        em_url=env.get("VEEAM_EM_URL", "").strip(),
        username=env.get("VEEAM_EM_USERNAME", "").strip(),
        tls="not checked: the configuration is invalid",
        checks=[
            Check(name="configuration", status="error", summary=str(exc), fix=fix),
            *(Check(name=step, status="skipped", summary="not checked: an earlier step failed") for step in _STEPS),
        ],
    )


def run_doctor(*, as_json: bool = False, env: Mapping[str, str] | None = None) -> int:
    """``veeam-em-mcp doctor``: 0 when ready, 1 when a check failed, 2 on a configuration error."""
    import anyio

    from .client import EnterpriseManagerClient
    from .services.diagnosis import diagnose

    # The report says everything; client warnings (retries, logout) would only repeat it. The CLI's
    # handler (with its secret-redacting filter) also guards whatever does get logged.
    configure_logging("ERROR")
    environment = os.environ if env is None else env
    try:
        settings = Settings.from_env(environment)
    except ConfigurationError as exc:
        if as_json:
            print(configuration_failure(exc, environment).model_dump_json(indent=2))
        else:
            print(f"veeam-em-mcp doctor: configuration error: {exc}")
            print(f"NOT READY: fix {exc.variable} (see README, Configuration).")
        return 2
    # One attempt per step and a bounded wait: a diagnosis should be quick and say what it saw.
    settings = dataclasses.replace(settings, retries=1, timeout=min(settings.timeout, 15.0))

    async def run() -> ConnectionDiagnosis:
        async with EnterpriseManagerClient(settings) as client:  # logs out of its session on exit
            return await diagnose(client)

    diagnosis = anyio.run(run)
    print(diagnosis.model_dump_json(indent=2) if as_json else render_text(diagnosis))
    return 0 if diagnosis.ok else 1
