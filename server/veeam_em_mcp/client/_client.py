"""``EnterpriseManagerClient``: the entry point (get, probe, logon, the deadline) and the send chain (retries,
the connection limit, size caps); the logon session, the deadline's wording, the errors and TLS live
beside it."""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import anyio
import httpx

from .. import __version__
from ..config import DEFAULT_RETRY_BASE_DELAY, Settings, call_deadline
from ..errors import EnterpriseManagerUnreachable, RequestTimedOut, SessionRejected, VeeamEmError
from ..representation import Document
from ._api import TOKEN_HEADER
from ._deadline import CURRENT_CALL, CallDeadline, deadline_error
from ._errors import compressed, parse_answer, path_of, raise_for_status, timeout_message, too_large, transport_error
from ._network import NoCookies, environment_proxy, tls_verify_setting
from ._sending import Unsent
from ._session import LogonBackoff, LogonSession

# Awaited after each EM GET the current task completed (``get``/``get_raw``): the services count them as MCP
# progress (services.progress). A context variable, so that each tool call counts its own requests only.
RESPONSE_HOOK: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("veeam_em_response_hook", default=None)

log = logging.getLogger("veeam_em_mcp.client")

_RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass
class ClientStats:
    logons: int = 0
    logouts: int = 0
    requests: int = 0
    retries: int = 0
    failed_logons: int = 0  # logons EM rejected (401/403): each one counts towards an AD lockout
    logons_refused: int = 0  # calls refused by the logon back-off without sending anything
    deadlines_exceeded: int = 0


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
            cookies=NoCookies(),
            follow_redirects=False,
            # identity: a compressed answer expands inside httpx's decoder, up to ~1000x per network chunk,
            # before the size cap can see it; EM's answers are small enough to travel uncompressed.
            headers={"Accept": media, "Accept-Encoding": "identity", "User-Agent": f"veeam-em-mcp/{__version__}"},
        )
        self._session = LogonSession(settings, send=self._send, http=self._http, stats=self.stats, clock=clock)
        self._limiter = anyio.Semaphore(settings.max_concurrency)
        self._unsent = Unsent()
        self.api_version: str | None = None
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
        return self._session.token is not None

    @property
    def user_name(self) -> str | None:
        """The user EM says the session belongs to (from the logon's answer), once logged on."""
        return self._session.user_name

    @property
    def default_deadline(self) -> float:
        """Seconds a tool call may take by default: ``config.call_deadline`` with this client's back-off."""
        return call_deadline(self.settings.timeout, self.settings.retries, self._retry_base_delay)

    @property
    def logon_backoff(self) -> LogonBackoff | None:
        """The back-off after a rejected logon, or None when logons may be tried."""
        return self._session.backoff

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
        outer = CURRENT_CALL.get()
        now = anyio.current_time()
        if outer is not None and outer.expires_at <= now + budget:
            yield outer  # the enclosing call's deadline comes first: it stays in charge
            return
        call = CallDeadline(budget=budget, expires_at=now + budget, default=seconds is None)
        token = CURRENT_CALL.set(call)
        running = 1 if outer is None else 0  # a shorter deadline inside a call is still that one call
        self._calls_running += running
        try:
            with anyio.move_on_after(budget) as scope:
                yield call
            if scope.cancelled_caught:
                self.stats.deadlines_exceeded += 1
                raise deadline_error(
                    call,
                    self.settings,
                    in_flight=self.settings.max_concurrency - int(self._limiter.value),
                    queued=self._limiter.statistics().tasks_waiting,
                    calls_running=self._calls_running,
                )
        finally:
            self._calls_running -= running
            CURRENT_CALL.reset(token)

    # --- public API ---------------------------------------------------------------------

    async def get(self, url: str) -> Document:
        """GET an absolute URL on EM (already vetted by the caller) with the session, and parse it."""
        response, body = await self.get_raw(url)
        return parse_answer(self.settings, response, body)

    async def get_raw(self, url: str, *, accept: str | None = None) -> tuple[httpx.Response, bytes]:
        """``accept``: a media type other than the configured format's (whole-window reads ask for JSON)."""
        session = self._session
        if session.token is None:
            await session.ensure()
        generation, token = session.generation, session.token
        response, body = await self._send("GET", url, token=token, accept=accept)
        if response.status_code == 401:
            log.info("session expired or rejected (401); logging on again")
            await session.ensure(seen_generation=generation)
            response, body = await self._send("GET", url, token=session.token, accept=accept)
            if response.status_code == 401:
                raise SessionRejected(
                    401,
                    "Enterprise Manager rejected a freshly created session (401). The account may "
                    "have lost its role, or EM is restarting; check the account and try again.",
                )
        raise_for_status(self.settings, response, body, url)
        hook = RESPONSE_HOOK.get()
        if hook is not None:
            await hook()
        return response, body

    def document(self, response: httpx.Response, body: bytes) -> Document:
        """A body ``get_raw`` returned, parsed with the same checks as ``get``'s."""
        return parse_answer(self.settings, response, body)

    async def entry_point(self) -> Document:
        """``GET /api/`` without a session: EM's entry document (supported versions)."""
        response, body = await self._send("GET", self.settings.base_url + "/", token=None)
        if response.status_code >= 400:
            raise_for_status(self.settings, response, body, self.settings.base_url + "/")
        return parse_answer(self.settings, response, body)

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
        await self._session.ensure(force=force)

    async def settled(self) -> None:
        """A checkpoint for work done between requests (a window's records and rows, a slice at a time): it first
        waits until every request about to go is written (``_sending``), not for any answer."""
        await self._unsent.settled()

    def coming(self) -> contextlib.AbstractContextManager[None]:
        """``with client.coming():`` the next request this task sends counts as about to go from now on (a
        window's range once its bounds are known), so that ``settled`` waits for it."""
        return self._unsent.coming()

    async def aclose(self) -> None:
        try:
            await self.logout()
        finally:
            await self._http.aclose()

    async def logout(self) -> None:
        """Delete our own session through its ``Delete`` link (never by listing sessions)."""
        await self._session.logout()

    # --- the send chain -----------------------------------------------------------------

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
        call = CURRENT_CALL.get()
        for attempt in range(1, attempts + 1):
            if call is not None:
                call.request, call.attempt, call.attempts = f"{method} {path_of(url)}", attempt, attempts
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
                log.warning("%s %s failed (%s); no retry: the call's deadline is near", method, path_of(url), what)
                if failure is not None:
                    raise failure
                return response, body
            log.warning("%s %s failed (%s); retrying", method, path_of(url), what)
            self.stats.retries += 1
            if call is not None:
                call.waiting_for, call.last_failure = "backoff", what
            await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(
        self, method: str, url: str, headers: dict[str, str], auth: str | None, *, logon: bool = False
    ) -> tuple[httpx.Response, bytes]:
        cap = self.settings.max_response_bytes
        call = CURRENT_CALL.get()
        if call is not None:
            call.waiting_for = "slot"
        sending = self._unsent.sending(slot_free=self._limiter.value > 0)
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
                    trace = self._unsent.tracing(sending)
                    if trace is not None:
                        request.extensions["trace"] = trace
                    try:
                        response = await self._http.send(request, stream=True)
                    finally:
                        self._unsent.sent(sending)
                    try:
                        declared = response.headers.get("content-length", "")
                        if declared.isdigit() and int(declared) > cap:
                            raise too_large(self.settings, url, int(declared))
                        encoding = response.headers.get("content-encoding", "").strip().lower()
                        if encoding not in ("", "identity"):
                            raise compressed(url, encoding)
                        chunks: list[bytes] = []
                        size = 0
                        async for chunk in response.aiter_bytes():
                            size += len(chunk)
                            if size > cap:
                                raise too_large(self.settings, url, size)
                            chunks.append(chunk)
                    finally:
                        await response.aclose()
            except TimeoutError:
                raise RequestTimedOut(timeout_message(self.settings, url)) from None
            except httpx.TimeoutException:
                raise RequestTimedOut(timeout_message(self.settings, url)) from None
            except httpx.TransportError as exc:
                raise transport_error(self.settings, exc) from None
        if call is not None:
            call.waiting_for = "work"
            call.requests_answered += 1
        log.debug(
            "%s %s -> %s in %.0f ms", method, path_of(url), response.status_code, (time.perf_counter() - started) * 1000
        )
        return response, b"".join(chunks)
