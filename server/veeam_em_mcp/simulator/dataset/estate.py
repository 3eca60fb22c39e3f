"""The fixed estate's layout: its backup servers, repositories, named jobs and VMs (in priority order), the
extra jobs a large `vm_count` adds, and each job's backup chain (which run is a full, an increment).

Tables only; the builder (builder.py) turns them into records.
"""

from __future__ import annotations

from dataclasses import dataclass

from .scenarios import (
    COPY_JOB,
    DISABLED_JOB,
    FOLDER_JOB,
    FOLDER_ONLY_VM,
    LAST_TWO_FAILED_VM,
    NEVER_BACKED_UP_VM,
    RETRY_JOB,
    RETRY_VM,
    RUNNING_JOB,
    SQL_JOB,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    name: str
    platform: str
    server: int
    # Repository key (see REPOSITORIES).
    repository: str
    method: str
    full_mode: str
    # Daily start in UTC as (hour, minute); "sql" = two hours before the anchor's hour (keeps sql01 inside a
    # 24 h RPO whatever the anchor), "running" = 25 minutes before the anchor (the run still going on),
    # "folder" = half past, eleven hours after the anchor's hour (its newest run, 12.5 to 13.5 hours old, and both
    # its retries are over, and it runs again within 12 hours, whatever the time of day: at a fixed hour, an
    # anchor just after it cut the newest run's retries off), "tenants" = eight hours before the anchor's hour.
    # At the tests' fixed anchor (09:00) both are the hours they had when they were fixed (20:30, 01:00).
    when: tuple[int, int] | str
    enabled: bool
    job_type: str = "Backup"


NAMED_JOBS = (
    JobSpec(name=SQL_JOB, platform="VMware", server=0, repository="local0", method="forward", full_mode="synthetic",
            when="sql", enabled=True),
    JobSpec(name=RETRY_JOB, platform="VMware", server=0, repository="sobr", method="reverse", full_mode="none",
            when=(22, 0), enabled=True),
    JobSpec(name=RUNNING_JOB, platform="HyperV", server=1, repository="ddboost", method="forward", full_mode="active",
            when="running", enabled=True),
    JobSpec(name=DISABLED_JOB, platform="HyperV", server=1, repository="local1", method="forward",
            full_mode="synthetic", when=(23, 0), enabled=False),
    JobSpec(name="vCloud Tenants", platform="vCloud", server=1, repository="local1", method="forward",
            full_mode="synthetic", when="tenants", enabled=True),
    JobSpec(name=FOLDER_JOB, platform="VMware", server=0, repository="local0", method="forward", full_mode="active",
            when="folder", enabled=True),
)
COPY_SPEC = JobSpec(name=COPY_JOB, platform="CustomPlatform", server=0, repository="s3", method="forward",
                    full_mode="none", when="immediate", enabled=True,
                    job_type="ImmediateBackupCopy")

# (VM name, job index), in priority order: a small vm_count keeps the VMs the oldest fixed facts need.
NAMED_VMS = (
    ("sql01", 0), ("fileserver02", 3), ("web,db (old)", 1), ('a";Name!="x', 0), ("vcd-web01", 4),
    (LAST_TWO_FAILED_VM, 5), (FOLDER_ONLY_VM, 5), ("hv-dc01", 2), ("wsus01", 2), ("web01", 1),
    (RETRY_VM, 1), (NEVER_BACKED_UP_VM, 0), ("sql02", 0), ("fileserver03", 3), ("vcd-app01", 4),
    ("fileserver01", 2), ("proxy01", 1), ("app01", 5), ("vcd-db01", 4), ("mon01", 2),
    ("sql03", 0), ("web03", 1), ("dc01", 5), ("vcd-web02", 4), ("dns01", 1),
    ("app02", 5), ("vcd-app02", 4), ("vcd-db02", 4), ("vcd-lb01", 4), ("vcd-cache01", 4),
)
# VMs of FOLDER_JOB that it protects through the folder include only (no ObjectInJob of their own).
FOLDER_VMS = frozenset({FOLDER_ONLY_VM, "app01", "dc01", "app02"})

SERVERS = (
    ("vbr01.tech.local", "Main site backup server", "12.3.1.1139", 2),
    ("vbr02.tech.local", "DR site backup server", "12.3.2.3617", 1),
)

_TIB = 2**40
# key -> (server, name, kind, capacity, free, path); the scale-out repository sums its extents.
REPOSITORIES: tuple[tuple[str, int, str, str, int, int, str], ...] = (
    ("local0", 0, "Backup Repository 1", "WindowsLocal", 8 * _TIB, int(8 * _TIB * 0.35), "D:\\Backups"),
    ("extent1", 0, "SOBR Extent 1", "WindowsLocal", 16 * _TIB, int(16 * _TIB * 0.41), "E:\\Backups"),
    ("extent2", 0, "SOBR Extent 2", "LinuxLocal", 16 * _TIB, int(16 * _TIB * 0.62), "/mnt/backups"),
    ("sobr", 0, "Scale-out Backup Repository", "Extendable", 0, 0, "E:\\Backups"),
    ("s3", 0, "Amazon S3 Copy", "AmazonS3Compatible", -1, -1, "s3://veeam-offsite/Backups"),
    ("local1", 1, "Backup Repository 2", "WindowsLocal", 12 * _TIB, int(12 * _TIB * 0.55), "D:\\Backups"),
    ("ddboost", 1, "DD Boost Repository", "DDBoost", 100 * _TIB, int(100 * _TIB * 0.032),
     "ddboost://ddboost01.tech.local/veeam"),
)
EXTENTS = ("extent1", "extent2")

EXTRA_JOB_SIZE = 25
EXTRA_PLATFORMS = ("VMware", "VMware", "HyperV", "vCloud")
EXTRA_HOURS = (18, 19, 20, 21, 22, 23, 0, 1, 2, 3)



def chain_role(spec: JobSpec, r: int, n: int, weekday: int) -> tuple[str, str, str]:
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


# --- transforms for tests (mutate in place; apply before create_app, whose query service caches tables) ---
