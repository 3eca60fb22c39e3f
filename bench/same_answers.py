"""Whole answers of the estate window tools at a fixed anchor, hashed: run under two versions, compare the lines.

In-process, the simulator over ASGI (no clock in the data: the estate is anchored, ``now`` is the anchor). Every
row of every cursor page is hashed with the first page's envelope (minus EM's freshness note, which reads the
clock) and of what reading EM cost (``em_requests``, printed apart: fewer requests for the same answer is a
change on purpose). ``PYTHONPATH=/tmp/before/server python bench/same_answers.py 3000 xml`` and the same
without ``PYTHONPATH`` must print the same hashes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import veeam_em_mcp
from harness import settings_for
from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.models.arguments import (
    FindJobSessionsArgs,
    FindTaskSessionsArgs,
    ListJobsArgs,
    ProtectionReportArgs,
)
from veeam_em_mcp.models.estate import ProtectionRow
from veeam_em_mcp.services import freshness, protection
from veeam_em_mcp.services.context import EmContext
from veeam_em_mcp.services.jobs import list_jobs
from veeam_em_mcp.services.sessions import find_job_sessions
from veeam_em_mcp.services.task_sessions import find_task_sessions
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import build_dataset

ANCHOR = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def every_row(em: EmContext, call: Any, args: Any, listed: str) -> dict[str, Any]:
    """Every row, each page's shared fields folded back in, and the envelope without what depends on where the
    first page was cut (its note reads the clock, so its width, and the cut with it, moves from run to run)."""
    page = await call(em, ANCHOR, args)
    rest = page.model_dump(exclude={listed, "next_cursor", "note", "collected", "returned", "truncated", "shared"})
    rows: list[dict[str, Any]] = []
    while True:
        rows += [{**(page.shared or {}), **row.model_dump(exclude_none=True)} for row in getattr(page, listed)]
        if not page.next_cursor:
            return {"rows": rows, "rest": rest}
        page = await call(em, ANCHOR, args, page.next_cursor)


async def main(vms: int, em_format: str) -> None:
    # EM's freshness is read once for the whole run: read again after its cache's 2 minutes, its note (minutes
    # ago, by the clock) changes width and moves the first page's cut, and the hashes with it.
    freshness.CACHE_SECONDS = float("inf")
    estate = build_dataset(anchor=ANCHOR, vm_count=vms, days=7)
    settings = settings_for("http://em.test:9398", VEEAM_EM_FORMAT=em_format)
    since = (ANCHOR - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    transport = httpx.ASGITransport(app=create_app(SimulatorConfig(), estate))
    async with EnterpriseManagerClient(settings, transport=transport) as client:
        em = EmContext(settings, client)
        made = await protection._compute(em, ANCHOR, ProtectionReportArgs())
        if hasattr(made, "answer"):  # an answers.Whole: the rows are plain data until a page validates them
            rows = [ProtectionRow.model_validate(row).model_dump() for row in made.rows]
            report = {**made.answer.model_dump(), "rows": rows}
        else:
            report = made.model_dump()
        answers: dict[str, Any] = {"protection_report": {"rows": report.pop("rows"), "rest": report}}
        costs = {"protection_report": report.pop("em_requests")}
        for name, call, args, listed in (
            ("find_job_sessions runs", find_job_sessions,
             FindJobSessionsArgs(created_after=since, newest_per_job=False, page_size=200), "sessions"),
            ("find_job_sessions per job", find_job_sessions, FindJobSessionsArgs(created_after=since), "sessions"),
            ("find_task_sessions", find_task_sessions,
             FindTaskSessionsArgs(created_after=since, newest_per_vm=False, page_size=200), "tasks"),
            ("list_jobs", list_jobs, ListJobsArgs(page_size=200), "jobs"),
        ):
            answers[name] = await every_row(em, call, args, listed)
            costs[name] = answers[name]["rest"].pop("em_requests")  # what reading EM cost: printed apart
    print(f"# {veeam_em_mcp.__file__}, {vms} VMs, VEEAM_EM_FORMAT={em_format}", file=sys.stderr)
    for name, answer in answers.items():
        digest = hashlib.sha256(json.dumps(answer, sort_keys=True, default=str).encode()).hexdigest()[:16]
        print(f"{name}: {len(answer['rows'])} rows, {digest} (EM requests: {costs[name]})")


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 3000, sys.argv[2] if len(sys.argv) > 2 else "xml")
