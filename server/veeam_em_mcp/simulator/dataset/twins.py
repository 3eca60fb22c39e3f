"""The twins (`build_dataset(twins=True)`): the same display names on different objects, as a real multi-server
estate has them (docs/simulator-contract.md, "Twins").

Added after the normal build and the coverage phase, from a separate RNG, so nothing of the normal build changes;
they reuse the builder (`make_job`, `make_vms`, `run_backup_job`), so they are cross-linked like everything else.
"""

from __future__ import annotations

import random

from .builder import Builder
from .estate import JobSpec
from .runs import run_backup_job
from .scenarios import SQL_JOB, TWIN_SQL_PEER_VM, TWIN_SQL_VM, TWIN_VCD_JOB, TWIN_VCD_VM


def add_twins(b: Builder) -> None:
    """Same display names for different objects, as a real multi-server estate has them: a second
    `SQL Backup` on vbr02 (another vCenter) with another sql01 that failed its last runs, and a second
    vcd-web01 in another vCloud organisation. Drawn from a separate RNG: the normal build is untouched."""
    g = b.g
    normal = g.rng
    # Reproducible demo data, not security (a str seed is hashed with SHA-512: stable across processes).
    g.rng = random.Random(f"twins/{b.seed}")  # noqa: S311
    try:
        _sql_twin(b)
        _vcd_twin(b)
    finally:
        g.rng = normal

def _sql_twin(b: Builder) -> None:
    original = b.vms.get(TWIN_SQL_VM)
    if original is None or len(b.server_ids) < 2:
        return
    spec = JobSpec(name=SQL_JOB, platform="VMware", server=1, repository="local1", method="forward",
                   full_mode="synthetic", when="sql", enabled=True)
    job = b.make_job(spec, [TWIN_SQL_VM, TWIN_SQL_PEER_VM])
    root = b.g.guid()
    b.make_vms(spec, job, {(job.server_id, "VMware"): root})
    twin = b.job_vms[job.id][0]
    b.twin_failing = twin
    try:
        run_backup_job(b, spec, job)
    finally:
        b.twin_failing = None
    facts = b.facts
    facts.twin_sql_job_id, facts.twin_sql_backup_id, facts.twin_vcenter_root = job.id, job.backup_id, root
    facts.twin_sql01_ref = twin.hierarchy_obj_ref
    facts.twin_sql01_failed_task_ids = [
        tid for sid in job.session_ids for tid in b.job_sessions[sid].task_ids
        if b.task_sessions[tid].vm_uid == twin.hierarchy_obj_ref and b.task_sessions[tid].result == "Failed"
    ]
    points = b.points_by_vm[b.vm_key(twin)]
    facts.twin_sql01_newest_point_id = points[-1].id if points else ""

def _vcd_twin(b: Builder) -> None:
    original = b.vms.get(TWIN_VCD_VM)
    if original is None or original.platform != "vCloud":
        return
    spec = JobSpec(name=TWIN_VCD_JOB, platform="vCloud", server=0, repository="local0", method="forward",
                   full_mode="synthetic", when=(2, 30), enabled=True)
    job = b.make_job(spec, [TWIN_VCD_VM])
    root = b.g.guid()
    b.make_vms(spec, job, {(job.server_id, "vCloud"): root})
    twin = b.job_vms[job.id][0]
    b.twin_steady = [twin]
    try:
        run_backup_job(b, spec, job)
    finally:
        b.twin_steady = []
    b.facts.twin_vcd_ref, b.facts.twin_vcd_root = twin.hierarchy_obj_ref, root
    b.facts.twin_vcd_job_id = job.id
