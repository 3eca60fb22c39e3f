"""The coverage phase (copies, replicas, restores, EM's sessions, agents, MSP views) leaves the estate that existed
before it exactly as it was: same ids, names, times and outcomes in the same storage order, and every old item
rendered byte for byte as before (XML and v13 JSON, reference and entity), except the copy job's entity, which
now names its sources. The digests below were taken from the simulator before the coverage phase existed, with
the same functions (`digest` is test_sim_twins.py's)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, Facts, build_dataset
from veeam_em_mcp.simulator.registry import DEFAULT_REGISTRY
from veeam_em_mcp.simulator.render.renderer import Renderer
from veeam_em_mcp.simulator.views.common import ViewContext

SIM_ANCHOR = datetime(2025, 10, 21, 9, 0, tzinfo=UTC)  # conftest's anchor
TABLES = ("backup_servers", "repositories", "jobs", "objects_in_job", "backups", "restore_points", "backup_files",
          "vm_restore_points", "job_sessions", "task_sessions", "vms")

# The default estate before the coverage phase (seed 7, SIM_ANCHOR): table sizes and digest.
BEFORE_COUNTS = {"backup_servers": 2, "repositories": 7, "jobs": 7, "objects_in_job": 27, "backups": 6,
                 "restore_points": 185, "backup_files": 185, "vm_restore_points": 860, "job_sessions": 256,
                 "task_sessions": 1064, "vms": 30}
BEFORE_DIGEST = "ae6bc8bcfe3772798155a179242ce565732b570e69fe1e575ce6695aefc39965"
# Other shapes of the estate before the coverage phase: (build_dataset arguments, digest).
BEFORE_OTHERS: list[tuple[dict[str, Any], str]] = [
    ({"vm_count": 1}, "ae4f314a663e94f0cdcc6d944671ae72e1bb152daf3bcba4938912e11627b789"),
    ({"vm_count": 8, "days": 5}, "ba511a6c061345af61a8431761803795c175bf05da5979d65141b85632569128"),
    ({"vm_count": 60, "days": 10}, "c81b1f239264249b1b30687c2866d5e5dd01811854759290920724467c0d4ffb"),
    ({"twins": True}, "1307e0720c24d093b4b2c96cdead655c8eca37a8b3901c7f46b2d4fef1b02ec4"),
]
# Every old item of every collection rendered as reference and entity in XML and v13 JSON, per type: (items, hash).
# Job leaves out the copy job's entity (hashed apart: unchanged without the coverage phase).
BEFORE_RENDERINGS = {
    "VmRestorePoint": (860, "22c0f469424175abb80fd5ca3f684ce6d303a72930b0b7a17fbf18fc72dbd695"),
    "RestorePoint": (185, "c9226438d9954ec53f6c1ae20bb6278a17841e5295a09a1e6ebe11f4ec4bb970"),
    "BackupFile": (185, "5d18f98f4629ae8c573ac750060812a74a61c57a1312972300ee175d2e4a2c7f"),
    "Backup": (6, "08b7c066688353f3b6cd00bf5395c5fae75b08afe92002791ecd232272b4ad0b"),
    "BackupServer": (2, "1a2415da0b0f2de879381be48ccfcebdefc340a26bb70e2b840f701e1b34881a"),
    "Job": (7, "aa5a0cdd7cf3cca6111550c27df45c12e8644284106df4c14f107e8c1ae93888"),
    "ObjectInJob": (27, "901959f5ef8f7eb3e8fca3abc03c0f106dc07702d976b7bd98c0b6388428f1e2"),
    "Repository": (7, "2aa98eeecf405b5d5fa66f0cdff9cd9f4eb3b790379d2cb3b630624d46958ee1"),
    "BackupJobSession": (256, "0fe7bab146ed9974052de1cd3170a1998b733d89a723a89ac41eb1354e1a61a2"),
    "BackupTaskSession": (1064, "ca168c9fed4c8a3430cd0a4821712fb4eed5ed91f3859bd3e47c57a7dfc607ff"),
}
BEFORE_COPY_JOB_ENTITY = "d2d01302b077da83b3dde140417168eaa01d195c830a6c3578d4620ef9b9ba70"


def _scalars(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, f.name) for f in dataclasses.fields(obj)
                 if not isinstance(getattr(obj, f.name), list | dict))


def digest(ds: Dataset, counts: dict[str, int] | None = None, skip: set[str] | None = None) -> str:
    """SHA-256 of every scalar field of the first `counts[table]` items of each table in storage order, leaving
    out the keys in `skip`."""
    h = hashlib.sha256()
    for table in TABLES:
        items = [(k, o) for k, o in getattr(ds, table).items() if not skip or k not in skip]
        for key, obj in items[: (counts or {}).get(table, len(items))]:
            h.update(repr((key, _scalars(obj))).encode())
    return h.hexdigest()


def renderings(ds: Dataset) -> tuple[dict[str, tuple[int, str]], str]:
    """Per type the hash of its first BEFORE_RENDERINGS[type] items' four renderings; and the copy job entity's."""
    ctx = ViewContext("http://em.sim.test:9398/api", ds, SimulatorConfig())
    renderers = (Renderer("xml"), Renderer("json", dialect="13"))
    out: dict[str, tuple[int, str]] = {}
    copy = hashlib.sha256()
    for type_name, (count, _) in BEFORE_RENDERINGS.items():
        row = DEFAULT_REGISTRY.row(type_name)
        h = hashlib.sha256()
        for obj in list(row.items(ds).values())[:count]:
            for entity in ((True,) if row.resource_only else (False, True)):
                for r in renderers:
                    body = r.single(row.view(ctx, obj, entity))
                    is_copy_entity = type_name == "Job" and entity and obj.job_type == "ImmediateBackupCopy"
                    (copy if is_copy_entity else h).update(body)
        out[type_name] = (count, h.hexdigest())
    return out, copy.hexdigest()


@pytest.fixture(scope="module")
def plain() -> Dataset:
    return build_dataset(anchor=SIM_ANCHOR, coverage=False)


def test_the_estate_before_the_coverage_phase_is_unchanged(sim_dataset: Dataset, plain: Dataset) -> None:
    # Without the phase: the estate as it was, table for table.
    assert {t: len(getattr(plain, t)) for t in TABLES} == BEFORE_COUNTS
    assert digest(plain) == BEFORE_DIGEST
    # With it (the default): the old items come first, unchanged; the new ones after them.
    assert digest(sim_dataset, BEFORE_COUNTS) == BEFORE_DIGEST
    assert digest(sim_dataset) != BEFORE_DIGEST
    assert all(len(getattr(sim_dataset, t)) >= n for t, n in BEFORE_COUNTS.items())
    # The facts of the normal build are the same; the coverage facts are empty without the phase.
    normal = [f.name for f in dataclasses.fields(Facts)][: [f.name for f in dataclasses.fields(Facts)].index(
        "copy_backup_id")]
    for name in normal:
        assert getattr(sim_dataset.facts, name) == getattr(plain.facts, name), name
    assert plain.facts == Facts(**{n: getattr(plain.facts, n) for n in normal})
    assert not (plain.replicas or plain.restore_sessions or plain.system_sessions or plain.agent_jobs
                or plain.cloud_tenants or plain.org_configs or plain.linked_jobs)
    # The points of each VM: the old ones in the old order, copies merged in by time.
    for key, points in plain.points_by_vm.items():
        assert [p for p in sim_dataset.points_by_vm[key] if p.backup_id != sim_dataset.facts.copy_backup_id] == \
            points


@pytest.mark.parametrize(("kwargs", "before"), BEFORE_OTHERS, ids=[str(k) for k, _ in BEFORE_OTHERS])
def test_other_estates_are_unchanged(kwargs: dict[str, Any], before: str) -> None:
    without = build_dataset(anchor=SIM_ANCHOR, coverage=False, **kwargs)
    assert digest(without) == before
    # With the phase, leaving out what it added (the same ids with or without the twins: its RNGs are its own).
    full = build_dataset(anchor=SIM_ANCHOR, **kwargs)
    base = build_dataset(anchor=SIM_ANCHOR, **{k: v for k, v in kwargs.items() if k != "twins"})
    plain = build_dataset(anchor=SIM_ANCHOR, coverage=False, **{k: v for k, v in kwargs.items() if k != "twins"})
    added = {key for t in TABLES for key in getattr(base, t)} - {key for t in TABLES for key in getattr(plain, t)}
    assert digest(full, skip=added) == before


def test_every_old_item_renders_as_before(sim_dataset: Dataset, plain: Dataset) -> None:
    with_phase, copy_entity = renderings(sim_dataset)
    assert with_phase == BEFORE_RENDERINGS
    assert copy_entity != BEFORE_COPY_JOB_ENTITY  # it now names its source (ImmediateBackupCopyJobInfo)
    without, copy_entity = renderings(plain)
    assert without == BEFORE_RENDERINGS and copy_entity == BEFORE_COPY_JOB_ENTITY
