"""The connection diagnosis shared by the ``check_connection`` tool and ``veeam-em-mcp doctor``.

Most first-run failures are one of a handful: the URL points at the wrong port or at a different
Veeam API (the VBR REST API on 9419, the EM web UI), the certificate is self-signed and not
trusted, or the logon is refused because of the user-name format or a missing EM role. The
product's errors already say what to do when a tool call fails; the diagnosis walks the same path
step by step (reach, TLS, ``GET /api/``, logon, one read) and stops at the first failure, so that
one look at the report names the cause and the variable that fixes it.

It never shows the password: only whether one is set.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..client import EnterpriseManagerClient
from ..config import Settings
from ..errors import (
    AccessDenied,
    AuthenticationFailed,
    MalformedResponse,
    ResponseError,
    TlsVerificationFailed,
    TransportError,
    VeeamEmError,
)
from ..models.diagnosis import Check, ConnectionDiagnosis, Status
from ..representation.parse import Document
from ..representation.query import query_refs, query_url, read_paging
from ..text import clean_text
from .connection import (
    EM_REST_PORT,
    ROLES,
    classify_entry,
    peer_fingerprint,
    port_hint,
    tls_mode,
    username_hint,
    version_key,
)


async def diagnose(client: EnterpriseManagerClient, *, fresh_logon: bool = True) -> ConnectionDiagnosis:
    """Walk reach → TLS → ``GET /api/`` → logon → one read, stopping at the first failure.

    ``fresh_logon=False`` (the tool inside a running server) reuses the shared session when there
    is one instead of creating another EM session.
    """
    settings = client.settings
    tls_status, tls_text = tls_mode(settings)
    report = _Report(settings, tls_text, client.proxy)
    hint = port_hint(settings)

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
        report.add("reachable", "error", _first_sentence(str(exc)), _unreachable_fix(settings, hint, client.proxy))
        return report.finish()
    except ResponseError as exc:
        # Too large or compressed: something answers, but not with an entry document we can read.
        report.add("reachable", "ok", f"{settings.origin} accepts connections")
        report.add("tls", tls_status, tls_text, _tls_warning_fix(settings) if tls_status == "warning" else None)
        report.add("api", "error", _first_sentence(str(exc)), str(exc))
        return report.finish()
    report.add("reachable", "ok", f"{settings.origin} answered HTTP {response.status_code}")
    report.add("tls", tls_status, tls_text, _tls_warning_fix(settings) if tls_status == "warning" else None)

    versions, problem = classify_entry(settings, response, body, hint)
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
    url = query_url(settings.base_url, "VmRestorePoint", format="References", page_size=1)
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
    count = _visible(doc)
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
    def __init__(self, settings: Settings, tls_text: str, proxy: str | None = None) -> None:
        self.settings = settings
        self.tls_text = tls_text
        self.checks: list[Check] = [
            Check(
                name="configuration",
                status="ok",
                summary=(
                    f"VEEAM_EM_URL={settings.base_url}, VEEAM_EM_USERNAME={settings.username}, password set, "
                    f"format {settings.format}"
                    + (f", through the proxy {proxy} (HTTPS_PROXY / HTTP_PROXY / ALL_PROXY)" if proxy else "")
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


def _unreachable_fix(settings: Settings, hint: str, proxy: str | None = None) -> str:
    host = urlsplit(settings.base_url).hostname or "?"
    through = (
        f"The request went through the proxy {proxy}: check that it runs and may reach {host}, "
        f"or add {host} to NO_PROXY to connect directly."
        if proxy
        else ""
    )
    return " ".join(
        part
        for part in (
            hint,
            through,
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
        hint = port_hint(settings)
        return (hint + " " if hint else "") + (
            "The port did not complete a TLS handshake: it may be a plain-HTTP port, or not EM at all."
        )
    fix = (
        "Set VEEAM_EM_CA_BUNDLE to the PEM file of the CA that signed EM's certificate, or "
        "VEEAM_EM_TLS_FINGERPRINT to the SHA-256 of EM's (usually self-signed) certificate."
    )
    seen = await peer_fingerprint(settings)
    if seen:
        fix += (
            f" The server presented a certificate with SHA-256 {seen}: compare it with the certificate on the EM "
            "server (certlm.msc, Veeam Backup REST API certificate) before trusting it."
        )
    return fix


def _visible(doc: Document) -> int | None:
    """How many restore points a ``pageSize=1`` query found: with one per page, PagesCount is the count."""
    try:
        paging = read_paging(doc)
    except MalformedResponse:
        return None
    return 0 if paging.pages_count <= 1 and not query_refs(doc) else paging.pages_count


def _first_sentence(text: str) -> str:
    """The first sentence of an error message (the rest is the fix, shown separately)."""
    match = re.match(r"(.+?[.)])(\s|$)", text)
    sentence = match.group(1) if match else text
    return clean_text(sentence.rstrip("."), 300)
