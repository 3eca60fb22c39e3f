"""Deterministic demo data for the Enterprise Manager simulator.

`build_dataset` fabricates what an EM instance would report for a small estate: backup servers, one
repository per server, jobs with realistic restore-point chains (forward incremental with weekly synthetic
or active fulls, reverse incremental), one `Backup` per job, and per job run a job-level `RestorePoint`, a
`BackupFile` and one `VmRestorePoint` per VM, all cross-linked by id. Everything comes from one seeded RNG,
so the same (seed, anchor, vm_count, days) always gives the same ids, names and times; the tests and the
demo rely on a few fixed facts (see docs/simulator-contract.md).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# Times are kept as integer 100 ns ticks since the Unix epoch (.NET's resolution): exact, cheap to compare
# and to sort, and enough to print the 7 fractional digits EM sometimes emits.
TICKS_PER_SECOND = 10_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SQL01_NEWEST_POINT_ID = "6c958531-3177-4055-b0ce-dc4ef1ce6433"


def ticks_of(dt: datetime) -> int:
    """100 ns ticks since the epoch of an aware datetime."""
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * TICKS_PER_SECOND + delta.microseconds * 10


def datetime_of(ticks: int) -> datetime:
    """Aware UTC datetime of `ticks` (the seventh fractional digit is dropped)."""
    return _EPOCH + timedelta(microseconds=ticks // 10)


_DAY_TEXT: dict[int, str] = {}


def _date_time_text(seconds: int) -> tuple[str, str]:
    """(`yyyy-MM-dd`, `HH:mm:ss`) of Unix `seconds`; day texts are cached since 100k points share 30 days."""
    day, sod = divmod(seconds, 86_400)
    date = _DAY_TEXT.get(day)
    if date is None:
        date = _DAY_TEXT[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
    hours, rest = divmod(sod, 3600)
    return date, f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def iso_utc(ticks: int) -> str:
    """ISO-8601 UTC text the way EM prints it: trailing fractional zeros (and a bare dot) dropped."""
    seconds, frac = divmod(ticks, TICKS_PER_SECOND)
    date, time = _date_time_text(seconds)
    if frac:
        return f"{date}T{time}." + f"{frac:07d}".rstrip("0") + "Z"
    return f"{date}T{time}Z"


def name_stamp(ticks: int) -> str:
    """`yyyy-MM-dd HH:mm:ss` as used in VmRestorePoint names."""
    date, time = _date_time_text(ticks // TICKS_PER_SECOND)
    return f"{date} {time}"


def sql_style_name(ticks: int) -> str:
    """SQL Server `mon dd yyyy hh:miAM` text, e.g. `Oct  6 2025  8:00PM` (space-padded day and hour)."""
    dt = datetime_of(ticks)
    hour12 = dt.hour % 12 or 12
    ampm = "AM" if dt.hour < 12 else "PM"
    return f"{_MONTHS[dt.month - 1]} {dt.day:>2} {dt.year} {hour12:>2}:{dt.minute:02d}{ampm}"


@dataclass(slots=True)
class BackupServer:
    id: str
    name: str
    description: str
    port: int
    version: str
    utc_offset_hours: int
    job_ids: list[str] = field(default_factory=list)
    repository_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Repository:
    id: str
    name: str
    server_id: str
    capacity: int
    free_space: int
    kind: str
    path: str


@dataclass(slots=True)
class Vm:
    name: str
    platform: str
    hierarchy_obj_ref: str
    job_id: str
    size_bytes: int


@dataclass(slots=True)
class Job:
    id: str
    name: str
    server_id: str
    repository_id: str
    platform: str
    job_type: str
    description: str
    schedule_configured: bool
    schedule_enabled: bool
    next_run: str | None
    # "forward" (incremental, with `full_mode` "synthetic" or "active" weekly fulls) or "reverse".
    method: str
    full_mode: str
    vm_names: list[str] = field(default_factory=list)
    backup_id: str = ""


@dataclass(slots=True)
class Backup:
    id: str
    name: str
    server_id: str
    repository_id: str
    job_id: str
    platform: str
    backup_type: str
    restore_point_ids: list[str] = field(default_factory=list)
    backup_file_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RestorePoint:
    """A job-level restore point: one per job run."""

    id: str
    name: str
    backup_id: str
    server_id: str
    job_id: str
    backup_date_utc: str
    backup_ticks: int
    vm_point_ids: list[str] = field(default_factory=list)
    backup_file_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class BackupFile:
    id: str
    name: str
    file_path: str
    backup_size: int
    data_size: int
    dedup_ratio: float
    compress_ratio: float
    creation_time_utc: str
    creation_ticks: int
    file_type: str
    backup_id: str
    server_id: str
    restore_point_ids: list[str] = field(default_factory=list)
    vm_point_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class VmRestorePoint:
    id: str
    name: str
    vm_name: str
    creation_time_utc: str
    creation_ticks: int
    algorithm: str
    point_type: str
    hierarchy_obj_ref: str
    restore_point_id: str
    backup_file_id: str
    backup_server_id: str
    job_id: str
    backup_id: str


@dataclass
class Dataset:
    """Everything the simulator serves, as dicts by id plus the per-VM chronology."""

    seed: int
    anchor: datetime
    backup_servers: dict[str, BackupServer]
    repositories: dict[str, Repository]
    jobs: dict[str, Job]
    backups: dict[str, Backup]
    restore_points: dict[str, RestorePoint]
    backup_files: dict[str, BackupFile]
    vm_restore_points: dict[str, VmRestorePoint]
    vms: dict[str, Vm]
    # VM name -> its points, oldest first.
    points_by_vm: dict[str, list[VmRestorePoint]]

    def vm_names(self) -> list[str]:
        return list(self.vms)


# --- the fixed estate -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _JobSpec:
    name: str
    platform: str
    server: int
    method: str
    full_mode: str
    # Schedule in UTC; hour None = "two hours before the anchor's hour" (keeps sql01 inside a 24 h RPO
    # whatever the anchor).
    hour: int | None
    minute: int
    enabled: bool


_NAMED_JOBS = (
    _JobSpec("SQL Backup", "VMware", 0, "forward", "synthetic", None, 0, True),
    _JobSpec("Web Backup", "VMware", 0, "reverse", "none", 22, 0, True),
    _JobSpec("Hyper-V Infrastructure", "HyperV", 1, "forward", "active", 21, 30, True),
    _JobSpec("Hyper-V File Servers", "HyperV", 1, "forward", "synthetic", 23, 0, False),
    _JobSpec("vCloud Tenants", "vCloud", 1, "forward", "synthetic", 1, 0, True),
)

# (VM name, job index), in priority order: a small vm_count keeps the VMs the fixed facts need.
_NAMED_VMS = (
    ("sql01", 0), ("fileserver02", 3), ("web,db (old)", 1), ('a";Name!="x', 0), ("vcd-web01", 4),
    ("sql02", 0), ("web01", 1), ("hv-dc01", 2), ("fileserver03", 3), ("vcd-app01", 4),
    ("sql03", 0), ("web02", 1), ("exch01", 2), ("vcd-db01", 4), ("app01", 0),
    ("web03", 1), ("print01", 2), ("vcd-web02", 4), ("app02", 0), ("proxy01", 1),
    ("wsus01", 2), ("vcd-app02", 4), ("dc01", 0), ("dns01", 1), ("fileserver01", 2),
    ("vcd-db02", 4), ("mon01", 2), ("vcd-lb01", 4), ("vcd-cache01", 4), ("vcd-mq01", 4),
)

_SERVERS = (
    ("vbr01.tech.local", "Main site backup server", "12.3.1.1139", 2),
    ("vbr02.tech.local", "DR site backup server", "12.3.2.3617", 1),
)

_EXTRA_JOB_SIZE = 25
_EXTRA_PLATFORMS = ("VMware", "VMware", "HyperV", "vCloud")
_EXTRA_HOURS = (18, 19, 20, 21, 22, 23, 0, 1, 2, 3)


class _Gen:
    """Seeded generator state: one RNG consumed in a fixed order, so output depends only on the inputs."""

    def __init__(self, seed: int) -> None:
        # Reproducible demo data, not security: a seeded PRNG is the point.
        self.rng = random.Random(seed)  # noqa: S311
        self.used_morefs: set[int] = set()

    def guid(self) -> str:
        # Same text as str(uuid.UUID(int=bits, version=4)), formatted directly because it runs 100k times.
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

    def subsecond(self) -> int:
        """Fractional ticks with the precision mix seen on real servers: ms, full 7 digits, or none."""
        r = self.rng.random()
        if r < 0.7:
            return self.rng.randrange(1000) * 10_000
        if r < 0.9:
            return self.rng.randrange(TICKS_PER_SECOND)
        return 0


@dataclass(slots=True)
class _Run:
    start: int
    rp_ticks: int
    file_ticks: int
    vm_ticks: list[int]


def _days(start: datetime, end: datetime) -> Iterator[datetime]:
    day = datetime(start.year, start.month, start.day, tzinfo=UTC)
    while day <= end:
        yield day
        day += timedelta(days=1)


def _default_anchor() -> datetime:
    now = datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0)


def build_dataset(
    *, seed: int = 7, anchor: datetime | None = None, vm_count: int = 30, days: int = 30
) -> Dataset:
    """Build the simulator's data; see the module docstring and docs/simulator-contract.md."""
    if anchor is None:
        anchor = _default_anchor()
    if anchor.tzinfo is None:
        raise ValueError("anchor must be timezone-aware (UTC)")
    anchor = anchor.astimezone(UTC)
    if vm_count < 1 or days < 1:
        raise ValueError("vm_count and days must be positive")
    g = _Gen(seed)
    anchor_ticks = ticks_of(anchor)

    servers: dict[str, BackupServer] = {}
    repositories: dict[str, Repository] = {}
    server_ids: list[str] = []
    repo_ids: list[str] = []
    for idx, (name, desc, version, offset) in enumerate(_SERVERS):
        sid = g.guid()
        server = BackupServer(sid, name, desc, 9392, version, offset)
        servers[sid] = server
        server_ids.append(sid)
        rid = g.guid()
        capacity = (8 + 4 * idx) * 2**40
        repositories[rid] = Repository(
            rid, f"Backup Repository {idx + 1}", sid, capacity, int(capacity * (0.35 + 0.2 * idx)),
            "WinLocal", "D:\\Backups",
        )
        server.repository_ids.append(rid)
        repo_ids.append(rid)
    # One hierarchy root (vCenter, Hyper-V cluster, vCloud Director) per platform per server.
    roots = {(sid, p): g.guid() for sid in server_ids for p in ("VMware", "HyperV", "vCloud")}

    # Decide job membership first so that small vm_counts drop empty jobs.
    specs: list[_JobSpec] = []
    members: list[list[str]] = []
    named = _NAMED_VMS[: min(vm_count, len(_NAMED_VMS))]
    for job_idx, spec in enumerate(_NAMED_JOBS):
        names = [vm for vm, j in named if j == job_idx]
        # sql01 first: the first VM of a run gets the smallest offset from the job start.
        names.sort(key=lambda n: n != "sql01")
        if names:
            specs.append(spec)
            members.append(names)
    extra = max(0, vm_count - len(_NAMED_VMS))
    job_no = len(_NAMED_JOBS) + 1
    vm_no = len(_NAMED_VMS) + 1
    while extra > 0:
        size = min(_EXTRA_JOB_SIZE, extra)
        k = job_no - len(_NAMED_JOBS) - 1
        platform = _EXTRA_PLATFORMS[k % len(_EXTRA_PLATFORMS)]
        method = "reverse" if k % 5 == 4 else "forward"
        full_mode = "none" if method == "reverse" else ("active" if k % 2 else "synthetic")
        specs.append(_JobSpec(f"Backup Job {job_no}", platform, k % 2, method, full_mode,
                              _EXTRA_HOURS[k % len(_EXTRA_HOURS)], 15 * (k % 4), True))
        prefix = {"VMware": "vm", "HyperV": "hv", "vCloud": "vcd"}[platform]
        members.append([f"{prefix}{vm_no + i:05d}" for i in range(size)])
        vm_no += size
        extra -= size
        job_no += 1

    jobs: dict[str, Job] = {}
    backups: dict[str, Backup] = {}
    vms: dict[str, Vm] = {}
    restore_points: dict[str, RestorePoint] = {}
    backup_files: dict[str, BackupFile] = {}
    vm_points: dict[str, VmRestorePoint] = {}
    points_by_vm: dict[str, list[VmRestorePoint]] = {}

    window_start = anchor - timedelta(days=days)
    disabled_at = anchor - timedelta(days=3, hours=7)
    for spec, names in zip(specs, members, strict=True):
        sid = server_ids[spec.server]
        server = servers[sid]
        rid = repo_ids[spec.server]
        hour = (anchor.hour - 2) % 24 if spec.hour is None else spec.hour
        job_id = g.guid()
        next_run: str | None = None
        if spec.enabled:
            nxt = anchor.replace(hour=hour, minute=spec.minute, second=0, microsecond=0)
            if nxt <= anchor:
                nxt += timedelta(days=1)
            next_run = iso_utc(ticks_of(nxt))
        job = Job(
            job_id, spec.name, sid, rid, spec.platform, "Backup",
            f"Created by {server.name.split('.')[0].upper()}\\Administrator.",
            True, spec.enabled, next_run, spec.method, spec.full_mode, list(names),
        )
        jobs[job_id] = job
        server.job_ids.append(job_id)
        backup = Backup(g.guid(), spec.name, sid, rid, job_id, spec.platform, "Standard")
        backups[backup.id] = backup
        job.backup_id = backup.id

        root = roots[(sid, spec.platform)]
        for name in names:
            if spec.platform == "VMware":
                ref = f"urn:VMware:Vm:{root}.vm-{g.moref()}"
            elif spec.platform == "HyperV":
                ref = f"urn:HyperV:Vm:{root}.{g.guid()}"
            else:
                ref = f"urn:vCloud:Vm:{root}.urn:vcloud:vm:{g.guid()}"
            size = g.rng.randint(20, 400) * 2**30
            vms[name] = Vm(name, spec.platform, ref, job_id, size)
            points_by_vm[name] = []

        # Pass 1: schedule the runs that finished inside the window.
        runs: list[_Run] = []
        for day in _days(window_start, anchor):
            start_dt = day.replace(hour=hour, minute=spec.minute)
            start = ticks_of(start_dt) + g.rng.randint(2, 9) * TICKS_PER_SECOND
            rp_ticks = start + g.rng.randint(15, 45) * TICKS_PER_SECOND + g.rng.randrange(1000) * 10_000
            file_ticks = start + g.rng.randint(3, 12) * TICKS_PER_SECOND + g.rng.randrange(1000) * 10_000
            t = start + 30 * TICKS_PER_SECOND
            vm_ticks = []
            for _ in names:
                t += g.rng.randint(40, 300) * TICKS_PER_SECOND
                vm_ticks.append(t + g.subsecond())
            if start_dt < window_start or vm_ticks[-1] > anchor_ticks:
                continue
            if not spec.enabled and start_dt >= disabled_at:
                continue
            runs.append(_Run(start, rp_ticks, file_ticks, vm_ticks))

        # Pass 2: materialise restore points, files and VM points with their chain roles.
        total_size = sum(vms[n].size_bytes for n in names)
        for r, run in enumerate(runs):
            point_type, algorithm, ext = _chain_role(spec, r, len(runs), datetime_of(run.start).weekday())
            rp = RestorePoint(
                g.guid(), sql_style_name(run.rp_ticks), backup.id, sid, job_id,
                iso_utc(run.rp_ticks), run.rp_ticks,
            )
            local = datetime_of(run.file_ticks) + timedelta(hours=server.utc_offset_hours)
            file_name = f"{spec.name}D{local:%Y-%m-%dT%H%M%S}_{g.hex4()}.{ext}"
            if ext == "vbk":
                data = int(total_size * g.rng.uniform(0.9, 1.0))
                dedup = round(g.rng.uniform(1.2, 2.2), 2)
                compress = round(g.rng.uniform(1.8, 2.6), 2)
            else:
                data = int(total_size * g.rng.uniform(0.02, 0.08))
                dedup = 1.0
                compress = round(g.rng.uniform(4.0, 7.5), 2)
            bf = BackupFile(
                g.guid(), file_name, f"D:\\Backups\\{spec.name}\\{file_name}", int(data / (dedup * compress)),
                data, dedup, compress, iso_utc(run.file_ticks), run.file_ticks, ext, backup.id, sid,
            )
            bf.restore_point_ids.append(rp.id)
            rp.backup_file_ids.append(bf.id)
            for name, vt in zip(names, run.vm_ticks, strict=True):
                pid = g.guid()
                if name == "sql01" and r == len(runs) - 1:
                    pid = SQL01_NEWEST_POINT_ID
                vp = VmRestorePoint(
                    pid, f"{name}@{name_stamp(vt)}", name, iso_utc(vt), vt, algorithm, point_type,
                    vms[name].hierarchy_obj_ref, rp.id, bf.id, sid, job_id, backup.id,
                )
                vm_points[pid] = vp
                points_by_vm[name].append(vp)
                rp.vm_point_ids.append(pid)
                bf.vm_point_ids.append(pid)
            restore_points[rp.id] = rp
            backup_files[bf.id] = bf
            backup.restore_point_ids.append(rp.id)
            backup.backup_file_ids.append(bf.id)

    return Dataset(
        seed=seed, anchor=anchor, backup_servers=servers, repositories=repositories, jobs=jobs,
        backups=backups, restore_points=restore_points, backup_files=backup_files,
        vm_restore_points=vm_points, vms=vms, points_by_vm=points_by_vm,
    )


def _chain_role(spec: _JobSpec, r: int, n: int, weekday: int) -> tuple[str, str, str]:
    """(PointType, Algorithm, file extension) of run `r` of `n` in the job's chain."""
    if spec.method == "reverse":
        # Reverse incremental: the newest point is always the full (.vbk); older ones become .vrb.
        algorithm = "Full" if r == 0 else "ReversedIncremental"
        if r == n - 1:
            return "Full", algorithm, "vbk"
        return "ReverseIncrement", algorithm, "vrb"
    if r == 0 or (spec.full_mode == "active" and weekday == 6):
        return "Full", "Full", "vbk"
    if spec.full_mode == "synthetic" and weekday == 5:
        return "Full", "SyntheticFull", "vbk"
    return "Increment", "Incremental", "vib"
