"""The registry of EM resource types: every row agrees with its model, and one row is all a new type needs."""

from __future__ import annotations

import typing
from typing import Literal

import pytest
from pydantic import Field

from veeam_em_mcp.models.resources import Entity, GenericResource
from veeam_em_mcp.representation import parse
from veeam_em_mcp.representation.links import LinkPolicy, classify
from veeam_em_mcp.representation.readers import EntityReader
from veeam_em_mcp.representation.registry import (
    RESOURCE_KINDS,
    ROWS,
    AnyEntity,
    AnyResource,
    Registry,
    ResourceType,
)

GUID = "0b9a4a07-3f61-4f4e-9c3e-5f8a2f0c1d2e"


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.em_type)
def test_each_row_agrees_with_its_model(row: ResourceType) -> None:
    kind = row.model.model_fields["kind"]
    assert typing.get_args(kind.annotation) == (row.em_type,), "the model's kind literal is the row's EM type"
    assert kind.default == row.em_type
    assert row.model in typing.get_args(AnyEntity) and row.model in typing.get_args(AnyResource)
    assert row.read.plan, "every field of the model has a reader"
    for segment in row.collections:
        # "jobs/includes" names a nested collection: /api/jobs/{job id}/includes/{id}
        path = "/api/" + f"/{GUID}/".join(segment.split("/")) + f"/{GUID}"
        assert classify(path) == (row.em_type, True)
    assert row.em_type in RESOURCE_KINDS


def test_rows_do_not_overlap() -> None:
    for attribute in ("em_type", "plural"):
        values = [getattr(row, attribute) for row in ROWS]
        assert len(values) == len(set(values)), attribute
    segments = [segment.lower() for row in ROWS for segment in row.collections]
    assert len(segments) == len(set(segments))


def test_a_row_whose_source_names_no_field_is_refused() -> None:
    class Gadget(Entity):
        kind: Literal["Gadget"] = "Gadget"
        size: int | None = None

    with pytest.raises(TypeError, match="no field"):
        _ = EntityReader(Gadget, {"weight": ("weight",)}).plan


# --- adding a type: one model class and one row ------------------------------------------------------------


class Widget(Entity):
    """A throwaway EM type, as a new issue would add one."""

    kind: Literal["Widget"] = "Widget"
    colour: str | None = Field(None, description="The widget's colour")
    size_bytes: int | None = Field(None, description="Its size")
    created: str | None = None


WIDGET_ROW = ResourceType("Widget", ("widgets",), "Widgets", EntityReader(Widget, {"created": ("created_utc",)}))


def test_one_model_and_one_row_make_a_new_type_readable_and_routable() -> None:
    registry = Registry((*ROWS, WIDGET_ROW))
    assert classify(f"/api/widgets/{GUID}", registry) == ("Widget", True)
    assert classify(f"/api/widgets/{GUID}") == ("Other", True), "today's registry does not know it"
    xml = (
        f'<Widget Href="https://em:9398/api/widgets/{GUID}?format=Entity" Type="Widget" Name="w1" '
        f'UID="urn:veeam:Widget:{GUID}" xmlns="http://www.veeam.com/ent/v1.0"><Links>'
        '<Link Href="https://em:9398/api/backupServers/x" Rel="Up" /></Links>'
        "<Colour>blue</Colour><SizeBytes>42</SizeBytes><CreatedUTC>2026-11-20T10:00:00Z</CreatedUTC></Widget>"
    ).encode()
    json_body = f'{{"colour":"blue","sizeBytes":42,"createdUTC":"2026-11-20T10:00:00Z","UID":"urn:veeam:Widget:{GUID}"}}'
    for body in (xml, json_body.encode()):
        widget = registry.to_resource(parse(body), "Widget")
        assert isinstance(widget, Widget), type(widget)
        assert (widget.id, widget.colour, widget.size_bytes, widget.created) == (
            GUID,
            "blue",
            42,
            "2026-11-20T10:00:00Z",
        )
    # Without the row the same body is still kept whole, as a generic resource.
    assert isinstance(Registry(ROWS).to_resource(parse(xml), "Widget"), GenericResource)
    assert LinkPolicy("https://em:9398/api").vet(f"/api/widgets/{GUID}").single
