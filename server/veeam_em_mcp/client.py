"""The async Enterprise Manager client: one logon session shared by every tool call.

EM sessions are expensive (each logon is a Windows authentication on the EM server) and expire
after 15 idle minutes, so the client logs on lazily, reuses the token for every call, and when a
call meets an expired session it logs on again exactly once however many calls are in flight
(single-flight), then retries that call once. GETs are retried on transient failures; logons and
anything else are never retried. Reads are capped in size and time, and concurrent requests to EM
are bounded so that a busy assistant cannot overload the backup infrastructure.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import random
import ssl
import time
from dataclasses import dataclass
from http.cookiejar import Cookie, CookieJar
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from . import __version__
from .config import Settings
from .errors import (
    AccessDenied,
    ApiError,
    AuthenticationFailed,
    BadRequest,
    EnterpriseManagerUnreachable,
    HtmlInsteadOfApi,
    MalformedResponse,
    NotEnterpriseManager,
    NotFound,
    RequestTimedOut,
    ResponseTooLarge,
    ServerError,
    SessionRejected,
    TlsVerificationFailed,
)
from .representation import Document, parse
from .text import clean_text

log = logging.getLogger("veeam_em_mcp.client")

TOKEN_HEADER = "X-RestSvcSessionId"  # noqa: S105  # a header name, not a secret
_RETRY_STATUSES = frozenset({502, 503, 504})


class _NoCookies(CookieJar):
    """EM prefers its cookie over the header; keeping none makes the header the only truth."""

    def set_cookie(self, cookie: Cookie) -> None:
        return None

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def _pinned_context(fingerprint: str) -> ssl.SSLContext:
    """Trust exactly the certificate whose SHA-256 is ``fingerprint`` (EM's usual self-signed one).

    The check runs inside the TLS handshake, before any byte of the request (and so before the
    credentials) is sent.
    """

    class _PinnedSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            der = self.getpeercert(binary_form=True)
            seen = hashlib.sha256(der).hexdigest() if der else "none"
            if seen != fingerprint:
                raise ssl.SSLCertVerificationError(
                    1, f"certificate fingerprint mismatch (server presented sha256 {seen})"
                )

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.sslobject_class = _PinnedSSLObject
    return context


def tls_verify_setting(settings: Settings) -> ssl.SSLContext | bool:
    if settings.tls_fingerprint:
        return _pinned_context(settings.tls_fingerprint)
    if not settings.verify_tls:
        return False
    context = ssl.create_default_context()
    if settings.ca_bundle is not None:
        context.load_verify_locations(cafile=str(settings.ca_bundle))
    return context


@dataclass
class ClientStats:
    logons: int = 0
    logouts: int = 0
    requests: int = 0
    retries: int = 0


class EnterpriseManagerClient:
    """Talks to one Enterprise Manager. Use as ``async with`` so the session is logged out."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_base_delay: float = 0.25,
    ) -> None:
        self.settings = settings
        self.stats = ClientStats()
        self._retry_base_delay = retry_base_delay
        media = "application/json" if settings.format == "json" else "application/xml"
        self._http = httpx.AsyncClient(
            transport=transport,
            verify=tls_verify_setting(settings) if transport is None else True,
            timeout=httpx.Timeout(settings.timeout),
            limits=httpx.Limits(
                max_connections=settings.max_concurrency,
                max_keepalive_connections=settings.max_concurrency,
            ),
            cookies=_NoCookies(),
            follow_redirects=False,
            # identity: a compressed answer expands inside httpx's decoder, up to ~1000x per network chunk,
            # before the size cap can see it; EM's answers are small enough to travel uncompressed.
            headers={"Accept": media, "Accept-Encoding": "identity", "User-Agent": f"veeam-em-mcp/{__version__}"},
        )
        self._token: str | None = None
        self._logout_url: str | None = None
        self._generation = 0
        self._logon_lock = anyio.Lock()
        self._limiter = anyio.Semaphore(settings.max_concurrency)
        self.api_version: str | None = None
        self.user_name: str | None = None

    async def __aenter__(self) -> EnterpriseManagerClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def logged_on(self) -> bool:
        return self._token is not None

    # --- public API ---------------------------------------------------------------------

    async def get(self, url: str) -> Document:
        """GET an absolute URL on EM (already vetted by the caller) with the session, and parse it."""
        response, body = await self.get_raw(url)
        return self._parse(response, body)

    async def get_raw(self, url: str) -> tuple[httpx.Response, bytes]:
        if self._token is None:
            await self._ensure_session()
        generation, token = self._generation, self._token
        response, body = await self._send("GET", url, token=token)
        if response.status_code == 401:
            log.info("session expired or rejected (401); logging on again")
            await self._relogon(generation)
            response, body = await self._send("GET", url, token=self._token)
            if response.status_code == 401:
                raise SessionRejected(
                    401,
                    "Enterprise Manager rejected a freshly created session (401). The account may "
                    "have lost its role, or EM is restarting; check the account and try again.",
                )
        self._raise_for_status(response, body, url)
        return response, body

    async def entry_point(self) -> Document:
        """``GET /api/`` without a session: EM's entry document (supported versions)."""
        response, body = await self._send("GET", self.settings.base_url + "/", token=None)
        if response.status_code >= 400:
            self._raise_for_status(response, body, self.settings.base_url + "/")
        return self._parse(response, body)

    async def probe(self, url: str) -> tuple[httpx.Response, bytes]:
        """GET without a session and without judging the status: what answers at ``url``.

        For diagnostics (``doctor``): the same TLS settings, pool, retries and caps as every call.
        """
        return await self._send("GET", url, token=None)

    async def logon(self) -> None:
        await self._ensure_session()

    async def aclose(self) -> None:
        try:
            await self.logout()
        finally:
            await self._http.aclose()

    async def logout(self) -> None:
        """Delete our own session through its ``Delete`` link (never by listing sessions)."""
        token, url = self._token, self._logout_url
        self._token = None
        if token is None or url is None:
            return
        try:
            with anyio.fail_after(min(self.settings.timeout, 10)):
                response = await self._http.delete(url, headers={TOKEN_HEADER: token})
            self.stats.logouts += 1
            log.info("logged out of Enterprise Manager (%s)", response.status_code)
        except Exception as exc:  # shutdown must not fail because EM went away first
            log.warning("logout failed: %s", type(exc).__name__)

    # --- session ------------------------------------------------------------------------

    async def _ensure_session(self) -> None:
        async with self._logon_lock:
            if self._token is None:
                await self._logon()

    async def _relogon(self, seen_generation: int) -> None:
        async with self._logon_lock:
            # Another call may have logged on while we waited: then its session is ours too.
            if self._generation == seen_generation:
                await self._logon()

    async def _logon(self) -> None:
        url = f"{self.settings.base_url}/sessionMngr/?v=latest"
        auth = _basic_header(self.settings.username, self.settings.password.reveal())
        response, body = await self._send("POST", url, token=None, auth=auth)
        status = response.status_code
        if status == 401:
            raise AuthenticationFailed(
                f"Enterprise Manager rejected the logon of {self.settings.username!r} (401). Check "
                "VEEAM_EM_USERNAME (DOMAIN\\user or user@domain) and VEEAM_EM_PASSWORD; the account "
                "needs the Portal Administrator, Portal User or Restore Operator role in EM."
            )
        if status == 403:
            raise AccessDenied(
                403,
                f"Enterprise Manager refused {self.settings.username!r} (403): the account lacks an EM "
                "role. Give it Portal Administrator, Portal User or Restore Operator.",
            )
        token = next((v for k, v in response.headers.items() if k.lower() == TOKEN_HEADER.lower()), None)
        if 200 <= status < 300 and not token:
            raise NotEnterpriseManager(self._not_em_message(f"logon answered {status} without a session token"))
        if not token:
            self._raise_for_status(response, body, url, logon=True)
            raise NotEnterpriseManager(self._not_em_message(f"logon answered {status}"))
        self._token = token.strip()
        self._generation += 1
        self.stats.logons += 1
        self._logout_url = None
        try:
            session = self._parse(response, body).data
            self.user_name = session.get("user_name")
            for link in session.get("links", []):
                if str(link.get("rel", "")).lower() == "delete" and link.get("href"):
                    self._logout_url = self._same_origin(str(link["href"]))
            if self._logout_url is None and session.get("session_id"):
                self._logout_url = f"{self.settings.base_url}/logonSessions/{session['session_id']}"
        except MalformedResponse:
            log.warning("logon body could not be read; logout will not be possible for this session")
        log.info("logged on to Enterprise Manager as %s", self.settings.username)

    def _same_origin(self, href: str) -> str | None:
        # The Delete link is followed with our token, so it must stay on the configured origin.
        parts = urlsplit(href)
        origin = urlsplit(self.settings.base_url)
        if (parts.scheme, parts.netloc.lower()) == (origin.scheme, origin.netloc.lower()):
            return href
        path = parts.path
        return f"{self.settings.origin}{path}" if path.startswith("/api/logonSessions/") else None

    def _not_em_message(self, what: str) -> str:
        return (
            f"{self.settings.origin} does not behave like the Veeam Backup Enterprise Manager REST API "
            f"({what}). Check VEEAM_EM_URL: EM's REST API is on HTTPS port 9398 (9399 for HTTP on old "
            "versions); the Veeam Backup & Replication REST API on port 9419 is a different API."
        )

    # --- transport ----------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        *,
        token: str | None,
        auth: str | None = None,
    ) -> tuple[httpx.Response, bytes]:
        headers = {TOKEN_HEADER: token} if token else {}
        attempts = self.settings.retries if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                response, body = await self._send_once(method, url, headers, auth)
            except (EnterpriseManagerUnreachable, RequestTimedOut) as exc:
                if attempt >= attempts:
                    raise
                log.warning("%s %s failed (%s); retrying", method, _path(url), type(exc).__name__)
            else:
                if response.status_code not in _RETRY_STATUSES or attempt >= attempts:
                    return response, body
                log.warning("%s %s answered %s; retrying", method, _path(url), response.status_code)
            self.stats.retries += 1
            delay = self._retry_base_delay * (2 ** (attempt - 1))
            await anyio.sleep(delay / 2 + random.uniform(0, delay / 2))  # noqa: S311  # jitter, not crypto
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(
        self, method: str, url: str, headers: dict[str, str], auth: str | None
    ) -> tuple[httpx.Response, bytes]:
        cap = self.settings.max_response_bytes
        started = time.perf_counter()
        async with self._limiter:
            self.stats.requests += 1
            try:
                with anyio.fail_after(self.settings.timeout):
                    request = self._http.build_request(
                        method, url, headers=headers, content=b"" if method == "POST" else None
                    )
                    if auth is not None:
                        request.headers["Authorization"] = auth
                    response = await self._http.send(request, stream=True)
                    try:
                        declared = response.headers.get("content-length", "")
                        if declared.isdigit() and int(declared) > cap:
                            raise self._too_large(url, int(declared))
                        encoding = response.headers.get("content-encoding", "").strip().lower()
                        if encoding not in ("", "identity"):
                            raise self._compressed(url, encoding)
                        chunks: list[bytes] = []
                        size = 0
                        async for chunk in response.aiter_bytes():
                            size += len(chunk)
                            if size > cap:
                                raise self._too_large(url, size)
                            chunks.append(chunk)
                    finally:
                        await response.aclose()
            except TimeoutError:
                raise RequestTimedOut(self._timeout_message(url)) from None
            except httpx.TimeoutException:
                raise RequestTimedOut(self._timeout_message(url)) from None
            except httpx.TransportError as exc:
                raise self._transport_error(exc) from None
        log.debug(
            "%s %s -> %s in %.0f ms", method, _path(url), response.status_code, (time.perf_counter() - started) * 1000
        )
        return response, b"".join(chunks)

    def _too_large(self, url: str, size: int) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"Enterprise Manager's answer for {_path(url)} is larger than {self.settings.max_response_bytes} "
            f"bytes (at least {size}); stopped reading. Ask for less (a narrower filter or a smaller "
            "page), or raise VEEAM_EM_MAX_RESPONSE_BYTES."
        )

    def _compressed(self, url: str, encoding: str) -> MalformedResponse:
        return MalformedResponse(
            f"Enterprise Manager's answer for {_path(url)} is compressed (Content-Encoding: "
            f"{clean_text(encoding, 40)}) although this server asked for none; refused, because a compressed "
            "answer can expand far beyond VEEAM_EM_MAX_RESPONSE_BYTES before its size is known. A proxy between "
            "this server and EM may be compressing: exempt EM's REST API (port 9398) from compression."
        )

    def _timeout_message(self, url: str) -> str:
        return (
            f"Enterprise Manager did not answer {_path(url)} within {self.settings.timeout:g} s. It may be "
            "overloaded or unreachable; try again later, or raise VEEAM_EM_TIMEOUT."
        )

    def _transport_error(self, exc: httpx.TransportError) -> Exception:
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, ssl.SSLError):
            cause = cause.__cause__ or cause.__context__
        text = str(exc)
        if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
            detail = clean_text(str(cause or exc), 200)
            return TlsVerificationFailed(
                f"The TLS certificate of {self.settings.origin} is not trusted ({detail}). Set "
                "VEEAM_EM_CA_BUNDLE to a PEM file of the CA that signed it, or VEEAM_EM_TLS_FINGERPRINT to "
                "the SHA-256 of EM's self-signed certificate. (VEEAM_EM_VERIFY_TLS=false works but is unsafe.)"
            )
        if isinstance(cause, ssl.SSLError):
            return TlsVerificationFailed(
                f"The TLS handshake with {self.settings.origin} failed ({clean_text(str(cause), 200)}). Is this "
                "an HTTPS port? EM's REST API is HTTPS on port 9398."
            )
        if isinstance(exc, httpx.ConnectError):
            return EnterpriseManagerUnreachable(
                f"Cannot connect to Enterprise Manager at {self.settings.origin} "
                f"({clean_text(text, 200) or 'connection refused'}). "
                "Check VEEAM_EM_URL (EM's REST API listens on HTTPS port 9398), that the Veeam RESTful API "
                "service is running, and that no firewall blocks the port."
            )
        return EnterpriseManagerUnreachable(
            f"The connection to Enterprise Manager at {self.settings.origin} broke during the answer "
            f"({type(exc).__name__}). EM may be restarting; try again."
        )

    # --- answers ------------------------------------------------------------------------

    def _parse(self, response: httpx.Response, body: bytes) -> Document:
        content_type = response.headers.get("content-type", "")
        if "html" in content_type.lower():
            raise NotEnterpriseManager(self._not_em_message("it answered with an HTML page"))
        try:
            return parse(body, content_type)
        except HtmlInsteadOfApi:
            raise NotEnterpriseManager(self._not_em_message("it answered with an HTML page")) from None

    def _em_message(self, response: httpx.Response, body: bytes) -> str | None:
        try:
            data = parse(body, response.headers.get("content-type", "")).data
        except Exception:  # an unreadable error body still leaves the status to report
            return None
        message = data.get("message") or data.get("first_chance_exception_message")
        return clean_text(str(message), 300) if message else None

    def _raise_for_status(self, response: httpx.Response, body: bytes, url: str, *, logon: bool = False) -> None:
        status = response.status_code
        if status < 400:
            return
        em = self._em_message(response, body)
        said = f" EM said: {em}" if em else ""
        path = _path(url)
        if status == 400:
            raise BadRequest(
                status, f"Enterprise Manager rejected the request for {path} as malformed (400).{said}", em
            )
        if status == 403:
            raise AccessDenied(
                status,
                f"Enterprise Manager denied access to {path} (403).{said} The account's EM role or restore "
                "scope does not cover it.",
                em,
            )
        if status == 404:
            if logon:
                raise NotEnterpriseManager(self._not_em_message("the logon URL does not exist (404)"))
            raise NotFound(status, f"Enterprise Manager has no resource at {path} (404).{said}", em)
        if status >= 500:
            raise ServerError(
                status,
                f"Enterprise Manager failed with HTTP {status} for {path}.{said} It may be overloaded or "
                "restarting; try again in a minute, and check the EM server if it persists.",
                em,
            )
        raise ApiError(status, f"Enterprise Manager answered HTTP {status} for {path}.{said}", em)


def _basic_header(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
