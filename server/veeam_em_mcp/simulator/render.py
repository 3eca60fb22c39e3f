"""XML and JSON serialisation of simulator responses, shaped like a real EM server's output.

Views (views.py) describe a resource as a neutral `Resource` (attributes, links, ordered child fields);
this module turns it into bytes. XML follows the .NET XmlSerializer output of EM: `<?xml ... utf-8?>`,
`xmlns:xsd`/`xmlns:xsi` first and the default namespace last on the root, entity attributes
`Href Type Name UID VmDisplayName`, reference attributes `UID Name Href Type`, link attributes
`Href Name Type Rel`. JSON flattens attributes and child elements into sibling keys, keeps `Links` a bare
array, and orders keys fields-first for entities and `Links, UID, Name, Href, Type` for references. XML is
built by string concatenation (no third-party serialiser) with `xml.sax.saxutils` escaping.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.sax.saxutils import escape

NS = "http://www.veeam.com/ent/v1.0"
_XSD_XSI = 'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
_XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n'
_ATTR_ENTITIES = {'"': "&quot;", "\n": "&#xA;", "\r": "&#xD;", "\t": "&#x9;"}

XML_CONTENT_TYPE = "application/xml; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    rel: str
    type: str | None = None
    name: str | None = None


@dataclass(slots=True)
class Resource:
    """One entity or reference: root/list element name, identity attributes, links and child fields."""

    element: str
    type: str
    href: str
    name: str | None = None
    uid: str | None = None
    links: list[Link] = field(default_factory=list)
    fields: list[tuple[str, Scalar]] = field(default_factory=list)
    vm_display_name: str | None = None
    is_ref: bool = False


@dataclass(frozen=True, slots=True)
class Paging:
    page_num: int
    page_size: int
    pages_count: int
    links: list[Link]


def _attr(value: str) -> str:
    return escape(value, _ATTR_ENTITIES)


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


@functools.lru_cache(maxsize=512)
def camel(name: str) -> str:
    """System.Text.Json's camelCase policy: `UID` -> `uid`, `CreationTimeUTC` -> `creationTimeUTC`."""
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
    """Serialises resources in one representation (XML or JSON) with the configured quirks."""

    def __init__(
        self, fmt: Literal["xml", "json"], *, camel_case: bool = False, json_bom: bool = False,
        xml_bom: bool = False,
    ) -> None:
        self.fmt = fmt
        self.camel_case = camel_case
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

    def entity_list(self, plural: str, items: Iterable[Resource]) -> bytes:
        """`/coll?format=Entity`: `<VmRestorePoints>` / `{"VmRestorePoints": [...]}`."""
        if self.fmt == "json":
            return self._json({self._k(plural): [self._res_dict(r) for r in items]})
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

    def query_result(self, kind: Literal["entities", "refs"], plural: str, items: Sequence[Resource],
                     paging: Paging) -> bytes:
        if self.fmt == "json":
            k = self._k
            body = [self._res_dict(r) for r in items]
            payload: dict[str, Any] = (
                {k("Entities"): {k(plural): {k(plural): body}}} if kind == "entities"
                else {k("Refs"): {k("Refs"): body}}
            )
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
            self._xml_list(out, plural, items, 2)
            out.append("  </Entities>\n")
        else:
            self._xml_list(out, "Refs", items, 1)
        out.append(f'  <PagingInfo PageNum="{paging.page_num}" PageSize="{paging.page_size}" '
                    f'PagesCount="{paging.pages_count}">\n')
        self._xml_links(out, paging.links, 2)
        out.append("  </PagingInfo>\n</QueryResult>\n")
        return self._xml(out)

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

    def error(self, status: int, message: str) -> bytes:
        if self.fmt == "json":
            k = self._k
            return self._json({
                k("FirstChanceExceptionMessage"): message, k("Message"): message, k("StackTrace"): None,
                k("Status"): None, k("StatusCode"): status,
            })
        return self._xml([
            _XML_DECL,
            f'<Error Message="{_attr(message)}" StatusCode="{status}" xmlns="{NS}" {_XSD_XSI}>\n',
            f"  <FirstChanceExceptionMessage>{escape(message)}</FirstChanceExceptionMessage>\n",
            "</Error>\n",
        ])

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
            attrs.append(f'Href="{_attr(res.href)}"')
            attrs.append(f'Type="{res.type}"')
        else:
            attrs.append(f'Href="{_attr(res.href)}"')
            attrs.append(f'Type="{res.type}"')
            if res.name is not None:
                attrs.append(f'Name="{_attr(res.name)}"')
            if res.uid is not None:
                attrs.append(f'UID="{_attr(res.uid)}"')
            if res.vm_display_name is not None:
                attrs.append(f'VmDisplayName="{_attr(res.vm_display_name)}"')
        if root:
            attrs.append(f'xmlns="{NS}"')
        element = ("EntityRef" if root else "Ref") if res.is_ref else res.element
        out.append(f"{pad}<{element} {' '.join(attrs)}>\n")
        self._xml_links(out, res.links, depth + 1)
        inner = pad + "  "
        for key, value in res.fields:
            if value is None:
                continue
            text = _scalar_text(value)
            if text == "":
                out.append(f"{inner}<{key} />\n")
            else:
                out.append(f"{inner}<{key}>{escape(text)}</{key}>\n")
        out.append(f"{pad}</{element}>\n")

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
        if link.name is not None:
            d[k("Name")] = link.name
        if link.type is not None:
            d[k("Type")] = link.type
        return d

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
                if value is not None:
                    d[k(key)] = _json_scalar(value)
            if res.vm_display_name is not None:
                d[k("VmDisplayName")] = res.vm_display_name
            if res.name is not None:
                d[k("Name")] = res.name
            if res.uid is not None:
                d[k("UID")] = res.uid
            d[k("Links")] = links
        d[k("Href")] = res.href
        d[k("Type")] = res.type
        return d
