"""What every tool shares: error translation, the call's deadline and progress, and result building.

In mcp 2.3 only a ``ToolError``'s message reaches the model; any other exception becomes a bare
"Error executing tool". So every tool runs inside ``em_errors``, which turns our errors into
``ToolError``s with their actionable message and logs the failure on stderr (one line). ``em_errors``
also puts each tool call under its deadline (``EnterpriseManagerClient.deadline``), so that no call can
wait longer than the documented bound, whatever EM does, and reports the EM pages it reads as MCP progress
(``services.progress``) to a client that sent a progress token.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, TypeVar, overload
from urllib.parse import quote

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ResourceLink, TextContent
from pydantic import BaseModel

from ...client import EnterpriseManagerClient
from ...errors import LogonRejected, ResultTooLarge, VeeamEmError
from ...models.base import MAX_TEXT_CHARS
from ...services import progress
from ...services.context import EmContext
from ...services.gather import first_error
from ..resources import RESTORE_POINT_TEMPLATE
from ..state import client_of

log = logging.getLogger("veeam_em_mcp.tools")

READ_ONLY = {
    "read_only_hint": True,
    "destructive_hint": False,
    "idempotent_hint": True,
    "open_world_hint": True,
}


P = ParamSpec("P")
R = TypeVar("R")

Deadline = float | Callable[[EnterpriseManagerClient], float]


@overload
def em_errors(fn: Callable[P, Awaitable[R]], /) -> Callable[P, Awaitable[R]]: ...


@overload
def em_errors(
    *, deadline: Deadline | None = None, page_progress: bool = True
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]: ...


def em_errors(
    fn: Callable[P, Awaitable[R]] | None = None,
    /,
    *,
    deadline: Deadline | None = None,
    page_progress: bool = True,
) -> Callable[P, Awaitable[R]] | Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Run the tool under its deadline; translate failures into ToolErrors the model can act on; keep serving.

    ``em_errors(tool)`` gives the call the client's ``default_deadline`` (VEEAM_EM_TIMEOUT × (VEEAM_EM_RETRIES + 1)
    + retry back-off). A tool that reads many pages asks for more explicitly, in seconds or from the client:
    ``em_errors(deadline=lambda client: 4 * client.default_deadline)``. The tool must take its ``Context``
    (as every tool does, to reach the shared client); without one it runs without a deadline.
    With ``page_progress`` (default) the EM pages the call reads are reported as progress; a tool that reports
    its own progress, in its own units, turns it off (two counters in one token's notifications would not
    increase).
    """

    def decorate(tool: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(tool)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                ctx = _context_of(args, kwargs)
                client = client_of(ctx)
                if ctx is None or client is None:
                    return await tool(*args, **kwargs)
                seconds = deadline(client) if callable(deadline) else deadline
                pages: AbstractContextManager[object] = (
                    progress.reporting(ctx.report_progress) if page_progress else progress.silenced()
                )
                with client.deadline(seconds), pages:
                    return await tool(*args, **kwargs)
            except ToolError:
                raise
            except BaseExceptionGroup as group:
                # A task group's wrapper is never the news: what one of its tasks met is (EM's 503, a timeout).
                raise _translate(tool.__name__, first_error(group)) from None
            except Exception as exc:
                raise _translate(tool.__name__, exc) from None

        return wrapper

    return decorate if fn is None else decorate(fn)


def _translate(name: str, error: BaseException) -> ToolError:
    """The ToolError the model reads for ``error``, logged once on stderr."""
    try:
        raise error
    except ToolError as exc:
        return exc
    except LogonRejected as exc:
        # The client logged the rejected logon itself, with the count; refusals during the back-off
        # would only repeat it once per call.
        level = logging.WARNING if exc.attempted else logging.DEBUG
        log.log(level, "%s failed: %s", name, type(exc).__name__)
        return ToolError(str(exc))
    except VeeamEmError as exc:
        log.warning("%s failed: %s: %s", name, type(exc).__name__, exc)
        return ToolError(str(exc))
    except BaseException as exc:
        log.error("%s failed unexpectedly", name, exc_info=exc)
        return ToolError(
            f"veeam-em-mcp hit an internal error ({type(exc).__name__}) while running {name}; "
            "the server is still running. Try again; if it repeats, report it with the server's stderr log."
        )


def _context_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Context | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, Context):
            return value
    return None


def restore_point_link(point_id: str, name: str | None = None) -> ResourceLink:
    """A ``resource_link`` to one VM restore point, which a client can open (``resources/read``) or attach."""
    uri = RESTORE_POINT_TEMPLATE.format(id=quote(point_id, safe=""))
    return ResourceLink(type="resource_link", uri=uri, name=name or point_id, mime_type="application/json")


def structured_result(em: EmContext, model: BaseModel) -> CallToolResult:
    """A result with ``structuredContent`` and its JSON mirror as text (labelled in demo mode)."""
    return _call_result(em, em.budget.json(model))


def bounded_result(
    em: EmContext, model: BaseModel, remedy: str, links: list[ResourceLink] | None = None
) -> CallToolResult:
    """``structured_result``, or a clear error when even the smallest answer is over the size limit.

    Services that return lists cut them first (and say so). A single resource over the limit (a task session
    whose failure reason is 25 KB) has its longest texts cut, each with a marker saying how long it was; only
    what cannot be cut that way is refused with a clear error, never cut silently. ``links`` go beside the
    JSON as ``resource_link`` blocks (what the result names that a client can open); the JSON is unchanged.
    """
    text = em.budget.json(model)
    size = len(em.budget.mirror(text))
    if size > em.budget.max_chars:
        text = _cut_texts(text)
        size = len(em.budget.mirror(text))
    if size > em.budget.max_chars:
        raise ResultTooLarge(
            f"The answer is {size} characters, over the result size limit (VEEAM_MCP_MAX_RESULT_CHARS="
            f"{em.budget.max_chars}); nothing was returned. {remedy}"
        )
    return _call_result(em, text, links)


def _call_result(em: EmContext, text: str, links: list[ResourceLink] | None = None) -> CallToolResult:
    content: list[TextContent | ResourceLink] = [TextContent(type="text", text=em.budget.mirror(text)), *(links or [])]
    return CallToolResult(content=content, structured_content=json.loads(text))


def _cut_texts(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """The JSON ``text`` with every string longer than ``limit`` cut, marked with its whole length."""
    data = json.loads(text)

    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            marker = f" [… cut: {len(value):,} characters in all]"
            return value[: limit - len(marker)] + marker
        if isinstance(value, dict):
            return {key: cut(item) for key, item in value.items()}
        if isinstance(value, list):
            return [cut(item) for item in value]
        return value

    return json.dumps(cut(data), ensure_ascii=False, separators=(",", ":"))
