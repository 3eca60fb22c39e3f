"""The async Enterprise Manager client: one logon session shared by every tool call.

EM sessions are expensive (each logon is a Windows authentication on the EM server) and expire
after 15 idle minutes, so the client logs on lazily, reuses the token for every call, and when a
call meets an expired session it logs on again exactly once however many calls are in flight
(single-flight), then retries that call once. GETs are retried on transient failures; logons and
anything else are never retried. Reads are capped in size and time, and concurrent requests to EM
are bounded so that a busy assistant cannot overload the backup infrastructure.

Two rules keep a bad day harmless (docs/resilience.md):

- A rejected logon (401, or 403 for a missing role) cannot lock the account out: after it, no logon
  is tried for a back-off period (30 s, 5 min, then 15 min each time) and every call fails at once
  with the same error; calls waiting for that logon share its outcome. A new password in
  VEEAM_EM_PASSWORD_FILE ends the back-off at once; an explicit ``logon()`` (check_connection)
  may try once sooner, bounded so that it cannot become a stream either.
- Every tool call runs under one deadline (``deadline()``, applied by the tool layer) that covers
  the wait for a connection slot, the logon, every attempt and the pauses between them; when it
  passes, the error says what was slow.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import math
import random
import ssl
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookiejar import Cookie, CookieJar
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio
import httpx

from . import __version__
from .config import DEFAULT_RETRY_BASE_DELAY, PasswordSource, Secret, Settings, call_deadline
from .errors import (
    AccessDenied,
    ApiError,
    AuthenticationFailed,
    BadRequest,
    DeadlineExceeded,
    EnterpriseManagerUnreachable,
    HtmlInsteadOfApi,
    LogonRejected,
    MalformedResponse,
    NotEnterpriseManager,
    NotFound,
    RequestTimedOut,
    ResponseTooLarge,
    RoleMissing,
    ServerError,
    SessionRejected,
    TlsVerificationFailed,
    VeeamEmError,
)
from .representation import Document, parse
from .text import clean_text

log = logging.getLogger("veeam_em_mcp.client")

TOKEN_HEADER = "X-RestSvcSessionId"  # noqa: S105  # a header name, not a secret
_RETRY_STATUSES = frozenset({502, 503, 504})
LOGON_PATH = "/api/sessionMngr/?v=latest"

# After the n-th rejected logon in a row no logon is tried for LOGON_BACKOFF[n-1] seconds (the last value
# repeats). Ordinary calls alone so make at most 4 failed logons in any 30 minutes (t = 0, 30 s, 5.5 min,
# 20.5 min), then 2 per 30 minutes: below an Active Directory lockout threshold of 5 per 30 minutes.
LOGON_BACKOFF: tuple[float, ...] = (30.0, 300.0, 900.0)
# An explicit logon (check_connection) may try inside a back-off period once the last rejection is this old
# and was not itself such an early attempt: a forced check right after a failed call sends nothing, and
# forced checks add at most one failed logon per scheduled one, never two within this many seconds.
FORCED_LOGON_MIN_AGE = 30.0

Waiting = Literal["slot", "em", "backoff", "logon", "logon-wait", "work"]


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


def environment_proxy(url: str) -> str | None:
    """The proxy httpx sends requests for ``url`` through (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY), or None.

    httpx reads those variables itself (``trust_env``); this asks its own rules, in its own order, so that
    ``doctor`` reports the proxy the tools really use. Credentials in the proxy URL are masked.
    """
    from httpx._utils import URLPattern, get_environment_proxies  # httpx's own matching, not a copy of it

    target = httpx.URL(url)
    patterns = sorted(((URLPattern(key), proxy) for key, proxy in get_environment_proxies().items()), key=_first)
    proxy = next((proxy for pattern, proxy in patterns if pattern.matches(target)), None)
    if not proxy:
        return None
    parts = httpx.URL(proxy if "://" in proxy else f"http://{proxy}")
    return str(parts.copy_with(username=None, password=None)) + (" (credentials masked)" if parts.userinfo else "")


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


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
    failed_logons: int = 0  # logons EM rejected (401/403): each one counts towards an AD lockout
    logons_refused: int = 0  # calls refused by the logon back-off without sending anything
    deadlines_exceeded: int = 0


@dataclass
class CallDeadline:
    """One tool call's time budget, shared by everything the call waits for (see ``deadline()``).

    ``expires_at`` is on anyio's clock. ``waiting_for`` and the fields after it say what the call is doing
    now, so that the error can name what was slow when the deadline passes.
    """

    budget: float
    expires_at: float
    default: bool
    waiting_for: Waiting = "work"
    request: str = ""
    attempt: int = 0
    attempts: int = 0
    last_failure: str = ""
    requests_answered: int = 0

    def remaining(self) -> float:
        return self.expires_at - anyio.current_time()


# The deadline of the tool call running in this task (and the tasks it starts); None outside a call.
_CURRENT_CALL: ContextVar[CallDeadline | None] = ContextVar("veeam_em_mcp_call_deadline", default=None)


@dataclass(frozen=True)
class LogonBackoff:
    """The logon back-off as it stands (``client.logon_backoff``): why, how many rejections, how long still."""

    status: int
    failed_logons: int
    retry_in: float


@dataclass
class _Rejection:
    """The last rejected logon: what the back-off is measured from and which password it applies to."""

    status: int
    password: Secret
    failed_at: float
    retry_at: float
    failures: int
    forced: bool
    em_message: str | None


class EnterpriseManagerClient:
    """Talks to one Enterprise Manager. Use as ``async with`` so the session is logged out."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_base_delay: float = DEFAULT_RETRY_BASE_DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` (seconds, monotonic) times the logon back-off; tests pass one they move by hand."""
        self.settings = settings
        self.stats = ClientStats()
        self._retry_base_delay = retry_base_delay
        self._clock = clock
        self._passwords = PasswordSource(settings)
        self._rejection: _Rejection | None = None
        self._logon_attempts = 0
        self._last_logon_failure: VeeamEmError | None = None
        self._calls_running = 0
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
        self._own_transport = transport is None

    @property
    def proxy(self) -> str | None:
        """The proxy from the environment that requests to EM go through (an injected transport uses none).
        Worked out when asked (``doctor``), not at every start."""
        return environment_proxy(self.settings.origin) if self._own_transport else None

    async def __aenter__(self) -> EnterpriseManagerClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def logged_on(self) -> bool:
        return self._token is not None

    @property
    def default_deadline(self) -> float:
        """Seconds a tool call may take by default: ``config.call_deadline`` with this client's back-off."""
        return call_deadline(self.settings.timeout, self.settings.retries, self._retry_base_delay)

    @property
    def logon_backoff(self) -> LogonBackoff | None:
        """The back-off after a rejected logon, or None when logons may be tried."""
        rejection = self._rejection
        if rejection is None:
            return None
        return LogonBackoff(rejection.status, rejection.failures, max(0.0, rejection.retry_at - self._clock()))

    @contextlib.contextmanager
    def deadline(self, seconds: float | None = None) -> Iterator[CallDeadline]:
        """``with client.deadline():`` puts everything inside under one deadline (the tool layer's ``em_errors``
        does this for every tool call). ``seconds`` defaults to ``default_deadline``; a tool that reads many
        pages asks for more explicitly. Waiting for a connection slot, for a logon, every attempt and every
        back-off spend it; retries stop when their back-off would pass it. When it passes, the call is
        cancelled and ``DeadlineExceeded`` says what was slow. Nested, the earlier deadline wins.
        """
        budget = self.default_deadline if seconds is None else float(seconds)
        if not budget > 0:
            raise ValueError(f"a deadline must be a positive number of seconds, not {seconds!r}")
        outer = _CURRENT_CALL.get()
        now = anyio.current_time()
        if outer is not None and outer.expires_at <= now + budget:
            yield outer  # the enclosing call's deadline comes first: it stays in charge
            return
        call = CallDeadline(budget=budget, expires_at=now + budget, default=seconds is None)
        token = _CURRENT_CALL.set(call)
        running = 1 if outer is None else 0  # a shorter deadline inside a call is still that one call
        self._calls_running += running
        try:
            with anyio.move_on_after(budget) as scope:
                yield call
            if scope.cancelled_caught:
                self.stats.deadlines_exceeded += 1
                raise self._deadline_error(call)
        finally:
            self._calls_running -= running
            _CURRENT_CALL.reset(token)

    # --- public API ---------------------------------------------------------------------

    async def get(self, url: str) -> Document:
        """GET an absolute URL on EM (already vetted by the caller) with the session, and parse it."""
        response, body = await self.get_raw(url)
        return self._parse(response, body)

    async def get_raw(self, url: str, *, accept: str | None = None) -> tuple[httpx.Response, bytes]:
        """``accept``: a media type other than the configured format's (whole-window reads ask for JSON)."""
        if self._token is None:
            await self._ensure_session()
        generation, token = self._generation, self._token
        response, body = await self._send("GET", url, token=token, accept=accept)
        if response.status_code == 401:
            log.info("session expired or rejected (401); logging on again")
            await self._ensure_session(seen_generation=generation)
            response, body = await self._send("GET", url, token=self._token, accept=accept)
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

    async def logon(self, *, force: bool = True) -> None:
        """Log on now unless a session is open (``doctor`` and ``check_connection`` call this).

        Inside a logon back-off this explicit call (``force=True``) tries anyway, but only when the last
        rejection is at least ``FORCED_LOGON_MIN_AGE`` seconds old and was not itself such an early try;
        otherwise, and with ``force=False``, it fails at once with the stored ``LogonRejected`` like a tool call.
        """
        await self._ensure_session(force=force)

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

    async def _ensure_session(self, *, force: bool = False, seen_generation: int | None = None) -> None:
        """Log on unless a session is open (or, after a 401, unless another call already logged on again).

        Single-flight: one logon at a time; calls that waited for someone else's attempt share its outcome,
        a new session or its error, instead of sending a logon each.
        """
        attempts_seen = self._logon_attempts
        call = _CURRENT_CALL.get()
        if call is not None:
            call.waiting_for = "logon-wait"
        async with self._logon_lock:
            if seen_generation is None and self._token is not None:
                return
            if seen_generation is not None and self._generation != seen_generation:
                return  # another call logged on while we waited: its session is ours too
            password, forced = self._check_backoff(force)  # a rejection is shared through the back-off
            failure = self._last_logon_failure
            waited_for_it = self._logon_attempts != attempts_seen and not forced
            if failure is not None and waited_for_it and not isinstance(failure, LogonRejected):
                # The attempt we waited for failed (EM down, slow, not EM): so do we, rather than send another.
                raise failure.with_traceback(None)
            await self._logon(password, forced=forced)

    def _check_backoff(self, force: bool) -> tuple[Secret, bool]:
        """The password to try, and whether this is a forced try inside a back-off period; or the stored
        ``LogonRejected`` when no logon may be tried now."""
        password = self._passwords.current()
        rejection = self._rejection
        if rejection is None:
            return password, False
        if password != rejection.password:
            log.info("the password changed since Enterprise Manager rejected the logon; trying the new one now")
            return password, False
        now = self._clock()
        if now >= rejection.retry_at:
            return password, False
        if force and not rejection.forced and now - rejection.failed_at >= FORCED_LOGON_MIN_AGE:
            log.info("explicit logon (check_connection): trying once before the logon back-off ends")
            return password, True
        self.stats.logons_refused += 1
        raise self._rejection_error(rejection, now, attempted=False)

    async def _logon(self, password: Secret, *, forced: bool = False) -> None:
        try:
            await self._logon_once(password, forced)
        except VeeamEmError as exc:
            self._last_logon_failure = exc
            raise
        else:
            self._last_logon_failure = None
            self._rejection = None
        finally:
            self._logon_attempts += 1

    async def _logon_once(self, password: Secret, forced: bool) -> None:
        url = f"{self.settings.base_url}/sessionMngr/?v=latest"
        auth = _basic_header(self.settings.username, password.reveal())
        response, body = await self._send("POST", url, token=None, auth=auth, logon=True)
        status = response.status_code
        if status in (401, 403):
            raise self._rejected(status, password, forced, self._em_message(response, body))
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

    def _rejected(self, status: int, password: Secret, forced: bool, em_message: str | None) -> LogonRejected:
        """Record a rejected logon (starting the next, longer back-off period) and build its error."""
        failures = (self._rejection.failures if self._rejection is not None else 0) + 1
        now = self._clock()
        wait = LOGON_BACKOFF[min(failures, len(LOGON_BACKOFF)) - 1]
        self._rejection = _Rejection(status, password, now, now + wait, failures, forced, em_message)
        self.stats.failed_logons += 1
        log.warning(
            "Enterprise Manager rejected the logon of %s (%s); %d failed logon%s in a row (%d since start); "
            "no logon is tried for %s",
            _plain(self.settings.username), status, failures, "" if failures == 1 else "s",
            self.stats.failed_logons, _duration(wait),
        )
        return self._rejection_error(self._rejection, now, attempted=True)

    def _rejection_error(self, rejection: _Rejection, now: float, *, attempted: bool) -> LogonRejected:
        user = _plain(self.settings.username)
        wait = max(0.0, rejection.retry_at - now)
        at = (datetime.now(UTC) + timedelta(seconds=wait)).strftime("%H:%M:%S UTC")
        count = f"{rejection.failures} failed logon{'' if rejection.failures == 1 else 's'} in a row"
        if self._passwords.from_file:
            sooner = "a new password in VEEAM_EM_PASSWORD_FILE is tried at once"
        else:
            sooner = "a corrected VEEAM_EM_PASSWORD takes effect when the server is restarted"
        backoff = (
            f"To keep the account from being locked out, no logon is tried before {at} (in {_duration(wait)}; "
            f"{count}); {sooner}."
        )
        error: LogonRejected
        if rejection.status == 401:
            error = AuthenticationFailed(
                f"Enterprise Manager rejected the logon of {user} (401: a wrong password, an unknown or disabled "
                "account, or a user-name format EM does not accept). Check VEEAM_EM_USERNAME (DOMAIN\\user or "
                "user@domain) and VEEAM_EM_PASSWORD (or VEEAM_EM_PASSWORD_FILE); the account needs the Portal "
                f"Administrator, Portal User or Restore Operator role in EM. {backoff}"
            )
        else:
            said = f" EM said: {rejection.em_message}" if rejection.em_message else ""
            error = RoleMissing(
                403,
                f"Enterprise Manager refused the logon of {user} (403): the account lacks an EM role.{said} Give it "
                "Portal Administrator, Portal User or Restore Operator (EM: Configuration > Roles). "
                f"{backoff}",
                rejection.em_message,
            )
        error.retry_in = wait
        error.failed_logons = rejection.failures
        error.attempted = attempted
        error.backoff = backoff
        return error

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
        logon: bool = False,
        accept: str | None = None,
    ) -> tuple[httpx.Response, bytes]:
        headers = {TOKEN_HEADER: token} if token else {}
        if accept:
            headers["Accept"] = accept
        attempts = self.settings.retries if method == "GET" else 1
        call = _CURRENT_CALL.get()
        for attempt in range(1, attempts + 1):
            if call is not None:
                call.request, call.attempt, call.attempts = f"{method} {_path(url)}", attempt, attempts
            failure: VeeamEmError | None = None
            try:
                response, body = await self._send_once(method, url, headers, auth, logon=logon)
            except (EnterpriseManagerUnreachable, RequestTimedOut) as exc:
                if attempt >= attempts:
                    raise
                failure, what = exc, type(exc).__name__
            else:
                if response.status_code not in _RETRY_STATUSES or attempt >= attempts:
                    return response, body
                what = f"HTTP {response.status_code}"
            delay = self._retry_base_delay * (2 ** (attempt - 1))
            delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311  # jitter, not crypto
            if call is not None and call.remaining() <= delay:
                # Another attempt cannot finish within the call's deadline: report what EM did, not the deadline.
                log.warning("%s %s failed (%s); no retry: the call's deadline is near", method, _path(url), what)
                if failure is not None:
                    raise failure
                return response, body
            log.warning("%s %s failed (%s); retrying", method, _path(url), what)
            self.stats.retries += 1
            if call is not None:
                call.waiting_for, call.last_failure = "backoff", what
            await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(
        self, method: str, url: str, headers: dict[str, str], auth: str | None, *, logon: bool = False
    ) -> tuple[httpx.Response, bytes]:
        cap = self.settings.max_response_bytes
        call = _CURRENT_CALL.get()
        if call is not None:
            call.waiting_for = "slot"
        async with self._limiter:
            if call is not None:
                call.waiting_for = "logon" if logon else "em"
            started = time.perf_counter()
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
        if call is not None:
            call.waiting_for = "work"
            call.requests_answered += 1
        log.debug(
            "%s %s -> %s in %.0f ms", method, _path(url), response.status_code, (time.perf_counter() - started) * 1000
        )
        return response, b"".join(chunks)

    def _deadline_error(self, call: CallDeadline) -> DeadlineExceeded:
        """What the call was waiting for when its deadline passed, in words that say what was slow."""
        limit = self.settings.max_concurrency
        if call.waiting_for == "slot":
            in_flight = limit - int(self._limiter.value)
            queued = self._limiter.statistics().tasks_waiting
            what = (
                f"while it waited for a free connection slot to send {call.request}: {in_flight} "
                f"request{'' if in_flight == 1 else 's'} to Enterprise Manager {'was' if in_flight == 1 else 'were'} "
                f"in flight (VEEAM_EM_MAX_CONCURRENCY={limit}) and {queued} more {'was' if queued == 1 else 'were'} "
                f"waiting, across {self._calls_running} running tool calls; EM is answering slowly or not at all"
            )
        elif call.waiting_for == "em":
            what = f"while Enterprise Manager did not answer {call.request} (attempt {call.attempt} of {call.attempts})"
        elif call.waiting_for == "backoff":
            what = f"while it waited to retry {call.request}, which had failed ({call.last_failure})"
        elif call.waiting_for == "logon":
            what = f"while Enterprise Manager did not answer the logon (POST {LOGON_PATH})"
        elif call.waiting_for == "logon-wait":
            what = (
                f"while it waited for the logon another call had sent (POST {LOGON_PATH}), which EM was slow to "
                "answer"
            )
        else:
            answered = call.requests_answered
            what = (
                f"between requests, after Enterprise Manager had answered {answered} of "
                f"{'it' if answered == 1 else 'them'} in time"
            )
        formula = (
            f" (VEEAM_EM_TIMEOUT {self.settings.timeout:g} s × (VEEAM_EM_RETRIES {self.settings.retries} + 1) + "
            "retry back-off)"
            if call.default
            else ""
        )
        return DeadlineExceeded(
            f"The tool call did not finish within its deadline of {call.budget:g} s{formula}, {what}. Try again "
            "later; check_connection shows whether Enterprise Manager answers. If EM is slow but working, raise "
            "VEEAM_EM_TIMEOUT.",
            budget=call.budget,
            waiting_for=call.waiting_for,
        )

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

    def document(self, response: httpx.Response, body: bytes) -> Document:
        """A body ``get_raw`` returned, parsed with the same checks as ``get``'s."""
        return self._parse(response, body)

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


def _plain(user_name: str) -> str:
    """The user name as plain text (``DEMO\\demo``, not ``'DEMO\\\\demo'``), without control characters."""
    return clean_text(user_name, 200)


def _duration(seconds: float) -> str:
    whole = max(0, math.ceil(round(seconds, 3)))  # 900.0000001 s of float drift is still "15 min"
    if whole < 120:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "")
