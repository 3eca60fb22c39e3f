"""The run/statistics window reads (find_job_sessions, find_task_sessions, list_jobs) against their floors.

The same measurement as ``bench/protection_scale.py`` makes for the report (its ``report_scenario``): a fresh
server process over stdio per tool and round, a cold call recording the tool's EM GETs, then interleaved: the
call again, those GETs replayed 8 in flight by a bare httpx client with every body parsed by ``json.loads`` /
``ElementTree`` (garbage collector off), and an MCP no-op returning a text as large as the answer. Floor = the
parsed replay + the no-op; each round's ratio is its call over its own floor. With ``--before DIR`` every round
also runs each tool on the code in DIR (``PYTHONPATH`` of the server process), before and after alternating
first, against the same simulator: before/after measured side by side.

Run: ``python bench/window_reads.py [--vms 5000] [--rounds 3] [--format xml|json] [--before /tmp/before/server]
[--output bench/results-window-reads.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio

os.environ.setdefault("VEEAM_MCP_LOG_LEVEL", "ERROR")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import SimulatorProcess, spread
from protection_scale import code_under_test, report_scenario

# Each tool with its default arguments: the question as a model asks it first.
TOOLS: dict[str, dict[str, Any]] = {
    "find_job_sessions": {},
    "find_task_sessions": {"newest_per_vm": False},
    "list_jobs": {},
    "protection_report": {},  # not by default (--tools): the report has bench/protection_scale.py
    # The breadth issue's window reads (not by default, --tools): small windows at any estate size.
    "list_repositories": {},
    "find_restore_sessions": {},
    "list_backup_servers": {},
    "list_tenants": {},
}



def figures(run: dict[str, Any]) -> dict[str, Any]:
    """One round's figures: the call, its floor (parsed replay + no-op) and the ratio, measured interleaved."""
    samples = run["samples_ms"]
    tool = run["calls"][-1]["ms"]
    floor = samples["replay_parsed"][-1] + samples["noop"][-1]
    return {
        "ok": run["calls"][-1]["ok"],
        "tool_ms": tool,
        "floor_ms": floor,
        "ratio": tool / floor,
        "ratio_unparsed": tool / (samples["replay_concurrent"][-1] + samples["noop"][-1]),
        "gets": run["em_gets"],
        "bytes": run["em_bytes_read"],
        "peak_rss_mib": run["memory"]["peak_rss_mib"],
        "cpu_s": run["memory"]["cpu_s"],
        "chars": run["calls"][-1].get("chars"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--format", choices=("xml", "json"), default="xml", help="VEEAM_EM_FORMAT (default xml)")
    parser.add_argument("--before", type=Path, help="the other version's source directory (its server/)")
    parser.add_argument("--tools", nargs="*", default=list(TOOLS)[:3], choices=list(TOOLS))
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    code = code_under_test()
    print(f"after: veeam_em_mcp from {code['veeam_em_mcp']} (commit {code['commit']})", flush=True)
    versions: dict[str, dict[str, str]] = {"after": {}}
    if args.before:
        versions = {"before": {"PYTHONPATH": str(args.before.resolve())}, "after": {}}
        print(f"before: PYTHONPATH={args.before.resolve()}", flush=True)
    runs: list[dict[str, Any]] = []
    with SimulatorProcess("--vm-count", str(args.vms), "--days", str(args.days), startup_timeout=900) as sim:
        for round_no in range(args.rounds):
            order = list(versions) if round_no % 2 == 0 else list(reversed(versions))
            for tool in args.tools:
                for version in order:
                    run = anyio.run(report_scenario, sim.base_url, args.format, 0, round_no, versions[version], tool,
                                    TOOLS[tool])
                    run.update(version=version, vm_count=args.vms, figures=figures(run))
                    runs.append(run)
                    f = run["figures"]
                    print(
                        f"  round {round_no + 1} {tool:<19} {version:<6} {f['tool_ms']:8.0f} ms, floor "
                        f"{f['floor_ms']:7.0f} ms, {f['ratio']:.2f}x, {f['gets']} GETs / {f['bytes'] / 1e6:.1f} MB, "
                        f"peak {f['peak_rss_mib']:.0f} MiB{'' if f['ok'] else ' FAILED'}",
                        flush=True,
                    )
    print(f"\n{args.vms:,} VMs, VEEAM_EM_FORMAT={args.format}, {args.rounds} rounds: min / median / max")
    for tool in args.tools:
        for version in versions:
            mine = [run["figures"] for run in runs if run["tool"] == tool and run["version"] == version]
            print(
                f"{tool:<19} {version:<6} GETs {sorted({f['gets'] for f in mine})}, "
                f"{statistics.median(f['bytes'] for f in mine) / 1e6:.1f} MB; "
                f"call {spread([f['tool_ms'] for f in mine])} ms; floor {spread([f['floor_ms'] for f in mine])} ms; "
                f"ratio {spread([f['ratio'] for f in mine], 2)}x "
                f"(unparsed floor {spread([f['ratio_unparsed'] for f in mine], 2)}x); "
                f"peak RSS {spread([f['peak_rss_mib'] for f in mine])} MiB; "
                f"answer {sorted({f['chars'] for f in mine})} chars"
            )
    if args.output:
        args.output.write_text(json.dumps({"code": code, "runs": runs, "at": time.time()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
