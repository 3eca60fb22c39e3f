"""The active faults of one simulator (`FaultSet`): set, added and cleared at runtime, taken one request at a time
under a lock, and the query pages the page faults reshape (`shape_page`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from .spec import PAGE_KINDS, PASS_THROUGH, Fault, parse_fault


class FaultSet:
    """The simulator's active faults; safe to change from a test thread while uvicorn serves."""

    def __init__(self, faults: Sequence[Fault | str] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = [self._make(f) for f in faults]
        self.in_flight = 0
        self.max_in_flight = 0

    @staticmethod
    def _make(fault: Fault | str) -> Fault:
        return parse_fault(fault) if isinstance(fault, str) else fault

    def set(self, *faults: Fault | str) -> list[Fault]:
        """Replace every fault with these; returns them (to read ``fired`` later)."""
        made = [self._make(f) for f in faults]
        with self._lock:
            self._faults = made
        return made

    def add(self, fault: Fault | str) -> Fault:
        made = self._make(fault)
        with self._lock:
            self._faults.append(made)
        return made

    def clear(self) -> None:
        with self._lock:
            self._faults = []
            self.max_in_flight = self.in_flight

    @property
    def active(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if not f.exhausted]

    def take(self, method: str, path: str, has_session: bool, query_type: str | None = None) -> list[Fault]:
        """The faults this request meets: every delay/expiry/mutation that applies, and at most one responder
        (the query-page faults are left to `take_page`)."""
        chosen: list[Fault] = []
        responder = False
        with self._lock:
            for fault in self._faults:
                if fault.kind in PAGE_KINDS or fault.exhausted \
                        or not fault.matches(method, path, has_session, query_type):
                    continue
                passes = fault.kind in PASS_THROUGH
                if not passes and responder:
                    continue  # one answer per request; later responders keep their count
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.fired += 1
                chosen.append(fault)
                responder = responder or not passes
        return chosen

    def take_page(self, method: str, path: str, query_type: str, last_page: bool) -> list[Fault]:
        """The query-page faults (short-page, pages-drift) a query answer meets; called by the query handler once
        it knows whether its page is the last (a last page never matches short-page)."""
        chosen: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.kind not in PAGE_KINDS or fault.exhausted or (fault.kind == "short-page" and last_page):
                    continue
                if not fault.matches(method, path, True, query_type):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.fired += 1
                chosen.append(fault)
        return chosen

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def shape_page(chosen: Sequence[Fault], items: list[object], pages_count: int) -> tuple[list[object], int]:
    """(items, PagesCount) of a query page after the query-page faults `take_page` chose."""
    for fault in chosen:
        if fault.kind == "short-page":
            items = items[: max(0, len(items) - fault.items)]
        elif fault.kind == "pages-drift":
            pages_count = max(1, pages_count + fault.drift)
    return items, pages_count
