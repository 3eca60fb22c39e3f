"""Estate tools: job runs, VM outcomes, jobs, repositories and the protection report.

Thin adapters over ``services.sessions``, ``services.job_session``, ``services.jobs``, ``services.repositories`` and
``services.protection``: each reads the whole window it needs through EM's query service in a few
large pages, so a question about the whole estate costs one or two calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from ...client import EnterpriseManagerClient
from ...models.arguments import (
    Arguments,
    FindJobSessionsArgs,
    FindTaskSessionsArgs,
    GetJobSessionArgs,
    ListJobsArgs,
    ProtectionReportArgs,
)
from ...models.estate import (
    FindJobSessionsResult,
    FindTaskSessionsResult,
    JobSessionDetail,
    ListJobsResult,
    ListRepositoriesResult,
    ProtectionReport,
)
from ...services import job_session, jobs, protection, repositories, sessions, task_sessions
from ...services.context import EmContext
from ..state import state_of
from ._registration import ToolSpec
from ._signature import argument_tool
from .common import bounded_result

TOO_LARGE = "Ask for a narrower filter, or raise VEEAM_MCP_MAX_RESULT_CHARS."

Text = Annotated[str | None, Field(min_length=1, max_length=512)]
Service = Callable[[EmContext, datetime, Any, str | None], Awaitable[BaseModel]]

FIND_JOB_SESSIONS = """\
Job runs, newest first: "did last night's backups succeed?", "how long did each job take?", "first-attempt \
success per job this week". A run is a job's start plus its automatic retries (a backup copy job: its \
workers): start, end and duration cover them all, first_attempt and outcome say how it began and ended. With \
newest_per_job (default) one row per job: its newest run, and stats of its runs in the window (first-attempt \
successes, successes after retry, warnings, failures, running, min/median/max duration, newest vs median). A \
run still going on is "running". covered says which kinds of jobs were read (backup, copy, agent, file share, \
replication). Window: the last 24 hours by default; times ISO 8601, UTC without an offset. Pass a row's id \
to get_job_session for its VMs and reasons."""

GET_JOB_SESSION = """\
One job session and every VM in it (failures first): each VM's outcome, EM's reason text for failures and \
warnings, times, size, and the restore point it made; a Veeam Agent run's computers, a replication run's \
VMs. session_id: a session GUID or UID from find_job_sessions, or its href."""

FIND_TASK_SESSIONS = """\
What happened to VMs in job runs: "which VMs failed last night and why?", "which VMs failed in two separate \
runs this week?". With newest_per_vm (default) one row per VM (by its id): its newest task, its attempts, the \
runs that processed it and in how many it still failed after retries (failed_runs), and the reason of an \
earlier failure a retry fixed; without it, every task, each naming its run and attempt. Veeam Agent \
computers (agent) and replication tasks (replication) are rows too. result takes one outcome or several. \
Window and running as in find_job_sessions."""

LIST_JOBS = """\
Every job: type, platform, backup server, whether its schedule is enabled, the schedule in words, next run \
(UTC), how its newest run of the last 7 days ended, and its members (VMs, or containers such as folders and \
tags). With vm_name (a name or vm_id), only the jobs that protect that VM, by name or through a container \
(seen in its runs): "which job protects print01 and when does it run next?". Backup copy jobs name their \
sources and target repository; Veeam Agent jobs are included. With backup_files (and job_name), a job's backup \
files and their total size in one call. EM cannot list VMs that are in no job."""

LIST_REPOSITORIES = """\
Every backup repository: kind, capacity, free space, used bytes and percent, backup size (EM's report), and \
totals. EM reports -1 for what it does not know (object storage): such sizes are said as unknown and left \
out of the totals, like scale-out repositories, whose extents are counted."""

PROTECTION_REPORT = """\
One compact row per VM EM knows to be protected (job members, task sessions, restore points; by VM id, as \
names repeat across vCenters): its jobs, whether they are enabled, its newest restore point and age, RPO met \
or missed or never backed up, its newest task's outcome and reason; and a summary. Answers "which VMs miss \
their 24 h RPO?" (only_problems=true lists just the VMs that miss it, failed or are in disabled jobs). Reads \
the window in a few queries, not one per VM. Computers protected by Veeam Agent jobs are rows too (agent); \
a VM copied by a backup copy job shows its newest copy, a replicated VM its newest replica point (not counted \
for the RPO). VMs in no job are invisible to EM."""


def _now() -> datetime:
    return datetime.now(UTC)


def _paged(name: str, arguments: type[Arguments], result: type[BaseModel], service: Service) -> Any:
    async def run(em: EmContext, args: Arguments, cursor: str | None) -> CallToolResult:
        return bounded_result(em, await service(em, _now(), args, cursor), TOO_LARGE)

    return argument_tool(name, arguments, result, run)


find_job_sessions = _paged("find_job_sessions", FindJobSessionsArgs, FindJobSessionsResult, sessions.find_job_sessions)
get_job_session = _paged("get_job_session", GetJobSessionArgs, JobSessionDetail, job_session.get_job_session)
find_task_sessions = _paged(
    "find_task_sessions", FindTaskSessionsArgs, FindTaskSessionsResult, task_sessions.find_task_sessions
)
list_jobs = _paged("list_jobs", ListJobsArgs, ListJobsResult, jobs.list_jobs)
protection_report = _paged("protection_report", ProtectionReportArgs, ProtectionReport, protection.protection_report)


async def list_repositories(
    ctx: Context,
    backup_server: Annotated[Text, Field(description="Only this backup server (name or id)")] = None,
) -> Annotated[CallToolResult, ListRepositoriesResult]:
    em = state_of(ctx)
    return bounded_result(em, await repositories.list_repositories(em, backup_server=backup_server), TOO_LARGE)


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
