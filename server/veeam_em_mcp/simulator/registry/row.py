"""What a row is: one EM collection / query type (`Row`) and its sub-collections (`Child`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..dataset import Dataset
from ..fields import FieldList
from ..render.resource import Resource
from ..views.common import ViewContext

View = Callable[[ViewContext, Any, bool], Resource]


@dataclass(frozen=True)
class Child:
    """A sub-collection `/<row segment>/{id}/<segment>` holding items of the row `type_name`, or (with `render`)
    one resource about the parent (`/systemSessions/{id}/events`)."""

    segment: str
    type_name: str
    items: Callable[[Dataset, Any], Sequence[Any]]
    # `/.../{id}/<segment>/{child id}` serves one item (the includes of a job).
    addressable: bool = False
    # A single resource instead of a list: `render(ctx, parent)`.
    render: Callable[[ViewContext, Any], Resource] | None = None


@dataclass(frozen=True, kw_only=True)
class Row:
    """One EM collection / query type."""

    type_name: str
    # XML element of the entity list, JSON key of entity lists and of query results.
    plural: str
    items: Callable[[Dataset], Mapping[str, Any]]
    view: View
    # How EM names the type in "Cannot find job [<id>]".
    label: str
    # Path under /api (may hold a slash, "catalog/vms"); None: reached only as a child or through the query.
    segment: str | None = None
    children: tuple[Child, ...] = ()
    # Query-type fields (`type=<type_name>`); None: not a query type.
    query: Callable[[Dataset], FieldList] | None = None
    # No reference form (ObjectInJob): every list of it holds full resources, whatever `format` says.
    resource_only: bool = False
    # XML element of a list when it differs from `plural` (`<ObjectsInJob>` vs JSON `ObjectInJobs`).
    xml_plural: str | None = None
    # Query results: the XML element inside `Entities`/`Resources` when it differs (`sInObjectJob`).
    query_xml_plural: str | None = None
    # Items are addressed by GUID (400 " ID x is invalid" otherwise); catalog VMs are addressed by name.
    guid_ids: bool = True
    # JSON key of entity lists and the inner key of query results when it differs from `plural` (the
    # `Entities` key): `{"Sessions": [...]}` / `{"SystemSessions": {"Sessions": [...]}}`.
    json_list_key: str | None = None
    # XML element of each item in lists and query results when it differs from the entity's (`<Sessions>`).
    item_element: str | None = None
    # The collection lists entities even without `format=Entity` (`/systemSessions`).
    list_entities: bool = False
    # A subset of another collection (`agents/backups` of `backups`): items are that row's type, rendered by
    # its view, linked at `/<canonical>/{id}`; not a query type, not in `Registry.by_type`.
    canonical: str | None = None

    @property
    def list_element(self) -> str:
        return self.xml_plural or self.plural

    @property
    def list_key(self) -> str:
        return self.json_list_key or self.plural
