"""Where EM's wire format is read: XML and JSON bodies, EM's resource types, links and the query service.

- ``parse``: bytes → a normalised ``Document`` (XML or JSON, PascalCase or camelCase, BOM, wrappers);
- ``registry``: one row per EM resource type, and the model unions and readers derived from it;
- ``readers``: the generic entity reader and the scalar readers behind it;
- ``links``: which hrefs may be fetched and what kind of resource a path names;
- ``query``: filter values, query URLs and QueryResult pages;
- ``ids``: GUIDs and UIDs.

It performs no I/O; the client (above it) fetches, the services (above that) decide what to fetch.
"""

from .parse import Document, parse

__all__ = ["Document", "parse"]
