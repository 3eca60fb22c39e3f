"""The stateful session table: the SDK's session manager with a cap that evicts the least recently used
idle session instead of refusing, and one event store per session."""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.types import Scope

from ..sdk_seams import SeamedSessionManager
from .events import EventBudget, SessionEventStore
from .limits import LIMITS, HttpLimits

log = logging.getLogger("veeam_em_mcp.http")


class BoundedSessionManager(SeamedSessionManager):
    """The SDK's session manager, with a full table that makes room instead of refusing.

    At ``max_sessions`` the least recently used *idle* session (no request in flight, no open
    stream) is ended to admit the new one; its client gets 404 on its next request and, as the
    spec says, initialises again. Only when every session is busy does the SDK's 503 remain.
    Each session gets its own ``SessionEventStore``, dropped with the session.
    """

    def __init__(
        self,
        app: Any,
        *,
        limits: HttpLimits,
        security_settings: TransportSecuritySettings,
        events: EventBudget | None,
    ) -> None:
        super().__init__(
            app,
            security_settings=security_settings,
            retry_interval=limits.sse_retry_ms if events is not None else None,
            session_idle_timeout=limits.session_idle_timeout,
            max_request_body_size=limits.max_body_bytes,
            max_sessions=limits.max_sessions,
        )
        self.events = events
        self.evicted_sessions = 0
        self._stores: dict[str, SessionEventStore] = {}
        # Session ids, least recently used first (moved to the end when a request for one starts),
        # so the eviction candidate is found without scanning the whole table.
        self._recent: OrderedDict[str, None] = OrderedDict()
        self.note_requests_with(self._note_use)

    def _note_use(self, scope: Scope) -> None:
        session_id = Headers(scope=scope).get(MCP_SESSION_ID_HEADER)
        if session_id is not None and session_id in self._recent:
            self._recent.move_to_end(session_id)

    @property
    def open_sessions(self) -> int:
        return len(self.sessions)

    def admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        if self.max_sessions is not None and len(self.sessions) >= self.max_sessions:
            self._end_least_recently_used_idle_session()
        store = self.events.session_store() if self.events is not None else None
        transport = self.admit_session_with(requestor, store)
        if transport is not None and transport.mcp_session_id is not None:
            self._recent[transport.mcp_session_id] = None
            if store is not None:
                self._stores[transport.mcp_session_id] = store
        elif store is not None:
            store.close()
        return transport

    def _end_least_recently_used_idle_session(self) -> None:
        victim_id = next((session_id for session_id in self._recent if self._is_idle(session_id)), None)
        if victim_id is None:
            return  # every session is busy: the SDK answers 503
        victim = self.sessions.pop(victim_id)
        self.forget_owner(victim_id)
        self._recent.pop(victim_id, None)
        store = self._stores.pop(victim_id, None)
        if store is not None:
            store.close()
        self.evicted_sessions += 1
        log.warning(
            "the session table is full (%s=%d): ended the least recently used idle session to admit a new client",
            LIMITS["max_sessions"][0],
            self.max_sessions,
        )
        self.start_soon(self._terminate, victim)  # admission only runs inside run()

    def _is_idle(self, session_id: str) -> bool:
        transport = self.sessions.get(session_id)
        # Infinite while a request (an open GET stream included) is in flight, else last activity + idle
        # timeout; None while the session's opening request is still being served.
        deadline = self.idle_deadline(transport) if transport is not None else None
        return deadline is not None and math.isfinite(deadline)

    @staticmethod
    async def _terminate(transport: StreamableHTTPServerTransport) -> None:
        with anyio.CancelScope(shield=True):
            await transport.terminate()

    async def discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        self._recent.pop(session_id, None)
        store = self._stores.pop(session_id, None)
        if store is not None:
            store.close()
        await super().discard_session(session_id, transport)
