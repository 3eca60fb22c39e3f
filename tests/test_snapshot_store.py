"""The snapshot stores: in this process (``MemoryStore``) and in a real Redis/Valkey server (``RedisStore``).

The Redis tests start their own server on loopback (``tests/redis_server.py``); two stores on one URL are
what two replicas behind a load balancer are.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.errors import ConfigurationError, SnapshotUnavailable
from veeam_em_mcp.models.arguments import ProtectionReportArgs
from veeam_em_mcp.services.context import EmContext
from veeam_em_mcp.services.protection import protection_report
from veeam_em_mcp.services.stores import KEY_PREFIX, MemoryStore, RedisStore, SnapshotStore, store_from_settings
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import build_dataset

from .conftest import ANCHOR, ManualClock, make_settings
from .redis_server import free_port, redis_server

pytestmark = pytest.mark.anyio

PASSWORD = "s3cret-Pa55word"
AWKWARD = bytes(range(256)) + b"\xff\xfe\x00\xc3\x28 not UTF-8"


# --- MemoryStore ---------------------------------------------------------------------------------------


async def test_memory_get_after_put() -> None:
    store: SnapshotStore = MemoryStore()
    assert store.shared is False
    assert await store.get("nothing") is None
    await store.put("a", AWKWARD, ttl=60)
    assert await store.get("a") == AWKWARD
    await store.put("a", b"replaced", ttl=60)
    assert await store.get("a") == b"replaced"
    await store.aclose()
    assert await store.get("a") is None


async def test_memory_entries_expire_after_their_ttl() -> None:
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    await store.put("short", b"1", ttl=10)
    await store.put("long", b"2", ttl=100)
    clock.advance(9.9)
    assert await store.get("short") == b"1"
    clock.advance(0.1)
    assert await store.get("short") is None
    assert await store.get("long") == b"2"
    clock.advance(100)
    await store.put("new", b"3", ttl=10)  # expiry is checked on put too: "long" goes without a get
    assert len(store) == 1
    assert store.size == 1
    await store.put("zero", b"4", ttl=0)
    assert await store.get("zero") is None


async def test_memory_is_bounded_by_bytes_and_evicts_least_recently_used() -> None:
    store = MemoryStore(max_bytes=1000)
    for key in "abcde":
        await store.put(key, key.encode() * 200, ttl=60)
    assert store.size == 1000
    assert await store.get("a") == b"a" * 200  # "a" is now the most recently used; "b" the least
    await store.put("f", b"f" * 200, ttl=60)
    assert store.size == 1000
    assert await store.get("b") is None
    for key in "acdef":
        assert await store.get(key) == key.encode() * 200
    await store.put("g", b"g" * 250, ttl=60)  # two evictions, in the order of the reads above: "a", then "c"
    assert store.size == 850
    assert await store.get("a") is None
    assert await store.get("c") is None
    assert [await store.get(key) is not None for key in "defg"] == [True] * 4


async def test_memory_does_not_keep_a_value_over_a_quarter_of_its_bound() -> None:
    store = MemoryStore(max_bytes=1000)
    assert await store.put("small", b"s" * 250, ttl=60) is True
    assert await store.put("big", b"b" * 251, ttl=60) is False  # said, so a page gives no cursor that fails
    assert await store.get("big") is None
    assert await store.get("small") == b"s" * 250  # nothing was evicted for it
    await store.put("small", b"s" * 251, ttl=60)  # a key replaced by an oversized value is gone, not stale
    assert await store.get("small") is None
    assert store.size == 0


async def test_an_answer_larger_than_the_store_keeps_is_said_instead_of_a_cursor_that_would_fail() -> None:
    args = ProtectionReportArgs(page_size=10)
    settings = make_settings()
    app = create_app(SimulatorConfig(), build_dataset(anchor=ANCHOR))
    async with EnterpriseManagerClient(settings, transport=httpx.ASGITransport(app=app)) as client:
        em = EmContext(settings, client)
        em.snapshots = MemoryStore(max_bytes=4 * 10_000)  # keeps 10 kB at most: far less than the whole report
        unkept = await protection_report(em, ANCHOR, args)
        em.snapshots = MemoryStore()
        kept = await protection_report(em, ANCHOR, args)
    assert unkept.rows == kept.rows and unkept.total == kept.total > unkept.returned == 10
    assert unkept.truncated and unkept.next_cursor is None
    assert "no cursor can continue it" in (unkept.note or "") and "cursor=next_cursor" not in (unkept.note or "")
    assert kept.truncated and kept.next_cursor and "call again with cursor=next_cursor" in (kept.note or "")


# --- RedisStore against a real server --------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


async def test_redis_round_trip_of_bytes(redis_url: str) -> None:
    store: SnapshotStore = RedisStore(redis_url)
    try:
        assert store.shared is True
        assert await store.get("round-trip-unknown") is None
        await store.put("round-trip", AWKWARD, ttl=60)
        assert await store.get("round-trip") == AWKWARD
        large = os.urandom(2 * 1024 * 1024)
        await store.put("round-trip-large", large, ttl=60)
        assert await store.get("round-trip-large") == large
    finally:
        await store.aclose()


async def test_redis_keys_are_prefixed_and_expire(redis_url: str) -> None:
    import redis.asyncio

    store = RedisStore(redis_url)
    raw = redis.asyncio.Redis.from_url(redis_url)
    try:
        await store.put("expiring", b"soon gone", ttl=0.2)
        assert await raw.exists(KEY_PREFIX + "expiring") == 1
        assert 0 < await raw.pttl(KEY_PREFIX + "expiring") <= 200
        assert await store.get("expiring") == b"soon gone"
        with anyio.fail_after(3):
            while await store.get("expiring") is not None:
                await anyio.sleep(0.05)
    finally:
        await raw.aclose()
        await store.aclose()


async def test_two_stores_on_one_url_see_each_others_snapshots(redis_url: str) -> None:
    replica_1, replica_2 = RedisStore(redis_url), RedisStore(redis_url)
    try:
        await replica_1.put("shared", b"from replica 1", ttl=60)
        assert await replica_2.get("shared") == b"from replica 1"
        await replica_2.put("shared", b"from replica 2", ttl=60)
        assert await replica_1.get("shared") == b"from replica 2"
    finally:
        await replica_1.aclose()
        await replica_2.aclose()


async def test_a_store_that_does_not_answer_is_unavailable_and_names_no_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens there
    store = RedisStore(f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    assert PASSWORD not in repr(store) and PASSWORD not in store.url
    try:
        started = time.monotonic()
        for operation in (store.get("k"), store.put("k", b"v", ttl=60)):
            with pytest.raises(SnapshotUnavailable) as raised:
                await operation
            message = str(raised.value)
            assert f"redis://***@127.0.0.1:{port}/0" in message
            assert "VEEAM_MCP_SNAPSHOT_STORE" in message and "call again without a cursor" in message
            assert PASSWORD not in message
        assert time.monotonic() - started < 3
    finally:
        await store.aclose()
    assert caplog.records, "a failing store is logged"
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)


async def test_a_store_that_accepts_but_never_answers_times_out() -> None:
    with socket.socket() as silent:  # the kernel completes the handshake; nobody ever reads or writes
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        store = RedisStore(f"redis://user:{PASSWORD}@127.0.0.1:{port}/0", timeout=0.3)
        try:
            started = time.monotonic()
            with pytest.raises(SnapshotUnavailable, match="did not answer") as raised:
                await store.get("k")
            assert time.monotonic() - started < 2
            assert PASSWORD not in str(raised.value)
        finally:
            await store.aclose()


async def test_a_store_that_refuses_the_logon_says_so_without_the_password(redis_url: str) -> None:
    store = RedisStore(redis_url.replace("redis://", f"redis://nobody:{PASSWORD}@"))
    try:
        with pytest.raises(SnapshotUnavailable, match=r"refused the logon \(AuthenticationError\)") as raised:
            await store.put("k", b"v", ttl=60)
        assert PASSWORD not in str(raised.value) and "redis://***@127.0.0.1:" in str(raised.value)
    finally:
        await store.aclose()


def test_urls_are_shown_without_their_password() -> None:
    for url in (
        f"redis://:{PASSWORD}@10.0.0.5:6379/0",
        f"rediss://svc:{PASSWORD}@cache.corp.local:6380/2",
        f"unix://svc@/run/redis.sock?db=0&password={PASSWORD}",
    ):
        store = RedisStore(url)
        assert PASSWORD not in store.url and PASSWORD not in repr(store), store.url
    with pytest.raises(ConfigurationError) as raised:  # an unencoded "/" in the password: not a URL redis reads
        RedisStore(f"redis://:{PASSWORD}/x@10.0.0.5:6379/0")
    assert PASSWORD not in str(raised.value) and "redis://***@10.0.0.5:6379/0" in str(raised.value)
    assert RedisStore(f"redis://:{PASSWORD}@10.0.0.5:6379/0").url == "redis://***@10.0.0.5:6379/0"
    assert RedisStore("redis://10.0.0.5:6379/0").url == "redis://10.0.0.5:6379/0"


def test_store_from_settings() -> None:
    assert isinstance(store_from_settings(make_settings()), MemoryStore)
    store = store_from_settings(make_settings(env={"VEEAM_MCP_SNAPSHOT_STORE": "redis://10.0.0.5:6379/0"}))
    assert isinstance(store, RedisStore) and store.shared and store.url == "redis://10.0.0.5:6379/0"
