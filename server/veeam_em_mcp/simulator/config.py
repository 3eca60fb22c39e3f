"""Knobs of the embedded Enterprise Manager simulator.

The defaults describe a well-behaved EM 12.x server; each knob switches on one real-world variation
(v13 camelCase JSON, byte-order marks, missing VmName, ...) so that the client can be tested against it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .faults import Fault


@dataclass
class SimulatorConfig:
    """Behaviour of one simulator instance (credentials, session timeout, representation quirks)."""

    username: str = "DEMO\\demo"
    # The well-known demo password (hence loopback-only binding by default).
    password: str = "demo-password"  # noqa: S105
    # EM drops a session after 15 minutes without requests.
    idle_timeout: float = 900.0
    # Veeam 13 is reported to emit camelCase JSON keys; 12.x and earlier emit PascalCase.
    json_casing: Literal["pascal", "camel"] = "pascal"
    json_bom: bool = False
    xml_bom: bool = False
    # The 13.0 docs sample and v9 servers have neither the VmName element nor the VmDisplayName attribute.
    omit_vm_name: bool = False
    # Element name spelling on VmRestorePoint (`CreationTimeUTC`, or `CreationTimeUtc` like BackupFile).
    creation_time_spelling: Literal["UTC", "Utc"] = "UTC"
    # Injectable so tests can expire sessions without sleeping.
    clock: Callable[[], float] = field(default=time.monotonic)
    # Faults active from the start (the --fault command-line flag); tests change them at runtime via state.faults.
    faults: tuple[Fault | str, ...] = ()
