"""The builder's state and the estate's layout: one seeded RNG (`Gen`) consumed in a fixed order, so the same
(seed, anchor, vm_count, days) always gives the same ids, names, times and outcomes.

`Builder` holds every table as it grows, lays out the servers, repositories, jobs, their includes and VMs
(estate.py's tables), and makes the records of a run (sessions, tasks, reason texts). Running the jobs is runs.py
and copy_runs.py; the coverage phase (coverage/) and the twins (twins.py) build on the same `Builder`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .clock import (
    TICKS_PER_DAY,
    TICKS_PER_MINUTE,
    TICKS_PER_SECOND,
    iso_utc,
    name_stamp,
    sql_style_name,
    ticks_of,
    us_local,
)
from .estate import (
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
)
from .scenarios import (
    FOLDER_JOB,
    FOLDER_NAME,
    NEVER_BACKED_UP_VM,
    TWIN_VCENTER,
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

    # --- the records of a run (runs.py runs the jobs) -----------------------------------------------------

    def reason(self, text: str, vm: Vm) -> str:
        host = self.servers[self.jobs[vm.job_id].server_id].name
        last = sum(ord(c) for c in vm.name) % 200 + 20
        job = self.jobs[vm.job_id]
        file = f"{self.repositories[job.repository_id].path}/{job.name}/{job.name}.vbm"
        return (text.replace("{vm}", vm.name).replace("{moref}", f"vm-{self.moref_of.get(self.vm_key(vm), 0)}")
                .replace("{host}", host).replace("{ip}", f"10.0.12.{last}").replace("{file}", file)
                .replace("{vcenter}", TWIN_VCENTER))

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

    def task(self, session: JobSession, vm: Vm, *, start: int, end: int | None, state: str, result: str | None,
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

    def restore_point(self, backup: Backup, job: Job, session: JobSession, ticks: int) -> RestorePoint:
        """A job-level RestorePoint of `session` at `ticks` (its id drawn now), named the SQL Server way."""
        return RestorePoint(id=self.g.guid(), name=sql_style_name(ticks), backup_id=backup.id,
                            server_id=job.server_id, job_id=job.id, backup_date_utc=iso_utc(ticks),
                            backup_ticks=ticks, job_session_id=session.id)

    def backup_file(self, backup: Backup, job: Job, *, name: str, path: str, ticks: int, ext: str, data: int,
                    dedup: float, compress: float) -> BackupFile:
        """A BackupFile of `backup` (its id drawn now); BackupSize is the data after deduplication and compression."""
        return BackupFile(id=self.g.guid(), name=name, file_path=path, backup_size=int(data / (dedup * compress)),
                          data_size=data, dedup_ratio=dedup, compress_ratio=compress, creation_time_utc=iso_utc(ticks),
                          creation_ticks=ticks, file_type=ext, backup_id=backup.id, server_id=job.server_id)

    def keep_point(self, backup: Backup, rp: RestorePoint, bf: BackupFile) -> None:
        """File a restore point with its backup file: linked to each other, in the tables and in `backup`."""
        bf.restore_point_ids.append(rp.id)
        rp.backup_file_ids.append(bf.id)
        self.restore_points[rp.id] = rp
        self.backup_files[bf.id] = bf
        backup.restore_point_ids.append(rp.id)
        backup.backup_file_ids.append(bf.id)

    def dataset(self) -> Dataset:
        """The tables built so far, as the Dataset the simulator serves."""
        return Dataset(
            seed=self.seed, anchor=self.anchor, backup_servers=self.servers, repositories=self.repositories,
            jobs=self.jobs, backups=self.backups, restore_points=self.restore_points,
            backup_files=self.backup_files, vm_restore_points=self.vm_points, vms=self.vms,
            points_by_vm=self.points_by_vm, objects_in_job=self.objects, job_sessions=self.job_sessions,
            task_sessions=self.task_sessions, facts=self.facts,
        )
