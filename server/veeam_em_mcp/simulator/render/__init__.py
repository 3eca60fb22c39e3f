"""XML and JSON serialisation of simulator responses, shaped like a real EM server's output.

Views (views/) describe a resource as a neutral `Resource` (attributes, links, ordered child fields, which may
nest: `Node`, `Items`, `Embedded`); this package turns it into bytes. XML follows the .NET XmlSerializer output of
EM: `<?xml ... utf-8?>`, `xmlns:xsd`/`xmlns:xsi` first and the default namespace last on the root, entity
attributes `Href Type Name UID VmDisplayName`, reference attributes `UID Name Href Type`, link attributes
`Href Name Type Rel`. JSON flattens attributes and child elements into sibling keys, keeps `Links` a bare
array, and orders keys fields-first for entities and `Links, UID, Name, Href, Type` for references.

JSON comes in three dialects (reference §3.2, §3.3): "9.5" omits absent values and writes only the requested
`Entities` key; "12" writes every key with `null` for absent values, all 50 `Entities` keys of a query result,
`Refs`/`Resources`/`Links` at the top, link `Name`/`Type` and report frames' `Links`/`Href`/`Type`; "13" is the
v12 dialect with .NET camelCase keys (enum and link values stay PascalCase). XML is the same in every dialect.
XML is built by string concatenation (no third-party serialiser), escaped by hand (xml_writer.py).

The package: resource.py (the neutral shape), xml_writer.py, json_writer.py, renderer.py (`Renderer`, the facade).
"""
