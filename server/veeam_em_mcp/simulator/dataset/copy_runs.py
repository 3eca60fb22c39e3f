"""The backup copy job's runs: per source run a parent session (Progress 0, as the real one reports) and one worker
session per source session that made points, with one task per copied VM (TotalSize 0, no `Related` link).

The copy's own Backup, restore points and copied VM points come later, from the coverage phase (coverage/copies.py).
"""

from __future__ import annotations

from .builder import Builder
from .clock import (
    TICKS_PER_DAY,
    TICKS_PER_HOUR,
)
from .records import (
    Job,
    JobSession,
    Vm,
    worst,
)


def run_copy_job(b: Builder, job: Job, source: Job) -> None:
    """Immediate backup copy of `source`: per source run a parent session (Progress 0) and one worker
    session per source session that produced points, with one task per copied VM (TotalSize 0)."""
    g = b.g
    worker_name = f"{job.name}\\{source.name}"
    by_ref = {vm.hierarchy_obj_ref: vm for vm in b.vms.values()}
    by_day: dict[int, list[JobSession]] = {}
    for sid in source.session_ids:
        s = b.job_sessions[sid]
        if s.restore_point_ids and s.end_ticks is not None:
            day = (s.creation_ticks - TICKS_PER_HOUR * 12) // TICKS_PER_DAY
            by_day.setdefault(day, []).append(s)
    for sessions in by_day.values():
        parent_start = sessions[0].creation_ticks - g.seconds(240, 360)
        workers: list[tuple[int, int, list[tuple[Vm, int, int]]]] = []
        for src in sessions:
            assert src.end_ticks is not None
            start = src.end_ticks + g.seconds(60, 180)
            cursor = start + g.seconds(5, 15)
            copies: list[tuple[Vm, int, int]] = []
            for tid in src.task_ids:
                task = b.task_sessions[tid]
                if task.vm_point_id is None:
                    continue
                task_start = cursor + g.seconds(1, 5)
                task_end = task_start + g.seconds(20, 90)
                copies.append((by_ref[task.vm_uid], task_start, task_end))
                cursor = task_end
            end = cursor + g.seconds(3, 10)
            if end <= b.anchor_ticks:
                workers.append((start, end, copies))
        if not workers:
            continue
        parent_end = workers[-1][1] + g.seconds(5, 30)
        if parent_end > b.anchor_ticks:
            continue
        parent = b.session(job, parent_start, parent_end, False, job_type="ImmediateBackupCopy")
        # The real copy parent reports Progress 0 although it is Stopped.
        parent.progress = 0
        results = []
        for start, end, copies in workers:
            worker = b.session(job, start, end, False, job_type="ImmediateBackupCopyWorker",
                               job_name=worker_name)
            worker.parent_id = parent.id
            for vm, task_start, task_end in copies:
                b.task(worker, vm, start=task_start, end=task_end, state="Completed", result="Success", reason="",
                       total_size=0)
            worker.result = worst([b.task_sessions[t].result or "Success" for t in worker.task_ids])
            results.append(worker.result)
        parent.result = worst(results)
