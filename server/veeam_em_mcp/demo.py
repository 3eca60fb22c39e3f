"""``veeam-em-mcp demo``: a newcomer's first run, as a readable transcript.

It starts ``veeam-em-mcp serve --demo`` as a subprocess (which embeds the EM simulator) and talks
to it over stdio with the official MCP client, exactly as Claude Desktop would: list the tools,
read one restore point, follow its links to the backup file and the backup server, then ask about the
whole estate: did last night's jobs succeed, which VMs miss their RPO.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

DEMO_RESTORE_POINT = "6c958531-3177-4055-b0ce-dc4ef1ce6433"


def _say(text: str = "") -> None:
    print(text, flush=True)


def _wrap(text: str, indent: str = "    ") -> str:
    return textwrap.fill(" ".join(text.split()), width=96, initial_indent=indent, subsequent_indent=indent)


async def _investigate() -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "veeam_em_mcp", "serve", "--demo"],
        env={**os.environ, "VEEAM_MCP_LOG_LEVEL": os.environ.get("VEEAM_MCP_LOG_LEVEL", "ERROR")},
    )
    async with Client(params, read_timeout_seconds=60) as client:
        _say("== veeam-em-mcp demo: an assistant checks last night's backups ==")
        _say("(server: `veeam-em-mcp serve --demo` over stdio; data: the embedded Enterprise Manager simulator)")
        _say()
        tools = await client.list_tools()
        _say(f"> tools/list  ->  {len(tools.tools)} tools")
        for tool in tools.tools:
            first_sentence = " ".join((tool.description or "").split()).split(". ")[0].rstrip(".")
            _say(f"  * {tool.name}: {first_sentence}.")
        _say()

        _say(f"> get_vm_restore_point(restore_point_id={DEMO_RESTORE_POINT!r})")
        point = await _call(client, "get_vm_restore_point", {"restore_point_id": DEMO_RESTORE_POINT})
        _say(f"  VM:            {point.get('vm_name')} ({point.get('platform')})")
        _say(f"  created (UTC): {point.get('creation_time')}")
        _say(f"  algorithm:     {point.get('algorithm')}  point type: {point.get('point_type')}")
        _say(f"  EM offers:     {', '.join(point.get('actions', []))} (this server performs none of them)")
        _say()

        file_href = point.get("backup_file", {}).get("href")
        if file_href:
            _say(f"> follow_link(href={file_href!r})")
            result = await _call(client, "follow_link", {"href": file_href})
            backup_file = result["resource"]
            _say(f"  backup file:   {backup_file.get('name')} [{backup_file.get('file_type')}]")
            _say(f"  path:          {backup_file.get('file_path')}")
            _say(f"  size:          {backup_file.get('backup_size')} bytes on disk")
            _say()

        server_href = point.get("backup_server", {}).get("href")
        if server_href:
            _say(f"> follow_link(href={server_href!r})")
            result = await _call(client, "follow_link", {"href": server_href})
            backup_server = result["resource"]
            _say(
                f"  backup server: {backup_server.get('name')} (version {backup_server.get('version')}, "
                f"port {backup_server.get('port')})"
            )
            _say()

        if "Restore" in point.get("actions", []):
            action = f"/api/vmRestorePoints/{point['id']}?action=restore"
            _say(f"> follow_link(href={action!r})   # an action link: refused, nothing is sent")
            refused = await client.call_tool("follow_link", {"href": action})
            text = refused.content[0].text if refused.content and refused.content[0].type == "text" else ""
            _say(_wrap(f"refused: {text}"))
            _say()

        _say("> find_job_sessions()   # did last night's backups succeed? (the newest run of each job, 24 h)")
        runs = await _call(client, "find_job_sessions", {})
        _say(_wrap(runs["summary"], "  "))
        for run in runs.get("sessions", []):
            retries = (run.get("attempts") or 1) - 1
            retried = f" (after {retries} automatic retr{'ies' if retries > 1 else 'y'})" if retries else ""
            took = f", {run['duration_seconds']} s" if run.get("duration_seconds") is not None else ""
            _say(f"    {run.get('job_name')} on {run.get('backup_server')}: {run.get('outcome')}{retried}{took}")
        _say()
        _say("> protection_report(only_problems=True)   # who misses the 24-hour RPO, and why?")
        report = await _call(client, "protection_report", {"only_problems": True})
        _say(_wrap(report["summary_line"], "  "))
        for row in report.get("rows", [])[:6]:
            why = f" (last run {row['last_outcome']})" if row.get("last_outcome") not in (None, "succeeded") else ""
            age = f", newest point {row['age_hours']:g} h old" if row.get("age_hours") is not None else ""
            _say(f"    {row['vm_name']}: {row['status']}{age}{why}")
        _say()
        _say("All of the above is DEMO DATA from the simulator. Point VEEAM_EM_URL at your Enterprise")
        _say("Manager (see README) and run `veeam-em-mcp` from Claude Desktop for real answers.")


async def _call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    if result.is_error or result.structured_content is None:
        text = result.content[0].text if result.content and result.content[0].type == "text" else "?"
        raise RuntimeError(f"{name} failed: {text}")
    data: dict[str, Any] = json.loads(json.dumps(result.structured_content))
    return data


def run_demo() -> int:
    try:
        anyio.run(_investigate)
    except Exception as exc:
        print(f"veeam-em-mcp demo failed: {exc}", file=sys.stderr)
        return 1
    return 0
