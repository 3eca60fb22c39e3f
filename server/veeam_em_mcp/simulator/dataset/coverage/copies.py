"""The backup copy job's own data: its sources (`LinkedJob`), its `Backup` in `Amazon S3 Copy`, and per
copy-worker session one RestorePoint + BackupFile holding a copied `VmRestorePoint` per successful worker task.

A part of the coverage phase (coverage/__init__.py), from its own RNG stream.
"""

from __future__ import annotations

import bisect
from datetime import timedelta

from ..clock import (
    datetime_of,
    iso_utc,
    name_stamp,
)
from ..coverage_records import (
    LinkedJob,
)
from ..records import Backup, Job, JobSession, TaskSession, Vm, VmRestorePoint
from ..scenarios import (
    COPY_JOB,
)
from .context import Coverage


def copies(c: Coverage) -> None:
    b, g, facts = c.b, c.g, c.b.facts
    job = next((j for j in b.jobs.values() if j.job_type == "ImmediateBackupCopy" and j.name == COPY_JOB), None)
    if job is None or not job.source_job_ids:
        return
    for source_id in job.source_job_ids:
        linked = LinkedJob(id=g.guid(), job_id=job.id, linked_job_id=source_id)
        c.data.linked_jobs[linked.id] = linked
    source = b.jobs[job.source_job_ids[0]]
    repo = b.repositories[job.repository_id]
    backup = Backup(id=g.guid(), name=job.name, server_id=job.server_id, repository_id=repo.id, job_id=job.id,
                    platform=source.platform, backup_type="Standard")
    b.backups[backup.id] = backup
    repo.backup_ids.append(backup.id)
    facts.copy_backup_id = backup.id
    by_ref = {vm.hierarchy_obj_ref: vm for vm in b.vms.values()}
    copied: set[str] = set()
    newest: dict[str, VmRestorePoint] = {}
    for sid in job.session_ids:
        worker = b.job_sessions[sid]
        if worker.job_type != "ImmediateBackupCopyWorker":
            continue
        tasks = [b.task_sessions[t] for t in worker.task_ids]
        done = [t for t in tasks if t.result in ("Success", "Warning") and t.end_ticks is not None]
        if done:
            for p in _copy_points(c, job, backup, worker, done, by_ref, copied):
                newest[p.vm_name] = p
    facts.copied_vms = list(newest)
    facts.newest_copy_by_vm = {name: p.creation_time_utc for name, p in newest.items()}
    facts.newest_copy_point_by_vm = {name: p.id for name, p in newest.items()}


def _copy_points(c: Coverage, job: Job, backup: Backup, worker: JobSession, done: list[TaskSession],
                 by_ref: dict[str, Vm], copied: set[str]) -> list[VmRestorePoint]:
    b, g = c.b, c.g
    server = b.servers[job.server_id]
    repo = b.repositories[backup.repository_id]
    first = [t.vm_uid not in copied for t in done]
    ext = "vbk" if any(first) else "vib"
    rp_ticks = min(t.end_ticks or 0 for t in done)
    file_ticks = worker.creation_ticks + g.seconds(3, 12)
    rp = b.restore_point(backup, job, worker, rp_ticks)
    local = datetime_of(file_ticks) + timedelta(hours=server.utc_offset_hours)
    file_name = f"{job.name}D{local:%Y-%m-%dT%H%M%S}_{g.hex4()}.{ext}"
    total = sum(by_ref[t.vm_uid].size_bytes for t in done)
    data = int(total * (g.rng.uniform(0.9, 1.0) if ext == "vbk" else g.rng.uniform(0.02, 0.08)))
    dedup = round(g.rng.uniform(1.2, 2.2), 2) if ext == "vbk" else 1.0
    compress = round(g.rng.uniform(1.8, 2.6), 2) if ext == "vbk" else round(g.rng.uniform(4.0, 7.5), 2)
    bf = b.backup_file(backup, job, name=file_name, path=f"{repo.path}/{job.name}/{file_name}", ticks=file_ticks,
                       ext=ext, data=data, dedup=dedup, compress=compress)
    made = []
    for task, full in zip(done, first, strict=True):
        vm = by_ref[task.vm_uid]
        end = task.end_ticks or 0
        vp = VmRestorePoint(
            id=g.guid(),
            name=f"{vm.name}@{name_stamp(end)}",
            vm_name=vm.name,
            creation_time_utc=iso_utc(end),
            creation_ticks=end,
            algorithm="Full" if full else "Incremental",
            point_type="Full" if full else "Increment",
            hierarchy_obj_ref=vm.hierarchy_obj_ref,
            restore_point_id=rp.id,
            backup_file_id=bf.id,
            backup_server_id=job.server_id,
            job_id=job.id,
            backup_id=backup.id,
            task_session_id=task.id,
        )
        copied.add(task.vm_uid)
        b.vm_points[vp.id] = vp
        points = b.points_by_vm[b.vm_key(vm)]
        bisect.insort(points, vp, key=lambda p: p.creation_ticks)
        rp.vm_point_ids.append(vp.id)
        bf.vm_point_ids.append(vp.id)
        made.append(vp)
    b.keep_point(backup, rp, bf)
    return made
