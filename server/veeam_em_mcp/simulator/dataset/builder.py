"""The normal build of the estate: one seeded RNG consumed in a fixed order, so the same (seed, anchor, vm_count,
days) always gives the same ids, names, times and outcomes.

`Builder` lays out the servers, repositories, jobs, their includes and VMs (estate.py's tables), then runs every
job: per run the job session, its task sessions, automatic retries of the failed VMs and, exactly where a task
succeeded or warned, the RestorePoint, BackupFile and VmRestorePoints; then the backup copy job's sessions. The
seeded scenarios (scenarios.py) decide the outcomes they shape; the rest are drawn. The coverage phase
(coverage/) and the twins (twins.py) build on a finished `Builder`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from .clock import (
    TICKS_PER_DAY,
    TICKS_PER_HOUR,
    TICKS_PER_MINUTE,
    TICKS_PER_SECOND,
    datetime_of,
    days_from,
    iso_utc,
    name_stamp,
    sql_style_name,
    ticks_of,
    to_second,
    us_local,
)
from .estate import (
    COPY_SPEC,
    EXTENTS,
    EXTRA_HOURS,
    EXTRA_JOB_SIZE,
    EXTRA_PLATFORMS,
    FOLDER_VMS,
    NAMED_JOBS,
    NAMED_VMS,
    REPOSITORIES,
    SERVERS,
    JobSpec,
    chain_role,
)
from .model import Dataset, Facts
from .records import (
    Backup,
    BackupFile,
    BackupServer,
    Job,
    JobSession,
    ObjectInJob,
    Repository,
    RestorePoint,
    TaskSession,
    Vm,
    VmRestorePoint,
    worst,
)
from .scenarios import (
    ALL_FAILED,
    FOLDER_JOB,
    FOLDER_NAME,
    LAST_TWO_FAILED,
    LAST_TWO_FAILED_VM,
    NEVER_BACKED_UP_VM,
    RANDOM_FAILURE_RATE,
    RANDOM_WARNING_RATE,
    REASON_NETWORK,
    REASON_OUT_OF_SPACE,
    REASON_QUIESCE,
    REASON_SNAPSHOT_HYPERV,
    REASON_SNAPSHOT_VMWARE,
    REASON_VDDK,
    RETRY_CHAIN,
    RETRY_JOB,
    RETRY_ONCE_VM,
    RETRY_TIMES,
    RETRY_VM,
    RETRY_WAIT_MINUTES,
    SQL01_NEWEST_POINT_ID,
    SQL_LOG_WARNING,
    SQL_LOG_WARNING_VM,
    TWIN_SQL01_FAILURES,
    TWIN_VCENTER,
    WARNING_CBT,
    WARNING_CHECKPOINT,
    WARNING_SQL_LOGS,
)


class Gen:
    """Seeded generator state: one RNG consumed in a fixed order, so output depends only on the inputs."""

    def __init__(self, seed: int) -> None:
        # Reproducible demo data, not security: a seeded PRNG is the point.
        self.rng = random.Random(seed)  # noqa: S311
        self.used_morefs: set[int] = set()

    def guid(self) -> str:
        # Same text as str(uuid.UUID(int=bits, version=4)), formatted directly because it runs 300k times.
        n = self.rng.getrandbits(128)
        n = (n & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def hex4(self) -> str:
        return f"{self.rng.getrandbits(16):04X}"

    def moref(self) -> int:
        while True:
            n = self.rng.randint(1000, 99999)
            if n not in self.used_morefs:
                self.used_morefs.add(n)
                return n

    def seconds(self, lo: int, hi: int) -> int:
        """A duration of lo..hi seconds with a millisecond part, in ticks."""
        return self.rng.randint(lo, hi) * TICKS_PER_SECOND + self.rng.randrange(1000) * 10_000

    def subsecond(self) -> int:
        """Fractional ticks with the precision mix seen on real servers: ms, full 7 digits, or none."""
        r = self.rng.random()
        if r < 0.7:
            return self.rng.randrange(1000) * 10_000
        if r < 0.9:
            return self.rng.randrange(TICKS_PER_SECOND)
        return 0


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



class Builder:
    """Builds one Dataset; methods run in a fixed order so the RNG stream is reproducible."""

    def __init__(self, seed: int, anchor: datetime, vm_count: int, days: int) -> None:
        self.g = Gen(seed)
        self.seed = seed
        self.anchor = anchor
        self.anchor_ticks = ticks_of(anchor)
        self.vm_count = vm_count
        self.days = days
        self.servers: dict[str, BackupServer] = {}
        self.repositories: dict[str, Repository] = {}
        self.repo_by_key: dict[str, Repository] = {}
        self.server_ids: list[str] = []
        self.jobs: dict[str, Job] = {}
        self.backups: dict[str, Backup] = {}
        self.vms: dict[str, Vm] = {}
        self.objects: dict[str, ObjectInJob] = {}
        self.restore_points: dict[str, RestorePoint] = {}
        self.backup_files: dict[str, BackupFile] = {}
        self.vm_points: dict[str, VmRestorePoint] = {}
        self.points_by_vm: dict[str, list[VmRestorePoint]] = {}
        self.job_sessions: dict[str, JobSession] = {}
        self.task_sessions: dict[str, TaskSession] = {}
        self.facts = Facts()
        # VM key (see vm_key) -> moref number; job id -> its VMs in processing order.
        self.moref_of: dict[str, int] = {}
        self.job_vms: dict[str, list[Vm]] = {}
        # Twins phase only: the VM whose last TWIN_FAILED_RUNS runs fail, and VMs that never fail.
        self.twin_failing: Vm | None = None
        self.twin_steady: list[Vm] = []

    # --- infrastructure ---------------------------------------------------------------------------------

    def servers_and_repositories(self) -> None:
        g = self.g
        for name, desc, version, offset in SERVERS:
            sid = g.guid()
            self.servers[sid] = BackupServer(id=sid, name=name, description=desc, port=9392, version=version,
                                             utc_offset_hours=offset)
            self.server_ids.append(sid)
        for key, server, name, kind, capacity, free, path in REPOSITORIES:
            sid = self.server_ids[server]
            repo = Repository(id=g.guid(), name=name, server_id=sid, capacity=capacity, free_space=free, kind=kind,
                              path=path)
            if kind == "Extendable":
                extents = [self.repo_by_key[k] for k in EXTENTS]
                repo.extent_ids = [e.id for e in extents]
                repo.capacity = sum(e.capacity for e in extents)
                repo.free_space = sum(e.free_space for e in extents)
                for extent in extents:
                    extent.scale_out_id = repo.id
            self.repositories[repo.id] = repo
            self.repo_by_key[key] = repo
            self.servers[sid].repository_ids.append(repo.id)

    # --- jobs and their VMs -----------------------------------------------------------------------------

    def plan_jobs(self) -> list[tuple[JobSpec, list[str]]]:
        """The jobs that have members at this vm_count, with their VM names (small counts drop jobs)."""
        plans: list[tuple[JobSpec, list[str]]] = []
        named = NAMED_VMS[: min(self.vm_count, len(NAMED_VMS))]
        for job_idx, spec in enumerate(NAMED_JOBS):
            names = [vm for vm, j in named if j == job_idx]
            # sql01 first: the first VM of a run gets the smallest offset from the job start.
            names.sort(key=lambda n: n != "sql01")
            if names:
                plans.append((spec, names))
        extra = max(0, self.vm_count - len(NAMED_VMS))
        job_no = len(NAMED_JOBS) + 1
        vm_no = len(NAMED_VMS) + 1
        while extra > 0:
            size = min(EXTRA_JOB_SIZE, extra)
            k = job_no - len(NAMED_JOBS) - 1
            platform = EXTRA_PLATFORMS[k % len(EXTRA_PLATFORMS)]
            method = "reverse" if k % 5 == 4 else "forward"
            full_mode = "none" if method == "reverse" else ("active" if k % 2 else "synthetic")
            spec = JobSpec(name=f"Backup Job {job_no}", platform=platform, server=k % 2, repository=f"local{k % 2}",
                           method=method, full_mode=full_mode,
                           when=(EXTRA_HOURS[k % len(EXTRA_HOURS)], 15 * (k % 4)), enabled=True)
            prefix = {"VMware": "vm", "HyperV": "hv", "vCloud": "vcd"}[platform]
            plans.append((spec, [f"{prefix}{vm_no + i:05d}" for i in range(size)]))
            vm_no += size
            extra -= size
            job_no += 1
        return plans

    def schedule_minute(self, spec: JobSpec) -> int | None:
        if spec.when == "sql":
            return ((self.anchor.hour - 2) % 24) * 60
        if spec.when == "tenants":
            return ((self.anchor.hour - 8) % 24) * 60
        if spec.when == "folder":
            return ((self.anchor.hour + 11) % 24) * 60 + 30
        if spec.when == "running":
            started = self.anchor - timedelta(minutes=25)
            return started.hour * 60 + started.minute
        if spec.when == "replica":
            # Seven hours before the anchor's hour: the newest run is over before vbr02's collections fail.
            return ((self.anchor.hour - 7) % 24) * 60
        if isinstance(spec.when, tuple):
            return spec.when[0] * 60 + spec.when[1]
        return None

    def make_job(self, spec: JobSpec, names: list[str]) -> Job:
        g = self.g
        sid = self.server_ids[spec.server]
        server = self.servers[sid]
        repo = self.repo_by_key[spec.repository]
        minute = self.schedule_minute(spec)
        job_id = g.guid()
        created = self.anchor_ticks - g.rng.randint(400, 900) * TICKS_PER_DAY + g.seconds(0, 86_399)
        next_run: str | None = None
        if spec.enabled and minute is not None:
            nxt = self.anchor.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)
            if nxt <= self.anchor:
                nxt += timedelta(days=1)
            next_run = iso_utc(ticks_of(nxt))
        job = Job(
            id=job_id,
            name=spec.name,
            server_id=sid,
            repository_id=repo.id,
            platform=spec.platform,
            job_type=spec.job_type,
            description=f"Created by {server.name.split('.')[0].upper()}\\Administrator at "
            f"{us_local(created, server.utc_offset_hours)}.",
            schedule_configured=minute is not None,
            schedule_enabled=spec.enabled,
            next_run=next_run,
            method=spec.method,
            full_mode=spec.full_mode,
            schedule_minute=minute,
            created_ticks=created,
            vm_names=list(names),
        )
        self.jobs[job_id] = job
        server.job_ids.append(job_id)
        if spec.job_type == "Backup":
            backup = Backup(id=g.guid(), name=spec.name, server_id=sid, repository_id=repo.id, job_id=job_id,
                            platform=spec.platform, backup_type="Standard")
            self.backups[backup.id] = backup
            repo.backup_ids.append(backup.id)
            job.backup_id = backup.id
        return job

    def vm_key(self, vm: Vm) -> str:
        """The VM's key in `vms` / `points_by_vm`: its name, or its HierarchyObjRef if a twin took the name first."""
        return vm.name if self.vms.get(vm.name) is vm else vm.hierarchy_obj_ref

    def make_vms(self, spec: JobSpec, job: Job, roots: dict[tuple[str, str], str]) -> None:
        g = self.g
        root = roots[(job.server_id, spec.platform)]
        folder: ObjectInJob | None = None
        members = self.job_vms.setdefault(job.id, [])
        for name in job.vm_names:
            if spec.platform == "VMware":
                moref = g.moref()
                ref = f"urn:VMware:Vm:{root}.vm-{moref}"
            elif spec.platform == "HyperV":
                moref = 0
                ref = f"urn:HyperV:Vm:{root}.{g.guid()}"
            else:
                moref = 0
                ref = f"urn:vCloud:Vm:{root}.urn:vcloud:vm:{g.guid()}"
            # A name already taken (a twin) keys the VM by its ref instead.
            key = name if name not in self.vms else ref
            self.moref_of[key] = moref
            vm = Vm(name=name, platform=spec.platform, hierarchy_obj_ref=ref, job_id=job.id,
                    size_bytes=g.rng.randint(20, 400) * 2**30)
            if name == NEVER_BACKED_UP_VM:
                # Added to its job after the job's last run: in the includes, in no session, no point.
                vm.added_ticks = self.anchor_ticks - 30 * TICKS_PER_MINUTE
            self.vms[key] = vm
            self.points_by_vm[key] = []
            members.append(vm)
            if spec.name == FOLDER_JOB and name in FOLDER_VMS:
                if folder is None:
                    folder = self.include(job, f"urn:VMware:Folder:{root}.group-v{g.moref()}", FOLDER_NAME,
                                          "Disabled")
                folder.vm_names.append(name)
                vm.object_in_job_id = folder.id
                continue
            vss = "RequireSuccess" if name.startswith(("sql", "exch", "dc")) else "Disabled"
            vm.object_in_job_id = self.include(job, ref, name, vss).id
            self.objects[vm.object_in_job_id].vm_names.append(name)

    def include(self, job: Job, ref: str, name: str, vss: str) -> ObjectInJob:
        obj = ObjectInJob(id=self.g.guid(), job_id=job.id, hierarchy_obj_ref=ref, name=name, display_name=name,
                          order=len(job.object_ids), vss_mode=vss)
        self.objects[obj.id] = obj
        job.object_ids.append(obj.id)
        return obj

    # --- runs -------------------------------------------------------------------------------------------

    def plan_runs(self, spec: JobSpec, job: Job) -> list[_Run]:
        """Pass 1: the runs whose first session finished inside the window (plus the one still running)."""
        g = self.g
        minute = job.schedule_minute
        assert minute is not None
        window_start = self.anchor - timedelta(days=self.days)
        disabled_at = self.anchor - timedelta(days=3, hours=7)
        running_start = ticks_of(self.anchor - timedelta(minutes=25)) // TICKS_PER_MINUTE * TICKS_PER_MINUTE
        runs: list[_Run] = []
        for day in days_from(window_start - timedelta(days=1), self.anchor):
            start_dt = day + timedelta(minutes=minute)
            scheduled = ticks_of(start_dt)
            start = scheduled + g.rng.randint(2, 9) * TICKS_PER_SECOND + g.rng.randrange(1000) * 10_000
            running = spec.when == "running" and scheduled == running_start
            rp_offset = g.seconds(15, 45)
            file_offset = g.seconds(3, 12)
            cursor = start + 20 * TICKS_PER_SECOND
            slots: list[_Slot] = []
            for vm in self.job_vms.get(job.id, ()):
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
            if not running and end > self.anchor_ticks:
                continue
            if start > self.anchor_ticks:
                continue
            runs.append(_Run(start=start, rp_offset=rp_offset, file_offset=file_offset, slots=slots, end=end,
                             running=running))
        return runs

    def scripted(self, spec: JobSpec, r: int, n: int, vm: Vm, attempt: int) -> _Outcome | None:
        """The seeded scenarios: the outcome of `vm` in attempt `attempt` (0 = first session) of run r of n."""
        name = vm.name
        if vm is self.twin_failing and TWIN_SQL01_FAILURES.shapes(spec.name, r, n):
            return _Outcome("Failed", self.reason(REASON_VDDK, vm))
        if self.twin_steady and any(vm is steady for steady in self.twin_steady):
            return _Outcome("Success")
        if name == LAST_TWO_FAILED_VM and LAST_TWO_FAILED.shapes(spec.name, r, n):
            return _Outcome("Failed", self.reason(REASON_QUIESCE, vm))
        if RETRY_CHAIN.shapes(spec.name, r, n):
            if name == RETRY_VM:
                if attempt < 2:
                    return _Outcome("Failed", self.reason(REASON_NETWORK, vm))
                return _Outcome("Success")
            if name == RETRY_ONCE_VM:
                # Fails once, then the first retry processes it.
                if attempt == 0:
                    return _Outcome("Failed", self.reason(REASON_SNAPSHOT_VMWARE, vm))
                return _Outcome("Success")
        if ALL_FAILED.shapes(spec.name, r, n):
            if attempt == 0:
                return _Outcome("Failed", self.reason(REASON_OUT_OF_SPACE, vm))
            return _Outcome("Success")
        if name == SQL_LOG_WARNING_VM and SQL_LOG_WARNING.shapes(spec.name, r, n) and attempt == 0:
            return _Outcome("Warning", self.reason(WARNING_SQL_LOGS, vm))
        return None

    def reason(self, text: str, vm: Vm) -> str:
        host = self.servers[self.jobs[vm.job_id].server_id].name
        last = sum(ord(c) for c in vm.name) % 200 + 20
        job = self.jobs[vm.job_id]
        file = f"{self.repositories[job.repository_id].path}/{job.name}/{job.name}.vbm"
        return (text.replace("{vm}", vm.name).replace("{moref}", f"vm-{self.moref_of.get(self.vm_key(vm), 0)}")
                .replace("{host}", host).replace("{ip}", f"10.0.12.{last}").replace("{file}", file)
                .replace("{vcenter}", TWIN_VCENTER))

    def random_outcome(self, vm: Vm) -> _Outcome:
        r = self.g.rng.random()
        if r < RANDOM_FAILURE_RATE:
            if vm.platform == "HyperV":
                text = REASON_SNAPSHOT_HYPERV
            else:
                text = (REASON_SNAPSHOT_VMWARE, REASON_NETWORK)[self.g.rng.randrange(2)]
            return _Outcome("Failed", self.reason(text, vm))
        if r < RANDOM_FAILURE_RATE + RANDOM_WARNING_RATE:
            if vm.platform == "HyperV":
                return _Outcome("Warning", self.reason(WARNING_CHECKPOINT, vm))
            return _Outcome("Warning", self.reason(WARNING_SQL_LOGS if vm.name.startswith("sql") else WARNING_CBT,
                                                   vm))
        return _Outcome("Success")

    def run_backup_job(self, spec: JobSpec, job: Job) -> None:
        """Pass 2: sessions, tasks, retries and, where tasks succeeded, restore points and files."""
        g = self.g
        runs = self.plan_runs(spec, job)
        n = len(runs)
        backup = self.backups[job.backup_id]
        for r, run in enumerate(runs):
            role = chain_role(spec, r, n, datetime_of(run.start).weekday())
            # Random failures only where both retries still fit before the anchor (they always fix them).
            may_fail = not run.running and run.end + 2 * TICKS_PER_HOUR < self.anchor_ticks
            outcomes: dict[str, _Outcome] = {}
            for slot in run.slots:
                vm = slot.vm
                scripted = self.scripted(spec, r, n, vm, 0)
                if scripted is not None:
                    outcomes[vm.name] = scripted
                elif vm.name == "sql01" or not may_fail:
                    # Never let sql01 fail (the RPO fact); the running run is shaped by hand.
                    outcomes[vm.name] = _Outcome("Success")
                else:
                    outcomes[vm.name] = self.random_outcome(vm)
            if run.running:
                self.running_session(spec, job, backup, run, role)
                continue
            session = self.session(job, run.start, run.end, False)
            tasks = [(slot.vm, slot.start, slot.end, slot.point, outcomes[slot.vm.name]) for slot in run.slots]
            self.finish_session(spec, job, backup, session, tasks, role, run.rp_offset, run.file_offset,
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
                    outcome = self.scripted(spec, r, n, vm, attempt)
                    if outcome is None:
                        # A random failure: fixed by the first retry most of the time, by the second always.
                        outcome = _Outcome("Success") if attempt == 2 or g.rng.random() < 0.7 else _Outcome(
                            "Failed", outcomes[vm.name].reason)
                    planned.append((vm, task_start, task_end, point, outcome))
                    cursor = task_end
                end = cursor + g.seconds(3, 15)
                if end > self.anchor_ticks:
                    break  # would still be running: the next retry happens after "now"
                retry = self.session(job, start, end, True)
                self.finish_session(spec, job, backup, retry, planned, role, g.seconds(15, 45), g.seconds(3, 12),
                                    newest=r == n - 1)
                chain.append(retry.id)
                failed = [vm for vm, *_, outcome in planned if outcome.result == "Failed"]
            if RETRY_CHAIN.shapes(spec.name, r, n):
                self.facts.retry_chain_session_ids = chain
            if ALL_FAILED.shapes(spec.name, r, n):
                self.facts.all_failed_session_id = session.id
            if LAST_TWO_FAILED.shapes(spec.name, r, n):
                self.facts.last_two_failed_task_ids += [
                    tid for sid in chain[:1] for tid in self.job_sessions[sid].task_ids
                    if self.task_sessions[tid].vm_name == LAST_TWO_FAILED_VM
                ]

    def session(self, job: Job, start: int, end: int | None, is_retry: bool, *, job_type: str = "Backup",
                job_name: str | None = None) -> JobSession:
        name = job.name if job_name is None else job_name
        s = JobSession(
            id=self.g.guid(),
            name=f"{name}@{name_stamp(start)}",
            job_id=job.id,
            job_name=name,
            job_type=job_type,
            server_id=job.server_id,
            creation_time_utc=iso_utc(start),
            creation_ticks=start,
            end_time_utc=None if end is None else iso_utc(end),
            end_ticks=end,
            state="Stopped" if end is not None else "Working",
            result=None,
            progress=100,
            is_retry=is_retry,
        )
        self.job_sessions[s.id] = s
        job.session_ids.append(s.id)
        return s

    def task(self, session: JobSession, vm: Vm, start: int, end: int | None, state: str, result: str | None,
             reason: str, total_size: int) -> TaskSession:
        t = TaskSession(
            id=self.g.guid(),
            name=f"{vm.name}@{name_stamp(start)}",
            job_session_id=session.id,
            job_id=session.job_id,
            job_name=session.job_name,
            server_id=session.server_id,
            vm_name=vm.name,
            vm_uid=vm.hierarchy_obj_ref,
            creation_time_utc=iso_utc(start),
            creation_ticks=start,
            end_time_utc=None if end is None else iso_utc(end),
            end_ticks=end,
            state=state,
            result=result,
            reason=reason,
            total_size=total_size,
        )
        self.task_sessions[t.id] = t
        session.task_ids.append(t.id)
        return t

    def finish_session(self, spec: JobSpec, job: Job, backup: Backup, session: JobSession,
                       tasks: list[tuple[Vm, int, int, int, _Outcome]], role: tuple[str, str, str],
                       rp_offset: int, file_offset: int, *, newest: bool) -> None:
        made: list[tuple[Vm, int, TaskSession]] = []
        for vm, start, end, point, outcome in tasks:
            ok = outcome.result != "Failed"
            # A failed task reports TotalSize 0 (EM 13 capture); a processed VM its provisioned size.
            task = self.task(session, vm, start, end, "Completed", outcome.result, outcome.reason,
                             vm.size_bytes if ok else 0)
            if ok:
                made.append((vm, point, task))
        session.result = worst([self.task_sessions[t].result or "Success" for t in session.task_ids])
        if made:
            self.points(spec, job, backup, session, made, role, rp_offset, file_offset, newest=newest)

    def running_session(self, spec: JobSpec, job: Job, backup: Backup, run: _Run,
                        role: tuple[str, str, str]) -> None:
        """The session still Working at the anchor: two tasks done, one in progress, the rest pending."""
        session = self.session(job, run.start, None, False)
        session.progress = 0
        self.facts.running_session_id = session.id
        made: list[tuple[Vm, int, TaskSession]] = []
        for i, slot in enumerate(run.slots):
            vm = slot.vm
            if i < 2:
                task = self.task(session, vm, slot.start, slot.end, "Completed", "Success", "", vm.size_bytes)
                made.append((vm, slot.point, task))
            elif i == 2:
                self.task(session, vm, slot.start, None, "InProgress", "Success", "", vm.size_bytes)
            else:
                # Queued: created with the session, waiting for a proxy slot.
                self.task(session, vm, run.start + TICKS_PER_SECOND + slot.start % TICKS_PER_SECOND, None, "Pending",
                          None, "", vm.size_bytes)
        session.progress = 100 * len(made) // max(1, len(run.slots))
        if made:
            self.points(spec, job, backup, session, made, role, run.rp_offset, run.file_offset, newest=True)

    def points(self, spec: JobSpec, job: Job, backup: Backup, session: JobSession,
               made: list[tuple[Vm, int, TaskSession]], role: tuple[str, str, str], rp_offset: int,
               file_offset: int, *, newest: bool) -> None:
        """The job-level restore point, the backup file and one VmRestorePoint per processed VM of a session."""
        g = self.g
        server = self.servers[job.server_id]
        point_type, algorithm, ext = role
        rp_ticks = session.creation_ticks + rp_offset
        file_ticks = session.creation_ticks + file_offset
        rp = RestorePoint(id=g.guid(), name=sql_style_name(rp_ticks), backup_id=backup.id, server_id=job.server_id,
                          job_id=job.id, backup_date_utc=iso_utc(rp_ticks),
                          backup_ticks=rp_ticks, job_session_id=session.id)
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
        repo = self.repositories[job.repository_id]
        sep = "/" if "/" in repo.path else "\\"
        bf = BackupFile(
            id=g.guid(),
            name=file_name,
            file_path=f"{repo.path}{sep}{job.name}{sep}{file_name}",
            backup_size=int(data / (dedup * compress)),
            data_size=data,
            dedup_ratio=dedup,
            compress_ratio=compress,
            creation_time_utc=iso_utc(file_ticks),
            creation_ticks=file_ticks,
            file_type=ext,
            backup_id=backup.id,
            server_id=job.server_id,
        )
        bf.restore_point_ids.append(rp.id)
        rp.backup_file_ids.append(bf.id)
        for vm, point_ticks, task in made:
            pid = g.guid()
            if vm.name == "sql01" and newest and not session.is_retry and self.vms.get("sql01") is vm:
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
            self.vm_points[pid] = vp
            self.points_by_vm[self.vm_key(vm)].append(vp)
            rp.vm_point_ids.append(pid)
            bf.vm_point_ids.append(pid)
        self.restore_points[rp.id] = rp
        self.backup_files[bf.id] = bf
        backup.restore_point_ids.append(rp.id)
        backup.backup_file_ids.append(bf.id)
        session.restore_point_ids.append(rp.id)

    # --- the backup copy job ----------------------------------------------------------------------------

    def run_copy_job(self, job: Job, source: Job) -> None:
        """Immediate backup copy of `source`: per source run a parent session (Progress 0) and one worker
        session per source session that produced points, with one task per copied VM (TotalSize 0)."""
        g = self.g
        worker_name = f"{job.name}\\{source.name}"
        by_ref = {vm.hierarchy_obj_ref: vm for vm in self.vms.values()}
        by_day: dict[int, list[JobSession]] = {}
        for sid in source.session_ids:
            s = self.job_sessions[sid]
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
                    task = self.task_sessions[tid]
                    if task.vm_point_id is None:
                        continue
                    task_start = cursor + g.seconds(1, 5)
                    task_end = task_start + g.seconds(20, 90)
                    copies.append((by_ref[task.vm_uid], task_start, task_end))
                    cursor = task_end
                end = cursor + g.seconds(3, 10)
                if end <= self.anchor_ticks:
                    workers.append((start, end, copies))
            if not workers:
                continue
            parent_end = workers[-1][1] + g.seconds(5, 30)
            if parent_end > self.anchor_ticks:
                continue
            parent = self.session(job, parent_start, parent_end, False, job_type="ImmediateBackupCopy")
            # The real copy parent reports Progress 0 although it is Stopped.
            parent.progress = 0
            results = []
            for start, end, copies in workers:
                worker = self.session(job, start, end, False, job_type="ImmediateBackupCopyWorker",
                                      job_name=worker_name)
                worker.parent_id = parent.id
                for vm, task_start, task_end in copies:
                    self.task(worker, vm, task_start, task_end, "Completed", "Success", "", 0)
                worker.result = worst([self.task_sessions[t].result or "Success" for t in worker.task_ids])
                results.append(worker.result)
            parent.result = worst(results)

    # --- everything -------------------------------------------------------------------------------------

    def build_estate(self) -> None:
        """The normal build: servers, repositories, jobs and VMs, then every job's runs and the copy job's."""
        g = self.g
        self.servers_and_repositories()
        # One hierarchy root (vCenter, Hyper-V cluster, vCloud Director) per platform per server.
        roots = {(sid, p): g.guid() for sid in self.server_ids for p in ("VMware", "HyperV", "vCloud")}
        plans = self.plan_jobs()
        built: list[tuple[JobSpec, Job]] = []
        for spec, names in plans:
            job = self.make_job(spec, names)
            self.make_vms(spec, job, roots)
            built.append((spec, job))
        source = next((job for spec, job in built if spec.name == RETRY_JOB), None)
        copy_job = None
        if source is not None:
            copy_job = self.make_job(COPY_SPEC, [])
            copy_job.source_job_ids.append(source.id)
        for spec, job in built:
            self.run_backup_job(spec, job)
        if copy_job is not None and source is not None:
            self.run_copy_job(copy_job, source)

    def dataset(self) -> Dataset:
        """The tables built so far, as the Dataset the simulator serves."""
        return Dataset(
            seed=self.seed, anchor=self.anchor, backup_servers=self.servers, repositories=self.repositories,
            jobs=self.jobs, backups=self.backups, restore_points=self.restore_points,
            backup_files=self.backup_files, vm_restore_points=self.vm_points, vms=self.vms,
            points_by_vm=self.points_by_vm, objects_in_job=self.objects, job_sessions=self.job_sessions,
            task_sessions=self.task_sessions, facts=self.facts,
        )
