"""The whole estate in the dataset: sessions and tasks consistent with the restore points, automatic retries,
the running session, the backup copy job, includes, repositories, failure texts, and every new fixed fact
(docs/simulator-contract.md), for several anchors."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.simulator.dataset.clock import ticks_of
from veeam_em_mcp.simulator.dataset.records import JobSession
from veeam_em_mcp.simulator.dataset.scenarios import (
    ALL_FAILED,
    COPY_JOB,
    DISABLED_JOB,
    FOLDER_JOB,
    FOLDER_NAME,
    FOLDER_ONLY_VM,
    LAST_TWO_FAILED,
    LAST_TWO_FAILED_VM,
    NEVER_BACKED_UP_VM,
    REASON_QUIESCE,
    RETRY_CHAIN,
    RETRY_JOB,
    RETRY_VM,
    RUNNING_JOB,
    SQL01_NEWEST_POINT_ID,
)
from veeam_em_mcp.simulator.fields import parse_date_ticks

HOUR = 3600 * 10_000_000
ANCHORS = [
    datetime(2025, 10, 21, 9, 0, tzinfo=UTC),
    datetime(2025, 10, 21, 0, 0, tzinfo=UTC),
    datetime(2025, 10, 21, 2, 37, 11, tzinfo=UTC),
    datetime(2026, 3, 1, 23, 0, tzinfo=UTC),
    # Just after the folder job's and the retry job's daily starts (20:30 and 22:00 UTC).
    datetime(2025, 10, 21, 20, 41, tzinfo=UTC),
    datetime(2025, 10, 21, 22, 12, tzinfo=UTC),
]
ORDER = ("Success", "Warning", "Failed")


@pytest.fixture(scope="module", params=ANCHORS, ids=lambda a: a.strftime("%H%M%S"))
def estate(request: pytest.FixtureRequest) -> Dataset:
    return build_dataset(anchor=request.param)


def job_named(ds: Dataset, name: str) -> str:
    return next(j.id for j in ds.jobs.values() if j.name == name)


def sessions_of(ds: Dataset, job_name: str) -> list[JobSession]:
    return sorted((s for s in ds.job_sessions.values() if s.job_id == job_named(ds, job_name)),
                  key=lambda s: s.creation_ticks)


def test_a_point_exists_exactly_where_a_backup_task_succeeded_or_warned(estate: Dataset) -> None:
    ds = estate
    for t in ds.task_sessions.values():
        session = ds.job_sessions[t.job_session_id]
        made = session.job_type == "Backup" and t.state == "Completed" and t.result in ("Success", "Warning")
        assert (t.vm_point_id is not None) == made, t
        if t.vm_point_id is not None:
            point = ds.vm_restore_points[t.vm_point_id]
            assert point.task_session_id == t.id and point.vm_name == t.vm_name
            assert point.hierarchy_obj_ref == t.vm_uid == ds.vms[t.vm_name].hierarchy_obj_ref
            # The point is taken while the task runs, and belongs to its session's job-level restore point.
            assert t.creation_ticks < point.creation_ticks < (t.end_ticks or ticks_of(ds.anchor))
            assert point.restore_point_id in session.restore_point_ids
    for p in ds.vm_restore_points.values():
        task = ds.task_sessions[p.task_session_id]
        if ds.job_sessions[task.job_session_id].job_type == "ImmediateBackupCopyWorker":
            # A copy (coverage phase): made when the copy task ended; the task keeps no link to it (real HAE12).
            assert task.vm_point_id is None and p.creation_ticks == task.end_ticks and p.vm_name == task.vm_name
            continue
        assert task.vm_point_id == p.id
    for rp in ds.restore_points.values():
        session = ds.job_sessions[rp.job_session_id]
        assert rp.job_id == session.job_id
        # A copy worker session has no Related restore-point links: its points' RestorePoint is not listed there.
        assert (rp.id in session.restore_point_ids) == (session.job_type != "ImmediateBackupCopyWorker")
        assert {ds.vm_restore_points[i].task_session_id for i in rp.vm_point_ids} <= set(session.task_ids)


def test_sessions_are_shaped_like_ems(estate: Dataset) -> None:
    ds = estate
    anchor = ticks_of(ds.anchor)
    for s in ds.job_sessions.values():
        if s.job_type.startswith("Agent"):
            continue  # agent sessions have no task sessions (test_sim_coverage.py)
        assert s.name == f"{s.job_name}@{s.creation_time_utc[:10]} {s.creation_time_utc[11:19]}"
        assert parse_date_ticks(s.creation_time_utc) == s.creation_ticks <= anchor
        tasks = [ds.task_sessions[t] for t in s.task_ids]
        if s.state == "Stopped":
            assert s.end_time_utc is not None and s.end_ticks is not None
            assert parse_date_ticks(s.end_time_utc) == s.end_ticks
            assert s.creation_ticks < s.end_ticks <= anchor
            assert all(s.creation_ticks <= t.creation_ticks < (t.end_ticks or 0) <= s.end_ticks for t in tasks)
        if s.job_type == "ImmediateBackupCopy":
            continue  # the copy parent has no tasks: its result is its workers' (tested below)
        assert tasks, s.name
        if s.state == "Stopped":
            assert s.result == max((t.result or "Success" for t in tasks), key=ORDER.index)
        for t in tasks:
            assert t.name == f"{t.vm_name}@{t.creation_time_utc[:10]} {t.creation_time_utc[11:19]}"
            assert t.job_name == s.job_name and t.job_id == s.job_id and t.server_id == s.server_id
            if t.result == "Success" and t.state == "Completed":
                assert t.reason == ""
    # One backup job session per job run: per job, the first sessions of the runs are one a day.
    for job in ds.jobs.values():
        firsts = [ds.job_sessions[i] for i in job.session_ids
                  if not ds.job_sessions[i].is_retry and ds.job_sessions[i].job_type == "Backup"]
        days = [s.creation_time_utc[:10] for s in firsts]
        assert len(days) == len(set(days)), job.name


def test_retries_process_exactly_the_failed_vms(estate: Dataset) -> None:
    ds = estate
    for job in ds.jobs.values():
        if job.job_type != "Backup":
            continue
        sessions = [ds.job_sessions[i] for i in job.session_ids]
        for before, retry in itertools.pairwise(sessions):
            if not retry.is_retry:
                continue
            failed = {ds.task_sessions[t].vm_name for t in before.task_ids
                      if ds.task_sessions[t].result == "Failed"}
            assert {ds.task_sessions[t].vm_name for t in retry.task_ids} == failed
            # VBR waits RetryTimeout (10 minutes) before a retry.
            assert before.end_ticks is not None and retry.creation_ticks - before.end_ticks >= 10 * 60 * 10**7
    retries = [s for s in ds.job_sessions.values() if s.is_retry]
    assert any(s.result == "Success" for s in retries) and any(s.result == "Failed" for s in retries)


def test_failed_then_failed_retry_then_successful_retry(estate: Dataset) -> None:
    ds = estate
    chain = [ds.job_sessions[i] for i in ds.facts.retry_chain_session_ids]
    assert [(s.job_name, s.is_retry, s.result) for s in chain] == [
        (RETRY_JOB, False, "Failed"), (RETRY_JOB, True, "Failed"), (RETRY_JOB, True, "Success")]
    vm_tasks = [next(ds.task_sessions[t] for t in s.task_ids if ds.task_sessions[t].vm_name == RETRY_VM)
                for s in chain]
    assert [t.result for t in vm_tasks] == ["Failed", "Failed", "Success"]
    assert all("Failed to connect to the agent's endpoint" in t.reason for t in vm_tasks[:2])
    point_id = vm_tasks[2].vm_point_id
    assert point_id is not None and ds.vm_restore_points[point_id] in ds.points_by_vm[RETRY_VM]
    assert ds.vm_restore_points[point_id].restore_point_id in chain[2].restore_point_ids
    # The first session's other VMs made points; the failed VM made none there.
    assert chain[0].restore_point_ids and vm_tasks[0].vm_point_id is None


def test_a_session_in_which_every_vm_failed_makes_no_restore_point(estate: Dataset) -> None:
    ds = estate
    session = ds.job_sessions[ds.facts.all_failed_session_id]
    tasks = [ds.task_sessions[t] for t in session.task_ids]
    assert session.job_name == RUNNING_JOB and len(tasks) >= 2
    assert {t.result for t in tasks} == {"Failed"}
    assert all("not enough space on the disk" in t.reason for t in tasks)
    assert session.restore_point_ids == []
    assert all(rp.job_session_id != session.id for rp in ds.restore_points.values())
    files = [f for f in ds.backup_files.values() if f.backup_id == ds.jobs[session.job_id].backup_id]
    assert all(session.creation_ticks > f.creation_ticks or f.creation_ticks > session.end_ticks  # type: ignore
               for f in files)


def test_the_vm_whose_last_two_runs_failed(estate: Dataset) -> None:
    ds = estate
    tasks = [ds.task_sessions[t] for t in ds.facts.last_two_failed_task_ids]
    assert len(tasks) == LAST_TWO_FAILED.runs == 2 and all(t.vm_name == LAST_TWO_FAILED_VM for t in tasks)
    assert all(t.result == "Failed" and t.reason == REASON_QUIESCE.replace("{vm}", LAST_TWO_FAILED_VM)
               for t in tasks)
    vm_tasks = sorted((t for t in ds.task_sessions.values() if t.vm_name == LAST_TWO_FAILED_VM
                       and ds.job_sessions[t.job_session_id].job_type == "Backup"),
                      key=lambda t: t.creation_ticks)
    last_runs = {ds.task_sessions[i].job_session_id for i in ds.facts.last_two_failed_task_ids}
    assert all(t.result == "Failed" for t in vm_tasks if t.creation_ticks >= min(
        ds.job_sessions[s].creation_ticks for s in last_runs))
    # Its newest point is older than a day (misses a 24 h RPO), though the job ran since.
    newest = ds.points_by_vm[LAST_TWO_FAILED_VM][-1]
    assert ticks_of(ds.anchor) - newest.creation_ticks > 24 * HOUR
    assert vm_tasks[-1].creation_ticks > newest.creation_ticks


def test_the_scenario_table_names_the_runs_shaped(estate: Dataset) -> None:
    """Each scenario's run, counted back from its job's newest first attempt, is the one its fact names."""
    ds = estate

    def first_attempts(job_name: str) -> list[str]:
        job = next(j for j in ds.jobs.values() if j.name == job_name)
        return [s for s in job.session_ids if not ds.job_sessions[s].is_retry]

    assert first_attempts(RETRY_CHAIN.job)[-RETRY_CHAIN.from_end] == ds.facts.retry_chain_session_ids[0]
    assert first_attempts(ALL_FAILED.job)[-ALL_FAILED.from_end] == ds.facts.all_failed_session_id
    last_two = first_attempts(LAST_TWO_FAILED.job)[-LAST_TWO_FAILED.from_end :]
    assert [ds.task_sessions[t].job_session_id for t in ds.facts.last_two_failed_task_ids] == last_two


def test_the_running_session(estate: Dataset) -> None:
    ds = estate
    working = [s for s in ds.job_sessions.values() if s.state == "Working"]
    assert [s.id for s in working] == [ds.facts.running_session_id]
    s = working[0]
    assert s.job_name == RUNNING_JOB and s.end_ticks is None and s.result is None and not s.is_retry
    assert 0 < ticks_of(ds.anchor) - s.creation_ticks < HOUR
    tasks = [ds.task_sessions[t] for t in s.task_ids]
    assert Counter(t.state for t in tasks) == {"Completed": 2, "InProgress": 1, "Pending": 1}
    for t in tasks:
        assert (t.end_ticks is None) == (t.state != "Completed")
        assert (t.vm_point_id is not None) == (t.state == "Completed")
    # The points of the finished tasks are the newest of their VMs.
    for t in tasks:
        if t.vm_point_id is not None:
            assert ds.points_by_vm[t.vm_name][-1].id == t.vm_point_id
    assert s.restore_point_ids and 0 < s.progress < 100


def test_the_backup_copy_job(estate: Dataset) -> None:
    ds = estate
    copy = next(j for j in ds.jobs.values() if j.name == COPY_JOB)
    source = ds.jobs[copy.source_job_ids[0]]
    assert copy.job_type == "ImmediateBackupCopy" and source.name == RETRY_JOB
    sessions = [ds.job_sessions[i] for i in copy.session_ids]
    parents = [s for s in sessions if s.job_type == "ImmediateBackupCopy"]
    workers = [s for s in sessions if s.job_type == "ImmediateBackupCopyWorker"]
    assert parents and workers and len(parents) + len(workers) == len(sessions)
    assert all(p.progress == 0 and p.state == "Stopped" and p.task_ids == [] for p in parents)
    for w in workers:
        assert w.job_name == f"{COPY_JOB}\\{RETRY_JOB}" and "\\" in w.name and w.progress == 100
        assert w.parent_id in {p.id for p in parents}
        for t in (ds.task_sessions[i] for i in w.task_ids):
            assert t.total_size == 0 and t.vm_point_id is None and t.vm_name in source.vm_names
    for p in parents:
        mine = [w for w in workers if w.parent_id == p.id]
        assert p.result == max((w.result or "Success" for w in mine), key=ORDER.index)
        assert all(p.creation_ticks < w.creation_ticks and w.end_ticks <= p.end_ticks  # type: ignore[operator]
                   for w in mine)
    copied = {ds.task_sessions[t].vm_name for w in workers for t in w.task_ids}
    assert "sql01" not in copied
    assert ds.points_by_vm["sql01"][-1].id == SQL01_NEWEST_POINT_ID


def test_includes_folder_and_the_vm_without_points(estate: Dataset) -> None:
    ds = estate
    folder_job = job_named(ds, FOLDER_JOB)
    includes = [ds.objects_in_job[o] for o in ds.jobs[folder_job].object_ids]
    folders = [o for o in includes if ":Folder:" in o.hierarchy_obj_ref]
    assert [o.name for o in folders] == [FOLDER_NAME]
    assert re.match(r"^urn:VMware:Folder:[0-9a-f-]{36}\.group-v\d+$", folders[0].hierarchy_obj_ref)
    assert FOLDER_ONLY_VM in folders[0].vm_names
    assert any(":Vm:" in o.hierarchy_obj_ref for o in includes)  # and at least one VM by name
    # print01 is protected only through the folder: no include carries its name, yet it has points.
    assert all(o.name != FOLDER_ONLY_VM for o in ds.objects_in_job.values())
    assert ds.points_by_vm[FOLDER_ONLY_VM]
    assert ds.vms[FOLDER_ONLY_VM].object_in_job_id == folders[0].id
    # crm01 is in a job by name but has never been processed.
    crm = [o for o in ds.objects_in_job.values() if o.name == NEVER_BACKED_UP_VM]
    assert len(crm) == 1 and ":Vm:" in crm[0].hierarchy_obj_ref
    assert ds.points_by_vm[NEVER_BACKED_UP_VM] == []
    assert all(t.vm_name != NEVER_BACKED_UP_VM for t in ds.task_sessions.values())
    assert NEVER_BACKED_UP_VM not in ds.vm_names()
    # Every VM of a backup job is covered by exactly the include that names it or its folder.
    for vm in ds.vms.values():
        assert vm.name in ds.objects_in_job[vm.object_in_job_id].vm_names
        assert ds.objects_in_job[vm.object_in_job_id].job_id == vm.job_id
    orders = [[ds.objects_in_job[o].order for o in j.object_ids] for j in ds.jobs.values()]
    assert all(o == list(range(len(o))) for o in orders)


def test_repositories(estate: Dataset) -> None:
    repos = list(estate.repositories.values())
    s3 = [r for r in repos if r.kind == "AmazonS3Compatible"]
    assert len(s3) == 1 and (s3[0].capacity, s3[0].free_space) == (-1, -1)
    full = [r for r in repos if r.capacity > 0 and (r.capacity - r.free_space) / r.capacity > 0.95]
    assert [r.kind for r in full] == ["DDBoost"]
    [sobr] = [r for r in repos if r.kind == "Extendable"]
    extents = [estate.repositories[i] for i in sobr.extent_ids]
    assert len(extents) == 2 and all(e.scale_out_id == sobr.id for e in extents)
    assert sobr.capacity == sum(e.capacity for e in extents) and sobr.free_space == sum(e.free_space for e in extents)
    assert {r.kind for r in repos} <= {"WindowsLocal", "LinuxLocal", "DDBoost", "Extendable", "AmazonS3Compatible"}
    # Backups live where their job writes: the scale-out repository holds the web job's backup, extents none.
    assert all(not e.backup_ids for e in extents) and sobr.backup_ids
    for b in estate.backups.values():
        assert b.id in estate.repositories[b.repository_id].backup_ids


def test_failure_and_warning_texts_and_sizes(estate: Dataset) -> None:
    ds = estate
    reasons = [t for t in ds.task_sessions.values() if t.result in ("Failed", "Warning")]
    for t in reasons:
        kind = "Error" if t.result == "Failed" else "Warning"
        assert t.reason.startswith(f"Processing {t.vm_name} {kind}: ") and len(t.reason) > 120, t.reason
    texts = " ".join(t.reason for t in reasons)
    for needle in ("quiescing the virtual machine", "Failed to create VM snapshot", "not enough space on the disk",
                   "Failed to connect to the agent's endpoint"):
        assert needle in texts, needle
    for t in ds.task_sessions.values():
        session = ds.job_sessions[t.job_session_id]
        if session.job_type == "ImmediateBackupCopyWorker" or t.result == "Failed":
            assert t.total_size == 0
        else:
            assert t.total_size == ds.vms[t.vm_name].size_bytes


def test_sql01_and_fileserver02_facts_hold_with_sessions(estate: Dataset) -> None:
    ds = estate
    sql = [t for t in ds.task_sessions.values() if t.vm_name == "sql01"]
    assert sql and all(t.result == "Success" for t in sql)
    assert ds.task_sessions[ds.points_by_vm["sql01"][-1].task_session_id].vm_point_id == SQL01_NEWEST_POINT_ID
    disabled = ds.jobs[job_named(ds, DISABLED_JOB)]
    newest_run = max(ds.job_sessions[i].creation_ticks for i in disabled.session_ids)
    assert ticks_of(ds.anchor) - newest_run > 72 * HOUR
    assert not disabled.schedule_enabled and disabled.next_run is None


def test_small_estates_hold_together() -> None:
    for vm_count, days in ((1, 1), (5, 7), (12, 10)):
        ds = build_dataset(vm_count=vm_count, days=days, anchor=datetime(2025, 10, 21, 9, tzinfo=UTC))
        assert len(ds.vms) == vm_count
        assert ds.points_by_vm["sql01"][-1].id == SQL01_NEWEST_POINT_ID
        for t in ds.task_sessions.values():
            assert t.job_session_id in ds.job_sessions and t.vm_name in ds.vms
        if vm_count == 1:
            assert [j.name for j in ds.jobs.values()] == ["SQL Backup"]


def test_scale_5000_vms() -> None:
    ds = build_dataset(vm_count=5000, days=30, anchor=datetime(2025, 10, 21, 9, tzinfo=UTC))
    assert len(ds.vms) == 5000
    assert 140_000 < len(ds.vm_restore_points) < 160_000
    assert 140_000 < len(ds.task_sessions) < 160_000
    # A run a day per job (about 200 jobs), plus the retries of the ~1.2 % random failures.
    assert 6_000 < len(ds.job_sessions) < 10_000
    assert sum(s.is_retry for s in ds.job_sessions.values()) > 1_000
    # Random failures are all fixed by a retry, so every VM of the extra jobs has a point per run.
    vm = ds.vms["vm00031"]
    assert len(ds.points_by_vm[vm.name]) >= 29
    assert ticks_of(ds.anchor) - ds.points_by_vm["sql01"][-1].creation_ticks < 24 * HOUR
    oldest = min(p.creation_ticks for p in ds.vm_restore_points.values())
    assert oldest >= ticks_of(ds.anchor - timedelta(days=30))
