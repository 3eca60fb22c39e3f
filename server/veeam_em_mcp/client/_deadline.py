"""The per-call deadline: one time budget for a tool call, shared by everything it waits for, and the error
that says what was slow when it passes."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

import anyio

from ..config import Settings
from ..errors import DeadlineExceeded
from ._api import LOGON_PATH

Waiting = Literal["slot", "em", "backoff", "logon", "logon-wait", "work"]


@dataclass
class CallDeadline:
    """One tool call's time budget, shared by everything the call waits for (see ``deadline()``).

    ``expires_at`` is on anyio's clock. ``waiting_for`` and the fields after it say what the call is doing
    now, so that the error can name what was slow when the deadline passes.
    """

    budget: float
    expires_at: float
    default: bool
    waiting_for: Waiting = "work"
    request: str = ""
    attempt: int = 0
    attempts: int = 0
    last_failure: str = ""
    requests_answered: int = 0

    def remaining(self) -> float:
        return self.expires_at - anyio.current_time()


# The deadline of the tool call running in this task (and the tasks it starts); None outside a call.
CURRENT_CALL: ContextVar[CallDeadline | None] = ContextVar("veeam_em_mcp_call_deadline", default=None)


def deadline_error(
    call: CallDeadline, settings: Settings, *, in_flight: int, queued: int, calls_running: int
) -> DeadlineExceeded:
    """What the call was waiting for when its deadline passed, in words that say what was slow."""
    limit = settings.max_concurrency
    if call.waiting_for == "slot":
        what = (
            f"while it waited for a free connection slot to send {call.request}: {in_flight} "
            f"request{'' if in_flight == 1 else 's'} to Enterprise Manager {'was' if in_flight == 1 else 'were'} "
            f"in flight (VEEAM_EM_MAX_CONCURRENCY={limit}) and {queued} more {'was' if queued == 1 else 'were'} "
            f"waiting, across {calls_running} running tool calls; EM is answering slowly or not at all"
        )
    elif call.waiting_for == "em":
        what = f"while Enterprise Manager did not answer {call.request} (attempt {call.attempt} of {call.attempts})"
    elif call.waiting_for == "backoff":
        what = f"while it waited to retry {call.request}, which had failed ({call.last_failure})"
    elif call.waiting_for == "logon":
        what = f"while Enterprise Manager did not answer the logon (POST {LOGON_PATH})"
    elif call.waiting_for == "logon-wait":
        what = (
            f"while it waited for the logon another call had sent (POST {LOGON_PATH}), which EM was slow to "
            "answer"
        )
    else:
        answered = call.requests_answered
        what = (
            f"between requests, after Enterprise Manager had answered {answered} of "
            f"{'it' if answered == 1 else 'them'} in time"
        )
    formula = (
        f" (VEEAM_EM_TIMEOUT {settings.timeout:g} s × (VEEAM_EM_RETRIES {settings.retries} + 1) + "
        "retry back-off)"
        if call.default
        else ""
    )
    return DeadlineExceeded(
        f"The tool call did not finish within its deadline of {call.budget:g} s{formula}, {what}. Try again "
        "later; check_connection shows whether Enterprise Manager answers. If EM is slow but working, raise "
        "VEEAM_EM_TIMEOUT.",
        budget=call.budget,
        waiting_for=call.waiting_for,
    )
