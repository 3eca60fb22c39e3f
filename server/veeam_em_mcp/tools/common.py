"""What every tool shares: the per-process state, error translation, and result building.

In mcp 2.3 only a ``ToolError``'s message reaches the model; any other exception becomes a bare
"Error executing tool". So every tool runs inside ``em_errors``, which turns our errors into
``ToolError``s with their actionable message and logs the failure on stderr (one line). ``em_errors``
also puts each tool call under its deadline (``EnterpriseManagerClient.deadline``), so that no call can
wait longer than the documented bound, whatever EM does.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, overload

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from ..client import EnterpriseManagerClient
from ..errors import LogonRejected, ResultTooLarge, VeeamEmError
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

Deadline = float | Callable[[EnterpriseManagerClient], float]


@overload
def em_errors(fn: Callable[P, Awaitable[R]], /) -> Callable[P, Awaitable[R]]: ...


@overload
def em_errors(
    *, deadline: Deadline | None = None
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]: ...


def em_errors(
    fn: Callable[P, Awaitable[R]] | None = None, /, *, deadline: Deadline | None = None
) -> Callable[P, Awaitable[R]] | Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Run the tool under its deadline; translate failures into ToolErrors the model can act on; keep serving.

    ``em_errors(tool)`` gives the call the client's ``default_deadline`` (VEEAM_EM_TIMEOUT × (VEEAM_EM_RETRIES + 1)
    + retry back-off). A tool that reads many pages asks for more explicitly, in seconds or from the client:
    ``em_errors(deadline=lambda client: 4 * client.default_deadline)``. The tool must take its ``Context``
    (as every tool does, to reach the shared client); without one it runs without a deadline.
    """

    def decorate(tool: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(tool)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                client = _client_of(args, kwargs)
                if client is None:
                    return await tool(*args, **kwargs)
                seconds = deadline(client) if callable(deadline) else deadline
                with client.deadline(seconds):
                    return await tool(*args, **kwargs)
            except ToolError:
                raise
            except LogonRejected as exc:
                # The client logged the rejected logon itself, with the count; refusals during the back-off
                # would only repeat it once per call.
                level = logging.WARNING if exc.attempted else logging.DEBUG
                log.log(level, "%s failed: %s", tool.__name__, type(exc).__name__)
                raise ToolError(str(exc)) from None
            except VeeamEmError as exc:
                log.warning("%s failed: %s: %s", tool.__name__, type(exc).__name__, exc)
                raise ToolError(str(exc)) from None
            except Exception as exc:
                log.exception("%s failed unexpectedly", tool.__name__)
                raise ToolError(
                    f"veeam-em-mcp hit an internal error ({type(exc).__name__}) while running {tool.__name__}; "
                    "the server is still running. Try again; if it repeats, report it with the server's stderr "
                    "log."
                ) from None

        return wrapper

    return decorate if fn is None else decorate(fn)


def _client_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> EnterpriseManagerClient | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, Context):
            state = value.request_context.lifespan_context
            return state.client if isinstance(state, EmContext) else None
    return None


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
