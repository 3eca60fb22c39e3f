"""The registry: one row per Enterprise Manager resource type, and everything derived from it.

A row says what EM calls the type (its XML root element, ``Type`` and query ``type=``), the path
segment(s) under ``/api/`` where EM serves one by id, EM's plural for lists of it (the XML list element
and the JSON key; the normalised data uses their snake_case), the pydantic model, and how an entity is
read from EM's normalised data. From the rows come the model unions (``AnyEntity``, ``AnyResource``),
the ``Registry`` indexes (readers by type, plural and list key, rows by path segment) behind
``to_resource``, and the path → kind decision of ``links.classify`` (``RESOURCE_KINDS``).

Adding an EM resource type is one model class in ``models/resources.py`` and one row here;
``tests/test_registry.py`` fails when a row and its model disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import Field

from ..errors import MalformedResponse
from ..models.base import Model, platform_from_hierarchy_ref
from ..models.resources import (
    Backup,
    BackupFile,
    BackupServer,
    Entity,
    EntityRef,
    EntityReferences,
    GenericResource,
    Job,
    RestorePoint,
    VmRestorePoint,
    VmRestorePointMounts,
)
from .parse import Document, snake
from .readers import Data, EntityReader, entity_ref, entity_references, generic, mounts, text_of


@dataclass(frozen=True)
class ResourceType:
    """One EM resource type: its names on the wire, where EM serves it, its model and its reader."""

    em_type: str  # the XML root element, the entity's Type and the query service's type=
    collections: tuple[str, ...]  # path segments under /api/ that serve one of these by id
    plural: str  # EM's list element (XML) and list key (JSON) for several of these
    read: EntityReader

    @property
    def model(self) -> type[Entity]:
        return self.read.model

    @property
    def list_key(self) -> str:
        """The plural as it appears in the normalised data (``VmRestorePoints`` → ``vm_restore_points``)."""
        return snake(self.plural)

    @property
    def item_key(self) -> str:
        """The singular as it appears in normalised XML lists (``<VmRestorePoints><VmRestorePoint>``)."""
        return snake(self.em_type)


def _vm_platform(values: dict[str, Any]) -> dict[str, Any]:
    return {"platform": platform_from_hierarchy_ref(values.get("hierarchy_obj_ref"))}


# EM spells its creation times CreationTimeUTC, except on BackupFile (CreationTimeUtc): both normalise here.
_CREATED = ("creation_time_utc", "creation_time")

ROWS: tuple[ResourceType, ...] = (
    ResourceType(
        "VmRestorePoint",
        ("vmRestorePoints",),
        "VmRestorePoints",
        EntityReader(VmRestorePoint, {"creation_time": _CREATED}, derive=_vm_platform),
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
    ResourceType("Job", ("jobs",), "Jobs", EntityReader(Job)),
)

# What an /api/ path can name besides one entity of a registered type (see links.classify).
OTHER_KINDS = ("VmRestorePointMounts", "Collection", "Query", "Other")
RESOURCE_KINDS: tuple[str, ...] = (*(row.em_type for row in ROWS), *OTHER_KINDS)

if TYPE_CHECKING:
    AnyEntity = Entity
else:
    AnyEntity = Union[tuple(row.model for row in ROWS)]  # noqa: UP007  # built from the rows at run time


class ResourceList(Model):
    """A list of entities (a collection fetched with ``format=Entity``)."""

    kind: Literal["ResourceList"] = "ResourceList"
    href: str | None = None
    item_type: str | None = Field(None, description="EM's element name of the items")
    items: list[AnyEntity | GenericResource] = Field(default_factory=list)


if TYPE_CHECKING:
    AnyResource = Entity | EntityReferences | VmRestorePointMounts | ResourceList | GenericResource
else:
    _OTHER_MODELS = (EntityRef, EntityReferences, VmRestorePointMounts, ResourceList, GenericResource)
    AnyResource = Union[(*(row.model for row in ROWS), *_OTHER_MODELS)]


class Registry:
    """The rows, indexed: by EM type, by plural, by list key and by path segment."""

    def __init__(self, rows: tuple[ResourceType, ...]) -> None:
        self.rows = rows
        self.by_type: Mapping[str, ResourceType] = {row.em_type: row for row in rows}
        self.by_plural: Mapping[str, ResourceType] = {row.plural: row for row in rows}
        self.by_list_key: Mapping[str, ResourceType] = {row.list_key: row for row in rows}
        self.by_collection: Mapping[str, ResourceType] = {
            segment.lower(): row for row in rows for segment in row.collections
        }

    def entity(self, kind: str, data: Data) -> Entity | GenericResource:
        """The model of an entity of EM type ``kind``; a type the registry does not know keeps every field."""
        row = self.by_type.get(kind)
        return row.read(data) if row else generic(data, kind)

    def to_resource(self, doc: Document, expected: str | None = None) -> AnyResource:
        """Build the model for a parsed body, trusting the body's own root/Type before ``expected``.

        ``expected`` is what the href's path says (e.g. ``VmRestorePoint``): JSON bodies have no root
        element, and a ``Type`` may be missing.
        """
        data = doc.data
        declared = doc.root or text_of(data, "type") or ""
        try:
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
                    href=text_of(data, "href"),
                    item_type=list_row.em_type,
                    items=[list_row.read(item) for item in (items or []) if isinstance(item, dict)],
                )
            if not declared and expected is not None and expected in self.by_type:
                return self.entity(expected, data)
        except ValueError as exc:
            raise MalformedResponse(
                f"Enterprise Manager's {declared or expected or 'resource'} is malformed: {exc}"
            ) from None
        return generic(data, doc.root)

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
