"""The registry: one row per Enterprise Manager resource type, and everything derived from it.

A row says what EM calls the type (its XML root element, ``Type`` and query ``type=``), the path
segment(s) under ``/api/`` where EM serves one by id, EM's plural for lists of it (the XML list element
and the JSON key; the normalised data uses their snake_case), the pydantic model, how an entity is read
from EM's normalised data (what a row derives beyond its fields is in ``derived``), and the name of the
field a link to one of these fills in other resources (``backup_server``, ``job_session``…). From the rows
come the model unions (``AnyEntity``, ``AnyResource``), the ``Registry`` indexes behind ``to_resource`` and
the path → kind decision of ``links.classify`` (``RESOURCE_KINDS``).

Adding an EM resource type is one model class in ``models/resources.py`` and one row here;
``tests/test_registry.py`` fails when a row and its model disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import Field

from ..errors import MalformedResponse
from ..models.base import Model
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
from . import derived
from .collector import gc_paused
from .ids import GUID
from .parse import Document, snake
from .readers import (
    Data,
    EntityReader,
    entity_ref,
    entity_references,
    generic,
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


# EM spells its creation times CreationTimeUTC, except on BackupFile (CreationTimeUtc): both normalise here.
_CREATED = ("creation_time_utc", "creation_time")
_ENDED = ("end_time_utc", "end_time")

ROWS: tuple[ResourceType, ...] = (
    ResourceType(
        "VmRestorePoint",
        ("vmRestorePoints",),
        "VmRestorePoints",
        EntityReader(VmRestorePoint, {"creation_time": _CREATED}, derive=derived.vm_point),
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
    ResourceType("Job", ("jobs",), "Jobs", EntityReader(Job, derive=derived.job)),
    ResourceType(
        "AgentBackupJob", ("agents/jobs",), "AgentBackupJob", EntityReader(AgentBackupJob, derive=derived.job),
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
                     derive=derived.replica_point),
    ),
    ResourceType(
        "ObjectInJob",
        ("jobs/includes",),
        "ObjectInJobs",
        EntityReader(ObjectInJob, derive=derived.object_in_job),
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
    ResourceType("CloudTenant", ("cloud/tenants",), "CloudTenants", EntityReader(CloudTenant, derive=derived.tenant)),
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
