"""Knobs of the embedded Enterprise Manager simulator.

The defaults describe a well-behaved EM server with the JSON of 9.5 U4 (absent values left out); each knob
switches on one real-world variation (the v12 and v13 JSON dialects, byte-order marks, missing VmName, how a
running session looks, unsorted query order, reason length, ...) so that the client can be tested against it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .faults.spec import Fault


@dataclass(kw_only=True)
class SimulatorConfig:
    """Behaviour of one simulator instance (credentials, session timeout, representation quirks)."""

    username: str = "DEMO\\demo"
    # The well-known demo password (hence loopback-only binding by default).
    password: str = "demo-password"  # noqa: S105
    # EM drops a session after 15 minutes without requests.
    idle_timeout: float = 900.0
    # JSON dialect: "9.5" (absent values omitted, only the requested Entities key), "12" (every key, null
    # for absent values, all Entities keys, Refs/Resources/Links at the top) or "13" (the v12 dialect with
    # .NET camelCase keys, GET /api/ too). It also sets the PagingInfo href encoding (v12 lower-case hex,
    # v13 upper-case with `;` raw) in both XML and JSON, since that is the server's, not the format's.
    json_dialect: Literal["9.5", "12", "13"] = "9.5"
    # camelCase keys on top of the chosen dialect (the "13" dialect implies them); kept for older callers.
    json_casing: Literal["pascal", "camel"] = "pascal"
    # EndTimeUTC and Result of what is still running (no capture shows it): "absent" (both left out),
    # "null" (XML xsi:nil, JSON null) or "min" (0001-01-01T00:00:00Z and Result "None").
    running_end_time: Literal["absent", "null", "min"] = "absent"
    # Order of unsorted query results: "storage" (the dataset's order: by job, then by run, not by time) or
    # "shuffle" (a fixed permutation of it, so a client that relies on any order breaks).
    unsorted_order: Literal["storage", "shuffle"] = "storage"
    json_bom: bool = False
    xml_bom: bool = False
    # The 13.0 docs sample and v9 servers have neither the VmName element nor the VmDisplayName attribute.
    omit_vm_name: bool = False
    # Element name spelling on VmRestorePoint (`CreationTimeUTC`, or `CreationTimeUtc` like BackupFile).
    creation_time_spelling: Literal["UTC", "Utc"] = "UTC"
    # > 0: every non-empty task-session Reason is served padded (its text repeated, a space between) or cut to
    # exactly this many characters (long-text handling in clients); 0 serves the reasons as they are.
    reason_chars: int = 0
    # Injectable so tests can expire sessions without sleeping.
    clock: Callable[[], float] = field(default=time.monotonic)
    # Faults active from the start (the --fault command-line flag); tests change them at runtime via state.faults.
    faults: tuple[Fault | str, ...] = ()
