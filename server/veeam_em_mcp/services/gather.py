"""Running EM requests side by side, with their failures said as EM's, never as an exception group.

anyio's task groups wrap whatever their tasks raise in an ``ExceptionGroup``; an MCP tool that let one
escape would show the model "internal error (ExceptionGroup)" for what was, say, EM answering 503 on the
third page. ``gather`` is the one place the services run work concurrently: it waits for every task,
and when any failed it raises that task's own error (the first one that is ours, else the first), so the
boundary (``surface.tools.common.em_errors``) sees a ``VeeamEmError`` it can word for the model.

``together`` runs a few different reads of one answer side by side (a window's tasks, its runs, its replication)
and gives their results as a tuple; the client's own limit (``VEEAM_EM_MAX_CONCURRENCY``) still bounds what is
in flight at EM, whatever runs together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, overload

import anyio

from ..errors import VeeamEmError

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report for a group: the first ``VeeamEmError`` in it (at any depth), else its first leaf."""
    leaves: list[BaseException] = []

    def walk(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                walk(inner)
        else:
            leaves.append(error)

    walk(group)
    return next((leaf for leaf in leaves if isinstance(leaf, VeeamEmError)), leaves[0] if leaves else group)


async def gather(jobs: Sequence[Callable[[], Awaitable[T]]], *, limit: int = 8) -> list[T]:
    """Run ``jobs`` concurrently (at most ``limit`` at once) and return their results in order."""
    results: list[T | None] = [None] * len(jobs)
    if not jobs:
        return []
    if len(jobs) == 1:
        return [await jobs[0]()]
    slots = anyio.Semaphore(max(1, limit))

    async def run(index: int) -> None:
        async with slots:
            results[index] = await jobs[index]()

    try:
        async with anyio.create_task_group() as group:
            for index in range(1, len(jobs)):
                group.start_soon(run, index)
            # The first job runs in this task, at once: its requests go out first, as a caller that lists the read
            # the others wait for first expects, however deep in a read this gather is.
            slots.acquire_nowait()  # a slot is free: the others have not started yet
            try:
                results[0] = await jobs[0]()
            finally:
                slots.release()
    except BaseExceptionGroup as group_error:
        raise first_error(group_error) from None
    return results  # type: ignore[return-value]  # every slot was filled, or the group raised


@overload
async def together(a: Callable[[], Awaitable[A]], b: Callable[[], Awaitable[B]], /) -> tuple[A, B]: ...


@overload
async def together(
    a: Callable[[], Awaitable[A]], b: Callable[[], Awaitable[B]], c: Callable[[], Awaitable[C]], /
) -> tuple[A, B, C]: ...


@overload
async def together(
    a: Callable[[], Awaitable[A]],
    b: Callable[[], Awaitable[B]],
    c: Callable[[], Awaitable[C]],
    d: Callable[[], Awaitable[D]],
    /,
) -> tuple[A, B, C, D]: ...


async def together(*jobs: Callable[[], Awaitable[Any]]) -> tuple[Any, ...]:
    """Run these few jobs side by side (each its own kind of result) and return their results in order."""
    return tuple(await gather(jobs, limit=len(jobs)))
