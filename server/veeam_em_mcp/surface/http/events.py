"""Resumable streams: one event store per session (``SessionEventStore``), all of them together bounded
in bytes by one ``EventBudget``."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Final
from uuid import uuid4

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import JSONRPCMessage, jsonrpc_message_adapter

_EVENT_OVERHEAD: Final = 160  # bytes an event costs beyond its JSON (ids, list and dict slots)


@dataclass
class _StoredEvent:
    store: SessionEventStore
    stream_id: StreamId
    data: str | None  # the message as JSON; None for a priming event
    size: int


class EventBudget:
    """The memory the resumable events of every session may use together, and each session's share.

    Events are kept as JSON (smaller than the message objects, and serialised once). When the total
    is over ``max_bytes`` the oldest events of any session go first; a session also keeps no more
    than ``per_session`` events. A client that resumes after its event was dropped gets an empty
    stream: the answer is lost, as it was before resumability, but memory stays bounded.
    """

    def __init__(self, max_bytes: int, per_session: int) -> None:
        self.max_bytes = max_bytes
        self.per_session = per_session
        self._events: OrderedDict[EventId, _StoredEvent] = OrderedDict()  # oldest first
        self.bytes_used = 0

    @property
    def events_stored(self) -> int:
        return len(self._events)

    def session_store(self) -> SessionEventStore:
        return SessionEventStore(self)

    def add(self, store: SessionEventStore, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        data = None if message is None else message.model_dump_json(by_alias=True, exclude_unset=True)
        event_id = uuid4().hex
        event = _StoredEvent(store, stream_id, data, len(data or "") + _EVENT_OVERHEAD)
        self._events[event_id] = event
        self.bytes_used += event.size
        store.order.append(event_id)
        store.streams.setdefault(stream_id, deque()).append(event_id)
        while len(store.order) > self.per_session:
            self._drop_oldest_of(store)
        while self.bytes_used > self.max_bytes and len(self._events) > 1:
            oldest = next(iter(self._events.values()))
            self._drop_oldest_of(oldest.store)
        return event_id

    def get(self, event_id: EventId) -> _StoredEvent | None:
        return self._events.get(event_id)

    def forget(self, store: SessionEventStore) -> None:
        while store.order:
            self._drop_oldest_of(store)

    def _drop_oldest_of(self, store: SessionEventStore) -> None:
        # Events are added in time order and only ever dropped oldest-first per session, so the
        # session's oldest event is also the first of its stream.
        event_id = store.order.popleft()
        event = self._events.pop(event_id)
        self.bytes_used -= event.size
        stream = store.streams[event.stream_id]
        stream.popleft()
        if not stream:
            del store.streams[event.stream_id]


class SessionEventStore(EventStore):
    """One session's view of the ``EventBudget``: it replays only its own events.

    The SDK names a response stream after the JSON-RPC request id, which every session starts
    counting from 1; one store shared by all sessions would replay another session's answers.
    """

    def __init__(self, budget: EventBudget) -> None:
        self.budget = budget
        self.order: deque[EventId] = deque()
        self.streams: dict[StreamId, deque[EventId]] = {}

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        return self.budget.add(self, stream_id, message)

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        last = self.budget.get(last_event_id)
        if last is None or last.store is not self:
            return None
        following = list(self.streams.get(last.stream_id, ()))
        if last_event_id in following:
            following = following[following.index(last_event_id) + 1 :]
        for event_id in following:
            event = self.budget.get(event_id)
            if event is not None and event.data is not None:
                await send_callback(EventMessage(jsonrpc_message_adapter.validate_json(event.data), event_id))
        return last.stream_id

    def close(self) -> None:
        self.budget.forget(self)
