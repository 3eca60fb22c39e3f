"""Result models of the query tools (``find_vm_restore_points``, ``vm_recovery_summary``).

Same rules as ``base.py``: snake_case on the wire, a description on every field, nothing invented (a
value EM did not report stays ``None``), and anything left out for size is said so in fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Model, Platform, UtcTimestamp
from .resources import Ref, VmRestorePoint

SHARED = (
    "Fields every item of this page has with the same value (e.g. vm_name, platform, backup_server), left out "
    "of each item: read them as part of every item. In shared collections, {id} stands for the item's id"
)


class AppliedQuery(Model):
    """The query as it was sent to Enterprise Manager (times normalised to UTC)."""

    vm_name: str | None = Field(None, description="VM name matched exactly (EM compares case-insensitively)")
    created_after: UtcTimestamp | None = Field(None, description="Only points created at or after this time (UTC)")
    created_before: UtcTimestamp | None = Field(None, description="Only points created before this time (UTC)")
    algorithm: list[str] | None = Field(None, description="Only points with one of these algorithms")
    point_type: str | None = Field(None, description="Only points with this point type")
    backup_server: str | None = Field(None, description="Only points made by this backup server (name or id)")
    platform: Platform | None = Field(
        None, description="Only points of VMs on this platform (filtered here: EM's query has no platform field)"
    )
    newest_first: bool = Field(description="True: newest point first; false: oldest first")
    snapshot_until: UtcTimestamp | None = Field(
        None,
        description="Later pages ignore points created after this time (the newest point of the first page), "
        "so paging is stable while backups run; start again without a cursor to see newer points",
    )
    em_filter: str | None = Field(None, description="The filter expression sent to EM's query service")


class FindVmRestorePointsResult(Model):
    """One page of VM restore points matching a query, and how to get the next one."""

    restore_points: list[VmRestorePoint] = Field(description="The restore points on this page, in the asked order")
    shared: dict[str, Any] | None = Field(None, description=SHARED)
    returned: int = Field(description="How many restore points are in this result")
    page: int = Field(description="EM's page number this result starts on (1-based)")
    page_size: int = Field(description="Restore points per EM page")
    pages_count: int = Field(description="Number of pages EM reports for this query")
    skipped_on_page: int = Field(
        0, description="Points at the start of that EM page that an earlier result already returned"
    )
    em_requests: int = Field(
        1, description="EM requests this call made: the query pages read (more than one only when platform "
        "filtering skips points) and the lookup of the points' backups"
    )
    next_cursor: str | None = Field(
        None, description="Pass as 'cursor' to get the next restore points; null when there are no more"
    )
    truncated: bool = Field(
        False, description="True when this result is not the whole answer: more points follow (next_cursor)"
    )
    held_back: int = Field(0, description="Points of this page not included here; next_cursor starts with them")
    note: str | None = Field(None, description="What was held back and how to get it, or why nothing matched")
    query: AppliedQuery = Field(description="The query that produced this page")


class PointBrief(Model):
    """The essentials of one VM restore point; get_vm_restore_point(id) gives all of it."""

    id: str | None = Field(None, description="GUID of the VM restore point")
    name: str | None = Field(None, description="EM's name of the point, <VM>@<time>")
    creation_time: UtcTimestamp | None = Field(None, description="When the point was created (UTC)")
    age_hours: float | None = Field(None, description="Hours between creation_time and as_of")
    algorithm: str | None = Field(None, description="Full, Incremental, ReversedIncremental or SyntheticFull")
    point_type: str | None = Field(None, description="Full, Increment or ReverseIncrement")


class ChainFile(Model):
    """One backup file a restore of the newest point reads."""

    name: str | None = Field(None, description="File name, as EM names it")
    file_type: str | None = Field(None, description="vbk (full), vib (increment) or vrb (reverse increment)")
    backup_size: int | None = Field(None, description="Bytes on disk; absent when EM did not report it")
    creation_time: UtcTimestamp | None = Field(None, description="When the file was written (UTC)")
    href: str = Field(description="Path of the file on EM; pass to follow_link for all of it")


class ChainInfo(Model):
    """Which full backup the newest restore point needs for a restore."""

    base_full: PointBrief | None = Field(
        None, description="The nearest older-or-same point of type Full; null when none was found"
    )
    points_after_full: int | None = Field(
        None, description="Increments between the base full and the newest point, the newest included"
    )
    found: bool = Field(description="True when a Full point was found for the newest point to depend on")
    files: list[ChainFile] | None = Field(
        None, description="The backup files of the chain, full first, newest last (what a restore of the newest reads)"
    )
    total_backup_size: int | None = Field(
        None, description="Bytes on disk of those files together; absent when a file's size is unknown"
    )
    note: str = Field(description="How the chain reads, in words")


class CopyInfo(Model):
    """Copies of the VM's points made by backup copy jobs (3-2-1: is there a copy elsewhere, how new)."""

    count: int = Field(description="Copies among the VM's newest points read (up to 100)")
    newest: PointBrief | None = Field(None, description="The newest copy; absent when there is none")
    jobs: list[str] | None = Field(None, description="The backup copy jobs EM knows (names)")
    repositories: list[str] | None = Field(None, description="Where the copies are (repository names)")
    note: str = Field(description="In words: copied or not, by which job, where, how old")


class ReplicaInfo(Model):
    """The VM's replica points made by replication jobs (a standby copy to fail over to, not a backup)."""

    count: int = Field(description="Replica points of the VM (of the newest 100 read)")
    newest: PointBrief | None = Field(None, description="The newest replica point; absent when there is none")
    jobs: list[str] | None = Field(None, description="The replication jobs that replicate it (names)")
    note: str = Field(description="In words: replicated or not, by which job, how old")


class VmRecoverySummary(Model):
    """How recoverable one VM is right now, from its restore points in Enterprise Manager."""

    vm_name: str = Field(description="The VM asked about (matched exactly, case-insensitively)")
    as_of: UtcTimestamp = Field(description="The time ages and the RPO were measured against (UTC)")
    restore_point_count: int = Field(description="How many restore points EM reports for the VM")
    newest: PointBrief | None = Field(None, description="The newest restore point; null when there is none")
    oldest: PointBrief | None = Field(None, description="The oldest restore point; null when there is none")
    rpo_hours: float = Field(description="The recovery point objective checked, in hours")
    rpo_met: bool = Field(description="True when the newest point is at most rpo_hours old")
    hours_over_rpo: float | None = Field(
        None, description="How many hours the newest point is past the RPO (0 when met; null without points)"
    )
    chain: ChainInfo | None = Field(None, description="The full the newest point depends on; null without points")
    backup_server: Ref | None = Field(None, description="Backup server that made the newest point")
    backup_file: Ref | None = Field(None, description="Backup file that holds the newest point")
    backup: Ref | None = Field(
        None, description="The backup that holds the newest point; VBR names a backup after the job that writes it"
    )
    repository: Ref | None = Field(None, description="The repository that holds that backup")
    backup_server_version: str | None = Field(None, description="VBR version of backup_server")
    collected: UtcTimestamp | None = Field(
        None, description="The oldest of EM's last good collections from its backup servers (UTC); see note"
    )
    pages_read: int = Field(description="EM query pages read to build this summary")
    em_requests: int | None = Field(None, description="EM requests made to build this summary, query pages included")
    copies: CopyInfo | None = Field(None, description="Copies of its points made by backup copy jobs, and where")
    replicas: ReplicaInfo | None = Field(None, description="Its replica points made by replication jobs")
    note: str | None = Field(None, description="Anything the model should say about the answer")
