"""One GET on Enterprise Manager whose 404 is worded by the caller, who knows what it asked for.

The client can only say "EM has no resource at <path>"; a service knows it was a restore point, a job
session or a link from an earlier result, and what to do next. ``fetch`` is the one place that turns
EM's 404 into that sentence, keeping EM's own message.
"""

from __future__ import annotations

from typing import TypeVar

from ..errors import MalformedResponse, NotFound
from ..models.base import Model
from ..representation.parse import Document
from ..representation.registry import to_resource
from .context import EmContext

E = TypeVar("E", bound=Model)


async def fetch(em: EmContext, url: str, *, missing: str) -> Document:
    """GET ``url`` (already vetted) and parse it; a 404 raises ``NotFound`` with ``missing`` as its message."""
    try:
        return await em.client.get(url)
    except NotFound as exc:
        said = f" EM said: {exc.em_message}" if exc.em_message else ""
        raise NotFound(404, f"{missing}{said}", exc.em_message) from None


async def fetch_entity(em: EmContext, collection: str, guid: str, model: type[E], *, missing: str, what: str) -> E:
    """``/<collection>/<guid>`` in entity form, read as ``model``; anything else EM answers is malformed."""
    doc = await fetch(em, f"{em.base_url}/{collection}/{guid}?format=Entity", missing=missing)
    resource = to_resource(doc, model.model_fields["kind"].default)
    if not isinstance(resource, model):
        raise MalformedResponse(f"Enterprise Manager answered {guid} with a {type(resource).__name__}, not {what}.")
    return resource
