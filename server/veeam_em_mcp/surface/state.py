"""The process state as the surface reaches it: the ``EmContext`` the MCP lifespan holds (the EM client, the
settings, the caches), for tools, prompts and resources alike, which import it from here and not from each other.

A handler with an MCP ``Context`` (tools, prompts, resource templates) reads it with ``state_of``. Static resources
and completion handlers get no ``Context`` in mcp 2.3, so the ``expose_state`` middleware (``resources.register``
installs it) puts the state in a context variable for the duration of each ``resources/read`` and
``completion/complete`` request, where ``current_state`` reads it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context

from ..client import EnterpriseManagerClient
from ..services.context import EmContext

_current_state: ContextVar[EmContext | None] = ContextVar("veeam_em_state", default=None)
_STATE_METHODS = frozenset({"resources/read", "completion/complete"})


def state_of(ctx: Context) -> EmContext:
    """The process's ``EmContext`` (the MCP lifespan state) for a tool, prompt or resource-template call."""
    state = ctx.request_context.lifespan_context
    assert isinstance(state, EmContext)
    return state


def client_of(ctx: Context | None) -> EnterpriseManagerClient | None:
    """The process's EM client for a call with this ``Context``; None without one (or without our state)."""
    state = ctx.request_context.lifespan_context if ctx is not None else None
    return state.client if isinstance(state, EmContext) else None


def current_state() -> EmContext | None:
    """The process's ``EmContext`` inside a ``resources/read`` or ``completion/complete`` request, else None."""
    return _current_state.get()


async def expose_state(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: the lifespan state in ``current_state()`` while a request of ``_STATE_METHODS`` runs."""
    if ctx.method not in _STATE_METHODS or not isinstance(ctx.lifespan_context, EmContext):
        return await call_next(ctx)
    token = _current_state.set(ctx.lifespan_context)
    try:
        return await call_next(ctx)
    finally:
        _current_state.reset(token)
