"""The registry: one row per Enterprise Manager resource type, and everything derived from it.

A row says what EM calls the type (its XML root element, ``Type`` and query ``type=``), the path
segment(s) under ``/api/`` where EM serves one by id, EM's plural for lists of it (the XML list element
and the JSON key; the normalised data uses their snake_case), the pydantic model, how an entity is read
from EM's normalised data, and the name of the field a link to one of these fills in other resources
(``backup_server``, ``job_session``…). From the rows come the model unions (``AnyEntity``,
``AnyResource``), the ``Registry`` indexes behind ``to_resource`` and the path → kind decision of
``links.classify`` (``RESOURCE_KINDS``).

Adding an EM resource type is one model class in ``models/resources.py`` and one row here;
``tests/test_registry.py`` fails when a row and its model disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import Field

from ..errors import MalformedResponse
from ..models.base import Model, platform_from_hierarchy_ref
from ..models.resources import (
    AgentBackupJob,
    AgentProtectionGroup,
    AgentRestorePoint,
    Backup,
    BackupFile,
    BackupJobSession,
    BackupServer,
    BackupTaskSession,
    CloudTenant,
    DiscoveredComputer,
    Entity,
    EntityRef,
    EntityReferences,
    GenericResource,
    Job,
    JobInclude,
    ObjectInJob,
    Replica,
    ReplicaJobSession,
    ReplicaTaskSession,
    Repository,
    RestorePoint,
    RestoreSession,
    VCloudOrganizationConfig,
    VmReplicaPoint,
    VmRestorePoint,
    VmRestorePointMounts,
)
from .ids import GUID
from .parse import Document, gc_paused, snake
from .readers import (
    Data,
    EntityReader,
    bool_of,
    entity_ref,
    entity_references,
    generic,
    int_of,
    mounts,
    text_of,
)


@dataclass(frozen=True)
class ResourceType:
    """One EM resource type: its names on the wire, where EM serves it, its model and its reader."""

    em_type: str  # the XML root element, the entity's Type and the query service's type=
    collections: tuple[str, ...]  # path segments under /api/ that serve one of these by id (a/b: /a/{id}/b/{id})
    plural: str  # EM's list element (XML) and list key (JSON) for several of these
    read: EntityReader
    link_name: str | None = None  # the field a link to one of these fills (default: snake_case of em_type)
    other_plurals: tuple[str, ...] = ()  # other spellings EM uses for lists of these (ObjectsInJob)

    @property
    def model(self) -> type[Entity]:
        return self.read.model

    @property
    def link_field(self) -> str:
        return self.link_name or snake(self.em_type)

    @property
    def list_key(self) -> str:
        """The plural as it appears in the normalised data (``VmRestorePoints`` → ``vm_restore_points``)."""
        return snake(self.plural)

    @property
    def item_key(self) -> str:
        """The singular as it appears in normalised XML lists (``<VmRestorePoints><VmRestorePoint>``)."""
        return snake(self.em_type)


def _replica_point(values: dict[str, Any], data: Data) -> dict[str, Any]:
    # A display name equal to the VM name would only repeat it (as on a VM restore point).
    return {"vm_display_name": None} if values.get("vm_display_name") == values.get("vm_name") else {}


def _vm_point(values: dict[str, Any], data: Data) -> dict[str, Any]:
    # The platform is in the VM's ref; a display name equal to the VM name would only repeat it.
    tidy: dict[str, Any] = {"platform": platform_from_hierarchy_ref(values.get("hierarchy_obj_ref"))}
    vm_name, created = values.get("vm_name"), values.get("creation_time")
    if values.get("vm_display_name") == vm_name:
        tidy["vm_display_name"] = None
    # EM names a point <VM>@<yyyy-MM-dd HH:mm:ss[.ffffff]> of its creation time; then the name says nothing new.
    if vm_name and created and values.get("name") in _stamped_names(vm_name, created):
        tidy["name"] = None
    return tidy


def _stamped_names(vm_name: str, created: str) -> set[str]:
    stamp = created.rstrip("Zz").replace("T", " ")
    return {f"{vm_name}@{stamp[:19]}", f"{vm_name}@{stamp}"}


def _job(values: dict[str, Any], data: Data) -> dict[str, Any]:
    """The schedule in words, the retry count and the members, from EM's JobScheduleOptions and JobInfo."""
    options = _mapping(_mapping(data.get("job_schedule_options")).get("standart"))  # sic: EM spells it so
    retry = _mapping(options.get("retry_options"))
    return {
        "schedule": schedule_in_words(options) if options else None,
        "retry_times": int_of(retry, "retry_times"),
        "includes": _includes(data) or None,
        "source_jobs": _found(data.get("job_info"), "linked_job_uid") or None,
    }


def _found(value: Any, key: str) -> list[str]:
    """Every text under ``key`` anywhere in ``value`` (EM nests a copy job's linked jobs a few levels deep), in
    document order, at most 8 levels down. A walk with a stack: a job's JobInfo holds every member, and a
    recursive walk building a list per node was most of the cost of reading a job."""
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            held = node.get(key)
            if held not in (None, "") and not isinstance(held, dict | list):
                found.append(str(held))
            inner: Iterable[Any] = node.values()
        elif isinstance(node, list):
            inner = node
        else:
            continue  # only the value itself may be a scalar: nothing under it
        if depth < 8:
            stack.extend((item, depth + 1) for item in reversed(list(inner)) if isinstance(item, dict | list))
    return found


def schedule_in_words(options: Data) -> str | None:
    """``daily, every day``; ``daily on Monday, Friday``; ``monthly, Fourth Saturday``; ``every 4 hours``."""
    parts: list[str] = []
    daily = _mapping(options.get("options_daily"))
    if bool_of(daily, "enabled"):
        kind = text_of(daily, "kind") or ""
        days = daily.get("days")
        listed = ", ".join(str(day) for day in (days if isinstance(days, list) else [days] if days else []))
        parts.append("daily, every day" if kind.lower() == "everyday" else f"daily on {listed or kind}")
    monthly = _mapping(options.get("options_monthly"))
    if bool_of(monthly, "enabled"):
        which = " ".join(filter(None, (text_of(monthly, "day_number_in_month"), text_of(monthly, "day_of_week"))))
        parts.append(f"monthly, {which}" if which else "monthly")
    periodically = _mapping(options.get("options_periodically"))
    if bool_of(periodically, "enabled"):
        every, unit = text_of(periodically, "full_period"), (text_of(periodically, "kind") or "").lower()
        parts.append(f"every {every} {unit}".strip() if every else "periodically")
    if bool_of(_mapping(options.get("options_continuous")), "enabled"):
        parts.append("continuously")
    return "; ".join(parts) or None


def _includes(data: Data) -> list[JobInclude]:
    info = _mapping(data.get("job_info"))
    # A VM job nests its members in BackupJobInfo (a replication job in ReplicaJobInfo); an agent job has them
    # right in JobInfo.
    includes = (
        _mapping(_mapping(info.get("backup_job_info")).get("includes"))
        or _mapping(_mapping(info.get("replica_job_info")).get("includes"))
        or _mapping(info.get("includes"))
    )
    items = next(
        (includes[key] for key in ("object_in_jobs", "object_in_job", "object_in_agent_backup_jobs",
                                   "object_in_agent_backup_job") if key in includes),
        None,
    )
    members = []
    for item in items if isinstance(items, list) else [items] if isinstance(items, dict) else []:
        if not isinstance(item, dict):
            continue
        ref = text_of(item, "hierarchy_obj_ref")
        parts = ref.split(":") if ref else []
        members.append(
            JobInclude(
                name=text_of(item, "display_name", "name"),
                object_type=parts[2] if len(parts) > 2 else None,
                hierarchy_obj_ref=ref,
            )
        )
    return members


def _object_in_job(values: dict[str, Any], data: Data) -> dict[str, Any]:
    return {"display_name": None} if values.get("display_name") == values.get("name") else {}


def _tenant(values: dict[str, Any], data: Data) -> dict[str, Any]:
    """A tenant's quotas (MB) added up over its resources; SQL Server's minimum datetime (1753) is how EM
    says a tenant was never active: not a time."""
    out: dict[str, Any] = {}
    active = values.get("last_active")
    if isinstance(active, str) and active.startswith(("1753-", "0001-")):
        out["last_active"] = None
    resources = _mapping(data.get("resources"))
    items = resources.get("cloud_tenant_resources", resources.get("cloud_tenant_resource"))
    listed = items if isinstance(items, list) else [items] if isinstance(items, dict) else []
    if isinstance(data.get("resources"), list):
        listed = list(data["resources"])
    quotas = [_mapping(_mapping(item).get("repository_quota")) for item in listed]
    quotas = [quota for quota in quotas if quota]
    if quotas:
        sizes = [(int_of(q, "quota", "quota_mb"), int_of(q, "used_quota")) for q in quotas]
        out["quota_mb"] = sum(size for size, _ in sizes if size is not None) if any(s for s, _ in sizes) else None
        out["used_quota_mb"] = sum(used for _, used in sizes if used is not None) if any(u for _, u in sizes) else None
        names = [text_of(q, "display_name") for q in quotas]
        out["repository"] = ", ".join(name for name in names if name) or None
    return out


def _mapping(value: Any) -> Data:
    return value if isinstance(value, dict) else {}


# EM spells its creation times CreationTimeUTC, except on BackupFile (CreationTimeUtc): both normalise here.
_CREATED = ("creation_time_utc", "creation_time")
_ENDED = ("end_time_utc", "end_time")

ROWS: tuple[ResourceType, ...] = (
    ResourceType(
        "VmRestorePoint",
        ("vmRestorePoints",),
        "VmRestorePoints",
        EntityReader(VmRestorePoint, {"creation_time": _CREATED}, derive=_vm_point),
    ),
    ResourceType(
        "RestorePoint",
        ("restorePoints",),
        "RestorePoints",
        EntityReader(RestorePoint, {"backup_date": ("backup_date_utc", "backup_date")}),
    ),
    ResourceType("BackupServer", ("backupServers",), "BackupServers", EntityReader(BackupServer)),
    ResourceType("BackupFile", ("backupFiles",), "BackupFiles", EntityReader(BackupFile, {"creation_time": _CREATED})),
    ResourceType("Backup", ("backups",), "Backups", EntityReader(Backup)),
    ResourceType("Job", ("jobs",), "Jobs", EntityReader(Job, derive=_job)),
    ResourceType(
        "AgentBackupJob", ("agents/jobs",), "AgentBackupJob", EntityReader(AgentBackupJob, derive=_job),
        other_plurals=("AgentBackupJobs",),
    ),
    ResourceType(
        "BackupJobSession",
        ("backupSessions",),
        "BackupJobSessions",
        EntityReader(BackupJobSession, {"creation_time": _CREATED, "end_time": _ENDED}),
        link_name="job_session",
    ),
    ResourceType(
        "ReplicaJobSession",
        ("replicaSessions",),
        "ReplicaJobSessions",
        EntityReader(ReplicaJobSession, {"creation_time": _CREATED, "end_time": _ENDED}),
        link_name="replica_session",
    ),
    ResourceType(
        "BackupTaskSession",
        ("backupTaskSessions",),
        "BackupTaskSessions",
        EntityReader(
            BackupTaskSession, {"creation_time": _CREATED, "end_time": _ENDED, "vm_name": ("vm_display_name",)}
        ),
        link_name="task_session",
    ),
    ResourceType(
        "ReplicaTaskSession",
        ("replicaTaskSessions",),
        "ReplicaTaskSessions",
        EntityReader(
            ReplicaTaskSession, {"creation_time": _CREATED, "end_time": _ENDED, "vm_name": ("vm_display_name",)}
        ),
        link_name="replica_task_session",
    ),
    ResourceType("Replica", ("replicas",), "Replicas", EntityReader(Replica)),
    ResourceType(
        # EM's doc table spells the point type PoinType (sic); its samples say PointType.
        "VmReplicaPoint", ("vmReplicaPoints",), "VmReplicaPoints",
        EntityReader(VmReplicaPoint, {"creation_time": _CREATED, "point_type": ("point_type", "poin_type")},
                     derive=_replica_point),
    ),
    ResourceType(
        "ObjectInJob",
        ("jobs/includes",),
        "ObjectInJobs",
        EntityReader(ObjectInJob, derive=_object_in_job),
        other_plurals=("ObjectsInJob", "sInObjectJob"),
    ),
    ResourceType(
        "Repository", ("repositories",), "Repositories", EntityReader(Repository, {"storage_kind": ("kind",)})
    ),
    ResourceType(
        "RestoreSession",
        ("restoreSessions",),
        "RestoreSessions",
        EntityReader(
            RestoreSession, {"creation_time": _CREATED, "end_time": _ENDED, "vm_name": ("vm_display_name",)}
        ),
    ),
    ResourceType(
        "AgentRestorePoint", ("agents/agentRestorePoints",), "AgentRestorePoints",
        EntityReader(AgentRestorePoint, {"creation_time": _CREATED}),
    ),
    ResourceType(
        "AgentProtectionGroup", ("agents/protectionGroups",), "AgentProtectionGroups",
        EntityReader(AgentProtectionGroup),
    ),
    ResourceType(
        "DiscoveredComputer", ("agents/discoveredComputers",), "DiscoveredComputers", EntityReader(DiscoveredComputer)
    ),
    ResourceType("CloudTenant", ("cloud/tenants",), "CloudTenants", EntityReader(CloudTenant, derive=_tenant)),
    ResourceType(
        "VCloudOrganizationConfig", ("vCloud/orgConfigs",), "VCloudOrganizationConfigs",
        EntityReader(VCloudOrganizationConfig),
    ),
)

# What an /api/ path can name besides one entity of a registered type (see links.classify).
OTHER_KINDS = ("VmRestorePointMounts", "Collection", "Query", "Other")
RESOURCE_KINDS: tuple[str, ...] = (*(row.em_type for row in ROWS), *OTHER_KINDS)

if TYPE_CHECKING:
    AnyEntity = Entity
else:
    AnyEntity = Union[tuple(row.model for row in ROWS)]  # noqa: UP007  # built from the rows at run time


class ResourceList(Model):
    """A list of entities (a collection fetched with ``format=Entity``, or a query page)."""

    kind: Literal["ResourceList"] = "ResourceList"
    href: str | None = None
    item_type: str | None = Field(None, description="EM type of the items")
    items: list[AnyEntity | GenericResource] = Field(default_factory=list)


if TYPE_CHECKING:
    AnyResource = Entity | EntityRef | EntityReferences | VmRestorePointMounts | ResourceList | GenericResource
else:
    _OTHER_MODELS = (EntityRef, EntityReferences, VmRestorePointMounts, ResourceList, GenericResource)
    AnyResource = Union[(*(row.model for row in ROWS), *_OTHER_MODELS)]


class Registry:
    """The rows, indexed: by EM type, by plural, by list key and by path segment."""

    def __init__(self, rows: tuple[ResourceType, ...]) -> None:
        self.rows = rows
        self.by_type: Mapping[str, ResourceType] = {row.em_type: row for row in rows}
        self.by_plural: Mapping[str, ResourceType] = {
            plural: row for row in rows for plural in (row.plural, *row.other_plurals)
        }
        self.by_list_key: Mapping[str, ResourceType] = {
            snake(plural): row for row in rows for plural in (row.plural, *row.other_plurals)
        }
        self.by_collection: Mapping[str, ResourceType] = {
            segment.lower(): row for row in rows for segment in row.collections
        }

    # --- what a path names ---------------------------------------------------------------------------

    def classify(self, path: str) -> tuple[str, bool]:
        """What an ``/api/…`` path names, from the path alone (never from a link's ``Type``): a kind and
        whether it is a single resource (fetched in entity form)."""
        segments = [s for s in path.split("/") if s][1:]  # drop "api"
        if not segments:
            return "Other", False
        collection = segments[0].lower()
        if collection == "query":
            return "Query", False
        row = self.by_collection.get(collection)
        if len(segments) == 3 and GUID.match(segments[2]):  # two-segment collections: /cloud/tenants/{id}
            deep = self.by_collection.get(f"{collection}/{segments[1].lower()}")
            if deep is not None:
                return deep.em_type, True
        if len(segments) == 2 and GUID.match(segments[1]):
            return (row.em_type if row else "Other"), True
        if len(segments) == 4 and GUID.match(segments[1]) and GUID.match(segments[3]):
            nested = self.by_collection.get(f"{collection}/{segments[2].lower()}")  # /jobs/{id}/includes/{oid}
            return (nested.em_type if nested else "Other"), True
        if collection == "vmrestorepoints" and len(segments) == 3 and segments[2].lower() == "mounts":
            return "VmRestorePointMounts", False
        if len(segments) in (1, 3):
            return "Collection", False
        return "Other", False

    def link_field(self, kind: str) -> str | None:
        row = self.by_type.get(kind)
        return row.link_field if row else None

    # --- reading -------------------------------------------------------------------------------------

    def read(self, row: ResourceType, data: Data) -> Entity:
        return row.read(data, self, row.em_type, row.collections)

    def read_all(self, row: ResourceType, items: Sequence[Any]) -> list[Entity]:
        with gc_paused():  # a page's models: thousands of fresh objects, no cycles (see gc_paused)
            return [self.read(row, item) for item in items if isinstance(item, dict)]

    def entity(self, kind: str, data: Data) -> Entity | GenericResource:
        """The model of an entity of EM type ``kind``; a type the registry does not know keeps every field."""
        row = self.by_type.get(kind)
        return self.read(row, data) if row else generic(data, kind)

    def to_resource(self, doc: Document, expected: str | None = None) -> AnyResource:
        """Build the model for a parsed body, trusting the body's own root/Type before ``expected``.

        ``expected`` is what the href's path says (e.g. ``VmRestorePoint``): JSON bodies have no root
        element, and a ``Type`` may be missing.
        """
        data = doc.data
        declared = doc.root or text_of(data, "type") or ""
        try:
            if declared == "QueryResult" or (not declared and "paging_info" in data):
                return self._query_result(data)
            if declared == "EntityRef" or declared.endswith("Reference"):
                return entity_ref(data)
            if (
                declared == "EntityReferences"
                or declared.endswith("ReferenceList")
                or (not declared and ("refs" in data or "ref" in data))
            ):
                return entity_references(data)
            if declared in ("VmRestorePointMounts", "VmRestorePointMountList") or expected == "VmRestorePointMounts":
                return mounts(data)
            if declared in self.by_type:
                return self.entity(declared, data)
            list_row = self.by_plural.get(declared) or (None if declared else self._list_row(data))
            if list_row is not None:
                # JSON names the list by the plural (BackupFiles); XML children by the singular.
                items = data.get(list_row.list_key) or data.get(list_row.item_key)
                return ResourceList(
                    href=text_of(data, "href"), item_type=list_row.em_type, items=self.read_all(list_row, items or [])
                )
            if not declared and expected is not None and expected in self.by_type:
                return self.entity(expected, data)
        except ValueError as exc:
            raise MalformedResponse(
                f"Enterprise Manager's {declared or expected or 'resource'} is malformed: {exc}"
            ) from None
        return generic(data, doc.root)

    def _query_result(self, data: Data) -> AnyResource:
        """A QueryResult as the list it holds (entities or references); its paging is read separately."""
        entities = data.get("entities")
        if isinstance(entities, dict):
            for key, items in entities.items():
                row = self.by_list_key.get(key)
                if row is not None and items:
                    if isinstance(items, dict):
                        items = items.get(row.item_key) or [items]
                    return ResourceList(item_type=row.em_type, items=self.read_all(row, items))
            return ResourceList(items=[])
        return entity_references(data)

    def _list_row(self, data: Data) -> ResourceType | None:
        for key, value in data.items():
            if isinstance(value, list) and key in self.by_list_key:
                return self.by_list_key[key]
        return None


REGISTRY = Registry(ROWS)
BY_TYPE = REGISTRY.by_type
BY_COLLECTION = REGISTRY.by_collection
entity = REGISTRY.entity
to_resource = REGISTRY.to_resource
