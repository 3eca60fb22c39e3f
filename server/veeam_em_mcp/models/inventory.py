"""Result models of the audit and inventory tools: restores, backup servers and EM's freshness, MSP tenants.

Same rules as the estate models: rows carry EM's ids, free text says so, and what EM does not record
is said plainly instead of guessed.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import Model, UtcTimestamp, free_text
from .estate import OUTCOME, Counts, Outcome, Page, Window


class RestoreRow(Model):
    """One restore EM recorded."""

    id: str | None = Field(None, description="Restore session GUID")
    vm_name: str | None = Field(None, description=free_text("The VM restored from"))
    type: str | None = Field(None, description="RestoreVm (a whole VM) or FileLevelRestore (files)")
    outcome: Outcome = Field(description=OUTCOME)
    result: str | None = Field(None, description="EM's Result; absent while it runs")
    state: str | None = Field(None, description="EM's State: Stopped when done")
    start: UtcTimestamp | None = Field(None, description="When it started (UTC)")
    end: UtcTimestamp | None = Field(None, description="When it ended (UTC); absent while it runs")
    duration_seconds: int | None = Field(None, description="end - start")
    restore_point: str | None = Field(
        None, description="GUID of the VM restore point restored from (get_vm_restore_point); absent when EM "
        "does not link it"
    )
    backup_server: str | None = Field(None, description="Name of the backup server that ran it")


class FindRestoreSessionsResult(Page):
    """Restores EM recorded in a window, newest first."""

    ROWS: ClassVar[str] = "restores"

    restores: list[RestoreRow] = Field(description="The restores, newest first")
    summary: str = Field(description="One sentence: how many restores, and how they ended")
    counts: Counts = Field(description="Restores per outcome over the whole window, before the result filter")
    window: Window = Field(description="The time window read")


Freshness = Literal["current", "stale", "failing", "unknown"]


class BackupServerRow(Model):
    """One backup server registered in EM, and how fresh EM's copy of its data is."""

    name: str | None = Field(None, description=free_text("The backup server's name"))
    id: str | None = Field(None, description="Backup server GUID")
    version: str | None = Field(None, description="Veeam Backup & Replication version")
    port: int | None = Field(None, description="Its service port")
    description: str | None = Field(None, description=free_text("Its description in EM"))
    last_collection: UtcTimestamp | None = Field(
        None, description="When EM last collected its data successfully (UTC); absent when not found"
    )
    collection_age_minutes: float | None = Field(None, description="Minutes between last_collection and as_of")
    freshness: Freshness = Field(
        description="current; stale (last good collection older than stale_after_minutes); failing (EM's newest "
        "collections from it failed); unknown (EM's collection log does not tell)"
    )
    note: str | None = Field(None, description="What EM's log said about the newest collection from it")


class ListBackupServersResult(Model):
    """The backup servers EM shows, their versions, and how fresh EM's data from each is."""

    backup_servers: list[BackupServerRow] = Field(description="The backup servers, by name")
    newest_collection: UtcTimestamp | None = Field(None, description="When EM's newest data collection started")
    newest_collection_state: str | None = Field(None, description="Its State (InProgress, CompletedSuccessfully…)")
    oldest_data: UtcTimestamp | None = Field(
        None, description="The oldest last_collection among the servers: how old the stalest data EM serves is"
    )
    stale_after_minutes: float = Field(description="A server whose last good collection is older is stale")
    as_of: UtcTimestamp = Field(description="The time ages were measured against (UTC)")
    em_requests: int = Field(description="EM requests made for this result")
    note: str | None = Field(None, description="What could not be read, and what EM does not record")


class TenantRow(Model):
    """One MSP view: a Cloud Connect tenant, or a vCloud Director organization's self-service configuration."""

    kind: Literal["cloud_connect_tenant", "vcloud_organization"] = Field(description="Which of the two it is")
    name: str | None = Field(None, description=free_text("Its name"))
    id: str | None = Field(None, description="Its GUID in EM")
    enabled: bool | None = Field(None, description="False when EM says it is disabled")
    quota_mb: int | None = Field(None, description="Its storage quota in MB (vCloud's GB quota converted)")
    used_mb: int | None = Field(None, description="Quota used, in MB")
    used_percent: float | None = Field(None, description="used_mb / quota_mb in percent")
    repository: str | None = Field(None, description=free_text("Where it backs up to"))
    last_result: str | None = Field(None, description="Cloud Connect: its last job's result")
    last_active: UtcTimestamp | None = Field(None, description="Cloud Connect: when it was last active; absent: never")
    backup_server: str | None = Field(None, description="The backup server it belongs to")


class ListTenantsResult(Model):
    """The MSP views EM has: Cloud Connect tenants and vCloud Director organizations."""

    tenants: list[TenantRow] = Field(description="Cloud Connect tenants, then vCloud organizations, by name")
    returned: int = Field(description="Rows in this result")
    em_requests: int = Field(description="EM requests made for this result")
    note: str | None = Field(None, description="What EM does not have or could not be read")
