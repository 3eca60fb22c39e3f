"""What every tool shares: the per-process state, error translation, and result building.

In mcp 2.3 only a ``ToolError``'s message reaches the model; any other exception becomes a bare
"Error executing tool". So every tool runs inside ``em_errors``, which turns our errors into
``ToolError``s with their actionable message and logs the failure on stderr. ``em_errors`` also puts
each tool call under its deadline (``EnterpriseManagerClient.deadline``), so that no call can wait
longer than the documented bound, whatever EM does.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, overload

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from ..client import EnterpriseManagerClient
from ..config import Settings
from ..errors import LogonRejected, ResultTooLarge, VeeamEmError
from ..links import LinkPolicy

log = logging.getLogger("veeam_em_mcp.tools")

DEMO_BANNER = (
    "DEMO DATA: this answer comes from the embedded Enterprise Manager simulator started with --demo, "
    "not from a real backup infrastructure."
)

READ_ONLY = {
    "read_only_hint": True,
    "destructive_hint": False,
    "idempotent_hint": True,
    "open_world_hint": True,
}


@dataclass
class AppState:
    """Lives for the whole server process (MCP lifespan): one EM client shared by all calls."""

    settings: Settings
    client: EnterpriseManagerClient
    policy: LinkPolicy
    extras: dict[str, Any] = field(default_factory=dict)


def state_of(ctx: Context) -> AppState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState)
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

    ``@em_errors`` gives the call the client's ``default_deadline`` (VEEAM_EM_TIMEOUT × (VEEAM_EM_RETRIES + 1)
    + retry back-off). A tool that reads many pages asks for more explicitly, in seconds or from the client:
    ``@em_errors(deadline=lambda client: 4 * client.default_deadline)``. The tool must take its ``Context``
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
                log.log(logging.WARNING if exc.attempted else logging.DEBUG, "%s failed: %s", tool.__name__,
                        type(exc).__name__)
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
            return state.client if isinstance(state, AppState) else None
    return None


def result_json(model: BaseModel, settings: Settings) -> str:
    """The result as compact JSON: absent values left out, hrefs on the EM origin made relative.

    Both choices are lossless and keep answers small for a model's context: a field EM did not
    send is simply not there (never a guessed value), and ``/api/…`` hrefs are on the configured
    Enterprise Manager (follow_link and get_vm_restore_point accept them as they are). Serialising
    in pydantic's Rust core and rewriting the text is several times faster than walking the dict.
    """
    text = model.model_dump_json(exclude_none=True)
    return text.replace(f'"href":"{settings.origin}/', '"href":"/')


def result_text(model: BaseModel, settings: Settings) -> str:
    """The text mirror of a result exactly as sent; its length is what VEEAM_MCP_MAX_RESULT_CHARS bounds."""
    return _mirror(result_json(model, settings), settings)


def _mirror(text: str, settings: Settings) -> str:
    return f"{DEMO_BANNER}\n{text}" if settings.demo else text


def fits(model: BaseModel, settings: Settings) -> bool:
    return len(result_text(model, settings)) <= settings.max_result_chars


M = TypeVar("M", bound=BaseModel)


def longest_fitting(count: int, build: Callable[[int], M], settings: Settings) -> M:
    """``build(count)`` when it fits the size limit, else ``build(k)`` for the largest ``k`` that does.

    ``build(k)`` is the result holding the first ``k`` items of a list, saying what it left out; a
    binary search, since the size of a result grows with ``k`` but not by a fixed amount per item.
    """
    full = build(count)
    if fits(full, settings):
        return full
    low, high = 0, count - 1
    while low < high:
        mid = (low + high + 1) // 2
        if fits(build(mid), settings):
            low = mid
        else:
            high = mid - 1
    return build(low)


def bounded_result(model: BaseModel, settings: Settings, remedy: str) -> CallToolResult:
    """``structured_result``, or a clear error when even the smallest answer is over the size limit.

    Tools that return lists cut them first (and say so); this is the last guard, for answers that cannot
    be cut without losing part of one resource, which would be dropping data silently.
    """
    text = result_json(model, settings)
    size = len(_mirror(text, settings))
    if size > settings.max_result_chars:
        raise ResultTooLarge(
            f"The answer is {size} characters, over the result size limit (VEEAM_MCP_MAX_RESULT_CHARS="
            f"{settings.max_result_chars}); nothing was returned. {remedy}"
        )
    return _call_result(text, settings)


def structured_result(model: BaseModel, settings: Settings) -> CallToolResult:
    """A result with ``structuredContent`` and its JSON mirror as text (labelled in demo mode)."""
    return _call_result(result_json(model, settings), settings)


def _call_result(text: str, settings: Settings) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=_mirror(text, settings))], structured_content=json.loads(text)
    )
