"""The logon session: one EM session shared by every call, logged on lazily and again after a 401 exactly
once however many calls are in flight (single-flight), and the back-off after a rejected logon that keeps
a wrong password from locking the account out (docs/resilience.md)."""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

import anyio
import httpx

from ..config import PasswordSource, Secret, Settings
from ..errors import (
    AuthenticationFailed,
    LogonRejected,
    MalformedResponse,
    NotEnterpriseManager,
    RoleMissing,
    VeeamEmError,
)
from ..text import clean_text
from ._api import LOGON_PATH, TOKEN_HEADER
from ._deadline import CURRENT_CALL
from ._errors import em_message, not_em_message, parse_answer, raise_for_status

log = logging.getLogger("veeam_em_mcp.client")

# After the n-th rejected logon in a row no logon is tried for LOGON_BACKOFF[n-1] seconds (the last value
# repeats). Ordinary calls alone so make at most 4 failed logons in any 30 minutes (t = 0, 30 s, 5.5 min,
# 20.5 min), then 2 per 30 minutes: below an Active Directory lockout threshold of 5 per 30 minutes.
LOGON_BACKOFF: tuple[float, ...] = (30.0, 300.0, 900.0)
# An explicit logon (check_connection) may try inside a back-off period once the last rejection is this old
# and was not itself such an early attempt: a forced check right after a failed call sends nothing, and
# forced checks add at most one failed logon per scheduled one, never two within this many seconds.
FORCED_LOGON_MIN_AGE = 30.0


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


class _Counts(Protocol):
    logons: int
    logouts: int
    failed_logons: int
    logons_refused: int


class _Send(Protocol):
    """The client's send chain (retries, size caps, the connection limit, the call's deadline)."""

    async def __call__(
        self, method: str, url: str, *, token: str | None, auth: str | None = None, logon: bool = False
    ) -> tuple[httpx.Response, bytes]: ...


class LogonSession:
    """The EM session of one client: its token, the logon that makes it, the logout that ends it."""

    def __init__(
        self, settings: Settings, *, send: _Send, http: httpx.AsyncClient, stats: _Counts, clock: Callable[[], float]
    ) -> None:
        self.settings = settings
        self.stats = stats
        self._send = send
        self._http = http
        self._clock = clock
        self._passwords = PasswordSource(settings)
        self._rejection: _Rejection | None = None
        self._logon_attempts = 0
        self._last_logon_failure: VeeamEmError | None = None
        self.token: str | None = None
        self._logout_url: str | None = None
        self.generation = 0  # one more for each logon: a call that met a 401 knows whether one happened since
        self._logon_lock = anyio.Lock()
        self.user_name: str | None = None

    @property
    def backoff(self) -> LogonBackoff | None:
        """The back-off after a rejected logon, or None when logons may be tried."""
        rejection = self._rejection
        if rejection is None:
            return None
        return LogonBackoff(rejection.status, rejection.failures, max(0.0, rejection.retry_at - self._clock()))

    async def logout(self) -> None:
        """Delete our own session through its ``Delete`` link (never by listing sessions)."""
        token, url = self.token, self._logout_url
        self.token = None
        if token is None or url is None:
            return
        try:
            with anyio.fail_after(min(self.settings.timeout, 10)):
                response = await self._http.delete(url, headers={TOKEN_HEADER: token})
            self.stats.logouts += 1
            log.info("logged out of Enterprise Manager (%s)", response.status_code)
        except Exception as exc:  # shutdown must not fail because EM went away first
            log.warning("logout failed: %s", type(exc).__name__)

    async def ensure(self, *, force: bool = False, seen_generation: int | None = None) -> None:
        """Log on unless a session is open (or, after a 401, unless another call already logged on again).

        Single-flight: one logon at a time; calls that waited for someone else's attempt share its outcome,
        a new session or its error, instead of sending a logon each.
        """
        attempts_seen = self._logon_attempts
        call = CURRENT_CALL.get()
        if call is not None:
            call.waiting_for = "logon-wait"
        async with self._logon_lock:
            if seen_generation is None and self.token is not None:
                return
            if seen_generation is not None and self.generation != seen_generation:
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
        url = self.settings.origin + LOGON_PATH
        auth = _basic_header(self.settings.username, password.reveal())
        response, body = await self._send("POST", url, token=None, auth=auth, logon=True)
        status = response.status_code
        if status in (401, 403):
            raise self._rejected(status, password, forced, em_message(response, body))
        token = next((v for k, v in response.headers.items() if k.lower() == TOKEN_HEADER.lower()), None)
        if 200 <= status < 300 and not token:
            what = f"logon answered {status} without a session token"
            raise NotEnterpriseManager(not_em_message(self.settings, what))
        if not token:
            raise_for_status(self.settings, response, body, url, logon=True)
            raise NotEnterpriseManager(not_em_message(self.settings, f"logon answered {status}"))
        self.token = token.strip()
        self.generation += 1
        self.stats.logons += 1
        self._logout_url = None
        try:
            session = parse_answer(self.settings, response, body).data
            self.user_name = session.get("user_name")
            for link in session.get("links", []):
                if str(link.get("rel", "")).lower() == "delete" and link.get("href"):
                    self._logout_url = self._same_origin(str(link["href"]))
            if self._logout_url is None and session.get("session_id"):
                self._logout_url = f"{self.settings.base_url}/logonSessions/{session['session_id']}"
        except MalformedResponse:
            log.warning("logon body could not be read; logout will not be possible for this session")
        log.info("logged on to Enterprise Manager as %s", self.settings.username)

    def _rejected(self, status: int, password: Secret, forced: bool, em_said: str | None) -> LogonRejected:
        """Record a rejected logon (starting the next, longer back-off period) and build its error."""
        failures = (self._rejection.failures if self._rejection is not None else 0) + 1
        now = self._clock()
        wait = LOGON_BACKOFF[min(failures, len(LOGON_BACKOFF)) - 1]
        self._rejection = _Rejection(status, password, now, now + wait, failures, forced, em_said)
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


def _basic_header(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _plain(user_name: str) -> str:
    """The user name as plain text (``DEMO\\demo``, not ``'DEMO\\\\demo'``), without control characters."""
    return clean_text(user_name, 200)


def _duration(seconds: float) -> str:
    whole = max(0, math.ceil(round(seconds, 3)))  # 900.0000001 s of float drift is still "15 min"
    if whole < 120:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "")
