"""The facade the app uses: a `Renderer` per request, in the representation (XML or JSON) and dialect configured,
with EM's document shapes (entity, entity list, reference list, QueryResult, report frame, entry document, Error).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from .json_writer import ENTITIES_KEYS, JsonWriter
from .resource import Link, Paging, Resource
from .xml_writer import NS, XML_DECL, XSD_XSI, XmlWriter, attr, escape

XML_CONTENT_TYPE = "application/xml; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

Dialect = Literal["9.5", "12", "13"]


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
        self._xml = XmlWriter(bom=self.bom)
        self._json = JsonWriter(camel_case=self.camel_case, nulls=self.nulls, bom=self.bom)

    @property
    def content_type(self) -> str:
        return JSON_CONTENT_TYPE if self.fmt == "json" else XML_CONTENT_TYPE

    def single(self, res: Resource) -> bytes:
        if self.fmt == "json":
            return self._json.document(self._json.res(res))
        out: list[str] = [XML_DECL]
        self._xml.res(out, res, 0, root=True)
        return self._xml.document(out)

    def entity_list(self, plural: str, items: Iterable[Resource], json_key: str | None = None) -> bytes:
        """`/coll?format=Entity`: `<VmRestorePoints>` / `{"VmRestorePoints": [...]}`."""
        if self.fmt == "json":
            return self._json.document({self._json.key(json_key or plural): [self._json.res(r) for r in items]})
        out = [XML_DECL]
        self._xml.listing(out, plural, items, 0, root=True)
        return self._xml.document(out)

    def ref_list(self, items: Iterable[Resource]) -> bytes:
        """`/coll`: `<EntityReferences><Ref .../></EntityReferences>` / `{"Refs": [...]}`."""
        if self.fmt == "json":
            return self._json.document({self._json.key("Refs"): [self._json.res(r) for r in items]})
        out = [XML_DECL]
        self._xml.listing(out, "EntityReferences", items, 0, root=True)
        return self._xml.document(out)

    def query_result(self, kind: Literal["entities", "refs", "resources"], plural: str,
                     items: Sequence[Resource], paging: Paging, *, xml_plural: str | None = None,
                     inner: str | None = None) -> bytes:
        """A QueryResult; `resources` is the `Resources` choice (ObjectInJob: XML `Resources/sInObjectJob`).
        `inner` is the JSON list key inside `Entities.<plural>` when it differs (`SystemSessions.Sessions`)."""
        if self.fmt == "json":
            k = self._json.key
            body = [self._json.res(r) for r in items]
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
                k("Links"): [self._json.link(link) for link in paging.links],
                k("PageNum"): paging.page_num,
                k("PageSize"): paging.page_size,
                k("PagesCount"): paging.pages_count,
            }
            return self._json.document(payload)
        out = [XML_DECL, f"<QueryResult {XSD_XSI} xmlns=\"{NS}\">\n"]
        if kind == "entities":
            out.append("  <Entities>\n")
            self._xml.listing(out, xml_plural or plural, items, 2)
            out.append("  </Entities>\n")
        elif kind == "resources":
            out.append("  <Resources>\n")
            self._xml.listing(out, xml_plural or plural, items, 2)
            out.append("  </Resources>\n")
        else:
            self._xml.listing(out, "Refs", items, 1)
        out.append(f'  <PagingInfo PageNum="{paging.page_num}" PageSize="{paging.page_size}" '
                    f'PagesCount="{paging.pages_count}">\n')
        self._xml.links(out, paging.links, 2)
        out.append("  </PagingInfo>\n</QueryResult>\n")
        return self._xml.document(out)

    def report_frame(self, res: Resource) -> bytes:
        """A `/reports/summary/*` frame: no Href/Type/Links of its own (v12/v13 JSON write them as null)."""
        if self.fmt == "json":
            d = self._json.res(res)
            if self.nulls:
                k = self._json.key
                d[k("Links")] = d[k("Href")] = d[k("Type")] = None
            return self._json.document(d)
        return self.single(res)

    def enterprise_manager(self, links: list[Link], versions: list[tuple[str, list[Link]]]) -> bytes:
        if self.fmt == "json":
            k = self._json.key
            return self._json.document({
                k("SupportedVersions"): {k("SupportedVersions"): [
                    {k("Name"): name, k("Links"): [self._json.link(x) for x in vlinks]}
                    for name, vlinks in versions
                ]},
                k("Links"): [self._json.link(x) for x in links],
            })
        out = [XML_DECL, f"<EnterpriseManager {XSD_XSI} xmlns=\"{NS}\">\n"]
        self._xml.links(out, links, 1)
        out.append("  <SupportedVersions>\n")
        for name, vlinks in versions:
            out.append(f'    <SupportedVersion Name="{attr(name)}">\n')
            self._xml.links(out, vlinks, 3)
            out.append("    </SupportedVersion>\n")
        out.append("  </SupportedVersions>\n</EnterpriseManager>\n")
        return self._xml.document(out)

    def error(self, status: int, message: str, first_chance: str | None = "") -> bytes:
        """EM's Error body. `first_chance` "" repeats the message (what the 9.5 XML capture shows); None leaves
        FirstChanceExceptionMessage out (null in JSON), as real 400/404 answers for unknown ids do."""
        detail = message if first_chance == "" else first_chance
        if self.fmt == "json":
            k = self._json.key
            return self._json.document({
                k("FirstChanceExceptionMessage"): detail, k("Message"): message, k("StackTrace"): None,
                k("Status"): None, k("StatusCode"): status,
            })
        parts = [XML_DECL, f'<Error Message="{attr(message)}" StatusCode="{status}" xmlns="{NS}" {XSD_XSI}']
        if detail is None:
            parts.append(" />\n")
        else:
            parts += [">\n", f"  <FirstChanceExceptionMessage>{escape(detail)}</FirstChanceExceptionMessage>\n",
                      "</Error>\n"]
        return self._xml.document(parts)
