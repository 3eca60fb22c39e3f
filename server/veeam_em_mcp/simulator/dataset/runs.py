"""Running the jobs: per run the job session, its task sessions, automatic retries of the failed VMs and, exactly
where a task succeeded or warned, the RestorePoint, BackupFile and VmRestorePoints (the copy job's runs are in
copy_runs.py).

Pass 1 (`plan_runs`) lays out every run's times before any outcome is drawn; pass 2 (`run_backup_job`) draws the
outcomes, except where a seeded scenario (scenarios.py) decides them, in a fixed order so the RNG stream, and with
it the estate, is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .builder import Builder
from .clock import (
    TICKS_PER_HOUR,
    TICKS_PER_MINUTE,
    TICKS_PER_SECOND,
    datetime_of,
    days_from,
    iso_utc,
    name_stamp,
    ticks_of,
    to_second,
)
from .estate import (
    JobSpec,
    chain_role,
)
from .records import (
    Backup,
    Job,
    JobSession,
    TaskSession,
    Vm,
    VmRestorePoint,
    worst,
)
from .scenarios import (
    ALL_FAILED,
    LAST_TWO_FAILED,
    LAST_TWO_FAILED_VM,
    RANDOM_FAILURE_RATE,
    RANDOM_WARNING_RATE,
    REASON_NETWORK,
    REASON_OUT_OF_SPACE,
    REASON_QUIESCE,
    REASON_SNAPSHOT_HYPERV,
    REASON_SNAPSHOT_VMWARE,
    REASON_VDDK,
    RETRY_CHAIN,
    RETRY_ONCE_VM,
    RETRY_TIMES,
    RETRY_VM,
    RETRY_WAIT_MINUTES,
    SQL01_NEWEST_POINT_ID,
    SQL_LOG_WARNING,
    SQL_LOG_WARNING_VM,
    TWIN_SQL01_FAILURES,
    WARNING_CBT,
    WARNING_CHECKPOINT,
    WARNING_SQL_LOGS,
)


@dataclass(slots=True, kw_only=True)
class _Slot:
    """One VM's task in the first session of a run (planned in pass 1, before outcomes are drawn)."""

    vm: Vm
    start: int
    point: int
    end: int


@dataclass(slots=True, kw_only=True)
class _Run:
    start: int
    rp_offset: int
    file_offset: int
    slots: list[_Slot]
    end: int
    running: bool = False


@dataclass(slots=True)
class _Outcome:
    result: str
    reason: str = ""


def plan_runs(b: Builder, spec: JobSpec, job: Job) -> list[_Run]:
    """Pass 1: the runs whose first session finished inside the window (plus the one still running)."""
    g = b.g
    minute = job.schedule_minute
    assert minute is not None
    window_start = b.anchor - timedelta(days=b.days)
    disabled_at = b.anchor - timedelta(days=3, hours=7)
    running_start = ticks_of(b.anchor - timedelta(minutes=25)) // TICKS_PER_MINUTE * TICKS_PER_MINUTE
    runs: list[_Run] = []
    for day in days_from(window_start - timedelta(days=1), b.anchor):
        start_dt = day + timedelta(minutes=minute)
        scheduled = ticks_of(start_dt)
        start = scheduled + g.rng.randint(2, 9) * TICKS_PER_SECOND + g.rng.randrange(1000) * 10_000
        running = spec.when == "running" and scheduled == running_start
        rp_offset = g.seconds(15, 45)
        file_offset = g.seconds(3, 12)
        cursor = start + 20 * TICKS_PER_SECOND
        slots: list[_Slot] = []
        for vm in b.job_vms.get(job.id, ()):
            if vm.added_ticks > start:
                continue
            task_start = cursor + g.seconds(1, 10)
            duration = g.seconds(360, 540) if running else g.rng.randint(40, 300) * TICKS_PER_SECOND
            point = to_second(task_start + duration) - g.rng.randint(4, 15) * TICKS_PER_SECOND + g.subsecond()
            end = task_start + duration + g.rng.randrange(1000) * 10_000
            slots.append(_Slot(vm=vm, start=task_start, point=point, end=end))
            cursor = end
        end = cursor + g.seconds(3, 15)
        if start_dt < window_start or not slots:
            continue
        if not spec.enabled and start_dt >= disabled_at:
            continue
        if not running and end > b.anchor_ticks:
            continue
        if start > b.anchor_ticks:
            continue
        runs.append(_Run(start=start, rp_offset=rp_offset, file_offset=file_offset, slots=slots, end=end,
                         running=running))
    return runs


def _scripted(b: Builder, spec: JobSpec, r: int, n: int, vm: Vm, attempt: int) -> _Outcome | None:
    """The seeded scenarios: the outcome of `vm` in attempt `attempt` (0 = first session) of run r of n."""
    name = vm.name
    if vm is b.twin_failing and TWIN_SQL01_FAILURES.shapes(spec.name, r, n):
        return _Outcome("Failed", b.reason(REASON_VDDK, vm))
    if b.twin_steady and any(vm is steady for steady in b.twin_steady):
        return _Outcome("Success")
    if name == LAST_TWO_FAILED_VM and LAST_TWO_FAILED.shapes(spec.name, r, n):
        return _Outcome("Failed", b.reason(REASON_QUIESCE, vm))
    if RETRY_CHAIN.shapes(spec.name, r, n):
        if name == RETRY_VM:
            if attempt < 2:
                return _Outcome("Failed", b.reason(REASON_NETWORK, vm))
            return _Outcome("Success")
        if name == RETRY_ONCE_VM:
            # Fails once, then the first retry processes it.
            if attempt == 0:
                return _Outcome("Failed", b.reason(REASON_SNAPSHOT_VMWARE, vm))
            return _Outcome("Success")
    if ALL_FAILED.shapes(spec.name, r, n):
        if attempt == 0:
            return _Outcome("Failed", b.reason(REASON_OUT_OF_SPACE, vm))
        return _Outcome("Success")
    if name == SQL_LOG_WARNING_VM and SQL_LOG_WARNING.shapes(spec.name, r, n) and attempt == 0:
        return _Outcome("Warning", b.reason(WARNING_SQL_LOGS, vm))
    return None


def _random_outcome(b: Builder, vm: Vm) -> _Outcome:
    r = b.g.rng.random()
    if r < RANDOM_FAILURE_RATE:
        if vm.platform == "HyperV":
            text = REASON_SNAPSHOT_HYPERV
        else:
            text = (REASON_SNAPSHOT_VMWARE, REASON_NETWORK)[b.g.rng.randrange(2)]
        return _Outcome("Failed", b.reason(text, vm))
    if r < RANDOM_FAILURE_RATE + RANDOM_WARNING_RATE:
        if vm.platform == "HyperV":
            return _Outcome("Warning", b.reason(WARNING_CHECKPOINT, vm))
        return _Outcome("Warning", b.reason(WARNING_SQL_LOGS if vm.name.startswith("sql") else WARNING_CBT,
                                            vm))
    return _Outcome("Success")


def run_backup_job(b: Builder, spec: JobSpec, job: Job) -> None:
    """Pass 2: sessions, tasks, retries and, where tasks succeeded, restore points and files."""
    g = b.g
    runs = plan_runs(b, spec, job)
    n = len(runs)
    backup = b.backups[job.backup_id]
    for r, run in enumerate(runs):
        role = chain_role(spec, r, n, datetime_of(run.start).weekday())
        # Random failures only where both retries still fit before the anchor (they always fix them).
        may_fail = not run.running and run.end + 2 * TICKS_PER_HOUR < b.anchor_ticks
        outcomes: dict[str, _Outcome] = {}
        for slot in run.slots:
            vm = slot.vm
            scripted = _scripted(b, spec, r, n, vm, 0)
            if scripted is not None:
                outcomes[vm.name] = scripted
            elif vm.name == "sql01" or not may_fail:
                # Never let sql01 fail (the RPO fact); the running run is shaped by hand.
                outcomes[vm.name] = _Outcome("Success")
            else:
                outcomes[vm.name] = _random_outcome(b, vm)
        if run.running:
            _running_session(b, spec, job, backup, run, role)
            continue
        session = b.session(job, run.start, run.end, False)
        tasks = [(slot.vm, slot.start, slot.end, slot.point, outcomes[slot.vm.name]) for slot in run.slots]
        _finish_session(b, spec, job, backup, session, tasks, role, run.rp_offset, run.file_offset,
                        newest=r == n - 1)
        chain = [session.id]
        failed = [slot.vm for slot in run.slots if outcomes[slot.vm.name].result == "Failed"]
        end = run.end
        for attempt in range(1, RETRY_TIMES + 1):
            if not failed:
                break
            start = end + RETRY_WAIT_MINUTES * TICKS_PER_MINUTE + g.seconds(5, 40)
            cursor = start + 20 * TICKS_PER_SECOND
            planned = []
            for vm in failed:
                task_start = cursor + g.seconds(1, 10)
                duration = g.rng.randint(40, 300) * TICKS_PER_SECOND
                point = to_second(task_start + duration) - g.rng.randint(4, 15) * TICKS_PER_SECOND + g.subsecond()
                task_end = task_start + duration + g.rng.randrange(1000) * 10_000
                outcome = _scripted(b, spec, r, n, vm, attempt)
                if outcome is None:
                    # A random failure: fixed by the first retry most of the time, by the second always.
                    outcome = _Outcome("Success") if attempt == 2 or g.rng.random() < 0.7 else _Outcome(
                        "Failed", outcomes[vm.name].reason)
                planned.append((vm, task_start, task_end, point, outcome))
                cursor = task_end
            end = cursor + g.seconds(3, 15)
            if end > b.anchor_ticks:
                break  # would still be running: the next retry happens after "now"
            retry = b.session(job, start, end, True)
            _finish_session(b, spec, job, backup, retry, planned, role, g.seconds(15, 45), g.seconds(3, 12),
                            newest=r == n - 1)
            chain.append(retry.id)
            failed = [vm for vm, *_, outcome in planned if outcome.result == "Failed"]
        if RETRY_CHAIN.shapes(spec.name, r, n):
            b.facts.retry_chain_session_ids = chain
        if ALL_FAILED.shapes(spec.name, r, n):
            b.facts.all_failed_session_id = session.id
        if LAST_TWO_FAILED.shapes(spec.name, r, n):
            b.facts.last_two_failed_task_ids += [
                tid for sid in chain[:1] for tid in b.job_sessions[sid].task_ids
                if b.task_sessions[tid].vm_name == LAST_TWO_FAILED_VM
            ]


def _finish_session(b: Builder, spec: JobSpec, job: Job, backup: Backup, session: JobSession,
                    tasks: list[tuple[Vm, int, int, int, _Outcome]], role: tuple[str, str, str],
                    rp_offset: int, file_offset: int, *, newest: bool) -> None:
    made: list[tuple[Vm, int, TaskSession]] = []
    for vm, start, end, point, outcome in tasks:
        ok = outcome.result != "Failed"
        # A failed task reports TotalSize 0 (EM 13 capture); a processed VM its provisioned size.
        task = b.task(session, vm, start=start, end=end, state="Completed", result=outcome.result,
                      reason=outcome.reason, total_size=vm.size_bytes if ok else 0)
        if ok:
            made.append((vm, point, task))
    session.result = worst([b.task_sessions[t].result or "Success" for t in session.task_ids])
    if made:
        _points(b, spec, job, backup, session, made, role, rp_offset, file_offset, newest=newest)


def _running_session(b: Builder, spec: JobSpec, job: Job, backup: Backup, run: _Run,
                     role: tuple[str, str, str]) -> None:
    """The session still Working at the anchor: two tasks done, one in progress, the rest pending."""
    session = b.session(job, run.start, None, False)
    session.progress = 0
    b.facts.running_session_id = session.id
    made: list[tuple[Vm, int, TaskSession]] = []
    for i, slot in enumerate(run.slots):
        vm = slot.vm
        if i < 2:
            task = b.task(session, vm, start=slot.start, end=slot.end, state="Completed", result="Success", reason="",
                          total_size=vm.size_bytes)
            made.append((vm, slot.point, task))
        elif i == 2:
            b.task(session, vm, start=slot.start, end=None, state="InProgress", result="Success", reason="",
                   total_size=vm.size_bytes)
        else:
            # Queued: created with the session, waiting for a proxy slot.
            b.task(session, vm, start=run.start + TICKS_PER_SECOND + slot.start % TICKS_PER_SECOND, end=None,
                   state="Pending", result=None, reason="", total_size=vm.size_bytes)
    session.progress = 100 * len(made) // max(1, len(run.slots))
    if made:
        _points(b, spec, job, backup, session, made, role, run.rp_offset, run.file_offset, newest=True)


def _points(b: Builder, spec: JobSpec, job: Job, backup: Backup, session: JobSession,
            made: list[tuple[Vm, int, TaskSession]], role: tuple[str, str, str], rp_offset: int,
            file_offset: int, *, newest: bool) -> None:
    """The job-level restore point, the backup file and one VmRestorePoint per processed VM of a session."""
    g = b.g
    server = b.servers[job.server_id]
    point_type, algorithm, ext = role
    rp_ticks = session.creation_ticks + rp_offset
    file_ticks = session.creation_ticks + file_offset
    rp = b.restore_point(backup, job, session, rp_ticks)
    local = datetime_of(file_ticks) + timedelta(hours=server.utc_offset_hours)
    file_name = f"{job.name}D{local:%Y-%m-%dT%H%M%S}_{g.hex4()}.{ext}"
    total_size = sum(vm.size_bytes for vm, _, _ in made)
    if ext == "vbk":
        data = int(total_size * g.rng.uniform(0.9, 1.0))
        dedup = round(g.rng.uniform(1.2, 2.2), 2)
        compress = round(g.rng.uniform(1.8, 2.6), 2)
    else:
        data = int(total_size * g.rng.uniform(0.02, 0.08))
        dedup = 1.0
        compress = round(g.rng.uniform(4.0, 7.5), 2)
    repo = b.repositories[job.repository_id]
    sep = "/" if "/" in repo.path else "\\"
    bf = b.backup_file(backup, job, name=file_name, path=f"{repo.path}{sep}{job.name}{sep}{file_name}",
                       ticks=file_ticks, ext=ext, data=data, dedup=dedup, compress=compress)
    for vm, point_ticks, task in made:
        pid = g.guid()
        if vm.name == "sql01" and newest and not session.is_retry and b.vms.get("sql01") is vm:
            pid = SQL01_NEWEST_POINT_ID
        vp = VmRestorePoint(
            id=pid,
            name=f"{vm.name}@{name_stamp(point_ticks)}",
            vm_name=vm.name,
            creation_time_utc=iso_utc(point_ticks),
            creation_ticks=point_ticks,
            algorithm=algorithm,
            point_type=point_type,
            hierarchy_obj_ref=vm.hierarchy_obj_ref,
            restore_point_id=rp.id,
            backup_file_id=bf.id,
            backup_server_id=job.server_id,
            job_id=job.id,
            backup_id=backup.id,
            task_session_id=task.id,
        )
        task.vm_point_id = pid
        b.vm_points[pid] = vp
        b.points_by_vm[b.vm_key(vm)].append(vp)
        rp.vm_point_ids.append(pid)
        bf.vm_point_ids.append(pid)
    b.keep_point(backup, rp, bf)
    session.restore_point_ids.append(rp.id)
