"""The running simulator's state (`SimulatorState`, `app.state.sim`): its config, dataset, query service and
faults, the logon sessions and their idle expiry, and the counters and request log the tests read.
"""

from __future__ import annotations

import base64
import threading
import uuid
from dataclasses import dataclass

from . import reports
from .config import SimulatorConfig
from .dataset import Dataset, append_copy, insert_copy, remove_middle
from .faults.fault_set import FaultSet
from .query.service import QueryService
from .registry import DEFAULT_REGISTRY, Registry
from .render.renderer import Renderer


@dataclass(kw_only=True)
class Session:
    session_id: str
    token: str
    user_name: str
    last_used: float


class SimulatorState:
    """Live state of one simulator: sessions, the query service and counters tests can read."""

    def __init__(self, config: SimulatorConfig, dataset: Dataset, registry: Registry = DEFAULT_REGISTRY) -> None:
        self.config = config
        self.dataset = dataset
        self.registry = registry
        self.query = QueryService(dataset, registry, shuffle=config.unsorted_order == "shuffle")
        self.query.warm()
        camel = config.json_casing == "camel"
        self.xml = Renderer("xml", xml_bom=config.xml_bom)
        self.json = Renderer("json", camel_case=camel, json_bom=config.json_bom, dialect=config.json_dialect)
        self._summary: reports.Summary | None = None
        # token -> session
        self.sessions: dict[str, Session] = {}
        self.logons = 0
        self.logouts = 0
        self.failed_logons = 0
        self.requests = 0
        self.request_log: list[tuple[str, str]] = []
        # Client (host, port) pairs seen: one per TCP connection, so keep-alive can be checked.
        self.peers: set[tuple[str, int]] = set()
        # Every token handed out, expired or not: secret-scanning tests look for them in outputs and logs.
        self.issued_tokens: list[str] = []
        # Tests read and reset state from another thread while uvicorn serves.
        self.lock = threading.Lock()
        # Injected misbehaviour (latency, 503 bursts, dropped connections, hostile bodies); see faults/.
        self.faults = FaultSet(config.faults)

    @property
    def summary(self) -> reports.Summary:
        """The report numbers, computed on first use (they depend only on the dataset)."""
        if self._summary is None:
            self._summary = reports.compute(self.dataset)
        return self._summary

    def mutate(self, variant: str, type_name: str) -> str:
        """Change the data under the running simulator (the `mutate` fault): `insert` a copy of, or `remove`,
        the middle item of `type_name` by creation time, or `append` a copy of the newest a few seconds after
        it; the query service's tables and the report numbers are rebuilt on next use, so every later request
        sees it. Returns the inserted, appended or removed id."""
        change = {"insert": insert_copy, "append": append_copy}.get(variant, remove_middle)
        with self.lock:
            changed = change(self.dataset, type_name)
            self.query.invalidate()
            self._summary = None
        return changed

    def expire_all_sessions(self) -> None:
        """Drop every session, as if all had idled out (the next request with any token gets 401)."""
        with self.lock:
            self.sessions.clear()

    def active_sessions(self) -> int:
        """Number of sessions that are still valid now."""
        now = self.config.clock()
        with self.lock:
            return sum(1 for s in self.sessions.values() if now - s.last_used <= self.config.idle_timeout)

    def new_session(self, user_name: str) -> Session:
        session_id = str(uuid.uuid4())
        # Real tokens are base64 of the session GUID string (treated as opaque by clients).
        token = base64.b64encode(session_id.encode()).decode()
        session = Session(session_id=session_id, token=token, user_name=user_name, last_used=self.config.clock())
        with self.lock:
            self.sessions[token] = session
            self.issued_tokens.append(token)
            self.logons += 1
        return session

    def touch(self, token: str) -> Session | None:
        """The live session for `token` (refreshing its idle timer), or None; expired ones are removed."""
        now = self.config.clock()
        with self.lock:
            session = self.sessions.get(token)
            if session is None:
                return None
            if now - session.last_used > self.config.idle_timeout:
                del self.sessions[token]
                return None
            session.last_used = now
            return session

    def end_session(self, session_id: str) -> bool:
        with self.lock:
            tokens = [t for t, s in self.sessions.items() if s.session_id == session_id]
            for t in tokens:
                del self.sessions[t]
            if tokens:
                self.logouts += 1
            return bool(tokens)
