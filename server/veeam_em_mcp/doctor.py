"""Connection diagnosis, shared by the ``check_connection`` tool and ``veeam-em-mcp doctor``.

Most first-run failures are one of a handful: the URL points at the wrong port or at a different
Veeam API (the VBR REST API on 9419, the EM web UI), the certificate is self-signed and not
trusted, or the logon is refused because of the user-name format or a missing EM role. The
product's errors already say what to do when a tool call fails; this module walks the same path
step by step (reach, TLS, ``GET /api/``, logon, one read) and stops at the first failure, so that
one look at the report names the cause and the variable that fixes it.

It never shows the password: only whether one is set.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import socket
import ssl
import sys
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio
import httpx
from pydantic import BaseModel, Field

from .client import EnterpriseManagerClient, clean_text
from .config import Settings
from .errors import (
    AccessDenied,
    AuthenticationFailed,
    ConfigurationError,
    MalformedResponse,
    ResponseError,
    TlsVerificationFailed,
    TransportError,
    VeeamEmError,
)
from .representation import Document, parse

Status = Literal["ok", "warning", "error", "skipped"]

EM_REST_PORT = 9398
EM_HTTP_PORT = 9399
EM_WEB_UI_PORT = 9443
VBR_REST_PORT = 9419
ROLES = "Portal Administrator, Portal User or Restore Operator"


class Check(BaseModel):
    """One step of the diagnosis."""

    name: str = Field(description="What was checked: configuration, reachable, tls, api, logon, access")
    status: Status = Field(description="ok, warning (works but should be fixed), error, or skipped")
    summary: str = Field(description="What was found")
    fix: str | None = Field(None, description="What to change, naming the variable, when something is wrong")


class ConnectionDiagnosis(BaseModel):
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


# --- helpers shared with resources.py -------------------------------------------------------


def supported_versions(doc: Document) -> list[str]:
    """Version names from EM's entry document (XML or JSON, wrapped or not), oldest first."""
    raw = doc.data.get("supported_versions")
    if isinstance(raw, dict):  # a single version, or an unexpected wrapper
        raw = raw.get("supported_version", raw.get("supported_versions", [raw]))
    items = raw if isinstance(raw, list) else [raw] if raw else []
    names = [str(item.get("name")) for item in items if isinstance(item, dict) and item.get("name")]
    return sorted(set(names), key=version_key)


def version_key(name: str) -> tuple[int, ...]:
    """``v1_7`` → (1, 7), so that v1_10 would sort after v1_7."""
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


def tls_mode(settings: Settings) -> tuple[Status, str]:
    if settings.insecure_http:
        host = urlsplit(settings.base_url).hostname or ""
        if settings.demo or host in ("localhost", "::1") or host.startswith("127."):
            # Loopback traffic never leaves the machine (the demo simulator lives here).
            return "ok", "none: plain HTTP on loopback (it does not leave this machine)"
        return "warning", "none: plain HTTP (credentials cross the network unencrypted)"
    if settings.tls_fingerprint:
        return "ok", f"pinned certificate (VEEAM_EM_TLS_FINGERPRINT sha256 {settings.tls_fingerprint[:16]}…)"
    if not settings.verify_tls:
        return "warning", "NOT verified (VEEAM_EM_VERIFY_TLS=false): anyone on the path can impersonate EM"
    if settings.ca_bundle is not None:
        return "ok", f"verified against VEEAM_EM_CA_BUNDLE ({settings.ca_bundle})"
    return "ok", "verified against the system trust store"


def username_hint(username: str) -> str | None:
    """What looks wrong in a user name, if anything (EM authenticates Windows accounts)."""
    if "\\\\" in username:
        return (
            f"'{username}' contains two backslashes in a row. In a JSON config file write \"DOMAIN\\\\user\" "
            "(the JSON escape of one backslash); the value itself must be DOMAIN\\user."
        )
    if "/" in username and "\\" not in username and "@" not in username:
        return f"'{username}' uses a forward slash; EM expects DOMAIN\\user (backslash) or user@domain."
    if "\\" not in username and "@" not in username:
        return (
            f"'{username}' has no domain. EM expects DOMAIN\\user or user@domain (for a local account of "
            "the EM server: MACHINE\\user)."
        )
    return None


# --- the diagnosis ----------------------------------------------------------------------------


async def diagnose(client: EnterpriseManagerClient, *, fresh_logon: bool = True) -> ConnectionDiagnosis:
    """Walk reach → TLS → ``GET /api/`` → logon → one read, stopping at the first failure.

    ``fresh_logon=False`` (the tool inside a running server) reuses the shared session when there
    is one instead of creating another EM session.
    """
    settings = client.settings
    tls_status, tls_text = tls_mode(settings)
    report = _Report(settings, tls_text)
    hint = _port_hint(settings)

    # 1. reach + TLS + what answers at /api/
    try:
        # The client's own transport: the same TLS settings, proxy and pool the tools use. Its
        # GET retries cover a transient failure; a refused connection fails fast anyway.
        response, body = await client.probe(settings.base_url + "/")
    except TlsVerificationFailed as exc:
        report.add("reachable", "ok", f"{settings.origin} accepts connections")
        fix = await _tls_fix(settings, str(exc))
        report.add("tls", "error", clean_text(str(exc), 300).split(" Set ")[0], fix)
        return report.finish()
    except TransportError as exc:
        report.add("reachable", "error", _first_sentence(str(exc)), _unreachable_fix(settings, hint))
        return report.finish()
    except ResponseError as exc:
        # Too large or compressed: something answers, but not with an entry document we can read.
        report.add("reachable", "ok", f"{settings.origin} accepts connections")
        report.add("tls", tls_status, tls_text, _tls_warning_fix(settings) if tls_status == "warning" else None)
        report.add("api", "error", _first_sentence(str(exc)), str(exc))
        return report.finish()
    report.add("reachable", "ok", f"{settings.origin} answered HTTP {response.status_code}")
    report.add("tls", tls_status, tls_text, _tls_warning_fix(settings) if tls_status == "warning" else None)

    versions, problem = _classify_entry(settings, response, body, hint)
    if problem is not None:
        report.add("api", "error", problem[0], problem[1])
        return report.finish()
    report.versions = versions
    newest = versions[-1] if versions else None
    if newest is not None and version_key(newest) < (1, 5):
        report.add(
            "api",
            "warning",
            f"Enterprise Manager REST API, versions {', '.join(versions)}: an old EM (9.5 or earlier)",
            "Veeam supports REST API v1_5 and later (VBR 10+); upgrade Enterprise Manager if results look odd.",
        )
    else:
        listed = ", ".join(versions) if versions else "none listed"
        report.add("api", "ok", f"Enterprise Manager REST API; supported versions: {listed}")

    # 2. logon
    try:
        if fresh_logon or not client.logged_on:
            await client.logon()
            summary = f"logged on as {client.user_name or settings.username}"
        else:
            summary = f"using the server's current session (as {client.user_name or settings.username})"
    except AuthenticationFailed:
        name_hint = username_hint(settings.username)
        fix = (
            (name_hint + " " if name_hint else "")
            + "Check VEEAM_EM_USERNAME and VEEAM_EM_PASSWORD (or VEEAM_EM_PASSWORD_FILE); the account needs the "
            f"{ROLES} role in Enterprise Manager (Configuration > Roles)."
        )
        summary = (
            f"EM rejected the logon of '{settings.username}' (401: a wrong password, an unknown or disabled "
            "account, or a user-name format EM does not accept; EM does not say which)"
        )
        report.add("logon", "error", summary, fix)
        return report.finish()
    except AccessDenied:
        report.add(
            "logon",
            "error",
            f"EM refused '{settings.username}' (403): the account has no Enterprise Manager role",
            f"In Enterprise Manager (Configuration > Roles) give the account the {ROLES} role.",
        )
        return report.finish()
    except VeeamEmError as exc:
        report.add("logon", "error", _first_sentence(str(exc)), str(exc))
        return report.finish()
    report.user = client.user_name
    report.add("logon", "ok", summary)

    # 3. one read: the role and restore scope let the account see restore points
    url = f"{settings.base_url}/query?type=VmRestorePoint&format=References&pageSize=1"
    try:
        doc = await client.get(url)
    except AccessDenied:
        report.add(
            "access",
            "error",
            "the account may log on but may not query restore points (403)",
            f"Give the account the {ROLES} role with a restore scope that covers the VMs.",
        )
        return report.finish()
    except VeeamEmError as exc:
        report.add("access", "warning", f"querying restore points failed: {_first_sentence(str(exc))}", str(exc))
        return report.finish()
    count = _count(doc)
    if count == 0:
        report.add(
            "access",
            "warning",
            "the account sees no VM restore points",
            "Either nothing is backed up yet, or the account's restore scope (Restore Operator) is empty: "
            "check Configuration > Roles in Enterprise Manager.",
        )
    else:
        seen = f"{count} visible" if count is not None else "query answered"
        report.add("access", "ok", f"the account can query VM restore points ({seen})")
    return report.finish()


class _Report:
    def __init__(self, settings: Settings, tls_text: str) -> None:
        self.settings = settings
        self.tls_text = tls_text
        self.checks: list[Check] = [
            Check(
                name="configuration",
                status="ok",
                summary=(
                    f"VEEAM_EM_URL={settings.base_url}, VEEAM_EM_USERNAME={settings.username}, password set, "
                    f"format {settings.format}"
                ),
            )
        ]
        self.versions: list[str] = []
        self.user: str | None = None

    def add(self, name: str, status: Status, summary: str, fix: str | None = None) -> None:
        self.checks.append(Check(name=name, status=status, summary=summary, fix=fix))

    def finish(self) -> ConnectionDiagnosis:
        done = {check.name for check in self.checks}
        for name in ("reachable", "tls", "api", "logon", "access"):
            if name not in done:
                self.checks.append(Check(name=name, status="skipped", summary="not checked: an earlier step failed"))
        errors = [check for check in self.checks if check.status == "error"]
        warnings = [check for check in self.checks if check.status == "warning"]
        if errors:
            first = errors[0]
            verdict = f"NOT READY: {first.name}: {first.summary}." + (f" Fix: {first.fix}" if first.fix else "")
        elif warnings:
            verdict = "READY, with warnings: " + "; ".join(f"{w.name}: {w.summary}" for w in warnings) + "."
        else:
            verdict = f"READY: Enterprise Manager at {self.settings.origin} answers and the logon works."
        return ConnectionDiagnosis(
            ok=not errors,
            verdict=verdict,
            em_url=self.settings.base_url,
            username=self.settings.username,
            logged_on_as=self.user,
            api_versions=self.versions,
            newest_api_version=self.versions[-1] if self.versions else None,
            tls=self.tls_text,
            checks=self.checks,
        )


def _port_of(settings: Settings) -> int:
    parts = urlsplit(settings.base_url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _port_hint(settings: Settings) -> str:
    port = _port_of(settings)
    if port == VBR_REST_PORT:
        return (
            f"Port {VBR_REST_PORT} is the Veeam Backup & Replication REST API, a different API; Enterprise "
            f"Manager's REST API is on port {EM_REST_PORT} of the EM server."
        )
    if port == EM_WEB_UI_PORT:
        return f"Port {EM_WEB_UI_PORT} is Enterprise Manager's web UI; its REST API is on port {EM_REST_PORT}."
    if port == EM_HTTP_PORT and not settings.insecure_http:
        return f"Port {EM_HTTP_PORT} is EM's old plain-HTTP port; use https://<em>:{EM_REST_PORT}."
    if port == EM_REST_PORT and settings.insecure_http:
        return f"Port {EM_REST_PORT} speaks HTTPS: use https://, not http://."
    if port != EM_REST_PORT and port != EM_HTTP_PORT:
        return f"Port {port} is not EM's REST API port; EM listens on HTTPS port {EM_REST_PORT}."
    return ""


def _unreachable_fix(settings: Settings, hint: str) -> str:
    host = urlsplit(settings.base_url).hostname or "?"
    return " ".join(
        part
        for part in (
            hint,
            f"Check VEEAM_EM_URL (now {settings.origin}), that the Veeam RESTful API Service runs on {host}, "
            "and that no firewall blocks the port.",
        )
        if part
    )


def _tls_warning_fix(settings: Settings) -> str:
    if settings.insecure_http:
        return f"Use https://<em>:{EM_REST_PORT} in VEEAM_EM_URL."
    return "Set VEEAM_EM_CA_BUNDLE (the CA's PEM file) or VEEAM_EM_TLS_FINGERPRINT, then VEEAM_EM_VERIFY_TLS=true."


async def _tls_fix(settings: Settings, message: str) -> str:
    if "handshake" in message and "not trusted" not in message:
        port_hint = _port_hint(settings)
        return (port_hint + " " if port_hint else "") + (
            "The port did not complete a TLS handshake: it may be a plain-HTTP port, or not EM at all."
        )
    fix = (
        "Set VEEAM_EM_CA_BUNDLE to the PEM file of the CA that signed EM's certificate, or "
        "VEEAM_EM_TLS_FINGERPRINT to the SHA-256 of EM's (usually self-signed) certificate."
    )
    seen = await _peer_fingerprint(settings)
    if seen:
        fix += (
            f" The server presented a certificate with SHA-256 {seen}: compare it with the certificate on the EM "
            "server (certlm.msc, Veeam Backup REST API certificate) before trusting it."
        )
    return fix


async def _peer_fingerprint(settings: Settings) -> str | None:
    """The SHA-256 of the certificate the server presents (unverified: shown only to compare)."""
    parts = urlsplit(settings.base_url)
    host, port = parts.hostname, parts.port or 443
    if not host:
        return None

    def fetch() -> str | None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # only to read the fingerprint; nothing is sent
        try:
            with socket.create_connection((host, port), timeout=min(settings.timeout, 5)) as raw:
                with context.wrap_socket(raw, server_hostname=host) as tls:
                    der = tls.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError):
            return None
        if not der:
            return None
        digest = hashlib.sha256(der).hexdigest().upper()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))

    return await anyio.to_thread.run_sync(fetch)


def _classify_entry(
    settings: Settings, response: httpx.Response, body: bytes, hint: str
) -> tuple[list[str], tuple[str, str] | None]:
    """Is this EM's entry document? Returns its versions, or (what answered, the fix)."""
    status = response.status_code
    content_type = response.headers.get("content-type", "").lower()
    head = body[:2048].decode("utf-8", "replace").lstrip("\ufeff \r\n\t").lower()
    where = f"{settings.origin}/api/"
    check_url = f"Check VEEAM_EM_URL: EM's REST API is https://<em-server>:{EM_REST_PORT}."
    if "html" in content_type or head.startswith(("<!doctype html", "<html")):
        what = (
            f"{where} answered with an HTML page (HTTP {status}): a web UI or a proxy's sign-in page, "
            "not the EM REST API"
        )
        return [], (what, " ".join(p for p in (hint, check_url) if p))
    data: dict[str, Any] = {}
    root: str | None = None
    try:
        doc = parse(body, content_type)
        data, root = doc.data, doc.root
    except MalformedResponse:
        pass
    if "error_code" in data or _port_of(settings) == VBR_REST_PORT:
        what = (
            f"{where} answered like the Veeam Backup & Replication REST API (HTTP {status}"
            + (f", errorCode {clean_text(str(data['error_code']), 60)}" if "error_code" in data else "")
            + "), not Enterprise Manager"
        )
        return [], (what, hint or check_url)
    if root == "EnterpriseManager" or "supported_versions" in data:
        if status >= 400:
            return [], (f"{where} answered HTTP {status} with an EnterpriseManager document", check_url)
        return supported_versions(Document(root=root, data=data)), None
    if status == 401 and "basic realm=restsvc" in response.headers.get("www-authenticate", "").lower():
        # Some EM builds may demand a session even for the entry document; logon decides.
        return [], None
    if root == "Error" or "message" in data:
        said = clean_text(str(data.get("message", "")), 160)
        what = f"{where} answered HTTP {status} ({said or 'an error'}), not EM's entry document"
        return [], (what, " ".join(p for p in (hint, check_url) if p))
    what = f"{where} answered HTTP {status} ({content_type or 'no content type'}), not EM's entry document"
    return [], (what, " ".join(p for p in (hint, check_url) if p))


def _count(doc: Document) -> int | None:
    """Total points from a pageSize=1 query: PagesCount is then the number of results."""
    paging = doc.data.get("paging_info")
    if isinstance(paging, dict):
        try:
            pages = int(paging.get("pages_count", ""))
        except (TypeError, ValueError):
            pages = None
        refs = doc.data.get("refs")
        if pages is not None and isinstance(refs, list) and not refs:
            return 0
        return pages
    refs = doc.data.get("refs")
    return len(refs) if isinstance(refs, list) else None


def _first_sentence(text: str) -> str:
    """The first sentence of an error message (the rest is the fix, shown separately)."""
    match = re.match(r"(.+?[.)])(\s|$)", text)
    sentence = match.group(1) if match else text
    return clean_text(sentence.rstrip("."), 300)


# --- text for the command line ------------------------------------------------------------

_MARKS = {"ok": "ok", "warning": "WARN", "error": "FAIL", "skipped": "--"}


def render_text(diagnosis: ConnectionDiagnosis) -> str:
    lines = [f"veeam-em-mcp doctor: {diagnosis.em_url} as {diagnosis.username}"]
    for check in diagnosis.checks:
        lines.append(f"  [{_MARKS[check.status]:>4}] {check.name:<13} {check.summary}")
        if check.fix and check.status in ("error", "warning"):
            lines.append(f"{'':22}fix: {check.fix}")
    failed = next((check for check in diagnosis.checks if check.status == "error"), None)
    if failed is None:
        lines.append(diagnosis.verdict)
    else:
        lines.append(f"NOT READY: the {failed.name} check failed; see its fix above.")
    return "\n".join(lines)



def run_doctor(*, as_json: bool = False, env: Mapping[str, str] | None = None) -> int:
    """``veeam-em-mcp doctor``: 0 when ready, 1 when a check failed, 2 on a configuration error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().handlers[:] = [handler]
    # The report says everything; client warnings (retries, logout) would only repeat it.
    logging.getLogger().setLevel(logging.ERROR)
    try:
        settings = Settings.from_env(env)
    except ConfigurationError as exc:
        print(f"veeam-em-mcp doctor: configuration error: {exc}")
        print(f"NOT READY: fix {exc.variable} (see README, Configuration).")
        return 2
    # One attempt per step and a bounded wait: a diagnosis should be quick and say what it saw.
    settings = dataclasses.replace(settings, retries=1, timeout=min(settings.timeout, 15.0))

    async def run() -> ConnectionDiagnosis:
        async with EnterpriseManagerClient(settings) as client:  # logs out of its session on exit
            return await diagnose(client)

    diagnosis = anyio.run(run)
    print(diagnosis.model_dump_json(indent=2) if as_json else render_text(diagnosis))
    return 0 if diagnosis.ok else 1
