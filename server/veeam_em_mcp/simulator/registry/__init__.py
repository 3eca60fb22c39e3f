"""The simulator's collections, one row each: what `/api/<segment>` serves and what `query?type=` knows.

A row names the EM type and its plural, where its items come from in the `Dataset`, its view (reference and
entity representations, views/), its sub-collections (`/coll/{id}/<child>`), the text of its 400/404
errors and its query-type fields (including the ones EM filters on that are not in the entity, such as
`JobName` on task sessions). app.py routes and query/ answers from these rows alone, so a new EM type is
one dataset entity plus one row (tests/simulator/test_sim_registry.py adds one to prove it).

A few rows carry EM's irregular shapes: `json_list_key`/`item_element`/`list_entities` for `/systemSessions`
(`<SystemSessions>` of `<Sessions>` items, JSON `Sessions`, entities even as a plain collection), a singular
`plural` for `AgentBackupJob` (the query's `Entities` key), `canonical` for the subset collections under
`/agents` (backups, restorePoints, backupFiles, backupSessions: items of another row, linked at their own
collection), and `Child.render` for a sub-resource that is one document, not a list (`/systemSessions/{id}/events`).
Service documents (`/agents`, `/vCloud`) are `views.documents.SERVICES`, not rows.

The package: row.py (what a row is), table.py (the rows), query_fields.py (each type's query fields), sources.py
(where rows' and children's items come from); `Registry` here looks the rows up by type and by path.
"""

from __future__ import annotations

from collections.abc import Sequence

from .row import Row
from .table import ROWS


class Registry:
    """The rows by type name and by path, as app.py and query/ look them up."""

    def __init__(self, rows: Sequence[Row] = ROWS) -> None:
        self.rows = tuple(rows)
        # Subset collections (`canonical`) reuse their type's name and are reached by path only.
        main = [row for row in self.rows if row.canonical is None]
        self.by_type = {row.type_name.lower(): row for row in main}
        if len(self.by_type) != len(main):
            raise ValueError("two rows share a type name")
        # Path segments (lower-case) -> row, longest paths first so "catalog/vms" wins over a "catalog" row.
        self.by_path = sorted(
            ((tuple(s.lower() for s in row.segment.split("/")), row) for row in self.rows if row.segment),
            key=lambda entry: -len(entry[0]),
        )
        for row in self.rows:
            for child in row.children:
                if child.type_name.lower() not in self.by_type:
                    raise ValueError(f"{row.type_name}/{child.segment} names the unknown type {child.type_name}")

    def row(self, type_name: str) -> Row:
        return self.by_type[type_name.lower()]

    def match(self, segments: Sequence[str]) -> tuple[Row, int] | None:
        """The row whose path starts `segments` (compared case-insensitively), with its length."""
        lowered = tuple(s.lower() for s in segments)
        for path, row in self.by_path:
            if lowered[: len(path)] == path:
                return row, len(path)
        return None

    def query_rows(self) -> list[Row]:
        return [row for row in self.rows if row.query is not None and row.canonical is None]


DEFAULT_REGISTRY = Registry()
