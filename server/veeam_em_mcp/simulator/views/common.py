"""What every view shares: the per-request `ViewContext`, UIDs, the Up links to a backup server or a backup,
the Alternate link between a reference and its entity, and the view of collections EM has nothing in here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import SimulatorConfig
from ..dataset import Dataset
from ..render.resource import Link, Resource


@dataclass(frozen=True, slots=True)
class ViewContext:
    """Per-request inputs of a view: the absolute `/api` base built from the request's origin."""

    base: str
    dataset: Dataset
    config: SimulatorConfig


def uid_of(kind: str, id_: str) -> str:
    return f"urn:veeam:{kind}:{id_}"


# --- links to parents, shared by entity and reference forms ---------------------------------------------

def server_up(ctx: ViewContext, server_id: str) -> Link:
    server = ctx.dataset.backup_servers[server_id]
    return Link(f"{ctx.base}/backupServers/{server_id}", "Up", "BackupServerReference", server.name)


def backup_up(ctx: ViewContext, backup_id: str) -> Link:
    backup = ctx.dataset.backups[backup_id]
    return Link(f"{ctx.base}/backups/{backup_id}", "Up", "BackupReference", backup.name)


def alternate(href: str, type_: str, name: str, to_entity: bool) -> Link:
    return Link(href + "?format=Entity" if to_entity else href, "Alternate", type_, name)


def unmodelled(ctx: ViewContext, obj: Any, entity: bool) -> Resource:
    """View of the collections EM has nothing in here (replicas, failover plans...): never has items."""
    raise LookupError(f"no items are modelled for {type(obj).__name__}")
