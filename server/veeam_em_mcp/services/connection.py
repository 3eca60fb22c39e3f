"""What can be learnt about the configured Enterprise Manager without tools: versions, TLS, what answers.

These are the probing helpers the diagnosis (``diagnosis.diagnose``), the ``veeam-em://enterpriseManager``
resource and the CLI share: the API versions of EM's entry document, how TLS is checked, what is wrong
with a user name, which port means which Veeam service, the certificate a server presents, and what
answers at ``/api/`` when it is not EM.
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from .. import __version__
from ..client import LOGON_PATH
from ..config import Settings
from ..errors import MalformedResponse, VeeamEmError
from ..models.diagnosis import Status
from ..representation.parse import Document, parse
from ..text import clean_text
from .context import EmContext

EM_REST_PORT = 9398
EM_HTTP_PORT = 9399
EM_WEB_UI_PORT = 9443
VBR_REST_PORT = 9419
ROLES = "Portal Administrator, Portal User or Restore Operator"


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


def port_of(settings: Settings) -> int:
    parts = urlsplit(settings.base_url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def port_hint(settings: Settings) -> str:
    port = port_of(settings)
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


async def peer_fingerprint(settings: Settings) -> str | None:
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


def classify_entry(
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
    if "error_code" in data or port_of(settings) == VBR_REST_PORT:
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


async def describe_enterprise_manager(em: EmContext) -> dict[str, Any]:
    """What a person needs to know about the connection; the password is never included."""
    settings, client = em.settings, em.client
    _, tls = tls_mode(settings)
    described: dict[str, Any] = {
        "url": settings.base_url,
        "username": settings.username,
        "logged_on_as": client.user_name,
        "session": "open" if client.logged_on else "not logged on yet (the first tool call logs on)",
        "logon_api_version": f"latest (POST {LOGON_PATH})",
        "api_versions": None,
        "newest_api_version": None,
        "format": settings.format,
        "tls": tls,
        "read_only": True,
        "demo": settings.demo,
        "server": f"veeam-em-mcp {__version__}",
    }
    try:
        # GET /api/ needs no session: it is cheap and does not create an EM logon.
        versions = supported_versions(await client.entry_point())
        described["api_versions"] = versions
        described["newest_api_version"] = versions[-1] if versions else None
    except VeeamEmError as exc:
        described["error"] = f"{exc!s} Call the check_connection tool for a full diagnosis."
    return described
