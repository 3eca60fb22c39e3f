"""EM's answers in our words: an HTTP status, a transport failure, an oversized, compressed or HTML answer,
each mapped to the error of ``errors.py`` that says what to do about it."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import httpx

from ..config import Settings
from ..errors import (
    AccessDenied,
    ApiError,
    BadRequest,
    EnterpriseManagerUnreachable,
    HtmlInsteadOfApi,
    MalformedResponse,
    NotEnterpriseManager,
    NotFound,
    ResponseTooLarge,
    ServerError,
    TlsVerificationFailed,
)
from ..representation import Document, parse
from ..text import clean_text


def path_of(url: str) -> str:
    """The path and query of ``url``: what a message names (never the host, never credentials)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def not_em_message(settings: Settings, what: str) -> str:
    return (
        f"{settings.origin} does not behave like the Veeam Backup Enterprise Manager REST API "
        f"({what}). Check VEEAM_EM_URL: EM's REST API is on HTTPS port 9398 (9399 for HTTP on old "
        "versions); the Veeam Backup & Replication REST API on port 9419 is a different API."
    )


def parse_answer(settings: Settings, response: httpx.Response, body: bytes) -> Document:
    content_type = response.headers.get("content-type", "")
    if "html" in content_type.lower():
        raise NotEnterpriseManager(not_em_message(settings, "it answered with an HTML page"))
    try:
        return parse(body, content_type)
    except HtmlInsteadOfApi:
        raise NotEnterpriseManager(not_em_message(settings, "it answered with an HTML page")) from None


def em_message(response: httpx.Response, body: bytes) -> str | None:
    try:
        data = parse(body, response.headers.get("content-type", "")).data
    except Exception:  # an unreadable error body still leaves the status to report
        return None
    message = data.get("message") or data.get("first_chance_exception_message")
    return clean_text(str(message), 300) if message else None


def raise_for_status(
    settings: Settings, response: httpx.Response, body: bytes, url: str, *, logon: bool = False
) -> None:
    status = response.status_code
    if status < 400:
        return
    em = em_message(response, body)
    said = f" EM said: {em}" if em else ""
    path = path_of(url)
    if status == 400:
        raise BadRequest(status, f"Enterprise Manager rejected the request for {path} as malformed (400).{said}", em)
    if status == 403:
        raise AccessDenied(
            status,
            f"Enterprise Manager denied access to {path} (403).{said} The account's EM role or restore "
            "scope does not cover it.",
            em,
        )
    if status == 404:
        if logon:
            raise NotEnterpriseManager(not_em_message(settings, "the logon URL does not exist (404)"))
        raise NotFound(status, f"Enterprise Manager has no resource at {path} (404).{said}", em)
    if status >= 500:
        raise ServerError(
            status,
            f"Enterprise Manager failed with HTTP {status} for {path}.{said} It may be overloaded or "
            "restarting; try again in a minute, and check the EM server if it persists.",
            em,
        )
    raise ApiError(status, f"Enterprise Manager answered HTTP {status} for {path}.{said}", em)


def too_large(settings: Settings, url: str, size: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"Enterprise Manager's answer for {path_of(url)} is larger than {settings.max_response_bytes} "
        f"bytes (at least {size}); stopped reading. Ask for less (a narrower filter or a smaller "
        "page), or raise VEEAM_EM_MAX_RESPONSE_BYTES."
    )


def compressed(url: str, encoding: str) -> MalformedResponse:
    return MalformedResponse(
        f"Enterprise Manager's answer for {path_of(url)} is compressed (Content-Encoding: "
        f"{clean_text(encoding, 40)}) although this server asked for none; refused, because a compressed "
        "answer can expand far beyond VEEAM_EM_MAX_RESPONSE_BYTES before its size is known. A proxy between "
        "this server and EM may be compressing: exempt EM's REST API (port 9398) from compression."
    )


def timeout_message(settings: Settings, url: str) -> str:
    return (
        f"Enterprise Manager did not answer {path_of(url)} within {settings.timeout:g} s. It may be "
        "overloaded or unreachable; try again later, or raise VEEAM_EM_TIMEOUT."
    )


def transport_error(settings: Settings, exc: httpx.TransportError) -> Exception:
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        detail = clean_text(str(cause or exc), 200)
        return TlsVerificationFailed(
            f"The TLS certificate of {settings.origin} is not trusted ({detail}). Set "
            "VEEAM_EM_CA_BUNDLE to a PEM file of the CA that signed it, or VEEAM_EM_TLS_FINGERPRINT to "
            "the SHA-256 of EM's self-signed certificate. (VEEAM_EM_VERIFY_TLS=false works but is unsafe.)"
        )
    if isinstance(cause, ssl.SSLError):
        return TlsVerificationFailed(
            f"The TLS handshake with {settings.origin} failed ({clean_text(str(cause), 200)}). Is this "
            "an HTTPS port? EM's REST API is HTTPS on port 9398."
        )
    if isinstance(exc, httpx.ConnectError):
        return EnterpriseManagerUnreachable(
            f"Cannot connect to Enterprise Manager at {settings.origin} "
            f"({clean_text(text, 200) or 'connection refused'}). "
            "Check VEEAM_EM_URL (EM's REST API listens on HTTPS port 9398), that the Veeam RESTful API "
            "service is running, and that no firewall blocks the port."
        )
    return EnterpriseManagerUnreachable(
        f"The connection to Enterprise Manager at {settings.origin} broke during the answer "
        f"({type(exc).__name__}). EM may be restarting; try again."
    )
