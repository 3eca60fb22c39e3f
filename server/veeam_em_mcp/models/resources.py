"""Pydantic models of the Enterprise Manager resources, one class per EM type, in their compact shape.

Each class is one row of ``representation.registry`` (which says where EM serves it and how it is
read); its ``kind`` literal is the EM type name. A resource is what EM said about it, minus what is
derivable, with its links grouped by what they lead to:

- a link to one resource of a known type becomes a field named after that type (``backup_server``,
  ``restore_point``, ``backup_file``, …) holding the target's name and href (a list when EM gives
  several, e.g. the restore points a job session created);
- a link to a list becomes an entry of ``collections`` (``{"vm_restore_points": "/api/…"}``);
- the operations EM offers (restore, mount, start a job, …) are listed by name in ``actions``: the
  model learns they exist, and that this server, being read-only, does not perform them;
- the ``Alternate`` link (the same resource in its other representation) is left out, and so are the
  ``uid`` and ``href`` when they are just ``urn:veeam:<Type>:<id>`` and the canonical path of the id;
- any other link is kept as EM sent it, in ``other_links``.

Every href is a path on the configured Enterprise Manager (``/api/…``); ``follow_link`` and
``get_vm_restore_point`` take it as it is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import Model, Platform, UtcTimestamp, free_text

KIND = "The EM type of the resource: says which model this is"

# --- building blocks ------------------------------------------------------------------------


class Link(Model):
    """A hypermedia link exactly as EM sent it. Pass ``href`` to ``follow_link`` to fetch it."""

    rel: str | None = Field(None, description="Relation: Up (parent), Down (children), Related…")
    href: str = Field(description="URL on the Enterprise Manager server")
    name: str | None = Field(None, description="Display name of the target, when EM gives one")
    type: str | None = Field(None, description="EM's declared type of the target (sometimes wrong on real servers)")


class Ref(Model):
    """A related resource: the name EM gave it in the link, and its href (pass it to follow_link)."""

    name: str | None = Field(None, description="The target's display name, as EM gave it")
    href: str = Field(description="Path of the target on Enterprise Manager; pass it to follow_link")


class Entity(Model):
    """What every EM entity has: its identity, and what its links lead to beyond its typed fields."""

    kind: str = Field(description="The EM type of the resource")  # each model narrows it to its Literal
    id: str | None = Field(None, description="GUID of the resource (its UID is urn:veeam:<kind>:<id>)")
    name: str | None = Field(None, description=free_text("Display name, as EM gives it"))
    uid: str | None = Field(None, description="EM's UID, only when it is not urn:veeam:<kind>:<id>")
    href: str | None = Field(None, description="Path of the resource, only when it is not the canonical one")
    collections: dict[str, str] | None = Field(
        None, description="Lists this resource links to: name -> href (pass the href to follow_link)"
    )
    actions: list[str] | None = Field(
        None, description="Operations EM offers on it (e.g. Restore); this server is read-only and performs none"
    )
    other_links: list[Link] | None = Field(None, description="Links of no known kind, exactly as EM sent them")


# --- resources ------------------------------------------------------------------------------


class VmRestorePoint(Entity):
    """One VM's restore point: when it was taken, how, and the file, job-level point and server behind it."""

    kind: Literal["VmRestorePoint"] = Field("VmRestorePoint", description=KIND)
    name: str | None = Field(
        None, description="EM's name of the point; left out when it is just <vm_name>@<creation time>"
    )
    vm_name: str | None = Field(None, description=free_text("VM name; some EM versions omit it"))
    vm_display_name: str | None = Field(None, description="VM display name, only when it differs from vm_name")
    creation_time: UtcTimestamp | None = Field(None, description="When the point was created (UTC)")
    algorithm: str | None = Field(None, description="Full, Incremental, ReversedIncremental or SyntheticFull")
    point_type: str | None = Field(None, description="Full, Increment or ReverseIncrement")
    hierarchy_obj_ref: str | None = Field(None, description="Reference to the VM in the virtual infrastructure")
    platform: Platform | None = Field(None, description="From hierarchy_obj_ref: VMware, HyperV or vCloud")
    backup_server: Ref | None = Field(None, description="The backup server that made it")
    restore_point: Ref | None = Field(None, description="The job-level restore point (one job run) it belongs to")
    backup_file: Ref | None = Field(None, description="The backup file that holds it")
    backup: Ref | None = Field(
        None, description="The backup that holds it, read from its job-level point (VBR names a backup after its "
        "job); absent when EM could not say"
    )


class RestorePoint(Entity):
    """A job-level restore point (one job run), parent of the per-VM restore points."""

    kind: Literal["RestorePoint"] = Field("RestorePoint", description=KIND)
    backup_date: UtcTimestamp | None = Field(None, description="When the job run's backup was taken (UTC)")
    backup: Ref | None = Field(None, description="The backup (the job's chain) it belongs to")
    backup_server: Ref | None = Field(None, description="The backup server that made it")


class BackupServer(Entity):
    """A Veeam Backup & Replication server registered in Enterprise Manager."""

    kind: Literal["BackupServer"] = Field("BackupServer", description=KIND)
    description: str | None = None
    port: int | None = Field(None, description="VBR service port (default 9392)")
    version: str | None = Field(None, description="VBR version")
    wcf_port: int | None = None
    vbr_certificate_thumbprint: str | None = None


class BackupFile(Entity):
    """A backup file on a repository: .vbk (full), .vib (increment) or .vrb (reverse increment)."""

    kind: Literal["BackupFile"] = Field("BackupFile", description=KIND)
    file_path: str | None = None
    file_type: str | None = Field(None, description="vbk, vib or vrb")
    backup_size: int | None = Field(None, description="Bytes on disk")
    data_size: int | None = Field(None, description="Bytes of source data")
    deduplication_ratio: float | None = None
    compress_ratio: float | None = None
    creation_time: UtcTimestamp | None = Field(None, description="When the file was created (UTC)")
    backup: Ref | None = Field(None, description="The backup (the job's chain) it belongs to")
    backup_server: Ref | None = Field(None, description="The backup server that wrote it")


class Backup(Entity):
    """A backup (the chain of files one job writes)."""

    kind: Literal["Backup"] = Field("Backup", description=KIND)
    platform: str | None = Field(None, description="VMware, HyperV, vCloud, Agent…")
    backup_type: str | None = Field(None, description="Standard, ParentBackup or ChildBackup")
    repository: Ref | None = Field(None, description="The repository that holds it")
    backup_server: Ref | None = Field(None, description="The backup server that owns it")


class JobInclude(Model):
    """One member of a job: a VM, or a container (folder, tag, host, resource pool…) whose VMs it backs up."""

    name: str | None = Field(None, description="Its name in the job (DisplayName, else Name)")
    object_type: str | None = Field(
        None, description="From its HierarchyObjRef: Vm for a VM, else the container type (Folder, Tag, Host…)"
    )
    hierarchy_obj_ref: str | None = Field(None, description="Its reference in the virtual infrastructure")


class Job(Entity):
    """A job: its type, platform, schedule (summarised; EM's whole tree is at its href) and members."""

    kind: Literal["Job"] = Field("Job", description=KIND)
    job_type: str | None = Field(None, description="Backup, BackupCopy, ImmediateBackupCopy, Replica…")
    platform: str | None = Field(None, description="VMware, Hyperv, vCloud, CustomPlatform…")
    description: str | None = Field(None, description=free_text("The job's description"))
    schedule_configured: bool | None = None
    schedule_enabled: bool | None = None
    next_run: UtcTimestamp | None = Field(None, description="When the job runs next (UTC), if scheduled")
    schedule: str | None = Field(
        None, description="The schedule EM describes, in words (daily/monthly/periodically, days); next_run says when"
    )
    retry_times: int | None = Field(None, description="Automatic retries of failed VMs per run")
    includes: list[JobInclude] | None = Field(None, description="Its members, when EM embeds them in the job")
    source_jobs: list[str] | None = Field(
        None, description="A backup copy job: the UIDs of the jobs whose backups it copies (its linked jobs)"
    )
    backup_server: Ref | None = Field(None, description="The backup server that runs it")


class AgentBackupJob(Job):
    """A Veeam Agent backup job (EM lists them under /agents/jobs, not with the other jobs)."""

    kind: Literal["AgentBackupJob"] = Field("AgentBackupJob", description=KIND)  # type: ignore[assignment]


class BackupJobSession(Entity):
    """One run of a job. An automatic retry is a run of its own (is_retry): the newest run of a job is its outcome."""

    kind: Literal["BackupJobSession"] = Field("BackupJobSession", description=KIND)
    job_name: str | None = Field(None, description=free_text("The job's name"))
    job_uid: str | None = Field(None, description="The job's UID (urn:veeam:Job:<GUID>): names repeat, this not")
    job_type: str | None = Field(None, description="Backup, BackupCopy, ImmediateBackupCopy(Worker), AgentBackup…")
    creation_time: UtcTimestamp | None = Field(None, description="When the run started (UTC)")
    end_time: UtcTimestamp | None = Field(None, description="When it ended (UTC); absent while it runs")
    state: str | None = Field(None, description="Stopped when finished; Starting, Working, Stopping… while running")
    result: str | None = Field(None, description="Success, Warning or Failed; meaningless while the run is running")
    progress: int | None = Field(None, description="Percent (0 on a backup copy's parent session even when done)")
    is_retry: bool | None = Field(None, description="True for an automatic retry of an earlier failed run")
    failure_message: str | None = Field(
        None, description=free_text("Mostly empty on EM: the reasons are in the task sessions")
    )
    backup_server: Ref | None = None
    job: Ref | None = Field(None, description="The job this is a run of")
    restore_points: list[Ref] | None = Field(None, description="The job-level restore points this run created")


class ReplicaJobSession(BackupJobSession):
    """One session of a replication job (EM's ReplicaJobSession): the fields of a backup job session."""

    kind: Literal["ReplicaJobSession"] = Field("ReplicaJobSession", description=KIND)  # type: ignore[assignment]


class BackupTaskSession(Entity):
    """One VM in one job run: its outcome, EM's reason when it failed or warned, and the point it made."""

    kind: Literal["BackupTaskSession"] = Field("BackupTaskSession", description=KIND)
    vm_name: str | None = Field(None, description=free_text("The VM (EM's VmDisplayName)"))
    creation_time: UtcTimestamp | None = Field(None, description="When processing of the VM started (UTC)")
    end_time: UtcTimestamp | None = Field(None, description="When it ended (UTC); absent while it runs")
    state: str | None = Field(None, description="Completed when done; InProgress or Pending while the run goes on")
    result: str | None = Field(None, description="Success, Warning or Failed")
    reason: str | None = Field(
        None, description=free_text("EM's whole text of why it failed or warned; absent on success")
    )
    total_size: int | None = Field(None, description="Bytes EM reports for the task (the VM's size; 0 when failed)")
    vm_uid: str | None = Field(None, description="The VM's reference in the virtual infrastructure")
    backup_server: Ref | None = None
    job_session: Ref | None = Field(None, description="The job run it belongs to (its name is <job>@<start>)")
    vm_restore_point: Ref | None = Field(None, description="The restore point it created; absent when it made none")


class RestoreSession(Entity):
    """One restore EM recorded (a VM restore, a file-level restore; a failover counts too)."""

    kind: Literal["RestoreSession"] = Field("RestoreSession", description=KIND)
    vm_name: str | None = Field(None, description=free_text("The VM restored from (EM's VmDisplayName)"))
    job_type: str | None = Field(None, description="RestoreVm or FileLevelRestore")
    creation_time: UtcTimestamp | None = Field(None, description="When the restore started (UTC)")
    end_time: UtcTimestamp | None = Field(None, description="When it ended (UTC); absent while it runs")
    state: str | None = Field(None, description="Stopped when finished; Starting, Working, Stopping while running")
    result: str | None = Field(None, description="Success, Warning or Failed; None while it runs")
    progress: int | None = Field(None, description="Percent")
    restored_obj_ref: str | None = Field(None, description="Reference of the object restored, when EM gives it")
    backup_server: Ref | None = None
    vm_restore_point: Ref | None = Field(None, description="The VM restore point restored from, when EM links it")


class CloudTenant(Entity):
    """A Cloud Connect tenant of a backup server acting as a service provider."""

    kind: Literal["CloudTenant"] = Field("CloudTenant", description=KIND)
    description: str | None = Field(None, description=free_text("The tenant's description"))
    enabled: bool | None = None
    last_result: str | None = Field(None, description="Result of the tenant's last job")
    last_active: UtcTimestamp | None = Field(None, description="When the tenant was last active (UTC)")
    backup_count: int | None = Field(None, description="Backed-up VMs in the past 31 days")
    replica_count: int | None = Field(None, description="Replicated VMs in the past 31 days")
    work_station_backup_count: int | None = Field(None, description="Backed-up workstations in the past 31 days")
    server_backup_count: int | None = Field(None, description="Backed-up servers in the past 31 days")
    quota_mb: int | None = Field(None, description="Storage quota over its resources, in MB")
    used_quota_mb: int | None = Field(None, description="Storage quota used, in MB")
    repository: str | None = Field(None, description=free_text("The repositories of its quotas, by display name"))
    backup_server: Ref | None = None


class VCloudOrganizationConfig(Entity):
    """A vCloud Director organization's self-service configuration in EM: its repository and quota."""

    kind: Literal["VCloudOrganizationConfig"] = Field("VCloudOrganizationConfig", description=KIND)
    repository_friendly_name: str | None = Field(None, description=free_text("The repository it backs up to"))
    quota_gb: int | None = Field(None, description="Quota in GB (EM's unit for it)")
    used_quota_mb: int | None = Field(None, description="Quota used, in MB (EM's unit for it)")
    is_disabled: bool | None = None
    backup_server: Ref | None = None


class ReplicaTaskSession(BackupTaskSession):
    """One VM in one replication run (EM's ReplicaTaskSession): a backup task session's fields, without VmUid."""

    kind: Literal["ReplicaTaskSession"] = Field("ReplicaTaskSession", description=KIND)  # type: ignore[assignment]
    replica_session: Ref | None = Field(None, description="The replication run it belongs to")
    vm_replica_point: Ref | None = Field(None, description="The replica point it created, when EM links it")


class Replica(Entity):
    """A replication job's replicas (EM's Replica: one per job and named after it, like a Backup)."""

    kind: Literal["Replica"] = Field("Replica", description=KIND)
    platform: str | None = Field(None, description="VMware, HyperV or vCloud")
    repository: Ref | None = Field(None, description="The repository that holds the replica metadata")
    backup_server: Ref | None = Field(None, description="The backup server that replicates")


class VmReplicaPoint(Entity):
    """One VM's replica restore point (a snapshot of the replica VM); EM gives it no reference to the VM."""

    kind: Literal["VmReplicaPoint"] = Field("VmReplicaPoint", description=KIND)
    vm_name: str | None = Field(
        None, description=free_text("The replica VM (<source>_replica by VBR's default) on most EMs, the source VM "
                                    "on some")
    )
    vm_display_name: str | None = Field(None, description="VM display name, only when it differs from vm_name")
    creation_time: UtcTimestamp | None = Field(None, description="When the point was created (UTC)")
    algorithm: str | None = Field(None, description="Full or Incremental")
    point_type: str | None = Field(None, description="Full, Increment, ReverseIncrement or Snapshot")
    backup_server: Ref | None = Field(None, description="The backup server that made it")
    replica: Ref | None = Field(None, description="The replica it belongs to, named after its replication job")


class AgentRestorePoint(Entity):
    """A computer's restore point made by Veeam Agent: named <computer>@<time>; EM gives no VM fields."""

    kind: Literal["AgentRestorePoint"] = Field("AgentRestorePoint", description=KIND)
    creation_time: UtcTimestamp | None = Field(None, description="When the point was created (UTC)")
    algorithm: str | None = Field(None, description="Full, Incremental, ReversedIncremental or SyntheticFull")
    point_type: str | None = Field(None, description="Full, Increment or ReverseIncrement")
    backup_server: Ref | None = Field(None, description="The backup server that made it")
    restore_point: Ref | None = Field(None, description="The job-level restore point it belongs to")
    backup_file: Ref | None = Field(None, description="The backup file that holds it")

    @property
    def computer(self) -> str | None:
        """The computer's name: EM's point name is <computer>@<UTC time>."""
        return self.name.rsplit("@", 1)[0] if self.name and "@" in self.name else self.name


class AgentProtectionGroup(Entity):
    """A Veeam Agent protection group: the computers an agent job backs up are its members."""

    kind: Literal["AgentProtectionGroup"] = Field("AgentProtectionGroup", description=KIND)
    rescan_schedule_enabled: bool | None = Field(None, description="Whether the group rescans for computers")
    hierarchy_obj_ref: str | None = None
    backup_server: Ref | None = None


class DiscoveredComputer(Entity):
    """A computer a protection group found, with its Veeam Agent (EM lists it once per group it is in)."""

    kind: Literal["DiscoveredComputer"] = Field("DiscoveredComputer", description=KIND)
    host_status: str | None = None
    agent_status: str | None = None
    agent_version: str | None = None
    os_version: str | None = Field(None, description=free_text("Operating system, as the agent reports it"))
    ip_address: str | None = None
    hierarchy_obj_ref: str | None = None
    backup_server: Ref | None = None
    agent_protection_group: Ref | None = Field(None, description="The protection group that found it")


class ObjectInJob(Entity):
    """One member of a job as EM lists it under the job's includes."""

    kind: Literal["ObjectInJob"] = Field("ObjectInJob", description=KIND)
    hierarchy_obj_ref: str | None = None
    display_name: str | None = None
    order: int | None = None
    job: Ref | None = Field(None, description="The job it is a member of")


class Repository(Entity):
    """A backup repository: where backups are stored, and how full it is (-1 means EM does not know)."""

    kind: Literal["Repository"] = Field("Repository", description=KIND)
    capacity: int | None = Field(None, description="Bytes; -1 when EM does not know it (object storage)")
    free_space: int | None = Field(None, description="Bytes; -1 when EM does not know it (object storage)")
    storage_kind: str | None = Field(
        None, description="EM's Kind: WindowsLocal, LinuxLocal, CifsShare, DDBoost, Extendable (scale-out), …"
    )
    backup_server: Ref | None = None


class EntityRef(Model):
    """A reference: what EM names the target, and where it is. follow_link(href) gives the whole resource."""

    kind: Literal["EntityRef"] = Field("EntityRef", description=KIND)
    type: str | None = Field(None, description="EM type of the target (from the reference's Type), e.g. Job")
    id: str | None = Field(None, description="GUID of the target")
    name: str | None = Field(None, description="Display name of the target")
    href: str = Field(description="Path of the target; pass it to follow_link")


class EntityReferences(Model):
    """A list of references, as EM returns for collections."""

    kind: Literal["EntityReferences"] = Field("EntityReferences", description=KIND)
    href: str | None = None
    refs: list[EntityRef] = Field(default_factory=list)


class VmRestorePointMount(Model):
    href: str | None = Field(None, description="Path of the mount")
    fs_roots: list[dict[str, Any]] = Field(default_factory=list, description="Mounted file-system roots")
    other_links: list[Link] | None = Field(None, description="Its links, as EM sent them")


class VmRestorePointMounts(Model):
    """Mount points of a restore point (they live only as long as the EM logon session)."""

    kind: Literal["VmRestorePointMounts"] = Field("VmRestorePointMounts", description=KIND)
    href: str | None = None
    mounts: list[VmRestorePointMount] = Field(default_factory=list)


class GenericResource(Model):
    """Any other EM resource, with all of its fields kept (names in snake_case)."""

    kind: Literal["GenericResource"] = Field("GenericResource", description=KIND)
    root: str | None = Field(None, description="EM's element or type name of the representation")
    href: str | None = Field(None, description="Path of the resource")
    links: list[Link] = Field(default_factory=list, description="Its links, exactly as EM sent them")
    fields: dict[str, Any] = Field(default_factory=dict, description="Every other field EM sent")
