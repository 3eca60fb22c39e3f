"""What an answer costs a model, and us, on top of Enterprise Manager: the benchmark suite.

Every timing is a ratio to a baseline measured in the same rounds, on the same machine, against the same
simulator on loopback (in its own process, as EM is on its own machine), so the numbers survive a slower
or busier machine. The figures:

1. ``get_vm_restore_point``, in-process and over stdio, against two floors timed interleaved with it: the
   simple floor (a bare httpx GET of the same entity with the same EM session + a no-op tool whose output
   schema is one string) and the same-schema floor (the same GET + a no-op returning the same structured
   result under the same output schema), both tools on a minimal MCP server over the same transport.
2. Concurrency: 1,000 calls with 50 in flight; calls/s and EM logons, then again with a session expiry.
3. Result economy: characters of a restore point's structured result vs EM's XML and JSON of the same
   entity; characters per point of a default ``find_vm_restore_points`` page, and how many of the 20 fit.
4. Cold start: launch to first ``tools/list`` over stdio, vs a minimal MCP server with one tool.
5. Query at scale: a ``find_vm_restore_points`` page over 100,000 points vs the bare GET of that page.
6. Client validation: µs the ``mcp`` client's own validator spends on a typical result of every tool.
7. Tool surface: characters a model reads of every tool (description + compact input schema) and the
   whole ``tools/list``.

Run: ``python bench/run.py`` (``--quick`` for a smoke run, ``--only tool_call,validation`` for some figures).
Prints a table and writes every figure into one JSON file (``bench/results.json``).

To add a figure, write ``async def measure_<name>(run: Run) -> dict`` (what it measured, JSON-ready) and
``def rows_<name>(result: dict) -> list[Row]`` (the lines it prints, each label starting with its number),
and append a ``Figure`` to ``FIGURES``. The shared pieces (the simulator in its own process, the bare GET,
interleaved timing) are in ``bench/harness.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio
from jsonschema import exceptions as jsonschema_exceptions
from mcp import Client, StdioServerParameters
from mcp.types import Tool

from veeam_em_mcp.services.restore_points import build_query
from veeam_em_mcp.simulator.dataset import build_dataset
from veeam_em_mcp.simulator.dataset.scenarios import SQL01_NEWEST_POINT_ID
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.server import build_server

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # harness and minimal_server, also when this file is imported

from harness import (  # noqa: E402
    BareGet,
    SimulatorProcess,
    interleaved,
    median,
    minimal_params,
    server_params,
    settings_for,
    summary,
)
from minimal_server import build_minimal_server  # noqa: E402

Row = tuple[str, str]
POINT_ARGUMENTS = {"restore_point_id": SQL01_NEWEST_POINT_ID}
PAGE_ARGUMENTS = {"vm_name": "sql01"}  # a default page: 20 points, newest first
JSON_ACCEPT = "application/json"
XML_ACCEPT = "application/xml"


@dataclass
class Run:
    """What every figure gets: the options, the simulator with the default estate, a scratch directory."""

    quick: bool
    repeat: int
    em: SimulatorProcess
    scratch: Path


@dataclass(frozen=True)
class Figure:
    key: str  # its entry in the JSON
    measure: Callable[[Run], Awaitable[dict[str, Any]]]
    rows: Callable[[dict[str, Any]], list[Row]]


def point_url(base_url: str) -> str:
    return f"{base_url}/api/vmRestorePoints/{SQL01_NEWEST_POINT_ID}?format=Entity"


def chars(structured: Any) -> int:
    """Characters of a structured result as compact JSON (what the text mirror beside it also holds)."""
    return len(json.dumps(structured, separators=(",", ":"), ensure_ascii=False))


def listed(tools: list[Tool], name: str) -> Tool:
    (tool,) = [tool for tool in tools if tool.name == name]
    return tool


# --- 1. the tool call against both floors --------------------------------------------------------------


def against_floors(samples: dict[str, list[float]]) -> dict[str, Any]:
    tool, bare = median(samples["tool"]), median(samples["bare_get"])
    simple_floor = bare + median(samples["noop_simple"])
    same_floor = bare + median(samples["noop"])
    return {
        "rounds": len(samples["tool"]),
        "tool": summary(samples["tool"]),
        "bare_get": summary(samples["bare_get"]),
        "noop_simple": summary(samples["noop_simple"]),
        "noop_same_schema": summary(samples["noop"]),
        "simple_floor_ms": round(simple_floor, 3),
        "same_schema_floor_ms": round(same_floor, 3),
        "ratio_to_simple_floor": round(tool / simple_floor, 3),
        "ratio_to_same_schema_floor": round(tool / same_floor, 3),
        "over_simple_floor_ms": round(tool - simple_floor, 3),
    }


async def call_vs_floors(repeat: int, client: Client, minimal: Client, bare: BareGet) -> dict[str, Any]:
    return against_floors(
        await interleaved(
            repeat,
            tool=lambda: client.call_tool("get_vm_restore_point", POINT_ARGUMENTS),
            bare_get=bare.get,
            noop_simple=lambda: minimal.call_tool("noop_simple", {}),
            noop=lambda: minimal.call_tool("noop", {}),
        )
    )


async def same_schema(client: Client, minimal: Client, tool: str) -> bool:
    """Whether the floor's no-op publishes exactly the output schema of the tool it stands in for."""
    ours = listed((await client.list_tools()).tools, tool).output_schema
    floor = listed((await minimal.list_tools()).tools, "noop").output_schema
    return ours == floor


async def measure_tool_call(run: Run) -> dict[str, Any]:
    base = run.em.base_url
    out: dict[str, Any] = {}
    async with BareGet(base, point_url(base)) as bare:
        async with Client(build_server(settings_for(base))) as client:
            first = await client.call_tool("get_vm_restore_point", POINT_ARGUMENTS)
            assert not first.is_error, first.content
            sample = dict(first.structured_content or {})
            async with Client(build_minimal_server(sample)) as minimal:
                out["same_schema"] = await same_schema(client, minimal, "get_vm_restore_point")
                out["in_process"] = await call_vs_floors(run.repeat, client, minimal, bare)
        sample_file = run.scratch / "point-sample.json"
        sample_file.write_text(json.dumps(sample), encoding="utf-8")
        async with (
            Client(server_params(base), read_timeout_seconds=60) as client,
            Client(minimal_params(str(sample_file), "VmRestorePoint"), read_timeout_seconds=60) as minimal,
        ):
            out["stdio"] = await call_vs_floors(run.repeat, client, minimal, bare)
    return out


def rows_tool_call(result: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for label, key, how in (("1a", "in_process", "in-process"), ("1b", "stdio", "over stdio")):
        call = result[key]
        rows += [
            (
                f"{label} get_vm_restore_point {how}, median / p95 ms",
                f"{call['tool']['median_ms']} / {call['tool']['p95_ms']} ({call['rounds']} interleaved rounds)",
            ),
            (
                "   simple floor: bare GET + no-op (one-string schema), ms",
                f"{call['bare_get']['median_ms']} + {call['noop_simple']['median_ms']} = {call['simple_floor_ms']}",
            ),
            (
                "   same-schema floor: bare GET + no-op (same result), ms",
                f"{call['bare_get']['median_ms']} + {call['noop_same_schema']['median_ms']}"
                f" = {call['same_schema_floor_ms']}",
            ),
            (
                "   ratio to simple floor / to same-schema floor",
                f"{call['ratio_to_simple_floor']}x / {call['ratio_to_same_schema_floor']}x"
                f" ({call['over_simple_floor_ms']:+} ms over the simple floor)",
            ),
        ]
    rows.append(("   same-schema no-op publishes the tool's output schema", str(result["same_schema"])))
    return rows


# --- 2. concurrency ------------------------------------------------------------------------------------


async def concurrent_calls(
    running: RunningSimulator, calls: int, in_flight: int, expire_midway: bool
) -> dict[str, Any]:
    logons_before = running.state.logons
    peers_before = set(running.state.peers)
    limiter = anyio.Semaphore(in_flight)
    counts = {"done": 0, "errors": 0}
    async with Client(build_server(settings_for(running.base_url))) as client:

        async def one() -> None:
            async with limiter:
                result = await client.call_tool("get_vm_restore_point", POINT_ARGUMENTS)
                counts["errors"] += int(result.is_error)
                counts["done"] += 1
                if expire_midway and counts["done"] == calls // 2:
                    running.state.expire_all_sessions()

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(calls):
                group.start_soon(one)
        elapsed = time.perf_counter() - started
    return {
        "calls_per_s": round(calls / elapsed, 1),
        "errors": counts["errors"],
        "logons": running.state.logons - logons_before,
        "tcp_connections": len(running.state.peers - peers_before),
    }


async def measure_concurrency(run: Run) -> dict[str, Any]:
    calls, in_flight = (200 if run.quick else 1000), 50
    # In-thread, because this figure reads the simulator's counters and expires its sessions.
    with RunningSimulator(dataset=build_dataset()) as running:
        return {
            "calls": calls,
            "in_flight": in_flight,
            "steady": await concurrent_calls(running, calls, in_flight, expire_midway=False),
            "with_expiry": await concurrent_calls(running, calls, in_flight, expire_midway=True),
        }


def rows_concurrency(result: dict[str, Any]) -> list[Row]:
    steady, expiry = result["steady"], result["with_expiry"]
    return [
        (
            f"2  {result['calls']} calls, {result['in_flight']} in flight: calls/s, logons",
            f"{steady['calls_per_s']}/s, {steady['logons']} logon(s), {steady['errors']} errors, "
            f"{steady['tcp_connections']} TCP connections to EM",
        ),
        (
            "   same with a forced expiry midway",
            f"{expiry['calls_per_s']}/s, {expiry['logons']} logon(s), {expiry['errors']} errors",
        ),
    ]


# --- 3. result economy ---------------------------------------------------------------------------------


async def measure_result_economy(run: Run) -> dict[str, Any]:
    base = run.em.base_url
    page_url = build_query(vm_name=PAGE_ARGUMENTS["vm_name"]).url(f"{base}/api", 1)  # the page the tool reads
    async with BareGet(base, point_url(base)) as bare, Client(build_server(settings_for(base))) as client:
        xml, em_json = await bare.fetch(point_url(base), XML_ACCEPT), await bare.fetch(point_url(base), JSON_ACCEPT)
        point = await client.call_tool("get_vm_restore_point", POINT_ARGUMENTS)
        page = await client.call_tool("find_vm_restore_points", PAGE_ARGUMENTS)
        page_xml, page_json = await bare.fetch(page_url, XML_ACCEPT), await bare.fetch(page_url, JSON_ACCEPT)
    assert not point.is_error and not page.is_error, (point.content, page.content)
    result_chars = chars(point.structured_content)
    data = page.structured_content or {}
    returned = len(data.get("restore_points") or [])
    page_chars = chars(data)
    em_points = max(1, page_xml.count("<VmRestorePoint ") + page_xml.count("<VmRestorePoint>"))
    return {
        "point": {
            "result_chars": result_chars,
            "em_xml_chars": len(xml),
            "em_json_chars": len(em_json),
            "vs_em_xml": round(result_chars / len(xml), 3),
            "vs_em_json": round(result_chars / len(em_json), 3),
        },
        "page": {
            "arguments": PAGE_ARGUMENTS,
            "page_size": 20,
            "returned_points": returned,
            "whole": returned == 20 and not data.get("truncated"),
            "result_chars": page_chars,
            "chars_per_point": round(page_chars / max(1, returned), 1),
            "em_xml_chars_per_point": round(len(page_xml) / em_points, 1),
            "em_json_chars_per_point": round(len(page_json) / em_points, 1),
        },
    }


def rows_result_economy(result: dict[str, Any]) -> list[Row]:
    point, page = result["point"], result["page"]
    return [
        (
            "3  restore point result chars vs EM's XML / JSON",
            f"{point['result_chars']} vs {point['em_xml_chars']} / {point['em_json_chars']}"
            f" ({point['vs_em_xml']:.0%} / {point['vs_em_json']:.0%})",
        ),
        (
            "   default find_vm_restore_points page (sql01): chars per point",
            f"{page['chars_per_point']} (EM's XML {page['em_xml_chars_per_point']}, "
            f"JSON {page['em_json_chars_per_point']}); {page['returned_points']} of {page['page_size']} "
            f"points returned{' (whole)' if page['whole'] else ''}, {page['result_chars']} chars",
        ),
    ]


# --- 4. cold start -------------------------------------------------------------------------------------


async def first_tools_list_ms(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params, read_timeout_seconds=60) as client:
        await client.list_tools()
        return (time.perf_counter() - started) * 1000


async def measure_cold_start(run: Run) -> dict[str, Any]:
    ours, minimal = server_params(run.em.base_url), minimal_params()
    ours_ms, minimal_ms = [], []
    for _ in range(1 if run.quick else 7):  # interleaved so both see the same machine state
        ours_ms.append(await first_tools_list_ms(ours))
        minimal_ms.append(await first_tools_list_ms(minimal))
    return {
        "ours": summary(ours_ms),
        "minimal_server": summary(minimal_ms),
        "ratio": round(median(ours_ms) / median(minimal_ms), 3),
    }


def rows_cold_start(result: dict[str, Any]) -> list[Row]:
    return [
        (
            "4  cold start to first tools/list, median ms (ours vs minimal)",
            f"{result['ours']['median_ms']} vs {result['minimal_server']['median_ms']} ({result['ratio']}x)",
        )
    ]


# --- 5. query at scale ---------------------------------------------------------------------------------


async def measure_query_scale(run: Run) -> dict[str, Any]:
    vm_count, repeat = (300, 10) if run.quick else (3400, 50)
    points = len(build_dataset(vm_count=vm_count, days=30).vm_restore_points)  # what the simulator serves
    arguments = {"vm_name": "sql01", "page_size": 20}
    with SimulatorProcess("--vm-count", str(vm_count), "--days", "30") as em:
        base = em.base_url
        # The same page find_vm_restore_points asks EM for, built by the same query builder.
        url = build_query(vm_name="sql01", page_size=20).url(f"{base}/api", 1)
        async with BareGet(base, url) as bare, Client(build_server(settings_for(base))) as client:
            first = await client.call_tool("find_vm_restore_points", arguments)
            data = dict(first.structured_content or {})
            async with Client(build_minimal_server(data, "FindVmRestorePointsResult")) as minimal:
                samples = await interleaved(
                    repeat,
                    tool=lambda: client.call_tool("find_vm_restore_points", arguments),
                    bare_get=bare.get,
                    noop=lambda: minimal.call_tool("noop", {}),
                )
    floor = median(samples["bare_get"]) + median(samples["noop"])
    returned = len(data.get("restore_points") or [])
    return {
        "points": points,
        "bare_get": summary(samples["bare_get"]),
        "tool": summary(samples["tool"]),
        "ratio_to_bare_get": round(median(samples["tool"]) / median(samples["bare_get"]), 3),
        "noop_tool": summary(samples["noop"]),
        "ratio_to_floor": round(median(samples["tool"]) / floor, 3),
        "returned_points": returned,
        "result_chars_per_point": round(chars(data) / max(1, returned), 1),
    }


def rows_query_scale(result: dict[str, Any]) -> list[Row]:
    return [
        (
            f"5  find_vm_restore_points page over {result['points']} points, median ms",
            f"{result['tool']['median_ms']} vs bare GET {result['bare_get']['median_ms']} "
            f"({result['ratio_to_bare_get']}x)",
        ),
        (
            "   vs floor (bare GET + no-op tool returning the same page)",
            f"{result['bare_get']['median_ms']} + {result['noop_tool']['median_ms']} ({result['ratio_to_floor']}x)",
        ),
        (
            "   result chars per restore point (query page)",
            f"{result['result_chars_per_point']} ({result['returned_points']} points returned)",
        ),
    ]


# --- 6. client validation ------------------------------------------------------------------------------


def first_href(value: Any, part: str) -> str | None:
    """The first string in a result that is an href containing ``part`` (wherever the result keeps links)."""
    if isinstance(value, str):
        return value if part in value else None
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        if (found := first_href(child, part)) is not None:
            return found
    return None


# A typical call of each tool; a tool without an entry is called without arguments when it needs none.
# Each entry gets the structured results of the calls before it (in this order), to follow their links.
TYPICAL_CALLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "get_vm_restore_point": lambda earlier: POINT_ARGUMENTS,
    "find_vm_restore_points": lambda earlier: PAGE_ARGUMENTS,
    "vm_recovery_summary": lambda earlier: {"vm_name": "sql01"},
    "follow_link": lambda earlier: {"href": first_href(earlier["get_vm_restore_point"], "/backupFiles/")},
    "check_connection": lambda earlier: {},
}


def typical_arguments(tool: Tool, earlier: dict[str, Any]) -> dict[str, Any] | None:
    if tool.name in TYPICAL_CALLS:
        return TYPICAL_CALLS[tool.name](earlier)
    return None if tool.input_schema.get("required") else {}


def validation_us(client: Client, tool: Tool, structured: Any, repeat: int) -> float:
    """µs per result the mcp client's own validation takes (``ClientSession.validate_tool_result``'s work).

    The validator is the client's own (``_output_schema_validator``: compiled once per schema, cached);
    per result it runs ``iter_errors`` and ``best_match``, as ``validate_tool_result`` does.
    """
    assert tool.output_schema is not None
    validator = client.session._output_schema_validator(tool.name, tool.output_schema)
    batches: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            error = jsonschema_exceptions.best_match(validator.iter_errors(structured))
        batches.append((time.perf_counter() - started) / repeat * 1e6)
        assert error is None, error
    return round(statistics.median(batches), 1)


async def measure_validation(run: Run) -> dict[str, Any]:
    repeat = 100 if run.quick else 1000
    tools: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    earlier: dict[str, Any] = {}
    async with Client(build_server(settings_for(run.em.base_url))) as client:
        listing = (await client.list_tools()).tools
        ordered = sorted(listing, key=lambda t: list(TYPICAL_CALLS).index(t.name) if t.name in TYPICAL_CALLS else 99)
        for tool in ordered:
            arguments = typical_arguments(tool, earlier)
            if arguments is None:
                skipped[tool.name] = "needs arguments: add a typical call to TYPICAL_CALLS in bench/run.py"
                continue
            result = await client.call_tool(tool.name, arguments)
            if result.is_error or tool.output_schema is None:
                skipped[tool.name] = "an error result" if result.is_error else "no output schema"
                continue
            earlier[tool.name] = result.structured_content
            tools[tool.name] = {
                "arguments": arguments,
                "result_chars": chars(result.structured_content),
                "us_per_result": validation_us(client, tool, result.structured_content, repeat),
            }
    return {"tools": tools, "skipped": skipped}


def rows_validation(result: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [("6  client validation per result (mcp's own validator), µs", "")]
    for name, figures in result["tools"].items():
        rows.append((f"   {name}", f"{figures['us_per_result']} µs ({figures['result_chars']} chars)"))
    for name, why in result["skipped"].items():
        rows.append((f"   {name}", f"not measured: {why}"))
    return rows


# --- 7. tool surface -----------------------------------------------------------------------------------


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def measure_tool_surface(run: Run) -> dict[str, Any]:
    async with Client(build_server(settings_for(run.em.base_url))) as client:
        listing = await client.list_tools()
    tools: dict[str, Any] = {}
    for tool in listing.tools:
        wire = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        description, input_schema = len(wire.get("description", "")), len(compact_json(wire["inputSchema"]))
        tools[tool.name] = {
            "description_chars": description,
            "input_schema_chars": input_schema,
            "model_visible_chars": description + input_schema,
            "output_schema_chars": len(compact_json(wire.get("outputSchema", {}))),
            "tool_chars": len(compact_json(wire)),
        }
    return {
        "tools": tools,
        "model_visible_total": sum(t["model_visible_chars"] for t in tools.values()),
        "tools_list_chars": len(listing.model_dump_json(by_alias=True, exclude_none=True)),
    }


def rows_tool_surface(result: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [("7  tool surface: description + input schema chars (output schema)", "")]
    for name, figures in result["tools"].items():
        rows.append(
            (
                f"   {name}",
                f"{figures['model_visible_chars']} = {figures['description_chars']} + "
                f"{figures['input_schema_chars']} ({figures['output_schema_chars']})",
            )
        )
    rows.append(
        (
            "   total model-visible / whole tools/list",
            f"{result['model_visible_total']} / {result['tools_list_chars']} chars",
        )
    )
    return rows


FIGURES: tuple[Figure, ...] = (
    Figure("tool_call", measure_tool_call, rows_tool_call),
    Figure("concurrency", measure_concurrency, rows_concurrency),
    Figure("result_economy", measure_result_economy, rows_result_economy),
    Figure("cold_start", measure_cold_start, rows_cold_start),
    Figure("query_scale", measure_query_scale, rows_query_scale),
    Figure("validation", measure_validation, rows_validation),
    Figure("tool_surface", measure_tool_surface, rows_tool_surface),
)


def machine() -> dict[str, Any]:
    versions = {name: metadata.version(name) for name in ("mcp", "httpx", "pydantic", "jsonschema")}
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(), **versions}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    wanted = [figure for figure in FIGURES if not args.only or figure.key in args.only]
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    with SimulatorProcess() as em, tempfile.TemporaryDirectory() as scratch:
        run = Run(quick=args.quick, repeat=args.repeat or (30 if args.quick else 300), em=em, scratch=Path(scratch))
        for figure in wanted:
            started = time.perf_counter()
            results[figure.key] = await figure.measure(run)
            results[figure.key]["wall_s"] = round(time.perf_counter() - started, 1)
    return results


def print_table(results: dict[str, Any]) -> None:
    rows = [row for figure in FIGURES if figure.key in results for row in figure.rows(results[figure.key])]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}".rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--repeat", type=int, default=0, help="interleaved rounds per tool-call figure")
    parser.add_argument("--only", type=lambda text: set(text.split(",")), default=None, help="figure keys")
    parser.add_argument("--output", default=str(HERE / "results.json"))
    args = parser.parse_args()
    unknown = (args.only or set()) - {figure.key for figure in FIGURES}
    if unknown:
        parser.error(f"unknown figures {sorted(unknown)}; known: {', '.join(f.key for f in FIGURES)}")
    # MCPServer configures INFO logging on the root logger; the bench's own output is the table.
    logging.disable(logging.INFO)
    started = time.perf_counter()
    results = anyio.run(main_async, args)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    print_table(results)
    print(f"(whole run: {results['wall_s']} s; JSON written to {args.output})")
    Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
