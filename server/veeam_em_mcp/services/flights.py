"""Identical questions asked at the same time share one computation: one reading of EM, one answer's memory.

Twenty clients asking for the same protection report at once would otherwise read the same window twenty
times and hold twenty copies of it. ``SingleFlight.run(key, compute)`` lets the first call compute and the
others wait for its result (or its error). A computing call cancelled by its own deadline does not fail
the others: the next one in line computes for itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio

T = TypeVar("T")


@dataclass
class _Flight(Generic[T]):
    done: anyio.Event = field(default_factory=anyio.Event)
    result: T | None = None
    error: BaseException | None = None


class SingleFlight:
    """Concurrent calls with the same key share one computation (its result, or its error)."""

    def __init__(self) -> None:
        self._running: dict[str, _Flight[Any]] = {}

    async def run(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        while True:
            flight = self._running.get(key)
            if flight is None:
                break
            await flight.done.wait()
            if flight.error is None:
                return flight.result  # type: ignore[return-value]  # the same key computes the same type
            if not isinstance(flight.error, anyio.get_cancelled_exc_class()):
                raise flight.error
            # The computing call was cancelled (its own deadline): this one computes for itself.
        own: _Flight[T] = _Flight()
        self._running[key] = own
        try:
            own.result = await compute()
            return own.result
        except BaseException as error:
            own.error = error
            raise
        finally:
            own.done.set()
            del self._running[key]
