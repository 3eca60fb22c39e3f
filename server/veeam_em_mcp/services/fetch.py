"""One GET on Enterprise Manager whose 404 is worded by the caller, who knows what it asked for.

The client can only say "EM has no resource at <path>"; a service knows it was a restore point, a job
session or a link from an earlier result, and what to do next. ``fetch`` is the one place that turns
EM's 404 into that sentence, keeping EM's own message.
"""

from __future__ import annotations

from ..errors import NotFound
from ..representation.parse import Document
from .context import EmContext


async def fetch(em: EmContext, url: str, *, missing: str) -> Document:
    """GET ``url`` (already vetted) and parse it; a 404 raises ``NotFound`` with ``missing`` as its message."""
    try:
        return await em.client.get(url)
    except NotFound as exc:
        said = f" EM said: {exc.em_message}" if exc.em_message else ""
        raise NotFound(404, f"{missing}{said}", exc.em_message) from None
