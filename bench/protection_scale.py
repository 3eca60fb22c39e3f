"""protection_report at scale: its time against the bare EM pages it reads, its EM requests, the server's peak RSS.

Three processes, as in production: the simulator (EM) in its own, the MCP server in its own
(``bench/recording_server.py``: the product as ``serve`` runs it over stdio, recording its EM requests), and this
one (the MCP client, the bare replays and the floor's no-op server, itself over stdio). A scenario gets a fresh
server process, so the peak RSS it reports (``VmHWM`` of that process, read from inside at the end) is the
product's alone and that scenario's alone.

Scenarios, per estate size (``--report-vms``, ``--concurrent-vms``):

- **report**: one ``protection_report`` call with default arguments and settings (its EM requests recorded; the
  first call of the process, reported as the cold call), then interleaved rounds of: the call again, the very
  GETs it made replayed with a bare logged-on httpx client one by one, with 8 in flight (the product's own
  bound), with 8 in flight and each body parsed by the standard library, and an MCP no-op over stdio returning
  a text as large as the answer. Floor = the 8-in-flight replay + the no-op. A call that fails (the estate
  tools' deadline, 55 s at the defaults) is recorded with its error text, not raised; its replay is then of the
  GETs it made before it failed (marked ``partial``).
- **concurrent**: ``--concurrent-calls`` (20) identical ``protection_report`` calls at once through one server
  (one stdio session): how many succeed, the errors' texts, wall time, each call's time, EM requests, peak RSS.

Rounds: with ``--rounds N`` the scenarios of an estate run round after round, each in a fresh server process
(report, concurrent, report, concurrent, ...), and the figures are medians over the rounds. Estates of at least
``--large-vms`` VMs run one round (``--rounds-large``).

Run: ``python bench/protection_scale.py [--report-vms 5000 20000] [--concurrent-vms 5000] [--rounds 3]
[--format xml|json] [--output bench/results-protection-scale.json]``; ``--quick`` = 200 VMs, one round, 4 calls.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

os.environ.setdefault("VEEAM_MCP_LOG_LEVEL", "ERROR")  # one log line per EM request would be the bench's noise
sys.path.insert(0, str(Path(__file__).resolve().parent))
import veeam_em_mcp
from harness import HERE, BareGet, SimulatorProcess, interleaved, recording_server_params, replay, text_of

IN_FLIGHT = 8  # the product's own bound for this report: two reads side by side, four pages each
CLIENT_TIMEOUT = 900.0  # the MCP client waits for the server's own deadline error, never gives up first
ERROR_CHARS = 600
# --lifted-limits: what a failed scenario would take without the default deadline (VEEAM_EM_TIMEOUT=60 gives
# 60 × 4 + 0.75 = 240.75 s) and the 16 MiB cap on one EM answer (1 GiB here). Not default settings.
LIFTED = {"VEEAM_EM_TIMEOUT": "60", "VEEAM_EM_MAX_RESPONSE_BYTES": str(1 << 30)}


def error_kind(error: str) -> str:
    """An error text with what varies between calls (the URL's query, counts, sizes) cut out: to count alike."""
    text = re.sub(r"(/api/query\?type=\w+)\S*", r"\1…", " ".join(error.split()))
    text = re.sub(r"\d[\d,]*", "N", text)
    return text[:300]


def noop_params(text_file: Path) -> StdioServerParameters:
    """The floor's no-op: a minimal MCP server over stdio returning the text in ``text_file``."""
    return StdioServerParameters(
        command=sys.executable,
        args=[str(HERE / "protection_scale.py"), "--serve-noop", str(text_file)],
        env=dict(os.environ),
    )


def serve_noop(text_file: Path) -> int:
    from mcp.server.mcpserver import MCPServer

    text = text_file.read_text(encoding="utf-8")
    server = MCPServer("noop")

    @server.tool()
    def noop() -> str:
        """Returns a fixed text as large as the report."""
        return text

    server.run("stdio")
    return 0


async def stats(client: Client, reset: bool = False) -> dict[str, Any]:
    result = await client.call_tool("bench_stats", {"reset": reset})
    return json.loads(text_of(result))


async def timed_call(client: Client, arguments: dict[str, Any], tool: str = "protection_report") -> dict[str, Any]:
    """One tool call (the report by default): its time and outcome, an error recorded (text cut short) rather
    than raised."""
    started = time.perf_counter()
    try:
        result = await client.call_tool(tool, arguments)
    except Exception as exc:  # a client-side failure is a figure too
        return {"ms": (time.perf_counter() - started) * 1000, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    ms = (time.perf_counter() - started) * 1000
    text = text_of(result)
    if result.is_error:
        return {"ms": ms, "ok": False, "error": text[:ERROR_CHARS]}
    report = result.structured_content or {}
    return {
        "ms": ms,
        "ok": True,
        "chars": len(text),
        "em_requests": report.get("em_requests"),
        "vms": summary.get("vms") if isinstance(summary := report.get("summary"), dict) else None,
        "returned": report.get("returned"),
        "total": report.get("total"),
    }


def memory_of(server_stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "peak_rss_mib": round(server_stats["VmHWM"] / 1024, 1),
        "rss_mib": round(server_stats["VmRSS"] / 1024, 1),
        # Not the figure: Linux carries ru_maxrss over fork and exec, so it starts at this process's own RSS.
        "ru_maxrss_mib_inherited": round(server_stats["ru_maxrss_kib"] / 1024, 1),
        "cpu_s": round(server_stats.get("cpu_s", 0.0), 2),
    }


async def report_scenario(
    base_url: str,
    em_format: str,
    warmup: int,
    first_round: int,
    env: dict[str, str],
    tool_name: str = "protection_report",
    arguments: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One server process: a cold call of ``tool_name`` (its EM requests recorded), then interleaved rounds of the call
    and its floors (see the module docstring). ``env`` adds settings, or ``PYTHONPATH`` for another version."""
    accept = "application/json" if em_format == "json" else "application/xml"
    arguments = arguments or {}
    params = recording_server_params(base_url, VEEAM_EM_FORMAT=em_format, **env)
    out: dict[str, Any] = {"scenario": "report", "tool": tool_name, "round": first_round + 1, "env": env}
    async with Client(params, read_timeout_seconds=CLIENT_TIMEOUT) as client:
        await client.call_tool("list_repositories", {})  # logs on: the logon is not part of the question
        idle = await stats(client, reset=True)
        out["server"] = {"veeam_em_mcp": idle["veeam_em_mcp"], "version": idle["version"]}
        out["idle_rss_mib"] = round(idle["VmRSS"] / 1024, 1)
        cold = await timed_call(client, arguments, tool_name)
        after_cold = await stats(client, reset=True)
        gets = [(url, accept) for method, url, accept in after_cold["requests"] if method == "GET"]
        out["cold_call"] = cold
        out["em_requests"] = len(after_cold["requests"])
        out["em_gets"] = len(gets)
        out["em_bytes_read"] = after_cold["bytes_read"]
        out["replay_partial"] = not cold["ok"]
        answer = "x" * cold.get("chars", 0) if cold["ok"] else cold["error"]

        calls: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory() as tmp:
            text_file = Path(tmp) / "answer.txt"
            # The floor's no-op returns a text as large as the answer (its content does not matter).
            text_file.write_text(answer, encoding="utf-8")
            async with (
                BareGet(base_url, gets[0][0] if gets else base_url, accept) as bare,
                Client(noop_params(text_file), read_timeout_seconds=CLIENT_TIMEOUT) as noop,
            ):

                async def tool() -> None:
                    calls.append(await timed_call(client, arguments, tool_name))

                async def no_op() -> None:
                    await noop.call_tool("noop", {})

                rounds: dict[str, Callable[[], Awaitable[Any]]] = {
                    "tool": tool,
                    "replay_sequential": lambda: replay(bare, gets, 1),
                    "replay_concurrent": lambda: replay(bare, gets, IN_FLIGHT),
                    "replay_parsed": lambda: replay(bare, gets, IN_FLIGHT, parsed=True),
                    "noop": no_op,
                }
                samples = await interleaved(1, warmup=warmup, first_round=first_round, **rounds)
        end = await stats(client)
        calls = calls[warmup:]
        out["calls"] = calls
        out["em_requests_per_call"] = round(len(end["requests"]) / max(1, len(calls) + warmup), 1)
        out["memory"] = memory_of(end)
        out["samples_ms"] = {name: [round(v, 1) for v in values] for name, values in samples.items()}
    return out


async def concurrent_scenario(
    base_url: str, em_format: str, calls: int, round_no: int, env: dict[str, str]
) -> dict[str, Any]:
    params = recording_server_params(base_url, VEEAM_EM_FORMAT=em_format, **env)
    out: dict[str, Any] = {"scenario": "concurrent", "round": round_no + 1, "calls_started": calls, "env": env}
    async with Client(params, read_timeout_seconds=CLIENT_TIMEOUT) as client:
        await client.call_tool("list_repositories", {})
        idle = await stats(client, reset=True)
        out["idle_rss_mib"] = round(idle["VmRSS"] / 1024, 1)
        results: list[dict[str, Any]] = []

        async def one() -> None:
            results.append(await timed_call(client, {}))

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(calls):
                group.start_soon(one)
        out["wall_ms"] = round((time.perf_counter() - started) * 1000, 1)
        end = await stats(client)
    ok = [r for r in results if r["ok"]]
    out["succeeded"] = len(ok)
    out["failed"] = len(results) - len(ok)
    out["errors"] = dict(Counter(error_kind(r["error"]) for r in results if not r["ok"]))
    out["error_texts"] = [r["error"] for r in results if not r["ok"]]
    out["call_ms"] = sorted(round(r["ms"], 1) for r in results)
    out["ok_call_ms"] = sorted(round(r["ms"], 1) for r in ok)
    out["em_requests"] = len(end["requests"])
    out["em_bytes_read"] = end["bytes_read"]
    out["memory"] = memory_of(end)
    return out


def code_under_test() -> dict[str, Any]:
    """Where veeam_em_mcp was imported from, and its commit (and uncommitted changes) if it is in a git tree."""
    server_dir = Path(veeam_em_mcp.__file__).resolve().parent.parent
    info: dict[str, Any] = {
        "veeam_em_mcp": veeam_em_mcp.__file__,
        "version": getattr(veeam_em_mcp, "__version__", None),
    }
    for key, command in (
        ("commit", ["rev-parse", "HEAD"]),
        ("uncommitted_in_server", ["diff", "--shortstat", "HEAD", "--", "."]),
    ):
        done = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(server_dir), *command], capture_output=True, text=True, check=False
        )
        info[key] = done.stdout.strip() if done.returncode == 0 else None
    return info


def median_of(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def summarise_reports(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One line per estate: medians over the rounds (each round is one process and one measured call)."""
    tool = [c["ms"] for run in runs for c in run["calls"]]
    ok_tool = [c["ms"] for run in runs for c in run["calls"] if c["ok"]]
    per = {name: [v for run in runs for v in run["samples_ms"][name]] for name in runs[0]["samples_ms"]}
    floor = statistics.median(per["replay_concurrent"]) + statistics.median(per["noop"])
    parsed_floor = statistics.median(per["replay_parsed"]) + statistics.median(per["noop"])
    calls = [c for run in runs for c in run["calls"]] + [run["cold_call"] for run in runs]
    failures = Counter(error_kind(c["error"]) for c in calls if not c["ok"])
    return {
        "rounds": len(runs),
        "em_requests": sorted({run["em_requests"] for run in runs}),
        "em_bytes_read": median_of([run["em_bytes_read"] for run in runs]),
        "answer_chars": sorted({c.get("chars") for c in calls if c["ok"]}),
        "cold_call_ms": median_of([run["cold_call"]["ms"] for run in runs]),
        "tool_ms": median_of(tool),
        "tool_ms_range": [round(min(tool), 1), round(max(tool), 1)],
        "ok_calls": len([c for c in calls if c["ok"]]),
        "failed_calls": len([c for c in calls if not c["ok"]]),
        "errors": dict(failures),
        "replay_sequential_ms": median_of(per["replay_sequential"]),
        "replay_concurrent_ms": median_of(per["replay_concurrent"]),
        "replay_parsed_ms": median_of(per["replay_parsed"]),
        "noop_ms": median_of(per["noop"]),
        "floor_ms": round(floor, 1),
        "replay_partial": any(run["replay_partial"] for run in runs),
        "ratio_to_floor": round(statistics.median(tool) / floor, 2),
        "ratio_ok_calls_to_floor": round(statistics.median(ok_tool) / floor, 2) if ok_tool else None,
        "ratio_to_parsed_replay": round(statistics.median(tool) / parsed_floor, 2),
        "idle_rss_mib": median_of([run["idle_rss_mib"] for run in runs]),
        "peak_rss_mib": median_of([run["memory"]["peak_rss_mib"] for run in runs]),
        "peak_rss_mib_range": [
            min(run["memory"]["peak_rss_mib"] for run in runs),
            max(run["memory"]["peak_rss_mib"] for run in runs),
        ],
    }


def summarise_concurrent(runs: list[dict[str, Any]]) -> dict[str, Any]:
    errors: Counter[str] = Counter()
    for run in runs:
        errors.update(run["errors"])
    return {
        "rounds": len(runs),
        "calls_per_round": runs[0]["calls_started"],
        "succeeded": [run["succeeded"] for run in runs],
        "failed": [run["failed"] for run in runs],
        "errors": dict(errors),
        "wall_ms": median_of([run["wall_ms"] for run in runs]),
        "wall_ms_each_round": [run["wall_ms"] for run in runs],
        "first_ok_ms": median_of([run["ok_call_ms"][0] for run in runs if run["ok_call_ms"]]),
        "last_ok_ms": median_of([run["ok_call_ms"][-1] for run in runs if run["ok_call_ms"]]),
        "em_requests": [run["em_requests"] for run in runs],
        "idle_rss_mib": median_of([run["idle_rss_mib"] for run in runs]),
        "peak_rss_mib": median_of([run["memory"]["peak_rss_mib"] for run in runs]),
        "peak_rss_mib_each_round": [run["memory"]["peak_rss_mib"] for run in runs],
        "server_cpu_s": median_of([run["memory"]["cpu_s"] for run in runs]),
    }


def short(error: str, width: int = 160) -> str:
    line = " ".join(error.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def print_tables(results: dict[str, Any]) -> None:
    print("\nprotection_report (default arguments and settings), medians over the rounds")
    header = (
        f"{'scenario':<22} {'EM req':>6} {'MB read':>8} {'cold ms':>9} {'tool ms':>9} {'floor ms':>9} "
        f"{'ratio':>6} {'parsed':>7} {'peak RSS':>9} {'ok/failed':>10}"
    )
    print(header)
    print("-" * len(header))
    for key, s in results["summary"].items():
        if not key.startswith("report"):
            continue
        floor = f"{s['floor_ms']:.0f}" + ("*" if s["replay_partial"] else "")
        print(
            f"{key:<22} {','.join(map(str, s['em_requests'])):>6} {s['em_bytes_read'] / 1e6:>8.1f} "
            f"{s['cold_call_ms']:>9.0f} {s['tool_ms']:>9.0f} {floor:>9} {s['ratio_to_floor']:>5.2f}x "
            f"{s['ratio_to_parsed_replay']:>6.2f}x {s['peak_rss_mib']:>6.0f} MiB "
            f"{s['ok_calls']:>4}/{s['failed_calls']:<5}"
        )
    for key, s in results["summary"].items():
        if not key.startswith("concurrent"):
            continue
        print(
            f"\n{key}: {s['calls_per_round']} calls at once, succeeded {s['succeeded']}, failed {s['failed']} "
            f"(per round); wall {s['wall_ms'] / 1000:.1f} s (rounds: "
            f"{', '.join(f'{w / 1000:.1f}' for w in s['wall_ms_each_round'])} s); EM requests {s['em_requests']}; "
            f"server peak RSS {s['peak_rss_mib']:.0f} MiB (rounds: {s['peak_rss_mib_each_round']}), idle "
            f"{s['idle_rss_mib']:.0f} MiB; server CPU {s['server_cpu_s']} s"
        )
    errors = Counter[str]()
    for s in results["summary"].values():
        errors.update(s["errors"])
    if errors:
        print("\nerrors (count: text):")
        for text, count in errors.most_common():
            print(f"  {count}: {text}")
    lifted = ", ".join(f"{k}={v}" for k, v in LIFTED.items())
    print(f"\n* = replay of the GETs a failed call made before it failed (partial); lifted = {lifted}")
    for size, seconds in results["simulators"].items():
        print(f"simulator with {int(size):,} VMs built and serving in {seconds:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report-vms", type=int, nargs="*", default=[5000, 20000])
    parser.add_argument("--concurrent-vms", type=int, nargs="*", default=[5000])
    parser.add_argument("--concurrent-calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large-vms", type=int, default=10000, help="estates this large run --rounds-large")
    parser.add_argument("--rounds-large", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=0, help="untimed rounds after the cold call, per process")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--format", choices=("xml", "json"), default="xml", help="VEEAM_EM_FORMAT (default xml)")
    parser.add_argument(
        "--lifted-limits",
        action="store_true",
        help="when calls of a scenario fail, run it once more with a 240 s deadline and a 1 GiB answer cap "
        "(VEEAM_EM_TIMEOUT=60, VEEAM_EM_MAX_RESPONSE_BYTES=1073741824) to see what it would take",
    )
    parser.add_argument(
        "--simulator-from",
        type=Path,
        help="run the simulator from this source directory (PYTHONPATH for its process, e.g. /tmp/before/server), "
        "to measure two versions of the product against the same simulator; default: the code under test",
    )
    parser.add_argument("--quick", action="store_true", help="200 VMs, one round, 4 concurrent calls (smoke run)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--serve-noop", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_noop:
        return serve_noop(args.serve_noop)
    if args.quick:
        args.report_vms, args.concurrent_vms, args.concurrent_calls, args.rounds = [200], [200], 4, 1

    code = code_under_test()
    print(
        f"veeam_em_mcp from {code['veeam_em_mcp']} (commit {code['commit']}; uncommitted in server/: "
        f"{code['uncommitted_in_server'] or 'none'})",
        flush=True,
    )
    results: dict[str, Any] = {
        "code": code,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "settings": {"format": args.format, "days": args.days, "in_flight_replay": IN_FLIGHT},
        "simulators": {},
        "simulator_from": str(args.simulator_from or Path(veeam_em_mcp.__file__).resolve().parent.parent),
        "runs": [],
        "summary": {},
    }
    print(f"simulator from {results['simulator_from']}", flush=True)
    wall = time.perf_counter()
    for vm_count in sorted(set(args.report_vms) | set(args.concurrent_vms)):
        started = time.perf_counter()
        sim_env = {**os.environ, "PYTHONPATH": str(args.simulator_from.resolve())} if args.simulator_from else None
        sim_args = ("--vm-count", str(vm_count), "--days", str(args.days))
        with SimulatorProcess(*sim_args, startup_timeout=900, env=sim_env) as sim:
            results["simulators"][str(vm_count)] = round(time.perf_counter() - started, 1)
            print(
                f"simulator with {vm_count:,} VMs, {args.days} days: up in "
                f"{results['simulators'][str(vm_count)]:.1f} s",
                flush=True,
            )
            rounds = args.rounds_large if vm_count >= args.large_vms else args.rounds
            reports: list[dict[str, Any]] = []
            concurrents: list[dict[str, Any]] = []
            for round_no in range(rounds):
                if vm_count in args.report_vms:
                    run = anyio.run(report_scenario, sim.base_url, args.format, args.warmup, round_no, {})
                    run["vm_count"] = vm_count
                    reports.append(run)
                    results["runs"].append(run)
                    call = run["calls"][-1]
                    print(
                        f"  report round {round_no + 1}: cold {run['cold_call']['ms']:.0f} ms, call "
                        f"{call['ms']:.0f} ms ({'ok' if call['ok'] else 'FAILED: ' + short(call['error'], 100)}), "
                        f"{run['em_requests']} EM requests, peak RSS {run['memory']['peak_rss_mib']:.0f} MiB",
                        flush=True,
                    )
                if vm_count in args.concurrent_vms:
                    run = anyio.run(concurrent_scenario, sim.base_url, args.format, args.concurrent_calls, round_no, {})
                    run["vm_count"] = vm_count
                    concurrents.append(run)
                    results["runs"].append(run)
                    print(
                        f"  concurrent round {round_no + 1}: {run['succeeded']}/{run['calls_started']} ok in "
                        f"{run['wall_ms'] / 1000:.1f} s, peak RSS {run['memory']['peak_rss_mib']:.0f} MiB",
                        flush=True,
                    )
            if reports:
                results["summary"][f"report {vm_count}"] = summarise_reports(reports)
                failed = results["summary"][f"report {vm_count}"]["failed_calls"]
                if failed and args.lifted_limits:
                    run = anyio.run(report_scenario, sim.base_url, args.format, args.warmup, 0, LIFTED)
                    run["vm_count"] = vm_count
                    results["runs"].append(run)
                    results["summary"][f"report {vm_count} lifted"] = summarise_reports([run])
                    call = run["calls"][-1]
                    print(
                        f"  report, lifted limits: cold {run['cold_call']['ms']:.0f} ms, call {call['ms']:.0f} ms "
                        f"({'ok' if call['ok'] else 'FAILED: ' + short(call['error'], 100)}), "
                        f"peak RSS {run['memory']['peak_rss_mib']:.0f} MiB",
                        flush=True,
                    )
            if concurrents:
                results["summary"][f"concurrent {vm_count}"] = summarise_concurrent(concurrents)
                if sum(run["failed"] for run in concurrents) and args.lifted_limits:
                    run = anyio.run(concurrent_scenario, sim.base_url, args.format, args.concurrent_calls, 0, LIFTED)
                    run["vm_count"] = vm_count
                    results["runs"].append(run)
                    results["summary"][f"concurrent {vm_count} lifted"] = summarise_concurrent([run])
                    print(
                        f"  concurrent, lifted limits: {run['succeeded']}/{run['calls_started']} ok in "
                        f"{run['wall_ms'] / 1000:.1f} s, peak RSS {run['memory']['peak_rss_mib']:.0f} MiB",
                        flush=True,
                    )
    results["wall_s"] = round(time.perf_counter() - wall, 1)
    print_tables(results)
    print(f"whole run: {results['wall_s']:.0f} s")
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
