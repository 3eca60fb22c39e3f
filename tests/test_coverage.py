"""Issue 17's questions, each in one call, over stdio with the console script, in XML, v12 JSON and v13 JSON.

Runs (a job's start and its retries) and their statistics, VMs that failed in separate runs, copies,
restores, EM's freshness, and every kind of job (replication and Veeam Agent too). What the answers must say
comes from the simulator's own data (its facts), never from copies of the answers; each question's calls and
characters are printed (the closing note quotes them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mcp import Client

from veeam_em_mcp.simulator.dataset.clock import datetime_of
from veeam_em_mcp.simulator.dataset.scenarios import LAST_TWO_FAILED_VM, REPLICA_JOB, WINDOWS_AGENT_JOB

from .test_estate import ESTATE, stdio_client

pytestmark = pytest.mark.anyio
FACTS = ESTATE.facts


def week_ago() -> str:
    return (datetime.now(UTC) - timedelta(days=7)).replace(microsecond=0).isoformat()


@pytest.mark.parametrize("dialect", ["xml", "json-12-null", "json-13-min-shuffled"])
async def test_issue_17_questions_over_stdio(dialect: str) -> None:
    async with stdio_client(dialect) as asker:
        ask = asker.ask
        last_night = await ask("how long did each job's newest run take with its retries, the longest",
                               "find_job_sessions")
        week = await ask("first-attempt success per job this week", "find_job_sessions",
                         {"created_after": week_ago()})
        twice = await ask("which VMs failed in two separate runs this week, and the newest reason",
                          "find_task_sessions", {"created_after": week_ago(), "min_failed_runs": 2})
        sql01 = await ask("is sql01 copied offsite, where, how old is the copy", "vm_recovery_summary",
                          {"vm_name": "sql01"})
        copied_vm = next(iter(FACTS.newest_copy_by_vm))
        copied = await ask("is a copied VM copied offsite, where, how old", "vm_recovery_summary",
                           {"vm_name": copied_vm})
        restores = await ask("what was restored this week", "find_restore_sessions")
        fresh = await ask("how fresh is EM's data", "list_backup_servers")
        folder_job = await ask("which VMs does Infrastructure Backup's folder cover", "list_jobs",
                               {"job_name": "Infrastructure Backup"})
        agents = await ask("are the Windows agent computers within the RPO", "protection_report",
                           {"job_name": "Windows Agent Backup"})
        points = await ask("which job made each of sql01's restore points", "find_vm_restore_points",
                           {"vm_name": "sql01"})
        files = await ask("SQL Backup's backup files and their total size", "list_jobs",
                          {"job_name": "sql backup", "backup_files": True, "members": False})
        one = await ask("which job's backup holds this restore point", "get_vm_restore_point",
                        {"restore_point_id": points["restore_points"][0]["id"]})
        replicated = await ask("is hv-dc01 replicated, how new is its newest replica", "vm_recovery_summary",
                               {"vm_name": FACTS.replicated_vms[0]})
    print(asker.printed(dialect))
    costs = {question: (len(sizes), sum(sizes)) for question, sizes in asker.costs.items()}
    assert all(calls == 1 for calls, _ in costs.values()), costs

    # Runs: the whole run, retries included; the longest named.
    rows = last_night["sessions"]
    finished = [row for row in rows if row.get("duration_seconds") is not None]
    longest = max(finished, key=lambda row: row["duration_seconds"])
    assert f"Longest newest run: {longest['job_name']}" in last_night["summary"]
    retried = [row for row in rows if row.get("attempts", 1) > 1]
    assert retried and all(row["sessions"] and row["first_attempt"] for row in retried)

    # Every kind of job EM reports: replication and Veeam Agent jobs too, and the answer says what it covered.
    assert {REPLICA_JOB, WINDOWS_AGENT_JOB} <= {row["job_name"] for row in rows}
    assert any("replication" in kind for kind in last_night["covered"])

    # First-attempt success per job over a week, in one affordable answer.
    assert costs["first-attempt success per job this week"][1] < 8_000
    assert all("stats" in row and row["stats"]["runs"] >= 1 for row in week["sessions"])
    assert all(
        row["stats"]["first_attempt_succeeded"] + row["stats"]["succeeded_after_retry"] + row["stats"]["warning"]
        + row["stats"]["failed"] + row["stats"]["running"] <= row["stats"]["runs"]
        for row in week["sessions"]
    )

    # VMs that failed in two separate runs, after their retries, with the newest reason.
    names = {row["vm_name"] for row in twice["tasks"]}
    assert LAST_TWO_FAILED_VM in names
    assert all(row["failed_runs"] >= 2 and (row.get("reason") or row.get("earlier_reason")) for row in twice["tasks"])

    # Copies: sql01 is not copied (said so), a VM of the copied job is, where and how old.
    assert sql01["copies"]["count"] == 0 and "None of" in sql01["copies"]["note"]
    # A job's backup files and their total, in one call: the simulator's own files of the job's backups.
    (job_row,) = files["jobs"]
    own = [f for b in ESTATE.backups.values() if b.job_id == job_row["id"] for f in b.backup_file_ids]
    sizes = [ESTATE.backup_files[f].backup_size for f in own]
    assert job_row["name"] == "SQL Backup" and job_row["backup_files"]["count"] == len(own) > 1
    assert job_row["backup_files"]["total_backup_size"] == sum(sizes)
    listed = job_row["backup_files"]["files"]
    assert [f["creation_time"] for f in listed] == sorted((f["creation_time"] for f in listed), reverse=True)

    # Computers Veeam Agent protects are rows too: the job's protection group's computers, each with its newest
    # agent point (the simulator's own), told apart from VMs.
    windows = next(j for j in ESTATE.agent_jobs.values() if j.name == "Windows Agent Backup")
    groups = {i.group_id for i in ESTATE.agent_includes.values() if i.job_id == windows.id}
    expected = {c.name for c in ESTATE.discovered_computers.values() if c.group_id in groups}
    assert {row["vm_name"] for row in agents["rows"]} == expected and agents["summary"]["computers"] == len(expected)
    for row in agents["rows"]:
        newest = max((p for p in ESTATE.agent_restore_points.values() if p.computer_name == row["vm_name"]),
                     key=lambda p: p.creation_ticks)
        assert row["restore_point"] == newest.id and row["jobs"] == ["Windows Agent Backup"]
        computer = next(c for c in ESTATE.discovered_computers.values() if c.name == row["vm_name"])
        assert row["agent"] == "AgentForWindows" and row["vm_id"] == computer.hierarchy_obj_ref
        assert "platform" not in row
    assert "computers (Veeam Agent)" in agents["summary_line"]
    # Each computer's outcome is its newest per-computer session (EM's AgentManagement): the failing one failed.
    outcomes = {row["vm_name"]: row.get("last_outcome") for row in agents["rows"]}
    assert outcomes.pop(FACTS.failing_computer) == "failed" and set(outcomes.values()) == {"succeeded"}
    assert "EM records no reason for a Veeam Agent computer's failure" in agents["note"]
    # Backup servers' versions come with every estate answer, from EM's own (no call of their own).
    versions = {server.name: server.version for server in ESTATE.backup_servers.values()}
    assert agents["server_versions"] == versions
    assert sql01["backup_server_version"] == versions[sql01["backup_server"]["name"]]

    # A folder member with the VMs EM saw it cover (in the job's newest run), none of them a direct member.
    (folder_row,) = folder_job["jobs"]
    in_folder = {vm for o in ESTATE.objects_in_job.values() if o.job_id == folder_row["id"]
                 and ":Folder:" in (o.hierarchy_obj_ref or "") for vm in o.vm_names}
    direct = {m["name"] for m in folder_row["members"] if m["type"] == "Vm"}
    assert folder_row["container_vms"] and set(folder_row["container_vms"]) <= in_folder - direct

    # Every restore point names its backup (named after its job), from the simulator's own data; once in shared
    # when the page's points share it.
    for row in points["restore_points"]:
        backup = row.get("backup") or points["shared"]["backup"]
        assert backup["name"] == ESTATE.backups[ESTATE.vm_restore_points[row["id"]].backup_id].name
    assert points["em_requests"] <= 3  # one EM page, the backups of its 20 points in two queries

    held = ESTATE.vm_restore_points[one["id"]]
    assert one["backup"]["name"] == ESTATE.backups[held.backup_id].name == ESTATE.jobs[held.job_id].name

    # A replicated VM: its replica points (the simulator's own, made where its replica tasks succeeded), the newest
    # and the job; sql01 is not replicated, and says so.
    own_replicas = sorted((p for p in ESTATE.vm_replica_points.values() if p.source_vm == FACTS.replicated_vms[0]),
                          key=lambda p: p.creation_ticks, reverse=True)
    assert replicated["replicas"]["count"] == len(own_replicas) > 0
    assert replicated["replicas"]["newest"]["id"] == own_replicas[0].id
    assert replicated["replicas"]["jobs"] == [REPLICA_JOB]
    assert sql01["replicas"]["count"] == 0 and "no replica point" in sql01["replicas"]["note"]

    # Which backup (named after its job) and repository hold sql01's newest point: the simulator's own data.
    newest_point = next(p for p in ESTATE.vm_restore_points.values() if p.id == sql01["newest"]["id"])
    backup = ESTATE.backups[newest_point.backup_id]
    assert sql01["backup"]["name"] == backup.name == ESTATE.jobs[newest_point.job_id].name
    assert sql01["repository"]["name"] == ESTATE.repositories[backup.repository_id].name
    assert copied["copies"]["count"] >= 1 and copied["copies"]["repositories"] == ["Amazon S3 Copy"]
    assert copied["copies"]["newest"]["age_hours"] >= 0

    # Restores: what, when, from which point, whether it worked; what EM does not record, said.
    outcomes = {row["outcome"] for row in restores["restores"]}
    assert {"running", "failed", "succeeded"} <= outcomes
    assert "who started a restore" in restores["note"]
    assert any(row.get("restore_point") for row in restores["restores"])

    # Freshness: vbr02's data is hours old, vbr01's is current.
    servers = {row["name"]: row for row in fresh["backup_servers"]}
    assert servers["vbr01.tech.local"]["freshness"] == "current"
    assert servers["vbr02.tech.local"]["freshness"] in ("stale", "failing")
    assert servers["vbr02.tech.local"]["collection_age_minutes"] > 60
    assert all(row.get("version") for row in fresh["backup_servers"]), "versions inline"


async def test_replicas_beside_the_rpo_and_on_their_tasks() -> None:
    """Each replicated VM's newest replica point of the report's window, tied to the VM by its replication job's
    member (EM's replica point names the replica VM, not the VM's reference); each replica task its point."""
    from .test_estate import call, connect

    async with connect() as client:
        report = await call(client, "protection_report", {})
        tasks = await call(client, "find_task_sessions", {"job_name": REPLICA_JOB})
    since = datetime.fromisoformat(report["window"]["created_after"])
    rows = {row["vm_id"]: row for row in report["rows"] if row.get("vm_id")}
    replicated = 0
    for name in FACTS.replicated_vms:
        points = [p for p in ESTATE.vm_replica_points.values() if p.source_vm == name
                  and datetime.fromisoformat(p.creation_time_utc[:23].rstrip("Z") + "+00:00") >= since]
        (ref,) = {p.source_ref for p in ESTATE.vm_replica_points.values() if p.source_vm == name}
        row = rows[ref]
        if points:
            newest = max(points, key=lambda p: p.creation_ticks)
            assert row["newest_replica"] == newest.creation_time_utc and row["replica_age_hours"] >= 0
            replicated += 1
        else:
            assert "newest_replica" not in row
    assert report["summary"]["replicated"] == replicated > 0
    assert sum(1 for row in report["rows"] if row.get("newest_replica")) == replicated
    assert "do not count for the RPO" in report["note"]
    made = {p.task_session_id: p.id for p in ESTATE.vm_replica_points.values()}
    newest_run = ESTATE.replica_sessions[FACTS.replica_newest_session_id]
    for row in tasks["tasks"]:
        task = next(ESTATE.replica_task_sessions[t] for t in newest_run.task_ids
                    if ESTATE.replica_task_sessions[t].vm_name == row["vm_name"])
        assert row.get("replica_point") == made.get(task.id), row


async def test_replication_and_agent_runs_open_in_get_job_session_and_computers_are_task_rows() -> None:
    """A run id find_job_sessions gives opens in get_job_session whatever its kind: a replication run (EM's
    ReplicaJobSession, its tasks with the VMs' ids from the replication job), a Veeam Agent run (its computers)."""
    from .test_estate import call, connect

    replica_run = ESTATE.replica_sessions[FACTS.replica_newest_session_id]
    agent_run = ESTATE.job_sessions[FACTS.agent_newest_run_session_id]
    async with connect() as client:
        replicated = await call(client, "get_job_session", {"session_id": replica_run.id})
        by_uid = await call(client, "get_job_session",
                            {"session_id": f"urn:veeam:ReplicaJobSession:{replica_run.id}"})
        agent = await call(client, "get_job_session", {"session_id": agent_run.id})
        tasks = await call(client, "find_task_sessions", {"result": "failed"})
    assert replicated["session"]["kind"] == "ReplicaJobSession" and by_uid["tasks"] == replicated["tasks"]
    expected = {ESTATE.replica_task_sessions[t].vm_name: ESTATE.replica_task_sessions[t]
                for t in replica_run.task_ids}
    assert {row["vm_name"] for row in replicated["tasks"]} == set(expected)
    refs = {p.source_vm: p.source_ref for p in ESTATE.vm_replica_points.values()}
    for row in replicated["tasks"]:
        assert row["vm_id"] == refs[row["vm_name"]]  # from the replication job's members, by reference
        assert (row["outcome"] == "failed") == (expected[row["vm_name"]].result == "Failed")
    computers = {ESTATE.discovered_computers[ESTATE.agent_session_computers[s.id]].name: s
                 for s in ESTATE.job_sessions.values() if s.parent_id == agent_run.id}
    assert {row["vm_name"] for row in agent["tasks"]} == set(computers) and len(computers) > 1
    for row in agent["tasks"]:
        assert row["job_session"] == computers[row["vm_name"]].id
        assert (row["outcome"] == "failed") == (row["vm_name"] == FACTS.failing_computer)
    # "Which machines failed?": the failing computer is a row of its own, marked as a computer, beside the VMs.
    failed = {row["vm_name"]: row for row in tasks["tasks"]}
    assert failed[FACTS.failing_computer]["agent"] is True and "vm_id" not in failed[FACTS.failing_computer]
    assert failed[FACTS.failing_computer]["job_session"] == FACTS.agent_failed_session_id


async def test_a_copy_run_that_started_before_the_window_is_said_not_made_a_job() -> None:
    """A window that starts inside a backup copy run: its workers ran in the window, its run started before it.
    No row named '<copy job>\\<source>' (not a job), and the note says what was left out and how to see it."""
    from .test_estate import call, connect

    parent = next(s for s in ESTATE.job_sessions.values() if s.job_type == "ImmediateBackupCopy")
    workers = [s for s in ESTATE.job_sessions.values() if s.parent_id == parent.id]
    after = datetime_of(parent.creation_ticks) + timedelta(seconds=1)
    before = datetime_of(max(w.creation_ticks for w in workers)) + timedelta(seconds=1)
    assert all(datetime_of(w.creation_ticks) >= after for w in workers)
    async with connect() as client:
        answer = await call(client, "find_job_sessions", {"created_after": after.isoformat(),
                                                          "created_before": before.isoformat()})
    assert not any("\\" in row["job_name"] for row in answer["sessions"]), answer["sessions"]
    assert f"{len(workers)} copy worker session(s) of {parent.job_name} ran in the window" in answer["note"]


async def test_a_pending_task_has_no_start() -> None:
    from .test_estate import call, connect  # the in-process client over the same estate

    running = ESTATE.job_sessions[FACTS.running_session_id]
    pending = [ESTATE.task_sessions[t] for t in running.task_ids if ESTATE.task_sessions[t].state == "Pending"]
    assert pending
    async with connect() as client:
        answer = await call(client, "find_task_sessions", {"newest_per_vm": False, "job_name": running.job_name,
                                                            "created_after": "2020-01-01", "page_size": 200})
    rows = {row["job_session"] + row["vm_name"]: row for row in answer["tasks"]}
    for task in pending:
        row = rows[task.job_session_id + task.vm_name]
        assert row["state"] == "Pending" and "start" not in row


async def test_jobs_that_run_within_hours_without_members() -> None:
    from .test_estate import call, connect

    async with connect() as client:
        soon = await call(client, "list_jobs", {"runs_within_hours": 12, "members": False})
    now = datetime.now(UTC)
    assert soon["jobs"], "some job runs within 12 hours"
    for row in soon["jobs"]:
        assert "members" not in row
        assert now <= datetime.fromisoformat(row["next_run"]) <= now + timedelta(hours=12, minutes=1)
    times = [row["next_run"] for row in soon["jobs"]]
    assert times == sorted(times), "soonest first"


async def test_an_em_without_agent_queries_says_so_and_asks_once() -> None:
    # An EM older than Veeam Agent management answers `type=AgentBackupJob` with 400: list_jobs and the report
    # say what they could not cover, and the type is not asked again (list_jobs and the report share one read).
    import dataclasses

    import httpx

    from veeam_em_mcp.simulator.app import create_app
    from veeam_em_mcp.simulator.config import SimulatorConfig
    from veeam_em_mcp.simulator.registry import Registry
    from veeam_em_mcp.simulator.registry.table import ROWS
    from veeam_em_mcp.surface.server import build_server

    from .conftest import make_settings
    from .test_estate import call

    rows = [dataclasses.replace(row, query=None) if row.type_name == "AgentBackupJob" else row for row in ROWS]
    app = create_app(SimulatorConfig(), ESTATE, Registry(rows))
    server = build_server(make_settings(), transport=httpx.ASGITransport(app=app), retry_base_delay=0.01)
    async with Client(server) as client:
        jobs = await call(client, "list_jobs", {"members": False})
        report = await call(client, "protection_report", {})
        again = await call(client, "list_jobs", {"members": False})
    asked = [url for _, url in app.state.sim.request_log if "type=AgentBackupJob" in url]
    assert len(asked) == 1, asked
    assert "Veeam Agent jobs are not listed: this EM's query service has none." in str(jobs)
    assert "Veeam Agent jobs are not listed" in str(again)
    assert WINDOWS_AGENT_JOB not in {row["name"] for row in jobs["jobs"]}
    assert "Computers protected by Veeam Agent are not in the report" in str(report)
