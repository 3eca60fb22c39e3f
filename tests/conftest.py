"""Shared fixtures: the EM simulator (in-process and on loopback) and servers built against it.

Everything here is a real part: the simulator is the same starlette app the demo serves, the
client is the product's client, and MCP calls go through the official ``mcp.Client``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mcp import Client

from veeam_em_mcp.config import Settings
from veeam_em_mcp.server import build_server
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.simulator.runner import RunningSimulator

ANCHOR = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SIM_ORIGIN = "http://em.test:9398"
USERNAME = "DEMO\\demo"
PASSWORD = "demo-password"
SQL01_POINT = "6c958531-3177-4055-b0ce-dc4ef1ce6433"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return build_dataset(anchor=ANCHOR)


class ManualClock:
    """The simulator's idle-expiry clock, moved by the test instead of by waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim_config(clock: ManualClock) -> SimulatorConfig:
    return SimulatorConfig(clock=clock)


@pytest.fixture
def sim_app(sim_config: SimulatorConfig, dataset: Dataset) -> Any:
    return create_app(sim_config, dataset)


def make_settings(base_url: str = SIM_ORIGIN, **overrides: Any) -> Settings:
    env = {
        "VEEAM_EM_URL": base_url,
        "VEEAM_EM_USERNAME": USERNAME,
        "VEEAM_EM_PASSWORD": PASSWORD,
    }
    env.update({k: str(v) for k, v in overrides.pop("env", {}).items()})
    settings = Settings.from_env(env)
    return Settings(**{**settings.__dict__, **overrides}) if overrides else settings


@pytest.fixture
def transport(sim_app: Any) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=sim_app)


McpFactory = Callable[..., Any]


@pytest.fixture
def mcp_session(sim_app: Any) -> McpFactory:
    """``async with mcp_session(format="json") as client:`` — MCP client ↔ server ↔ simulator in-process."""

    @asynccontextmanager
    async def open_session(**overrides: Any) -> AsyncIterator[Client]:
        settings = make_settings(**overrides)
        server = build_server(settings, transport=httpx.ASGITransport(app=sim_app), retry_base_delay=0.01)
        async with Client(server) as client:
            yield client

    return open_session


@pytest.fixture(scope="session")
def loopback_simulator() -> Iterator[RunningSimulator]:
    running = RunningSimulator(dataset=build_dataset(anchor=ANCHOR))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="also run the soak tests (marked soak): floods of a minute or so")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: a flood too long for the default suite; runs only with --soak")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="a soak test: run with --soak (its figure is in bench/http_transport.py)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
