"""Pydantic models of the Enterprise Manager resources, one class per EM type.

Each class is one row of ``representation.registry`` (which says where EM serves it and how it is
read); its ``kind`` literal is the EM type name. Every resource keeps its ``href``, ``type`` and
``links`` so the assistant can keep walking the API with ``follow_link``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import Model, Platform, UtcTimestamp

# --- building blocks ------------------------------------------------------------------------


class Link(Model):
    """A hypermedia link exactly as EM sent it. Pass ``href`` to ``follow_link`` to fetch it."""

    rel: str | None = Field(None, description="Relation: Up (parent), Down (children), Alternate, Related…")
    href: str = Field(description="Absolute URL on the Enterprise Manager server")
    name: str | None = Field(None, description="Display name of the target, when EM gives one")
    type: str | None = Field(None, description="EM's declared type of the target (sometimes wrong on real servers)")


class Resource(Model):
    href: str | None = Field(None, description="URL of this resource on Enterprise Manager")
    type: str | None = Field(None, description="EM's type name of this representation")
    links: list[Link] = Field(default_factory=list, description="Links to related resources")


class Entity(Resource):
    id: str | None = Field(None, description="GUID of the resource (from its UID)")
    uid: str | None = Field(None, description="EM unique id, urn:veeam:<Type>:<GUID>")
    name: str | None = Field(None, description="Display name")


# --- resources ------------------------------------------------------------------------------


class VmRestorePoint(Entity):
    """One VM's restore point: when it was taken, how, and links to its file, server and parent."""

    kind: Literal["VmRestorePoint"] = "VmRestorePoint"
    vm_name: str | None = Field(None, description="VM name; some EM versions omit it")
    vm_display_name: str | None = Field(None, description="VM display name, when EM gives one")
    creation_time: UtcTimestamp | None = Field(None, description="When the point was created (UTC)")
    algorithm: str | None = Field(None, description="Full, Incremental, ReversedIncremental or SyntheticFull")
    point_type: str | None = Field(None, description="Full, Increment or ReverseIncrement")
    hierarchy_obj_ref: str | None = Field(None, description="Reference to the VM in the virtual infrastructure")
    platform: Platform | None = Field(None, description="From hierarchy_obj_ref: VMware, HyperV or vCloud")


class RestorePoint(Entity):
    """A job-level restore point (one job run), parent of the per-VM restore points."""

    kind: Literal["RestorePoint"] = "RestorePoint"
    backup_date: UtcTimestamp | None = Field(None, description="When the job run's backup was taken (UTC)")


class BackupServer(Entity):
    """A Veeam Backup & Replication server registered in Enterprise Manager."""

    kind: Literal["BackupServer"] = "BackupServer"
    description: str | None = None
    port: int | None = Field(None, description="VBR service port (default 9392)")
    version: str | None = Field(None, description="VBR version")
    wcf_port: int | None = None
    vbr_certificate_thumbprint: str | None = None


class BackupFile(Entity):
    """A backup file on a repository: .vbk (full), .vib (increment) or .vrb (reverse increment)."""

    kind: Literal["BackupFile"] = "BackupFile"
    file_path: str | None = None
    file_type: str | None = Field(None, description="vbk, vib or vrb")
    backup_size: int | None = Field(None, description="Bytes on disk")
    data_size: int | None = Field(None, description="Bytes of source data")
    deduplication_ratio: float | None = None
    compress_ratio: float | None = None
    creation_time: UtcTimestamp | None = Field(None, description="When the file was created (UTC)")


class Backup(Entity):
    """A backup (the chain of files one job writes)."""

    kind: Literal["Backup"] = "Backup"
    platform: str | None = Field(None, description="VMware, HyperV, vCloud, Agent…")
    backup_type: str | None = Field(None, description="Standard, ParentBackup or ChildBackup")


class Job(Entity):
    """Summary of a backup job (the full schedule tree is left out; follow the href for it)."""

    kind: Literal["Job"] = "Job"
    job_type: str | None = None
    platform: str | None = None
    description: str | None = None
    schedule_configured: bool | None = None
    schedule_enabled: bool | None = None
    next_run: str | None = None


class EntityRef(Entity):
    """A reference to a resource; follow its ``href`` (or its Alternate link) for the entity."""

    kind: Literal["EntityRef"] = "EntityRef"


class EntityReferences(Model):
    """A list of references, as EM returns for collections."""

    kind: Literal["EntityReferences"] = "EntityReferences"
    href: str | None = None
    refs: list[EntityRef] = Field(default_factory=list)


class VmRestorePointMount(Resource):
    fs_roots: list[dict[str, Any]] = Field(default_factory=list, description="Mounted file-system roots")


class VmRestorePointMounts(Model):
    """Mount points of a restore point (they live only as long as the EM logon session)."""

    kind: Literal["VmRestorePointMounts"] = "VmRestorePointMounts"
    href: str | None = None
    mounts: list[VmRestorePointMount] = Field(default_factory=list)


class GenericResource(Resource):
    """Any other EM resource, with all of its fields kept (names in snake_case)."""

    kind: Literal["GenericResource"] = "GenericResource"
    root: str | None = Field(None, description="EM's element or type name of the representation")
    fields: dict[str, Any] = Field(default_factory=dict, description="Every other field EM sent")
