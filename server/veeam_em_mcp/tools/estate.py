"""Estate tools: job runs, VM outcomes, jobs, repositories and the protection report.

Thin adapters over ``services.sessions``, ``services.jobs``, ``services.repositories`` and
``services.protection``: each reads the whole window it needs through EM's query service in a few
large pages, so a question about the whole estate costs one or two calls.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from ..client import EnterpriseManagerClient
from ..models.base import Platform
from ..models.estate import (
    FindJobSessionsResult,
    FindTaskSessionsResult,
    JobSessionDetail,
    ListJobsResult,
    ListRepositoriesResult,
    ProtectionReport,
)
from ..services import jobs, protection, repositories, sessions
from ..services.sessions import ResultFilter
from ._registration import ToolSpec
from .common import bounded_result, state_of

TOO_LARGE = "Ask for fewer rows (page_size) or a narrower filter, or raise VEEAM_MCP_MAX_RESULT_CHARS."

Text = Annotated[str | None, Field(min_length=1, max_length=512)]
When = Annotated[str | None, Field(max_length=64)]
PageSize = Annotated[int, Field(ge=1, le=200, description="Rows per result, 1-200 (default 50)")]
Cursor = Annotated[str | None, Field(max_length=4096, description="next_cursor of the previous result")]

FIND_JOB_SESSIONS = """\
Job runs (job sessions), newest first: "did last night's backups succeed?". With newest_per_job (default) one \
row per job, its newest run in the window: an automatic retry is a run of its own, so a failed run followed \
by a successful retry counts as succeeded (failed_runs_before says so). A run still going on is "running", \
never failed or succeeded. The window defaults to the last 24 hours; times are ISO 8601, UTC without an \
offset. result filters the rows' outcome. Pass a row's id to get_job_session for its VMs and the reasons."""

GET_JOB_SESSION = """\
One job run and every VM in it (failures first): each VM's outcome, EM's whole reason text for failures and \
warnings, times, size, and the restore point it made. session_id: a job session GUID or UID from \
find_job_sessions, or its href."""

FIND_TASK_SESSIONS = """\
What happened to VMs in job runs: "which VMs failed last night and why?". With newest_per_vm (default) one \
row per VM, its newest task in the window, with its attempts, failed attempts and the reason of an earlier \
failure when a retry fixed it; result filters the newest outcome. Without it, every task. Window, times and \
running as in find_job_sessions. Names are compared whole, ignoring case."""

LIST_JOBS = """\
Every job: type, platform, backup server, whether its schedule is enabled, the schedule in words, next run \
(UTC), how its newest run of the last 7 days ended, and its members (VMs, or containers such as folders and \
tags). With vm_name, only the jobs that protect that VM, by name or through a container (seen in its runs): \
"which job protects print01 and when does it run next?"."""

LIST_REPOSITORIES = """\
Every backup repository: kind, capacity, free space, used bytes and percent, backup size (EM's report), and \
totals. EM reports -1 for what it does not know (object storage): such sizes are said as unknown and left \
out of the totals, like scale-out repositories, whose extents are counted."""

PROTECTION_REPORT = """\
One compact row per VM EM knows to be protected (job members, task sessions, restore points): its jobs, \
whether they are enabled, its newest restore point and age, RPO met or missed or never backed up, its newest \
task's outcome and reason; and a summary. Answers "which VMs miss their 24 h RPO?" (only_problems=true \
lists just the VMs that miss it, failed or are in disabled jobs). Reads the window in a few queries, not \
one per VM."""


def _now() -> datetime:
    return datetime.now(UTC)


async def find_job_sessions(
    ctx: Context,
    job_name: Annotated[Text, Field(description="Only this job (exact name)")] = None,
    backup_server: Annotated[Text, Field(description="Only this backup server (name or id)")] = None,
    result: Annotated[ResultFilter | None, Field(description="Only rows with this outcome")] = None,
    created_after: Annotated[When, Field(description="Runs started at or after this time")] = None,
    created_before: Annotated[When, Field(description="Runs started before this time")] = None,
    newest_per_job: Annotated[bool, Field(description="One row per job, its newest run (default true)")] = True,
    page_size: PageSize = sessions.DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Annotated[CallToolResult, FindJobSessionsResult]:
    em = state_of(ctx)
    answer = await sessions.find_job_sessions(
        em,
        _now(),
        job_name=job_name,
        backup_server=backup_server,
        result=result,
        created_after=created_after,
        created_before=created_before,
        newest_per_job=newest_per_job,
        page_size=page_size,
        cursor=cursor,
    )
    return bounded_result(em, answer, TOO_LARGE)


async def get_job_session(
    session_id: Annotated[str, Field(description="Job session GUID, UID or href", min_length=1, max_length=2048)],
    ctx: Context,
) -> Annotated[CallToolResult, JobSessionDetail]:
    em = state_of(ctx)
    return bounded_result(em, await sessions.get_job_session(em, session_id), TOO_LARGE)


async def find_task_sessions(
    ctx: Context,
    vm_name: Annotated[Text, Field(description="Only this VM (exact name)")] = None,
    job_name: Annotated[Text, Field(description="Only this job (exact name)")] = None,
    result: Annotated[ResultFilter | None, Field(description="Only rows with this outcome")] = None,
    created_after: Annotated[When, Field(description="Tasks started at or after this time")] = None,
    created_before: Annotated[When, Field(description="Tasks started before this time")] = None,
    newest_per_vm: Annotated[bool, Field(description="One row per VM, its newest task (default true)")] = True,
    page_size: PageSize = sessions.DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Annotated[CallToolResult, FindTaskSessionsResult]:
    em = state_of(ctx)
    answer = await sessions.find_task_sessions(
        em,
        _now(),
        vm_name=vm_name,
        job_name=job_name,
        result=result,
        created_after=created_after,
        created_before=created_before,
        newest_per_vm=newest_per_vm,
        page_size=page_size,
        cursor=cursor,
    )
    return bounded_result(em, answer, TOO_LARGE)


async def list_jobs(
    ctx: Context,
    backup_server: Annotated[Text, Field(description="Only this backup server (name or id)")] = None,
    platform: Annotated[Platform | None, Field(description="Only jobs of this platform")] = None,
    enabled: Annotated[bool | None, Field(description="Only jobs whose schedule is (not) enabled")] = None,
    vm_name: Annotated[Text, Field(description="Only the jobs that protect this VM")] = None,
    page_size: PageSize = jobs.DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Annotated[CallToolResult, ListJobsResult]:
    em = state_of(ctx)
    answer = await jobs.list_jobs(
        em,
        _now(),
        backup_server=backup_server,
        platform=platform,
        enabled=enabled,
        vm_name=vm_name,
        page_size=page_size,
        cursor=cursor,
    )
    return bounded_result(em, answer, TOO_LARGE)


async def list_repositories(
    ctx: Context,
    backup_server: Annotated[Text, Field(description="Only this backup server (name or id)")] = None,
) -> Annotated[CallToolResult, ListRepositoriesResult]:
    em = state_of(ctx)
    return bounded_result(em, await repositories.list_repositories(em, backup_server=backup_server), TOO_LARGE)


async def protection_report(
    ctx: Context,
    rpo_hours: Annotated[
        float, Field(description="Recovery point objective in hours (default 24)", ge=0.01, le=8760)
    ] = 24,
    backup_server: Annotated[Text, Field(description="Only this backup server (name or id)")] = None,
    job_name: Annotated[Text, Field(description="Only VMs of this job (exact name)")] = None,
    platform: Annotated[Platform | None, Field(description="Only VMs of this platform")] = None,
    only_problems: Annotated[
        bool, Field(description="Only VMs that miss the RPO, failed, or are in disabled jobs")
    ] = False,
    page_size: PageSize = protection.DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Annotated[CallToolResult, ProtectionReport]:
    em = state_of(ctx)
    report = await protection.protection_report(
        em,
        _now(),
        rpo_hours=rpo_hours,
        backup_server=backup_server,
        job_name=job_name,
        platform=platform,
        only_problems=only_problems,
        page_size=page_size,
        cursor=cursor,
    )
    return bounded_result(em, report, TOO_LARGE)


ESTATE_DEADLINE_CAP = 55.0  # below the 60 s after which common MCP clients give up on a request


def _pages(client: EnterpriseManagerClient) -> float:
    """A call that reads a whole window in several pages gets the time of several calls, but no more than a
    client waits (see docs/resilience.md); never less than one call's deadline, which the user set."""
    return max(client.default_deadline, min(4 * client.default_deadline, ESTATE_DEADLINE_CAP))


TOOLS = (
    ToolSpec(find_job_sessions, "Find job runs", FIND_JOB_SESSIONS, deadline=_pages),
    ToolSpec(get_job_session, "Get a job run and its VMs", GET_JOB_SESSION, deadline=_pages),
    ToolSpec(find_task_sessions, "Find VM outcomes in job runs", FIND_TASK_SESSIONS, deadline=_pages),
    ToolSpec(list_jobs, "List jobs", LIST_JOBS, deadline=_pages),
    ToolSpec(list_repositories, "List repositories", LIST_REPOSITORIES),
    ToolSpec(protection_report, "Protection report", PROTECTION_REPORT, deadline=_pages),
)
