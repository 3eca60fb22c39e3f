"""Deterministic demo data for the Enterprise Manager simulator: a whole small estate, thirty days of it.

`build_dataset` fabricates what an EM instance would report: two backup servers, their repositories (local,
scale-out with its extents, object storage, a nearly full DD Boost), jobs with their includes (VMs one by one
and one VM folder), a backup copy job, and for every job run the job session, its task sessions (one per VM),
automatic retry sessions for the VMs that failed, and -- exactly where a backup task succeeded or warned -- the
job-level `RestorePoint`, the `BackupFile` and the `VmRestorePoint`, all cross-linked by id. A session that is
still running at the anchor, failures with long real-looking reasons, warnings and a VM whose last two runs
failed are seeded on purpose (the fixed facts, see docs/simulator-contract.md and `Facts`).

Everything comes from one seeded RNG consumed in a fixed order, so the same (seed, anchor, vm_count, days)
always gives the same ids, names, times and outcomes.

`build_dataset(coverage=True)` (the default) then runs the coverage phase (coverage/) from RNGs of its own:
the rest of what a real EM serves -- the copy job's own backup and copied points, a replication job with its
replicas and sessions, restore sessions, EM's own system sessions (vbr02's collections failing for the last
hours), Veeam Agent jobs, computers and restore points, vCloud organisation configs and Cloud Connect tenants.
It only adds (new items after the old ones); `coverage=False` is the estate without it.

`build_dataset(twins=True)` then adds (after the coverage phase), from a separate RNG (so nothing of the
normal build changes), the
twins a real multi-server estate has: a second `SQL Backup` job on vbr02 (its own vCenter) protecting another
VM named `sql01` whose last three runs failed, and another `vcd-web01` in a second vCloud organisation
(`Facts.twin_*`). `Dataset.vms` and `points_by_vm` are keyed by VM name; a VM whose name was already taken
when it was added (a twin) is keyed by its HierarchyObjRef instead.

Test transforms (mutate in place; apply them before `create_app`, whose query service caches its tables):
`rename_vm`, `rename_job`. The simulator's `mutate` fault uses `insert_copy` / `append_copy` / `remove_middle`.

The modules, lowest first: clock (ticks and their texts), scenarios (every name and seeded scenario, declared
once), records and coverage_records (what EM serves), model (`Dataset`, `Facts`), estate (the layout), builder
(the state, the layout's records), runs and copy_runs (running the jobs), coverage/ (the coverage phase), twins,
transforms. This module runs the phases in order and is the package's face.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .builder import Builder
from .copy_runs import run_copy_job
from .coverage import add_coverage
from .estate import COPY_SPEC, JobSpec
from .model import Dataset, Facts
from .records import Job
from .runs import run_backup_job
from .scenarios import RETRY_JOB
from .transforms import MUTABLE_TYPES, append_copy, insert_copy, remove_middle, rename_job, rename_vm
from .twins import add_twins

__all__ = ["MUTABLE_TYPES", "Dataset", "Facts", "append_copy", "build_dataset", "insert_copy", "remove_middle",
           "rename_job", "rename_vm"]


def _default_anchor() -> datetime:
    # The current minute: the product measures ages against its own clock, so an estate anchored at the top
    # of the hour would look up to 59 minutes stale (a job scheduled at :30 would seem to have missed its run).
    now = datetime.now(UTC)
    return now.replace(second=0, microsecond=0)


def _build_estate(b: Builder) -> None:
    """The normal build: servers, repositories, jobs and VMs, then every job's runs and the copy job's."""
    g = b.g
    b.servers_and_repositories()
    # One hierarchy root (vCenter, Hyper-V cluster, vCloud Director) per platform per server.
    roots = {(sid, p): g.guid() for sid in b.server_ids for p in ("VMware", "HyperV", "vCloud")}
    plans = b.plan_jobs()
    built: list[tuple[JobSpec, Job]] = []
    for spec, names in plans:
        job = b.make_job(spec, names)
        b.make_vms(spec, job, roots)
        built.append((spec, job))
    source = next((job for spec, job in built if spec.name == RETRY_JOB), None)
    copy_job = None
    if source is not None:
        copy_job = b.make_job(COPY_SPEC, [])
        copy_job.source_job_ids.append(source.id)
    for spec, job in built:
        run_backup_job(b, spec, job)
    if copy_job is not None and source is not None:
        run_copy_job(b, copy_job, source)


def build_dataset(
    *, seed: int = 7, anchor: datetime | None = None, vm_count: int = 30, days: int = 30, twins: bool = False,
    coverage: bool = True,
) -> Dataset:
    """Build the simulator's data; see the module docstring and docs/simulator-contract.md.

    `coverage` (default on) adds the rest of what a real EM serves (copies, replicas, restore sessions, EM's own
    sessions, Veeam Agent, vCloud organisation configs, Cloud Connect tenants; coverage/) after the normal build;
    `twins=True` then adds the same-name twins (`Facts.twin_*`). Neither changes anything of the normal build."""
    if anchor is None:
        anchor = _default_anchor()
    if anchor.tzinfo is None:
        raise ValueError("anchor must be timezone-aware (UTC)")
    anchor = anchor.astimezone(UTC)
    if vm_count < 1 or days < 1:
        raise ValueError("vm_count and days must be positive")
    builder = Builder(seed, anchor, vm_count, days)
    _build_estate(builder)
    # After the normal build, before the twins, from RNGs of its own: neither shifts what came before.
    extra = add_coverage(builder) if coverage else None
    if twins:
        add_twins(builder)
    dataset = builder.dataset()
    if extra is not None:
        dataset.take_coverage(extra)
    return dataset

