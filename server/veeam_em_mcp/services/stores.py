"""Snapshot stores: where an answer computed once is kept while its cursor pages are handed out.

Every page of a cursor walk must come from the same reading of Enterprise Manager, also when the
pages are asked of different replicas behind a load balancer. So a computed answer is kept, as
bytes under a key, in a store: ``MemoryStore`` in this process (the default; one process only), or
``RedisStore`` in a Redis or Valkey server every replica shares (``VEEAM_MCP_SNAPSHOT_STORE``). A
store never holds an answer longer than its time-to-live, and ``get`` returning ``None`` means "start
again", never "empty". The stores know nothing of what the bytes mean, and never log them.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from ..config import Settings
from ..errors import ConfigurationError, SnapshotUnavailable, redact_userinfo

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("veeam_em_mcp.snapshots")

KEY_PREFIX = "veeam-em-mcp:snapshot:"


class SnapshotStore(Protocol):
    """Bytes under a key for ``ttl`` seconds; ``get`` answers ``None`` for a key unknown or expired."""

    shared: bool  # True when other replicas see the same snapshots

    async def put(self, key: str, value: bytes, ttl: float) -> bool: ...  # False: not kept (too large)

    async def get(self, key: str) -> bytes | None: ...  # None: unknown or expired

    async def aclose(self) -> None: ...


class MemoryStore:
    """Snapshots in this process: bounded by their total size, least recently used evicted first.

    A value larger than a quarter of ``max_bytes`` is not kept (``put`` says so, and its ``get`` answers
    ``None``), so one huge answer cannot push out every other. The default bound keeps a 100,000-VM
    protection report (~55 MB as JSON). Sizes count the values' bytes. Used from one event loop only (no
    locking); it never raises.
    """

    shared: bool = False

    def __init__(self, *, max_bytes: int = 256 * 1024 * 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()  # key -> (value, expires at)
        self._bytes = 0

    @property
    def size(self) -> int:
        """Bytes held now (values only)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    async def put(self, key: str, value: bytes, ttl: float) -> bool:
        self._drop(key)
        now = self._clock()
        self._purge_expired(now)
        if ttl <= 0 or len(value) > self.max_bytes // 4:
            return False
        while self._entries and self._bytes + len(value) > self.max_bytes:
            self._drop(next(iter(self._entries)))  # the least recently used
        self._entries[key] = (bytes(value), now + ttl)
        self._bytes += len(value)
        return True

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if self._clock() >= expires:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    async def aclose(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[0])

    def _purge_expired(self, now: float) -> None:
        for key in [key for key, (_, expires) in self._entries.items() if now >= expires]:
            self._drop(key)

    def __repr__(self) -> str:
        return f"MemoryStore(entries={len(self._entries)}, bytes={self._bytes}, max_bytes={self.max_bytes})"


class RedisStore:
    """Snapshots in a Redis or Valkey server that every replica shares (``redis://``, ``rediss://``, ``unix://``).

    Keys are ``veeam-em-mcp:snapshot:<key>``, written with ``SET … PX <ttl in ms>``, so the server forgets
    them on time. Connecting and each answer wait at most ``timeout`` seconds, with no retry: a store that
    fails is reported at once as ``SnapshotUnavailable``, whose message names the store by its URL with any
    password removed. Needs the ``redis`` package (the ``redis`` extra), imported only here.
    """

    shared: bool = True

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        self.url = _display_url(url)  # never the password
        self.timeout = timeout
        self._secrets = _secrets_of(url)
        try:
            import redis.asyncio
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
        except ImportError:
            raise ConfigurationError(
                "VEEAM_MCP_SNAPSHOT_STORE",
                f"{self.url} needs the Python package redis: pip install 'veeam-em-mcp[redis]'",
            ) from None
        try:
            self._client: Redis = redis.asyncio.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError:
            raise ConfigurationError(
                "VEEAM_MCP_SNAPSHOT_STORE", f"{self.url} is not a valid redis://host:port/db URL"
            ) from None
        import redis.exceptions

        self._failures: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self._logon_refused: tuple[type[BaseException], ...] = (
            redis.exceptions.AuthenticationError,  # a ConnectionError in redis-py, but no network trouble
            redis.exceptions.AuthorizationError,
        )
        self._no_answer: tuple[type[BaseException], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            OSError,
        )

    async def put(self, key: str, value: bytes, ttl: float) -> bool:
        try:
            await self._client.set(KEY_PREFIX + key, value, px=max(1, math.ceil(ttl * 1000)))
        except self._failures as exc:
            raise self._unavailable(exc) from None
        return True

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._client.get(KEY_PREFIX + key)
        except self._failures as exc:
            raise self._unavailable(exc) from None
        if value is None or isinstance(value, bytes):
            return value
        raise SnapshotUnavailable(
            f"The snapshot store {self.url} (VEEAM_MCP_SNAPSHOT_STORE) answered a read with {type(value).__name__}, "
            "not bytes; call again without a cursor, and check that it is a Redis/Valkey server."
        )

    async def aclose(self) -> None:
        """Close the connections; best effort (at shutdown, a store that is gone needs no goodbye)."""
        try:
            await self._client.aclose()
        except self._failures as exc:
            log.debug("closing the snapshot store %s: %s", self.url, type(exc).__name__)

    def _unavailable(self, exc: BaseException) -> SnapshotUnavailable:
        check = "the Redis/Valkey server"
        if isinstance(exc, self._logon_refused):
            what, check = "refused the logon", "the user name and password in the URL against the server's ACL"
        elif isinstance(exc, self._no_answer):
            what = "did not answer"
        else:
            what = "refused the request"
        detail = self._scrub(str(exc)).strip().rstrip(".") or "no detail"
        message = (
            f"The snapshot store {self.url} (VEEAM_MCP_SNAPSHOT_STORE) {what} ({type(exc).__name__}): {detail}; "
            f"call again without a cursor, and check {check}."
        )
        log.warning("%s", message)
        return SnapshotUnavailable(message)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:300]

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, timeout={self.timeout!r})"


def store_from_settings(settings: Settings) -> SnapshotStore:
    """The store ``VEEAM_MCP_SNAPSHOT_STORE`` names: "" is this process's memory, a URL a Redis/Valkey server."""
    if not settings.snapshot_store:
        return MemoryStore()
    return RedisStore(settings.snapshot_store)


_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def _display_url(url: str) -> str:
    """The URL to show: no ``user:password@`` (even one with characters a URL must not hold there), and no
    ``password=`` in the query (``unix://…?password=``)."""
    text = redact_userinfo(_QUERY_PASSWORD.sub(r"\1***", url))
    scheme, sep, rest = text.partition("://")
    if sep and "@" in rest:  # userinfo redact_userinfo could not see (an unencoded "/", "?" or "#" in it)
        return f"{scheme}://***@{rest.rpartition('@')[2]}"
    return text


def _secrets_of(url: str) -> list[str]:
    """The password in ``url`` (as written and decoded), to scrub from any text repeated from the client."""
    found = [match.group(0).split("=", 1)[1] for match in _QUERY_PASSWORD.finditer(url)]
    _, sep, rest = _QUERY_PASSWORD.sub("", url).partition("://")
    if sep and "@" in rest:
        found.append(rest.rpartition("@")[0].partition(":")[2])
    try:
        if urlsplit(url).password:
            found.append(urlsplit(url).password or "")
    except ValueError:
        pass
    found += [unquote(secret) for secret in found]
    return sorted({secret for secret in found if len(secret) >= 3}, key=len, reverse=True)
