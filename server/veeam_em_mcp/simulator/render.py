"""XML and JSON serialisation of simulator responses, shaped like a real EM server's output.

Views (views/) describe a resource as a neutral `Resource` (attributes, links, ordered child fields, which may
nest: `Node`, `Items`, `Embedded`); this module turns it into bytes. XML follows the .NET XmlSerializer output of
EM: `<?xml ... utf-8?>`, `xmlns:xsd`/`xmlns:xsi` first and the default namespace last on the root, entity
attributes `Href Type Name UID VmDisplayName`, reference attributes `UID Name Href Type`, link attributes
`Href Name Type Rel`. JSON flattens attributes and child elements into sibling keys, keeps `Links` a bare
array, and orders keys fields-first for entities and `Links, UID, Name, Href, Type` for references.

JSON comes in three dialects (reference §3.2, §3.3): "9.5" omits absent values and writes only the requested
`Entities` key; "12" writes every key with `null` for absent values, all 50 `Entities` keys of a query result,
`Refs`/`Resources`/`Links` at the top, link `Name`/`Type` and report frames' `Links`/`Href`/`Type`; "13" is the
v12 dialect with .NET camelCase keys (enum and link values stay PascalCase). XML is the same in every dialect.
XML is built by string concatenation (no third-party serialiser), escaped by hand (`_attr`, `escape`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

NS = "http://www.veeam.com/ent/v1.0"
_XSD_XSI = 'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
_XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n'
# A 1,000-item page escapes some 75,000 strings: a regex test lets the common clean ones through untouched,
# the others get str.replace (both faster than xml.sax.saxutils.escape's Python-level dict loop).
_ATTR_SPECIAL = re.compile(r'[&<>"\n\r\t]')

XML_CONTENT_TYPE = "application/xml; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

Dialect = Literal["9.5", "12", "13"]
Scalar = str | int | float | bool | None

# The `Entities` keys of a v12/v13 JSON QueryResult, in server order, misspellings included (real EM 12/13
# captures, httpapi_exporter samples: 50 keys).
ENTITIES_KEYS = (
    "Jobs", "FailoverPlans", "Backups", "Replicas", "Repositories", "RestorePoints", "VmRestorePoints",
    "VAppRestorePoints", "VmReplicaPoints", "BackupJobSessions", "ReplicaJobSessions", "ReplicaTaskSessions",
    "RestoreSessions", "HierarchyRoots", "BackupTaskSessions", "BackupServers", "ManagedServers",
    "EnterpiseRoles", "EnterpiseAccounts", "WanAccelerators", "CloudGateways", "CloudTenants", "CloudReplicas",
    "VCloudOrganizationConfigs", "BackupFiles", "VSphereSelfServiceConfigs", "CloudPublicIps",
    "CloudHardwarePlans", "CloudVmReplicaPoints", "AgentRestorePoints", "AgentBackupJob", "CloudGatewayPools",
    "CloudFailoverPlans", "ExternalRepositories", "VlanConfigurations", "CloudFailoverSessions",
    "AgentProtectionGroups", "DiscoveredComputers", "FileServers", "NASJobs", "CdpReplicas", "CdpReplicaVms",
    "CdpPolicies", "CdpReplicaSessions", "CdpReplicaTaskSessions", "VAppReplicaPoints", "VmCdpReplicas",
    "VAppCdpReplicas", "VAppCdpReplicaVms", "SystemSessions",
)


class _Marker:
    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label


# A field that is never written (neither in XML nor in any JSON dialect).
ABSENT = _Marker("ABSENT")
# A field written as XML `xsi:nil="true"` and JSON `null` in every dialect.
NIL = _Marker("NIL")


@dataclass(frozen=True, slots=True)
class Alias:
    """A key spelled differently in XML and JSON (`RetrySpecified` / `RetrySpecified1`, `Day` / `Days`)."""

    xml: str
    json: str


@dataclass(frozen=True, slots=True)
class Dual:
    """A value written differently in XML and JSON (a schedule `Time`, an empty credentials id)."""

    xml: Scalar
    json: Scalar


@dataclass(frozen=True, slots=True)
class Node:
    """A nested element: XML attributes and child elements; in JSON the children, then the attributes."""

    children: tuple[FieldT, ...] = ()
    attrs: tuple[tuple[str, Scalar | Dual], ...] = ()


@dataclass(frozen=True, slots=True)
class Items:
    """A list: XML repeats the element once per value (`item` None) or wraps each value in `<item>` inside
    one element (an empty list is then `<key />`); JSON writes a list either way."""

    values: tuple[Value, ...]
    item: str | None = None


@dataclass(frozen=True, slots=True)
class Embedded:
    """Resources inside an entity: XML `<key>` holding one element per resource, JSON `{json_key: [...]}`."""

    json_key: str
    resources: tuple[Resource, ...]


Value = Scalar | _Marker | Dual | Node | Items | Embedded
Key = str | Alias
FieldT = tuple[Key, Value]


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    rel: str
    type: str | None = None
    name: str | None = None


@dataclass(slots=True, kw_only=True)
class Resource:
    """One entity, reference or resource: element name, identity attributes, links and child fields."""

    element: str
    type: str | None
    href: str | None
    name: str | None = None
    uid: str | None = None
    links: list[Link] = field(default_factory=list)
    fields: list[FieldT] = field(default_factory=list)
    vm_display_name: str | None = None
    is_ref: bool = False
    # JSON keys written before all others (EM writes `IsRetry` first in session objects).
    json_first: tuple[str, ...] = ()
    # Extra root attributes after the identity ones (XML) / after the fields (JSON).
    attrs: list[tuple[str, Scalar]] = field(default_factory=list)
    # False: no `Links` key at all (resources embedded in an entity, report frames in the 9.5 dialect).
    has_links: bool = True


@dataclass(frozen=True, slots=True)
class Paging:
    page_num: int
    page_size: int
    pages_count: int
    links: list[Link]


def _attr(value: str) -> str:
    """Attribute escaping, as XmlSerializer writes it (quotes and line breaks as character references)."""
    if _ATTR_SPECIAL.search(value) is None:
        return value
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#xA;").replace("\r", "&#xD;").replace("\t", "&#x9;"))


def escape(value: str) -> str:
    """Element text escaping (what xml.sax.saxutils.escape does)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _scalar_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # .NET prints 1.0 as "1" and 6.67 as "6.67".
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _json_scalar(value: Scalar) -> Scalar:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@functools.lru_cache(maxsize=1024)
def camel(name: str) -> str:
    """System.Text.Json's camelCase policy: `UID` -> `uid`, `CreationTimeUTC` -> `creationTimeUTC`,
    `NASJobs` -> `nasJobs`, `VAppRestorePoints` -> `vAppRestorePoints`."""
    chars = list(name)
    for i, ch in enumerate(chars):
        if not ch.isupper():
            break
        if i > 0 and i + 1 < len(chars) and not chars[i + 1].isupper():
            # Keep the capital that starts the next word (`URLValue` -> `urlValue`).
            if chars[i + 1] == " ":
                chars[i] = ch.lower()
            break
        chars[i] = ch.lower()
    return "".join(chars)


class Renderer:
    """Serialises resources in one representation (XML or JSON) with the configured dialect and quirks."""

    def __init__(
        self, fmt: Literal["xml", "json"], *, camel_case: bool = False, json_bom: bool = False,
        xml_bom: bool = False, dialect: Dialect = "9.5",
    ) -> None:
        self.fmt = fmt
        self.dialect: Dialect = dialect
        self.camel_case = camel_case or dialect == "13"
        # v12 and v13 write every key, with null for what 9.5 leaves out.
        self.nulls = dialect != "9.5"
        self.bom = json_bom if fmt == "json" else xml_bom

    @property
    def content_type(self) -> str:
        return JSON_CONTENT_TYPE if self.fmt == "json" else XML_CONTENT_TYPE

    # --- public entry points --------------------------------------------------------------------------

    def single(self, res: Resource) -> bytes:
        if self.fmt == "json":
            return self._json(self._res_dict(res))
        out: list[str] = [_XML_DECL]
        self._xml_res(out, res, 0, root=True)
        return self._xml(out)

    def entity_list(self, plural: str, items: Iterable[Resource], json_key: str | None = None) -> bytes:
        """`/coll?format=Entity`: `<VmRestorePoints>` / `{"VmRestorePoints": [...]}`."""
        if self.fmt == "json":
            return self._json({self._k(json_key or plural): [self._res_dict(r) for r in items]})
        out = [_XML_DECL]
        self._xml_list(out, plural, items, 0, root=True)
        return self._xml(out)

    def ref_list(self, items: Iterable[Resource]) -> bytes:
        """`/coll`: `<EntityReferences><Ref .../></EntityReferences>` / `{"Refs": [...]}`."""
        if self.fmt == "json":
            return self._json({self._k("Refs"): [self._res_dict(r) for r in items]})
        out = [_XML_DECL]
        self._xml_list(out, "EntityReferences", items, 0, root=True)
        return self._xml(out)

    def query_result(self, kind: Literal["entities", "refs", "resources"], plural: str,
                     items: Sequence[Resource], paging: Paging, *, xml_plural: str | None = None,
                     inner: str | None = None) -> bytes:
        """A QueryResult; `resources` is the `Resources` choice (ObjectInJob: XML `Resources/sInObjectJob`).
        `inner` is the JSON list key inside `Entities.<plural>` when it differs (`SystemSessions.Sessions`)."""
        if self.fmt == "json":
            k = self._k
            body = [self._res_dict(r) for r in items]
            wrapped = {k(inner or plural): body}
            payload: dict[str, Any] = {}
            if kind == "refs":
                payload[k("Refs")] = {k("Refs"): body}
            elif self.nulls:
                payload[k("Refs")] = None
            if kind == "entities":
                if self.nulls:
                    entities: dict[str, Any] = {k(key): None for key in ENTITIES_KEYS}
                    entities[k(plural)] = wrapped
                else:
                    entities = {k(plural): wrapped}
                payload[k("Entities")] = entities
            elif self.nulls:
                payload[k("Entities")] = None
            if kind == "resources":
                payload[k("Resources")] = {k(plural): wrapped}
            elif self.nulls:
                payload[k("Resources")] = None
            if self.nulls:
                payload[k("Links")] = None
            payload[k("PagingInfo")] = {
                k("Links"): [self._link_dict(link) for link in paging.links],
                k("PageNum"): paging.page_num,
                k("PageSize"): paging.page_size,
                k("PagesCount"): paging.pages_count,
            }
            return self._json(payload)
        out = [_XML_DECL, f"<QueryResult {_XSD_XSI} xmlns=\"{NS}\">\n"]
        if kind == "entities":
            out.append("  <Entities>\n")
            self._xml_list(out, xml_plural or plural, items, 2)
            out.append("  </Entities>\n")
        elif kind == "resources":
            out.append("  <Resources>\n")
            self._xml_list(out, xml_plural or plural, items, 2)
            out.append("  </Resources>\n")
        else:
            self._xml_list(out, "Refs", items, 1)
        out.append(f'  <PagingInfo PageNum="{paging.page_num}" PageSize="{paging.page_size}" '
                    f'PagesCount="{paging.pages_count}">\n')
        self._xml_links(out, paging.links, 2)
        out.append("  </PagingInfo>\n</QueryResult>\n")
        return self._xml(out)

    def report_frame(self, res: Resource) -> bytes:
        """A `/reports/summary/*` frame: no Href/Type/Links of its own (v12/v13 JSON write them as null)."""
        if self.fmt == "json":
            d = self._res_dict(res)
            if self.nulls:
                k = self._k
                d[k("Links")] = d[k("Href")] = d[k("Type")] = None
            return self._json(d)
        return self.single(res)

    def enterprise_manager(self, links: list[Link], versions: list[tuple[str, list[Link]]]) -> bytes:
        if self.fmt == "json":
            k = self._k
            return self._json({
                k("SupportedVersions"): {k("SupportedVersions"): [
                    {k("Name"): name, k("Links"): [self._link_dict(x) for x in vlinks]}
                    for name, vlinks in versions
                ]},
                k("Links"): [self._link_dict(x) for x in links],
            })
        out = [_XML_DECL, f"<EnterpriseManager {_XSD_XSI} xmlns=\"{NS}\">\n"]
        self._xml_links(out, links, 1)
        out.append("  <SupportedVersions>\n")
        for name, vlinks in versions:
            out.append(f'    <SupportedVersion Name="{_attr(name)}">\n')
            self._xml_links(out, vlinks, 3)
            out.append("    </SupportedVersion>\n")
        out.append("  </SupportedVersions>\n</EnterpriseManager>\n")
        return self._xml(out)

    def error(self, status: int, message: str, first_chance: str | None = "") -> bytes:
        """EM's Error body. `first_chance` "" repeats the message (what the 9.5 XML capture shows); None leaves
        FirstChanceExceptionMessage out (null in JSON), as real 400/404 answers for unknown ids do."""
        detail = message if first_chance == "" else first_chance
        if self.fmt == "json":
            k = self._k
            return self._json({
                k("FirstChanceExceptionMessage"): detail, k("Message"): message, k("StackTrace"): None,
                k("Status"): None, k("StatusCode"): status,
            })
        parts = [_XML_DECL, f'<Error Message="{_attr(message)}" StatusCode="{status}" xmlns="{NS}" {_XSD_XSI}']
        if detail is None:
            parts.append(" />\n")
        else:
            parts += [">\n", f"  <FirstChanceExceptionMessage>{escape(detail)}</FirstChanceExceptionMessage>\n",
                      "</Error>\n"]
        return self._xml(parts)

    # --- XML ------------------------------------------------------------------------------------------

    def _xml(self, parts: list[str]) -> bytes:
        data = "".join(parts).encode("utf-8")
        return b"\xef\xbb\xbf" + data if self.bom else data

    def _xml_list(self, out: list[str], element: str, items: Iterable[Resource], depth: int,
                  root: bool = False) -> None:
        pad = "  " * depth
        head = f"{pad}<{element} {_XSD_XSI} xmlns=\"{NS}\"" if root else f"{pad}<{element}"
        start = len(out)
        out.append(head + ">\n")
        n = len(out)
        for res in items:
            self._xml_res(out, res, depth + 1)
        if len(out) == n:
            out[start] = head + " />\n"
        else:
            out.append(f"{pad}</{element}>\n")

    def _xml_res(self, out: list[str], res: Resource, depth: int, root: bool = False) -> None:
        pad = "  " * depth
        attrs: list[str] = []
        if root:
            attrs.append(_XSD_XSI)
        if res.is_ref:
            if res.uid is not None:
                attrs.append(f'UID="{_attr(res.uid)}"')
            if res.name is not None:
                attrs.append(f'Name="{_attr(res.name)}"')
            if res.href is not None:
                attrs.append(f'Href="{_attr(res.href)}"')
            if res.type is not None:
                attrs.append(f'Type="{res.type}"')
        else:
            if res.href is not None:
                attrs.append(f'Href="{_attr(res.href)}"')
            if res.type is not None:
                attrs.append(f'Type="{res.type}"')
            if res.name is not None:
                attrs.append(f'Name="{_attr(res.name)}"')
            if res.uid is not None:
                attrs.append(f'UID="{_attr(res.uid)}"')
            if res.vm_display_name is not None:
                attrs.append(f'VmDisplayName="{_attr(res.vm_display_name)}"')
        for key, value in res.attrs:
            if value is not None:
                attrs.append(f'{key}="{_attr(_scalar_text(value))}"')
        if root:
            attrs.append(f'xmlns="{NS}"')
        element = ("EntityRef" if root else "Ref") if res.is_ref else res.element
        head = f"{pad}<{element} {' '.join(attrs)}" if attrs else f"{pad}<{element}"
        start = len(out)
        out.append(head + ">\n")
        n = len(out)
        self._xml_links(out, res.links, depth + 1)
        self._xml_fields(out, res.fields, depth + 1)
        if len(out) == n:
            out[start] = head + " />\n"
        else:
            out.append(f"{pad}</{element}>\n")

    def _xml_fields(self, out: list[str], fields: Iterable[FieldT], depth: int) -> None:
        for key, value in fields:
            self._xml_value(out, key.xml if isinstance(key, Alias) else key, value, depth)

    def _xml_value(self, out: list[str], key: str, value: Value, depth: int) -> None:
        pad = "  " * depth
        if value is None or value is ABSENT:
            return
        if value is NIL:
            out.append(f'{pad}<{key} xsi:nil="true" />\n')
            return
        if isinstance(value, Dual):
            self._xml_value(out, key, value.xml, depth)
        elif isinstance(value, Node):
            attrs = "".join(
                f' {k}="{_attr(_scalar_text(x))}"' for k, v in value.attrs
                if (x := v.xml if isinstance(v, Dual) else v) is not None
            )
            start = len(out)
            out.append(f"{pad}<{key}{attrs}>\n")
            n = len(out)
            self._xml_fields(out, value.children, depth + 1)
            if len(out) == n:
                out[start] = f"{pad}<{key}{attrs} />\n"
            else:
                out.append(f"{pad}</{key}>\n")
        elif isinstance(value, Items):
            if value.item is None:
                for item in value.values:
                    self._xml_value(out, key, item, depth)
            elif not value.values:
                out.append(f"{pad}<{key} />\n")
            else:
                out.append(f"{pad}<{key}>\n")
                for item in value.values:
                    self._xml_value(out, value.item, item, depth + 1)
                out.append(f"{pad}</{key}>\n")
        elif isinstance(value, Embedded):
            self._xml_list(out, key, value.resources, depth)
        elif isinstance(value, _Marker):
            return
        else:
            text = _scalar_text(value)
            if text == "":
                out.append(f"{pad}<{key} />\n")
            else:
                out.append(f"{pad}<{key}>{escape(text)}</{key}>\n")

    @staticmethod
    def _xml_links(out: list[str], links: list[Link], depth: int) -> None:
        pad = "  " * depth
        if not links:
            return
        out.append(f"{pad}<Links>\n")
        for link in links:
            parts = [f'Href="{_attr(link.href)}"']
            if link.name is not None:
                parts.append(f'Name="{_attr(link.name)}"')
            if link.type is not None:
                parts.append(f'Type="{link.type}"')
            parts.append(f'Rel="{link.rel}"')
            out.append(f"{pad}  <Link {' '.join(parts)} />\n")
        out.append(f"{pad}</Links>\n")

    # --- JSON -----------------------------------------------------------------------------------------

    def _k(self, name: str) -> str:
        return camel(name) if self.camel_case else name

    def _json(self, payload: Any) -> bytes:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return b"\xef\xbb\xbf" + data if self.bom else data

    def _link_dict(self, link: Link) -> dict[str, Any]:
        k = self._k
        d: dict[str, Any] = {k("Rel"): link.rel, k("Href"): link.href}
        if link.name is not None or self.nulls:
            d[k("Name")] = link.name
        if link.type is not None or self.nulls:
            d[k("Type")] = link.type
        return d

    def _put(self, d: dict[str, Any], key: Key, value: Value) -> None:
        """Set one JSON field following the dialect's rule for absent values."""
        if value is ABSENT:
            return
        name = self._k(key.json if isinstance(key, Alias) else key)
        if value is None:
            if self.nulls:
                d[name] = None
            return
        d[name] = self._json_value(value)

    def _json_value(self, value: Value) -> Any:
        if value is NIL or value is None:
            return None
        if isinstance(value, Dual):
            return self._json_value(value.json)
        if isinstance(value, Node):
            d: dict[str, Any] = {}
            for key, child in value.children:
                self._put(d, key, child)
            for key, attr in value.attrs:
                self._put(d, key, attr)
            return d
        if isinstance(value, Items):
            return [self._json_value(v) for v in value.values]
        if isinstance(value, Embedded):
            return {self._k(value.json_key): [self._res_dict(r) for r in value.resources]}
        if isinstance(value, _Marker):
            return None
        return _json_scalar(value)

    def _res_dict(self, res: Resource) -> dict[str, Any]:
        k = self._k
        d: dict[str, Any] = {}
        links = [self._link_dict(x) for x in res.links]
        if res.is_ref:
            d[k("Links")] = links
            if res.uid is not None:
                d[k("UID")] = res.uid
            if res.name is not None:
                d[k("Name")] = res.name
        else:
            for key, value in res.fields:
                self._put(d, key, value)
            for key, attr in res.attrs:
                self._put(d, key, attr)
            if res.vm_display_name is not None:
                d[k("VmDisplayName")] = res.vm_display_name
            if res.name is not None:
                d[k("Name")] = res.name
            if res.uid is not None:
                d[k("UID")] = res.uid
            if res.has_links:
                d[k("Links")] = links
        if res.href is not None:
            d[k("Href")] = res.href
        if res.type is not None:
            d[k("Type")] = res.type
        if res.json_first:
            first = [k(name) for name in res.json_first if k(name) in d]
            d = {**{name: d[name] for name in first}, **{key: v for key, v in d.items() if key not in first}}
        return d
