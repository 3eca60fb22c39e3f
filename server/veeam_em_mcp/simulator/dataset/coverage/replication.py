"""`Hyper-V Replication` (JobType `Replica`, vbr02): its `Replica`, one `ReplicaJobSession` per run with a
`ReplicaTaskSession` per VM, and a `VmReplicaPoint` where a replica task succeeded (REPLICA_FAILURE shapes the
newest run).

A part of the coverage phase (coverage/__init__.py), from its own RNG stream.
"""

from __future__ import annotations

from ..clock import (
    iso_utc,
    name_stamp,
)
from ..coverage_records import (
    Replica,
    VmReplicaPoint,
)
from ..estate import JobSpec
from ..records import JobSession, TaskSession, worst
from ..runs import plan_runs
from ..scenarios import (
    REASON_REPLICA,
    REPLICA_FAILED_VM,
    REPLICA_FAILURE,
    REPLICA_JOB,
    REPLICA_VMS,
)
from .context import Coverage


def replication(c: Coverage) -> None:
    b, g, facts = c.b, c.g, c.b.facts
    vms = [b.vms[name] for name in REPLICA_VMS if name in b.vms and b.vms[name].platform == "HyperV"]
    if not vms or len(b.server_ids) < 2:
        return
    spec = JobSpec(name=REPLICA_JOB, platform="HyperV", server=1, repository="local1", method="forward",
                   full_mode="none", when="replica", enabled=True, job_type="Replica")
    job = b.make_job(spec, [vm.name for vm in vms])
    for vm in vms:
        vss = "RequireSuccess" if vm.name.startswith(("sql", "exch", "dc")) else "Disabled"
        b.include(job, vm.hierarchy_obj_ref, vm.name, vss).vm_names.append(vm.name)
    replica = Replica(id=g.guid(), name=job.name, server_id=job.server_id, repository_id=job.repository_id,
                      job_id=job.id, platform=job.platform)
    c.data.replicas[replica.id] = replica
    b.job_vms[job.id] = vms
    runs = plan_runs(b, spec, job)
    failing = next((vm for vm in vms if vm.name == REPLICA_FAILED_VM), vms[-1])
    seen: set[str] = set()
    data = c.data
    sessions, tasks, points = data.replica_sessions, data.replica_task_sessions, data.vm_replica_points
    for r, run in enumerate(runs):
        session = JobSession(
            id=g.guid(),
            name=f"{job.name}@{name_stamp(run.start)}",
            job_id=job.id,
            job_name=job.name,
            job_type="Replica",
            server_id=job.server_id,
            creation_time_utc=iso_utc(run.start),
            creation_ticks=run.start,
            end_time_utc=iso_utc(run.end),
            end_ticks=run.end,
            state="Stopped",
            result=None,
            progress=100,
            is_retry=False,
        )
        sessions[session.id] = session
        results = []
        for slot in run.slots:
            vm = slot.vm
            failed = REPLICA_FAILURE.shapes(job.name, r, len(runs)) and vm is failing
            result = "Failed" if failed else "Success"
            task = TaskSession(
                id=g.guid(),
                name=f"{vm.name}@{name_stamp(slot.start)}",
                job_session_id=session.id,
                job_id=job.id,
                job_name=job.name,
                server_id=job.server_id,
                vm_name=vm.name,
                vm_uid=vm.hierarchy_obj_ref,
                creation_time_utc=iso_utc(slot.start),
                creation_ticks=slot.start,
                end_time_utc=iso_utc(slot.end),
                end_ticks=slot.end,
                state="Completed",
                result=result,
                reason=b.reason(REASON_REPLICA, vm) if failed else "",
                total_size=0 if failed else vm.size_bytes,
            )
            tasks[task.id] = task
            session.task_ids.append(task.id)
            results.append(result)
            if failed:
                facts.replica_failed_task_id = task.id
                continue
            full = vm.hierarchy_obj_ref not in seen
            seen.add(vm.hierarchy_obj_ref)
            point = VmReplicaPoint(
                id=g.guid(),
                name=f"{vm.name}_replica@{name_stamp(slot.point)}",
                vm_name=f"{vm.name}_replica",
                source_vm=vm.name,
                source_ref=vm.hierarchy_obj_ref,
                creation_time_utc=iso_utc(slot.point),
                creation_ticks=slot.point,
                algorithm="Full" if full else "Incremental",
                point_type="Snapshot",
                replica_id=replica.id,
                server_id=job.server_id,
                task_session_id=task.id,
            )
            points[point.id] = point
            task.vm_point_id = point.id
        session.result = worst(results)
        facts.replica_newest_session_id = session.id
    facts.replica_job_id, facts.replica_id = job.id, replica.id
    facts.replicated_vms = [vm.name for vm in vms]
