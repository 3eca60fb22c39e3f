"""``services.runs.runs_of``: sessions folded into runs, a copy job's workers and an agent job's computers into the
run they belong to, told apart by backup server and by job (never by a name alone)."""

from __future__ import annotations

import itertools

from veeam_em_mcp.models.resources import Ref
from veeam_em_mcp.representation.fields import JobSessionFields
from veeam_em_mcp.services.runs import Run, runs_of

_ids = itertools.count(1)


def session(
    job: str, name: str, server: str, start: str, end: str | None, *, job_type: str = "BackupCopy",
    retry: bool = False, job_name: str | None = None,
) -> JobSessionFields:
    number = next(_ids)
    guid = f"00000000-0000-0000-0000-{number:012d}"
    return JobSessionFields(
        key=guid, id=guid, name=name, job_name=job_name or name.rsplit("@", 1)[0], job_uid=f"urn:veeam:Job:{job}",
        job_type=job_type, creation_time=start, state="Stopped" if end else "Working", result="Success" if end else None,
        failure_message=None, backup_server=Ref(name=server, href=f"/api/backupServers/{server}"), job=None,
        end_time=end, is_retry=retry,
    )


def by_start(runs: list[Run]) -> dict[tuple[str, str | None], Run]:
    return {(run.key, run.start): run for run in runs}


def test_workers_join_the_copy_run_of_their_job_name_server_and_time_span() -> None:
    """Two copy jobs named alike on two backup servers, two runs each: every worker joins the run of its own
    server whose span holds its start; a worker whose run started before the sessions read joins none."""
    job_a, job_b = "aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"
    a1 = session(job_a, "Copy Job", "vbr01", "2026-12-01T00:00:00Z", "2026-12-01T06:00:00Z")
    a2 = session(job_a, "Copy Job", "vbr01", "2026-12-01T12:00:00Z", None)
    b1 = session(job_b, "Copy Job", "vbr02", "2026-12-01T00:00:00Z", "2026-12-01T06:00:00Z")
    worker = "ImmediateBackupCopyWorker"
    w_a1 = session(job_a, "Copy Job\\Backup Job 1", "vbr01", "2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z",
                   job_type=worker)
    w_a2 = session(job_a, "Copy Job\\Backup Job 2", "vbr01", "2026-12-01T13:00:00Z", None, job_type=worker)
    w_b1 = session(job_b, "copy job\\Backup Job 1", "vbr02", "2026-12-01T03:00:00Z", "2026-12-01T07:00:00Z",
                   job_type=worker)
    early = session(job_a, "Copy Job\\Backup Job 3", "vbr01", "2026-11-30T23:00:00Z", "2026-11-30T23:30:00Z",
                    job_type=worker)
    other = session("cccccccc-0000-0000-0000-000000000003", "Backup Job 1", "vbr01", "2026-12-01T00:30:00Z",
                    "2026-12-01T01:00:00Z", job_type="Backup")
    left: list[JobSessionFields] = []
    runs = runs_of([w_b1, other, a2, early, w_a1, b1, w_a2, a1], started_before=left)  # any order
    assert [run.start for run in runs] == sorted((run.start for run in runs), reverse=True)  # newest first
    found = by_start(runs)
    assert found[(job_a, a1.creation_time)].workers == [w_a1]
    assert found[(job_a, a2.creation_time)].workers == [w_a2]
    assert found[(job_a, a2.creation_time)].end is None, "a run whose worker still runs has not ended"
    assert found[(job_b, b1.creation_time)].workers == [w_b1], "the worker of vbr02's job, not vbr01's"
    assert found[(job_b, b1.creation_time)].end == "2026-12-01T07:00:00Z", "a run ends with its last worker"
    assert found[(other.job_uid.rsplit(":", 1)[1], other.creation_time)].workers == []
    assert left == [early]
    assert len(runs) == 4


def test_retries_and_agent_computers_join_their_own_jobs_run() -> None:
    """A retry joins its job's open run; an agent job's per-computer session joins the run of its own job whose
    attempt spans it, not another agent job's run at the same time."""
    agent_a, agent_b = "dddddddd-0000-0000-0000-000000000004", "eeeeeeee-0000-0000-0000-000000000005"
    first = session(agent_a, "Agents A", "vbr01", "2026-12-02T00:00:00Z", "2026-12-02T01:00:00Z", job_type="EpAgentBackup")
    retry = session(agent_a, "Agents A", "vbr01", "2026-12-02T01:10:00Z", "2026-12-02T02:00:00Z",
                    job_type="EpAgentBackup", retry=True)
    other = session(agent_b, "Agents B", "vbr01", "2026-12-02T00:00:00Z", "2026-12-02T03:00:00Z", job_type="EpAgentBackup")
    computer = "AgentManagement"
    pc_a = session(agent_a, "Agents A - pc01@2026-12-02 01:20:00", "vbr01", "2026-12-02T01:20:00Z",
                   "2026-12-02T01:40:00Z", job_type=computer, job_name="Agents A")
    pc_b = session(agent_b, "Agents B - pc02@2026-12-02 01:20:00", "vbr01", "2026-12-02T01:20:00Z",
                   "2026-12-02T01:50:00Z", job_type=computer, job_name="Agents B")
    outside = session(agent_a, "Agents A - pc03@2026-12-02 05:00:00", "vbr01", "2026-12-02T05:00:00Z",
                      "2026-12-02T05:10:00Z", job_type=computer, job_name="Agents A")
    runs = runs_of([pc_b, outside, retry, other, pc_a, first])
    found = by_start(runs)
    run_a, run_b = found[(agent_a, first.creation_time)], found[(agent_b, other.creation_time)]
    assert run_a.attempts == [first, retry] and run_a.computers == [pc_a]
    assert run_b.attempts == [other] and run_b.computers == [pc_b]
    assert len(runs) == 2, "the computer outside every attempt's span joins no run"
