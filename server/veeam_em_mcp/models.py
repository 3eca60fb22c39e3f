"""Pydantic models of the Enterprise Manager resources an assistant meets from a restore point.

These are what the model reads (MCP ``outputSchema`` + ``structuredContent``), so field names are
snake_case on the wire with no aliases, every field has a description, and nothing is invented:
a value EM did not send stays ``None`` here and is left out of the
result the model reads. Every resource keeps its ``href``, ``type`` and ``links``
so the assistant can keep walking the API with ``follow_link``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

# --- timestamps -----------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_timestamp(text: str) -> datetime:
    """Parse EM's ISO 8601 text (0–7 fractional digits, ``Z``/offset/none = UTC) to an aware datetime.

    Python keeps microseconds; the 7th digit (.NET ticks) survives only in the canonical text.
    """
    match = _TIMESTAMP.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value


def canonical_timestamp(text: str) -> str:
    """Normalise to ``YYYY-MM-DDTHH:MM:SS[.f…]Z`` in UTC, keeping every fractional digit EM sent."""
    match = _TIMESTAMP.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    fraction, zone = match.group(7), match.group(8)
    if zone and zone not in ("Z", "z") and zone.replace(":", "")[1:] != "0000":
        shifted = parse_timestamp(text)
        base = shifted.strftime("%Y-%m-%dT%H:%M:%S")
    else:
        base = "{}-{}-{}T{}:{}:{}".format(*match.groups()[:6])
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


UtcTimestamp = Annotated[
    str,
    AfterValidator(canonical_timestamp),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "UTC, ISO 8601, with every fractional digit Enterprise Manager reported",
        }
    ),
]

Platform = Literal["VMware", "HyperV", "vCloud"]

_PLATFORMS: dict[str, Platform] = {"vmware": "VMware", "hyperv": "HyperV", "vcloud": "vCloud"}


def platform_from_hierarchy_ref(ref: str | None) -> Platform | None:
    """``urn:VMware:Vm:…`` → ``VMware``; EM spells Hyper-V both ``HyperV`` and ``Hyperv``."""
    if not ref:
        return None
    parts = ref.split(":")
    if len(parts) < 3 or parts[0].lower() != "urn":
        return None
    return _PLATFORMS.get(parts[1].lower())


def age_hours(timestamp: str, now: datetime) -> float:
    return round((now - parse_timestamp(timestamp)).total_seconds() / 3600, 2)


# --- building blocks ------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Link(_Model):
    """A hypermedia link exactly as EM sent it. Pass ``href`` to ``follow_link`` to fetch it."""

    rel: str | None = Field(None, description="Relation: Up (parent), Down (children), Alternate, Related…")
    href: str = Field(description="Absolute URL on the Enterprise Manager server")
    name: str | None = Field(None, description="Display name of the target, when EM gives one")
    type: str | None = Field(None, description="EM's declared type of the target (sometimes wrong on real servers)")


class Resource(_Model):
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


class EntityReferences(_Model):
    """A list of references, as EM returns for collections."""

    kind: Literal["EntityReferences"] = "EntityReferences"
    href: str | None = None
    refs: list[EntityRef] = Field(default_factory=list)


class VmRestorePointMount(Resource):
    fs_roots: list[dict[str, Any]] = Field(default_factory=list, description="Mounted file-system roots")


class VmRestorePointMounts(_Model):
    """Mount points of a restore point (they live only as long as the EM logon session)."""

    kind: Literal["VmRestorePointMounts"] = "VmRestorePointMounts"
    href: str | None = None
    mounts: list[VmRestorePointMount] = Field(default_factory=list)


class ResourceList(_Model):
    """A list of entities (a collection fetched with ``format=Entity``)."""

    kind: Literal["ResourceList"] = "ResourceList"
    href: str | None = None
    item_type: str | None = Field(None, description="EM's element name of the items")
    items: list[VmRestorePoint | RestorePoint | BackupServer | BackupFile | Backup | Job | GenericResource] = Field(
        default_factory=list
    )


class GenericResource(Resource):
    """Any other EM resource, with all of its fields kept (names in snake_case)."""

    kind: Literal["GenericResource"] = "GenericResource"
    root: str | None = Field(None, description="EM's element or type name of the representation")
    fields: dict[str, Any] = Field(default_factory=dict, description="Every other field EM sent")


AnyResource = (
    VmRestorePoint
    | RestorePoint
    | BackupServer
    | BackupFile
    | Backup
    | Job
    | EntityRef
    | EntityReferences
    | VmRestorePointMounts
    | ResourceList
    | GenericResource
)


def compact_output_schema(schema: Any) -> Any:
    """The output schema as clients should see it: no nulls, titles or null defaults.

    Results are serialised with absent values left out (never ``null``), so ``anyOf [X, null]``
    is ``X`` for what is actually sent. The compact schema is ~40% smaller in the model's context
    and about twice as fast for clients to validate each result against (they all do).
    """
    if isinstance(schema, list):
        return [compact_output_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        if key == "anyOf" and isinstance(value, list) and len(value) == 2 and {"type": "null"} in value:
            (kept,) = [item for item in value if item != {"type": "null"}]
            out.update(compact_output_schema(kept))
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: compact_output_schema(sub) for name, sub in value.items()}
        else:
            out[key] = compact_output_schema(value)
    return out
