"""Where the time of one tool call goes: ``get_vm_restore_point`` taken apart, in-process and over stdio.

bench/run.py says how far a call is above its floors; this says why, two ways:

1. Layers (in-process, timed interleaved round after round like every figure): the bare GET; the product's
   EM client sending the same GET (``get_raw``); + parsing the XML (``get``); + building the model
   (``read_vm_restore_point``); + rendering the result (``bounded_result``); the whole MCP tool call; and
   the two no-op floors. Each layer's cost is the difference to the one before.
2. ``--py-spy``: the stdio server (``python -m veeam_em_mcp``, a real subprocess) sampled by py-spy while
   the client calls it; CPU samples are attributed to the innermost known component on their stack (EM HTTP,
   XML parsing, model building, result rendering, the tool's own guard, MCP SDK, event loop) and reported as
   shares and CPU ms per call. py-spy is a bench-only tool: ``pip install py-spy``.

Samples of threads that only wait (the event loop in epoll, anyio's stdin worker on its queue) are left out.

Run: ``python bench/profile_call.py [--rounds 1000] [--py-spy] [--output profile.json]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.services.context import EmContext
from veeam_em_mcp.services.restore_points import read_vm_restore_point
from veeam_em_mcp.simulator.dataset.scenarios import SQL01_NEWEST_POINT_ID
from veeam_em_mcp.surface.server import build_server
from veeam_em_mcp.surface.tools.common import bounded_result

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import BareGet, SimulatorProcess, interleaved, median, server_params, settings_for
from minimal_server import build_minimal_server

ARGUMENTS = {"restore_point_id": SQL01_NEWEST_POINT_ID}

# Where a CPU sample goes: to the innermost of these product frames on its stack (they nest: the tool's guard
# calls the tool, which reads the point, whose GET is sent and then parsed) ...
LAYER_FRAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("EM HTTP (product client + httpx)", ("EnterpriseManagerClient.get_raw (", "EnterpriseManagerClient._send")),
    ("XML parsing", ("EnterpriseManagerClient._parse (",)),
    ("model building", ("to_resource (veeam_em_mcp",)),
    ("result rendering", ("bounded_result (veeam_em_mcp", "structured_result (veeam_em_mcp")),
    (
        "the tool and its guard (deadline, errors)",
        ("(veeam_em_mcp/surface/tools/common.py", "(veeam_em_mcp/surface/tools/restore"),
    ),
)
# ... or, outside the tool, to what its innermost frame is part of.
LEAF_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("EM HTTP (product client + httpx)", ("httpx/", "httpcore/", "h11/")),
    ("OpenTelemetry (the SDK's middleware)", ("trace/", "propagate/", "opentelemetry", "context/__init__")),
    ("MCP SDK + pydantic + json (JSON-RPC, validation, stdio)", ("mcp/", "mcp_types/", "pydantic", "json", "referenc")),
    ("event loop and I/O", ("asyncio/", "anyio/", "selectors", "threading", "sniffio")),
    ("product middleware", ("veeam_em_mcp/",)),
)
# Innermost frames of a thread that waits: py-spy (--nonblocking) does not always see that such a thread is idle.
WAITING = ("EpollSelector.select (", "Condition.wait (", "Queue.get (queue.py", "WorkerThread.run (anyio")


async def layers(rounds: int) -> dict[str, Any]:
    with SimulatorProcess() as em:
        url = f"{em.base_url}/api/vmRestorePoints/{SQL01_NEWEST_POINT_ID}?format=Entity"
        settings = settings_for(em.base_url)
        async with (
            BareGet(em.base_url, url) as bare,
            EnterpriseManagerClient(settings) as client,
            Client(build_server(settings)) as mcp,
        ):
            em_context = EmContext(settings, client)
            sample = dict((await mcp.call_tool("get_vm_restore_point", ARGUMENTS)).structured_content or {})

            async def get_raw() -> Any:
                with client.deadline(None):  # as every tool call runs
                    return await client.get_raw(url)

            async def get_parsed() -> Any:
                with client.deadline(None):
                    return await client.get(url)

            async def model() -> Any:
                with client.deadline(None):
                    return await read_vm_restore_point(em_context, SQL01_NEWEST_POINT_ID)

            async def result() -> Any:
                with client.deadline(None):
                    point = await read_vm_restore_point(em_context, SQL01_NEWEST_POINT_ID)
                    return bounded_result(em_context, point, "")

            async with Client(build_minimal_server(sample)) as minimal:
                samples = await interleaved(
                    rounds,
                    bare_get=bare.get,
                    client_get_raw=get_raw,
                    client_get_parsed=get_parsed,
                    read_vm_restore_point=model,
                    bounded_result=result,
                    tool=lambda: mcp.call_tool("get_vm_restore_point", ARGUMENTS),
                    noop_simple=lambda: minimal.call_tool("noop_simple", {}),
                    noop_same_schema=lambda: minimal.call_tool("noop", {}),
                )
    medians = {name: round(median(values), 3) for name, values in samples.items()}
    steps = {
        "EM GET through the product's client (vs bare GET)": medians["client_get_raw"] - medians["bare_get"],
        "XML parsing": medians["client_get_parsed"] - medians["client_get_raw"],
        "model building": medians["read_vm_restore_point"] - medians["client_get_parsed"],
        "result rendering": medians["bounded_result"] - medians["read_vm_restore_point"],
        "MCP call around it (vs the same-schema no-op)": medians["tool"]
        - medians["bounded_result"]
        - medians["noop_same_schema"],
    }
    return {
        "rounds": rounds,
        "medians_ms": medians,
        "steps_ms": {name: round(value, 3) for name, value in steps.items()},
        "over_simple_floor_ms": round(medians["tool"] - medians["bare_get"] - medians["noop_simple"], 3),
    }


def server_pids() -> list[int]:
    """This process's children that run the MCP server (not the simulator)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and "veeam_em_mcp" in command and "simulator" not in command:
            found.append(int(entry.name))
    return found


def component_of(stack: list[str]) -> str:
    for frame in reversed(stack):
        for name, markers in LAYER_FRAMES:
            if any(marker in frame for marker in markers):
                return name
    for name, markers in LEAF_KINDS:
        if stack and any(marker in stack[-1] for marker in markers):
            return name
    return "other"


async def sampled(calls: int, rate: int) -> dict[str, Any]:
    if shutil.which("py-spy") is None:
        raise SystemExit("--py-spy needs py-spy (a bench-only tool): pip install py-spy")
    with SimulatorProcess() as em, tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "samples.txt"
        async with Client(server_params(em.base_url), read_timeout_seconds=60) as client:
            for _ in range(50):
                await client.call_tool("get_vm_restore_point", ARGUMENTS)
            (pid,) = server_pids()
            command = ["py-spy", "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw"]
            spy = await anyio.open_process(
                [*command, "-o", str(raw), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            await anyio.sleep(1.0)  # py-spy attaches
            started = time.perf_counter()
            for _ in range(calls):
                await client.call_tool("get_vm_restore_point", ARGUMENTS)
            elapsed = time.perf_counter() - started
            spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
            with anyio.fail_after(60):
                await spy.wait()
                errors = b"".join([chunk async for chunk in spy.stderr]) if spy.stderr else b""
        if not raw.exists():
            raise SystemExit(f"py-spy recorded nothing: {errors.decode(errors='replace')[-500:]}")
        shares: Counter[str] = Counter()
        idle = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")
            if any(marker in frames[-1] for marker in WAITING):
                idle += int(count)  # a thread waiting (epoll, a worker's queue): not CPU, whatever py-spy says
            else:
                shares[component_of(frames)] += int(count)
    total = sum(shares.values())
    return {
        "calls": calls,
        "ms_per_call_while_sampled": round(elapsed / calls * 1000, 3),
        "samples": total,
        "waiting_samples_left_out": idle,
        "rate_hz": rate,
        "components": {
            name: {"share": round(count / total, 3), "cpu_ms_per_call": round(count / rate / calls * 1000, 3)}
            for name, count in shares.most_common()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000, help="interleaved rounds of the layer timings")
    parser.add_argument("--py-spy", action="store_true", help="also sample the stdio server with py-spy")
    parser.add_argument("--calls", type=int, default=3000, help="tool calls while py-spy samples")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    out: dict[str, Any] = {"layers": anyio.run(layers, args.rounds)}
    print(f"in-process layers, median ms over {args.rounds} interleaved rounds:")
    for name, value in out["layers"]["medians_ms"].items():
        print(f"  {name:34} {value:8.3f}")
    print("what each layer adds, ms:")
    for name, value in out["layers"]["steps_ms"].items():
        print(f"  {name:50} {value:+.3f}")
    print(f"  {'tool call over the simple floor':50} {out['layers']['over_simple_floor_ms']:+.3f}")
    if args.py_spy:
        out["stdio_samples"] = anyio.run(sampled, args.calls, 1000)
        spied = out["stdio_samples"]
        print(f"stdio server CPU by component (py-spy, {spied['samples']} samples over {spied['calls']} calls):")
        for name, figures in spied["components"].items():
            print(f"  {name:40} {figures['share']:6.1%}  {figures['cpu_ms_per_call']:.3f} ms/call")
    if args.output:
        args.output.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
