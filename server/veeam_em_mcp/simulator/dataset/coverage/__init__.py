"""The rest of what a real Enterprise Manager serves, added to the estate after the normal build (`coverage=True`).

Reference: shared/reference/em-rest-api-coverage.md. `build_dataset` runs this phase after the normal build and
before the twins, each part from its own `random.Random("coverage/<seed>/<part>")`, so not one id, name, time or
outcome of the normal estate changes (new items come after the old ones in storage order; existing objects only
gain entries in id lists: the S3 and local repositories' `backup_ids`, vbr02's `job_ids`, web VMs'
`points_by_vm`). The parts, in order, each in its module
(copies, replication, agents, restores, collect, msp; docs/simulator-contract.md, "Coverage", lists the facts):

- copy: the backup copy job's sources (`LinkedJob`, `ImmediateBackupCopyJobInfo.LinkedJobIncludes`), its own
  `Backup` in `Amazon S3 Copy`, and per copy-worker session one RestorePoint + BackupFile holding one copied
  `VmRestorePoint` per successful worker task (CreationTimeUTC = the task's end time). Worker sessions and tasks
  are not touched (they keep no `Related` links, as on real servers).
- replication: `Hyper-V Replication` (JobType `Replica`, vbr02, daily seven hours before the anchor's hour, so its
  newest run finished before vbr02 went stale) replicating hv-dc01, wsus01 and fileserver01: a `Replica`, one
  `ReplicaJobSession` per run with a `ReplicaTaskSession` per VM, and a `VmReplicaPoint` exactly where a replica
  task succeeded; wsus01 fails in the newest run. No retry sessions, no retention (all points are kept).
- agents: two Veeam Agent jobs on vbr01 (`Windows Agent Backup`, `Linux Agent Backup`), their protection groups and
  four discovered computers; per run an `AgentBackup` parent session and one `AgentManagement` session per
  computer (in `job_sessions`), and per successful computer a RestorePoint, a BackupFile and an
  `AgentRestorePoint`; srv-app01 (Offline) fails in the Windows job's newest run.
- restores: eight `RestoreSession`s over the last 14 days (FLR and full VM restores, one failed, the newest still
  running, one without a `Related` restore point).
- collect: EM's own `SystemSession`s: a `CollectJob` every 15 minutes over the last min(days, 30) days and a daily
  `CatalogReplicationJob`, each with its events; for the last `STALE_HOURS` hours the collection from vbr02 fails.
- msp: three vCloud Director self-service organisation configs and three Cloud Connect tenants on vbr01.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..builder import Builder
from ..coverage_records import CoverageData
from .agents import agents
from .collect import system_sessions
from .context import Coverage
from .copies import copies
from .msp import msp
from .replication import replication
from .restores import restores

# (RNG stream name, part), in the order they run.
_PARTS: tuple[tuple[str, Callable[[Coverage], None]], ...] = (
    ("copy", copies), ("replication", replication), ("agents", agents),
    ("restores", restores), ("collect", system_sessions), ("msp", msp),
)


def add_coverage(b: Builder) -> CoverageData:
    """Run the coverage phase on a finished normal build (before the twins); returns the new tables."""
    c = Coverage(b)
    normal = c.g.rng
    try:
        for name, part in _PARTS:
            # Reproducible demo data, not security; one stream per part, so parts do not shift each other.
            c.g.rng = random.Random(f"coverage/{b.seed}/{name}")  # noqa: S311
            part(c)
    finally:
        c.g.rng = normal
    return c.data
