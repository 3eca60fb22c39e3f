"""The estate tools (issue 12) through the official MCP client, against the simulator in every dialect.

The simulator's estate is anchored at the current minute, because the tools measure ages and the default
window ("last night": the last 24 hours) on the real clock. What the tests expect comes from the dataset
itself (its facts, sessions and points), not from copies of the answers. Each dialect runs the same
questions: XML, JSON as 9.5, 12 (nulls) and 13 (camelCase) send them, with a running job's EndTime and
Result left out, null or .NET's MinValue, and with query results in a shuffled order.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema
import pytest
from mcp import Client, StdioServerParameters

from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import build_dataset
from veeam_em_mcp.simulator.dataset.clock import datetime_of
from veeam_em_mcp.simulator.dataset.scenarios import (
    DISABLED_JOB,
    FOLDER_JOB,
    FOLDER_NAME,
    FOLDER_ONLY_VM,
    LAST_TWO_FAILED_VM,
    NEVER_BACKED_UP_VM,
    RETRY_JOB,
    RUNNING_JOB,
    SQL_JOB,
)
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.server import build_server

from .conftest import PASSWORD, SIM_ORIGIN, USERNAME, make_settings
from .test_stdio_e2e import console_script

pytestmark = pytest.mark.anyio

ESTATE = build_dataset()  # anchored at this minute
FACTS = ESTATE.facts
MAX_ANSWER_CHARS = 20_000  # an estate answer a model can afford (a tenth of a Claude Desktop conversation)

DIALECTS = {
    "xml": ("xml", SimulatorConfig()),
    "json-9.5": ("json", SimulatorConfig(json_dialect="9.5")),
    "json-12-null": ("json", SimulatorConfig(json_dialect="12", running_end_time="null")),
    "json-13-min-shuffled": (
        "json", SimulatorConfig(json_dialect="13", running_end_time="min", unsorted_order="shuffle")
    ),
    "xml-min-shuffled": ("xml", SimulatorConfig(running_end_time="min", unsorted_order="shuffle")),
}
_APPS: dict[str, Any] = {}
_SCHEMAS: dict[str, Any] = {}


@pytest.fixture(params=list(DIALECTS))
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def app_of(dialect: str) -> Any:
    if dialect not in _APPS:
        _APPS[dialect] = create_app(DIALECTS[dialect][1], ESTATE)
    return _APPS[dialect]


def em_log(dialect: str) -> list[tuple[str, str]]:
    return list(app_of(dialect).state.sim.request_log)


@asynccontextmanager
async def connect(dialect: str = "xml", **env: Any) -> AsyncIterator[Client]:
    settings = make_settings(env={"VEEAM_EM_FORMAT": DIALECTS[dialect][0], **env})
    server = build_server(settings, transport=httpx.ASGITransport(app=app_of(dialect)), retry_base_delay=0.01)
    async with Client(server) as client:
        yield client


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """A successful call: its structured result, checked against the tool's output schema."""
    result = await client.call_tool(tool, arguments or {})
    assert not result.is_error, text_of(result)
    if tool not in _SCHEMAS:
        _SCHEMAS[tool] = next(t for t in (await client.list_tools()).tools if t.name == tool).output_schema
    data = dict(result.structured_content or {})
    jsonschema.validate(data, _SCHEMAS[tool])
    assert len(text_of(result)) <= MAX_ANSWER_CHARS, f"{tool}: {len(text_of(result))} characters"
    return data


async def fails(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, text_of(result)
    return text_of(result)


async def every_row(client: Client, tool: str, arguments: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """All rows of an answer, following next_cursor; each page's shared fields folded back into its rows."""
    page = await call(client, tool, arguments)
    rows: list[dict[str, Any]] = []
    while True:
        rows += [{**(page.get("shared") or {}), **row} for row in page[key]]
        if not page.get("next_cursor"):
            return rows
        page = await call(client, tool, {"cursor": page["next_cursor"]})


@pytest.mark.parametrize(
    ("tool", "arguments", "key", "identity"),
    [
        ("protection_report", {}, "rows", ("vm_name",)),
        ("find_task_sessions", {"newest_per_vm": False}, "tasks", ("vm_name", "start")),
        ("find_job_sessions", {"newest_per_job": False, "created_after": "2026-01-01"}, "sessions", ("id",)),
        ("list_jobs", {}, "jobs", ("name",)),
    ],
)
async def test_a_small_result_limit_pages_every_row_once(
    tool: str, arguments: dict[str, Any], key: str, identity: tuple[str, ...]
) -> None:
    limit = 3000
    async with connect(VEEAM_MCP_MAX_RESULT_CHARS=limit) as client:
        first = await client.call_tool(tool, arguments)
        assert not first.is_error, text_of(first)
        page = dict(first.structured_content or {})
        rows, pages = [], 0
        while True:
            pages += 1
            assert len(text_of(first)) <= limit, f"page {pages}: {len(text_of(first))} characters"
            rows += [{**(page.get("shared") or {}), **row} for row in page[key]]
            assert page[key], "every page holds a row"
            if not page.get("next_cursor"):
                break
            assert page["truncated"] is True and "call again with cursor=next_cursor" in page["note"]
            first = await client.call_tool(tool, {"cursor": page["next_cursor"]})
            assert not first.is_error, text_of(first)
            page = dict(first.structured_content or {})
    keys = [tuple(row.get(k) for k in identity) for row in rows]
    assert pages > 1, "the limit should make this answer page"
    assert len(keys) == len(set(keys)) == page["total"], "every row once, none lost"


def since(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def iso(ticks: int) -> str:
    return datetime_of(ticks).isoformat().replace("+00:00", "Z")


# --- did last night's jobs succeed? -----------------------------------------------------------------------


async def test_last_nights_jobs_one_row_per_job_in_one_request(dialect: str) -> None:
    before = len(em_log(dialect))
    async with connect(dialect) as client:
        answer = await call(client, "find_job_sessions")
    sent = [path for method, path in em_log(dialect)[before:] if method == "GET"]
    queries = [path for path in sent if path.startswith("/api/query?type=BackupJobSession")
               or path.startswith("/api/query?type=ReplicaJobSession")]
    assert len(queries) == 2, queries  # backup and replica job sessions: one request each
    assert answer["em_requests"] == len(sent), "every request counted: the window's and EM's freshness"
    assert answer["collected"], "how current EM's data is"

    cutoff = since(24)
    sessions = [*ESTATE.job_sessions.values(), *getattr(ESTATE, "replica_sessions", {}).values()]
    ran = {  # a backup copy job's workers are part of its runs, not jobs of their own; an agent's per-computer
        s.job_name for s in sessions  # sessions belong to its job's run
        if datetime_of(s.creation_ticks) >= cutoff and s.job_type not in ("ImmediateBackupCopyWorker", "AgentManagement")
    }
    rows = {row["job_name"]: row for row in answer["sessions"]}
    assert set(rows) == ran and len(answer["sessions"]) == len(ran), "one row per job that ran, none invented"
    assert answer["window"]["defaulted"] is True

    running = rows[RUNNING_JOB]
    assert running["outcome"] == "running" and running["id"] == FACTS.running_session_id
    assert "result" not in running and "end" not in running, "a run going on has no result or end yet"

    failed = rows[FOLDER_JOB]  # exch01 failed in the first attempt and both retries
    assert failed["outcome"] == "failed" and failed["first_attempt"] == "failed" and failed["attempts"] == 3
    assert failed["stats"]["failed"] >= 1 and failed["stats"]["runs"] >= 1

    tally = {outcome: sum(row["outcome"] == outcome for row in rows.values()) for outcome in answer["counts"]}
    assert answer["counts"] == tally
    assert answer["returned"] == answer["total"] == len(rows)
    assert f"{tally['failed']} failed" in answer["summary"] and f"{tally['running']} still running" in answer["summary"]
    assert tally["failed"] >= 1 and tally["running"] >= 1


async def test_a_retry_that_fixes_a_run_makes_the_job_succeed() -> None:
    chain = [ESTATE.job_sessions[i] for i in FACTS.retry_chain_session_ids]
    window = {
        "job_name": RETRY_JOB,
        "created_after": iso(chain[0].creation_ticks),
        "created_before": iso(chain[-1].creation_ticks + 10_000_000),
    }
    async with connect() as client:
        newest = await call(client, "find_job_sessions", window)
        every = await call(client, "find_job_sessions", {**window, "newest_per_job": False})
        failed_runs = await call(client, "find_job_sessions", {**window, "newest_per_job": False, "result": "failed"})
        failed_jobs = await call(client, "find_job_sessions", {**window, "result": "failed"})

    (row,) = newest["sessions"]
    assert (row["outcome"], row["is_retry"], row["id"]) == ("succeeded", True, chain[-1].id)
    assert (row["attempts"], row["first_attempt"], row["first_session"]) == (3, "failed", chain[0].id)
    assert row["sessions"] == [s.id for s in chain], "the run's sessions, oldest first"
    assert row["stats"]["runs"] == row["stats"]["succeeded_after_retry"] == 1
    assert row["duration_seconds"] == round((chain[-1].end_ticks - chain[0].creation_ticks) / 10_000_000)
    (run,) = every["sessions"]  # one run: the start and its two retries
    assert run["id"] == chain[-1].id and run["outcome"] == "succeeded" and "stats" not in run
    assert failed_runs["sessions"] == [] and "None has the outcome failed" in failed_runs["summary"]
    assert failed_jobs["sessions"] == [] and failed_jobs["note"], "the job's newest run decides: it succeeded"


# --- which VMs failed and why? ------------------------------------------------------------------------------


async def test_which_vms_failed_and_why(dialect: str) -> None:
    async with connect(dialect) as client:
        answer = await call(client, "find_task_sessions", {"result": "failed"})
    rows = [{**(answer.get("shared") or {}), **row} for row in answer["tasks"]]
    by_vm = {row["vm_name"]: row for row in rows}
    assert LAST_TWO_FAILED_VM in by_vm
    exch = by_vm[LAST_TWO_FAILED_VM]
    newest_task = max(
        (t for t in ESTATE.task_sessions.values() if t.vm_name == LAST_TWO_FAILED_VM), key=lambda t: t.creation_ticks
    )
    assert exch["reason"] == newest_task.reason, "EM's whole reason, not a summary of it"
    assert "quiescing" in exch["reason"]
    assert exch["failed_attempts"] == exch["attempts"] >= 1
    assert all(row["outcome"] == "failed" for row in rows)
    assert answer["em_requests"] >= 4  # backup and replica tasks, the runs they belong to, EM's freshness
    replica_failed = getattr(ESTATE, "replica_task_sessions", {}).get(getattr(FACTS, "replica_failed_task_id", ""))
    if replica_failed is not None:  # replication's failures are VMs that failed too
        assert by_vm[replica_failed.vm_name]["reason"] == replica_failed.reason
    assert exch["run"] and exch["attempt"] == 3 and exch["failed_runs"] >= 1


async def test_a_task_still_going_on_is_running_whatever_its_result(dialect: str) -> None:
    async with connect(dialect) as client:
        answer = await call(client, "find_task_sessions", {"job_name": RUNNING_JOB})
    rows = {row["vm_name"]: {**(answer.get("shared") or {}), **row} for row in answer["tasks"]}
    running = ESTATE.job_sessions[FACTS.running_session_id]
    in_run = {ESTATE.task_sessions[t].vm_name: ESTATE.task_sessions[t] for t in running.task_ids}
    for vm, task in in_run.items():
        if task.state == "Completed":
            assert rows[vm]["outcome"] == "succeeded" and "end" in rows[vm], vm
        else:  # InProgress (EM says Success already) or Pending
            assert rows[vm]["outcome"] == "running", vm
            assert "result" not in rows[vm] and "end" not in rows[vm], rows[vm]
    assert answer["counts"]["running"] == sum(t.state != "Completed" for t in in_run.values()) >= 1


async def test_every_task_row_arrives_through_the_cursor() -> None:
    after = since(72).replace(microsecond=0)
    arguments = {"newest_per_vm": False, "page_size": 7, "created_after": after.isoformat()}
    async with connect() as client:
        first = await call(client, "find_task_sessions", arguments)
        rows = await every_row(client, "find_task_sessions", arguments, "tasks")
    assert first["truncated"] is True and first["returned"] == 7
    assert len(rows) == first["total"]
    keys = [(row.get("vm_id") or row["vm_name"], row["job_session"]) for row in rows]  # replica tasks have no VmUid
    assert len(set(keys)) == len(keys), "no row twice"
    # VMs' tasks, replication tasks and Veeam Agent computers' per-computer sessions (the computers' tasks)
    computers = [s for s in ESTATE.job_sessions.values() if s.job_type == "AgentManagement"]
    every_task = [*ESTATE.task_sessions.values(), *ESTATE.replica_task_sessions.values(), *computers]
    expected = sum(datetime_of(t.creation_ticks) >= after for t in every_task)
    assert len(rows) == expected, "every task of the window"
    started = [row["start"] for row in rows if "start" in row]  # a pending task has not started: no start
    assert started == sorted(started, reverse=True)
    assert all(row["state"] == "Pending" for row in rows if "start" not in row)


async def test_one_job_run_with_every_vm_and_its_reason() -> None:
    session = ESTATE.job_sessions[FACTS.all_failed_session_id]
    forms = [session.id, f"urn:veeam:BackupJobSession:{session.id}", f"{SIM_ORIGIN}/api/backupSessions/{session.id}"]
    async with connect("json-13-min-shuffled") as client:
        answers = [await call(client, "get_job_session", {"session_id": form}) for form in forms]
        running = await call(client, "get_job_session", {"session_id": FACTS.running_session_id})
    detail = answers[0]
    assert all(answer["tasks"] == detail["tasks"] for answer in answers), "GUID, UID and href are one session"
    assert detail["outcome"] == "failed" and detail["total"] == len(session.task_ids) == detail["returned"]
    reasons = {ESTATE.task_sessions[t].vm_name: ESTATE.task_sessions[t].reason for t in session.task_ids}
    assert {row["vm_name"]: row["reason"] for row in detail["tasks"]} == reasons
    assert all("not enough space" in reason for reason in reasons.values())
    assert running["outcome"] == "running" and running["note"]
    assert "end_time" not in running["session"], "MinValue is no end time"
    outcomes = [row["outcome"] for row in running["tasks"]]
    assert outcomes == sorted(outcomes, key=["failed", "warning", "running", "unknown", "succeeded"].index)


# --- which job protects a VM, and when does it run next? ----------------------------------------------------


async def test_which_job_protects_a_vm(dialect: str) -> None:
    async with connect(dialect) as client:
        print01 = await call(client, "list_jobs", {"vm_name": FOLDER_ONLY_VM})
        crm01 = await call(client, "list_jobs", {"vm_name": NEVER_BACKED_UP_VM})
        everything = await call(client, "list_jobs")
    (folder_job,) = print01["jobs"]
    assert folder_job["name"] == FOLDER_JOB
    assert FOLDER_NAME in folder_job["protects_vm"], "protected through the folder, and the answer says so"
    assert {"name": FOLDER_NAME, "type": "Folder"} in folder_job["members"]
    assert [job["name"] for job in crm01["jobs"]] == [SQL_JOB], "a member by name, although never run"

    jobs = {job["name"]: job for job in everything["jobs"]}
    agent_jobs = getattr(ESTATE, "agent_jobs", {})  # Veeam Agent jobs, which EM lists apart
    assert set(jobs) == {job.name for job in (*ESTATE.jobs.values(), *agent_jobs.values())}
    assert jobs[DISABLED_JOB]["schedule_enabled"] is False and "next_run" not in jobs[DISABLED_JOB]
    next_run = datetime.fromisoformat(jobs[SQL_JOB]["next_run"])
    assert datetime.now(UTC) < next_run <= datetime.now(UTC) + timedelta(days=1)
    assert jobs[FOLDER_JOB]["last_run"]["outcome"] == "failed"


# --- how full are the repositories? -------------------------------------------------------------------------


async def test_how_full_the_repositories_are(dialect: str) -> None:
    async with connect(dialect) as client:
        answer = await call(client, "list_repositories")
    rows = {row["name"]: row for row in answer["repositories"]}
    assert set(rows) == {repo.name for repo in ESTATE.repositories.values()}
    unknown = [row for row in rows.values() if not row["size_known"]]
    assert unknown and all("capacity" not in row and "used_percent" not in row for row in unknown), "-1 is unknown"
    dd = rows["DD Boost Repository"]
    assert dd["used_percent"] == 96.8 and "nearly full" in dd["note"]
    counted = [r for r in rows.values() if r["size_known"] and r["storage_kind"] != "Extendable"]
    totals = answer["totals"]
    assert totals["counted"] == len(counted)
    assert totals["capacity"] == sum(r["capacity"] for r in counted), "a scale-out repository is not counted twice"
    assert totals["used"] == totals["capacity"] - totals["free_space"]
    assert len(totals["left_out"]) == len(rows) - len(counted)


# --- who misses the RPO? ------------------------------------------------------------------------------------


async def test_protection_report_answers_the_estate_in_one_call(dialect: str) -> None:
    async with connect(dialect) as client:
        report = await call(client, "protection_report")
        problems = await call(client, "protection_report", {"only_problems": True})
    assert "next_cursor" not in report, "30 VMs fit one answer"
    rows = {row["vm_name"]: row for row in report["rows"]}
    assert len(rows) == len(report["rows"]) == report["total"] == report["summary"]["vms"]
    assert set(ESTATE.vm_names()) | {NEVER_BACKED_UP_VM} <= set(rows)
    # 4 windows, 3 for copies, 3 for agents, 1 for replica points, VMs without a point, freshness
    assert report["em_requests"] <= 20
    copied = [row for row in rows.values() if row.get("newest_copy")]
    assert copied and {row["vm_name"] for row in copied} <= set(getattr(FACTS, "newest_copy_by_vm", {}))
    assert report["summary"]["copied"] == len(copied)
    # Replication is shown beside the RPO, never counted as a backup: a replicated VM's row names its backup jobs
    # only, and its newest replica point (test_coverage checks which).
    replica_job = next(job for job in ESTATE.jobs.values() if job.job_type == "Replica")
    assert "Replica points do not count for the RPO" in report["note"]
    assert all(rows[vm].get("newest_replica") for vm in replica_job.vm_names if vm in rows)
    assert all(replica_job.name not in rows[vm].get("jobs", []) for vm in replica_job.vm_names if vm in rows)

    assert rows[NEVER_BACKED_UP_VM]["status"] == "never backed up" and "newest_point" not in rows[NEVER_BACKED_UP_VM]
    exch = rows[LAST_TWO_FAILED_VM]
    assert (exch["status"], exch["last_outcome"]) == ("missed", "failed") and "quiescing" in exch["last_reason"]
    fileserver = rows["fileserver02"]
    assert (fileserver["status"], fileserver["job_enabled"]) == ("missed", False)
    assert rows["sql01"]["status"] == "met" and rows["sql01"]["age_hours"] < 24
    newest_sql01 = ESTATE.points_by_vm["sql01"][-1]
    assert rows["sql01"]["restore_point"] == newest_sql01.id

    summary = report["summary"]
    assert summary["met"] + summary["missed"] + summary["never_backed_up"] == summary["vms"]
    assert summary["met"] == sum(row["status"] == "met" for row in rows.values())

    flagged = {row["vm_name"] for row in problems["rows"]}
    assert {LAST_TWO_FAILED_VM, NEVER_BACKED_UP_VM, "fileserver02"} <= flagged and "sql01" not in flagged
    for name in flagged:
        row = rows[name]
        assert row["status"] != "met" or row.get("last_outcome") == "failed" or row.get("job_enabled") is False


async def test_protection_report_filters_by_job_and_rpo() -> None:
    async with connect() as client:
        sql = await call(client, "protection_report", {"job_name": SQL_JOB, "rpo_hours": 1})
    assert {row["vm_name"] for row in sql["rows"]} >= {"sql01", NEVER_BACKED_UP_VM}
    assert all(SQL_JOB in row["jobs"] for row in sql["rows"])
    assert rows_with(sql, "met") == [], "no point is less than an hour old at the top of a run two hours ago"


def rows_with(report: dict[str, Any], status: str) -> list[str]:
    return [row["vm_name"] for row in report["rows"] if row["status"] == status]


# --- bad input: clear errors, nothing sent when nothing can match ----------------------------------------------


async def test_unknown_names_get_the_nearest_names_em_knows() -> None:
    async with connect() as client:
        job = await fails(client, "find_job_sessions", {"job_name": "SQL Backpu"})
        vm = await fails(client, "find_task_sessions", {"vm_name": "sql1"})
        report = await fails(client, "protection_report", {"job_name": "Infra Backup"})
        still_serving = await call(client, "list_repositories")
    assert "SQL Backpu" in job and "SQL Backup" in job
    assert "sql1" in vm and "sql01" in vm
    assert "Infrastructure Backup" in report
    assert still_serving["repositories"]


async def test_a_missing_session_is_not_found() -> None:
    async with connect() as client:
        text = await fails(client, "get_job_session", {"session_id": "00000000-0000-0000-0000-000000000000"})
        garbage = await fails(client, "get_job_session", {"session_id": "last night"})
    assert "No job session with id 00000000-0000-0000-0000-000000000000 exists" in text and "find_job_sessions" in text
    assert "last night" in garbage


async def test_an_empty_or_unreadable_window_is_refused_before_any_request() -> None:
    async with connect() as client:
        await call(client, "list_repositories")  # logged on: what follows could reach EM
        before = len(em_log("xml"))
        backwards = await fails(
            client, "find_job_sessions", {"created_after": "2026-11-20T10:00:00Z", "created_before": "2026-11-19"}
        )
        unreadable = await fails(client, "find_task_sessions", {"created_after": "yesterday"})
        assert len(em_log("xml")) == before, "nothing was sent to EM"
        future = await call(client, "find_job_sessions", {"created_after": (datetime.now(UTC) + timedelta(days=2)).isoformat()})
    assert "must be earlier than created_before" in backwards
    assert "yesterday" in unreadable
    assert future["sessions"] == [] and future["note"], "an empty answer says why"


# --- over stdio, with the real console script ------------------------------------------------------------------


class StdioAsker:
    """An MCP client over stdio with the real console script, asking questions and keeping what each cost:
    the characters of every call, by question. Every answer is checked against its tool's output schema."""

    def __init__(self, client: Client, schemas: dict[str, Any]) -> None:
        self.client, self.schemas = client, schemas
        self.costs: dict[str, list[int]] = {}

    async def ask(self, question: str, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        result = await self.client.call_tool(tool, arguments or {})
        assert not result.is_error, text_of(result)
        self.costs.setdefault(question, []).append(len(text_of(result)))
        jsonschema.validate(result.structured_content, self.schemas[tool])
        return dict(result.structured_content or {})

    def printed(self, dialect: str) -> str:
        return f"\n{dialect}: " + "; ".join(
            f"{q}: {len(c)} call(s), {sum(c):,} chars" for q, c in self.costs.items()
        )


@asynccontextmanager
async def stdio_client(dialect: str) -> AsyncIterator[StdioAsker]:
    """The console script over stdio against a simulator of ESTATE on loopback, speaking ``dialect``."""
    em_format, config = DIALECTS[dialect]
    with RunningSimulator(config, ESTATE) as running:
        env = {
            **os.environ,
            "VEEAM_EM_URL": running.base_url,
            "VEEAM_EM_USERNAME": USERNAME,
            "VEEAM_EM_PASSWORD": PASSWORD,
            "VEEAM_EM_FORMAT": em_format,
        }
        params = StdioServerParameters(command=console_script(), args=[], env=env)
        async with Client(params, read_timeout_seconds=60) as client:
            schemas = {tool.name: tool.output_schema for tool in (await client.list_tools()).tools}
            yield StdioAsker(client, schemas)


@pytest.mark.parametrize("dialect", ["xml", "json-12-null", "json-13-min-shuffled"])
async def test_estate_questions_over_stdio(dialect: str) -> None:
    """Issue 12's bar, with the real console script: each question in its number of calls and characters."""
    async with stdio_client(dialect) as asker:
        ask = asker.ask
        report = await ask("who misses a 24 h RPO", "protection_report", {"only_problems": True})
        jobs = await ask("did last night's jobs succeed, which VMs failed and why", "find_job_sessions")
        failed = await ask("did last night's jobs succeed, which VMs failed and why", "find_task_sessions",
                           {"result": "failed"})
        protects = await ask("which job protects print01, when next", "list_jobs", {"vm_name": FOLDER_ONLY_VM})
        repositories = await ask("how full are the repositories", "list_repositories")
    for question, sizes in asker.costs.items():
        assert len(sizes) <= 2 and sum(sizes) <= MAX_ANSWER_CHARS, (question, sizes)
    print(asker.printed(dialect))
    assert {LAST_TWO_FAILED_VM, NEVER_BACKED_UP_VM} <= {row["vm_name"] for row in report["rows"]}
    assert {row["job_name"] for row in jobs["sessions"]} >= {SQL_JOB, FOLDER_JOB}
    assert any("quiescing" in (row.get("reason") or "") for row in failed["tasks"])
    assert [job["name"] for job in protects["jobs"]] == [FOLDER_JOB] and protects["jobs"][0].get("next_run")
    assert any(row.get("used_percent") == 96.8 for row in repositories["repositories"])
