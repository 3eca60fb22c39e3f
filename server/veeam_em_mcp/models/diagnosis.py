"""The connection diagnosis: what ``check_connection`` returns and ``veeam-em-mcp doctor`` prints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import CompactSchema

Status = Literal["ok", "warning", "error", "skipped"]


class Check(CompactSchema):
    """One step of the diagnosis."""

    name: str = Field(description="What was checked: configuration, reachable, tls, api, logon, access")
    status: Status = Field(description="ok, warning (works but should be fixed), error, or skipped")
    summary: str = Field(description="What was found")
    fix: str | None = Field(None, description="What to change, naming the variable, when something is wrong")


class ConnectionDiagnosis(CompactSchema):
    """The result of ``check_connection`` / ``veeam-em-mcp doctor``."""

    ok: bool = Field(description="True when Enterprise Manager is reachable, is EM, and the logon works")
    verdict: str = Field(description="One sentence: ready, or the first problem and its fix")
    em_url: str = Field(description="The configured EM REST API base URL")
    username: str = Field(description="The configured user name (the password is never shown)")
    logged_on_as: str | None = Field(None, description="The user name EM reports for the session")
    api_versions: list[str] = Field(default_factory=list, description="SupportedVersions from GET /api/")
    newest_api_version: str | None = Field(None, description="The newest supported version (e.g. v1_7)")
    tls: str = Field(description="How the EM certificate is checked")
    checks: list[Check] = Field(description="Each step, in order; steps after a failure are skipped")
