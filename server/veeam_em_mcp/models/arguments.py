"""The arguments of the paged tools: one frozen model per tool, wherever the arguments travel.

The tool publishes the model's fields as its input schema, the service takes the model, and a cursor
carries it (``model_dump`` / ``model_validate``), so the argument list is written once. A cursor forged
or damaged by a client fails validation here like any bad argument. Beside a cursor, an argument the
caller gives must say what the cursor's says (``contradiction``): a different value would silently
answer another question.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .base import Platform

# The filter speaks the rows' own words (outcome), so a model filters by what it read.
ResultFilter = Literal["succeeded", "warning", "failed", "running"]
Results = ResultFilter | list[ResultFilter] | None

Text = Annotated[str, Field(min_length=1, max_length=512)]
When = Annotated[str, Field(min_length=1, max_length=64)]
PageSize = Annotated[int, Field(ge=1, le=200, description="Rows per result, 1-200 (default 50)")]
DEFAULT_PAGE_SIZE = 50

JOB = "Only this job: its exact name, or its job_id from a result (a name several jobs share selects each)"
VM = "Only this VM: its exact name, or its vm_id from a result (a name several VMs share selects each)"
SERVER = "Only this backup server (name or id)"
AFTER = "at or after this time (ISO 8601; no offset means UTC)"
BEFORE = "before this time (ISO 8601; no offset means UTC)"


class Arguments(BaseModel):
    """What every tool's argument model shares: frozen, strict (a cursor carries exactly the types it was given),
    unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    def contradiction(self, given: Arguments) -> str | None:
        """The first argument ``given`` sets explicitly to another value than this (a cursor's) one, if any."""
        for name in sorted(given.model_fields_set):
            if getattr(given, name) != getattr(self, name):
                return name
        return None

    def key(self) -> str:
        """What identifies the question (page_size only shapes its pages): for sharing one computation."""
        return self.model_dump_json(exclude={"page_size"})


class FindJobSessionsArgs(Arguments):
    job_name: Text | None = Field(None, description=JOB)
    backup_server: Text | None = Field(None, description=SERVER)
    result: ResultFilter | list[ResultFilter] | None = Field(
        None, description="Only runs with this outcome (or any of these)"
    )
    created_after: When | None = Field(None, description="Runs started " + AFTER)
    created_before: When | None = Field(None, description="Runs started " + BEFORE)
    newest_per_job: bool = Field(
        True, description="One row per job: its newest run and its runs' statistics (default true); false: every run"
    )
    page_size: PageSize = DEFAULT_PAGE_SIZE


class FindTaskSessionsArgs(Arguments):
    vm_name: Text | None = Field(None, description=VM)
    job_name: Text | None = Field(None, description=JOB)
    result: ResultFilter | list[ResultFilter] | None = Field(
        None, description="Only rows with this outcome (or any of these)"
    )
    created_after: When | None = Field(None, description="Tasks started " + AFTER)
    created_before: When | None = Field(None, description="Tasks started " + BEFORE)
    newest_per_vm: bool = Field(True, description="One row per VM, its newest task (default true)")
    min_failed_runs: int | None = Field(
        None, ge=1, le=1000, description="With newest_per_vm: only VMs that still failed after retries in at least "
        "this many runs of the window"
    )
    page_size: PageSize = DEFAULT_PAGE_SIZE


class GetJobSessionArgs(Arguments):
    session_id: str = Field(description="Job session GUID, UID or href", min_length=1, max_length=2048)
    page_size: PageSize = DEFAULT_PAGE_SIZE


class ListJobsArgs(Arguments):
    backup_server: Text | None = Field(None, description=SERVER)
    platform: Platform | None = Field(None, description="Only jobs of this platform")
    enabled: bool | None = Field(None, description="Only jobs whose schedule is (not) enabled")
    vm_name: Text | None = Field(None, description="Only the jobs that protect this VM: its exact name or vm_id")
    runs_within_hours: float | None = Field(
        None, ge=0, le=8760, description="Only jobs whose next run is within this many hours from now"
    )
    members: bool = Field(True, description="List each job's members (default true); false for a short list")
    job_name: Text | None = Field(None, description=JOB)
    backup_files: bool = Field(
        False, description="Each job's backup files, their sizes and totals (2+ EM requests per job; up to 10 jobs)"
    )
    page_size: PageSize = DEFAULT_PAGE_SIZE


class ProtectionReportArgs(Arguments):
    rpo_hours: float = Field(24, description="Recovery point objective in hours (default 24)", ge=0.01, le=8760)
    backup_server: Text | None = Field(None, description=SERVER)
    job_name: Text | None = Field(None, description="Only VMs of this job: its exact name or job_id")
    platform: Platform | None = Field(None, description="Only VMs of this platform")
    only_problems: bool = Field(False, description="Only VMs that miss the RPO, failed, or are in disabled jobs")
    page_size: PageSize = DEFAULT_PAGE_SIZE


class FindRestoreSessionsArgs(Arguments):
    vm_name: Text | None = Field(None, description="Only restores of this VM (its exact name)")
    result: ResultFilter | list[ResultFilter] | None = Field(
        None, description="Only restores with this outcome (or any of these)"
    )
    created_after: When | None = Field(None, description="Restores started " + AFTER + "; default: 7 days ago")
    created_before: When | None = Field(None, description="Restores started " + BEFORE)
    page_size: PageSize = DEFAULT_PAGE_SIZE


def outcomes(result: Results) -> frozenset[str] | None:
    """The outcomes a ``result`` argument keeps (one, or any of several); None keeps every row."""
    if result is None:
        return None
    return frozenset([result] if isinstance(result, str) else result)


def dump(arguments: Arguments) -> dict[str, Any]:
    """The arguments as a cursor carries them (JSON types only)."""
    return arguments.model_dump(mode="json")
