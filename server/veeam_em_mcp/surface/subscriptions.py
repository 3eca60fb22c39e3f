"""Resource subscriptions: ``resources/subscribe`` and ``resources/unsubscribe``, and who is told of a change.

2026-07-28 clients use ``subscriptions/listen``, which the SDK serves from the same bus. The one resource
whose content changes while the server runs is ``veeam-em://enterpriseManager`` (its session state and
logged-on user): when a request changes them, subscribers get ``notifications/resources/updated``. Restore
points never change once EM has created them, so their subscriptions never fire; the server does not poll
EM to find out that retention removed one.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from mcp.server.connection import Connection
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.subscriptions import ResourceUpdated, SubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from ..services.context import EmContext
from .resources import ENTERPRISE_MANAGER_URI
from .sdk_seams import session_connection

# Resource subscriptions one connection may hold (a client subscribes to a few points, not all).
MAX_SUBSCRIPTIONS_PER_CONNECTION = 1000


@dataclass
class ResourceSubscriptions:
    """Which connection subscribed to which URI, and the fan-out when a resource changes."""

    bus: SubscriptionBus
    by_connection: weakref.WeakKeyDictionary[Connection, set[str]] = field(default_factory=weakref.WeakKeyDictionary)

    def subscribe(self, connection: Connection, uri: str) -> None:
        uris = self.by_connection.get(connection)
        if uris is None:
            uris = self.by_connection[connection] = set()
            connection.exit_stack.callback(self.by_connection.pop, connection, None)
        if uri not in uris and len(uris) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"this connection already holds {MAX_SUBSCRIPTIONS_PER_CONNECTION} resource subscriptions; "
                "unsubscribe from some first",
            )
        uris.add(uri)

    def unsubscribe(self, connection: Connection, uri: str) -> None:
        self.by_connection.get(connection, set()).discard(uri)

    async def on_subscribe(self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        """``resources/subscribe``."""
        self.subscribe(session_connection(ctx.session), params.uri)
        return EmptyResult()

    async def on_unsubscribe(
        self, ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        """``resources/unsubscribe``."""
        self.unsubscribe(session_connection(ctx.session), params.uri)
        return EmptyResult()

    async def updated(self, uri: str) -> None:
        """Tell every subscriber of ``uri``: handshake-era connections directly, 2026-07-28 listeners via the bus."""
        for connection, uris in list(self.by_connection.items()):
            if uri in uris:
                await connection.send_resource_updated(uri)
        await self.bus.publish(ResourceUpdated(uri=uri))

    async def announce_em_session_changes(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """Middleware: after a request that logged on (or changed the logged-on user), announce the update.

        ``veeam-em://enterpriseManager`` shows the session state and the logged-on user; the
        last announced state lives in the process state, so concurrent requests announce a
        change once.
        """
        state = ctx.lifespan_context
        if ctx.request_id is None or not isinstance(state, EmContext):
            return await call_next(ctx)
        if state.announced_em_session is None:
            state.announced_em_session = em_session(state)
        try:
            result = await call_next(ctx)
        except Exception:  # a failed call can have logged on too
            await self._announce_if_changed(state)
            raise
        await self._announce_if_changed(state)
        return result

    async def _announce_if_changed(self, state: EmContext) -> None:
        now = em_session(state)
        if now != state.announced_em_session:
            state.announced_em_session = now
            await self.updated(ENTERPRISE_MANAGER_URI)


def em_session(state: EmContext) -> tuple[bool, str | None]:
    return state.client.logged_on, state.client.user_name
