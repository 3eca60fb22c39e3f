"""What every tool shares: the per-process state, error translation, and result building.

In mcp 2.3 only a ``ToolError``'s message reaches the model; any other exception becomes a bare
"Error executing tool". So every tool runs inside ``em_errors``, which turns our errors into
``ToolError``s with their actionable message and logs the failure on stderr (one line).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from ..errors import ResultTooLarge, VeeamEmError
from ..services.context import EmContext

log = logging.getLogger("veeam_em_mcp.tools")

READ_ONLY = {
    "read_only_hint": True,
    "destructive_hint": False,
    "idempotent_hint": True,
    "open_world_hint": True,
}


def state_of(ctx: Context) -> EmContext:
    """The process's ``EmContext`` (the MCP lifespan state) for a tool, prompt or resource-template call."""
    state = ctx.request_context.lifespan_context
    assert isinstance(state, EmContext)
    return state


P = ParamSpec("P")
R = TypeVar("R")


def em_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Translate failures into ToolErrors the model can act on; keep the server serving."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except ToolError:
            raise
        except VeeamEmError as exc:
            log.warning("%s failed: %s: %s", fn.__name__, type(exc).__name__, exc)
            raise ToolError(str(exc)) from None
        except Exception as exc:
            log.exception("%s failed unexpectedly", fn.__name__)
            raise ToolError(
                f"veeam-em-mcp hit an internal error ({type(exc).__name__}) while running {fn.__name__}; "
                "the server is still running. Try again; if it repeats, report it with the server's stderr log."
            ) from None

    return wrapper


def structured_result(em: EmContext, model: BaseModel) -> CallToolResult:
    """A result with ``structuredContent`` and its JSON mirror as text (labelled in demo mode)."""
    return _call_result(em, em.budget.json(model))


def bounded_result(em: EmContext, model: BaseModel, remedy: str) -> CallToolResult:
    """``structured_result``, or a clear error when even the smallest answer is over the size limit.

    Services that return lists cut them first (and say so); this is the last guard, for answers that cannot
    be cut without losing part of one resource, which would be dropping data silently.
    """
    text = em.budget.json(model)
    size = len(em.budget.mirror(text))
    if size > em.budget.max_chars:
        raise ResultTooLarge(
            f"The answer is {size} characters, over the result size limit (VEEAM_MCP_MAX_RESULT_CHARS="
            f"{em.budget.max_chars}); nothing was returned. {remedy}"
        )
    return _call_result(em, text)


def _call_result(em: EmContext, text: str) -> CallToolResult:
    content = [TextContent(type="text", text=em.budget.mirror(text))]
    return CallToolResult(content=content, structured_content=json.loads(text))
