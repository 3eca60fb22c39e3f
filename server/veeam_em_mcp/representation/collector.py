"""When the memory of EM's answers is reclaimed: not while they are read, not before they are sent.

The cyclic garbage collector is held off while EM's answers are read: they build many objects and no cycles.
``gc_paused`` covers one synchronous parse or page of models; ``gc_held`` a whole window read, across its
awaits (counted, so that reads side by side hold it off until the last one ends), and ``held_until_sent`` past
the answer's being sent. ``release_later`` keeps an answer's objects until just after it is sent: freeing them is
work too.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a body is parsed or its entities built.

    Both allocate tens of thousands of fresh containers (a 1,000-item page) and create no reference
    cycles, so every collection in the middle only traverses them again: on a 5,000-VM protection report
    that was half the CPU time. The work inside is synchronous (no other task runs), and a collector the
    host disabled stays disabled.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_held = 0  # window reads in progress that hold the collector off (see gc_held)
_held_disabled = False  # whether gc_held disabled it (a collector the host disabled stays so)
_resume_at = 0.0  # time.monotonic() before which collections stay held: an answer is on its way (held_until_sent)


@contextmanager
def gc_held() -> Iterator[None]:
    """The cyclic garbage collector kept off for a whole window read, across its awaits, restored after.

    A window read keeps every item it reads until the answer is built: hundreds of thousands of containers
    that live for the whole read and hold no cycles, which every full collection in the middle traverses
    again (full collections grow faster than the estate). Counted, so that reads side by side (the report's
    three) hold it off until the last one ends; the memory of the read is bounded by the read itself.
    """
    _hold()
    try:
        yield
    finally:
        _let_go()


def _hold() -> None:
    global _held, _held_disabled
    if _held == 0 and gc.isenabled():
        gc.disable()
        _held_disabled = True
    _held += 1


def _let_go() -> None:
    global _held
    _held -= 1
    _resume()


def _resume() -> None:
    """Collections resumed if this module paused them, once no read holds them and no answer is on its way."""
    global _held_disabled
    if _held == 0 and _held_disabled and time.monotonic() >= _resume_at:
        _held_disabled = False
        gc.enable()


RELEASE_DELAY = 0.05  # seconds: the answer is on its way by then (its response is written as the call returns)


def release_later(*held: object) -> None:
    """``held`` kept a moment longer: released on the event loop ``RELEASE_DELAY`` after the call returns, not as
    it returns. Freeing an answer's thousands of rows and the records they were made from (5,000 task rows: ~6 ms;
    a 50,000-VM report's much more) happened between the answer being built and its being sent."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop to wait on: released as usual
    kept = list(held)
    loop.call_later(RELEASE_DELAY, kept.clear)


def held_until_sent() -> None:
    """The collector held off a moment after the call returns, past ``release_later``'s delay: collections resume
    once the answer is sent and freed. Resumed as the answer is built, the first collection traverses every
    object allocated while it was held and still alive (a 50,000-VM report's rows and records: ~150 ms before its
    page went out); resumed after, few are left. A deadline, not a count: should the event loop end before the
    timer, the next read to end resumes them. Without an event loop nothing is held longer."""
    global _resume_at
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    delay = 2 * RELEASE_DELAY
    _resume_at = max(_resume_at, time.monotonic() + delay)
    loop.call_later(delay + 0.01, _resume)
